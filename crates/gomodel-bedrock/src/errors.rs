//! Upstream failures → [`GatewayError`].
//!
//! The exception name decides the mapping (never the HTTP status alone): Bedrock answers e.g.
//! `ModelNotReadyException` with 429 and `ServiceQuotaExceededException` with 400, and a 403 may
//! be about model access (the client's problem to report) or about the gateway's own credentials
//! (an operator problem, so a 502). The status is only the fallback for unknown names.
//!
//! `code` is the exception name unless a more specific OpenAI code applies
//! (`context_length_exceeded`, `model_not_found`).

use crate::wire::error::ErrorBody;
use gomodel_core::{ErrorKind, GatewayError};
use std::time::Duration;

const ACCESS_HINT: &str =
    "the AWS principal lacks Bedrock permissions, or model access has not been granted in the Bedrock console";
const CREDENTIALS_HINT: &str = "Bedrock rejected the gateway's AWS credentials: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or the AWS profile the gateway runs with, that they belong to the right account and have not expired, and that the clock is in sync";

/// Substrings (lowercase) of Bedrock validation messages that mean the prompt does not fit the
/// model's context window. Each model family words it differently.
const CONTEXT_OVERFLOW_PHRASES: &[&str] = &[
    "input is too long",
    "too many input tokens",
    "prompt is too long",
    "maximum context length",
    "context length exceeded",
    "exceeds the context window",
    "context window exceeded",
    "input token count exceeds",
    "too many tokens in the input",
];

/// Exception names that mean the gateway's own AWS credentials or signature were refused.
const CREDENTIAL_EXCEPTIONS: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "ExpiredToken",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "TokenRefreshRequired",
];

/// Part of the advice added to Bedrock's "on-demand throughput isn't supported" refusal; also how
/// [`is_on_demand_refusal`] recognises it.
const PROFILE_ONLY_ADVICE: &str = "must be called through an inference profile";

/// Whether `err` is Bedrock refusing an on-demand call by base id of a profile-only model.
pub fn is_on_demand_refusal(err: &GatewayError) -> bool {
    err.code.as_deref() == Some("ValidationException") && err.message.contains(PROFILE_ONLY_ADVICE)
}

/// Whether `err` says the signing credentials were rejected as expired, so cached credentials
/// should be dropped before the next request.
pub fn is_expired_credentials(err: &GatewayError) -> bool {
    matches!(
        err.code.as_deref(),
        Some("ExpiredTokenException" | "ExpiredToken" | "TokenRefreshRequired")
    )
}

/// An HTTP error answer: status, headers (for `x-amzn-ErrorType`, `Retry-After`) and body.
/// `model` is the model id of the call, for hints that name it.
pub fn from_response(
    status: u16,
    headers: &http::HeaderMap,
    body: &[u8],
    model: Option<&str>,
) -> GatewayError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let header_name = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let name = header_name
        .or(parsed.kind.clone())
        .or(parsed.code.clone())
        .unwrap_or_default();
    let message = match parsed.message {
        Some(m) if !m.trim().is_empty() => m,
        // A non-JSON body (a proxy's HTML page, say) is still worth showing, briefly.
        _ if parsed.kind.is_none() && parsed.code.is_none() && !body.is_empty() => {
            let text = String::from_utf8_lossy(body);
            let trimmed: String = text.trim().chars().take(300).collect();
            trimmed
        }
        _ => String::new(),
    };
    let mut err = classify(&name, Some(status), message, model);
    if let Some(after) = retry_after(headers) {
        err = err.with_retry_after(after);
    }
    err
}

/// An in-stream exception frame (`:message-type: exception`): `:exception-type` (lowerCamel,
/// e.g. `throttlingException`) and its JSON payload.
pub fn from_stream_exception(
    exception_type: &str,
    payload: &[u8],
    model: Option<&str>,
) -> GatewayError {
    let parsed: ErrorBody = serde_json::from_slice(payload).unwrap_or_default();
    let mut message = parsed.message.unwrap_or_default();
    if let Some(original) = parsed.original_message.filter(|m| !m.is_empty()) {
        if message.is_empty() {
            message = original;
        } else if !message.contains(&original) {
            message = format!("{message} (model said: {original})");
        }
    }
    classify(exception_type, None, message, model)
}

