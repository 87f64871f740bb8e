//! Field sets: the sets of paths a manager owns, and their `FieldsV1` encoding.
//!
//! Place: the data structure under `ssa`. It mirrors structured-merge-diff's `fieldpath.Set`: a
//! trie whose nodes hold *members* (paths in the set) and *children* (paths below), ordered the
//! way Kubernetes orders them, so that serialisation is byte-for-byte what the API server writes:
//! `f:<field>`, `k:{"key":value,...}` (key fields sorted by name), `v:<json>` for set items,
//! `i:<n>` for indices, and `".": {}` for a node that is itself a member and has children.
//! Conflict paths print as `.spec.x`, `[name="a"]`, `[="v"]`, `[0]`.
//!
//! Must not: know about schemas or objects (see `structured`), or allocate empty child nodes (a
//! child is present only while it holds something).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::semantics::field_cause::{go_float, go_quote};

/// One step of a path.
#[derive(Clone, Debug)]
pub enum PathElement {
    /// A field of an object: `f:name`, `.name`.
    Field(String),
    /// An item of a list map, by its key fields sorted by name: `k:{...}`, `[a="x",b=1]`.
    Key(Vec<(String, Value)>),
    /// An item of a set, by value: `v:"x"`, `[="x"]`.
    Value(Value),
    /// An item of a list by position: `i:0`, `[0]`.
    Index(usize),
}

impl PathElement {
    /// structured-merge-diff's order: fields, then keys, then values, then indices.
    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }

    /// The `FieldsV1` key of this element.
    pub fn to_fields_v1_key(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(fields) => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|(name, value)| format!("{}:{}", go_json_string(name), go_json(value)))
                    .collect();
                format!("k:{{{}}}", inner.join(","))
            }
            PathElement::Value(value) => format!("v:{}", go_json(value)),
            PathElement::Index(index) => format!("i:{index}"),
        }
    }

    /// Parses a `FieldsV1` key; `Ok(None)` for an unknown prefix, which Kubernetes skips.
    pub fn from_fields_v1_key(key: &str) -> Result<Option<PathElement>, String> {
        let Some((prefix, rest)) = key.split_once(':') else {
            return if key.len() < 2 {
                Err("key must be 2 characters long:".to_owned())
            } else {
                Err(format!("missing colon: {key}"))
            };
        };
        if prefix.len() != 1 {
            return Err(format!("missing colon: {key}"));
        }
        match prefix {
            "f" => Ok(Some(PathElement::Field(rest.to_owned()))),
            "v" => serde_json::from_str(rest)
                .map(|value| Some(PathElement::Value(value)))
                .map_err(|err| format!("parsing {key}: {err}")),
            "k" => {
                let parsed: Map<String, Value> =
                    serde_json::from_str(rest).map_err(|err| format!("parsing {key}: {err}"))?;
                let mut fields: Vec<(String, Value)> = parsed.into_iter().collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(Some(PathElement::Key(fields)))
            }
            "i" => rest
                .parse::<usize>()
                .map(|index| Some(PathElement::Index(index)))
                .map_err(|err| format!("parsing {key}: {err}")),
            _ => Ok(None),
        }
    }
}

impl std::fmt::Display for PathElement {
    /// structured-merge-diff's `PathElement.String()`, used in conflict messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|(name, value)| format!("{name}={}", value_to_string(value)))
                    .collect();
                write!(f, "[{}]", inner.join(","))
            }
            PathElement::Value(value) => write!(f, "[={}]", value_to_string(value)),
            PathElement::Index(index) => write!(f, "[{index}]"),
        }
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => compare_key_fields(a, b),
            (PathElement::Value(a), PathElement::Value(b)) => compare_values(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// `FieldList.Compare`: element by element (name, then value), shorter first.
fn compare_key_fields(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let by_name = x.0.cmp(&y.0);
        if by_name != Ordering::Equal {
            return by_name;
        }
        let by_value = compare_values(&x.1, &y.1);
        if by_value != Ordering::Equal {
            return by_value;
        }
    }
    a.len().cmp(&b.len())
}

