//! The `paths` of an OpenAPI v3 group-version document: for each resource its collection,
//! item, cluster-wide list and `/status` and `/scale` paths with their operations.
//!
//! What clients read from them (rust-ecosystem.md §3.2 "create -f"): kubectl validates on the
//! server only when the `patch` operation of the kind carries `x-kubernetes-group-version-kind`
//! and a `fieldValidation` query parameter, and computes client-side apply patches with
//! strategic merge only when that operation accepts `application/strategic-merge-patch+json`
//! (built-ins; custom resources get merge patches).
//!
//! Pure: documents from a resource definition.

use serde_json::{Map, Value, json};

use crate::resources::{Origin, ResourceDef};
use crate::semantics::builtin_schema::DEFINITIONS_PREFIX;

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

fn reference(name: &str) -> Value {
    json!({"$ref": format!("{DEFINITIONS_PREFIX}{name}")})
}

fn query(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": kind, "uniqueItems": true},
    })
}

fn path_parameter(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "path",
        "description": description,
        "required": true,
        "schema": {"type": "string", "uniqueItems": true},
    })
}

fn dry_run() -> Value {
    query(
        "dryRun",
        "string",
        "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
    )
}

fn field_manager() -> Value {
    query(
        "fieldManager",
        "string",
        "fieldManager is a name associated with the actor or entity that is making these changes.",
    )
}

fn field_validation() -> Value {
    query(
        "fieldValidation",
        "string",
        "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: - Ignore, - Warn (the default), - Strict.",
    )
}

fn list_parameters() -> Vec<Value> {
    vec![
        query(
            "allowWatchBookmarks",
            "boolean",
            "allowWatchBookmarks requests watch events with type \"BOOKMARK\".",
        ),
        query(
            "continue",
            "string",
            "The continue option should be set when retrieving more results from the server.",
        ),
        query(
            "fieldSelector",
            "string",
            "A selector to restrict the list of returned objects by their fields.",
        ),
        query(
            "labelSelector",
            "string",
            "A selector to restrict the list of returned objects by their labels.",
        ),
        query(
            "limit",
            "integer",
            "limit is a maximum number of responses to return for a list call.",
        ),
        query(
            "resourceVersion",
            "string",
            "resourceVersion sets a constraint on what resource versions a request may be served from.",
        ),
        query(
            "resourceVersionMatch",
            "string",
            "resourceVersionMatch determines how resourceVersion is applied to list calls.",
        ),
        query(
            "sendInitialEvents",
            "boolean",
            "`sendInitialEvents=true` may be set together with `watch=true`.",
        ),
        query(
            "timeoutSeconds",
            "integer",
            "Timeout for the list/watch call.",
        ),
        query(
            "watch",
            "boolean",
            "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
        ),
    ]
}

/// Response bodies: JSON and YAML of the definition `name`.
fn body(name: &str) -> Value {
    json!({
        "application/json": {"schema": reference(name)},
        "application/yaml": {"schema": reference(name)},
    })
}

fn responses(codes: &[(&str, &str)], name: &str) -> Value {
    let mut map = Map::new();
    for (code, description) in codes {
        map.insert(
            (*code).to_string(),
            json!({"description": description, "content": body(name)}),
        );
    }
    map.insert("401".into(), json!({"description": "Unauthorized"}));
    Value::Object(map)
}

/// Go-style identifiers for operation ids: `Core`, `Apps`, `RbacAuthorization`, `KubesimTest`.
fn camel_group(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    group
        .trim_end_matches(".k8s.io")
        .split(['.', '-'])
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

struct Context<'a> {
    def: &'a ResourceDef,
    /// The definition of the kind.
    kind_name: &'a str,
    tag: String,
    id_suffix: String,
}

