//! Table-driven tests of `ssa::apply` and `ssa::track_update` with exact objects and exact
//! managedFields, plus property tests (idempotence, disjoint ownership after forced applies).

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const T1: &str = "2024-05-01T10:00:00Z";
const T2: &str = "2024-05-01T10:00:05Z";
const T3: &str = "2024-05-01T10:00:09Z";

fn ctx(manager: &str, time: &str) -> FieldManagerContext {
    FieldManagerContext {
        manager: manager.to_owned(),
        api_version: "v1".to_owned(),
        subresource: None,
        time: time.to_owned(),
    }
}

fn apps_ctx(manager: &str, time: &str) -> FieldManagerContext {
    FieldManagerContext {
        api_version: "apps/v1".to_owned(),
        ..ctx(manager, time)
    }
}

fn configmap() -> MergeSchema {
    MergeSchema::for_builtin("", "v1", "ConfigMap")
}

fn deployment() -> MergeSchema {
    MergeSchema::for_builtin("apps", "v1", "Deployment")
}

fn pod() -> MergeSchema {
    MergeSchema::for_builtin("", "v1", "Pod")
}

/// A ConfigMap configuration as a client would apply it.
fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "demo-config", "namespace": "demo"}, "data": data})
}

/// A stored ConfigMap: the server-set metadata a live object carries, plus `managed_fields`.
fn live_cm(data: Value, managed_fields: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "demo-config", "namespace": "demo", "uid": "u-1",
                        "resourceVersion": "7", "managedFields": managed_fields},
           "data": data})
}

fn entry(manager: &str, operation: &str, time: Option<&str>, fields: Value) -> Value {
    let mut entry = json!({"manager": manager, "operation": operation, "apiVersion": "v1"});
    if let Some(time) = time {
        entry["time"] = json!(time);
    }
    entry["fieldsType"] = json!("FieldsV1");
    entry["fieldsV1"] = fields;
    entry
}

fn managed_fields(object: &Value) -> Value {
    object["metadata"]["managedFields"].clone()
}

fn conflicts(result: Result<Value, ApplyError>) -> (String, Vec<ConflictCause>) {
    match result {
        Err(ApplyError::Conflicts { conflicts }) => (conflicts.message(), conflicts.causes()),
        other => (format!("not a conflict: {other:?}"), Vec::new()),
    }
}

#[test]
fn first_apply_creates_the_object_and_owns_exactly_the_applied_fields() {
    let applied = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "demo-config", "namespace": "demo", "labels": {"app": "demo"}},
        "data": {"a": "1", "b": "2"}});
    let created = apply(None, &applied, &ctx("operator", T1), false, &configmap())
        .expect("an apply to a missing object creates it");
    assert_eq!(
        created,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "demo-config", "namespace": "demo", "labels": {"app": "demo"},
                "managedFields": [entry("operator", "Apply", Some(T1), json!({
                    "f:data": {"f:a": {}, "f:b": {}},
                    "f:metadata": {"f:labels": {"f:app": {}}}
                }))]},
            "data": {"a": "1", "b": "2"}})
    );
}

#[test]
fn reapplying_without_a_field_removes_it_and_moves_the_time() {
    let live = live_cm(
        json!({"a": "1", "b": "2"}),
        json!([entry(
            "operator",
            "Apply",
            Some(T1),
            json!({"f:data": {"f:a": {}, "f:b": {}}})
        )]),
    );
    let result = apply(
        Some(&live),
        &cm(json!({"a": "1"})),
        &ctx("operator", T2),
        false,
        &configmap(),
    )
    .expect("no other manager, no conflict");
    assert_eq!(
        result,
        live_cm(
            json!({"a": "1"}),
            json!([entry(
                "operator",
                "Apply",
                Some(T2),
                json!({"f:data": {"f:a": {}}})
            )])
        )
    );
}

