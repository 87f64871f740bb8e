//! The admission webhooks and their certificates (spec-api.md §12, spec-controllers.md §11,
//! §13.2): an HTTPS server (axum on hyper, rustls with ring) answering the API server's
//! AdmissionReviews for the MultigresCluster defaulter, the MultigresCluster, template and
//! child-resource validators, and the PKI that keeps its serving certificate valid.
//!
//! Every rule is the one `render` applies: the handlers call `multigres_api::resolver` and
//! `multigres_api::validation` on what they read from the API server, and never re-implement a
//! check (style.md §3 "Admission webhook").
//!
//! # Wiring (for `multigres-operator run`)
//!
//! ```no_run
//! use multigres_operator::webhook::{self, WebhookArgs};
//!
//! async fn run_webhooks(
//!     client: kube::Client,
//!     args: &WebhookArgs, // `#[command(flatten)]` in `run`
//!     shutdown: impl std::future::Future<Output = ()>,
//!     leader: impl std::future::Future<Output = ()>, // completes when leadership is lost
//! ) -> Result<(), webhook::Error> {
//!     // $POD_NAMESPACE and $POD_SERVICE_ACCOUNT (spec-controllers.md §13.1).
//!     let Some(config) = args.config(Some("multigres-operator"), Some("controller-manager"))?
//!     else {
//!         return Ok(()); // --webhook-enable=false: no server, no certificates.
//!     };
//!     // Before the controllers start (Go: fatal on error): detects the strategy and, when the
//!     // operator manages the certificates, creates or renews them and injects the caBundle.
//!     let certificates = webhook::prepare_certificates(client.clone(), &config).await?;
//!     // On every replica: the HTTPS server, picking up a rotated certificate by itself.
//!     let server = webhook::WebhookServer::bind(client, &config, &certificates).await?;
//!     // Only while leader (Go runs the rotator as a leader-only runnable): the hourly check.
//!     let rotation = webhook::run_rotation(&certificates, leader);
//!     let (served, ()) = tokio::join!(server.serve(shutdown), rotation);
//!     served
//! }
//! ```
//!
//! Modules: [`args`] (flags), [`registration`] (the webhook configurations the install manifest
//! holds), [`review`] (AdmissionReview in and out), [`defaulting`] and [`validation`] (what each
//! path decides, pure), [`cluster_reads`] (what they read from the API server), [`server`]
//! (routes and handlers), [`listener`] (TLS, timeouts, graceful shutdown), [`certs`] (pure PKI),
//! [`serving_cert`] (hot reload) and [`cert_rotation`] (Secrets, caBundle, strategy detection).

pub mod args;
pub mod cert_rotation;
pub mod certs;
pub mod cluster_reads;
pub mod defaulting;
pub mod listener;
pub mod registration;
pub mod review;
pub mod server;
pub mod serving_cert;
pub mod validation;

use std::future::Future;

pub use args::{WebhookArgs, WebhookConfig};
pub use cert_rotation::{CertStrategy, prepare_certificates};
pub use server::WebhookServer;

/// Why the webhook server or its certificates failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Args(#[from] args::ArgsError),
    #[error(transparent)]
    Certificates(#[from] cert_rotation::RotationError),
    #[error(transparent)]
    Listener(#[from] listener::ListenerError),
}

impl Error {
    /// PascalCase reason, for Events and metric labels (style.md §4).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Args(_) => "InvalidWebhookFlags",
            Error::Certificates(_) => "WebhookCertificatesFailed",
            Error::Listener(_) => "WebhookServerFailed",
        }
    }
}

/// The hourly certificate check (spec-controllers.md §11.1: Go runs it as a manager runnable,
/// so only on the elected leader): returns when `shutdown` completes. Does nothing but wait when
/// the certificates are managed externally.
pub async fn run_rotation(strategy: &CertStrategy, shutdown: impl Future<Output = ()>) {
    match strategy {
        CertStrategy::SelfManaged(rotator) => rotator.run(shutdown).await,
        CertStrategy::External { .. } => shutdown.await,
    }
}
