"""Configuration: models modes, suffixed providers, config.yaml with ${VAR} expansion, .env, and
startup failures that name the key or variable at fault."""

from __future__ import annotations

import openai
import pytest

from harness import HAIKU, MASTER_KEY, NOVA_LITE, PROFILE_ONLY_US, SONNET, converse_requests, user


def model_ids(gw, key: str | None = None) -> list[str]:
    r = gw.http.get("/v1/models", headers=gw.auth(key) if (key or gw.master_key) else {})
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["data"]]


def ask(gw, model: str, text: str = "hi", key: str | None = None) -> str:
    c = gw.openai(api_key=key)
    try:
        return c.chat.completions.create(model=model, messages=user(text)).choices[0].message.content
    finally:
        c.close()


# --- CONFIGURED_PROVIDER_MODELS_MODE -----------------------------------------------------------


def test_allowlist_exposes_exactly_the_configured_models(start_gateway, start_emulator):
    emu = start_emulator()
    gw = start_gateway.start(
        emulator=emu, env={"CONFIGURED_PROVIDER_MODELS_MODE": "allowlist", "BEDROCK_MODELS": f"{SONNET}, {NOVA_LITE}"}
    )
    assert sorted(model_ids(gw)) == sorted([SONNET, NOVA_LITE])
    assert ask(gw, NOVA_LITE, "allowed") == "You said: allowed"
    with pytest.raises(openai.NotFoundError) as info:
        ask(gw, HAIKU, "refused")
    assert info.value.body["code"] == "model_not_found"
    # allowlist skips the upstream listing entirely
    ops = {r.get("operation") for r in emu.requests()}
    assert "ListFoundationModels" not in ops and "ListInferenceProfiles" not in ops, ops
    assert not converse_requests(emu, HAIKU)


def test_allowlist_mode_is_case_insensitive(start_gateway):
    gw = start_gateway.start(env={"CONFIGURED_PROVIDER_MODELS_MODE": "AllowList", "BEDROCK_MODELS": SONNET})
    assert model_ids(gw) == [SONNET]


def test_fallback_with_failing_listing_exposes_configured_models(start_gateway, start_emulator):
    emu = start_emulator({"EMULATOR_LIST_FAILS": "1"})
    gw = start_gateway.start(emulator=emu, env={"BEDROCK_MODELS": f"{HAIKU},{PROFILE_ONLY_US}"})
    assert sorted(model_ids(gw)) == sorted([HAIKU, PROFILE_ONLY_US])
    assert ask(gw, HAIKU, "fallback works") == "You said: fallback works"
    ops = [r.get("operation") for r in emu.requests()]
    assert "ListFoundationModels" in ops, "fallback mode must try the upstream listing first"


def test_fallback_with_empty_catalog_exposes_configured_models(start_gateway, start_emulator):
    emu = start_emulator({"EMULATOR_EMPTY_CATALOG": "1"})
    gw = start_gateway.start(emulator=emu, env={"BEDROCK_MODELS": NOVA_LITE})
    assert model_ids(gw) == [NOVA_LITE]


def test_fallback_with_working_listing_ignores_configured_list(start_gateway):
    gw = start_gateway.start(env={"BEDROCK_MODELS": NOVA_LITE})
    ids = model_ids(gw)
    assert NOVA_LITE in ids and SONNET in ids and len(ids) > 2


def test_fallback_listing_failure_without_models_still_starts_and_diagnoses(start_gateway, start_emulator):
    emu = start_emulator({"EMULATOR_LIST_FAILS": "1"})
    gw = start_gateway.start(emulator=emu, env={"BEDROCK_MODELS": None})
    assert model_ids(gw) == []
    log = gw.log_text()
    assert "model registry has no models" in log, log[-2000:]
    assert "BEDROCK_MODELS" in log


# --- suffixed providers ----------------------------------------------------------------------------


@pytest.fixture
def us_eu(start_gateway, start_emulator):
    us, eu = start_emulator(), start_emulator()
    gw = start_gateway.start(
        emulator=False,
        env={
            "BEDROCK_US_BASE_URL": us.url,
            "BEDROCK_US_MODELS": SONNET,
            "BEDROCK_EU_BASE_URL": eu.url,
            "BEDROCK_EU_MODELS": NOVA_LITE,
            "CONFIGURED_PROVIDER_MODELS_MODE": "allowlist",
        },
    )
    return gw, us, eu


