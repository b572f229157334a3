"""The HTTP surface around the handlers: graceful shutdown, request ids, 405/413, startup logs."""

from __future__ import annotations

import signal
import threading
import time

from harness import SONNET, user, wait_until, words


def test_sigterm_lets_a_running_stream_finish_then_exits_0(start_gateway, emu):
    gw = start_gateway.start()
    client = gw.openai()
    stream = client.chat.completions.create(
        model=SONNET, messages=user("[[emu:words=40]] [[emu:frame-delay=25]]"), stream=True
    )
    chunks = [next(stream)]
    gw.proc.popen.send_signal(signal.SIGTERM)
    chunks.extend(stream)  # the in-flight stream still completes...
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert words(text) == 40
    assert [c for c in chunks if c.choices][-1].choices[0].finish_reason == "stop"
    rc = gw.proc.popen.wait(timeout=30)  # ...and then the process exits on its own, cleanly
    assert rc == 0, gw.log_text()[-2000:]
    client.close()


def test_sigterm_when_idle_exits_promptly(start_gateway):
    gw = start_gateway.start()
    start = time.monotonic()
    gw.proc.popen.send_signal(signal.SIGTERM)
    assert gw.proc.popen.wait(timeout=10) == 0
    assert time.monotonic() - start < 5


def test_request_id_is_echoed_or_generated(gateway):
    r = gateway.http.get("/v1/models", headers={**gateway.auth(), "x-request-id": "trace-abc-123"})
    assert r.headers["x-request-id"] == "trace-abc-123"
    r = gateway.http.get("/v1/models", headers=gateway.auth())
    assert len(r.headers["x-request-id"]) >= 16
    r = gateway.http.get("/v1/models")  # errors carry it too
    assert r.status_code == 401 and r.headers.get("x-request-id")


def test_wrong_method_is_405_in_openai_shape(gateway):
    r = gateway.http.get("/v1/chat/completions", headers=gateway.auth())
    assert r.status_code == 405
    assert r.json()["error"]["message"]


def test_body_over_the_limit_is_413(start_gateway):
    gw = start_gateway.start(config_yaml="server:\n  body_limit_bytes: 2048\n")
    big = {"model": SONNET, "messages": user("x" * 4096)}
    r = gw.http.post("/v1/chat/completions", headers=gw.auth(), json=big)
    assert r.status_code == 413, r.text
    assert "2048" in r.json()["error"]["message"]
    small = {"model": SONNET, "messages": user("fits")}
    assert gw.http.post("/v1/chat/completions", headers=gw.auth(), json=small).status_code == 200


def test_startup_logs_name_the_listen_address_and_model_count(gateway):
    log = gateway.log_text()
    assert f"listening on http://127.0.0.1:{gateway.port}" in log
    assert "model registry loaded" in log


def test_log_format_json(start_gateway):
    import json

    gw = start_gateway.start(env={"LOG_FORMAT": "json", "LOG_LEVEL": "info"})
    gw.http.get("/health")
    wait_until(lambda: '"path":"/health"' in gw.log_text().replace(" ", ""), what="a JSON request log line")
    lines = [line for line in gw.log_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(p, dict) and "level" in p for p in parsed)


def test_health_stays_fast_while_upstream_is_slow(gateway):
    """A slow Bedrock call must not block other requests (no global lock on the hot path)."""
    client = gateway.openai()
    done = threading.Event()

    def slow():
        client.chat.completions.create(model=SONNET, messages=user("[[emu:delay=1500]] slow"))
        done.set()

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.1)  # let the slow request get in flight (not synchronization: only a head start)
    start = time.monotonic()
    assert gateway.http.get("/health").status_code == 200
    assert not done.is_set(), "the slow request finished too early for this test to mean anything"
    assert time.monotonic() - start < 1.0
    t.join(timeout=10)
    assert done.is_set()
    client.close()


def test_log_level_warn_hides_request_lines_but_keeps_failures(start_gateway):
    gw = start_gateway.start(env={"LOG_LEVEL": "warn"})
    gw.http.get("/health")
    r = gw.http.post(
        "/v1/chat/completions",
        headers=gw.auth(),
        json={"model": SONNET, "messages": user("[[emu:error=InternalServerException]]")},
    )
    assert r.status_code == 502
    # The failure is logged at warn, after the /health line would have been: once it is there,
    # the absence of the info line is meaningful.
    wait_until(lambda: "request failed" in gw.log_text(), what="the warn line for the 502")
    log = gw.log_text()
    assert "path=/health" not in log
    assert "INFO" not in log
