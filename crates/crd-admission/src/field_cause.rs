//! Field-level validation causes, rendered exactly as the API server renders them.
//!
//! Place: shared vocabulary of the CRD engine and kubesim's pure `semantics/` layer. The CRD engine
//! (`crd_schema`, `cel`) and the core helper's built-in validation both build
//! [`FieldCause`]s here, and the HTTP layer copies them into a 422 `Status`
//! (`details.causes[]`) with [`invalid_message`] as its `message`.
//!
//! The wording follows `k8s.io/apimachinery/pkg/util/validation/field` (v0.33):
//! a cause's `message` is Go's `Error.ErrorBody()` (`Invalid value: 200: <detail>`),
//! its `reason` is the `ErrorType` (`FieldValueInvalid`, ...), and its `field` the
//! rendered `field.Path` (`spec.cells[0].name`, `spec.labels[app]`, `<nil>` for the
//! root). Bad values are printed the way Go's `%v`/`%q`/`%#v` print the decoded JSON
//! (`int64`, `float64`, `string`, `map[string]interface {}`, ...).
//!
//! Must not: know about HTTP, clocks or stores; invent messages the API server
//! does not produce.

use std::fmt;

use serde_json::Value;

/// One field-level problem, as it appears in a `Status`'s `details.causes[]`.
///
/// `message` is the body without the field prefix (Go's `ErrorBody()`), so the
/// full line is `format!("{field}: {message}")` ([`fmt::Display`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldCause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, ...
    pub reason: String,
    /// The rendered field path, e.g. `spec.replicas` or `<nil>` for the object root.
    pub field: String,
    /// The error body, e.g. `Invalid value: 200: spec.replicas in body should be ...`.
    pub message: String,
}

/// Go's `field.ErrorType` values (the `reason` of a cause) with their display text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrorType {
    NotFound,
    Required,
    Duplicate,
    Invalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
    TypeInvalid,
}

impl ErrorType {
    fn reason(self) -> &'static str {
        match self {
            ErrorType::NotFound => "FieldValueNotFound",
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::Internal => "InternalError",
            ErrorType::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    fn text(self) -> &'static str {
        match self {
            ErrorType::NotFound => "Not found",
            ErrorType::Required => "Required value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Invalid | ErrorType::TypeInvalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Internal => "Internal error",
        }
    }
}

