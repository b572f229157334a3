"""Issue 3, chat fidelity: what an OpenAI application relies on keeps working on Bedrock — tool
round-trips (plain, streamed, forced), structured output, reasoning with signed thinking sent
back, prompt-cache usage and guardrail interventions. Each is checked on the wire to Bedrock."""

from __future__ import annotations

import base64
import http.server
import json
import threading

import pytest
from pydantic import BaseModel

import openapi_schema

from harness import PROFILE_ONLY_US, SONNET, body_of, last_converse, user
from test_chat_features import PNG_1PX as PNG_1PX_B64
from test_chat_features import WEATHER_TOOL
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
# Claude 3.7 (through its US inference profile): the first Claude with extended thinking.
THINKER = PROFILE_ONLY_US


def collect(stream) -> tuple[str, str, str, list, str | None]:
    """(content, reasoning, signature, tool-call deltas, finish_reason) of a streamed answer."""
    content, reasoning, signature, calls, finish = "", "", "", [], None
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        delta = choice.delta
        extra = delta.model_extra or {}
        content += delta.content or ""
        reasoning += extra.get("reasoning_content") or ""
        signature += extra.get("reasoning_signature") or ""
        calls.extend(delta.tool_calls or [])
        finish = choice.finish_reason or finish
    return content, reasoning, signature, calls, finish


def assemble(deltas) -> list[dict]:
    """Tool calls from streamed deltas, by index (which must be dense and start at 0)."""
    calls: dict[int, dict] = {}
    for d in deltas:
        call = calls.setdefault(d.index, {"id": None, "name": None, "arguments": ""})
        if d.id:
            assert call["id"] is None, "id repeated after the first delta"
            call["id"] = d.id
            call["name"] = d.function.name
        call["arguments"] += d.function.arguments or ""
    assert sorted(calls) == list(range(len(calls))), calls
    return [calls[i] for i in range(len(calls))]


def tool_turns(call_id: str, name: str, arguments: str, result: str, **assistant_extra) -> list[dict]:
    return [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}],
            **assistant_extra,
        },
        {"role": "tool", "tool_call_id": call_id, "content": result},
    ]


def test_streamed_tool_round_trip_with_text_between(client, emu):
    stream = client.chat.completions.create(
        model=SONNET,
        messages=user("[[emu:reply=Checking.]] [[emu:tool=get_weather]] weather in Paris?"),
        tools=[WEATHER_TOOL],
        stream=True,
    )
    content, _, _, deltas, finish = collect(stream)
    assert content == "Checking." and finish == "tool_calls"
    [call] = assemble(deltas)
    assert call["name"] == "get_weather" and call["id"].startswith("tooluse_")
    assert isinstance(json.loads(call["arguments"])["city"], str)

    final = client.chat.completions.create(
        model=SONNET,
        tools=[WEATHER_TOOL],
        messages=[*user("weather in Paris?"), *tool_turns(call["id"], call["name"], call["arguments"], "sunny")],
        stream=True,
    )
    content, _, _, deltas, finish = collect(final)
    assert (content, deltas, finish) == ("Tool result: sunny", [], "stop")


def test_required_tool_choice_becomes_any(client, emu):
    resp = client.chat.completions.create(
        model=SONNET, messages=user("weather?"), tools=[WEATHER_TOOL], tool_choice="required"
    )
    assert resp.choices[0].finish_reason == "tool_calls"
    assert body_of(last_converse(emu))["toolConfig"]["toolChoice"] == {"any": {}}


class Forecast(BaseModel):
    city: str
    high_c: int


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_structured_output_without_output_config_uses_a_forced_tool_returned_as_content(client, emu, stream):
    # Claude 3.5 has no outputConfig on Bedrock: the schema travels as a forced tool, and its
    # input comes back as message.content — never as a tool call.
    if stream:
        with client.chat.completions.stream(
            model=SONNET, messages=user('[[emu:reply={"city": "Oslo", "high_c": 4}]]'), response_format=Forecast
        ) as s:
            for _ in s:
                pass
            completion = s.get_final_completion()
    else:
        completion = client.chat.completions.parse(
            model=SONNET, messages=user('[[emu:reply={"city": "Oslo", "high_c": 4}]]'), response_format=Forecast
        )
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls in (None, [])
    assert choice.message.parsed == Forecast(city="Oslo", high_c=4)
    sent = body_of(last_converse(emu))
    assert "outputConfig" not in sent
    [tool] = sent["toolConfig"]["tools"]
    assert tool["toolSpec"]["name"] == "Forecast"
    assert tool["toolSpec"]["inputSchema"]["json"]["required"] == ["city", "high_c"]
    assert sent["toolConfig"]["toolChoice"] == {"tool": {"name": "Forecast"}}


