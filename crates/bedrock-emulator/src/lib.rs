//! `gomodel-bedrock-emulator`: a strict stand-in for Amazon Bedrock used by the project's tests
//! and benchmarks. It serves Bedrock Runtime (Converse, ConverseStream, InvokeModel for
//! embeddings) and the control plane (ListFoundationModels, GetFoundationModel,
//! ListInferenceProfiles) on one port, verifies SigV4 signatures, validates bodies against the
//! AWS service models in `spec/`, answers deterministically and injects faults on request.
//!
//! It shares no code with `gomodel-bedrock`, so a schema bug cannot hide on both sides.
//!
//! Embedding it:
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let config = bedrock_emulator::EmulatorConfig::default();
//! let running = bedrock_emulator::spawn(config, "127.0.0.1", 0).await?;
//! println!("{}", running.base_url());
//! running.shutdown(std::time::Duration::from_secs(1)).await;
//! # Ok(()) }
//! ```

pub mod catalog;
pub mod config;
pub mod converse;
pub mod directives;
pub mod errors;
pub mod features;
pub mod invoke;
pub mod recording;
pub mod server;
pub mod service_model;
pub mod sigv4_verify;
pub mod stream;
pub mod tool_input;

pub use config::EmulatorConfig;
pub use errors::ApiError;
pub use server::{router, serve, spawn, RunningEmulator};
