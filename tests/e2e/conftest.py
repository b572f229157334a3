"""Fixtures: the real `gomodel` binary against the real Bedrock emulator.

Binaries: `GOMODEL_BIN` / `EMULATOR_BIN` (the latter read by emulator_fixture.py), else
`target/release/...`, else `target/debug/...` (`make test` builds the release binaries and points both
variables at `./bin`). The binaries used are printed in the pytest header.

* `emulator`          session-scoped emulator (`--port 0`, launched with emulator_fixture.py's launcher),
                      credentials `AKIDEMULATOR:emulator-secret`
* `start_emulator`    factory for extra emulators with their own environment (e.g. a failing listing)
* `gateway`           module-scoped gateway with the common config (master key `MASTER_KEY`)
* `start_gateway`     factory: a gateway with given env overrides / `config.yaml` in a fresh temp cwd
  `start_gateway.run_expecting_failure(...)` runs it expecting a startup failure → (exit code, output)
* `module_gateways`   the same factory, module-scoped (gateways shared by one module's tests)
* `client`            `openai.OpenAI` for `gateway`, every response schema-checked (see validating.py)

Each process writes its stdout/stderr to a log file; when a test fails, the logs of the processes it
used are attached to the report. Every process started here is killed at teardown.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import validating  # noqa: E402
from validating import RECORDER  # noqa: E402

from emulator_fixture import DEFAULT_ENV as EMULATOR_DEFAULT_ENV  # noqa: E402
from emulator_fixture import EmulatorProcess  # noqa: E402
from harness import ACCESS_KEY, MASTER_KEY, REGION, SECRET_KEY  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

STARTUP_TIMEOUT = 30.0

# Every process started by the fixtures (gateways and emulators), so the failure hook can show
# their logs and nothing leaks.
_LIVE: list[Any] = []


def _find_binary(env_var: str, name: str) -> Path:
    override = os.environ.get(env_var)
    if override:
        path = Path(override)
        if not path.is_file():
            pytest.fail(f"{env_var}={override} does not exist", pytrace=False)
        return path.resolve()
    for profile in ("release", "debug"):
        path = REPO / "target" / profile / name
        if path.is_file():
            return path
    pytest.fail(
        f"binary {name} not found in target/release or target/debug (run `make build`, or set {env_var})",
        pytrace=False,
    )
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------------


class Proc:
    """A child process (the gateway) whose stdout and stderr go to a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab", buffering=0)  # noqa: SIM115
        self.popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,  # its own process group: killed as a group at teardown
        )
        _LIVE.append(self)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=5)
        self._log.close()
        if self in _LIVE:
            _LIVE.remove(self)


def _base_env(home: Path) -> dict[str, str]:
    """A minimal environment: nothing from the developer's shell (no real AWS settings) leaks in."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "RUST_BACKTRACE": "1",
        "NO_COLOR": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
    }


def _http_get(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (local test URL)
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


# ---------------------------------------------------------------------------------------------------
# emulator
# ---------------------------------------------------------------------------------------------------


class Emulator:
    """A running emulator, launched with `emulator_fixture.EmulatorProcess` (the emulator helper's
    launcher: `--port 0`, first stdout line parsed, SIGTERM/SIGKILL at stop)."""

    def __init__(self, process: EmulatorProcess) -> None:
        self.process = process
        self.name = "emulator"
        self.log_path = process.log_path
        self.port = process.port
        _LIVE.append(self)

    @property
    def url(self) -> str:
        return self.process.url

    def requests(self, operation: str | None = None) -> list[dict[str, Any]]:
        """The emulator's recorded requests (oldest first), optionally only one operation."""
        return self.process.requests(operation)

    def clear(self) -> None:
        assert self.process.clear() in (200, 204)

    def last_request(self, *operations: str) -> dict[str, Any]:
        found = [r for r in self.requests() if not operations or r.get("operation") in operations]
        assert found, f"emulator recorded no {operations or 'requests'}; all: {self.requests()}"
        return found[-1]

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.process.log_text().splitlines()[-lines:])

    def stop(self) -> None:
        self.process.stop()
        if self in _LIVE:
            _LIVE.remove(self)


