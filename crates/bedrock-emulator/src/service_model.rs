//! The AWS service models (`spec/bedrock-*.service-2.json`) loaded into an indexed form, and a
//! generic validator that walks an operation's input shape the way Bedrock's front end does.
//!
//! The validator is deliberately driven by the JSON model rather than by hand-written structs: a
//! gateway bug that produces a shape the real service would reject (unknown member, wrong type,
//! out-of-range number, union with two members set) must fail here too.

use base64::Engine as _;
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// The Bedrock Runtime service model (Converse, ConverseStream, InvokeModel, ...).
pub const RUNTIME_SPEC: &str =
    include_str!("../../../spec/bedrock-runtime-2023-09-30.service-2.json");
/// The Bedrock control-plane service model (ListFoundationModels, ListInferenceProfiles, ...).
pub const CONTROL_SPEC: &str = include_str!("../../../spec/bedrock-2023-04-20.service-2.json");

/// Values quoted in violation messages are cut to this many characters, so a 1 MB text block does
/// not produce a 1 MB error message.
const MAX_QUOTED_VALUE_CHARS: usize = 128;

// ---------------------------------------------------------------------------------------------
// Raw JSON form (only the keys the validator needs; serde ignores `documentation` and friends).
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct RawModel {
    operations: HashMap<String, RawOperation>,
    shapes: HashMap<String, RawShape>,
}

#[derive(Deserialize)]
struct RawOperation {
    http: RawHttp,
    input: Option<RawRef>,
    #[serde(default)]
    errors: Vec<RawRef>,
}

#[derive(Deserialize)]
struct RawHttp {
    method: String,
    #[serde(rename = "requestUri")]
    request_uri: String,
}

#[derive(Deserialize)]
struct RawRef {
    shape: String,
}

#[derive(Deserialize)]
struct RawMember {
    shape: String,
    location: Option<String>,
    #[serde(rename = "locationName")]
    location_name: Option<String>,
}

#[derive(Deserialize)]
struct RawError {
    #[serde(rename = "httpStatusCode")]
    http_status_code: u16,
}

#[derive(Deserialize)]
struct RawShape {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    members: BTreeMap<String, RawMember>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    union: bool,
    #[serde(default)]
    document: bool,
    #[serde(default)]
    sensitive: bool,
    member: Option<RawRef>,
    key: Option<RawRef>,
    value: Option<RawRef>,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<String>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<String>>,
    error: Option<RawError>,
}

// ---------------------------------------------------------------------------------------------
// Indexed form.
// ---------------------------------------------------------------------------------------------

/// Index of a shape inside [`ServiceModel::shapes`].
pub type ShapeId = usize;

/// Where a structure member travels in the HTTP request (rest-json bindings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A `{label}` in the request URI.
    Uri,
    /// A query-string parameter.
    Querystring,
    /// A single HTTP header.
    Header,
    /// A prefixed header map.
    Headers,
    /// The HTTP status code (output only).
    StatusCode,
}

/// A member of a structure.
#[derive(Debug)]
pub struct Member {
    /// The member name as it appears in a JSON body.
    pub name: String,
    /// The member's target shape.
    pub shape: ShapeId,
    /// `None` for body members.
    pub location: Option<Location>,
    /// Header / query / label name for bound members.
    pub location_name: Option<String>,
}

/// A `pattern` constraint, compiled on first use: the models hold ~170 patterns with large
/// counted repetitions, and compiling them all up front would add ~100 ms to every start.
#[derive(Debug)]
pub struct Pattern {
    /// The pattern exactly as written in the model (quoted in messages).
    pub source: String,
    compiled: OnceLock<Option<Regex>>,
}

impl Pattern {
    fn new(source: &str) -> Self {
        Self {
            source: source.to_string(),
            compiled: OnceLock::new(),
        }
    }

    /// The anchored regex, or `None` when the pattern uses syntax the `regex` crate does not
    /// support (look-around); such patterns are skipped rather than guessed at.
    pub fn regex(&self) -> Option<&Regex> {
        self.compiled
            // AWS front ends match the whole value (Java `matches()`), so anchor it.
            .get_or_init(|| Regex::new(&format!("^(?:{})$", self.source)).ok())
            .as_ref()
    }
}

