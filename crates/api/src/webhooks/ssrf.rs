//! Webhook targets may not reach inside the network Sinergi runs in: only
//! http(s) URLs whose host resolves to public addresses, unless the host is
//! allowed by configuration. Checked when a subscription is created and again
//! at every delivery, by the resolver the delivery client connects through
//! (so a DNS answer that changes between the check and the connection cannot
//! slip through).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;

/// Longest wait for a DNS answer.
const DNS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Hosts (names or IP addresses as written in the URL) exempt from the address check.
#[derive(Debug, Clone, Default)]
pub struct AllowList(Arc<Vec<String>>);

impl AllowList {
    /// From the configured entries (`SINERGI_WEBHOOK_ALLOW_HOSTS`).
    pub fn new(hosts: &[String]) -> AllowList {
        AllowList(Arc::new(
            hosts
                .iter()
                .map(|h| normalise(h))
                .filter(|h| !h.is_empty())
                .collect(),
        ))
    }

    /// Whether `host` (a name or an IP literal, brackets optional) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let host = normalise(host);
        self.0.contains(&host)
    }
}

fn normalise(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Stable machine code.
    pub code: &'static str,
    /// Explanation for the integrator.
    pub message: String,
}

impl Refusal {
    fn new(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refusal {}

/// What kind of internal address `ip` is, if it is one.
pub fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_kind(v4);
            }
            let s = v6.segments();
            if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if s[0] & 0xffc0 == 0xfec0 {
                Some("site-local")
            } else if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                // NAT64 well-known prefix (64:ff9b::/96): judge the IPv4 address it stands for.
                v4_kind(embedded(s[6], s[7]))
            } else if s[0] == 0x64 && s[1] == 0xff9b {
                // Local-use NAT64 (64:ff9b:1::/48) leads into the operator's own network.
                Some("reserved (local-use NAT64)")
            } else if s[0] == 0x2002 {
                // 6to4 (2002:AABB:CCDD::/48) reaches the IPv4 address AA.BB.CC.DD.
                v4_kind(embedded(s[1], s[2]))
            } else if s[0] == 0x2001 && s[1] == 0 {
                // Teredo (2001::/32) embeds a server and an (inverted) client
                // IPv4 address; a relic no webhook endpoint needs.
                Some("reserved (Teredo)")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("documentation")
            } else if s[0..4] == [0x0100, 0, 0, 0] {
                Some("reserved (discard)")
            } else if s[0..6] == [0, 0, 0, 0, 0, 0] || s[0..6] == [0, 0, 0, 0, 0xffff, 0] {
                // Deprecated IPv4-compatible (::a.b.c.d) and IPv4-translated
                // (::ffff:0:a.b.c.d) forms: never a legitimate target.
                Some("reserved (embeds an IPv4 address)")
            } else if s[4] & 0xfdff == 0 && s[5] == 0x5efe {
                // ISATAP interface identifier (…:0:5efe:a.b.c.d) tunnels to that IPv4 address.
                v4_kind(embedded(s[6], s[7]))
            } else {
                None
            }
        }
    }
}

/// The IPv4 address held in two 16-bit groups.
fn embedded(hi: u16, lo: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() || o[0] >= 240 {
        Some("reserved")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared (carrier-grade NAT)")
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        Some("benchmarking")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("reserved")
    } else {
        None
    }
}

/// Refuses an address that is internal.
pub fn check_ip(ip: IpAddr) -> Result<(), Refusal> {
    match internal_kind(ip) {
        Some(kind) => Err(Refusal::new(
            "target_not_allowed",
            format!("target_url resolves to a {kind} address ({ip}); webhooks go to public addresses only"),
        )),
        None => Ok(()),
    }
}

