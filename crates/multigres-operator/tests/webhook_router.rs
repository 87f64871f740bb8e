//! The webhook `Router` in process (`tower::ServiceExt::oneshot`, kubewarden's
//! `tests/integration_test.rs`), reading from a kubesim: identities the API server would send
//! (the operator's ServiceAccount, the garbage collector, a cluster admin), bad requests, and a
//! property test throwing random bodies, random AdmissionReviews and random MultigresCluster
//! documents at every path: no panic, and every answer is a well-formed AdmissionReview.

mod webhook_support;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use multigres_api::resolver::NamespaceTemplates;
use multigres_operator::render::admission::Admission;
use multigres_operator::webhook::defaulting::default_cluster;
use multigres_operator::webhook::registration::{MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS};
use multigres_operator::webhook::server::{AdmissionState, MAX_REVIEW_BYTES, Route, router};
use multigres_operator::webhook::validation::ExemptUsers;
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use rstest::rstest;
use serde_json::{Value, json};
use tower::ServiceExt;
use webhook_support::{NAMESPACE, SERVICE_ACCOUNT, bare_kubesim};

const OPERATOR: &str =
    "system:serviceaccount:multigres-operator:multigres-operator-controller-manager";

fn app(kubesim: &kubesim::Handle) -> Router {
    router(AdmissionState {
        client: kubesim.client(),
        exempt: Arc::new(ExemptUsers::new(NAMESPACE, SERVICE_ACCOUNT)),
        metrics: None,
    })
}

async fn post(app: &Router, path: &str, body: impl Into<Body>) -> (StatusCode, Value) {
    let response = app
        .clone()
        .oneshot(
            Request::post(path)
                .header("content-type", "application/json")
                .body(body.into())
                .expect("a request"),
        )
        .await
        .expect("the router always answers");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    (
        status,
        serde_json::from_slice(&bytes).expect("every answer is JSON"),
    )
}

fn review(kind: &str, operation: &str, username: &str, groups: &[&str], object: Value) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": "multigres.com", "version": "v1alpha1", "kind": kind},
        "resource": {"group": "multigres.com", "version": "v1alpha1", "resource": "x"},
        "operation": operation, "name": "x", "namespace": "default",
        "userInfo": {"username": username, "groups": groups},
        "object": if operation == "DELETE" { Value::Null } else { object.clone() },
        "oldObject": if operation == "CREATE" { Value::Null } else { object }}})
}

