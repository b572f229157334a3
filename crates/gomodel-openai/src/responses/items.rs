//! `instructions` + `input` items → neutral system blocks and role-alternating messages.
//!
//! Content decoding (data URLs, image sniffing, documents) is chat's, so an image or file
//! reaches Converse the same way whichever API carried it.

use super::request::{InputItem, InputParam, InputPart, ItemContent};
use crate::b64;
use crate::chat::media::{self, DocNames};
use crate::chat::messages::{
    assistant_parts, empty_content, impl_part, missing, part_text, push_turn, system_parts,
    tool_use, unsupported_part, user_parts,
};
use crate::chat::{FileRef, FunctionCall, ToolCall};
use bytes::Bytes;
use gomodel_core::chat::{ContentBlock, Message, Role, SystemBlock, ToolResultContent};
use gomodel_core::GatewayError;

/// Marks a reasoning item's `encrypted_content` that carries Bedrock redacted reasoning (opaque
/// bytes, base64 here) rather than a reasoning signature, so both survive the round trip.
pub(crate) const REDACTED_PREFIX: &str = "gomodel-redacted:";

pub(super) use crate::chat::messages::Conversation;

pub(super) fn convert(
    instructions: Option<String>,
    input: InputParam,
) -> Result<Conversation, GatewayError> {
    let mut b = Builder::default();
    if let Some(text) = instructions.filter(|t| !t.is_empty()) {
        b.system.push(SystemBlock::Text(text));
    }
    match input {
        InputParam::Text(text) => b.push(Role::User, vec![ContentBlock::Text(text)]),
        InputParam::Items(items) => {
            if items.is_empty() {
                return Err(GatewayError::invalid_param(
                    "input",
                    "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                ));
            }
            for (i, item) in items.into_iter().enumerate() {
                b.item(item, &format!("input[{i}]"))?;
            }
        }
    }
    if b.messages.is_empty() {
        return Err(GatewayError::invalid_param(
            "input",
            "Invalid 'input': at least one user or assistant item is required besides system and developer messages.",
        ));
    }
    Ok(Conversation {
        system: b.system,
        messages: b.messages,
    })
}

#[derive(Default)]
struct Builder {
    system: Vec<SystemBlock>,
    messages: Vec<Message>,
    doc_names: DocNames,
}

impl Builder {
    fn push(&mut self, role: Role, blocks: Vec<ContentBlock>) {
        push_turn(&mut self.messages, role, blocks);
    }

    fn item(&mut self, item: InputItem, p: &str) -> Result<(), GatewayError> {
        // The "easy" message form has no `type`; a `role` identifies it.
        let kind = match item.kind.as_deref() {
            Some(k) => k.to_owned(),
            None if item.role.is_some() => "message".to_owned(),
            None => return Err(missing(&format!("{p}.type"))),
        };
        match kind.as_str() {
            "message" => self.message(item, p),
            "function_call" => self.function_call(item, p),
            "function_call_output" => self.function_call_output(item, p),
            "reasoning" => {
                self.reasoning(item);
                Ok(())
            }
            "item_reference" => Err(GatewayError::invalid_param(
                p,
                "Item references require stored responses, which are not enabled in this gateway yet; send the full item instead.",
            )),
            other => Err(GatewayError::invalid_param(
                format!("{p}.type"),
                format!("Input items of type '{other}' are not supported: Bedrock models can only use 'message', 'function_call', 'function_call_output' and 'reasoning' items."),
            )),
        }
    }

    fn message(&mut self, item: InputItem, p: &str) -> Result<(), GatewayError> {
        let Some(role) = item.role else {
            return Err(missing(&format!("{p}.role")));
        };
        let Some(content) = item.content else {
            return Err(missing(&format!("{p}.content")));
        };
        if let ItemContent::Parts(parts) = &content {
            if parts.is_empty() {
                return Err(empty_content(p));
            }
        }
        match role.as_str() {
            "system" | "developer" => self.system_message(content, p),
            "user" => self.user_message(content, p),
            "assistant" => self.assistant_message(content, p),
            other => Err(GatewayError::invalid_param(
                format!("{p}.role"),
                format!("Invalid value: '{other}'. Supported values are: 'user', 'assistant', 'system' and 'developer'."),
            )),
        }
    }

    /// System and developer messages, wherever they appear, become system blocks in order
    /// (Converse has no mid-conversation system turn).
    fn system_message(&mut self, content: ItemContent, p: &str) -> Result<(), GatewayError> {
        match content {
            ItemContent::Text(text) => {
                if !text.is_empty() {
                    self.system.push(SystemBlock::Text(text));
                }
            }
            ItemContent::Parts(parts) => system_parts(parts, p, "input_text", &mut self.system)?,
        }
        Ok(())
    }

    fn user_message(&mut self, content: ItemContent, p: &str) -> Result<(), GatewayError> {
        let blocks = match content {
            ItemContent::Text(text) => vec![ContentBlock::Text(text)],
            ItemContent::Parts(parts) => user_parts(parts, p, "input_text", |part, pp| match part
                .kind
                .as_str()
            {
                "input_image" => image(part, pp),
                "input_file" => self.file(part, pp),
                other => Err(unsupported_part(
                    other,
                    pp,
                    &["input_text", "input_image", "input_file"],
                )),
            })?,
        };
        self.push(Role::User, blocks);
        Ok(())
    }

    fn assistant_message(&mut self, content: ItemContent, p: &str) -> Result<(), GatewayError> {
        let mut blocks = Vec::new();
        match content {
            // Empty text is dropped: Bedrock rejects blank text blocks.
            ItemContent::Text(text) if text.is_empty() => {}
            ItemContent::Text(text) => blocks.push(ContentBlock::Text(text)),
            // Some clients replay assistant turns with input parts.
            ItemContent::Parts(parts) => assistant_parts(
                parts,
                p,
                &["output_text", "input_text"],
                &["output_text", "refusal"],
                &mut blocks,
            )?,
        }
        self.push(Role::Assistant, blocks);
        Ok(())
    }

    /// A `function_call` item is a tool use of the assistant turn it belongs to; chat's decoding
    /// of the arguments is reused, with the parameter path rebased onto the flat item.
    fn function_call(&mut self, item: InputItem, p: &str) -> Result<(), GatewayError> {
        let Some(call_id) = item.call_id else {
            return Err(missing(&format!("{p}.call_id")));
        };
        let Some(name) = item.name else {
            return Err(missing(&format!("{p}.name")));
        };
        let call = ToolCall {
            id: call_id,
            kind: None,
            function: Some(FunctionCall {
                name,
                arguments: item.arguments.unwrap_or_default(),
            }),
            custom: None,
        };
        let block = tool_use(call, p)
            .map_err(|e| super::rebase(e, &format!("{p}.function."), &format!("{p}.")))?;
        self.push(Role::Assistant, vec![block]);
        Ok(())
    }

    /// Outputs become `ToolResult` blocks of one user turn (consecutive outputs merge via `push`).
    fn function_call_output(&mut self, item: InputItem, p: &str) -> Result<(), GatewayError> {
        let Some(tool_use_id) = item.call_id else {
            return Err(missing(&format!("{p}.call_id")));
        };
        let Some(output) = item.output else {
            return Err(missing(&format!("{p}.output")));
        };
        let mut content = Vec::new();
        match output {
            // Kept as text even when it looks like JSON: re-encoding could change what the model
            // sees.
            ItemContent::Text(text) => content.push(ToolResultContent::Text(text)),
            ItemContent::Parts(parts) => {
                for (j, part) in parts.into_iter().enumerate() {
                    let pp = format!("{p}.output[{j}]");
                    match part.kind.as_str() {
                        "input_text" => {
                            content.push(ToolResultContent::Text(part_text(part.text, &pp)?))
                        }
                        "input_image" => match image(part, &pp)? {
                            ContentBlock::Image { format, bytes } => {
                                content.push(ToolResultContent::Image { format, bytes })
                            }
                            // Tool results carry image bytes only; there is no fetch step
                            // for them.
                            ContentBlock::ImageUrl { param, .. } => {
                                return Err(GatewayError::invalid_param(
                                    param,
                                    "Remote image URLs are not supported in function_call_output; send the image inline as a data: URL (data:image/png;base64,...).",
                                ))
                            }
                            // `image_from_url` only builds images; anything else would be a bug
                            // there, reported rather than dropped.
                            _ => {
                                return Err(GatewayError::internal(
                                    "image decoding produced a non-image block",
                                ))
                            }
                        },
                        "input_file" => {
                            return Err(GatewayError::invalid_param(
                                format!("{pp}.type"),
                                "Files in function call outputs are not supported by Bedrock; send text or images.",
                            ))
                        }
                        other => {
                            return Err(unsupported_part(other, &pp, &["input_text", "input_image"]))
                        }
                    }
                }
            }
        }
        self.push(
            Role::User,
            vec![ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error: false,
            }],
        );
        Ok(())
    }

    /// A reasoning item sent back: its text and signature (`encrypted_content`) let the model
    /// continue a reasoning turn with tools. Without `encrypted_content` the reasoning cannot be
    /// verified by the provider (Anthropic rejects unsigned thinking), so it is dropped — that
    /// is also what such an item from another provider is worth here.
    fn reasoning(&mut self, item: InputItem) {
        let Some(encrypted) = item.encrypted_content.filter(|e| !e.is_empty()) else {
            return;
        };
        if let Some(data) = encrypted.strip_prefix(REDACTED_PREFIX) {
            // Undecodable data cannot have come from this gateway; it is dropped like an
            // unsigned item rather than failing the whole request.
            if let Ok(bytes) = b64::decode(data) {
                self.push(
                    Role::Assistant,
                    vec![ContentBlock::RedactedReasoning(Bytes::from(bytes))],
                );
            }
            return;
        }
        // The full reasoning text (`content`) wins over the summary when a client sends both;
        // this gateway's own items carry the text in the summary.
        let text = join_texts(item.content.as_ref(), "reasoning_text")
            .filter(|t| !t.is_empty())
            .or_else(|| {
                item.summary
                    .as_ref()
                    .map(|s| s.iter().filter_map(|p| p.text.as_deref()).collect())
            })
            .unwrap_or_default();
        self.push(
            Role::Assistant,
            vec![ContentBlock::Reasoning {
                text,
                signature: Some(encrypted),
            }],
        );
    }

    fn file(&mut self, part: InputPart, pp: &str) -> Result<ContentBlock, GatewayError> {
        if part.file_url.is_some() && part.file_data.is_none() {
            return Err(GatewayError::invalid_param(
                format!("{pp}.file_url"),
                "Fetching remote file URLs is not supported yet; send the file inline in 'file_data' (a data: URL or base64).",
            ));
        }
        let file = FileRef {
            filename: part.filename,
            file_data: part.file_data,
            file_id: part.file_id,
        };
        media::file_block(&file, pp, &mut self.doc_names)
    }
}

fn image(part: InputPart, pp: &str) -> Result<ContentBlock, GatewayError> {
    match part.image_url {
        Some(url) => media::image_from_url(&url, &format!("{pp}.image_url")),
        None if part.file_id.is_some() => Err(GatewayError::invalid_param(
            format!("{pp}.file_id"),
            "Uploaded file ids are not supported; send the image inline in 'image_url' as a data: URL (data:image/png;base64,...).",
        )),
        None => Err(missing(&format!("{pp}.image_url"))),
    }
}

fn join_texts(content: Option<&ItemContent>, kind: &str) -> Option<String> {
    match content? {
        ItemContent::Text(t) => Some(t.clone()),
        ItemContent::Parts(parts) => Some(
            parts
                .iter()
                .filter(|p| p.kind == kind)
                .filter_map(|p| p.text.as_deref())
                .collect(),
        ),
    }
}

impl_part!(InputPart);
