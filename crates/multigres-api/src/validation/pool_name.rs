//! Pool names (Go `ValidatePoolName`, spec-api.md §11.5). Pools are map keys, which a CRD's
//! structural schema cannot constrain, so the webhook checks them: DNS-1123 labels of at most
//! 25 bytes (pool pod and Service names are built from them).

use thiserror::Error;

use crate::v1alpha1::ShardTemplateSpec;

use super::field_error::{FieldError, FieldPath};

/// Maximum byte length of a pool name.
pub const POOL_NAME_MAX_LENGTH: usize = 25;

/// Why a pool name is rejected; the messages are Go's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PoolNameError {
    /// Empty, or longer than 25 bytes.
    #[error("pool name '{name}' must be between 1 and 25 characters")]
    Length {
        /// The rejected name.
        name: String,
    },
    /// Not a DNS-1123 label.
    #[error(
        "pool name '{name}' is invalid: must consist of lowercase alphanumeric characters or \
         '-', and must start and end with an alphanumeric character"
    )]
    Format {
        /// The rejected name.
        name: String,
    },
}

/// Go `ValidatePoolName`: length 1..=25 (bytes), then `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`.
pub fn validate_pool_name(name: &str) -> Result<(), PoolNameError> {
    if name.is_empty() || name.len() > POOL_NAME_MAX_LENGTH {
        return Err(PoolNameError::Length {
            name: name.to_owned(),
        });
    }
    let alphanumeric = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = name.as_bytes();
    let edges_ok =
        bytes.first().is_some_and(alphanumeric) && bytes.last().is_some_and(alphanumeric);
    if !edges_ok || !bytes.iter().all(|b| alphanumeric(b) || *b == b'-') {
        return Err(PoolNameError::Format {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// The ShardTemplate check of the template webhook (spec-api.md §12.5): every pool name of
/// `spec.pools`, all reported, in name order.
pub fn validate_shard_template_pools(spec: &ShardTemplateSpec) -> Vec<FieldError> {
    let pools = FieldPath::spec().field("pools");
    spec.pools
        .keys()
        .filter_map(|name| {
            validate_pool_name(name.as_str())
                .err()
                .map(|error| FieldError::new(pools.key(name.as_str()), error.to_string()))
        })
        .collect()
}
