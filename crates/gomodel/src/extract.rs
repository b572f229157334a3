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

/// The configured body limit, put in the request extensions by the body-limit middleware so the
/// 413 for a chunked body can name it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl<S: Send + Sync, T: OpenAiBody> FromRequest<S> for OpenAiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = read_body(req, state).await?;
        T::parse(&body).map(OpenAiJson).map_err(AppError)
    }
}

/// Like [`OpenAiJson`], and also hands over the raw body (shared, not copied): the Responses
/// API stores the request's input items as sent.
pub struct OpenAiJsonWithBody<T>(pub T, pub Bytes);

impl<S: Send + Sync, T: OpenAiBody> FromRequest<S> for OpenAiJsonWithBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = read_body(req, state).await?;
        let parsed = T::parse(&body).map_err(AppError)?;
        Ok(OpenAiJsonWithBody(parsed, body))
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    check_content_type(req.headers())?;
    let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
    let body = Bytes::from_request(req, state).await.map_err(|rejection| {
        // `DefaultBodyLimit` makes buffering fail with 413 for chunked bodies over the limit
        // (declared lengths are refused earlier by the body-limit middleware).
        if rejection.status().as_u16() == 413 {
            AppError(payload_too_large(limit))
        } else {
            AppError(GatewayError::invalid_request(format!(
                "Could not read the request body: {}",
                rejection.body_text()
            )))
        }
    })?;
    Ok(body)
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
