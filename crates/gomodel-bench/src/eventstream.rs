//! Incremental AWS event-stream reader for ConverseStream answers, decoding frames with
//! `aws-smithy-eventstream` (the same decoder the AWS SDK uses) so the direct baseline pays a real
//! client's decoding cost and times the first `contentBlockDelta` like a real client sees it.

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::Message;
use bytes::BytesMut;

#[derive(Default)]
pub struct EventStreamParser {
    buf: BytesMut,
    decoder: MessageFrameDecoder,
    pub done: bool,
    pub error: Option<String>,
    pub events: u32,
}

impl EventStreamParser {
    /// Consumes a body frame; returns the number of content deltas completed by it.
    pub fn feed(&mut self, data: &[u8]) -> u32 {
        self.buf.extend_from_slice(data);
        let mut content = 0;
        loop {
            match self.decoder.decode_frame(&mut self.buf) {
                Ok(DecodedFrame::Complete(msg)) => content += self.on_message(&msg),
                Ok(DecodedFrame::Incomplete) => break,
                Err(e) => {
                    self.error
                        .get_or_insert_with(|| format!("event-stream decode: {e}"));
                    self.buf.clear();
                    break;
                }
            }
        }
        content
    }

    fn on_message(&mut self, msg: &Message) -> u32 {
        self.events += 1;
        let message_type = header(msg, ":message-type").unwrap_or("event");
        if message_type != "event" {
            let kind = header(msg, ":exception-type")
                .or_else(|| header(msg, ":error-code"))
                .unwrap_or("unknown");
            let payload = String::from_utf8_lossy(msg.payload());
            self.error
                .get_or_insert_with(|| format!("{message_type} frame {kind}: {payload}"));
            return 0;
        }
        match header(msg, ":event-type") {
            Some("contentBlockDelta") => 1,
            Some("messageStop") => {
                // The stream is complete once messageStop (and the trailing metadata) is in.
                self.done = true;
                0
            }
            _ => 0,
        }
    }
}

fn header<'a>(msg: &'a Message, name: &str) -> Option<&'a str> {
    msg.headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::{Header, HeaderValue};

    fn frame(event: &str, payload: &str) -> Vec<u8> {
        let msg = Message::new(payload.as_bytes().to_vec())
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String("event".into()),
            ))
            .add_header(Header::new(
                ":event-type",
                HeaderValue::String(event.to_owned().into()),
            ));
        let mut out = Vec::new();
        write_message_to(&msg, &mut out).unwrap();
        out
    }

    #[test]
    fn counts_deltas_across_split_frames() {
        let mut all = frame("messageStart", "{\"role\":\"assistant\"}");
        all.extend(frame("contentBlockDelta", "{\"delta\":{\"text\":\"a\"}}"));
        all.extend(frame("contentBlockDelta", "{\"delta\":{\"text\":\"b\"}}"));
        all.extend(frame("messageStop", "{\"stopReason\":\"end_turn\"}"));
        let mut p = EventStreamParser::default();
        let mut content = 0;
        for piece in all.chunks(7) {
            content += p.feed(piece);
        }
        assert_eq!(content, 2);
        assert!(p.done);
        assert!(p.error.is_none());
        assert_eq!(p.events, 4);
    }

    #[test]
    fn exception_frame_is_an_error() {
        let msg = Message::new(b"{\"message\":\"slow down\"}".to_vec())
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String("exception".into()),
            ))
            .add_header(Header::new(
                ":exception-type",
                HeaderValue::String("throttlingException".into()),
            ));
        let mut out = Vec::new();
        write_message_to(&msg, &mut out).unwrap();
        let mut p = EventStreamParser::default();
        p.feed(&out);
        assert!(p.error.unwrap().contains("throttlingException"));
    }
}
