//! Saving and restoring a cluster's objects (the binary's `--state-dir`): a JSON document with
//! the revision and every object by table. Restored objects keep their uid, resourceVersion
//! and timestamps; watch history starts empty, so watches from before a restart get 410 and
//! clients relist, as after an API-server restart.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Cluster, crds};

/// One saved object.
#[derive(Debug, Serialize, Deserialize)]
struct SavedObject {
    table: String,
    object: Value,
}

/// The saved state of a cluster.
#[derive(Debug, Serialize, Deserialize)]
pub struct Snapshot {
    revision: u64,
    objects: Vec<SavedObject>,
}

impl Cluster {
    /// All objects, for [`Cluster::restore`].
    pub fn snapshot(&self) -> Snapshot {
        let state = self.lock();
        Snapshot {
            revision: state.store.revision(),
            objects: state
                .store
                .dump()
                .into_iter()
                .map(|(table, object)| SavedObject {
                    table,
                    object: (*object).clone(),
                })
                .collect(),
        }
    }

    /// Loads a snapshot into this cluster (meant for a fresh one): CRDs first, so their kinds
    /// are registered, then everything else.
    pub fn restore(&self, snapshot: Snapshot) {
        let mut state = self.lock();
        let (crd_objects, others): (Vec<SavedObject>, Vec<SavedObject>) = snapshot
            .objects
            .into_iter()
            .partition(|saved| saved.table == crds::CRD_TABLE);
        for saved in crd_objects {
            state.store.restore(&saved.table, saved.object);
        }
        crds::sync(&mut state);
        for saved in others {
            state.store.restore(&saved.table, saved.object);
        }
        let revision = state.store.revision().max(snapshot.revision);
        state.store.advance_to(revision);
        drop(state);
        self.notify(revision);
    }
}
