"""boto3 proves the Bedrock emulator speaks the real protocol.

botocore reads the same AWS service models as `spec/`, signs with SigV4, parses rest-json errors
and decodes event streams. If it can drive the emulator through Converse, ConverseStream,
InvokeModel, ListFoundationModels, GetFoundationModel and ListInferenceProfiles — and gets the
error codes and statuses AWS would give — the emulator is a faithful stand-in.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import boto3
import botocore.exceptions
import httpx
import pytest
from botocore.config import Config

from emulator_fixture import (  # noqa: F401 (fixtures are used by name)
    ACCESS_KEY,
    API_KEY,
    REGION,
    SECRET_KEY,
    SESSION_ACCESS_KEY,
    SESSION_SECRET_KEY,
    SESSION_TOKEN,
    EmulatorProcess,
    launch_emulator,
    shared_emulator,
)

HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"
SONNET_37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
SONNET_37_US = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
DENIED = "amazon.nova-pro-v1:0"

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=30, connect_timeout=5)

WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "days": {"type": "integer", "minimum": 1},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "note": {"type": "string"},
                },
                "required": ["city", "days", "unit"],
            }
        },
    }
}


def client(emu: EmulatorProcess, service: str = "bedrock-runtime", *, region: str = REGION,
           key: str = ACCESS_KEY, secret: str = SECRET_KEY, token: str | None = None,
           config: Config = NO_RETRY):
    return boto3.client(
        service,
        endpoint_url=emu.url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=config,
    )


@pytest.fixture(scope="module")
def rt(shared_emulator):
    return client(shared_emulator)


@pytest.fixture(scope="module")
def cp(shared_emulator):
    return client(shared_emulator, "bedrock")


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def error_of(info: pytest.ExceptionInfo) -> tuple[str, int, str]:
    err = info.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


# ------------------------------------------------------------------------------------------------
# Converse
# ------------------------------------------------------------------------------------------------


def test_converse_text_usage_and_metadata(rt):
    resp = rt.converse(
        modelId=HAIKU,
        system=[{"text": "be brief"}],
        messages=user("hello there emulator"),
    )
    assert resp["output"]["message"] == {"role": "assistant", "content": [{"text": "You said: hello there emulator"}]}
    assert resp["stopReason"] == "end_turn"
    # input = words in system + messages; output = words in the answer.
    assert resp["usage"] == {"inputTokens": 5, "outputTokens": 5, "totalTokens": 10}
    assert isinstance(resp["metrics"]["latencyMs"], int)
    meta = resp["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 200
    assert len(meta["RequestId"]) == 36  # x-amzn-RequestId, a UUID
    assert meta["HTTPHeaders"]["content-type"] == "application/json"


def test_converse_max_tokens_cut(rt):
    resp = rt.converse(modelId=HAIKU, messages=user("[[emu:words=12]]"), inferenceConfig={"maxTokens": 4})
    text = resp["output"]["message"]["content"][0]["text"]
    assert len(text.split()) == 4
    assert resp["stopReason"] == "max_tokens"
    assert resp["usage"]["outputTokens"] == 4


def test_converse_stop_sequence(rt):
    resp = rt.converse(
        modelId=HAIKU,
        messages=user("[[emu:reply=alpha beta HALT gamma]]"),
        inferenceConfig={"stopSequences": ["HALT"], "temperature": 0.2, "topP": 0.9},
    )
    assert resp["output"]["message"]["content"][0]["text"] == "alpha beta"
    assert resp["stopReason"] == "stop_sequence"


def test_converse_reply_directive_and_multi_turn(rt):
    resp = rt.converse(
        modelId=HAIKU,
        messages=[
            {"role": "user", "content": [{"text": "first"}]},
            {"role": "assistant", "content": [{"text": "an answer"}]},
            {"role": "user", "content": [{"text": "[[emu:reply=Exactly this.]]"}]},
        ],
    )
    assert resp["output"]["message"]["content"] == [{"text": "Exactly this."}]
    # Words of every turn, the directive's own text included: 1 + 2 + 2.
    assert resp["usage"]["inputTokens"] == 5


def test_converse_tool_use_then_tool_result(rt):
    tool_config = {"tools": [WEATHER_TOOL], "toolChoice": {"any": {}}}
    resp = rt.converse(modelId=HAIKU, messages=user("weather in Paris?"), toolConfig=tool_config)
    assert resp["stopReason"] == "tool_use"
    [block] = resp["output"]["message"]["content"]
    call = block["toolUse"]
    assert call["name"] == "get_weather"
    assert call["toolUseId"].startswith("tooluse_")
    # Required properties are filled with values of the declared types; optional ones are not.
    assert set(call["input"]) == {"city", "days", "unit"}
    assert isinstance(call["input"]["city"], str)
    assert isinstance(call["input"]["days"], int) and call["input"]["days"] >= 1
    assert call["input"]["unit"] in ("celsius", "fahrenheit")

    follow_up = rt.converse(
        modelId=HAIKU,
        messages=[
            *user("weather in Paris?"),
            resp["output"]["message"],
            {"role": "user", "content": [{"toolResult": {"toolUseId": call["toolUseId"], "content": [{"text": "18C and sunny"}]}}]},
        ],
        toolConfig={"tools": [WEATHER_TOOL]},
    )
    assert follow_up["stopReason"] == "end_turn"
    assert "18C and sunny" in follow_up["output"]["message"]["content"][0]["text"]


def test_converse_tool_directive(rt):
    resp = rt.converse(
        modelId=HAIKU,
        messages=user("[[emu:tool=get_weather]] [[emu:reply=Let me check.]]"),
        toolConfig={"tools": [WEATHER_TOOL]},
    )
    content = resp["output"]["message"]["content"]
    assert content[0] == {"text": "Let me check."}
    assert content[1]["toolUse"]["name"] == "get_weather"


def test_conversation_rules_are_enforced(rt):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rt.converse(modelId=HAIKU, messages=[{"role": "assistant", "content": [{"text": "hi"}]}])
    code, status, message = error_of(info)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("A conversation must start with a user message.")

    with pytest.raises(botocore.exceptions.ClientError) as info:
        rt.converse(modelId=HAIKU, messages=[*user("a"), *user("b")])
    assert "must alternate between user and assistant" in error_of(info)[2]

    dangling = [
        *user("weather?"),
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {}}}]},
        *user("well?"),
    ]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rt.converse(modelId=HAIKU, messages=dangling, toolConfig={"tools": [WEATHER_TOOL]})
    assert error_of(info)[2] == "Expected toolResult blocks at messages.2.content for the following Ids: tooluse_1"


# ------------------------------------------------------------------------------------------------
# ConverseStream
# ------------------------------------------------------------------------------------------------


def collect(stream) -> list[dict[str, Any]]:
    return [event for event in stream]


def test_converse_stream_events(rt):
    resp = rt.converse_stream(modelId=HAIKU, messages=user("stream these words"))
    assert resp["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/vnd.amazon.eventstream"
    events = collect(resp["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and events[0]["messageStart"] == {"role": "assistant"}
    assert kinds[-2:] == ["messageStop", "metadata"]
    deltas = [e["contentBlockDelta"] for e in events if "contentBlockDelta" in e]
    # One word per delta; the deltas concatenate to the whole answer.
    assert len(deltas) == 5
    assert "".join(d["delta"]["text"] for d in deltas) == "You said: stream these words"
    assert all(d["contentBlockIndex"] == 0 for d in deltas)
    assert {"contentBlockStop": {"contentBlockIndex": 0}} in events
    assert events[-2]["messageStop"] == {"stopReason": "end_turn"}
    meta = events[-1]["metadata"]
    assert meta["usage"] == {"inputTokens": 3, "outputTokens": 5, "totalTokens": 8}
    assert isinstance(meta["metrics"]["latencyMs"], int)


def test_converse_stream_max_tokens(rt):
    resp = rt.converse_stream(modelId=HAIKU, messages=user("[[emu:words=30]]"), inferenceConfig={"maxTokens": 3})
    events = collect(resp["stream"])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert len(text.split()) == 3
    assert [e for e in events if "messageStop" in e][0]["messageStop"]["stopReason"] == "max_tokens"


def test_converse_stream_frames_arrive_one_by_one(rt):
    start = time.monotonic()
    resp = rt.converse_stream(modelId=HAIKU, messages=user("[[emu:words=6]] [[emu:frame-delay=150]]"))
    arrivals = []
    for event in resp["stream"]:
        arrivals.append((time.monotonic() - start, next(iter(event))))
    total = arrivals[-1][0]
    # 10 frames with 150 ms between them: the first must arrive long before the last.
    assert len(arrivals) == 10
    assert total >= 1.2, arrivals
    assert arrivals[0][0] < total - 1.0, arrivals


def test_converse_stream_tool_use(rt):
    resp = rt.converse_stream(
        modelId=HAIKU, messages=user("weather?"), toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"tool": {"name": "get_weather"}}}
    )
    events = collect(resp["stream"])
    [start] = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    assert start["start"]["toolUse"]["name"] == "get_weather"
    assert start["start"]["toolUse"]["toolUseId"].startswith("tooluse_")
    fragments = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e]
    assert len(fragments) > 1, "tool input should arrive in several JSON fragments"
    arguments = json.loads("".join(fragments))
    assert set(arguments) == {"city", "days", "unit"}
    assert [e for e in events if "messageStop" in e][0]["messageStop"]["stopReason"] == "tool_use"


@pytest.mark.parametrize(
    "directive,code",
    [
        ("modelStreamErrorException@2", "modelStreamErrorException"),
        ("throttlingException@1", "throttlingException"),
        ("ServiceUnavailableException@0", "serviceUnavailableException"),
    ],
)
def test_mid_stream_exception_is_an_event_stream_error(rt, directive, code):
    resp = rt.converse_stream(modelId=HAIKU, messages=user(f"[[emu:words=10]] [[emu:stream-error={directive}]]"))
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    received = []
    with pytest.raises(botocore.exceptions.EventStreamError) as info:
        for event in resp["stream"]:
            received.append(event)
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["Error"]["Message"]
    deltas = [e for e in received if "contentBlockDelta" in e]
    assert len(deltas) == int(directive.split("@")[1])


def test_stream_errors_before_streaming_are_http_errors(rt):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rt.converse_stream(modelId=HAIKU, messages=user("[[emu:error=ThrottlingException]]"))
    assert error_of(info)[:2] == ("ThrottlingException", 429)


# ------------------------------------------------------------------------------------------------
# faults, models and access
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,status",
    [
        ("ThrottlingException", 429),
        ("AccessDeniedException", 403),
        ("ValidationException", 400),
        ("ResourceNotFoundException", 404),
        ("ServiceUnavailableException", 503),
        ("InternalServerException", 500),
        ("ModelTimeoutException", 408),
        ("ModelNotReadyException", 429),
        ("ModelErrorException", 424),
        ("ServiceQuotaExceededException", 400),
    ],
)
def test_error_directives_have_real_status_and_code(rt, name, status):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rt.converse(modelId=HAIKU, messages=user(f"[[emu:error={name}]]"))
    code, got_status, message = error_of(info)
    assert (code, got_status) == (name, status)
    assert message
    headers = info.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-errortype"] == f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    assert info.value.response["ResponseMetadata"]["RequestId"]
    # botocore maps modelled errors to their exception classes.
    assert type(info.value).__name__ == name


def test_throttling_message(rt):
    with pytest.raises(rt.exceptions.ThrottlingException) as info:
        rt.converse(modelId=HAIKU, messages=user("[[emu:error=ThrottlingException]]"))
    assert error_of(info)[2] == "Too many requests, please wait before trying again."


def test_delay_directive(rt):
    start = time.monotonic()
    rt.converse(modelId=HAIKU, messages=user("[[emu:delay=300]] slow"))
    assert time.monotonic() - start >= 0.3


def test_unknown_directive_is_rejected(rt):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rt.converse(modelId=HAIKU, messages=user("[[emu:colour=red]]"))
    assert error_of(info)[:2] == ("ValidationException", 400)


def test_denied_model_is_403(rt):
    with pytest.raises(rt.exceptions.AccessDeniedException) as info:
        rt.converse(modelId=DENIED, messages=user("hi"))
    assert error_of(info) == ("AccessDeniedException", 403, "You don't have access to the model with the specified model ID.")
    # Through its profile too: access is per model.
    with pytest.raises(rt.exceptions.AccessDeniedException):
        rt.converse(modelId=f"us.{DENIED}", messages=user("hi"))


def test_profile_only_model_refuses_on_demand_and_works_through_profile(rt):
    with pytest.raises(rt.exceptions.ValidationException) as info:
        rt.converse(modelId=SONNET_37, messages=user("on demand"))
    assert error_of(info)[2] == (
        f"Invocation of model ID {SONNET_37} with on-demand throughput isn\u2019t supported. "
        "Retry your request with the ID or ARN of an inference profile that contains this model."
    )
    resp = rt.converse(modelId=SONNET_37_US, messages=user("via profile"))
    assert resp["output"]["message"]["content"][0]["text"] == "You said: via profile"


@pytest.mark.parametrize(
    "model_id",
    [
        f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}",
        f"arn:aws:bedrock:{REGION}:123456789012:inference-profile/{SONNET_37_US}",
        f"arn:aws:bedrock:{REGION}:123456789012:application-inference-profile/a1b2c3d4e5f6",
        f"arn:aws:bedrock:{REGION}:123456789012:provisioned-model/pt7d3f9k2m1q",
        "global.anthropic.claude-sonnet-4-20250514-v1:0",
    ],
)
def test_arns_and_profiles_resolve(rt, shared_emulator, model_id):
    resp = rt.converse(modelId=model_id, messages=user("arn"))
    assert resp["output"]["message"]["content"][0]["text"] == "You said: arn"
    # botocore percent-encodes ':' and '/' in the label; the emulator decoded it.
    rec = [r for r in shared_emulator.requests("Converse") if r["model_id"] == model_id]
    assert rec and "%3A" in rec[-1]["path"]


def test_unknown_model_identifier(rt):
    with pytest.raises(rt.exceptions.ValidationException) as info:
        rt.converse(modelId="anthropic.claude-v9", messages=user("x"))
    assert error_of(info)[2] == "The provided model identifier is invalid."


def test_embedding_model_refuses_converse(rt):
    with pytest.raises(rt.exceptions.ValidationException) as info:
        rt.converse(modelId="amazon.titan-embed-text-v2:0", messages=user("x"))
    assert "doesn't support the model" in error_of(info)[2]


# ------------------------------------------------------------------------------------------------
# InvokeModel (embeddings)
# ------------------------------------------------------------------------------------------------


def invoke(rt, model_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    resp = rt.invoke_model(modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json")
    return json.loads(resp["body"].read()), resp["ResponseMetadata"]["HTTPHeaders"]


def norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def test_titan_v2_embeddings(rt):
    body, headers = invoke(rt, "amazon.titan-embed-text-v2:0", {"inputText": "hello embedding world"})
    assert len(body["embedding"]) == 1024
    assert body["inputTextTokenCount"] == 3
    assert abs(norm(body["embedding"]) - 1.0) < 1e-3
    assert headers["x-amzn-bedrock-input-token-count"] == "3"
    assert headers["x-amzn-bedrock-output-token-count"] == "0"
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0
    again, _ = invoke(rt, "amazon.titan-embed-text-v2:0", {"inputText": "hello embedding world"})
    assert again["embedding"] == body["embedding"], "embeddings must be deterministic"
    other, _ = invoke(rt, "amazon.titan-embed-text-v2:0", {"inputText": "something else"})
    assert other["embedding"] != body["embedding"]

    small, _ = invoke(
        rt, "amazon.titan-embed-text-v2:0",
        {"inputText": "hello", "dimensions": 256, "normalize": False, "embeddingTypes": ["float", "binary"]},
    )
    assert len(small["embedding"]) == 256
    assert len(small["embeddingsByType"]["binary"]) == 256
    assert set(small["embeddingsByType"]["binary"]) <= {0, 1}


def test_titan_v1_embeddings(rt):
    body, _ = invoke(rt, "amazon.titan-embed-text-v1", {"inputText": "one two"})
    assert len(body["embedding"]) == 1536
    assert body["inputTextTokenCount"] == 2


@pytest.mark.parametrize("model_id", ["cohere.embed-english-v3", "cohere.embed-multilingual-v3"])
def test_cohere_v3_embeddings(rt, model_id):
    body, _ = invoke(rt, model_id, {"texts": ["first text", "second"], "input_type": "search_document"})
    assert body["response_type"] == "embeddings_floats"
    assert [len(v) for v in body["embeddings"]] == [1024, 1024]
    assert body["texts"] == ["first text", "second"]
    assert body["id"]
    typed, _ = invoke(rt, model_id, {"texts": ["first text"], "input_type": "search_query", "embedding_types": ["float", "int8"]})
    assert typed["response_type"] == "embeddings_by_type"
    assert typed["embeddings"]["float"][0] == body["embeddings"][0]
    assert all(-128 <= x <= 127 and isinstance(x, int) for x in typed["embeddings"]["int8"][0])


def test_cohere_v4_embeddings(rt):
    body, _ = invoke(rt, "cohere.embed-v4:0", {"texts": ["a text"], "input_type": "search_document"})
    assert body["response_type"] == "embeddings_by_type"
    assert len(body["embeddings"]["float"][0]) == 1536
    smaller, _ = invoke(rt, "cohere.embed-v4:0", {"texts": ["a text"], "input_type": "search_document", "output_dimension": 512})
    assert len(smaller["embeddings"]["float"][0]) == 512


@pytest.mark.parametrize(
    "model_id,body,message",
    [
        ("amazon.titan-embed-text-v2:0", {"inputText": "x", "foo": 1}, "Malformed input request: #: extraneous key [foo] is not permitted, please reformat your input and try again."),
        ("amazon.titan-embed-text-v2:0", {"inputText": "x", "dimensions": 300}, "#/dimensions: 300 is not a valid enum value"),
        ("cohere.embed-english-v3", {"texts": ["x"]}, "#: required key [input_type] not found"),
        ("cohere.embed-english-v3", {"texts": ["x"] * 97, "input_type": "clustering"}, "#/texts: expected maximum item count: 96, found: 97"),
    ],
)
def test_invoke_model_body_schema(rt, model_id, body, message):
    with pytest.raises(rt.exceptions.ValidationException) as info:
        invoke(rt, model_id, body)
    assert message in error_of(info)[2]


def test_invoke_model_chat_model_is_not_emulated(rt):
    with pytest.raises(rt.exceptions.ValidationException) as info:
        invoke(rt, HAIKU, {"anthropic_version": "bedrock-2023-05-31", "messages": []})
    assert "embedding models" in error_of(info)[2]


def test_invoke_model_error_directive(rt):
    with pytest.raises(rt.exceptions.ThrottlingException):
        invoke(rt, "amazon.titan-embed-text-v2:0", {"inputText": "[[emu:error=ThrottlingException]]"})


# ------------------------------------------------------------------------------------------------
# control plane
# ------------------------------------------------------------------------------------------------


def test_list_foundation_models(cp):
    summaries = cp.list_foundation_models()["modelSummaries"]
    ids = {m["modelId"] for m in summaries}
    assert {HAIKU, SONNET_37, "amazon.titan-embed-text-v2:0", "cohere.embed-v4:0", "deepseek.r1-v1:0"} <= ids
    sonnet = next(m for m in summaries if m["modelId"] == SONNET_37)
    assert sonnet["modelArn"] == f"arn:aws:bedrock:{REGION}::foundation-model/{SONNET_37}"
    assert sonnet["providerName"] == "Anthropic"
    assert sonnet["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]
    assert sonnet["modelLifecycle"] == {"status": "ACTIVE"}
    assert sonnet["responseStreamingSupported"] is True
    assert sonnet["outputModalities"] == ["TEXT"]


@pytest.mark.parametrize(
    "kwargs,check",
    [
        ({"byProvider": "Anthropic"}, lambda m: m["providerName"] == "Anthropic"),
        ({"byProvider": "cohere"}, lambda m: m["providerName"] == "Cohere"),
        ({"byOutputModality": "EMBEDDING"}, lambda m: m["outputModalities"] == ["EMBEDDING"]),
        ({"byOutputModality": "IMAGE"}, lambda m: "IMAGE" in m["outputModalities"]),
        ({"byInferenceType": "PROVISIONED"}, lambda m: "PROVISIONED" in m["inferenceTypesSupported"]),
        ({"byInferenceType": "ON_DEMAND"}, lambda m: "ON_DEMAND" in m["inferenceTypesSupported"]),
        ({"byCustomizationType": "FINE_TUNING"}, lambda m: "FINE_TUNING" in m["customizationsSupported"]),
    ],
)
def test_list_foundation_models_filters(cp, kwargs, check):
    everything = cp.list_foundation_models()["modelSummaries"]
    filtered = cp.list_foundation_models(**kwargs)["modelSummaries"]
    assert filtered, kwargs
    assert all(check(m) for m in filtered), kwargs
    assert len(filtered) == len([m for m in everything if check(m)]), kwargs


def test_list_foundation_models_rejects_bad_enum(cp):
    with pytest.raises(cp.exceptions.ValidationException) as info:
        cp.list_foundation_models(byOutputModality="VIDEO")
    assert "byOutputModality" in error_of(info)[2]


def test_get_foundation_model(cp):
    details = cp.get_foundation_model(modelIdentifier="amazon.titan-embed-text-v2:0")["modelDetails"]
    assert details["modelId"] == "amazon.titan-embed-text-v2:0"
    assert details["outputModalities"] == ["EMBEDDING"]
    with pytest.raises(cp.exceptions.ResourceNotFoundException):
        cp.get_foundation_model(modelIdentifier="amazon.nothing-v1:0")


def test_list_inference_profiles_paging(cp):
    unpaged = cp.list_inference_profiles(typeEquals="SYSTEM_DEFINED")
    assert "nextToken" not in unpaged
    everything = unpaged["inferenceProfileSummaries"]
    assert len(everything) > 10
    collected, token, pages = [], None, 0
    while True:
        kwargs = {"maxResults": 4, "typeEquals": "SYSTEM_DEFINED"}
        if token:
            kwargs["nextToken"] = token
        page = cp.list_inference_profiles(**kwargs)
        assert len(page["inferenceProfileSummaries"]) <= 4
        collected += page["inferenceProfileSummaries"]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
    assert pages == math.ceil(len(everything) / 4)
    assert [p["inferenceProfileId"] for p in collected] == [p["inferenceProfileId"] for p in everything]
    # botocore's own paginator agrees.
    paginated = [
        p["inferenceProfileId"]
        for page in cp.get_paginator("list_inference_profiles").paginate(typeEquals="SYSTEM_DEFINED", PaginationConfig={"PageSize": 7})
        for p in page["inferenceProfileSummaries"]
    ]
    assert paginated == [p["inferenceProfileId"] for p in everything]

    profile = next(p for p in everything if p["inferenceProfileId"] == SONNET_37_US)
    assert profile["type"] == "SYSTEM_DEFINED" and profile["status"] == "ACTIVE"
    assert profile["inferenceProfileArn"].endswith(f":inference-profile/{SONNET_37_US}")
    assert {m["modelArn"] for m in profile["models"]} == {
        f"arn:aws:bedrock:{r}::foundation-model/{SONNET_37}" for r in ("us-east-1", "us-east-2", "us-west-2")
    }
    assert profile["createdAt"].year >= 2024  # botocore parsed the iso8601 timestamp

    apps = cp.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
    assert [p["inferenceProfileId"] for p in apps] == ["a1b2c3d4e5f6"]


def test_list_inference_profiles_bad_token_and_max_results(cp):
    with pytest.raises(cp.exceptions.ValidationException):
        cp.list_inference_profiles(nextToken="not-a-token")
    with pytest.raises(cp.exceptions.ValidationException) as info:
        cp.list_inference_profiles(maxResults=5000)
    assert "maxResults" in error_of(info)[2]


def test_list_failure_and_empty_catalog_switches(launch_emulator):
    failing = client(launch_emulator({"EMULATOR_LIST_FAILS": "1"}), "bedrock")
    with pytest.raises(failing.exceptions.AccessDeniedException) as info:
        failing.list_foundation_models()
    code, status, message = error_of(info)
    assert (code, status) == ("AccessDeniedException", 403)
    assert "bedrock:ListFoundationModels" in message

    empty = client(launch_emulator({"EMULATOR_EMPTY_CATALOG": "1"}), "bedrock")
    assert empty.list_foundation_models()["modelSummaries"] == []


# ------------------------------------------------------------------------------------------------
# authentication
# ------------------------------------------------------------------------------------------------


def test_wrong_secret_is_invalid_signature(shared_emulator):
    bad = client(shared_emulator, secret="not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        bad.converse(modelId=HAIKU, messages=user("x"))
    assert error_of(info) == (
        "InvalidSignatureException",
        403,
        "The request signature we calculated does not match the signature you provided. Check your AWS "
        "Secret Access Key and signing method. Consult the service documentation for details.",
    )
    # The control plane checks signatures too.
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client(shared_emulator, "bedrock", secret="nope").list_foundation_models()
    assert error_of(info)[:2] == ("InvalidSignatureException", 403)


def test_unknown_key_is_unrecognized_client(shared_emulator):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client(shared_emulator, key="AKIDNOBODY").converse(modelId=HAIKU, messages=user("x"))
    assert error_of(info) == ("UnrecognizedClientException", 403, "The security token included in the request is invalid.")


def test_wrong_region_is_rejected(shared_emulator):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client(shared_emulator, region="ap-southeast-7").converse(modelId=HAIKU, messages=user("x"))
    code, status, message = error_of(info)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert "Credential should be scoped to a valid region" in message
    # Another configured region is fine.
    ok = client(shared_emulator, region="eu-west-1").converse(modelId=HAIKU, messages=user("eu"))
    assert ok["output"]["message"]["content"][0]["text"] == "You said: eu"


def test_session_token_credentials(shared_emulator):
    good = client(shared_emulator, key=SESSION_ACCESS_KEY, secret=SESSION_SECRET_KEY, token=SESSION_TOKEN)
    assert good.converse(modelId=HAIKU, messages=user("temp creds"))["stopReason"] == "end_turn"
    rec = shared_emulator.requests("Converse")[-1]
    assert rec["headers"]["x-amz-security-token"] == SESSION_TOKEN
    assert "x-amz-security-token" in rec["headers"]["authorization"]
    for token in (None, "wrong-token"):
        bad = client(shared_emulator, key=SESSION_ACCESS_KEY, secret=SESSION_SECRET_KEY, token=token)
        with pytest.raises(botocore.exceptions.ClientError) as info:
            bad.converse(modelId=HAIKU, messages=user("x"))
        assert error_of(info)[:2] == ("UnrecognizedClientException", 403), token


def test_bearer_api_key_and_missing_auth(shared_emulator):
    # Raw HTTP: botocore >= 1.44 refuses to send bearer tokens to a plain-http endpoint.
    body = {"messages": user("bearer")}
    url = f"{shared_emulator.url}/model/{HAIKU.replace(':', '%3A')}/converse"
    r = httpx.post(url, json=body, headers={"Authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 200, r.text
    assert r.json()["output"]["message"]["content"][0]["text"] == "You said: bearer"
    r = httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"})
    assert (r.status_code, r.headers["x-amzn-errortype"].split(":")[0]) == (403, "UnrecognizedClientException")
    r = httpx.post(url, json=body)
    assert r.status_code == 403
    assert r.headers["x-amzn-errortype"].split(":")[0] == "MissingAuthenticationTokenException"
    assert r.json() == {"message": "Missing Authentication Token"}
    assert r.headers["x-amzn-requestid"]


# ------------------------------------------------------------------------------------------------
# service-model validation (botocore's own validation off, so the emulator sees the bad body)
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_rt(shared_emulator):
    return client(shared_emulator, config=NO_RETRY.merge(Config(parameter_validation=False)))


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"inferenceConfig": {"maxTokens": 0}}, "Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"),
        ({"inferenceConfig": {"maxTokens": "many"}}, "'inferenceConfig.maxTokens' failed to satisfy constraint: Member must be of type integer"),
        ({"inferenceConfig": {"temperature": 3}}, "at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1"),
        ({"messages": [{"role": "bot", "content": [{"text": "x"}]}]}, "Value 'bot' at 'messages.1.member.role' failed to satisfy constraint: Member must satisfy enum value set"),
        ({"messages": [{"role": "user"}]}, "Value null at 'messages.1.member.content' failed to satisfy constraint: Member must not be null"),
        ({"messages": [{"role": "user", "content": [{"text": "x", "image": {"format": "png", "source": {"bytes": b"\x89PNG"}}}]}]}, "'messages.1.member.content.1.member' failed to satisfy constraint: Member must have exactly one field set"),
        ({"toolConfig": {"tools": []}}, "at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        ({"toolConfig": {"toolChoice": {"any": {}}}}, "Value null at 'toolConfig.tools' failed to satisfy constraint: Member must not be null"),
        ({"toolConfig": {"tools": [{"toolSpec": {"name": "bad name", "inputSchema": {"json": {}}}}]}}, "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+"),
    ],
)
def test_invalid_bodies_are_validation_exceptions_naming_the_field(raw_rt, kwargs, fragment):
    args = {"modelId": HAIKU, "messages": user("hi"), **kwargs}
    with pytest.raises(botocore.exceptions.ClientError) as info:
        raw_rt.converse(**args)
    code, status, message = error_of(info)
    assert (code, status) == ("ValidationException", 400), message
    assert message.startswith("1 validation error detected: "), message
    assert fragment in message, message


def test_unknown_body_member_is_extraneous(shared_emulator):
    # botocore cannot serialise unknown members, so send a signed raw request through its signer.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{shared_emulator.url}/model/{HAIKU.replace(':', '%3A')}/converse"
    body = json.dumps({"messages": user("x"), "inferenceConfig": {"maxTokens": 5, "topK": 3}})
    req = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "bedrock", REGION).add_auth(req)
    r = httpx.post(url, content=body, headers=dict(req.headers.items()))
    assert r.status_code == 400, r.text
    assert r.headers["x-amzn-errortype"].startswith("ValidationException:")
    assert "extraneous key [topK] is not permitted" in r.json()["message"]


# ------------------------------------------------------------------------------------------------
# admin API, fast mode, lifecycle
# ------------------------------------------------------------------------------------------------


def test_requests_are_recorded(launch_emulator):
    emu = launch_emulator()
    rt = client(emu)
    assert emu.clear() == 204
    rt.converse(modelId=SONNET_37_US, messages=user("record me"), inferenceConfig={"maxTokens": 50})
    with pytest.raises(botocore.exceptions.ClientError):
        client(emu, secret="wrong").converse(modelId=HAIKU, messages=user("x"))
    ok, rejected = emu.requests()
    assert ok["operation"] == "Converse" and ok["status"] == 200
    assert ok["model_id"] == SONNET_37_US
    assert ok["path"] == "/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse"
    assert ok["body"] == {"messages": user("record me"), "inferenceConfig": {"maxTokens": 50}}
    assert ok["headers"]["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
    assert rejected["status"] == 403
    emu.clear()
    assert emu.requests() == []


def test_fast_mode_skips_recording_but_still_checks(launch_emulator):
    emu = launch_emulator({"EMULATOR_FAST": "1"})
    rt = client(emu)
    assert rt.converse(modelId=HAIKU, messages=user("fast"))["stopReason"] == "end_turn"
    assert emu.requests() == []
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client(emu, secret="wrong").converse(modelId=HAIKU, messages=user("x"))
    assert error_of(info)[0] == "InvalidSignatureException"
    raw = client(emu, config=NO_RETRY.merge(Config(parameter_validation=False)))
    with pytest.raises(botocore.exceptions.ClientError) as info:
        raw.converse(modelId=HAIKU, messages=user("x"), inferenceConfig={"maxTokens": 0})
    assert error_of(info)[0] == "ValidationException"
    assert emu.get_json("/_emulator/health")[1]["fast"] is True


def test_regions_flag_and_clean_sigterm(launch_emulator):
    emu = launch_emulator(args=["--regions", "eu-central-1"])
    assert client(emu, region="eu-central-1").converse(modelId="eu." + SONNET_37, messages=user("x"))["stopReason"] == "end_turn"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client(emu, region="us-east-1").converse(modelId=HAIKU, messages=user("x"))
    assert error_of(info)[0] == "InvalidSignatureException"
    assert emu.terminate() == 0
