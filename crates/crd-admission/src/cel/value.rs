//! Decoded JSON → CEL values, typed by the structural schema the way the API
//! server's `UnstructuredToVal` types them (`k8s.io/apiserver/pkg/cel/common/values.go`).
//!
//! Place: used by `cel::evaluate` to bind `self` and `oldSelf`. Declared property
//! names are escaped (`Escape` in `k8s.io/apiserver/pkg/cel/escaping.go`:
//! reserved words → `__word__`, `__` → `__underscores__`, `.` `-` `/` →
//! `__dot__` `__dash__` `__slash__`; names that cannot be escaped are not
//! accessible), map keys (`additionalProperties`) are not. `number` is always a
//! double; `date`, `date-time`, `duration` and `byte` strings become timestamps,
//! durations and bytes. The resource root and embedded resources expose only
//! `apiVersion`, `kind` and `metadata.{name,generateName}` besides their properties
//! (`WithTypeAndObjectMeta`).
//!
//! Must not: evaluate rules, read the clock.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use kube_cel::cel::Value as CelValue;
use kube_cel::cel::objects::{Key, Map};
use serde_json::Value;

use crate::crd_schema::structural::Schema;

/// CEL's reserved identifiers that Kubernetes escapes as `__word__`.
const RESERVED: [&str; 21] = [
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// Converts `value` typed by `schema`; `resource_root` adds the implicit type and
/// object meta fields of a resource.
pub(crate) fn to_cel(value: &Value, schema: &Schema, resource_root: bool) -> CelValue {
    if value.is_null() {
        return CelValue::Null;
    }
    if schema.int_or_string {
        return plain(value);
    }
    match schema.type_name() {
        "object" => object_to_cel(value, schema, resource_root || schema.embedded_resource),
        "array" => match (value.as_array(), schema.items.as_deref()) {
            (Some(items), Some(item_schema)) => CelValue::List(Arc::new(
                items
                    .iter()
                    .map(|item| to_cel(item, item_schema, false))
                    .collect(),
            )),
            _ => plain(value),
        },
        "string" => match value.as_str() {
            Some(s) => string_to_cel(s, schema.format.as_deref()),
            None => plain(value),
        },
        "number" => match value.as_f64() {
            Some(f) => CelValue::Float(f),
            None => plain(value),
        },
        "integer" => match value {
            Value::Number(n) => match n.as_i64() {
                Some(i) => CelValue::Int(i),
                None => match n.as_u64() {
                    Some(u) => CelValue::UInt(u),
                    None => plain(value),
                },
            },
            _ => plain(value),
        },
        _ => plain(value),
    }
}

fn object_to_cel(value: &Value, schema: &Schema, with_type_meta: bool) -> CelValue {
    let Some(obj) = value.as_object() else {
        return plain(value);
    };
    let mut map: HashMap<Key, CelValue> = HashMap::new();
    if with_type_meta || !schema.properties.is_empty() {
        for (name, prop_schema) in &schema.properties {
            if with_type_meta && matches!(name.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            if let (Some(v), Some(escaped)) = (obj.get(name), escape(name)) {
                map.insert(Key::from(escaped), to_cel(v, prop_schema, false));
            }
        }
        if with_type_meta {
            for field in ["apiVersion", "kind"] {
                if let Some(s) = obj.get(field).and_then(Value::as_str) {
                    map.insert(Key::from(field), CelValue::String(Arc::new(s.to_owned())));
                }
            }
            if let Some(meta) = obj.get("metadata").and_then(Value::as_object) {
                let mut meta_map: HashMap<Key, CelValue> = HashMap::new();
                for field in ["name", "generateName"] {
                    if let Some(s) = meta.get(field).and_then(Value::as_str) {
                        meta_map.insert(Key::from(field), CelValue::String(Arc::new(s.to_owned())));
                    }
                }
                map.insert(Key::from("metadata"), CelValue::Map(Map::from(meta_map)));
            }
        }
    } else if let Some(value_schema) = schema.additional_schema() {
        for (k, v) in obj {
            map.insert(Key::from(k.as_str()), to_cel(v, value_schema, false));
        }
    } else if schema.preserve_unknown_fields || schema.additional_properties.is_some() {
        // Unknown content is not typed by the schema: expose it as plain JSON.
        for (k, v) in obj {
            map.insert(Key::from(k.as_str()), plain(v));
        }
    }
    CelValue::Map(Map::from(map))
}

fn string_to_cel(s: &str, format: Option<&str>) -> CelValue {
    let converted = match format {
        Some("duration") => parse_go_duration(s).map(CelValue::Duration),
        Some("date") => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|dt| CelValue::Timestamp(dt.and_utc().fixed_offset())),
        Some("date-time" | "datetime") => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(CelValue::Timestamp),
        Some("byte") => base64::engine::general_purpose::STANDARD
            .decode(s)
            .ok()
            .map(|b| CelValue::Bytes(Arc::new(b))),
        _ => None,
    };
    converted.unwrap_or_else(|| CelValue::String(Arc::new(s.to_owned())))
}

/// Untyped conversion for int-or-string and schema-less (preserved) content.
fn plain(value: &Value) -> CelValue {
    match value {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => CelValue::Int(i),
            (None, Some(u), _) => CelValue::UInt(u),
            (None, None, Some(f)) => CelValue::Float(f),
            (None, None, None) => CelValue::Null,
        },
        Value::String(s) => CelValue::String(Arc::new(s.clone())),
        Value::Array(items) => CelValue::List(Arc::new(items.iter().map(plain).collect())),
        Value::Object(obj) => {
            let map: HashMap<Key, CelValue> = obj
                .iter()
                .map(|(k, v)| (Key::from(k.as_str()), plain(v)))
                .collect();
            CelValue::Map(Map::from(map))
        }
    }
}

