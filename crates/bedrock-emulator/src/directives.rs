//! `[[emu:KEY=VALUE]]` directives that tests put in the last user message to steer the answer
//! (see `docs/architecture.md`).

use crate::errors::DIRECTIVE_ERRORS;

/// Longest delay a directive may ask for; protects the emulator from a typo'd `delay=6000000`.
pub const MAX_DELAY_MS: u64 = 120_000;
/// Largest `words=N`.
pub const MAX_WORDS: usize = 100_000;

/// In-stream exceptions of the `ConverseStreamOutput` union that `stream-error` may name.
pub const STREAM_EXCEPTIONS: &[&str] = &[
    "internalServerException",
    "modelStreamErrorException",
    "validationException",
    "throttlingException",
    "serviceUnavailableException",
];

/// How `reset@N` / `truncate@N` break a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFault {
    /// The connection is aborted (no terminating chunk): a network failure mid-stream.
    Reset,
    /// Half of the next frame is sent, then the body ends cleanly: a truncated frame.
    Truncate,
}

/// Parsed directives plus the text with the directives removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `reply=TEXT`: answer exactly TEXT.
    pub reply: Option<String>,
    /// `words=N`: answer N words.
    pub words: Option<usize>,
    /// `delay=MS`: wait before answering.
    pub delay_ms: Option<u64>,
    /// `frame-delay=MS`: wait between stream frames.
    pub frame_delay_ms: Option<u64>,
    /// `error=NAME`: answer with that modelled exception.
    pub error: Option<String>,
    /// `stream-error=NAME@N`: exception frame NAME after N content deltas.
    pub stream_error: Option<(String, usize)>,
    /// `tool=NAME`: answer with a call to tool NAME.
    pub tool: Option<String>,
    /// `guardrail`: a guardrail configured on the request intervenes on the input.
    pub guardrail: bool,
    /// `fail-times=K` (with `error=NAME`): only the first K requests with the same text fail,
    /// later ones succeed — so a client's retries can be observed.
    pub fail_times: Option<usize>,
    /// `reset@N` / `truncate@N`: break a stream after N content deltas.
    pub stream_fault: Option<(StreamFault, usize)>,
    /// The text with every directive removed and surrounding whitespace trimmed.
    pub stripped: String,
}

fn parse_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value.trim().parse().map_err(|_| {
        format!("emulator directive [[emu:{key}={value}]] needs a non-negative integer")
    })
}

/// Turns a stream exception name into its union member spelling (`ThrottlingException` →
/// `throttlingException`), or `None` if the union has no such member.
pub fn stream_exception_member(name: &str) -> Option<&'static str> {
    STREAM_EXCEPTIONS
        .iter()
        .copied()
        .find(|m| m.eq_ignore_ascii_case(name))
}

