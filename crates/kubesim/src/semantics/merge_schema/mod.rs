//! Merge schemas: which lists are atomic, sets or keyed maps, which objects are atomic, and how
//! strategic merge patch treats each list, for one kind.
//!
//! Place: the shared knowledge behind `semantics::patch` (strategic merge patch) and
//! `semantics::ssa` (server-side apply and managedFields). Built-in kinds get their facts from
//! Kubernetes' own markers (`+listType`, `+listMapKey`, `+mapType`, `+structType`,
//! `patchStrategy`/`patchMergeKey`, see [`builtin`]); custom resources from their
//! `openAPIV3Schema` (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
//! `x-kubernetes-map-type`, `x-kubernetes-preserve-unknown-fields`, see [`openapi`]).
//!
//! The model follows structured-merge-diff's schema (rust-ecosystem.md §3.3 "Server-side
//! apply"): a field of a struct is *named* (declared), a key of a map is not, and that decides
//! whether it becomes a member of a field set on its own. Fields this catalogue does not list are
//! [`Node::Loose`]: treated as named struct fields whose objects are granular and whose lists are
//! atomic, which is what an uncatalogued Go struct field is in practice.
//!
//! Must not: perform I/O or hold mutable global state (the built-in catalogue is built once and
//! shared read-only).

pub mod builtin;
pub mod openapi;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

/// How to merge one kind: the schema of its root object.
///
/// Cheap to clone (the tree is shared).
#[derive(Clone, Debug, PartialEq)]
pub struct MergeSchema {
    root: Arc<Node>,
}

/// One position in a schema.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A string, number, boolean or `int-or-string`: always a leaf.
    Scalar,
    /// An object with declared fields (a Go struct or a map).
    Object(ObjectNode),
    /// An array.
    List(ListNode),
    /// An uncatalogued built-in field: objects are granular structs whose fields are named and
    /// loose themselves; lists are atomic.
    Loose,
    /// Structured-merge-diff's deduced type (`x-kubernetes-preserve-unknown-fields`): objects are
    /// granular maps whose keys are members, lists are atomic.
    Untyped,
}

/// An object position.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectNode {
    /// Declared (named) fields.
    pub fields: BTreeMap<String, Field>,
    /// How keys that are not in `fields` are treated.
    pub rest: Rest,
    /// `x-kubernetes-map-type: atomic` / `+structType=atomic` / `+mapType=atomic`: the object is
    /// owned, compared and replaced as one value.
    pub atomic: bool,
    /// `patchStrategy: replace` on the field holding this object: strategic merge patch replaces
    /// it instead of merging (PodDisruptionBudget `spec.selector`).
    pub replace_in_strategic_merge: bool,
}

/// The treatment of an object's undeclared keys.
#[derive(Clone, Debug, PartialEq)]
pub enum Rest {
    /// Undeclared keys are named struct fields of a [`Node::Loose`] type (built-in structs this
    /// catalogue does not spell out).
    LooseFields,
    /// Undeclared keys are entries of a map (`additionalProperties`, labels, ...) whose values
    /// have the given schema; entries are not named fields.
    Entries(Arc<Node>),
}

/// A declared field.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The field's schema.
    pub node: Arc<Node>,
    /// What the field holds in the typed zero value of its Go struct, when that is not "absent":
    /// `{}` for a non-pointer struct, `null` for a nil slice/pointer without `omitempty`.
    /// The API server compares typed objects, so a field present in the zero value is never
    /// reported as "added" on its own (`f:spec` gets no `.` entry on create).
    pub zero: Option<Value>,
}

/// An array position.
#[derive(Clone, Debug, PartialEq)]
pub struct ListNode {
    /// Server-side apply semantics.
    pub list_type: ListType,
    /// Schema of the items.
    pub items: Arc<Node>,
    /// Strategic-merge-patch semantics.
    pub patch: ListPatch,
}

