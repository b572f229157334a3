//! Where to send requests and which region to sign for (docs/architecture.md, "Endpoint rules").
//!
//! - a bare region → `https://bedrock-runtime.{region}.amazonaws.com` (runtime) and
//!   `https://bedrock.{region}.amazonaws.com` (control plane);
//! - a full http(s) URL is the runtime base as given; the signing region comes from the host only
//!   when it ends in `.amazonaws.com` (regional and VPC-endpoint hosts), else from the fallback
//!   (`AWS_REGION`, else `AWS_DEFAULT_REGION`);
//! - the control plane of an `amazonaws.com` runtime host is the same host with the
//!   `bedrock-runtime` label replaced by `bedrock`; any other host serves both (the emulator).

use gomodel_core::GatewayError;
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Runtime base URL without a trailing slash; paths such as `/model/{id}/converse` follow.
    pub runtime: String,
    /// Control-plane base URL without a trailing slash; `/foundation-models` etc. follow.
    pub control: String,
    /// The SigV4 signing region.
    pub region: String,
}

/// Resolves the endpoints. `setting` names where `base_url` came from (e.g. `BEDROCK_BASE_URL`)
/// so that errors point at the right knob.
pub fn resolve(
    setting: &str,
    base_url: Option<&str>,
    region_fallback: Option<&str>,
) -> Result<Endpoints, GatewayError> {
    let base = base_url.map(str::trim).filter(|s| !s.is_empty());
    let fallback = region_fallback.map(str::trim).filter(|s| !s.is_empty());
    match base {
        None => {
            let region = fallback_region(setting, fallback, None)?;
            Ok(for_region(region))
        }
        Some(b) if is_region(b) => Ok(for_region(b)),
        Some(b) if has_http_scheme(b) => from_url(setting, b, fallback),
        Some(b) => Err(GatewayError::internal(format!(
            "{setting} \"{b}\" is neither an AWS region (like us-east-1) nor an http(s) URL; set it to a region or a full endpoint URL"
        ))),
    }
}

fn fallback_region<'a>(
    setting: &str,
    fallback: Option<&'a str>,
    url: Option<&str>,
) -> Result<&'a str, GatewayError> {
    match fallback {
        Some(r) if is_region(r) => Ok(r),
        Some(r) => Err(GatewayError::internal(format!(
            "AWS_REGION / AWS_DEFAULT_REGION \"{r}\" is not an AWS region (like us-east-1)"
        ))),
        None => Err(GatewayError::internal(match url {
            None => format!(
                "no AWS region for Bedrock: set {setting} to a region (like us-east-1) or an endpoint URL, or set AWS_REGION or AWS_DEFAULT_REGION, or set `region` in the AWS profile the gateway uses (AWS_PROFILE in ~/.aws/config or AWS_CONFIG_FILE)"
            ),
            Some(u) => format!(
                "{setting} \"{u}\" does not name an AWS region (only *.amazonaws.com hosts do); set AWS_REGION or AWS_DEFAULT_REGION (or `region` in the AWS profile) to the region to sign requests for"
            ),
        })),
    }
}

fn for_region(region: &str) -> Endpoints {
    let suffix = dns_suffix(region);
    Endpoints {
        runtime: format!("https://bedrock-runtime.{region}.{suffix}"),
        control: format!("https://bedrock.{region}.{suffix}"),
        region: region.to_owned(),
    }
}

fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

