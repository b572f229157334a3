//! Stored responses (Responses API): `store` (default true) keeps a response and its input
//! items, `previous_response_id` continues from one, and `GET`/`DELETE /v1/responses/{id}`,
//! `GET /v1/responses/{id}/input_items` read them back as OpenAI documents.

use crate::app::AppState;
use crate::error::AppError;
use crate::handlers::stored_items;
use crate::metrics as m;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gomodel_core::{ErrorKind, ErrorSource, GatewayError};
use gomodel_openai::responses::CreateResponseRequest;
use gomodel_storage::{Storage, StoredResponse};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Reads and writes on the request path are bounded: a slow database costs at most this much
/// (a write that times out is logged and counted; the answer is still returned).
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// After a failed write, later writes for this long go to the background instead of holding the
/// answer: during an outage only the first response pays the timeout.
const DEGRADED_FOR_MS: i64 = 10_000;

/// Unix ms of the last failed response write (0: none).
static LAST_WRITE_FAILURE_MS: AtomicI64 = AtomicI64::new(0);

fn not_found(id: &str) -> GatewayError {
    GatewayError::new(
        ErrorKind::NotFound,
        ErrorSource::Downstream,
        format!("Response with id '{id}' not found."),
    )
}

fn unavailable(e: &dyn std::fmt::Display) -> GatewayError {
    tracing::warn!(error = %e, "stored responses: database unavailable");
    GatewayError::new(
        ErrorKind::Unavailable,
        ErrorSource::Internal,
        "The response store is temporarily unavailable; try again shortly.",
    )
    .with_code("storage_unavailable")
    .retryable(true)
}

async fn load(storage: &dyn Storage, id: &str) -> Result<Option<StoredResponse>, GatewayError> {
    match tokio::time::timeout(STORE_TIMEOUT, storage.get_response(id)).await {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(e)) => Err(unavailable(&e)),
        Err(_) => Err(unavailable(&"timed out")),
    }
}

async fn find(state: &AppState, id: &str) -> Result<StoredResponse, GatewayError> {
    let Some(storage) = &state.storage else {
        return Err(not_found(id));
    };
    load(storage.as_ref(), id)
        .await?
        .ok_or_else(|| not_found(id))
}

/// `GET /v1/responses/{id}`
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    if params.get("stream").is_some_and(|v| v == "true") {
        return Err(GatewayError::invalid_param(
            "stream",
            "Streaming a stored response is not supported: omit 'stream'.",
        )
        .into());
    }
    let found = find(&state, &id).await?;
    Ok(Json(found.response).into_response())
}

/// `DELETE /v1/responses/{id}`
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let Some(storage) = &state.storage else {
        return Err(not_found(&id).into());
    };
    let deleted = match tokio::time::timeout(STORE_TIMEOUT, storage.delete_response(&id)).await {
        Ok(Ok(deleted)) => deleted,
        Ok(Err(e)) => return Err(unavailable(&e).into()),
        Err(_) => return Err(unavailable(&"timed out").into()),
    };
    if !deleted {
        return Err(not_found(&id).into());
    }
    Ok(Json(json!({"id": id, "object": "response.deleted", "deleted": true})).into_response())
}

/// `GET /v1/responses/{id}/input_items?limit=&order=&after=`
pub async fn input_items(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let limit = match params.get("limit") {
        None => 20,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(GatewayError::invalid_param(
                    "limit",
                    format!("Invalid 'limit': {v:?}. Expected an integer from 1 to 100."),
                )
                .into())
            }
        },
    };
    let descending = match params.get("order").map(String::as_str) {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => {
            return Err(GatewayError::invalid_param(
                "order",
                format!("Invalid 'order': {other:?}. Supported values are: 'asc' and 'desc'."),
            )
            .into())
        }
    };
    let found = find(&state, &id).await?;
    let mut items = found.input_items;
    if descending {
        items.reverse();
    }
    let start = match params.get("after") {
        None => 0,
        Some(after) => match items.iter().position(|i| i["id"] == after.as_str()) {
            Some(pos) => pos + 1,
            None => {
                return Err(GatewayError::invalid_param(
                    "after",
                    format!("No input item with id '{after}' in response '{id}'."),
                )
                .into())
            }
        },
    };
    let page: Vec<Value> = items.iter().skip(start).take(limit).cloned().collect();
    let has_more = start + page.len() < items.len();
    let first_id = page.first().map(|i| i["id"].clone()).unwrap_or(json!(""));
    let last_id = page.last().map(|i| i["id"].clone()).unwrap_or(json!(""));
    Ok(Json(json!({
        "object": "list",
        "data": page,
        "first_id": first_id,
        "last_id": last_id,
        "has_more": has_more,
    }))
    .into_response())
}

/// What `POST /v1/responses` must do about storage, decided before the provider call.
pub struct Storing {
    storage: Arc<dyn Storage>,
    /// The conversation up to this request (previous context and output, then this input).
    context: Vec<Value>,
    input_items: Vec<Value>,
    previous_response_id: Option<String>,
    key_hash: Option<String>,
}

