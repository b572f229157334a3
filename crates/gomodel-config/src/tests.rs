#![allow(clippy::unwrap_used, clippy::type_complexity)]
use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn ok(yaml: &str, vars: &[(&str, &str)]) -> Config {
    match from_yaml_str(yaml, "config.yaml", &env(vars)) {
        Ok(c) => c,
        Err(e) => panic!("{yaml:?} {vars:?}: {e}"),
    }
}

fn err(yaml: &str, vars: &[(&str, &str)]) -> String {
    match from_yaml_str(yaml, "config.yaml", &env(vars)) {
        Ok(c) => panic!("{yaml:?} {vars:?}: expected an error, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

const FULL: &str = "
server:
  port: 9000
  host: 127.0.0.1
  master_key: from-file
  body_limit_bytes: 1024
models:
  configured_provider_models_mode: allowlist
  refresh_interval: 10m
providers:
  bedrock:
    type: bedrock
    base_url: \"us-east-1\"
    models:
      - anthropic.claude-3-5-haiku-20241022-v1:0
      - amazon.nova-lite-v1:0
";

#[test]
fn defaults_when_nothing_is_set() {
    let c = ok("", &[]);
    assert_eq!(c.server.port, 8080);
    assert_eq!(c.server.host, "0.0.0.0");
    assert_eq!(c.server.master_key, None);
    assert_eq!(c.server.body_limit_bytes, 32 * 1024 * 1024);
    assert_eq!(c.models.mode, ModelsMode::Fallback);
    assert_eq!(c.models.refresh_interval, Duration::from_secs(3600));
    assert!(!c.image_fetch.allow_private);
    assert_eq!(c.providers.len(), 1);
    let p = &c.providers[0];
    assert_eq!(
        (p.name.as_str(), p.implicit, p.base_url.clone()),
        ("bedrock", true, None)
    );
}

#[test]
fn blank_and_comment_only_files_are_empty_configs() {
    for yaml in [
        "",
        "\n\n",
        "# nothing\n",
        "---\n# x\n",
        "server:\n",
        "providers:\n",
    ] {
        let c = ok(yaml, &[]);
        assert_eq!(c.server.port, 8080, "{yaml:?}");
        assert!(c.providers[0].implicit, "{yaml:?}");
    }
}

#[test]
fn file_values_override_defaults() {
    let c = ok(FULL, &[]);
    assert_eq!(c.server.port, 9000);
    assert_eq!(c.server.host, "127.0.0.1");
    assert_eq!(c.server.master_key.as_deref(), Some("from-file"));
    assert_eq!(c.server.body_limit_bytes, 1024);
    assert_eq!(c.models.mode, ModelsMode::Allowlist);
    assert_eq!(c.models.refresh_interval, Duration::from_secs(600));
    let p = &c.providers[0];
    assert_eq!(p.name, "bedrock");
    assert_eq!(p.kind, ProviderType::Bedrock);
    assert_eq!(p.base_url.as_deref(), Some("us-east-1"));
    assert_eq!(
        p.models,
        [
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            "amazon.nova-lite-v1:0"
        ]
    );
    assert!(!p.implicit);
}

/// default < yaml < env, one row per setting.
#[test]
fn precedence_default_file_env() {
    type Get = fn(&Config) -> String;
    let rows: [(&str, &str, (&str, &str), &str, Get); 6] = [
        (
            "server:\n  port: 9000\n",
            "9000",
            ("PORT", "9100"),
            "9100",
            |c| c.server.port.to_string(),
        ),
        (
            "server:\n  host: 127.0.0.1\n",
            "127.0.0.1",
            ("GOMODEL_HOST", "::1"),
            "::1",
            |c| c.server.host.clone(),
        ),
        (
            "server:\n  master_key: file-key\n",
            "file-key",
            ("GOMODEL_MASTER_KEY", "env-key"),
            "env-key",
            |c| c.server.master_key.clone().unwrap_or_default(),
        ),
        (
            "models:\n  configured_provider_models_mode: allowlist\n",
            "Allowlist",
            ("CONFIGURED_PROVIDER_MODELS_MODE", "fallback"),
            "Fallback",
            |c| format!("{:?}", c.models.mode),
        ),
        (
            "providers:\n  bedrock:\n    type: bedrock\n    base_url: us-east-1\n",
            "us-east-1",
            ("BEDROCK_BASE_URL", "eu-west-1"),
            "eu-west-1",
            |c| c.providers[0].base_url.clone().unwrap_or_default(),
        ),
        (
            "image_fetch:\n  allow_private: true\n",
            "true",
            ("IMAGE_FETCH_ALLOW_PRIVATE", "false"),
            "false",
            |c| c.image_fetch.allow_private.to_string(),
        ),
    ];
    for (yaml, from_file, (var, value), from_env, get) in rows {
        assert_eq!(get(&ok(yaml, &[])), from_file, "{yaml}");
        assert_eq!(get(&ok(yaml, &[(var, value)])), from_env, "{yaml} + {var}");
        // An empty variable counts as unset: the file value stays.
        assert_eq!(
            get(&ok(yaml, &[(var, "")])),
            from_file,
            "{yaml} + empty {var}"
        );
    }
}

#[test]
fn expansion_happens_before_parsing() {
    let yaml = "
server:
  port: ${GW_PORT:-8181}
  master_key: ${GOMODEL_MASTER_KEY}
providers:
  bedrock:
    type: bedrock
    base_url: \"${REGION}\"
    models: ${BEDROCK_LIST}
";
    let c = ok(
        yaml,
        &[("REGION", "eu-west-1"), ("BEDROCK_LIST", "a, b,,c")],
    );
    assert_eq!(c.server.port, 8181);
    // `${GOMODEL_MASTER_KEY}` unset expands to nothing: no key (open gateway).
    assert_eq!(c.server.master_key, None);
    assert_eq!(c.providers[0].base_url.as_deref(), Some("eu-west-1"));
    assert_eq!(c.providers[0].models, ["a", "b", "c"]);

    let c = ok(yaml, &[("GW_PORT", "7000"), ("GOMODEL_MASTER_KEY", "k$1")]);
    assert_eq!(c.server.port, 7000);
    assert_eq!(c.server.master_key.as_deref(), Some("k$1"));
    // Empty `${REGION}` means "no base URL": the region fallback applies.
    assert_eq!(c.providers[0].base_url, None);

    let c = ok("server:\n  master_key: \"a$$b\"\n", &[]);
    assert_eq!(c.server.master_key.as_deref(), Some("a$b"));
}

#[test]
fn env_defines_suffixed_providers() {
    let c = ok(
        "",
        &[
            ("BEDROCK_US_BASE_URL", "us-east-1"),
            (
                "BEDROCK_US_MODELS",
                "anthropic.claude-3-5-haiku-20241022-v1:0",
            ),
            ("BEDROCK_EU_BASE_URL", "eu-west-1"),
            ("BEDROCK_EU_MODELS", " amazon.nova-lite-v1:0 , ,"),
            ("BEDROCK_US_EAST_MODELS", "x"),
            ("AWS_REGION", "us-west-2"),
        ],
    );
    let got: Vec<_> = c
        .providers
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.base_url.as_deref(),
                p.models.join(","),
                p.region_fallback.as_deref(),
                p.implicit,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "bedrock-eu",
                Some("eu-west-1"),
                "amazon.nova-lite-v1:0".into(),
                Some("us-west-2"),
                false
            ),
            (
                "bedrock-us",
                Some("us-east-1"),
                "anthropic.claude-3-5-haiku-20241022-v1:0".into(),
                Some("us-west-2"),
                false
            ),
            (
                "bedrock-us-east",
                None,
                "x".into(),
                Some("us-west-2"),
                false
            ),
        ]
    );
}

