//! Input items as stored for the Responses API: normalized to the resource shapes OpenAI
//! returns from `GET /v1/responses/{id}/input_items` (every item has an `id` and a `type`;
//! string content becomes `input_text` / `output_text` parts), and turned back into request
//! items for `previous_response_id`.

use gomodel_core::GatewayError;
use gomodel_openai::responses::{InputItem, InputParam};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

/// Reads only `input` from a Responses request body (other fields are skipped, not copied).
pub fn raw_input(body: &[u8]) -> Option<Value> {
    #[derive(Deserialize)]
    struct OnlyInput<'a> {
        #[serde(borrow)]
        input: Option<&'a RawValue>,
    }
    let only: OnlyInput = serde_json::from_slice(body).ok()?;
    serde_json::from_str(only.input?.get()).ok()
}

/// `input` (a string or a list of items) as stored items.
pub fn normalize(input: Option<Value>) -> Vec<Value> {
    match input {
        Some(Value::String(text)) => vec![message("user", Value::String(text), Map::new())],
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::Object(obj) => Some(normalize_item(obj)),
                // The request parser refuses anything else before we get here.
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

fn normalize_item(mut obj: Map<String, Value>) -> Value {
    let kind = match obj.get("type").and_then(Value::as_str) {
        Some(k) => k.to_owned(),
        // The "easy" message form: `{"role", "content"}`.
        None => "message".to_owned(),
    };
    if kind == "message" {
        let role = obj
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("user")
            .to_owned();
        let content = obj.remove("content").unwrap_or(Value::Null);
        return message(&role, content, obj);
    }
    let prefix = match kind.as_str() {
        "function_call" => "fc",
        "function_call_output" => "fco",
        "reasoning" => "rs",
        _ => "item",
    };
    obj.insert("type".into(), Value::String(kind.clone()));
    obj.entry("id")
        .or_insert_with(|| Value::String(new_id(prefix)));
    if matches!(kind.as_str(), "function_call" | "function_call_output") {
        obj.entry("status")
            .or_insert_with(|| Value::String("completed".into()));
    }
    Value::Object(obj)
}

/// A message item; `rest` keeps any other fields the client sent (e.g. `id`, `status`).
fn message(role: &str, content: Value, mut rest: Map<String, Value>) -> Value {
    let assistant = role == "assistant";
    let content = match content {
        Value::String(text) if assistant => {
            json!([{"type": "output_text", "text": text, "annotations": [], "logprobs": []}])
        }
        Value::String(text) => json!([{"type": "input_text", "text": text}]),
        Value::Array(mut parts) => {
            // `OutputTextContent` requires both lists; clients sending history often omit them.
            for part in parts.iter_mut().filter_map(Value::as_object_mut) {
                if part.get("type").and_then(Value::as_str) == Some("output_text") {
                    part.entry("annotations").or_insert_with(|| json!([]));
                    part.entry("logprobs").or_insert_with(|| json!([]));
                }
            }
            Value::Array(parts)
        }
        other => other,
    };
    rest.insert("type".into(), json!("message"));
    rest.insert("role".into(), json!(role));
    rest.insert("content".into(), content);
    rest.entry("id")
        .or_insert_with(|| Value::String(new_id("msg")));
    if assistant {
        // `OutputMessage` requires a status.
        rest.entry("status")
            .or_insert_with(|| Value::String("completed".into()));
    }
    Value::Object(rest)
}

/// The output items of a stored `Response` that continue a conversation (everything but
/// failed or empty entries).
pub fn output_items(response: &Value) -> Vec<Value> {
    response
        .get("output")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter(|i| i.is_object()).cloned().collect())
        .unwrap_or_default()
}

/// Puts the conversation so far in front of the request's own input.
pub fn prepend(history: &[Value], input: Option<InputParam>) -> Result<InputParam, GatewayError> {
    let mut items: Vec<InputItem> = Vec::with_capacity(history.len() + 1);
    for (i, v) in history.iter().enumerate() {
        let item = InputItem::deserialize(v).map_err(|e| {
            GatewayError::internal(format!(
                "stored conversation item {i} cannot be read back: {e}"
            ))
        })?;
        items.push(item);
    }
    match input {
        None => {}
        Some(InputParam::Text(text)) => {
            let v = json!({"role": "user", "content": text});
            let item = InputItem::deserialize(&v)
                .map_err(|e| GatewayError::internal(format!("cannot build a message item: {e}")))?;
            items.push(item);
        }
        Some(InputParam::Items(own)) => items.extend(own),
    }
    Ok(InputParam::Items(items))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn string_input_becomes_one_user_message_with_an_id() {
        let items = normalize(Some(json!("hi")));
        assert_eq!(items.len(), 1);
        let m = &items[0];
        assert_eq!(m["type"], "message");
        assert_eq!(m["role"], "user");
        assert_eq!(m["content"], json!([{"type": "input_text", "text": "hi"}]));
        assert!(m["id"].as_str().unwrap().starts_with("msg_"));
    }

    #[test]
    fn items_keep_their_fields_and_gain_ids_types_statuses() {
        let items = normalize(Some(json!([
            {"role": "system", "content": "be brief"},
            {"role": "assistant", "content": "earlier answer", "id": "msg_keep"},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]},
        ])));
        assert_eq!(items[0]["content"][0]["type"], "input_text");
        assert_eq!(items[1]["id"], "msg_keep");
        assert_eq!(items[1]["status"], "completed");
        assert_eq!(items[1]["content"][0]["type"], "output_text");
        assert_eq!(items[1]["content"][0]["logprobs"], json!([]));
        assert!(items[2]["id"].as_str().unwrap().starts_with("fc_"));
        assert_eq!(items[2]["status"], "completed");
        assert!(items[3]["id"].as_str().unwrap().starts_with("fco_"));
        assert_eq!(items[4]["content"][0]["text"], "x");
        assert!(items
            .iter()
            .all(|i| i["type"].is_string() && i["id"].is_string()));
    }

    #[test]
    fn reads_only_the_input_field() {
        let body = br#"{"model":"m","input":[{"role":"user","content":"a"}],"tools":[]}"#;
        assert_eq!(
            raw_input(body),
            Some(json!([{"role": "user", "content": "a"}]))
        );
        assert_eq!(raw_input(br#"{"model":"m"}"#), None);
    }

    #[test]
    fn history_goes_first_and_parses_as_request_items() {
        let history = normalize(Some(json!("first")));
        let mut with_output = history.clone();
        with_output.push(
            json!({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": "reply", "annotations": []}]}),
        );
        let InputParam::Items(items) =
            prepend(&with_output, Some(InputParam::Text("second".into()))).unwrap()
        else {
            panic!("items expected")
        };
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].role.as_deref(), Some("assistant"));
        assert_eq!(items[2].role.as_deref(), Some("user"));
    }
}
