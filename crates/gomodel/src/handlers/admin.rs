//! The admin API (master key required, see `auth`): usage totals and the recent request log.
//!
//! `GET /admin/usage?from=&to=&model=&provider=&key_hash=&group_by=day|model|provider`
//! `GET /admin/requests?limit=&cursor=`
//!
//! Times are RFC 3339 (`2025-01-31T00:00:00Z`), a date (`2025-01-31`, midnight UTC) or unix
//! seconds; `from` is inclusive, `to` exclusive.

use crate::app::AppState;
use crate::error::AppError;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gomodel_core::{ErrorKind, ErrorSource, GatewayError};
use gomodel_storage::{Cursor, GroupBy, RequestsQuery, Storage, UsageQuery, UsageRecord};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Admin queries scan the usage table; bound them so a huge range cannot hang a connection.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

fn storage(state: &AppState) -> Result<&Arc<dyn Storage>, GatewayError> {
    state.storage.as_ref().ok_or_else(|| {
        GatewayError::new(
            ErrorKind::Unavailable,
            ErrorSource::Internal,
            "Usage storage is disabled on this gateway (STORAGE_ENABLED=false): there is nothing to report.",
        )
        .with_code("storage_disabled")
    })
}

fn db_error(e: impl std::fmt::Display) -> GatewayError {
    tracing::warn!(error = %e, "admin query failed");
    GatewayError::new(
        ErrorKind::Unavailable,
        ErrorSource::Internal,
        "The usage database is unavailable; try again shortly.",
    )
    .with_code("storage_unavailable")
    .retryable(true)
}

fn reject_unknown(params: &HashMap<String, String>, known: &[&str]) -> Result<(), GatewayError> {
    match params.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(GatewayError::invalid_param(
            k.clone(),
            format!(
                "Unknown query parameter '{k}'. Supported: {}.",
                known.join(", ")
            ),
        )),
    }
}

/// RFC 3339, a date, or unix seconds → unix ms.
pub(crate) fn parse_time(param: &str, v: &str) -> Result<i64, GatewayError> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<i64>() {
        return Ok(secs.saturating_mul(1000));
    }
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX));
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(v, &date_format) {
        return Ok(d.midnight().assume_utc().unix_timestamp() * 1000);
    }
    Err(GatewayError::invalid_param(
        param,
        format!("Invalid '{param}': {v:?}. Use RFC 3339 (2025-01-31T00:00:00Z), a date (2025-01-31) or unix seconds."),
    ))
}

fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// `GET /admin/usage`
pub async fn usage(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    reject_unknown(
        &params,
        &["from", "to", "model", "provider", "key_hash", "group_by"],
    )?;
    let text = |k: &str| params.get(k).filter(|v| !v.is_empty()).cloned();
    let group_by = match params.get("group_by") {
        None => GroupBy::None,
        Some(v) => GroupBy::parse(v).ok_or_else(|| {
            GatewayError::invalid_param(
                "group_by",
                format!("Invalid 'group_by': {v:?}. Supported values are: 'day', 'model' and 'provider'."),
            )
        })?,
    };
    let mut q = UsageQuery {
        from_ms: text("from").map(|v| parse_time("from", &v)).transpose()?,
        to_ms: text("to").map(|v| parse_time("to", &v)).transpose()?,
        model: text("model"),
        provider: text("provider"),
        key_hash: text("key_hash"),
        group_by: GroupBy::None,
    };
    let storage = storage(&state)?;
    let run = async {
        let totals = storage.usage_totals(&q).await?;
        let groups = if group_by == GroupBy::None {
            Vec::new()
        } else {
            q.group_by = group_by;
            storage.usage_totals(&q).await?
        };
        Ok::<_, gomodel_storage::StorageError>((totals, groups))
    };
    let (totals, groups) = tokio::time::timeout(QUERY_TIMEOUT, run)
        .await
        .map_err(|_| db_error("timed out"))?
        .map_err(db_error)?;
    let totals = totals
        .into_iter()
        .next()
        .map(|g| g.totals)
        .unwrap_or_default();
    Ok(Json(json!({
        "object": "usage.summary",
        "from": q.from_ms.map(rfc3339),
        "to": q.to_ms.map(rfc3339),
        "group_by": params.get("group_by"),
        "totals": totals,
        "data": groups,
    }))
    .into_response())
}

/// One request-log row: the record plus its id and an RFC 3339 time.
#[derive(Serialize)]
struct LogRow {
    id: i64,
    created_at: String,
    #[serde(flatten)]
    record: UsageRecord,
}

/// `GET /admin/requests`
pub async fn requests(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    reject_unknown(&params, &["limit", "cursor"])?;
    let limit = match params.get("limit") {
        None => 50,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(GatewayError::invalid_param(
                    "limit",
                    format!("Invalid 'limit': {v:?}. Expected an integer from 1 to 1000."),
                )
                .into())
            }
        },
    };
    let cursor = match params.get("cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(Cursor::decode(c).ok_or_else(|| {
            GatewayError::invalid_param(
                "cursor",
                "Invalid 'cursor': pass the next_cursor of the previous page unchanged.",
            )
        })?),
    };
    let storage = storage(&state)?;
    let page = tokio::time::timeout(
        QUERY_TIMEOUT,
        storage.list_requests(&RequestsQuery { limit, cursor }),
    )
    .await
    .map_err(|_| db_error("timed out"))?
    .map_err(db_error)?;
    let has_more = page.next_cursor.is_some();
    let data: Vec<LogRow> = page
        .data
        .into_iter()
        .map(|row| LogRow {
            id: row.id,
            created_at: rfc3339(row.record.created_at_ms),
            record: row.record,
        })
        .collect();
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "has_more": has_more,
        "next_cursor": page.next_cursor,
    }))
    .into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("from", "1700000000").unwrap(), 1_700_000_000_000);
        assert_eq!(
            parse_time("from", "2023-11-14T22:13:20Z").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_time("from", "2023-11-14T23:13:20.5+01:00").unwrap(),
            1_700_000_000_500
        );
        assert_eq!(parse_time("to", "1970-01-02").unwrap(), 86_400_000);
        let e = parse_time("to", "yesterday").unwrap_err();
        assert_eq!(e.param.as_deref(), Some("to"));
        assert_eq!(rfc3339(1_700_000_000_000), "2023-11-14T22:13:20Z");
    }
}
