"""Errors: every one in OpenAI's `{"error": {message, type, param, code}}` shape with the right status."""

from __future__ import annotations

import openai
import pytest

from harness import MASTER_KEY, PROFILE_ONLY, PROFILE_ONLY_US, SONNET, converse_requests, user


def post_raw(gateway, content: bytes, content_type: str = "application/json"):
    return gateway.http.post(
        "/v1/chat/completions",
        headers={**gateway.auth(), "Content-Type": content_type},
        content=content,
    )


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"", b"[]", b'{"model": "x", "messages": [}', b"null"],
    ids=["garbage", "empty", "array", "truncated", "null"],
)
def test_malformed_json_is_400(gateway, content):
    r = post_raw(gateway, content)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_missing_model_is_400_naming_model(gateway, emu):
    r = gateway.http.post("/v1/chat/completions", headers=gateway.auth(), json={"messages": user("x")})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert "model" in err["message"] or err["param"] == "model"
    assert not converse_requests(emu)


def test_missing_messages_is_400_naming_messages(gateway, emu):
    r = gateway.http.post("/v1/chat/completions", headers=gateway.auth(), json={"model": SONNET})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert "messages" in err["message"] or err["param"] == "messages"
    assert not converse_requests(emu)


@pytest.mark.parametrize(
    "body",
    [
        {"model": SONNET, "messages": "hello"},
        {"model": 42, "messages": user("x")},
        {"model": SONNET, "messages": [{"role": "wizard", "content": "x"}]},
        {"model": SONNET, "messages": user("x"), "temperature": "hot"},
        {"model": SONNET, "messages": []},
    ],
    ids=["messages-not-array", "model-not-string", "bad-role", "temperature-type", "empty-messages"],
)
def test_invalid_fields_are_400(gateway, emu, body):
    r = gateway.http.post("/v1/chat/completions", headers=gateway.auth(), json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert not converse_requests(emu), "an invalid request was sent upstream"


def test_wrong_content_type_is_rejected_in_openai_shape(gateway):
    r = post_raw(gateway, b'{"model":"x"}', content_type="text/plain")
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["message"]


def test_unknown_model_is_404_model_not_found(client, emu):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="no-such-vendor.no-such-model-v9:0", messages=user("x"))
    err = info.value.body
    assert info.value.status_code == 404
    assert err["code"] == "model_not_found"
    assert err["param"] == "model"
    assert "no-such-vendor.no-such-model-v9:0" in err["message"]
    assert not converse_requests(emu)


def test_unknown_model_in_stream_is_404(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nonexistent-model", messages=user("x"), stream=True)


def test_unknown_provider_prefix_is_404(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model=f"bedrock-nowhere/{SONNET}", messages=user("x"))
    assert info.value.body["code"] == "model_not_found"


def test_unknown_route_is_404_in_openai_shape(gateway):
    r = gateway.http.get("/v1/no-such-endpoint", headers=gateway.auth())
    assert r.status_code == 404, r.text
    assert r.json()["error"]["message"]


@pytest.mark.parametrize(
    "exception,exc_type,status,err_type,needle",
    [
        ("ThrottlingException", openai.RateLimitError, 429, "rate_limit_error", "Too many requests"),
        ("AccessDeniedException", openai.PermissionDeniedError, 403, "permission_error", "model access"),
        ("ValidationException", openai.BadRequestError, 400, "invalid_request_error", "Malformed input request"),
        ("ResourceNotFoundException", openai.NotFoundError, 404, "invalid_request_error", "Could not resolve"),
        ("ServiceUnavailableException", openai.InternalServerError, 503, None, "unable to process"),
        ("InternalServerException", openai.InternalServerError, 502, None, "unexpected error"),
        ("ModelErrorException", openai.InternalServerError, 502, None, None),
        ("ModelTimeoutException", openai.InternalServerError, 504, None, "timed out"),
        ("ModelNotReadyException", openai.InternalServerError, 503, None, "not ready"),
        ("ServiceQuotaExceededException", openai.RateLimitError, 429, "rate_limit_error", "quota"),
    ],
)
def test_bedrock_exceptions_map_to_openai_errors(client, emu, exception, exc_type, status, err_type, needle):
    with pytest.raises(exc_type) as info:
        client.chat.completions.create(model=SONNET, messages=user(f"[[emu:error={exception}]]"))
    assert info.value.status_code == status
    err = info.value.body
    if err_type:
        assert err["type"] == err_type
    if needle:
        assert needle.lower() in err["message"].lower(), err["message"]
    assert err["code"] == ("model_not_found" if exception == "ResourceNotFoundException" else exception)
    recs = converse_requests(emu)
    # Throttling, 5xx and not-ready are retried (default: 2 retries) before the client hears.
    retried = exception in RETRIED_EXCEPTIONS
    assert len(recs) == (3 if retried else 1), recs
    assert all(rec["status"] >= 400 for rec in recs), "the error must come from Bedrock, not the gateway"


def test_access_denied_has_model_access_hint(client, emu):
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model=SONNET, messages=user("[[emu:error=AccessDeniedException]]"))
    msg = info.value.body["message"].lower()
    assert "model access" in msg and "bedrock" in msg, msg


RETRIED_EXCEPTIONS = {
    "ThrottlingException",
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelNotReadyException",
}


@pytest.mark.parametrize("retries,calls", [("0", 1), ("1", 2)])
def test_upstream_retries_are_configurable(start_gateway, emu, retries, calls):
    gw = start_gateway.start(env={"BEDROCK_MAX_RETRIES": retries})
    c = gw.openai(max_retries=0)
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(model=SONNET, messages=user("[[emu:error=ThrottlingException]]"))
    c.close()
    assert len(converse_requests(emu)) == calls


