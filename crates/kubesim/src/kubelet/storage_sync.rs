//! The runtime's storage work: walk a claim through the PV binder's steps (each step one
//! write, then ask again), and reclaim volumes whose claims are gone.

use serde_json::Value;

use super::object_fields::str_at;
use super::pvc_binder::{BindingContext, ClaimStep, VolumeStep, next_claim_step, next_volume_step};
use super::runtime::{CONTROLLER_MANAGER, Kind, Runtime, SyncError};
use crate::api::{DeleteOptions, Subresource};
use crate::store::ObjectKey;

/// Steps taken for one claim per pass; a full binding takes five.
const MAX_STEPS: usize = 8;

impl Runtime {
    pub(super) fn sync_claim(&mut self, key: &ObjectKey) -> Result<(), SyncError> {
        for _ in 0..MAX_STEPS {
            let Some(claim) = self.cached(Kind::Claim, key) else {
                return Ok(());
            };
            let step = {
                let classes: Vec<&Value> = self.informer(Kind::StorageClass).values().collect();
                let volumes: Vec<&Value> = self.informer(Kind::Volume).values().collect();
                let nodes: Vec<&Value> = self.informer(Kind::Node).values().collect();
                let context = BindingContext {
                    classes: &classes,
                    volumes: &volumes,
                    nodes: &nodes,
                };
                next_claim_step(&claim, &context)
            };
            let Some(step) = step else {
                return Ok(());
            };
            let progressed = match step {
                ClaimStep::UpdateClaim(next) => {
                    self.update(Kind::Claim, next, Subresource::Main, CONTROLLER_MANAGER)?
                }
                ClaimStep::ClaimStatus(status) => {
                    self.write_status(Kind::Claim, &claim, status, CONTROLLER_MANAGER)?
                }
                ClaimStep::CreateVolume(volume) => {
                    tracing::debug!(claim = %key.name, namespace = %key.namespace, "provisioning a volume");
                    self.create(Kind::Volume, "", volume, CONTROLLER_MANAGER)?;
                    true
                }
                ClaimStep::UpdateVolume(volume) => {
                    self.update(Kind::Volume, volume, Subresource::Main, CONTROLLER_MANAGER)?
                }
                ClaimStep::VolumeStatus { volume, status } => {
                    match self.cached(Kind::Volume, &ObjectKey::new("", &volume)) {
                        Some(current) => {
                            self.write_status(Kind::Volume, &current, status, CONTROLLER_MANAGER)?
                        }
                        None => false,
                    }
                }
            };
            if !progressed {
                // Lost a race; the refreshed copy marked this claim again.
                return Ok(());
            }
        }
        Ok(())
    }

    pub(super) fn sync_volume(&mut self, volume: &str) -> Result<(), SyncError> {
        let key = ObjectKey::new("", volume);
        let Some(current) = self.cached(Kind::Volume, &key) else {
            return Ok(());
        };
        let step = {
            let claim_namespace = str_at(&current, "/spec/claimRef/namespace");
            let claims: Vec<&Value> = self
                .informer(Kind::Claim)
                .in_namespace(claim_namespace)
                .collect();
            next_volume_step(&current, &claims)
        };
        match step {
            None => Ok(()),
            Some(VolumeStep::Delete { volume }) => {
                tracing::debug!(%volume, "deleting a released volume");
                self.delete(
                    Kind::Volume,
                    &ObjectKey::new("", &volume),
                    &DeleteOptions::default(),
                )
            }
            Some(VolumeStep::VolumeStatus { status, .. }) => {
                self.write_status(Kind::Volume, &current, status, CONTROLLER_MANAGER)?;
                Ok(())
            }
        }
    }
}
