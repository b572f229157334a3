//! `GET /v1/models` and `GET /v1/models/{model}` response types.

use gomodel_core::model::ModelInfo;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListModelsResponse {
    /// Always `list`.
    pub object: String,
    pub data: Vec<Model>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    pub id: String,
    /// Always `model`.
    pub object: String,
    pub created: u64,
    pub owned_by: String,
}

/// The model object of `GET /v1/models` and `GET /v1/models/{model}`: the one conversion both
/// endpoints use, so a retrieved model is exactly its entry in the listing.
pub fn model(info: ModelInfo) -> Model {
    Model {
        id: info.id,
        object: "model".to_owned(),
        created: info.created,
        owned_by: info.owned_by,
    }
}

/// Builds the listing, keeping the models' order.
pub fn list_response(models: impl IntoIterator<Item = ModelInfo>) -> ListModelsResponse {
    ListModelsResponse {
        object: "list".to_owned(),
        data: models.into_iter().map(model).collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use gomodel_core::model::ModelKind;
    use serde_json::json;

    fn info(id: &str, owned_by: &str, created: u64) -> ModelInfo {
        ModelInfo {
            id: id.to_owned(),
            owned_by: owned_by.to_owned(),
            created,
            kind: ModelKind::Chat,
        }
    }

    #[test]
    fn list_shape_matches_spec() {
        let cases = [
            (vec![], json!({"object": "list", "data": []})),
            (
                vec![
                    info("amazon.nova-lite-v1:0", "amazon", 7),
                    info("b", "x", 0),
                ],
                json!({"object": "list", "data": [
                    {"id": "amazon.nova-lite-v1:0", "object": "model", "created": 7, "owned_by": "amazon"},
                    {"id": "b", "object": "model", "created": 0, "owned_by": "x"}
                ]}),
            ),
        ];
        for (input, want) in cases {
            let got = serde_json::to_value(list_response(input)).unwrap();
            crate::spec_check::assert_matches("ListModelsResponse", &got);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn model_shape_matches_spec_and_the_listing() {
        let ids = [
            "amazon.nova-lite-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        ];
        for id in ids {
            let m = info(id, "anthropic", 1_700_000_000);
            let got = serde_json::to_value(model(m.clone())).unwrap();
            crate::spec_check::assert_matches("Model", &got);
            assert_eq!(
                got,
                json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "anthropic"})
            );
            let listed = serde_json::to_value(&list_response([m]).data[0]).unwrap();
            assert_eq!(got, listed);
        }
    }
}
