//! Schema-guided operations on JSON objects: the field set of an object, the comparison of two
//! objects, the apply merge, and item removal.
//!
//! Place: the engine of `ssa`, a port of the semantics of structured-merge-diff's `typed`
//! package (`ToFieldSet`, `Compare`, `Merge`, `RemoveItems`) and `Set.EnsureNamedFieldsAreMembers`,
//! driven by a [`MergeSchema`](crate::semantics::merge_schema::MergeSchema) node. Lists follow
//! their list type (atomic: one leaf; set: `v:` items; map: `k:` items merged item by item),
//! objects are granular unless atomic, and a field that is `null`, an empty object, or a map
//! entry is a member of a field set on its own.
//!
//! Must not: know about managers, managedFields or the clock (that is `ssa`'s job).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::field_set::{FieldSet, Path, PathElement, path_to_string};
use crate::semantics::merge_schema::{ListType, Node, Rest, Shape};
use crate::semantics::patch::json_equal;

/// A structural problem with an object (structured-merge-diff's `ValidationError`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}", render(path, message))]
pub struct StructureError {
    /// Where, from the object root.
    pub path: Path,
    /// What is wrong.
    pub message: String,
}

fn render(path: &Path, message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("{}: {message}", path_to_string(path))
    }
}

fn error(path: &Path, message: String) -> StructureError {
    StructureError {
        path: path.clone(),
        message,
    }
}

/// The identity of a list item (`listItemToPathElement`).
pub fn list_item_element(list_type: &ListType, item: &Value) -> Result<PathElement, String> {
    match list_type {
        ListType::Atomic => Err("invalid indexing of non-associative list".to_owned()),
        ListType::Set => match item {
            Value::Object(_) => {
                Err("associative list without keys has an element that's a map type".to_owned())
            }
            Value::Array(_) => {
                Err("not supported: associative list with lists as elements".to_owned())
            }
            Value::Null => Err(
                "associative list without keys has an element that's an explicit null".to_owned(),
            ),
            other => Ok(PathElement::Value(other.clone())),
        },
        ListType::Map { keys, key_defaults } => {
            let map = match item {
                Value::Null => {
                    return Err("associative list with keys may not have a null element".to_owned());
                }
                Value::Object(map) => map,
                _ => {
                    return Err(
                        "associative list with keys may not have non-map elements".to_owned()
                    );
                }
            };
            let mut fields: Vec<(String, Value)> = keys
                .iter()
                .filter_map(|key| {
                    map.get(key)
                        .or_else(|| key_defaults.get(key))
                        .map(|value| (key.clone(), value.clone()))
                })
                .collect();
            if !keys.is_empty() && fields.is_empty() {
                let quoted: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
                return Err(format!(
                    "associative list with keys has an element that omits all key fields [{}] \
                     (and doesn't have default values for any key fields)",
                    quoted.join(" ")
                ));
            }
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(fields))
        }
    }
}

/// The field set of `value`: every leaf, every list item, and every field that is `null`, an
/// empty object or a map entry (`TypedValue.ToFieldSet`).
pub fn to_field_set(value: &Value, node: &Node) -> Result<FieldSet, StructureError> {
    collect(value, node, &mut Vec::new()).map(|(set, _)| set)
}