/// `Escape`: the CEL name of a declared property, `None` when it is not accessible.
fn escape(ident: &str) -> Option<String> {
    let first = ident.chars().next()?;
    if first.is_ascii_digit() {
        return None;
    }
    if RESERVED.contains(&ident) {
        return Some(format!("__{ident}__"));
    }
    let mut out = String::with_capacity(ident.len());
    let mut chars = ident.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '_' if chars.peek() == Some(&'_') => {
                chars.next();
                out.push_str("__underscores__");
            }
            '.' => out.push_str("__dot__"),
            '-' => out.push_str("__dash__"),
            '/' => out.push_str("__slash__"),
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` with units
/// ns, us, µs, ms, s, m, h; `0` alone is allowed.
pub(crate) fn parse_go_duration(input: &str) -> Option<chrono::Duration> {
    let (negative, mut rest) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if rest == "0" {
        return Some(chrono::Duration::zero());
    }
    if rest.is_empty() {
        return None;
    }
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." {
            return None;
        }
        let amount: f64 = number.parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total_nanos += amount * scale;
    }
    if total_nanos > i64::MAX as f64 {
        return None;
    }
    let nanos = total_nanos.round() as i64;
    Some(chrono::Duration::nanoseconds(if negative {
        -nanos
    } else {
        nanos
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn escapes_names_like_the_api_server() {
        let cases = [
            ("replicas", Some("replicas")),
            ("namespace", Some("__namespace__")),
            ("x-y", Some("x__dash__y")),
            ("a.b/c", Some("a__dot__b__slash__c")),
            ("my_field", Some("my_field")),
            ("a__b", Some("a__underscores__b")),
            ("1st", None),
            ("sp ace", None),
        ];
        for (name, escaped) in cases {
            assert_eq!(escape(name).as_deref(), escaped, "{name}");
        }
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(
            parse_go_duration("1h30m"),
            Some(chrono::Duration::minutes(90))
        );
        assert_eq!(
            parse_go_duration("-1.5s"),
            Some(chrono::Duration::milliseconds(-1500))
        );
        assert_eq!(parse_go_duration("0"), Some(chrono::Duration::zero()));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("3d"), None);
    }
}
