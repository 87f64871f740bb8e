//! Behaviour tests of the CRD engine, pinned to the API server's exact wording
//! (apiextensions-apiserver / kube-openapi / apimachinery v0.33).

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::test_support::*;
use super::*;

fn compiled() -> CompiledCrd {
    CompiledCrd::new(&typed(shardset_crd_json())).expect("the fixture CRD is accepted")
}

/// Every cause as the API server prints it in a 422 message.
fn lines(causes: &[FieldCause]) -> Vec<String> {
    causes.iter().map(ToString::to_string).collect()
}

/// Prunes, defaults and validates a create, returning the cause lines.
fn create_causes(spec: Value) -> Vec<String> {
    create_object_causes(shardset(spec))
}

fn create_object_causes(mut obj: Value) -> Vec<String> {
    let crd = compiled();
    crd.prune_and_default(VERSION, &mut obj, FieldValidation::Ignore)
        .expect("Ignore never fails");
    match crd.validate(VERSION, &obj, None) {
        Ok(()) => Vec::new(),
        Err(causes) => lines(&causes),
    }
}

/// Prunes, defaults and validates an update from `old_spec` to `new_spec`.
fn update_causes(old_spec: Value, new_spec: Value) -> Vec<String> {
    let crd = compiled();
    let mut old = shardset(old_spec);
    crd.apply_defaults(VERSION, &mut old);
    let mut new = shardset(new_spec);
    crd.prune_and_default(VERSION, &mut new, FieldValidation::Ignore)
        .expect("Ignore never fails");
    match crd.validate(VERSION, &new, Some(&old)) {
        Ok(()) => Vec::new(),
        Err(causes) => lines(&causes),
    }
}

const BLOCKED: &str = r#"<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"#;

#[test]
fn accepted_crd_exposes_defaulted_names_scope_and_subresources() {
    let crd = compiled();
    assert_eq!(crd.name(), "shardsets.kubesim.example.test");
    assert_eq!(crd.group(), GROUP);
    assert_eq!(
        (crd.plural(), crd.singular(), crd.kind(), crd.list_kind()),
        ("shardsets", "shardset", KIND, "ShardsetList")
    );
    assert_eq!(crd.short_names(), ["shs".to_owned()]);
    assert_eq!(crd.categories(), ["multigres".to_owned()]);
    assert_eq!(crd.scope(), Scope::Namespaced);
    let version = crd.storage_version();
    assert_eq!(
        (version.name(), version.served(), version.storage()),
        (VERSION, true, true)
    );
    assert_eq!(
        crd.served_versions()
            .map(CompiledVersion::name)
            .collect::<Vec<_>>(),
        [VERSION]
    );
    assert!(version.status_subresource());
    let scale = version
        .scale_subresource()
        .expect("fixture has a scale subresource");
    assert_eq!(
        (
            scale.spec_replicas_path.as_str(),
            scale.status_replicas_path.as_str()
        ),
        (".spec.replicas", ".status.readyReplicas")
    );
    let columns: Vec<&str> = version
        .printer_columns()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(columns, ["Mode", "Age"]);
    assert_eq!(version.selectable_fields()[0].json_path, ".spec.mode");
    let typed_schema = typed(shardset_crd_json()).spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| serde_json::to_value(&s.open_api_v3_schema).ok());
    assert_eq!(Some(version.schema_json()), typed_schema.as_ref());
    assert_eq!(version.deprecation(), None);
}

#[test]
fn accepted_status_sets_conditions_names_and_stored_versions() {
    let crd = compiled();
    let status = crd.accepted_status("2025-01-02T03:04:05Z", None);
    let expected = json!({
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": "2025-01-02T03:04:05Z",
             "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": "2025-01-02T03:04:05Z",
             "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}
        ],
        "acceptedNames": {"categories": ["multigres"], "kind": KIND, "listKind": "ShardsetList",
                          "plural": "shardsets", "shortNames": ["shs"], "singular": "shardset"},
        "storedVersions": [VERSION]
    });
    assert_eq!(status, expected);

    // A later update keeps the transition times of conditions already True and
    // the versions stored before.
    let mut previous = expected.clone();
    previous["storedVersions"] = json!(["v1alpha1"]);
    let again = crd.accepted_status("2030-06-07T08:09:10Z", Some(&previous));
    assert_eq!(again["conditions"], expected["conditions"]);
    assert_eq!(again["storedVersions"], json!(["v1alpha1", VERSION]));
}