/// Returns the set below `value` and whether `value`'s own path is a member.
fn collect(
    value: &Value,
    node: &Node,
    path: &mut Path,
) -> Result<(FieldSet, bool), StructureError> {
    match Shape::of(Some(value), node) {
        Shape::Scalar => Ok((FieldSet::new(), true)),
        Shape::List => {
            let (list_type, item_node) = node.list();
            if *list_type == ListType::Atomic {
                return Ok((FieldSet::new(), true));
            }
            let Value::Array(items) = value else {
                return Ok((FieldSet::new(), false));
            };
            let elements = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    list_item_element(list_type, item)
                        .map_err(|message| error(path, format!("element {i}: {message}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut set = FieldSet::new();
            let mut seen = BTreeSet::new();
            let mut duplicates = BTreeSet::new();
            for element in &elements {
                if !seen.insert(element) && duplicates.insert(element) {
                    // A duplicated item is owned as a whole, without descending.
                    set.insert_member(element.clone());
                }
            }
            for (element, item) in elements.iter().zip(items) {
                if duplicates.contains(element) {
                    continue;
                }
                path.push(element.clone());
                let (child, _) = collect(item, item_node, path)?;
                path.pop();
                set.insert_member(element.clone());
                set.set_child(element.clone(), child);
            }
            Ok((set, false))
        }
        Shape::Map => {
            if node.is_atomic_object() {
                return Ok((FieldSet::new(), true));
            }
            let Value::Object(map) = value else {
                return Ok((FieldSet::new(), false));
            };
            let mut set = FieldSet::new();
            for (key, child_value) in map {
                let (child_node, named) = node.field(key);
                let element = PathElement::Field(key.clone());
                path.push(element.clone());
                let (child, child_is_member) = collect(child_value, child_node, path)?;
                path.pop();
                let empty_object = matches!(child_value, Value::Object(m) if m.is_empty());
                if child_is_member || child_value.is_null() || empty_object || !named {
                    set.insert_member(element.clone());
                }
                set.set_child(element, child);
            }
            Ok((set, false))
        }
    }
}

/// What changed between two objects (`TypedValue.Compare`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    /// Paths present only on the left.
    pub removed: FieldSet,
    /// Leaves present on both sides with different values.
    pub modified: FieldSet,
    /// Paths present only on the right.
    pub added: FieldSet,
}

/// Compares `lhs` (before) with `rhs` (after).
pub fn compare(lhs: &Value, rhs: &Value, node: &Node) -> Result<Comparison, StructureError> {
    let mut comparer = Comparer {
        result: Comparison::default(),
        path: Vec::new(),
    };
    comparer.compare(Some(lhs), Some(rhs), node)?;
    Ok(comparer.result)
}

struct Comparer {
    result: Comparison,
    path: Path,
}

impl Comparer {
    fn compare(
        &mut self,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        node: &Node,
    ) -> Result<(), StructureError> {
        let (left, right) = (Shape::of(lhs, node), Shape::of(rhs, node));
        let leaf = if rhs.is_none() {
            self.handle(left, lhs, rhs, node)?
        } else if lhs.is_none() || left == right {
            self.handle(right, lhs, rhs, node)?
        } else {
            self.handle(left, lhs, rhs, node)?;
            self.handle(right, lhs, rhs, node)?
        };
        if !leaf {
            if lhs.is_none() {
                self.result.added.insert(&self.path);
            } else if rhs.is_none() {
                self.result.removed.insert(&self.path);
            }
        }
        Ok(())
    }

    /// Handles one shape; returns whether the node was treated as a leaf.
    fn handle(
        &mut self,
        shape: Shape,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        node: &Node,
    ) -> Result<bool, StructureError> {
        match shape {
            Shape::Scalar => {
                self.leaf(lhs, rhs);
                Ok(true)
            }
            Shape::List => {
                let (list_type, item_node) = node.list();
                let (l, r) = (lhs.and_then(Value::as_array), rhs.and_then(Value::as_array));
                let empty = l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty);
                if *list_type == ListType::Atomic || empty {
                    self.leaf(lhs, rhs);
                    return Ok(true);
                }
                if l.is_none() && r.is_none() {
                    return Ok(false);
                }
                self.list_items(list_type, item_node, l, r)?;
                Ok(false)
            }
            Shape::Map => {
                let (l, r) = (
                    lhs.and_then(Value::as_object),
                    rhs.and_then(Value::as_object),
                );
                let empty = l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty);
                if node.is_atomic_object() || empty {
                    self.leaf(lhs, rhs);
                    return Ok(true);
                }
                let keys: Vec<&String> = match (l, r) {
                    (None, None) => return Ok(false),
                    (Some(l), None) => l.keys().collect(),
                    (None, Some(r)) => r.keys().collect(),
                    (Some(l), Some(r)) => l
                        .keys()
                        .chain(r.keys().filter(|k| !l.contains_key(*k)))
                        .collect(),
                };
                for key in keys {
                    self.path.push(PathElement::Field(key.clone()));
                    self.compare(
                        l.and_then(|m| m.get(key)),
                        r.and_then(|m| m.get(key)),
                        node.field(key).0,
                    )?;
                    self.path.pop();
                }
                Ok(false)
            }
        }
    }

    fn leaf(&mut self, lhs: Option<&Value>, rhs: Option<&Value>) {
        match (lhs, rhs) {
            (None, None) => {}
            (None, Some(_)) => self.result.added.insert(&self.path),
            (Some(_), None) => self.result.removed.insert(&self.path),
            (Some(l), Some(r)) => {
                if !json_equal(l, r) {
                    self.result.modified.insert(&self.path);
                }
            }
        }
    }

    fn list_items(
        &mut self,
        list_type: &ListType,
        item_node: &Node,
        lhs: Option<&Vec<Value>>,
        rhs: Option<&Vec<Value>>,
    ) -> Result<(), StructureError> {
        let mut order: Vec<PathElement> = Vec::new();
        let mut left: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
        let mut right: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
        for (side, items) in [(&mut left, lhs), (&mut right, rhs)] {
            for (i, item) in items.into_iter().flatten().enumerate() {
                let element = list_item_element(list_type, item)
                    .map_err(|message| error(&self.path, format!("element {i}: {message}")))?;
                let entry = side.entry(element.clone()).or_default();
                if entry.is_empty() && !order.contains(&element) {
                    order.push(element);
                }
                entry.push(item);
            }
        }
        for element in order {
            let l = left.get(&element).map(Vec::as_slice).unwrap_or_default();
            let r = right.get(&element).map(Vec::as_slice).unwrap_or_default();
            let mut item_path = self.path.clone();
            item_path.push(element.clone());
            if l.len() <= 1 && r.len() <= 1 {
                self.item(&element, l.first().copied(), r.first().copied(), item_node)?;
            } else if l.len() >= 2 && r.len() >= 2 {
                let equal = l.len() == r.len() && l.iter().zip(r).all(|(a, b)| json_equal(a, b));
                if !equal {
                    self.result.modified.insert(&item_path);
                }
            } else if l.len() >= 2 {
                if let Some(r) = r.first() {
                    self.item(&element, None, Some(r), item_node)?;
                }
                self.result.removed.insert(&item_path);
            } else {
                if let Some(l) = l.first() {
                    self.item(&element, Some(l), None, item_node)?;
                }
                self.result.added.insert(&item_path);
            }
        }
        Ok(())
    }

    fn item(
        &mut self,
        element: &PathElement,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        item_node: &Node,
    ) -> Result<(), StructureError> {
        self.path.push(element.clone());
        let result = self.compare(lhs, rhs, item_node);
        self.path.pop();
        result
    }
}

