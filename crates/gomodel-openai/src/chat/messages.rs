//! OpenAI `messages` → neutral system blocks and role-alternating messages.

use super::media::{self, DocNames};
use super::request::{
    CacheControl, ChatMessage, ContentPart, MessageContent, MessageRole, ToolCall,
};
use gomodel_core::chat::{ContentBlock, Message, Role, SystemBlock, ToolResultContent};
use gomodel_core::GatewayError;
use serde_json::Value;

/// The converted conversation.
pub(crate) struct Conversation {
    pub system: Vec<SystemBlock>,
    pub messages: Vec<Message>,
}

pub(super) fn convert(messages: Vec<ChatMessage>) -> Result<Conversation, GatewayError> {
    if messages.is_empty() {
        return Err(GatewayError::invalid_param(
            "messages",
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        ));
    }
    let mut b = Builder {
        system: Vec::new(),
        messages: Vec::with_capacity(messages.len()),
        doc_names: DocNames::default(),
    };
    for (i, msg) in messages.into_iter().enumerate() {
        let p = format!("messages[{i}]");
        match msg.role {
            MessageRole::System | MessageRole::Developer => b.system_message(msg, &p)?,
            MessageRole::User => b.user_message(msg, &p)?,
            MessageRole::Assistant => b.assistant_message(msg, &p)?,
            MessageRole::Tool => b.tool_message(msg, &p)?,
            MessageRole::Function => {
                return Err(GatewayError::invalid_param(
                    format!("{p}.role"),
                    "The deprecated 'function' role is not supported; use 'tool' messages with 'tool_call_id'.",
                ))
            }
        }
    }
    if b.messages.is_empty() {
        return Err(GatewayError::invalid_param(
            "messages",
            "Invalid 'messages': at least one user or assistant message is required besides system messages.",
        ));
    }
    Ok(Conversation {
        system: b.system,
        messages: b.messages,
    })
}

struct Builder {
    system: Vec<SystemBlock>,
    messages: Vec<Message>,
    doc_names: DocNames,
}

impl Builder {
    fn push(&mut self, role: Role, blocks: Vec<ContentBlock>) {
        push_turn(&mut self.messages, role, blocks);
    }

    /// System and developer messages, wherever they appear, become system blocks in order
    /// (Converse has no mid-conversation system turn).
    fn system_message(&mut self, msg: ChatMessage, p: &str) -> Result<(), GatewayError> {
        match required_content(msg.content, p)? {
            MessageContent::Text(text) => {
                if !text.is_empty() {
                    self.system.push(SystemBlock::Text(text));
                }
            }
            MessageContent::Parts(parts) => system_parts(parts, p, "text", &mut self.system)?,
        }
        Ok(())
    }

    fn user_message(&mut self, msg: ChatMessage, p: &str) -> Result<(), GatewayError> {
        let blocks = match required_content(msg.content, p)? {
            MessageContent::Text(text) => vec![ContentBlock::Text(text)],
            MessageContent::Parts(parts) => {
                let doc_names = &mut self.doc_names;
                user_parts(parts, p, "text", |part, pp| match part.kind.as_str() {
                    "image_url" => {
                        let url_param = format!("{pp}.image_url");
                        let Some(image) = part.image_url else {
                            return Err(missing(&url_param));
                        };
                        media::image_from_url(&image.url, &format!("{url_param}.url"))
                    }
                    "file" => {
                        let file_param = format!("{pp}.file");
                        let Some(file) = part.file else {
                            return Err(missing(&file_param));
                        };
                        media::file_block(&file, &file_param, doc_names)
                    }
                    other => Err(unsupported_part(other, pp, &["text", "image_url", "file"])),
                })?
            }
        };
        self.push(Role::User, blocks);
        Ok(())
    }