/// (mutation of the fixture CRD JSON, expected cause lines)
type DefinitionCase = (&'static str, fn(&mut Value), Vec<&'static str>);

fn schema_node(crd: &mut Value) -> &mut Value {
    &mut crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
}

fn spec_props(crd: &mut Value) -> &mut Value {
    &mut schema_node(crd)["properties"]["spec"]["properties"]
}

#[test]
fn invalid_definitions_are_rejected_with_the_api_server_causes() {
    let cases: Vec<DefinitionCase> = vec![
        (
            "name is not <plural>.<group>",
            |crd| crd["metadata"]["name"] = json!("shardset.kubesim.example.test"),
            vec![
                r#"metadata.name: Invalid value: "shardset.kubesim.example.test": must be spec.names.plural+"."+spec.group"#,
            ],
        ),
        (
            "group without a dot",
            |crd| {
                crd["metadata"]["name"] = json!("shardsets.example");
                crd["spec"]["group"] = json!("example");
            },
            vec![
                r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#,
            ],
        ),
        (
            "unknown scope",
            |crd| crd["spec"]["scope"] = json!("Global"),
            vec![
                r#"spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced""#,
            ],
        ),
        (
            "kind equal to listKind",
            |crd| crd["spec"]["names"]["listKind"] = json!("Shardset"),
            vec![
                r#"spec.names.listKind: Invalid value: "Shardset": kind and listKind may not be the same"#,
            ],
        ),
        (
            "bad short name",
            |crd| crd["spec"]["names"]["shortNames"] = json!(["Sh"]),
            vec![
                r#"spec.names.shortNames[0]: Invalid value: "Sh": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#,
            ],
        ),
        (
            "untyped field",
            |crd| spec_props(crd)["zone"] = json!({}),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[zone].type: Required value: must not be empty for specified object fields",
            ],
        ),
        (
            "$ref",
            |crd| spec_props(crd)["zone"] = json!({"type": "string", "$ref": "#/definitions/zone"}),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[zone].$ref: Forbidden: $ref is not supported",
            ],
        ),
        (
            "array without items",
            |crd| spec_props(crd)["tier"] = json!({"type": "array"}),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[tier].items: Required value: must be specified",
            ],
        ),
        (
            "root metadata with more than names",
            |crd| {
                schema_node(crd)["properties"]["metadata"] =
                    json!({"type": "object", "properties": {"labels": {"type": "object"}}})
            },
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
            ],
        ),
        (
            "list-type map without keys",
            |crd| {
                spec_props(crd)["databases"]
                    .as_object_mut()
                    .expect("databases is an object")
                    .remove("x-kubernetes-list-map-keys");
            },
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[databases].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map",
            ],
        ),
        (
            "type inside allOf",
            |crd| spec_props(crd)["zone"]["allOf"] = json!([{"type": "string"}]),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[zone].allOf[0].type: Forbidden: must be empty to be structural",
            ],
        ),
        (
            "uniqueItems",
            |crd| spec_props(crd)["cells"]["uniqueItems"] = json!(true),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[cells].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            ],
        ),
        (
            "default with unknown fields",
            |crd| spec_props(crd)["backup"]["default"] = json!({"retention": 3}),
            vec![
                r#"spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[backup].default: Invalid value: map[string]interface {}{"retention":3}: must not have unknown fields"#,
            ],
        ),
        (
            "default of the wrong type",
            |crd| spec_props(crd)["replicas"]["default"] = json!("one"),
            vec![
                r#"spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[replicas].default: Invalid value: "string":  in body must be of type integer: "string""#,
            ],
        ),
        (
            "transition rule under an atomic list",
            |crd| {
                spec_props(crd)["tier"] = json!({
                    "type": "array",
                    "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}
                });
            },
            vec![
                r#"spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[tier].items.x-kubernetes-validations[0].rule: Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema within spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[tier]"#,
            ],
        ),
        (
            "rule with an unsupported reason",
            |crd| {
                spec_props(crd)["zone"]["x-kubernetes-validations"] =
                    json!([{"rule": "self != ''", "reason": "FieldValueBad"}])
            },
            vec![
                r#"spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[zone].x-kubernetes-validations[0].reason: Unsupported value: "FieldValueBad": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired""#,
            ],
        ),
        (
            "fieldPath that names no field",
            |crd| {
                spec_props(crd)["limits"]["x-kubernetes-validations"][0]["fieldPath"] =
                    json!(".maximum")
            },
            vec![
                r#"spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[limits].x-kubernetes-validations[0].fieldPath: Invalid value: ".maximum": fieldPath must be a valid path"#,
            ],
        ),
        (
            "printer column with an unknown type",
            |crd| crd["spec"]["versions"][0]["additionalPrinterColumns"][0]["type"] = json!("text"),
            vec![
                r#"spec.versions[0].additionalPrinterColumns[0].type: Invalid value: "text": must be one of boolean,date,integer,number,string"#,
            ],
        ),
        (
            "selectable field on a map",
            |crd| {
                crd["spec"]["versions"][0]["selectableFields"] =
                    json!([{"jsonPath": ".spec.labels"}])
            },
            vec![
                r#"spec.versions[0].selectableFields[0].jsonPath: Invalid value: ".spec.labels": must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed."#,
            ],
        ),
        (
            "scale path outside spec",
            |crd| {
                crd["spec"]["versions"][0]["subresources"]["scale"]["specReplicasPath"] =
                    json!(".status.replicas")
            },
            vec![
                r#"spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec"#,
            ],
        ),
        (
            "missing schema",
            |crd| {
                crd["spec"]["versions"][0]
                    .as_object_mut()
                    .expect("version is an object")
                    .remove("schema");
                crd["spec"]["versions"][0]["selectableFields"] = json!([]);
            },
            vec!["spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"],
        ),
    ];
    for (name, mutate, expected) in cases {
        let mut crd = shardset_crd_json();
        mutate(&mut crd);
        let causes = CompiledCrd::new(&typed(crd)).expect_err(name);
        assert_eq!(lines(&causes), expected, "{name}");
    }
}

