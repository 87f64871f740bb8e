//! Reads: get (item, `/status`, `/scale`) and list with selectors, `limit`/`continue`,
//! `remainingItemCount` and `resourceVersion`/`resourceVersionMatch` (rust-ecosystem.md §3.3
//! resourceVersion, Pagination, Selectors).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use super::{Cluster, ListOptions, Subresource, present, present_read, scope_namespace, subject};
use crate::error::ApiError;
use crate::resources::{Representation, ResourceDef};
use crate::semantics::field_selector::FieldSelector;
use crate::semantics::label_selector::LabelSelector;
use crate::semantics::subresources;
use crate::store::{ObjectKey, Store, TooOld};

/// Parsed selectors of a list or watch.
#[derive(Clone, Debug, Default)]
pub(crate) struct Selectors {
    pub(crate) labels: LabelSelector,
    pub(crate) fields: FieldSelector,
}

impl Selectors {
    pub(crate) fn parse(
        def: &ResourceDef,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<Selectors, ApiError> {
        let labels = LabelSelector::parse(label_selector.unwrap_or_default()).map_err(|e| {
            ApiError::BadRequest {
                message: e.to_string(),
            }
        })?;
        let fields = FieldSelector::parse(field_selector.unwrap_or_default(), |f| {
            def.supports_field(f)
        })
        .map_err(|e| ApiError::BadRequest {
            message: e.to_string(),
        })?;
        Ok(Selectors { labels, fields })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    /// Whether a stored object matches (field selectors see the served representation).
    pub(crate) fn matches(&self, def: &ResourceDef, stored: &Value) -> bool {
        if !self.labels.matches(stored) {
            return false;
        }
        if self.fields.is_empty() {
            return true;
        }
        match def.representation {
            Representation::Native => self.fields.matches(stored),
            Representation::EventsV1 => self.fields.matches(&present(def, stored)),
        }
    }
}

/// The 410 message of a watch or list that reached back too far.
pub(crate) fn too_old_message(too_old: TooOld) -> String {
    format!(
        "too old resource version: {} ({})",
        too_old.requested, too_old.oldest
    )
}

/// Parses a `resourceVersion` parameter.
pub(crate) fn parse_resource_version(value: &str) -> Result<u64, ApiError> {
    value.parse::<u64>().map_err(|_| ApiError::BadRequest {
        message: format!("invalid resource version \"{value}\""),
    })
}

fn too_large(requested: u64, current: u64) -> ApiError {
    ApiError::Timeout {
        message: format!("Too large resource version: {requested}, current: {current}"),
    }
}

const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

fn encode_continue(revision: u64, last: &ObjectKey) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": revision,
        "start": format!("{}/{}", last.namespace, last.name)});
    B64.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<(u64, ObjectKey), ApiError> {
    let invalid = || ApiError::BadRequest {
        message: format!("continue key is not valid: {token}"),
    };
    let bytes = B64.decode(token).map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let revision = value
        .get("rv")
        .and_then(Value::as_u64)
        .ok_or_else(invalid)?;
    let start = value
        .get("start")
        .and_then(Value::as_str)
        .ok_or_else(invalid)?;
    let (namespace, name) = start.split_once('/').ok_or_else(invalid)?;
    Ok((revision, ObjectKey::new(namespace, name)))
}

/// The objects of a table at a revision: borrowed from the live map when nothing changed since,
/// otherwise rebuilt from history.
enum View<'a> {
    Live(&'a Store),
    Snapshot(BTreeMap<ObjectKey, Arc<Value>>),
}

impl Cluster {
    /// GET of an item or its `/status` (the whole object) or `/scale` (autoscaling/v1 Scale).
    pub fn get(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
        subresource: Subresource,
    ) -> Result<Value, ApiError> {
        let state = self.lock();
        let key = ObjectKey::new(scope_namespace(def, namespace), name);
        let stored = state
            .store
            .get(&def.table, &key)
            .ok_or_else(|| ApiError::NotFound {
                subject: subject(def, name),
            })?;
        match subresource {
            Subresource::Main | Subresource::Status => Ok(present_read(
                def,
                state.compiled_crd(def).as_deref(),
                stored,
            )),
            Subresource::Scale => {
                let paths = def.scale.as_ref().ok_or(ApiError::UnknownResource)?;
                Ok(subresources::to_scale(stored, paths))
            }
        }
    }

