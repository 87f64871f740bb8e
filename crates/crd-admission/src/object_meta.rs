//! The API server's rules for the `metadata` of an object it is asked to store: which members
//! `ObjectMeta` declares (strict field validation reports the others as `unknown field
//! "metadata.foo"`), and the syntax of `metadata.name` and `metadata.namespace`
//! (`ValidateObjectMetaAccessor` in apimachinery's `api/validation/objectmeta.go`, v0.33).
//!
//! Place: one implementation for every component that must agree with a real API server.
//! kubesim checks every write with it, the CRD engine ([`crate::crd_schema`]) prunes the root
//! `metadata` of custom resources with it, and the operator's `render` command admits its input
//! with it.
//!
//! Known gaps (deliberate): labels, annotations, finalizers and ownerReferences values are not
//! validated, nor is `generateName`; only their presence as declared members is checked.
//!
//! Must not: do I/O, read clocks, know about HTTP.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::field_cause::{FieldCause, FieldPath};

/// The members of `ObjectMeta` (JSON names, `k8s.io/apimachinery/pkg/apis/meta/v1`).
const OBJECT_META: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// The members of an `OwnerReference`.
const OWNER_REFERENCE: &[&str] = &[
    "apiVersion",
    "kind",
    "name",
    "uid",
    "controller",
    "blockOwnerDeletion",
];

/// The members of a `ManagedFieldsEntry` (`fieldsV1` itself is free-form).
const MANAGED_FIELDS_ENTRY: &[&str] = &[
    "manager",
    "operation",
    "apiVersion",
    "time",
    "fieldsType",
    "fieldsV1",
    "subresource",
];

/// Removes the members of the root `metadata` that `ObjectMeta` does not declare (also inside
/// `ownerReferences` and `managedFields` items) and returns their paths, sorted
/// (`metadata.foo`, `metadata.ownerReferences[0].bar`). The API server does the same when it
/// decodes a custom resource (`GetObjectMetaWithOptions` with `ReturnUnknownFieldPaths`, then
/// `SetObjectMeta`), and a built-in kind's typed decoder drops them too.
pub fn prune_unknown_metadata(object: &mut Value) -> Vec<String> {
    let mut unknown = Vec::new();
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        prune_members(metadata, OBJECT_META, "metadata", &mut unknown);
        for (list, members) in [
            ("ownerReferences", OWNER_REFERENCE),
            ("managedFields", MANAGED_FIELDS_ENTRY),
        ] {
            if let Some(items) = metadata.get_mut(list).and_then(Value::as_array_mut) {
                for (index, item) in items.iter_mut().enumerate() {
                    if let Some(item) = item.as_object_mut() {
                        let path = format!("metadata.{list}[{index}]");
                        prune_members(item, members, &path, &mut unknown);
                    }
                }
            }
        }
    }
    unknown.sort();
    unknown
}

fn prune_members(
    map: &mut Map<String, Value>,
    declared: &[&str],
    path: &str,
    out: &mut Vec<String>,
) {
    map.retain(|key, _| {
        let known = declared.contains(&key.as_str());
        if !known {
            out.push(format!("{path}.{key}"));
        }
        known
    });
}

static DNS1123_SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("^{DNS1123_SUBDOMAIN_FMT}$"))
        .expect("the DNS-1123 subdomain pattern is valid")
});

static DNS1123_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("^{DNS1123_LABEL_FMT}$")).expect("the DNS-1123 label pattern is valid")
});

/// apimachinery's `dns1123LabelFmt`.
const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
/// apimachinery's `dns1123SubdomainFmt`.
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

/// The name rule of a resource (the `nameFn` its strategy passes to `ValidateObjectMeta`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// `NameIsDNSLabel`: Namespaces, Services.
    Label,
    /// `NameIsDNSSubdomain`: custom resources and most built-in kinds.
    Subdomain,
    /// `path.ValidatePathSegmentName`: RBAC objects (`system:discovery`); anything but `.`,
    /// `..`, `/` and `%`.
    PathSegment,
}

/// What is wrong with `name` under `rule`, each message as Go words it (`IsDNS1123Subdomain`
/// reports the length and the pattern separately, length first).
pub fn name_problems(name: &str, rule: NameRule) -> Vec<String> {
    match rule {
        NameRule::PathSegment => {
            let problem = match name {
                "." => Some("may not be '.'"),
                ".." => Some("may not be '..'"),
                _ if name.contains('/') => Some("may not contain '/'"),
                _ if name.contains('%') => Some("may not contain '%'"),
                _ => None,
            };
            problem.into_iter().map(str::to_owned).collect()
        }
        NameRule::Subdomain => {
            let mut problems = Vec::new();
            if name.len() > 253 {
                problems.push(max_len_error(253));
            }
            if !DNS1123_SUBDOMAIN.is_match(name) {
                problems.push(regex_error(
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
                     characters, '-' or '.', and must start and end with an alphanumeric character",
                    DNS1123_SUBDOMAIN_FMT,
                    &["example.com"],
                ));
            }
            problems
        }
        NameRule::Label => {
            let mut problems = Vec::new();
            if name.len() > 63 {
                problems.push(max_len_error(63));
            }
            if !DNS1123_LABEL.is_match(name) {
                problems.push(regex_error(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric \
                     characters or '-', and must start and end with an alphanumeric character",
                    DNS1123_LABEL_FMT,
                    &["my-name", "123-abc"],
                ));
            }
            problems
        }
    }
}