/// `x-kubernetes-list-type`.
#[derive(Clone, Debug, PartialEq)]
pub enum ListType {
    /// The whole list is one value (the default).
    Atomic,
    /// A set of scalars; items are identified by value (`v:` in FieldsV1).
    Set,
    /// A list of objects identified by the values of `keys` (`k:` in FieldsV1).
    Map {
        /// `x-kubernetes-list-map-keys`, in declaration order.
        keys: Vec<String>,
        /// Schema defaults of key fields (`protocol: TCP` for ports): a missing key field takes
        /// its default when the item's identity is computed.
        key_defaults: BTreeMap<String, Value>,
    },
}

/// `patchStrategy` of a list, for strategic merge patch.
#[derive(Clone, Debug, PartialEq)]
pub enum ListPatch {
    /// No strategy: the patch list replaces the original.
    Replace,
    /// `patchStrategy: merge`: objects merged by `key`, or scalars unioned when `key` is `None`.
    Merge {
        /// `patchMergeKey`.
        key: Option<String>,
    },
}

/// Shared leaf instances, so navigation can hand out references to positions the tree does not
/// store.
static LOOSE: Node = Node::Loose;
static UNTYPED: Node = Node::Untyped;

impl MergeSchema {
    /// A schema whose root is `root`.
    pub fn new(root: Node) -> Self {
        MergeSchema {
            root: Arc::new(root),
        }
    }

    /// The schema of a built-in kind served by kubesim; kinds it does not know get the common
    /// object metadata rules and loose everything else. See [`builtin`].
    pub fn for_builtin(group: &str, version: &str, kind: &str) -> MergeSchema {
        builtin::schema(group, version, kind)
    }

    /// The schema of a custom resource version from its `openAPIV3Schema`. See [`openapi`].
    pub fn from_openapi(schema: &Value) -> MergeSchema {
        openapi::schema(schema)
    }

    /// The root node.
    pub fn root(&self) -> &Node {
        &self.root
    }
}

impl Node {
    /// The schema of key `key` of an object at this node, and whether it is a named (declared)
    /// field rather than a map entry.
    pub fn field(&self, key: &str) -> (&Node, bool) {
        match self {
            Node::Object(object) => match object.fields.get(key) {
                Some(field) => (&field.node, true),
                None => match &object.rest {
                    Rest::LooseFields => (&LOOSE, true),
                    Rest::Entries(node) => (node, false),
                },
            },
            Node::Untyped => (&UNTYPED, false),
            Node::Loose | Node::Scalar | Node::List(_) => (&LOOSE, true),
        }
    }

    /// The declared field `key`, if this is an object node that declares it.
    pub fn declared_field(&self, key: &str) -> Option<&Field> {
        match self {
            Node::Object(object) => object.fields.get(key),
            _ => None,
        }
    }

    /// Whether objects at this node are atomic.
    pub fn is_atomic_object(&self) -> bool {
        matches!(self, Node::Object(ObjectNode { atomic: true, .. }))
    }

    /// The list semantics of an array at this node: its type and item schema.
    pub fn list(&self) -> (&ListType, &Node) {
        static ATOMIC: ListType = ListType::Atomic;
        match self {
            Node::List(list) => (&list.list_type, &list.items),
            Node::Untyped => (&ATOMIC, &UNTYPED),
            Node::Loose | Node::Scalar | Node::Object(_) => (&ATOMIC, &LOOSE),
        }
    }

    /// Whether strategic merge patch replaces objects at this node instead of merging them.
    pub fn replaced_in_strategic_merge(&self) -> bool {
        matches!(
            self,
            Node::Object(ObjectNode {
                replace_in_strategic_merge: true,
                ..
            })
        )
    }

    /// The strategic-merge-patch strategy of an array at this node.
    pub fn list_patch(&self) -> &ListPatch {
        static REPLACE: ListPatch = ListPatch::Replace;
        match self {
            Node::List(list) => &list.patch,
            _ => &REPLACE,
        }
    }

    /// What kind of value this node expects when the value itself says nothing (`null` or
    /// absent): structured-merge-diff tries map, then scalar, then list.
    pub fn default_shape(&self) -> Shape {
        match self {
            Node::Scalar => Shape::Scalar,
            Node::List(_) => Shape::List,
            Node::Object(_) | Node::Loose | Node::Untyped => Shape::Map,
        }
    }
}