#[rstest]
#[case::cell_update("cell", "Cell", "UPDATE")]
#[case::shard_create("shard", "Shard", "CREATE")]
#[case::table_group_delete("tablegroup", "TableGroup", "DELETE")]
#[case::topo_server_update("toposerver", "TopoServer", "UPDATE")]
#[tokio::test]
async fn only_the_operator_and_the_collectors_write_children(
    #[case] path: &str,
    #[case] kind: &str,
    #[case] operation: &str,
) {
    let kubesim = bare_kubesim().await;
    let app = app(&kubesim);
    let path = format!("/validate-multigres-com-v1alpha1-{path}");
    let object = json!({"metadata": {"name": "x"}});
    for user in [
        OPERATOR,
        "system:serviceaccount:kube-system:generic-garbage-collector",
        "system:serviceaccount:kube-system:namespace-controller",
    ] {
        let (status, answer) = post(
            &app,
            &path,
            review(kind, operation, user, &[], object.clone()).to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            answer["response"]["allowed"],
            json!(true),
            "{user}: {answer}"
        );
    }
    // Groups do not count: a cluster admin, or another ServiceAccount of the operator's
    // namespace, is refused.
    for (user, groups) in [
        ("kubernetes-admin", vec!["system:masters"]),
        (
            "system:serviceaccount:multigres-operator:default",
            vec!["system:serviceaccounts:multigres-operator"],
        ),
    ] {
        let (_, answer) = post(
            &app,
            &path,
            review(kind, operation, user, &groups, object.clone()).to_string(),
        )
        .await;
        assert_eq!(
            answer["response"],
            json!({"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": false,
                   "status": {"metadata": {}, "status": "Failure", "reason": "Forbidden",
                              "code": 403, "message": format!(
                        "direct modification of {kind} is prohibited; this resource is managed \
                         by the MultigresCluster parent object")}})
        );
    }
    kubesim.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_a_review_saying_why() {
    let kubesim = bare_kubesim().await;
    let app = app(&kubesim);
    let path = "/validate-multigres-com-v1alpha1-multigrescluster";
    let denied = |code: u16, reason: &str, message: &str| {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
               "response": {"uid": "", "allowed": false, "status": {"metadata": {},
                 "status": "Failure", "reason": reason, "code": code, "message": message}}})
    };
    let (status, answer) = post(&app, path, "{not json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        denied(
            400,
            "BadRequest",
            "the request body is not an admission.k8s.io/v1 AdmissionReview: key must be a \
             string at line 1 column 2"
        )
    );
    let (_, answer) = post(
        &app,
        path,
        json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview"}).to_string(),
    )
    .await;
    assert_eq!(
        answer,
        denied(
            400,
            "BadRequest",
            "the AdmissionReview is admission.k8s.io/v1beta1 AdmissionReview; this webhook \
             speaks only admission.k8s.io/v1 AdmissionReview (admissionReviewVersions: [v1])"
        )
    );
    // A review of another kind than the path admits.
    let (_, answer) = post(
        &app,
        path,
        review("Cell", "CREATE", OPERATOR, &[], json!({})).to_string(),
    )
    .await;
    assert_eq!(answer["response"]["allowed"], json!(false));
    assert_eq!(
        answer["response"]["status"]["message"],
        json!(
            "expected MultigresCluster, got Cell multigres.com/v1alpha1 (this path only admits \
             MultigresCluster)"
        )
    );
    // A body larger than any review the API server sends.
    let huge = vec![b' '; MAX_REVIEW_BYTES + 1];
    let (status, answer) = post(&app, path, huge).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["response"]["status"]["code"], json!(413));
    assert_eq!(answer["response"]["allowed"], json!(false));
    // Unknown paths and health.
    let health = app
        .clone()
        .oneshot(
            Request::get("/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answers");
    assert_eq!(health.status(), StatusCode::OK);
    kubesim.shutdown().await;
}

/// Every path the webhook configurations name.
fn paths() -> Vec<&'static str> {
    MUTATING_WEBHOOKS
        .iter()
        .chain(&VALIDATING_WEBHOOKS)
        .map(|entry| entry.path)
        .collect()
}

/// Any JSON value, up to a small depth.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9_ .:/-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => "[a-z][a-z0-9-]{0,8}",
        2 => Just("default".to_owned()),
        1 => "[A-Za-z_ ]{0,6}",
        1 => Just("x".repeat(70)),
    ]
}

fn quantity() -> impl Strategy<Value = Value> {
    prop_oneof![
        16 => "[1-9][0-9]{0,3}(Mi|Gi|m)?".prop_map(Value::String),
        1 => Just(json!("")),
        1 => Just(json!("-1Gi")),
        1 => Just(json!(12)),
        1 => any_json(),
    ]
}

fn resources() -> impl Strategy<Value = Value> {
    (quantity(), quantity(), quantity()).prop_map(|(cpu, memory, limit)| {
        json!({"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": limit}})
    })
}

fn pool() -> impl Strategy<Value = Value> {
    (
        prop_oneof![8 => Just("readWrite"), 1 => Just("readOnly"), 1 => Just("bogus")],
        prop_oneof![8 => 0i64..6, 1 => -2i64..0],
        quantity(),
        prop::collection::vec(name(), 0..3),
        resources(),
    )
        .prop_map(|(kind, replicas, size, cells, resources)| {
            json!({"type": kind, "replicasPerCell": replicas, "storage": {"size": size},
                   "cells": cells, "postgres": {"resources": resources}})
        })
}

