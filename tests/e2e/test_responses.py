"""The Responses API (`POST /v1/responses`) bridged onto Converse, with the official `openai` SDK.

Every body and every SSE event the gateway sends here is validated against spec/openai-openapi.json
(`Response`, `ResponseStreamEvent` and its member schemas, `ErrorResponse`) by `RESPONSES`, a recorder
that knows the Responses wire (named SSE events, no `[DONE]`, strictly increasing `sequence_number`).
Its violations fail the running test, like the shared recorder's do.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import openai
import pytest
from pydantic import BaseModel

import openapi_schema
import node_sdk
import validating
from harness import PROFILE_ONLY_US, SONNET, body_of, last_converse

TERMINAL = ("response.completed", "response.incomplete", "response.failed", "error")

# The spec's schema for each event type the gateway emits.
EVENT_SCHEMAS = {
    "response.created": "ResponseCreatedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.failed": "ResponseFailedEvent",
    "error": "ResponseErrorEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
    "response.reasoning_summary_part.added": "ResponseReasoningSummaryPartAddedEvent",
    "response.reasoning_summary_part.done": "ResponseReasoningSummaryPartDoneEvent",
    "response.reasoning_summary_text.delta": "ResponseReasoningSummaryTextDeltaEvent",
    "response.reasoning_summary_text.done": "ResponseReasoningSummaryTextDoneEvent",
}


class ResponsesRecorder(validating.Recorder):
    """`validating.Recorder` for the Responses wire: JSON bodies are `Response` objects, SSE events are
    `event: <type>` + `data: {...}` pairs ending with a terminal event instead of `[DONE]`."""

    def _sse_block(self, ex: validating.Exchange, block: str) -> None:
        data_lines, event = [], None
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data_lines.append(value)
            elif name == "event":
                event = value
            else:
                self.violation(ex, f"unexpected SSE field in line {line!r}")
        if not data_lines:
            return
        data = "\n".join(data_lines)
        if any(e.event in TERMINAL for e in ex.events):
            self.violation(ex, f"SSE event after the terminal event: {data[:200]!r}")
        ex.events.append(validating.SseEvent(data=data, event=event, arrived=0.0))
        try:
            obj = json.loads(data)
        except ValueError as err:
            self.violation(ex, f"SSE data is not JSON ({err}): {data[:200]!r}")
            return
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind != event:
            self.violation(ex, f"SSE event name {event!r} differs from data.type {kind!r}")
        self._schema(ex, obj, "ResponseStreamEvent")
        if kind in EVENT_SCHEMAS:
            self._schema(ex, obj, EVENT_SCHEMAS[kind])
        else:
            self.violation(ex, f"unexpected event type {kind!r}")
        seqs = [e.json().get("sequence_number") for e in ex.events]
        if len(seqs) >= 2 and not (isinstance(seqs[-1], int) and seqs[-1] > seqs[-2]):
            self.violation(ex, f"sequence_number not strictly increasing: {seqs[-2]} then {seqs[-1]}")

    def finish(self, ex: validating.Exchange) -> None:
        if ex.finished:
            return
        ex.finished = True
        if ex.is_sse:
            if ex.eof and not any(e.event in TERMINAL for e in ex.events):
                self.violation(ex, "stream reached EOF without a terminal event")
            return
        if not ex.eof:
            return
        try:
            obj = json.loads(bytes(ex.body))
        except ValueError:
            self.violation(ex, f"body is not JSON: {bytes(ex.body)[:300]!r}")
            return
        self._schema(ex, obj, "ErrorResponse" if ex.status >= 400 else "Response")


RESPONSES = ResponsesRecorder()


@pytest.fixture(autouse=True)
def _responses_schema_check():
    RESPONSES.reset()
    yield
    found = RESPONSES.take_violations()
    assert not found, "the gateway sent responses that violate spec/openai-openapi.json:\n  - " + "\n  - ".join(found)


@pytest.fixture
def rclient(gateway):
    """The official SDK client whose traffic `RESPONSES` validates."""
    import httpx2

    http_client = openai.DefaultHttpxClient(transport=validating._make_transport(httpx2)(RESPONSES), timeout=30.0)
    c = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=gateway.master_key, http_client=http_client,
                      max_retries=0, timeout=30.0)
    yield c
    c.close()


def raw(path: str = "/v1/responses") -> validating.Exchange:
    return RESPONSES.last(path)


WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def tiny_png() -> bytes:
    """A valid 1x1 RGB PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def collect(stream) -> list[Any]:
    return list(stream)


