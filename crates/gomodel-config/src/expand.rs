//! `${VAR}` / `${VAR:-default}` expansion of the config text before YAML parsing.
//!
//! Expansion is textual (like GoModel's) so it works anywhere in the file, including keys and
//! list items. Values are inserted verbatim: quote the reference (`"${VAR}"`) when the value may
//! contain YAML syntax such as `: `, ` #` or a leading `*`/`&`/`!`.

use std::collections::HashMap;

/// Where and why expansion failed (1-based line and column in the unexpanded text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpandError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Expands `${VAR}` (unset → empty), `${VAR:-default}` (unset or empty → `default`, which may
/// itself contain references) and `$$` (a literal `$`). Any other `$` is kept as is.
pub(crate) fn expand(text: &str, env: &HashMap<String, String>) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(text.len());
    expand_into(text, 0, text, env, &mut out)?;
    Ok(out)
}

/// `base` is the offset of `text` inside `whole`, so nested defaults report positions in the file.
fn expand_into(
    text: &str,
    base: usize,
    whole: &str,
    env: &HashMap<String, String>,
    out: &mut String,
) -> Result<(), ExpandError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut copied = 0;
    while let Some(rel) = text[i..].find('$') {
        let at = i + rel;
        match bytes.get(at + 1) {
            Some(b'$') => {
                out.push_str(&text[copied..at]);
                out.push('$');
                i = at + 2;
                copied = i;
            }
            Some(b'{') => {
                out.push_str(&text[copied..at]);
                let close = matching_brace(text, at + 2).ok_or_else(|| {
                    error_at(
                        whole,
                        base + at,
                        "unterminated \"${\": close the reference with \"}\", or write \"$$\" for a literal \"$\"",
                    )
                })?;
                let inner = &text[at + 2..close];
                let (name, default) = match inner.find(":-") {
                    Some(split) => (&inner[..split], Some((split + 2, &inner[split + 2..]))),
                    None => (inner, None),
                };
                if !is_var_name(name) {
                    return Err(error_at(
                        whole,
                        base + at,
                        &format!(
                            "\"${{{inner}}}\" is not a valid variable reference: use \"${{NAME}}\" or \"${{NAME:-default}}\" with NAME made of letters, digits and \"_\", or write \"$$\" for a literal \"$\""
                        ),
                    ));
                }
                let value = env.get(name).map(String::as_str).unwrap_or("");
                match default {
                    Some((offset, default)) if value.is_empty() => {
                        expand_into(default, base + at + 2 + offset, whole, env, out)?;
                    }
                    _ => out.push_str(value),
                }
                i = close + 1;
                copied = i;
            }
            _ => i = at + 1,
        }
    }
    out.push_str(&text[copied..]);
    Ok(())
}

/// Index of the `}` closing a reference whose body starts at `from`, skipping nested `${...}`.
fn matching_brace(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            b'\n' => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn error_at(whole: &str, offset: usize, message: &str) -> ExpandError {
    let before = &whole[..offset.min(whole.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let column = before[line_start..].chars().count() + 1;
    ExpandError {
        line,
        column,
        message: message.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env() -> HashMap<String, String> {
        [("KEY", "secret"), ("EMPTY", ""), ("REGION", "eu-west-1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn expands_references() {
        let cases = [
            ("plain text", "plain text"),
            ("key: ${KEY}", "key: secret"),
            ("key: ${UNSET}", "key: "),
            ("key: ${EMPTY}", "key: "),
            ("key: ${UNSET:-dflt}", "key: dflt"),
            ("key: ${EMPTY:-dflt}", "key: dflt"),
            ("key: ${KEY:-dflt}", "key: secret"),
            ("key: ${UNSET:-}", "key: "),
            ("key: ${UNSET:-a:b-c}", "key: a:b-c"),
            ("key: ${UNSET:-${REGION}}", "key: eu-west-1"),
            ("key: ${UNSET:-x${KEY}y}", "key: xsecrety"),
            ("price: $$5", "price: $5"),
            ("price: $$${KEY}", "price: $secret"),
            ("lone $ sign and $X", "lone $ sign and $X"),
            ("end$", "end$"),
            ("${KEY}${REGION}", "secreteu-west-1"),
            ("ünï: ${KEY} ✓", "ünï: secret ✓"),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, &env()).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn reports_bad_references_with_position() {
        let cases = [
            ("a: 1\nb: ${KEY", 2, 4, "unterminated"),
            ("a: ${KEY\nb: }", 1, 4, "unterminated"),
            ("x: ${}", 1, 4, "not a valid variable reference"),
            ("x: ${1A}", 1, 4, "not a valid variable reference"),
            ("x: ${A B}", 1, 4, "not a valid variable reference"),
            ("x: ${U:-${}}", 1, 9, "not a valid variable reference"),
        ];
        for (input, line, column, msg) in cases {
            let err = expand(input, &env()).unwrap_err();
            assert_eq!((err.line, err.column), (line, column), "{input}: {err:?}");
            assert!(err.message.contains(msg), "{input}: {}", err.message);
            assert!(err.message.contains("$$"), "{input}: {}", err.message);
        }
    }
}