fn shard() -> impl Strategy<Value = Value> {
    (
        prop_oneof![4 => Just("0-inf".to_owned()), 1 => name()],
        prop::option::weighted(0.3, name()),
        prop::option::of(prop::collection::btree_map(name(), pool(), 0..3)),
        prop::option::of(prop::collection::btree_map(name(), pool(), 0..2)),
    )
        .prop_map(|(name, template, pools, overrides)| {
            let mut shard = json!({"name": name});
            if let Some(template) = template {
                shard["shardTemplate"] = json!(template);
            }
            if let Some(pools) = pools {
                shard["spec"] = json!({"pools": pools});
            }
            if let Some(pools) = overrides {
                shard["overrides"] = json!({"pools": pools});
            }
            shard
        })
}

fn cell() -> impl Strategy<Value = Value> {
    (
        name(),
        prop_oneof![
            6 => prop_oneof![Just("us-east-1a"), Just("us-east-1b"), Just("mars-1")]
                .prop_map(|zone| (Some(zone), None)),
            2 => Just((None, Some("us-west-2"))),
            1 => Just((Some("us-east-1a"), Some("us-west-2"))),
            1 => Just((None, None)),
        ],
        prop::option::weighted(0.3, name()),
        prop::option::of(resources()),
    )
        .prop_map(|(name, (zone, region), template, resources)| {
            let mut cell = json!({"name": name});
            if let Some(zone) = zone {
                cell["zone"] = json!(zone);
            }
            if let Some(region) = region {
                cell["region"] = json!(region);
            }
            if let Some(template) = template {
                cell["cellTemplate"] = json!(template);
            }
            if let Some(resources) = resources.filter(|_| cell.get("cellTemplate").is_none()) {
                cell["spec"] = json!({"multigateway": {"replicas": 2, "resources": resources}});
            }
            cell
        })
}

/// MultigresCluster documents: mostly shaped like one, with valid and invalid parts mixed, and
/// sometimes arbitrary JSON in any field.
fn cluster() -> impl Strategy<Value = Value> {
    (
        name(),
        prop::collection::vec(cell(), 0..3),
        prop::collection::vec(shard(), 0..3),
        prop::option::weighted(0.3, (name(), name(), name())),
        prop::option::of(prop_oneof![3 => prop::sample::select(vec![1i64, 3, 5]), 1 => -1i64..7]),
        prop::option::weighted(0.1, any_json()),
    )
        .prop_map(|(name, cells, shards, defaults, etcd, noise)| {
            let mut spec = json!({
                "cells": cells,
                "databases": [{"name": "postgres", "default": true, "tablegroups": [
                    {"name": "default", "default": true, "shards": shards}]}],
            });
            if let Some((core, cell, shard)) = defaults {
                spec["templateDefaults"] =
                    json!({"coreTemplate": core, "cellTemplate": cell, "shardTemplate": shard});
            }
            if let Some(replicas) = etcd {
                spec["globalTopoServer"] = json!({"etcd": {"replicas": replicas}});
            }
            if let Some(noise) = noise {
                spec["backup"] = noise;
            }
            json!({"apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
                   "metadata": {"name": name, "namespace": "default"}, "spec": spec})
        })
}

fn operation() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("CREATE"),
        Just("UPDATE"),
        Just("DELETE"),
        Just("CONNECT")
    ]
}

