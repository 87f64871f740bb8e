//! kubesim: a loopback Kubernetes API server for integration tests and local mode.
//!
//! It serves the core semantics real clients depend on (rust-ecosystem.md §3): CRUD with
//! optimistic concurrency, one global resourceVersion, list pagination, watches with bookmarks
//! and 410 Expired, label/field selectors, finalizers, garbage collection, namespaces,
//! status/scale subresources, dryRun, discovery, fault injection and request counts; and what
//! kubectl needs to work without `--validate=false` (aggregated discovery, OpenAPI v3, Table
//! output, `fieldValidation`) plus admission webhooks, Kubernetes protobuf for built-in kinds
//! ([`protobuf`]), identities and opt-in RBAC ([`auth`]) and evictions (docs/kubesim.md).
//!
//! # Layout
//! - [`store`]: pure state (objects, revision counter, watch history).
//! - [`semantics`]: pure rules (selectors, finalizers, GC, subresources, patches, CRD schemas).
//! - [`api`]: the request pipeline over the store ([`Cluster`]); no HTTP.
//! - [`http`]: the thin axum layer (with discovery, OpenAPI and Table documents).
//! - [`admission`]: admission webhooks around the HTTP writes.
//! - [`kubelet`]: the simulated kubelet, scheduler, volume binder and workload controllers,
//!   driving the in-process API (opt in with [`ServerBuilder::kubelet`]).
//! - [`server`]: [`Server::builder`] → [`Handle`].
//!
//! # Tests
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let server = kubesim::Server::builder().start().await?;
//! let client = server.client();
//! let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::default_namespaced(client);
//! let _ = cms.list(&Default::default()).await?;
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # In-process API (for a simulated kubelet or other in-process controllers)
//! [`Handle::cluster`] returns the [`Cluster`] the HTTP layer uses, without HTTP or faults:
//! resolve a resource with [`Cluster::resource`] (`("", "v1", "pods")`), then call
//! [`Cluster::get`], [`Cluster::list`], [`Cluster::create`], [`Cluster::update`] (with
//! [`api::Subresource::Status`] for status writes), [`Cluster::patch`], [`Cluster::delete`]
//! with JSON values; failures are [`ApiError`]s carrying the `Status` a client would see.
//! [`Cluster::watch`] returns a `Stream` of [`api::WatchEvent`] with the same semantics as an
//! HTTP watch (initial ADDED events, selectors, 410 Expired in-stream). Every write wakes the
//! watchers; writes made in-process are visible to HTTP clients at once.
//! ```no_run
//! # async fn kubelet(cluster: kubesim::Cluster) -> Result<(), kubesim::ApiError> {
//! use futures::StreamExt;
//! let pods = cluster.resource("", "v1", "pods")?;
//! let mut events = cluster.watch(pods.clone(), None, &Default::default())?;
//! while let Some(event) = events.next().await {
//!     let name = event.object["metadata"]["name"].as_str().unwrap_or_default().to_string();
//!     let ns = event.object["metadata"]["namespace"].as_str().map(str::to_string);
//!     if event.event_type == "ADDED" {
//!         let mut pod = event.object.clone();
//!         pod["status"]["phase"] = "Running".into();
//!         cluster.update(&pods, ns.as_deref(), &name, kubesim::api::Subresource::Status,
//!                        pod, &Default::default())?;
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod admission;
pub mod api;
pub mod auth;
pub mod bootstrap;
pub mod dns;
pub mod error;
pub mod faults;
pub mod http;
pub mod kubeconfig;
pub mod kubelet;
pub mod namespace_controllers;
pub mod process_runtime;
pub mod protobuf;
pub mod request_log;
pub mod resources;
pub mod semantics;
pub mod server;
pub mod store;
pub mod tls;

pub use api::Cluster;
pub use error::ApiError;
pub use faults::{FaultRule, Faults};
pub use request_log::{RequestCount, RequestEntry, RequestLog};
pub use server::{Handle, SaveError, Server, ServerBuilder, StartError};
