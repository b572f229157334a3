//! Construction succeeds without AWS credentials; requests then fail with an error naming the
//! credential chain, until credentials appear. One test per binary: it edits the process env.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gomodel_bedrock::{BedrockProvider, BedrockSettings};
use gomodel_core::Provider;

#[tokio::test]
async fn requests_fail_clearly_until_credentials_appear() {
    let empty = std::env::temp_dir().join("gomodel-bedrock-no-credentials");
    std::fs::create_dir_all(&empty).unwrap();
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        std::env::remove_var(var);
    }
    // No IMDS probe: this machine is not on EC2 and must not send traffic off the loopback.
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    std::env::set_var("AWS_CONFIG_FILE", empty.join("config"));
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", empty.join("credentials"));

    let provider = BedrockProvider::new(
        BedrockSettings {
            // Nothing listens on port 9; only the credential step matters here.
            base_url: Some("http://127.0.0.1:9".into()),
            region_fallback: Some("us-east-1".into()),
            ..Default::default()
        },
        gomodel_bedrock::http_client(&Default::default()).unwrap(),
    )
    .await
    .expect("construction must not need credentials");

    let err = provider.list_models().await.unwrap_err();
    assert_eq!(err.status(), 500, "{err}");
    for hint in [
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "IMDS",
        "credential_process",
    ] {
        assert!(err.message.contains(hint), "{hint}: {}", err.message);
    }

    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDLATE");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret");
    let err = provider.list_models().await.unwrap_err();
    // Now signed and sent: the failure is the unreachable endpoint, not the credentials.
    assert_eq!(err.status(), 502, "{err}");
    assert!(err.message.contains("could not connect"), "{}", err.message);
}
