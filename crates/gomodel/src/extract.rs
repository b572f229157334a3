//! The JSON body extractor. Unlike `axum::Json`, every rejection is an OpenAI-shaped error:
//! 400 for a wrong content type, unreadable or malformed body (naming the field at fault),
//! 413 for a body over the limit.

use crate::error::AppError;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use bytes::Bytes;
use gomodel_core::{ErrorKind, ErrorSource, GatewayError};
use gomodel_openai::chat::ChatCompletionRequest;
use gomodel_openai::embeddings::CreateEmbeddingRequest;
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// A request body type with an OpenAI-style parser (errors name the JSON path at fault).
pub trait OpenAiBody: Sized {
    fn parse(body: &[u8]) -> Result<Self, GatewayError>;
}

impl OpenAiBody for ChatCompletionRequest {
    fn parse(body: &[u8]) -> Result<Self, GatewayError> {
        gomodel_openai::chat::parse_request(body)
    }
}

impl OpenAiBody for CreateEmbeddingRequest {
    fn parse(body: &[u8]) -> Result<Self, GatewayError> {
        gomodel_openai::embeddings::parse_request(body)
    }
}

pub struct OpenAiJson<T>(pub T);

/// The configured body limit, put in the request extensions by the front door so the extractor
/// refuses a chunked body over it with a 413 naming it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// For a router used without its front door.
const DEFAULT_BODY_LIMIT: usize = gomodel_config::DEFAULT_BODY_LIMIT_BYTES;

impl<S: Send + Sync, T: OpenAiBody> FromRequest<S> for OpenAiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let body = read_body(req).await?;
        T::parse(&body).map(OpenAiJson).map_err(AppError)
    }
}

/// Like [`OpenAiJson`], and also hands over the raw body (shared, not copied): the Responses
/// API stores the request's input items as sent.
pub struct OpenAiJsonWithBody<T>(pub T, pub Bytes);

impl<S: Send + Sync, T: OpenAiBody> FromRequest<S> for OpenAiJsonWithBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let body = read_body(req).await?;
        let parsed = T::parse(&body).map_err(AppError)?;
        Ok(OpenAiJsonWithBody(parsed, body))
    }
}

async fn read_body(req: Request) -> Result<Bytes, AppError> {
    check_content_type(req.headers())?;
    // The front door always sets the limit; the fallback only matters for a bare router.
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
    // A declared length over the limit was refused up front; this catches chunked bodies.
    let collected = Limited::new(req.into_body(), limit).collect().await;
    match collected {
        Ok(body) => Ok(body.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(AppError(payload_too_large(Some(limit)))),
        Err(e) => Err(AppError(GatewayError::invalid_request(format!(
            "Could not read the request body: {e}"
        )))),
    }
}

/// A missing content type is accepted (some HTTP clients omit it for JSON); a present one must
/// be JSON (`application/json`, optionally with parameters, or a `+json` type).
fn check_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        return Ok(());
    }
    Err(AppError(GatewayError::invalid_request(format!(
        "Invalid Content-Type header ({}): the request body must be JSON; send `Content-Type: application/json`.",
        String::from_utf8_lossy(value.as_bytes())
    ))))
}

/// 413, naming the limit when known.
pub fn payload_too_large(limit: Option<usize>) -> GatewayError {
    let message = match limit {
        Some(limit) => format!("Request body too large: the limit is {limit} bytes."),
        None => "Request body too large.".to_owned(),
    };
    GatewayError::new(ErrorKind::PayloadTooLarge, ErrorSource::Downstream, message)
        .with_code("request_too_large")
}
