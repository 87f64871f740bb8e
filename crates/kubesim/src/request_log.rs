//! The requests a kubesim served, for tests that assert how a client talks to the API
//! (`Handle::requests()`, `GET /kubesim/v1/requests`): per request the verb, the resource
//! (group, resource, subresource), namespace, name, the client's `User-Agent`, the
//! `fieldManager` query parameter and the user it authenticated as; plus counts per verb and
//! resource.
//!
//! Entries are kept in arrival order, at most [`MAX_ENTRIES`] of them (a long-running local
//! kubesim must not grow without bound); counts are never dropped.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// How many entries are kept; older ones are dropped first.
pub const MAX_ENTRIES: usize = 100_000;

/// The verbs that change state, as the API server's audit log names them.
pub const MUTATING_VERBS: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

/// One counter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestCount {
    pub verb: String,
    /// `plural` or `plural.group`, with `/subresource` when one was addressed.
    pub resource: String,
    pub count: u64,
}

/// One served resource request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestEntry {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.
    pub verb: String,
    /// The API group (`""` for the core group).
    pub group: String,
    /// The resource's plural name (`pods`).
    pub resource: String,
    pub subresource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The `User-Agent` header as sent.
    pub user_agent: Option<String>,
    /// The `fieldManager` query parameter, when the request had one.
    pub field_manager: Option<String>,
    /// The `Content-Type` of the request body, when it had one (`application/json`,
    /// `application/vnd.kubernetes.protobuf`, a patch type).
    pub content_type: Option<String>,
    /// The user the request authenticated as.
    pub user: String,
    /// That user's groups.
    pub groups: Vec<String>,
}

impl RequestEntry {
    /// Whether the verb changes state (see [`MUTATING_VERBS`]).
    pub fn is_mutating(&self) -> bool {
        MUTATING_VERBS.contains(&self.verb.as_str())
    }

    /// `plural` or `plural.group`, with `/subresource`: the key of [`RequestLog::count`].
    pub fn qualified_resource(&self) -> String {
        let mut out = self.resource.clone();
        if !self.group.is_empty() {
            out = format!("{out}.{}", self.group);
        }
        if let Some(sub) = &self.subresource {
            out = format!("{out}/{sub}");
        }
        out
    }

    /// Whether the `User-Agent` header starts with `prefix` (client-go and kube-rs put the
    /// program name first: `multigres-operator/0.1.0 (linux/amd64) ...`).
    pub fn user_agent_starts_with(&self, prefix: &str) -> bool {
        self.user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with(prefix))
    }
}

#[derive(Debug, Default)]
struct Inner {
    counts: BTreeMap<(String, String), u64>,
    entries: VecDeque<RequestEntry>,
}

/// The request log of one kubesim instance.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<Inner>>,
}

impl RequestLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records one request.
    pub fn record(&self, entry: RequestEntry) {
        let key = (entry.verb.clone(), entry.qualified_resource());
        let mut inner = self.lock();
        *inner.counts.entry(key).or_default() += 1;
        if inner.entries.len() == MAX_ENTRIES {
            inner.entries.pop_front();
        }
        inner.entries.push_back(entry);
    }

    /// How many `verb` requests `resource` got (`resource` as in [`RequestCount::resource`]).
    pub fn count(&self, verb: &str, resource: &str) -> u64 {
        self.lock()
            .counts
            .get(&(verb.to_string(), resource.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// All counters, ordered by verb then resource.
    pub fn snapshot(&self) -> Vec<RequestCount> {
        self.lock()
            .counts
            .iter()
            .map(|((verb, resource), count)| RequestCount {
                verb: verb.clone(),
                resource: resource.clone(),
                count: *count,
            })
            .collect()
    }

    /// The kept entries, oldest first.
    pub fn entries(&self) -> Vec<RequestEntry> {
        self.lock().entries.iter().cloned().collect()
    }

    /// How many kept entries satisfy `matches`.
    pub fn count_matching(&self, matches: impl Fn(&RequestEntry) -> bool) -> usize {
        self.lock().entries.iter().filter(|e| matches(e)).count()
    }

    /// How many mutating requests (create, update, patch, delete, deletecollection) came with
    /// a `User-Agent` starting with `prefix`.
    pub fn mutating_by_user_agent(&self, prefix: &str) -> usize {
        self.count_matching(|e| e.is_mutating() && e.user_agent_starts_with(prefix))
    }

    /// How many mutating requests named `manager` in their `fieldManager` query parameter.
    pub fn mutating_by_field_manager(&self, manager: &str) -> usize {
        self.count_matching(|e| e.is_mutating() && e.field_manager.as_deref() == Some(manager))
    }

    /// How many requests (any verb) were made as `username`.
    pub fn by_user(&self, username: &str) -> usize {
        self.count_matching(|e| e.user == username)
    }

    /// Forgets every entry and count.
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.counts.clear();
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(verb: &str, ua: Option<&str>, manager: Option<&str>) -> RequestEntry {
        RequestEntry {
            verb: verb.into(),
            group: "apps".into(),
            resource: "statefulsets".into(),
            subresource: None,
            namespace: Some("default".into()),
            name: Some("s".into()),
            user_agent: ua.map(str::to_string),
            field_manager: manager.map(str::to_string),
            content_type: None,
            user: "kubernetes-admin".into(),
            groups: vec!["system:masters".into()],
        }
    }

    #[test]
    fn queries_select_mutating_requests_by_agent_and_manager() {
        let log = RequestLog::default();
        log.record(entry("get", Some("multigres-operator/0.1"), None));
        log.record(entry(
            "patch",
            Some("multigres-operator/0.1"),
            Some("multigres"),
        ));
        log.record(entry(
            "create",
            Some("kubectl/v1.31"),
            Some("kubectl-create"),
        ));
        log.record(entry(
            "deletecollection",
            Some("multigres-operator/0.1"),
            None,
        ));
        assert_eq!(log.mutating_by_user_agent("multigres-operator"), 2);
        assert_eq!(log.mutating_by_user_agent("kubectl"), 1);
        assert_eq!(log.mutating_by_field_manager("multigres"), 1);
        assert_eq!(log.mutating_by_field_manager("multi"), 0);
        assert_eq!(log.by_user("kubernetes-admin"), 4);
        assert_eq!(log.count("patch", "statefulsets.apps"), 1);
        assert_eq!(log.entries().len(), 4);
        log.reset();
        assert!(log.entries().is_empty());
        assert!(log.snapshot().is_empty());
    }

    #[test]
    fn qualified_resource_names_group_and_subresource() {
        let mut e = entry("update", None, None);
        e.subresource = Some("status".into());
        assert_eq!(e.qualified_resource(), "statefulsets.apps/status");
        e.group = String::new();
        e.subresource = None;
        assert_eq!(e.qualified_resource(), "statefulsets");
    }
}