@pytest.fixture
def profile_only_configured(start_gateway, emu):
    """The seed's troubleshooting case: BEDROCK_MODELS names a profile-only model by its base id."""
    gw = start_gateway.start(
        env={
            "CONFIGURED_PROVIDER_MODELS_MODE": "allowlist",
            "BEDROCK_MODELS": f"{PROFILE_ONLY},{PROFILE_ONLY_US}",
            # Routing off: the refusal (and its advice) reaches the client.
            "BEDROCK_INFERENCE_PROFILES": "off",
        }
    )
    c = gw.openai()
    yield c
    c.close()


def test_on_demand_refusal_advises_inference_profile(profile_only_configured, emu):
    with pytest.raises(openai.BadRequestError) as info:
        profile_only_configured.chat.completions.create(model=PROFILE_ONLY, messages=user("on demand please"))
    msg = info.value.body["message"]
    assert "on-demand throughput" in msg.lower().replace("\u2019", "'"), msg
    assert "inference profile" in msg.lower(), msg
    assert PROFILE_ONLY_US in msg, "the advice should name the profile id to use"
    [rec] = converse_requests(emu, PROFILE_ONLY)
    assert rec["status"] == 400, "the refusal must come from Bedrock"


def test_inference_profile_of_the_refused_model_works(profile_only_configured, emu):
    resp = profile_only_configured.chat.completions.create(model=PROFILE_ONLY_US, messages=user("via profile"))
    assert resp.choices[0].message.content == "You said: via profile"
    assert converse_requests(emu, PROFILE_ONLY_US)


def test_profile_only_base_id_is_listed_and_routed_to_the_regions_profile(client, emu):
    """Automatic inference-profile routing: the base id is offered next to its profile and sent to
    the profile of the region's geography (us-east-1 → `us.`)."""
    ids = {m.id for m in client.models.list()}
    assert {PROFILE_ONLY, PROFILE_ONLY_US} <= ids
    for stream in (False, True):
        resp = client.chat.completions.create(model=PROFILE_ONLY, messages=user("routed"), stream=stream)
        if stream:
            text = "".join(c.choices[0].delta.content or "" for c in resp if c.choices)
        else:
            text = resp.choices[0].message.content
        assert text == "You said: routed"
    assert not converse_requests(emu, PROFILE_ONLY), "the base id itself must not be called"
    assert len(converse_requests(emu, PROFILE_ONLY_US)) == 2


def test_routing_off_keeps_profile_only_base_ids_out(start_gateway, emu):
    gw = start_gateway.start(env={"BEDROCK_INFERENCE_PROFILES": "off"})
    c = gw.openai()
    ids = {m.id for m in c.models.list()}
    assert PROFILE_ONLY not in ids and PROFILE_ONLY_US in ids
    with pytest.raises(openai.NotFoundError):
        c.chat.completions.create(model=PROFILE_ONLY, messages=user("x"))
    c.close()
    assert not converse_requests(emu)


def test_on_demand_refusal_of_an_unlisted_id_is_retried_via_its_profile(start_gateway, emu):
    """Allowlist mode never lists, so Bedrock's refusal is the first sign: one retry via the
    profile, and the route is remembered."""
    gw = start_gateway.start(env={"CONFIGURED_PROVIDER_MODELS_MODE": "allowlist", "BEDROCK_MODELS": PROFILE_ONLY})
    c = gw.openai()
    for text in ("first", "second"):
        resp = c.chat.completions.create(model=PROFILE_ONLY, messages=user(text))
        assert resp.choices[0].message.content == f"You said: {text}"
    c.close()
    assert len(converse_requests(emu, PROFILE_ONLY)) == 1
    assert len(converse_requests(emu, PROFILE_ONLY_US)) == 2


def test_wrong_aws_secret_is_502_with_credentials_hint(start_gateway, emu):
    gw = start_gateway.start(
        env={
            "AWS_SECRET_ACCESS_KEY": "not-the-emulator-secret",
            "CONFIGURED_PROVIDER_MODELS_MODE": "allowlist",
            "BEDROCK_MODELS": SONNET,
        }
    )
    c = gw.openai()
    with pytest.raises(openai.APIStatusError) as info:
        c.chat.completions.create(model=SONNET, messages=user("bad creds"))
    c.close()
    assert info.value.status_code == 502, info.value.body
    msg = info.value.body["message"].lower()
    assert "credential" in msg, msg
    assert "not-the-emulator-secret" not in gw.log_text()


def test_unknown_access_key_is_502_with_credentials_hint(start_gateway, emu):
    gw = start_gateway.start(
        env={
            "AWS_ACCESS_KEY_ID": "AKIDUNKNOWN",
            "CONFIGURED_PROVIDER_MODELS_MODE": "allowlist",
            "BEDROCK_MODELS": SONNET,
        }
    )
    r = gw.http.post("/v1/chat/completions", headers=gw.auth(), json={"model": SONNET, "messages": user("x")})
    assert r.status_code == 502, r.text
    assert "credential" in r.json()["error"]["message"].lower()


def test_errors_never_leak_the_master_key(gateway):
    r = gateway.http.post(
        "/v1/chat/completions", headers={"Authorization": f"Bearer {MASTER_KEY}"}, json={"model": "zzz", "messages": user("x")}
    )
    assert r.status_code == 404
    assert MASTER_KEY not in r.text
