//! The provider abstraction: everything the HTTP surface needs from an upstream.

use crate::chat::{ChatRequest, ChatResponse, StreamEvent};
use crate::embed::{EmbedRequest, EmbedResponse};
use crate::error::GatewayError;
use crate::model::ModelInfo;
use async_trait::async_trait;
use futures::stream::BoxStream;

/// A stream of neutral events. An `Err` item ends the stream: the ingress API turns it into an
/// error event for the client, never a silent close.
pub type EventStream = BoxStream<'static, Result<StreamEvent, GatewayError>>;

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The registry name, e.g. `bedrock` or `bedrock-us`.
    fn name(&self) -> &str;

    /// Models the upstream offers (already filtered and merged with the configured list).
    async fn list_models(&self) -> Result<Vec<ModelInfo>, GatewayError>;

    async fn chat(&self, req: ChatRequest) -> Result<ChatResponse, GatewayError>;

    /// Starts a streamed answer. Errors before the first event (auth, validation, throttling)
    /// come back as `Err` here so the client gets a normal HTTP error instead of a broken stream.
    async fn chat_stream(&self, req: ChatRequest) -> Result<EventStream, GatewayError>;

    async fn embed(&self, req: EmbedRequest) -> Result<EmbedResponse, GatewayError>;

    /// Whether this provider accepts a model id it did not list (ARNs, inference profiles).
    fn accepts_unlisted(&self, _model: &str) -> bool {
        false
    }
}
