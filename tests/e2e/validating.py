"""Schema-check every body and every stream chunk the gateway sends, in one place.

Every HTTP client the tests use to talk to the gateway (the `openai` SDK's httpx2 client and the raw
`httpx` client) is built with a `RecordingTransport`. It tees each response body as the client reads it
and validates it against `spec/openai-openapi.json`:

* any status >= 400                      -> `ErrorResponse` (the body must be OpenAI's error shape)
* `POST /v1/chat/completions`, JSON      -> `CreateChatCompletionResponse`
* `POST /v1/chat/completions`, SSE       -> each `data:` event is a `CreateChatCompletionStreamResponse`
  (or, for an in-stream failure, an `ErrorResponse`); a stream that reaches EOF must have ended with
  `data: [DONE]` or an error event, nothing may follow `[DONE]`, and all chunks share id/created/model
* `GET /v1/models`                        -> `ListModelsResponse`; `GET /v1/models/{id}` -> `Model`
* `POST /v1/embeddings`                   -> `CreateEmbeddingResponse`

Violations are collected in `RECORDER`; conftest.py fails the running test when any were recorded, so a
test cannot forget to validate what it received. `RECORDER.exchanges` keeps every exchange (with the
parsed SSE events and their arrival times) for tests that want to look at the raw wire.
"""

from __future__ import annotations

import base64
import copy
import json
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import openapi_schema

# Paths that are not part of the OpenAI surface (no schema to check against) when they succeed.
UNCHECKED_SUCCESS_PATHS = ("/health",)


@dataclass
class SseEvent:
    data: str
    event: str | None
    arrived: float  # time.monotonic() when the event was complete on the wire

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    content_type: str
    started: float
    request_json: Any = None
    body: bytearray = field(default_factory=bytearray)
    events: list[SseEvent] = field(default_factory=list)
    eof: bool = False
    finished: bool = False
    _pending: bytes = b""

    @property
    def is_sse(self) -> bool:
        return self.content_type.startswith("text/event-stream")

    @property
    def done(self) -> bool:
        return any(e.data == "[DONE]" for e in self.events)

    def data_events(self) -> list[Any]:
        """Parsed JSON of every data event except `[DONE]`."""
        return [e.json() for e in self.events if e.data != "[DONE]"]

    def json(self) -> Any:
        return json.loads(bytes(self.body))


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self.violations: list[str] = []

    def reset(self) -> None:
        with self._lock:
            self.exchanges = []
            self.violations = []

    def take_violations(self) -> list[str]:
        with self._lock:
            found, self.violations = self.violations, []
            return found

    def add(self, ex: Exchange) -> None:
        with self._lock:
            self.exchanges.append(ex)

    def violation(self, ex: Exchange, message: str) -> None:
        with self._lock:
            self.violations.append(f"{ex.method} {ex.path} -> {ex.status}: {message}")

    def last(self, path_suffix: str = "") -> Exchange:
        with self._lock:
            for ex in reversed(self.exchanges):
                if ex.path.endswith(path_suffix):
                    return ex
        raise LookupError(f"no recorded exchange for *{path_suffix}")

    # ---- body handling -------------------------------------------------------------------------

    def feed(self, ex: Exchange, chunk: bytes) -> None:
        ex.body.extend(chunk)
        if not ex.is_sse:
            return
        ex._pending += chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        while b"\n\n" in ex._pending:
            raw, ex._pending = ex._pending.split(b"\n\n", 1)
            self._sse_block(ex, raw.decode("utf-8", errors="replace"))

    def _sse_block(self, ex: Exchange, block: str) -> None:
        data_lines, event = [], None
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue  # comment / keep-alive
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data_lines.append(value)
            elif name == "event":
                event = value
            elif name in ("id", "retry"):
                pass
            else:
                self.violation(ex, f"unknown SSE field in line {line!r}")
        if not data_lines:
            return
        data = "\n".join(data_lines)
        if ex.done:
            self.violation(ex, f"SSE event after data: [DONE]: {data[:200]!r}")
        ev = SseEvent(data=data, event=event, arrived=time.monotonic())
        ex.events.append(ev)
        if data == "[DONE]":
            return
        try:
            obj = json.loads(data)
        except ValueError as err:
            self.violation(ex, f"SSE data is not JSON ({err}): {data[:200]!r}")
            return
        if isinstance(obj, dict) and "error" in obj or event == "error":
            self._schema(ex, obj, "ErrorResponse")
            return
        self._schema(ex, obj, "CreateChatCompletionStreamResponse")
        chunks = [e for e in ex.data_events() if isinstance(e, dict) and "error" not in e]
        first = chunks[0]
        for key in ("id", "created", "model"):
            if obj.get(key) != first.get(key):
                self.violation(ex, f"chunk {key} {obj.get(key)!r} differs from first chunk's {first.get(key)!r}")

    def finish(self, ex: Exchange) -> None:
        """The client closed the body. Validate what is complete."""
        if ex.finished:
            return
        ex.finished = True
        if ex.is_sse:
            if ex._pending.strip():
                if ex.eof:
                    self.violation(ex, f"stream ended inside an SSE event: {ex._pending[:200]!r}")
            if ex.eof and not ex.done and not self._has_error_event(ex):
                self.violation(ex, "stream reached EOF without data: [DONE] or an error event")
            if ex.status >= 400 and ex.eof:
                self.violation(ex, "error status with an event-stream body")
            return
        if not ex.eof:
            return  # the client abandoned the body; nothing complete to check
        self._check_json_body(ex)

    @staticmethod
    def _has_error_event(ex: Exchange) -> bool:
        for e in ex.events:
            if e.event == "error":
                return True
            try:
                obj = e.json()
            except ValueError:
                continue
            if isinstance(obj, dict) and "error" in obj:
                return True
        return False

    def _check_json_body(self, ex: Exchange) -> None:
        if ex.status < 400 and any(ex.path == p for p in UNCHECKED_SUCCESS_PATHS):
            return
        try:
            obj = json.loads(bytes(ex.body))
        except ValueError:
            self.violation(ex, f"body is not JSON (content-type {ex.content_type!r}): {bytes(ex.body)[:300]!r}")
            return
        if ex.status >= 400:
            self._schema(ex, obj, "ErrorResponse")
            return
        name = schema_for(ex.method, ex.path)
        if name is None:
            self.violation(ex, "no schema known for this successful gateway response (extend validating.py)")
            return
        if not ex.content_type.startswith("application/json"):
            self.violation(ex, f"content-type {ex.content_type!r} is not application/json")
        if name == "CreateEmbeddingResponse":
            obj = self._decode_base64_embeddings(ex, obj)
        self._schema(ex, obj, name)

    def _decode_base64_embeddings(self, ex: Exchange, obj: Any) -> Any:
        """`encoding_format: "base64"` (the openai SDK's default) answers each vector as base64 of
        little-endian float32s, which the OpenAPI schema does not describe: check it decodes, then
        validate the decoded form. Without base64 requested, vectors must be number arrays."""
        asked = isinstance(ex.request_json, dict) and ex.request_json.get("encoding_format") == "base64"
        if not asked or not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
            return obj
        obj = copy.deepcopy(obj)
        for item in obj["data"]:
            vec = item.get("embedding") if isinstance(item, dict) else None
            if not isinstance(vec, str):
                self.violation(ex, "encoding_format=base64 was requested but an embedding is not a string")
                continue
            try:
                raw = base64.b64decode(vec, validate=True)
            except ValueError as err:
                self.violation(ex, f"embedding is not valid base64: {err}")
                continue
            if len(raw) % 4:
                self.violation(ex, f"base64 embedding has {len(raw)} bytes, not a multiple of 4 (float32)")
                continue
            item["embedding"] = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        return obj

    def _schema(self, ex: Exchange, obj: Any, name: str) -> None:
        for err in openapi_schema.errors(obj, name):
            self.violation(ex, f"{name}: {err} in {json.dumps(obj)[:500]}")


