//! One HTTP/1.1 keep-alive connection per worker. Using hyper's connection-level client (rather
//! than a shared pool) guarantees exactly `concurrency` sockets, each reused for the whole run,
//! and a broken socket is replaced on the next request rather than poisoning a shared pool.

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub struct Conn {
    authority: String,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// How many times this worker had to (re)connect; more than once means the contender
    /// closed keep-alive connections, which is worth seeing in the results.
    pub connects: u64,
}

impl Conn {
    pub fn new(authority: &str) -> Self {
        Self {
            authority: authority.to_owned(),
            sender: None,
            connects: 0,
        }
    }

    async fn connect(&mut self) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = TcpStream::connect(&self.authority)
            .await
            .map_err(|e| format!("connect {}: {e}", self.authority))?;
        // Small requests and SSE frames must not wait on Nagle.
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        // The connection task ends when the socket closes or the sender is dropped.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        self.connects += 1;
        Ok(sender)
    }

    /// Sends one request on this worker's connection, reconnecting first when it was closed.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>, String> {
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.connect().await?,
        };
        if sender.ready().await.is_err() {
            sender = self.connect().await?;
            sender
                .ready()
                .await
                .map_err(|e| format!("connection not ready: {e}"))?;
        }
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("send: {e}"))?;
        self.sender = Some(sender);
        Ok(resp)
    }

    /// Drops the connection so the next request dials afresh (after a failed or cut answer).
    pub fn reset(&mut self) {
        self.sender = None;
    }
}
