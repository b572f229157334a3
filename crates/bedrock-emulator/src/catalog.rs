//! The built-in model catalog: foundation models, system-defined (cross-region) inference
//! profiles, one application inference profile and one provisioned model, plus resolution of
//! every model identifier form Bedrock accepts (base id, profile id, and the ARNs).

use crate::errors::ApiError;
use serde_json::{json, Value};

/// Account id used in the ARNs of profiles and provisioned models.
pub const ACCOUNT_ID: &str = "123456789012";

/// `createdAt` / `updatedAt` of the built-in profiles (fixed so answers are deterministic).
const PROFILE_CREATED_AT: &str = "2024-08-27T00:00:00Z";
const PROFILE_UPDATED_AT: &str = "2025-05-22T00:00:00Z";

/// Input / output modality (`ModelModality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modality {
    /// TEXT
    Text,
    /// IMAGE
    Image,
    /// EMBEDDING
    Embedding,
}

impl Modality {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Modality::Text => "TEXT",
            Modality::Image => "IMAGE",
            Modality::Embedding => "EMBEDDING",
        }
    }
}

/// How a model can be invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InferenceType {
    /// Callable by its base id.
    OnDemand,
    /// Only through an inference profile.
    InferenceProfile,
    /// Through provisioned throughput.
    Provisioned,
}

impl InferenceType {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            InferenceType::OnDemand => "ON_DEMAND",
            InferenceType::InferenceProfile => "INFERENCE_PROFILE",
            InferenceType::Provisioned => "PROVISIONED",
        }
    }
}

/// Customisation kinds (`ModelCustomization`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Customization {
    /// FINE_TUNING
    FineTuning,
    /// CONTINUED_PRE_TRAINING
    ContinuedPreTraining,
    /// DISTILLATION
    Distillation,
}

impl Customization {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Customization::FineTuning => "FINE_TUNING",
            Customization::ContinuedPreTraining => "CONTINUED_PRE_TRAINING",
            Customization::Distillation => "DISTILLATION",
        }
    }
}

/// Request/response schema family for InvokeModel embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddingFamily {
    /// amazon.titan-embed-text-v1
    TitanV1,
    /// amazon.titan-embed-text-v2:0
    TitanV2,
    /// cohere.embed-english-v3 / cohere.embed-multilingual-v3
    CohereV3,
    /// cohere.embed-v4:0
    CohereV4,
}

/// What the emulator can do with a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Text generation through Converse / ConverseStream.
    Chat,
    /// Embeddings through InvokeModel.
    Embedding(EmbeddingFamily),
    /// Image generation (listed, not emulated).
    ImageGeneration,
}

/// One foundation model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundationModel {
    /// Base model id.
    pub model_id: &'static str,
    /// Display name.
    pub model_name: &'static str,
    /// Provider display name.
    pub provider_name: &'static str,
    /// Input modalities.
    pub input_modalities: &'static [Modality],
    /// Output modalities.
    pub output_modalities: &'static [Modality],
    /// ConverseStream / InvokeModelWithResponseStream support.
    pub response_streaming_supported: bool,
    /// Supported customisations.
    pub customizations_supported: &'static [Customization],
    /// How it can be invoked.
    pub inference_types_supported: &'static [InferenceType],
    /// What the emulator answers with.
    pub kind: ModelKind,
}

use Customization::*;
use InferenceType::*;
use Modality::*;

const ON_DEMAND: &[InferenceType] = &[OnDemand];
const PROFILE_ONLY: &[InferenceType] = &[InferenceProfile];
const TEXT: &[Modality] = &[Text];
const TEXT_IMAGE: &[Modality] = &[Text, Image];

