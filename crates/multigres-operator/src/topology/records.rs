//! The topology's keys and values, without I/O (spec-wire.md §1.3–§1.6, §2; spec-controllers.md
//! §6.2 step 3, §6.4, §7.8).
//!
//! - keys: a faithful clone of Go's `path.Join`/`path.Clean`, the key of each record, the
//!   listing prefixes and etcd's prefix end;
//! - values: the `clustermetadata` messages of the pinned multigres (`d782aa060`) as hand-written
//!   `prost` structs, field numbers pinned by the byte vectors of spec-wire.md §1.6;
//! - the records the operator writes, built from the (defaulted) cluster spec;
//! - the pooler helpers the Shard controller needs (ID string, pod matching, role).
//!
//! Pure: no etcd, no clock, no environment. The etcd calls live in `client.rs`.

use multigres_api::defaults::{BACKUP_PATH, DURABILITY_POLICY};
use multigres_api::naming::multipooler_service_id;
use multigres_api::resolver::merge::merge_backup_config;
use multigres_api::v1alpha1::{
    BackupType, DatabaseConfig, GlobalTopoServerRef, MultigresClusterSpec,
};

// ---------------------------------------------------------------------------------------------
// Go `path` clone (spec-wire.md §1.3)
// ---------------------------------------------------------------------------------------------

/// Go `path.Clean`: collapse repeated `/`, drop `.` elements, resolve `..` against the element
/// before it (a rooted path cannot climb above `/`), drop a trailing `/`; `""` becomes `"."`.
pub fn go_path_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for element in path.split('/') {
        match element {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    // A relative path keeps the `..` it cannot resolve.
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Go `path.Join`: the non-empty elements joined with `/`, then cleaned; `""` when every
/// element is empty.
pub fn go_path_join(elements: &[&str]) -> String {
    let kept: Vec<&str> = elements.iter().copied().filter(|e| !e.is_empty()).collect();
    if kept.is_empty() {
        return String::new();
    }
    go_path_clean(&kept.join("/"))
}

// ---------------------------------------------------------------------------------------------
// Keys (spec-wire.md §1.4, §1.5, §1.7)
// ---------------------------------------------------------------------------------------------

/// Directory of the Cell records under the global root.
pub const CELLS_DIR: &str = "cells";
/// Directory of the Database records under the global root.
pub const DATABASES_DIR: &str = "databases";
/// Directory of the MultiPooler records under a cell's root.
pub const POOLERS_DIR: &str = "poolers";

/// `R/cells/{cell}/Cell`.
pub fn cell_key(root: &str, cell: &str) -> String {
    go_path_join(&[root, CELLS_DIR, cell, "Cell"])
}

/// `R/databases/{db}/Database`.
pub fn database_key(root: &str, database: &str) -> String {
    go_path_join(&[root, DATABASES_DIR, database, "Database"])
}

/// `C/poolers/multipooler-{cell}-{name}/Pooler`, `C` being the root of the pooler's cell.
pub fn pooler_key(cell_root: &str, id: &Id) -> String {
    go_path_join(&[cell_root, POOLERS_DIR, &component_id_string(id), "Pooler"])
}

/// The prefix a `ListDir(dir)` ranges over: `path.Join(root, dir) + "/"`, except that a join
/// giving `/` stays `/` (root `/`, empty dir).
pub fn dir_prefix(root: &str, dir: &str) -> String {
    let joined = go_path_join(&[root, dir]);
    if joined == "/" {
        joined
    } else {
        format!("{joined}/")
    }
}

/// The prefix the pooler listing ranges over: `path.Join(cellRoot, "poolers")`, deliberately
/// without a trailing `/` (so it also matches `poolers-x/…`, as Go's `List` does).
pub fn poolers_prefix(cell_root: &str) -> String {
    go_path_join(&[cell_root, POOLERS_DIR])
}

/// etcd's range end for a prefix (Go `clientv3.GetPrefixRangeEnd`): the prefix with its last
/// byte below `0xff` incremented and everything after it dropped; `"\0"` (the whole keyspace)
/// when every byte is `0xff`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// The names a `ListDir` returns from the keys under `prefix` (in etcd's ascending order): the
/// part of each key after the prefix up to the next `/`, adjacent duplicates removed.
pub fn dir_entries<'k>(prefix: &str, keys: impl IntoIterator<Item = &'k [u8]>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for key in keys {
        let Some(rest) = key.strip_prefix(prefix.as_bytes()) else {
            continue;
        };
        let name = rest.split(|b| *b == b'/').next().unwrap_or_default();
        let name = String::from_utf8_lossy(name).into_owned();
        if names.last() != Some(&name) {
            names.push(name);
        }
    }
    names
}

// ---------------------------------------------------------------------------------------------
// clustermetadata messages, pinned d782aa060 (spec-wire.md §2.2, §2.3)
// ---------------------------------------------------------------------------------------------

/// `clustermetadata.Cell`, at `R/cells/{cell}/Cell`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Cell {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, repeated, tag = "2")]
    pub server_addresses: Vec<String>,
    #[prost(string, tag = "3")]
    pub root: String,
}

/// `clustermetadata.Database`, at `R/databases/{db}/Database`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Database {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub backup_location: Option<BackupLocation>,
    #[prost(string, repeated, tag = "3")]
    pub cells: Vec<String>,
    #[prost(message, optional, tag = "4")]
    pub bootstrap_durability_policy: Option<DurabilityPolicy>,
}

/// `clustermetadata.BackupLocation`: a oneof of filesystem and S3.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct BackupLocation {
    #[prost(oneof = "Location", tags = "1, 2")]
    pub location: Option<Location>,
}

/// The `location` oneof of [`BackupLocation`].
#[derive(Clone, PartialEq, Eq, prost::Oneof)]
pub enum Location {
    #[prost(message, tag = "1")]
    Filesystem(FilesystemBackup),
    #[prost(message, tag = "2")]
    S3(S3Backup),
}

/// `clustermetadata.FilesystemBackup`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FilesystemBackup {
    #[prost(string, tag = "1")]
    pub path: String,
}

