"""POST /v1/embeddings through Bedrock InvokeModel (the basic path; issue 5 covers the rest)."""

from __future__ import annotations

import openai
import pytest

from harness import SONNET, body_of

TITAN_V2 = "amazon.titan-embed-text-v2:0"
COHERE_V3 = "cohere.embed-english-v3"


@pytest.mark.parametrize("model", [TITAN_V2, COHERE_V3])
def test_embeddings_batch(client, emu, model):
    resp = client.embeddings.create(model=model, input=["hello world", "a second input"])
    assert resp.object == "list"
    assert [d.index for d in resp.data] == [0, 1]
    assert all(d.object == "embedding" and len(d.embedding) > 8 for d in resp.data)
    assert len({len(d.embedding) for d in resp.data}) == 1
    assert resp.data[0].embedding != resp.data[1].embedding
    assert resp.usage.prompt_tokens > 0 and resp.usage.total_tokens >= resp.usage.prompt_tokens
    calls = [r for r in emu.requests() if r.get("operation") == "InvokeModel"]
    assert calls and all(r["model_id"] == model for r in calls)
    assert all(r["status"] == 200 for r in calls)


def test_single_string_input(client, emu):
    resp = client.embeddings.create(model=TITAN_V2, input="just one")
    assert len(resp.data) == 1
    [call] = [r for r in emu.requests() if r.get("operation") == "InvokeModel"]
    assert body_of(call)["inputText"] == "just one"


def test_embeddings_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="nobody.embed-v0", input="x")


def test_embeddings_with_a_chat_model_is_a_client_error(client):
    with pytest.raises(openai.APIStatusError) as info:
        client.embeddings.create(model=SONNET, input="x")
    assert 400 <= info.value.status_code < 500


def test_float_and_base64_encodings_agree(gateway, client):
    import base64
    import struct

    r = gateway.http.post(
        "/v1/embeddings",
        headers=gateway.auth(),
        json={"model": TITAN_V2, "input": "same text", "encoding_format": "float"},
    )
    assert r.status_code == 200, r.text
    floats = r.json()["data"][0]["embedding"]
    assert isinstance(floats, list) and all(isinstance(x, float) for x in floats)
    r = gateway.http.post(
        "/v1/embeddings",
        headers=gateway.auth(),
        json={"model": TITAN_V2, "input": "same text", "encoding_format": "base64"},
    )
    raw = base64.b64decode(r.json()["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert len(decoded) == len(floats)
    assert all(abs(a - b) < 1e-6 for a, b in zip(decoded, floats))
    # and the SDK (base64 by default) decodes to the same vector
    sdk = client.embeddings.create(model=TITAN_V2, input="same text").data[0].embedding
    assert all(abs(a - b) < 1e-6 for a, b in zip(sdk, floats))