/// The built-in foundation models.
pub static FOUNDATION_MODELS: &[FoundationModel] = &[
    FoundationModel {
        model_id: "anthropic.claude-3-haiku-20240307-v1:0",
        model_name: "Claude 3 Haiku",
        provider_name: "Anthropic",
        input_modalities: TEXT_IMAGE,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[],
        inference_types_supported: &[OnDemand, InferenceProfile],
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "anthropic.claude-3-5-haiku-20241022-v1:0",
        model_name: "Claude 3.5 Haiku",
        provider_name: "Anthropic",
        input_modalities: TEXT,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[],
        inference_types_supported: &[OnDemand, InferenceProfile],
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "anthropic.claude-3-5-sonnet-20240620-v1:0",
        model_name: "Claude 3.5 Sonnet",
        provider_name: "Anthropic",
        input_modalities: TEXT_IMAGE,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[],
        inference_types_supported: &[OnDemand, InferenceProfile],
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "anthropic.claude-3-7-sonnet-20250219-v1:0",
        model_name: "Claude 3.7 Sonnet",
        provider_name: "Anthropic",
        input_modalities: TEXT_IMAGE,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[],
        inference_types_supported: PROFILE_ONLY,
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "anthropic.claude-sonnet-4-20250514-v1:0",
        model_name: "Claude Sonnet 4",
        provider_name: "Anthropic",
        input_modalities: TEXT_IMAGE,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[],
        inference_types_supported: PROFILE_ONLY,
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "amazon.nova-micro-v1:0",
        model_name: "Nova Micro",
        provider_name: "Amazon",
        input_modalities: TEXT,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[FineTuning, Distillation],
        inference_types_supported: &[OnDemand, InferenceProfile],
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "amazon.nova-lite-v1:0",
        model_name: "Nova Lite",
        provider_name: "Amazon",
        input_modalities: TEXT_IMAGE,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[FineTuning, Distillation],
        inference_types_supported: &[OnDemand, InferenceProfile, Provisioned],
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "amazon.nova-pro-v1:0",
        model_name: "Nova Pro",
        provider_name: "Amazon",
        input_modalities: TEXT_IMAGE,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[FineTuning, Distillation],
        inference_types_supported: &[OnDemand, InferenceProfile],
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "amazon.nova-premier-v1:0",
        model_name: "Nova Premier",
        provider_name: "Amazon",
        input_modalities: TEXT_IMAGE,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[Distillation],
        inference_types_supported: PROFILE_ONLY,
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "amazon.titan-embed-text-v1",
        model_name: "Titan Embeddings G1 - Text",
        provider_name: "Amazon",
        input_modalities: TEXT,
        output_modalities: &[Embedding],
        response_streaming_supported: false,
        customizations_supported: &[],
        inference_types_supported: ON_DEMAND,
        kind: ModelKind::Embedding(EmbeddingFamily::TitanV1),
    },
    FoundationModel {
        model_id: "amazon.titan-embed-text-v2:0",
        model_name: "Titan Text Embeddings V2",
        provider_name: "Amazon",
        input_modalities: TEXT,
        output_modalities: &[Embedding],
        response_streaming_supported: false,
        customizations_supported: &[],
        inference_types_supported: ON_DEMAND,
        kind: ModelKind::Embedding(EmbeddingFamily::TitanV2),
    },
    FoundationModel {
        model_id: "amazon.titan-image-generator-v2:0",
        model_name: "Titan Image Generator G1 v2",
        provider_name: "Amazon",
        input_modalities: TEXT_IMAGE,
        output_modalities: &[Image],
        response_streaming_supported: false,
        customizations_supported: &[FineTuning],
        inference_types_supported: &[OnDemand, Provisioned],
        kind: ModelKind::ImageGeneration,
    },
    FoundationModel {
        model_id: "meta.llama3-8b-instruct-v1:0",
        model_name: "Llama 3 8B Instruct",
        provider_name: "Meta",
        input_modalities: TEXT,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[],
        inference_types_supported: ON_DEMAND,
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "meta.llama3-2-11b-instruct-v1:0",
        model_name: "Llama 3.2 11B Instruct",
        provider_name: "Meta",
        input_modalities: TEXT_IMAGE,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[FineTuning],
        inference_types_supported: PROFILE_ONLY,
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "mistral.mistral-large-2402-v1:0",
        model_name: "Mistral Large (24.02)",
        provider_name: "Mistral AI",
        input_modalities: TEXT,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[],
        inference_types_supported: ON_DEMAND,
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "cohere.command-r-plus-v1:0",
        model_name: "Command R+",
        provider_name: "Cohere",
        input_modalities: TEXT,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[],
        inference_types_supported: ON_DEMAND,
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "cohere.embed-english-v3",
        model_name: "Embed English",
        provider_name: "Cohere",
        input_modalities: TEXT,
        output_modalities: &[Embedding],
        response_streaming_supported: false,
        customizations_supported: &[],
        inference_types_supported: ON_DEMAND,
        kind: ModelKind::Embedding(EmbeddingFamily::CohereV3),
    },
    FoundationModel {
        model_id: "cohere.embed-multilingual-v3",
        model_name: "Embed Multilingual",
        provider_name: "Cohere",
        input_modalities: TEXT,
        output_modalities: &[Embedding],
        response_streaming_supported: false,
        customizations_supported: &[],
        inference_types_supported: ON_DEMAND,
        kind: ModelKind::Embedding(EmbeddingFamily::CohereV3),
    },
    FoundationModel {
        model_id: "cohere.embed-v4:0",
        model_name: "Embed v4",
        provider_name: "Cohere",
        input_modalities: TEXT_IMAGE,
        output_modalities: &[Embedding],
        response_streaming_supported: false,
        customizations_supported: &[],
        inference_types_supported: ON_DEMAND,
        kind: ModelKind::Embedding(EmbeddingFamily::CohereV4),
    },
    FoundationModel {
        model_id: "ai21.jamba-1-5-mini-v1:0",
        model_name: "Jamba 1.5 Mini",
        provider_name: "AI21 Labs",
        input_modalities: TEXT,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[],
        inference_types_supported: ON_DEMAND,
        kind: ModelKind::Chat,
    },
    FoundationModel {
        model_id: "deepseek.r1-v1:0",
        model_name: "DeepSeek-R1",
        provider_name: "DeepSeek",
        input_modalities: TEXT,
        output_modalities: TEXT,
        response_streaming_supported: true,
        customizations_supported: &[],
        inference_types_supported: PROFILE_ONLY,
        kind: ModelKind::Chat,
    },
];

