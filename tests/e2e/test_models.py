"""GET /v1/models from ListFoundationModels + ListInferenceProfiles; GET /v1/models/{model};
GET /health."""

from __future__ import annotations

import openai
import pytest

from harness import HAIKU, NOVA_LITE, PROFILE_ONLY_US, REGION, SONNET, user

VENDORS = {"anthropic", "amazon", "meta", "mistral", "cohere", "ai21", "deepseek"}
GEO = {"us", "eu", "apac", "global", "us-gov", "ca", "jp", "au"}


def vendor_of(model_id: str) -> str:
    parts = model_id.split(".")
    return parts[1] if parts[0] in GEO else parts[0]


@pytest.fixture(scope="module")
def listing(gateway):
    c = gateway.openai()
    models = list(c.models.list())
    c.close()
    return models


def test_listing_shape(gateway):
    r = gateway.http.get("/v1/models", headers=gateway.auth())
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    assert body["data"], "no models listed"
    for m in body["data"]:
        assert m["object"] == "model"
        assert isinstance(m["created"], int) and m["created"] > 0
        assert isinstance(m["owned_by"], str) and m["owned_by"]


def test_lists_foundation_models_of_every_vendor(listing):
    ids = {m.id for m in listing}
    for model in (SONNET, HAIKU, NOVA_LITE):
        assert model in ids, f"{model} missing from {sorted(ids)}"
    assert VENDORS <= {m.owned_by for m in listing}, {m.owned_by for m in listing}


def test_owned_by_is_the_vendor_from_the_id(listing):
    wrong = {m.id: m.owned_by for m in listing if m.owned_by != vendor_of(m.id)}
    assert not wrong, wrong
    assert {m.owned_by for m in listing} <= VENDORS | {"bedrock"}


def test_includes_inference_profiles(listing):
    ids = {m.id for m in listing}
    assert PROFILE_ONLY_US in ids
    profile = next(m for m in listing if m.id == PROFILE_ONLY_US)
    assert profile.owned_by == "anthropic"


def test_excludes_models_that_are_neither_text_nor_embedding(listing):
    ids = {m.id for m in listing}
    for m in ids:
        assert "image-generator" not in m and not m.startswith("stability."), m
        assert "canvas" not in m and "reel" not in m, m


def test_ids_are_unique(listing):
    ids = [m.id for m in listing]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_listed_text_model_routes(gateway, listing, emu):
    """A model the gateway lists must be callable (spot-check one per vendor)."""
    c = gateway.openai()
    seen = set()
    for m in listing:
        if m.owned_by in seen or "embed" in m.id:
            continue
        seen.add(m.owned_by)
        resp = c.chat.completions.create(model=m.id, messages=[{"role": "user", "content": "ping"}])
        assert resp.choices[0].message.content == "You said: ping", m.id
    c.close()


def test_health_is_200_without_auth(gateway):
    r = gateway.http.get("/health")
    assert r.status_code == 200


def test_models_listing_hits_the_control_plane_at_startup(start_gateway, start_emulator):
    emu = start_emulator()
    gw = start_gateway.start(emulator=emu)
    ops = {r.get("operation") for r in emu.requests()}
    assert "ListFoundationModels" in ops and "ListInferenceProfiles" in ops, ops
    r = gw.http.get("/v1/models", headers=gw.auth())
    assert SONNET in {m["id"] for m in r.json()["data"]}


def emulator_catalog(emu):
    """The emulator's own listings for us-east-1, read with boto3 (the ground truth)."""
    import boto3
    from botocore.config import Config

    from harness import ACCESS_KEY, REGION, SECRET_KEY

    bedrock = boto3.client(
        "bedrock",
        region_name=REGION,
        endpoint_url=emu.url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}),
    )
    models = bedrock.list_foundation_models()["modelSummaries"]
    profiles = bedrock.list_inference_profiles(typeEquals="SYSTEM_DEFINED", maxResults=1000)[
        "inferenceProfileSummaries"
    ]
    return models, profiles


def test_listing_is_exactly_the_usable_text_and_embedding_models(listing, emulator):
    models, profiles = emulator_catalog(emulator)
    by_id = {m["modelId"]: m for m in models}

    def usable(m):
        return bool({"TEXT", "EMBEDDING"} & set(m["outputModalities"]))

    expected = {m["modelId"] for m in models if usable(m) and "ON_DEMAND" in m["inferenceTypesSupported"]}
    routed = set()
    for p in profiles:
        base = p["models"][0]["modelArn"].rsplit("/", 1)[1]
        if p.get("status", "ACTIVE") == "ACTIVE" and (base not in by_id or usable(by_id[base])):
            expected.add(p["inferenceProfileId"])
            # Automatic inference-profile routing: a profile-only base id with a profile of the
            # region's geography (us-east-1 → `us.` or `global.`) is listed too.
            if p["inferenceProfileId"].split(".", 1)[0] in ("us", "global"):
                routed.add(base)
    expected |= routed
    got = {m.id for m in listing}
    assert got == expected, f"missing {sorted(expected - got)}, unexpected {sorted(got - expected)}"
    # The catalog does contain what must be left out, so the exclusions above are real.
    image_only = [m["modelId"] for m in models if not usable(m)]
    profile_only = [m["modelId"] for m in models if "ON_DEMAND" not in m["inferenceTypesSupported"]]
    assert image_only and not set(image_only) & got
    assert profile_only and set(profile_only) & got == set(profile_only) & routed