/// A `:message-type: error` frame: `:error-code` and `:error-message` headers.
pub fn from_stream_error(code: &str, message: &str, model: Option<&str>) -> GatewayError {
    classify(code, None, message.to_owned(), model)
}

/// A transport failure talking to Bedrock (`what` names the operation, e.g. `Converse`): a
/// client error of the pool (connect, DNS, TLS, broken connection) or a body read error.
pub fn from_transport(err: &(dyn std::error::Error + 'static), what: &str) -> GatewayError {
    let detail = error_chain(err);
    if timed_out_in(err) {
        GatewayError::upstream(
            ErrorKind::Timeout,
            format!("Bedrock {what} timed out: {detail}"),
        )
        .with_code("timeout")
        .retryable(true)
    } else if is_connect(err) {
        GatewayError::upstream(
            ErrorKind::UpstreamError,
            format!("could not connect to Bedrock for {what}: {detail}"),
        )
        .with_code("upstream_connection_error")
        .retryable(true)
    } else {
        GatewayError::upstream(
            ErrorKind::UpstreamError,
            format!("Bedrock {what} failed in transit: {detail}"),
        )
        .with_code("upstream_connection_error")
        .retryable(true)
    }
}

/// A call that did not finish within its deadline (`tokio::time::timeout` elapsed).
pub fn deadline(what: &str, after: Duration) -> GatewayError {
    GatewayError::upstream(
        ErrorKind::Timeout,
        format!(
            "Bedrock {what} timed out: no answer within {} s",
            after.as_secs()
        ),
    )
    .with_code("timeout")
    .retryable(true)
}

/// Whether anything in the chain is an I/O timeout (the connect timeout ends up there), as
/// reqwest's `is_timeout` checked.
pub(crate) fn timed_out_in(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        next = e.source();
    }
    false
}

