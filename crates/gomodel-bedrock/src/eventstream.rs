//! `application/vnd.amazon.eventstream` decoding: response body chunks → whole messages.
//!
//! A read may end mid-frame or carry several frames; [`MessageFrameDecoder`] over one
//! `BytesMut` handles both. The decoder never ends silently on a broken body: a transport error,
//! a truncated last frame, a bad CRC or a stalled body becomes an `Err` item, after which the
//! stream ends.

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::Message;
use bytes::{Bytes, BytesMut};
use futures::stream::{BoxStream, Stream, StreamExt};
use futures::FutureExt;
use gomodel_core::{ErrorKind, GatewayError};
use std::pin::Pin;
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The prelude: total length (4), headers length (4), prelude CRC (4).
const PRELUDE_LEN: usize = 12;
/// Event-stream messages are at most 16 MiB (payload) plus headers; anything claiming more is
/// garbage, and buffering it would only waste memory.
const MAX_MESSAGE_LEN: u32 = 24 * 1024 * 1024;

/// Pulls decoded messages out of a byte stream.
pub struct MessageDecoder {
    body: BoxStream<'static, Result<Bytes, GatewayError>>,
    buf: BytesMut,
    decoder: MessageFrameDecoder,
    /// Whether the decoder has consumed the prelude of a frame it has not finished.
    mid_frame: bool,
    idle: Duration,
    /// Created on the first wait (a `Sleep` needs the runtime), then reset per chunk.
    idle_timer: Option<Pin<Box<Sleep>>>,
    done: bool,
}

impl MessageDecoder {
    /// `idle` bounds the wait for each body chunk, so a stalled upstream ends the stream with a
    /// timeout error instead of hanging the client.
    pub fn new<S>(body: S, idle: Duration) -> Self
    where
        S: Stream<Item = Result<Bytes, GatewayError>> + Send + 'static,
    {
        Self {
            body: body.boxed(),
            buf: BytesMut::with_capacity(8 * 1024),
            decoder: MessageFrameDecoder::new(),
            mid_frame: false,
            idle,
            idle_timer: None,
            done: false,
        }
    }

    /// The next message; `None` once the body ended cleanly at a frame boundary or after an
    /// error was returned.
    pub async fn next_message(&mut self) -> Option<Result<Message, GatewayError>> {
        if self.done {
            return None;
        }
        let result = self.next_inner().await;
        if !matches!(result, Some(Ok(_))) {
            self.done = true;
        }
        result
    }

    async fn next_inner(&mut self) -> Option<Result<Message, GatewayError>> {
        loop {
            if !self.mid_frame && self.buf.len() >= PRELUDE_LEN {
                let total =
                    u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
                if total > MAX_MESSAGE_LEN {
                    return Some(Err(broken(format!(
                        "event-stream frame claims {total} bytes (more than {MAX_MESSAGE_LEN})"
                    ))));
                }
            }
            let had_prelude = self.mid_frame || self.buf.len() >= PRELUDE_LEN;
            match self.decoder.decode_frame(&mut self.buf) {
                Ok(DecodedFrame::Complete(message)) => {
                    self.mid_frame = false;
                    return Some(Ok(message));
                }
                Ok(DecodedFrame::Incomplete) => self.mid_frame = had_prelude,
                Err(e) => return Some(Err(broken(format!("invalid event-stream frame: {e}")))),
            }

            // A chunk already there needs no timer (the upstream connection usually has the
            // next frames buffered); the idle limit is armed only to actually wait.
            let chunk = match self.body.next().now_or_never() {
                Some(chunk) => chunk,
                None => match self.wait_for_chunk().await {
                    Ok(chunk) => chunk,
                    Err(timeout) => return Some(Err(timeout)),
                },
            };
            match chunk {
                Some(Ok(bytes)) => self.buf.extend_from_slice(&bytes),
                Some(Err(e)) => return Some(Err(e)),
                None if self.buf.is_empty() && !self.mid_frame => return None,
                None => {
                    return Some(Err(broken(format!(
                        "Bedrock stream ended inside an event-stream frame ({} bytes left over)",
                        self.buf.len()
                    ))))
                }
            }
        }
    }

    /// The next body chunk, or the idle timeout error.
    async fn wait_for_chunk(
        &mut self,
    ) -> Result<Option<Result<Bytes, GatewayError>>, GatewayError> {
        let now = Instant::now();
        // A configured idle limit too large to add to `now` means "practically never".
        let deadline = now
            .checked_add(self.idle)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600));
        let timer = match &mut self.idle_timer {
            Some(t) => {
                t.as_mut().reset(deadline);
                t
            }
            None => self
                .idle_timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        tokio::select! {
            biased;
            chunk = self.body.next() => Ok(chunk),
            _ = timer.as_mut() => Err(GatewayError::upstream(
                ErrorKind::Timeout,
                format!("Bedrock stream sent nothing for {} s", self.idle.as_secs()),
            )
            .with_code("timeout")
            .retryable(true)),
        }
    }

    /// This decoder as a `futures::Stream`.
    pub fn into_stream(self) -> impl Stream<Item = Result<Message, GatewayError>> + Send {
        futures::stream::unfold(self, |mut d| async move {
            let item = d.next_message().await?;
            Some((item, d))
        })
    }
}

