"""Constants and small helpers shared by the end-to-end tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import time
from typing import Any, Iterable
from urllib.parse import unquote

ACCESS_KEY = "AKIDEMULATOR"
SECRET_KEY = "emulator-secret"
REGION = "us-east-1"
MASTER_KEY = "test-master-key-7f3a"

SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
PROFILE_ONLY = "anthropic.claude-3-7-sonnet-20250219-v1:0"
PROFILE_ONLY_US = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"

CONVERSE_OPS = ("Converse", "ConverseStream")


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def words(text: str | None) -> int:
    return len((text or "").split())


def converse_requests(emulator, model: str | None = None) -> list[dict[str, Any]]:
    """Recorded Converse/ConverseStream requests, optionally for one model id."""
    found = [r for r in emulator.requests() if r.get("operation") in CONVERSE_OPS]
    if model is not None:
        found = [r for r in found if r.get("model_id") == model]
    return found


def last_converse(emulator) -> dict[str, Any]:
    found = converse_requests(emulator)
    assert found, f"the emulator recorded no Converse call; it recorded: {emulator.requests()}"
    return found[-1]


def body_of(recorded: dict[str, Any]) -> dict[str, Any]:
    body = recorded.get("body")
    if isinstance(body, str):
        body = json.loads(body)
    assert isinstance(body, dict), f"recorded request has no JSON body: {recorded}"
    return body


def header(recorded: dict[str, Any], name: str) -> str | None:
    headers = recorded.get("headers") or {}
    if isinstance(headers, list):  # [[name, value], ...]
        headers = {k: v for k, v in headers}
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else value
    return None


def model_in_path(path: str) -> str:
    """`/model/<encoded id>/converse` -> the decoded id."""
    parts = path.split("/")
    assert parts[1] == "model", path
    return unquote(parts[2])


def emulator_streams(emulator) -> dict[str, int]:
    """The emulator's stream counters: `open` now, `aborted` (reader gone before the end) so far."""
    import httpx

    return httpx.get(f"{emulator.url}/_emulator/health", timeout=5).json()["streams"]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Polls `predicate` until it returns a truthy value (returned) or the timeout expires."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def sse_data(lines: Iterable[str]) -> list[str]:
    """The `data:` payloads of an SSE body, in order."""
    return [line[len("data:"):].strip() for line in lines if line.startswith("data:")]