def converse_messages(emu) -> list[dict[str, Any]]:
    return body_of(last_converse(emu))["messages"]


# ---------------------------------------------------------------------------------------------------
# plain text
# ---------------------------------------------------------------------------------------------------


def test_plain_text(rclient, emu):
    resp = rclient.responses.create(model=SONNET, input="hello there", instructions="Be brief.")
    assert resp.object == "response"
    assert resp.id.startswith("resp_")
    assert resp.status == "completed"
    assert resp.model == SONNET
    assert resp.output_text == "You said: hello there"
    assert [item.type for item in resp.output] == ["message"]
    assert resp.output[0].role == "assistant"
    assert resp.output[0].content[0].type == "output_text"
    # Input tokens are words of system + messages in the emulator.
    assert resp.usage.input_tokens == 4
    assert resp.usage.output_tokens == 4
    assert resp.usage.total_tokens == 8
    assert resp.usage.input_tokens_details.cached_tokens == 0
    assert resp.usage.output_tokens_details.reasoning_tokens == 0
    body = raw().json()
    openapi_schema.validate(body, "Response")
    assert body["instructions"] == "Be brief." and body["tools"] == [] and body["tool_choice"] == "auto"
    assert body["error"] is None and body["incomplete_details"] is None
    sent = body_of(last_converse(emu))
    assert sent["system"] == [{"text": "Be brief."}]
    assert sent["messages"] == [{"role": "user", "content": [{"text": "hello there"}]}]


def test_max_output_tokens_is_incomplete(rclient, emu):
    resp = rclient.responses.create(model=SONNET, input="[[emu:words=40]] go", max_output_tokens=16)
    assert resp.status == "incomplete"
    assert resp.incomplete_details.reason == "max_output_tokens"
    assert len(resp.output_text.split()) == 16
    assert resp.output[-1].status == "incomplete"
    assert body_of(last_converse(emu))["inferenceConfig"]["maxTokens"] == 16


# ---------------------------------------------------------------------------------------------------
# streaming
# ---------------------------------------------------------------------------------------------------


def test_stream_true_events(rclient, emu):
    prompt = "stream this sentence back please"
    plain = rclient.responses.create(model=SONNET, input=prompt)
    events = collect(rclient.responses.create(model=SONNET, input=prompt, stream=True))
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert types.count("response.output_text.delta") >= 2
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == plain.output_text == f"You said: {prompt}"
    seqs = [e.sequence_number for e in events]
    assert seqs == sorted(set(seqs)) and seqs[0] == 0
    done = [e for e in events if e.type == "response.output_text.done"]
    assert len(done) == 1 and done[0].text == text
    final = events[-1].response
    assert final.status == "completed"
    assert final.output_text == text
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert final.usage.input_tokens == plain.usage.input_tokens
    # Every event of the stream names the same response.
    assert {e.response.id for e in events if hasattr(e, "response")} == {final.id}
    item_ids = {e.item_id for e in events if hasattr(e, "item_id")}
    assert item_ids == {final.output[0].id}
    assert last_converse(emu)["operation"] == "ConverseStream"
    assert raw().is_sse


def test_stream_helper_final_response(rclient, emu):
    deltas = []
    with rclient.responses.stream(model=SONNET, input="helper stream") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert final.output_text == "You said: helper stream" == "".join(deltas)
    assert final.status == "completed"


# ---------------------------------------------------------------------------------------------------
# function tools
# ---------------------------------------------------------------------------------------------------