fn broken(message: String) -> GatewayError {
    GatewayError::upstream(ErrorKind::UpstreamError, message)
        .with_code("bad_upstream_response")
        .retryable(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::{Header, HeaderValue};

    pub(crate) fn event(event_type: &str, payload: &str) -> Vec<u8> {
        let msg = Message::new(Bytes::copy_from_slice(payload.as_bytes()))
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String("event".into()),
            ))
            .add_header(Header::new(
                ":event-type",
                HeaderValue::String(event_type.to_owned().into()),
            ))
            .add_header(Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            ));
        let mut out = Vec::new();
        write_message_to(&msg, &mut out).unwrap();
        out
    }

    fn frames() -> (Vec<u8>, usize) {
        let mut all = Vec::new();
        let parts = [
            event("messageStart", r#"{"role":"assistant","p":"abc"}"#),
            event(
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdef"}"#,
            ),
            event(
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"text":" world"}}"#,
            ),
            event("contentBlockStop", r#"{"contentBlockIndex":0}"#),
            event("messageStop", r#"{"stopReason":"end_turn"}"#),
        ];
        for p in &parts {
            all.extend_from_slice(p);
        }
        (all, parts.len())
    }

    async fn collect(chunks: Vec<Vec<u8>>) -> Vec<Result<Message, GatewayError>> {
        let body = futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))));
        MessageDecoder::new(body, Duration::from_secs(5))
            .into_stream()
            .collect()
            .await
    }

    fn event_type(m: &Message) -> String {
        aws_smithy_eventstream::smithy::parse_response_headers(m)
            .unwrap()
            .smithy_type
            .as_str()
            .to_owned()
    }

    #[tokio::test]
    async fn decodes_frames_split_at_every_byte_boundary() {
        let (all, n) = frames();
        for split in 0..=all.len() {
            let chunks = vec![all[..split].to_vec(), all[split..].to_vec()];
            let got = collect(chunks).await;
            assert_eq!(got.len(), n, "split at {split}");
            assert!(got.iter().all(Result::is_ok), "split at {split}");
            assert_eq!(event_type(got[0].as_ref().unwrap()), "messageStart");
            assert_eq!(event_type(got[n - 1].as_ref().unwrap()), "messageStop");
        }
    }

    #[tokio::test]
    async fn decodes_one_byte_chunks_and_one_big_chunk() {
        let (all, n) = frames();
        let bytewise = collect(all.iter().map(|b| vec![*b]).collect()).await;
        assert_eq!(bytewise.len(), n);
        assert!(bytewise.iter().all(Result::is_ok));
        let whole = collect(vec![all]).await;
        assert_eq!(whole.len(), n);
    }

    #[tokio::test]
    async fn truncated_body_is_an_error_at_every_cut() {
        let (all, n) = frames();
        let first_len = event("messageStart", r#"{"role":"assistant","p":"abc"}"#).len();
        for cut in 1..first_len {
            let got = collect(vec![all[..cut].to_vec()]).await;
            assert_eq!(got.len(), 1, "cut at {cut}");
            let err = got[0].as_ref().unwrap_err();
            assert_eq!(err.status(), 502, "cut at {cut}");
        }
        // A cut exactly at a frame boundary is a clean end here; the client notices the missing
        // messageStop.
        let got = collect(vec![all[..first_len].to_vec()]).await;
        assert_eq!(got.len(), 1);
        assert!(got[0].is_ok());
        let _ = n;
    }

    #[tokio::test]
    async fn bad_crc_is_an_error() {
        let (mut all, _) = frames();
        let first_len = event("messageStart", r#"{"role":"assistant","p":"abc"}"#).len();
        all[first_len - 1] ^= 0xff; // message CRC of the first frame
        let got = collect(vec![all]).await;
        assert_eq!(got.len(), 1);
        assert!(got[0]
            .as_ref()
            .unwrap_err()
            .message
            .contains("invalid event-stream frame"));
    }

    #[tokio::test]
    async fn absurd_length_is_an_error_not_a_wait() {
        let mut bogus = vec![0xff, 0xff, 0xff, 0xff];
        bogus.extend_from_slice(&[0; 12]);
        let got = collect(vec![bogus]).await;
        assert_eq!(got.len(), 1);
        assert!(got[0].is_err());
    }

    #[tokio::test]
    async fn transport_error_ends_the_stream() {
        let (all, _) = frames();
        let body = futures::stream::iter(vec![
            Ok(Bytes::from(all[..10].to_vec())),
            Err(GatewayError::upstream(ErrorKind::UpstreamError, "reset")),
            Ok(Bytes::from(all[10..].to_vec())),
        ]);
        let got: Vec<_> = MessageDecoder::new(body, Duration::from_secs(5))
            .into_stream()
            .collect()
            .await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap_err().message, "reset");
    }

    #[tokio::test(start_paused = true)]
    async fn stalled_body_times_out() {
        let body = futures::stream::pending::<Result<Bytes, GatewayError>>();
        let got: Vec<_> = MessageDecoder::new(body, Duration::from_secs(30))
            .into_stream()
            .collect()
            .await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap_err().status(), 504);
    }
}