#[test]
fn env_merges_into_file_provider_of_same_name() {
    let yaml = "
providers:
  bedrock-us:
    type: bedrock
    base_url: us-east-1
    models: [a, b]
  other:
    type: bedrock
    base_url: https://bedrock-runtime.eu-west-1.amazonaws.com
";
    // Only models from env: base_url stays from the file.
    let c = ok(yaml, &[("BEDROCK_US_MODELS", "c,d")]);
    assert_eq!(c.providers.len(), 2);
    assert_eq!(c.providers[0].name, "bedrock-us");
    assert_eq!(c.providers[0].base_url.as_deref(), Some("us-east-1"));
    assert_eq!(c.providers[0].models, ["c", "d"]);
    // Both from env, plus an env-only provider appended after the file's providers.
    let c = ok(
        yaml,
        &[
            ("BEDROCK_US_BASE_URL", "us-west-2"),
            ("BEDROCK_MODELS", "z"),
        ],
    );
    let names: Vec<_> = c.providers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["bedrock-us", "other", "bedrock"]);
    assert_eq!(c.providers[0].base_url.as_deref(), Some("us-west-2"));
    assert_eq!(c.providers[0].models, ["a", "b"]);
    assert_eq!(c.providers[2].models, ["z"]);
}

#[test]
fn region_fallback_prefers_aws_region() {
    let cases: [(&[(&str, &str)], Option<&str>); 4] = [
        (&[], None),
        (&[("AWS_DEFAULT_REGION", "us-west-2")], Some("us-west-2")),
        (
            &[
                ("AWS_REGION", "eu-west-1"),
                ("AWS_DEFAULT_REGION", "us-west-2"),
            ],
            Some("eu-west-1"),
        ),
        (
            &[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "us-west-2")],
            Some("us-west-2"),
        ),
    ];
    for (vars, want) in cases {
        assert_eq!(
            ok("", vars).providers[0].region_fallback.as_deref(),
            want,
            "{vars:?}"
        );
    }
}