/// `validation.MaxLenError`.
fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// `validation.RegexError`, including Go's double space between several examples.
fn regex_error(message: &str, format: &str, examples: &[&str]) -> String {
    let examples: Vec<String> = examples.iter().map(|e| format!("'{e}'")).collect();
    format!(
        "{message} (e.g. {}, regex used for validation is '{format}')",
        examples.join(",  or ")
    )
}

/// `ValidateObjectMetaAccessor`'s checks of `metadata.name` and `metadata.namespace`: the name
/// is required and follows `rule`; a namespaced object's namespace is required and a DNS-1123
/// label (`ValidateNamespaceName`), a cluster-scoped object may not have one.
pub fn validate_name_and_namespace(
    object: &Value,
    rule: NameRule,
    namespaced: bool,
) -> Vec<FieldCause> {
    let metadata = FieldPath::new("metadata");
    let text = |key: &str| {
        object
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let mut causes = Vec::new();
    let name = text("name");
    if name.is_empty() {
        causes.push(FieldCause::required(
            &metadata.child("name"),
            "name or generateName is required",
        ));
    } else {
        for problem in name_problems(name, rule) {
            causes.push(FieldCause::invalid(
                &metadata.child("name"),
                &Value::String(name.to_owned()),
                &problem,
            ));
        }
    }
    let namespace = text("namespace");
    if namespaced {
        if namespace.is_empty() {
            causes.push(FieldCause::required(&metadata.child("namespace"), ""));
        } else {
            for problem in name_problems(namespace, NameRule::Label) {
                causes.push(FieldCause::invalid(
                    &metadata.child("namespace"),
                    &Value::String(namespace.to_owned()),
                    &problem,
                ));
            }
        }
    } else if !namespace.is_empty() {
        causes.push(FieldCause::forbidden(
            &metadata.child("namespace"),
            "not allowed on this type",
        ));
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn lines(causes: &[FieldCause]) -> Vec<String> {
        causes.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn names_and_namespaces_are_worded_as_the_api_server_words_them() {
        let object = json!({"metadata": {"name": "Bad_Name", "namespace": "Bad_NS"}});
        assert_eq!(
            lines(&validate_name_and_namespace(
                &object,
                NameRule::Subdomain,
                true
            )),
            vec![
                "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must \
                 consist of lower case alphanumeric characters, '-' or '.', and must start and \
                 end with an alphanumeric character (e.g. 'example.com', regex used for \
                 validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                    .to_owned(),
                "metadata.namespace: Invalid value: \"Bad_NS\": a lowercase RFC 1123 label must \
                 consist of lower case alphanumeric characters or '-', and must start and end \
                 with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for \
                 validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
                    .to_owned(),
            ]
        );
        let fine = json!({"metadata": {"name": "orders.v2", "namespace": "shop"}});
        assert_eq!(
            validate_name_and_namespace(&fine, NameRule::Subdomain, true),
            vec![]
        );
    }

    #[test]
    fn a_name_too_long_and_malformed_gets_both_messages_length_first() {
        let name = format!("{}_", "a".repeat(253));
        let object = json!({"metadata": {"name": name}});
        let causes = validate_name_and_namespace(&object, NameRule::Subdomain, false);
        assert_eq!(causes.len(), 2);
        assert!(
            causes[0]
                .message
                .ends_with(": must be no more than 253 characters"),
            "{}",
            causes[0]
        );
        assert!(causes[1].message.contains("RFC 1123 subdomain"));
        let label = json!({"metadata": {"name": "a".repeat(64)}});
        assert_eq!(
            validate_name_and_namespace(&label, NameRule::Label, false)[0].message,
            format!(
                "Invalid value: \"{}\": must be no more than 63 characters",
                "a".repeat(64)
            )
        );
    }

    #[test]
    fn missing_names_and_misplaced_namespaces() {
        assert_eq!(
            lines(&validate_name_and_namespace(
                &json!({"metadata": {}}),
                NameRule::Subdomain,
                true
            )),
            vec![
                "metadata.name: Required value: name or generateName is required".to_owned(),
                "metadata.namespace: Required value".to_owned(),
            ]
        );
        assert_eq!(
            lines(&validate_name_and_namespace(
                &json!({"metadata": {"name": "a", "namespace": "b"}}),
                NameRule::Subdomain,
                false
            )),
            vec!["metadata.namespace: Forbidden: not allowed on this type".to_owned()]
        );
    }

    #[test]
    fn path_segment_names_only_refuse_dots_slashes_and_percents() {
        assert_eq!(
            name_problems("system:discovery", NameRule::PathSegment),
            Vec::<String>::new()
        );
        assert_eq!(
            name_problems("..", NameRule::PathSegment),
            vec!["may not be '..'"]
        );
        assert_eq!(
            name_problems("a/b", NameRule::PathSegment),
            vec!["may not contain '/'"]
        );
    }

    #[test]
    fn undeclared_metadata_members_are_removed_and_reported() {
        let mut object = json!({"metadata": {
            "name": "a", "foo": 1, "labels": {"any": "thing"},
            "ownerReferences": [{"kind": "K", "name": "o", "uid": "u", "apiVersion": "v1", "colour": "red"}],
            "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {}}, "extra": true}],
            "annotation": {"typo": "x"}}, "spec": {"foo": 1}});
        assert_eq!(
            prune_unknown_metadata(&mut object),
            vec![
                "metadata.annotation",
                "metadata.foo",
                "metadata.managedFields[0].extra",
                "metadata.ownerReferences[0].colour",
            ]
        );
        assert_eq!(
            object,
            json!({"metadata": {
                "name": "a", "labels": {"any": "thing"},
                "ownerReferences": [{"kind": "K", "name": "o", "uid": "u", "apiVersion": "v1"}],
                "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {}}}]}, "spec": {"foo": 1}})
        );
    }
}