/// The three shapes structured-merge-diff distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A leaf value.
    Scalar,
    /// An array.
    List,
    /// An object.
    Map,
}

impl Shape {
    /// The shape a value takes at `node` (`deduceAtom`): arrays are lists, objects maps, other
    /// non-null values scalars, and `null` whatever the node prefers.
    pub fn of(value: Option<&Value>, node: &Node) -> Shape {
        match value {
            Some(Value::Array(_)) => Shape::List,
            Some(Value::Object(_)) => Shape::Map,
            Some(Value::String(_) | Value::Number(_) | Value::Bool(_)) => Shape::Scalar,
            Some(Value::Null) | None => node.default_shape(),
        }
    }
}

/// Builders for schema trees, used by [`builtin`], [`openapi`] and tests.
pub mod build {
    use super::*;

    /// A scalar.
    pub fn scalar() -> Node {
        Node::Scalar
    }

    /// A granular struct with the given named fields; other keys are loose named fields.
    pub fn object<const N: usize>(fields: [(&str, Field); N]) -> Node {
        Node::Object(ObjectNode {
            fields: fields
                .into_iter()
                .map(|(name, field)| (name.to_owned(), field))
                .collect(),
            rest: Rest::LooseFields,
            atomic: false,
            replace_in_strategic_merge: false,
        })
    }

    /// An atomic struct (`+structType=atomic`).
    pub fn atomic_object() -> Node {
        Node::Object(ObjectNode {
            fields: BTreeMap::new(),
            rest: Rest::LooseFields,
            atomic: true,
            replace_in_strategic_merge: false,
        })
    }

    /// `node` with `patchStrategy: replace` for strategic merge patch (objects only).
    pub fn replaced_in_strategic_merge(mut node: Node) -> Node {
        if let Node::Object(object) = &mut node {
            object.replace_in_strategic_merge = true;
        }
        node
    }

    /// A granular map whose entries have schema `values`.
    pub fn map_of(values: Node) -> Node {
        Node::Object(ObjectNode {
            fields: BTreeMap::new(),
            rest: Rest::Entries(Arc::new(values)),
            atomic: false,
            replace_in_strategic_merge: false,
        })
    }

    /// An atomic map (`+mapType=atomic`).
    pub fn atomic_map() -> Node {
        Node::Object(ObjectNode {
            fields: BTreeMap::new(),
            rest: Rest::Entries(Arc::new(Node::Scalar)),
            atomic: true,
            replace_in_strategic_merge: false,
        })
    }

    /// An atomic list with no strategic merge strategy.
    pub fn atomic_list(items: Node) -> Node {
        Node::List(ListNode {
            list_type: ListType::Atomic,
            items: Arc::new(items),
            patch: ListPatch::Replace,
        })
    }

    /// A set of scalars that strategic merge patch unions (`+listType=set`,
    /// `patchStrategy=merge`).
    pub fn set() -> Node {
        Node::List(ListNode {
            list_type: ListType::Set,
            items: Arc::new(Node::Scalar),
            patch: ListPatch::Merge { key: None },
        })
    }

    /// A list map keyed by `keys` that strategic merge patch merges by `keys[0]` (the
    /// `patchMergeKey` of every built-in list map is its first list-map key).
    pub fn list_map(keys: &[&str], items: Node) -> Node {
        Node::List(ListNode {
            list_type: ListType::Map {
                keys: keys.iter().map(|k| (*k).to_owned()).collect(),
                key_defaults: BTreeMap::new(),
            },
            items: Arc::new(items),
            patch: ListPatch::Merge {
                key: keys.first().map(|k| (*k).to_owned()),
            },
        })
    }

    /// A list map keyed by `keys` whose key `name` defaults to `default` (`protocol: TCP`).
    pub fn list_map_with_default(keys: &[&str], name: &str, default: Value, items: Node) -> Node {
        let mut node = list_map(keys, items);
        if let Node::List(ListNode {
            list_type: ListType::Map { key_defaults, .. },
            ..
        }) = &mut node
        {
            key_defaults.insert(name.to_owned(), default);
        }
        node
    }