/// `clustermetadata.S3Backup`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct S3Backup {
    #[prost(string, tag = "1")]
    pub bucket: String,
    #[prost(string, tag = "2")]
    pub region: String,
    #[prost(string, tag = "3")]
    pub endpoint: String,
    #[prost(string, tag = "4")]
    pub key_prefix: String,
    #[prost(bool, tag = "5")]
    pub use_env_credentials: bool,
}

/// `clustermetadata.DurabilityPolicy`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct DurabilityPolicy {
    #[prost(string, tag = "1")]
    pub policy_name: String,
    #[prost(int64, tag = "2")]
    pub policy_version: i64,
    #[prost(enumeration = "QuorumType", tag = "3")]
    pub quorum_type: i32,
    #[prost(int32, tag = "4")]
    pub required_count: i32,
    #[prost(string, tag = "5")]
    pub description: String,
    #[prost(enumeration = "AsyncReplicationFallbackMode", tag = "6")]
    pub async_fallback: i32,
}

/// `clustermetadata.MultiPooler`, written by each multipooler at `C/poolers/{id}/Pooler`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MultiPooler {
    #[prost(message, optional, tag = "1")]
    pub id: Option<Id>,
    #[prost(string, tag = "2")]
    pub database: String,
    #[prost(string, tag = "3")]
    pub table_group: String,
    #[prost(string, tag = "4")]
    pub shard: String,
    #[prost(message, optional, tag = "5")]
    pub key_range: Option<KeyRange>,
    #[prost(enumeration = "PoolerType", tag = "6")]
    pub r#type: i32,
    #[prost(enumeration = "PoolerServingStatus", tag = "7")]
    pub serving_status: i32,
    #[prost(string, tag = "8")]
    pub hostname: String,
    #[prost(btree_map = "string, int32", tag = "9")]
    pub port_map: std::collections::BTreeMap<String, i32>,
    #[prost(string, tag = "10")]
    pub pooler_dir: String,
    #[prost(string, tag = "11")]
    pub pg_data_dir: String,
}

/// `clustermetadata.ID`: a component's identity.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct Id {
    #[prost(enumeration = "ComponentType", tag = "1")]
    pub component: i32,
    #[prost(string, tag = "2")]
    pub cell: String,
    #[prost(string, tag = "3")]
    pub name: String,
}

/// `clustermetadata.KeyRange`: `[start, end)`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct KeyRange {
    #[prost(bytes = "vec", tag = "1")]
    pub start: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub end: Vec<u8>,
}

/// `clustermetadata.ID.ComponentType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ComponentType {
    Unknown = 0,
    Multipooler = 1,
    Multigateway = 2,
    Multiorch = 3,
}

/// `clustermetadata.PoolerType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum PoolerType {
    Unknown = 0,
    Primary = 1,
    Replica = 2,
    Drained = 3,
}

/// `clustermetadata.PoolerServingStatus` (pinned numbering; HEAD renumbers, spec-wire.md §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum PoolerServingStatus {
    Serving = 0,
    NotServing = 1,
    Backup = 2,
    Restore = 3,
}

/// `clustermetadata.QuorumType`; 1 and 2 (`ANY_N`) were removed upstream before the pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum QuorumType {
    Unknown = 0,
    AtLeastN = 3,
    MultiCellAtLeastN = 4,
}

/// `clustermetadata.AsyncReplicationFallbackMode` (0 is treated as ALLOW upstream).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AsyncReplicationFallbackMode {
    Unknown = 0,
    Allow = 1,
    Reject = 2,
}

// ---------------------------------------------------------------------------------------------
// Unknown fields of a stored Database (spec-wire.md §7 "prost drops unknown fields")
// ---------------------------------------------------------------------------------------------

/// A Database record as read from etcd: the fields this schema knows, plus the raw bytes of
/// every top-level field it does not (a newer multigres may add some). The operator's
/// read-modify-write replaces `backup_location`, `cells` and `bootstrap_durability_policy` and
/// must hand every other byte back unchanged, as Go's protobuf does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDatabase {
    /// The known fields (1–4).
    pub record: Database,
    /// Every field numbered above 4, verbatim (tag included), in the order read.
    unknown: Vec<u8>,
}

/// Field numbers of `Database` in the pinned schema.
const DATABASE_KNOWN_FIELDS: std::ops::RangeInclusive<u64> = 1..=4;

/// The bytes of a stored record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// prost rejected the known fields.
    #[error("invalid protobuf")]
    Protobuf {
        #[source]
        source: prost::DecodeError,
    },
    /// The wire format itself is broken (a truncated varint or length, an unknown wire type).
    #[error("malformed protobuf wire data at byte {offset}")]
    Wire { offset: usize },
}

impl StoredDatabase {
    /// A record with no unknown fields.
    pub fn new(record: Database) -> Self {
        Self {
            record,
            unknown: Vec::new(),
        }
    }

    /// Decodes stored bytes, keeping the raw bytes of the fields the schema does not know.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let record = <Database as prost::Message>::decode(bytes)
            .map_err(|source| DecodeError::Protobuf { source })?;
        let mut unknown = Vec::new();
        for (number, span) in top_level_fields(bytes)? {
            if !DATABASE_KNOWN_FIELDS.contains(&number) {
                unknown.extend_from_slice(&bytes[span]);
            }
        }
        Ok(Self { record, unknown })
    }

    /// The bytes to store: the known fields in field order (as Go writes them), then the
    /// unknown ones, whose numbers are all higher.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = prost::Message::encode_to_vec(&self.record);
        bytes.extend_from_slice(&self.unknown);
        bytes
    }

    /// The raw bytes of the fields this schema does not know.
    pub fn unknown_fields(&self) -> &[u8] {
        &self.unknown
    }

    /// The operator's mutator (Go `UpdateDatabaseFields` as `RegisterDatabaseFromSpec` calls it,
    /// spec-wire.md §1.9 T2): exactly `backup_location`, `cells` and
    /// `bootstrap_durability_policy` are replaced; the name and everything unknown stay.
    /// Returns whether anything changed.
    pub fn apply_operator_fields(&mut self, desired: &Database) -> bool {
        let before = self.record.clone();
        self.record
            .backup_location
            .clone_from(&desired.backup_location);
        self.record.cells.clone_from(&desired.cells);
        self.record
            .bootstrap_durability_policy
            .clone_from(&desired.bootstrap_durability_policy);
        self.record != before
    }
}

