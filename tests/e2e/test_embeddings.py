"""POST /v1/embeddings through Bedrock InvokeModel: Titan v1/v2 and Cohere v3/v4, float and base64,
`dimensions`, Cohere options, batching and fan-out, usage, errors, and the official Node SDK."""

from __future__ import annotations

import base64
import json
import math
import struct
import time
from pathlib import Path

import openai
import pytest

import node_sdk as node_sdk_module
from harness import SONNET, body_of, words
from test_emulator_boto3 import client as boto3_client

TITAN_V1 = "amazon.titan-embed-text-v1"
TITAN_V2 = "amazon.titan-embed-text-v2:0"
COHERE_V3 = "cohere.embed-english-v3"
COHERE_ML = "cohere.embed-multilingual-v3"
COHERE_V4 = "cohere.embed-v4:0"

# model -> vector length without `dimensions`
NATIVE = {TITAN_V1: 1536, TITAN_V2: 1024, COHERE_V3: 1024, COHERE_ML: 1024, COHERE_V4: 1536}



def invokes(emu) -> list[dict]:
    return [r for r in emu.requests() if r.get("operation") == "InvokeModel"]


def settled_invokes(emu, quiet: float = 0.5, timeout: float = 5.0) -> list[dict]:
    """The recorded InvokeModel calls once no new one has arrived for `quiet` seconds: after a
    fan-out fails, calls the emulator was already computing still finish (and get recorded)
    although the gateway dropped them, and must not leak into the next test's log."""
    deadline = time.monotonic() + timeout
    seen = invokes(emu)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = invokes(emu)
        if len(now) == len(seen):
            return now
        seen = now
    return seen


def f32(values) -> bytes:
    """Little-endian float32 bytes: how vectors are compared exactly (a float printed in JSON and
    parsed as a double rounds back to the same float32)."""
    return struct.pack(f"<{len(values)}f", *values)


def floats(client, model: str, inputs, **kwargs) -> list[list[float]]:
    resp = client.embeddings.create(model=model, input=inputs, encoding_format="float", **kwargs)
    return [d.embedding for d in resp.data]


# --------------------------------------------------------------------------------------------------
# happy paths per family
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", list(NATIVE))
def test_each_family_embeds_a_batch_in_order(client, emu, model):
    resp = client.embeddings.create(model=model, input=["hello world", "a second input"], encoding_format="float")
    assert resp.object == "list" and resp.model == model
    assert [d.index for d in resp.data] == [0, 1]
    assert all(d.object == "embedding" and len(d.embedding) == NATIVE[model] for d in resp.data)
    assert resp.data[0].embedding != resp.data[1].embedding
    # the emulator counts words; usage is Titan's inputTextTokenCount / Cohere's token header
    assert resp.usage.prompt_tokens == resp.usage.total_tokens == 2 + 3
    calls = invokes(emu)
    assert calls and all(r["model_id"] == model and r["status"] == 200 for r in calls)
    assert len(calls) == (2 if model.startswith("amazon.") else 1)


def test_titan_v2_request_body_defaults(client, emu):
    vec = floats(client, TITAN_V2, "just one")[0]
    [call] = invokes(emu)
    assert body_of(call) == {"inputText": "just one", "normalize": True}
    assert math.isclose(math.sqrt(sum(x * x for x in vec)), 1.0, rel_tol=1e-4)


def test_titan_v2_normalize_false_is_passed_through(client, emu):
    vec = floats(client, TITAN_V2, "raw vector", extra_body={"normalize": False})[0]
    assert body_of(invokes(emu)[0])["normalize"] is False
    assert not math.isclose(math.sqrt(sum(x * x for x in vec)), 1.0, rel_tol=1e-3)


def test_titan_v1_body_is_input_text_only(client, emu):
    floats(client, TITAN_V1, "v1 text")
    assert body_of(invokes(emu)[0]) == {"inputText": "v1 text"}


@pytest.mark.parametrize("model", [COHERE_V3, COHERE_V4])
def test_cohere_defaults_to_search_document_and_floats(client, emu, model):
    floats(client, model, ["a", "b"])
    [call] = invokes(emu)
    assert body_of(call) == {"texts": ["a", "b"], "input_type": "search_document", "embedding_types": ["float"]}