/// Merges `rhs` (the applied configuration) into `lhs` (the live object), the right side
/// winning on leaves (`TypedValue.Merge` with `ruleKeepRHS`). `None` when nothing remains.
pub fn merge(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    node: &Node,
) -> Result<Option<Value>, StructureError> {
    Merger { path: Vec::new() }.merge(lhs, rhs, node)
}

struct Merger {
    path: Path,
}

impl Merger {
    fn merge(
        &mut self,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        node: &Node,
    ) -> Result<Option<Value>, StructureError> {
        let (left, right) = (Shape::of(lhs, node), Shape::of(rhs, node));
        if rhs.is_none() {
            self.handle(left, lhs, rhs, node)
        } else if lhs.is_none() || left == right {
            self.handle(right, lhs, rhs, node)
        } else {
            // The left shape is walked only for its errors; the right shape decides the result.
            self.handle(left, lhs, rhs, node)?;
            self.handle(right, lhs, rhs, node)
        }
    }

    fn keep_rhs(lhs: Option<&Value>, rhs: Option<&Value>) -> Option<Value> {
        rhs.or(lhs).cloned()
    }

    fn handle(
        &mut self,
        shape: Shape,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        node: &Node,
    ) -> Result<Option<Value>, StructureError> {
        match shape {
            Shape::Scalar => Ok(Self::keep_rhs(lhs, rhs)),
            Shape::List => {
                let (list_type, item_node) = node.list();
                let (l, r) = (lhs.and_then(Value::as_array), rhs.and_then(Value::as_array));
                let empty = l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty);
                if *list_type == ListType::Atomic || empty {
                    return Ok(Self::keep_rhs(lhs, rhs));
                }
                if l.is_none() && r.is_none() {
                    return Ok(None);
                }
                let items = self.list_items(
                    list_type,
                    item_node,
                    l.map(Vec::as_slice).unwrap_or_default(),
                    r.map(Vec::as_slice).unwrap_or_default(),
                )?;
                Ok((!items.is_empty()).then_some(Value::Array(items)))
            }
            Shape::Map => {
                let (l, r) = (
                    lhs.and_then(Value::as_object),
                    rhs.and_then(Value::as_object),
                );
                let empty = l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty);
                if node.is_atomic_object() || empty {
                    return Ok(Self::keep_rhs(lhs, rhs));
                }
                let keys: Vec<&String> = match (l, r) {
                    (None, None) => return Ok(None),
                    (Some(l), None) => l.keys().collect(),
                    (None, Some(r)) => r.keys().collect(),
                    (Some(l), Some(r)) => l
                        .keys()
                        .chain(r.keys().filter(|k| !l.contains_key(*k)))
                        .collect(),
                };
                let mut out = Map::new();
                for key in keys {
                    self.path.push(PathElement::Field(key.clone()));
                    let merged = self.merge(
                        l.and_then(|m| m.get(key)),
                        r.and_then(|m| m.get(key)),
                        node.field(key).0,
                    )?;
                    self.path.pop();
                    if let Some(merged) = merged {
                        out.insert(key.clone(), merged);
                    }
                }
                Ok((!out.is_empty()).then_some(Value::Object(out)))
            }
        }
    }

    /// Indexes a list's items by identity. Duplicates on the left are kept (their merge partner
    /// becomes `null`); on the right they are an error.
    fn index<'a>(
        &self,
        list_type: &ListType,
        items: &'a [Value],
        allow_duplicates: bool,
    ) -> Result<(Vec<PathElement>, BTreeMap<PathElement, &'a Value>), StructureError> {
        static NULL: Value = Value::Null;
        let mut elements = Vec::with_capacity(items.len());
        let mut observed = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            let element = list_item_element(list_type, item)
                .map_err(|message| error(&self.path, format!("element {i}: {message}")))?;
            if observed.contains_key(&element) {
                if !allow_duplicates {
                    return Err(error(
                        &self.path,
                        format!("duplicate entries for key {element}"),
                    ));
                }
                observed.insert(element.clone(), &NULL);
            } else {
                observed.insert(element.clone(), item);
            }
            elements.push(element);
        }
        Ok((elements, observed))
    }

    /// structured-merge-diff's list merge: shared items keep the applied order, live-only items
    /// stay where they were relative to them.
    fn list_items(
        &mut self,
        list_type: &ListType,
        item_node: &Node,
        lhs: &[Value],
        rhs: &[Value],
    ) -> Result<Vec<Value>, StructureError> {
        let (rhs_elements, observed_rhs) = self.index(list_type, rhs, false)?;
        let (lhs_elements, observed_lhs) = self.index(list_type, lhs, true)?;
        let mut shared = rhs_elements
            .iter()
            .filter(|e| observed_lhs.contains_key(*e))
            .cloned()
            .collect::<std::collections::VecDeque<_>>();
        let mut next_shared = shared.pop_front();
        let mut merged_rhs = BTreeSet::new();
        let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
        let (mut li, mut ri) = (0, 0);
        while li < lhs_elements.len() || ri < rhs_elements.len() {
            if li < lhs_elements.len() && ri < rhs_elements.len() {
                let element = &lhs_elements[li];
                if *element == rhs_elements[ri] {
                    merged_rhs.insert(element.clone());
                    let l = observed_lhs.get(element).copied();
                    let r = observed_rhs.get(element).copied();
                    if let Some(item) = self.item(element, l, r, item_node)? {
                        out.push(item);
                    }
                    li += 1;
                    ri += 1;
                    next_shared = shared.pop_front();
                    continue;
                }
                if observed_rhs.contains_key(element)
                    && next_shared.as_ref().is_some_and(|n| n != element)
                {
                    // A shared item, but not the one due now.
                    li += 1;
                    continue;
                }
            }
            if li < lhs_elements.len() {
                let element = &lhs_elements[li];
                if !observed_rhs.contains_key(element) {
                    if let Some(item) = self.item(element, Some(&lhs[li]), None, item_node)? {
                        out.push(item);
                    }
                    li += 1;
                    continue;
                } else if merged_rhs.contains(element) {
                    li += 1;
                }
            }
            if ri < rhs_elements.len() {
                let element = rhs_elements[ri].clone();
                merged_rhs.insert(element.clone());
                let l = observed_lhs.get(&element).copied();
                let r = observed_rhs.get(&element).copied();
                if let Some(item) = self.item(&element, l, r, item_node)? {
                    out.push(item);
                }
                ri += 1;
                if next_shared.as_ref() == Some(&element) {
                    next_shared = shared.pop_front();
                }
            }
        }
        Ok(out)
    }

    fn item(
        &mut self,
        element: &PathElement,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        item_node: &Node,
    ) -> Result<Option<Value>, StructureError> {
        self.path.push(element.clone());
        let result = self.merge(lhs, rhs, item_node);
        self.path.pop();
        result
    }
}