/// Reads one varint at `*at`, advancing it.
fn read_varint(bytes: &[u8], at: &mut usize) -> Result<u64, DecodeError> {
    let start = *at;
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at).ok_or(DecodeError::Wire { offset: start })?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(DecodeError::Wire { offset: start })
}

/// Skips the value of a field of `wire_type` at `*at` (groups included, nested).
fn skip_value(bytes: &[u8], at: &mut usize, wire_type: u64) -> Result<(), DecodeError> {
    let start = *at;
    let advance = |at: &mut usize, n: usize| -> Result<(), DecodeError> {
        let end = at
            .checked_add(n)
            .filter(|end| *end <= bytes.len())
            .ok_or(DecodeError::Wire { offset: start })?;
        *at = end;
        Ok(())
    };
    match wire_type {
        0 => read_varint(bytes, at).map(|_| ()),
        1 => advance(at, 8),
        2 => {
            let len = read_varint(bytes, at)?;
            let len = usize::try_from(len).map_err(|_| DecodeError::Wire { offset: start })?;
            advance(at, len)
        }
        3 => loop {
            // A (deprecated) group runs to its end-group tag.
            let key = read_varint(bytes, at)?;
            if key & 7 == 4 {
                return Ok(());
            }
            skip_value(bytes, at, key & 7)?;
        },
        5 => advance(at, 4),
        _ => Err(DecodeError::Wire { offset: start }),
    }
}

/// The top-level fields of a message: (field number, byte span including the tag).
fn top_level_fields(bytes: &[u8]) -> Result<Vec<(u64, std::ops::Range<usize>)>, DecodeError> {
    let mut fields = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let key = read_varint(bytes, &mut at)?;
        skip_value(bytes, &mut at, key & 7)?;
        fields.push((key >> 3, start..at));
    }
    Ok(fields)
}

// ---------------------------------------------------------------------------------------------
// Records the operator writes (spec-controllers.md §6.2 steps 2–3)
// ---------------------------------------------------------------------------------------------

/// Durability policy names the operator accepts (spec-wire.md §5).
pub const AT_LEAST_2: &str = "AT_LEAST_2";
/// See [`AT_LEAST_2`].
pub const MULTI_CELL_AT_LEAST_2: &str = "MULTI_CELL_AT_LEAST_2";

/// A record cannot be built from the spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The text is Go's `buildDurabilityPolicy` error, verbatim.
    #[error(
        "unsupported durability policy {policy:?} (supported: AT_LEAST_2, MULTI_CELL_AT_LEAST_2)"
    )]
    UnsupportedDurabilityPolicy {
        /// The database whose policy (its own or the cluster's) is unsupported.
        database: String,
        /// The policy name as written.
        policy: String,
    },
}

/// The Cell record (Go `RegisterCellFromSpec`): every cell points at the global topology server
/// and root, so all cells share the global keyspace (spec-wire.md §1.2).
pub fn cell_record(cell: &str, global_topo: &GlobalTopoServerRef) -> Cell {
    Cell {
        name: cell.to_owned(),
        server_addresses: vec![global_topo.address.clone()],
        root: global_topo.root_path.clone(),
    }
}

/// The Database record (Go `RegisterDatabaseFromSpec`) of `database`, one of the databases of the
/// in-memory defaulted cluster `spec`: cells are all the cluster's cells in spec order, the
/// backup location is `MergeBackup(database, cluster)` (table group and shard backups are not
/// reflected), the durability policy the database's, else the cluster's, else `AT_LEAST_2`.
pub fn database_record(
    spec: &MultigresClusterSpec,
    database: &DatabaseConfig,
) -> Result<Database, RecordError> {
    let policy_name = [
        database.durability_policy.as_str(),
        spec.durability_policy.as_str(),
    ]
    .into_iter()
    .find(|name| !name.is_empty())
    .unwrap_or(DURABILITY_POLICY);
    let policy =
        durability_policy(policy_name).ok_or_else(|| RecordError::UnsupportedDurabilityPolicy {
            database: database.name.as_str().to_owned(),
            policy: policy_name.to_owned(),
        })?;
    let backup = merge_backup_config(database.backup.as_ref(), spec.backup.as_ref());
    let location = match backup.as_ref() {
        Some(backup) if backup.type_ == BackupType::S3 && backup.s3.is_some() => {
            let s3 = backup.s3.as_ref().expect("checked by the guard above");
            Location::S3(S3Backup {
                bucket: s3.bucket.clone(),
                region: s3.region.clone(),
                endpoint: s3.endpoint.clone(),
                key_prefix: s3.key_prefix.clone(),
                use_env_credentials: s3.use_env_credentials,
            })
        }
        other => {
            let path = other
                .filter(|b| b.type_ == BackupType::Filesystem)
                .and_then(|b| b.filesystem.as_ref())
                .map(|f| f.path.as_str())
                .filter(|path| !path.is_empty())
                .unwrap_or(BACKUP_PATH);
            Location::Filesystem(FilesystemBackup {
                path: path.to_owned(),
            })
        }
    };
    Ok(Database {
        name: database.name.as_str().to_owned(),
        backup_location: Some(BackupLocation {
            location: Some(location),
        }),
        cells: spec
            .cells
            .iter()
            .map(|c| c.name.as_str().to_owned())
            .collect(),
        bootstrap_durability_policy: Some(policy),
    })
}

