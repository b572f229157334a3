//! What a provider reports about a model it serves.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    Chat,
    Embedding,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// The id clients send, e.g. `anthropic.claude-3-5-haiku-20241022-v1:0` or `us.anthropic...`.
    pub id: String,
    /// The originating vendor, e.g. `anthropic`, `amazon`, `meta`.
    pub owned_by: String,
    /// Unix seconds; providers that do not report it use the registry's load time.
    pub created: u64,
    pub kind: ModelKind,
}

/// The vendor of a Bedrock-style model id, e.g. `anthropic` for `us.anthropic.claude-3...`,
/// `amazon` for `amazon.nova-lite-v1:0`, or for ARNs the vendor in the resource part.
pub fn vendor_of(model_id: &str) -> Option<&str> {
    // ARNs: arn:aws:bedrock:region:account:foundation-model/anthropic.claude...
    let id = match model_id.rsplit_once('/') {
        Some((_, rest)) if model_id.starts_with("arn:") => rest,
        _ => model_id,
    };
    let mut parts = id.split('.');
    let first = parts.next()?;
    let vendor = if is_geo_prefix(first) {
        parts.next()?
    } else {
        first
    };
    if vendor.is_empty() || id.split('.').count() < 2 {
        return None;
    }
    Some(vendor)
}

/// Cross-region inference-profile prefixes (`us.anthropic...`).
pub fn is_geo_prefix(s: &str) -> bool {
    matches!(
        s,
        "us" | "eu" | "apac" | "global" | "us-gov" | "ca" | "jp" | "au"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_from_ids() {
        let cases = [
            (
                "anthropic.claude-3-5-haiku-20241022-v1:0",
                Some("anthropic"),
            ),
            ("amazon.nova-lite-v1:0", Some("amazon")),
            (
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                Some("anthropic"),
            ),
            (
                "global.anthropic.claude-sonnet-4-20250514-v1:0",
                Some("anthropic"),
            ),
            ("apac.amazon.nova-pro-v1:0", Some("amazon")),
            (
                "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0",
                Some("meta"),
            ),
            ("plainname", None),
        ];
        for (id, want) in cases {
            assert_eq!(vendor_of(id), want, "{id}");
        }
    }
}

/// How a provider's configured model list combines with its upstream listing
/// (`CONFIGURED_PROVIDER_MODELS_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelsMode {
    /// Use the configured list only when the upstream listing is unavailable or empty.
    #[default]
    Fallback,
    /// Expose and route only the configured models; skip the upstream listing.
    Allowlist,
}

impl ModelsMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fallback" => Some(ModelsMode::Fallback),
            "allowlist" => Some(ModelsMode::Allowlist),
            _ => None,
        }
    }
}
