//! OpenAI wire types (chat completions, chunks, models, embeddings, errors) and the pure
//! translation between them and the provider-neutral types of `gomodel-core`.
//!
//! Nothing here does I/O: the server owns sockets and the provider owns upstream calls, so every
//! function is a deterministic mapping that can be tested table-driven.

pub mod chat;
pub mod embeddings;
pub mod error;
pub mod models;
pub mod responses;

mod b64;
mod parse;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod spec_check;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod test_support;
