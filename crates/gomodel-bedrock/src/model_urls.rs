//! Runtime URLs per model, parsed once. Parsing (and IDNA-checking) a URL string on every
//! request was 3–4 % of gateway CPU in the profile. A model's three runtime URLs are parsed the
//! first time it is called and reused after that; a [`Target`] clone bumps reference counts
//! and copies nothing.

use crate::errors::bad_upstream;
use crate::transport::Target;
use arc_swap::ArcSwap;
use gomodel_core::GatewayError;
use percent_encoding::utf8_percent_encode;
use std::collections::HashMap;
use std::sync::Arc;

/// Models whose URLs are kept. Model ids come from clients (ARNs and profile ids are accepted
/// unlisted), so the cache is bounded; past the bound URLs are parsed per request as before.
const MAX_CACHED_MODELS: usize = 1024;

/// The Bedrock Runtime operations the gateway calls on `/model/{id}/…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Converse,
    ConverseStream,
    Invoke,
}

impl Operation {
    const ALL: [Operation; 3] = [
        Operation::Converse,
        Operation::ConverseStream,
        Operation::Invoke,
    ];

    /// The last path segment.
    pub fn path(self) -> &'static str {
        match self {
            Operation::Converse => "converse",
            Operation::ConverseStream => "converse-stream",
            Operation::Invoke => "invoke",
        }
    }
}

/// `{runtime}/model/{percent-encoded id}/{operation}`: the id is one path segment, so `:` and
/// `/` inside it are encoded.
pub fn model_url(runtime: &str, model: &str, operation: Operation) -> String {
    let op = operation.path();
    let mut url = String::with_capacity(runtime.len() + model.len() * 2 + op.len() + 8);
    url.push_str(runtime);
    url.push_str("/model/");
    url.extend(utf8_percent_encode(model, crate::client::UNRESERVED_ONLY));
    url.push('/');
    url.push_str(op);
    url
}

/// The parsed URLs of the models called so far.
pub struct ModelUrls {
    runtime: String,
    parsed: ArcSwap<HashMap<String, Arc<[Target; 3]>>>,
}

impl ModelUrls {
    pub fn new(runtime: &str) -> Self {
        Self {
            runtime: runtime.to_owned(),
            parsed: ArcSwap::from_pointee(HashMap::new()),
        }
    }

    /// The URL of `operation` on `model`.
    pub fn get(&self, model: &str, operation: Operation) -> Result<Target, GatewayError> {
        let slot = operation as usize;
        if let Some(urls) = self.parsed.load().get(model) {
            return Ok(urls[slot].clone());
        }
        let urls = Arc::new(self.parse_all(model)?);
        let url = urls[slot].clone();
        if self.parsed.load().len() < MAX_CACHED_MODELS {
            self.parsed.rcu(|current| {
                let mut next = HashMap::clone(current);
                next.insert(model.to_owned(), Arc::clone(&urls));
                next
            });
        }
        Ok(url)
    }

    fn parse_all(&self, model: &str) -> Result<[Target; 3], GatewayError> {
        let parse = |op| {
            let text = model_url(&self.runtime, model, op);
            Target::parse(&text)
                .map_err(|e| bad_upstream(format!("invalid Bedrock runtime URL {text}: {e}")))
        };
        let [a, b, c] = Operation::ALL;
        Ok([parse(a)?, parse(b)?, parse(c)?])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const RUNTIME: &str = "https://bedrock-runtime.us-east-1.amazonaws.com";

    #[test]
    fn model_urls_encode_the_id_once() {
        let cases = [
            ("anthropic.claude-3-5-haiku-20241022-v1:0", Operation::Converse, "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"),
            ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.x.y-v1:0", Operation::ConverseStream, "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.x.y-v1%3A0/converse-stream"),
            ("cohere.embed-english-v3", Operation::Invoke, "https://bedrock-runtime.us-east-1.amazonaws.com/model/cohere.embed-english-v3/invoke"),
        ];
        let urls = ModelUrls::new(RUNTIME);
        for (id, op, want) in cases {
            assert_eq!(model_url(RUNTIME, id, op), want);
            // First call parses, second comes from the cache: both the same URL.
            assert_eq!(urls.get(id, op).unwrap().as_str(), want);
            let cached = urls.get(id, op).unwrap();
            assert_eq!(cached.as_str(), want);
            // What hyper sends is what was signed.
            assert_eq!(cached.uri().to_string(), want);
        }
        assert_eq!(urls.parsed.load().len(), 3);
    }

    #[test]
    fn cache_is_bounded() {
        let urls = ModelUrls::new("http://127.0.0.1:8080");
        for i in 0..MAX_CACHED_MODELS + 10 {
            let url = urls.get(&format!("m{i}"), Operation::Converse).unwrap();
            assert_eq!(
                url.as_str(),
                format!("http://127.0.0.1:8080/model/m{i}/converse")
            );
        }
        assert_eq!(urls.parsed.load().len(), MAX_CACHED_MODELS);
    }
}