#[test]
fn accepts_valid_values() {
    let cases: [(&str, &[(&str, &str)]); 8] = [
        ("", &[("PORT", "0")]),
        ("", &[("PORT", "65535")]),
        ("", &[("CONFIGURED_PROVIDER_MODELS_MODE", "ALLOWLIST")]),
        ("", &[("BEDROCK_BASE_URL", "http://127.0.0.1:4566")]),
        ("", &[("BEDROCK_BASE_URL", "us-gov-west-1")]),
        ("server:\n  port: \"8081\"\n", &[]),
        ("models:\n  refresh_interval: 0s\n", &[]),
        ("providers:\n  mine:\n    type: Bedrock\n", &[]),
    ];
    for (yaml, vars) in cases {
        ok(yaml, vars);
    }
}

/// Every validation message: names the key or variable, quotes the value, says the fix.
#[test]
fn validation_errors_name_key_and_fix() {
    let cases: [(&str, &[(&str, &str)], &str); 14] = [
        (
            "",
            &[("CONFIGURED_PROVIDER_MODELS_MODE", "x")],
            "CONFIGURED_PROVIDER_MODELS_MODE=\"x\" is not valid: use \"fallback\" or \"allowlist\"",
        ),
        (
            "models:\n  configured_provider_models_mode: strict\n",
            &[],
            "models.configured_provider_models_mode: \"strict\" in config.yaml is not valid: use \"fallback\" or \"allowlist\"",
        ),
        ("", &[("PORT", "http")], "PORT=\"http\" is not a valid port: use a number from 1 to 65535"),
        ("", &[("PORT", "70000")], "PORT=\"70000\" is not a valid port"),
        ("server:\n  port: -1\n", &[], "server.port: \"-1\" in config.yaml is not a valid port"),
        (
            "",
            &[("BEDROCK_US_BASE_URL", "somewhere")],
            "BEDROCK_US_BASE_URL=\"somewhere\" is not a valid Bedrock base URL: use a region such as \"us-east-1\" or a full URL",
        ),
        (
            "providers:\n  bedrock-us:\n    type: bedrock\n    base_url: ftp://x\n",
            &[],
            "providers.bedrock-us.base_url: \"ftp://x\" in config.yaml is not a valid Bedrock base URL",
        ),
        (
            "providers:\n  oai:\n    type: openai\n",
            &[],
            "providers.oai.type: \"openai\" in config.yaml is not a supported provider type: use \"bedrock\"",
        ),
        (
            "providers:\n  b:\n    base_url: us-east-1\n",
            &[],
            "providers.b.type is missing in config.yaml: add \"type: bedrock\"",
        ),
        (
            "providers:\n  a/b:\n    type: bedrock\n",
            &[],
            "providers.a/b in config.yaml: \"a/b\" is not a valid provider name",
        ),
        (
            "server:\n  body_limit_bytes: 0\n",
            &[],
            "server.body_limit_bytes: \"0\" in config.yaml is not a valid body size: use a positive number of bytes",
        ),
        (
            "models:\n  refresh_interval: soon\n",
            &[],
            "models.refresh_interval: \"soon\" in config.yaml is not a valid duration: use a number with a unit such as \"3600s\"",
        ),
        (
            "",
            &[("GOMODEL_HOST", "http://0.0.0.0")],
            "GOMODEL_HOST=\"http://0.0.0.0\" is not a valid listen address",
        ),
        (
            "",
            &[("GOMODEL_HOST", "0.0.0.0:8080")],
            "",
        ),
    ];
    for (yaml, vars, want) in cases {
        if want.is_empty() {
            // Host names with a port are left for the bind step to reject with the OS's message.
            ok(yaml, vars);
            continue;
        }
        let msg = err(yaml, vars);
        assert!(msg.starts_with("invalid configuration: "), "{msg}");
        assert!(msg.contains(want), "want {want:?} in {msg:?}");
    }
}

