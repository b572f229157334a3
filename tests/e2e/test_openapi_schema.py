"""The validator every other test relies on: prove it accepts real shapes and rejects broken ones."""

import copy

import pytest

import openapi_schema
from openapi_schema import SchemaViolation, convert_nullable, errors, validate

COMPLETION = {
    "id": "chatcmpl-123",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello!", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}

CHUNK = {
    "id": "chatcmpl-123",
    "object": "chat.completion.chunk",
    "created": 1700000000,
    "model": "m",
    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}],
}

USAGE_CHUNK = {
    "id": "chatcmpl-123",
    "object": "chat.completion.chunk",
    "created": 1700000000,
    "model": "m",
    "choices": [],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}

MODELS = {
    "object": "list",
    "data": [{"id": "amazon.nova-lite-v1:0", "object": "model", "created": 1700000000, "owned_by": "amazon"}],
}

ERROR = {"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}}

EMBEDDINGS = {
    "object": "list",
    "model": "amazon.titan-embed-text-v2:0",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2]}],
    "usage": {"prompt_tokens": 2, "total_tokens": 2},
}


def mutated(obj, fn):
    obj = copy.deepcopy(obj)
    fn(obj)
    return obj


@pytest.mark.parametrize(
    "obj,name",
    [
        (COMPLETION, "CreateChatCompletionResponse"),
        (mutated(COMPLETION, lambda o: o["choices"][0]["message"].update(content=None)), "CreateChatCompletionResponse"),
        (CHUNK, "CreateChatCompletionStreamResponse"),
        (mutated(CHUNK, lambda o: o.update(usage=None)), "CreateChatCompletionStreamResponse"),
        (mutated(CHUNK, lambda o: o["choices"][0].update(finish_reason="length", delta={})), "CreateChatCompletionStreamResponse"),
        (USAGE_CHUNK, "CreateChatCompletionStreamResponse"),
        (MODELS, "ListModelsResponse"),
        (ERROR, "ErrorResponse"),
        (mutated(ERROR, lambda o: o["error"].update(code="model_not_found", param="model")), "ErrorResponse"),
        (EMBEDDINGS, "CreateEmbeddingResponse"),
    ],
)
def test_accepts_valid_objects(obj, name):
    assert errors(obj, name) == []
    validate(obj, name)


@pytest.mark.parametrize(
    "obj,name,needle",
    [
        # required keys, explicit nulls included
        (mutated(COMPLETION, lambda o: o["choices"][0]["message"].pop("refusal")), "CreateChatCompletionResponse", "'refusal' is a required property"),
        (mutated(COMPLETION, lambda o: o["choices"][0]["message"].pop("content")), "CreateChatCompletionResponse", "'content' is a required property"),
        (mutated(COMPLETION, lambda o: o["choices"][0].pop("logprobs")), "CreateChatCompletionResponse", "'logprobs' is a required property"),
        (mutated(COMPLETION, lambda o: o.pop("created")), "CreateChatCompletionResponse", "'created' is a required property"),
        (mutated(CHUNK, lambda o: o["choices"][0].pop("finish_reason")), "CreateChatCompletionStreamResponse", "'finish_reason' is a required property"),
        (mutated(ERROR, lambda o: o["error"].pop("param")), "ErrorResponse", "'param' is a required property"),
        (mutated(MODELS, lambda o: o["data"][0].pop("owned_by")), "ListModelsResponse", "'owned_by' is a required property"),
        # wrong enums / consts / types
        (mutated(COMPLETION, lambda o: o["choices"][0].update(finish_reason="end_turn")), "CreateChatCompletionResponse", "'end_turn' is not one of"),
        (mutated(COMPLETION, lambda o: o.update(object="chat.completion.chunk")), "CreateChatCompletionResponse", "is not one of"),
        (mutated(CHUNK, lambda o: o["choices"][0].update(finish_reason="max_tokens")), "CreateChatCompletionStreamResponse", "'max_tokens' is not one of"),
        (mutated(CHUNK, lambda o: o["choices"][0]["delta"].update(role="bot")), "CreateChatCompletionStreamResponse", "'bot' is not one of"),
        (mutated(MODELS, lambda o: o["data"][0].update(object="models")), "ListModelsResponse", "'models' is not one of"),
        (mutated(COMPLETION, lambda o: o["usage"].update(total_tokens="4")), "CreateChatCompletionResponse", "is not of type 'integer'"),
        # nullable: null is allowed where the spec says nullable, and nowhere else
        (mutated(COMPLETION, lambda o: o.update(model=None)), "CreateChatCompletionResponse", "None is not of type 'string'"),
        (mutated(ERROR, lambda o: o["error"].update(message=None)), "ErrorResponse", "None is not of type 'string'"),
    ],
)
def test_rejects_invalid_objects(obj, name, needle):
    found = errors(obj, name)
    assert found, f"expected {name} to reject {obj}"
    assert any(needle in e for e in found), found
    with pytest.raises(SchemaViolation):
        validate(obj, name)


def test_nullable_conversion_rules():
    assert convert_nullable({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    assert convert_nullable({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
    assert convert_nullable({"$ref": "#/x", "nullable": True, "description": "d"}) == {
        "description": "d",
        "anyOf": [{"$ref": "#/x"}, {"type": "null"}],
    }
    assert convert_nullable({"allOf": [{"$ref": "#/x"}], "nullable": True}) == {
        "anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]
    }
    assert convert_nullable({"type": "string", "nullable": False}) == {"type": "string"}
    # a *property* called "nullable" is not the keyword
    prop = {"type": "object", "properties": {"nullable": {"type": "boolean"}}}
    assert convert_nullable(prop) == prop


def test_spec_has_no_nullable_keyword_left():
    def walk(node):
        if isinstance(node, dict):
            assert node.get("nullable") is not True, node
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for name in ("CreateChatCompletionStreamResponse", "CreateChatCompletionResponse", "ChatCompletionStreamResponseDelta"):
        walk(openapi_schema.schema(name))


def test_stream_usage_is_nullable_after_conversion():
    # `usage` is `{"$ref": CompletionUsage, "nullable": true}`: null must pass, a wrong shape must not.
    assert errors(mutated(CHUNK, lambda o: o.update(usage=None)), "CreateChatCompletionStreamResponse") == []
    assert errors(mutated(CHUNK, lambda o: o.update(usage={"prompt_tokens": 1})), "CreateChatCompletionStreamResponse")


def test_unknown_schema_name_is_an_error():
    with pytest.raises(KeyError):
        errors({}, "NoSuchSchema")
