//! The status write of a pass and its `PhaseChange` event (spec-controllers.md §1.6, §15),
//! one for every controller: the status is server-side applied with the controller's field
//! manager only when it changed (fix 12), and `PhaseChange` is published only when that write
//! moved the phase.

use std::fmt::Debug;

use kube::Resource;
use kube::core::NamespaceResourceScope;
use multigres_api::v1alpha1::{
    CellStatus, MultigresClusterStatus, Phase, ShardStatus, TableGroupStatus, TopoServerStatus,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::apply::{ApplyError, Outcome};
use crate::context::Context;
use crate::controllers::reporting::phase_change_note;
use crate::events::Source;

/// A status with a phase.
pub trait Phased: Serialize {
    fn phase(&self) -> Option<Phase>;
}

macro_rules! phased {
    ($($status:ty),*) => {
        $(impl Phased for $status {
            fn phase(&self) -> Option<Phase> {
                self.phase
            }
        })*
    };
}

phased!(
    CellStatus,
    MultigresClusterStatus,
    ShardStatus,
    TableGroupStatus,
    TopoServerStatus
);

/// Applies `status` to `object` with `manager` unless it already holds it; publishes
/// `PhaseChange` on `object` when the write moved the phase from `previous`'s.
pub async fn write_status<K, S>(
    context: &Context,
    source: Source,
    object: &K,
    manager: &str,
    previous: &S,
    status: &S,
) -> Result<Outcome, ApplyError>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug,
    S: Phased,
{
    let body = serde_json::to_value(status).expect("status types always serialize to JSON");
    let written = context.apply.apply_status(object, body, manager).await?;
    if written.written() && previous.phase() != status.phase() {
        context
            .events
            .normal(
                source,
                &object.object_ref(&()),
                "PhaseChange",
                phase_change_note(previous.phase(), status.phase()),
            )
            .await;
    }
    Ok(written)
}
