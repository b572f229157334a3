"""Streaming chat completions: ConverseStream event-stream -> OpenAI SSE chunks."""

from __future__ import annotations

import time

import openai
import pytest

from harness import MASTER_KEY, SONNET, body_of, emulator_streams, last_converse, sse_data, user, wait_until, words
from validating import RECORDER


def collect(stream):
    """(chunks, arrival times) of an SDK stream."""
    chunks, times = [], []
    for chunk in stream:
        chunks.append(chunk)
        times.append(time.monotonic())
    return chunks, times


def text_of(chunks) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_stream_shape_and_content_match_non_stream(client, emu):
    prompt = "stream this sentence back"
    plain = client.chat.completions.create(model=SONNET, messages=user(prompt))
    chunks, _ = collect(client.chat.completions.create(model=SONNET, messages=user(prompt), stream=True))
    assert len(chunks) >= 3
    first = chunks[0]
    assert first.object == "chat.completion.chunk"
    assert first.choices[0].delta.role == "assistant"
    assert text_of(chunks) == plain.choices[0].message.content == f"You said: {prompt}"
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in with_choices[:-1])
    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    assert {c.model for c in chunks} == {SONNET}
    assert last_converse(emu)["operation"] == "ConverseStream"
    # Without include_usage no chunk carries usage.
    assert all(c.usage is None for c in chunks)