def test_function_tool_round_trip(rclient, emu):
    history: list[Any] = [{"role": "user", "content": "[[emu:tool=get_weather]] weather in Paris?"}]
    first = rclient.responses.create(model=SONNET, input=history, tools=[WEATHER_TOOL])
    assert first.status == "completed"
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert call.name == "get_weather"
    assert call.call_id.startswith("tooluse_")
    assert call.id.startswith("fc_")
    assert isinstance(json.loads(call.arguments)["city"], str)
    sent = body_of(last_converse(emu))
    assert sent["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"

    history += first.output
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "18C and sunny"})
    second = rclient.responses.create(model=SONNET, input=history, tools=[WEATHER_TOOL])
    assert second.output_text == "Tool result: 18C and sunny"
    messages = converse_messages(emu)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"][-1]["toolUse"]["toolUseId"] == call.call_id
    assert messages[2]["content"] == [
        {"toolResult": {"toolUseId": call.call_id, "content": [{"text": "18C and sunny"}]}}
    ]


def test_function_tool_round_trip_stream(rclient, emu):
    history: list[Any] = [{"role": "user", "content": "[[emu:tool=get_weather]] weather in Rome?"}]
    events = collect(rclient.responses.create(model=SONNET, input=history, tools=[WEATHER_TOOL], stream=True))
    types = [e.type for e in events]
    assert "response.function_call_arguments.done" in types
    added = [e for e in events if e.type == "response.output_item.added" and e.item.type == "function_call"]
    assert len(added) == 1 and added[0].item.arguments == ""
    args = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    args_done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert args_done.arguments == args and json.loads(args)["city"]
    final = events[-1].response
    assert events[-1].type == "response.completed"
    call = next(item for item in final.output if item.type == "function_call")
    assert call.call_id == added[0].item.call_id and call.arguments == args

    history += final.output
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "21C"})
    with rclient.responses.stream(model=SONNET, input=history, tools=[WEATHER_TOOL]) as stream:
        answer = stream.get_final_response()
    assert answer.output_text == "Tool result: 21C"


def test_reasoning_effort_with_tool_round_trip(rclient, emu):
    history: list[Any] = [{"role": "user", "content": "[[emu:tool=get_weather]] weather in Oslo?"}]
    # Claude 3.7 (through its US profile): Claude 3.5 has no extended thinking on Bedrock.
    first = rclient.responses.create(model=PROFILE_ONLY_US, input=history, tools=[WEATHER_TOOL],
                                     reasoning={"effort": "low"}, include=["reasoning.encrypted_content"])
    sent = body_of(last_converse(emu))
    assert sent["additionalModelRequestFields"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert raw().json()["reasoning"]["effort"] == "low"
    call = next(item for item in first.output if item.type == "function_call")
    history += first.output
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "-3C"})
    # The emulator, like Anthropic, refuses the turn unless the signed thinking comes back.
    second = rclient.responses.create(model=PROFILE_ONLY_US, input=history, tools=[WEATHER_TOOL],
                                      reasoning={"effort": "low"})
    assert "reasoningContent" in body_of(last_converse(emu))["messages"][1]["content"][0]
    assert second.output_text == "Tool result: -3C"


# ---------------------------------------------------------------------------------------------------
# structured output, images
# ---------------------------------------------------------------------------------------------------


class Person(BaseModel):
    name: str
    age: int


