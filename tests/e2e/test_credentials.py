"""AWS credentials and regions in their real forms, end to end.

Each source of the AWS default chain produces its own keys (stand-ins for STS, the ECS container
endpoint and IMDS run on 127.0.0.1 and the SDK's own endpoint variables point at them); the
emulator knows only those keys, so a successful chat proves the gateway signed Bedrock requests
with the credentials that source produced. Also: Bedrock API keys (Bearer) and the region from
the AWS profile.
"""

from __future__ import annotations

import hashlib
import json
import stat
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs

import pytest

from harness import SONNET, converse_requests, header, user

AKID, SECRET, TOKEN = "AKIDSOURCE", "source-secret", "source-session-token"
CREDS = {"AccessKeyId": AKID, "SecretAccessKey": SECRET, "Token": TOKEN}

# Every variable through which the chain could find other credentials: cleared per test.
NO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
}


def expiration() -> str:
    return (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


class StandIn:
    """A tiny HTTP server on 127.0.0.1: `route(method, path, headers, body)` → (status, body) or
    (status, body, extra response headers)."""

    def __init__(self, route: Callable[[str, str, dict[str, str], bytes], tuple]) -> None:
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.seen.append((self.command, self.path, headers, body))
                status, text, *extra = route(self.command, self.path, headers, body)
                data = text.encode()
                self.send_response(status)
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = _answer

            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in():
    started: list[StandIn] = []

    def start(route) -> StandIn:
        s = StandIn(route)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


def sts_route(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    """STS: AssumeRoleWithWebIdentity and AssumeRole answer with the source's credentials."""
    action = parse_qs(body.decode()).get("Action", [""])[0]
    if action not in ("AssumeRoleWithWebIdentity", "AssumeRole"):
        return 400, f"<ErrorResponse><Error><Code>InvalidAction</Code><Message>{action}</Message></Error></ErrorResponse>"
    return 200, f"""<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <{action}Result>
    <Credentials>
      <AccessKeyId>{AKID}</AccessKeyId>
      <SecretAccessKey>{SECRET}</SecretAccessKey>
      <SessionToken>{TOKEN}</SessionToken>
      <Expiration>{expiration()}</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/gomodel/session</Arn>
      <AssumedRoleId>AROAEXAMPLE:session</AssumedRoleId>
    </AssumedRoleUser>
  </{action}Result>
  <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>
</{action}Response>"""


def container_route(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    if headers.get("authorization") != "container-auth-token":
        return 401, "{}"
    return 200, json.dumps({**CREDS, "Expiration": expiration(), "RoleArn": "arn:aws:iam::123456789012:role/x"})


def imds_route(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple:
    if method == "PUT" and path == "/latest/api/token":
        return 200, "imds-session-token", {"x-aws-ec2-metadata-token-ttl-seconds": "21600"}
    if headers.get("x-aws-ec2-metadata-token") != "imds-session-token":
        return 401, ""
    if path == "/latest/meta-data/iam/security-credentials/":
        return 200, "gomodel-role"
    if path == "/latest/meta-data/iam/security-credentials/gomodel-role":
        return 200, json.dumps(
            {"Code": "Success", "Type": "AWS-HMAC", "LastUpdated": expiration(), **CREDS, "Expiration": expiration()}
        )
    return 404, ""


def sso_route(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    """IAM Identity Center portal: GetRoleCredentials for the cached access token."""
    if headers.get("x-amz-sso_bearer_token") != "sso-access-token" or not path.startswith("/federation/credentials"):
        return 401, json.dumps({"message": "Session token not found or invalid"})
    expires_ms = int((datetime.now(timezone.utc) + timedelta(hours=1)).timestamp() * 1000)
    return 200, json.dumps(
        {"roleCredentials": {"accessKeyId": AKID, "secretAccessKey": SECRET, "sessionToken": TOKEN, "expiration": expires_ms}}
    )


def write(path: Path, text: str, executable: bool = False) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def signing_key_of(recorded) -> str | None:
    auth = header(recorded, "authorization") or ""
    if "Credential=" not in auth:
        return auth or None
    return auth.split("Credential=", 1)[1].split("/", 1)[0]


def chat_through(start_gateway, emu, env: dict[str, str | None]):
    """A chat through a gateway started with `env`; returns the recorded Converse call."""
    gw = start_gateway.start(emulator=emu, env={**NO_CREDENTIALS, **env})
    c = gw.openai()
    resp = c.chat.completions.create(model=SONNET, messages=user("who am I"))
    c.close()
    assert resp.choices[0].message.content == "You said: who am I"
    [rec] = converse_requests(emu)
    return rec, gw


def source_env(kind: str, tmp: Path, stand_in) -> dict[str, str | None]:
    """The environment (and files / stand-ins) that make `kind` the credential source."""
    if kind == "env-keys-with-session-token":
        return {"AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN}
    if kind == "shared-credentials-profile":
        creds = write(tmp / "credentials", f"[dev]\naws_access_key_id = {AKID}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n")
        return {"AWS_PROFILE": "dev", "AWS_SHARED_CREDENTIALS_FILE": creds}
    if kind == "credential-process":
        script = write(
            tmp / "creds.sh",
            "#!/bin/sh\n" + "echo '" + json.dumps({"Version": 1, **{k if k != "Token" else "SessionToken": v for k, v in CREDS.items()}, "Expiration": expiration()}) + "'\n",
            executable=True,
        )
        config = write(tmp / "config", f"[profile proc]\ncredential_process = {script}\n")
        return {"AWS_PROFILE": "proc", "AWS_CONFIG_FILE": config}
    if kind == "web-identity":
        sts = stand_in(sts_route)
        token_file = write(tmp / "web-identity-token", "eyJhbGciOiJub25lIn0.e30.")
        return {
            "AWS_WEB_IDENTITY_TOKEN_FILE": token_file,
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/gomodel",
            "AWS_ROLE_SESSION_NAME": "gomodel-e2e",
            "AWS_ENDPOINT_URL_STS": sts.url,
        }
    if kind == "assume-role-source-profile":
        sts = stand_in(sts_route)
        creds = write(tmp / "credentials", "[base]\naws_access_key_id = AKIDEMULATOR\naws_secret_access_key = emulator-secret\n")
        config = write(
            tmp / "config",
            "[profile assumer]\nrole_arn = arn:aws:iam::123456789012:role/gomodel\nsource_profile = base\n",
        )
        return {
            "AWS_PROFILE": "assumer",
            "AWS_CONFIG_FILE": config,
            "AWS_SHARED_CREDENTIALS_FILE": creds,
            "AWS_ENDPOINT_URL_STS": sts.url,
        }
    if kind == "sso-cached-token":
        sso = stand_in(sso_route)
        start_url = "https://gomodel-e2e.awsapps.com/start"
        home = tmp / "home"
        cache_key = hashlib.sha1(start_url.encode()).hexdigest()
        write(
            home / ".aws" / "sso" / "cache" / f"{cache_key}.json",
            json.dumps({"startUrl": start_url, "region": "us-east-1", "accessToken": "sso-access-token", "expiresAt": expiration()}),
        )
        config = write(
            tmp / "config",
            f"[profile sso]\nsso_start_url = {start_url}\nsso_region = us-east-1\n"
            "sso_account_id = 123456789012\nsso_role_name = GomodelRole\n",
        )
        return {"AWS_PROFILE": "sso", "AWS_CONFIG_FILE": config, "HOME": str(home), "AWS_ENDPOINT_URL_SSO": sso.url}
    if kind == "ecs-container":
        ecs = stand_in(container_route)
        return {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{ecs.url}/v2/credentials/abc",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-auth-token",
        }
    if kind == "imds-v2":
        imds = stand_in(imds_route)
        return {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}
    raise AssertionError(kind)


SOURCES = [
    "env-keys-with-session-token",
    "shared-credentials-profile",
    "credential-process",
    "web-identity",
    "assume-role-source-profile",
    "sso-cached-token",
    "ecs-container",
    "imds-v2",
]


@pytest.mark.parametrize("kind", SOURCES)
def test_each_credential_source_signs_bedrock_requests(start_gateway, start_emulator, stand_in, tmp_path, kind):
    # The emulator knows the source's temporary keys (and the base keys an assumed role starts from).
    emu = start_emulator({"EMULATOR_CREDENTIALS": f"{AKID}:{SECRET}:{TOKEN},AKIDEMULATOR:emulator-secret"})
    rec, gw = chat_through(start_gateway, emu, source_env(kind, tmp_path, stand_in))
    assert signing_key_of(rec) == AKID, rec
    assert header(rec, "x-amz-security-token") == TOKEN
    assert SECRET not in gw.log_text() and TOKEN not in gw.log_text()


def test_env_keys_without_session_token(start_gateway, start_emulator):
    emu = start_emulator({"EMULATOR_CREDENTIALS": "AKIDLONGTERM:long-term-secret"})
    rec, _ = chat_through(
        start_gateway, emu, {"AWS_ACCESS_KEY_ID": "AKIDLONGTERM", "AWS_SECRET_ACCESS_KEY": "long-term-secret"}
    )
    assert signing_key_of(rec) == "AKIDLONGTERM"
    assert header(rec, "x-amz-security-token") is None


@pytest.mark.parametrize("how", ["env", "yaml"])
def test_bedrock_api_key_is_sent_as_bearer(start_gateway, start_emulator, how):
    emu = start_emulator({"EMULATOR_API_KEYS": "bedrock-api-key-e2e"})
    if how == "env":
        gw = start_gateway.start(emulator=emu, env={**NO_CREDENTIALS, "AWS_BEARER_TOKEN_BEDROCK": "bedrock-api-key-e2e"})
    else:
        yaml = "providers:\n  bedrock:\n    type: bedrock\n    base_url: ${BEDROCK_BASE_URL}\n    api_key: bedrock-api-key-e2e\n"
        gw = start_gateway.start(emulator=emu, env=NO_CREDENTIALS, config_yaml=yaml)
    c = gw.openai()
    assert SONNET in {m.id for m in c.models.list()}
    assert c.chat.completions.create(model=SONNET, messages=user("bearer")).choices[0].message.content == "You said: bearer"
    c.close()
    [rec] = converse_requests(emu)
    assert header(rec, "authorization") == "Bearer bedrock-api-key-e2e"
    assert header(rec, "x-amz-date") is None
    assert "bedrock-api-key-e2e" not in gw.log_text()


def test_region_from_the_aws_profile(start_gateway, start_emulator, tmp_path):
    emu = start_emulator({"EMULATOR_REGIONS": "eu-west-1"})
    config = write(tmp_path / "config", "[profile eu]\nregion = eu-west-1\n")
    rec, _ = chat_through(
        start_gateway,
        emu,
        {
            "AWS_ACCESS_KEY_ID": "AKIDEMULATOR",
            "AWS_SECRET_ACCESS_KEY": "emulator-secret",
            "AWS_REGION": None,
            "AWS_PROFILE": "eu",
            "AWS_CONFIG_FILE": config,
        },
    )
    assert "/eu-west-1/bedrock/" in (header(rec, "authorization") or "")


def test_no_credentials_starts_and_explains_on_first_request(start_gateway, emu):
    gw = start_gateway.start(env={**NO_CREDENTIALS, "CONFIGURED_PROVIDER_MODELS_MODE": "allowlist", "BEDROCK_MODELS": SONNET})
    assert gw.http.get("/health").status_code == 200
    r = gw.http.post("/v1/chat/completions", headers=gw.auth(), json={"model": SONNET, "messages": user("x")})
    assert r.status_code in (500, 503), r.text
    msg = r.json()["error"]["message"]
    for hint in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "IMDS"):
        assert hint in msg, msg
    assert "no usable AWS credentials" in gw.log_text()
    assert not converse_requests(emu)


def test_missing_region_fails_startup_naming_the_three_ways(start_gateway):
    code, output = start_gateway.run_expecting_failure(
        env={"AWS_REGION": None, "BEDROCK_MODELS": SONNET}, emulator=False
    )
    assert code != 0
    for way in ("BEDROCK_BASE_URL", "AWS_REGION", "region"):
        assert way in output, output
