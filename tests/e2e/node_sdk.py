"""The official `openai` npm package under Node.js, as a second real client next to the Python SDK.

`tests/node/` pins the package (`package.json` + `package-lock.json`); `find_node` installs it with
`npm ci` the first time. Each script prints the SDK's result (or its error) as one JSON object.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def find_node() -> Path:
    """The `node` binary with the npm package installed; skips only when Node.js is absent."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the openai npm package tests need Node.js 20+")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"tests/node needs Node.js 20+, found {version}"
    if not (NODE_DIR / "node_modules" / "openai").is_dir():
        npm = shutil.which("npm")
        assert npm, "node is installed but npm is not: cannot install tests/node (npm ci)"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300)
    return Path(node)


def run_script(node: Path, script: str, gateway, *args: str) -> dict:
    """Runs `tests/node/<script>` against the gateway and returns the JSON it printed."""
    out = subprocess.run(
        [str(node), str(NODE_DIR / script), f"{gateway.url}/v1", gateway.master_key, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "OPENAI_LOG": "warn"},
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