@pytest.mark.parametrize(
    "model,kwargs,param",
    [
        (SONNET, {"temperature": 1.5}, "temperature"),
        (SONNET, {"seed": 7}, "seed"),
        (SONNET, {"presence_penalty": 0.5}, "presence_penalty"),
        (THINKER, {"temperature": 0.3, "extra_body": THINKING}, "temperature"),
        ("meta.llama3-8b-instruct-v1:0", {"tools": [WEATHER_TOOL]}, "tools"),
        ("meta.llama3-8b-instruct-v1:0", {"reasoning_effort": "low"}, "reasoning_effort"),
    ],
    ids=["claude-temperature", "seed", "presence_penalty", "thinking-temperature",
         "llama3-tools", "llama3-reasoning"],
)
def test_what_the_model_family_cannot_do_is_400_naming_it(client, emu, model, kwargs, param):
    import openai

    emu.clear()
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=model, messages=user("x"), **kwargs)
    assert info.value.body["param"] == param, info.value.body
    assert not [r for r in emu.requests() if r.get("operation") in ("Converse", "ConverseStream")]


def test_streamed_tools_on_a_family_without_streamed_tool_use_are_answered_through_converse(client, emu):
    # Mistral Large takes tools only in Converse: the gateway calls Converse and replays the
    # answer as chunks, so the streaming client still gets its tool call.
    emu.clear()
    content, _, _, deltas, finish = collect(client.chat.completions.create(
        model="mistral.mistral-large-2402-v1:0", messages=user("[[emu:tool=get_weather]] weather?"),
        tools=[WEATHER_TOOL], stream=True, stream_options={"include_usage": True},
    ))
    [call] = assemble(deltas)
    assert call["name"] == "get_weather" and isinstance(json.loads(call["arguments"])["city"], str)
    assert finish == "tool_calls"
    assert [r["operation"] for r in emu.requests() if r.get("operation") in ("Converse", "ConverseStream")] == [
        "Converse"
    ]


def test_cohere_takes_seed_and_penalties_as_native_fields(client, emu):
    client.chat.completions.create(model="cohere.command-r-plus-v1:0", messages=user("x"), seed=7,
                                   frequency_penalty=0.25)
    fields = body_of(last_converse(emu))["additionalModelRequestFields"]
    assert fields == {"seed": 7, "frequency_penalty": 0.25}


def test_json_object_response_format_instructs_the_model(client, emu):
    resp = client.chat.completions.create(
        model=SONNET, messages=user('[[emu:reply={"ok": true}]]'), response_format={"type": "json_object"}
    )
    assert json.loads(resp.choices[0].message.content) == {"ok": True}
    system = body_of(last_converse(emu))["system"]
    assert any("JSON" in block.get("text", "") for block in system)


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_reasoning_signature_round_trips_through_tool_use(client, emu, stream):
    first = client.chat.completions.create(
        model=THINKER,
        messages=user("[[emu:tool=get_weather]] weather in Paris?"),
        tools=[WEATHER_TOOL],
        extra_body=THINKING,
        stream=stream,
    )
    if stream:
        _, reasoning, signature, deltas, _ = collect(first)
        [call] = assemble(deltas)
    else:
        message = first.choices[0].message
        extra = message.model_extra or {}
        reasoning, signature = extra.get("reasoning_content"), extra.get("reasoning_signature")
        tc = message.tool_calls[0]
        call = {"id": tc.id, "name": tc.function.name, "arguments": tc.function.arguments}
    assert reasoning and signature
    sent = body_of(last_converse(emu))
    assert sent["additionalModelRequestFields"]["thinking"] == THINKING["thinking"]

    turns = tool_turns(call["id"], call["name"], call["arguments"], "sunny",
                       reasoning_content=reasoning, reasoning_signature=signature)
    final = client.chat.completions.create(
        model=THINKER, tools=[WEATHER_TOOL], messages=[*user("weather in Paris?"), *turns], extra_body=THINKING
    )
    assert final.choices[0].message.content == "Tool result: sunny"
    assistant = body_of(last_converse(emu))["messages"][1]["content"]
    assert assistant[0] == {"reasoningContent": {"reasoningText": {"text": reasoning, "signature": signature}}}
    assert "toolUse" in assistant[1]