#[test]
fn several_problems_are_reported_together() {
    let msg = err(
        "",
        &[
            ("PORT", "x"),
            ("CONFIGURED_PROVIDER_MODELS_MODE", "y"),
            ("BEDROCK_BASE_URL", "z"),
        ],
    );
    assert!(
        msg.starts_with("invalid configuration (3 problems):\n  - "),
        "{msg}"
    );
    for var in [
        "PORT=\"x\"",
        "CONFIGURED_PROVIDER_MODELS_MODE=\"y\"",
        "BEDROCK_BASE_URL=\"z\"",
    ] {
        assert!(msg.contains(var), "{var} in {msg}");
    }
}

#[test]
fn yaml_errors_carry_file_line_and_column() {
    let cases = [
        ("server:\n  prot: 1\n", "config.yaml:2:3: invalid YAML: unknown field `prot`"),
        ("server:\n  port: 1\nlogging: {}\n", "config.yaml:3:1: invalid YAML: unknown field `logging`"),
        (
            "providers:\n  b:\n    type: bedrock\n    apikey: x\n",
            "config.yaml:4:5: invalid YAML: unknown field `apikey`",
        ),
        ("server: [\n", "config.yaml:1:9: invalid YAML: "),
        ("server:\n  port: [1]\n", "config.yaml:2:9: invalid YAML: "),
        (
            "providers:\n  b:\n    type: bedrock\n  b:\n    type: bedrock\n",
            "config.yaml:4:",
        ),
        (
            "providers:\n  b:\n",
            "config.yaml:2:3: invalid YAML: provider \"b\" has no settings: add at least \"type: bedrock\"",
        ),
        ("a: ${X\n", "config.yaml:1:4: unterminated \"${\""),
    ];
    for (yaml, want) in cases {
        let msg = err(yaml, &[]);
        assert!(msg.starts_with(&want[..want.len().min(12)]), "{msg}");
        assert!(msg.contains(want), "want {want:?} in {msg:?}");
        assert!(!msg.contains(" at line "), "position repeated: {msg}");
    }
}

#[test]
fn debug_never_prints_the_master_key() {
    let c = ok("", &[("GOMODEL_MASTER_KEY", "sk-very-secret")]);
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("sk-very-secret"), "{dbg}");
    assert!(dbg.contains("<redacted>"), "{dbg}");
}

