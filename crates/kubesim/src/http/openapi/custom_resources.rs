//! OpenAPI definitions of a custom resource version, built from its CRD's `openAPIV3Schema` as
//! apiextensions' OpenAPI builder does: the schema with the standard `apiVersion`, `kind` and
//! `metadata` (ObjectMeta) properties, the kind's `x-kubernetes-group-version-kind`, and a
//! `<Kind>List` definition; named `<reversed group>.<version>.<Kind>`
//! (`com.multigres.v1alpha1.Shard`). The schema keeps its descriptions and `x-kubernetes-*`
//! extensions, which `kubectl explain` and client-side apply read.
//!
//! Pure: definitions from a stored CRD object.

use serde_json::{Value, json};

use crate::resources::ResourceDef;
use crate::semantics::builtin_schema::{DEFINITIONS_PREFIX, gvk_extension, list_definition};

/// `multigres.com` → `com.multigres`.
fn reversed_group(group: &str) -> String {
    group.split('.').rev().collect::<Vec<_>>().join(".")
}

/// The definition name of a custom kind.
pub(super) fn definition_name(group: &str, version: &str, kind: &str) -> String {
    format!("{}.{version}.{kind}", reversed_group(group))
}

/// The served schema of `def`'s version in the stored `crd`; a schema-less version keeps
/// everything.
fn version_schema(crd: &Value, version: &str) -> Value {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|versions| versions.iter().find(|v| v["name"] == version))
        .and_then(|v| v.pointer("/schema/openAPIV3Schema"))
        .cloned()
        .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}))
}

/// (kind definition name, list definition name, definitions) of `def`, a custom resource
/// served by `crd`.
pub(super) fn definitions(
    crd: &Value,
    def: &ResourceDef,
) -> (String, String, Vec<(String, Value)>) {
    let name = definition_name(&def.group, &def.version, &def.kind);
    let list_name = definition_name(&def.group, &def.version, &def.list_kind);
    let mut schema = version_schema(crd, &def.version);
    if let Some(map) = schema.as_object_mut() {
        map.insert("type".into(), json!("object"));
        let properties = map.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert(
                "apiVersion".into(),
                json!({
                    "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
                    "type": "string",
                }),
            );
            properties.insert(
                "kind".into(),
                json!({
                    "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                    "type": "string",
                }),
            );
            properties.insert(
                "metadata".into(),
                json!({
                    "allOf": [{"$ref": format!("{DEFINITIONS_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")}],
                    "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
                }),
            );
        }
        map.insert(
            "x-kubernetes-group-version-kind".into(),
            gvk_extension(&def.group, &def.version, &def.kind),
        );
    }
    let list = list_definition(&def.kind, &def.list_kind, &name, &def.group, &def.version);
    (
        name.clone(),
        list_name.clone(),
        vec![(name, schema), (list_name, list)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{Origin, Representation};

    #[test]
    fn a_crd_version_becomes_a_kind_and_a_list_definition() {
        let crd = json!({"spec": {"versions": [{"name": "v1alpha1", "schema": {"openAPIV3Schema": {
            "description": "A shard.",
            "properties": {"spec": {"type": "object", "description": "Desired state.",
                "properties": {"pools": {"type": "array", "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"], "items": {"type": "object"}}}}}}}}]}});
        let def = ResourceDef {
            group: "multigres.com".into(),
            version: "v1alpha1".into(),
            storage_version: "v1alpha1".into(),
            kind: "Shard".into(),
            list_kind: "ShardList".into(),
            plural: "shards".into(),
            singular: "shard".into(),
            namespaced: true,
            short_names: vec![],
            categories: vec![],
            status_subresource: true,
            scale: None,
            field_selectors: vec![],
            table: "shards.multigres.com".into(),
            representation: Representation::Native,
            origin: Origin::Crd {
                crd_name: "shards.multigres.com".into(),
            },
            verbs: &crate::resources::STANDARD_VERBS,
            extra_subresources: &[],
        };
        let (name, list_name, definitions) = definitions(&crd, &def);
        assert_eq!(name, "com.multigres.v1alpha1.Shard");
        assert_eq!(list_name, "com.multigres.v1alpha1.ShardList");
        let kind = &definitions[0].1;
        assert_eq!(kind["description"], "A shard.");
        assert_eq!(kind["type"], "object");
        assert_eq!(
            kind["x-kubernetes-group-version-kind"],
            json!([{"group": "multigres.com", "kind": "Shard", "version": "v1alpha1"}])
        );
        assert_eq!(
            kind["properties"]["spec"]["properties"]["pools"]["x-kubernetes-list-map-keys"],
            json!(["name"])
        );
        assert_eq!(
            kind["properties"]["metadata"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        let list = &definitions[1].1;
        assert_eq!(
            list["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/com.multigres.v1alpha1.Shard"
        );
        assert_eq!(
            list["x-kubernetes-group-version-kind"],
            json!([{"group": "multigres.com", "kind": "ShardList", "version": "v1alpha1"}])
        );
    }
}