/// Geography of a system-defined (cross-region) inference profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Geo {
    /// `us.` — US regions.
    Us,
    /// `eu.` — European regions.
    Eu,
    /// `apac.` — Asia Pacific regions.
    Apac,
    /// `global.` — every commercial region.
    Global,
}

impl Geo {
    /// The profile id prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Geo::Us => "us",
            Geo::Eu => "eu",
            Geo::Apac => "apac",
            Geo::Global => "global",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Geo::Us => "US",
            Geo::Eu => "EU",
            Geo::Apac => "APAC",
            Geo::Global => "Global",
        }
    }

    /// Destination regions a profile of this geography routes to (empty for global, whose
    /// model ARN carries no region).
    pub fn destination_regions(self) -> &'static [&'static str] {
        match self {
            Geo::Us => &["us-east-1", "us-east-2", "us-west-2"],
            Geo::Eu => &["eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"],
            Geo::Apac => &[
                "ap-northeast-1",
                "ap-southeast-1",
                "ap-southeast-2",
                "ap-south-1",
            ],
            Geo::Global => &[],
        }
    }

    /// Whether a profile of this geography is offered in `region` (a `us.` profile exists only
    /// in US regions, `global.` everywhere).
    pub fn available_in(self, region: &str) -> bool {
        match self {
            Geo::Global => true,
            Geo::Us => region.starts_with("us-"),
            Geo::Eu => region.starts_with("eu-"),
            Geo::Apac => region.starts_with("ap-"),
        }
    }
}

