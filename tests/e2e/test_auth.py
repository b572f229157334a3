"""GOMODEL_MASTER_KEY: Bearer or x-api-key on /v1/*, 401 in OpenAI shape otherwise; /health is open."""

from __future__ import annotations

import openai
import pytest

from harness import MASTER_KEY, SONNET, user

BODY = {"model": SONNET, "messages": user("auth check")}


def test_bearer_key_is_accepted(client):
    resp = client.chat.completions.create(model=SONNET, messages=user("auth check"))
    assert resp.choices[0].message.content == "You said: auth check"


def test_x_api_key_header_is_accepted(gateway):
    r = gateway.http.post("/v1/chat/completions", headers={"x-api-key": MASTER_KEY}, json=BODY)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "You said: auth check"


def test_wrong_key_is_401_authentication_error_via_sdk(gateway, emu):
    bad = gateway.openai(api_key=MASTER_KEY + "x")
    with pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model=SONNET, messages=user("nope"))
    assert info.value.status_code == 401
    assert info.value.body["type"] == "authentication_error"
    assert not [r for r in emu.requests() if r.get("operation") in ("Converse", "ConverseStream")], (
        "an unauthenticated request reached Bedrock"
    )
    bad.close()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": f"Bearer {MASTER_KEY[:-1]}"},
        {"Authorization": "Bearer"},
        {"Authorization": MASTER_KEY},  # no scheme
        {"Authorization": f"Basic {MASTER_KEY}"},
        {"x-api-key": "wrong"},
        {"x-api-key": ""},
        {"Authorization": f"Bearer {MASTER_KEY} extra"},
    ],
    ids=["missing", "prefix", "empty-bearer", "no-scheme", "basic", "wrong-x-api-key", "empty-x-api-key", "suffix"],
)
def test_missing_or_wrong_credentials_are_401(gateway, headers):
    r = gateway.http.post("/v1/chat/completions", headers=headers, json=BODY)
    assert r.status_code == 401, r.text
    err = r.json()["error"]
    assert err["type"] == "authentication_error"
    assert MASTER_KEY not in r.text


@pytest.mark.parametrize("path,method", [("/v1/models", "GET"), ("/v1/chat/completions", "POST")])
def test_every_v1_route_requires_the_key(gateway, path, method):
    r = gateway.http.request(method, path)
    assert r.status_code == 401, r.text


def test_models_with_key(gateway):
    r = gateway.http.get("/v1/models", headers={"x-api-key": MASTER_KEY})
    assert r.status_code == 200


def test_health_needs_no_key(gateway):
    r = gateway.http.get("/health")
    assert r.status_code == 200


def test_master_key_never_logged(gateway, emu):
    gateway.http.post("/v1/chat/completions", headers=gateway.auth(), json=BODY)
    gateway.http.post("/v1/chat/completions", headers={"Authorization": "Bearer wrong-key-123"}, json=BODY)
    gateway.http.post("/v1/chat/completions", headers={"x-api-key": MASTER_KEY}, json=BODY)
    log = gateway.log_text()
    assert log, "gateway wrote no log at all"
    assert MASTER_KEY not in log


def test_open_mode_without_master_key(start_gateway, emu):
    gw = start_gateway.start(master_key=None, env={"GOMODEL_MASTER_KEY": None})
    r = gw.http.post("/v1/chat/completions", json=BODY)
    assert r.status_code == 200, r.text
    r = gw.http.get("/v1/models")
    assert r.status_code == 200
    # Any key is fine in open mode (clients often send one anyway).
    c = gw.openai(api_key="anything")
    assert c.chat.completions.create(model=SONNET, messages=user("open")).choices[0].message.content == "You said: open"
    c.close()
    log = gw.log_text().lower()
    assert "gomodel_master_key" in log and ("warn" in log), "open mode must warn at startup"


def test_empty_master_key_means_open_mode(start_gateway):
    gw = start_gateway.start(master_key=None, env={"GOMODEL_MASTER_KEY": ""})
    r = gw.http.get("/v1/models")
    assert r.status_code == 200