/// Property tests: whatever the TCP reads look like and whatever the bytes are, the decoder
/// yields the frames that were sent, or ends with one clean error — never a panic, a hang, or a
/// silently shortened stream.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod props {
    use super::tests::event;
    use super::*;
    use proptest::prelude::*;

    /// Cuts `bytes` at the given (sorted, deduplicated) offsets into body chunks.
    fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.sort_unstable();
        points.dedup();
        let mut chunks = Vec::new();
        let mut start = 0;
        for p in points.into_iter().chain([bytes.len()]) {
            chunks.push(bytes[start..p].to_vec());
            start = p;
        }
        chunks
    }

    /// Runs the decoder over `chunks`: the decoded messages, and the error it ended with (if any).
    fn decode(chunks: Vec<Vec<u8>>) -> (Vec<Message>, Option<GatewayError>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async move {
            let body = futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))));
            let mut decoder = MessageDecoder::new(body, Duration::from_secs(5));
            let mut out = Vec::new();
            while let Some(item) = decoder.next_message().await {
                match item {
                    Ok(m) => out.push(m),
                    Err(e) => {
                        // After an error the decoder is finished.
                        assert!(decoder.next_message().await.is_none());
                        return (out, Some(e));
                    }
                }
            }
            (out, None)
        })
    }

    fn events() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "messageStart",
                    "contentBlockDelta",
                    "messageStop",
                    "metadata",
                ])
                .prop_map(str::to_owned),
                "\\PC{0,100}",
            ),
            1..8,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_split_yields_exactly_the_frames_sent(
            sent in events(),
            cuts in prop::collection::vec(any::<usize>(), 0..20),
        ) {
            let wire: Vec<u8> = sent.iter().flat_map(|(t, p)| event(t, p)).collect();
            let (got, err) = decode(split(&wire, &cuts));
            prop_assert!(err.is_none(), "{err:?}");
            prop_assert_eq!(got.len(), sent.len());
            for (m, (_, payload)) in got.iter().zip(&sent) {
                prop_assert_eq!(m.payload().as_ref(), payload.as_bytes());
            }
        }

        #[test]
        fn a_truncated_body_ends_with_an_error(
            sent in events(),
            cut in any::<usize>(),
            cuts in prop::collection::vec(any::<usize>(), 0..10),
        ) {
            let wire: Vec<u8> = sent.iter().flat_map(|(t, p)| event(t, p)).collect();
            let boundaries: Vec<usize> = sent
                .iter()
                .scan(0, |end, (t, p)| { *end += event(t, p).len(); Some(*end) })
                .collect();
            let cut = cut % wire.len();
            prop_assume!(cut > 0 && !boundaries.contains(&cut));
            let (got, err) = decode(split(&wire[..cut], &cuts));
            prop_assert!(err.is_some(), "a cut inside a frame must be reported");
            prop_assert!(got.len() < sent.len());
        }

        #[test]
        fn a_flipped_byte_is_caught_by_a_crc(
            sent in events(),
            at in any::<usize>(),
            flip in 1u8..=255,
            cuts in prop::collection::vec(any::<usize>(), 0..10),
        ) {
            let mut wire: Vec<u8> = sent.iter().flat_map(|(t, p)| event(t, p)).collect();
            let at = at % wire.len();
            wire[at] ^= flip;
            let (got, err) = decode(split(&wire, &cuts));
            prop_assert!(err.is_some(), "corruption at byte {at} went unnoticed");
            prop_assert!(got.len() < sent.len());
        }

        #[test]
        fn garbage_never_panics(
            bytes in prop::collection::vec(any::<u8>(), 0..600),
            cuts in prop::collection::vec(any::<usize>(), 0..10),
        ) {
            let (_, _) = decode(split(&bytes, &cuts));
        }
    }
}