impl FieldCause {
    /// Builds a cause the way `ErrorBody()` does: types that never show their value
    /// (`Required`, `Forbidden`, `TooLong`, `Internal`) print only the type text,
    /// the others print `<type text>: <value>`; a non-empty detail is appended.
    fn build(kind: ErrorType, field: &FieldPath, value: Option<&str>, detail: &str) -> Self {
        let mut message = match value {
            Some(rendered) => format!("{}: {rendered}", kind.text()),
            None => kind.text().to_owned(),
        };
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(detail);
        }
        FieldCause {
            reason: kind.reason().to_owned(),
            field: field.to_string(),
            message,
        }
    }

    /// `field.Invalid(path, value, detail)` with a value decoded from JSON.
    pub fn invalid(field: &FieldPath, value: &Value, detail: &str) -> Self {
        Self::build(
            ErrorType::Invalid,
            field,
            Some(&render_bad_value(value)),
            detail,
        )
    }

    /// `field.Invalid` with a value already rendered the way Go would print it
    /// (for Go-typed values such as a CEL rule's schema type or a CRD version list).
    pub fn invalid_rendered(field: &FieldPath, rendered: &str, detail: &str) -> Self {
        Self::build(ErrorType::Invalid, field, Some(rendered), detail)
    }

    /// `field.TypeInvalid(path, value, detail)`: reason `FieldValueTypeInvalid`,
    /// displayed as `Invalid value`.
    pub fn type_invalid(field: &FieldPath, value: &Value, detail: &str) -> Self {
        Self::build(
            ErrorType::TypeInvalid,
            field,
            Some(&render_bad_value(value)),
            detail,
        )
    }

    /// `field.Required(path, detail)`.
    pub fn required(field: &FieldPath, detail: &str) -> Self {
        Self::build(ErrorType::Required, field, None, detail)
    }

    /// `field.Forbidden(path, detail)`.
    pub fn forbidden(field: &FieldPath, detail: &str) -> Self {
        Self::build(ErrorType::Forbidden, field, None, detail)
    }

    /// `field.NotFound(path, value)`.
    pub fn not_found(field: &FieldPath, value: &Value) -> Self {
        Self::build(
            ErrorType::NotFound,
            field,
            Some(&render_bad_value(value)),
            "",
        )
    }

    /// `field.Duplicate(path, value)`.
    pub fn duplicate(field: &FieldPath, value: &Value) -> Self {
        Self::build(
            ErrorType::Duplicate,
            field,
            Some(&render_bad_value(value)),
            "",
        )
    }

    /// `field.Duplicate` with a Go-rendered value (a CEL rule's schema type).
    pub fn duplicate_rendered(field: &FieldPath, rendered: &str) -> Self {
        Self::build(ErrorType::Duplicate, field, Some(rendered), "")
    }

    /// `field.NotSupported(path, value, supported)`: every supported value is quoted
    /// (`supported values: "a", "b"`).
    pub fn not_supported<S: AsRef<str>>(field: &FieldPath, value: &Value, supported: &[S]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| go_quote(s.as_ref())).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::build(
            ErrorType::NotSupported,
            field,
            Some(&render_bad_value(value)),
            &detail,
        )
    }

    /// `field.TooLong(path, _, max)`: the value is never shown.
    pub fn too_long(field: &FieldPath, max_length: Option<i64>) -> Self {
        let detail = match max_length {
            Some(max) if max >= 0 => {
                format!(
                    "may not be more than {max} {}",
                    if max == 1 { "byte" } else { "bytes" }
                )
            }
            _ => "value is too long".to_owned(),
        };
        Self::build(ErrorType::TooLong, field, None, &detail)
    }

    /// `field.TooMany(path, actual, max)`; both quantities are optional like Go's `-1`.
    pub fn too_many(field: &FieldPath, actual: Option<i64>, max: Option<i64>) -> Self {
        let detail = match max {
            Some(max) if max >= 0 => format!("must have at most {max} items"),
            _ => "has too many items".to_owned(),
        };
        let rendered = actual.filter(|a| *a >= 0).map(|a| a.to_string());
        Self::build(ErrorType::TooMany, field, rendered.as_deref(), &detail)
    }

    /// `field.InternalError(path, err)`.
    pub fn internal(field: &FieldPath, detail: &str) -> Self {
        Self::build(ErrorType::Internal, field, None, detail)
    }

    /// True for the cause types after which apiextensions skips CEL evaluation
    /// (`hasBlockingErr` in `registry/customresource/strategy.go`).
    pub fn blocks_cel(&self) -> bool {
        [
            ErrorType::NotSupported,
            ErrorType::Required,
            ErrorType::TooLong,
            ErrorType::TooMany,
            ErrorType::TypeInvalid,
        ]
        .iter()
        .any(|t| t.reason() == self.reason)
    }
}

impl fmt::Display for FieldCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A `field.Path` under construction. The root renders as `<nil>` (Go prints a
/// nil `*field.Path` that way, and root-level CEL rule failures show it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath {
    rendered: String,
}

impl FieldPath {
    /// The object root (`<nil>` when rendered).
    pub fn root() -> Self {
        FieldPath::default()
    }

    /// `field.NewPath(name)`.
    pub fn new(name: &str) -> Self {
        FieldPath::root().child(name)
    }

