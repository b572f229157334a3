"""Chat features beyond plain text that the translation already carries (issue 3 covers them in
full): tool calls, inline images, parameter validation. Each is checked on the wire to Bedrock."""

from __future__ import annotations

import json

import openai
import pytest

from harness import SONNET, body_of, last_converse, user

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def test_tool_call_round_trip(client, emu):
    resp = client.chat.completions.create(
        model=SONNET, messages=user("[[emu:tool=get_weather]] weather in Paris?"), tools=[WEATHER_TOOL]
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    args = json.loads(call.function.arguments)
    assert isinstance(args.get("city"), str)
    spec = body_of(last_converse(emu))["toolConfig"]["tools"][0]["toolSpec"]
    assert spec["name"] == "get_weather"
    assert spec["inputSchema"]["json"] == WEATHER_TOOL["function"]["parameters"]

    # Send the result back: the assistant turn becomes toolUse, the tool turn toolResult.
    follow = client.chat.completions.create(
        model=SONNET,
        tools=[WEATHER_TOOL],
        messages=[
            *user("weather in Paris?"),
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]},
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"},
        ],
    )
    assert follow.choices[0].finish_reason == "stop"
    msgs = body_of(last_converse(emu))["messages"]
    assert msgs[1]["role"] == "assistant"
    assert msgs[1]["content"][0]["toolUse"]["toolUseId"] == call.id
    assert msgs[1]["content"][0]["toolUse"]["input"] == args
    assert msgs[2]["role"] == "user"
    result = msgs[2]["content"][0]["toolResult"]
    assert result["toolUseId"] == call.id
    assert result["content"] == [{"text": "sunny, 21 C"}]


def test_streamed_tool_call_assembles(client, emu):
    chunks = list(
        client.chat.completions.create(
            model=SONNET, messages=user("[[emu:tool=get_weather]]"), tools=[WEATHER_TOOL], stream=True
        )
    )
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas and deltas[0].id and deltas[0].function.name == "get_weather"
    assert {d.index for d in deltas} == {0}
    args = "".join(d.function.arguments or "" for d in deltas)
    assert isinstance(json.loads(args)["city"], str)
    assert [c for c in chunks if c.choices][-1].choices[0].finish_reason == "tool_calls"


def test_tool_choice_named_function(client, emu):
    client.chat.completions.create(
        model=SONNET,
        messages=user("[[emu:tool=get_weather]]"),
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert body_of(last_converse(emu))["toolConfig"]["toolChoice"] == {"tool": {"name": "get_weather"}}


def test_inline_image_is_sent_as_image_bytes(client, emu):
    resp = client.chat.completions.create(
        model=SONNET,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX}"}},
                    {"type": "text", "text": "describe it"},
                ],
            }
        ],
    )
    assert resp.choices[0].message.content == "You said: describe it"
    content = body_of(last_converse(emu))["messages"][0]["content"]
    assert content[0] == {"image": {"format": "png", "source": {"bytes": PNG_1PX}}}
    assert content[1] == {"text": "describe it"}


def test_max_completion_tokens_wins_over_max_tokens(client, emu):
    client.chat.completions.create(model=SONNET, messages=user("x"), max_tokens=100, max_completion_tokens=20)
    assert body_of(last_converse(emu))["inferenceConfig"]["maxTokens"] == 20


@pytest.mark.parametrize(
    "extra,param",
    [
        ({"temperature": 3.5}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"logprobs": True}, "logprobs"),
        ({"n": 3}, "n"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"logit_bias": {"1": 5}}, "logit_bias"),
    ],
    ids=["temperature-range", "top_p-range", "max_tokens-zero", "logprobs", "n", "stream_options-without-stream",
         "logit_bias"],
)
def test_unsupported_or_invalid_parameters_are_400_naming_them(client, emu, extra, param):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=SONNET, messages=user("x"), **extra)
    body = info.value.body
    assert body["param"] == param or param in body["message"], body
    assert not [r for r in emu.requests() if r.get("operation") in ("Converse", "ConverseStream")]


def test_unknown_top_level_parameter_is_400(gateway, emu):
    r = gateway.http.post(
        "/v1/chat/completions",
        headers=gateway.auth(),
        json={"model": SONNET, "messages": user("x"), "frobnicate": 1},
    )
    assert r.status_code == 400
    assert "frobnicate" in r.json()["error"]["message"]
