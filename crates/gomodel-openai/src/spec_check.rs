//! Test support: a small validator for the subset of OpenAPI schema keywords the OpenAI spec
//! uses on response shapes ($ref, allOf/anyOf/oneOf, type, nullable, enum, required, properties,
//! items, additionalProperties: false), so tests check emitted JSON against the real spec.

use serde_json::Value;
use std::sync::OnceLock;

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/openai-openapi.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    })
}

/// Panics with every violation when `value` does not match `components.schemas.<name>`.
pub(crate) fn assert_matches(name: &str, value: &Value) {
    let schema = &spec()["components"]["schemas"][name];
    assert!(!schema.is_null(), "no schema {name}");
    let mut errors = Vec::new();
    validate(schema, value, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{name} violations: {errors:#?}\nvalue: {value}"
    );
}

/// Every violation of `components.schemas.<name>` by `value` (empty when it matches), for tests
/// that check the validator rejects what it should.
pub(crate) fn violations(name: &str, value: &Value) -> Vec<String> {
    let schema = &spec()["components"]["schemas"][name];
    assert!(!schema.is_null(), "no schema {name}");
    let mut errors = Vec::new();
    validate(schema, value, "$", &mut errors);
    errors
}

fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            &spec()["components"]["schemas"][name]
        }
        None => schema,
    }
}

fn validate(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    // `nullable` may sit beside a `$ref` (OpenAPI 3.0 style), so check it before resolving.
    let nullable = |s: &Value| s.get("nullable") == Some(&Value::Bool(true));
    if value.is_null() && (nullable(schema) || nullable(resolve(schema))) {
        return;
    }
    let schema = resolve(schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate(s, value, path, errors);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let ok = alts.iter().any(|s| {
                let mut e = Vec::new();
                validate(s, value, path, &mut e);
                e.is_empty()
            });
            if !ok {
                errors.push(format!("{path}: matches no alternative of {key}"));
            }
        }
    }
    if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        let ok = match ty {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{path}: expected {ty}, got {value}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            errors.push(format!("{path}: {value} not in {allowed:?}"));
        }
    }
    if let Some(obj) = value.as_object() {
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for key in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(key) {
                    errors.push(format!("{path}: missing required key {key}"));
                }
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (key, v) in obj {
            match props.and_then(|p| p.get(key)) {
                Some(s) => validate(s, v, &format!("{path}.{key}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{path}: unexpected key {key}"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            validate(items, v, &format!("{path}[{i}]"), errors);
        }
    }
}

/// The validator must reject what it is meant to catch, or the shape tests prove nothing.
#[test]
fn validator_catches_violations() {
    let good = serde_json::json!({
        "id": "x", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                     "message": {"role": "assistant", "content": null, "refusal": null}}]
    });
    let mut errors = Vec::new();
    validate(
        &spec()["components"]["schemas"]["CreateChatCompletionResponse"],
        &good,
        "$",
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let bad_cases = [
        ("/choices/0/message/refusal", None),
        ("/choices/0/logprobs", None),
        ("/choices/0/finish_reason", Some(serde_json::json!("done"))),
        ("/created", Some(serde_json::json!("1"))),
        ("/object", Some(serde_json::json!("chat.completion.chunk"))),
        ("/choices/0/message/content", Some(serde_json::json!(3))),
    ];
    for (pointer, replacement) in bad_cases {
        let v = crate::test_support::changed(&good, pointer, replacement);
        let mut errors = Vec::new();
        validate(
            &spec()["components"]["schemas"]["CreateChatCompletionResponse"],
            &v,
            "$",
            &mut errors,
        );
        assert!(!errors.is_empty(), "{pointer} not caught");
    }
}