impl Context<'_> {
    fn gvk(&self) -> Value {
        json!({"group": self.def.group, "version": self.def.version, "kind": self.def.kind})
    }

    fn operation(
        &self,
        action: &str,
        verb: &str,
        description: String,
        parameters: Vec<Value>,
        responses: Value,
        gvk: Value,
    ) -> Value {
        json!({
            "tags": [self.tag],
            "description": description,
            "operationId": format!("{verb}{}", self.id_suffix),
            "parameters": parameters,
            "responses": responses,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
        })
    }

    fn patch_body(&self) -> Value {
        let patch = reference(&format!("{META}.Patch"));
        let mut content = Map::new();
        for media in [
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json",
        ] {
            content.insert(media.into(), json!({"schema": patch}));
        }
        // Strategic merge is for built-ins only (custom resources answer 415).
        if self.def.origin == Origin::BuiltIn {
            content.insert(
                "application/strategic-merge-patch+json".into(),
                json!({"schema": patch}),
            );
        }
        json!({"content": content, "required": true})
    }

    /// get, put, patch (and delete for the main resource) of an item-level path whose body is
    /// the definition `name` with `gvk`.
    fn item_operations(
        &self,
        what: &str,
        name: &str,
        gvk: Value,
        delete: bool,
    ) -> Map<String, Value> {
        let kind = &self.def.kind;
        let mut ops = Map::new();
        ops.insert(
            "get".into(),
            self.operation(
                "get",
                "read",
                format!("read {what} of the specified {kind}"),
                vec![],
                responses(&[("200", "OK")], name),
                gvk.clone(),
            ),
        );
        let mut put = self.operation(
            "put",
            "replace",
            format!("replace {what} of the specified {kind}"),
            vec![dry_run(), field_manager(), field_validation()],
            responses(&[("200", "OK"), ("201", "Created")], name),
            gvk.clone(),
        );
        put["requestBody"] =
            json!({"content": {"*/*": {"schema": reference(name)}}, "required": true});
        ops.insert("put".into(), put);
        let mut patch = self.operation(
            "patch",
            "patch",
            format!("partially update {what} of the specified {kind}"),
            vec![
                dry_run(),
                field_manager(),
                field_validation(),
                query(
                    "force",
                    "boolean",
                    "Force is going to \"force\" Apply requests.",
                ),
            ],
            responses(&[("200", "OK"), ("201", "Created")], name),
            gvk.clone(),
        );
        patch["requestBody"] = self.patch_body();
        ops.insert("patch".into(), patch);
        if delete {
            let mut delete = self.operation(
                "delete",
                "delete",
                format!("delete a {kind}"),
                vec![
                    dry_run(),
                    query(
                        "gracePeriodSeconds",
                        "integer",
                        "The duration in seconds before the object should be deleted.",
                    ),
                    query(
                        "propagationPolicy",
                        "string",
                        "Whether and how garbage collection will be performed.",
                    ),
                ],
                responses(&[("200", "OK"), ("202", "Accepted")], self.kind_name),
                gvk,
            );
            delete["requestBody"] = json!({"content": {"*/*": {"schema": reference(&format!("{META}.DeleteOptions"))}}});
            ops.insert("delete".into(), delete);
        }
        ops
    }
}

fn with_parameters(mut ops: Map<String, Value>, parameters: Vec<Value>) -> Value {
    ops.insert("parameters".into(), Value::Array(parameters));
    Value::Object(ops)
}