def _launch_emulator(tmp: Path, extra_env: dict[str, str] | None = None) -> Emulator:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(tmp),
        "RUST_BACKTRACE": "1",
        **EMULATOR_DEFAULT_ENV,
        **(extra_env or {}),
    }
    # Fails the test (with the emulator's log) if the binary is missing or announces no port.
    emu = Emulator(EmulatorProcess(env, [], tmp / "emulator.log"))
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if _http_get(f"{emu.url}/_emulator/health")[0] == 200:
                return emu
        except OSError:
            pass
        time.sleep(0.05)
    tail = emu.log_tail()
    emu.stop()
    pytest.fail(f"emulator /_emulator/health never answered 200; log:\n{tail}", pytrace=False)
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emu = _launch_emulator(tmp_path_factory.mktemp("emulator"))
    yield emu
    emu.stop()


@pytest.fixture
def start_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def start(env: dict[str, str] | None = None) -> Emulator:
        emu = _launch_emulator(tmp_path_factory.mktemp("emulator-extra"), env)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


# ---------------------------------------------------------------------------------------------------
# gateway
# ---------------------------------------------------------------------------------------------------


@dataclass
class Gateway:
    proc: Proc
    port: int
    cwd: Path
    master_key: str | None
    emulator: Emulator | None
    _http: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def openai(self, api_key: str | None = None, **kwargs: Any):
        """An SDK client; by default authenticated with this gateway's master key."""
        key = api_key if api_key is not None else (self.master_key or "no-key-needed")
        return validating.openai_client(f"{self.url}/v1", key, **kwargs)

    @property
    def http(self):
        """A raw, schema-checking httpx client with no auth header."""
        if self._http is None:
            self._http = validating.httpx_client(self.url)
        return self._http

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.master_key}"}

    def log_text(self) -> str:
        return self.proc.log_text()

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
        self.proc.stop()


def _gateway_env(tmp: Path, emulator: Emulator | None, master_key: str | None,
                 env: dict[str, str | None] | None) -> dict[str, str]:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    full = _base_env(home)
    full.update({
        "GOMODEL_HOST": "127.0.0.1",
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "LOG_LEVEL": "debug",
    })
    if emulator is not None:
        full["BEDROCK_BASE_URL"] = emulator.url
    if master_key is not None:
        full["GOMODEL_MASTER_KEY"] = master_key
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return full


def _write_files(cwd: Path, config_yaml: str | None, files: dict[str, str] | None) -> None:
    if config_yaml is not None:
        (cwd / "config.yaml").write_text(config_yaml, encoding="utf-8")
    for rel, text in (files or {}).items():
        path = cwd / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