/// structured-merge-diff's `value.Compare`: numbers (compared numerically), then strings,
/// booleans, lists, maps, and `null` last.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
            Value::Null => 5,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => {
                let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                x.partial_cmp(&y).unwrap_or(Ordering::Equal)
            }
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (x, y) in x.iter().zip(y) {
                let c = compare_values(x, y);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            // MapCompare: walk the union of keys in lexical order.
            if x.is_empty() && y.is_empty() {
                return Ordering::Equal;
            }
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for (i, key) in keys.into_iter().enumerate() {
                let c = if i == x.len() {
                    Ordering::Less
                } else if i == y.len() {
                    Ordering::Greater
                } else {
                    match (x.get(key), y.get(key)) {
                        (None, _) => Ordering::Greater,
                        (_, None) => Ordering::Less,
                        (Some(x), Some(y)) => compare_values(x, y),
                    }
                };
                if c != Ordering::Equal {
                    return c;
                }
            }
            Ordering::Equal
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// structured-merge-diff's `value.ToString`: strings quoted, maps as `k=v` pairs.
fn value_to_string(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => go_float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => go_quote(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(value_to_string).collect();
            format!("[{}]", inner.join(","))
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", value_to_string(v)))
            .collect(),
    }
}

/// JSON as Go's `encoding/json` writes it (what jsoniter's standard-library mode produces): map
/// keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped.
pub fn go_json(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => go_json_string(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_json).collect();
            format!("[{}]", inner.join(","))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", go_json_string(k), go_json(&map[k.as_str()])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
    }
}

/// A JSON string literal as `json.Marshal` writes it (HTML-safe; the `go-format` crate's).
pub use go_format::json_string as go_json_string;

/// A path from the object root.
pub type Path = Vec<PathElement>;