/// Applies `previous_response_id` (prepending the stored conversation to `req.input`) and
/// decides whether to store. Returns `(store, previous_response_id)` for the response echo and
/// the store plan, if any.
pub async fn prepare(
    state: &AppState,
    req: &mut CreateResponseRequest,
    body: &[u8],
    key_hash: Option<&str>,
) -> Result<(bool, Option<String>, Option<Storing>), GatewayError> {
    let previous = req.previous_response_id.take();
    let wants_store = req.store.unwrap_or(true);
    let Some(storage) = state.storage.clone() else {
        if previous.is_some() {
            return Err(GatewayError::invalid_param(
                "previous_response_id",
                "previous_response_id requires stored responses, but storage is disabled on this gateway (STORAGE_ENABLED=false); send the whole conversation in 'input' instead.",
            ));
        }
        // Nothing is kept: report `store: false`, as the response really is not stored.
        return Ok((false, None, None));
    };
    let mut context = Vec::new();
    if let Some(prev_id) = &previous {
        let prev = load(storage.as_ref(), prev_id).await?.ok_or_else(|| {
            GatewayError::new(
                ErrorKind::NotFound,
                ErrorSource::Downstream,
                format!("Previous response with id '{prev_id}' not found."),
            )
            .with_param("previous_response_id")
            .with_code("previous_response_not_found")
        })?;
        context = prev.context;
        context.extend(stored_items::output_items(&prev.response));
        req.input = Some(stored_items::prepend(&context, req.input.take())?);
    }
    if !wants_store {
        return Ok((false, previous, None));
    }
    let input_items = stored_items::normalize(stored_items::raw_input(body));
    context.extend(input_items.iter().cloned());
    Ok((
        true,
        previous.clone(),
        Some(Storing {
            storage,
            context,
            input_items,
            previous_response_id: previous,
            key_hash: key_hash.map(str::to_owned),
        }),
    ))
}

impl Storing {
    /// Stores the finished `Response` object before the answer goes out, so a follow-up with
    /// `previous_response_id` finds it (bounded wait; failures are logged and counted, never an
    /// error for the client). While writes are failing it stores in the background instead.
    pub async fn save(self, response: Value) {
        let failed_at = LAST_WRITE_FAILURE_MS.load(Ordering::Relaxed);
        if failed_at != 0 && gomodel_storage::now_ms() - failed_at < DEGRADED_FOR_MS {
            tokio::spawn(self.write(response));
        } else {
            self.write(response).await;
        }
    }

    async fn write(self, response: Value) {
        let (Some(id), Some(model)) = (
            response
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            response
                .get("model")
                .and_then(Value::as_str)
                .map(str::to_owned),
        ) else {
            return;
        };
        let record = StoredResponse {
            id,
            created_at: response
                .get("created_at")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            model,
            previous_response_id: self.previous_response_id,
            key_hash: self.key_hash,
            response,
            input_items: self.input_items,
            context: self.context,
        };
        let result = tokio::time::timeout(STORE_TIMEOUT, self.storage.put_response(&record)).await;
        let failure = match result {
            Ok(Ok(())) => {
                LAST_WRITE_FAILURE_MS.store(0, Ordering::Relaxed);
                return;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out".to_owned(),
        };
        LAST_WRITE_FAILURE_MS.store(gomodel_storage::now_ms(), Ordering::Relaxed);
        metrics::counter!(m::STORED_RESPONSE_ERRORS).increment(1);
        tracing::warn!(response_id = %record.id, error = %failure, "could not store the response");
    }
}

/// The `response` of the terminal event (`response.completed`, `.incomplete`, `.failed`) in
/// a frame of Responses SSE, if the frame holds one.
pub fn terminal_response(frame: &[u8]) -> Option<Value> {
    const TERMINAL: [&[u8]; 3] = [
        b"event: response.completed\n",
        b"event: response.incomplete\n",
        b"event: response.failed\n",
    ];
    let start = TERMINAL
        .iter()
        .find_map(|t| find_bytes(frame, t).map(|i| i + t.len()))?;
    let rest = &frame[start..];
    let data = rest.strip_prefix(b"data: ")?;
    let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let mut event: Value = serde_json::from_slice(&data[..end]).ok()?;
    event.get_mut("response").map(Value::take)
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_terminal_response_in_a_frame() {
        let frame = b"event: response.output_item.done\ndata: {\"type\":\"x\"}\n\nevent: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\"}}\n\n";
        assert_eq!(terminal_response(frame), Some(json!({"id": "resp_1"})));
        let failed = b"event: response.failed\ndata: {\"response\":{\"id\":\"r\",\"status\":\"failed\"}}\n\n";
        assert_eq!(terminal_response(failed).unwrap()["status"], "failed");
        assert_eq!(
            terminal_response(b"event: response.output_text.delta\ndata: {}\n\n"),
            None
        );
    }
}
