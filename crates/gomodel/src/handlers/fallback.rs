//! OpenAI-shaped 404 and 405 for requests no route matches.

use crate::error::{error_response, AppError};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gomodel_core::{ErrorKind, ErrorSource, GatewayError};

pub async fn not_found(method: Method, uri: Uri) -> Response {
    AppError(
        GatewayError::new(
            ErrorKind::NotFound,
            ErrorSource::Downstream,
            format!(
                "Unknown request URL: {method} {}. Please check the URL for typos.",
                uri.path()
            ),
        )
        .with_code("unknown_url"),
    )
    .into_response()
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &GatewayError::invalid_request(format!(
            "Method {method} is not allowed for {}.",
            uri.path()
        ))
        .with_code("method_not_allowed"),
    )
}