#[test]
fn storage_version_count_and_rule_compilation_are_checked() {
    // Two storage versions: Go prints the whole version list as the bad value;
    // kubesim prints it as JSON in Go map syntax, so only field and detail are pinned.
    let mut crd = shardset_crd_json();
    let mut second = crd["spec"]["versions"][0].clone();
    second["name"] = json!("v1");
    crd["spec"]["versions"]
        .as_array_mut()
        .expect("versions array")
        .push(second);
    let causes = CompiledCrd::new(&typed(crd)).expect_err("two storage versions");
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].field, "spec.versions");
    assert_eq!(causes[0].reason, "FieldValueInvalid");
    assert!(
        causes[0]
            .message
            .ends_with(": must have exactly one version marked as storage version")
    );

    let mut crd = shardset_crd_json();
    spec_props(&mut crd)["zone"]["x-kubernetes-validations"] = json!([{"rule": "self.size() >"}]);
    let causes = CompiledCrd::new(&typed(crd)).expect_err("rule does not compile");
    assert_eq!(causes.len(), 1);
    assert_eq!(
        causes[0].field,
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[zone].x-kubernetes-validations[0].rule"
    );
    let prefix = r#"Invalid value: apiextensions.ValidationRule{Rule:"self.size() >", Message:"", MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}: compilation failed: ERROR: <input>:1:"#;
    assert!(
        causes[0].message.starts_with(prefix),
        "{}",
        causes[0].message
    );
}