/// The path items of one resource, keyed by path.
pub(super) fn resource_paths(
    def: &ResourceDef,
    kind_name: &str,
    list_name: &str,
) -> Vec<(String, Value)> {
    let prefix = if def.group.is_empty() {
        format!("/api/{}", def.version)
    } else {
        format!("/apis/{}/{}", def.group, def.version)
    };
    let namespaced = if def.namespaced { "Namespaced" } else { "" };
    let context = Context {
        def,
        kind_name,
        tag: format!(
            "{}_{}",
            if def.group.is_empty() {
                "core".to_string()
            } else {
                def.group.replace('.', "")
            },
            def.version
        ),
        id_suffix: format!(
            "{}{}{namespaced}{}",
            camel_group(&def.group),
            camel_group(&def.version),
            def.kind
        ),
    };
    let collection = if def.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", def.plural)
    } else {
        format!("{prefix}/{}", def.plural)
    };
    let item = format!("{collection}/{{name}}");
    let mut scope_parameters = Vec::new();
    if def.namespaced {
        scope_parameters.push(path_parameter(
            "namespace",
            "object name and auth scope, such as for teams and projects",
        ));
    }
    let pretty = query(
        "pretty",
        "string",
        "If 'true', then the output is pretty printed.",
    );
    let mut item_parameters = vec![path_parameter("name", &format!("name of the {}", def.kind))];
    item_parameters.extend(scope_parameters.iter().cloned());
    item_parameters.push(pretty.clone());
    let mut collection_parameters = scope_parameters.clone();
    collection_parameters.push(pretty.clone());

    let mut paths = Vec::new();
    let mut collection_ops = Map::new();
    collection_ops.insert(
        "get".into(),
        context.operation(
            "list",
            "list",
            format!("list or watch objects of kind {}", def.kind),
            list_parameters(),
            responses(&[("200", "OK")], list_name),
            context.gvk(),
        ),
    );
    let mut post = context.operation(
        "post",
        "create",
        format!("create a {}", def.kind),
        vec![dry_run(), field_manager(), field_validation()],
        responses(
            &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
            kind_name,
        ),
        context.gvk(),
    );
    post["requestBody"] =
        json!({"content": {"*/*": {"schema": reference(kind_name)}}, "required": true});
    collection_ops.insert("post".into(), post);
    let mut delete_collection = context.operation(
        "deletecollection",
        "deleteCollection",
        format!("delete collection of {}", def.kind),
        list_parameters(),
        responses(&[("200", "OK")], &format!("{META}.Status")),
        context.gvk(),
    );
    delete_collection["requestBody"] =
        json!({"content": {"*/*": {"schema": reference(&format!("{META}.DeleteOptions"))}}});
    collection_ops.insert("delete".into(), delete_collection);
    paths.push((
        collection.clone(),
        with_parameters(collection_ops, collection_parameters),
    ));

    paths.push((
        item.clone(),
        with_parameters(
            context.item_operations("", kind_name, context.gvk(), true),
            item_parameters.clone(),
        ),
    ));
    if def.status_subresource {
        paths.push((
            format!("{item}/status"),
            with_parameters(
                context.item_operations("status", kind_name, context.gvk(), false),
                item_parameters.clone(),
            ),
        ));
    }
    if def.scale.is_some() {
        let scale = "io.k8s.api.autoscaling.v1.Scale";
        paths.push((
            format!("{item}/scale"),
            with_parameters(
                context.item_operations(
                    "scale",
                    scale,
                    json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}),
                    false,
                ),
                item_parameters,
            ),
        ));
    }
    if def.namespaced {
        let mut all = Map::new();
        all.insert(
            "get".into(),
            context.operation(
                "list",
                "list",
                format!(
                    "list or watch objects of kind {} across namespaces",
                    def.kind
                ),
                list_parameters(),
                responses(&[("200", "OK")], list_name),
                context.gvk(),
            ),
        );
        // Operation ids stay unique: the cross-namespace list has no `Namespaced` in its id.
        all["get"]["operationId"] = json!(format!(
            "list{}{}{}ForAllNamespaces",
            camel_group(&def.group),
            camel_group(&def.version),
            def.kind
        ));
        paths.push((
            format!("{prefix}/{}", def.plural),
            with_parameters(all, vec![pretty]),
        ));
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;

    #[test]
    fn the_patch_operation_names_the_kind_and_accepts_field_validation() {
        let registry = Registry::with_builtins();
        let def = registry.get("apps", "v1", "deployments").expect("built in");
        let paths = resource_paths(
            def,
            "io.k8s.api.apps.v1.Deployment",
            "io.k8s.api.apps.v1.DeploymentList",
        );
        let keys: Vec<&str> = paths.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "/apis/apps/v1/namespaces/{namespace}/deployments",
                "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
                "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status",
                "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
                "/apis/apps/v1/deployments",
            ]
        );
        let patch = &paths[1].1["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "version": "v1", "kind": "Deployment"})
        );
        assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
        let names: Vec<&str> = patch["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .map(|p| p["name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            vec!["dryRun", "fieldManager", "fieldValidation", "force"]
        );
        assert!(
            patch["requestBody"]["content"]
                .get("application/strategic-merge-patch+json")
                .is_some()
        );
        assert_eq!(
            paths[3].1["put"]["x-kubernetes-group-version-kind"],
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        );
    }

    #[test]
    fn operation_ids_read_like_the_api_servers() {
        assert_eq!(camel_group(""), "Core");
        assert_eq!(
            camel_group("rbac.authorization.k8s.io"),
            "RbacAuthorization"
        );
        assert_eq!(camel_group("multigres.com"), "MultigresCom");
        assert_eq!(camel_group("v1alpha1"), "V1alpha1");
    }
}