/// The system-defined profiles: (geography, base model id).
pub static SYSTEM_PROFILES: &[(Geo, &str)] = &[
    (Geo::Us, "anthropic.claude-3-haiku-20240307-v1:0"),
    (Geo::Eu, "anthropic.claude-3-haiku-20240307-v1:0"),
    (Geo::Apac, "anthropic.claude-3-haiku-20240307-v1:0"),
    (Geo::Us, "anthropic.claude-3-5-haiku-20241022-v1:0"),
    (Geo::Us, "anthropic.claude-3-5-sonnet-20240620-v1:0"),
    (Geo::Eu, "anthropic.claude-3-5-sonnet-20240620-v1:0"),
    (Geo::Apac, "anthropic.claude-3-5-sonnet-20240620-v1:0"),
    (Geo::Us, "anthropic.claude-3-7-sonnet-20250219-v1:0"),
    (Geo::Eu, "anthropic.claude-3-7-sonnet-20250219-v1:0"),
    (Geo::Apac, "anthropic.claude-3-7-sonnet-20250219-v1:0"),
    (Geo::Us, "anthropic.claude-sonnet-4-20250514-v1:0"),
    (Geo::Eu, "anthropic.claude-sonnet-4-20250514-v1:0"),
    (Geo::Apac, "anthropic.claude-sonnet-4-20250514-v1:0"),
    (Geo::Global, "anthropic.claude-sonnet-4-20250514-v1:0"),
    (Geo::Us, "amazon.nova-micro-v1:0"),
    (Geo::Eu, "amazon.nova-micro-v1:0"),
    (Geo::Apac, "amazon.nova-micro-v1:0"),
    (Geo::Us, "amazon.nova-lite-v1:0"),
    (Geo::Eu, "amazon.nova-lite-v1:0"),
    (Geo::Apac, "amazon.nova-lite-v1:0"),
    (Geo::Us, "amazon.nova-pro-v1:0"),
    (Geo::Eu, "amazon.nova-pro-v1:0"),
    (Geo::Apac, "amazon.nova-pro-v1:0"),
    (Geo::Us, "amazon.nova-premier-v1:0"),
    (Geo::Us, "meta.llama3-2-11b-instruct-v1:0"),
    (Geo::Us, "deepseek.r1-v1:0"),
];

/// The built-in application inference profile: (12-character id, name, base model id). It
/// copies the `us.` profile of its model, as one created with `CreateInferenceProfile` would.
pub static APPLICATION_PROFILES: &[(&str, &str, &str)] = &[(
    "a1b2c3d4e5f6",
    "emulator-app-profile",
    "anthropic.claude-3-5-haiku-20241022-v1:0",
)];

/// The built-in provisioned throughput: (12-character id, base model id).
pub static PROVISIONED_MODELS: &[(&str, &str)] = &[("pt7d3f9k2m1q", "amazon.nova-lite-v1:0")];

/// Kind of inference profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileType {
    /// Cross-region profile defined by AWS.
    SystemDefined,
    /// Created by the account.
    Application,
}

impl ProfileType {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileType::SystemDefined => "SYSTEM_DEFINED",
            ProfileType::Application => "APPLICATION",
        }
    }
}

/// One inference profile as listed for a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferenceProfile {
    /// `us.anthropic...` or the application profile's id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// ARN in the listing region.
    pub arn: String,
    /// Model ARNs the profile routes to.
    pub model_arns: Vec<String>,
    /// Kind.
    pub profile_type: ProfileType,
    /// The base model.
    pub model: &'static FoundationModel,
}

/// How a request's model identifier was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Base model id or foundation-model ARN: on-demand throughput.
    BaseModel,
    /// An inference profile id or ARN.
    InferenceProfile,
    /// A provisioned-model ARN.
    Provisioned,
}

/// A resolved model identifier.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// The model that will answer.
    pub model: &'static FoundationModel,
    /// How it was addressed.
    pub via: Via,
}

/// `arn:aws:bedrock:{region}::foundation-model/{id}` (region empty for global profiles).
pub fn foundation_model_arn(region: &str, model_id: &str) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{model_id}")
}