/// Removes every path of `to_remove` (with everything below it) from `value`
/// (`TypedValue.RemoveItems`). An object or list left empty by the removal disappears (the API
/// server leaves a `null` that typed decoding then drops). `None` when nothing remains.
pub fn remove_items(value: &Value, to_remove: &FieldSet, node: &Node) -> Option<Value> {
    match Shape::of(Some(value), node) {
        Shape::Scalar => Some(value.clone()),
        Shape::List => {
            let (list_type, item_node) = node.list();
            let Value::Array(items) = value else {
                return None;
            };
            if items.is_empty() || *list_type == ListType::Atomic {
                return None;
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Ok(element) = list_item_element(list_type, item) else {
                    out.push(item.clone());
                    continue;
                };
                if to_remove.has_member(&element) {
                    continue;
                }
                match to_remove.child(&element) {
                    Some(subset) => out.extend(remove_items(item, subset, item_node)),
                    None => out.push(item.clone()),
                }
            }
            (!out.is_empty()).then_some(Value::Array(out))
        }
        Shape::Map => {
            let Value::Object(map) = value else {
                return None;
            };
            if map.is_empty() || node.is_atomic_object() {
                return None;
            }
            let mut out = Map::new();
            for (key, child) in map {
                let element = PathElement::Field(key.clone());
                if to_remove.has_member(&element) {
                    continue;
                }
                match to_remove.child(&element) {
                    Some(subset) => {
                        if let Some(kept) = remove_items(child, subset, node.field(key).0) {
                            out.insert(key.clone(), kept);
                        }
                    }
                    None => {
                        out.insert(key.clone(), child.clone());
                    }
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
    }
}

/// Whether `name` is a declared (named) field of objects at `node`.
fn is_named(node: &Node, name: &str) -> bool {
    match node {
        Node::Object(object) => {
            object.fields.contains_key(name) || matches!(object.rest, Rest::LooseFields)
        }
        Node::Loose => true,
        Node::Scalar | Node::List(_) | Node::Untyped => false,
    }
}

/// Adds every named field on the way to a path as a member (`EnsureNamedFieldsAreMembers`):
/// owning `spec.x` then also means owning `spec`, but owning a map entry or a list item's field
/// does not mean owning the map key or the item.
pub fn ensure_named_fields_are_members(set: &FieldSet, node: &Node) -> FieldSet {
    let mut out = FieldSet::new();
    for member in set.members() {
        out.insert_member(member.clone());
    }
    for (element, child) in set.children() {
        let child_node = match element {
            PathElement::Field(name) => {
                if is_named(node, name) {
                    out.insert_member(element.clone());
                }
                node.field(name).0
            }
            PathElement::Key(_) => node.list().1,
            PathElement::Value(_) | PathElement::Index(_) => &Node::Scalar,
        };
        out.set_child(
            element.clone(),
            ensure_named_fields_are_members(child, child_node),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::merge_schema::MergeSchema;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn pod() -> MergeSchema {
        MergeSchema::for_builtin("", "v1", "Pod")
    }

    #[test]
    fn field_sets_own_leaves_items_and_empty_or_null_fields() {
        let object = json!({
            "metadata": {"labels": {"app": "a"}, "finalizers": ["f"]},
            "spec": {
                "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}],
                "tolerations": [{"key": "k"}],
                "securityContext": {},
                "nodeSelector": {"zone": "z"},
                "hostname": null
            }
        });
        let set = to_field_set(&object, pod().root()).expect("a valid pod");
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:metadata": {"f:finalizers": {"v:\"f\"": {}}, "f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:containers": {"k:{\"name\":\"c\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                            ".": {}, "f:containerPort": {}
                        }}
                    }},
                    "f:hostname": {},
                    "f:nodeSelector": {},
                    "f:securityContext": {},
                    "f:tolerations": {}
                }
            })
        );
    }

    #[test]
    fn list_items_without_keys_are_refused() {
        let object = json!({"spec": {"containers": [{"image": "i"}]}});
        assert_eq!(
            to_field_set(&object, pod().root()).map_err(|e| e.to_string()),
            Err(
                ".spec.containers: element 0: associative list with keys has an element that \
                 omits all key fields [\"name\"] (and doesn't have default values for any key \
                 fields)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn comparison_reports_added_nodes_modified_leaves_and_removed_items() {
        let before = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}});
        let after = json!({"metadata": {"labels": {"x": "y"}},
                           "spec": {"containers": [{"name": "a", "image": "9"}]}});
        let cmp = compare(&before, &after, pod().root()).expect("valid pods");
        assert_eq!(
            cmp.added.to_fields_v1(),
            json!({"f:metadata": {".": {}, "f:labels": {".": {}, "f:x": {}}}})
        );
        assert_eq!(
            cmp.modified.to_fields_v1(),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {"f:image": {}}}}})
        );
        assert_eq!(
            cmp.removed.to_fields_v1(),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"b\"}": {".": {}, "f:image": {}, "f:name": {}}}}})
        );
    }

    #[test]
    fn merge_keeps_live_items_and_follows_the_applied_order() {
        let live = json!({"spec": {"containers": [
            {"name": "a", "image": "1"}, {"name": "x", "image": "live"}, {"name": "b", "image": "2"}
        ], "tolerations": [{"key": "old"}]}});
        let applied = json!({"spec": {"containers": [
            {"name": "b", "image": "20"}, {"name": "a"}, {"name": "c", "image": "3"}
        ], "tolerations": [{"key": "new"}]}});
        assert_eq!(
            merge(Some(&live), Some(&applied), pod().root()).expect("valid pods"),
            Some(json!({"spec": {"containers": [
                {"name": "x", "image": "live"},
                {"name": "b", "image": "20"},
                {"name": "a", "image": "1"},
                {"name": "c", "image": "3"}
            ], "tolerations": [{"key": "new"}]}}))
        );
        let duplicated = json!({"spec": {"containers": [{"name": "a"}, {"name": "a"}]}});
        assert_eq!(
            merge(Some(&live), Some(&duplicated), pod().root()).map_err(|e| e.to_string()),
            Err(".spec.containers: duplicate entries for key [name=\"a\"]".to_owned())
        );
    }

    #[test]
    fn removal_takes_subtrees_and_drops_emptied_parents() {
        let object = json!({"metadata": {"labels": {"a": "1"}},
                            "spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b"}]}});
        let mut remove = FieldSet::new();
        remove.insert(&[
            PathElement::Field("metadata".into()),
            PathElement::Field("labels".into()),
            PathElement::Field("a".into()),
        ]);
        remove.insert(&[
            PathElement::Field("spec".into()),
            PathElement::Field("containers".into()),
            PathElement::Key(vec![("name".into(), json!("b"))]),
        ]);
        assert_eq!(
            remove_items(&object, &remove, pod().root()),
            Some(json!({"spec": {"containers": [{"name": "a", "image": "1"}]}}))
        );
    }

    #[test]
    fn named_fields_become_members_but_map_keys_and_items_do_not() {
        let mut set = FieldSet::new();
        set.insert(&[
            PathElement::Field("metadata".into()),
            PathElement::Field("labels".into()),
            PathElement::Field("a".into()),
        ]);
        set.insert(&[
            PathElement::Field("spec".into()),
            PathElement::Field("containers".into()),
            PathElement::Key(vec![("name".into(), json!("c"))]),
            PathElement::Field("resources".into()),
            PathElement::Field("limits".into()),
            PathElement::Field("cpu".into()),
        ]);
        assert_eq!(
            ensure_named_fields_are_members(&set, pod().root()).to_fields_v1(),
            json!({
                "f:metadata": {".": {}, "f:labels": {".": {}, "f:a": {}}},
                "f:spec": {".": {}, "f:containers": {".": {}, "k:{\"name\":\"c\"}": {
                    "f:resources": {".": {}, "f:limits": {".": {}, "f:cpu": {}}}
                }}}
            })
        );
    }
}
