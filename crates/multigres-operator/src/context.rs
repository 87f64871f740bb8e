//! What every reconcile shares: the client, the informer cache, the writer, the event
//! recorders and the operator's settings (style.md §2 `context.rs`).
//!
//! Built once by `operator.rs`; reconcilers read from it and never replace anything in it.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Client;

use crate::apply::Apply;
use crate::cache::Cache;
use crate::controllers::error_policy::Backoff;
use crate::controllers::otel_env::OperatorOtelEnv;
use crate::controllers::owner_liveness::OwnerLiveness;
use crate::events::Events;
use crate::telemetry::deleted_series::SeriesRegister;
use crate::telemetry::metrics::Metrics;
use crate::topology::address::AddressResolver;

/// The operator's settings that shape what reconcilers build and when they requeue.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The operator's own `OTEL_*` variables: the fallback of every cluster's observability
    /// settings (spec-controllers.md §12.5).
    pub operator_otel_env: OperatorOtelEnv,
    /// How long a converged object waits before it is reconciled again without any change
    /// (controller-runtime's SyncPeriod; kube-runtime advises a periodic requeue).
    pub resync: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            operator_otel_env: OperatorOtelEnv::default(),
            resync: Duration::from_secs(10 * 60 * 60),
        }
    }
}

/// The shared state of every controller.
pub struct Context {
    pub client: Client,
    pub cache: Cache,
    pub apply: Apply,
    pub events: Events,
    pub settings: Settings,
    /// How in-cluster service names (the topology server's) are reached from this process.
    pub resolver: Arc<dyn AddressResolver>,
    /// Failure counts per object for the error policy.
    pub backoff: Backoff,
    /// Whether the object of each running pass is still there, asked before it creates
    /// anything.
    pub owners: OwnerLiveness,
    /// The operator's metrics (spec-controllers.md §12.1).
    pub metrics: Arc<Metrics>,
    /// Which objects have metric series, so those of deleted objects can be removed.
    pub series: SeriesRegister,
}

impl Context {
    /// The current time, as the API stores it. The one place reconcilers read the clock; pure
    /// code receives the value.
    pub fn now(&self) -> Time {
        Time(Timestamp::now())
    }
}