/// Checks the answer is a well-formed AdmissionReview for `uid`, and that a patch, if any,
/// applies to the object it was computed for.
fn assert_well_formed(status: StatusCode, answer: &Value, uid: &str, object: Option<&Value>) {
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["apiVersion"], json!("admission.k8s.io/v1"));
    assert_eq!(answer["kind"], json!("AdmissionReview"));
    let response = &answer["response"];
    assert_eq!(response["uid"], json!(uid), "{answer}");
    let allowed = response["allowed"].as_bool().expect("allowed is a boolean");
    if !allowed {
        assert!(
            response["status"]["code"]
                .as_u64()
                .is_some_and(|c| c >= 400),
            "{answer}"
        );
        assert!(
            response["status"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
    }
    if let Some(patch) = response["patch"].as_str() {
        assert_eq!(response["patchType"], json!("JSONPatch"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(patch)
            .expect("base64 patch");
        let patch: json_patch::Patch = serde_json::from_slice(&bytes).expect("a JSON patch");
        let mut target = object.cloned().expect("a patch only for an object");
        json_patch::patch(&mut target, &patch).expect("the patch applies to the object");
    }
}

#[test]
fn random_bodies_and_documents_always_get_a_well_formed_review() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let _context = runtime.enter();
    let kubesim = runtime.block_on(bare_kubesim());
    let app = app(&kubesim);
    let config = ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    // Arbitrary bytes and arbitrary JSON: never a request the webhooks can read.
    proptest!(config.clone(), |(path in prop::sample::select(paths()),
                                bytes in prop::collection::vec(any::<u8>(), 0..256),
                                value in any_json())| {
        for body in [bytes, value.to_string().into_bytes()] {
            let (status, answer) = runtime.block_on(post(&app, path, body));
            assert_well_formed(status, &answer, "", None);
            prop_assert_eq!(&answer["response"]["allowed"], &json!(false));
        }
    });
    // Reviews of random clusters (and of random JSON as a cluster) at every path, under every
    // operation and identity.
    let outcomes = std::cell::RefCell::new(std::collections::BTreeMap::<&str, usize>::new());
    proptest!(config, |(path in prop::sample::select(paths()),
                        other_kind in prop::option::weighted(0.2, prop_oneof![
                            Just("MultigresCluster"), Just("Cell"), Just("ShardTemplate")]),
                        op in operation(),
                        operator in any::<bool>(),
                        object in prop_oneof![4 => cluster(), 1 => any_json()],
                        old in cluster())| {
        // Mostly the kind the path admits, so most cases reach the decisions.
        let kind = other_kind
            .unwrap_or_else(|| Route::for_path(path).expect("a webhook path").kind());
        let user = if operator { OPERATOR } else { "kubernetes-admin" };
        let mut review = review(kind, op, user, &["system:masters"], object.clone());
        if op == "UPDATE" {
            review["request"]["oldObject"] = old;
        }
        let (status, answer) = runtime.block_on(post(&app, path, review.to_string()));
        let sent = review["request"]["object"].clone();
        let verdict = &answer["response"];
        let outcome = match (verdict["allowed"].as_bool(), verdict.get("patch")) {
            (Some(true), Some(_)) => "defaulted",
            (Some(true), None) => "allowed",
            _ => "denied",
        };
        *outcomes.borrow_mut().entry(outcome).or_insert(0) += 1;
        assert_well_formed(
            status,
            &answer,
            "705ab4f5-6393-11e8-b7cc-42010a800002",
            Some(&sent).filter(|o| !o.is_null()),
        );
    });
    println!("outcomes of the random reviews: {:?}", outcomes.borrow());
    runtime.block_on(kubesim.shutdown());
}

/// Deliberate fix 7: whatever the defaulter writes into a cluster the API server accepted, the
/// CRD's own schema and CEL rules accept too (Go's defaulter adds an inline `spec` next to
/// `overrides`, which rules #4 and #19 then reject).
#[test]
fn the_defaulter_never_produces_what_the_crd_rejects() {
    let admission = Admission::new().expect("CRDs compile");
    let accepted = std::cell::Cell::new(0usize);
    let config = ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(document in cluster())| {
        let mut stored = document;
        let problems = admission.admit_custom_resource("MultigresCluster", &mut stored);
        if !problems.is_empty() {
            return Ok(()); // the API server refuses it before any webhook sees it
        }
        accepted.set(accepted.get() + 1);
        let mut defaulted = default_cluster(&stored, &NamespaceTemplates::empty(), &Default::default())
            .expect("a stored cluster defaults")
            .object;
        prop_assert_eq!(
            admission.admit_custom_resource("MultigresCluster", &mut defaulted),
            Vec::<String>::new()
        );
    });
    println!(
        "{} of 256 random clusters passed the CRD and were defaulted",
        accepted.get()
    );
    assert!(
        accepted.get() > 0,
        "the generator must produce clusters the CRD accepts"
    );
}

#[tokio::test]
async fn the_cluster_webhooks_are_counted_as_go_counts_them() {
    let kubesim = bare_kubesim().await;
    let metrics = Arc::new(multigres_operator::telemetry::metrics::Metrics::new());
    let app = router(AdmissionState {
        client: kubesim.client(),
        exempt: Arc::new(ExemptUsers::new(NAMESPACE, SERVICE_ACCOUNT)),
        metrics: Some(metrics.clone()),
    });
    let cluster = json!({"apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
        "metadata": {"name": "orders", "namespace": "default"},
        "spec": {"cells": [{"name": "zone-a", "zone": "us-east-1a"}]}});
    let create = review(
        "MultigresCluster",
        "CREATE",
        "kubernetes-admin",
        &[],
        cluster.clone(),
    );
    let (_, defaulted) = post(
        &app,
        "/mutate-multigres-com-v1alpha1-multigrescluster",
        create.to_string(),
    )
    .await;
    assert_eq!(defaulted["response"]["allowed"], json!(true));
    let mut missing = cluster;
    missing["spec"]["templateDefaults"] = json!({"cellTemplate": "nowhere"});
    let refused = review(
        "MultigresCluster",
        "CREATE",
        "kubernetes-admin",
        &[],
        missing,
    );
    let (_, refused) = post(
        &app,
        "/validate-multigres-com-v1alpha1-multigrescluster",
        refused.to_string(),
    )
    .await;
    assert_eq!(refused["response"]["allowed"], json!(false));
    // Child and template webhooks are not counted (Go records only the cluster's).
    post(
        &app,
        "/validate-multigres-com-v1alpha1-cell",
        review("Cell", "CREATE", OPERATOR, &[], json!({})).to_string(),
    )
    .await;
    let text = metrics.encode().expect("encodes");
    let mut counters: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("multigres_operator_webhook_request_total{"))
        .collect();
    counters.sort_unstable(); // label sets come out in hash order
    assert_eq!(
        counters,
        vec![
            "multigres_operator_webhook_request_total{operation=\"DEFAULT\",resource=\"MultigresCluster\",result=\"success\"} 1",
            "multigres_operator_webhook_request_total{operation=\"VALIDATE\",resource=\"MultigresCluster\",result=\"error\"} 1",
        ]
    );
    kubesim.shutdown().await;
}

