//! Names of every object the operator derives from the API (spec-api.md §13, spec-controllers.md
//! §1.3).
//!
//! Names are persisted identities: a Rust operator taking over from the Go one must compute the
//! very same strings, or pods are recreated and PVCs orphaned. So the hash and
//! [`join_with_constraints`] are bit-exact ports of Go's `pkg/util/name/name.go`, and every
//! object of the name catalogue (§13.4) has exactly one function here, which builders and
//! controllers call instead of formatting names themselves.
//!
//! Pure: no I/O, no clock. This module must not read object names back from the API to parse
//! them: names are always recomputed from logical parts (cluster label + spec names), as §13.4
//! requires.

use std::fmt;

use thiserror::Error;

/// FNV-1a 32-bit offset basis (§13.1).
const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
/// FNV-1a 32-bit prime (§13.1).
const FNV_PRIME: u32 = 0x0100_0193;
/// Length of the hex hash suffix (`hashLength = 8` in Go; must never change).
pub const HASH_LENGTH: usize = 8;
/// Go `truncationMark`: marks a name whose visible parts were cut (§13.2).
const TRUNCATION_MARK: &str = "---";
/// Go `minTruncatedLength`: one visible character, the mark and the hash.
const MIN_TRUNCATED_LENGTH: usize = 1 + TRUNCATION_MARK.len() + HASH_LENGTH;

/// Maximum length of a DNS-1123 label (Services, pod hostnames, label values).
pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
/// Maximum length of a DNS-1123 subdomain (most object names).
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
/// Maximum length of a MultigresCluster name: the root CEL rule
/// `self.metadata.name.size() <= 25` (spec-api.md §3, §13.7).
pub const CLUSTER_NAME_MAX_LENGTH: usize = 25;

/// FNV-1a, 32 bits, over raw bytes.
///
/// Exposed because the pool pod spec hash (spec-controllers.md §7.5) is the same function over
/// a different byte stream.
pub fn fnv1a32(data: &[u8]) -> u32 {
    data.iter().fold(FNV_OFFSET_BASIS, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(FNV_PRIME)
    })
}

/// Go `Hash(parts)`: FNV-1a 32 over each part's UTF-8 bytes followed by one `0x00` byte, as 8
/// lower-case hex digits of the big-endian digest (§13.1).
///
/// The NUL separator makes `["a-b", "c"]` and `["a", "b-c"]` hash differently although they
/// join to the same visible string.
pub fn hash_parts(parts: &[&str]) -> String {
    let digest = parts.iter().fold(FNV_OFFSET_BASIS, |hash, part| {
        part.bytes()
            .chain(std::iter::once(0u8))
            .fold(hash, |h, byte| {
                (h ^ u32::from(byte)).wrapping_mul(FNV_PRIME)
            })
    });
    format!("{digest:08x}")
}

/// Which first characters a constraint set accepts (Go `ValidFirstChar`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstChar {
    /// `a-z` or `0-9` (DNS-1123 subdomains).
    LowerAlphanumeric,
    /// `a-z` only (DNS-1035 labels: Services, pods).
    LowerAlpha,
}

impl FirstChar {
    fn accepts(self, c: char) -> bool {
        match self {
            FirstChar::LowerAlphanumeric => c.is_ascii_lowercase() || c.is_ascii_digit(),
            FirstChar::LowerAlpha => c.is_ascii_lowercase(),
        }
    }
}

/// A Go `name.Constraints` value: the maximum length and the first-character rule (§13.3).
///
/// Only the four sets below exist, so the Go panic for `MaxLength < 12` cannot happen here: it
/// is a compile-time assertion on each constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameConstraints {
    max_length: usize,
    first_char: FirstChar,
}

impl NameConstraints {
    const fn new(max_length: usize, first_char: FirstChar) -> Self {
        assert!(
            max_length >= MIN_TRUNCATED_LENGTH,
            "a constraint set must leave room for one character, the mark and the hash"
        );
        NameConstraints {
            max_length,
            first_char,
        }
    }

    /// The longest name this set produces.
    pub const fn max_length(&self) -> usize {
        self.max_length
    }

    /// The first-character rule of this set.
    pub const fn first_char(&self) -> FirstChar {
        self.first_char
    }
}

/// Go `DefaultConstraints`: Cell/TableGroup/Shard CRs, multigateway and multiorch Deployments.
pub const DEFAULT_CONSTRAINTS: NameConstraints =
    NameConstraints::new(DNS1123_SUBDOMAIN_MAX_LENGTH, FirstChar::LowerAlphanumeric);
/// Go `ServiceConstraints`: Services, pool PDBs, the shared backup PVC.
pub const SERVICE_CONSTRAINTS: NameConstraints =
    NameConstraints::new(DNS1123_LABEL_MAX_LENGTH, FirstChar::LowerAlpha);
/// Go `PodConstraints`: pool pod and data-PVC base names; 3 characters stay free for
/// `-{index}` (index 0–99).
pub const POD_CONSTRAINTS: NameConstraints = NameConstraints::new(60, FirstChar::LowerAlpha);
/// Go `StatefulSetConstraints`: defined upstream but unused (the etcd StatefulSet takes the
/// TopoServer name verbatim); kept so the catalogue of §13.3 is complete.
pub const STATEFULSET_CONSTRAINTS: NameConstraints =
    NameConstraints::new(52, FirstChar::LowerAlpha);