def test_tampered_or_missing_reasoning_is_refused_by_the_model(client, emu):
    import openai

    turns = tool_turns("tooluse_x", "get_weather", '{"city": "Paris"}', "sunny",
                       reasoning_content="made up", reasoning_signature="Zm9yZ2Vk")
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=THINKER, tools=[WEATHER_TOOL], messages=[*user("weather?"), *turns], extra_body=THINKING
        )
    assert "signature" in info.value.body["message"]
    turns = tool_turns("tooluse_x", "get_weather", '{"city": "Paris"}', "sunny")
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=THINKER, tools=[WEATHER_TOOL], messages=[*user("weather?"), *turns], extra_body=THINKING
        )
    assert "thinking" in info.value.body["message"]


def test_cached_tokens_are_reported_on_the_second_call(client, emu):
    system = [
        {"type": "text", "text": "You are a meticulous assistant for fidelity test number seven.",
         "cache_control": {"type": "ephemeral"}}
    ]
    messages = [{"role": "system", "content": system}, *user("hello there")]
    first = client.chat.completions.create(model=SONNET, messages=messages)
    second = client.chat.completions.create(model=SONNET, messages=messages)
    assert body_of(last_converse(emu))["system"][1] == {"cachePoint": {"type": "default"}}
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    assert first.usage.prompt_tokens_details.cache_write_tokens == 10
    assert second.usage.prompt_tokens_details.cached_tokens == 10
    assert first.usage.prompt_tokens == second.usage.prompt_tokens == 12


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_request_guardrail_intervention_is_content_filter(client, emu, stream):
    guardrail = {"guardrailIdentifier": "grfidelity1", "guardrailVersion": "1", "trace": "enabled"}
    resp = client.chat.completions.create(
        model=SONNET,
        messages=user("[[emu:guardrail]] something harmful"),
        extra_body={"bedrock": {"guardrail_config": guardrail}},
        stream=stream,
    )
    if stream:
        content, _, _, _, finish = collect(resp)
    else:
        content, finish = resp.choices[0].message.content, resp.choices[0].finish_reason
    assert finish == "content_filter"
    assert content == "Sorry, the model cannot answer this question."
    sent = body_of(last_converse(emu))["guardrailConfig"]
    assert sent["guardrailIdentifier"] == "grfidelity1"


PNG_1PX = base64.b64decode(PNG_1PX_B64)
ROUTES = {
    "/cat.png": ("image/png", PNG_1PX),
    "/mislabelled": ("application/octet-stream", PNG_1PX),
    "/page.html": ("text/html", b"<html>not an image</html>"),
    "/fake.png": ("image/png", b"definitely not png bytes"),
    "/huge.png": ("image/png", PNG_1PX + b"\0" * 4_000_000),
}


# Paths the image host was asked for, in order.
IMAGE_HOST_HITS: list[str] = []


class _ImageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        IMAGE_HOST_HITS.append(self.path)
        route = ROUTES.get(self.path)
        if route is None:
            self.send_error(404)
            return
        kind, body = route
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def image_host():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def image_gateway(module_gateways):
    """A gateway allowed to fetch from private addresses: the test image host is on 127.0.0.1,
    which the default gateway refuses (see the tests at the end of this section)."""
    return module_gateways.start({"IMAGE_FETCH_ALLOW_PRIVATE": "true"})


@pytest.fixture
def image_client(image_gateway):
    c = image_gateway.openai()
    yield c
    c.close()


def image_message(url: str) -> list[dict]:
    return [{"role": "user", "content": [
        {"type": "text", "text": "describe it"},
        {"type": "image_url", "image_url": {"url": url}},
    ]}]


@pytest.mark.parametrize("path", ["/cat.png", "/mislabelled"])
def test_http_image_url_is_fetched_and_sent_as_bytes(image_client, emu, image_host, path):
    resp = image_client.chat.completions.create(model=SONNET, messages=image_message(image_host + path))
    assert resp.choices[0].message.content == "You said: describe it"
    content = body_of(last_converse(emu))["messages"][0]["content"]
    assert content[1] == {"image": {"format": "png", "source": {"bytes": base64.b64encode(PNG_1PX).decode()}}}


