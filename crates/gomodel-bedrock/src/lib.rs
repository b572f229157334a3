//! Amazon Bedrock provider for gomodel: the neutral chat/embedding types over Bedrock Runtime
//! (Converse, ConverseStream, InvokeModel) and the control plane (ListFoundationModels,
//! ListInferenceProfiles), spoken as plain SigV4-signed HTTP on a shared hyper client ([`transport`]).
//!
//! | module | role |
//! |---|---|
//! | [`wire`] | serde types per the AWS service models in `spec/` |
//! | [`translate`] | neutral ⇄ Converse (request, response, stream events) |
//! | [`endpoint`] | region / runtime URL / control-plane URL resolution |
//! | [`model_urls`] | per-model runtime URLs, parsed once |
//! | [`sign`] | SigV4 and the credential cache over the AWS default chain |
//! | [`eventstream`] | `application/vnd.amazon.eventstream` body → messages |
//! | [`errors`] | Bedrock exceptions → `GatewayError` |
//! | [`catalog`] | model listing and `ModelsMode` |
//! | [`embed`] | InvokeModel embedding families (Titan, Cohere) |
//! | [`transport`], [`proxy`] | the pooled HTTP client to Bedrock and its proxy-aware connector |
//! | [`fetch`], [`egress`] | downloads of request image URLs, public destinations only by default |
//! | [`client`] | `BedrockSettings`, `BedrockProvider`, `impl Provider` |

pub mod capabilities;
pub mod catalog;
pub mod client;
pub mod egress;
pub mod embed;
pub mod endpoint;
pub mod errors;
pub mod eventstream;
pub mod fetch;
pub mod guardrail;
pub mod model_urls;
pub mod profiles;
pub mod proxy;
pub mod retry;
pub mod sign;
pub mod translate;
pub mod transport;
pub mod wire;

pub use client::{http_client, BedrockProvider, BedrockSettings, Timeouts};
pub use egress::EgressPolicy;
pub use endpoint::Endpoints;
pub use profiles::ProfileRouting;
pub use retry::RetryPolicy;
pub use transport::HttpClient;