/// What a shape is, with its constraints.
#[derive(Debug)]
pub enum ShapeKind {
    /// Structures, unions (`union: true`) and documents (`document: true`, any JSON).
    Structure {
        /// Members, sorted by name.
        members: Vec<Member>,
        /// Names of required members.
        required: Vec<String>,
        /// Exactly one member must be set.
        union: bool,
        /// Free-form JSON.
        document: bool,
    },
    /// A JSON array.
    List {
        /// Element shape.
        member: ShapeId,
        /// Minimum length.
        min: Option<u64>,
        /// Maximum length.
        max: Option<u64>,
    },
    /// A JSON object with arbitrary keys.
    Map {
        /// Key shape (a string).
        key: ShapeId,
        /// Value shape.
        value: ShapeId,
        /// Minimum number of entries.
        min: Option<u64>,
        /// Maximum number of entries.
        max: Option<u64>,
    },
    /// A JSON string.
    String {
        /// Allowed values, when the shape is an enum.
        enum_values: Option<Vec<String>>,
        /// Minimum length in characters.
        min: Option<u64>,
        /// Maximum length in characters.
        max: Option<u64>,
        /// Whole-value pattern.
        pattern: Option<Pattern>,
    },
    /// integer / long (`integral`) and float / double.
    Number {
        /// Whole numbers only.
        integral: bool,
        /// The representable range of the wire type (i32 for integer, i64 for long).
        bits: u8,
        /// Minimum value.
        min: Option<f64>,
        /// Maximum value.
        max: Option<f64>,
    },
    /// A JSON boolean.
    Boolean,
    /// Base64 text in JSON.
    Blob {
        /// Minimum decoded length in bytes.
        min: Option<u64>,
        /// Maximum decoded length in bytes.
        max: Option<u64>,
    },
    /// ISO-8601 text or epoch seconds.
    Timestamp,
}

/// One shape of the model.
#[derive(Debug)]
pub struct Shape {
    /// The shape's name in the model.
    pub name: String,
    /// Type and constraints.
    pub kind: ShapeKind,
    /// Values of sensitive shapes are never quoted in messages (as AWS does).
    pub sensitive: bool,
    /// For error shapes, the HTTP status from `"error": {"httpStatusCode": ...}`.
    pub error_status: Option<u16>,
}

/// One operation of the model.
#[derive(Debug)]
pub struct Operation {
    /// HTTP method.
    pub method: String,
    /// The URI template, e.g. `/model/{modelId}/converse`.
    pub request_uri: String,
    /// Input structure.
    pub input: Option<ShapeId>,
    /// Names of the modelled errors.
    pub errors: Vec<String>,
}

/// A loaded service model.
#[derive(Debug)]
pub struct ServiceModel {
    shapes: Vec<Shape>,
    by_name: HashMap<String, ShapeId>,
    operations: HashMap<String, Operation>,
}

/// Both Bedrock service models.
#[derive(Debug)]
pub struct ServiceModels {
    /// Bedrock Runtime.
    pub runtime: ServiceModel,
    /// Bedrock control plane.
    pub control: ServiceModel,
}

static MODELS: OnceLock<Result<ServiceModels, String>> = OnceLock::new();