#[test]
fn a_field_dropped_by_one_applier_stays_while_another_owns_it() {
    let live = live_cm(
        json!({"a": "1", "shared": "s"}),
        json!([
            entry(
                "alpha",
                "Apply",
                Some(T1),
                json!({"f:data": {"f:a": {}, "f:shared": {}}})
            ),
            entry(
                "beta",
                "Apply",
                Some(T1),
                json!({"f:data": {"f:shared": {}}})
            )
        ]),
    );
    let result = apply(
        Some(&live),
        &cm(json!({})),
        &ctx("alpha", T2),
        false,
        &configmap(),
    )
    .expect("dropping fields never conflicts");
    assert_eq!(result["data"], json!({"shared": "s"}));
    assert_eq!(
        managed_fields(&result),
        json!([
            // `data: {}` is itself a field alpha now applies (an empty object is a member).
            entry(
                "beta",
                "Apply",
                Some(T1),
                json!({"f:data": {"f:shared": {}}})
            ),
            entry("alpha", "Apply", Some(T2), json!({"f:data": {}}))
        ])
    );
}

#[test]
fn applying_the_same_configuration_twice_changes_nothing() {
    let applied = cm(json!({"a": "1"}));
    let first = apply(None, &applied, &ctx("operator", T1), false, &configmap())
        .expect("first apply creates");
    let second = apply(
        Some(&first),
        &applied,
        &ctx("operator", T2),
        false,
        &configmap(),
    )
    .expect("second apply is a no-op");
    assert_eq!(second, first);
}

