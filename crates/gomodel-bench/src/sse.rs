//! Incremental OpenAI SSE parser: feeds body frames as they arrive and reports, per frame, how many
//! content deltas it completed, so the caller can stamp them with the frame's arrival time.

use serde::Deserialize;

/// Only the fields needed to tell a content delta from a role/usage/finish chunk or an error.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Default)]
pub struct SseParser {
    buf: Vec<u8>,
    pub done: bool,
    pub error: Option<String>,
    pub events: u32,
}

impl SseParser {
    /// Consumes a body frame; returns the number of content deltas completed by it.
    pub fn feed(&mut self, data: &[u8]) -> u32 {
        // Taken out while lines borrow it, so `on_data` may update the parser state.
        let mut buf = std::mem::take(&mut self.buf);
        buf.extend_from_slice(data);
        let mut content = 0;
        let mut start = 0;
        while let Some(pos) = memchr_nl(&buf[start..]) {
            let end = start + pos;
            let line = trim_cr(&buf[start..end]);
            if let Some(payload) = line.strip_prefix(b"data:") {
                content += self.on_data(trim_ascii(payload));
            }
            start = end + 1;
        }
        buf.drain(..start);
        self.buf = buf;
        content
    }

    fn on_data(&mut self, payload: &[u8]) -> u32 {
        if payload == b"[DONE]" {
            self.done = true;
            return 0;
        }
        self.events += 1;
        match serde_json::from_slice::<Chunk>(payload) {
            Ok(chunk) => {
                if let Some(err) = chunk.error {
                    self.error
                        .get_or_insert_with(|| format!("stream error event: {err}"));
                    return 0;
                }
                let has_content = chunk.choices.iter().any(|c| {
                    c.delta
                        .as_ref()
                        .and_then(|d| d.content.as_deref())
                        .is_some_and(|s| !s.is_empty())
                });
                u32::from(has_content)
            }
            Err(e) => {
                self.error
                    .get_or_insert_with(|| format!("unparsable SSE data: {e}"));
                0
            }
        }
    }
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

fn trim_cr(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\r").unwrap_or(b)
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_content_across_split_frames() {
        let mut p = SseParser::default();
        let role = b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n";
        assert_eq!(p.feed(role), 0);
        assert_eq!(p.feed(b"data: {\"choices\":[{\"delta\":{\"cont"), 0);
        assert_eq!(p.feed(b"ent\":\"Hi\"}}]}\r\n\r\ndata: {\"choices\":[{\"delta\":{\"content\":\" there\"}}]}\n\n"), 2);
        assert_eq!(
            p.feed(b"data: {\"choices\":[],\"usage\":{}}\n\ndata: [DONE]\n\n"),
            0
        );
        assert!(p.done);
        assert!(p.error.is_none());
        assert_eq!(p.events, 4);
    }

    #[test]
    fn reports_error_event() {
        let mut p = SseParser::default();
        p.feed(b"data: {\"error\":{\"message\":\"throttled\"}}\n\n");
        assert!(p.error.unwrap().contains("throttled"));
    }
}
