//! JSON body parsing that reports errors the way OpenAI does, naming the field at fault.

use gomodel_core::GatewayError;
use serde::de::DeserializeOwned;

/// Deserializes `body`, turning failures into 400s with the JSON path as `param`.
///
/// The plain deserializer runs first: path tracking costs an allocation per nested field, and
/// only a body that already failed needs the path, so it is parsed a second time to find it.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, GatewayError> {
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(_) => parse_json_with_path(body),
    }
}

fn parse_json_with_path<T: DeserializeOwned>(body: &[u8]) -> Result<T, GatewayError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(path_error)?;
    de.end().map_err(|e| syntax_error(&e))?;
    Ok(value)
}

fn syntax_error(e: &serde_json::Error) -> GatewayError {
    GatewayError::invalid_request(format!(
        "We could not parse the JSON body of your request. ({})",
        e
    ))
}

fn path_error(e: serde_path_to_error::Error<serde_json::Error>) -> GatewayError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if !inner.is_data() {
        return syntax_error(&inner);
    }
    // serde_json appends " at line L column C"; the path says more than the position does.
    let full = inner.to_string();
    let suffix = format!(" at line {} column {}", inner.line(), inner.column());
    let msg = full.strip_suffix(&suffix).unwrap_or(&full);
    if let Some(field) = msg
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let param = if path == "." || path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return GatewayError::invalid_param(
            param.clone(),
            format!("Missing required parameter: '{param}'."),
        );
    }
    if path == "." || path.is_empty() {
        return GatewayError::invalid_request(format!("Invalid request body: {msg}."));
    }
    // OpenAI distinguishes wrong types from wrong values in its wording; so does the gateway.
    let what = if msg.starts_with("invalid type") {
        "Invalid type for"
    } else {
        "Invalid value for"
    };
    GatewayError::invalid_param(path.clone(), format!("{what} '{path}': {msg}."))
}
