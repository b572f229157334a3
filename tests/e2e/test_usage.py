"""Usage tracking and storage (issue 8): usage rows, the admin API, stored responses
(`previous_response_id` with the `openai` SDK), Prometheus metrics, readiness, and serving through
a database outage.

Every gateway here stores usage in its own SQLite file (the default `data/gomodel.db` under its temp
cwd) unless a test says otherwise. With `TEST_DATABASE_URL` set (`.ci/run` starts a throwaway
PostgreSQL), the PostgreSQL tests run too: each uses its own master key, and everything it checks is
filtered by that key's hash, so gateways sharing the database never see each other's rows.

Usage rows are written asynchronously (batched, about every half second): tests poll the admin API
until the rows they expect are there. Admin, metrics and stored-response reads go through a plain
httpx client (they are not part of the chat/embeddings surface the validating client knows); their
bodies are checked against the OpenAPI spec here where the spec has a schema (`Response`,
`ResponseItemList`, `ErrorResponse`).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import threading
import time
import uuid
from typing import Any

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

import openapi_schema
from harness import HAIKU, MASTER_KEY, SONNET, body_of, last_converse, user, wait_until, words

TITAN_V2 = "amazon.titan-embed-text-v2:0"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def key_hash(key: str) -> str:
    """The gateway's API-key identity: the first 16 hex digits of SHA-256 (never the key)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def plain(gw, key: str | None = None) -> httpx.Client:
    """A plain httpx client for admin/metrics/stored-response endpoints."""
    headers = {"Authorization": f"Bearer {key or gw.master_key}"} if (key or gw.master_key) else {}
    return httpx.Client(base_url=gw.url, headers=headers, timeout=30.0)


def check_schema(obj: Any, name: str) -> None:
    found = openapi_schema.errors(obj, name)
    assert not found, f"{name} violations: {found}\n{json.dumps(obj)[:800]}"


def rows_for(http: httpx.Client, request_ids: set[str], timeout: float = 15.0) -> dict[str, dict]:
    """Polls GET /admin/requests until a row exists for each request id; returns them by id."""
    found: dict[str, dict] = {}

    def all_there():
        cursor = None
        for _ in range(20):
            params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            r = http.get("/admin/requests", params=params)
            assert r.status_code == 200, r.text
            page = r.json()
            for row in page["data"]:
                if row["request_id"] in request_ids:
                    found[row["request_id"]] = row
            cursor = page.get("next_cursor")
            if not cursor or len(found) == len(request_ids):
                break
        return len(found) == len(request_ids)

    wait_until(all_there, timeout=timeout, interval=0.2, what=f"usage rows for {sorted(request_ids)}")
    return found


def totals(http: httpx.Client, **params: Any) -> dict:
    r = http.get("/admin/usage", params=params)
    assert r.status_code == 200, r.text
    return r.json()["totals"]


def wait_totals(http: httpx.Client, requests: int, timeout: float = 15.0, **params: Any) -> dict:
    """Polls /admin/usage until it counts `requests` (a 503 while the database recovers is retried)."""

    def reached():
        r = http.get("/admin/usage", params=params)
        if r.status_code == 503:
            return None
        assert r.status_code == 200, r.text
        t = r.json()["totals"]
        return t if t["requests"] == requests else None

    return wait_until(reached, timeout=timeout, interval=0.2, what=f"{requests} requests in /admin/usage {params}")


def rid(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


def metrics(gw) -> dict[str, Any]:
    """GET /metrics (no auth needed) parsed with prometheus_client's text parser: family name → family."""
    r = httpx.get(f"{gw.url}/metrics", timeout=10.0)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(r.text)}


def sample(families: dict[str, Any], family: str, sample_name: str | None = None, **labels: str) -> float:
    """The sum of the samples of `family` whose labels include `labels` (0 when none)."""
    fam = families.get(family)
    if fam is None:
        return 0.0
    want = sample_name or family
    return sum(
        s.value for s in fam.samples
        if s.name == want and all(s.labels.get(k) == v for k, v in labels.items())
    )


