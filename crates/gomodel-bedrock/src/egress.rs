//! Which destinations the gateway connects to on a client's behalf (the http(s) image URLs of
//! requests, see `fetch`): by default only public internet addresses. Without this, a request
//! could make the gateway fetch from loopback, the private network or the cloud instance metadata
//! service (169.254.169.254, where instance credentials live): server-side request forgery.
//!
//! The check sits in the connection path, not in front of it, so it holds for every redirect hop
//! and cannot be raced by DNS rebinding (a name that resolves to a public address when checked
//! and to a private one when connected):
//! - a host name is resolved once by [`Resolver`], every address is checked, and the connector
//!   connects to exactly those addresses;
//! - an IP-literal host never reaches a resolver, so [`Resolver::vet`] checks it first;
//! - through an HTTP(S) proxy, the proxy resolves the target itself; [`Resolver::vet`]
//!   resolves and checks it beforehand, which a name that changes its answer between the two
//!   look-ups can still slip past. Deployments with a proxy should let the proxy refuse
//!   internal destinations too.
//!
//! Bedrock's own traffic is never checked: its endpoint is configuration, not client input, and
//! may legitimately be local (the emulator, a VPC endpoint).

use crate::proxy::BoxError;
use http::Uri;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

/// Where client-supplied URLs may lead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    /// `IMAGE_FETCH_ALLOW_PRIVATE` / `image_fetch.allow_private`: fetch from any address, for
    /// deployments whose image hosts are internal.
    pub allow_private: bool,
    /// Non-public addresses allowed anyway, one by one (tests, embedding applications with one
    /// known internal host), without opening every private range.
    pub trusted: Vec<IpAddr>,
}

impl EgressPolicy {
    /// Whether connecting to `ip` is allowed.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip) || self.trusted.contains(&ip)
    }

    /// Every address must be allowed: a name with one internal address among public ones is
    /// refused rather than filtered, since the connector could otherwise fall back to it.
    fn check(&self, addrs: &[SocketAddr], literal: bool) -> Result<(), Refused> {
        match addrs
            .iter()
            .map(SocketAddr::ip)
            .find(|ip| !self.permits(*ip))
        {
            Some(ip) => Err(Refused { ip, literal }),
            None => Ok(()),
        }
    }
}

/// A pending pre-connect check (see [`Resolver::vet`]).
pub(crate) type Vetting = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;

/// Why a destination is refused, as the end of the sentence "Could not use the image at '...':".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub ip: IpAddr,
    /// The URL named the address itself rather than a host name.
    pub literal: bool,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.literal { "is" } else { "resolves to" };
        write!(
            f,
            "the host {how} a private or local address ({}), which the gateway does not fetch",
            self.ip
        )
    }
}

impl std::error::Error for Refused {}

/// The connector's resolver: the system resolver (`getaddrinfo`, as hyper's default), with the
/// answer checked against the policy when there is one. The connector connects to the addresses
/// returned here, so what was checked is what is connected to.
#[derive(Clone)]
pub struct Resolver {
    system: GaiResolver,
    policy: Option<Arc<EgressPolicy>>,
}

impl Resolver {
    /// No checks: Bedrock's endpoints.
    pub fn system() -> Self {
        Self {
            system: GaiResolver::new(),
            policy: None,
        }
    }

    /// Answers checked against `policy`: client-supplied URLs.
    pub fn checked(policy: Arc<EgressPolicy>) -> Self {
        Self {
            system: GaiResolver::new(),
            policy: Some(policy),
        }
    }

    /// What must be checked before connecting to `dst`, beyond what resolving through `self`
    /// checks: an IP-literal host (the connector skips resolution for those), and, when a proxy
    /// will resolve the target (`via_proxy`), the target's own resolution. `None`: nothing to
    /// check (no policy, or a name the connector resolves through `self`).
    pub(crate) fn vet(&self, dst: &Uri, via_proxy: bool) -> Option<Vetting> {
        let policy = self.policy.as_ref()?;
        let host = dst.host()?;
        // `Uri` keeps the brackets of an IPv6 literal.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            let verdict = policy.check(&[SocketAddr::new(ip, 0)], true);
            return Some(Box::pin(async move { verdict.map_err(BoxError::from) }));
        }
        if !via_proxy {
            return None;
        }
        let name = Name::from_str(bare);
        let mut resolver = self.clone();
        Some(Box::pin(
            async move { resolver.call(name?).await.map(drop) },
        ))
    }
}

type Addrs = std::vec::IntoIter<SocketAddr>;
type Resolving = Pin<Box<dyn Future<Output = Result<Addrs, BoxError>> + Send>>;

impl Service<Name> for Resolver {
    type Response = Addrs;
    type Error = BoxError;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // `GaiResolver` is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Resolving {
        let resolving = self.system.call(name);
        let policy = self.policy.clone();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = resolving.await?.collect();
            if let Some(policy) = policy {
                policy.check(&addrs, false)?;
            }
            Ok(addrs.into_iter())
        })
    }
}

