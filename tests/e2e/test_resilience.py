"""Resilience: retries before the first byte, the emulator's fault modes (reset and truncated
streams, slow frames, 5xx and throttling bursts), limits and hostile input. Each test checks what
the client sees and that the gateway stays healthy afterwards (nothing stuck, nothing leaked)."""

from __future__ import annotations

import signal
import uuid

import httpx
import openai
import pytest

from harness import MASTER_KEY, SONNET, converse_requests, emulator_streams, user, wait_until, words
from validating import RECORDER


def nonce() -> str:
    """Distinct text per test, so the emulator's `fail-times` counters never collide."""
    return uuid.uuid4().hex[:12]


def raw_stream_events(gw, text: str) -> list[dict]:
    """The SSE `data:` events of one streamed chat (status must be 200)."""
    with gw.http.stream(
        "POST",
        "/v1/chat/completions",
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
        json={"model": SONNET, "messages": user(text), "stream": True},
    ) as r:
        assert r.status_code == 200
        r.read()
    return RECORDER.last("/v1/chat/completions").data_events()


def assert_healthy(gw) -> None:
    c = gw.openai()
    assert c.chat.completions.create(model=SONNET, messages=user("still here")).choices[0].message.content == (
        "You said: still here"
    )
    c.close()
    assert gw.proc.alive()


@pytest.mark.parametrize("stream", [False, True], ids=["converse", "converse-stream"])
@pytest.mark.parametrize(
    "error,failures",
    [("ThrottlingException", 2), ("InternalServerException", 1), ("ServiceUnavailableException", 2)],
)
def test_bursts_are_retried_before_the_first_byte(gateway, client, emu, error, failures, stream):
    text = f"[[emu:error={error}]][[emu:fail-times={failures}]] burst {nonce()}"
    resp = client.chat.completions.create(model=SONNET, messages=user(text), stream=stream)
    if stream:
        content = "".join(c.choices[0].delta.content or "" for c in resp if c.choices)
    else:
        content = resp.choices[0].message.content
    assert content.startswith("You said: burst")
    recs = converse_requests(emu)
    assert len(recs) == failures + 1, recs
    assert [r["status"] >= 400 for r in recs] == [True] * failures + [False]


def test_a_burst_longer_than_the_retry_budget_reaches_the_client(client, emu):
    text = f"[[emu:error=ThrottlingException]][[emu:fail-times=5]] {nonce()}"
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=SONNET, messages=user(text))
    assert len(converse_requests(emu)) == 3  # the first try + the default 2 retries


@pytest.mark.parametrize("fault", ["reset", "truncate"])
def test_a_broken_stream_ends_with_an_error_event_and_is_not_retried(gateway, emu, fault):
    # Frames spaced out, so the client has read the first ones before the connection breaks (a
    # TCP reset discards data the receiver has not read yet).
    events = raw_stream_events(gateway, f"[[emu:words=30]] [[emu:frame-delay=30]] [[emu:{fault}@3]]")
    errors = [e for e in events if "error" in e]
    assert len(errors) == 1 and events[-1] is errors[0], events
    assert errors[0]["error"]["message"]
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e.get("choices"))
    assert 0 < words(text) < 30, text
    assert len(converse_requests(emu)) == 1, "content reached the client: a retry would duplicate it"
    wait_until(lambda: emulator_streams(emu)["open"] == 0, timeout=5, what="the broken stream to be released")
    assert_healthy(gateway)


def test_a_stalled_stream_is_ended_with_an_error(start_gateway, emu):
    gw = start_gateway.start(env={"BEDROCK_STREAM_IDLE_TIMEOUT": "1s"})
    events = raw_stream_events(gw, "[[emu:words=5]] [[emu:frame-delay=3000]]")
    assert "error" in events[-1], events
    assert "sent nothing for 1 s" in events[-1]["error"]["message"], events[-1]
    assert_healthy(gw)


def test_body_limit_from_the_environment(start_gateway):
    gw = start_gateway.start(env={"GOMODEL_BODY_LIMIT_BYTES": "2048"})
    r = gw.http.post("/v1/chat/completions", headers=gw.auth(), json={"model": SONNET, "messages": user("x" * 4096)})
    assert r.status_code == 413, r.text
    assert "2048" in r.json()["error"]["message"]


@pytest.mark.parametrize("depth", [200, 10_000, 100_000])
def test_deeply_nested_json_is_a_400_not_a_crash(gateway, depth):
    body = '{"model": "%s", "messages": [{"role": "user", "content": "x"}], "metadata": %s1%s}' % (
        SONNET,
        "[" * depth,
        "]" * depth,
    )
    # A plain client: the recording one would itself choke parsing the body in Python.
    r = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers={**gateway.auth(), "Content-Type": "application/json"},
        content=body,
        timeout=30,
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"]
    assert_healthy(gateway)



def test_sigterm_drains_a_stream_while_refusing_new_connections(start_gateway, emu):
    gw = start_gateway.start()
    c = gw.openai()
    stream = c.chat.completions.create(model=SONNET, messages=user("[[emu:words=20]] [[emu:frame-delay=50]]"), stream=True)
    first = next(stream)
    gw.proc.popen.send_signal(signal.SIGTERM)
    wait_until(lambda: _refused(gw), timeout=5, what="the listener to close")
    rest = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in [first, *rest] if ch.choices)
    assert words(text) == 20
    assert gw.proc.popen.wait(timeout=30) == 0
    c.close()
    assert emulator_streams(emu)["open"] == 0


def _refused(gw) -> bool:
    try:
        httpx.get(f"{gw.url}/health", timeout=1)
    except httpx.TransportError:
        return True
    return False


def test_oversized_headers_are_refused_and_the_gateway_survives(gateway):
    try:
        r = httpx.get(f"{gateway.url}/v1/models", headers={**gateway.auth(), "x-huge": "a" * 1_000_000}, timeout=10)
        assert r.status_code == 431, r.status_code
    except httpx.TransportError:
        pass  # closing the connection is a refusal too
    assert_healthy(gateway)