@pytest.mark.parametrize("model", [TITAN_V2, COHERE_V3, COHERE_V4])
def test_vectors_are_bedrocks_numbers_exactly(client, emu, model):
    """The gateway forwards each vector's numbers as Bedrock wrote them: equal as doubles to what
    boto3 gets from InvokeModel for the same body (not rounded through float32 on the way)."""
    inputs = ["exact one", "exact two"]
    resp = client.embeddings.create(model=model, input=inputs, encoding_format="float")
    got = [d.embedding for d in resp.data]
    sent = [body_of(c) for c in invokes(emu)]
    if model.startswith("amazon."):
        # Titan takes one input per InvokeModel and the gateway sends them concurrently, so the
        # emulator may log them in either order: compare in input order.
        sent.sort(key=lambda body: inputs.index(body["inputText"]))
    rt = boto3_client(emu)
    want = []
    for body in sent:
        answer = json.loads(rt.invoke_model(modelId=model, body=json.dumps(body))["body"].read())
        if model.startswith("amazon."):
            want.append(answer["embedding"])
        else:
            vectors = answer["embeddings"]
            want.extend(vectors["float"] if isinstance(vectors, dict) else vectors)
    assert len(got) == len(want) == 2
    assert got == want
    # Bedrock-style short decimals, which float32 could not all hold: forwarded, not re-rounded.
    assert any(struct.unpack("<f", struct.pack("<f", x))[0] != x for x in got[0])


def test_cohere_options_from_extra_body(client, emu):
    extra = {"input_type": "search_query", "truncate": "END"}
    query = floats(client, COHERE_V3, "what is it", extra_body=extra)[0]
    body = body_of(invokes(emu)[0])
    assert body["input_type"] == "search_query" and body["truncate"] == "END"
    assert len(query) == 1024


def test_cohere_quantised_type_is_computed_by_cohere(client, emu):
    ints = floats(client, COHERE_V4, ["int vector"], extra_body={"embedding_types": ["int8"]})[0]
    assert body_of(invokes(emu)[0])["embedding_types"] == ["int8"]
    assert len(ints) == 1536 and all(x == int(x) and -128 <= x <= 127 for x in ints)


def test_titan_v2_binary_embedding_type(client, emu):
    bits = floats(client, TITAN_V2, "bits", dimensions=256, extra_body={"embedding_types": ["binary"]})[0]
    assert body_of(invokes(emu)[0])["embeddingTypes"] == ["binary"]
    assert len(bits) == 256 and set(bits) <= {0.0, 1.0}


# --------------------------------------------------------------------------------------------------
# dimensions
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dims", [256, 512, 1024])
def test_titan_v2_dimensions(client, emu, dims):
    [vec] = floats(client, TITAN_V2, "sized", dimensions=dims)
    assert len(vec) == dims
    assert body_of(invokes(emu)[0])["dimensions"] == dims


@pytest.mark.parametrize("dims", [256, 512, 1024, 1536])
def test_cohere_v4_output_dimension(client, emu, dims):
    [vec] = floats(client, COHERE_V4, "sized", dimensions=dims)
    assert len(vec) == dims
    assert body_of(invokes(emu)[0])["output_dimension"] == dims


@pytest.mark.parametrize(
    "model,dims,needle",
    [
        (TITAN_V2, 300, "256, 512, 1024"),
        (TITAN_V2, 1536, "256, 512, 1024"),
        (COHERE_V4, 768, "256, 512, 1024, 1536"),
        (TITAN_V1, 1536, "does not support `dimensions`"),
        (TITAN_V1, 256, "does not support `dimensions`"),
        (COHERE_V3, 512, "does not support `dimensions`"),
    ],
)
def test_unsupported_dimensions_are_400_before_bedrock(client, emu, model, dims, needle):
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model=model, input="x", dimensions=dims)
    assert info.value.body["param"] == "dimensions"
    assert needle in info.value.body["message"], info.value.body["message"]
    assert invokes(emu) == []