    /// LIST; `namespace` `None` lists across namespaces.
    pub fn list(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> Result<Value, ApiError> {
        let selectors = Selectors::parse(
            def,
            options.label_selector.as_deref(),
            options.field_selector.as_deref(),
        )?;
        let state = self.lock();
        let crd = state.compiled_crd(def);
        let store = &state.store;
        let current = store.revision();
        let (revision, start_after) = match options.continue_token.as_deref() {
            Some(token) if !token.is_empty() => {
                let (revision, last) = decode_continue(token)?;
                (revision, Some(last))
            }
            _ => {
                let requested = options
                    .resource_version
                    .as_deref()
                    .filter(|rv| !rv.is_empty())
                    .map(parse_resource_version)
                    .transpose()?;
                match (requested, options.resource_version_match.as_deref()) {
                    (Some(0), Some("Exact")) => {
                        return Err(ApiError::BadRequest {
                            message: "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"".into(),
                        });
                    }
                    (None, Some(m)) if !m.is_empty() => {
                        return Err(ApiError::BadRequest {
                            message: "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided".into(),
                        });
                    }
                    (Some(rv), _) if rv > current => return Err(too_large(rv, current)),
                    (Some(rv), Some("Exact")) => (rv, None),
                    (_, Some(m)) if !m.is_empty() && m != "NotOlderThan" => {
                        return Err(ApiError::BadRequest {
                            message: format!(
                                "resourceVersionMatch: Unsupported value: \"{m}\": supported values: \"Exact\", \"NotOlderThan\""
                            ),
                        });
                    }
                    _ => (current, None),
                }
            }
        };
        let view = if revision == current {
            View::Live(store)
        } else {
            match store.changed_since(&def.table, revision) {
                Ok(false) => View::Live(store),
                Ok(true) => match store.snapshot_at(&def.table, revision) {
                    Ok(snapshot) => View::Snapshot(snapshot),
                    Err(too_old) => return Err(expired(options, too_old)),
                },
                Err(too_old) => return Err(expired(options, too_old)),
            }
        };
        let scope = def
            .namespaced
            .then(|| namespace.filter(|ns| !ns.is_empty()))
            .flatten();
        let iter: Box<dyn Iterator<Item = &Arc<Value>>> = match &view {
            View::Live(store) => store.list(&def.table, scope),
            View::Snapshot(objects) => match scope {
                None => Box::new(objects.values()),
                Some(ns) => Box::new(
                    objects
                        .range(ObjectKey::new(ns, "")..)
                        .take_while(move |(key, _)| key.namespace == ns)
                        .map(|(_, object)| object),
                ),
            },
        };
        let limit = options.limit.filter(|l| *l > 0);
        let mut items = Vec::new();
        let mut last_key = None;
        let mut more = false;
        let mut remaining = 0usize;
        for object in iter {
            if let Some(after) = &start_after
                && ObjectKey::of(object) <= *after
            {
                continue;
            }
            if !selectors.matches(def, object) {
                continue;
            }
            if limit.is_some_and(|l| items.len() >= l) {
                more = true;
                remaining += 1;
                if !selectors.is_empty() {
                    break;
                }
                continue;
            }
            last_key = Some(ObjectKey::of(object));
            items.push(present_read(def, crd.as_deref(), object));
        }
        let mut metadata = Map::new();
        metadata.insert("resourceVersion".into(), json!(revision.to_string()));
        if more && let Some(last) = &last_key {
            metadata.insert("continue".into(), json!(encode_continue(revision, last)));
            if selectors.is_empty() {
                metadata.insert("remainingItemCount".into(), json!(remaining));
            }
        }
        Ok(json!({
            "kind": def.list_kind,
            "apiVersion": def.api_version(),
            "metadata": Value::Object(metadata),
            "items": items,
        }))
    }
}

fn expired(options: &ListOptions, too_old: TooOld) -> ApiError {
    if options
        .continue_token
        .as_deref()
        .is_some_and(|t| !t.is_empty())
    {
        ApiError::Expired {
            message: CONTINUE_EXPIRED.to_string(),
        }
    } else {
        ApiError::Expired {
            message: too_old_message(too_old),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let key = ObjectKey::new("ns", "a.b");
        let token = encode_continue(42, &key);
        assert_eq!(decode_continue(&token), Ok((42, key)));
        assert_eq!(
            decode_continue("nope"),
            Err(ApiError::BadRequest {
                message: "continue key is not valid: nope".into()
            })
        );
    }
}