/// Parses and checks the form of a target URL (not yet its addresses).
pub fn parse_target(raw: &str) -> Result<Url, Refusal> {
    if raw.len() > 2048 {
        return Err(Refusal::new(
            "too_long",
            "target_url must be at most 2048 characters",
        ));
    }
    let url = Url::parse(raw.trim()).map_err(|e| {
        Refusal::new(
            "invalid_url",
            format!("target_url is not an absolute URL: {e}"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::new(
            "invalid_scheme",
            "target_url must use https (or http)",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::new(
            "credentials_in_url",
            "target_url must not carry credentials; verify the Sinergi-Signature header instead",
        ));
    }
    if url.fragment().is_some() {
        return Err(Refusal::new(
            "invalid_url",
            "target_url must not have a #fragment",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Refusal::new("invalid_url", "target_url has no host"));
    }
    Ok(url)
}

/// Resolves `host` and refuses it when any of its addresses is internal
/// (unless the host is allowed). IP literals are checked without DNS.
pub async fn resolve(host: &str, port: u16, allow: &AllowList) -> Result<Vec<SocketAddr>, Refusal> {
    let bare = normalise(host);
    let allowed = allow.allows(&bare);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        if !allowed {
            check_ip(ip)?;
        }
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let unresolvable = || {
        Refusal::new(
            "unresolvable_host",
            format!("the host {bare} of target_url does not resolve"),
        )
    };
    let lookup = tokio::net::lookup_host((bare.as_str(), port));
    let addrs: Vec<SocketAddr> = tokio::time::timeout(DNS_TIMEOUT, lookup)
        .await
        .map_err(|_| unresolvable())?
        .map_err(|_| unresolvable())?
        .collect();
    if addrs.is_empty() {
        return Err(Refusal::new(
            "unresolvable_host",
            format!("the host {bare} of target_url has no address"),
        ));
    }
    if !allowed {
        for a in &addrs {
            check_ip(a.ip())?;
        }
    }
    Ok(addrs)
}

/// Checks a target URL completely: form, then every address it resolves to.
pub async fn check_target(raw: &str, allow: &AllowList) -> Result<Url, Refusal> {
    let url = parse_target(raw)?;
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    resolve(&host, port, allow).await?;
    Ok(url)
}

/// The resolver of the delivery client: every connection goes only to addresses that passed the check.
#[derive(Debug, Clone)]
pub struct GuardedResolver(pub AllowList);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            // Port 0: reqwest puts in the URL's port.
            let addrs = resolve(&host, 0, &allow).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<&'static str> {
        internal_kind(s.parse().unwrap())
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(kind(ip).is_some(), "{ip} should be internal");
        }
        for ip in ["8.8.8.8", "36.66.1.1", "172.32.0.1", "2001:4860::8888"] {
            assert_eq!(kind(ip), None, "{ip} is public");
        }
    }

    #[test]
    fn ipv6_forms_embedding_an_internal_ipv4_address_are_refused() {
        let cases = [
            // IPv4-mapped
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:7f00:1", "loopback"),
            ("::ffff:192.168.0.10", "private"),
            ("::ffff:169.254.169.254", "link-local"),
            // IPv4-compatible (deprecated): refused whatever it embeds
            ("::127.0.0.1", "reserved (embeds an IPv4 address)"),
            ("::10.1.2.3", "reserved (embeds an IPv4 address)"),
            ("::8.8.8.8", "reserved (embeds an IPv4 address)"),
            // IPv4-translated
            ("::ffff:0:127.0.0.1", "reserved (embeds an IPv4 address)"),
            // 6to4
            ("2002:7f00:0001::", "loopback"),
            ("2002:7f00:1::1", "loopback"),
            ("2002:0a00:0001:1::5", "private"),
            ("2002:a9fe:a9fe::", "link-local"),
            ("2002:c0a8:0101::1", "private"),
            ("2002:6440:0001::", "shared (carrier-grade NAT)"),
            // NAT64 well-known prefix
            ("64:ff9b::127.0.0.1", "loopback"),
            ("64:ff9b::7f00:1", "loopback"),
            ("64:ff9b::10.0.0.1", "private"),
            ("64:ff9b::169.254.169.254", "link-local"),
            // Local-use NAT64
            ("64:ff9b:1::a00:1", "reserved (local-use NAT64)"),
            // Teredo: server 127.0.0.1, client 10.0.0.1 (inverted)
            ("2001:0:7f00:1::f5ff:fffe", "reserved (Teredo)"),
            ("2001::1", "reserved (Teredo)"),
            // ISATAP with a private IPv4 address
            ("2001:4860:1:2:0:5efe:10.0.0.1", "private"),
            ("2001:4860:1:2:200:5efe:127.0.0.1", "loopback"),
        ];
        for (ip, expected) in cases {
            assert_eq!(kind(ip), Some(expected), "{ip}");
            let err = check_ip(ip.parse().unwrap()).unwrap_err();
            assert_eq!(err.code, "target_not_allowed", "{ip}: {err}");
        }
        // The same forms around public IPv4 addresses are not internal.
        for ip in [
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
            "64:ff9b::8.8.8.8",
            "2001:4860:1:2:0:5efe:8.8.8.8",
        ] {
            assert_eq!(kind(ip), None, "{ip} is public");
        }
    }

    #[test]
    fn url_form() {
        assert!(parse_target("https://hooks.example.go.id/sinergi").is_ok());
        assert_eq!(
            parse_target("ftp://x.example/").unwrap_err().code,
            "invalid_scheme"
        );
        assert_eq!(
            parse_target("https://u:p@x.example/").unwrap_err().code,
            "credentials_in_url"
        );
        assert_eq!(parse_target("not a url").unwrap_err().code, "invalid_url");
    }

    #[actix_web::test]
    async fn allow_list_matches_the_host_as_written() {
        let allow = AllowList::new(&["127.0.0.1".into(), "[::1]".into()]);
        assert!(resolve("127.0.0.1", 80, &allow).await.is_ok());
        assert!(resolve("[::1]", 80, &allow).await.is_ok());
        assert!(resolve("10.0.0.1", 80, &allow).await.is_err());
        assert_eq!(
            resolve("localhost", 80, &allow).await.unwrap_err().code,
            "target_not_allowed"
        );
    }
}