/// Mutating webhooks run before the API server validates the schema: a cluster of the wrong
/// shape is left alone (the API server then names the field), and a cluster without `spec` is
/// defaulted as the empty spec, as Go's webhook decodes it.
#[tokio::test]
async fn the_defaulter_leaves_malformed_clusters_to_the_api_server() {
    let kubesim = bare_kubesim().await;
    let app = app(&kubesim);
    let path = "/mutate-multigres-com-v1alpha1-multigrescluster";
    let cluster = |spec: Option<Value>| {
        let mut cluster = json!({"apiVersion": "multigres.com/v1alpha1",
            "kind": "MultigresCluster", "metadata": {"name": "orders", "namespace": "default"}});
        if let Some(spec) = spec {
            cluster["spec"] = spec;
        }
        review(
            "MultigresCluster",
            "CREATE",
            "kubernetes-admin",
            &[],
            cluster,
        )
        .to_string()
    };

    let (_, malformed) = post(
        &app,
        path,
        cluster(Some(json!({"cells": [{"name": "zone-a", "zone": 5}]}))),
    )
    .await;
    assert_eq!(malformed["response"]["allowed"], json!(true));
    assert_eq!(malformed["response"].get("patch"), None);

    let (_, bare) = post(&app, path, cluster(None)).await;
    assert_eq!(bare["response"]["allowed"], json!(true));
    let patch = base64::engine::general_purpose::STANDARD
        .decode(bare["response"]["patch"].as_str().expect("a patch"))
        .expect("base64");
    let patch: Value = serde_json::from_slice(&patch).expect("a JSON patch");
    let added_spec = patch
        .as_array()
        .expect("a list of operations")
        .iter()
        .find(|operation| operation["path"] == "/spec")
        .expect("the spec is added");
    assert_eq!(added_spec["op"], json!("add"));
    assert_eq!(
        added_spec["value"]["databases"][0]["tablegroups"][0]["shards"][0]["name"],
        json!("0-inf")
    );
    kubesim.shutdown().await;
}