# ---------------------------------------------------------------------------------------------------
# usage rows: non-stream, stream, errors, embeddings
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gw(module_gateways):
    return module_gateways.start()


@pytest.fixture
def admin(gw):
    c = plain(gw)
    yield c
    c.close()


def test_non_stream_chat_row_matches_the_emulator_usage(gw, admin, emu):
    client = gw.openai()
    req_id = rid("nonstream")
    prompt = "count these five words"
    resp = client.chat.completions.create(
        model=SONNET, messages=user(prompt), user="alice", metadata={"team": "search"},
        extra_headers={"x-request-id": req_id},
    )
    row = rows_for(admin, {req_id})[req_id]
    assert resp.usage.prompt_tokens == words(prompt)
    assert row["input_tokens"] == resp.usage.prompt_tokens
    assert row["output_tokens"] == resp.usage.completion_tokens > 0
    assert row["provider"] == "bedrock"
    assert row["model"] == SONNET and row["resolved_model"] == SONNET
    assert row["endpoint"] == "chat.completions"
    assert row["stream"] is False and row["status"] == 200 and row["error_type"] is None
    assert row["ttft_ms"] is None and row["latency_ms"] >= 0
    assert row["key_hash"] == key_hash(MASTER_KEY)
    assert MASTER_KEY not in json.dumps(row)
    assert row["user"] == "alice" and row["metadata"] == {"team": "search"}
    assert row["created_at"].endswith("Z") and row["created_at_ms"] > 0
    client.close()


@pytest.mark.parametrize("include_usage", [True, False], ids=["include_usage", "no_usage_chunk"])
def test_stream_row_has_tokens_and_time_to_first_token(gw, admin, emu, include_usage):
    client = gw.openai()
    req_id = rid("stream")
    prompt = "[[emu:words=30]] [[emu:frame-delay=5]] stream please"
    opts = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = list(client.chat.completions.create(
        model=SONNET, messages=user(prompt), stream=True, extra_headers={"x-request-id": req_id}, **opts,
    ))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    row = rows_for(admin, {req_id})[req_id]
    # The emulator's usage: input = words of the prompt, output = words of the answer. Without
    # include_usage the client never sees it, but the gateway still records it.
    assert row["input_tokens"] == words(prompt)
    assert row["output_tokens"] == words(text) == 30
    if include_usage:
        assert chunks[-1].usage.prompt_tokens == row["input_tokens"]
        assert chunks[-1].usage.completion_tokens == row["output_tokens"]
    assert row["stream"] is True and row["status"] == 200 and row["error_type"] is None
    assert row["ttft_ms"] is not None and 0 <= row["ttft_ms"] <= row["latency_ms"]
    # 30 frames 5 ms apart: the stream took visibly longer than its first token.
    assert row["latency_ms"] >= row["ttft_ms"] + 50
    client.close()


def test_errors_are_recorded(gw, admin, emu):
    client = gw.openai()
    throttled, unknown, mid_stream = rid("err-throttle"), rid("err-unknown"), rid("err-midstream")
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=SONNET, messages=user("[[emu:error=ThrottlingException]]"),
                                       extra_headers={"x-request-id": throttled})
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=user("hi"),
                                       extra_headers={"x-request-id": unknown})
    stream = client.chat.completions.create(
        model=SONNET, messages=user("[[emu:words=20]] [[emu:stream-error=throttlingException@3]]"),
        stream=True, extra_headers={"x-request-id": mid_stream},
    )
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass
    rows = rows_for(admin, {throttled, unknown, mid_stream})
    t = rows[throttled]
    assert (t["status"], t["error_type"], t["provider"], t["resolved_model"]) == (
        429, "ThrottlingException", "bedrock", SONNET)
    assert t["output_tokens"] == 0
    u = rows[unknown]
    assert (u["status"], u["error_type"], u["provider"], u["model"]) == (404, "model_not_found", "", "no-such-model")
    m = rows[mid_stream]
    assert m["stream"] is True and m["status"] >= 400 and m["error_type"], m
    assert m["ttft_ms"] is not None, "content arrived before the failure"
    client.close()