    fn assistant_message(&mut self, msg: ChatMessage, p: &str) -> Result<(), GatewayError> {
        if msg.audio.is_some() {
            return Err(GatewayError::invalid_param(
                format!("{p}.audio"),
                "Audio in assistant messages is not supported: Bedrock models do not produce audio.",
            ));
        }
        if msg.function_call.is_some() {
            return Err(GatewayError::invalid_param(
                format!("{p}.function_call"),
                "The deprecated 'function_call' is not supported; use 'tool_calls'.",
            ));
        }
        let tool_calls = msg.tool_calls.unwrap_or_default();
        if msg.content.is_none() && msg.refusal.is_none() && tool_calls.is_empty() {
            return Err(missing(&format!("{p}.content")));
        }
        if let Some(content) = &msg.content {
            check_not_empty(content, p)?;
        }
        let mut blocks = Vec::with_capacity(2 + tool_calls.len());
        if let Some(block) = reasoning_block(msg.reasoning_content, msg.reasoning_signature, p)? {
            blocks.push(block);
        }
        match msg.content {
            // Empty text is dropped: SDKs replay tool-call turns as `content: ""`, and Bedrock
            // rejects blank text blocks.
            None => {}
            Some(MessageContent::Text(text)) if text.is_empty() => {}
            Some(MessageContent::Text(text)) => blocks.push(ContentBlock::Text(text)),
            Some(MessageContent::Parts(parts)) => {
                assistant_parts(parts, p, &["text"], &["text", "refusal"], &mut blocks)?
            }
        }
        if let Some(refusal) = msg.refusal {
            if !refusal.is_empty() {
                blocks.push(ContentBlock::Text(refusal));
            }
        }
        for (j, call) in tool_calls.into_iter().enumerate() {
            blocks.push(tool_use(call, &format!("{p}.tool_calls[{j}]"))?);
        }
        self.push(Role::Assistant, blocks);
        Ok(())
    }

    /// Tool results become `ToolResult` blocks of a user turn; results following one assistant
    /// turn merge into a single user message, in order, via `push`.
    fn tool_message(&mut self, msg: ChatMessage, p: &str) -> Result<(), GatewayError> {
        let Some(tool_use_id) = msg.tool_call_id else {
            return Err(missing(&format!("{p}.tool_call_id")));
        };
        let mut content = Vec::new();
        let mut cache = false;
        match required_content(msg.content, p)? {
            // Kept as text even when it looks like JSON: the client sent a string, and
            // re-encoding it could change what the model sees.
            MessageContent::Text(text) => content.push(ToolResultContent::Text(text)),
            MessageContent::Parts(parts) => {
                for (j, part) in parts.into_iter().enumerate() {
                    let pp = format!("{p}.content[{j}]");
                    cache |= cache_point(&part, &pp)?;
                    if part.kind != "text" {
                        return Err(unsupported_part(&part.kind, &pp, &["text"]));
                    }
                    content.push(ToolResultContent::Text(part_text(part.text, &pp)?));
                }
            }
        }
        let mut blocks = vec![ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error: false,
        }];
        // A cache point cannot sit inside a tool result; right after it is the same prefix.
        if cache {
            blocks.push(ContentBlock::CachePoint);
        }
        self.push(Role::User, blocks);
        Ok(())
    }
}

/// The reasoning an assistant turn carried, sent back by the client. It leads the turn, as the
/// model produced it before its text and tool calls. Only signed reasoning is replayed: a
/// signature is what lets the model (Claude) accept its own thinking back, while unsigned
/// reasoning (DeepSeek-style `reasoning_content` echoed by clients) is context the models do
/// not want resent and some reject.
fn reasoning_block(
    text: Option<String>,
    signature: Option<String>,
    p: &str,
) -> Result<Option<ContentBlock>, GatewayError> {
    match (text, signature) {
        (Some(text), Some(signature)) if !signature.is_empty() => {
            Ok(Some(ContentBlock::Reasoning {
                text,
                signature: Some(signature),
            }))
        }
        (None, Some(signature)) if !signature.is_empty() => {
            Err(missing(&format!("{p}.reasoning_content")))
        }
        _ => Ok(None),
    }
}