#[test]
fn two_appliers_share_a_list_map_item_by_item() {
    let template = |containers: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "demo"},
               "spec": {"template": {"spec": {"containers": containers}}}})
    };
    let first = apply(
        None,
        &template(json!([{"name": "app", "image": "app:1"}])),
        &apps_ctx("alpha", T1),
        false,
        &deployment(),
    )
    .expect("create");
    let both = apply(
        Some(&first),
        &template(json!([{"name": "sidecar", "image": "side:1"}])),
        &apps_ctx("beta", T2),
        false,
        &deployment(),
    )
    .expect("a different item does not conflict");
    assert_eq!(
        both["spec"]["template"]["spec"]["containers"],
        json!([{"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "side:1"}])
    );
    let container = |name: &str| {
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            format!("k:{{\"name\":\"{name}\"}}"): {".": {}, "f:image": {}, "f:name": {}}
        }}}}})
    };
    let apps_entry = |manager: &str, time: &str, fields: Value| {
        let mut e = entry(manager, "Apply", Some(time), fields);
        e["apiVersion"] = json!("apps/v1");
        e
    };
    assert_eq!(
        managed_fields(&both),
        json!([
            apps_entry("alpha", T1, container("app")),
            apps_entry("beta", T2, container("sidecar"))
        ])
    );
    let (message, causes) = conflicts(apply(
        Some(&both),
        &template(
            json!([{"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "side:2"}]),
        ),
        &apps_ctx("alpha", T3),
        false,
        &deployment(),
    ));
    assert_eq!(
        message,
        r#"Apply failed with 1 conflict: conflict with "beta": .spec.template.spec.containers[name="sidecar"].image"#
    );
    assert_eq!(
        causes,
        vec![ConflictCause {
            reason: "FieldManagerConflict",
            message: r#"conflict with "beta""#.to_owned(),
            field: r#".spec.template.spec.containers[name="sidecar"].image"#.to_owned(),
        }]
    );
    // Alpha dropping its own container removes it; beta's stays.
    let dropped = apply(
        Some(&both),
        &template(json!([])),
        &apps_ctx("alpha", T3),
        false,
        &deployment(),
    )
    .expect("dropping an owned item never conflicts");
    assert_eq!(
        dropped["spec"]["template"]["spec"]["containers"],
        json!([{"name": "sidecar", "image": "side:1"}])
    );
}

#[test]
fn conflicts_with_an_updater_name_its_api_version_in_singular_and_plural() {
    let created = track_update(
        None,
        &cm(json!({"a": "1", "b": "2"})),
        &ctx("kubectl-create", T1),
        &configmap(),
    );
    assert_eq!(
        managed_fields(&created),
        json!([entry(
            "kubectl-create",
            "Update",
            Some(T1),
            json!({
                "f:data": {".": {}, "f:a": {}, "f:b": {}}
            })
        )])
    );
    let (one, _) = conflicts(apply(
        Some(&created),
        &cm(json!({"a": "9", "b": "2"})),
        &ctx("operator", T2),
        false,
        &configmap(),
    ));
    assert_eq!(
        one,
        r#"Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.a"#
    );
    let (two, causes) = conflicts(apply(
        Some(&created),
        &cm(json!({"a": "9", "b": "8"})),
        &ctx("operator", T2),
        false,
        &configmap(),
    ));
    assert_eq!(
        two,
        "Apply failed with 2 conflicts: conflicts with \"kubectl-create\" using v1:\n- .data.a\n- .data.b"
    );
    let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, vec![".data.a", ".data.b"]);
    assert_eq!(
        causes[0].message,
        r#"conflict with "kubectl-create" using v1"#
    );
}

#[test]
fn conflicts_with_several_managers_are_grouped_in_identity_order() {
    let live = live_cm(
        json!({"a": "1", "b": "2", "c": "3"}),
        json!([
            entry("zeta", "Apply", Some(T1), json!({"f:data": {"f:a": {}}})),
            entry(
                "alpha",
                "Update",
                Some(T1),
                json!({"f:data": {"f:b": {}, "f:c": {}}})
            )
        ]),
    );
    let (message, _) = conflicts(apply(
        Some(&live),
        &cm(json!({"a": "x", "b": "y", "c": "z"})),
        &ctx("operator", T2),
        false,
        &configmap(),
    ));
    assert_eq!(
        message,
        "Apply failed with 3 conflicts: conflicts with \"alpha\" using v1:\n- .data.b\n- .data.c\n\
         conflicts with \"zeta\":\n- .data.a"
    );
}

#[test]
fn force_transfers_ownership_of_conflicting_fields_only() {
    let created = track_update(
        None,
        &cm(json!({"a": "1", "b": "2"})),
        &ctx("kubectl-create", T1),
        &configmap(),
    );
    let forced = apply(
        Some(&created),
        &cm(json!({"a": "9"})),
        &ctx("operator", T2),
        true,
        &configmap(),
    )
    .expect("force never conflicts");
    assert_eq!(forced["data"], json!({"a": "9", "b": "2"}));
    assert_eq!(
        managed_fields(&forced),
        json!([
            entry(
                "operator",
                "Apply",
                Some(T2),
                json!({"f:data": {"f:a": {}}})
            ),
            entry(
                "kubectl-create",
                "Update",
                Some(T1),
                json!({"f:data": {".": {}, "f:b": {}}})
            )
        ])
    );
}

#[test]
fn an_update_takes_changed_fields_from_appliers() {
    let applied = apply(
        None,
        &cm(json!({"a": "1", "b": "2"})),
        &ctx("operator", T1),
        false,
        &configmap(),
    )
    .expect("create");
    let mut edited = applied.clone();
    edited["data"]["a"] = json!("edited");
    edited["data"]["c"] = json!("new");
    let updated = track_update(
        Some(&applied),
        &edited,
        &ctx("kubectl-edit", T2),
        &configmap(),
    );
    assert_eq!(
        managed_fields(&updated),
        json!([
            entry(
                "operator",
                "Apply",
                Some(T1),
                json!({"f:data": {"f:b": {}}})
            ),
            entry(
                "kubectl-edit",
                "Update",
                Some(T2),
                json!({"f:data": {"f:a": {}, "f:c": {}}})
            )
        ])
    );
    // The applier now re-applying its old value is a conflict with the editor.
    let (message, _) = conflicts(apply(
        Some(&updated),
        &cm(json!({"a": "1", "b": "2"})),
        &ctx("operator", T3),
        false,
        &configmap(),
    ));
    assert_eq!(
        message,
        r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.a"#
    );
}

#[test]
fn an_update_that_empties_an_entry_drops_it_and_unchanged_updates_keep_times() {
    let applied = apply(
        None,
        &cm(json!({"a": "1"})),
        &ctx("operator", T1),
        false,
        &configmap(),
    )
    .expect("create");
    let mut edited = applied.clone();
    edited["data"]["a"] = json!("2");
    let updated = track_update(Some(&applied), &edited, &ctx("editor", T2), &configmap());
    assert_eq!(
        managed_fields(&updated),
        json!([entry(
            "editor",
            "Update",
            Some(T2),
            json!({"f:data": {"f:a": {}}})
        )])
    );
    let unchanged = track_update(Some(&updated), &updated, &ctx("other", T3), &configmap());
    assert_eq!(unchanged, updated);
}

#[test]
fn status_updates_are_recorded_per_subresource() {
    let pod_object = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "demo", "uid": "u-2"},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Pending"}});
    let created = track_update(None, &pod_object, &ctx("kubectl-run", T1), &pod());
    let mut running = created.clone();
    running["status"] = json!({"phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}]});
    let status_ctx = FieldManagerContext {
        subresource: Some("status".to_owned()),
        ..ctx("kubelet", T2)
    };
    let updated = track_update(Some(&created), &running, &status_ctx, &pod());
    let mut kubelet = entry(
        "kubelet",
        "Update",
        Some(T2),
        json!({"f:status": {
            "f:conditions": {".": {}, "k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}, "f:type": {}}},
            "f:phase": {}
        }}),
    );
    kubelet["subresource"] = json!("status");
    assert_eq!(
        managed_fields(&updated),
        json!([
            entry(
                "kubectl-run",
                "Update",
                Some(T1),
                json!({
                    // On create the typed Pod already holds `spec`, `status` and `containers: null`,
                    // so only what lies below them is "added"; a new container's typed value holds
                    // `resources: {}`, which is added with it.
                    "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {
                        ".": {}, "f:image": {}, "f:name": {}, "f:resources": {}
                    }}}
                })
            ),
            kubelet
        ])
    );
    let (message, _) = conflicts(apply(
        Some(&updated),
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "demo"},
                "status": {"phase": "Failed"}}),
        &FieldManagerContext {
            subresource: Some("status".to_owned()),
            ..ctx("doctor", T3)
        },
        false,
        &pod(),
    ));
    assert_eq!(
        message,
        r#"Apply failed with 1 conflict: conflict with "kubelet" with subresource "status" using v1: .status.phase"#
    );
}

