//! A provider-wide guardrail (YAML `providers.<name>.guardrail`, env
//! `BEDROCK[_<SUFFIX>]_GUARDRAIL_ID` / `_GUARDRAIL_VERSION` / ...) applied to every chat call
//! that does not bring its own `bedrock.guardrail_config`: the request's choice wins, so a
//! power user can pick another guardrail, never silently get two.

use gomodel_core::chat::ProviderExtra;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardrailSettings {
    /// Guardrail id or ARN.
    pub identifier: String,
    /// A published version number or `DRAFT`.
    pub version: String,
    /// `enabled` | `disabled` | `enabled_full`.
    pub trace: Option<String>,
    /// `sync` | `async`; ConverseStream only (Converse rejects the member).
    pub stream_processing_mode: Option<String>,
}

impl GuardrailSettings {
    /// Sets `guardrailConfig` in `extra` unless the request already has one.
    pub fn apply(&self, extra: &mut ProviderExtra, stream: bool) {
        if extra
            .guardrail_config
            .as_ref()
            .is_some_and(|v| !v.is_null())
        {
            return;
        }
        let mut config = Map::new();
        config.insert("guardrailIdentifier".into(), self.identifier.clone().into());
        config.insert("guardrailVersion".into(), self.version.clone().into());
        if let Some(trace) = &self.trace {
            config.insert("trace".into(), trace.clone().into());
        }
        if let (true, Some(mode)) = (stream, &self.stream_processing_mode) {
            config.insert("streamProcessingMode".into(), mode.clone().into());
        }
        extra.guardrail_config = Some(Value::Object(config));
    }
}

/// A request's own `guardrailConfig` may carry `streamProcessingMode` whether or not it
/// streams (clients send one body for both); Converse rejects the member, and it means nothing
/// there, so it is dropped from non-streamed calls.
pub fn drop_stream_mode(extra: &mut ProviderExtra, stream: bool) {
    if let (false, Some(Value::Object(config))) = (stream, extra.guardrail_config.as_mut()) {
        config.remove("streamProcessingMode");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn apply_table() {
        let g = GuardrailSettings {
            identifier: "gr1".into(),
            version: "2".into(),
            trace: Some("enabled".into()),
            stream_processing_mode: Some("async".into()),
        };
        let own = json!({"guardrailIdentifier": "mine", "guardrailVersion": "DRAFT"});
        let cases: Vec<(Option<Value>, bool, Value)> = vec![
            (
                None,
                false,
                json!({"guardrailIdentifier": "gr1", "guardrailVersion": "2", "trace": "enabled"}),
            ),
            (
                Some(Value::Null),
                true,
                json!({"guardrailIdentifier": "gr1", "guardrailVersion": "2", "trace": "enabled", "streamProcessingMode": "async"}),
            ),
            (Some(own.clone()), true, own),
        ];
        for (given, stream, want) in cases {
            let mut extra = ProviderExtra {
                guardrail_config: given,
                ..Default::default()
            };
            g.apply(&mut extra, stream);
            assert_eq!(extra.guardrail_config, Some(want));
        }
    }

    #[test]
    fn stream_mode_is_dropped_only_from_unstreamed_calls() {
        let own = json!({"guardrailIdentifier": "g", "guardrailVersion": "1", "streamProcessingMode": "async"});
        for (stream, want) in [
            (true, own.clone()),
            (
                false,
                json!({"guardrailIdentifier": "g", "guardrailVersion": "1"}),
            ),
        ] {
            let mut extra = ProviderExtra {
                guardrail_config: Some(own.clone()),
                ..Default::default()
            };
            drop_stream_mode(&mut extra, stream);
            assert_eq!(extra.guardrail_config, Some(want));
        }
    }
}