fn has_http_scheme(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

fn from_url(setting: &str, raw: &str, fallback: Option<&str>) -> Result<Endpoints, GatewayError> {
    let url = Url::parse(raw).map_err(|e| {
        GatewayError::internal(format!(
            "{setting} \"{raw}\" is not a valid URL ({e}); set it to a region or a full endpoint URL"
        ))
    })?;
    let host = match url.host_str() {
        Some(h) if !h.is_empty() => h,
        _ => {
            return Err(GatewayError::internal(format!(
                "{setting} \"{raw}\" has no host; set it to a region or a full endpoint URL"
            )))
        }
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(GatewayError::internal(format!(
            "{setting} \"{raw}\" must not carry a query or fragment; set it to a region or a base URL such as https://bedrock-runtime.us-east-1.amazonaws.com"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(GatewayError::internal(format!(
            "{setting} must not carry credentials in the URL; AWS credentials come from the AWS credential chain"
        )));
    }

    let aws_labels = amazonaws_labels(host);
    let region = match aws_labels
        .as_ref()
        .and_then(|labels| labels.iter().rev().find(|l| is_region(l)).copied())
    {
        Some(r) => r.to_owned(),
        None => fallback_region(setting, fallback, Some(raw))?.to_owned(),
    };

    let path = url.path().trim_end_matches('/');
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let scheme = url.scheme();
    let runtime = format!("{scheme}://{host}{port}{path}");
    let control = match aws_labels {
        Some(labels) if labels.iter().any(|l| is_runtime_label(l)) => {
            let control_host = host
                .split('.')
                .map(|label| match label {
                    "bedrock-runtime" => "bedrock",
                    "bedrock-runtime-fips" => "bedrock-fips",
                    other => other,
                })
                .collect::<Vec<_>>()
                .join(".");
            format!("{scheme}://{control_host}{port}{path}")
        }
        _ => runtime.clone(),
    };
    Ok(Endpoints {
        runtime,
        control,
        region,
    })
}

fn is_runtime_label(label: &str) -> bool {
    label == "bedrock-runtime" || label == "bedrock-runtime-fips"
}

/// The labels before `.amazonaws.com` (or `.amazonaws.com.cn`), or `None` for other hosts.
fn amazonaws_labels(host: &str) -> Option<Vec<&str>> {
    let host = host.trim_end_matches('.');
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    Some(rest.split('.').collect())
}

/// `us-east-1`, `us-gov-west-1`, `ap-southeast-5`, `cn-north-1`: lowercase words joined by `-`,
/// ending in a number.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() < 3 {
        return false;
    }
    let (last, words) = match parts.split_last() {
        Some(x) => x,
        None => return false,
    };
    !last.is_empty()
        && last.len() <= 2
        && last.bytes().all(|b| b.is_ascii_digit())
        && words[0].len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn resolves_regions_and_urls() {
        // (base_url, fallback, runtime, control, region)
        let cases = [
            (
                "us-east-1",
                None,
                "https://bedrock-runtime.us-east-1.amazonaws.com",
                "https://bedrock.us-east-1.amazonaws.com",
                "us-east-1",
            ),
            (
                " eu-west-1 ",
                Some("us-east-1"),
                "https://bedrock-runtime.eu-west-1.amazonaws.com",
                "https://bedrock.eu-west-1.amazonaws.com",
                "eu-west-1",
            ),
            (
                "us-gov-west-1",
                None,
                "https://bedrock-runtime.us-gov-west-1.amazonaws.com",
                "https://bedrock.us-gov-west-1.amazonaws.com",
                "us-gov-west-1",
            ),
            (
                "cn-north-1",
                None,
                "https://bedrock-runtime.cn-north-1.amazonaws.com.cn",
                "https://bedrock.cn-north-1.amazonaws.com.cn",
                "cn-north-1",
            ),
            (
                "",
                Some("ap-southeast-2"),
                "https://bedrock-runtime.ap-southeast-2.amazonaws.com",
                "https://bedrock.ap-southeast-2.amazonaws.com",
                "ap-southeast-2",
            ),
            (
                "https://bedrock-runtime.eu-west-1.amazonaws.com",
                Some("us-east-1"),
                "https://bedrock-runtime.eu-west-1.amazonaws.com",
                "https://bedrock.eu-west-1.amazonaws.com",
                "eu-west-1",
            ),
            (
                "https://bedrock-runtime.eu-west-1.amazonaws.com///",
                None,
                "https://bedrock-runtime.eu-west-1.amazonaws.com",
                "https://bedrock.eu-west-1.amazonaws.com",
                "eu-west-1",
            ),
            (
                "HTTPS://Bedrock-Runtime.US-WEST-2.amazonaws.com/",
                None,
                "https://bedrock-runtime.us-west-2.amazonaws.com",
                "https://bedrock.us-west-2.amazonaws.com",
                "us-west-2",
            ),
            (
                "https://bedrock-runtime-fips.us-east-1.amazonaws.com",
                None,
                "https://bedrock-runtime-fips.us-east-1.amazonaws.com",
                "https://bedrock-fips.us-east-1.amazonaws.com",
                "us-east-1",
            ),
            (
                "https://vpce-0abc.bedrock-runtime.us-east-1.vpce.amazonaws.com",
                None,
                "https://vpce-0abc.bedrock-runtime.us-east-1.vpce.amazonaws.com",
                "https://vpce-0abc.bedrock.us-east-1.vpce.amazonaws.com",
                "us-east-1",
            ),
            (
                "https://vpce-0abc-xyz.bedrock-runtime.us-west-2.vpce.amazonaws.com:443/",
                None,
                "https://vpce-0abc-xyz.bedrock-runtime.us-west-2.vpce.amazonaws.com",
                "https://vpce-0abc-xyz.bedrock.us-west-2.vpce.amazonaws.com",
                "us-west-2",
            ),
            (
                "http://127.0.0.1:4566",
                Some("us-east-1"),
                "http://127.0.0.1:4566",
                "http://127.0.0.1:4566",
                "us-east-1",
            ),
            (
                "http://127.0.0.1:4566/",
                Some("eu-west-1"),
                "http://127.0.0.1:4566",
                "http://127.0.0.1:4566",
                "eu-west-1",
            ),
            (
                "http://localhost:8080/bedrock/",
                Some("us-west-2"),
                "http://localhost:8080/bedrock",
                "http://localhost:8080/bedrock",
                "us-west-2",
            ),
            (
                "http://[::1]:9000",
                Some("us-east-1"),
                "http://[::1]:9000",
                "http://[::1]:9000",
                "us-east-1",
            ),
            (
                "https://proxy.example.com",
                Some("us-east-1"),
                "https://proxy.example.com",
                "https://proxy.example.com",
                "us-east-1",
            ),
        ];
        for (base, fallback, runtime, control, region) in cases {
            let got = resolve("BEDROCK_BASE_URL", Some(base), fallback)
                .unwrap_or_else(|e| panic!("{base}: {e}"));
            assert_eq!(got.runtime, runtime, "{base}");
            assert_eq!(got.control, control, "{base}");
            assert_eq!(got.region, region, "{base}");
        }
    }

    #[test]
    fn explains_bad_settings() {
        // (base_url, fallback, expected message fragments)
        let cases: [(Option<&str>, Option<&str>, &[&str]); 8] = [
            (Some("xyz"), None, &["BEDROCK_BASE_URL \"xyz\" is neither an AWS region (like us-east-1) nor an http(s) URL; set it to a region or a full endpoint URL"]),
            (Some("ftp://bedrock-runtime.us-east-1.amazonaws.com"), None, &["is neither an AWS region"]),
            (Some("us-east"), None, &["is neither an AWS region"]),
            (None, None, &["BEDROCK_BASE_URL", "AWS_REGION", "AWS_DEFAULT_REGION"]),
            (Some("  "), None, &["BEDROCK_BASE_URL", "AWS_REGION", "AWS_DEFAULT_REGION"]),
            (Some("http://127.0.0.1:4566"), None, &["\"http://127.0.0.1:4566\"", "AWS_REGION", "AWS_DEFAULT_REGION"]),
            (None, Some("not a region"), &["not an AWS region"]),
            (Some("https://bedrock-runtime.us-east-1.amazonaws.com/?x=1"), None, &["query"]),
        ];
        for (base, fallback, fragments) in cases {
            let err = resolve("BEDROCK_BASE_URL", base, fallback).unwrap_err();
            assert_eq!(err.status(), 500, "{base:?}");
            for f in fragments {
                assert!(err.message.contains(f), "{base:?}: {}", err.message);
            }
        }
    }

    #[test]
    fn region_shapes() {
        let cases = [
            ("us-east-1", true),
            ("eu-central-2", true),
            ("us-gov-west-1", true),
            ("ap-southeast-5", true),
            ("bedrock-runtime", false),
            ("vpce-0abc", false),
            ("us-east-", false),
            ("US-EAST-1", false),
            ("us", false),
            ("1-2-3", false),
        ];
        for (s, want) in cases {
            assert_eq!(is_region(s), want, "{s}");
        }
    }
}