/// Whether the failure happened before a connection was up (refused, DNS, TLS handshake).
pub(crate) fn is_connect(err: &(dyn std::error::Error + 'static)) -> bool {
    err.downcast_ref::<hyper_util::client::legacy::Error>()
        .is_some_and(hyper_util::client::legacy::Error::is_connect)
}

/// An answer Bedrock sent that we cannot use (bad JSON, missing members).
pub fn bad_upstream(message: impl Into<String>) -> GatewayError {
    GatewayError::upstream(ErrorKind::UpstreamError, message).with_code("bad_upstream_response")
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let v = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// `ValidationException:http://internal.amazon.com/coral/...` → `ValidationException`;
/// `com.amazon.coral.service#UnrecognizedClientException` → `UnrecognizedClientException`;
/// `throttlingException` (stream member) → `ThrottlingException`.
fn normalize_name(raw: &str) -> String {
    let name = raw.split(':').next().unwrap_or(raw);
    let name = name.rsplit('#').next().unwrap_or(name).trim();
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

fn classify(
    raw_name: &str,
    status: Option<u16>,
    message: String,
    model: Option<&str>,
) -> GatewayError {
    let name = normalize_name(raw_name);
    let message = if message.trim().is_empty() {
        match (name.is_empty(), status) {
            (false, Some(s)) => format!("Bedrock returned {name} (HTTP {s})"),
            (false, None) => format!("Bedrock returned {name}"),
            (true, Some(s)) => format!("Bedrock returned HTTP {s}"),
            (true, None) => "Bedrock returned an error".to_owned(),
        }
    } else {
        message
    };
    let up =
        |kind: ErrorKind, msg: String| GatewayError::upstream(kind, msg).with_code(name.clone());

    match name.as_str() {
        "ValidationException" => validation(message, model),
        "AccessDeniedException" => up(
            ErrorKind::PermissionDenied,
            format!("{message} ({ACCESS_HINT})"),
        ),
        n if CREDENTIAL_EXCEPTIONS.contains(&n) => up(
            ErrorKind::UpstreamError,
            format!("{message} ({CREDENTIALS_HINT})"),
        )
        // Expired temporary credentials are refreshed on the next try.
        .retryable(is_expired_name(n)),
        "ResourceNotFoundException" => GatewayError::upstream(ErrorKind::NotFound, message)
            .with_param("model")
            .with_code("model_not_found"),
        "ThrottlingException" | "TooManyRequestsException" => {
            up(ErrorKind::RateLimited, message).retryable(true)
        }
        "ServiceQuotaExceededException" => up(ErrorKind::RateLimited, message),
        "ModelNotReadyException" | "ServiceUnavailableException" => {
            up(ErrorKind::Unavailable, message).retryable(true)
        }
        "ModelTimeoutException" => up(ErrorKind::Timeout, message),
        "ModelErrorException" | "ModelStreamErrorException" => {
            up(ErrorKind::UpstreamError, message)
        }
        "InternalServerException" | "InternalFailure" => {
            up(ErrorKind::UpstreamError, message).retryable(true)
        }
        _ => by_status(name, status, message),
    }
}

fn is_expired_name(name: &str) -> bool {
    matches!(
        name,
        "ExpiredTokenException" | "ExpiredToken" | "TokenRefreshRequired"
    )
}

fn is_context_overflow(lower: &str) -> bool {
    CONTEXT_OVERFLOW_PHRASES.iter().any(|p| lower.contains(p))
}

fn context_overflow(message: String) -> GatewayError {
    GatewayError::upstream(ErrorKind::InvalidRequest, message)
        .with_param("messages")
        .with_code("context_length_exceeded")
}

fn validation(message: String, model: Option<&str>) -> GatewayError {
    let lower = message.to_lowercase().replace('\u{2019}', "'");
    if is_context_overflow(&lower) {
        return context_overflow(message);
    }
    if lower.contains("on-demand throughput isn't supported") {
        let model = model.unwrap_or("<model>");
        let advice = format!(
            "{message} — the model `{model}` {PROFILE_ONLY_ADVICE}: set BEDROCK_MODELS to the inference profile ID, e.g. `us.{model}`, and call it by that ID"
        );
        return GatewayError::upstream(ErrorKind::InvalidRequest, advice)
            .with_param("model")
            .with_code("ValidationException");
    }
    GatewayError::upstream(ErrorKind::InvalidRequest, message).with_code("ValidationException")
}

fn by_status(name: String, status: Option<u16>, message: String) -> GatewayError {
    let code = if name.is_empty() {
        status.map_or_else(|| "upstream_error".to_owned(), |s| format!("http_{s}"))
    } else {
        name
    };
    let (kind, retryable, message) = match status {
        // A 401 is about the gateway's signature or credentials, never the client's key.
        Some(401) => (
            ErrorKind::UpstreamError,
            false,
            format!("{message} ({CREDENTIALS_HINT})"),
        ),
        Some(403) => (
            ErrorKind::PermissionDenied,
            false,
            format!("{message} ({ACCESS_HINT})"),
        ),
        Some(404) => (ErrorKind::NotFound, false, message),
        Some(408) => (ErrorKind::Timeout, true, message),
        Some(429) => (ErrorKind::RateLimited, true, message),
        Some(400) if is_context_overflow(&message.to_lowercase()) => {
            return context_overflow(message);
        }
        Some(s) if (400..500).contains(&s) => (ErrorKind::InvalidRequest, false, message),
        Some(503) => (ErrorKind::Unavailable, true, message),
        Some(504) => (ErrorKind::Timeout, true, message),
        _ => (ErrorKind::UpstreamError, true, message),
    };
    GatewayError::upstream(kind, message)
        .with_code(code)
        .retryable(retryable)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(error_type: Option<&str>) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        if let Some(t) = error_type {
            h.insert("x-amzn-ErrorType", t.parse().unwrap());
        }
        h
    }

    struct Case {
        status: u16,
        header: Option<&'static str>,
        body: &'static str,
        want_status: u16,
        want_code: &'static str,
        retryable: bool,
        message_has: &'static str,
    }

    #[test]
    fn http_errors_map_by_exception_name() {
        let cases = [
            Case { status: 400, header: Some("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"), body: r#"{"message":"Malformed input request"}"#, want_status: 400, want_code: "ValidationException", retryable: false, message_has: "Malformed input request" },
            Case { status: 400, header: None, body: r#"{"message":"Input is too long for requested model."}"#, want_status: 400, want_code: "context_length_exceeded", retryable: false, message_has: "Input is too long" },
            Case { status: 400, header: Some("ValidationException"), body: r#"{"message":"Input is too long for requested model."}"#, want_status: 400, want_code: "context_length_exceeded", retryable: false, message_has: "Input is too long" },
            Case { status: 400, header: Some("ValidationException"), body: r#"{"message":"prompt is too long: 250000 tokens > 200000 maximum"}"#, want_status: 400, want_code: "context_length_exceeded", retryable: false, message_has: "prompt is too long" },
            Case { status: 400, header: Some("ValidationException"), body: r#"{"message":"Too many input tokens. Max input tokens: 8192"}"#, want_status: 400, want_code: "context_length_exceeded", retryable: false, message_has: "Max input tokens" },
            Case { status: 400, header: Some("ValidationException"), body: "{\"message\":\"Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model.\"}", want_status: 400, want_code: "ValidationException", retryable: false, message_has: "BEDROCK_MODELS to the inference profile ID, e.g. `us.anthropic.claude-3-7-sonnet-20250219-v1:0`" },
            Case { status: 400, header: Some("ValidationException"), body: r#"{"message":"Invocation of model ID x with on-demand throughput isn't supported."}"#, want_status: 400, want_code: "ValidationException", retryable: false, message_has: "inference profile ID" },
            Case { status: 403, header: Some("AccessDeniedException"), body: r#"{"Message":"You don't have access to the model with the specified model ID."}"#, want_status: 403, want_code: "AccessDeniedException", retryable: false, message_has: "model access has not been granted" },
            Case { status: 403, header: Some("UnrecognizedClientException"), body: r#"{"message":"The security token included in the request is invalid."}"#, want_status: 502, want_code: "UnrecognizedClientException", retryable: false, message_has: "AWS_ACCESS_KEY_ID" },
            Case { status: 403, header: None, body: r#"{"__type":"com.amazon.coral.service#InvalidSignatureException","message":"The request signature we calculated does not match"}"#, want_status: 502, want_code: "InvalidSignatureException", retryable: false, message_has: "credentials" },
            Case { status: 403, header: Some("ExpiredTokenException"), body: r#"{"message":"The security token included in the request is expired"}"#, want_status: 502, want_code: "ExpiredTokenException", retryable: true, message_has: "expired" },
            Case { status: 404, header: Some("ResourceNotFoundException"), body: r#"{"message":"Could not resolve the foundation model from the provided model identifier."}"#, want_status: 404, want_code: "model_not_found", retryable: false, message_has: "Could not resolve" },
            Case { status: 429, header: Some("ThrottlingException"), body: r#"{"message":"Too many requests, please wait before trying again."}"#, want_status: 429, want_code: "ThrottlingException", retryable: true, message_has: "Too many requests" },
            Case { status: 400, header: Some("ServiceQuotaExceededException"), body: r#"{"message":"quota"}"#, want_status: 429, want_code: "ServiceQuotaExceededException", retryable: false, message_has: "quota" },
            Case { status: 429, header: Some("ModelNotReadyException"), body: r#"{"message":"Model is not ready"}"#, want_status: 503, want_code: "ModelNotReadyException", retryable: true, message_has: "not ready" },
            Case { status: 503, header: Some("ServiceUnavailableException"), body: r#"{"message":"unavailable"}"#, want_status: 503, want_code: "ServiceUnavailableException", retryable: true, message_has: "unavailable" },
            Case { status: 408, header: Some("ModelTimeoutException"), body: r#"{"message":"Model has timed out"}"#, want_status: 504, want_code: "ModelTimeoutException", retryable: false, message_has: "timed out" },
            Case { status: 424, header: Some("ModelErrorException"), body: r#"{"message":"The model failed"}"#, want_status: 502, want_code: "ModelErrorException", retryable: false, message_has: "model failed" },
            Case { status: 500, header: Some("InternalServerException"), body: r#"{"message":"internal"}"#, want_status: 502, want_code: "InternalServerException", retryable: true, message_has: "internal" },
            Case { status: 500, header: None, body: "", want_status: 502, want_code: "http_500", retryable: true, message_has: "HTTP 500" },
            Case { status: 502, header: None, body: "<html>Bad Gateway</html>", want_status: 502, want_code: "http_502", retryable: true, message_has: "Bad Gateway" },
            Case { status: 418, header: Some("SomethingNewException"), body: r#"{"message":"new"}"#, want_status: 400, want_code: "SomethingNewException", retryable: false, message_has: "new" },
            Case { status: 401, header: None, body: "{}", want_status: 502, want_code: "http_401", retryable: false, message_has: "AWS_SECRET_ACCESS_KEY" },
        ];
        for c in cases {
            let e = from_response(
                c.status,
                &headers(c.header),
                c.body.as_bytes(),
                Some("anthropic.claude-3-7-sonnet-20250219-v1:0"),
            );
            let ctx = format!("{} {:?} {}", c.status, c.header, c.body);
            assert_eq!(e.status(), c.want_status, "{ctx}: {e}");
            assert_eq!(e.code.as_deref(), Some(c.want_code), "{ctx}");
            assert_eq!(e.retryable, c.retryable, "{ctx}");
            assert!(e.message.contains(c.message_has), "{ctx}: {}", e.message);
        }
    }

    #[test]
    fn stream_exceptions_map_like_http_ones() {
        let cases = [
            (
                "modelStreamErrorException",
                r#"{"message":"boom","originalStatusCode":500,"originalMessage":"upstream boom"}"#,
                502,
                "ModelStreamErrorException",
                false,
                "upstream boom",
            ),
            (
                "throttlingException",
                r#"{"message":"slow down"}"#,
                429,
                "ThrottlingException",
                true,
                "slow down",
            ),
            (
                "validationException",
                r#"{"message":"bad"}"#,
                400,
                "ValidationException",
                false,
                "bad",
            ),
            (
                "internalServerException",
                r#"{"message":"oops"}"#,
                502,
                "InternalServerException",
                true,
                "oops",
            ),
            (
                "serviceUnavailableException",
                r#"{}"#,
                503,
                "ServiceUnavailableException",
                true,
                "ServiceUnavailableException",
            ),
        ];
        for (name, payload, status, code, retryable, has) in cases {
            let e = from_stream_exception(name, payload.as_bytes(), None);
            assert_eq!(e.status(), status, "{name}");
            assert_eq!(e.code.as_deref(), Some(code), "{name}");
            assert_eq!(e.retryable, retryable, "{name}");
            assert!(e.message.contains(has), "{name}: {}", e.message);
        }
    }

    #[test]
    fn retry_after_header_is_kept() {
        let mut h = headers(Some("ThrottlingException"));
        h.insert("retry-after", "7".parse().unwrap());
        let e = from_response(429, &h, b"{}", None);
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
    }

    #[test]
    fn expired_credentials_are_detected() {
        let e = from_response(403, &headers(Some("ExpiredTokenException")), b"{}", None);
        assert!(is_expired_credentials(&e));
        let e = from_response(429, &headers(Some("ThrottlingException")), b"{}", None);
        assert!(!is_expired_credentials(&e));
    }
}
