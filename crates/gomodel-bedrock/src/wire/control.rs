//! Control-plane listings (`bedrock-2023-04-20.service-2.json`): ListFoundationModels and
//! ListInferenceProfiles responses. Only the members the catalog reads are modelled; the rest are
//! ignored.

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListFoundationModelsResponse {
    #[serde(default)]
    pub model_summaries: Vec<FoundationModelSummary>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundationModelSummary {
    #[serde(default)]
    pub model_arn: String,
    pub model_id: String,
    #[serde(default)]
    pub model_name: Option<String>,
    #[serde(default)]
    pub provider_name: Option<String>,
    /// `TEXT` | `IMAGE` | `EMBEDDING`.
    #[serde(default)]
    pub input_modalities: Vec<String>,
    #[serde(default)]
    pub output_modalities: Vec<String>,
    #[serde(default)]
    pub response_streaming_supported: Option<bool>,
    /// `ON_DEMAND` | `PROVISIONED` (and `INFERENCE_PROFILE` in practice).
    #[serde(default)]
    pub inference_types_supported: Vec<String>,
    #[serde(default)]
    pub model_lifecycle: Option<FoundationModelLifecycle>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FoundationModelLifecycle {
    /// `ACTIVE` | `LEGACY`.
    #[serde(default)]
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListInferenceProfilesResponse {
    #[serde(default)]
    pub inference_profile_summaries: Vec<InferenceProfileSummary>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceProfileSummary {
    pub inference_profile_id: String,
    #[serde(default)]
    pub inference_profile_name: Option<String>,
    #[serde(default)]
    pub inference_profile_arn: Option<String>,
    #[serde(default)]
    pub models: Vec<InferenceProfileModel>,
    /// `ACTIVE`.
    #[serde(default)]
    pub status: Option<String>,
    /// `SYSTEM_DEFINED` | `APPLICATION`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceProfileModel {
    #[serde(default)]
    pub model_arn: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn listings_parse_with_unknown_fields() {
        let fm: ListFoundationModelsResponse = serde_json::from_str(
            r#"{"modelSummaries":[{"modelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
            "modelId":"amazon.nova-lite-v1:0","modelName":"Nova Lite","providerName":"Amazon",
            "inputModalities":["TEXT","IMAGE"],"outputModalities":["TEXT"],"responseStreamingSupported":true,
            "customizationsSupported":[],"inferenceTypesSupported":["ON_DEMAND"],
            "modelLifecycle":{"status":"ACTIVE"},"brandNew":1}]}"#,
        )
        .unwrap();
        assert_eq!(fm.model_summaries[0].model_id, "amazon.nova-lite-v1:0");
        assert_eq!(
            fm.model_summaries[0].inference_types_supported,
            ["ON_DEMAND"]
        );

        let ip: ListInferenceProfilesResponse = serde_json::from_str(
            r#"{"inferenceProfileSummaries":[{"inferenceProfileName":"US Claude","inferenceProfileId":"us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "inferenceProfileArn":"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "models":[{"modelArn":"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0"}],
            "status":"ACTIVE","type":"SYSTEM_DEFINED","createdAt":"2024-01-01T00:00:00Z"}],"nextToken":"abc"}"#,
        )
        .unwrap();
        assert_eq!(ip.next_token.as_deref(), Some("abc"));
        assert_eq!(
            ip.inference_profile_summaries[0].kind.as_deref(),
            Some("SYSTEM_DEFINED")
        );
    }
}