def test_invalid_body_is_recorded_as_a_400(gw, admin):
    req_id = rid("badbody")
    r = httpx.post(f"{gw.url}/v1/chat/completions", headers={**gw.auth(), "x-request-id": req_id},
                   content=b"{not json", timeout=10)
    assert r.status_code == 400
    row = rows_for(admin, {req_id})[req_id]
    assert row["status"] == 400 and row["error_type"] and row["input_tokens"] == 0


def test_embeddings_row(gw, admin, emu):
    client = gw.openai()
    req_id = rid("embed")
    resp = client.embeddings.create(model=TITAN_V2, input="embed these four words",
                                    extra_headers={"x-request-id": req_id})
    row = rows_for(admin, {req_id})[req_id]
    assert row["endpoint"] == "embeddings" and row["status"] == 200
    assert row["input_tokens"] == resp.usage.prompt_tokens > 0
    assert row["output_tokens"] == 0 and row["resolved_model"] == TITAN_V2
    client.close()


def test_responses_rows_streamed_and_not(gw, admin, emu):
    client = _unchecked_sdk(gw)  # the Responses wire is schema-checked in test_responses.py
    plain_id, stream_id = rid("resp"), rid("resp-stream")
    r = client.responses.create(model=SONNET, input="five words in this input", store=False,
                                extra_headers={"x-request-id": plain_id})
    with client.responses.stream(model=SONNET, input="[[emu:words=12]] streamed", store=False,
                                 extra_headers={"x-request-id": stream_id}) as s:
        for _ in s:
            pass
        final = s.get_final_response()
    rows = rows_for(admin, {plain_id, stream_id})
    assert rows[plain_id]["endpoint"] == "responses"
    assert rows[plain_id]["input_tokens"] == r.usage.input_tokens
    assert rows[plain_id]["output_tokens"] == r.usage.output_tokens
    assert rows[stream_id]["stream"] is True
    assert rows[stream_id]["output_tokens"] == final.usage.output_tokens == 12
    assert rows[stream_id]["ttft_ms"] is not None
    client.close()


# ---------------------------------------------------------------------------------------------------
# admin API
# ---------------------------------------------------------------------------------------------------


def test_admin_usage_totals_match_and_group(start_gateway, emu):
    gw = start_gateway.start()  # a fresh database: exact totals
    client = gw.openai()
    http = plain(gw)
    want_in = want_out = 0
    for i, model in enumerate([SONNET, SONNET, HAIKU]):
        r = client.chat.completions.create(model=model, messages=user(f"[[emu:words={3 + i}]] q{i}"))
        want_in += r.usage.prompt_tokens
        want_out += r.usage.completion_tokens
    e = client.embeddings.create(model=TITAN_V2, input="two words")
    want_in += e.usage.prompt_tokens
    t = wait_totals(http, 4)
    assert (t["input_tokens"], t["output_tokens"]) == (want_in, want_out)
    assert t["total_tokens"] == want_in + want_out and t["errors"] == 0
    assert t["avg_latency_ms"] is not None

    by_model = http.get("/admin/usage", params={"group_by": "model"}).json()
    groups = {g["key"]: g["requests"] for g in by_model["data"]}
    assert groups == {SONNET: 2, HAIKU: 1, TITAN_V2: 1}
    assert by_model["totals"]["requests"] == 4
    by_day = http.get("/admin/usage", params={"group_by": "day"}).json()["data"]
    assert [g["key"] for g in by_day] == [time.strftime("%Y-%m-%d", time.gmtime())]
    by_provider = http.get("/admin/usage", params={"group_by": "provider"}).json()["data"]
    assert [(g["key"], g["requests"]) for g in by_provider] == [("bedrock", 4)]

    assert totals(http, model=HAIKU)["requests"] == 1
    assert totals(http, provider="bedrock", key_hash=key_hash(MASTER_KEY))["requests"] == 4
    assert totals(http, key_hash="0000000000000000")["requests"] == 0
    assert totals(http, **{"from": "2999-01-01"})["requests"] == 0
    assert totals(http, **{"from": int(time.time()) - 3600, "to": "2999-01-01T00:00:00Z"})["requests"] == 4

    for params, param in [({"group_by": "week"}, "group_by"), ({"from": "yesterday"}, "from"),
                          ({"form": "x"}, "form")]:
        r = http.get("/admin/usage", params=params)
        assert r.status_code == 400, r.text
        check_schema(r.json(), "ErrorResponse")
        assert r.json()["error"]["param"] == param
    client.close()
    http.close()