def test_parse_json_schema(rclient, emu):
    resp = rclient.responses.parse(
        model=SONNET,
        input='[[emu:reply={"name":"x","age":3}]] who is it?',
        text_format=Person,
    )
    assert resp.output_parsed == Person(name="x", age=3)
    body = raw().json()
    assert body["text"]["format"]["type"] == "json_schema"
    assert body["text"]["format"]["name"] == "Person"
    # The same structured-output path as chat: Claude 3.5 has no `outputConfig`, so the schema
    # is a forced tool whose input comes back as the output text.
    sent = body_of(last_converse(emu))
    assert "outputConfig" not in sent
    assert sent["toolConfig"]["toolChoice"] == {"tool": {"name": "Person"}}
    assert sent["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["properties"].keys() == {"name", "age"}
    assert not [item for item in resp.output if item.type == "function_call"]


def test_image_input_reaches_bedrock_as_image_block(rclient, emu):
    png = tiny_png()
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    resp = rclient.responses.create(
        model=SONNET,
        input=[{"role": "user", "content": [
            {"type": "input_text", "text": "what is this?"},
            {"type": "input_image", "image_url": url, "detail": "auto"},
        ]}],
    )
    assert resp.status == "completed"
    content = converse_messages(emu)[0]["content"]
    assert content[0] == {"text": "what is this?"}
    image = content[1]["image"]
    assert image["format"] == "png"
    assert base64.b64decode(image["source"]["bytes"]) == png


# ---------------------------------------------------------------------------------------------------
# refusals and upstream errors
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "param", "fragment"),
    [
        ({"tools": [{"type": "web_search_preview"}]}, "tools[0].type", "web_search_preview"),
        ({"tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]}, "tools[0].type", "file_search"),
        ({"background": True}, "background", "Background"),
        # A loopback image URL is refused before any connection (IMAGE_FETCH_ALLOW_PRIVATE is off).
        ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "http://127.0.0.1:1/a.png",
                                                   "detail": "auto"}]}]},
         "input[0].content[0].image_url",
         "Could not use the image at 'http://127.0.0.1:1/a.png': the host is a private or local address "
         "(127.0.0.1), which the gateway does not fetch."),
    ],
    ids=["web_search", "file_search", "background", "private_image"],
)
def test_refusals_are_400_naming_the_parameter(rclient, emu, kwargs, param, fragment):
    kwargs.setdefault("input", "hi")
    with pytest.raises(openai.BadRequestError) as info:
        rclient.responses.create(model=SONNET, **kwargs)
    err = info.value.body
    assert err["param"] == param
    assert fragment in err["message"]
    assert err["type"] == "invalid_request_error"
    assert not emu.requests("Converse") and not emu.requests("ConverseStream")


def test_unknown_argument_is_rejected(gateway):
    r = gateway.http.post("/v1/responses", headers=gateway.auth(),
                          json={"model": SONNET, "input": "x", "bogus": 1})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Unrecognized request argument supplied: bogus"


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_upstream_throttle_is_429(rclient, emu, stream):
    with pytest.raises(openai.RateLimitError) as info:
        result = rclient.responses.create(model=SONNET, input="[[emu:error=ThrottlingException]] hi", stream=stream)
        if stream:
            collect(result)
    assert info.value.status_code == 429
    assert info.value.body["type"] == "rate_limit_error"


def test_mid_stream_throttle_fails_the_response(rclient, emu):
    events = collect(rclient.responses.create(
        model=SONNET, input="[[emu:words=30]] [[emu:stream-error=throttlingException@2]] go", stream=True))
    types = [e.type for e in events]
    assert types[-1] == "response.failed", types
    assert types.count("response.output_text.delta") == 2
    assert "response.completed" not in types
    failed = events[-1].response
    assert failed.status == "failed"
    assert failed.error.code == "rate_limit_exceeded"
    assert failed.error.message
    # The partial output is reported, marked incomplete.
    assert failed.output[0].type == "message" and failed.output[0].status == "incomplete"
    ex = raw()
    assert ex.eof and ex.events[-1].event == "response.failed"


# ---------------------------------------------------------------------------------------------------
# a second real client: the official `openai` npm package under Node.js
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node():
    return node_sdk.find_node()


def test_node_sdk_plain_and_streamed(node, gateway, rclient):
    got = node_sdk.run_script(node, "responses.mjs", gateway, SONNET, "hello from node")
    assert "sdk_error" not in got, got
    plain, streamed = got["plain"], got["streamed"]
    assert plain["id"].startswith("resp_") and plain["status"] == "completed"
    assert plain["output_text"] == "You said: hello from node"
    # The Node SDK's stream helper assembles the same answer from the deltas as the plain call.
    assert len(streamed["deltas"]) > 1
    assert "".join(streamed["deltas"]) == streamed["output_text"] == plain["output_text"]
    assert streamed["status"] == "completed"
    assert plain["usage"] == streamed["usage"]
    assert plain["usage"]["total_tokens"] == plain["usage"]["input_tokens"] + plain["usage"]["output_tokens"] > 0
    # And the Python SDK sees the same answer for the same input.
    assert rclient.responses.create(model=SONNET, input="hello from node", max_output_tokens=200).output_text == plain["output_text"]


def test_node_sdk_sees_upstream_throttling(node, gateway):
    got = node_sdk.run_script(node, "responses.mjs", gateway, SONNET, "[[emu:error=ThrottlingException]]")
    assert got["sdk_error"]["status"] == 429
