//! The Bedrock HTTP client against tiny in-process servers: which way each request leaves
//! (proxy, tunnel, direct), and how transport failures map to gateway errors. Proxy rules are
//! built explicitly: the process environment is never touched.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use gomodel_bedrock::egress::Refused;
use gomodel_bedrock::errors;
use gomodel_bedrock::{EgressPolicy, HttpClient};
use gomodel_core::ErrorKind;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::proxy::matcher::Matcher;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// `user:pass`, base64.
const BASIC: &str = "Basic dXNlcjpwYXNz";

/// Accepts one connection, reads the request head, answers with `reply`, and returns the head.
async fn serve_once(reply: &'static str) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before the request head ended");
            head.extend_from_slice(&buf[..n]);
        }
        conn.write_all(reply.as_bytes()).await.unwrap();
        String::from_utf8(head).unwrap().to_ascii_lowercase()
    });
    (addr, task)
}

fn client(proxies: Matcher) -> HttpClient {
    HttpClient::with_proxies(CONNECT_TIMEOUT, proxies).unwrap()
}

fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri).body(Full::new(Bytes::new())).unwrap()
}

const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

#[tokio::test]
async fn http_target_goes_to_the_proxy_in_absolute_form_with_credentials() {
    let (proxy, seen) = serve_once(OK).await;
    let http = client(
        Matcher::builder()
            .http(format!("http://user:pass@{proxy}"))
            .build(),
    );
    // The target host does not resolve: only the proxy may be connected to.
    let resp = http
        .request(get("http://bedrock.invalid:8080/model/m/converse"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "ok");
    assert_proxied(
        &seen.await.unwrap(),
        "get http://bedrock.invalid:8080/model/m/converse http/1.1",
    );
}

#[tokio::test]
async fn https_target_is_tunnelled_with_connect() {
    let (proxy, seen) = serve_once("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n").await;
    let http = client(
        Matcher::builder()
            .https(format!("http://user:pass@{proxy}"))
            .build(),
    );
    let err = http
        .request(get(
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse",
        ))
        .await
        .unwrap_err();
    assert_proxied(
        &seen.await.unwrap(),
        "connect bedrock-runtime.us-east-1.amazonaws.com:443 http/1.1",
    );
    // A refused tunnel is a connect failure, like a refused connection.
    let mapped = errors::from_transport(&err, "Converse");
    assert!(
        mapped
            .message
            .starts_with("could not connect to Bedrock for Converse"),
        "{}",
        mapped.message
    );
}

#[tokio::test]
async fn no_proxy_host_connects_directly() {
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (direct, seen) = serve_once(OK).await;
    let http = client(
        Matcher::builder()
            .all(format!("http://{}", proxy.local_addr().unwrap()))
            .no("127.0.0.1")
            .build(),
    );
    let resp = http
        .request(get(&format!("http://{direct}/model/m/converse")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let head = seen.await.unwrap();
    assert!(
        head.starts_with("get /model/m/converse http/1.1\r\n"),
        "{head}"
    );
    assert!(!head.contains("proxy-authorization"), "{head}");
    let proxied = tokio::time::timeout(Duration::from_millis(100), proxy.accept()).await;
    assert!(proxied.is_err(), "the proxy was connected to");
}

#[tokio::test]
async fn a_checked_client_vets_targets_before_the_proxy_but_not_the_proxy_itself() {
    // The proxy is on loopback, which the policy refuses as a target: it is configuration.
    let (proxy, seen) = serve_once(OK).await;
    let http = client(
        Matcher::builder()
            .all(format!("http://user:pass@{proxy}"))
            .build(),
    )
    .with_egress_policy(EgressPolicy::default());
    // (target, the refused address; `None`: a name, whose first address depends on the host)
    let refused = [
        (
            "http://169.254.169.254/latest/meta-data/",
            Some("169.254.169.254"),
        ),
        ("https://[fd00::1]/a.png", Some("fd00::1")),
        ("http://localhost:8080/a.png", None),
    ];
    for (target, ip) in refused {
        let err = http.request(get(target)).await.unwrap_err();
        let why = refusal(&err).unwrap_or_else(|| panic!("{target}: {err:?}"));
        assert_eq!(why.literal, ip.is_some(), "{target}");
        if let Some(ip) = ip {
            assert_eq!(why.ip.to_string(), ip, "{target}");
        }
    }
    // A public target is handed to the proxy (8.8.8.8 itself is never connected to).
    let resp = http.request(get("http://8.8.8.8/a.png")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_proxied(&seen.await.unwrap(), "get http://8.8.8.8/a.png http/1.1");
}

/// The egress policy's refusal in `err`'s source chain.
fn refusal(err: &(dyn std::error::Error + 'static)) -> Option<Refused> {
    std::iter::successors(Some(err), |e| e.source())
        .find_map(|e| e.downcast_ref::<Refused>())
        .cloned()
}

#[tokio::test]
async fn tls_to_the_proxy_is_refused_not_downgraded() {
    let http = client(Matcher::builder().all("https://127.0.0.1:9").build());
    let err = http
        .request(get("https://bedrock-runtime.us-east-1.amazonaws.com/"))
        .await
        .unwrap_err();
    let mapped = errors::from_transport(&err, "Converse");
    assert!(
        mapped.message.contains("use an http:// proxy URL"),
        "{}",
        mapped.message
    );
}

#[tokio::test]
async fn refused_connection_maps_to_a_connection_error() {
    let http = client(Matcher::builder().build());
    // Nothing listens on port 9.
    let err = http.request(get("http://127.0.0.1:9/")).await.unwrap_err();
    let mapped = errors::from_transport(&err, "Converse");
    assert_eq!(mapped.kind, ErrorKind::UpstreamError);
    assert_eq!(mapped.code.as_deref(), Some("upstream_connection_error"));
    assert!(mapped.retryable);
    assert!(
        mapped
            .message
            .starts_with("could not connect to Bedrock for Converse: "),
        "{}",
        mapped.message
    );
}

#[test]
fn io_timeouts_and_deadlines_map_to_timeouts() {
    let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out");
    let mapped = errors::from_transport(&io, "Converse");
    assert_eq!(mapped.kind, ErrorKind::Timeout);
    assert_eq!(mapped.code.as_deref(), Some("timeout"));
    assert!(mapped.message.starts_with("Bedrock Converse timed out: "));

    let mapped = errors::deadline("InvokeModel", Duration::from_secs(600));
    assert_eq!(mapped.kind, ErrorKind::Timeout);
    assert_eq!(mapped.code.as_deref(), Some("timeout"));
    assert!(mapped.retryable);
    assert_eq!(
        mapped.message,
        "Bedrock InvokeModel timed out: no answer within 600 s"
    );
}

#[tokio::test]
async fn a_stalled_tls_handshake_is_a_connect_timeout() {
    // Accepts TCP and never answers the TLS ClientHello.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let http =
        HttpClient::with_proxies(Duration::from_millis(200), Matcher::builder().build()).unwrap();
    let err = http
        .request(get(&format!("https://{addr}/")))
        .await
        .unwrap_err();
    let mapped = errors::from_transport(&err, "Converse");
    assert_eq!(mapped.kind, ErrorKind::Timeout, "{}", mapped.message);
    assert_eq!(mapped.code.as_deref(), Some("timeout"));
    drop(silent);
}

/// The proxy saw `request_line` first (the head is lower-cased) and the proxy credentials.
fn assert_proxied(head: &str, request_line: &str) {
    assert!(head.starts_with(&format!("{request_line}\r\n")), "{head}");
    let auth = format!("proxy-authorization: {}\r\n", BASIC.to_ascii_lowercase());
    assert!(head.contains(&auth), "{head}");
}
