//! The model registry: which provider serves which model id, rebuilt from the providers' listings
//! at startup and on refresh. Reads are lock-free (an `ArcSwap` snapshot) because every request
//! resolves its model here.

use crate::error::GatewayError;
use crate::model::{vendor_of, ModelInfo, ModelKind};
use crate::provider::Provider;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

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
    /// Unix seconds of the refresh that built this snapshot (0 before the first).
    refreshed_at: u64,
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
        let mut next = Snapshot {
            refreshed_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            ..Snapshot::default()
        };
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

    /// Describes a client's `model` for `GET /v1/models/{model}`. It resolves exactly as
    /// [`Registry::resolve`] does, so an id is described exactly when a chat request for it would
    /// be routed (anything else is the same 404 `model_not_found`).
    ///
    /// `info.id` is `requested` as given (with any `provider/` prefix), the id the client can send;
    /// the other fields are those of the resolved provider's listing entry. An id routed without
    /// being listed (an ARN, an inference profile, a configured id) has no entry: it is owned by
    /// the vendor in the id, else by the provider, and was "created" at the last refresh.
    pub fn describe(&self, requested: &str) -> Result<ListedModel, GatewayError> {
        let route = self.resolve(requested)?;
        let provider = route.provider.name();
        let snapshot = self.snapshot.load();
        let info = match snapshot
            .listed
            .iter()
            .find(|m| m.provider == provider && m.info.id == route.model)
        {
            Some(m) => ModelInfo {
                id: requested.to_owned(),
                ..m.info.clone()
            },
            None => ModelInfo {
                id: requested.to_owned(),
                owned_by: vendor_of(&route.model).unwrap_or(provider).to_owned(),
                created: snapshot.refreshed_at,
                kind: route.kind.unwrap_or(ModelKind::Chat),
            },
        };
        Ok(ListedModel {
            info,
            provider: provider.to_owned(),
        })
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
    async fn describes_what_resolves() {
        let r = registry().await;
        let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0";
        let app_profile =
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
        // The fake lists everything as owned by `x`, created 0: listed fields show through.
        // Some((provider, owned_by, listed)), or None for a 404.
        type Want = Option<(&'static str, &'static str, bool)>;
        let cases: [(&str, Want); 8] = [
            ("a.one", Some(("bedrock-us", "x", true))),
            ("shared.m", Some(("bedrock-us", "x", true))),
            ("bedrock-eu/shared.m", Some(("bedrock-eu", "x", true))),
            ("b.two", Some(("bedrock-eu", "x", true))),
            (arn, Some(("bedrock-eu", "anthropic", false))),
            (app_profile, Some(("bedrock-eu", "bedrock-eu", false))),
            ("bedrock-us/b.two", None),
            ("nope", None),
        ];
        for (requested, want) in cases {
            match (r.describe(requested), want) {
                (Ok(m), Some((provider, owned_by, listed))) => {
                    assert_eq!(m.info.id, requested);
                    assert_eq!(m.provider, provider, "{requested}");
                    assert_eq!(m.info.owned_by, owned_by, "{requested}");
                    // Unlisted ids were "created" at the refresh.
                    assert_eq!(m.info.created == 0, listed, "{requested}");
                }
                (Err(e), None) => {
                    let want = r.resolve(requested).err().map(|e| e.to_string());
                    assert_eq!(Some(e.to_string()), want, "same error as resolve");
                    assert_eq!(e.status(), 404, "{requested}");
                    assert_eq!(e.code.as_deref(), Some("model_not_found"));
                }
                (Ok(m), None) => panic!("{requested} described as {m:?}"),
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
