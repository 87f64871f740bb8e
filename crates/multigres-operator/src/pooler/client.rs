//! A gRPC client of one multipooler's manager service (`multipoolermanager.MultiPoolerManager`,
//! spec-wire.md §3): plaintext HTTP/2 (h2c) to the `grpc` port its topology record names, with
//! a connect timeout and a per-call deadline.
//!
//! The address comes from the pooler's record (`hostname`, `port_map["grpc"]`, joined as Go's
//! `net.JoinHostPort`) and is dialled through the same [`AddressResolver`] as the topology
//! server: cluster DNS in a cluster, kubesim's resolver outside one; IP literals as written.
//! Calls are hand-written unary calls with the prost codec (no codegen); a method joins by
//! naming its path and messages (the drain's `UpdateSynchronousStandbyList` is next).
//!
//! One connection per client: the Shard controller opens one per check, on the one pooler it
//! calls (Go caches up to 100 connections; a connection per pass costs one loopback or
//! in-cluster TCP handshake, next to the pgBackRest run the call itself starts).

use std::time::Duration;

use http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};

use super::messages::{GetBackupsRequest, GetBackupsResponse};
use crate::topology::address::{AddressError, AddressResolver};
use crate::topology::records::{MultiPooler, pooler_id_string};

/// How long a connection to a pooler may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The deadline of one call: multigres' own `remote-operation-timeout` (spec-wire.md §3.2). A
/// GetBackups can wait behind a running backup on the pooler's action lock; the Shard's
/// data-plane deadline (30 s) bounds the pass anyway.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// The key of the gRPC port in a pooler record's `port_map`.
pub const GRPC_PORT: &str = "grpc";
/// `GetBackups` (pinned service name: HEAD renames it `MultipoolerManager`, spec-wire.md §6).
pub const GET_BACKUPS: &str = "/multipoolermanager.MultiPoolerManager/GetBackups";

/// Why a call to a pooler failed.
#[derive(Debug, thiserror::Error)]
pub enum PoolerError {
    /// The record's address could not be turned into one this process can dial.
    #[error("cannot resolve the address {target} of pooler {pooler}")]
    Resolve {
        pooler: String,
        target: String,
        #[source]
        source: AddressError,
    },
    /// No connection within [`CONNECT_TIMEOUT`].
    #[error("cannot connect to pooler {pooler} at {target}")]
    Connect {
        pooler: String,
        target: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The call failed (its status, or [`CALL_TIMEOUT`] passed).
    #[error("{method} on pooler {pooler} at {target} failed")]
    Call {
        method: &'static str,
        pooler: String,
        target: String,
        #[source]
        source: tonic::Status,
    },
}

/// Go `net.JoinHostPort(hostname, port_map["grpc"])`: an IPv6 literal gets brackets, and a
/// record without a `grpc` port gives port 0 (which then fails to connect, as in Go).
pub fn grpc_target(pooler: &MultiPooler) -> String {
    let port = pooler.port_map.get(GRPC_PORT).copied().unwrap_or_default();
    if pooler.hostname.contains(':') {
        format!("[{}]:{port}", pooler.hostname)
    } else {
        format!("{}:{port}", pooler.hostname)
    }
}

/// A connection to one pooler's manager service.
pub struct PoolerClient {
    pooler: String,
    target: String,
    channel: Channel,
}

impl PoolerClient {
    /// Connects to the pooler of `record` (its ID names it in errors).
    pub async fn connect(
        record: &MultiPooler,
        resolver: &dyn AddressResolver,
    ) -> Result<Self, PoolerError> {
        let pooler = pooler_id_string(record);
        let target = grpc_target(record);
        let dialable = resolver
            .resolve(&target)
            .await
            .map_err(|source| PoolerError::Resolve {
                pooler: pooler.clone(),
                target: target.clone(),
                source,
            })?;
        let connect_error =
            |source: Box<dyn std::error::Error + Send + Sync>| PoolerError::Connect {
                pooler: pooler.clone(),
                target: target.clone(),
                source,
            };
        let endpoint = Endpoint::from_shared(format!("http://{dialable}"))
            .map_err(|e| connect_error(Box::new(e)))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT);
        let channel = tokio::time::timeout(CONNECT_TIMEOUT, endpoint.connect())
            .await
            .map_err(|elapsed| connect_error(Box::new(elapsed)))?
            .map_err(|e| connect_error(Box::new(e)))?;
        Ok(Self {
            pooler,
            target,
            channel,
        })
    }

    /// The pooler's ID string, e.g. `multipooler-zone-a-p-45f814aa`.
    pub fn pooler(&self) -> &str {
        &self.pooler
    }

    /// `GetBackups{limit}` (0: every backup).
    pub async fn get_backups(&self, limit: u32) -> Result<GetBackupsResponse, PoolerError> {
        self.unary("GetBackups", GET_BACKUPS, GetBackupsRequest { limit })
            .await
    }

    /// One unary call of `path` with the prost codec, under [`CALL_TIMEOUT`].
    async fn unary<Req, Resp>(
        &self,
        method: &'static str,
        path: &'static str,
        message: Req,
    ) -> Result<Resp, PoolerError>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let call_error = |source: tonic::Status| PoolerError::Call {
            method,
            pooler: self.pooler.clone(),
            target: self.target.clone(),
            source,
        };
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready()
            .await
            .map_err(|e| call_error(tonic::Status::from_error(Box::new(e))))?;
        let mut request = tonic::Request::new(message);
        // Tells the server the deadline too (the channel enforces it here).
        request.set_timeout(CALL_TIMEOUT);
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        grpc.unary(request, PathAndQuery::from_static(path), codec)
            .await
            .map(tonic::Response::into_inner)
            .map_err(call_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::records::Id;
    use pretty_assertions::assert_eq;

    fn record(hostname: &str, grpc: Option<i32>) -> MultiPooler {
        MultiPooler {
            id: Some(Id {
                component: 1,
                cell: "zone-a".into(),
                name: "p-45f814aa".into(),
            }),
            hostname: hostname.into(),
            port_map: grpc
                .map(|port| (GRPC_PORT.to_owned(), port))
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_target_joins_host_and_grpc_port_as_go_does() {
        assert_eq!(
            grpc_target(&record("p-0.p-headless.ns.svc.cluster.local", Some(15270))),
            "p-0.p-headless.ns.svc.cluster.local:15270"
        );
        assert_eq!(
            grpc_target(&record("127.0.0.5", Some(15270))),
            "127.0.0.5:15270"
        );
        assert_eq!(
            grpc_target(&record("fd00::5", Some(15270))),
            "[fd00::5]:15270"
        );
        assert_eq!(grpc_target(&record("h", None)), "h:0");
    }

    #[tokio::test]
    async fn a_port_nothing_listens_on_is_a_connect_error_naming_the_pooler() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("an address").port();
        drop(listener);
        let error = PoolerClient::connect(
            &record("127.0.0.1", Some(i32::from(port))),
            &crate::topology::ClusterDns,
        )
        .await
        .err()
        .expect("nothing listens");
        assert!(
            matches!(&error, PoolerError::Connect { pooler, target, .. }
                if pooler == "multipooler-zone-a-p-45f814aa" && *target == format!("127.0.0.1:{port}")),
            "{error:?}"
        );
    }
}