#[test]
fn unknown_fields_follow_the_field_validation_mode() {
    let crd = compiled();
    let body = json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": KIND,
        "metadata": {"name": "alpha", "namespace": "tenant-a", "colour": "red"},
        "junk": true,
        "spec": {
            "name": "alpha-db",
            "foo": 1,
            "databases": [{"name": "main", "bar": "x"}],
            "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t"}, "data": {"k": "v"}},
            "extra": {"anything": {"deep": [1, 2]}},
            "labels": {"app": "db"}
        },
        "status": {"phase": "Ready", "extra": 1}
    });
    let pruned = json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": KIND,
        "metadata": {"name": "alpha", "namespace": "tenant-a"},
        "spec": {
            "name": "alpha-db",
            "databases": [{"name": "main", "owner": "postgres"}],
            "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t"}, "data": {"k": "v"}},
            "extra": {"anything": {"deep": [1, 2]}},
            "labels": {"app": "db"},
            "replicas": 1,
            "backup": {"type": "filesystem", "filesystem": {"path": "/backups"}}
        },
        "status": {"phase": "Ready"}
    });
    // `metadata` members first, as the API server lists them (ObjectMeta is decoded first).
    let unknown = [
        "metadata.colour",
        "junk",
        "spec.databases[0].bar",
        "spec.foo",
        "status.extra",
    ];

    let mut strict = body.clone();
    let err = crd
        .prune_and_default(VERSION, &mut strict, FieldValidation::Strict)
        .expect_err("Strict rejects unknown fields");
    assert_eq!(err.unknown_fields, unknown);
    assert_eq!(
        err.to_string(),
        r#"strict decoding error: unknown field "metadata.colour", unknown field "junk", unknown field "spec.databases[0].bar", unknown field "spec.foo", unknown field "status.extra""#
    );

    let mut warn = body.clone();
    let warnings = crd
        .prune_and_default(VERSION, &mut warn, FieldValidation::Warn)
        .expect("Warn accepts");
    assert_eq!(
        warnings,
        unknown
            .iter()
            .map(|p| format!("unknown field \"{p}\""))
            .collect::<Vec<_>>()
    );
    assert_eq!(warn, pruned);

    let mut ignore = body;
    let warnings = crd
        .prune_and_default(VERSION, &mut ignore, FieldValidation::Ignore)
        .expect("Ignore accepts");
    assert_eq!(warnings, Vec::<String>::new());
    assert_eq!(ignore, pruned);

    // A body without unknown fields passes Strict.
    let mut clean = pruned.clone();
    assert_eq!(
        crd.prune_and_default(VERSION, &mut clean, FieldValidation::Strict),
        Ok(Vec::new())
    );
    assert_eq!(clean, pruned);
}

#[test]
fn field_validation_parses_the_query_values() {
    assert_eq!("Strict".parse(), Ok(FieldValidation::Strict));
    assert_eq!("Warn".parse(), Ok(FieldValidation::Warn));
    assert_eq!("".parse(), Ok(FieldValidation::Warn));
    assert_eq!("Ignore".parse(), Ok(FieldValidation::Ignore));
    let err = "strict"
        .parse::<FieldValidation>()
        .expect_err("values are case-sensitive");
    assert_eq!(
        err.to_string(),
        r#"fieldValidation must be one of "Ignore", "Warn", or "Strict", got "strict""#
    );
}

#[test]
fn defaults_fill_absent_fields_nested_objects_and_non_nullable_nulls() {
    let crd = compiled();
    let mut obj = shardset(json!({
        "name": "alpha-db",
        "replicas": null,
        "zone": null,
        "note": null,
        "pools": {"main": {"cells": ["z1"]}},
        "databases": [{"name": "main"}, {"name": "logs", "owner": "ops"}]
    }));
    crd.prune_and_default(VERSION, &mut obj, FieldValidation::Strict)
        .expect("no unknown fields");
    assert_eq!(
        obj["spec"],
        json!({
            "name": "alpha-db",
            "replicas": 1,
            "note": null,
            "pools": {"main": {"cells": ["z1"], "replicasPerCell": 3}},
            "databases": [{"name": "main", "owner": "postgres"}, {"name": "logs", "owner": "ops"}],
            "backup": {"type": "filesystem", "filesystem": {"path": "/backups"}}
        })
    );

    // Defaults are applied on read as well, without pruning.
    let mut stored =
        shardset(json!({"name": "alpha-db", "backup": {"type": "s3", "s3": {"bucket": "b"}}}));
    crd.apply_defaults(VERSION, &mut stored);
    assert_eq!(
        stored["spec"],
        json!({
            "name": "alpha-db",
            "replicas": 1,
            "backup": {"type": "s3", "s3": {"bucket": "b"}, "filesystem": {"path": "/backups"}}
        })
    );
}