mod files {
    use super::*;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "gomodel-config-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
        fn write(&self, rel: &str, text: &str) {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const PORT: fn(u16) -> String = |p| format!("server:\n  port: {p}\n");

    #[test]
    fn lookup_order() {
        let d = TempDir::new("lookup");
        // Nothing: defaults, no source.
        let c = load_in(&d.0, None, &env(&[])).unwrap();
        assert_eq!((c.server.port, c.source), (8080, None));
        // ./config/config.yaml
        d.write("config/config.yaml", &PORT(1001));
        let c = load_in(&d.0, None, &env(&[])).unwrap();
        assert_eq!(c.server.port, 1001);
        assert_eq!(c.source.as_deref(), Some(Path::new("config/config.yaml")));
        // ./config.yaml wins over ./config/config.yaml
        d.write("config.yaml", &PORT(1002));
        assert_eq!(load_in(&d.0, None, &env(&[])).unwrap().server.port, 1002);
        // GOMODEL_CONFIG wins over both; --config wins over GOMODEL_CONFIG.
        d.write("a.yaml", &PORT(1003));
        d.write("b.yaml", &PORT(1004));
        let vars = env(&[("GOMODEL_CONFIG", "a.yaml")]);
        assert_eq!(load_in(&d.0, None, &vars).unwrap().server.port, 1003);
        let c = load_in(&d.0, Some(Path::new("b.yaml")), &vars).unwrap();
        assert_eq!(c.server.port, 1004);
        // And env still wins over the file.
        let vars = env(&[("GOMODEL_CONFIG", "a.yaml"), ("PORT", "1005")]);
        assert_eq!(load_in(&d.0, None, &vars).unwrap().server.port, 1005);
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let d = TempDir::new("missing");
        let e = load_in(&d.0, Some(Path::new("nope.yaml")), &env(&[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config file nope.yaml (from --config) does not exist: fix the path or remove --config"
        );
        let e = load_in(&d.0, None, &env(&[("GOMODEL_CONFIG", "gone.yaml")])).unwrap_err();
        assert!(
            e.to_string()
                .contains("gone.yaml (from GOMODEL_CONFIG) does not exist"),
            "{e}"
        );
    }

    #[test]
    fn yaml_errors_name_the_file_path() {
        let d = TempDir::new("badyaml");
        d.write("config/config.yaml", "server:\n  nope: 1\n");
        let e = load_in(&d.0, None, &env(&[])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config/config.yaml:2:3: invalid YAML: unknown field `nope`"),
            "{e}"
        );
    }

    #[test]
    fn dotenv_is_optional() {
        let d = TempDir::new("dotenv");
        assert_eq!(load_dotenv(&d.0).unwrap(), None);
        d.write(".env", "this is not = a valid \"line\n");
        assert!(matches!(load_dotenv(&d.0), Err(ConfigError::Dotenv { .. })));
    }
}

#[test]
fn provider_tuning_from_file_and_env() {
    const TUNED: &str = "
providers:
  main:
    type: bedrock
    base_url: us-east-1
    api_key: file-key
    inference_profiles: \"off\"
    max_retries: 4
    connect_timeout: 2s
    request_timeout: 1m
    stream_idle_timeout: 500ms
";
    let c = ok(TUNED, &[("AWS_BEARER_TOKEN_BEDROCK", "env-key")]);
    let p = &c.providers[0];
    assert_eq!(p.api_key.as_deref(), Some("file-key"));
    assert_eq!(p.inference_profiles, InferenceProfiles::Off);
    assert_eq!(p.max_retries, Some(4));
    assert_eq!(p.connect_timeout, Some(Duration::from_secs(2)));
    assert_eq!(p.request_timeout, Some(Duration::from_secs(60)));
    assert_eq!(p.stream_idle_timeout, Some(Duration::from_millis(500)));
    assert!(
        !format!("{c:?}").contains("file-key"),
        "the key is redacted"
    );

    // Environment: suffixed forms, the bearer-token fallback, and tuning-only variables
    // keeping the default provider implicit.
    let cases: [(
        &[(&str, &str)],
        &str,
        bool,
        Option<&str>,
        InferenceProfiles,
        Option<u32>,
    ); 4] = [
        (&[], "bedrock", true, None, InferenceProfiles::Auto, None),
        (
            &[
                ("BEDROCK_INFERENCE_PROFILES", "OFF"),
                ("BEDROCK_MAX_RETRIES", "0"),
            ],
            "bedrock",
            true,
            None,
            InferenceProfiles::Off,
            Some(0),
        ),
        (
            &[
                ("AWS_BEARER_TOKEN_BEDROCK", "k"),
                ("BEDROCK_BASE_URL", "us-west-2"),
            ],
            "bedrock",
            false,
            Some("k"),
            InferenceProfiles::Auto,
            None,
        ),
        (
            &[
                ("BEDROCK_EU_BASE_URL", "eu-west-1"),
                ("BEDROCK_EU_INFERENCE_PROFILES", "auto"),
                ("BEDROCK_EU_MAX_RETRIES", "7"),
            ],
            "bedrock-eu",
            false,
            None,
            InferenceProfiles::Auto,
            Some(7),
        ),
    ];
    for (vars, name, implicit, key, profiles, retries) in cases {
        let c = ok("", vars);
        assert_eq!(c.providers.len(), 1, "{vars:?}");
        let p = &c.providers[0];
        assert_eq!(
            (
                p.name.as_str(),
                p.implicit,
                p.api_key.as_deref(),
                p.inference_profiles,
                p.max_retries
            ),
            (name, implicit, key, profiles, retries),
            "{vars:?}"
        );
    }
    assert_eq!(
        ok("", &[("GOMODEL_BODY_LIMIT_BYTES", "2048")])
            .server
            .body_limit_bytes,
        2048
    );
}

#[test]
fn bad_provider_tuning_is_reported() {
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("BEDROCK_INFERENCE_PROFILES", "maybe")],
            "BEDROCK_INFERENCE_PROFILES=\"maybe\" is not valid: use \"auto\"",
        ),
        (
            &[("BEDROCK_MAX_RETRIES", "99")],
            "BEDROCK_MAX_RETRIES=\"99\" is not a valid retry count",
        ),
        (
            &[("BEDROCK_US_CONNECT_TIMEOUT", "soon")],
            "BEDROCK_US_CONNECT_TIMEOUT=\"soon\" is not a valid timeout",
        ),
        (
            &[("BEDROCK_STREAM_IDLE_TIMEOUT", "0s")],
            "is not a valid timeout",
        ),
        (
            &[("GOMODEL_BODY_LIMIT_BYTES", "-1")],
            "GOMODEL_BODY_LIMIT_BYTES=\"-1\" is not a valid body size",
        ),
    ];
    for (vars, want) in cases {
        let e = err("", vars);
        assert!(e.contains(want), "{vars:?}: {e}");
    }
}