def test_suffixed_providers_route_to_their_own_endpoint(us_eu):
    gw, us, eu = us_eu
    assert sorted(model_ids(gw)) == sorted([SONNET, NOVA_LITE])
    assert ask(gw, SONNET, "to us") == "You said: to us"
    assert ask(gw, NOVA_LITE, "to eu") == "You said: to eu"
    assert [r["operation"] for r in converse_requests(us)] == ["Converse"]
    assert [r["operation"] for r in converse_requests(eu)] == ["Converse"]
    assert converse_requests(us, SONNET) and converse_requests(eu, NOVA_LITE)
    assert not converse_requests(eu, SONNET)


def test_provider_prefixed_model_form(us_eu):
    gw, us, eu = us_eu
    assert ask(gw, f"bedrock-eu/{NOVA_LITE}", "prefixed eu") == "You said: prefixed eu"
    assert ask(gw, f"bedrock-us/{SONNET}", "prefixed us") == "You said: prefixed us"
    assert len(converse_requests(eu)) == 1 and len(converse_requests(us)) == 1
    # The prefix is not sent upstream.
    assert "bedrock-eu" not in converse_requests(eu)[0]["path"]
    # A model the named provider does not serve is not silently sent elsewhere.
    with pytest.raises(openai.NotFoundError):
        ask(gw, f"bedrock-eu/{SONNET}")


def test_same_model_on_two_providers_routes_by_prefix(start_gateway, start_emulator):
    us, eu = start_emulator(), start_emulator()
    gw = start_gateway.start(emulator=False, env={"BEDROCK_US_BASE_URL": us.url, "BEDROCK_EU_BASE_URL": eu.url})
    us.clear()
    eu.clear()
    assert ask(gw, f"bedrock-eu/{HAIKU}", "eu haiku") == "You said: eu haiku"
    assert len(converse_requests(eu)) == 1 and not converse_requests(us)
    assert ask(gw, f"bedrock-us/{HAIKU}", "us haiku") == "You said: us haiku"
    assert len(converse_requests(us)) == 1 and len(converse_requests(eu)) == 1


# --- signing region for a custom endpoint URL ---------------------------------------------------


def signing_region(emu) -> str:
    [rec] = converse_requests(emu)
    auth = rec["headers"]["authorization"]
    return auth.split("Credential=")[1].split("/")[2]