pub(crate) fn tool_use(call: ToolCall, p: &str) -> Result<ContentBlock, GatewayError> {
    match call.kind.as_deref() {
        None | Some("function") => {}
        Some(other) => {
            return Err(GatewayError::invalid_param(
                format!("{p}.type"),
                format!("Invalid value: '{other}'. Supported values are: 'function'."),
            ))
        }
    }
    let Some(function) = call.function else {
        return Err(missing(&format!("{p}.function")));
    };
    let args = function.arguments.trim();
    // Clients replay argument-less calls as "" rather than "{}".
    let input = if args.is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_str(args).map_err(|e| {
            GatewayError::invalid_param(
                format!("{p}.function.arguments"),
                format!("Invalid '{p}.function.arguments': not valid JSON ({e})."),
            )
        })?
    };
    Ok(ContentBlock::ToolUse {
        id: call.id,
        name: function.name,
        input,
    })
}

fn required_content(
    content: Option<MessageContent>,
    p: &str,
) -> Result<MessageContent, GatewayError> {
    let content = content.ok_or_else(|| missing(&format!("{p}.content")))?;
    check_not_empty(&content, p)?;
    Ok(content)
}

/// The spec requires at least one part in an array content; an empty array is a client bug
/// that would otherwise silently drop the message.
fn check_not_empty(content: &MessageContent, p: &str) -> Result<(), GatewayError> {
    match content {
        MessageContent::Parts(parts) if parts.is_empty() => Err(empty_content(p)),
        _ => Ok(()),
    }
}

/// The error for a message whose `content` is an empty array.
pub(crate) fn empty_content(p: &str) -> GatewayError {
    GatewayError::invalid_param(
        format!("{p}.content"),
        format!("Invalid '{p}.content': empty array. Expected an array with minimum length 1, but got an empty array instead."),
    )
}

pub(crate) fn part_text(text: Option<String>, pp: &str) -> Result<String, GatewayError> {
    text.ok_or_else(|| missing(&format!("{pp}.text")))
}

/// A content part as chat (`ContentPart`) and the Responses API (`InputPart`) spell it: what the
/// rules shared by both (text, refusal, cache points) read from it.
pub(crate) trait Part {
    fn kind(&self) -> &str;
    fn take_text(&mut self) -> Option<String>;
    fn take_refusal(&mut self) -> Option<String>;
    fn cache_control(&self) -> Option<&CacheControl>;
    fn has_cache_breakpoint(&self) -> bool;
}

/// Implements [`Part`] for a part type with the fields both APIs name alike (`kind`, `text`,
/// `refusal`, `cache_control`, `prompt_cache_breakpoint`).
macro_rules! impl_part {
    ($part:ty) => {
        impl $crate::chat::messages::Part for $part {
            fn kind(&self) -> &str {
                &self.kind
            }
            fn take_text(&mut self) -> Option<String> {
                self.text.take()
            }
            fn take_refusal(&mut self) -> Option<String> {
                self.refusal.take()
            }
            fn cache_control(&self) -> Option<&$crate::chat::CacheControl> {
                self.cache_control.as_ref()
            }
            fn has_cache_breakpoint(&self) -> bool {
                self.prompt_cache_breakpoint.is_some()
            }
        }
    };
}
pub(crate) use impl_part;

impl_part!(ContentPart);

/// Appends blocks to the conversation, merging into the previous turn when it has the same
/// role: Bedrock requires strict user/assistant alternation, OpenAI does not (and the Responses
/// API spreads one assistant turn over several items, one tool-result turn over several outputs).
pub(crate) fn push_turn(messages: &mut Vec<Message>, role: Role, blocks: Vec<ContentBlock>) {
    if blocks.is_empty() {
        return;
    }
    match messages.last_mut() {
        Some(last) if last.role == role => last.content.extend(blocks),
        _ => messages.push(Message {
            role,
            content: blocks,
        }),
    }
}

/// The parts of a system or developer message: each becomes a system text block (blank ones
/// dropped), followed by a cache point when the part asks for one. Only `text_kind` parts are
/// allowed.
pub(crate) fn system_parts<P: Part>(
    parts: Vec<P>,
    p: &str,
    text_kind: &str,
    system: &mut Vec<SystemBlock>,
) -> Result<(), GatewayError> {
    for (j, mut part) in parts.into_iter().enumerate() {
        let pp = format!("{p}.content[{j}]");
        let cache = cache_point(&part, &pp)?;
        if part.kind() != text_kind {
            return Err(unsupported_part(part.kind(), &pp, &[text_kind]));
        }
        let text = part_text(part.take_text(), &pp)?;
        if !text.is_empty() {
            system.push(SystemBlock::Text(text));
        }
        if cache {
            system.push(SystemBlock::CachePoint);
        }
    }
    Ok(())
}