#[test]
fn finalizers_are_a_set_owned_item_by_item() {
    let meta = |finalizers: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "demo-config", "namespace": "demo", "finalizers": finalizers}})
    };
    let one = apply(
        None,
        &meta(json!(["a.io/x"])),
        &ctx("alpha", T1),
        false,
        &configmap(),
    )
    .expect("create");
    let two = apply(
        Some(&one),
        &meta(json!(["b.io/y"])),
        &ctx("beta", T2),
        false,
        &configmap(),
    )
    .expect("set items of different values do not conflict");
    assert_eq!(two["metadata"]["finalizers"], json!(["a.io/x", "b.io/y"]));
    assert_eq!(
        managed_fields(&two)[1]["fieldsV1"],
        json!({"f:metadata": {"f:finalizers": {"v:\"b.io/y\"": {}}}})
    );
    let without_alpha = apply(
        Some(&two),
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "demo-config", "namespace": "demo"}}),
        &ctx("alpha", T3),
        false,
        &configmap(),
    )
    .expect("dropping an owned item never conflicts");
    assert_eq!(without_alpha["metadata"]["finalizers"], json!(["b.io/y"]));
    assert_eq!(without_alpha["metadata"]["name"], json!("demo-config"));
}

#[test]
fn atomic_lists_are_owned_and_replaced_whole() {
    let tolerations = |key: &str| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "demo"},
               "spec": {"tolerations": [{"key": key, "operator": "Exists"}]}})
    };
    let first = apply(None, &tolerations("k1"), &ctx("alpha", T1), false, &pod()).expect("create");
    assert_eq!(
        managed_fields(&first)[0]["fieldsV1"],
        json!({"f:spec": {"f:tolerations": {}}})
    );
    let (message, _) = conflicts(apply(
        Some(&first),
        &tolerations("k2"),
        &ctx("beta", T2),
        false,
        &pod(),
    ));
    assert_eq!(
        message,
        r#"Apply failed with 1 conflict: conflict with "alpha": .spec.tolerations"#
    );
    let forced = apply(
        Some(&first),
        &tolerations("k2"),
        &ctx("beta", T2),
        true,
        &pod(),
    )
    .expect("force transfers the list");
    assert_eq!(
        forced["spec"]["tolerations"],
        json!([{"key": "k2", "operator": "Exists"}])
    );
    let managers: Vec<Value> = managed_fields(&forced)
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| json!([e["manager"], e["fieldsV1"]]))
        .collect();
    assert_eq!(
        managers,
        vec![json!(["beta", {"f:spec": {"f:tolerations": {}}}])]
    );
}