/// Looks a base model up by id.
pub fn find_model(model_id: &str) -> Option<&'static FoundationModel> {
    FOUNDATION_MODELS.iter().find(|m| m.model_id == model_id)
}

fn model_display(model: &FoundationModel) -> String {
    format!("{} {}", model.provider_name, model.model_name)
}

/// Every inference profile visible in `region`.
pub fn inference_profiles(region: &str) -> Vec<InferenceProfile> {
    let mut out = Vec::new();
    for (geo, model_id) in SYSTEM_PROFILES {
        if !geo.available_in(region) {
            continue;
        }
        let Some(model) = find_model(model_id) else {
            continue;
        };
        let id = format!("{}.{model_id}", geo.prefix());
        let destinations = geo.destination_regions();
        let (model_arns, routes) = if destinations.is_empty() {
            (
                vec![foundation_model_arn("", model_id)],
                "globally across all supported AWS Regions".to_string(),
            )
        } else {
            (
                destinations
                    .iter()
                    .map(|r| foundation_model_arn(r, model_id))
                    .collect(),
                format!("in {}", destinations.join(", ")),
            )
        };
        out.push(InferenceProfile {
            arn: format!("arn:aws:bedrock:{region}:{ACCOUNT_ID}:inference-profile/{id}"),
            name: format!("{} {}", geo.label(), model_display(model)),
            description: format!("Routes requests to {} {routes}.", model_display(model)),
            id,
            model_arns,
            profile_type: ProfileType::SystemDefined,
            model,
        });
    }
    for (id, name, model_id) in APPLICATION_PROFILES {
        let Some(model) = find_model(model_id) else {
            continue;
        };
        out.push(InferenceProfile {
            id: (*id).to_string(),
            name: (*name).to_string(),
            description: format!(
                "Application inference profile for {}.",
                model_display(model)
            ),
            arn: format!(
                "arn:aws:bedrock:{region}:{ACCOUNT_ID}:application-inference-profile/{id}"
            ),
            model_arns: vec![foundation_model_arn(region, model_id)],
            profile_type: ProfileType::Application,
            model,
        });
    }
    out
}

/// `FoundationModelSummary` / `FoundationModelDetails` JSON.
pub fn model_summary(model: &FoundationModel, region: &str) -> Value {
    let strs = |xs: Vec<&'static str>| Value::from(xs);
    json!({
        "modelArn": foundation_model_arn(region, model.model_id),
        "modelId": model.model_id,
        "modelName": model.model_name,
        "providerName": model.provider_name,
        "inputModalities": strs(model.input_modalities.iter().map(|m| m.as_str()).collect()),
        "outputModalities": strs(model.output_modalities.iter().map(|m| m.as_str()).collect()),
        "responseStreamingSupported": model.response_streaming_supported,
        "customizationsSupported": strs(model.customizations_supported.iter().map(|c| c.as_str()).collect()),
        "inferenceTypesSupported": strs(model.inference_types_supported.iter().map(|t| t.as_str()).collect()),
        "modelLifecycle": {"status": "ACTIVE"},
    })
}

/// `InferenceProfileSummary` JSON.
pub fn profile_summary(profile: &InferenceProfile) -> Value {
    json!({
        "inferenceProfileName": profile.name,
        "description": profile.description,
        "createdAt": PROFILE_CREATED_AT,
        "updatedAt": PROFILE_UPDATED_AT,
        "inferenceProfileArn": profile.arn,
        "models": profile.model_arns.iter().map(|a| json!({"modelArn": a})).collect::<Vec<_>>(),
        "inferenceProfileId": profile.id,
        "status": "ACTIVE",
        "type": profile.profile_type.as_str(),
    })
}

