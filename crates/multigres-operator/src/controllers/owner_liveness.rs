//! Whether the object a pass works for still exists on the API server, asked before the pass
//! creates anything for it.
//!
//! The caches are fed by one watch per kind, and the watches do not deliver in one order. When
//! a MultigresCluster is deleted, the garbage collector deletes its children at once; a child's
//! deletion can reach this process before its owner's, and the pass it triggers runs on the
//! owner the cache still holds. That pass finds the child missing and would create it again:
//! a dependent of a dead owner that the collector deletes once more, or, for a data PVC under
//! `whenDeleted: Retain` (created without an ownerReference, spec-controllers.md §7.9), an
//! orphan. So before the first create of a pass (an apply whose cached copy is missing, or a
//! plain create) the owner is read from the API server; gone, another uid, or terminating, and
//! the pass creates nothing and ends quietly ([`ErrorClass::Gone`]). Its deletion is on its way
//! to the cache and ends the object's passes.
//!
//! The answer holds for the rest of the pass (kube-runtime never runs two passes of one object
//! at once) and is forgotten when it ends: one read per pass that creates, none at steady state.
//! An object that is in the cache but has a `deletionTimestamp` never gets here: each
//! controller's pass then does only its deletion work (§2.12, §3, §4.1, §5, §7.11).
//!
//! [`ErrorClass::Gone`]: crate::controllers::error_policy::ErrorClass::Gone

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::DynamicObject;
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Api, Client};

use crate::apply::{ApplyError, list_by_name};

/// The answers of the passes running now, by the uid of their object.
#[derive(Debug, Default)]
pub struct OwnerLiveness {
    answers: Mutex<HashMap<String, bool>>,
}

/// Whether `found` (the object as the API server has it, if it does) is the live object `uid`
/// names: present, the same uid (not a new object under the old name), not being deleted.
pub fn is_alive(found: Option<&ObjectMeta>, uid: &str) -> bool {
    found.is_some_and(|meta| meta.uid.as_deref() == Some(uid) && meta.deletion_timestamp.is_none())
}

impl OwnerLiveness {
    fn answers(&self) -> MutexGuard<'_, HashMap<String, bool>> {
        // One insert or remove at a time: a panic elsewhere cannot leave it half-updated.
        self.answers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pass of the object `uid` started or ended: the next one asks again.
    pub fn forget(&self, uid: &str) {
        self.answers().remove(uid);
    }

    /// Ok when `owner` still exists as the pass knows it; [`ApplyError::OwnerGone`] when it was
    /// deleted (or replaced by a new object of the same name) and nothing may be created for
    /// it. Reads the API server once per pass.
    pub async fn ensure_alive(
        &self,
        client: &Client,
        owner: &ObjectReference,
    ) -> Result<(), ApplyError> {
        let uid = owner.uid.clone().unwrap_or_default();
        let kind = owner.kind.clone().unwrap_or_default();
        let namespace = owner.namespace.clone().unwrap_or_default();
        let name = owner.name.clone().unwrap_or_default();
        let known = self.answers().get(&uid).copied();
        let alive = match known {
            Some(alive) => alive,
            None => {
                let api_version = owner.api_version.clone().unwrap_or_default();
                let (group, version) = api_version
                    .split_once('/')
                    .unwrap_or(("", api_version.as_str()));
                let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &kind));
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client.clone(), &namespace, &resource);
                // A list by name, not a GET: the operator's role may only list and watch its
                // kinds (install/rbac.rs).
                let found = list_by_name(&api, &name)
                    .await
                    .map_err(|source| ApplyError::Read {
                        kind: kind.clone(),
                        namespace: namespace.clone(),
                        name: name.clone(),
                        source: Box::new(source),
                    })?;
                let alive = is_alive(found.as_ref().map(|o| &o.metadata), &uid);
                self.answers().insert(uid, alive);
                alive
            }
        };
        if alive {
            Ok(())
        } else {
            tracing::debug!(%kind, %namespace, %name, "owner is gone; nothing is created for it");
            Err(ApplyError::OwnerGone {
                kind,
                namespace,
                name,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;
    use kube::Resource;
    use kube::api::{DeleteParams, PostParams};

    fn meta(uid: &str, deleting: bool) -> ObjectMeta {
        ObjectMeta {
            uid: Some(uid.to_owned()),
            deletion_timestamp: deleting.then_some(Time(Timestamp::UNIX_EPOCH)),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn only_the_same_object_not_being_deleted_is_alive() {
        assert!(is_alive(Some(&meta("u1", false)), "u1"));
        assert!(!is_alive(None, "u1"), "deleted");
        assert!(
            !is_alive(Some(&meta("u2", false)), "u1"),
            "a new object, same name"
        );
        assert!(!is_alive(Some(&meta("u1", true)), "u1"), "being deleted");
    }

    #[tokio::test]
    async fn the_owner_is_read_once_per_pass_and_a_deleted_one_refuses_creates() {
        let server = kubesim::Server::builder()
            .start()
            .await
            .expect("kubesim starts");
        let client = server.client();
        let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let owner = config_maps
            .create(
                &PostParams::default(),
                &ConfigMap {
                    metadata: ObjectMeta {
                        name: Some("owner".to_owned()),
                        namespace: Some("default".to_owned()),
                        ..ObjectMeta::default()
                    },
                    ..ConfigMap::default()
                },
            )
            .await
            .expect("the owner is created");
        let reference = owner.object_ref(&());
        let uid = reference.uid.clone().expect("a uid");
        let reads = || {
            server
                .requests()
                .count_matching(|e| e.verb == "list" && e.resource == "configmaps")
        };
        let liveness = OwnerLiveness::default();
        liveness
            .ensure_alive(&client, &reference)
            .await
            .expect("alive");
        liveness
            .ensure_alive(&client, &reference)
            .await
            .expect("alive");
        assert_eq!(reads(), 1, "one read per pass");

        config_maps
            .delete("owner", &DeleteParams::default())
            .await
            .expect("deleted");
        // Within the same pass the first answer holds; the next pass asks again.
        liveness
            .ensure_alive(&client, &reference)
            .await
            .expect("the pass's answer");
        liveness.forget(&uid);
        let refused = liveness.ensure_alive(&client, &reference).await;
        assert!(
            matches!(refused, Err(ApplyError::OwnerGone { ref name, .. }) if name == "owner"),
            "{refused:?}"
        );
        assert!(refused.is_err_and(|e| e.is_gone()));
        assert_eq!(reads(), 2);
        server.shutdown().await;
    }
}