#[test]
fn applied_managed_fields_are_refused() {
    let mut applied = cm(json!({}));
    applied["metadata"]["managedFields"] = json!([]);
    let error = apply(None, &applied, &ctx("x", T1), false, &configmap())
        .expect_err("managedFields may not be applied");
    assert_eq!(
        (error.code(), error.reason(), error.to_string()),
        (
            400,
            "BadRequest",
            "metadata.managedFields must be nil".to_owned()
        )
    );
}

#[test]
fn list_map_items_without_keys_are_refused_as_the_api_server_does() {
    let applied = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "demo"},
                         "spec": {"containers": [{"image": "i"}]}});
    let error = apply(None, &applied, &ctx("x", T1), false, &pod()).expect_err("no key");
    assert_eq!(
        (error.code(), error.to_string()),
        (
            500,
            "failed to create typed patch object (demo/p; /v1, Kind=Pod): .spec.containers: element 0: \
             associative list with keys has an element that omits all key fields [\"name\"] \
             (and doesn't have default values for any key fields)"
                .to_owned()
        )
    );
}

#[test]
fn the_first_apply_to_an_untracked_object_credits_existing_fields() {
    let untracked = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "demo-config", "namespace": "demo", "uid": "u-1"},
        "data": {"old": "o"}});
    let result = apply(
        Some(&untracked),
        &cm(json!({"new": "n"})),
        &ctx("operator", T2),
        false,
        &configmap(),
    )
    .expect("no conflict with a field of a different name");
    assert_eq!(result["data"], json!({"old": "o", "new": "n"}));
    assert_eq!(
        managed_fields(&result),
        json!([
            entry(
                "operator",
                "Apply",
                Some(T2),
                json!({"f:data": {"f:new": {}}})
            ),
            entry(
                "before-first-apply",
                "Update",
                Some(T2),
                json!({"f:data": {".": {}, "f:old": {}}})
            )
        ])
    );
    // ... while updates of an untracked object stay untracked.
    let mut edited = untracked.clone();
    edited["data"]["old"] = json!("p");
    assert_eq!(
        track_update(Some(&untracked), &edited, &ctx("editor", T2), &configmap()),
        edited
    );
}

#[test]
fn managed_fields_in_an_update_replace_or_reset_the_live_ones() {
    let created = track_update(
        None,
        &cm(json!({"a": "1"})),
        &ctx("creator", T1),
        &configmap(),
    );
    let mut reset = created.clone();
    reset["metadata"]["managedFields"] = json!([{}]);
    let cleared = track_update(Some(&created), &reset, &ctx("resetter", T2), &configmap());
    assert_eq!(cleared["metadata"].get("managedFields"), None);
    let mut garbage = created.clone();
    garbage["metadata"]["managedFields"] = json!([{"operation": "Nope"}]);
    let kept = track_update(Some(&created), &garbage, &ctx("resetter", T2), &configmap());
    assert_eq!(managed_fields(&kept), managed_fields(&created));
}