def test_admin_requests_paginates_newest_first(start_gateway, emu):
    gw = start_gateway.start()
    client = gw.openai()
    http = plain(gw)
    ids = [rid(f"page{i}") for i in range(5)]
    for i in ids:
        client.chat.completions.create(model=SONNET, messages=user("hi"), extra_headers={"x-request-id": i})
    wait_totals(http, 5)
    seen, cursor = [], None
    while True:
        page = http.get("/admin/requests", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        assert page["object"] == "list" and len(page["data"]) <= 2
        seen += [row["request_id"] for row in page["data"]]
        assert page["has_more"] == (page["next_cursor"] is not None)
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert seen == list(reversed(ids))
    assert http.get("/admin/requests", params={"limit": 0}).status_code == 400
    assert http.get("/admin/requests", params={"cursor": "garbage"}).status_code == 400
    client.close()
    http.close()


def test_admin_api_needs_the_master_key(gw, start_gateway):
    for path in ("/admin/usage", "/admin/requests"):
        r = httpx.get(f"{gw.url}{path}", timeout=10)
        assert r.status_code == 401, r.text
        check_schema(r.json(), "ErrorResponse")
        assert httpx.get(f"{gw.url}{path}", headers=gw.auth("wrong"), timeout=10).status_code == 401
    open_gw = start_gateway.start(master_key=None)
    r = httpx.get(f"{open_gw.url}/admin/usage", timeout=10)
    assert r.status_code == 403 and "GOMODEL_MASTER_KEY" in r.json()["error"]["message"]


# ---------------------------------------------------------------------------------------------------
# stored responses
# ---------------------------------------------------------------------------------------------------


def _unchecked_sdk(gw) -> openai.OpenAI:
    """The SDK with its default transport: GET/DELETE /v1/responses/{id} have no checker in
    validating.py; their bodies are checked against the spec by hand below."""
    return openai.OpenAI(base_url=f"{gw.url}/v1", api_key=gw.master_key, max_retries=0, timeout=30.0)


def _converse_texts(emulator) -> list[tuple[str, str]]:
    """(role, text) of each message of the last Converse request."""
    out = []
    for m in body_of(last_converse(emulator))["messages"]:
        text = " ".join(b["text"] for b in m["content"] if "text" in b)
        out.append((m["role"], text))
    return out


def test_previous_response_id_multi_turn_with_the_sdk(gw, emu):
    client = _unchecked_sdk(gw)
    r1 = client.responses.create(model=SONNET, input="[[emu:reply=Paris]] capital of France?")
    assert r1.store is True and r1.output_text == "Paris"
    r2 = client.responses.create(model=SONNET, input="[[emu:reply=Rome]] and Italy?", previous_response_id=r1.id)
    assert r2.previous_response_id == r1.id and r2.output_text == "Rome"
    assert _converse_texts(emu) == [
        ("user", "[[emu:reply=Paris]] capital of France?"),
        ("assistant", "Paris"),
        ("user", "[[emu:reply=Rome]] and Italy?"),
    ]
    # A third turn sees the whole conversation, not only the previous turn.
    r3 = client.responses.create(
        model=SONNET, input=[{"role": "user", "content": "[[emu:reply=Madrid]] and Spain?"}],
        previous_response_id=r2.id, instructions="Answer with a city.",
    )
    assert r3.output_text == "Madrid"
    texts = _converse_texts(emu)
    assert [t for _, t in texts] == [
        "[[emu:reply=Paris]] capital of France?", "Paris", "[[emu:reply=Rome]] and Italy?", "Rome",
        "[[emu:reply=Madrid]] and Spain?",
    ]
    # The usage of the continued turn counts the history it carried.
    assert r3.usage.input_tokens > r1.usage.input_tokens
    client.close()


def test_streamed_response_is_stored_before_it_completes(gw, emu):
    client = _unchecked_sdk(gw)
    with client.responses.stream(model=SONNET, input="[[emu:reply=one two three]] go") as s:
        for _ in s:
            pass
        first = s.get_final_response()
    # Continuing immediately after `response.completed` finds it.
    nxt = client.responses.create(model=SONNET, input="[[emu:reply=four]] more", previous_response_id=first.id)
    assert nxt.output_text == "four"
    assert ("assistant", "one two three") in _converse_texts(emu)
    got = client.responses.retrieve(first.id)
    assert got.id == first.id and got.output_text == "one two three"
    client.close()


def test_get_delete_and_input_items(gw, emu):
    http = plain(gw)
    client = _unchecked_sdk(gw)
    items = [
        {"role": "system", "content": "be terse"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": [{"type": "input_text", "text": "[[emu:reply=ok]] second"}]},
    ]
    r = client.responses.create(model=SONNET, input=items)
    got = http.get(f"/v1/responses/{r.id}")
    assert got.status_code == 200
    check_schema(got.json(), "Response")
    assert got.json()["id"] == r.id and got.json()["output"][0]["content"][0]["text"] == "ok"
    assert got.json()["store"] is True

    listed = http.get(f"/v1/responses/{r.id}/input_items", params={"order": "asc"}).json()
    check_schema(listed, "ResponseItemList")
    assert [i["role"] for i in listed["data"]] == ["system", "user", "assistant", "user"]
    assert listed["has_more"] is False
    assert listed["first_id"] == listed["data"][0]["id"] and listed["last_id"] == listed["data"][-1]["id"]
    assert listed["data"][1]["content"] == [{"type": "input_text", "text": "first question"}]
    # Default order is newest first; pagination with limit/after.
    desc = http.get(f"/v1/responses/{r.id}/input_items", params={"limit": 3}).json()
    assert [i["id"] for i in desc["data"]] == [i["id"] for i in reversed(listed["data"])][:3]
    assert desc["has_more"] is True
    rest = http.get(f"/v1/responses/{r.id}/input_items", params={"limit": 3, "after": desc["last_id"]}).json()
    assert [i["id"] for i in rest["data"]] == [listed["data"][0]["id"]] and rest["has_more"] is False
    # The SDK reads the same list.
    sdk_items = client.responses.input_items.list(r.id, order="asc")
    assert [i.id for i in sdk_items.data] == [i["id"] for i in listed["data"]]

    deleted = http.delete(f"/v1/responses/{r.id}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": r.id, "object": "response.deleted", "deleted": True}
    for method, path in [("GET", f"/v1/responses/{r.id}"), ("DELETE", f"/v1/responses/{r.id}"),
                         ("GET", f"/v1/responses/{r.id}/input_items"), ("GET", "/v1/responses/resp_nope")]:
        resp = http.request(method, path)
        assert resp.status_code == 404, (method, path, resp.text)
        check_schema(resp.json(), "ErrorResponse")
        assert "not found" in resp.json()["error"]["message"]
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(r.id)
    with pytest.raises(openai.NotFoundError) as err:
        client.responses.create(model=SONNET, input="x", previous_response_id="resp_does_not_exist")
    assert err.value.body["param"] == "previous_response_id"
    http.close()
    client.close()


def test_store_false_is_not_kept_but_can_continue(gw, emu):
    http = plain(gw)
    client = _unchecked_sdk(gw)
    kept = client.responses.create(model=SONNET, input="[[emu:reply=kept]] a")
    r = client.responses.create(model=SONNET, input="[[emu:reply=b]] b", store=False, previous_response_id=kept.id)
    assert r.store is False and r.previous_response_id == kept.id
    assert http.get(f"/v1/responses/{r.id}").status_code == 404
    assert ("assistant", "kept") in _converse_texts(emu)
    http.close()
    client.close()


# ---------------------------------------------------------------------------------------------------
# metrics, readiness, logs
# ---------------------------------------------------------------------------------------------------


def test_metrics_parse_and_counters_move(gw, emu):
    client = gw.openai()
    before = metrics(gw)
    labels = {"endpoint": "chat.completions", "provider": "bedrock", "model": SONNET}
    r = client.chat.completions.create(model=SONNET, messages=user("[[emu:words=7]] count"))
    list(client.chat.completions.create(model=SONNET, messages=user("[[emu:words=3]] s"), stream=True))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=SONNET, messages=user("[[emu:error=ThrottlingException]]"))
    after = wait_until(
        lambda: (m := metrics(gw)) and sample(m, "gomodel_requests", "gomodel_requests_total", status="429",
                                              **labels) > sample(before, "gomodel_requests",
                                                                 "gomodel_requests_total", status="429", **labels)
        and m,
        what="request counters to move",
    )

    def delta(family, sample_name=None, **lbl):
        return sample(after, family, sample_name, **lbl) - sample(before, family, sample_name, **lbl)

    assert delta("gomodel_requests", "gomodel_requests_total", status="200", **labels) >= 2
    assert delta("gomodel_requests", "gomodel_requests_total", status="429", **labels) >= 1
    assert delta("gomodel_tokens", "gomodel_tokens_total", provider="bedrock", model=SONNET, type="output") >= 10
    assert delta("gomodel_tokens", "gomodel_tokens_total", provider="bedrock", model=SONNET,
                 type="input") >= r.usage.prompt_tokens
    assert delta("gomodel_request_duration_seconds", "gomodel_request_duration_seconds_count", **labels) >= 3
    assert delta("gomodel_time_to_first_token_seconds", "gomodel_time_to_first_token_seconds_count", **labels) >= 1
    assert delta("gomodel_upstream_duration_seconds", "gomodel_upstream_duration_seconds_count", **labels) >= 3
    assert delta("gomodel_upstream_errors", "gomodel_upstream_errors_total", provider="bedrock",
                 code="ThrottlingException") >= 1
    assert after["gomodel_request_duration_seconds"].type == "histogram"
    assert "gomodel_streams_in_flight" in after and sample(after, "gomodel_streams_in_flight") == 0
    assert "gomodel_usage_queue_depth" in after
    assert sample(after, "gomodel_usage_dropped", "gomodel_usage_dropped_total") == 0
    wait_until(lambda: sample(metrics(gw), "gomodel_usage_written", "gomodel_usage_written_total") > 0,
               what="usage writes to be counted")
    client.close()


def test_ready_reports_registry_and_storage(gw):
    r = httpx.get(f"{gw.url}/health/ready", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": {"registry": "ok", "storage": "ok"}}


def test_storage_disabled(start_gateway, emu):
    gw = start_gateway.start({"STORAGE_ENABLED": "false"})
    client = _unchecked_sdk(gw)
    assert client.chat.completions.create(model=SONNET, messages=user("hi")).choices
    r = client.responses.create(model=SONNET, input="hi")
    assert r.store is False
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model=SONNET, input="x", previous_response_id=r.id)
    assert err.value.body["param"] == "previous_response_id"
    http = plain(gw)
    u = http.get("/admin/usage")
    assert u.status_code == 503 and u.json()["error"]["code"] == "storage_disabled"
    ready = http.get("/health/ready").json()
    assert ready["checks"]["storage"] == "disabled" and ready["status"] == "ready"
    assert not (gw.cwd / "data").exists(), "no database file when storage is off"
    http.close()
    client.close()


def test_json_logs_carry_the_request_id_and_no_secrets_or_bodies(start_gateway, emu):
    gw = start_gateway.start({"LOG_FORMAT": "json"})
    secret_word = f"zebra{uuid.uuid4().hex[:8]}"
    req_id = rid("log")
    client = gw.openai()
    client.chat.completions.create(model=SONNET, messages=user(f"tell me about {secret_word}"),
                                   extra_headers={"x-request-id": req_id})
    client.close()

    def request_line():
        for line in gw.log_text().splitlines():
            if line.startswith("{"):
                obj = json.loads(line)
                if obj.get("request_id") == req_id or obj.get("span", {}).get("request_id") == req_id:
                    if obj.get("path") == "/v1/chat/completions":
                        return obj
        return None

    line = wait_until(request_line, what="the JSON request log line")
    assert line["status"] == 200
    text = gw.log_text()
    assert all(l.startswith("{") for l in text.splitlines() if l.strip()), "every line is JSON"
    assert MASTER_KEY not in text and secret_word not in text


def test_audit_log_is_opt_in_capped_and_redacted(start_gateway, emu):
    gw = start_gateway.start({"AUDIT_LOG_ENABLED": "true"},
                             config_yaml="storage:\n  audit_log_max_bytes: 4096\n")
    marker = f"audited{uuid.uuid4().hex[:8]}"
    image = "data:image/png;base64," + "iVBORw0KGgo" * 200
    client = gw.openai()
    client.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": [
        {"type": "text", "text": marker},
        {"type": "image_url", "image_url": {"url": image}},
    ]}], extra_body={"metadata": {"api_key": "sk-should-not-leak"}})
    client.close()
    wait_until(lambda: "audit response" in gw.log_text(), what="audit lines")
    text = gw.log_text()
    assert marker in text
    assert "iVBORw0KGgoiVBORw0KGgo" not in text and "image/png" in text
    assert "sk-should-not-leak" not in text and MASTER_KEY not in text