/// The parts of a user message: `text_kind` parts become text, audio is refused, and any other
/// kind goes to `other` (media, or the error naming the allowed kinds). Each block is followed
/// by a cache point when its part asks for one.
pub(crate) fn user_parts<P: Part>(
    parts: Vec<P>,
    p: &str,
    text_kind: &str,
    mut other: impl FnMut(P, &str) -> Result<ContentBlock, GatewayError>,
) -> Result<Vec<ContentBlock>, GatewayError> {
    let mut blocks = Vec::with_capacity(parts.len());
    for (j, mut part) in parts.into_iter().enumerate() {
        let pp = format!("{p}.content[{j}]");
        let cache = cache_point(&part, &pp)?;
        let block = if part.kind() == text_kind {
            ContentBlock::Text(part_text(part.take_text(), &pp)?)
        } else if part.kind() == "input_audio" {
            return Err(GatewayError::invalid_param(
                pp,
                "Audio input is not supported by Bedrock models; send text, images or files.",
            ));
        } else {
            other(part, &pp)?
        };
        blocks.push(block);
        if cache {
            blocks.push(ContentBlock::CachePoint);
        }
    }
    Ok(blocks)
}

/// The parts of an assistant message replayed by the client: `text_kinds` parts and refusals
/// become text blocks (blank ones dropped), each followed by a cache point when asked for;
/// `allowed` names the kinds in the error for any other part.
pub(crate) fn assistant_parts<P: Part>(
    parts: Vec<P>,
    p: &str,
    text_kinds: &[&str],
    allowed: &[&str],
    blocks: &mut Vec<ContentBlock>,
) -> Result<(), GatewayError> {
    for (j, mut part) in parts.into_iter().enumerate() {
        let pp = format!("{p}.content[{j}]");
        let cache = cache_point(&part, &pp)?;
        let text = if text_kinds.contains(&part.kind()) {
            part_text(part.take_text(), &pp)?
        } else if part.kind() == "refusal" {
            // A refusal the model gave earlier is still what it said.
            match part.take_refusal() {
                Some(r) => r,
                None => return Err(missing(&format!("{pp}.refusal"))),
            }
        } else {
            return Err(unsupported_part(part.kind(), &pp, allowed));
        };
        if !text.is_empty() {
            blocks.push(ContentBlock::Text(text));
        }
        if cache {
            blocks.push(ContentBlock::CachePoint);
        }
    }
    Ok(())
}

/// Whether the part asks for a cache point after it: Anthropic-style
/// `cache_control: {"type": "ephemeral"}` or OpenAI's `prompt_cache_breakpoint`.
pub(crate) fn cache_point<P: Part>(part: &P, pp: &str) -> Result<bool, GatewayError> {
    if let Some(cc) = part.cache_control() {
        check_cache_control(cc, &format!("{pp}.cache_control"))?;
        return Ok(true);
    }
    Ok(part.has_cache_breakpoint())
}

pub(crate) fn check_cache_control(cc: &CacheControl, param: &str) -> Result<(), GatewayError> {
    if cc.kind == "ephemeral" {
        Ok(())
    } else {
        Err(GatewayError::invalid_param(
            format!("{param}.type"),
            format!(
                "Invalid value: '{}'. Supported values are: 'ephemeral'.",
                cc.kind
            ),
        ))
    }
}

pub(crate) fn unsupported_part(kind: &str, pp: &str, allowed: &[&str]) -> GatewayError {
    let allowed = allowed
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(", ");
    GatewayError::invalid_param(
        format!("{pp}.type"),
        format!("Invalid value: '{kind}'. Supported values are: {allowed}."),
    )
}

pub(crate) fn missing(param: &str) -> GatewayError {
    GatewayError::invalid_param(param, format!("Missing required parameter: '{param}'."))
}
