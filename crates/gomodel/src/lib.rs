//! The gomodel gateway: HTTP surface (axum), authentication, routing to providers, streaming.
//! `main.rs` wires configuration, providers and the server; everything testable lives here.

pub mod app;
pub mod audit;
pub mod auth;
pub mod error;
pub mod extract;
pub mod front;
pub mod handlers;
pub mod metrics;
pub mod shutdown;
pub mod sse;
pub mod startup;
pub mod telemetry;
pub mod usage;