# --------------------------------------------------------------------------------------------------
# encodings: float, base64, the SDK default
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [TITAN_V2, COHERE_V3, COHERE_V4])
def test_base64_decodes_to_the_float_vectors(client, model):
    inputs = ["same text", "another text"]
    want = floats(client, model, inputs)
    raw = client.embeddings.create(model=model, input=inputs, encoding_format="base64")
    assert [d.index for d in raw.data] == [0, 1]
    for d, vec in zip(raw.data, want):
        assert isinstance(d.embedding, str)
        assert base64.b64decode(d.embedding) == f32(vec)
    # the SDK's default path asks for base64 and decodes it itself
    sdk = client.embeddings.create(model=model, input=inputs)
    assert [f32(d.embedding) for d in sdk.data] == [f32(v) for v in want]


def test_float_json_numbers_over_raw_http(gateway):
    r = gateway.http.post(
        "/v1/embeddings", headers=gateway.auth(), json={"model": TITAN_V2, "input": "x", "encoding_format": "float"}
    )
    assert r.status_code == 200, r.text
    vec = r.json()["data"][0]["embedding"]
    assert isinstance(vec, list) and all(isinstance(x, float) for x in vec)


# --------------------------------------------------------------------------------------------------
# batching and fan-out
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [TITAN_V2, COHERE_V3])
def test_batch_of_200_keeps_order(client, emu, model):
    inputs = [f"input number {i} of the batch" for i in range(200)]
    resp = client.embeddings.create(model=model, input=inputs, encoding_format="float")
    assert [d.index for d in resp.data] == list(range(200))
    assert resp.usage.prompt_tokens == sum(words(t) for t in inputs)
    calls = invokes(emu)
    if model == COHERE_V3:
        # Cohere takes at most 96 texts per call: the gateway splits, the emulator enforces it
        sizes = sorted(len(body_of(c)["texts"]) for c in calls)
        assert sizes == [8, 96, 96]
    else:
        assert len(calls) == 200
    # every vector is the one that input gets on its own
    for i in (0, 1, 95, 96, 97, 150, 191, 192, 199):
        [single] = floats(client, model, inputs[i])
        assert f32(resp.data[i].embedding) == f32(single), f"input {i} is out of place"
    singles = floats(client, model, inputs)
    assert [f32(v) for v in singles] == [f32(d.embedding) for d in resp.data]


def test_failing_titan_sub_request_fails_the_call_and_cancels_the_rest(client, emu):
    # Input 0 would take 4 s; input 9 fails at once. The error must not wait for input 0.
    slow = "[[emu:delay=4000]] slow"
    inputs = [slow] + [f"filler {i}" for i in range(1, 9)] + ["[[emu:error=ValidationException]] bad"]
    started = time.monotonic()
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model=TITAN_V2, input=inputs)
    assert time.monotonic() - started < 3, "the failure waited for the slow sub-request"
    assert "Malformed input request" in info.value.body["message"]
    assert info.value.body["code"] == "ValidationException"
    # The slow call was cancelled: its connection closed, so the emulator never answered (nor
    # recorded) it, even after its delay has passed.
    time.sleep(max(0.0, started + 5 - time.monotonic()))
    assert not [c for c in invokes(emu) if body_of(c)["inputText"] == slow]


def test_failing_cohere_batch_fails_the_whole_call(client, emu):
    inputs = [f"text {i}" for i in range(200)]
    inputs[150] = "[[emu:error=AccessDeniedException]] denied"
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.embeddings.create(model=COHERE_V3, input=inputs)
    assert info.value.status_code == 403
    failed = [c for c in settled_invokes(emu) if c["status"] == 403]
    assert len(failed) == 1 and "[[emu:error=AccessDeniedException]] denied" in body_of(failed[0])["texts"]


# --------------------------------------------------------------------------------------------------
# input validation and errors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,needle",
    [
        ({"input": [1, 2, 3]}, "Token id input is not supported"),
        ({"input": [[1, 2], [3]]}, "Token id input is not supported"),
        ({"input": ""}, "empty string"),
        ({"input": []}, "empty array"),
        ({"input": ["ok", ""]}, "'input[1]'"),
        ({"input": "x", "encoding_format": "int8"}, "'int8'"),
        ({"input": "x", "embedding_types": ["float", "int8"]}, "exactly one"),
        ({"input": "x", "input_type": "search_query"}, "Unrecognized request argument supplied: input_type"),
    ],
)
def test_invalid_requests_are_400_before_bedrock(gateway, emu, body, needle):
    r = gateway.http.post("/v1/embeddings", headers=gateway.auth(), json={"model": TITAN_V2, **body})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert needle in err["message"], err["message"]
    assert invokes(emu) == []