def _request_json(request: Any) -> Any:
    try:
        content = request.content  # the SDK and our tests send fully built (non-streaming) bodies
    except Exception:  # noqa: BLE001 - a streaming request body is simply not inspected
        return None
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def schema_for(method: str, path: str) -> str | None:
    path = path.rstrip("/")
    if method == "POST" and path.endswith("/v1/chat/completions"):
        return "CreateChatCompletionResponse"
    if method == "GET" and path.endswith("/v1/models"):
        return "ListModelsResponse"
    if method == "GET" and "/v1/models/" in path:
        return "Model"
    if method == "POST" and path.endswith("/v1/embeddings"):
        return "CreateEmbeddingResponse"
    return None


RECORDER = Recorder()


def _make_tee(base: type) -> type:
    class TeeStream(base):  # type: ignore[misc, valid-type]
        def __init__(self, inner: Any, ex: Exchange, recorder: Recorder) -> None:
            self._inner, self._ex, self._recorder = inner, ex, recorder

        def __iter__(self):
            for chunk in self._inner:
                self._recorder.feed(self._ex, chunk)
                yield chunk
            self._ex.eof = True

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                self._recorder.finish(self._ex)

    return TeeStream


def _make_transport(lib: Any) -> type:
    tee = _make_tee(lib.SyncByteStream)

    class RecordingTransport(lib.BaseTransport):  # type: ignore[misc, valid-type]
        def __init__(self, recorder: Recorder = RECORDER, inner: Any = None) -> None:
            self._inner = inner if inner is not None else lib.HTTPTransport()
            self._recorder = recorder

        def handle_request(self, request: Any) -> Any:
            started = time.monotonic()
            response = self._inner.handle_request(request)
            ex = Exchange(
                method=request.method,
                path=request.url.path,
                status=response.status_code,
                content_type=response.headers.get("content-type", ""),
                started=started,
                request_json=_request_json(request),
            )
            self._recorder.add(ex)
            response.stream = tee(response.stream, ex, self._recorder)
            return response

        def close(self) -> None:
            self._inner.close()

    return RecordingTransport


def httpx_client(base_url: str, recorder: Recorder = RECORDER, inner: Any = None, **kwargs: Any):
    """A raw `httpx.Client` whose responses are validated (`inner`: the transport to wrap)."""
    import httpx

    kwargs.setdefault("timeout", 30.0)
    return httpx.Client(base_url=base_url, transport=_make_transport(httpx)(recorder, inner), **kwargs)


def openai_client(base_url: str, api_key: str, **kwargs: Any):
    """The official SDK client (no retries, so each call is one request) with validated responses."""
    import httpx2
    import openai

    http_client = openai.DefaultHttpxClient(transport=_make_transport(httpx2)(), timeout=30.0)
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 30.0)
    return openai.OpenAI(base_url=base_url, api_key=api_key, http_client=http_client, **kwargs)
