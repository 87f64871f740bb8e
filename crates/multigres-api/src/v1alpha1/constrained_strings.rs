//! The validated string types of the v1alpha1 API (spec-api.md §2.1): logical names (databases,
//! table groups, shards, pools, cells), template and image references, zones, regions and
//! addresses, each a newtype whose JSON schema carries the Go named type's constraints.
//!
//! These types only wrap and publish constraints; the API server checks the schema, and the
//! webhook re-checks what a structural schema cannot (map keys). Deriving child object names from
//! them is `naming`'s job, not this module's.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The DNS-1123 label pattern shared by every logical name of the API (spec-api.md §2.1).
pub const DNS_LABEL_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// The loose IPv4-or-IPv6 pattern of `IPAddress` (spec-api.md §2.1), kept byte-identical to the Go
/// CRD; the validating webhook additionally parses each address.
pub const IP_ADDRESS_PATTERN: &str =
    r"^(([0-9]{1,3}\.){3}[0-9]{1,3})$|^(([0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4})$";

/// Declares a string newtype whose schema carries the constraints of the Go named type, so that
/// every field, list item and map value of that type is validated alike (spec-api.md §2.1; map
/// keys are never validated by a structural schema).
macro_rules! constrained_string {
    ($(#[$doc:meta])* $name:ident { $($key:literal : $value:expr),* $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a string without checking it; the API server checks the schema constraints.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// True when unset: Go's empty string, which `omitempty` leaves out of the JSON.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }

            /// The owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
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

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", $($key: $value),* })
            }
        }
    };
}

constrained_string! {
    /// Name of a logical database: a DNS-1123 label of at most 30 characters.
    DatabaseName { "minLength": 1, "maxLength": 30, "pattern": DNS_LABEL_PATTERN }
}

constrained_string! {
    /// Name of a table group within a database: a DNS-1123 label of at most 25 characters.
    TableGroupName { "minLength": 1, "maxLength": 25, "pattern": DNS_LABEL_PATTERN }
}

constrained_string! {
    /// Name of a shard within a table group: a DNS-1123 label of at most 25 characters.
    ShardName { "minLength": 1, "maxLength": 25, "pattern": DNS_LABEL_PATTERN }
}

constrained_string! {
    /// Name of a data pool within a shard. Pool names are only ever map keys, which a structural
    /// schema cannot constrain, so the webhook re-checks them (spec-api.md §11.5).
    PoolName { "minLength": 1, "maxLength": 25, "pattern": DNS_LABEL_PATTERN }
}

constrained_string! {
    /// Name of a cell (a failure domain): a DNS-1123 label of at most 30 characters.
    CellName { "minLength": 1, "maxLength": 30, "pattern": DNS_LABEL_PATTERN }
}

constrained_string! {
    /// Extra arguments for initdb, passed verbatim when a new data directory is initialised.
    InitdbArgs { "maxLength": 512 }
}

constrained_string! {
    /// An IPv4 or IPv6 address.
    IpAddress { "minLength": 3, "maxLength": 45, "pattern": IP_ADDRESS_PATTERN }
}

constrained_string! {
    /// A cloud provider availability zone, matched against `topology.kubernetes.io/zone`.
    Zone { "minLength": 1, "maxLength": 63 }
}

constrained_string! {
    /// A cloud provider region, matched against `topology.kubernetes.io/region`.
    Region { "minLength": 1, "maxLength": 63 }
}

constrained_string! {
    /// Name of a CoreTemplate, CellTemplate or ShardTemplate in the cluster's namespace.
    TemplateRef { "minLength": 1, "maxLength": 63 }
}

constrained_string! {
    /// A container image reference.
    ImageRef { "minLength": 1, "maxLength": 512 }
}

constrained_string! {
    /// A client URL of an external topology server.
    EndpointUrl { "minLength": 1, "maxLength": 2048 }
}