/// Renders a path as structured-merge-diff does (`.spec.containers[name="a"].image`).
pub fn path_to_string(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// A set of paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        FieldSet::default()
    }

    /// Whether the set holds no path.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// Adds `path` (the empty path is ignored: the root is never a member).
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Adds `element` as a member of this node.
    pub fn insert_member(&mut self, element: PathElement) {
        self.members.insert(element);
    }

    /// Sets the subtree under `element` (dropped when empty).
    pub fn set_child(&mut self, element: PathElement, child: FieldSet) {
        if child.is_empty() {
            self.children.remove(&element);
        } else {
            self.children.insert(element, child);
        }
    }

    /// Whether `path` is in the set.
    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// Whether `element` is a member of this node.
    pub fn has_member(&self, element: &PathElement) -> bool {
        self.members.contains(element)
    }

    /// The subtree under `element`, if any.
    pub fn child(&self, element: &PathElement) -> Option<&FieldSet> {
        self.children.get(element)
    }

    /// This node's members.
    pub fn members(&self) -> impl Iterator<Item = &PathElement> {
        self.members.iter()
    }

    /// This node's children.
    pub fn children(&self) -> impl Iterator<Item = (&PathElement, &FieldSet)> {
        self.children.iter()
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (element, child) in &other.children {
            let merged = match out.children.get(element) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(element.clone(), merged);
        }
        out
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.intersection(&other.members).cloned().collect();
        for (element, child) in &self.children {
            if let Some(theirs) = other.children.get(element) {
                out.set_child(element.clone(), child.intersection(theirs));
            }
        }
        out
    }

    /// Paths in `self` but not in `other` (a member of `other` does not remove paths below it).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.difference(&other.members).cloned().collect();
        for (element, child) in &self.children {
            match other.children.get(element) {
                Some(theirs) => out.set_child(element.clone(), child.difference(theirs)),
                None => out.set_child(element.clone(), child.clone()),
            }
        }
        out
    }

    /// Every path, in structured-merge-diff's iteration order: a node's members first, then
    /// each child's paths.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        for member in &self.members {
            let mut path = prefix.clone();
            path.push(member.clone());
            out.push(path);
        }
        for (element, child) in &self.children {
            prefix.push(element.clone());
            child.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The `FieldsV1` JSON of the set.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self && !self.is_empty() {
            out.insert(".".to_owned(), Value::Object(Map::new()));
        }
        let elements: BTreeSet<&PathElement> =
            self.members.iter().chain(self.children.keys()).collect();
        for element in elements {
            let value = match self.children.get(element) {
                Some(child) => child.emit(self.members.contains(element)),
                None => Map::new(),
            };
            out.insert(element.to_fields_v1_key(), Value::Object(value));
        }
        out
    }

    /// Parses `FieldsV1` JSON.
    pub fn from_fields_v1(fields: &Value) -> Result<FieldSet, String> {
        let Value::Object(map) = fields else {
            return Err(format!("FieldsV1 must be an object, got {fields}"));
        };
        let (set, _) = Self::read(map)?;
        Ok(set)
    }

    /// Reads one node: its children and whether it is itself a member (`.` or no children).
    fn read(map: &Map<String, Value>) -> Result<(FieldSet, bool), String> {
        let mut set = FieldSet::new();
        let mut is_member = false;
        for (key, value) in map {
            if key == "." {
                is_member = true;
                continue;
            }
            let Some(element) = PathElement::from_fields_v1_key(key)? else {
                continue;
            };
            let Value::Object(inner) = value else {
                return Err(format!("FieldsV1 entry {key} must be an object"));
            };
            let (child, child_is_member) = Self::read(inner)?;
            if child_is_member {
                set.members.insert(element.clone());
            }
            set.set_child(element, child);
        }
        if set.is_empty() {
            is_member = true;
        }
        Ok((set, is_member))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn field(name: &str) -> PathElement {
        PathElement::Field(name.to_owned())
    }

    fn key(pairs: &[(&str, Value)]) -> PathElement {
        let mut fields: Vec<(String, Value)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        PathElement::Key(fields)
    }

    #[test]
    fn fields_v1_encodes_members_children_and_self_markers() {
        let mut set = FieldSet::new();
        let container = key(&[("name", json!("app"))]);
        let port = key(&[("protocol", json!("TCP")), ("containerPort", json!(80))]);
        set.insert(&[field("metadata"), field("labels"), field("app")]);
        set.insert(&[field("spec"), field("containers"), container.clone()]);
        set.insert(&[
            field("spec"),
            field("containers"),
            container.clone(),
            field("image"),
        ]);
        set.insert(&[
            field("spec"),
            field("containers"),
            container.clone(),
            field("ports"),
            port.clone(),
        ]);
        set.insert(&[
            field("metadata"),
            field("finalizers"),
            PathElement::Value(json!("a<b")),
        ]);
        set.insert(&[field("spec"), field("replicas")]);
        let encoded = set.to_fields_v1();
        assert_eq!(
            serde_json::to_string(&encoded).expect("a JSON value serialises"),
            concat!(
                r#"{"f:metadata":{"f:finalizers":{"v:\"a\\u003cb\"":{}},"f:labels":{"f:app":{}}},"#,
                r#""f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"#,
                r#""f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{}}}},"f:replicas":{}}}"#
            )
        );
        assert_eq!(FieldSet::from_fields_v1(&encoded), Ok(set));
    }

    #[test]
    fn paths_iterate_members_before_children_and_print_like_smd() {
        let mut set = FieldSet::new();
        set.insert(&[field("spec"), field("y")]);
        set.insert(&[field("spec"), field("x")]);
        set.insert(&[field("spec"), field("list"), PathElement::Value(json!("v"))]);
        set.insert(&[field("spec"), field("list"), PathElement::Index(2)]);
        set.insert(&[
            field("spec"),
            field("c"),
            key(&[("name", json!("a")), ("port", json!(1))]),
        ]);
        set.insert(&[field("a")]);
        let printed: Vec<String> = set.paths().iter().map(|p| path_to_string(p)).collect();
        assert_eq!(
            printed,
            vec![
                ".a",
                ".spec.x",
                ".spec.y",
                ".spec.c[name=\"a\",port=1]",
                ".spec.list[=\"v\"]",
                ".spec.list[2]",
            ]
        );
    }

    #[test]
    fn set_algebra_keeps_no_empty_children() {
        let mut a = FieldSet::new();
        a.insert(&[field("spec"), field("x")]);
        a.insert(&[field("spec"), field("y")]);
        let mut b = FieldSet::new();
        b.insert(&[field("spec"), field("x")]);
        b.insert(&[field("spec")]);
        let mut only_y = FieldSet::new();
        only_y.insert(&[field("spec"), field("y")]);
        assert_eq!(a.difference(&b), only_y);
        let mut only_x = FieldSet::new();
        only_x.insert(&[field("spec"), field("x")]);
        assert_eq!(a.intersection(&b), only_x);
        assert_eq!(a.difference(&a), FieldSet::new());
        assert!(a.union(&b).has(&[field("spec")]));
        assert!(a.union(&b).has(&[field("spec"), field("y")]));
    }

    #[test]
    fn values_order_numbers_strings_bools_lists_maps_null() {
        let ordered = [
            json!(1),
            json!(2.5),
            json!(3),
            json!("a"),
            json!(false),
            json!(true),
            json!([1]),
            json!({"a": 1}),
            json!(null),
        ];
        for pair in ordered.windows(2) {
            assert_eq!(
                compare_values(&pair[0], &pair[1]),
                Ordering::Less,
                "{pair:?}"
            );
        }
        assert_eq!(field("z").cmp(&key(&[("a", json!(1))])), Ordering::Less);
    }

    #[test]
    fn unknown_prefixes_are_skipped_and_bad_keys_refused() {
        assert_eq!(
            FieldSet::from_fields_v1(&json!({"x:future": {}, "f:a": {}})).map(|s| s.paths().len()),
            Ok(1)
        );
        assert_eq!(
            FieldSet::from_fields_v1(&json!({"fa": {}})),
            Err("missing colon: fa".to_owned())
        );
    }
}
