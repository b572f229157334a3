//! Heap allocations per SigV4 signature on the fast path, counted with a global allocator
//! (`stats_alloc`, so this file needs no `unsafe`). Kept in its own test binary with a single
//! test so nothing else allocates while it counts.
//!
//! The general aws-sigv4 signer allocates 45–55 times per signature (printed below); the fast path should
//! allocate only the signature string (from `calculate_signature`) and the two new header
//! values. A regression here means the fast path was bypassed or grew allocations.

#![allow(clippy::unwrap_used)]

use aws_credential_types::Credentials;
use gomodel_bedrock::sign::{settings, sign_general, sign_headers, CachedIdentity};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Today: 3 (signature string, `authorization` and `x-amz-date` values).
const MAX_ALLOCS_PER_SIGNATURE: usize = 4;

/// (method, url, headers, body)
type Request<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a [u8]);

#[test]
fn fast_path_allocates_a_fixed_small_number_per_signature() {
    let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
    let settings = settings();
    let time = UNIX_EPOCH + Duration::from_secs(1_704_164_645);
    for token in [None, Some("IQoJb3JpZ2luX2VjE/session+token==")] {
        let identity = CachedIdentity::new(Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
            None,
            "test",
        ));
        let requests: [Request; 2] = [
            (
                "POST",
                "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse",
                &[("content-type", "application/json"), ("accept", "application/json")],
                body,
            ),
            (
                "GET",
                "https://bedrock.us-east-1.amazonaws.com/inference-profiles?maxResults=1000&type=SYSTEM_DEFINED&nextToken=abc%2Fdef",
                &[],
                b"",
            ),
        ];
        for (method, url, headers, body) in requests {
            let sign = |t: SystemTime| {
                sign_headers(
                    &identity,
                    "us-east-1",
                    t,
                    &settings,
                    method,
                    url,
                    headers,
                    body,
                )
                .unwrap()
            };
            // Warm-up: derives and caches the signing key, sizes the thread-local buffers.
            drop(sign(time));
            let rounds = 50;
            let region = Region::new(GLOBAL);
            for i in 0..rounds {
                drop(sign(time + Duration::from_secs(i)));
            }
            let allocs = region.change().allocations;
            let per = allocs as f64 / rounds as f64;
            assert!(
                allocs <= MAX_ALLOCS_PER_SIGNATURE * rounds as usize,
                "{method} {url} token={}: {per} allocations per signature",
                token.is_some()
            );
            let region = Region::new(GLOBAL);
            drop(
                sign_general(
                    identity.identity(),
                    "us-east-1",
                    time,
                    &settings,
                    method,
                    url,
                    headers,
                    body,
                )
                .unwrap(),
            );
            let general = region.change().allocations;
            eprintln!(
                "{method} token={}: fast path {per} allocations per signature, general signer {general}",
                token.is_some()
            );
            assert!(general > allocs / rounds as usize);
        }
    }
}