/// Filters of ListFoundationModels.
#[derive(Debug, Default, Clone)]
pub struct ModelFilter {
    /// `byProvider` (provider name or id prefix, case-insensitive).
    pub provider: Option<String>,
    /// `byCustomizationType`.
    pub customization: Option<String>,
    /// `byOutputModality`.
    pub output_modality: Option<String>,
    /// `byInferenceType`.
    pub inference_type: Option<String>,
}

impl ModelFilter {
    /// Whether `model` passes every filter that is set.
    pub fn matches(&self, model: &FoundationModel) -> bool {
        if let Some(p) = &self.provider {
            let prefix = model.model_id.split('.').next().unwrap_or_default();
            if !model.provider_name.eq_ignore_ascii_case(p) && !prefix.eq_ignore_ascii_case(p) {
                return false;
            }
        }
        if let Some(c) = &self.customization {
            if !model
                .customizations_supported
                .iter()
                .any(|x| x.as_str() == c)
            {
                return false;
            }
        }
        if let Some(m) = &self.output_modality {
            if !model.output_modalities.iter().any(|x| x.as_str() == m) {
                return false;
            }
        }
        if let Some(t) = &self.inference_type {
            if !model
                .inference_types_supported
                .iter()
                .any(|x| x.as_str() == t)
            {
                return false;
            }
        }
        true
    }
}

/// `The provided model identifier is invalid.`
pub fn invalid_identifier() -> ApiError {
    ApiError::validation("The provided model identifier is invalid.")
}

/// Resolves any identifier form to its model, as seen from `region`.
pub fn resolve(identifier: &str, region: &str) -> Result<Resolved, ApiError> {
    if let Some(rest) = identifier.strip_prefix("arn:") {
        // arn:PARTITION:bedrock:REGION:ACCOUNT:RESOURCE-TYPE/RESOURCE-ID
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [partition, service, _arn_region, _account, resource] = parts.as_slice() else {
            return Err(invalid_identifier());
        };
        if !partition.starts_with("aws") || *service != "bedrock" {
            return Err(invalid_identifier());
        }
        let Some((kind, id)) = resource.split_once('/') else {
            return Err(invalid_identifier());
        };
        return match kind {
            "foundation-model" => find_model(id)
                .map(|model| Resolved {
                    model,
                    via: Via::BaseModel,
                })
                .ok_or_else(invalid_identifier),
            "inference-profile" | "application-inference-profile" => inference_profiles(region)
                .into_iter()
                .find(|p| {
                    p.id == id
                        && (kind == "inference-profile")
                            == (p.profile_type == ProfileType::SystemDefined)
                })
                .map(|p| Resolved {
                    model: p.model,
                    via: Via::InferenceProfile,
                })
                .ok_or_else(invalid_identifier),
            "provisioned-model" => PROVISIONED_MODELS
                .iter()
                .find(|(pid, _)| *pid == id)
                .and_then(|(_, model_id)| find_model(model_id))
                .map(|model| Resolved {
                    model,
                    via: Via::Provisioned,
                })
                .ok_or_else(invalid_identifier),
            _ => Err(invalid_identifier()),
        };
    }
    if let Some(model) = find_model(identifier) {
        return Ok(Resolved {
            model,
            via: Via::BaseModel,
        });
    }
    inference_profiles(region)
        .into_iter()
        .find(|p| p.id == identifier && p.profile_type == ProfileType::SystemDefined)
        .map(|p| Resolved {
            model: p.model,
            via: Via::InferenceProfile,
        })
        .ok_or_else(invalid_identifier)
}

/// Bedrock's refusal of on-demand calls to an inference-profile-only model (curly apostrophe as
/// Bedrock writes it).
pub fn on_demand_refusal(model_id: &str) -> ApiError {
    ApiError::validation(format!(
        "Invocation of model ID {model_id} with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
    ))
}

/// Rejects base-id calls to models that have no on-demand throughput.
pub fn check_on_demand(resolved: &Resolved) -> Result<(), ApiError> {
    if resolved.via == Via::BaseModel
        && !resolved
            .model
            .inference_types_supported
            .contains(&InferenceType::OnDemand)
    {
        return Err(on_demand_refusal(resolved.model.model_id));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)] // table-driven tests spell their row types out