#[test]
fn update_managers_beyond_ten_fold_into_ancient_changes() {
    let mut object = track_update(
        None,
        &cm(json!({"k0": "v"})),
        &ctx("m0", "2024-05-01T10:00:00Z"),
        &configmap(),
    );
    for i in 1..=11 {
        let mut next = object.clone();
        next["data"][format!("k{i}")] = json!("v");
        object = track_update(
            Some(&object),
            &next,
            &ctx(&format!("m{i}"), &format!("2024-05-01T10:00:{i:02}Z")),
            &configmap(),
        );
    }
    let entries = managed_fields(&object);
    let managers: Vec<&str> = entries
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["manager"].as_str())
        .collect();
    assert_eq!(
        managers,
        vec![
            "ancient-changes",
            "m3",
            "m4",
            "m5",
            "m6",
            "m7",
            "m8",
            "m9",
            "m10",
            "m11"
        ]
    );
    assert_eq!(
        entries[0],
        entry(
            "ancient-changes",
            "Update",
            Some("2024-05-01T10:00:02Z"),
            json!({
                "f:data": {".": {}, "f:k0": {}, "f:k1": {}, "f:k2": {}}
            })
        )
    );
}

/// A small ConfigMap configuration: data and labels from fixed key pools.
fn arb_configuration() -> impl Strategy<Value = Value> {
    let keys = prop::sample::subsequence(vec!["a", "b", "c", "d", "e"], 0..=5);
    let values = prop::collection::vec("[a-z]{1,3}", 5);
    let finalizers = prop::sample::subsequence(vec!["x.io/a", "x.io/b", "x.io/c"], 0..=3);
    (keys.clone(), values, keys, finalizers).prop_map(
        |(data_keys, values, label_keys, finalizers)| {
            let data: serde_json::Map<String, Value> = data_keys
                .iter()
                .zip(&values)
                .map(|(k, v)| ((*k).to_owned(), json!(v)))
                .collect();
            let labels: serde_json::Map<String, Value> = label_keys
                .iter()
                .map(|k| ((*k).to_owned(), json!("l")))
                .collect();
            let mut object = cm(Value::Object(data));
            if !labels.is_empty() {
                object["metadata"]["labels"] = Value::Object(labels);
            }
            if !finalizers.is_empty() {
                object["metadata"]["finalizers"] = json!(finalizers);
            }
            object
        },
    )
}

proptest! {
    #[test]
    fn applying_the_same_configuration_again_is_a_no_op(
        earlier in arb_configuration(),
        applied in arb_configuration(),
    ) {
        let live = apply(None, &earlier, &ctx("other", T1), false, &configmap())
            .expect("create never conflicts");
        let first = apply(Some(&live), &applied, &ctx("operator", T2), true, &configmap())
            .expect("force never conflicts");
        let second = apply(Some(&first), &applied, &ctx("operator", T3), false, &configmap())
            .expect("re-applying one's own configuration never conflicts");
        prop_assert_eq!(second, first);
    }

    #[test]
    fn forced_appliers_never_share_a_field(
        steps in prop::collection::vec(
            (0..3usize, prop::sample::subsequence(vec!["a", "b", "c", "d"], 0..=4)),
            1..8,
        ),
    ) {
        let managers = ["alpha", "beta", "gamma"];
        let mut live: Option<Value> = None;
        for (step, (who, keys)) in steps.iter().enumerate() {
            // Each manager writes its own value, so taking a field always changes it.
            let data: serde_json::Map<String, Value> = keys
                .iter()
                .map(|k| ((*k).to_owned(), json!(format!("{}-{step}", managers[*who]))))
                .collect();
            let next = apply(
                live.as_ref(),
                &cm(Value::Object(data)),
                &ctx(managers[*who], T1),
                true,
                &configmap(),
            )
            .expect("force never conflicts");
            let managed = Managed::decode(next.pointer("/metadata/managedFields"))
                .expect("our own encoding decodes");
            let sets: Vec<&FieldSet> = managed.entries.values().map(|e| &e.set).collect();
            for (i, a) in sets.iter().enumerate() {
                for b in &sets[i + 1..] {
                    let shared: Vec<Path> = a
                        .intersection(b)
                        .paths()
                        .into_iter()
                        .filter(|p| p.len() > 1)
                        .collect();
                    prop_assert!(shared.is_empty(), "shared leaves {:?}", shared);
                }
            }
            live = Some(next);
        }
    }
}