# ---------------------------------------------------------------------------------------------------
# outages and shutdown
# ---------------------------------------------------------------------------------------------------


def test_sqlite_outage_keeps_serving_then_flushes(start_gateway, emu):
    # The database directory is a regular file: opening fails (even for root) until it is replaced.
    gw = start_gateway.start({"SQLITE_PATH": "blocked/gomodel.db"}, files={"blocked": "not a directory"})
    client = gw.openai()
    http = plain(gw)
    started = time.monotonic()
    for i in range(6):
        assert client.chat.completions.create(model=SONNET, messages=user(f"q{i}")).choices
    list(client.chat.completions.create(model=SONNET, messages=user("s"), stream=True))
    assert time.monotonic() - started < 10, "requests do not wait for the database"
    ready = http.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["checks"]["storage"] == "unreachable"
    assert http.get("/admin/usage").status_code == 503
    wait_until(lambda: sample(metrics(gw), "gomodel_usage_queue_depth") >= 7, what="records queued")
    # (a failed connection attempt takes the pool's acquire timeout, a few seconds, to report)
    wait_until(lambda: sample(metrics(gw), "gomodel_usage_write_errors", "gomodel_usage_write_errors_total") >= 1,
               timeout=20, what="a failed write while the database is unavailable")

    # The database comes back: everything queued is written.
    (gw.cwd / "blocked").unlink()
    (gw.cwd / "blocked").mkdir()
    t = wait_totals(http, 7, timeout=40)
    assert t["output_tokens"] > 0
    assert http.get("/health/ready").status_code == 200
    assert sample(metrics(gw), "gomodel_usage_dropped", "gomodel_usage_dropped_total") == 0
    client.close()
    http.close()


