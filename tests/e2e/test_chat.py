"""Non-streaming chat completions: OpenAI request -> Converse -> OpenAI response, via the SDK."""

from __future__ import annotations

import re

import pytest

from harness import (
    ACCESS_KEY,
    HAIKU,
    MASTER_KEY,
    NOVA_LITE,
    PROFILE_ONLY_US,
    REGION,
    SONNET,
    body_of,
    header,
    last_converse,
    user,
    words,
)


def test_seed_curl_is_answered_as_a_chat_completion(gateway, emu):
    """The README/seed curl, byte for byte: Bearer auth, JSON body, no optional fields."""
    r = gateway.http.post(
        "/v1/chat/completions",
        headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"},
        content=b'{"model":"anthropic.claude-3-5-sonnet-20240620-v1:0",'
        b'"messages":[{"role":"user","content":"Hello from Bedrock"}]}',
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == SONNET
    assert isinstance(body["id"], str) and body["id"]
    assert isinstance(body["created"], int) and body["created"] > 1_600_000_000
    [choice] = body["choices"]
    assert choice["index"] == 0
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "You said: Hello from Bedrock"
    assert choice["finish_reason"] == "stop"
    # Explicit nulls the OpenAI shape requires.
    assert "refusal" in choice["message"] and choice["message"]["refusal"] is None
    assert "logprobs" in choice and choice["logprobs"] is None
    # Usage is the emulator's: input = words sent, output = words answered.
    assert body["usage"]["prompt_tokens"] == 3
    assert body["usage"]["completion_tokens"] == 5
    assert body["usage"]["total_tokens"] == 8
    assert last_converse(emu)["operation"] == "Converse"


def test_sdk_completion_usage_equals_the_emulators(client, emu):
    prompt = "count these five words"
    resp = client.chat.completions.create(model=SONNET, messages=user(prompt))
    answer = resp.choices[0].message.content
    assert answer == f"You said: {prompt}"
    assert resp.usage.prompt_tokens == words(prompt)
    assert resp.usage.completion_tokens == words(answer)
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    assert resp.id and resp.object == "chat.completion"


def test_ids_are_unique_per_completion(client, emu):
    ids = {client.chat.completions.create(model=SONNET, messages=user(f"q{i}")).id for i in range(3)}
    assert len(ids) == 3


def test_system_and_multi_turn_reach_bedrock(client, emu):
    resp = client.chat.completions.create(
        model=SONNET,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "second question"},
        ],
    )
    assert resp.choices[0].message.content == "You said: second question"
    body = body_of(last_converse(emu))
    assert body["system"] == [{"text": "You are terse."}]
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "first question"}]},
        {"role": "assistant", "content": [{"text": "first answer"}]},
        {"role": "user", "content": [{"text": "second question"}]},
    ]
    # input tokens = words in system + all messages
    assert resp.usage.prompt_tokens == 3 + 2 + 2 + 2


def test_several_system_messages_become_system_blocks(client, emu):
    client.chat.completions.create(
        model=SONNET,
        messages=[
            {"role": "system", "content": "Rule one."},
            {"role": "system", "content": "Rule two."},
            {"role": "user", "content": "hi"},
        ],
    )
    body = body_of(last_converse(emu))
    assert body["system"] == [{"text": "Rule one."}, {"text": "Rule two."}]
    assert body["messages"] == [{"role": "user", "content": [{"text": "hi"}]}]


def test_no_system_means_no_system_field(client, emu):
    client.chat.completions.create(model=SONNET, messages=user("plain"))
    body = body_of(last_converse(emu))
    assert not body.get("system")
    assert "inferenceConfig" not in body or not body["inferenceConfig"], body


def test_sampling_parameters_reach_inference_config(client, emu):
    client.chat.completions.create(
        model=SONNET,
        messages=user("params please"),
        temperature=0.25,
        top_p=0.5,
        max_tokens=77,
        stop=["END", "STOP"],
    )
    cfg = body_of(last_converse(emu))["inferenceConfig"]
    assert cfg == {"temperature": 0.25, "topP": 0.5, "maxTokens": 77, "stopSequences": ["END", "STOP"]}


def test_max_completion_tokens_and_string_stop(client, emu):
    client.chat.completions.create(
        model=SONNET, messages=user("params please"), max_completion_tokens=55, stop="DONE"
    )
    cfg = body_of(last_converse(emu))["inferenceConfig"]
    assert cfg["maxTokens"] == 55
    assert cfg["stopSequences"] == ["DONE"]


