//! The provider-neutral core of the gateway.
//!
//! Ingress APIs (chat completions, responses, embeddings) translate their wire types into the
//! neutral types here; providers translate the neutral types into their own wire format. That keeps
//! N ingress APIs × M providers at N + M translations. The neutral types follow the Converse model
//! (content blocks, stop reasons, block-indexed stream events) because it is the richest common shape.

pub mod chat;
pub mod embed;
pub mod error;
pub mod model;
pub mod provider;
pub mod registry;

pub use error::{ErrorKind, ErrorSource, GatewayError};
pub use provider::{EventStream, Provider};
