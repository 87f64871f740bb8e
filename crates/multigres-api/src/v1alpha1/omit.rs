//! When a field is left out: the `skip_serializing_if` predicates that reproduce Go's
//! `encoding/json` `omitempty`, and the schema-only marker for Go value structs.
//!
//! Only field attributes refer to these functions; they carry no behaviour of their own.

/// Go `omitempty` on an `int64`: zero is left out.
pub(crate) fn is_zero_i64(value: &i64) -> bool {
    *value == 0
}

/// Go `omitempty` on an `int32`: zero is left out.
pub(crate) fn is_zero_i32(value: &i32) -> bool {
    *value == 0
}

/// Schema-only `skip_serializing_if` for fields holding a Go value struct (`resources`,
/// `storage`, `images`, ...).
///
/// Such a field is always written, like Go writes a value struct even when empty, and must
/// deserialize when absent, so it carries `#[serde(default)]`. schemars would then publish the
/// empty struct as the field's schema `default`, which the Go CRD does not have (the API server
/// would start filling `{}` in). Giving schemars, and only schemars (through
/// `#[schemars(skip_serializing_if = ...)]`), a predicate that skips every value keeps the field
/// optional while suppressing that default.
pub(crate) fn no_schema_default<T>(_: &T) -> bool {
    true
}