mod tests {
    use super::*;

    #[test]
    fn resolution_table() {
        let cases: Vec<(&str, &str, Option<(&str, Via)>)> = vec![
            (
                "amazon.nova-micro-v1:0",
                "us-east-1",
                Some(("amazon.nova-micro-v1:0", Via::BaseModel)),
            ),
            (
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "us-east-1",
                Some((
                    "anthropic.claude-3-7-sonnet-20250219-v1:0",
                    Via::InferenceProfile,
                )),
            ),
            (
                "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "eu-west-1",
                Some((
                    "anthropic.claude-3-7-sonnet-20250219-v1:0",
                    Via::InferenceProfile,
                )),
            ),
            // A `us.` profile does not exist in an EU region.
            (
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "eu-west-1",
                None,
            ),
            (
                "global.anthropic.claude-sonnet-4-20250514-v1:0",
                "eu-west-1",
                Some((
                    "anthropic.claude-sonnet-4-20250514-v1:0",
                    Via::InferenceProfile,
                )),
            ),
            (
                "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
                "us-east-1",
                Some(("amazon.nova-pro-v1:0", Via::BaseModel)),
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.deepseek.r1-v1:0",
                "us-east-1",
                Some(("deepseek.r1-v1:0", Via::InferenceProfile)),
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
                "us-east-1",
                Some((
                    "anthropic.claude-3-5-haiku-20241022-v1:0",
                    Via::InferenceProfile,
                )),
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/pt7d3f9k2m1q",
                "us-east-1",
                Some(("amazon.nova-lite-v1:0", Via::Provisioned)),
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/zzzzzzzzzzzz",
                "us-east-1",
                None,
            ),
            ("arn:aws:s3:::bucket/key", "us-east-1", None),
            ("a1b2c3d4e5f6", "us-east-1", None),
            ("anthropic.claude-v9", "us-east-1", None),
            ("", "us-east-1", None),
        ];
        for (id, region, expected) in cases {
            match (resolve(id, region), expected) {
                (Ok(r), Some((model, via))) => {
                    assert_eq!(r.model.model_id, model, "{id}");
                    assert_eq!(r.via, via, "{id}");
                }
                (Err(e), None) => {
                    assert_eq!(e.message, "The provided model identifier is invalid.")
                }
                (got, want) => panic!("{id}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn on_demand_refusal_text_is_bedrocks() {
        let r = resolve("anthropic.claude-3-7-sonnet-20250219-v1:0", "us-east-1").unwrap();
        let e = check_on_demand(&r).unwrap_err();
        assert_eq!(
            e.message,
            "Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
        );
        let r = resolve("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "us-east-1").unwrap();
        assert!(check_on_demand(&r).is_ok());
    }

    #[test]
    fn every_profile_points_at_a_catalog_model_and_profile_only_models_have_profiles() {
        for (_, model_id) in SYSTEM_PROFILES {
            assert!(find_model(model_id).is_some(), "{model_id}");
        }
        let us = inference_profiles("us-east-1");
        for m in FOUNDATION_MODELS {
            if m.inference_types_supported == PROFILE_ONLY {
                assert!(
                    us.iter().any(|p| p.model.model_id == m.model_id),
                    "{}",
                    m.model_id
                );
            }
        }
        assert!(us
            .iter()
            .all(|p| !p.model_arns.is_empty() && p.model_arns.len() <= 5));
    }

    #[test]
    fn filters() {
        let f = ModelFilter {
            provider: Some("mistral".into()),
            ..Default::default()
        };
        assert_eq!(FOUNDATION_MODELS.iter().filter(|m| f.matches(m)).count(), 1);
        let f = ModelFilter {
            output_modality: Some("EMBEDDING".into()),
            ..Default::default()
        };
        assert_eq!(FOUNDATION_MODELS.iter().filter(|m| f.matches(m)).count(), 5);
    }
}