@pytest.mark.parametrize(
    "path,fragment",
    [
        ("/missing.png", "HTTP 404"),
        ("/page.html", "'text/html', not a PNG"),
        ("/fake.png", "content is not a PNG"),
        ("/huge.png", "larger than the 3750000-byte limit"),
    ],
    ids=["not-found", "not-an-image-type", "not-image-bytes", "over-limit"],
)
def test_unusable_http_image_is_400_naming_the_part(image_client, emu, image_host, path, fragment):
    import openai

    emu.clear()
    with pytest.raises(openai.BadRequestError) as info:
        image_client.chat.completions.create(model=SONNET, messages=image_message(image_host + path), stream=path == "/fake.png")
    body = info.value.body
    assert body["param"] == "messages[0].content[1].image_url.url"
    assert fragment in body["message"], body
    assert not [r for r in emu.requests() if r.get("operation") in ("Converse", "ConverseStream")]


PRIVATE = "the host is a private or local address ({}), which the gateway does not fetch."


@pytest.mark.parametrize(
    "target,why",
    [
        ("{host}/cat.png", PRIVATE.format("127.0.0.1")),
        ("http://169.254.169.254/latest/meta-data/", PRIVATE.format("169.254.169.254")),
        ("http://[::ffff:169.254.169.254]/latest/meta-data/", PRIVATE.format("::ffff:169.254.169.254")),
        # A host name is resolved once and every address checked (127.0.0.1 or ::1 may come first).
        ("{localhost}/cat.png", "the host resolves to a private or local address ("),
    ],
    ids=["loopback", "instance-metadata", "mapped-ipv6", "localhost-name"],
)
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_private_image_hosts_are_refused_by_default(gateway, emu, image_host, target, why, stream):
    url = target.format(host=image_host, localhost=image_host.replace("127.0.0.1", "localhost"))
    IMAGE_HOST_HITS.clear()
    r = gateway.http.post("/v1/chat/completions", headers=gateway.auth(),
                          json={"model": SONNET, "messages": image_message(url), "stream": stream})
    assert r.status_code == 400, r.text
    body = r.json()
    openapi_schema.validate(body, "ErrorResponse")
    err = body["error"]
    assert err["type"] == "invalid_request_error"
    assert err["param"] == "messages[0].content[1].image_url.url"
    assert err["message"].startswith(f"Could not use the image at '{url}': {why}"), err
    assert IMAGE_HOST_HITS == [], "the image host was never contacted"
    assert not [r for r in emu.requests() if r.get("operation") in ("Converse", "ConverseStream")]


def test_private_image_host_is_fetched_with_the_opt_out_from_config_yaml(start_gateway, emu, image_host):
    gw = start_gateway.start(config_yaml="image_fetch:\n  allow_private: ${INTERNAL_IMAGES}\n",
                             env={"INTERNAL_IMAGES": "true"})
    client = gw.openai()
    resp = client.chat.completions.create(model=SONNET, messages=image_message(image_host + "/cat.png"))
    client.close()
    assert resp.choices[0].message.content == "You said: describe it"
    content = body_of(last_converse(emu))["messages"][0]["content"]
    assert content[1]["image"]["format"] == "png"


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_provider_guardrail_from_env_applies_unless_the_request_names_one(start_gateway, emu, stream):
    gw = start_gateway.start(env={
        "BEDROCK_GUARDRAIL_ID": "grprovider1",
        "BEDROCK_GUARDRAIL_VERSION": "3",
        "BEDROCK_GUARDRAIL_STREAM_PROCESSING_MODE": "async",
    })
    client = gw.openai()
    resp = client.chat.completions.create(model=SONNET, messages=user("[[emu:guardrail]] hi"), stream=stream)
    finish = collect(resp)[4] if stream else resp.choices[0].finish_reason
    assert finish == "content_filter"
    want = {"guardrailIdentifier": "grprovider1", "guardrailVersion": "3"}
    if stream:
        want["streamProcessingMode"] = "async"
    assert body_of(last_converse(emu))["guardrailConfig"] == want

    own = {"guardrailIdentifier": "grrequest1", "guardrailVersion": "DRAFT"}
    client.chat.completions.create(model=SONNET, messages=user("hi"), extra_body={"bedrock": {"guardrail_config": own}})
    assert body_of(last_converse(emu))["guardrailConfig"] == own