# --- GET /v1/models/{model} (client.models.retrieve) -------------------------------------------


def test_retrieve_answers_every_listed_model_as_listed(gateway, listing):
    from openapi_schema import validate

    c = gateway.openai()
    try:
        for m in listing:
            got = c.models.retrieve(m.id)
            assert got.to_dict() == m.to_dict(), m.id
            # The recording transport checks every body against the spec too; this says so here.
            validate(got.to_dict(), "Model")
    finally:
        c.close()


def test_retrieve_raw_body_is_exactly_the_model_object(gateway):
    r = gateway.http.get("/v1/models", headers=gateway.auth())
    listed = {m["id"]: m for m in r.json()["data"]}
    for model in (SONNET, PROFILE_ONLY_US):
        r = gateway.http.get(f"/v1/models/{model}", headers=gateway.auth())
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        assert r.json() == listed[model]


def test_retrieve_resolves_like_a_chat_request(gateway):
    """Anything chat accepts is retrievable: the provider prefix and unlisted ARNs (with `/`)."""
    from openapi_schema import validate

    arns = [
        f"arn:aws:bedrock:{REGION}:123456789012:inference-profile/{PROFILE_ONLY_US}",
        f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}",
    ]
    c = gateway.openai()
    try:
        prefixed = c.models.retrieve(f"bedrock/{SONNET}")
        assert prefixed.id == f"bedrock/{SONNET}" and prefixed.owned_by == "anthropic"
        for arn in arns:
            got = c.models.retrieve(arn)  # the SDK sends the `/` as %2F
            validate(got.to_dict(), "Model")
            assert (got.id, got.object, got.owned_by) == (arn, "model", "anthropic")
            assert got.created > 0
            # The same ARN sent raw (older SDKs, curl) resolves the same way.
            r = gateway.http.get(f"/v1/models/{arn}", headers=gateway.auth())
            assert r.status_code == 200, r.text
            assert r.json() == got.to_dict()
            resp = c.chat.completions.create(model=arn, messages=user("retrievable"))
            assert resp.choices[0].message.content == "You said: retrievable"
    finally:
        c.close()


@pytest.mark.parametrize("model", ["no-such-vendor.no-such-model-v9:0", f"bedrock-nowhere/{SONNET}", "arn:aws:s3:::b/k"])
def test_retrieve_unknown_model_is_404_model_not_found(gateway, model):
    c = gateway.openai()
    try:
        with pytest.raises(openai.NotFoundError) as info:
            c.models.retrieve(model)
        with pytest.raises(openai.NotFoundError) as chat:
            c.chat.completions.create(model=model, messages=user("x"))
    finally:
        c.close()
    err = info.value.body
    assert info.value.status_code == 404
    assert err["code"] == "model_not_found" and err["type"] == "invalid_request_error"
    assert model in err["message"]
    assert err == chat.value.body, "retrieve and chat must report an unknown model alike"


def test_retrieve_needs_the_key(gateway):
    for headers in ({}, {"Authorization": "Bearer wrong-key"}):
        r = gateway.http.get(f"/v1/models/{SONNET}", headers=headers)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "invalid_api_key"
    # Unknown ids too: an unauthenticated caller learns nothing about which models exist.
    r = gateway.http.get("/v1/models/no-such.model")
    assert r.status_code == 401, r.text
    c = gateway.openai(api_key="wrong-key")
    try:
        with pytest.raises(openai.AuthenticationError) as info:
            c.models.retrieve(SONNET)
        assert info.value.status_code == 401
    finally:
        c.close()


def test_retrieve_in_allowlist_mode_answers_only_the_allowlist(start_gateway, start_emulator):
    emu = start_emulator()
    gw = start_gateway.start(
        emulator=emu, env={"CONFIGURED_PROVIDER_MODELS_MODE": "allowlist", "BEDROCK_MODELS": SONNET}
    )
    c = gw.openai()
    try:
        assert [m.id for m in c.models.list()] == [SONNET]
        assert c.models.retrieve(SONNET).id == SONNET
        for refused in (HAIKU, f"arn:aws:bedrock:{REGION}::foundation-model/{SONNET}", PROFILE_ONLY_US):
            with pytest.raises(openai.NotFoundError) as info:
                c.models.retrieve(refused)
            assert info.value.body["code"] == "model_not_found", refused
    finally:
        c.close()
