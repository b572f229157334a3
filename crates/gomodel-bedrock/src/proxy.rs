//! The connector of the Bedrock client: opens each new pooled connection directly or through the
//! proxy the environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`), as
//! reqwest did before it was replaced on this path (see `transport`).
//!
//! Per destination, decided by hyper_util's [`Matcher`]:
//! - no proxy: TCP, then TLS for `https`;
//! - `https` through a proxy: an HTTP `CONNECT` tunnel ([`Tunnel`]), then TLS end to end;
//! - `http` through a proxy: TCP to the proxy, marked as proxied so the pool's client writes
//!   the request line in absolute form (`POST http://host/path HTTP/1.1`). Such requests also
//!   need `Proxy-Authorization`, which a connector cannot add: `transport` does.
//!
//! Only `http://` proxy URLs are supported: TLS to the proxy itself is refused with a clear
//! error rather than silently sent in clear text.
//!
//! A connector for client-supplied URLs (image downloads) carries an egress policy: direct
//! connections go only to addresses its [`Resolver`] checked, and a destination is vetted before
//! it is handed to a proxy (see `egress` for what that cannot catch).

use crate::egress::Resolver;
use http::uri::Scheme;
use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::dns::GaiResolver;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tower_service::Service;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type Stream = MaybeHttpsStream<TokioIo<TcpStream>>;
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

type Connecting = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

/// Chooses, per new connection, between a direct connection, a CONNECT tunnel and a forwarding
/// proxy. Cloned by the pool for every connect, so everything in it is cheap to clone.
#[derive(Clone)]
pub struct ProxyConnector {
    /// Direct connections, to the addresses `resolver` returns.
    direct: HttpsConnector<HttpConnector<Resolver>>,
    /// Connections to proxies: configuration, never checked against the policy.
    tcp: HttpConnector,
    resolver: Resolver,
    tls: Arc<rustls::ClientConfig>,
    proxies: Arc<Matcher>,
    /// Bounds a whole connect: TCP, the CONNECT exchange and the TLS handshake.
    timeout: Duration,
}

impl ProxyConnector {
    /// `resolver` resolves the direct destinations (and checks them, for client-supplied URLs);
    /// `timeout` bounds each connect.
    pub fn new(
        resolver: Resolver,
        tls: Arc<rustls::ClientConfig>,
        proxies: Arc<Matcher>,
        timeout: Duration,
    ) -> Self {
        Self {
            direct: HttpsConnector::from((tcp(resolver.clone(), timeout), Arc::clone(&tls))),
            tcp: tcp(GaiResolver::new(), timeout),
            resolver,
            tls,
            proxies,
            timeout,
        }
    }

    /// The way to `dst`, after the policy's checks if there is one.
    fn route(&mut self, dst: Uri) -> Connecting {
        let proxy = self.proxies.intercept(&dst);
        let vetting = self.resolver.vet(&dst, proxy.is_some());
        let connecting = self.open(proxy, dst);
        match vetting {
            None => connecting,
            Some(vetting) => Box::pin(async move {
                vetting.await?;
                connecting.await
            }),
        }
    }

    /// Direct, tunnelled or forwarded (the future does nothing until polled).
    fn open(&mut self, proxy: Option<Intercept>, dst: Uri) -> Connecting {
        let Some(proxy) = proxy else {
            let connecting = self.direct.call(dst);
            return Box::pin(async move { Ok(Conn::new(connecting.await?, false)) });
        };
        if proxy.uri().scheme() != Some(&Scheme::HTTP) {
            let err = io::Error::other(format!(
                "proxy {} is not supported for Bedrock: use an http:// proxy URL",
                proxy.uri()
            ));
            return Box::pin(async move { Err(err.into()) });
        }
        if dst.scheme() == Some(&Scheme::HTTPS) {
            self.tunnel(&proxy, dst)
        } else {
            self.forward(&proxy)
        }
    }

    /// TLS to `dst` inside a CONNECT tunnel through `proxy`.
    fn tunnel(&self, proxy: &Intercept, dst: Uri) -> Connecting {
        let mut tunnel = Tunnel::new(proxy.uri().clone(), self.tcp.clone());
        if let Some(auth) = proxy.basic_auth() {
            tunnel = tunnel.with_auth(auth.clone());
        }
        let connecting = HttpsConnector::from((tunnel, Arc::clone(&self.tls))).call(dst);
        Box::pin(async move { Ok(Conn::new(connecting.await?, false)) })
    }

    /// Plain TCP to the proxy, which forwards the absolute-form request to the target.
    fn forward(&self, proxy: &Intercept) -> Connecting {
        let connecting = self.tcp.clone().call(proxy.uri().clone());
        Box::pin(async move { Ok(Conn::new(MaybeHttpsStream::Http(connecting.await?), true)) })
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = Conn;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // `HttpConnector` (under every branch) is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Connecting {
        // The TCP connector's own timeout covers only the TCP connect; reqwest's covered TLS
        // too. An I/O `TimedOut` maps to a gateway timeout (`errors::from_transport`).
        let connecting = tokio::time::timeout(self.timeout, self.route(dst));
        Box::pin(async move {
            connecting.await.unwrap_or_else(|_| {
                Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out").into())
            })
        })
    }
}

/// A TCP connector with the client's socket settings. It must not enforce the `http` scheme: it
/// also opens the TCP leg of `https` targets.
fn tcp<R>(resolver: R, connect_timeout: Duration) -> HttpConnector<R> {
    let mut tcp = HttpConnector::new_with_resolver(resolver);
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_keepalive(Some(TCP_KEEPALIVE));
    tcp.set_connect_timeout(Some(connect_timeout));
    tcp
}

/// A pooled connection: the stream, and whether it goes to a forwarding proxy (which the pool
/// must know to write absolute-form request lines).
pub struct Conn {
    stream: Stream,
    forwarded: bool,
}

impl Conn {
    fn new(stream: Stream, forwarded: bool) -> Self {
        Self { stream, forwarded }
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        self.stream.connected().proxy(self.forwarded)
    }
}

impl Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
