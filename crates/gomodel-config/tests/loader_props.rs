//! Property tests of the config loader: any file text and any values of the variables it reads
//! give a `Config` or an error that names a problem — never a panic.
#![allow(clippy::unwrap_used)]

use gomodel_config::from_yaml_str;
use proptest::prelude::*;
use std::collections::HashMap;

const VARS: &[&str] = &[
    "PORT",
    "GOMODEL_HOST",
    "GOMODEL_BODY_LIMIT_BYTES",
    "CONFIGURED_PROVIDER_MODELS_MODE",
    "BEDROCK_BASE_URL",
    "BEDROCK_MODELS",
    "BEDROCK_US_BASE_URL",
    "BEDROCK_INFERENCE_PROFILES",
    "BEDROCK_MAX_RETRIES",
    "BEDROCK_EU_STREAM_IDLE_TIMEOUT",
    "BEDROCK_CONNECT_TIMEOUT",
    "AWS_REGION",
    "AWS_BEARER_TOKEN_BEDROCK",
];

/// YAML built from the real keys with arbitrary values, so the search reaches validation rather
/// than stopping at the parser every time.
fn yaml() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "\\PC{0,12}",
        "[0-9]{1,6}",
        "-?[0-9]{1,3}(ms|s|m|h)?",
        Just("~".to_owned())
    ];
    let provider_key = prop::sample::select(vec![
        "type",
        "base_url",
        "models",
        "api_key",
        "inference_profiles",
        "max_retries",
        "connect_timeout",
        "request_timeout",
        "stream_idle_timeout",
        "bogus",
    ]);
    prop_oneof![
        "\\PC{0,200}",
        (
            "[0-9]{1,6}",
            "\\PC{0,10}",
            prop::collection::vec((provider_key, value.clone()), 0..6),
            "[a-z-]{1,8}",
        )
            .prop_map(|(port, limit, fields, name)| {
                let mut s = format!(
                    "server:\n  port: {port}\n  body_limit_bytes: \"{}\"\nproviders:\n  {name}:\n",
                    limit.replace(['"', '\\'], "")
                );
                for (k, v) in fields {
                    s.push_str(&format!("    {k}: \"{}\"\n", v.replace(['"', '\\'], "")));
                }
                s
            }),
    ]
}

fn env() -> impl Strategy<Value = HashMap<String, String>> {
    prop::collection::hash_map(prop::sample::select(VARS.to_vec()), "\\PC{0,16}", 0..6)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn loading_never_panics_and_errors_explain(text in yaml(), vars in env()) {
        match from_yaml_str(&text, "config.yaml", &vars) {
            Ok(config) => prop_assert!(!config.providers.is_empty()),
            Err(e) => prop_assert!(!e.to_string().trim().is_empty()),
        }
    }
}