class GatewayLauncher:
    def __init__(self, tmp_factory: pytest.TempPathFactory, default_emulator: Emulator) -> None:
        self._tmp = tmp_factory
        self._emulator = default_emulator
        self.started: list[Gateway] = []

    def start(self, env: dict[str, str | None] | None = None, *, config_yaml: str | None = None,
              files: dict[str, str] | None = None, args: list[str] | None = None,
              emulator: Emulator | None | bool = True, master_key: str | None = MASTER_KEY,
              port: int | None = None) -> Gateway:
        """Starts gomodel in a fresh cwd and waits for `GET /health` = 200.

        `env` overrides the common environment (value None removes a variable); `emulator=False`
        leaves BEDROCK_BASE_URL unset; `master_key=None` runs in open mode."""
        emu = self._emulator if emulator is True else (emulator or None)
        binary = _find_binary("GOMODEL_BIN", "gomodel")
        tmp = self._tmp.mktemp("gateway")
        cwd = tmp / "cwd"
        cwd.mkdir()
        _write_files(cwd, config_yaml, files)
        full = _gateway_env(tmp, emu, master_key, env)
        last_log = ""
        for _attempt in range(3):  # a free port can be taken between probe and bind: retry
            chosen = port or free_port()
            if port is None and "PORT" not in (env or {}):
                full["PORT"] = str(chosen)
            else:
                chosen = int(full.get("PORT", chosen)) if port is None else port
            proc = Proc("gomodel", [str(binary), *(args or [])], full, cwd, tmp / f"gomodel-{chosen}.log")
            gw = Gateway(proc=proc, port=chosen, cwd=cwd, master_key=master_key, emulator=emu)
            if self._wait_healthy(gw):
                self.started.append(gw)
                return gw
            last_log = proc.log_tail(120)
            proc.stop()
            if "in use" not in last_log.lower() or port is not None:
                break
        pytest.fail(f"gomodel did not become healthy; log:\n{last_log}", pytrace=False)
        raise AssertionError("unreachable")

    @staticmethod
    def _wait_healthy(gw: Gateway) -> bool:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if not gw.proc.alive():
                return False
            try:
                if _http_get(f"{gw.url}/health", timeout=1.0)[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def run_expecting_failure(self, env: dict[str, str | None] | None = None, *,
                              config_yaml: str | None = None, files: dict[str, str] | None = None,
                              args: list[str] | None = None, emulator: Emulator | None | bool = True,
                              timeout: float = 20.0) -> tuple[int, str]:
        """Runs gomodel expecting it to exit on its own (bad config). Returns (exit code, output)."""
        emu = self._emulator if emulator is True else (emulator or None)
        binary = _find_binary("GOMODEL_BIN", "gomodel")
        tmp = self._tmp.mktemp("gateway-fail")
        cwd = tmp / "cwd"
        cwd.mkdir()
        _write_files(cwd, config_yaml, files)
        full = _gateway_env(tmp, emu, MASTER_KEY, env)
        full.setdefault("PORT", str(free_port()))
        proc = Proc("gomodel (expected to fail)", [str(binary), *(args or [])], full, cwd, tmp / "gomodel.log")
        try:
            rc = proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            healthy = False
            try:
                healthy = _http_get(f"http://127.0.0.1:{full['PORT']}/health")[0] == 200
            except OSError:
                pass
            tail = proc.log_tail()
            proc.stop()
            pytest.fail(f"gomodel kept running (healthy={healthy}) but should have refused to start; log:\n{tail}")
        out = proc.log_text()
        proc.stop()
        return rc, out

    def stop_all(self) -> None:
        for gw in self.started:
            gw.stop()
        self.started.clear()


@pytest.fixture
def start_gateway(tmp_path_factory: pytest.TempPathFactory, emulator: Emulator) -> Iterator[GatewayLauncher]:
    launcher = GatewayLauncher(tmp_path_factory, emulator)
    yield launcher
    launcher.stop_all()


@pytest.fixture(scope="module")
def module_gateways(tmp_path_factory: pytest.TempPathFactory, emulator: Emulator) -> Iterator[GatewayLauncher]:
    """A launcher whose gateways live for the whole module (for per-module configurations)."""
    launcher = GatewayLauncher(tmp_path_factory, emulator)
    yield launcher
    launcher.stop_all()


@pytest.fixture(scope="module")
def gateway(module_gateways: GatewayLauncher) -> Gateway:
    """The common configuration: master key set, default (fallback) models mode, one emulator."""
    return module_gateways.start()


@pytest.fixture
def client(gateway: Gateway):
    c = gateway.openai()
    yield c
    c.close()


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The session emulator with its request log cleared for this test."""
    emulator.clear()
    return emulator


# ---------------------------------------------------------------------------------------------------
# hooks: schema violations fail the test; failing tests show the process logs
# ---------------------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    RECORDER.reset()
    try:
        result = yield
    except BaseException as err:
        found = RECORDER.take_violations()
        if found and isinstance(err, Exception):
            err.add_note("schema violations in gateway responses:\n  - " + "\n  - ".join(found))
        raise
    found = RECORDER.take_violations()
    if found:
        raise AssertionError(
            "the gateway sent responses that violate spec/openai-openapi.json:\n  - " + "\n  - ".join(found)
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed and call.when in ("setup", "call"):
        for proc in list(_LIVE):
            report.sections.append((f"{proc.name} log ({proc.log_path})", proc.log_tail(150)))
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for proc in list(_LIVE):
        proc.stop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    for env_var, name in (("GOMODEL_BIN", "gomodel"), ("EMULATOR_BIN", "gomodel-bedrock-emulator")):
        path = os.environ.get(env_var) or next(
            (str(REPO / "target" / p / name) for p in ("release", "debug") if (REPO / "target" / p / name).is_file()),
            "(not found)",
        )
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(Path(path).stat().st_mtime)) if Path(path).is_file() else "-"
        lines.append(f"{name}: {path} (built {when})")
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The checkers' own unit tests first: if they fail, nothing else can be trusted.
    first = ("test_openapi_schema", "test_validating")
    items.sort(key=lambda it: 0 if it.module is not None and it.module.__name__ in first else 1)