def test_raw_sse_wire_format(gateway, emu):
    with gateway.http.stream(
        "POST",
        "/v1/chat/completions",
        headers=gateway.auth(),
        json={"model": SONNET, "messages": user("raw wire"), "stream": True},
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = list(r.iter_lines())
    data = sse_data(lines)
    assert data[-1] == "[DONE]"
    assert data.count("[DONE]") == 1
    assert all(d.startswith("{") for d in data[:-1])
    ex = RECORDER.last("/v1/chat/completions")
    assert ex.is_sse and ex.done and len(ex.data_events()) == len(data) - 1


def test_include_usage_adds_final_usage_chunk(client, emu):
    prompt = "usage in the stream"
    plain = client.chat.completions.create(model=SONNET, messages=user(prompt))
    chunks, _ = collect(
        client.chat.completions.create(
            model=SONNET, messages=user(prompt), stream=True, stream_options={"include_usage": True}
        )
    )
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens == plain.usage.prompt_tokens == words(prompt)
    assert last.usage.completion_tokens == plain.usage.completion_tokens
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    # Every other chunk has usage null (present or absent), and the content is complete.
    assert all(c.usage is None for c in chunks[:-1])
    assert text_of(chunks) == plain.choices[0].message.content


def test_include_usage_raw_chunks_have_explicit_null_usage_before_the_last(gateway, emu):
    with gateway.http.stream(
        "POST",
        "/v1/chat/completions",
        headers=gateway.auth(),
        json={"model": SONNET, "messages": user("nulls"), "stream": True, "stream_options": {"include_usage": True}},
    ) as r:
        assert r.status_code == 200
        r.read()
    events = RECORDER.last("/v1/chat/completions").data_events()
    assert events[-1]["choices"] == [] and events[-1]["usage"]["total_tokens"] > 0
    for ev in events[:-1]:
        assert ev.get("usage") is None


def test_chunks_arrive_incrementally(client, emu):
    """50 words with 20 ms between frames: the client must see the first chunk long before the last."""
    start = time.monotonic()
    stream = client.chat.completions.create(
        model=SONNET, messages=user("[[emu:words=50]] [[emu:frame-delay=20]]"), stream=True
    )
    chunks, times = collect(stream)
    content_times = [t for c, t in zip(chunks, times) if c.choices and c.choices[0].delta.content]
    assert words(text_of(chunks)) == 50
    assert len(content_times) >= 10, f"only {len(content_times)} content chunks: the answer was buffered"
    first, last = content_times[0], content_times[-1]
    total = last - start
    # The upstream needs >= ~1 s to emit all frames; a buffering gateway would deliver them together.
    assert last - first >= 0.5, f"chunks arrived within {last - first:.3f}s: not streamed"
    assert first - start < total / 2, f"first chunk at {first - start:.3f}s of {total:.3f}s"
    # Arrival order is monotonic and spread out, not a burst at the end.
    gaps = [b - a for a, b in zip(content_times, content_times[1:])]
    assert sum(1 for g in gaps if g > 0.005) >= len(gaps) // 2


def test_stream_max_tokens_gives_length(client, emu):
    chunks, _ = collect(
        client.chat.completions.create(model=SONNET, messages=user("[[emu:words=30]]"), max_tokens=4, stream=True)
    )
    assert words(text_of(chunks)) == 4
    assert [c for c in chunks if c.choices][-1].choices[0].finish_reason == "length"
    assert body_of(last_converse(emu))["inferenceConfig"]["maxTokens"] == 4


def test_stream_system_prompt_reaches_bedrock(client, emu):
    collect(
        client.chat.completions.create(
            model=SONNET,
            messages=[{"role": "system", "content": "Be brief."}, *user("hello")],
            temperature=0.5,
            stream=True,
        )
    )
    body = body_of(last_converse(emu))
    assert body["system"] == [{"text": "Be brief."}]
    assert body["inferenceConfig"]["temperature"] == 0.5


def test_mid_stream_exception_surfaces_as_an_error(client, emu):
    """Bedrock fails after 3 deltas: the client sees content, then an error -- never a clean end."""
    stream = client.chat.completions.create(
        model=SONNET, messages=user("[[emu:words=20]] [[emu:stream-error=modelStreamErrorException@3]]"), stream=True
    )
    received = []
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            received.append(chunk)
    assert text_of(received), "no content arrived before the error"
    assert words(text_of(received)) < 20
    assert info.value.message
    ex = RECORDER.last("/v1/chat/completions")
    assert not ex.done, "a failed stream must not end with [DONE] as if it had succeeded"


def test_mid_stream_exception_raw_error_event(gateway, emu):
    with gateway.http.stream(
        "POST",
        "/v1/chat/completions",
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
        json={
            "model": SONNET,
            "messages": user("[[emu:words=20]] [[emu:stream-error=throttlingException@2]]"),
            "stream": True,
        },
    ) as r:
        assert r.status_code == 200
        r.read()
    events = RECORDER.last("/v1/chat/completions").data_events()
    errors = [e for e in events if "error" in e]
    assert len(errors) == 1 and events[-1] is errors[0], events
    assert errors[0]["error"]["message"]
    assert any(e.get("choices") and e["choices"][0]["delta"].get("content") for e in events[:-1])


@pytest.mark.parametrize(
    "error,exc,status",
    [
        ("ThrottlingException", openai.RateLimitError, 429),
        ("AccessDeniedException", openai.PermissionDeniedError, 403),
        ("ValidationException", openai.BadRequestError, 400),
    ],
)
def test_error_before_first_byte_keeps_its_status(client, emu, error, exc, status):
    """An upstream refusal before any content is an HTTP error, not a 200 stream."""
    with pytest.raises(exc) as info:
        collect(
            client.chat.completions.create(model=SONNET, messages=user(f"[[emu:error={error}]]"), stream=True)
        )
    assert info.value.status_code == status


def test_client_disconnect_mid_stream_keeps_gateway_healthy(gateway, client, emu):
    """...and cancels the upstream stream at once: the emulator sees its reader go away."""
    aborted = emulator_streams(emu)["aborted"]
    stream = client.chat.completions.create(
        model=SONNET, messages=user("[[emu:words=500]] [[emu:frame-delay=200]]"), stream=True
    )
    for i, _ in enumerate(stream):
        if i == 3:
            break
    stream.close()
    # The whole answer would take 100 s; the close must reach the emulator well before that.
    wait_until(lambda: emulator_streams(emu)["aborted"] > aborted, timeout=5, what="the upstream stream to be aborted")
    wait_until(lambda: emulator_streams(emu)["open"] == 0, timeout=5, what="no upstream stream left open")
    resp = client.chat.completions.create(model=SONNET, messages=user("still alive"))
    assert resp.choices[0].message.content == "You said: still alive"
    assert gateway.proc.alive()