def test_graceful_shutdown_flushes_queued_records(start_gateway, emu):
    gw = start_gateway.start()
    client = gw.openai()
    for i in range(5):
        client.chat.completions.create(model=SONNET, messages=user(f"q{i}"))
    client.close()
    gw.proc.popen.send_signal(signal.SIGTERM)  # right away: the records are still queued
    assert gw.proc.popen.wait(timeout=30) == 0
    # A new gateway on the same database file sees all five.
    reopened = start_gateway.start({"SQLITE_PATH": str(gw.cwd / "data" / "gomodel.db")})
    http = plain(reopened)
    assert totals(http)["requests"] == 5
    http.close()


# ---------------------------------------------------------------------------------------------------
# PostgreSQL (when TEST_DATABASE_URL is set)
# ---------------------------------------------------------------------------------------------------

needs_postgres = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set (.ci/run starts a throwaway PostgreSQL)"
)


class TcpProxy:
    """A loopback TCP forwarder that can be cut (listener and open connections closed) and
    restored on the same port: a database outage without touching the shared cluster."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(32)
        self._listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def down(self) -> None:
        ls, self._listener = self._listener, None
        if ls is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not on Linux.
            try:
                ls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            ls.close()
        with self._lock:
            for c in self._conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self._conns.clear()

    def _accept(self, ls: socket.socket) -> None:
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass


def _pg_url_via(proxy_port: int) -> str:
    u = httpx.URL(TEST_DATABASE_URL)
    return str(u.copy_with(host="127.0.0.1", port=proxy_port))


@needs_postgres
def test_postgres_rows_and_stored_responses(start_gateway, emu):
    key = f"pg-key-{uuid.uuid4().hex[:8]}"
    gw = start_gateway.start({"DATABASE_URL": TEST_DATABASE_URL, "GOMODEL_MASTER_KEY": key}, master_key=key)
    client = gw.openai()
    http = plain(gw, key)
    req_id = rid("pg")
    resp = client.chat.completions.create(model=SONNET, messages=user("postgres row please"),
                                          extra_headers={"x-request-id": req_id})
    row = rows_for(http, {req_id})[req_id]
    assert row["input_tokens"] == resp.usage.prompt_tokens and row["key_hash"] == key_hash(key)
    t = wait_totals(http, 1, key_hash=key_hash(key))
    assert t["output_tokens"] == resp.usage.completion_tokens
    sdk = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0)
    r1 = sdk.responses.create(model=SONNET, input="[[emu:reply=pg]] one")
    r2 = sdk.responses.create(model=SONNET, input="[[emu:reply=two]] two", previous_response_id=r1.id)
    assert r2.output_text == "two" and ("assistant", "pg") in _converse_texts(emu)
    assert sdk.responses.retrieve(r1.id).output_text == "pg"
    assert http.get("/health/ready").json()["checks"]["storage"] == "ok"
    client.close()
    http.close()
    sdk.close()


@needs_postgres
def test_postgres_outage_keeps_serving_then_flushes(start_gateway, emu):
    u = httpx.URL(TEST_DATABASE_URL)
    proxy = TcpProxy(u.host, u.port or 5432)
    key = f"pg-outage-{uuid.uuid4().hex[:8]}"
    try:
        gw = start_gateway.start({"DATABASE_URL": _pg_url_via(proxy.port), "GOMODEL_MASTER_KEY": key},
                                 master_key=key)
        client = gw.openai()
        http = plain(gw, key)
        client.chat.completions.create(model=SONNET, messages=user("before"))
        wait_totals(http, 1, key_hash=key_hash(key))

        proxy.down()  # the database is gone
        started = time.monotonic()
        for i in range(5):
            assert client.chat.completions.create(model=SONNET, messages=user(f"during {i}")).choices
        assert time.monotonic() - started < 10, "requests do not wait for the database"
        assert http.get("/health/ready").status_code == 503
        wait_until(lambda: sample(metrics(gw), "gomodel_usage_write_errors", "gomodel_usage_write_errors_total") >= 1,
                   timeout=20, what="a failed write while the database is down")

        proxy.up()  # and back: the queued records land
        wait_totals(http, 6, timeout=60, key_hash=key_hash(key))
        assert sample(metrics(gw), "gomodel_usage_dropped", "gomodel_usage_dropped_total") == 0
        client.close()
        http.close()
    finally:
        proxy.down()
