//! The postgres password Secret `{shardCR}-postgres-password` (spec-controllers.md §7.3.2),
//! read by the pool containers as `POSTGRES_PASSWORD` / `DATA_SOURCE_PASS`.
//!
//! Place: applied (SSA) on every pass. Must not: generate a password; v1alpha1 hard-codes the
//! value, and the pods' environment points at this Secret by name.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use multigres_api::labels::postgres_password_secret_labels;
use multigres_api::naming::postgres_password_secret_name;

use super::{BuildError, ShardContext};

/// The data key holding the password (`secretKeyRef.key` of the pool containers).
pub const PASSWORD_KEY: &str = "password";

/// The v1alpha1 password (Go's hard-coded default).
pub const DEFAULT_PASSWORD: &str = "postgres";

/// Go `BuildPostgresPasswordSecret`.
pub fn build_postgres_password_secret(shard: &ShardContext<'_>) -> Result<Secret, BuildError> {
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(password_secret_name(shard)?),
            namespace: Some(shard.namespace.to_owned()),
            labels: Some(postgres_password_secret_labels(
                &shard.cluster,
                &shard.labels,
            )),
            owner_references: Some(vec![shard.owner.clone()]),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            PASSWORD_KEY.to_owned(),
            ByteString(DEFAULT_PASSWORD.as_bytes().to_vec()),
        )])),
        ..Secret::default()
    })
}

/// The Secret's name, also referenced by the pool containers' environment.
pub fn password_secret_name(shard: &ShardContext<'_>) -> Result<String, BuildError> {
    postgres_password_secret_name(shard.name)
        .map(|name| name.into_string())
        .map_err(|source| BuildError::ObjectName {
            shard: shard.display_name(),
            object: "postgres password Secret",
            source,
        })
}