    /// A list that is atomic for server-side apply but merged by `key` in strategic merge patch
    /// (`+listType=atomic` with `patchStrategy=merge`).
    pub fn atomic_list_merged_by(key: &str, items: Node) -> Node {
        Node::List(ListNode {
            list_type: ListType::Atomic,
            items: Arc::new(items),
            patch: ListPatch::Merge {
                key: Some(key.to_owned()),
            },
        })
    }

    /// A field absent from the typed zero value.
    pub fn f(node: Node) -> Field {
        Field {
            node: Arc::new(node),
            zero: None,
        }
    }

    /// A non-pointer struct field: `{}` in the typed zero value.
    pub fn f_struct(node: Node) -> Field {
        Field {
            node: Arc::new(node),
            zero: Some(Value::Object(serde_json::Map::new())),
        }
    }

    /// A field without `omitempty` whose zero value is `null` (nil slice, nil pointer, zero
    /// `metav1.Time`).
    pub fn f_null(node: Node) -> Field {
        Field {
            node: Arc::new(node),
            zero: Some(Value::Null),
        }
    }

    /// A field without `omitempty` whose zero value is the given scalar (`""`, `0`).
    pub fn f_zero(node: Node, zero: Value) -> Field {
        Field {
            node: Arc::new(node),
            zero: Some(zero),
        }
    }
}

/// Fills in the typed zero value of every declared field absent from `value` (recursively), so
/// that two JSON objects compare the way the API server compares the typed structs they decode
/// into. Used only for ownership comparisons; never persisted.
pub fn with_typed_zero(value: &Value, node: &Node) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (key, child) in map {
                out.insert(key.clone(), with_typed_zero(child, node.field(key).0));
            }
            if let Node::Object(object) = node {
                for (name, field) in &object.fields {
                    if out.contains_key(name) {
                        continue;
                    }
                    if let Some(zero) = &field.zero {
                        out.insert(name.clone(), with_typed_zero(zero, &field.node));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let (_, item_node) = node.list();
            Value::Array(
                items
                    .iter()
                    .map(|item| with_typed_zero(item, item_node))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn declared_fields_are_named_and_map_entries_are_not() {
        let node = object([("labels", f(map_of(scalar()))), ("spec", f(scalar()))]);
        assert_eq!(node.field("spec"), (&Node::Scalar, true));
        assert_eq!(node.field("other"), (&Node::Loose, true));
        let labels = node.field("labels").0;
        assert_eq!(labels.field("app"), (&Node::Scalar, false));
        assert_eq!(Node::Untyped.field("x"), (&Node::Untyped, false));
    }

    #[test]
    fn typed_zero_fills_struct_and_null_fields_recursively() {
        let node = object([
            (
                "spec",
                f_struct(object([
                    (
                        "template",
                        f_struct(object([(
                            "metadata",
                            f_struct(object([("creationTimestamp", f_null(scalar()))])),
                        )])),
                    ),
                    ("selector", f_null(atomic_object())),
                    ("replicas", f(scalar())),
                ])),
            ),
            ("status", f_struct(object([]))),
        ]);
        let filled = with_typed_zero(&json!({"spec": {"replicas": 2}}), &node);
        assert_eq!(
            filled,
            json!({
                "spec": {
                    "replicas": 2,
                    "template": {"metadata": {"creationTimestamp": null}},
                    "selector": null
                },
                "status": {}
            })
        );
    }

    #[test]
    fn shapes_follow_values_then_the_node() {
        assert_eq!(Shape::of(Some(&json!([])), &Node::Scalar), Shape::List);
        assert_eq!(Shape::of(Some(&json!(null)), &set()), Shape::List);
        assert_eq!(Shape::of(None, &Node::Loose), Shape::Map);
        assert_eq!(Shape::of(Some(&json!(1)), &Node::Loose), Shape::Scalar);
    }
}