@pytest.mark.parametrize(
    "env,region",
    [
        ({"AWS_REGION": "eu-west-1"}, "eu-west-1"),
        ({"AWS_REGION": None, "AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2"),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"}, "eu-west-1"),
    ],
    ids=["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_REGION-wins"],
)
def test_custom_endpoint_signs_for_the_region_from_the_environment(start_gateway, start_emulator, env, region):
    emu = start_emulator()
    gw = start_gateway.start(emulator=emu, env=env)
    emu.clear()
    assert ask(gw, SONNET, "region check") == "You said: region check"
    assert signing_region(emu) == region


# --- config.yaml ----------------------------------------------------------------------------------

YAML = """
server:
  port: ${TEST_PORT}
  master_key: ${TEST_KEY:-yaml-default-key}
models:
  configured_provider_models_mode: ${TEST_MODE:-allowlist}
providers:
  primary:
    type: bedrock
    base_url: ${TEST_EMU_URL}
    models:
      - anthropic.claude-3-5-sonnet-20240620-v1:0
      - ${TEST_EXTRA_MODEL:-amazon.nova-lite-v1:0}
"""


def yaml_env(emu, port: int, **extra):
    env = {
        "PORT": None,
        "GOMODEL_MASTER_KEY": None,
        "BEDROCK_BASE_URL": None,
        "TEST_PORT": str(port),
        "TEST_EMU_URL": emu.url,
    }
    env.update(extra)
    return env


def test_config_yaml_with_expansion_and_defaults(start_gateway, emulator):
    from conftest import free_port

    port = free_port()
    gw = start_gateway.start(
        emulator=False, master_key="yaml-default-key", port=port, config_yaml=YAML, env=yaml_env(emulator, port)
    )
    assert gw.port == port
    assert sorted(model_ids(gw)) == sorted([SONNET, NOVA_LITE])
    assert ask(gw, f"primary/{SONNET}", "from yaml") == "You said: from yaml"
    assert ask(gw, NOVA_LITE, "bare id") == "You said: bare id"
    r = gw.http.get("/v1/models", headers={"Authorization": f"Bearer {MASTER_KEY}"})
    assert r.status_code == 401


def test_env_overrides_yaml(start_gateway, emulator):
    from conftest import free_port

    yaml_port, env_port = free_port(), free_port()
    gw = start_gateway.start(
        emulator=False,
        master_key="env-key",
        port=env_port,
        config_yaml=YAML,
        env={
            **yaml_env(emulator, yaml_port, TEST_EXTRA_MODEL=HAIKU, TEST_KEY="yaml-key"),
            "PORT": str(env_port),
            "GOMODEL_MASTER_KEY": "env-key",
            "CONFIGURED_PROVIDER_MODELS_MODE": "allowlist",
        },
    )
    assert gw.port == env_port
    assert sorted(model_ids(gw)) == sorted([SONNET, HAIKU])  # ${TEST_EXTRA_MODEL} was set
    assert gw.http.get("/v1/models", headers={"Authorization": "Bearer yaml-key"}).status_code == 401


def test_env_mode_overrides_yaml_mode(start_gateway, emulator):
    from conftest import free_port

    port = free_port()
    gw = start_gateway.start(
        emulator=False,
        master_key="yaml-default-key",
        port=port,
        config_yaml=YAML,
        env={**yaml_env(emulator, port), "CONFIGURED_PROVIDER_MODELS_MODE": "fallback"},
    )
    ids = model_ids(gw)
    assert len(ids) > 2 and HAIKU in ids  # fallback with a working listing: the upstream catalog


def test_env_base_url_overrides_yaml_provider_of_the_same_name(start_gateway, start_emulator, emulator):
    other = start_emulator()
    gw = start_gateway.start(
        emulator=False,
        config_yaml=f"""
providers:
  bedrock:
    type: bedrock
    base_url: {emulator.url}
    models: [{SONNET}]
""",
        env={"BEDROCK_BASE_URL": other.url, "CONFIGURED_PROVIDER_MODELS_MODE": "allowlist"},
    )
    other.clear()
    assert ask(gw, SONNET, "which one") == "You said: which one"
    assert len(converse_requests(other)) == 1


@pytest.mark.parametrize("how", ["flag", "flag-equals", "env", "config-dir"])
def test_config_file_locations(start_gateway, emulator, how):
    text = f"""
providers:
  located:
    type: bedrock
    base_url: {emulator.url}
    models: [{HAIKU}]
models:
  configured_provider_models_mode: allowlist
"""
    files, args, env = {}, [], {"BEDROCK_BASE_URL": None}
    if how == "flag":
        files["conf/custom.yaml"] = text
        args = ["--config", "conf/custom.yaml"]
    elif how == "flag-equals":
        files["conf/custom.yaml"] = text
        args = ["--config=conf/custom.yaml"]
    elif how == "env":
        files["elsewhere/gm.yaml"] = text
        env["GOMODEL_CONFIG"] = "elsewhere/gm.yaml"
    else:
        files["config/config.yaml"] = text
    gw = start_gateway.start(emulator=False, files=files, args=args, env=env)
    assert model_ids(gw) == [HAIKU]
    assert ask(gw, f"located/{HAIKU}", "located") == "You said: located"


def test_dotenv_is_loaded_and_real_env_wins(start_gateway, emulator):
    dotenv = (
        f"GOMODEL_MASTER_KEY=dotenv-key\n"
        f"BEDROCK_MODELS={SONNET}\n"
        f"CONFIGURED_PROVIDER_MODELS_MODE=allowlist\n"
        f"BEDROCK_BASE_URL=http://127.0.0.1:1\n"
    )
    gw = start_gateway.start(master_key="dotenv-key", env={"GOMODEL_MASTER_KEY": None}, files={".env": dotenv})
    assert model_ids(gw) == [SONNET]  # from .env
    assert ask(gw, SONNET, "dotenv") == "You said: dotenv"  # BEDROCK_BASE_URL from the real env won
    assert gw.http.get("/v1/models", headers={"Authorization": f"Bearer {MASTER_KEY}"}).status_code == 401


def test_port_from_yaml(start_gateway, emulator):
    from conftest import free_port

    port = free_port()
    gw = start_gateway.start(port=port, env={"PORT": None}, config_yaml=f"server:\n  port: {port}\n")
    assert gw.http.get("/health").status_code == 200


# --- startup failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env,config_yaml,needles",
    [
        ({"CONFIGURED_PROVIDER_MODELS_MODE": "sometimes"}, None, ["CONFIGURED_PROVIDER_MODELS_MODE", "sometimes", "allowlist"]),
        ({"BEDROCK_BASE_URL": "ftp://bedrock.example"}, None, ["BEDROCK_BASE_URL", "ftp://bedrock.example"]),
        ({"BEDROCK_BASE_URL": "not a region"}, None, ["BEDROCK_BASE_URL", "us-east-1"]),
        ({"BEDROCK_EU_BASE_URL": "eu west 1"}, None, ["BEDROCK_EU_BASE_URL"]),
        ({"PORT": "eighty"}, None, ["PORT", "eighty"]),
        ({}, "server:\n  port: [unclosed\n", ["config.yaml:2", "invalid YAML"]),
        ({}, "providers:\n  bedrock:\n    type: bedrock\n   base_url: oops\n", ["config.yaml"]),
        ({}, "models:\n  configured_provider_models_mode: maybe\n", ["configured_provider_models_mode", "maybe"]),
        ({}, "providers:\n  x:\n    type: openai\n", ["providers.x.type", "openai", "bedrock"]),
        ({}, "providers:\n  x:\n    base_url: us-east-1\n", ["providers.x.type"]),
        ({}, "providers:\n  x:\n    type: bedrock\n    base_url: nowhere\n", ["providers.x.base_url", "nowhere"]),
        ({}, "servre:\n  port: 1\n", ["servre"]),
        ({}, "server:\n  port: ${UNSET_VAR_FOR_TEST}\n  master_key: ${BAD\n", ["config.yaml"]),
        ({"GOMODEL_CONFIG": "missing.yaml"}, None, ["GOMODEL_CONFIG", "missing.yaml"]),
        ({"AWS_REGION": None, "AWS_DEFAULT_REGION": None}, None, ["BEDROCK_BASE_URL", "AWS_REGION"]),
        ({"AWS_REGION": "mars-1"}, None, ["AWS_REGION", "mars-1"]),
        ({"IMAGE_FETCH_ALLOW_PRIVATE": "perhaps"}, None, ["IMAGE_FETCH_ALLOW_PRIVATE", "perhaps", "true or false"]),
        ({}, "image_fetch:\n  allow_private: maybe\n", ["image_fetch.allow_private", "maybe", "true or false"]),
    ],
    ids=[
        "env-mode", "env-url-scheme", "env-url-garbage", "suffixed-url", "env-port",
        "yaml-syntax", "yaml-indent", "yaml-mode", "yaml-type", "yaml-no-type", "yaml-url", "yaml-unknown-key",
        "yaml-bad-expansion", "missing-config-file", "custom-url-without-region", "bad-aws-region",
        "env-image-fetch-switch", "yaml-image-fetch-switch",
    ],
)
def test_bad_configuration_fails_startup_naming_the_culprit(start_gateway, env, config_yaml, needles):
    rc, out = start_gateway.run_expecting_failure(env=env, config_yaml=config_yaml)
    assert rc != 0, out
    for needle in needles:
        assert needle in out, f"{needle!r} not in startup output:\n{out}"


def test_bad_config_flag_path_fails(start_gateway):
    rc, out = start_gateway.run_expecting_failure(args=["--config", "nope/none.yaml"])
    assert rc != 0
    assert "nope/none.yaml" in out and "--config" in out, out
