//! Counts of served requests per verb and resource, for tests that assert how a client talks
//! to the API (`Handle::requests()`, `GET /kubesim/v1/requests`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One counter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestCount {
    pub verb: String,
    /// `plural` or `plural.group`, with `/subresource` when one was addressed.
    pub resource: String,
    pub count: u64,
}

/// The request counters of one kubesim instance.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    counts: Arc<Mutex<BTreeMap<(String, String), u64>>>,
}

impl RequestLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), u64>> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn record(&self, verb: &str, resource: &str) {
        *self
            .lock()
            .entry((verb.to_string(), resource.to_string()))
            .or_default() += 1;
    }

    /// How many `verb` requests `resource` got.
    pub fn count(&self, verb: &str, resource: &str) -> u64 {
        self.lock()
            .get(&(verb.to_string(), resource.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// All counters, ordered by verb then resource.
    pub fn snapshot(&self) -> Vec<RequestCount> {
        self.lock()
            .iter()
            .map(|((verb, resource), count)| RequestCount {
                verb: verb.clone(),
                resource: resource.clone(),
                count: *count,
            })
            .collect()
    }

    pub fn reset(&self) {
        self.lock().clear();
    }
}