/// Go `buildDurabilityPolicy`: the two accepted names with their quorum type and a required
/// count of 2; version, description and fallback left at zero (spec-wire.md §5).
pub fn durability_policy(name: &str) -> Option<DurabilityPolicy> {
    let quorum_type = match name {
        AT_LEAST_2 => QuorumType::AtLeastN,
        MULTI_CELL_AT_LEAST_2 => QuorumType::MultiCellAtLeastN,
        _ => return None,
    };
    Some(DurabilityPolicy {
        policy_name: name.to_owned(),
        quorum_type: quorum_type as i32,
        required_count: 2,
        ..DurabilityPolicy::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Pooler helpers for the Shard controller (spec-controllers.md §6.4, §7.8)
// ---------------------------------------------------------------------------------------------

/// Go `MultiPoolerIDString` and its siblings: `<lowercase component>-<cell>-<name>`. An enum
/// value this schema does not know prints as its number, as protobuf-go's `String()` does.
pub fn component_id_string(id: &Id) -> String {
    let component = match ComponentType::try_from(id.component) {
        Ok(ComponentType::Unknown) => "unknown".to_owned(),
        Ok(ComponentType::Multipooler) => "multipooler".to_owned(),
        Ok(ComponentType::Multigateway) => "multigateway".to_owned(),
        Ok(ComponentType::Multiorch) => "multiorch".to_owned(),
        Err(_) => id.component.to_string(),
    };
    format!("{component}-{}-{}", id.cell, id.name)
}

/// The ID string of a pooler record (its directory name), e.g. `multipooler-zone-a-p-45f814aa`;
/// a record without an ID gives the string of an empty ID, as Go's nil-safe getters do.
pub fn pooler_id_string(pooler: &MultiPooler) -> String {
    component_id_string(&pooler.id.clone().unwrap_or_default())
}

/// Go `PodMatchesPooler`: the pooler's `id.name` is the pod name, or its hostname is the pod
/// name or starts with `<pod>.` (the FQDN multipooler registers; in production only this last
/// rule matches, since `id.name` is the service ID). One rule more than Go: `id.name` is the
/// service ID the operator gives the pod (`--service-id`, [`multipooler_service_id`]). In a
/// cluster it names the same record as the FQDN rule; where multipooler registers another
/// hostname (kubesim's real data plane passes `--hostname=<pod IP>`, spec-local-data-plane.md
/// §3), it is the only rule that still finds the pod, so its live record is neither pruned as
/// stale nor missed by a drain.
pub fn pod_matches_pooler(pod_name: &str, pooler: &MultiPooler) -> bool {
    let id_name = pooler.id.as_ref().map(|id| id.name.as_str());
    id_name == Some(pod_name)
        || id_name.is_some_and(|id| id == multipooler_service_id(pod_name))
        || pooler.hostname == pod_name
        || pooler
            .hostname
            .strip_prefix(pod_name)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// A pod's role in `status.podRoles` (spec-controllers.md §7.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoolerRole {
    Primary,
    Replica,
    Drained,
}

impl PoolerRole {
    /// The value written to `status.podRoles`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "PRIMARY",
            Self::Replica => "REPLICA",
            Self::Drained => "DRAINED",
        }
    }
}

impl std::fmt::Display for PoolerRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `type == PRIMARY` gives PRIMARY, `DRAINED` gives DRAINED, anything else (UNKNOWN and values
/// this schema does not know included) gives REPLICA.
pub fn pooler_role(pooler: &MultiPooler) -> PoolerRole {
    match PoolerType::try_from(pooler.r#type) {
        Ok(PoolerType::Primary) => PoolerRole::Primary,
        Ok(PoolerType::Drained) => PoolerRole::Drained,
        _ => PoolerRole::Replica,
    }
}

/// Whether a pooler belongs to the shard `(cell, database, table_group, shard)`. The pinned
/// multigres lists every cell's poolers for each cell of a shared root; we also require
/// `id.cell == cell` (deliberate fix 3, spec README).
pub fn pooler_in_shard(
    pooler: &MultiPooler,
    cell: &str,
    database: &str,
    table_group: &str,
    shard: &str,
) -> bool {
    pooler.id.as_ref().is_some_and(|id| id.cell == cell)
        && pooler.database == database
        && pooler.table_group == table_group
        && pooler.shard == shard
}

/// The shard's primary among `poolers` (deliberate fix 13, spec README): the first record of
/// type PRIMARY whose pod is one of `ready_pods` (matched as [`pod_matches_pooler`] does). A
/// dead pooler's record keeps PRIMARY until its pod comes back (spec-local-data-plane.md §2), so
/// after a failover two records say PRIMARY; Go's `FindPrimaryPooler` takes the first in key
/// order, possibly the dead one. Here a PRIMARY claim whose pod is gone or not Ready is stale and
/// never chosen, and a lone stale claim means no known primary. The pinned record carries no
/// term, so when several Ready pods claim PRIMARY (a moment during a switchover) the first in
/// listing order is taken.
pub fn ready_primary<'a>(
    poolers: impl IntoIterator<Item = &'a MultiPooler>,
    ready_pods: &[&str],
) -> Option<&'a MultiPooler> {
    poolers.into_iter().find(|pooler| {
        pooler_role(pooler) == PoolerRole::Primary
            && ready_pods.iter().any(|pod| pod_matches_pooler(pod, pooler))
    })
}

/// Decodes a MultiPooler value.
pub fn decode_pooler(bytes: &[u8]) -> Result<MultiPooler, DecodeError> {
    <MultiPooler as prost::Message>::decode(bytes)
        .map_err(|source| DecodeError::Protobuf { source })
}