/// The embedded service models, parsed once per process.
pub fn models() -> Result<&'static ServiceModels, String> {
    MODELS
        .get_or_init(|| {
            Ok(ServiceModels {
                runtime: ServiceModel::parse(RUNTIME_SPEC)
                    .map_err(|e| format!("runtime model: {e}"))?,
                control: ServiceModel::parse(CONTROL_SPEC)
                    .map_err(|e| format!("control model: {e}"))?,
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The HTTP status the service models give an error shape, if either model defines it.
pub fn error_status(name: &str) -> Option<u16> {
    let models = models().ok()?;
    models
        .runtime
        .error_status(name)
        .or_else(|| models.control.error_status(name))
}

fn bound(value: Option<f64>) -> Option<u64> {
    // The model writes lengths as JSON numbers; negative or fractional lengths do not occur, and
    // clamping keeps a malformed model from making every request fail.
    value.map(|v| if v <= 0.0 { 0 } else { v as u64 })
}

impl ServiceModel {
    /// Parses a botocore `service-2.json` document.
    pub fn parse(json: &str) -> Result<Self, String> {
        let raw: RawModel = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut names: Vec<&String> = raw.shapes.keys().collect();
        names.sort();
        let by_name: HashMap<String, ShapeId> = names
            .iter()
            .enumerate()
            .map(|(i, n)| ((*n).clone(), i))
            .collect();
        let lookup = |name: &str| -> Result<ShapeId, String> {
            by_name
                .get(name)
                .copied()
                .ok_or_else(|| format!("unknown shape reference {name}"))
        };
        let mut shapes = Vec::with_capacity(names.len());
        for name in &names {
            let Some(raw_shape) = raw.shapes.get(*name) else {
                return Err(format!("shape {name} vanished"));
            };
            let kind = match raw_shape.kind.as_str() {
                "structure" => {
                    let mut members = Vec::with_capacity(raw_shape.members.len());
                    for (member_name, m) in &raw_shape.members {
                        let location = match m.location.as_deref() {
                            None => None,
                            Some("uri") => Some(Location::Uri),
                            Some("querystring") => Some(Location::Querystring),
                            Some("header") => Some(Location::Header),
                            Some("headers") => Some(Location::Headers),
                            Some("statusCode") => Some(Location::StatusCode),
                            Some(other) => return Err(format!("unknown location {other}")),
                        };
                        members.push(Member {
                            name: member_name.clone(),
                            shape: lookup(&m.shape)?,
                            location,
                            location_name: m.location_name.clone(),
                        });
                    }
                    ShapeKind::Structure {
                        members,
                        required: raw_shape.required.clone(),
                        union: raw_shape.union,
                        document: raw_shape.document,
                    }
                }
                "list" => ShapeKind::List {
                    member: lookup(
                        &raw_shape
                            .member
                            .as_ref()
                            .ok_or_else(|| format!("list {name} has no member"))?
                            .shape,
                    )?,
                    min: bound(raw_shape.min),
                    max: bound(raw_shape.max),
                },
                "map" => ShapeKind::Map {
                    key: lookup(
                        &raw_shape
                            .key
                            .as_ref()
                            .ok_or_else(|| format!("map {name} has no key"))?
                            .shape,
                    )?,
                    value: lookup(
                        &raw_shape
                            .value
                            .as_ref()
                            .ok_or_else(|| format!("map {name} has no value"))?
                            .shape,
                    )?,
                    min: bound(raw_shape.min),
                    max: bound(raw_shape.max),
                },
                "string" => ShapeKind::String {
                    enum_values: raw_shape.enum_values.clone(),
                    min: bound(raw_shape.min),
                    max: bound(raw_shape.max),
                    pattern: raw_shape.pattern.as_deref().map(Pattern::new),
                },
                "integer" => ShapeKind::Number {
                    integral: true,
                    bits: 32,
                    min: raw_shape.min,
                    max: raw_shape.max,
                },
                "long" => ShapeKind::Number {
                    integral: true,
                    bits: 64,
                    min: raw_shape.min,
                    max: raw_shape.max,
                },
                "float" | "double" => ShapeKind::Number {
                    integral: false,
                    bits: 64,
                    min: raw_shape.min,
                    max: raw_shape.max,
                },
                "boolean" => ShapeKind::Boolean,
                "blob" => ShapeKind::Blob {
                    min: bound(raw_shape.min),
                    max: bound(raw_shape.max),
                },
                "timestamp" => ShapeKind::Timestamp,
                other => return Err(format!("shape {name} has unknown type {other}")),
            };
            shapes.push(Shape {
                name: (*name).clone(),
                kind,
                sensitive: raw_shape.sensitive,
                error_status: raw_shape.error.as_ref().map(|e| e.http_status_code),
            });
        }
        let mut operations = HashMap::with_capacity(raw.operations.len());
        for (op_name, op) in &raw.operations {
            operations.insert(
                op_name.clone(),
                Operation {
                    method: op.http.method.clone(),
                    request_uri: op.http.request_uri.clone(),
                    input: op.input.as_ref().map(|r| lookup(&r.shape)).transpose()?,
                    errors: op.errors.iter().map(|e| e.shape.clone()).collect(),
                },
            );
        }
        Ok(Self {
            shapes,
            by_name,
            operations,
        })
    }

    /// The shape called `name`.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.by_name.get(name).map(|&i| &self.shapes[i])
    }

    /// The operation called `name`.
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    /// HTTP status of an error shape.
    pub fn error_status(&self, name: &str) -> Option<u16> {
        self.shape(name).and_then(|s| s.error_status)
    }

    /// Validates a JSON request body against the operation's input structure. Members bound to
    /// the URI, headers or query string are not body members and are rejected if they appear.
    /// Returns the violations in AWS's wording; empty means valid.
    pub fn validate_body(&self, operation: &str, body: &Value) -> Vec<String> {
        let mut out = Vec::new();
        let Some(input) = self.operation(operation).and_then(|o| o.input) else {
            out.push(format!("unknown operation {operation}"));
            return out;
        };
        self.check_structure(input, body, "", true, &mut out);
        out
    }

    /// Validates the members of `operation` bound to `location` (URI labels, query parameters or
    /// headers), given as `(locationName, raw text)` pairs. Unknown parameters are ignored, as AWS
    /// ignores unknown query parameters.
    pub fn validate_params(
        &self,
        operation: &str,
        location: Location,
        params: &[(&str, &str)],
    ) -> Vec<String> {
        let mut out = Vec::new();
        let Some(input) = self.operation(operation).and_then(|o| o.input) else {
            out.push(format!("unknown operation {operation}"));
            return out;
        };
        let ShapeKind::Structure { members, .. } = &self.shapes[input].kind else {
            return out;
        };
        for member in members.iter().filter(|m| m.location == Some(location)) {
            let wire_name = member.location_name.as_deref().unwrap_or(&member.name);
            for (_, raw) in params.iter().filter(|(k, _)| *k == wire_name) {
                // Query and label values are text; convert them to the JSON type the shape
                // expects so the same checks apply as for body members.
                let value = match &self.shapes[member.shape].kind {
                    ShapeKind::Number { .. } => match raw.parse::<f64>() {
                        Ok(_) => serde_json::from_str::<Value>(raw)
                            .unwrap_or_else(|_| Value::String((*raw).to_string())),
                        Err(_) => Value::String((*raw).to_string()),
                    },
                    ShapeKind::Boolean => match *raw {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        _ => Value::String((*raw).to_string()),
                    },
                    _ => Value::String((*raw).to_string()),
                };
                self.check(member.shape, &value, &member.name, &mut out);
            }
        }
        out
    }

    fn check(&self, id: ShapeId, value: &Value, path: &str, out: &mut Vec<String>) {
        let shape = &self.shapes[id];
        match &shape.kind {
            ShapeKind::Structure { document: true, .. } => {}
            ShapeKind::Structure { .. } => self.check_structure(id, value, path, false, out),
            ShapeKind::List { member, min, max } => {
                let Value::Array(items) = value else {
                    return type_error(path, "list", out);
                };
                check_length(shape, value, path, items.len() as u64, *min, *max, out);
                for (i, item) in items.iter().enumerate() {
                    if item.is_null() {
                        out.push(format!(
                            "Value null at '{path}.{}.member' failed to satisfy constraint: Member must not be null",
                            i + 1
                        ));
                        continue;
                    }
                    self.check(*member, item, &format!("{path}.{}.member", i + 1), out);
                }
            }
            ShapeKind::Map {
                key,
                value: value_shape,
                min,
                max,
            } => {
                let Value::Object(entries) = value else {
                    return type_error(path, "map", out);
                };
                check_length(shape, value, path, entries.len() as u64, *min, *max, out);
                for (k, v) in entries {
                    let mut key_violations = Vec::new();
                    self.check(*key, &Value::String(k.clone()), path, &mut key_violations);
                    for violation in key_violations {
                        // AWS reports map-key problems against the map itself.
                        let constraint = violation
                            .split_once("failed to satisfy constraint: ")
                            .map(|(_, c)| c.to_string())
                            .unwrap_or(violation);
                        out.push(format!(
                            "Value '{}' at '{path}' failed to satisfy constraint: Map keys must satisfy constraint: [{constraint}]",
                            quote(k)
                        ));
                    }
                    if v.is_null() {
                        continue;
                    }
                    self.check(*value_shape, v, &format!("{path}.{k}"), out);
                }
            }
            ShapeKind::String {
                enum_values,
                min,
                max,
                pattern,
            } => {
                let Value::String(text) = value else {
                    return type_error(path, "string", out);
                };
                if let Some(allowed) = enum_values {
                    if !allowed.iter().any(|a| a == text) {
                        out.push(format!(
                            "{} failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                            value_at(shape, value, path),
                            allowed.join(", ")
                        ));
                        return;
                    }
                }
                let chars = text.chars().count() as u64;
                check_length(shape, value, path, chars, *min, *max, out);
                if let Some(p) = pattern {
                    if p.regex().is_some_and(|regex| !regex.is_match(text)) {
                        out.push(format!(
                            "{} failed to satisfy constraint: Member must satisfy regular expression pattern: {}",
                            value_at(shape, value, path),
                            p.source
                        ));
                    }
                }
            }
            ShapeKind::Number {
                integral,
                bits,
                min,
                max,
            } => {
                let Value::Number(n) = value else {
                    let name = if *integral { "integer" } else { "number" };
                    return type_error(path, name, out);
                };
                let as_float = n.as_f64().unwrap_or(f64::NAN);
                if *integral {
                    let fits = match (n.as_i64(), bits) {
                        (Some(i), 32) => i32::try_from(i).is_ok(),
                        (Some(_), _) => true,
                        (None, _) => false,
                    };
                    if !fits {
                        return type_error(path, "integer", out);
                    }
                }
                if let Some(min) = min {
                    if as_float < *min {
                        out.push(format!(
                            "{} failed to satisfy constraint: Member must have value greater than or equal to {}",
                            value_at(shape, value, path),
                            format_bound(*min)
                        ));
                    }
                }
                if let Some(max) = max {
                    if as_float > *max {
                        out.push(format!(
                            "{} failed to satisfy constraint: Member must have value less than or equal to {}",
                            value_at(shape, value, path),
                            format_bound(*max)
                        ));
                    }
                }
            }
            ShapeKind::Boolean => {
                if !value.is_boolean() {
                    type_error(path, "boolean", out);
                }
            }
            ShapeKind::Blob { min, max } => {
                let Value::String(text) = value else {
                    return type_error(path, "base64-encoded blob", out);
                };
                match base64::engine::general_purpose::STANDARD.decode(text) {
                    Ok(bytes) => check_length(shape, value, path, bytes.len() as u64, *min, *max, out),
                    Err(_) => out.push(format!(
                        "Value at '{path}' failed to satisfy constraint: Member must be valid base64-encoded binary data"
                    )),
                }
            }
            ShapeKind::Timestamp => {
                let ok = match value {
                    Value::Number(_) => true,
                    Value::String(s) => time::OffsetDateTime::parse(
                        s,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .is_ok(),
                    _ => false,
                };
                if !ok {
                    type_error(path, "timestamp", out);
                }
            }
        }
    }

    fn check_structure(
        &self,
        id: ShapeId,
        value: &Value,
        path: &str,
        top_level: bool,
        out: &mut Vec<String>,
    ) {
        let shape = &self.shapes[id];
        let ShapeKind::Structure {
            members,
            required,
            union,
            ..
        } = &shape.kind
        else {
            return;
        };
        let Value::Object(fields) = value else {
            return type_error(path, "structure", out);
        };
        let mut set_members = Vec::new();
        for (key, field_value) in fields {
            let member = members
                .iter()
                .find(|m| m.name == *key && m.location.is_none());
            let Some(member) = member else {
                if top_level || path.is_empty() {
                    out.push(format!("extraneous key [{key}] is not permitted"));
                } else {
                    out.push(format!(
                        "Value at '{path}' failed to satisfy constraint: extraneous key [{key}] is not permitted"
                    ));
                }
                continue;
            };
            // JSON null is treated as "not set", as AWS's JSON deserialiser does.
            if field_value.is_null() {
                continue;
            }
            set_members.push(key.as_str());
            self.check(member.shape, field_value, &join(path, key), out);
        }
        for name in required {
            let is_body = members
                .iter()
                .any(|m| m.name == *name && m.location.is_none());
            if is_body && fields.get(name).is_none_or(Value::is_null) {
                out.push(format!(
                    "Value null at '{}' failed to satisfy constraint: Member must not be null",
                    join(path, name)
                ));
            }
        }
        if *union && set_members.len() != 1 {
            let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
            let at = if path.is_empty() { "the request" } else { path };
            if set_members.is_empty() {
                out.push(format!(
                    "Value at '{at}' failed to satisfy constraint: Member must have exactly one of the following fields set: [{}]",
                    names.join(", ")
                ));
            } else {
                out.push(format!(
                    "Value at '{at}' failed to satisfy constraint: Member must have exactly one field set, found {}: [{}]",
                    set_members.len(),
                    set_members.join(", ")
                ));
            }
        }
    }
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() {
        member.to_string()
    } else {
        format!("{path}.{member}")
    }
}

fn quote(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED_VALUE_CHARS {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX_QUOTED_VALUE_CHARS).collect();
        format!("{cut}...")
    }
}

/// `Value 'x' at 'path'` (or `Value at 'path'` for sensitive shapes, whose values AWS hides).
fn value_at(shape: &Shape, value: &Value, path: &str) -> String {
    if shape.sensitive {
        return format!("Value at '{path}'");
    }
    let rendered = match value {
        Value::String(s) => quote(s),
        other => quote(&other.to_string()),
    };
    format!("Value '{rendered}' at '{path}'")
}

fn type_error(path: &str, expected: &str, out: &mut Vec<String>) {
    let at = if path.is_empty() {
        "the request body"
    } else {
        path
    };
    out.push(format!(
        "Value at '{at}' failed to satisfy constraint: Member must be of type {expected}"
    ));
}

fn check_length(
    shape: &Shape,
    value: &Value,
    path: &str,
    len: u64,
    min: Option<u64>,
    max: Option<u64>,
    out: &mut Vec<String>,
) {
    if let Some(min) = min {
        if len < min {
            out.push(format!(
                "{} failed to satisfy constraint: Member must have length greater than or equal to {min}",
                value_at(shape, value, path)
            ));
        }
    }
    if let Some(max) = max {
        if len > max {
            out.push(format!(
                "{} failed to satisfy constraint: Member must have length less than or equal to {max}",
                value_at(shape, value, path)
            ));
        }
    }
}

fn format_bound(b: f64) -> String {
    if b.fract() == 0.0 && b.abs() < 1e15 {
        format!("{}", b as i64)
    } else {
        format!("{b}")
    }
}

/// Joins violations the way AWS front ends do: `1 validation error detected: ...` /
/// `2 validation errors detected: ...; ...`.
pub fn validation_message(violations: &[String]) -> String {
    let n = violations.len();
    let noun = if n == 1 { "error" } else { "errors" };
    format!("{n} validation {noun} detected: {}", violations.join("; "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)] // table-driven tests spell their row types out
mod tests {
    use super::*;
    use serde_json::json;

    fn runtime() -> &'static ServiceModel {
        &models().unwrap().runtime
    }

    fn base() -> Value {
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
    }

    #[test]
    fn both_models_load_and_every_pattern_is_known() {
        let m = models().unwrap();
        assert!(m.runtime.operation("Converse").is_some());
        assert!(m.runtime.operation("ConverseStream").is_some());
        assert!(m.control.operation("ListFoundationModels").is_some());
        assert_eq!(m.runtime.error_status("ThrottlingException"), Some(429));
        assert_eq!(m.runtime.error_status("ModelErrorException"), Some(424));
        assert_eq!(error_status("ResourceNotFoundException"), Some(404));
        // Patterns the Converse path depends on must compile, or they would silently not apply.
        for name in ["ToolName", "ToolUseId", "ConversationalModelId"] {
            let shape = m.runtime.shape(name).unwrap();
            let ShapeKind::String {
                pattern: Some(p), ..
            } = &shape.kind
            else {
                panic!("{name} has no pattern")
            };
            assert!(p.regex().is_some(), "{name} pattern did not compile");
        }
    }

    #[test]
    fn every_pattern_in_both_models_compiles() {
        // A pattern the regex crate rejected would silently not be enforced.
        let m = models().unwrap();
        let mut broken = Vec::new();
        for model in [&m.runtime, &m.control] {
            for shape in &model.shapes {
                if let ShapeKind::String {
                    pattern: Some(p), ..
                } = &shape.kind
                {
                    if p.regex().is_none() {
                        broken.push(shape.name.clone());
                    }
                }
            }
        }
        assert!(broken.is_empty(), "{broken:?}");
    }

    #[test]
    fn converse_bodies_table() {
        // (description, body mutation, expected fragment or None for valid)
        type Mutate = fn(&mut Value);
        let cases: Vec<(&str, Mutate, Option<&str>)> = vec![
            ("minimal body", |_| {}, None),
            (
                "unknown top-level key",
                |b| b["foo"] = json!(1),
                Some("extraneous key [foo] is not permitted"),
            ),
            (
                "unknown nested key",
                |b| b["inferenceConfig"] = json!({"maxTokens": 5, "bogus": true}),
                Some("Value at 'inferenceConfig' failed to satisfy constraint: extraneous key [bogus] is not permitted"),
            ),
            (
                "uri member in body",
                |b| b["modelId"] = json!("x"),
                Some("extraneous key [modelId]"),
            ),
            (
                "bad role enum",
                |b| b["messages"][0]["role"] = json!("bot"),
                Some("Value 'bot' at 'messages.1.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant, system]"),
            ),
            (
                "missing content",
                |b| {
                    b["messages"][0].as_object_mut().unwrap().remove("content");
                },
                Some("Value null at 'messages.1.member.content' failed to satisfy constraint: Member must not be null"),
            ),
            (
                "content not a list",
                |b| b["messages"][0]["content"] = json!("hi"),
                Some("Value at 'messages.1.member.content' failed to satisfy constraint: Member must be of type list"),
            ),
            (
                "union with two members",
                |b| b["messages"][0]["content"][0]["image"] = json!({"format": "png", "source": {"bytes": "aGk="}}),
                Some("'messages.1.member.content.1.member' failed to satisfy constraint: Member must have exactly one field set, found 2"),
            ),
            (
                "union with none",
                |b| b["messages"][0]["content"][0] = json!({}),
                Some("Member must have exactly one of the following fields set"),
            ),
            (
                "maxTokens below min",
                |b| b["inferenceConfig"] = json!({"maxTokens": 0}),
                Some("Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"),
            ),
            (
                "maxTokens fractional",
                |b| b["inferenceConfig"] = json!({"maxTokens": 1.5}),
                Some("'inferenceConfig.maxTokens' failed to satisfy constraint: Member must be of type integer"),
            ),
            (
                "maxTokens beyond i32",
                |b| b["inferenceConfig"] = json!({"maxTokens": 3_000_000_000u64}),
                Some("Member must be of type integer"),
            ),
            (
                "temperature above max",
                |b| b["inferenceConfig"] = json!({"temperature": 1.5}),
                Some("Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1"),
            ),
            (
                "temperature as string",
                |b| b["inferenceConfig"] = json!({"temperature": "0.5"}),
                Some("Member must be of type number"),
            ),
            (
                "empty stop sequence",
                |b| b["inferenceConfig"] = json!({"stopSequences": [""]}),
                Some("at 'inferenceConfig.stopSequences.1.member' failed to satisfy constraint: Member must have length greater than or equal to 1"),
            ),
            (
                "empty tools list",
                |b| b["toolConfig"] = json!({"tools": []}),
                Some("at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1"),
            ),
            (
                "toolChoice without tools",
                |b| b["toolConfig"] = json!({"toolChoice": {"any": {}}}),
                Some("Value null at 'toolConfig.tools' failed to satisfy constraint: Member must not be null"),
            ),
            (
                "tool name pattern",
                |b| b["toolConfig"] = json!({"tools": [{"toolSpec": {"name": "bad name", "inputSchema": {"json": {}}}}]}),
                Some("Value 'bad name' at 'toolConfig.tools.1.member.toolSpec.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+"),
            ),
            (
                "valid tool config with any document",
                |b| b["toolConfig"] = json!({"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object", "anything": [1, {"x": null}]}}}}], "toolChoice": {"auto": {}}}),
                None,
            ),
            (
                "bad base64 blob",
                |b| b["messages"][0]["content"][0] = json!({"image": {"format": "png", "source": {"bytes": "%%%"}}}),
                Some("'messages.1.member.content.1.member.image.source.bytes' failed to satisfy constraint: Member must be valid base64-encoded binary data"),
            ),
            (
                "sensitive value not quoted",
                |b| b["requestMetadata"] = json!({}),
                Some("Value at 'requestMetadata' failed to satisfy constraint: Member must have length greater than or equal to 1"),
            ),
            (
                "document member takes any JSON",
                |b| b["additionalModelRequestFields"] = json!({"top_k": 5, "nested": {"a": [1, 2]}}),
                None,
            ),
            (
                "null member is unset",
                |b| b["system"] = Value::Null,
                None,
            ),
            (
                "body not an object",
                |b| *b = json!([1, 2]),
                Some("Value at 'the request body' failed to satisfy constraint: Member must be of type structure"),
            ),
        ];
        for (name, mutate, expected) in cases {
            let mut body = base();
            mutate(&mut body);
            let violations = runtime().validate_body("Converse", &body);
            match expected {
                None => assert!(violations.is_empty(), "{name}: unexpected {violations:?}"),
                Some(fragment) => assert!(
                    violations.iter().any(|v| v.contains(fragment)),
                    "{name}: expected {fragment:?} in {violations:?}"
                ),
            }
        }
    }

    #[test]
    fn multiple_violations_are_counted() {
        let body = json!({"messages": [{"role": "bot", "content": "x"}], "zzz": 1});
        let v = runtime().validate_body("Converse", &body);
        assert_eq!(v.len(), 3, "{v:?}");
        let msg = validation_message(&v);
        assert!(msg.starts_with("3 validation errors detected: "), "{msg}");
        assert_eq!(
            validation_message(&v[..1]).split(':').next(),
            Some("1 validation error detected")
        );
    }

    #[test]
    fn query_parameters_table() {
        let control = &models().unwrap().control;
        let cases: Vec<(&str, Vec<(&str, &str)>, Option<&str>)> = vec![
            ("ListInferenceProfiles", vec![("maxResults", "10")], None),
            (
                "ListInferenceProfiles",
                vec![("maxResults", "0")],
                Some("Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"),
            ),
            (
                "ListInferenceProfiles",
                vec![("maxResults", "ten")],
                Some("Member must be of type integer"),
            ),
            (
                "ListInferenceProfiles",
                vec![("type", "CUSTOM")],
                Some("Value 'CUSTOM' at 'typeEquals' failed to satisfy constraint: Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]"),
            ),
            (
                "ListFoundationModels",
                vec![("byOutputModality", "VIDEO")],
                Some("at 'byOutputModality' failed to satisfy constraint: Member must satisfy enum value set"),
            ),
            ("ListFoundationModels", vec![("byProvider", "Anthropic")], None),
            (
                "ListFoundationModels",
                vec![("byProvider", "bad/provider")],
                Some("Member must satisfy regular expression pattern"),
            ),
            ("ListFoundationModels", vec![("unknownParam", "x")], None),
        ];
        for (op, params, expected) in cases {
            let v = control.validate_params(op, Location::Querystring, &params);
            match expected {
                None => assert!(v.is_empty(), "{op} {params:?}: {v:?}"),
                Some(f) => assert!(v.iter().any(|x| x.contains(f)), "{op} {params:?}: {v:?}"),
            }
        }
    }

    #[test]
    fn uri_labels_are_validated() {
        let rt = runtime();
        let long = "a".repeat(3000);
        let v = rt.validate_params("Converse", Location::Uri, &[("modelId", long.as_str())]);
        assert!(
            v.iter()
                .any(|x| x.contains("length less than or equal to 2048")),
            "{v:?}"
        );
        let v = rt.validate_params(
            "Converse",
            Location::Uri,
            &[("modelId", "us.anthropic.claude-3-7-sonnet-20250219-v1:0")],
        );
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn long_values_are_truncated_in_messages() {
        let long_name = "x y".repeat(200);
        let body = json!({
            "messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "toolConfig": {"tools": [{"toolSpec": {"name": long_name, "inputSchema": {"json": {}}}}]}
        });
        let v = runtime().validate_body("Converse", &body);
        assert!(v.iter().all(|m| m.len() < 600), "{v:?}");
    }
}
