"""Validate JSON objects against `spec/openai-openapi.json` `#/components/schemas/<Name>`.

The spec declares `openapi: 3.1.0` but still uses the OpenAPI-3.0 keyword `nullable: true` in places.
JSON Schema 2020-12 ignores unknown keywords, so left alone a `nullable` field would reject an explicit
`null`. On load every `nullable: true` is rewritten to its 2020-12 meaning:

* `{"type": "string", "nullable": true}`            -> `{"type": ["string", "null"]}`
  (and `null` is appended to an `enum`, if there is one)
* `{"$ref"|"allOf"|"anyOf"|"oneOf": ..., "nullable": true}` -> `{"anyOf": [<the schema>, {"type": "null"}]}`
* `{"nullable": true}` with no type constraint      -> unchanged (anything goes already)

`#/components/schemas/...` references are resolved through a `referencing` registry in which the whole
(converted) spec is one Draft 2020-12 resource. The spec is loaded once per process.

Usage::

    from openapi_schema import validate, errors
    validate(obj, "CreateChatCompletionResponse")   # raises SchemaViolation listing every error
    errors(obj, "ErrorResponse")                     # -> list[str], empty when valid
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "spec" / "openai-openapi.json"
SPEC_URI = "urn:gomodel-test:openai-openapi"

_COMPOSITE = ("$ref", "allOf", "anyOf", "oneOf")
_ANNOTATIONS = frozenset(
    {"description", "title", "default", "example", "examples", "deprecated", "readOnly", "writeOnly"}
)


class SchemaViolation(AssertionError):
    """An object does not conform to the named OpenAPI schema."""


def convert_nullable(node: Any) -> Any:
    """Returns a copy of `node` with every OpenAPI-3.0 `nullable: true` turned into 2020-12 form."""
    if isinstance(node, list):
        return [convert_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: convert_nullable(v) for k, v in node.items()}
    # `nullable` must be the boolean keyword; a *property* named "nullable" is a dict.
    nullable = out.get("nullable")
    if not isinstance(nullable, bool):
        return out
    del out["nullable"]
    if not nullable:
        return out
    if "type" in out and not any(k in out for k in _COMPOSITE):
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        if "null" not in types:
            types = [*types, "null"]
        out["type"] = types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "const" in out:
            out["anyOf"] = [{"const": out.pop("const")}, {"type": "null"}]
        return out
    if any(k in out for k in (*_COMPOSITE, "type", "enum", "const")):
        # Move every assertion into the first branch; keep annotations (description, ...) outside.
        inner = {k: out.pop(k) for k in list(out) if k not in _ANNOTATIONS}
        out["anyOf"] = [inner, {"type": "null"}]
    return out


@functools.lru_cache(maxsize=1)
def _registry() -> Registry:
    with SPEC_PATH.open(encoding="utf-8") as f:
        spec = json.load(f)
    converted = convert_nullable(spec)
    resource = Resource.from_contents(converted, default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


@functools.lru_cache(maxsize=1)
def _schema_names() -> frozenset[str]:
    contents = _registry().contents(SPEC_URI)
    return frozenset(contents["components"]["schemas"])


@functools.lru_cache(maxsize=None)
def _validator(name: str) -> jsonschema.protocols.Validator:
    if name not in _schema_names():
        raise KeyError(f"no schema #/components/schemas/{name} in {SPEC_PATH}")
    schema = {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def schema(name: str) -> dict:
    """The converted schema `#/components/schemas/<name>` (a deep copy, for inspection)."""
    return copy.deepcopy(_registry().contents(SPEC_URI)["components"]["schemas"][name])


def errors(obj: Any, name: str) -> list[str]:
    """Every violation of `#/components/schemas/<name>` by `obj`, as readable strings."""
    out = []
    for err in sorted(_validator(name).iter_errors(obj), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "<root>"
        out.append(_short(f"{where}: {err.message}") + _best_context(err))
    return out


def _best_context(err: jsonschema.ValidationError) -> str:
    # For anyOf/oneOf failures the top-level message is vague; show the most relevant sub-error.
    if not err.context:
        return ""
    best = jsonschema.exceptions.best_match(err.context)
    where = "/".join(str(p) for p in best.absolute_path) or "<root>"
    return _short(f" (best match: {where}: {best.message})")


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate(obj: Any, name: str) -> None:
    """Raises `SchemaViolation` when `obj` does not conform to `#/components/schemas/<name>`."""
    found = errors(obj, name)
    if found:
        shown = json.dumps(obj, ensure_ascii=False)
        if len(shown) > 2000:
            shown = shown[:2000] + "..."
        raise SchemaViolation(
            f"object does not conform to #/components/schemas/{name}:\n  - "
            + "\n  - ".join(found)
            + f"\nobject: {shown}"
        )