/// Whether `ip` is an address on the public internet. Everything else is refused by default:
/// unspecified, loopback, private (RFC 1918), shared/CGNAT, link-local (where cloud metadata
/// services live), unique-local, multicast, broadcast, reserved, documentation and benchmarking
/// ranges, and IPv6 forms that carry such an IPv4 address (mapped, compatible, NAT64, 6to4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        // "This network" 0.0.0.0/8: Linux connects 0.x.y.z to the local host.
        || a == 0
        // Shared address space 100.64.0.0/10 (carrier-grade NAT); `is_shared` is unstable.
        || (a == 100 && (b & 0b1100_0000) == 64)
        // Benchmarking 198.18.0.0/15; `is_benchmarking` is unstable.
        || (a == 198 && (b & 0xfe) == 18)
        // Reserved 240.0.0.0/4 (and broadcast within it); `is_reserved` is unstable.
        || a >= 240
        // IETF protocol assignments 192.0.0.0/24 (DS-Lite, NAT64 discovery, ...).
        || (a == 192 && b == 0 && c == 0);
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let first = ip.segments()[0];
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        // Deprecated site-local fec0::/10: still routed internally by some networks.
        || (first & 0xffc0) == 0xfec0
        // Documentation 2001:db8::/32; `Ipv6Addr::is_documentation` is unstable.
        || (first == 0x2001 && ip.segments()[1] == 0x0db8);
    !special
}

/// The IPv4 address an IPv6 address stands for, when it is one of the forms that reach an IPv4
/// host: IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d` (deprecated, but still
/// parsed by some stacks; `::` and `::1` are left to the IPv6 checks), NAT64 `64:ff9b::a.b.c.d`
/// and 6to4 `2002:aabb:ccdd::`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        // (address, public)
        let cases = [
            // public
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("100.63.255.255", true),
            ("100.128.0.0", true),
            ("172.15.255.255", true),
            ("172.32.0.0", true),
            ("198.17.255.255", true),
            ("198.20.0.0", true),
            ("223.255.255.255", true),
            ("2606:4700::1111", true),
            ("2001:4860:4860::8888", true),
            ("::ffff:8.8.8.8", true),
            ("64:ff9b::808:808", true),
            ("2002:808:808::1", true),
            // IPv4
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("127.0.0.1", false),
            ("127.255.255.254", false),
            ("10.0.0.1", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("192.0.0.8", false),
            ("192.0.2.1", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("198.18.0.1", false),
            ("198.19.255.255", false),
            ("224.0.0.1", false),
            ("239.255.255.250", false),
            ("240.0.0.1", false),
            ("255.255.255.255", false),
            // IPv6
            ("::", false),
            ("::1", false),
            ("fe80::1", false),
            ("febf::1", false),
            ("fec0::1", false),
            ("fc00::1", false),
            ("fd12:3456::1", false),
            ("ff02::1", false),
            ("2001:db8::1", false),
            // IPv6 forms of blocked IPv4 addresses
            ("::ffff:127.0.0.1", false),
            ("::ffff:169.254.169.254", false),
            ("::ffff:10.1.2.3", false),
            ("::127.0.0.1", false),
            ("::10.0.0.1", false),
            ("64:ff9b::7f00:1", false),
            ("64:ff9b::a9fe:a9fe", false),
            ("2002:7f00:1::", false),
            ("2002:a00:1::1", false),
        ];
        for (text, want) in cases {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(is_public(ip), want, "{text}");
        }
    }

    #[test]
    fn the_policy_opens_everything_or_single_addresses() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        let public: IpAddr = "8.8.8.8".parse().unwrap();
        let strict = EgressPolicy::default();
        assert!(strict.permits(public) && !strict.permits(loopback));
        let open = EgressPolicy {
            allow_private: true,
            ..EgressPolicy::default()
        };
        assert!(open.permits(loopback) && open.permits(metadata));
        let one = EgressPolicy {
            trusted: vec![loopback],
            ..EgressPolicy::default()
        };
        assert!(one.permits(loopback) && !one.permits(metadata));
    }

    #[test]
    fn one_refused_address_refuses_the_name() {
        let addrs: Vec<SocketAddr> = ["8.8.8.8:80", "10.0.0.1:80", "[::1]:80"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let refused = EgressPolicy::default().check(&addrs, false).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the host resolves to a private or local address (10.0.0.1), which the gateway does not fetch"
        );
    }

    #[tokio::test]
    async fn literal_hosts_are_vetted_before_connecting() {
        let resolver = Resolver::checked(Arc::new(EgressPolicy::default()));
        let vet = |uri: &str, via_proxy| {
            let uri: Uri = uri.parse().unwrap();
            resolver.vet(&uri, via_proxy)
        };
        let refused = vet("http://[::ffff:127.0.0.1]:8080/a.png", false)
            .unwrap()
            .await
            .unwrap_err();
        let refused = refused.downcast_ref::<Refused>().unwrap();
        assert_eq!(refused.ip, "::ffff:127.0.0.1".parse::<IpAddr>().unwrap());
        assert!(refused.to_string().starts_with("the host is a private"));
        assert!(vet("https://8.8.8.8/a.png", true).unwrap().await.is_ok());
        // A name is left to the resolver, unless a proxy will resolve it.
        assert!(vet("https://images.example/a.png", false).is_none());
        assert!(vet("https://images.example/a.png", true).is_some());
        // Bedrock's resolver checks nothing.
        let uri: Uri = "http://127.0.0.1/".parse().unwrap();
        assert!(Resolver::system().vet(&uri, true).is_none());
    }
}
