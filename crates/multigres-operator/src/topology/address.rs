//! Turning a topology server address as the cluster knows it (`{cluster}-global-topo.{ns}.svc:2379`,
//! or an external `http://etcd:2379`) into one this process can dial.
//!
//! In a cluster, cluster DNS answers those names, so the address is dialled unchanged
//! ([`ClusterDns`]). Outside a cluster, against kubesim, nothing resolves `*.svc` names: kubesim
//! answers them over its API server (`GET /kubesim/v1/resolve?name=…`, docs/kubesim.md "Name
//! resolution"), which [`ApiServerResolver`] asks. Only the host changes; the port stays, since
//! kubesim has no Service port translation and the etcd container listens on the Service port.
//!
//! Nothing here talks to etcd; a failed resolution makes the store unavailable (`client.rs`).

use futures::future::BoxFuture;
use serde::Deserialize;

/// Why an address cannot be dialled.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// The address is not `[scheme://]host:port`.
    #[error("topology address {address:?} is not [http://]host:port")]
    Malformed { address: String },
    /// The name is known but has no address yet (a Service without ready pods).
    #[error("topology server name {host:?} has no address yet")]
    NoAddress { host: String },
    /// The resolution request itself failed.
    #[error("could not resolve topology server name {host:?}")]
    Lookup {
        host: String,
        #[source]
        source: kube::Error,
    },
    /// The resolution answer could not be read.
    #[error("unexpected answer resolving topology server name {host:?}")]
    Answer {
        host: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Maps an in-cluster `[scheme://]host:port` to something this process can dial.
pub trait AddressResolver: Send + Sync {
    /// The dialable form of `address`, scheme kept when there was one.
    fn resolve<'a>(&'a self, address: &'a str) -> BoxFuture<'a, Result<String, AddressError>>;
}

/// In a cluster: cluster DNS resolves the names, so addresses are dialled as written.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClusterDns;

impl AddressResolver for ClusterDns {
    fn resolve<'a>(&'a self, address: &'a str) -> BoxFuture<'a, Result<String, AddressError>> {
        Box::pin(async move { Ok(address.to_owned()) })
    }
}

/// Outside a cluster, against kubesim: in-cluster names (`….svc`, `….svc.cluster.local`) are
/// resolved by kubesim's API server through the operator's own client, taking the first
/// address; IP literals and other names (an external etcd) are dialled as written.
#[derive(Clone)]
pub struct ApiServerResolver {
    client: kube::Client,
}

impl ApiServerResolver {
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }
}

/// kubesim's answer to `/kubesim/v1/resolve`.
#[derive(Deserialize)]
struct ResolveAnswer {
    addresses: Vec<String>,
}

impl AddressResolver for ApiServerResolver {
    fn resolve<'a>(&'a self, address: &'a str) -> BoxFuture<'a, Result<String, AddressError>> {
        Box::pin(async move {
            let parts = split_address(address)?;
            if !is_cluster_name(parts.host) {
                return Ok(address.to_owned());
            }
            let host = parts.host.to_owned();
            let request = http::Request::get(format!("/kubesim/v1/resolve?name={host}"))
                .body(Vec::new())
                .map_err(|source| AddressError::Lookup {
                    host: host.clone(),
                    source: kube::Error::HttpError(source),
                })?;
            let text =
                self.client
                    .request_text(request)
                    .await
                    .map_err(|source| AddressError::Lookup {
                        host: host.clone(),
                        source,
                    })?;
            let answer: ResolveAnswer =
                serde_json::from_str(&text).map_err(|source| AddressError::Answer {
                    host: host.clone(),
                    source,
                })?;
            let ip = answer
                .addresses
                .first()
                .ok_or_else(|| AddressError::NoAddress { host: host.clone() })?;
            Ok(parts.with_host(ip))
        })
    }
}

/// An address cut into its parts; the host without IPv6 brackets.
#[derive(Debug, PartialEq, Eq)]
pub struct AddressParts<'a> {
    pub scheme: Option<&'a str>,
    pub host: &'a str,
    pub port: &'a str,
}

impl AddressParts<'_> {
    /// The same address with another host (bracketed when it is an IPv6 literal).
    pub fn with_host(&self, host: &str) -> String {
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        match self.scheme {
            Some(scheme) => format!("{scheme}://{host}:{}", self.port),
            None => format!("{host}:{}", self.port),
        }
    }
}

/// Splits `[scheme://]host:port` (`[v6]:port` for IPv6; a trailing `/` is tolerated).
pub fn split_address(address: &str) -> Result<AddressParts<'_>, AddressError> {
    let malformed = || AddressError::Malformed {
        address: address.to_owned(),
    };
    let (scheme, rest) = match address.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, address),
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(malformed)?;
        (host, after.strip_prefix(':').ok_or_else(malformed)?)
    } else {
        rest.rsplit_once(':').ok_or_else(malformed)?
    };
    if host.is_empty() || port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    Ok(AddressParts { scheme, host, port })
}

/// Whether cluster DNS (not public DNS) answers `host`.
fn is_cluster_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.ends_with(".svc") || host.ends_with(".svc.cluster.local")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn addresses_split_with_and_without_scheme() {
        assert_eq!(
            split_address("minimal-global-topo.default.svc:2379").expect("valid"),
            AddressParts {
                scheme: None,
                host: "minimal-global-topo.default.svc",
                port: "2379"
            }
        );
        assert_eq!(
            split_address("http://etcd:2379/").expect("valid"),
            AddressParts {
                scheme: Some("http"),
                host: "etcd",
                port: "2379"
            }
        );
        let v6 = split_address("[::1]:2379").expect("valid");
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.with_host("::2"), "[::2]:2379");
        for bad in ["etcd", "etcd:", ":2379", "http://etcd:port", "[::1]2379"] {
            assert!(split_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_in_cluster_names_go_to_the_api_server() {
        assert!(is_cluster_name("minimal-global-topo.default.svc"));
        assert!(is_cluster_name("t.default.svc.cluster.local."));
        assert!(!is_cluster_name("127.0.0.3"));
        assert!(!is_cluster_name("etcd.example.com"));
    }

    #[test]
    fn a_new_host_keeps_scheme_and_port() {
        let parts = split_address("http://t.default.svc:2379").expect("valid");
        assert_eq!(parts.with_host("127.0.0.3"), "http://127.0.0.3:2379");
        let parts = split_address("t.default.svc:2379").expect("valid");
        assert_eq!(parts.with_host("127.0.0.3"), "127.0.0.3:2379");
    }

    #[tokio::test]
    async fn cluster_dns_dials_as_written() {
        assert_eq!(
            ClusterDns
                .resolve("t.default.svc:2379")
                .await
                .expect("unchanged"),
            "t.default.svc:2379"
        );
    }
}