#[test]
fn openapi_and_cel_failures_on_create_use_the_api_server_wording() {
    let long_name = "a".repeat(31);
    let cases: Vec<(Value, Vec<String>)> = vec![
        (json!({"name": "alpha-db"}), vec![]),
        (
            json!({"name": "alpha-db", "replicas": 129}),
            vec!["spec.replicas: Invalid value: 129: spec.replicas in body should be less than or equal to 128".into()],
        ),
        (
            json!({"name": "alpha-db", "replicas": 200}),
            vec![
                "spec.replicas: Invalid value: 200: spec.replicas in body should be less than or equal to 128".into(),
                r#"spec.replicas: Invalid value: "integer": replicas must be odd"#.into(),
            ],
        ),
        (
            json!({"name": "alpha-db", "replicas": -1}),
            vec![
                "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0".into(),
                // The scale subresource checks its spec replicas path too.
                ".spec.replicas: Invalid value: -1: should be a non-negative integer".into(),
                r#"spec.replicas: Invalid value: "integer": replicas must be odd"#.into(),
            ],
        ),
        (
            json!({"name": ""}),
            vec![r#"spec.name: Invalid value: "": spec.name in body should be at least 1 chars long"#.into()],
        ),
        (
            json!({"name": "Bad_Name"}),
            vec![
                r#"spec.name: Invalid value: "Bad_Name": spec.name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"#.into(),
            ],
        ),
        (
            json!({"name": long_name}),
            vec!["spec.name: Too long: may not be more than 30 bytes".into(), BLOCKED.into()],
        ),
        (
            json!({"name": "alpha-db", "mode": "standby"}),
            vec![
                r#"spec.mode: Unsupported value: "standby": supported values: "primary", "replica""#.into(),
                BLOCKED.into(),
            ],
        ),
        (json!({}), vec!["spec.name: Required value".into(), BLOCKED.into()]),
        (
            json!({"name": "alpha-db", "replicas": "three"}),
            vec![
                r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#.into(),
                ".spec.replicas: Invalid value: 0: .spec.replicas accessor error: three is of the type string, expected int64".into(),
                BLOCKED.into(),
            ],
        ),
        (
            json!({"name": "alpha-db", "ratio": 1}),
            vec!["spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1".into()],
        ),
        (
            json!({"name": "alpha-db", "ratio": 0}),
            vec!["spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0".into()],
        ),
        (json!({"name": "alpha-db", "ratio": 0.25}), vec![]),
        (
            json!({"name": "alpha-db", "step": 7}),
            vec!["spec.step: Invalid value: 7: spec.step in body should be a multiple of 5".into()],
        ),
        (
            json!({"name": "alpha-db", "cells": ["a", "b", "c"]}),
            vec!["spec.cells: Too many: 3: must have at most 2 items".into(), BLOCKED.into()],
        ),
        (
            json!({"name": "alpha-db", "cells": ["a", "a"]}),
            vec![r#"spec.cells[1]: Duplicate value: "a""#.into()],
        ),
        (
            json!({"name": "alpha-db", "databases": [{"name": "main"}, {"name": "main", "owner": "x"}]}),
            vec![r#"spec.databases[1]: Duplicate value: map[string]interface {}{"name":"main"}"#.into()],
        ),
        (
            json!({"name": "alpha-db", "labels": {"a": "1", "b": "2", "c": "3", "d": "4"}}),
            vec!["spec.labels: Too many: 4: must have at most 3 items".into(), BLOCKED.into()],
        ),
        (
            json!({"name": "alpha-db", "pools": {"p": {"cells": []}}}),
            vec!["spec.pools.p.cells: Invalid value: 0: spec.pools.p.cells in body should have at least 1 items".into()],
        ),
        (
            json!({"name": "alpha-db", "pools": {"p": {"replicasPerCell": 33}}}),
            vec![
                "spec.pools.p.replicasPerCell: Invalid value: 33: spec.pools.p.replicasPerCell in body should be less than or equal to 32".into(),
            ],
        ),
        (
            json!({"name": "alpha-db", "schedule": "yesterday"}),
            vec![
                r#"spec.schedule: Invalid value: "yesterday": spec.schedule in body must be of type date-time: "yesterday""#.into(),
                BLOCKED.into(),
            ],
        ),
        (json!({"name": "alpha-db", "schedule": "2025-01-02T03:04:05Z", "payload": "aGk="}), vec![]),
        (
            json!({"name": "alpha-db", "port": true}),
            vec![
                r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#.into(),
                BLOCKED.into(),
            ],
        ),
        (json!({"name": "alpha-db", "port": "http"}), vec![]),
        (json!({"name": "alpha-db", "quantity": "10Gi"}), vec![]),
        (json!({"name": "alpha-db", "quantity": 3}), vec![]),
        (
            json!({"name": "alpha-db", "quantity": "ten"}),
            vec![r#"spec.quantity: Invalid value: "ten": spec.quantity in body should match '^[0-9]+(Gi|Mi)?$'"#.into()],
        ),
        (
            json!({"name": "alpha-db", "quantity": true}),
            vec![
                r#"spec.quantity: Invalid value: "boolean": spec.quantity in body must be of type integer,string: "boolean""#.into(),
                r#"<nil>: Invalid value: "": "spec.quantity" must validate at least one schema (anyOf)"#.into(),
                r#"spec.quantity: Invalid value: "boolean": spec.quantity in body must be of type integer: "boolean""#.into(),
                BLOCKED.into(),
            ],
        ),
        (
            json!({"name": "alpha-db", "note": 5}),
            vec![
                r#"spec.note: Invalid value: "integer": spec.note in body must be of type string: "integer""#.into(),
                BLOCKED.into(),
            ],
        ),
        (
            json!({"name": "alpha-db", "zone": "z1", "region": "r1"}),
            vec![r#"spec: Invalid value: "object": cannot specify both 'zone' and 'region'"#.into()],
        ),
        (
            json!({"name": "alpha-db", "limits": {"min": 5, "max": 1}}),
            vec![r#"spec.limits.max: Invalid value: "object": max 1 is below min 5"#.into()],
        ),
        (
            json!({"name": "alpha-db", "limits": {"min": 1, "max": 5, "forbidden": true}}),
            vec!["spec.limits.forbidden: Forbidden: forbidden must not be set".into()],
        ),
        (
            json!({"name": "alpha-db", "backup": {"type": "s3"}}),
            vec![r#"spec.backup: Invalid value: "object": s3 config is required when type is 's3'"#.into()],
        ),
        (
            json!({"name": "alpha-db", "pools": {"a-pool-name-longer-than-25": {}}}),
            vec![r#"spec.pools: Invalid value: "object": pool names must be <= 25 chars"#.into()],
        ),
    ];
    for (spec, expected) in cases {
        assert_eq!(create_causes(spec.clone()), expected, "spec {spec}");
    }
}

#[test]
fn root_rules_and_type_meta_are_checked() {
    let mut obj = shardset(json!({"name": "alpha-db"}));
    obj["metadata"]["name"] = json!("a-shardset-name-of-26-char");
    assert_eq!(
        create_object_causes(obj),
        [r#"<nil>: Invalid value: "object": Shardset name must be at most 25 characters"#]
    );

    let mut obj = shardset(json!({"name": ""}));
    obj["kind"] = json!("Other");
    obj["apiVersion"] = json!("kubesim.example.test/v9");
    assert_eq!(
        create_object_causes(obj),
        [
            r#"kind: Invalid value: "Other": must be Shardset"#,
            r#"apiVersion: Invalid value: "kubesim.example.test/v9": must be kubesim.example.test/v1beta2"#,
        ]
    );
}

#[test]
fn scale_replicas_paths_must_hold_integers() {
    let mut obj = shardset(json!({"name": "alpha-db"}));
    obj["status"] = json!({"readyReplicas": "two"});
    assert_eq!(
        create_object_causes(obj),
        [
            r#"status.readyReplicas: Invalid value: "string": status.readyReplicas in body must be of type integer: "string""#,
            ".status.readyReplicas: Invalid value: 0: .status.readyReplicas accessor error: two is of the type string, expected int64",
            BLOCKED,
        ]
    );
}

#[test]
fn transition_rules_reject_updates_with_the_rule_message() {
    let cases: Vec<(Value, Value, Vec<&str>)> = vec![
        (
            json!({"name": "alpha-db", "cells": ["a", "b"]}),
            json!({"name": "alpha-db", "cells": ["a"]}),
            vec![
                r#"spec.cells: Invalid value: "array": Cells cannot be removed from a pool (Append-Only)"#,
            ],
        ),
        (
            json!({"name": "alpha-db", "cells": ["a"]}),
            json!({"name": "alpha-db", "cells": ["a", "b"]}),
            vec![],
        ),
        (
            json!({"name": "alpha-db", "pools": {"p1": {}, "p2": {}}}),
            json!({"name": "alpha-db", "pools": {"p1": {}}}),
            vec![
                r#"spec.pools: Invalid value: "object": Pools cannot be removed or renamed in this version (Append-Only)"#,
            ],
        ),
        (
            json!({"name": "alpha-db", "pools": {"p": {"cells": ["a", "b"]}}}),
            json!({"name": "alpha-db", "pools": {"p": {"cells": ["b"]}}}),
            vec![
                r#"spec.pools[p].cells: Invalid value: "array": Cells cannot be removed from a pool (Append-Only)"#,
            ],
        ),
        // Removing the whole field bypasses the transition rule (no new value to check).
        (
            json!({"name": "alpha-db", "cells": ["a", "b"]}),
            json!({"name": "alpha-db"}),
            vec![],
        ),
        // list-type=map items pair by key, not by index: reordering is fine ...
        (
            json!({"name": "alpha-db", "databases": [{"name": "a", "tables": ["t1"]}, {"name": "b", "tables": ["t2"]}]}),
            json!({"name": "alpha-db", "databases": [{"name": "b", "tables": ["t2"]}, {"name": "a", "tables": ["t1", "t3"]}]}),
            vec![],
        ),
        // ... and a removal is found on the item with the same key.
        (
            json!({"name": "alpha-db", "databases": [{"name": "a", "tables": ["t1"]}, {"name": "b", "tables": ["t2"]}]}),
            json!({"name": "alpha-db", "databases": [{"name": "b", "tables": ["t2"]}, {"name": "a", "tables": ["t3"]}]}),
            vec![r#"spec.databases[1].tables: Invalid value: "array": tables are append-only"#],
        ),
    ];
    for (old, new, expected) in cases {
        assert_eq!(
            update_causes(old.clone(), new.clone()),
            expected,
            "{old} -> {new}"
        );
    }
}

#[test]
fn transition_rules_are_skipped_on_create() {
    assert_eq!(
        create_causes(
            json!({"name": "alpha-db", "cells": ["a"], "pools": {"p": {"cells": ["x"]}}})
        ),
        Vec::<String>::new()
    );
}

#[test]
fn unchanged_invalid_values_ratchet_on_update() {
    // Stored before the rules existed: an invalid name and an s3 backup without config.
    let old = json!({"name": "Bad_Name", "replicas": 1, "backup": {"type": "s3"}});
    let changed_elsewhere = json!({"name": "Bad_Name", "replicas": 3, "backup": {"type": "s3"}});
    assert_eq!(
        update_causes(old.clone(), changed_elsewhere),
        Vec::<String>::new()
    );

    let still_invalid = json!({"name": "Other_Bad", "replicas": 1, "backup": {"type": "s3"}});
    assert_eq!(
        update_causes(old, still_invalid),
        [
            r#"spec.name: Invalid value: "Other_Bad": spec.name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"#
        ]
    );
}

#[test]
fn invalid_message_joins_the_causes_for_the_kind() {
    let crd = compiled();
    let mut obj = shardset(json!({"name": "alpha-db", "replicas": 200}));
    crd.prune_and_default(VERSION, &mut obj, FieldValidation::Strict)
        .expect("no unknown fields");
    let causes = crd
        .validate(VERSION, &obj, None)
        .expect_err("replicas 200 is invalid");
    assert_eq!(
        crd.invalid_message("alpha", &causes),
        r#"Shardset.kubesim.example.test "alpha" is invalid: [spec.replicas: Invalid value: 200: spec.replicas in body should be less than or equal to 128, spec.replicas: Invalid value: "integer": replicas must be odd]"#
    );
    assert_eq!(
        causes
            .iter()
            .map(|c| (c.reason.as_str(), c.field.as_str()))
            .collect::<Vec<_>>(),
        [
            ("FieldValueInvalid", "spec.replicas"),
            ("FieldValueInvalid", "spec.replicas")
        ]
    );
}

#[test]
fn compiled_crds_can_be_shared_between_request_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledCrd>();
}
