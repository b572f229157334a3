//! Helpers shared by the chat and Responses tests: sample media, request bodies, neutral
//! messages and stream events, and spec-violation cases.

use base64::Engine as _;
use gomodel_core::chat::{BlockDelta, BlockStart, ContentBlock, Message, Role, StreamEvent};
use serde_json::Value;

pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
pub const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
pub const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\n1 0 obj";

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `base` with the top-level `fields` added (or replaced).
pub fn with_fields(mut base: Value, fields: Value) -> Value {
    if let (Some(obj), Some(extra)) = (base.as_object_mut(), fields.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    base
}

/// `good` with the member at `pointer` replaced, or removed when `replacement` is `None`.
pub fn changed(good: &Value, pointer: &str, replacement: Option<Value>) -> Value {
    let mut v = good.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let obj = v.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    match replacement {
        Some(r) => {
            obj.insert(key.to_owned(), r);
        }
        None => {
            obj.remove(key);
        }
    }
    v
}

pub fn user(blocks: Vec<ContentBlock>) -> Message {
    Message {
        role: Role::User,
        content: blocks,
    }
}

pub fn assistant(blocks: Vec<ContentBlock>) -> Message {
    Message {
        role: Role::Assistant,
        content: blocks,
    }
}

pub fn text_block(s: &str) -> ContentBlock {
    ContentBlock::Text(s.to_owned())
}

pub fn text_delta(index: u32, s: &str) -> StreamEvent {
    StreamEvent::BlockDelta {
        index,
        delta: BlockDelta::Text(s.into()),
    }
}

pub fn tool_start(index: u32, id: &str, name: &str) -> StreamEvent {
    StreamEvent::BlockStart {
        index,
        start: BlockStart::ToolUse {
            id: id.into(),
            name: name.into(),
        },
    }
}

pub fn tool_input(index: u32, s: &str) -> StreamEvent {
    StreamEvent::BlockDelta {
        index,
        delta: BlockDelta::ToolInput(s.into()),
    }
}
