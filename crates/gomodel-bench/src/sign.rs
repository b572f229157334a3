//! SigV4 signing of the direct-baseline requests. Each request is signed when it is built, with
//! the current time, exactly as an AWS SDK client does, so the floor includes the client's own
//! signing cost and never replays a cached signature.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// Signing name of the Bedrock runtime (the `bedrock` in the credential scope).
const SERVICE: &str = "bedrock";

pub struct Signer {
    identity: Identity,
    region: String,
}

impl Signer {
    pub fn new(access_key: &str, secret_key: &str, region: &str) -> Self {
        let creds = Credentials::new(access_key, secret_key, None, None, "gomodel-bench");
        Self {
            identity: creds.into(),
            region: region.to_owned(),
        }
    }

    /// Returns the headers to add (`authorization`, `x-amz-date`, ...), signing `headers`
    /// (which must include `host`) and the body hash.
    pub fn sign(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>, String> {
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name(SERVICE)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("sigv4 params: {e}"))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| format!("sigv4 request: {e}"))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| format!("sigv4 sign: {e}"))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produces_authorization_and_date() {
        let s = Signer::new("AKIDEMULATOR", "emulator-secret", "us-east-1");
        let out = s
            .sign(
                "http://127.0.0.1:9/model/a%3A0/converse",
                &[
                    ("host", "127.0.0.1:9"),
                    ("content-type", "application/json"),
                ],
                b"{}",
            )
            .unwrap();
        let names: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names.contains(&"authorization"));
        assert!(names.contains(&"x-amz-date"));
        let auth = &out.iter().find(|(k, _)| k == "authorization").unwrap().1;
        assert!(auth.contains("/us-east-1/bedrock/aws4_request"), "{auth}");
    }
}