/// A custom resource schema in the shape the multigres CRDs use: a keyed list of cells, a set of
/// tags, an atomic selector, and status conditions keyed by type.
fn custom_resource() -> MergeSchema {
    MergeSchema::from_openapi(&json!({
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {
                "replicas": {"type": "integer"},
                "cells": {"type": "array", "x-kubernetes-list-type": "map",
                          "x-kubernetes-list-map-keys": ["name"],
                          "items": {"type": "object", "properties": {
                              "name": {"type": "string"}, "zone": {"type": "string"}}}},
                "tags": {"type": "array", "x-kubernetes-list-type": "set",
                         "items": {"type": "string"}},
                "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                             "additionalProperties": {"type": "string"}}
            }},
            "status": {"type": "object", "properties": {
                "conditions": {"type": "array", "x-kubernetes-list-type": "map",
                               "x-kubernetes-list-map-keys": ["type"],
                               "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
            }}
        }
    }))
}

fn cr_ctx(manager: &str, time: &str) -> FieldManagerContext {
    FieldManagerContext {
        api_version: "multigres.com/v1alpha1".to_owned(),
        ..ctx(manager, time)
    }
}

#[test]
fn custom_resources_follow_their_schema_extensions() {
    let object = json!({"apiVersion": "multigres.com/v1alpha1", "kind": "Cell",
        "metadata": {"name": "zone-a", "namespace": "demo"},
        "spec": {"replicas": 3, "cells": [{"name": "a", "zone": "z1"}], "tags": ["t1"],
                 "selector": {"app": "x"}}});
    let applied = apply(
        None,
        &object,
        &cr_ctx("multigres-operator", T1),
        true,
        &custom_resource(),
    )
    .expect("create");
    assert_eq!(
        managed_fields(&applied)[0]["fieldsV1"],
        json!({"f:spec": {
            "f:cells": {"k:{\"name\":\"a\"}": {".": {}, "f:name": {}, "f:zone": {}}},
            "f:replicas": {},
            "f:selector": {},
            "f:tags": {"v:\"t1\"": {}}
        }})
    );
    // Created by an Update instead, the unstructured object has no typed zero value: `spec`
    // itself is added, and shows as `.`.
    let created = track_update(
        None,
        &object,
        &cr_ctx("kubectl-create", T1),
        &custom_resource(),
    );
    assert_eq!(
        managed_fields(&created)[0]["fieldsV1"],
        json!({"f:spec": {
            ".": {},
            "f:cells": {".": {}, "k:{\"name\":\"a\"}": {".": {}, "f:name": {}, "f:zone": {}}},
            "f:replicas": {},
            "f:selector": {},
            "f:tags": {".": {}, "v:\"t1\"": {}}
        }})
    );
}

#[test]
fn kube_runtime_finalizer_patches_are_tracked_as_updates() {
    let live = apply(
        None,
        &cm(json!({"a": "1"})),
        &ctx("operator", T1),
        false,
        &configmap(),
    )
    .expect("create");
    let patched = crate::semantics::patch::json_patch(
        &live,
        &json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["demo.io/cleanup"]}
        ]),
    )
    .expect("the finalizer patch applies (pitfall P6)");
    let tracked = track_update(
        Some(&live),
        &patched,
        &ctx("demo-controller", T2),
        &configmap(),
    );
    assert_eq!(
        managed_fields(&tracked),
        json!([
            entry(
                "operator",
                "Apply",
                Some(T1),
                json!({"f:data": {"f:a": {}}})
            ),
            entry(
                "demo-controller",
                "Update",
                Some(T2),
                json!({"f:metadata": {
                    "f:finalizers": {".": {}, "v:\"demo.io/cleanup\"": {}}
                }})
            )
        ])
    );
}
