//! The model registry: which provider serves which model id, rebuilt from the providers' listings
//! at startup and on refresh. Reads are lock-free (an `ArcSwap` snapshot) because every request
//! resolves its model here.

use crate::error::GatewayError;
use crate::model::{ModelInfo, ModelKind};
use crate::provider::Provider;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;

/// A model as listed to clients, with the provider that serves it.
#[derive(Debug, Clone)]
pub struct ListedModel {
    pub info: ModelInfo,
    pub provider: String,
}

#[derive(Default)]
struct Snapshot {
    /// Model id → indexes into `providers`, in provider order.
    by_id: HashMap<String, Vec<usize>>,
    /// Listing order: provider order, then the provider's own order.
    listed: Vec<ListedModel>,
}

/// The result of resolving a client's `model`.
pub struct Route {
    pub provider: Arc<dyn Provider>,
    /// The id to send upstream (any `provider/` prefix removed).
    pub model: String,
    pub kind: Option<ModelKind>,
}

pub struct Registry {
    providers: Vec<Arc<dyn Provider>>,
    snapshot: ArcSwap<Snapshot>,
}

/// What a refresh found, for startup diagnostics.
#[derive(Debug, Default)]
pub struct RefreshReport {
    pub models: usize,
    /// Providers whose listing failed, with the error.
    pub failures: Vec<(String, GatewayError)>,
}

impl Registry {
    pub fn new(providers: Vec<Arc<dyn Provider>>) -> Self {
        Self {
            providers,
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
        }
    }

    pub fn providers(&self) -> &[Arc<dyn Provider>] {
        &self.providers
    }

    /// Asks every provider for its models, concurrently, and swaps in the new table. A provider
    /// whose listing fails keeps the models it had in the previous snapshot.
    pub async fn refresh(&self) -> RefreshReport {
        let results =
            futures::future::join_all(self.providers.iter().map(|p| p.list_models())).await;
        let previous = self.snapshot.load_full();
        let mut report = RefreshReport::default();
        let mut next = Snapshot::default();
        for (idx, (provider, result)) in self.providers.iter().zip(results).enumerate() {
            let models: Vec<ModelInfo> = match result {
                Ok(models) => models,
                Err(err) => {
                    tracing::warn!(provider = provider.name(), error = %err, "model listing failed");
                    report.failures.push((provider.name().to_owned(), err));
                    previous
                        .listed
                        .iter()
                        .filter(|m| m.provider == provider.name())
                        .map(|m| m.info.clone())
                        .collect()
                }
            };
            for info in models {
                let ids = next.by_id.entry(info.id.clone()).or_default();
                if ids.contains(&idx) {
                    continue;
                }
                ids.push(idx);
                next.listed.push(ListedModel {
                    info,
                    provider: provider.name().to_owned(),
                });
            }
        }
        report.models = next.listed.len();
        self.snapshot.store(Arc::new(next));
        report
    }

    pub fn list(&self) -> Vec<ListedModel> {
        self.snapshot.load().listed.clone()
    }

    pub fn is_empty(&self) -> bool {
        self.snapshot.load().listed.is_empty()
    }

    /// Resolves a client's `model`: `provider/model` picks that provider; a bare id goes to the
    /// first provider listing it; an unlisted id goes to the first provider that accepts unlisted
    /// ids of that form (Bedrock ARNs and inference profiles). Otherwise 404 `model_not_found`.
    pub fn resolve(&self, requested: &str) -> Result<Route, GatewayError> {
        let snapshot = self.snapshot.load();
        if let Some((prefix, rest)) = requested.split_once('/') {
            if let Some(idx) = self.providers.iter().position(|p| p.name() == prefix) {
                let provider = &self.providers[idx];
                let listed = snapshot
                    .by_id
                    .get(rest)
                    .is_some_and(|ids| ids.contains(&idx));
                if listed || provider.accepts_unlisted(rest) {
                    return Ok(Route {
                        provider: provider.clone(),
                        model: rest.to_owned(),
                        kind: kind_of(&snapshot, rest),
                    });
                }
                return Err(GatewayError::model_not_found(requested));
            }
        }
        if let Some(&idx) = snapshot.by_id.get(requested).and_then(|ids| ids.first()) {
            return Ok(Route {
                provider: self.providers[idx].clone(),
                model: requested.to_owned(),
                kind: kind_of(&snapshot, requested),
            });
        }
        if let Some(provider) = self
            .providers
            .iter()
            .find(|p| p.accepts_unlisted(requested))
        {
            return Ok(Route {
                provider: provider.clone(),
                model: requested.to_owned(),
                kind: None,
            });
        }
        Err(GatewayError::model_not_found(requested))
    }
}

