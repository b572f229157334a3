"""The response checker (validating.py) must flag broken gateway output, or the suite proves nothing."""

import json

import httpx
import pytest

from validating import Recorder, httpx_client

CHUNK = {
    "id": "c1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
}
COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi", "refusal": None},
                 "logprobs": None, "finish_reason": "stop"}],
}


def sse(*events):
    return "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events).encode()


def run(status, content_type, body, method="POST", path="/v1/chat/completions", stream=False):
    recorder = Recorder()
    mock = httpx.MockTransport(lambda req: httpx.Response(status, headers={"content-type": content_type}, stream=httpx.ByteStream(body)))
    with httpx_client("http://gw", recorder=recorder, inner=mock) as c:
        if stream:
            with c.stream(method, path) as r:
                for _ in r.iter_bytes():
                    pass
        else:
            c.request(method, path)
    return recorder.take_violations(), recorder


def test_good_stream_and_body_pass():
    final = dict(CHUNK, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])
    assert run(200, "text/event-stream", sse(CHUNK, final, "[DONE]"), stream=True)[0] == []
    assert run(200, "application/json", json.dumps(COMPLETION).encode())[0] == []
    err = {"error": {"message": "x", "type": "invalid_request_error", "param": None, "code": None}}
    assert run(400, "application/json", json.dumps(err).encode())[0] == []


def test_stream_events_are_recorded_in_order():
    _, rec = run(200, "text/event-stream", sse(CHUNK, CHUNK, "[DONE]"), stream=True)
    ex = rec.last("/v1/chat/completions")
    assert [e.data for e in ex.events][-1] == "[DONE]"
    assert len(ex.data_events()) == 2 and ex.eof


@pytest.mark.parametrize(
    "body,needle",
    [
        (sse(CHUNK), "without data: [DONE]"),
        (sse(CHUNK, "[DONE]", CHUNK), "after data: [DONE]"),
        (sse(dict(CHUNK, choices=[{"index": 0, "delta": {}}]), "[DONE]"), "'finish_reason' is a required property"),
        (sse(CHUNK, dict(CHUNK, id="other"), "[DONE]"), "differs from first chunk"),
        (sse("not json", "[DONE]"), "not JSON"),
        (sse({"error": {"message": "x"}}), "'type' is a required property"),
    ],
)
def test_bad_streams_are_flagged(body, needle):
    found, _ = run(200, "text/event-stream", body, stream=True)
    assert any(needle in v for v in found), found


@pytest.mark.parametrize(
    "status,body,needle",
    [
        (200, dict(COMPLETION, object="chat.completion.chunk"), "is not one of"),
        (401, {"error": "unauthorized"}, "is not of type 'object'"),
        (404, {"message": "nope"}, "'error' is a required property"),
    ],
)
def test_bad_json_bodies_are_flagged(status, body, needle):
    found, _ = run(status, "application/json", json.dumps(body).encode())
    assert any(needle in v for v in found), found


def test_non_json_error_body_is_flagged():
    found, _ = run(500, "text/plain", b"Internal Server Error")
    assert any("not JSON" in v for v in found), found


def test_base64_embeddings_are_decoded_then_checked():
    import base64
    import struct

    vec = base64.b64encode(struct.pack("<3f", 0.5, -1.0, 2.0)).decode()
    good = {"object": "list", "model": "m", "data": [{"object": "embedding", "index": 0, "embedding": vec}],
            "usage": {"prompt_tokens": 1, "total_tokens": 1}}
    recorder = Recorder()
    mock = httpx.MockTransport(lambda req: httpx.Response(200, headers={"content-type": "application/json"},
                                                          stream=httpx.ByteStream(json.dumps(good).encode())))
    with httpx_client("http://gw", recorder=recorder, inner=mock) as c:
        c.post("/v1/embeddings", json={"model": "m", "input": "x", "encoding_format": "base64"})
        assert recorder.take_violations() == []
        # without asking for base64, a string vector is a violation
        c.post("/v1/embeddings", json={"model": "m", "input": "x"})
        assert any("is not of type 'array'" in v for v in recorder.take_violations())
        bad = dict(good, data=[dict(good["data"][0], embedding="AAAAAAA=")])  # 5 bytes
        mock.handler = lambda req: httpx.Response(200, headers={"content-type": "application/json"},
                                                  stream=httpx.ByteStream(json.dumps(bad).encode()))
        c.post("/v1/embeddings", json={"model": "m", "input": "x", "encoding_format": "base64"})
        assert any("not a multiple of 4" in v for v in recorder.take_violations())


def test_models_listing_is_checked():
    found, _ = run(200, "application/json", json.dumps({"object": "list", "data": [{"id": "x"}]}).encode(),
                   method="GET", path="/v1/models")
    assert any("'owned_by' is a required property" in v for v in found), found


# --- the checker sees the real traffic ------------------------------------------------------------


def test_sdk_traffic_to_the_gateway_is_recorded_and_checked(client):
    from harness import SONNET, user
    from validating import RECORDER

    client.chat.completions.create(model=SONNET, messages=user("recorded"))
    ex = RECORDER.last("/v1/chat/completions")
    assert ex.status == 200 and ex.eof and ex.finished and not ex.is_sse
    assert ex.json()["choices"][0]["message"]["content"] == "You said: recorded"

    for _ in client.chat.completions.create(model=SONNET, messages=user("recorded stream"), stream=True):
        pass
    ex = RECORDER.last("/v1/chat/completions")
    assert ex.is_sse and ex.done and ex.finished
    assert len(ex.data_events()) >= 3

    list(client.models.list())
    ex = RECORDER.last("/v1/models")
    assert ex.finished and ex.json()["object"] == "list"


def test_a_violation_in_real_traffic_fails_the_test(client):
    """Feed a recorded real exchange through a checker with a corrupted body: it must complain."""
    from harness import SONNET, user
    from validating import RECORDER, Exchange, Recorder

    client.chat.completions.create(model=SONNET, messages=user("to corrupt"))
    real = RECORDER.last("/v1/chat/completions")
    body = real.json()
    del body["choices"][0]["message"]["refusal"]
    rec = Recorder()
    ex = Exchange(method="POST", path=real.path, status=200, content_type="application/json", started=0.0)
    rec.feed(ex, json.dumps(body).encode())
    ex.eof = True
    rec.finish(ex)
    assert any("'refusal' is a required property" in v for v in rec.take_violations())