/// Parses every `[[emu:...]]` in `text`. Unknown keys and malformed values are errors so a typo
/// in a test fails loudly instead of silently producing the default answer.
pub fn parse(text: &str) -> Result<Directives, String> {
    let mut d = Directives::default();
    let mut stripped = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("[[emu:") {
        stripped.push_str(&rest[..start]);
        let after = &rest[start + "[[emu:".len()..];
        let Some(end) = after.find("]]") else {
            return Err(format!(
                "unterminated emulator directive: {}",
                &rest[start..]
            ));
        };
        let body = &after[..end];
        rest = &after[end + 2..];
        // `KEY=VALUE`, or `KEY@N` for the stream faults.
        let (key, value) = match body.split_once('=') {
            Some((k, v)) => (k.trim(), v),
            None => match body.split_once('@') {
                Some((k, v)) => (k.trim(), v),
                None => (body.trim(), ""),
            },
        };
        match key {
            "reply" => d.reply = Some(value.to_string()),
            "words" => {
                let n: usize = parse_number(key, value)?;
                if n > MAX_WORDS {
                    return Err(format!("[[emu:words]] is limited to {MAX_WORDS}"));
                }
                d.words = Some(n);
            }
            "delay" => d.delay_ms = Some(parse_number::<u64>(key, value)?.min(MAX_DELAY_MS)),
            "frame-delay" => {
                d.frame_delay_ms = Some(parse_number::<u64>(key, value)?.min(MAX_DELAY_MS))
            }
            "error" => {
                let name = value.trim();
                if !DIRECTIVE_ERRORS.iter().any(|(c, _)| *c == name) {
                    let known: Vec<&str> = DIRECTIVE_ERRORS.iter().map(|(c, _)| *c).collect();
                    return Err(format!(
                        "[[emu:error={name}]] is not one of: {}",
                        known.join(", ")
                    ));
                }
                d.error = Some(name.to_string());
            }
            "stream-error" => {
                let (name, after) = match value.split_once('@') {
                    Some((n, a)) => (n.trim(), parse_number::<usize>(key, a)?),
                    None => (value.trim(), 0),
                };
                let Some(member) = stream_exception_member(name) else {
                    return Err(format!(
                        "[[emu:stream-error={name}]] is not one of: {}",
                        STREAM_EXCEPTIONS.join(", ")
                    ));
                };
                d.stream_error = Some((member.to_string(), after));
            }
            "tool" => {
                let name = value.trim();
                if name.is_empty() {
                    return Err("[[emu:tool=NAME]] needs a tool name".into());
                }
                d.tool = Some(name.to_string());
            }
            "guardrail" => d.guardrail = true,
            "fail-times" => d.fail_times = Some(parse_number(key, value)?),
            "reset" => d.stream_fault = Some((StreamFault::Reset, parse_number(key, value)?)),
            "truncate" => d.stream_fault = Some((StreamFault::Truncate, parse_number(key, value)?)),
            other => return Err(format!("unknown emulator directive [[emu:{other}]]")),
        }
    }
    stripped.push_str(rest);
    d.stripped = stripped.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn directive_table() {
        let cases: Vec<(&str, Result<Directives, &str>)> = vec![
            (
                "hello world",
                Ok(Directives {
                    stripped: "hello world".into(),
                    ..Default::default()
                }),
            ),
            (
                "[[emu:reply=Exactly this, please]] ignored",
                Ok(Directives {
                    reply: Some("Exactly this, please".into()),
                    stripped: "ignored".into(),
                    ..Default::default()
                }),
            ),
            (
                "a [[emu:words=12]] b [[emu:delay=50]][[emu:frame-delay=5]]",
                Ok(Directives {
                    words: Some(12),
                    delay_ms: Some(50),
                    frame_delay_ms: Some(5),
                    stripped: "a b".into(),
                    ..Default::default()
                }),
            ),
            (
                "[[emu:error=ThrottlingException]]",
                Ok(Directives {
                    error: Some("ThrottlingException".into()),
                    ..Default::default()
                }),
            ),
            (
                "[[emu:error=ThrottlingException]][[emu:fail-times=2]] k1",
                Ok(Directives {
                    error: Some("ThrottlingException".into()),
                    fail_times: Some(2),
                    stripped: "k1".into(),
                    ..Default::default()
                }),
            ),
            (
                "[[emu:reset@3]] x",
                Ok(Directives {
                    stream_fault: Some((StreamFault::Reset, 3)),
                    stripped: "x".into(),
                    ..Default::default()
                }),
            ),
            (
                "[[emu:truncate@0]]",
                Ok(Directives {
                    stream_fault: Some((StreamFault::Truncate, 0)),
                    ..Default::default()
                }),
            ),
            ("[[emu:reset@x]]", Err("non-negative integer")),
            (
                "[[emu:stream-error=modelStreamErrorException@3]] go",
                Ok(Directives {
                    stream_error: Some(("modelStreamErrorException".into(), 3)),
                    stripped: "go".into(),
                    ..Default::default()
                }),
            ),
            (
                "[[emu:stream-error=ThrottlingException]]",
                Ok(Directives {
                    stream_error: Some(("throttlingException".into(), 0)),
                    ..Default::default()
                }),
            ),
            (
                "[[emu:tool=get_weather]] weather?",
                Ok(Directives {
                    tool: Some("get_weather".into()),
                    stripped: "weather?".into(),
                    ..Default::default()
                }),
            ),
            (
                "[[emu:delay=99999999]]",
                Ok(Directives {
                    delay_ms: Some(MAX_DELAY_MS),
                    ..Default::default()
                }),
            ),
            ("[[emu:error=NoSuchException]]", Err("is not one of")),
            ("[[emu:stream-error=bogus@1]]", Err("is not one of")),
            ("[[emu:words=many]]", Err("non-negative integer")),
            ("[[emu:words=-1]]", Err("non-negative integer")),
            ("[[emu:colour=red]]", Err("unknown emulator directive")),
            ("[[emu:reply=never closed", Err("unterminated")),
            ("[[emu:tool=]]", Err("needs a tool name")),
        ];
        for (input, expected) in cases {
            match (parse(input), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{input}"),
                (Err(got), Err(fragment)) => {
                    assert!(got.contains(fragment), "{input}: {got}")
                }
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }
}
