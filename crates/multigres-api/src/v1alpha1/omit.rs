//! When a field is left out: the `skip_serializing_if` predicates that reproduce Go's
//! `encoding/json` `omitempty`, and the schema-only marker for Go value structs.
//!
//! Only field attributes refer to these functions; they carry no behaviour of their own.
//!
//! The reverse direction, a field missing from the JSON we read, needs no function. Go's
//! `encoding/json` decodes a missing field as its zero value, even one the CRD marks `required`
//! (status `orchReady`, `readyShards`, ...), and a status may be written in parts. So such fields
//! carry `#[serde(default)]` for decoding and `#[schemars(!default)]`. The second attribute hides
//! the serde default from schemars, which would otherwise drop the field from the schema's
//! `required` list and publish a `default` the Go CRD does not have.

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
