"""GET /v1/models from ListFoundationModels + ListInferenceProfiles; GET /health."""

from __future__ import annotations

import pytest

from harness import HAIKU, NOVA_LITE, PROFILE_ONLY_US, SONNET

VENDORS = {"anthropic", "amazon", "meta", "mistral", "cohere", "ai21", "deepseek"}
GEO = {"us", "eu", "apac", "global", "us-gov", "ca", "jp", "au"}


def vendor_of(model_id: str) -> str:
    parts = model_id.split(".")
    return parts[1] if parts[0] in GEO else parts[0]


@pytest.fixture(scope="module")
def listing(gateway):
    c = gateway.openai()
    models = list(c.models.list())
    c.close()
    return models


def test_listing_shape(gateway):
    r = gateway.http.get("/v1/models", headers=gateway.auth())
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    assert body["data"], "no models listed"
    for m in body["data"]:
        assert m["object"] == "model"
        assert isinstance(m["created"], int) and m["created"] > 0
        assert isinstance(m["owned_by"], str) and m["owned_by"]


def test_lists_foundation_models_of_every_vendor(listing):
    ids = {m.id for m in listing}
    for model in (SONNET, HAIKU, NOVA_LITE):
        assert model in ids, f"{model} missing from {sorted(ids)}"
    assert VENDORS <= {m.owned_by for m in listing}, {m.owned_by for m in listing}


def test_owned_by_is_the_vendor_from_the_id(listing):
    wrong = {m.id: m.owned_by for m in listing if m.owned_by != vendor_of(m.id)}
    assert not wrong, wrong
    assert {m.owned_by for m in listing} <= VENDORS | {"bedrock"}


def test_includes_inference_profiles(listing):
    ids = {m.id for m in listing}
    assert PROFILE_ONLY_US in ids
    profile = next(m for m in listing if m.id == PROFILE_ONLY_US)
    assert profile.owned_by == "anthropic"


def test_excludes_models_that_are_neither_text_nor_embedding(listing):
    ids = {m.id for m in listing}
    for m in ids:
        assert "image-generator" not in m and not m.startswith("stability."), m
        assert "canvas" not in m and "reel" not in m, m


def test_ids_are_unique(listing):
    ids = [m.id for m in listing]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_listed_text_model_routes(gateway, listing, emu):
    """A model the gateway lists must be callable (spot-check one per vendor)."""
    c = gateway.openai()
    seen = set()
    for m in listing:
        if m.owned_by in seen or "embed" in m.id:
            continue
        seen.add(m.owned_by)
        resp = c.chat.completions.create(model=m.id, messages=[{"role": "user", "content": "ping"}])
        assert resp.choices[0].message.content == "You said: ping", m.id
    c.close()


def test_health_is_200_without_auth(gateway):
    r = gateway.http.get("/health")
    assert r.status_code == 200


def test_models_listing_hits_the_control_plane_at_startup(start_gateway, start_emulator):
    emu = start_emulator()
    gw = start_gateway.start(emulator=emu)
    ops = {r.get("operation") for r in emu.requests()}
    assert "ListFoundationModels" in ops and "ListInferenceProfiles" in ops, ops
    r = gw.http.get("/v1/models", headers=gw.auth())
    assert SONNET in {m["id"] for m in r.json()["data"]}


def emulator_catalog(emu):
    """The emulator's own listings for us-east-1, read with boto3 (the ground truth)."""
    import boto3
    from botocore.config import Config

    from harness import ACCESS_KEY, REGION, SECRET_KEY

    bedrock = boto3.client(
        "bedrock",
        region_name=REGION,
        endpoint_url=emu.url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}),
    )
    models = bedrock.list_foundation_models()["modelSummaries"]
    profiles = bedrock.list_inference_profiles(typeEquals="SYSTEM_DEFINED", maxResults=1000)[
        "inferenceProfileSummaries"
    ]
    return models, profiles


def test_listing_is_exactly_the_usable_text_and_embedding_models(listing, emulator):
    models, profiles = emulator_catalog(emulator)
    by_id = {m["modelId"]: m for m in models}

    def usable(m):
        return bool({"TEXT", "EMBEDDING"} & set(m["outputModalities"]))

    expected = {m["modelId"] for m in models if usable(m) and "ON_DEMAND" in m["inferenceTypesSupported"]}
    routed = set()
    for p in profiles:
        base = p["models"][0]["modelArn"].rsplit("/", 1)[1]
        if p.get("status", "ACTIVE") == "ACTIVE" and (base not in by_id or usable(by_id[base])):
            expected.add(p["inferenceProfileId"])
            # Automatic inference-profile routing: a profile-only base id with a profile of the
            # region's geography (us-east-1 → `us.` or `global.`) is listed too.
            if p["inferenceProfileId"].split(".", 1)[0] in ("us", "global"):
                routed.add(base)
    expected |= routed
    got = {m.id for m in listing}
    assert got == expected, f"missing {sorted(expected - got)}, unexpected {sorted(got - expected)}"
    # The catalog does contain what must be left out, so the exclusions above are real.
    image_only = [m["modelId"] for m in models if not usable(m)]
    profile_only = [m["modelId"] for m in models if "ON_DEMAND" not in m["inferenceTypesSupported"]]
    assert image_only and not set(image_only) & got
    assert profile_only and set(profile_only) & got == set(profile_only) & routed