    /// `.Child(name)`: `a.b`. The name is appended verbatim, dots included, as Go does
    /// when kube-openapi hands apiextensions a whole dotted path.
    pub fn child(&self, name: &str) -> Self {
        let rendered = if self.rendered.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.rendered)
        };
        FieldPath { rendered }
    }

    /// `.Index(i)`: `a[0]`.
    pub fn index(&self, index: usize) -> Self {
        FieldPath {
            rendered: format!("{}[{index}]", self.rendered),
        }
    }

    /// `.Key(k)`: `a[k]` (unquoted, as Go renders map keys).
    pub fn key(&self, key: &str) -> Self {
        FieldPath {
            rendered: format!("{}[{key}]", self.rendered),
        }
    }

    /// True for the root path.
    pub fn is_root(&self) -> bool {
        self.rendered.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rendered.is_empty() {
            f.write_str("<nil>")
        } else {
            f.write_str(&self.rendered)
        }
    }
}

/// The API server's 422 message: `<Kind>.<group> "<name>" is invalid: <causes>`.
///
/// One cause prints bare, several print as `[c1, c2]`; identical lines are printed
/// once (`ErrorList.ToAggregate`). An empty group prints just the kind (core kinds).
pub fn invalid_message(kind: &str, group: &str, name: &str, causes: &[FieldCause]) -> String {
    let qualified = if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    };
    let name = go_quote(name);
    match aggregate(causes) {
        Some(joined) => format!("{qualified} {name} is invalid: {joined}"),
        None => format!("{qualified} {name} is invalid"),
    }
}

/// `ErrorList.ToAggregate().Error()`: de-duplicated lines, bare when only one.
pub fn aggregate(causes: &[FieldCause]) -> Option<String> {
    let mut lines: Vec<String> = Vec::with_capacity(causes.len());
    for cause in causes {
        let line = cause.to_string();
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    match lines.len() {
        0 => None,
        1 => lines.pop(),
        _ => Some(format!("[{}]", lines.join(", "))),
    }
}

/// Renders a decoded JSON value as `ErrorBody()` prints a bad value: numbers and
/// booleans with `%v`, strings with `%q`, `null` as `"null"`, objects and arrays
/// with `%#v` (`map[string]interface {}{"name":"a"}`).
pub fn render_bad_value(value: &Value) -> String {
    match value {
        Value::Null => go_quote("null"),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => go_quote(s),
        Value::Array(_) | Value::Object(_) => go_sharp_v(value),
    }
}

/// Go's `%#v` of an `interface{}` holding decoded JSON.
pub fn go_sharp_v(value: &Value) -> String {
    match value {
        Value::Null => "interface {}(nil)".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => go_quote(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_sharp_v).collect();
            format!("[]interface {{}}{{{}}}", inner.join(", "))
        }
        Value::Object(map) => {
            // Go's fmt sorts map keys when printing.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", go_quote(k), go_sharp_v(&map[k.as_str()])))
                .collect();
            format!("map[string]interface {{}}{{{}}}", inner.join(", "))
        }
    }
}

/// A JSON number as Go prints the `int64`/`float64` apimachinery decodes it into.
pub fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(f) = n.as_f64() {
        go_float(f)
    } else {
        n.to_string()
    }
}

/// Go's `%v` of a `float64`: shortest representation, exponent form (`1e+21`,
/// `1e-05`) when the decimal exponent is below -4 or at least 21.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if f == 0.0 {
        return "0".to_owned();
    }
    let exponent = f.abs().log10().floor() as i32;
    if (-4..21).contains(&exponent) {
        // Rust's Display is the shortest round-trip form without an exponent.
        format!("{f}")
    } else {
        let sci = format!("{f:e}");
        match sci.split_once('e') {
            Some((mantissa, exp)) => {
                let (sign, digits) = match exp.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', exp),
                };
                let padded = if digits.len() < 2 {
                    format!("0{digits}")
                } else {
                    digits.to_owned()
                };
                format!("{mantissa}e{sign}{padded}")
            }
            None => sci,
        }
    }
}