/// Go `JoinWithConstraints(constraints, parts...)`, bit-exact (§13.2).
///
/// The hash covers the original parts; the visible parts are lower-cased, every other character
/// outside `a-z0-9-` becomes one `-`, the first part gets an `x` prefix if it is empty or starts
/// with a character the set refuses, and a name longer than the limit is cut and marked `---`
/// so that it is exactly `max_length` long. No parts give the empty string.
pub fn join_with_constraints(constraints: NameConstraints, parts: &[&str]) -> String {
    if parts.is_empty() {
        return String::new();
    }
    let hash = hash_parts(parts);
    let mut transformed: Vec<String> = parts.iter().map(|part| transform_part(part)).collect();
    if let Some(first) = transformed.first_mut() {
        let first_ok = first
            .chars()
            .next()
            .is_some_and(|c| constraints.first_char.accepts(c));
        if !first_ok {
            first.insert(0, 'x');
        }
    }
    let mut partial = transformed.join("-");
    let predicted = partial.len() + 1 + HASH_LENGTH;
    if predicted <= constraints.max_length {
        partial.push('-');
        partial.push_str(&hash);
        return partial;
    }
    // Go: cut = predicted - MaxLength + 2, so that `partial + "---" + hash` is exactly MaxLength
    // long. `partial` is ASCII after `transform_part`, so a byte cut is a char boundary.
    let cut = predicted - constraints.max_length + 2;
    partial.truncate(partial.len() - cut);
    partial.push_str(TRUNCATION_MARK);
    partial.push_str(&hash);
    partial
}

/// Step 4 of §13.2: one output character per input code point.
fn transform_part(part: &str) -> String {
    part.chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect()
}

/// The naming rule a value failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
    Dns1123Label,
    /// DNS-1123 subdomain: labels joined by `.`, at most 253 characters in total. As in
    /// Kubernetes' `IsDNS1123Subdomain`, a single label may be longer than 63.
    Dns1123Subdomain,
    /// MultigresCluster name: a DNS-1123 label of at most 25 characters.
    ClusterName,
}

impl NameRule {
    fn max_length(self) -> usize {
        match self {
            NameRule::Dns1123Label => DNS1123_LABEL_MAX_LENGTH,
            NameRule::Dns1123Subdomain => DNS1123_SUBDOMAIN_MAX_LENGTH,
            NameRule::ClusterName => CLUSTER_NAME_MAX_LENGTH,
        }
    }

    fn allows_dot(self) -> bool {
        matches!(self, NameRule::Dns1123Subdomain)
    }
}

impl fmt::Display for NameRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameRule::Dns1123Label => "DNS-1123 label",
            NameRule::Dns1123Subdomain => "DNS-1123 subdomain",
            NameRule::ClusterName => "MultigresCluster name",
        })
    }
}

/// A string that is not a valid name of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidName {
    /// The value is empty.
    #[error("name \"\" is not a valid {rule}: must not be empty")]
    Empty { rule: NameRule },
    /// The value is longer than the rule allows.
    #[error("name {value:?} is not a valid {rule}: must be at most {max} characters, has {len}")]
    TooLong {
        rule: NameRule,
        value: String,
        len: usize,
        max: usize,
    },
    /// The value holds a character outside the allowed set.
    #[error(
        "name {value:?} is not a valid {rule}: character {found:?} at position {position} is not \
         allowed (only a-z, 0-9, '-'{dot})",
        dot = if rule.allows_dot() { " and '.'" } else { "" }
    )]
    BadCharacter {
        rule: NameRule,
        value: String,
        found: char,
        position: usize,
    },
    /// A label (or a dot-separated part of a subdomain) starts or ends with something other than
    /// a lower-case letter or digit.
    #[error(
        "name {value:?} is not a valid {rule}: each label must start and end with a lower-case \
         letter or digit"
    )]
    BadLabelEdge { rule: NameRule, value: String },
}

/// Checks `value` against `rule` without allocating on success.
fn check_name(rule: NameRule, value: &str) -> Result<(), InvalidName> {
    if value.is_empty() {
        return Err(InvalidName::Empty { rule });
    }
    let len = value.chars().count();
    if len > rule.max_length() {
        return Err(InvalidName::TooLong {
            rule,
            value: value.to_owned(),
            len,
            max: rule.max_length(),
        });
    }
    if let Some((position, found)) = value.chars().enumerate().find(|(_, c)| {
        !(c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || *c == '-'
            || (*c == '.' && rule.allows_dot()))
    }) {
        return Err(InvalidName::BadCharacter {
            rule,
            value: value.to_owned(),
            found,
            position,
        });
    }
    // Only subdomains contain dots; for labels `split` yields the whole value once.
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if value
        .split('.')
        .any(|label| !edge_ok(label.chars().next()) || !edge_ok(label.chars().last()))
    {
        return Err(InvalidName::BadLabelEdge {
            rule,
            value: value.to_owned(),
        });
    }
    Ok(())
}

