//! The runtime's workload work: run the Deployment and StatefulSet plans against the pods (and
//! claims) they control, write what the plan says, and come back when a ready pod is due to
//! become available.

use std::collections::BTreeSet;

use serde_json::Value;
use tokio::time::Instant;

use super::deployment;
use super::object_fields::{is_deleting, name, namespace, uid};
use super::runtime::{CONTROLLER_MANAGER, Kind, Runtime, SyncError, Work};
use super::statefulset;
use crate::api::DeleteOptions;
use crate::store::ObjectKey;

impl Runtime {
    pub(super) fn sync_deployment(&mut self, key: &ObjectKey) -> Result<(), SyncError> {
        let Some(deploy) = self.cached(Kind::Deployment, key) else {
            return Ok(());
        };
        if is_deleting(&deploy) {
            // The garbage collector takes the pods; nothing to manage any more.
            return Ok(());
        }
        let pods = self.pods_of(uid(&deploy));
        let refs: Vec<&Value> = pods.iter().collect();
        let clock = self.clock();
        let plan = deployment::plan(&deploy, &refs, &clock);
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
