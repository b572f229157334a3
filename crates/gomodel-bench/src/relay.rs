//! Zero-work relays: the cheapest things that can sit where a gateway sits. They answer "how much
//! does one more process with two more loopback hops cost on this machine?", which bounds from
//! below what any gateway can add over direct: the load generator speaks Bedrock through the
//! relay to the emulator, unchanged, so nothing is parsed, translated or signed in between.
//!
//! - `tcp`: bytes copied both ways (`copy_bidirectional`), no HTTP at all: the floor of any proxy.
//! - `http`: hyper's HTTP/1.1 server in front of hyper's pooled client, bodies streamed through
//!   untouched: the floor of any gateway built on the stack gomodel uses.
//!
//! Both run on the multi-thread runtime with one worker per core, as gomodel does.

use std::convert::Infallible;
use std::net::SocketAddr;

use http::uri::{Authority, Scheme};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};

use crate::cli::{RelayArgs, RelayMode};

type Upstream = Client<HttpConnector, Incoming>;
type RelayBody = BoxBody<Bytes, hyper::Error>;

pub async fn run(args: &RelayArgs) -> Result<(), String> {
    let upstream: SocketAddr = args
        .upstream
        .parse()
        .map_err(|e| format!("--upstream {}: {e} (want IP:PORT)", args.upstream))?;
    if !upstream.ip().is_loopback() {
        return Err(format!(
            "--upstream {upstream}: only loopback addresses are accepted"
        ));
    }
    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("bind {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // The harness reads the port from this line when it asked for port 0.
    println!("listening on {local}");
    serve(args.mode, listener, upstream).await
}

/// Relays every connection `listener` accepts to `upstream` until accepting fails.
async fn serve(mode: RelayMode, listener: TcpListener, upstream: SocketAddr) -> Result<(), String> {
    match mode {
        RelayMode::Tcp => serve_tcp(listener, upstream).await,
        RelayMode::Http => serve_http(listener, upstream).await,
    }
}

async fn serve_tcp(listener: TcpListener, upstream: SocketAddr) -> Result<(), String> {
    loop {
        let (mut client, _) = listener.accept().await.map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        });
    }
}

async fn serve_http(listener: TcpListener, upstream: SocketAddr) -> Result<(), String> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Upstream = Client::builder(TokioExecutor::new()).build(connector);
    let authority: Authority = upstream
        .to_string()
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    loop {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let client = client.clone();
        let authority = authority.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| forward(client.clone(), authority.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Sends the request on to the upstream as it came (headers, `host` and the signed body
/// included), and the answer back as it comes; an upstream failure is a bare 502.
async fn forward(
    client: Upstream,
    authority: Authority,
    req: Request<Incoming>,
) -> Result<Response<RelayBody>, Infallible> {
    let (mut parts, body) = req.into_parts();
    let mut uri = parts.uri.into_parts();
    uri.scheme = Some(Scheme::HTTP);
    uri.authority = Some(authority);
    parts.uri = match Uri::from_parts(uri) {
        Ok(u) => u,
        Err(_) => return Ok(bad_gateway()),
    };
    match client.request(Request::from_parts(parts, body)).await {
        Ok(resp) => Ok(resp.map(BodyExt::boxed)),
        Err(_) => Ok(bad_gateway()),
    }
}

fn bad_gateway() -> Response<RelayBody> {
    let body = Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed();
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::BAD_GATEWAY;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::Conn;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An upstream that answers every request on a connection with its own request line and
    /// `host` header echoed in the body, so a test sees what reached it.
    async fn echo_upstream() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut have = 0;
                    loop {
                        let n = s.read(&mut buf[have..]).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        have += n;
                        let text = String::from_utf8_lossy(&buf[..have]).into_owned();
                        let Some(end) = text.find("\r\n\r\n") else {
                            continue;
                        };
                        // The test bodies are "ping" with a content-length of 4.
                        if have < end + 4 + 4 {
                            continue;
                        }
                        let line = text.lines().next().unwrap_or_default().to_owned();
                        let host = text
                            .lines()
                            .find_map(|l| l.strip_prefix("host: "))
                            .unwrap_or("-")
                            .to_owned();
                        let body = format!("{line}|{host}|{}", &text[end + 4..end + 8]);
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        s.write_all(resp.as_bytes()).await.unwrap();
                        have = 0;
                    }
                });
            }
        });
        addr
    }

    async fn relay(mode: RelayMode, upstream: SocketAddr) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(mode, listener, upstream));
        addr
    }

    /// Both relays pass a request through unchanged (path, `host` as the client signed it,
    /// body) and the answer back, several times on one keep-alive connection.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_pass_through_unchanged_on_one_connection() {
        let upstream = echo_upstream().await;
        for mode in [RelayMode::Tcp, RelayMode::Http] {
            let addr = relay(mode, upstream).await;
            let mut conn = Conn::new(&addr.to_string());
            for i in 0..3 {
                let req = Request::post(format!("/model/m{i}/converse"))
                    .header("host", "signed.example:1")
                    .body(Full::new(Bytes::from_static(b"ping")))
                    .unwrap();
                let resp = conn.send(req).await.unwrap();
                assert_eq!(resp.status(), 200, "{mode:?}");
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(
                    std::str::from_utf8(&body).unwrap(),
                    format!("POST /model/m{i}/converse HTTP/1.1|signed.example:1|ping"),
                    "{mode:?}"
                );
            }
            assert_eq!(
                conn.connects, 1,
                "{mode:?}: the relay kept the connection alive"
            );
        }
    }

    /// An upstream that is gone is a 502 from the HTTP relay, and a closed connection from the
    /// TCP relay: never a hang.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_upstream_fails_fast() {
        let dead = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        // One request through a fresh relay of each kind; a hang fails the test after 5 s.
        let through = |mode| async move {
            let addr = relay(mode, dead).await;
            let req = Request::post("/x")
                .body(Full::new(Bytes::from_static(b"ping")))
                .unwrap();
            let mut conn = Conn::new(&addr.to_string());
            tokio::time::timeout(std::time::Duration::from_secs(5), conn.send(req))
                .await
                .unwrap()
        };
        let resp = through(RelayMode::Http).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
        assert!(
            through(RelayMode::Tcp).await.is_err(),
            "the TCP relay closes the client's connection"
        );
    }
}