macro_rules! checked_name {
    ($(#[$doc:meta])* $name:ident, $rule:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Checks `value` and wraps it.
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidName> {
                let value = value.into();
                check_name($rule, &value)?;
                Ok($name(value))
            }

            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidName;
            fn try_from(value: String) -> Result<Self, InvalidName> {
                $name::parse(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidName;
            fn try_from(value: &str) -> Result<Self, InvalidName> {
                $name::parse(value)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

checked_name!(
    /// A DNS-1123 label (≤ 63): the name of a Service, a PDB, a shared backup PVC, a pool pod
    /// base name. Names built with [`SERVICE_CONSTRAINTS`] or [`POD_CONSTRAINTS`] also start
    /// with a letter, as Service names (DNS-1035) need.
    Dns1123Label,
    NameRule::Dns1123Label
);

checked_name!(
    /// A DNS-1123 subdomain (≤ 253): the name of a custom resource, Deployment, pod, PVC,
    /// ConfigMap or Secret.
    Dns1123Subdomain,
    NameRule::Dns1123Subdomain
);

checked_name!(
    /// The name of a MultigresCluster: a DNS-1123 label of at most 25 characters.
    ///
    /// The API server admits any DNS-1123 subdomain of at most 25 characters (CEL), but a name
    /// with a `.` can never work: the Go operator fails when it creates the `{cluster}-multiadmin`
    /// Service. Requiring a label makes every plain `{cluster}-…` name below a valid label by
    /// construction (see docs/compatibility.md).
    ClusterName,
    NameRule::ClusterName
);

impl Dns1123Label {
    /// Wraps a name this module built and knows to be valid; checked in debug builds (and so in
    /// every test).
    fn built(value: String) -> Self {
        debug_assert_eq!(
            check_name(NameRule::Dns1123Label, &value),
            Ok(()),
            "built an invalid name"
        );
        Dns1123Label(value)
    }
}

impl Dns1123Subdomain {
    /// Wraps a name this module built and knows to be valid; checked in debug builds (and so in
    /// every test).
    fn built(value: String) -> Self {
        debug_assert_eq!(
            check_name(NameRule::Dns1123Subdomain, &value),
            Ok(()),
            "built an invalid name"
        );
        Dns1123Subdomain(value)
    }
}

impl From<Dns1123Label> for Dns1123Subdomain {
    fn from(label: Dns1123Label) -> Self {
        Dns1123Subdomain(label.0)
    }
}

/// `{cluster}{suffix}` for a suffix whose length was checked at compile time.
fn cluster_with_suffix(cluster: &ClusterName, suffix: &'static str) -> Dns1123Label {
    Dns1123Label::built(format!("{cluster}{suffix}"))
}

const GLOBAL_TOPO_SUFFIX: &str = "-global-topo";
const GLOBAL_TOPO_HEADLESS_SUFFIX: &str = "-global-topo-headless";
const MULTIADMIN_SUFFIX: &str = "-multiadmin";
const MULTIADMIN_WEB_SUFFIX: &str = "-multiadmin-web";
const GLOBAL_GATEWAY_SUFFIX: &str = "-multigateway";
const GLOBAL_GATEWAY_REPLICA_SUFFIX: &str = "-multigateway-replica";
const HEADLESS_SUFFIX: &str = "-headless";

// Every plain `{cluster}-…` name fits a DNS-1123 label for the longest cluster name.
const _: () = {
    let suffixes = [
        GLOBAL_TOPO_SUFFIX,
        GLOBAL_TOPO_HEADLESS_SUFFIX,
        MULTIADMIN_SUFFIX,
        MULTIADMIN_WEB_SUFFIX,
        GLOBAL_GATEWAY_SUFFIX,
        GLOBAL_GATEWAY_REPLICA_SUFFIX,
    ];
    let mut i = 0;
    while i < suffixes.len() {
        assert!(CLUSTER_NAME_MAX_LENGTH + suffixes[i].len() <= DNS1123_LABEL_MAX_LENGTH);
        i += 1;
    }
    // The global-topo headless name is the topo server name plus the headless suffix.
    assert!(GLOBAL_TOPO_HEADLESS_SUFFIX.len() == GLOBAL_TOPO_SUFFIX.len() + HEADLESS_SUFFIX.len());
};

/// The logical identity of a Shard: the parts every shard-level name is built from.
///
/// `cluster` comes from the Shard's `multigres.com/cluster` label, the others from its spec
/// (`databaseName`, `tableGroupName`, `shardName`), never from the hashed CR name (§13.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardParts<'a> {
    pub cluster: &'a ClusterName,
    pub database: &'a str,
    pub table_group: &'a str,
    pub shard: &'a str,
}

/// One pool of a Shard in one cell: the parts every pool-level name is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolParts<'a> {
    pub shard: ShardParts<'a>,
    pub pool: &'a str,
    pub cell: &'a str,
}

impl PoolParts<'_> {
    /// `cluster, db, tg, shard, "pool", pool, cell` followed by `extra` parts.
    fn join(&self, constraints: NameConstraints, extra: &[&str]) -> String {
        let ShardParts {
            cluster,
            database,
            table_group,
            shard,
        } = self.shard;
        let mut parts = vec![
            cluster.as_str(),
            database,
            table_group,
            shard,
            "pool",
            self.pool,
            self.cell,
        ];
        parts.extend_from_slice(extra);
        join_with_constraints(constraints, &parts)
    }
}

// --- MultigresCluster-level objects ---------------------------------------------------------

/// Cell CR: Go `JoinWithConstraints(DefaultConstraints, cluster, cellName)`.
pub fn cell_name(cluster: &ClusterName, cell: &str) -> Dns1123Subdomain {
    Dns1123Subdomain::built(join_with_constraints(
        DEFAULT_CONSTRAINTS,
        &[cluster.as_str(), cell],
    ))
}

/// TableGroup CR: Go `JoinWithConstraints(DefaultConstraints, cluster, dbName, tgName)`.
///
/// Always hashed, whatever the length: the old "28-character rule" is gone (§13.6).
pub fn table_group_name(
    cluster: &ClusterName,
    database: &str,
    table_group: &str,
) -> Dns1123Subdomain {
    Dns1123Subdomain::built(join_with_constraints(
        DEFAULT_CONSTRAINTS,
        &[cluster.as_str(), database, table_group],
    ))
}

/// Global TopoServer CR, and the etcd StatefulSet and client Service built from it: Go
/// `cluster.Name + "-global-topo"` (`BuildGlobalTopoServer`), no hash.
pub fn global_topo_server_name(cluster: &ClusterName) -> Dns1123Label {
    cluster_with_suffix(cluster, GLOBAL_TOPO_SUFFIX)
}

/// Headless Service of the global etcd (`{cluster}-global-topo-headless`). Equal to
/// [`topo_server_headless_service_name`] of [`global_topo_server_name`], without the failure
/// case.
pub fn global_topo_headless_service_name(cluster: &ClusterName) -> Dns1123Label {
    cluster_with_suffix(cluster, GLOBAL_TOPO_HEADLESS_SUFFIX)
}

/// Headless Service of any TopoServer (also its `status.peerService` and the StatefulSet
/// `serviceName`): Go `toposerver.Name + "-headless"`.
///
/// Fails only for a TopoServer CR not created by the operator whose name is too long or not a
/// label.
pub fn topo_server_headless_service_name(topo_server: &str) -> Result<Dns1123Label, InvalidName> {
    Dns1123Label::parse(format!("{topo_server}{HEADLESS_SUFFIX}"))
}

/// etcd pod of a TopoServer StatefulSet: `{toposerverName}-{ordinal}` (the StatefulSet
/// controller's naming, used in `ETCD_INITIAL_CLUSTER`).
pub fn topo_server_pod_name(topo_server: &str, ordinal: u32) -> Result<Dns1123Label, InvalidName> {
    Dns1123Label::parse(format!("{topo_server}-{ordinal}"))
}

/// Address of the global etcd client Service handed to every component: Go
/// `fmt.Sprintf("%s-global-topo.%s.svc:2379", cluster, namespace)` (`globalTopoRef`).
pub fn global_topo_address(cluster: &ClusterName, namespace: &str) -> String {
    format!(
        "{}.{namespace}.svc:{}",
        global_topo_server_name(cluster),
        crate::defaults::ETCD_CLIENT_PORT
    )
}

/// MultiAdmin Deployment and Service: Go `cluster.Name + "-multiadmin"`.
pub fn multiadmin_name(cluster: &ClusterName) -> Dns1123Label {
    cluster_with_suffix(cluster, MULTIADMIN_SUFFIX)
}

/// MultiAdminWeb Deployment and Service: Go `cluster.Name + "-multiadmin-web"`.
pub fn multiadmin_web_name(cluster: &ClusterName) -> Dns1123Label {
    cluster_with_suffix(cluster, MULTIADMIN_WEB_SUFFIX)
}

/// Cluster-wide multigateway Service (spans all cells): Go `cluster.Name + "-multigateway"`.
pub fn global_gateway_service_name(cluster: &ClusterName) -> Dns1123Label {
    cluster_with_suffix(cluster, GLOBAL_GATEWAY_SUFFIX)
}

/// Cluster-wide multigateway replica Service: Go `cluster.Name + "-multigateway-replica"`.
pub fn global_gateway_replica_service_name(cluster: &ClusterName) -> Dns1123Label {
    cluster_with_suffix(cluster, GLOBAL_GATEWAY_REPLICA_SUFFIX)
}

// --- Cell-level objects ---------------------------------------------------------------------

/// Cell multigateway Deployment: Go `JoinWithConstraints(DefaultConstraints, cluster, cellName,
/// "multigateway")`.
pub fn cell_gateway_deployment_name(cluster: &ClusterName, cell: &str) -> Dns1123Subdomain {
    Dns1123Subdomain::built(join_with_constraints(
        DEFAULT_CONSTRAINTS,
        &[cluster.as_str(), cell, "multigateway"],
    ))
}

/// Cell multigateway Service (also `Cell.status.gatewayServiceName`): Go
/// `JoinWithConstraints(ServiceConstraints, cluster, cellName, "multigateway")`.
pub fn cell_gateway_service_name(cluster: &ClusterName, cell: &str) -> Dns1123Label {
    Dns1123Label::built(join_with_constraints(
        SERVICE_CONSTRAINTS,
        &[cluster.as_str(), cell, "multigateway"],
    ))
}

// --- Shard-level objects --------------------------------------------------------------------

/// Shard CR: Go `JoinWithConstraints(DefaultConstraints, cluster, dbName, tgName, shardName)`.
pub fn shard_name(shard: &ShardParts<'_>) -> Dns1123Subdomain {
    Dns1123Subdomain::built(join_with_constraints(
        DEFAULT_CONSTRAINTS,
        &[
            shard.cluster.as_str(),
            shard.database,
            shard.table_group,
            shard.shard,
        ],
    ))
}

/// MultiOrch Deployment of one cell: Go `JoinWithConstraints(DefaultConstraints, cluster, db,
/// tg, shard, "multiorch", cell)`.
pub fn multiorch_deployment_name(shard: &ShardParts<'_>, cell: &str) -> Dns1123Subdomain {
    Dns1123Subdomain::built(join_with_constraints(
        DEFAULT_CONSTRAINTS,
        &multiorch_parts(shard, cell),
    ))
}

/// MultiOrch Service of one cell: Go `JoinWithConstraints(ServiceConstraints, cluster, db, tg,
/// shard, "multiorch", cell)`. Shares its hash with the Deployment (same parts).
pub fn multiorch_service_name(shard: &ShardParts<'_>, cell: &str) -> Dns1123Label {
    Dns1123Label::built(join_with_constraints(
        SERVICE_CONSTRAINTS,
        &multiorch_parts(shard, cell),
    ))
}

fn multiorch_parts<'a>(shard: &ShardParts<'a>, cell: &'a str) -> [&'a str; 6] {
    [
        shard.cluster.as_str(),
        shard.database,
        shard.table_group,
        shard.shard,
        "multiorch",
        cell,
    ]
}

/// Shared backup PVC of one cell: Go `JoinWithConstraints(ServiceConstraints, "backup-data",
/// cluster, db, tg, shard, cell)` (`BuildSharedBackupPVC`).
pub fn shared_backup_pvc_name(shard: &ShardParts<'_>, cell: &str) -> Dns1123Label {
    Dns1123Label::built(join_with_constraints(
        SERVICE_CONSTRAINTS,
        &[
            "backup-data",
            shard.cluster.as_str(),
            shard.database,
            shard.table_group,
            shard.shard,
            cell,
        ],
    ))
}

/// pg_hba ConfigMap: Go `shard.Name + "-pg-hba"` (`BuildPgHbaConfigMap`), from the Shard CR
/// name.
pub fn pg_hba_config_map_name(shard_cr: &str) -> Result<Dns1123Subdomain, InvalidName> {
    Dns1123Subdomain::parse(format!("{shard_cr}-pg-hba"))
}

/// Postgres password Secret: Go `shard.Name + "-postgres-password"`
/// (`BuildPostgresPasswordSecret`).
pub fn postgres_password_secret_name(shard_cr: &str) -> Result<Dns1123Subdomain, InvalidName> {
    Dns1123Subdomain::parse(format!("{shard_cr}-postgres-password"))
}

/// Generated pgBackRest CA Secret: Go `shard.Name + "-pgbackrest-ca"`
/// (`reconcilePgBackRestCerts`).
pub fn pgbackrest_ca_secret_name(shard_cr: &str) -> Result<Dns1123Subdomain, InvalidName> {
    Dns1123Subdomain::parse(format!("{shard_cr}-pgbackrest-ca"))
}

/// Generated pgBackRest server TLS Secret: Go `shard.Name + "-pgbackrest-tls"`
/// (`reconcilePgBackRestCerts`).
pub fn pgbackrest_tls_secret_name(shard_cr: &str) -> Result<Dns1123Subdomain, InvalidName> {
    Dns1123Subdomain::parse(format!("{shard_cr}-pgbackrest-tls"))
}

// --- Pool-level objects ---------------------------------------------------------------------

/// Base name of a pool's pods and data PVCs in one cell: Go `JoinWithConstraints(PodConstraints,
/// cluster, db, tg, shard, "pool", pool, cell)` (≤ 60).
pub fn pool_pod_base_name(pool: &PoolParts<'_>) -> Dns1123Label {
    Dns1123Label::built(pool.join(POD_CONSTRAINTS, &[]))
}

/// Pool pod (also its `spec.hostname`): Go `BuildPoolPodName` = base + `-{index}`, index 0-based
/// decimal.
pub fn pool_pod_name(pool: &PoolParts<'_>, index: u32) -> Dns1123Subdomain {
    Dns1123Subdomain::built(format!("{}-{index}", pool_pod_base_name(pool)))
}

/// Data PVC of a pool pod: Go `"data-" + base + "-{index}"` (`BuildPoolDataPVCName`). May exceed
/// 63 characters, which PVC names allow.
pub fn pool_data_pvc_name(pool: &PoolParts<'_>, index: u32) -> Dns1123Subdomain {
    Dns1123Subdomain::built(format!("data-{}-{index}", pool_pod_base_name(pool)))
}

/// Pool headless Service (the pods' `spec.subdomain`): Go `JoinWithConstraints(
/// ServiceConstraints, cluster, db, tg, shard, "pool", pool, cell, "headless")`.
pub fn pool_headless_service_name(pool: &PoolParts<'_>) -> Dns1123Label {
    Dns1123Label::built(pool.join(SERVICE_CONSTRAINTS, &["headless"]))
}

/// Pool PodDisruptionBudget: Go `JoinWithConstraints(ServiceConstraints, cluster, db, tg, shard,
/// "pool", pool, cell, "pdb")`.
pub fn pool_pdb_name(pool: &PoolParts<'_>) -> Dns1123Label {
    Dns1123Label::built(pool.join(SERVICE_CONSTRAINTS, &["pdb"]))
}

/// Multipooler service ID registered in the topology: Go `"p-" + Hash([podName])`, always 10
/// characters.
pub fn multipooler_service_id(pod_name: &str) -> String {
    format!("p-{}", hash_parts(&[pod_name]))
}

// --- Fixed names ----------------------------------------------------------------------------

/// Multigateway TLS Secret mounted when `certCommonName` is set (Go `CertSecretName`).
pub const MULTIGATEWAY_TLS_SECRET_NAME: &str = "generated-certs";
/// Webhook CA Secret in the operator namespace (Go cert rotator options).
pub const WEBHOOK_CA_SECRET_NAME: &str = "multigres-operator-ca-secret";
/// Webhook serving-certificate Secret in the operator namespace (Go cert rotator options).
pub const WEBHOOK_CERT_SECRET_NAME: &str = "multigres-webhook-certs";

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    fn cluster(name: &str) -> ClusterName {
        ClusterName::parse(name).expect("test cluster names are valid")
    }

    /// The pool of a worked example of §13.5 with the injected db/tg/shard.
    fn pool_of<'a>(cluster: &'a ClusterName, pool: &'a str, cell: &'a str) -> PoolParts<'a> {
        PoolParts {
            shard: shard_of(cluster),
            pool,
            cell,
        }
    }

    fn shard_of(cluster: &ClusterName) -> ShardParts<'_> {
        ShardParts {
            cluster,
            database: "postgres",
            table_group: "default",
            shard: "0-inf",
        }
    }

    #[test]
    fn fnv1a32_matches_the_published_test_vectors() {
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn hash_separates_parts_with_nul() {
        assert_eq!(hash_parts(&["hello", "world"]), "344ce285");
        assert_eq!(
            hash_parts(&["hello", "world"]),
            format!("{:08x}", fnv1a32(b"hello\0world\0"))
        );
        assert_ne!(hash_parts(&["a-b", "c"]), hash_parts(&["a", "b-c"]));
    }

    #[test]
    fn join_of_no_parts_is_empty() {
        assert_eq!(join_with_constraints(DEFAULT_CONSTRAINTS, &[]), "");
    }

    #[test]
    fn constraint_sets_match_go() {
        let sets = [
            (DEFAULT_CONSTRAINTS, 253, FirstChar::LowerAlphanumeric),
            (SERVICE_CONSTRAINTS, 63, FirstChar::LowerAlpha),
            (POD_CONSTRAINTS, 60, FirstChar::LowerAlpha),
            (STATEFULSET_CONSTRAINTS, 52, FirstChar::LowerAlpha),
        ];
        for (set, max, first) in sets {
            assert_eq!((set.max_length(), set.first_char()), (max, first));
        }
    }

    #[test]
    fn worked_example_1_minimal_main_app_zone_a() {
        let c = cluster("minimal");
        let shard = shard_of(&c);
        let pool = pool_of(&c, "main-app", "zone-a");
        assert_eq!(cell_name(&c, "zone-a"), "minimal-zone-a-96c88ae0");
        assert_eq!(
            table_group_name(&c, "postgres", "default"),
            "minimal-postgres-default-f7d4ad4a"
        );
        assert_eq!(
            shard_name(&shard),
            "minimal-postgres-default-0-inf-1e3c045c"
        );
        let base = pool_pod_base_name(&pool);
        assert_eq!(
            base,
            "minimal-postgres-default-0-inf-pool-main-app-zone-a-daab8a31"
        );
        assert_eq!(base.as_str().len(), 60);
        assert_eq!(
            pool_pod_name(&pool, 0),
            "minimal-postgres-default-0-inf-pool-main-app-zone-a-daab8a31-0"
        );
        assert_eq!(
            pool_data_pvc_name(&pool, 0),
            "data-minimal-postgres-default-0-inf-pool-main-app-zone-a-daab8a31-0"
        );
        assert_eq!(
            pool_headless_service_name(&pool),
            "minimal-postgres-default-0-inf-pool-main-app-zone-a----4d59a256"
        );
        assert_eq!(
            pool_pdb_name(&pool),
            "minimal-postgres-default-0-inf-pool-main-app-zone-a----7b4d6d4f"
        );
        assert_eq!(
            shared_backup_pvc_name(&shard, "zone-a"),
            "backup-data-minimal-postgres-default-0-inf-zone-a-4a84cb77"
        );
        assert_eq!(
            multiorch_deployment_name(&shard, "zone-a"),
            "minimal-postgres-default-0-inf-multiorch-zone-a-bbe2a333"
        );
        assert_eq!(
            multiorch_service_name(&shard, "zone-a"),
            "minimal-postgres-default-0-inf-multiorch-zone-a-bbe2a333"
        );
        assert_eq!(
            cell_gateway_deployment_name(&c, "zone-a"),
            "minimal-zone-a-multigateway-0ccc2e8b"
        );
        assert_eq!(
            cell_gateway_service_name(&c, "zone-a"),
            "minimal-zone-a-multigateway-0ccc2e8b"
        );
        assert_eq!(
            multipooler_service_id(pool_pod_name(&pool, 0).as_str()),
            "p-5725c4e4"
        );
        let shard_cr = shard_name(&shard);
        assert_eq!(
            pg_hba_config_map_name(shard_cr.as_str()),
            Ok(Dns1123Subdomain::built(
                "minimal-postgres-default-0-inf-1e3c045c-pg-hba".to_owned()
            ))
        );
        assert_eq!(global_topo_server_name(&c), "minimal-global-topo");
        assert_eq!(multiadmin_name(&c), "minimal-multiadmin");
        assert_eq!(multiadmin_web_name(&c), "minimal-multiadmin-web");
        assert_eq!(global_gateway_service_name(&c), "minimal-multigateway");
    }

    #[test]
    fn worked_example_2_minimal_default_pool() {
        let c = cluster("minimal");
        let pool = pool_of(&c, "default", "zone-a");
        assert_eq!(
            pool_pod_base_name(&pool),
            "minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b"
        );
        assert_eq!(
            pool_pod_name(&pool, 1),
            "minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-1"
        );
        assert_eq!(
            pool_headless_service_name(&pool),
            "minimal-postgres-default-0-inf-pool-default-zone-a-h---22cdf02c"
        );
        assert_eq!(
            pool_pdb_name(&pool),
            "minimal-postgres-default-0-inf-pool-default-zone-a-pdb-6a4f8455"
        );
        assert_eq!(
            multipooler_service_id(pool_pod_name(&pool, 0).as_str()),
            "p-45f814aa"
        );
    }

    #[test]
    fn worked_example_3_inline_main_z1() {
        let c = cluster("inline");
        let shard = shard_of(&c);
        let pool = pool_of(&c, "main", "z1");
        assert_eq!(cell_name(&c, "z1"), "inline-z1-42ad6e9b");
        assert_eq!(
            table_group_name(&c, "postgres", "default"),
            "inline-postgres-default-c1e5b08e"
        );
        assert_eq!(shard_name(&shard), "inline-postgres-default-0-inf-6245c788");
        assert_eq!(
            pool_pod_name(&pool, 0),
            "inline-postgres-default-0-inf-pool-main-z1-168f1440-0"
        );
        assert_eq!(
            pool_data_pvc_name(&pool, 0),
            "data-inline-postgres-default-0-inf-pool-main-z1-168f1440-0"
        );
        assert_eq!(
            pool_headless_service_name(&pool),
            "inline-postgres-default-0-inf-pool-main-z1-headless-46b78f61"
        );
        assert_eq!(
            pool_pdb_name(&pool),
            "inline-postgres-default-0-inf-pool-main-z1-pdb-4cc90cae"
        );
        assert_eq!(
            shared_backup_pvc_name(&shard, "z1"),
            "backup-data-inline-postgres-default-0-inf-z1-af0d8cfe"
        );
        assert_eq!(
            multiorch_deployment_name(&shard, "z1"),
            "inline-postgres-default-0-inf-multiorch-z1-5222da14"
        );
        assert_eq!(
            multiorch_service_name(&shard, "z1"),
            "inline-postgres-default-0-inf-multiorch-z1-5222da14"
        );
        assert_eq!(
            cell_gateway_deployment_name(&c, "z1"),
            "inline-z1-multigateway-76752f56"
        );
        assert_eq!(
            cell_gateway_service_name(&c, "z1"),
            "inline-z1-multigateway-76752f56"
        );
    }

    #[test]
    fn worked_example_4_long_names_are_truncated() {
        let c = cluster("a-very-long-cluster-name1");
        let cell = "us-east-1a-long-cell-name-xyz";
        let shard = shard_of(&c);
        let pool = pool_of(&c, "very-long-pool-name-abcde", cell);
        assert_eq!(
            cell_name(&c, cell),
            "a-very-long-cluster-name1-us-east-1a-long-cell-name-xyz-f5619d1d"
        );
        assert_eq!(
            table_group_name(&c, "postgres", "default"),
            "a-very-long-cluster-name1-postgres-default-7b4d9296"
        );
        assert_eq!(
            shard_name(&shard),
            "a-very-long-cluster-name1-postgres-default-0-inf-74572b60"
        );
        assert_eq!(
            pool_pod_base_name(&pool),
            "a-very-long-cluster-name1-postgres-default-0-inf----5400b90b"
        );
        assert_eq!(
            pool_pod_name(&pool, 0),
            "a-very-long-cluster-name1-postgres-default-0-inf----5400b90b-0"
        );
        assert_eq!(
            pool_headless_service_name(&pool),
            "a-very-long-cluster-name1-postgres-default-0-inf-poo---6b988d5c"
        );
        assert_eq!(
            pool_pdb_name(&pool),
            "a-very-long-cluster-name1-postgres-default-0-inf-poo---e02fbf45"
        );
        assert_eq!(
            shared_backup_pvc_name(&shard, cell),
            "backup-data-a-very-long-cluster-name1-postgres-defau---b9b6bc80"
        );
        assert_eq!(
            multiorch_deployment_name(&shard, cell),
            "a-very-long-cluster-name1-postgres-default-0-inf-multiorch-us-east-1a-long-cell-name-xyz-dc3e4a54"
        );
        assert_eq!(
            multiorch_service_name(&shard, cell),
            "a-very-long-cluster-name1-postgres-default-0-inf-mul---dc3e4a54"
        );
        assert_eq!(
            cell_gateway_deployment_name(&c, cell),
            "a-very-long-cluster-name1-us-east-1a-long-cell-name-xyz-multigateway-1842448c"
        );
        assert_eq!(
            cell_gateway_service_name(&c, cell),
            "a-very-long-cluster-name1-us-east-1a-long-cell-name----1842448c"
        );
    }

    #[test]
    fn worked_example_5_production_db() {
        let c = cluster("production-db");
        let shard = shard_of(&c);
        let pool = pool_of(&c, "primary", "us-east-1a");
        assert_eq!(
            cell_name(&c, "us-east-1a"),
            "production-db-us-east-1a-ed971f1a"
        );
        assert_eq!(
            shard_name(&shard),
            "production-db-postgres-default-0-inf-e9a64c5b"
        );
        assert_eq!(
            pool_pod_base_name(&pool),
            "production-db-postgres-default-0-inf-pool-primary---5cb2c4a2"
        );
        assert_eq!(
            multiorch_deployment_name(&shard, "us-east-1a"),
            "production-db-postgres-default-0-inf-multiorch-us-east-1a-6c46cb13"
        );
        assert_eq!(
            multiorch_service_name(&shard, "us-east-1a"),
            "production-db-postgres-default-0-inf-multiorch-us-ea---6c46cb13"
        );
        assert_eq!(
            postgres_password_secret_name(shard_name(&shard).as_str()),
            Ok(Dns1123Subdomain::built(
                "production-db-postgres-default-0-inf-e9a64c5b-postgres-password".to_owned()
            ))
        );
    }

    #[test]
    fn worked_example_6_first_character_and_transformation() {
        let pod_parts = [
            "9lives", "postgres", "default", "0-inf", "pool", "main", "zone-a",
        ];
        let gateway_parts = ["9lives", "zone-a", "multigateway"];
        let cases: [(NameConstraints, &[&str], &str); 7] = [
            (
                DEFAULT_CONSTRAINTS,
                &["9lives", "zone-a"],
                "9lives-zone-a-484bd3d7",
            ),
            (
                POD_CONSTRAINTS,
                &pod_parts,
                "x9lives-postgres-default-0-inf-pool-main-zone-a-f2718002",
            ),
            (
                DEFAULT_CONSTRAINTS,
                &gateway_parts,
                "9lives-zone-a-multigateway-0ce816ea",
            ),
            (
                SERVICE_CONSTRAINTS,
                &gateway_parts,
                "x9lives-zone-a-multigateway-0ce816ea",
            ),
            (
                DEFAULT_CONSTRAINTS,
                &["My_Cluster", "Zone.A"],
                "my-cluster-zone-a-fc396e77",
            ),
            (
                DEFAULT_CONSTRAINTS,
                &["production-db", "app", "sales"],
                "production-db-app-sales-65082600",
            ),
            (
                DEFAULT_CONSTRAINTS,
                &["production", "db-app", "sales"],
                "production-db-app-sales-72af7aea",
            ),
        ];
        for (constraints, parts, expected) in cases {
            assert_eq!(
                join_with_constraints(constraints, parts),
                expected,
                "{parts:?}"
            );
        }
        assert_eq!(
            join_with_constraints(DEFAULT_CONSTRAINTS, &["hello", "world"]),
            "hello-world-344ce285"
        );
    }

    #[test]
    fn join_maps_each_non_ascii_code_point_to_one_dash_and_prefixes_empty_first_part() {
        let hash = hash_parts(&["", "Ünï", "a b"]);
        assert_eq!(
            join_with_constraints(DEFAULT_CONSTRAINTS, &["", "Ünï", "a b"]),
            format!("x--n--a-b-{hash}")
        );
    }

    #[test]
    fn truncation_leaves_a_trailing_dash_before_the_mark() {
        // 52 visible characters before the cut point end on the separator: `-` + `---`.
        let c = cluster("minimal");
        let name = pool_headless_service_name(&pool_of(&c, "main-app", "zone-a"));
        assert_eq!(name.as_str().len(), 63);
        assert!(name.as_str().ends_with("----4d59a256"));
    }

    #[test]
    fn topo_server_names_follow_the_cr_name() {
        let c = cluster("minimal");
        assert_eq!(
            global_topo_headless_service_name(&c),
            "minimal-global-topo-headless"
        );
        assert_eq!(
            topo_server_headless_service_name(global_topo_server_name(&c).as_str()),
            Ok(global_topo_headless_service_name(&c))
        );
        assert_eq!(
            topo_server_pod_name("minimal-global-topo", 2),
            Ok(Dns1123Label::built("minimal-global-topo-2".to_owned()))
        );
        assert_eq!(
            global_topo_address(&c, "prod"),
            "minimal-global-topo.prod.svc:2379"
        );
        assert_eq!(
            global_gateway_replica_service_name(&c),
            "minimal-multigateway-replica"
        );
    }

    #[test]
    fn topo_server_headless_name_rejects_an_overlong_cr_name() {
        let long = "t".repeat(60);
        assert_eq!(
            topo_server_headless_service_name(&long),
            Err(InvalidName::TooLong {
                rule: NameRule::Dns1123Label,
                value: format!("{long}-headless"),
                len: 69,
                max: 63,
            })
        );
    }

    #[test]
    fn shard_cr_suffix_names() {
        let shard_cr = "minimal-postgres-default-0-inf-1e3c045c";
        let names = [
            pgbackrest_ca_secret_name(shard_cr).map(String::from),
            pgbackrest_tls_secret_name(shard_cr).map(String::from),
        ];
        assert_eq!(
            names,
            [
                Ok("minimal-postgres-default-0-inf-1e3c045c-pgbackrest-ca".to_owned()),
                Ok("minimal-postgres-default-0-inf-1e3c045c-pgbackrest-tls".to_owned()),
            ]
        );
    }

    #[test]
    fn cluster_name_is_a_short_dns_label() {
        assert_eq!(
            ClusterName::parse("a".repeat(26)),
            Err(InvalidName::TooLong {
                rule: NameRule::ClusterName,
                value: "a".repeat(26),
                len: 26,
                max: 25,
            })
        );
        assert_eq!(
            ClusterName::parse("my.cluster"),
            Err(InvalidName::BadCharacter {
                rule: NameRule::ClusterName,
                value: "my.cluster".to_owned(),
                found: '.',
                position: 2,
            })
        );
        assert_eq!(
            ClusterName::parse("Prod").map_err(|e| e.to_string()),
            Err(
                "name \"Prod\" is not a valid MultigresCluster name: character 'P' at position 0 \
                 is not allowed (only a-z, 0-9, '-')"
                    .to_owned()
            )
        );
        assert_eq!(
            ClusterName::parse("prod-").map_err(|e| e.to_string()),
            Err(
                "name \"prod-\" is not a valid MultigresCluster name: each label must start and \
                 end with a lower-case letter or digit"
                    .to_owned()
            )
        );
        assert_eq!(
            ClusterName::parse(""),
            Err(InvalidName::Empty {
                rule: NameRule::ClusterName
            })
        );
        assert_eq!(
            ClusterName::parse("9lives").map(String::from),
            Ok("9lives".to_owned())
        );
    }

    #[test]
    fn subdomain_accepts_dots_but_checks_each_label() {
        assert_eq!(
            Dns1123Subdomain::parse("a.b-c.d").map(String::from),
            Ok("a.b-c.d".to_owned())
        );
        assert_eq!(
            Dns1123Subdomain::parse("a..b").map_err(|e| e.to_string()),
            Err(
                "name \"a..b\" is not a valid DNS-1123 subdomain: each label must start and end \
                 with a lower-case letter or digit"
                    .to_owned()
            )
        );
        assert_eq!(
            Dns1123Label::parse("a.b").map_err(|e| e.to_string()),
            Err(
                "name \"a.b\" is not a valid DNS-1123 label: character '.' at position 1 is not \
                 allowed (only a-z, 0-9, '-')"
                    .to_owned()
            )
        );
    }

    /// Any part Go could be handed: ASCII names, upper case, punctuation, non-ASCII.
    fn any_part() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9][-a-z0-9]{0,40}",
            "[A-Za-z0-9_. -]{0,30}",
            "\\PC{0,20}",
        ]
    }

    fn any_cluster() -> impl Strategy<Value = ClusterName> {
        "[a-z0-9]([-a-z0-9]{0,23}[a-z0-9])?".prop_map(|name| cluster(&name))
    }

    proptest! {
        #[test]
        fn join_is_deterministic_bounded_and_dns_safe(
            parts in prop::collection::vec(any_part(), 1..9),
            set in prop_oneof![
                Just(DEFAULT_CONSTRAINTS),
                Just(SERVICE_CONSTRAINTS),
                Just(POD_CONSTRAINTS),
                Just(STATEFULSET_CONSTRAINTS),
            ],
        ) {
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            let name = join_with_constraints(set, &parts);
            prop_assert_eq!(&name, &join_with_constraints(set, &parts));
            prop_assert!(name.len() <= set.max_length());
            let rule = if set.max_length() <= DNS1123_LABEL_MAX_LENGTH {
                NameRule::Dns1123Label
            } else {
                NameRule::Dns1123Subdomain
            };
            prop_assert_eq!(check_name(rule, &name), Ok(()));
            let first = name.chars().next().expect("a join of parts is never empty");
            prop_assert!(set.first_char().accepts(first));
            // Truncation keeps exactly `max_length` characters: the untruncated join cut before
            // the mark, then `---` and the hash of the original parts.
            let hash = hash_parts(&parts);
            let full = join_with_constraints(NameConstraints::new(usize::MAX, set.first_char()), &parts);
            if full.len() <= set.max_length() {
                prop_assert_eq!(&name, &full);
            } else {
                let kept = &full[..set.max_length() - MIN_TRUNCATED_LENGTH + 1];
                prop_assert_eq!(name, format!("{kept}{TRUNCATION_MARK}{hash}"));
            }
        }

        #[test]
        fn catalogue_names_are_valid_for_their_kind(
            c in any_cluster(),
            database in "[a-z0-9]([-a-z0-9]{0,28}[a-z0-9])?",
            table_group in "[a-z0-9]([-a-z0-9]{0,23}[a-z0-9])?",
            shard in "[a-z0-9]([-a-z0-9]{0,23}[a-z0-9])?",
            pool in "[a-z0-9]([-a-z0-9]{0,23}[a-z0-9])?",
            cell in "[a-z0-9]([-a-z0-9]{0,28}[a-z0-9])?",
            index in 0u32..100,
        ) {
            let shard_parts = ShardParts { cluster: &c, database: &database, table_group: &table_group, shard: &shard };
            let pool_parts = PoolParts { shard: shard_parts, pool: &pool, cell: &cell };
            let labels = [
                pool_pod_base_name(&pool_parts),
                pool_headless_service_name(&pool_parts),
                pool_pdb_name(&pool_parts),
                shared_backup_pvc_name(&shard_parts, &cell),
                multiorch_service_name(&shard_parts, &cell),
                cell_gateway_service_name(&c, &cell),
                global_topo_server_name(&c),
                global_topo_headless_service_name(&c),
                multiadmin_name(&c),
                multiadmin_web_name(&c),
                global_gateway_service_name(&c),
                global_gateway_replica_service_name(&c),
            ];
            for label in &labels {
                prop_assert_eq!(check_name(NameRule::Dns1123Label, label.as_str()), Ok(()));
            }
            // Pods need a label-sized name for `spec.hostname` while index < 100.
            prop_assert!(pool_pod_name(&pool_parts, index).as_str().len() <= DNS1123_LABEL_MAX_LENGTH);
            let shard_cr = shard_name(&shard_parts);
            prop_assert!(postgres_password_secret_name(shard_cr.as_str()).is_ok());
            prop_assert!(pool_data_pvc_name(&pool_parts, index).as_str().len() <= 68);
        }
    }
}
