//! The runtime's workload work: run the Deployment and StatefulSet plans against the pods (and
//! claims) they control, write what the plan says (for a Deployment: its current ReplicaSet
//! first, then the pods, each set's size and status, and the sets past the history limit), and
//! come back when a ready pod is due to become available.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::deployment;
use super::object_fields::{controller_uid, is_deleting, name, namespace, uid};
use super::replica_set;
use super::runtime::{CONTROLLER_MANAGER, Kind, Runtime, SyncError, Work};
use super::statefulset;
use crate::api::{DeleteOptions, Subresource};
use crate::store::ObjectKey;

impl Runtime {
    pub(super) fn sync_deployment(&mut self, key: &ObjectKey) -> Result<(), SyncError> {
        let Some(deploy) = self.cached(Kind::Deployment, key) else {
            return Ok(());
        };
        if is_deleting(&deploy) {
            // The garbage collector takes the ReplicaSets and their pods.
            return Ok(());
        }
        let hash = deployment::current_hash(&deploy);
        let new_name = format!("{}-{hash}", name(&deploy));
        let paused = deploy.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
        let mut sets = self.replica_sets_of(&deploy);
        if !paused && !sets.iter().any(|s| name(s) == new_name) {
            let existing: Vec<&Value> = sets.iter().collect();
            let set = replica_set::build_replica_set(&deploy, &hash, &existing);
            self.create(
                Kind::ReplicaSet,
                namespace(&deploy),
                set,
                CONTROLLER_MANAGER,
            )?;
            sets = self.replica_sets_of(&deploy);
        }
        if let Some(current) = sets.iter().find(|s| name(s) == new_name) {
            let others: Vec<&Value> = sets.iter().filter(|s| name(s) != new_name).collect();
            if let Some(annotations) = replica_set::revived_annotations(current, &others) {
                let mut revived = current.clone();
                revived["metadata"]["annotations"] = Value::Object(annotations);
                self.update(
                    Kind::ReplicaSet,
                    revived,
                    Subresource::Main,
                    CONTROLLER_MANAGER,
                )?;
                sets = self.replica_sets_of(&deploy);
            }
        }
        let pods: Vec<Value> = sets.iter().flat_map(|s| self.pods_of(uid(s))).collect();
        let pod_refs: Vec<&Value> = pods.iter().collect();
        let set_refs: Vec<&Value> = sets.iter().collect();
        let new_set = sets.iter().find(|s| name(s) == new_name);
        let clock = self.clock();
        let plan = deployment::plan(&deploy, new_set, &pod_refs, &clock);
        let writes = replica_set::set_writes(
            &set_refs,
            &pod_refs,
            &new_name,
            plan.create.len(),
            &plan.delete,
            &clock,
        );
        let prune = replica_set::sets_to_prune(&deploy, &set_refs, &writes, &new_name);
        for pod in plan.create {
            self.create(Kind::Pod, namespace(&deploy), pod, CONTROLLER_MANAGER)?;
        }
        for pod in &plan.delete {
            self.delete(
                Kind::Pod,
                &ObjectKey::new(namespace(&deploy), pod),
                &DeleteOptions::default(),
            )?;
        }
        for write in writes {
            self.write_replica_set(namespace(&deploy), write)?;
        }
        for set in &prune {
            self.delete(
                Kind::ReplicaSet,
                &ObjectKey::new(namespace(&deploy), set),
                &DeleteOptions::default(),
            )?;
        }
        if deploy.get("status") != Some(&plan.status) {
            self.write_status(Kind::Deployment, &deploy, plan.status, CONTROLLER_MANAGER)?;
        }
        if let Some(seconds) = plan.recheck_after {
            self.schedule_at(
                Instant::now() + clock.real(seconds),
                Work::Deployment(key.clone()),
            );
        }
        Ok(())
    }

    /// The ReplicaSets `deploy` controls.
    fn replica_sets_of(&self, deploy: &Value) -> Vec<Value> {
        self.informer(Kind::ReplicaSet)
            .in_namespace(namespace(deploy))
            .filter(|set| controller_uid(set) == Some(uid(deploy)))
            .cloned()
            .collect()
    }

    /// Sizes one set (an update of `spec.replicas`, which moves its generation) and then writes
    /// its status for that generation.
    fn write_replica_set(
        &mut self,
        namespace: &str,
        write: replica_set::SetWrite,
    ) -> Result<(), SyncError> {
        let key = ObjectKey::new(namespace, &write.name);
        let Some(mut set) = self.cached(Kind::ReplicaSet, &key) else {
            return Ok(());
        };
        if is_deleting(&set) {
            return Ok(());
        }
        if set.pointer("/spec/replicas").and_then(Value::as_u64) != Some(write.replicas as u64) {
            set["spec"]["replicas"] = json!(write.replicas);
            if !self.update(Kind::ReplicaSet, set, Subresource::Main, CONTROLLER_MANAGER)? {
                return Ok(());
            }
            let Some(written) = self.cached(Kind::ReplicaSet, &key) else {
                return Ok(());
            };
            set = written;
        }
        let mut status = write.status;
        if let (Some(generation), Value::Object(map)) =
            (set.pointer("/metadata/generation").cloned(), &mut status)
        {
            map.insert("observedGeneration".into(), generation);
        }
        if set.get("status") != Some(&status) {
            self.write_status(Kind::ReplicaSet, &set, status, CONTROLLER_MANAGER)?;
        }
        Ok(())
    }

    pub(super) fn sync_statefulset(&mut self, key: &ObjectKey) -> Result<(), SyncError> {
        let Some(sts) = self.cached(Kind::StatefulSet, key) else {
            return Ok(());
        };
        if is_deleting(&sts) {
            return Ok(());
        }
        let pods = self.pods_of(uid(&sts));
        let refs: Vec<&Value> = pods.iter().collect();
        let claims: BTreeSet<String> = self
            .informer(Kind::Claim)
            .in_namespace(namespace(&sts))
            .map(|c| name(c).to_string())
            .collect();
        let clock = self.clock();
        let plan = statefulset::plan(&sts, &refs, &claims, &clock);
        for claim in plan.create_claims {
            self.create(Kind::Claim, namespace(&sts), claim, CONTROLLER_MANAGER)?;
        }
        for pod in plan.create_pods {
            self.create(Kind::Pod, namespace(&sts), pod, CONTROLLER_MANAGER)?;
        }
        for pod in &plan.delete_pods {
            self.delete(
                Kind::Pod,
                &ObjectKey::new(namespace(&sts), pod),
                &DeleteOptions::default(),
            )?;
        }
        for claim in &plan.delete_claims {
            self.delete(
                Kind::Claim,
                &ObjectKey::new(namespace(&sts), claim),
                &DeleteOptions::default(),
            )?;
        }
        if sts.get("status") != Some(&plan.status) {
            self.write_status(Kind::StatefulSet, &sts, plan.status, CONTROLLER_MANAGER)?;
        }
        if let Some(seconds) = plan.recheck_after {
            self.schedule_at(
                Instant::now() + clock.real(seconds),
                Work::StatefulSet(key.clone()),
            );
        }
        Ok(())
    }
}
