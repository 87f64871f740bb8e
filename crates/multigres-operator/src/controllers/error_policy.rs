//! What a controller does after a failed pass (style.md §3 step 11), shared by the five
//! controllers: an invalid spec waits for a change (no retry loop), a conflict retries soon,
//! anything else backs off exponentially per object, capped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kube::Resource;

use crate::controllers::action::Action;

/// How a failure is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The user's input is wrong: reported once, retried when the object changes.
    Invalid,
    /// Someone wrote in between (409): retry after a short pause.
    Conflict,
    /// Anything else (API errors, unreachable services): capped exponential backoff.
    Transient,
    /// The object is gone from the API server though the cache still held it (see
    /// `owner_liveness.rs`): the pass ends quietly, with no Warning and no retry; the
    /// deletion reaching the cache ends the object's passes.
    Gone,
}

/// The error of one controller's pass.
pub trait ReconcileError: std::error::Error + Send + Sync + 'static {
    /// PascalCase Event reason and metric label.
    fn reason(&self) -> &'static str;
    fn class(&self) -> ErrorClass;
}

/// First retry after a transient failure; doubled per failure up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
const CONFLICT_RETRY: Duration = Duration::from_secs(1);

/// The object a failure count belongs to. The kind is part of it: the five controllers share
/// one [`Backoff`], and a Cell and a Shard (or a TableGroup) of the same name in one namespace
/// must neither share a count nor reset each other's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BackoffKey {
    kind: String,
    namespace: String,
    name: String,
}

impl BackoffKey {
    pub fn of<K: Resource<DynamicType = ()>>(object: &K) -> Self {
        let meta = object.meta();
        BackoffKey {
            kind: K::kind(&()).into_owned(),
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
        }
    }
}

/// Failure counts per object, reset by a successful pass.
#[derive(Default)]
pub struct Backoff {
    failures: Mutex<HashMap<BackoffKey, u32>>,
}

impl Backoff {
    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<BackoffKey, u32>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The delay before the next try of `key` after one more failure.
    pub fn next_delay(&self, key: &BackoffKey) -> Duration {
        let mut failures = self.failures();
        let count = failures.entry(key.clone()).or_default();
        let delay = BASE_BACKOFF.saturating_mul(2u32.saturating_pow(*count));
        *count = count.saturating_add(1);
        delay.min(MAX_BACKOFF)
    }

    pub fn reset(&self, key: &BackoffKey) {
        self.failures().remove(key);
    }
}

/// The action after `error` for `object`.
pub fn action_after<K: Resource<DynamicType = ()>>(
    error: &dyn ReconcileError,
    object: &K,
    backoff: &Backoff,
) -> Action {
    match error.class() {
        ErrorClass::Invalid | ErrorClass::Gone => Action::await_change(),
        ErrorClass::Conflict => Action::requeue(CONFLICT_RETRY),
        ErrorClass::Transient => Action::requeue(backoff.next_delay(&BackoffKey::of(object))),
    }
}

/// The error and its sources, one line (Event notes and logs).
pub fn chain_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn key(kind: &str, name: &str) -> BackoffKey {
        BackoffKey {
            kind: kind.to_owned(),
            namespace: "ns".to_owned(),
            name: name.to_owned(),
        }
    }

    #[test]
    fn transient_failures_back_off_exponentially_up_to_the_cap_and_reset() {
        let backoff = Backoff::default();
        let a = key("Cell", "a");
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay(&a)).collect();
        assert_eq!(delays[0], Duration::from_millis(500));
        assert_eq!(delays[1], Duration::from_secs(1));
        assert_eq!(delays[2], Duration::from_secs(2));
        assert_eq!(delays[11], MAX_BACKOFF);
        assert_eq!(
            backoff.next_delay(&key("Cell", "b")),
            Duration::from_millis(500)
        );
        backoff.reset(&a);
        assert_eq!(backoff.next_delay(&a), Duration::from_millis(500));
    }

    #[test]
    fn objects_of_two_kinds_with_one_name_keep_their_own_counts() {
        use k8s_openapi::api::apps::v1::Deployment;
        use k8s_openapi::api::core::v1::Service;
        use kube::api::ObjectMeta;
        let meta = || ObjectMeta {
            name: Some("minimal-multiadmin".to_owned()),
            namespace: Some("default".to_owned()),
            ..ObjectMeta::default()
        };
        let service = BackoffKey::of(&Service {
            metadata: meta(),
            ..Service::default()
        });
        let deployment = BackoffKey::of(&Deployment {
            metadata: meta(),
            ..Deployment::default()
        });
        let backoff = Backoff::default();
        for _ in 0..3 {
            backoff.next_delay(&service);
        }
        // The other kind starts at the base delay, and its success leaves the count alone.
        assert_eq!(backoff.next_delay(&deployment), BASE_BACKOFF);
        backoff.reset(&deployment);
        assert_eq!(backoff.next_delay(&service), Duration::from_secs(4));
    }
}