fn kind_of(snapshot: &Snapshot, id: &str) -> Option<ModelKind> {
    snapshot
        .listed
        .iter()
        .find(|m| m.info.id == id)
        .map(|m| m.info.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{ChatRequest, ChatResponse};
    use crate::embed::{EmbedRequest, EmbedResponse};
    use crate::provider::EventStream;
    use async_trait::async_trait;

    struct Fake {
        name: &'static str,
        models: Vec<&'static str>,
        accepts_arns: bool,
    }

    #[async_trait]
    impl Provider for Fake {
        fn name(&self) -> &str {
            self.name
        }
        async fn list_models(&self) -> Result<Vec<ModelInfo>, GatewayError> {
            Ok(self
                .models
                .iter()
                .map(|id| ModelInfo {
                    id: (*id).to_owned(),
                    owned_by: "x".into(),
                    created: 0,
                    kind: ModelKind::Chat,
                })
                .collect())
        }
        async fn chat(&self, _: ChatRequest) -> Result<ChatResponse, GatewayError> {
            Err(GatewayError::internal("unused"))
        }
        async fn chat_stream(&self, _: ChatRequest) -> Result<EventStream, GatewayError> {
            Err(GatewayError::internal("unused"))
        }
        async fn embed(&self, _: EmbedRequest) -> Result<EmbedResponse, GatewayError> {
            Err(GatewayError::internal("unused"))
        }
        fn accepts_unlisted(&self, model: &str) -> bool {
            self.accepts_arns && model.starts_with("arn:")
        }
    }

    async fn registry() -> Registry {
        let r = Registry::new(vec![
            Arc::new(Fake {
                name: "bedrock-us",
                models: vec!["a.one", "shared.m"],
                accepts_arns: false,
            }),
            Arc::new(Fake {
                name: "bedrock-eu",
                models: vec!["shared.m", "b.two"],
                accepts_arns: true,
            }),
        ]);
        let report = r.refresh().await;
        assert_eq!(report.models, 4);
        r
    }

    #[tokio::test]
    async fn resolves_bare_prefixed_and_unlisted_ids() {
        let r = registry().await;
        let cases: [(&str, Option<(&str, &str)>); 7] = [
            ("a.one", Some(("bedrock-us", "a.one"))),
            ("shared.m", Some(("bedrock-us", "shared.m"))),
            ("bedrock-eu/shared.m", Some(("bedrock-eu", "shared.m"))),
            ("b.two", Some(("bedrock-eu", "b.two"))),
            (
                "arn:aws:bedrock:x",
                Some(("bedrock-eu", "arn:aws:bedrock:x")),
            ),
            ("bedrock-us/b.two", None),
            ("nope", None),
        ];
        for (requested, want) in cases {
            match (r.resolve(requested), want) {
                (Ok(route), Some((p, m))) => {
                    assert_eq!(route.provider.name(), p, "{requested}");
                    assert_eq!(route.model, m, "{requested}");
                }
                (Err(e), None) => assert_eq!(e.status(), 404, "{requested}"),
                (Ok(route), None) => panic!("{requested} routed to {}", route.provider.name()),
                (Err(e), Some(_)) => panic!("{requested}: {e}"),
            }
        }
    }

    #[tokio::test]
    async fn listing_keeps_provider_order() {
        let r = registry().await;
        let ids: Vec<_> = r
            .list()
            .into_iter()
            .map(|m| format!("{}:{}", m.provider, m.info.id))
            .collect();
        assert_eq!(
            ids,
            [
                "bedrock-us:a.one",
                "bedrock-us:shared.m",
                "bedrock-eu:shared.m",
                "bedrock-eu:b.two"
            ]
        );
    }
}
