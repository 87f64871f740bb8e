//! pgBackRest backup configuration (spec-api.md §2.8), set at cluster, database, table group and
//! shard level and carried, resolved, by TableGroup and Shard.
//!
//! The chain merge of these levels (`MergeBackupConfig`) is the resolver's; this module only
//! holds the shapes and their CEL rules (spec-api.md §9 rules 27–30).

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::component_specs::StorageSpec;

/// Storage backend of pgBackRest backups.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BackupType {
    /// A PersistentVolumeClaim per shard and cell. The default: the resolver chooses it when no
    /// level configures backups (spec-api.md §10.7.4).
    #[default]
    Filesystem,
    /// S3-compatible object storage.
    S3,
}

/// Backup configuration of one level of the cluster → database → table group → shard chain.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.type != 's3' || has(self.s3)")
        .message("s3 config is required when type is 's3'"),
    validation = Rule::new("self.type != 'filesystem' || has(self.filesystem)")
        .message("filesystem config is required when type is 'filesystem'"),
)]
pub struct BackupConfig {
    /// Backend of the backups: `filesystem` or `s3`.
    #[serde(rename = "type")]
    pub type_: BackupType,

    /// Settings of volume-backed backups; required when `type` is `filesystem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FilesystemBackupConfig>,

    /// Settings of S3 backups; required when `type` is `s3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3BackupConfig>,

    /// TLS between pgBackRest instances of a shard. Without a `secretName` the operator issues
    /// and rotates the certificates itself.
    #[serde(
        default,
        rename = "pgbackrestTLS",
        skip_serializing_if = "Option::is_none"
    )]
    pub pgbackrest_tls: Option<PgBackRestTlsConfig>,
}

/// Backups on a volume shared by all pools of a shard within one cell.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilesystemBackupConfig {
    /// Directory of the backup repository inside the pods; `/backups` when unset.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,

    /// The backup volume; `10Gi` when no size is given.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub storage: StorageSpec,
}

/// Backups in an S3-compatible bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!(has(self.serviceAccountName) && size(self.serviceAccountName) > 0 && has(self.credentialsSecret) && size(self.credentialsSecret) > 0)")
        .message("serviceAccountName and credentialsSecret are mutually exclusive"),
    validation = Rule::new("!(has(self.serviceAccountName) && size(self.serviceAccountName) > 0 && has(self.useEnvCredentials) && self.useEnvCredentials)")
        .message("serviceAccountName and useEnvCredentials are mutually exclusive \u{2014} IRSA credentials are handled automatically"),
)]
pub struct S3BackupConfig {
    /// Bucket holding the backup repository.
    #[schemars(length(min = 1))]
    pub bucket: String,

    /// Region of the bucket.
    #[schemars(length(min = 1))]
    pub region: String,

    /// Endpoint URL of a non-AWS, S3-compatible service.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub endpoint: String,

    /// Prefix of every object key of the repository.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_prefix: String,

    /// Take credentials from the pods' environment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub use_env_credentials: bool,

    /// Secret with the keys `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_secret: String,

    /// ServiceAccount (created by you, in the cluster's namespace) whose IAM role grants access
    /// to the bucket (IRSA); pool pods then run under it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_account_name: String,
}

/// Certificates of pgBackRest's TLS between the pods of a shard.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PgBackRestTlsConfig {
    /// Existing Secret with `ca.crt`, `tls.crt` and `tls.key` (a cert-manager Certificate's
    /// Secret fits). Empty: the operator generates and rotates the certificates.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret_name: String,
}
