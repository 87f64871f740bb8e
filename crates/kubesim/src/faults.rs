//! Fault injection per verb and resource: error rates with chosen status codes (500, 503, 429
//! with Retry-After, 409, ...), added latency and dropped watch streams. Deterministic for a
//! given seed and request order (a SplitMix64 sequence, no OS randomness).
//!
//! Configured through [`Faults`] on the library handle or `PUT /kubesim/v1/faults`; consulted by
//! the HTTP layer only (the in-process API is never faulted).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::store::UidGenerator;

/// One fault rule. A request matches when its verb and resource match (absent = any).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verb: Option<String>,
    /// Resource as `plural` (core) or `plural.group`, e.g. `configmaps`, `leases.coordination.k8s.io`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Probability (0..=1) that a matching request fails.
    #[serde(default)]
    pub error_rate: f64,
    /// Status codes a failure picks from (in turn by the seeded sequence); empty means 500.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<u16>,
    /// `Retry-After` seconds sent with 429 (and 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
    /// Latency added before a matching request is served.
    #[serde(default)]
    pub latency_ms: u64,
    /// Matching watch streams are cut after this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_watch_after_ms: Option<u64>,
}

impl FaultRule {
    fn matches(&self, verb: &str, resource: &str) -> bool {
        self.verb.as_deref().is_none_or(|v| v == verb)
            && self.resource.as_deref().is_none_or(|r| r == resource)
    }
}

/// What the HTTP layer does to one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultDecision {
    pub latency: Duration,
    pub error: Option<ApiError>,
    pub drop_watch_after: Option<Duration>,
}

#[derive(Debug)]
struct FaultState {
    rules: Vec<FaultRule>,
    rng: UidGenerator,
}

/// The fault configuration of one kubesim instance.
#[derive(Clone, Debug)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
    drops: Arc<watch::Sender<u64>>,
}

impl Faults {
    pub fn new(seed: u64) -> Faults {
        Faults {
            state: Arc::new(Mutex::new(FaultState {
                rules: Vec::new(),
                rng: UidGenerator::new(seed),
            })),
            drops: Arc::new(watch::channel(0).0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces all rules.
    pub fn set_rules(&self, rules: Vec<FaultRule>) {
        self.lock().rules = rules;
    }

    /// Adds one rule.
    pub fn add(&self, rule: FaultRule) {
        self.lock().rules.push(rule);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// The current rules.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.lock().rules.clone()
    }

    /// Restarts the random sequence from `seed`.
    pub fn reseed(&self, seed: u64) {
        self.lock().rng = UidGenerator::new(seed);
    }

    /// Cuts every open watch stream now (clients see the stream end and re-watch).
    pub fn drop_watches(&self) {
        self.drops.send_modify(|n| *n += 1);
    }

    pub(crate) fn drop_signal(&self) -> watch::Receiver<u64> {
        self.drops.subscribe()
    }

    /// Decides the fault for one request; every matching rule contributes (latencies add up,
    /// the first failing rule decides the error).
    pub fn decide(&self, verb: &str, resource: &str) -> FaultDecision {
        let mut state = self.lock();
        let FaultState { rules, rng } = &mut *state;
        let mut decision = FaultDecision::default();
        for rule in rules.iter().filter(|r| r.matches(verb, resource)) {
            decision.latency += Duration::from_millis(rule.latency_ms);
            if let Some(ms) = rule.drop_watch_after_ms {
                decision.drop_watch_after = Some(Duration::from_millis(ms));
            }
            if decision.error.is_none() && rule.error_rate > 0.0 {
                let draw = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                if draw < rule.error_rate {
                    let code = if rule.codes.is_empty() {
                        500
                    } else {
                        rule.codes[(rng.next_u64() % rule.codes.len() as u64) as usize]
                    };
                    decision.error = Some(injected(code, rule.retry_after_seconds));
                }
            }
        }
        decision
    }
}

fn injected(code: u16, retry_after_seconds: Option<u32>) -> ApiError {
    let reason = match code {
        409 => "Conflict",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        404 => "NotFound",
        403 => "Forbidden",
        400 => "BadRequest",
        _ => "Unknown",
    };
    ApiError::Injected {
        code,
        reason: reason.to_string(),
        retry_after_seconds: if code == 429 || code == 503 {
            retry_after_seconds
        } else {
            None
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(rate: f64, codes: Vec<u16>) -> FaultRule {
        FaultRule {
            verb: Some("get".into()),
            resource: Some("configmaps".into()),
            error_rate: rate,
            codes,
            retry_after_seconds: Some(2),
            ..FaultRule::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_failures() {
        let run = || {
            let faults = Faults::new(9);
            faults.add(rule(0.5, vec![500, 503, 429]));
            (0..64)
                .map(|_| faults.decide("get", "configmaps").error.map(|e| e.code()))
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let failures = first.iter().filter(|c| c.is_some()).count();
        assert!(
            (16..=48).contains(&failures),
            "{failures} of 64 failed at rate 0.5"
        );
    }

    #[test]
    fn rules_apply_only_to_their_verb_and_resource() {
        let faults = Faults::new(1);
        faults.add(rule(1.0, vec![429]));
        assert_eq!(
            faults.decide("list", "configmaps"),
            FaultDecision::default()
        );
        assert_eq!(faults.decide("get", "secrets"), FaultDecision::default());
        assert_eq!(
            faults.decide("get", "configmaps").error,
            Some(ApiError::Injected {
                code: 429,
                reason: "TooManyRequests".into(),
                retry_after_seconds: Some(2)
            })
        );
    }
}
