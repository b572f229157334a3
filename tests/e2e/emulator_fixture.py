"""Launching `gomodel-bedrock-emulator` for tests that talk to it directly (boto3 proofs).

Binary: `EMULATOR_BIN`, else `target/release/gomodel-bedrock-emulator`, else `target/debug/...`.
The emulator is started with `--port 0`; its first stdout line, `listening on http://127.0.0.1:PORT`,
gives the port. Every emulator started here is stopped (SIGTERM, then SIGKILL) at teardown.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
BINARY_NAME = "gomodel-bedrock-emulator"
STARTUP_TIMEOUT = 30.0
LISTENING_PREFIX = "listening on http://127.0.0.1:"

ACCESS_KEY = "AKIDEMULATOR"
SECRET_KEY = "emulator-secret"
SESSION_ACCESS_KEY = "ASIAEMULATORSESSION"
SESSION_SECRET_KEY = "session-secret"
SESSION_TOKEN = "FwoGZXIvYXdzEmulatorSessionToken=="
API_KEY = "ABSKemulator-bedrock-api-key"
REGION = "us-east-1"

DEFAULT_ENV = {
    "EMULATOR_CREDENTIALS": f"{ACCESS_KEY}:{SECRET_KEY},{SESSION_ACCESS_KEY}:{SESSION_SECRET_KEY}:{SESSION_TOKEN}",
    "EMULATOR_API_KEYS": API_KEY,
    "EMULATOR_REGIONS": "us-east-1,us-west-2,eu-west-1",
}


def find_emulator_binary() -> Path:
    override = os.environ.get("EMULATOR_BIN")
    if override:
        path = Path(override)
        if not path.is_file():
            pytest.fail(f"EMULATOR_BIN={override} does not exist", pytrace=False)
        return path.resolve()
    for profile in ("release", "debug"):
        path = REPO / "target" / profile / BINARY_NAME
        if path.is_file():
            return path
    pytest.fail(
        f"{BINARY_NAME} not found in target/release or target/debug "
        "(cargo build --release -p bedrock-emulator, or set EMULATOR_BIN)",
        pytrace=False,
    )
    raise AssertionError("unreachable")


class EmulatorProcess:
    """One running emulator."""

    def __init__(self, env: dict[str, str], args: list[str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self._log = open(log_path, "ab", buffering=0)  # noqa: SIM115
        self.popen = subprocess.Popen(
            [str(find_emulator_binary()), "--port", "0", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,
        )
        self._first_line: list[str] = []
        self._got_line = threading.Event()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()
        if not self._got_line.wait(STARTUP_TIMEOUT) or not self._first_line:
            self.stop()
            pytest.fail(f"emulator printed no first line; log:\n{self.log_text()}", pytrace=False)
        line = self._first_line[0]
        if not line.startswith(LISTENING_PREFIX):
            self.stop()
            pytest.fail(f"unexpected first line {line!r}; log:\n{self.log_text()}", pytrace=False)
        self.port = int(line[len(LISTENING_PREFIX):])
        self.url = f"http://127.0.0.1:{self.port}"

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for raw in iter(self.popen.stdout.readline, b""):
            self._log.write(raw)
            if not self._first_line:
                self._first_line.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self._got_line.set()
        self._got_line.set()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def get_json(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as resp:  # noqa: S310 (loopback)
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def requests(self, operation: str | None = None) -> list[dict[str, Any]]:
        status, items = self.get_json("/_emulator/requests")
        assert status == 200, items
        return [r for r in items if operation is None or r["operation"] == operation]

    def clear(self) -> int:
        req = urllib.request.Request(f"{self.url}/_emulator/requests", method="DELETE")
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 (loopback)
            return resp.status

    def alive(self) -> bool:
        return self.popen.poll() is None

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=timeout)

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=8)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=5)
        self._reader.join(timeout=2)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        self._log.close()


def _env(overrides: dict[str, str] | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "RUST_BACKTRACE": "1",
        **DEFAULT_ENV,
    }
    env.update(overrides or {})
    return env


@pytest.fixture
def launch_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., EmulatorProcess]]:
    """Factory: `launch_emulator(env={...}, args=[...])` starts an emulator stopped at teardown."""
    started: list[EmulatorProcess] = []

    def launch(env: dict[str, str] | None = None, args: list[str] | None = None) -> EmulatorProcess:
        log = tmp_path_factory.mktemp("emulator") / "emulator.log"
        emu = EmulatorProcess(_env(env), list(args or []), log)
        started.append(emu)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if emu.get_json("/_emulator/health")[0] == 200:
                    return emu
            except OSError:
                pass
            time.sleep(0.05)
        pytest.fail(f"emulator health never answered; log:\n{emu.log_text()}", pytrace=False)
        raise AssertionError("unreachable")

    yield launch
    for emu in started:
        emu.stop()


@pytest.fixture(scope="module")
def shared_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """One emulator for a whole test module, with a denied model for the access tests."""
    log = tmp_path_factory.mktemp("emulator-shared") / "emulator.log"
    emu = EmulatorProcess(_env({"EMULATOR_DENIED_MODELS": "amazon.nova-pro-v1:0"}), [], log)
    yield emu
    emu.stop()