def test_request_is_sigv4_signed_for_the_region_with_encoded_model_id(client, emu):
    client.chat.completions.create(model=SONNET, messages=user("sign me"))
    rec = last_converse(emu)
    # The emulator verifies the signature itself (a bad one is a 403 and this call would fail);
    # here we check the scope and the wire path.
    auth = header(rec, "authorization")
    assert auth, rec
    m = re.match(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([a-z0-9-]+)/([a-z-]+)/aws4_request, "
        r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$",
        auth,
    )
    assert m, auth
    akid, _date, region, service, signed, _sig = m.groups()
    assert (akid, region, service) == (ACCESS_KEY, REGION, "bedrock")
    assert "host" in signed.split(";") and "x-amz-date" in signed.split(";")
    assert header(rec, "x-amz-date")
    assert rec["status"] == 200, "the emulator did not accept the signature"
    assert header(rec, "x-amz-security-token") is None  # no session token configured
    # ':' in the model id is percent-encoded in the path.
    assert rec["path"] == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", rec["path"]


def test_arn_model_id_is_encoded_and_routed_as_given(client, emu):
    arn = f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}"
    resp = client.chat.completions.create(model=arn, messages=user("arn call"))
    assert resp.choices[0].message.content == "You said: arn call"
    rec = last_converse(emu)
    assert rec["path"] == (
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2F"
        "anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
    ), rec["path"]


def test_inference_profile_id_routes(client, emu):
    resp = client.chat.completions.create(model=PROFILE_ONLY_US, messages=user("profile call"))
    assert resp.choices[0].message.content == "You said: profile call"
    assert resp.model == PROFILE_ONLY_US
    assert last_converse(emu)["path"] == f"/model/{PROFILE_ONLY_US.replace(':', '%3A')}/converse"


@pytest.mark.parametrize("model", [HAIKU, NOVA_LITE, "meta.llama3-8b-instruct-v1:0", "mistral.mistral-large-2402-v1:0"])
def test_other_vendors_answer(client, emu, model):
    resp = client.chat.completions.create(model=model, messages=user("vendor check"))
    assert resp.choices[0].message.content == "You said: vendor check"
    assert resp.model == model


def test_reply_directive_is_returned_verbatim(client, emu):
    resp = client.chat.completions.create(model=SONNET, messages=user("[[emu:reply=Exactly this, please.]]"))
    assert resp.choices[0].message.content == "Exactly this, please."
    assert resp.usage.completion_tokens == 3


def test_max_tokens_cut_gives_finish_reason_length(client, emu):
    resp = client.chat.completions.create(model=SONNET, messages=user("[[emu:words=40]]"), max_tokens=5)
    choice = resp.choices[0]
    assert choice.finish_reason == "length"
    assert words(choice.message.content) == 5
    assert resp.usage.completion_tokens == 5


def test_stop_sequence_cut_gives_finish_reason_stop(client, emu):
    resp = client.chat.completions.create(
        model=SONNET, messages=user("[[emu:reply=alpha beta HALT gamma delta]]"), stop=["HALT"]
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "stop"
    assert "alpha beta" in choice.message.content
    assert "gamma" not in choice.message.content
    assert body_of(last_converse(emu))["inferenceConfig"]["stopSequences"] == ["HALT"]


def test_long_answer_is_complete(client, emu):
    resp = client.chat.completions.create(model=SONNET, messages=user("[[emu:words=300]]"))
    assert words(resp.choices[0].message.content) == 300
    assert resp.usage.completion_tokens == 300
    assert resp.choices[0].finish_reason == "stop"


def test_concurrent_requests_are_answered_independently_and_in_parallel(gateway, emu):
    import time
    from concurrent.futures import ThreadPoolExecutor

    client = gateway.openai()
    n, delay_ms = 8, 400

    def ask(i: int) -> str:
        r = client.chat.completions.create(model=SONNET, messages=user(f"[[emu:delay={delay_ms}]] parallel {i}"))
        return r.choices[0].message.content

    start = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(ask, range(n)))
    elapsed = time.monotonic() - start
    client.close()
    assert answers == [f"You said: parallel {i}" for i in range(n)]
    # Served one at a time this would take n * delay; concurrently, little more than one delay.
    assert elapsed < 0.5 * n * delay_ms / 1000, f"{n} delayed requests took {elapsed:.2f}s: serialized?"
