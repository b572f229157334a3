//! One request/answer exchange, timed: whole latency (until the last body byte), and for streams
//! the first content delta and the gaps between content deltas, stamped when the body frame that
//! completed them arrived.

use std::time::{Duration, Instant};

use http_body_util::BodyExt;

use crate::conn::Conn;
use crate::eventstream::EventStreamParser;
use crate::sse::SseParser;
use crate::stats::Recorder;
use crate::target::{Reader, Target};

/// Bytes of a non-2xx body kept in the error message.
const ERR_BODY_MAX: usize = 300;

enum Parser {
    Plain,
    Sse(SseParser),
    Events(EventStreamParser),
}

impl Parser {
    fn new(reader: Reader) -> Self {
        match reader {
            Reader::Plain => Parser::Plain,
            Reader::Sse => Parser::Sse(SseParser::default()),
            Reader::EventStream => Parser::Events(EventStreamParser::default()),
        }
    }

    fn feed(&mut self, data: &[u8]) -> u32 {
        match self {
            Parser::Plain => 0,
            Parser::Sse(p) => p.feed(data),
            Parser::Events(p) => p.feed(data),
        }
    }

    /// A stream must have finished properly (`[DONE]` / `messageStop`) with content and no error.
    fn verdict(&self, content: u32) -> Result<(), String> {
        let (done, error) = match self {
            Parser::Plain => return Ok(()),
            Parser::Sse(p) => (p.done, p.error.clone()),
            Parser::Events(p) => (p.done, p.error.clone()),
        };
        if let Some(e) = error {
            return Err(format!("stream {e}"));
        }
        if !done {
            return Err("stream ended without its final event".into());
        }
        if content == 0 {
            return Err("stream carried no content delta".into());
        }
        Ok(())
    }
}

/// Timing of one successful exchange.
pub struct Timing {
    pub latency: Duration,
    pub first_content: Option<Duration>,
    pub content_events: u32,
}

/// Sends one request and reads the whole answer; `gaps` receives inter-content gaps (ns).
pub async fn exchange(
    conn: &mut Conn,
    target: &Target,
    timeout: Duration,
    gaps: &mut Vec<u64>,
) -> Result<Timing, String> {
    gaps.clear();
    let req = target.request()?;
    let start = Instant::now();
    let run = async {
        let resp = conn.send(req).await?;
        let status = resp.status();
        let mut body = resp.into_body();
        let mut parser = Parser::new(target.reader);
        let mut err_body = Vec::new();
        let mut first: Option<Instant> = None;
        let mut last: Option<Instant> = None;
        let mut content = 0u32;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("body: {e}"))?;
            let Some(data) = frame.data_ref() else {
                continue;
            };
            if !status.is_success() {
                let room = ERR_BODY_MAX.saturating_sub(err_body.len());
                err_body.extend_from_slice(&data[..data.len().min(room)]);
                continue;
            }
            let n = parser.feed(data);
            if n > 0 {
                let now = Instant::now();
                if let Some(prev) = last {
                    gaps.push((now - prev).as_nanos() as u64);
                } else {
                    first = Some(now);
                }
                // Deltas that arrived in the same read were forwarded together: a zero gap.
                gaps.extend(std::iter::repeat_n(0, (n - 1) as usize));
                last = Some(now);
                content += n;
            }
        }
        let end = Instant::now();
        if !status.is_success() {
            return Err(format!(
                "status {}: {}",
                status.as_u16(),
                String::from_utf8_lossy(&err_body)
            ));
        }
        parser.verdict(content)?;
        Ok(Timing {
            latency: end - start,
            first_content: first.map(|f| f - start),
            content_events: content,
        })
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => {
            conn.reset();
            Err(e)
        }
        Err(_) => {
            conn.reset();
            Err(format!("timeout after {timeout:?}"))
        }
    }
}

/// Runs one exchange and records it (latency, TTFT, gaps) or its error.
pub async fn record_one(
    conn: &mut Conn,
    target: &Target,
    timeout: Duration,
    gaps: &mut Vec<u64>,
    rec: &mut Recorder,
) {
    match exchange(conn, target, timeout, gaps).await {
        Ok(t) => {
            rec.ok += 1;
            rec.latency.saturating_record(t.latency.as_nanos() as u64);
            if let Some(f) = t.first_content {
                rec.ttft.saturating_record(f.as_nanos() as u64);
            }
            for &g in gaps.iter() {
                // A zero gap is stored as 1 ns: the histogram's lowest trackable value.
                rec.gap.saturating_record(g.max(1));
            }
            rec.content_events += u64::from(t.content_events);
        }
        Err(e) => rec.error(e),
    }
}
