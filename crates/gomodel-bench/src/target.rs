//! Request construction per target kind. The body is built once (a `Bytes` clone per request is
//! a refcount bump), so the generator's own cost stays small and equal across contenders; only the
//! direct baseline pays per-request work, the SigV4 signature a real client computes.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use http::{Method, Request};
use http_body_util::Full;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::json;

use crate::cli::{TargetArgs, TargetKind};
use crate::sign::Signer;

/// Characters escaped in a Bedrock model id path segment: everything but RFC 3986 unreserved,
/// which is what the AWS SDKs do (`:` in versions, `/` in ARNs).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How the answer body is read and timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// Whole body; success is a 2xx status.
    Plain,
    /// OpenAI server-sent events (`data:` lines, `[DONE]`).
    Sse,
    /// AWS event-stream binary frames (ConverseStream).
    EventStream,
}

pub struct Target {
    pub reader: Reader,
    /// `host:port`, also the address dialed.
    pub authority: String,
    path: String,
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    signer: Option<Signer>,
}

impl Target {
    pub fn new(args: &TargetArgs) -> Result<Self, String> {
        let uri: http::Uri = args
            .url
            .parse()
            .map_err(|e| format!("bad --url {}: {e}", args.url))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "--url must be plain http on loopback, got {}",
                args.url
            ));
        }
        let host = uri.host().unwrap_or_default();
        if !is_loopback(host) {
            return Err(format!(
                "refusing non-loopback host {host}: benchmarks only run on this machine"
            ));
        }
        let port = uri.port_u16().unwrap_or(80);
        let authority = format!("{host}:{port}");
        let base = uri.path().trim_end_matches('/').to_owned();
        let model_seg = utf8_percent_encode(&args.model, PATH_SEGMENT).to_string();

        let (path, mut body, reader, signed) = match args.target {
            TargetKind::OpenaiChat => {
                let mut body = json!({
                    "model": args.model,
                    "messages": [{"role": "user", "content": args.prompt}],
                });
                if args.stream {
                    body["stream"] = json!(true);
                }
                let reader = if args.stream {
                    Reader::Sse
                } else {
                    Reader::Plain
                };
                (format!("{base}/v1/chat/completions"), body, reader, false)
            }
            TargetKind::OpenaiEmbeddings => {
                let body = json!({"model": args.model, "input": embed_texts(args.embed_inputs)});
                (format!("{base}/v1/embeddings"), body, Reader::Plain, false)
            }
            TargetKind::Converse | TargetKind::ConverseStream => {
                let body =
                    json!({"messages": [{"role": "user", "content": [{"text": args.prompt}]}]});
                let (op, reader) = if args.target == TargetKind::Converse {
                    ("converse", Reader::Plain)
                } else {
                    ("converse-stream", Reader::EventStream)
                };
                (format!("{base}/model/{model_seg}/{op}"), body, reader, true)
            }
            TargetKind::InvokeEmbeddings => {
                let body = if args.model.starts_with("amazon.titan") {
                    // Titan embeds one text per call; the batch size does not apply.
                    json!({"inputText": embed_texts(1).first().cloned().unwrap_or_default()})
                } else {
                    json!({"texts": embed_texts(args.embed_inputs), "input_type": "search_document"})
                };
                (
                    format!("{base}/model/{model_seg}/invoke"),
                    body,
                    Reader::Plain,
                    true,
                )
            }
        };

        if let Some(extra) = &args.extra_body {
            merge_extra(&mut body, extra)?;
        }
        let mut headers = vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
        if reader == Reader::EventStream {
            headers.push((
                http::header::ACCEPT,
                HeaderValue::from_static("application/vnd.amazon.eventstream"),
            ));
        }
        for raw in &args.headers {
            headers.push(parse_header(raw)?);
        }
        let signer = signed.then(|| Signer::new(&args.access_key, &args.secret_key, &args.region));
        Ok(Self {
            reader,
            url: format!("http://{authority}{path}"),
            authority,
            path,
            headers,
            body: Bytes::from(serde_json::to_vec(&body).map_err(|e| e.to_string())?),
            signer,
        })
    }

    /// One ready-to-send request (signed now for the Bedrock targets).
    pub fn request(&self) -> Result<Request<Full<Bytes>>, String> {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(self.path.as_str())
            .header(HOST, self.authority.as_str());
        for (k, v) in &self.headers {
            builder = builder.header(k, v);
        }
        if let Some(signer) = &self.signer {
            let signed = signer.sign(
                &self.url,
                &[
                    ("host", self.authority.as_str()),
                    ("content-type", "application/json"),
                ],
                &self.body,
            )?;
            for (k, v) in signed {
                builder = builder.header(k, v);
            }
        }
        builder
            .body(Full::new(self.body.clone()))
            .map_err(|e| format!("build request: {e}"))
    }
}

pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// Merges a JSON object's members into the body (top level only).
fn merge_extra(body: &mut serde_json::Value, extra: &str) -> Result<(), String> {
    let extra: serde_json::Value =
        serde_json::from_str(extra).map_err(|e| format!("--extra-body is not JSON: {e}"))?;
    let (Some(obj), serde_json::Value::Object(add)) = (body.as_object_mut(), extra) else {
        return Err("--extra-body must be a JSON object".into());
    };
    obj.extend(add);
    Ok(())
}

fn parse_header(raw: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| format!("header {raw:?} is not `name: value`"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|e| format!("header name {name:?}: {e}"))?;
    let value =
        HeaderValue::from_str(value.trim()).map_err(|e| format!("header value for {name}: {e}"))?;
    Ok((name, value))
}

/// Deterministic inputs so every contender embeds the same texts.
fn embed_texts(n: usize) -> Vec<String> {
    (0..n.max(1))
        .map(|i| format!("benchmark input number {i} about gateways and latency"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(kind: TargetKind, url: &str) -> TargetArgs {
        TargetArgs {
            target: kind,
            url: url.into(),
            model: "anthropic.claude-3-5-sonnet-20240620-v1:0".into(),
            stream: false,
            prompt: "hi".into(),
            embed_inputs: 3,
            extra_body: None,
            headers: vec!["x-test: 1".into()],
            region: "us-east-1".into(),
            access_key: "AKIDEMULATOR".into(),
            secret_key: "emulator-secret".into(),
            timeout: 1.0,
        }
    }

    #[test]
    fn bedrock_path_is_percent_encoded_and_signed() {
        let t = Target::new(&args(TargetKind::ConverseStream, "http://127.0.0.1:9")).unwrap();
        let req = t.request().unwrap();
        assert_eq!(
            req.uri().path(),
            "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"
        );
        assert!(req.headers().contains_key("authorization"));
        assert_eq!(t.reader, Reader::EventStream);
    }

    #[test]
    fn openai_chat_carries_custom_headers() {
        let t = Target::new(&args(TargetKind::OpenaiChat, "http://localhost:8080/")).unwrap();
        let req = t.request().unwrap();
        assert_eq!(req.uri().path(), "/v1/chat/completions");
        assert_eq!(req.headers()["x-test"], "1");
        assert_eq!(req.headers()["host"], "localhost:8080");
    }

    #[test]
    fn extra_body_is_merged() {
        let mut a = args(TargetKind::OpenaiEmbeddings, "http://127.0.0.1:9");
        a.extra_body = Some(r#"{"input_type":"search_document"}"#.into());
        let t = Target::new(&a).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&t.body).unwrap();
        assert_eq!(v["input_type"], "search_document");
        assert_eq!(v["input"].as_array().unwrap().len(), 3);
        a.extra_body = Some("[1]".into());
        assert!(Target::new(&a).is_err());
    }

    #[test]
    fn refuses_non_loopback() {
        assert!(Target::new(&args(TargetKind::OpenaiChat, "http://10.0.0.1:80")).is_err());
        assert!(Target::new(&args(TargetKind::OpenaiChat, "http://[::1]:80")).is_ok());
    }
}
