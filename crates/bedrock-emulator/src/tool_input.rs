//! Synthesises a tool-call `input` from the tool's JSON Schema: every required property gets a
//! value of the right type, so a gateway test can check that the arguments round-trip and would
//! validate against the schema the caller declared.

use serde_json::{json, Map, Value};

/// Nesting beyond this yields `null`, so a self-referencing schema cannot recurse forever.
const MAX_DEPTH: usize = 8;

/// A value that satisfies `schema` as far as the common keywords go.
pub fn synthesize(schema: &Value) -> Value {
    sample(schema, 0)
}

fn first_type(schema: &Map<String, Value>) -> Option<String> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(t.clone()),
        // ["string", "null"]: prefer the non-null type.
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or_else(|| ts.iter().filter_map(Value::as_str).next())
            .map(str::to_string),
        _ => None,
    }
}

fn sample(schema: &Value, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    let Value::Object(s) = schema else {
        // `true` / missing schema: anything goes; a string is the least surprising value.
        return json!("example");
    };
    if let Some(c) = s.get("const") {
        return c.clone();
    }
    if let Some(d) = s.get("default") {
        return d.clone();
    }
    if let Some(first) = s
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(first) = s
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    for combinator in ["anyOf", "oneOf", "allOf"] {
        if let Some(first) = s.get(combinator).and_then(Value::as_array).and_then(|a| {
            // Skip `{"type": "null"}` alternatives so optional-style unions still get a value.
            a.iter()
                .find(|alt| alt.get("type").and_then(Value::as_str) != Some("null"))
                .or_else(|| a.first())
        }) {
            return sample(first, depth + 1);
        }
    }
    let kind = first_type(s).or_else(|| {
        if s.contains_key("properties") {
            Some("object".into())
        } else if s.contains_key("items") {
            Some("array".into())
        } else {
            None
        }
    });
    match kind.as_deref() {
        Some("object") | None => {
            let mut out = Map::new();
            let properties = s.get("properties").and_then(Value::as_object);
            if let Some(required) = s.get("required").and_then(Value::as_array) {
                for name in required.iter().filter_map(Value::as_str) {
                    let property = properties
                        .and_then(|p| p.get(name))
                        .cloned()
                        .unwrap_or(Value::Bool(true));
                    out.insert(name.to_string(), sample(&property, depth + 1));
                }
            }
            Value::Object(out)
        }
        Some("array") => {
            let min = s
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1);
            let max = s
                .get("maxItems")
                .and_then(Value::as_u64)
                .unwrap_or(u64::MAX);
            let n = min.min(max).min(16);
            let items = s.get("items").cloned().unwrap_or(Value::Bool(true));
            Value::Array((0..n).map(|_| sample(&items, depth + 1)).collect())
        }
        Some("string") => {
            let base = match s.get("format").and_then(Value::as_str) {
                Some("date") => "2025-01-01",
                Some("date-time") => "2025-01-01T00:00:00Z",
                Some("time") => "12:00:00",
                Some("email") => "user@example.com",
                Some("uri" | "url") => "https://example.com",
                Some("uuid") => "00000000-0000-4000-8000-000000000000",
                _ => "example",
            };
            let mut text = base.to_string();
            let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
            while text.chars().count() < min {
                text.push('x');
            }
            if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
                text = text.chars().take(max as usize).collect();
            }
            Value::String(text)
        }
        Some("integer") => {
            let min = s.get("minimum").and_then(Value::as_i64).or_else(|| {
                s.get("exclusiveMinimum")
                    .and_then(Value::as_i64)
                    .map(|m| m + 1)
            });
            let max = s.get("maximum").and_then(Value::as_i64);
            let v = min.unwrap_or(1);
            json!(max.map_or(v, |m| v.min(m)))
        }
        Some("number") => {
            let min = s.get("minimum").and_then(Value::as_f64);
            let max = s.get("maximum").and_then(Value::as_f64);
            let v = min.unwrap_or(1.5);
            json!(max.map_or(v, |m| v.min(m)))
        }
        Some("boolean") => Value::Bool(true),
        Some("null") => Value::Null,
        Some(_) => json!("example"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthesis_table() {
        let cases = vec![
            (
                json!({"type": "object", "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["location", "unit"]}),
                json!({"location": "example", "unit": "c"}),
            ),
            (
                json!({"type": "object", "properties": {"a": {"type": "string"}}}),
                json!({}),
            ),
            (
                json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}, "x": {"type": "number"}, "b": {"type": "boolean"}}, "required": ["n", "x", "b"]}),
                json!({"n": 3, "x": 1.5, "b": true}),
            ),
            (
                json!({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}, "when": {"type": "string", "format": "date"}}, "required": ["tags", "when"]}),
                json!({"tags": ["example"], "when": "2025-01-01"}),
            ),
            (
                json!({"type": "object", "properties": {"inner": {"type": "object", "properties": {"k": {"type": ["string", "null"]}}, "required": ["k"]}}, "required": ["inner"]}),
                json!({"inner": {"k": "example"}}),
            ),
            (
                json!({"type": "object", "properties": {"c": {"const": 7}, "d": {"type": "string", "default": "dflt"}}, "required": ["c", "d"]}),
                json!({"c": 7, "d": "dflt"}),
            ),
            (
                json!({"type": "object", "properties": {"u": {"anyOf": [{"type": "null"}, {"type": "integer"}]}}, "required": ["u"]}),
                json!({"u": 1}),
            ),
            (
                json!({"type": "object", "required": ["undeclared"]}),
                json!({"undeclared": "example"}),
            ),
            (
                json!({"type": "string", "minLength": 10, "maxLength": 12}),
                json!("examplexxx"),
            ),
            (json!({}), json!({})),
        ];
        for (schema, expected) in cases {
            assert_eq!(synthesize(&schema), expected, "{schema}");
        }
    }

    #[test]
    fn recursive_schema_terminates() {
        // Each level requires the next; depth limiting must stop it.
        let mut schema = json!({"type": "string"});
        for _ in 0..20 {
            schema =
                json!({"type": "object", "properties": {"next": schema}, "required": ["next"]});
        }
        let v = synthesize(&schema);
        assert!(v.is_object());
    }
}