#[test]
fn guardrail_from_file_and_env() {
    const FILE: &str = "
providers:
  main:
    type: bedrock
    base_url: us-east-1
    guardrail:
      identifier: abc123
      version: \"2\"
      trace: enabled
      stream_processing_mode: async
";
    let g = |id: &str, v: &str, trace: Option<&str>, mode: Option<&str>| {
        Some(GuardrailConfig {
            identifier: id.into(),
            version: v.into(),
            trace: trace.map(Into::into),
            stream_processing_mode: mode.map(Into::into),
        })
    };
    let cases: Vec<(&str, Vec<(&str, &str)>, &str, Option<GuardrailConfig>)> = vec![
        ("", vec![], "bedrock", None),
        (
            FILE,
            vec![],
            "main",
            g("abc123", "2", Some("enabled"), Some("async")),
        ),
        // The environment overrides the file's provider of the same name, field by field.
        (
            FILE.replace("main:", "bedrock:").leak(),
            vec![("BEDROCK_GUARDRAIL_VERSION", "DRAFT")],
            "bedrock",
            g("abc123", "DRAFT", Some("enabled"), Some("async")),
        ),
        (
            "",
            vec![
                ("BEDROCK_US_BASE_URL", "us-west-2"),
                (
                    "BEDROCK_US_GUARDRAIL_ID",
                    "arn:aws:bedrock:us-west-2:123456789012:guardrail/xyz",
                ),
                ("BEDROCK_US_GUARDRAIL_VERSION", "1"),
            ],
            "bedrock-us",
            g(
                "arn:aws:bedrock:us-west-2:123456789012:guardrail/xyz",
                "1",
                None,
                None,
            ),
        ),
    ];
    for (yaml, vars, name, want) in cases {
        let c = ok(yaml, &vars);
        let p = &c.providers[0];
        assert_eq!(
            (p.name.as_str(), &p.guardrail),
            (name, &want),
            "{yaml} {vars:?}"
        );
    }
    let errors: [(&[(&str, &str)], &str); 5] = [
        (
            &[("BEDROCK_GUARDRAIL_ID", "abc")],
            "needs a guardrail version",
        ),
        (
            &[("BEDROCK_GUARDRAIL_VERSION", "1")],
            "needs a guardrail identifier",
        ),
        (
            &[
                ("BEDROCK_GUARDRAIL_ID", "Bad-Id"),
                ("BEDROCK_GUARDRAIL_VERSION", "1"),
            ],
            "is not a guardrail id",
        ),
        (
            &[
                ("BEDROCK_GUARDRAIL_ID", "abc"),
                ("BEDROCK_GUARDRAIL_VERSION", "latest"),
            ],
            "is not a guardrail version",
        ),
        (
            &[
                ("BEDROCK_GUARDRAIL_ID", "abc"),
                ("BEDROCK_GUARDRAIL_VERSION", "1"),
                ("BEDROCK_GUARDRAIL_TRACE", "on"),
            ],
            "use one of enabled, disabled, enabled_full",
        ),
    ];
    for (vars, want) in errors {
        let e = err("", vars);
        assert!(e.contains(want), "{vars:?}: {e}");
    }
    assert!(err(
        "providers:\n  x:\n    type: bedrock\n    guardrail:\n      id: a\n",
        &[]
    )
    .contains("id"));
}