/// Go's `strconv.Quote` (the `go-format` crate's, shared by the whole workspace).
pub use go_format::quote as go_quote;

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn causes_render_like_go_field_errors() {
        let replicas = FieldPath::new("spec").child("replicas");
        let cases: Vec<(FieldCause, &str, &str)> = vec![
            (
                FieldCause::invalid(
                    &replicas,
                    &json!(200),
                    "spec.replicas in body should be less than or equal to 128",
                ),
                "FieldValueInvalid",
                "spec.replicas: Invalid value: 200: spec.replicas in body should be less than or equal to 128",
            ),
            (
                FieldCause::required(&FieldPath::new("spec").child("y"), ""),
                "FieldValueRequired",
                "spec.y: Required value",
            ),
            (
                FieldCause::not_supported(
                    &FieldPath::new("spec").child("x"),
                    &json!("foo"),
                    &["a", "b"],
                ),
                "FieldValueNotSupported",
                r#"spec.x: Unsupported value: "foo": supported values: "a", "b""#,
            ),
            (
                FieldCause::too_many(&FieldPath::new("spec").child("items"), Some(3), Some(2)),
                "FieldValueTooMany",
                "spec.items: Too many: 3: must have at most 2 items",
            ),
            (
                FieldCause::too_long(&FieldPath::new("spec").child("name"), Some(5)),
                "FieldValueTooLong",
                "spec.name: Too long: may not be more than 5 bytes",
            ),
            (
                FieldCause::duplicate(
                    &FieldPath::new("spec").child("cells").index(1),
                    &json!({"name": "a"}),
                ),
                "FieldValueDuplicate",
                r#"spec.cells[1]: Duplicate value: map[string]interface {}{"name":"a"}"#,
            ),
            (
                FieldCause::invalid_rendered(&FieldPath::root(), "\"object\"", "must be odd"),
                "FieldValueInvalid",
                r#"<nil>: Invalid value: "object": must be odd"#,
            ),
            (
                FieldCause::type_invalid(&replicas, &json!("string"), "x"),
                "FieldValueTypeInvalid",
                r#"spec.replicas: Invalid value: "string": x"#,
            ),
        ];
        for (cause, reason, line) in cases {
            assert_eq!(cause.reason, reason);
            assert_eq!(cause.to_string(), line);
        }
    }

    #[test]
    fn paths_render_like_go_field_paths() {
        let path = FieldPath::new("spec")
            .child("pools")
            .key("main")
            .child("cells")
            .index(2);
        assert_eq!(path.to_string(), "spec.pools[main].cells[2]");
        assert_eq!(FieldPath::root().to_string(), "<nil>");
        assert_eq!(FieldPath::root().index(0).to_string(), "[0]");
    }

    #[test]
    fn bad_values_render_like_go_fmt() {
        let cases = [
            (json!(null), r#""null""#),
            (json!(true), "true"),
            (json!(-7), "-7"),
            (json!(1.5), "1.5"),
            (json!(1e21), "1e+21"),
            (json!(0.00001), "1e-05"),
            (json!(100000.0), "100000"),
            (json!("a\"b\n"), r#""a\"b\n""#),
            (json!(["x", 1]), r#"[]interface {}{"x", 1}"#),
            (
                json!({"b": 1, "a": null}),
                r#"map[string]interface {}{"a":interface {}(nil), "b":1}"#,
            ),
        ];
        for (value, rendered) in cases {
            assert_eq!(render_bad_value(&value), rendered, "{value}");
        }
    }

    #[test]
    fn invalid_message_joins_causes_like_an_aggregate() {
        let one = FieldCause::required(&FieldPath::new("spec").child("y"), "");
        let two = FieldCause::invalid(&FieldPath::new("spec").child("x"), &json!(""), "bad");
        assert_eq!(
            invalid_message("Widget", "example.com", "demo", std::slice::from_ref(&one)),
            r#"Widget.example.com "demo" is invalid: spec.y: Required value"#
        );
        assert_eq!(
            invalid_message(
                "Widget",
                "example.com",
                "demo",
                &[one.clone(), two, one.clone()]
            ),
            r#"Widget.example.com "demo" is invalid: [spec.y: Required value, spec.x: Invalid value: "": bad]"#
        );
        assert_eq!(
            invalid_message("Pod", "", "p", &[]),
            r#"Pod "p" is invalid"#
        );
    }
}