/// Decodes a Cell value.
pub fn decode_cell(bytes: &[u8]) -> Result<Cell, DecodeError> {
    <Cell as prost::Message>::decode(bytes).map_err(|source| DecodeError::Protobuf { source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use multigres_api::naming::ClusterName;
    use multigres_api::resolver::{
        NamespaceTemplates, global_topo_ref, populate_cluster_defaults, resolve_global_topo,
    };
    use pretty_assertions::assert_eq;
    use prost::Message;

    /// The byte vectors of spec-wire.md §1.6 (pinned schema), hex.
    const CELL_HEX: &str = "0a067a6f6e652d6112246d696e696d616c2d676c6f62616c2d746f706f2e64656661756c742e7376633a323337391a112f6d756c7469677265732f676c6f62616c";
    const DATABASE_HEX: &str = "0a08706f737467726573120c0a0a0a082f6261636b7570731a067a6f6e652d6122100a0a41545f4c454153545f3218032002";
    const DATABASE_S3_HEX: &str = "0a08706f737467726573121212100a0162120975732d656173742d3128011a067a6f6e652d611a067a6f6e652d62221b0a154d554c54495f43454c4c5f41545f4c454153545f3218042002";
    const EMPTY_FILESYSTEM_HEX: &str = "0a00";
    const POOLER_HEX: &str = "0a16080112067a6f6e652d611a0a702d34356638313461611208706f7374677265731a0764656661756c742205302d696e6630014201684a090a046772706310a677";
    const POOLER_HEAD_HEX: &str = "0a16080112067a6f6e652d611a0a702d3435663831346161121a0a08706f737467726573120764656661756c741a05302d696e6630014201684a090a046772706310a677";
    /// `UpdateSynchronousStandbyListRequest`: its field 2 is the pooler's ID.
    const USSL_HEX: &str = "08021216080112067a6f6e652d611a0a702d34356638313461611801";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
            .collect()
    }

    fn minimal_cell() -> Cell {
        Cell {
            name: "zone-a".into(),
            server_addresses: vec!["minimal-global-topo.default.svc:2379".into()],
            root: "/multigres/global".into(),
        }
    }

    fn minimal_database() -> Database {
        Database {
            name: "postgres".into(),
            backup_location: Some(BackupLocation {
                location: Some(Location::Filesystem(FilesystemBackup {
                    path: "/backups".into(),
                })),
            }),
            cells: vec!["zone-a".into()],
            bootstrap_durability_policy: Some(DurabilityPolicy {
                policy_name: "AT_LEAST_2".into(),
                quorum_type: QuorumType::AtLeastN as i32,
                required_count: 2,
                ..DurabilityPolicy::default()
            }),
        }
    }

    fn s3_database() -> Database {
        Database {
            name: "postgres".into(),
            backup_location: Some(BackupLocation {
                location: Some(Location::S3(S3Backup {
                    bucket: "b".into(),
                    region: "us-east-1".into(),
                    use_env_credentials: true,
                    ..S3Backup::default()
                })),
            }),
            cells: vec!["zone-a".into(), "zone-b".into()],
            bootstrap_durability_policy: Some(DurabilityPolicy {
                policy_name: "MULTI_CELL_AT_LEAST_2".into(),
                quorum_type: QuorumType::MultiCellAtLeastN as i32,
                required_count: 2,
                ..DurabilityPolicy::default()
            }),
        }
    }

    fn pooler_id() -> Id {
        Id {
            component: ComponentType::Multipooler as i32,
            cell: "zone-a".into(),
            name: "p-45f814aa".into(),
        }
    }

    fn pinned_pooler() -> MultiPooler {
        MultiPooler {
            id: Some(pooler_id()),
            database: "postgres".into(),
            table_group: "default".into(),
            shard: "0-inf".into(),
            r#type: PoolerType::Primary as i32,
            hostname: "h".into(),
            port_map: [("grpc".to_owned(), 15270)].into(),
            ..MultiPooler::default()
        }
    }

    #[test]
    fn go_path_clean_matches_go() {
        // Cases from Go's path/path_test.go.
        for (input, want) in [
            ("", "."),
            ("abc", "abc"),
            ("abc/def", "abc/def"),
            ("a/b/c", "a/b/c"),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../../abc", "../../abc"),
            ("/abc", "/abc"),
            ("/", "/"),
            ("abc/", "abc"),
            ("abc/def/", "abc/def"),
            ("/abc/", "/abc"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("//abc", "/abc"),
            ("///abc", "/abc"),
            ("//abc//", "/abc"),
            ("abc/./def", "abc/def"),
            ("/./abc/def", "/abc/def"),
            ("abc/.", "abc"),
            ("abc/def/ghi/../jkl", "abc/def/jkl"),
            ("abc/def/../ghi/../jkl", "abc/jkl"),
            ("abc/def/..", "abc"),
            ("abc/def/../..", "."),
            ("/abc/def/../..", "/"),
            ("abc/def/../../..", ".."),
            ("/abc/def/../../..", "/"),
            ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
            ("abc/./../def", "def"),
            ("abc//./../def", "def"),
            ("abc/../../././../def", "../../def"),
        ] {
            assert_eq!(go_path_clean(input), want, "Clean({input:?})");
        }
    }

    proptest::proptest! {
        /// Properties of Go's Clean: idempotent, no empty or `.` element, no trailing `/` but
        /// on the root, rooted exactly when the input is, `..` only leading a relative path.
        #[test]
        fn go_path_clean_properties(path in "[a/.]{0,24}") {
            let clean = go_path_clean(&path);
            proptest::prop_assert_eq!(go_path_clean(&clean), clean.clone());
            proptest::prop_assert_eq!(clean.starts_with('/'), path.starts_with('/'));
            proptest::prop_assert!(!clean.contains("//"));
            proptest::prop_assert!(clean == "/" || !clean.ends_with('/'));
            let elements: Vec<&str> = clean.trim_start_matches('/').split('/').collect();
            proptest::prop_assert!(clean == "." || clean == "/" || !elements.contains(&"."));
            let climbs = elements.iter().take_while(|e| **e == "..").count();
            proptest::prop_assert!(elements[climbs..].iter().all(|e| *e != ".."));
            proptest::prop_assert!(!clean.starts_with('/') || climbs == 0);
        }
    }

    #[test]
    fn go_path_join_ignores_empty_elements_and_cleans() {
        assert_eq!(go_path_join(&[]), "");
        assert_eq!(go_path_join(&["", ""]), "");
        assert_eq!(go_path_join(&["a", ""]), "a");
        assert_eq!(go_path_join(&["", "b"]), "b");
        assert_eq!(go_path_join(&["/", "a"]), "/a");
        assert_eq!(go_path_join(&["a/", "b"]), "a/b");
        assert_eq!(go_path_join(&["/", ""]), "/");
    }

    #[test]
    fn keys_of_the_worked_example() {
        // spec-wire.md §1.5.
        let root = "/multigres/global";
        assert_eq!(
            cell_key(root, "zone-a"),
            "/multigres/global/cells/zone-a/Cell"
        );
        assert_eq!(
            database_key(root, "postgres"),
            "/multigres/global/databases/postgres/Database"
        );
        assert_eq!(
            pooler_key(root, &pooler_id()),
            "/multigres/global/poolers/multipooler-zone-a-p-45f814aa/Pooler"
        );
        assert_eq!(dir_prefix(root, CELLS_DIR), "/multigres/global/cells/");
        assert_eq!(
            dir_prefix(root, DATABASES_DIR),
            "/multigres/global/databases/"
        );
        assert_eq!(poolers_prefix(root), "/multigres/global/poolers");
        assert_eq!(
            prefix_end(dir_prefix(root, CELLS_DIR).as_bytes()),
            b"/multigres/global/cells0"
        );
        assert_eq!(
            prefix_end(dir_prefix(root, DATABASES_DIR).as_bytes()),
            b"/multigres/global/databases0"
        );
        assert_eq!(
            prefix_end(poolers_prefix(root).as_bytes()),
            b"/multigres/global/poolert"
        );
    }

    #[test]
    fn keys_normalise_the_root() {
        // spec-wire.md §1.3: a trailing slash, repeated slashes and the bare root.
        assert_eq!(
            cell_key("/multigres/global/", "zone-a"),
            "/multigres/global/cells/zone-a/Cell"
        );
        assert_eq!(
            database_key("//multigres//global", "postgres"),
            "/multigres/global/databases/postgres/Database"
        );
        assert_eq!(cell_key("/", "zone-a"), "/cells/zone-a/Cell");
        assert_eq!(dir_prefix("/", ""), "/");
        assert_eq!(dir_prefix("/", CELLS_DIR), "/cells/");
        assert_eq!(poolers_prefix("/x/"), "/x/poolers");
    }

    #[test]
    fn prefix_end_increments_the_last_byte_below_ff() {
        assert_eq!(prefix_end(b"a"), b"b");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"a\xfe\xff\xff"), b"a\xff");
        assert_eq!(prefix_end(b"\xff\xff"), b"\0");
        assert_eq!(prefix_end(b""), b"\0");
    }

    #[test]
    fn dir_entries_take_the_first_segment_once() {
        let prefix = "/r/databases/";
        let keys: [&[u8]; 5] = [
            b"/r/databases/orders/Database",
            b"/r/databases/orders/default/0-inf/ShardInitClaim",
            b"/r/databases/postgres/Database",
            b"/r/databases/users",
            b"/r/elsewhere/x",
        ];
        assert_eq!(
            dir_entries(prefix, keys),
            vec!["orders", "postgres", "users"]
        );
    }

    #[test]
    fn cell_vector_encodes_and_decodes() {
        assert_eq!(minimal_cell().encode_to_vec(), hex(CELL_HEX));
        assert_eq!(
            decode_cell(&hex(CELL_HEX)).expect("decodes"),
            minimal_cell()
        );
    }

    #[test]
    fn database_vectors_encode_and_decode() {
        for (record, bytes) in [
            (minimal_database(), DATABASE_HEX),
            (s3_database(), DATABASE_S3_HEX),
        ] {
            assert_eq!(record.encode_to_vec(), hex(bytes));
            let stored = StoredDatabase::decode(&hex(bytes)).expect("decodes");
            assert_eq!(stored.record, record);
            assert!(stored.unknown_fields().is_empty());
            assert_eq!(stored.encode(), hex(bytes));
        }
    }

    #[test]
    fn an_empty_oneof_member_is_still_written() {
        let location = BackupLocation {
            location: Some(Location::Filesystem(FilesystemBackup::default())),
        };
        assert_eq!(location.encode_to_vec(), hex(EMPTY_FILESYSTEM_HEX));
        assert_eq!(
            BackupLocation::decode(hex(EMPTY_FILESYSTEM_HEX).as_slice()).expect("decodes"),
            location
        );
        assert_eq!(BackupLocation::default().encode_to_vec(), Vec::<u8>::new());
    }

    #[test]
    fn pooler_vector_encodes_and_decodes() {
        assert_eq!(pinned_pooler().encode_to_vec(), hex(POOLER_HEX));
        assert_eq!(
            decode_pooler(&hex(POOLER_HEX)).expect("decodes"),
            pinned_pooler()
        );
    }

    #[test]
    fn the_id_inside_the_standby_list_request_is_our_id_encoding() {
        // USSL: `08 02` (operation), `12 16 <ID>` (standby_ids[0]), `18 01` (reload_config).
        let ussl = hex(USSL_HEX);
        let id = pooler_id().encode_to_vec();
        assert_eq!(&ussl[2..4], &[0x12, 0x16]);
        assert_eq!(&ussl[4..4 + id.len()], id.as_slice());
        assert_eq!(
            Id::decode(&ussl[4..4 + id.len()]).expect("decodes"),
            pooler_id()
        );
    }

    #[test]
    fn a_head_pooler_decodes_with_garbage_shard_fields() {
        // spec-wire.md §6: HEAD's `shard_key` message lands in the pinned `database` string, so
        // the record never matches a shard filter (why the pinned profile is the only one).
        let pooler = decode_pooler(&hex(POOLER_HEAD_HEX)).expect("valid UTF-8, so it decodes");
        assert_eq!(pooler.id, Some(pooler_id()));
        assert_eq!(pooler.hostname, "h");
        assert_ne!(pooler.database, "postgres");
        assert!(!pooler_in_shard(
            &pooler, "zone-a", "postgres", "default", "0-inf"
        ));
    }

    #[test]
    fn unknown_enum_values_survive() {
        let mut pooler = pinned_pooler();
        pooler.r#type = 9;
        pooler.serving_status = 4;
        let decoded = decode_pooler(&pooler.encode_to_vec()).expect("decodes");
        assert_eq!(decoded.r#type, 9);
        assert_eq!(decoded.serving_status, 4);
        assert_eq!(pooler_role(&decoded), PoolerRole::Replica);
    }

    /// The minimal sample's records through the real defaulting and topology resolution
    /// (spec-controllers.md §14.4), compared with the spec's independent byte vectors.
    #[test]
    fn minimal_sample_records_are_the_spec_vectors() {
        let yaml = include_str!("../../../../config/samples/minimal.yaml");
        let cluster: multigres_api::v1alpha1::MultigresCluster =
            serde_saphyr::from_str(yaml).expect("the sample parses");
        let mut spec = cluster.spec.clone();
        let templates = NamespaceTemplates::empty();
        populate_cluster_defaults(&mut spec, &templates).expect("defaults");
        let resolved = resolve_global_topo(&spec, &templates).expect("global topo resolves");
        let name = ClusterName::parse("minimal").expect("a valid name");
        let topo = global_topo_ref(&name, "default", &resolved);

        let cell = cell_record("zone-a", &topo);
        assert_eq!(cell, minimal_cell());
        assert_eq!(cell.encode_to_vec(), hex(CELL_HEX));

        assert_eq!(spec.databases.len(), 1);
        let database = database_record(&spec, &spec.databases[0]).expect("builds");
        assert_eq!(database, minimal_database());
        assert_eq!(database.encode_to_vec(), hex(DATABASE_HEX));
    }

    fn spec_from(json: serde_json::Value) -> MultigresClusterSpec {
        serde_json::from_value(json).expect("a valid spec")
    }

    #[test]
    fn database_record_takes_the_database_policy_then_the_cluster_one() {
        let spec = spec_from(serde_json::json!({
            "cells": [{"name": "zone-b"}, {"name": "zone-a"}],
            "durabilityPolicy": "MULTI_CELL_AT_LEAST_2",
            "databases": [
                {"name": "orders"},
                {"name": "users", "durabilityPolicy": "AT_LEAST_2"},
            ],
        }));
        let orders = database_record(&spec, &spec.databases[0]).expect("builds");
        assert_eq!(
            orders.cells,
            vec!["zone-b", "zone-a"],
            "spec order, not sorted"
        );
        assert_eq!(
            orders.bootstrap_durability_policy,
            durability_policy(MULTI_CELL_AT_LEAST_2)
        );
        let users = database_record(&spec, &spec.databases[1]).expect("builds");
        assert_eq!(
            users.bootstrap_durability_policy,
            durability_policy(AT_LEAST_2)
        );

        let bare = spec_from(serde_json::json!({"databases": [{"name": "orders"}]}));
        let record = database_record(&bare, &bare.databases[0]).expect("builds");
        assert_eq!(
            record.bootstrap_durability_policy,
            durability_policy(AT_LEAST_2)
        );
        assert_eq!(
            record.backup_location,
            Some(BackupLocation {
                location: Some(Location::Filesystem(FilesystemBackup {
                    path: "/backups".into()
                }))
            }),
            "no backup anywhere: filesystem /backups"
        );
        assert!(record.cells.is_empty());
    }

    #[test]
    fn an_unsupported_policy_is_rejected_with_gos_text() {
        let spec = spec_from(serde_json::json!({
            "durabilityPolicy": "ANY_2",
            "databases": [{"name": "orders"}],
        }));
        let error = database_record(&spec, &spec.databases[0]).expect_err("ANY_2 was renamed");
        assert_eq!(
            error,
            RecordError::UnsupportedDurabilityPolicy {
                database: "orders".into(),
                policy: "ANY_2".into()
            }
        );
        assert_eq!(
            error.to_string(),
            "unsupported durability policy \"ANY_2\" (supported: AT_LEAST_2, MULTI_CELL_AT_LEAST_2)"
        );
    }

    #[test]
    fn database_backup_merges_over_the_cluster_backup() {
        let spec = spec_from(serde_json::json!({
            "backup": {"type": "s3", "s3": {
                "bucket": "cluster-bucket", "region": "eu-west-1", "endpoint": "https://minio",
                "keyPrefix": "pg/", "useEnvCredentials": true}},
            "databases": [
                {"name": "inherits"},
                {"name": "overrides", "backup": {"type": "s3", "s3": {
                    "bucket": "db-bucket", "region": ""}}},
                {"name": "local", "backup": {"type": "filesystem", "filesystem": {
                    "path": "/srv/backups"}}},
                {"name": "local-default", "backup": {"type": "filesystem",
                    "filesystem": {}}},
            ],
        }));
        let location = |i: usize| {
            database_record(&spec, &spec.databases[i])
                .expect("builds")
                .backup_location
                .and_then(|l| l.location)
        };
        assert_eq!(
            location(0),
            Some(Location::S3(S3Backup {
                bucket: "cluster-bucket".into(),
                region: "eu-west-1".into(),
                endpoint: "https://minio".into(),
                key_prefix: "pg/".into(),
                use_env_credentials: true,
            }))
        );
        assert_eq!(
            location(1),
            Some(Location::S3(S3Backup {
                bucket: "db-bucket".into(),
                region: "eu-west-1".into(),
                endpoint: "https://minio".into(),
                key_prefix: "pg/".into(),
                // Go takes useEnvCredentials from a child s3 block, even when unset there.
                use_env_credentials: false,
            }))
        );
        assert_eq!(
            location(2),
            Some(Location::Filesystem(FilesystemBackup {
                path: "/srv/backups".into()
            }))
        );
        assert_eq!(
            location(3),
            Some(Location::Filesystem(FilesystemBackup {
                path: "/backups".into()
            }))
        );
    }

    /// The minimal Database record followed by fields a newer schema might add: a string (5), a
    /// varint (9), a fixed32 (20), a fixed64 (21) and a group (22).
    fn database_with_foreign_fields() -> Vec<u8> {
        let mut bytes = hex(DATABASE_HEX);
        bytes.extend_from_slice(&[0x2a, 0x03, b'n', b'e', b'w']); // 5: "new"
        bytes.extend_from_slice(&[0x48, 0x96, 0x01]); // 9: 150
        bytes.extend_from_slice(&[0xa5, 0x01, 1, 2, 3, 4]); // 20: fixed32
        bytes.extend_from_slice(&[0xa9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]); // 21: fixed64
        bytes.extend_from_slice(&[0xb3, 0x01, 0x08, 0x01, 0xb4, 0x01]); // 22: group {1: 1}
        bytes
    }

    #[test]
    fn read_modify_write_keeps_foreign_fields() {
        let stored_bytes = database_with_foreign_fields();
        let mut stored = StoredDatabase::decode(&stored_bytes).expect("decodes");
        assert_eq!(stored.record, minimal_database());
        assert_eq!(
            stored.unknown_fields(),
            &stored_bytes[hex(DATABASE_HEX).len()..]
        );
        assert_eq!(
            stored.encode(),
            stored_bytes,
            "an untouched record round-trips"
        );

        assert!(
            !stored.apply_operator_fields(&minimal_database()),
            "no change"
        );
        assert_eq!(stored.encode(), stored_bytes);

        let mut desired = s3_database();
        desired.name = "ignored: the name is not the operator's to change".into();
        assert!(stored.apply_operator_fields(&desired));
        let expected = Database {
            name: "postgres".into(),
            ..s3_database()
        };
        assert_eq!(stored.record, expected);
        let mut expected_bytes = expected.encode_to_vec();
        expected_bytes.extend_from_slice(&stored_bytes[hex(DATABASE_HEX).len()..]);
        assert_eq!(stored.encode(), expected_bytes);
        assert_eq!(
            StoredDatabase::decode(&expected_bytes).expect("decodes"),
            stored
        );
    }

    #[test]
    fn malformed_wire_data_is_an_error() {
        // A length running past the end, and the deprecated wire types 6/7.
        assert!(StoredDatabase::decode(&[0x0a, 0x05, b'a']).is_err());
        assert!(matches!(
            StoredDatabase::decode(&[0x2e]),
            Err(DecodeError::Protobuf { .. } | DecodeError::Wire { .. })
        ));
    }

    #[test]
    fn component_id_strings() {
        assert_eq!(
            pooler_id_string(&pinned_pooler()),
            "multipooler-zone-a-p-45f814aa"
        );
        let id = |component: i32| Id {
            component,
            cell: "c".into(),
            name: "n".into(),
        };
        assert_eq!(component_id_string(&id(0)), "unknown-c-n");
        assert_eq!(component_id_string(&id(2)), "multigateway-c-n");
        assert_eq!(component_id_string(&id(3)), "multiorch-c-n");
        assert_eq!(component_id_string(&id(7)), "7-c-n");
        assert_eq!(pooler_id_string(&MultiPooler::default()), "unknown--");
    }

    #[test]
    fn pods_match_poolers_by_id_name_hostname_or_fqdn() {
        let pod = "minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0";
        let with = |name: &str, hostname: &str| MultiPooler {
            id: Some(Id {
                name: name.into(),
                ..pooler_id()
            }),
            hostname: hostname.into(),
            ..MultiPooler::default()
        };
        let fqdn = format!("{pod}.headless.default.svc.cluster.local");
        assert!(pod_matches_pooler(pod, &with("p-45f814aa", &fqdn)));
        assert!(pod_matches_pooler(pod, &with("p-45f814aa", pod)));
        assert!(pod_matches_pooler(pod, &with(pod, "elsewhere")));
        // Pod 1 is not pod 10, and a hostname merely starting with the pod name is not it.
        let pod_1 = "minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-1";
        let pod_10_fqdn = format!("{pod_1}0.headless.default.svc.cluster.local");
        assert!(!pod_matches_pooler(pod_1, &with("p-1", &pod_10_fqdn)));
        assert!(!pod_matches_pooler(
            pod_1,
            &with("p-1", &format!("{pod_1}x"))
        ));
        assert!(!pod_matches_pooler(pod, &MultiPooler::default()));
        // The service ID the operator passes (`--service-id`), whatever hostname was
        // registered (kubesim registers the pod's address); another pod's ID does not match.
        assert_eq!(multipooler_service_id(pod), "p-45f814aa");
        assert!(pod_matches_pooler(pod, &with("p-45f814aa", "127.0.10.1")));
        assert!(!pod_matches_pooler(
            pod_1,
            &with("p-45f814aa", "127.0.10.1")
        ));
    }

    #[test]
    fn roles_map_primary_drained_and_everything_else_to_replica() {
        let with_type = |t: i32| MultiPooler {
            r#type: t,
            ..MultiPooler::default()
        };
        assert_eq!(pooler_role(&with_type(1)).as_str(), "PRIMARY");
        assert_eq!(pooler_role(&with_type(3)).as_str(), "DRAINED");
        assert_eq!(pooler_role(&with_type(2)).as_str(), "REPLICA");
        assert_eq!(pooler_role(&with_type(0)).as_str(), "REPLICA");
    }

    #[test]
    fn the_primary_is_the_first_primary_claim_of_a_ready_pod() {
        let pooler = |name: &str, hostname: &str, t: PoolerType| MultiPooler {
            id: Some(Id {
                component: ComponentType::Multipooler as i32,
                cell: "zone-a".into(),
                name: name.into(),
            }),
            hostname: hostname.into(),
            r#type: t as i32,
            ..MultiPooler::default()
        };
        // After a failover: pod-0's dead pooler still says PRIMARY, pod-1 was promoted.
        let stale = pooler(
            "p-aaaa",
            "pod-0.h.ns.svc.cluster.local",
            PoolerType::Primary,
        );
        let replica = pooler(
            "p-bbbb",
            "pod-2.h.ns.svc.cluster.local",
            PoolerType::Replica,
        );
        let promoted = pooler(
            "p-cccc",
            "pod-1.h.ns.svc.cluster.local",
            PoolerType::Primary,
        );
        let records = [stale.clone(), replica.clone(), promoted.clone()];
        assert_eq!(
            ready_primary(&records, &["pod-1", "pod-2"]),
            Some(&promoted)
        );
        // Both Ready: the first in listing order.
        assert_eq!(
            ready_primary(&records, &["pod-0", "pod-1", "pod-2"]),
            Some(&stale)
        );
        // A lone PRIMARY claim whose pod is not Ready (or gone) is no primary; nor is a replica.
        assert_eq!(ready_primary(&records[..2], &["pod-2"]), None);
        assert_eq!(ready_primary(&records, &[]), None);
        // The service-ID rule finds a pod whose pooler registered another hostname.
        let by_service_id = pooler(
            &multipooler_service_id("pod-3"),
            "127.0.0.9",
            PoolerType::Primary,
        );
        assert_eq!(
            ready_primary([&by_service_id], &["pod-3"]),
            Some(&by_service_id)
        );
    }

    #[test]
    fn shard_filter_requires_every_part_and_the_cell() {
        let pooler = pinned_pooler();
        assert!(pooler_in_shard(
            &pooler, "zone-a", "postgres", "default", "0-inf"
        ));
        assert!(!pooler_in_shard(
            &pooler, "zone-b", "postgres", "default", "0-inf"
        ));
        assert!(!pooler_in_shard(
            &pooler, "zone-a", "orders", "default", "0-inf"
        ));
        assert!(!pooler_in_shard(
            &pooler, "zone-a", "postgres", "other", "0-inf"
        ));
        assert!(!pooler_in_shard(
            &pooler, "zone-a", "postgres", "default", "0-8"
        ));
    }
}