#[test]
fn image_fetch_switch_from_file_env_and_expansion() {
    let yaml = "image_fetch:\n  allow_private: ${INTERNAL_IMAGES}\n";
    let cases: [(&str, &[(&str, &str)], bool); 6] = [
        ("", &[("IMAGE_FETCH_ALLOW_PRIVATE", "true")], true),
        ("", &[("IMAGE_FETCH_ALLOW_PRIVATE", "1")], true),
        ("", &[("IMAGE_FETCH_ALLOW_PRIVATE", "")], false),
        ("image_fetch:\n  allow_private: on\n", &[], true),
        (yaml, &[("INTERNAL_IMAGES", "yes")], true),
        // An expansion to nothing means "not set": the default stays.
        (yaml, &[], false),
    ];
    for (yaml, vars, want) in cases {
        assert_eq!(
            ok(yaml, vars).image_fetch.allow_private,
            want,
            "{yaml:?} {vars:?}"
        );
    }
    let bad = [
        (
            "",
            &[("IMAGE_FETCH_ALLOW_PRIVATE", "sometimes")][..],
            "IMAGE_FETCH_ALLOW_PRIVATE=\"sometimes\" is not a valid switch: use true or false",
        ),
        (
            "image_fetch:\n  allow_private: maybe\n",
            &[][..],
            "image_fetch.allow_private: \"maybe\" in config.yaml is not a valid switch: use true or false",
        ),
    ];
    for (yaml, vars, want) in bad {
        let e = err(yaml, vars);
        assert!(e.contains(want), "{yaml:?} {vars:?}: {e}");
    }
    assert!(err("image_fetch:\n  allow_privat: true\n", &[]).contains("allow_privat"));
}
