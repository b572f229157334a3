//! `GET /v1/models` response types.

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

/// Builds the listing from `(id, owned_by, created)` triples, keeping their order.
pub fn list_response(
    models: impl IntoIterator<Item = (String, String, u64)>,
) -> ListModelsResponse {
    ListModelsResponse {
        object: "list".to_owned(),
        data: models
            .into_iter()
            .map(|(id, owned_by, created)| Model {
                id,
                object: "model".to_owned(),
                created,
                owned_by,
            })
            .collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_shape_matches_spec() {
        let cases = [
            (vec![], json!({"object": "list", "data": []})),
            (
                vec![
                    ("amazon.nova-lite-v1:0".to_owned(), "amazon".to_owned(), 7),
                    ("b".to_owned(), "x".to_owned(), 0),
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
}
