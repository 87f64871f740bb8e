//! Rule evaluation details: optional oldSelf, runtime errors, messages, reasons,
//! escaped names and schema-typed values.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::evaluate;
use crate::crd_schema::structural::parse_root;
use crate::field_cause::FieldPath;

/// Evaluates the rules of a root schema whose `spec` is `spec_schema`.
fn run(spec_schema: Value, new_spec: Value, old_spec: Option<Value>) -> Vec<String> {
    let root = json!({"type": "object", "properties": {"spec": spec_schema}});
    let schema = parse_root(&root, &FieldPath::new("schema")).expect("test schemas are structural");
    let new = json!({"spec": new_spec});
    let old = old_spec.map(|spec| json!({"spec": spec}));
    let mut causes = Vec::new();
    evaluate(&schema, &new, old.as_ref(), &mut causes);
    causes.iter().map(ToString::to_string).collect()
}

fn with_rules(properties: Value, rules: Value) -> Value {
    json!({"type": "object", "properties": properties, "x-kubernetes-validations": rules})
}

#[test]
fn optional_old_self_runs_on_create_with_an_empty_optional() {
    let schema = json!({
        "type": "integer",
        "x-kubernetes-validations": [{
            "rule": "!oldSelf.hasValue() || self >= oldSelf.value()",
            "message": "must not decrease",
            "optionalOldSelf": true
        }, {
            "rule": "oldSelf.hasValue()",
            "optionalOldSelf": true
        }]
    });
    let spec = json!({"type": "object", "properties": {"size": schema}});
    assert_eq!(
        run(spec.clone(), json!({"size": 3}), None),
        [r#"spec.size: Invalid value: "integer": failed rule: oldSelf.hasValue()"#]
    );
    assert_eq!(
        run(spec.clone(), json!({"size": 4}), Some(json!({"size": 3}))),
        Vec::<String>::new()
    );
    assert_eq!(
        run(spec, json!({"size": 2}), Some(json!({"size": 3}))),
        [r#"spec.size: Invalid value: "integer": must not decrease"#]
    );
}

#[test]
fn runtime_errors_name_the_rule() {
    let spec = with_rules(
        json!({"a": {"type": "integer"}}),
        json!([{"rule": "self.a > 0"}]),
    );
    assert_eq!(
        run(spec, json!({}), None),
        [r#"spec: Invalid value: "object": no such key: a evaluating rule: self.a > 0"#]
    );
}

#[test]
fn messages_fall_back_from_message_expression_to_message_to_default() {
    let spec = with_rules(
        json!({"a": {"type": "integer"}}),
        json!([
            {"rule": "self.a > 10", "messageExpression": "'a is ' + string(self.a)"},
            {"rule": "self.a > 20", "messageExpression": "self.a", "message": " static message "},
            {"rule": "self.a > 30", "messageExpression": "''"}
        ]),
    );
    assert_eq!(
        run(spec, json!({"a": 5}), None),
        [
            r#"spec: Invalid value: "object": a is 5"#,
            r#"spec: Invalid value: "object": static message"#,
            r#"spec: Invalid value: "object": failed rule: self.a > 30"#,
        ]
    );
}

#[test]
fn reasons_choose_the_cause_type() {
    let spec = with_rules(
        json!({"a": {"type": "string"}}),
        json!([
            {"rule": "has(self.a)", "message": "a is needed", "reason": "FieldValueRequired", "fieldPath": ".a"},
            {"rule": "false", "message": "dup", "reason": "FieldValueDuplicate"},
            {"rule": "false", "message": "never", "reason": "FieldValueInvalid"}
        ]),
    );
    assert_eq!(
        run(spec, json!({}), None),
        [
            "spec.a: Required value: a is needed",
            r#"spec: Duplicate value: "object""#,
            r#"spec: Invalid value: "object": never"#,
        ]
    );
}

#[test]
fn property_names_are_escaped_and_map_keys_are_not() {
    let spec = with_rules(
        json!({
            "x-y": {"type": "string"},
            "namespace": {"type": "string"},
            "a__b": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}}
        }),
        json!([{
            "rule": "self.x__dash__y == 'd' && self.__namespace__ == 'n' && self.a__underscores__b == 'u' && self.labels['app.kubernetes.io/name'] == 'db'",
            "message": "escaping"
        }]),
    );
    let ok = json!({"x-y": "d", "namespace": "n", "a__b": "u", "labels": {"app.kubernetes.io/name": "db"}});
    assert_eq!(run(spec.clone(), ok, None), Vec::<String>::new());
    let bad = json!({"x-y": "other", "namespace": "n", "a__b": "u", "labels": {"app.kubernetes.io/name": "db"}});
    assert_eq!(
        run(spec, bad, None),
        [r#"spec: Invalid value: "object": escaping"#]
    );
}

#[test]
fn values_are_typed_by_the_schema() {
    let spec = with_rules(
        json!({
            "when": {"type": "string", "format": "date-time"},
            "timeout": {"type": "string", "format": "duration"},
            "ratio": {"type": "number"},
            "port": {"x-kubernetes-int-or-string": true},
            "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}
        }),
        json!([
            {"rule": "self.when < timestamp('2030-01-01T00:00:00Z')", "message": "when"},
            {"rule": "self.timeout <= duration('1h')", "message": "timeout"},
            {"rule": "self.ratio == 1.0", "message": "ratio"},
            {"rule": "self.port == 8080 || self.port == 'http'", "message": "port"},
            {"rule": "self.template.kind == 'ConfigMap' && self.template.metadata.name == 'cm'", "message": "template"}
        ]),
    );
    let ok = json!({
        "when": "2025-05-01T00:00:00Z",
        "timeout": "30m",
        "ratio": 1,
        "port": 8080,
        "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": {"a": "b"}}}
    });
    assert_eq!(run(spec.clone(), ok, None), Vec::<String>::new());
    let bad = json!({
        "when": "2031-05-01T00:00:00Z",
        "timeout": "2h",
        "ratio": 0.5,
        "port": "https",
        "template": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cm"}}
    });
    assert_eq!(
        run(spec, bad, None),
        [
            r#"spec: Invalid value: "object": when"#,
            r#"spec: Invalid value: "object": timeout"#,
            r#"spec: Invalid value: "object": ratio"#,
            r#"spec: Invalid value: "object": port"#,
            r#"spec: Invalid value: "object": template"#,
        ]
    );
}

#[test]
fn unchanged_values_ratchet_non_transition_rules_only() {
    let spec = json!({
        "type": "object",
        "properties": {
            "size": {
                "type": "integer",
                "x-kubernetes-validations": [
                    {"rule": "self < 10", "message": "too big"},
                    {"rule": "self == oldSelf", "message": "immutable"}
                ]
            },
            "other": {"type": "string"}
        }
    });
    // The stored value already breaks `self < 10`: an unrelated change keeps it.
    assert_eq!(
        run(
            spec.clone(),
            json!({"size": 12, "other": "b"}),
            Some(json!({"size": 12, "other": "a"}))
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        run(spec, json!({"size": 13}), Some(json!({"size": 12}))),
        [
            r#"spec.size: Invalid value: "integer": too big"#,
            r#"spec.size: Invalid value: "integer": immutable"#,
        ]
    );
}