@pytest.mark.parametrize("model", [TITAN_V2, COHERE_V3])
@pytest.mark.parametrize(
    "exception,exc_type,status",
    [
        ("ThrottlingException", openai.RateLimitError, 429),
        ("ValidationException", openai.BadRequestError, 400),
        ("AccessDeniedException", openai.PermissionDeniedError, 403),
        ("ServiceUnavailableException", openai.InternalServerError, 503),
    ],
)
def test_bedrock_errors_map_as_for_chat(client, emu, model, exception, exc_type, status):
    with pytest.raises(exc_type) as info:
        client.embeddings.create(model=model, input=["fine", f"[[emu:error={exception}]]"])
    assert info.value.status_code == status
    assert info.value.body["code"] == exception
    assert any(c["status"] >= 400 for c in settled_invokes(emu)), "the error must come from Bedrock"


def test_titan_input_length_limit_is_bedrocks_400(client, emu):
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model=TITAN_V2, input="a" * 50_001)
    assert "expected maxLength: 50000" in info.value.body["message"]
    [call] = invokes(emu)
    assert call["status"] == 400


def test_cohere_bad_input_type_is_bedrocks_400(client, emu):
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model=COHERE_V3, input="x", extra_body={"input_type": "search_doc"})
    assert "search_doc is not a valid enum value" in info.value.body["message"]


def test_embeddings_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="nobody.embed-v0", input="x")


def test_embeddings_with_a_chat_model_is_a_client_error(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model=SONNET, input="x")
    assert info.value.body["param"] == "model"


# --------------------------------------------------------------------------------------------------
# model listing
# --------------------------------------------------------------------------------------------------


def test_embedding_models_are_listed(client):
    ids = {m.id for m in client.models.list()}
    assert set(NATIVE) <= ids


def test_foundation_model_arn_routes_to_its_family(client, emu):
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{COHERE_V4}"
    [vec] = floats(client, arn, "by arn", dimensions=256)
    assert len(vec) == 256
    [call] = invokes(emu)
    assert call["model_id"] == arn and body_of(call)["output_dimension"] == 256


def test_configured_embedding_model_in_allowlist_mode(start_gateway, emu):
    gw = start_gateway.start(env={"CONFIGURED_PROVIDER_MODELS_MODE": "allowlist", "BEDROCK_MODELS": TITAN_V2})
    with gw.openai() as c:
        assert [m.id for m in c.models.list()] == [TITAN_V2]
        assert len(c.embeddings.create(model=TITAN_V2, input="x").data[0].embedding) == 1024


# --------------------------------------------------------------------------------------------------
# the official Node SDK (`openai` on npm): base64 by default, decoded by the SDK
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_sdk() -> Path:
    return node_sdk_module.find_node()


def run_node(node: Path, gateway, model: str, inputs) -> dict:
    return node_sdk_module.run_script(node, "embeddings.mjs", gateway, model, json.dumps(inputs))


@pytest.mark.parametrize("model", [TITAN_V2, COHERE_V4])
def test_node_sdk_default_base64_matches_python_floats(node_sdk, gateway, client, model):
    inputs = [f"node input {i}" for i in range(5)]
    resp = run_node(node_sdk, gateway, model, inputs)
    assert "sdk_error" not in resp, resp
    want = floats(client, model, inputs)
    assert [d["index"] for d in resp["data"]] == list(range(5))
    assert [f32(d["embedding"]) for d in resp["data"]] == [f32(v) for v in want]
    assert resp["usage"]["prompt_tokens"] == sum(words(t) for t in inputs)


def test_node_sdk_sees_the_error(node_sdk, gateway):
    resp = run_node(node_sdk, gateway, TITAN_V2, ["[[emu:error=ThrottlingException]]"])
    assert resp["sdk_error"]["status"] == 429
