//! The simulated Deployment and StatefulSet controllers over HTTP: a Deployment scales
//! 0 → 3 → 1 with the real controller's status through a ReplicaSet per template (as
//! `helm --wait` and `kubectl rollout` find them), rolls to a new template, and its deletion
//! takes its sets and pods; kubectl rolls one out and back twice by revision; a StatefulSet
//! creates ordered pods with their claims, reports its status, and keeps claims on scale-down.

#[path = "support/kubectl.rs"]
mod kubectl;
mod kubelet_support;
mod support;

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use kubelet_support::{DEADLINE, running_and_ready, start};

fn deployment(replicas: i32, image: &str) -> Deployment {
    serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": image}]}}}}))
    .expect("valid Deployment")
}

async fn pods_json(pods: &Api<Pod>, selector: &str) -> Vec<Value> {
    pods.list(&ListParams::default().labels(selector))
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|p| serde_json::to_value(p).expect("serializes"))
        .collect()
}

/// Waits until the Deployment's status settles at `replicas` for its current generation, with
/// exactly that many live pods of the current template, all ready.
async fn wait_deployment(
    deployments: &Api<Deployment>,
    pods: &Api<Pod>,
    replicas: i64,
) -> (Value, Vec<Value>) {
    support::eventually(
        &format!("the Deployment to settle at {replicas}"),
        DEADLINE,
        || async {
            let d = serde_json::to_value(deployments.get("web").await.expect("deployment"))
                .expect("json");
            let live: Vec<Value> = pods_json(pods, "app=web")
                .await
                .into_iter()
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .collect();
            let status = &d["status"];
            let settled = status["observedGeneration"] == d["metadata"]["generation"]
                && status["replicas"].as_i64().unwrap_or(0) == replicas
                && status["updatedReplicas"].as_i64().unwrap_or(0) == replicas
                && status["availableReplicas"].as_i64().unwrap_or(0) == replicas
                && live.len() as i64 == replicas
                && live.iter().all(running_and_ready);
            settled.then_some((d, live))
        },
    )
    .await
}

fn condition_summary(d: &Value) -> Vec<(String, String, String)> {
    d["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .map(|c| {
            (
                c["type"].as_str().expect("type").to_string(),
                c["status"].as_str().expect("status").to_string(),
                c["reason"].as_str().expect("reason").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_deployment_scales_and_rolls_to_a_new_template() {
    let server = start(&["zone-a", "zone-b", "zone-c"], 0.01).await;
    let deployments: Api<Deployment> = Api::namespaced(server.client(), "default");
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    deployments
        .create(&PostParams::default(), &deployment(0, "nginx:1.27"))
        .await
        .expect("created");
    let (zero, _) = wait_deployment(&deployments, &pods, 0).await;
    assert_eq!(zero["status"]["observedGeneration"], 1);

    let mut scaled = deployments.get("web").await.expect("deployment");
    scaled.spec.as_mut().expect("spec").replicas = Some(3);
    deployments
        .replace("web", &PostParams::default(), &scaled)
        .await
        .expect("scaled up");
    let (three, live) = wait_deployment(&deployments, &pods, 3).await;
    assert_eq!(three["status"]["readyReplicas"], 3);
    assert_eq!(three["status"].get("unavailableReplicas"), None);
    let hash = live[0]["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .expect("hash label")
        .to_string();
    assert_eq!(
        condition_summary(&three),
        vec![
            (
                "Available".into(),
                "True".into(),
                "MinimumReplicasAvailable".into()
            ),
            (
                "Progressing".into(),
                "True".into(),
                "NewReplicaSetAvailable".into()
            )
        ]
    );
    assert_eq!(
        three["status"]["conditions"][1]["message"],
        json!(format!(
            "ReplicaSet \"web-{hash}\" has successfully progressed."
        ))
    );
    let zones: BTreeSet<&str> = live
        .iter()
        .map(|p| p["spec"]["nodeName"].as_str().expect("bound"))
        .collect();
    assert_eq!(zones.len(), 3, "one replica per zone");
    for p in &live {
        let name = p["metadata"]["name"].as_str().expect("name");
        let suffix = name
            .strip_prefix(&format!("web-{hash}-"))
            .expect("<deploy>-<hash>-<rand>");
        assert_eq!(suffix.len(), 5, "{name}");
        let owner = &p["metadata"]["ownerReferences"][0];
        assert_eq!(
            (
                owner["kind"].as_str(),
                owner["name"].as_str(),
                owner["controller"].as_bool()
            ),
            (
                Some("ReplicaSet"),
                Some(format!("web-{hash}").as_str()),
                Some(true)
            )
        );
    }
    let sets: Api<ReplicaSet> = Api::namespaced(server.client(), "default");
    let set = serde_json::to_value(sets.get(&format!("web-{hash}")).await.expect("the set"))
        .expect("json");
    let mut template = serde_json::to_value(&three["spec"]["template"]).expect("json");
    template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    assert_eq!(
        set["spec"]["template"], template,
        "the Deployment's template"
    );
    assert_eq!(
        set["spec"]["selector"],
        json!({"matchLabels": {"app": "web", "pod-template-hash": hash}})
    );
    assert_eq!(set["spec"]["replicas"], 3);
    assert_eq!(
        set["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let owner = &set["metadata"]["ownerReferences"][0];
    assert_eq!(
        (
            owner["kind"].as_str(),
            owner["name"].as_str(),
            owner["uid"].as_str(),
            owner["controller"].as_bool()
        ),
        (
            Some("Deployment"),
            Some("web"),
            three["metadata"]["uid"].as_str(),
            Some(true)
        )
    );
    let set_status = support::eventually("the set's status", DEADLINE, || async {
        let set = sets.get(&format!("web-{hash}")).await.ok()?;
        let status = serde_json::to_value(set.status?).ok()?;
        (status["observedGeneration"] == json!(set.metadata.generation)).then_some(status)
    })
    .await;
    assert_eq!(
        set_status,
        json!({"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 3,
               "availableReplicas": 3, "observedGeneration": set["metadata"]["generation"]})
    );

    let mut down = deployments.get("web").await.expect("deployment");
    down.spec.as_mut().expect("spec").replicas = Some(1);
    deployments
        .replace("web", &PostParams::default(), &down)
        .await
        .expect("scaled down");
    let (one, _) = wait_deployment(&deployments, &pods, 1).await;
    assert_eq!(one["status"]["readyReplicas"], 1);

    let mut rolled = deployments.get("web").await.expect("deployment");
    rolled
        .spec
        .as_mut()
        .expect("spec")
        .template
        .spec
        .as_mut()
        .expect("pod spec")
        .containers[0]
        .image = Some("nginx:1.28".into());
    deployments
        .replace("web", &PostParams::default(), &rolled)
        .await
        .expect("template changed");
    let (after, live) = wait_deployment(&deployments, &pods, 1).await;
    let new_hash = live[0]["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .expect("hash");
    assert_ne!(new_hash, hash, "a new template hash");
    assert_eq!(live[0]["spec"]["containers"][0]["image"], "nginx:1.28");
    assert_eq!(
        after["status"]["observedGeneration"],
        after["metadata"]["generation"]
    );
    assert_eq!(
        after["status"]["conditions"][1]["message"],
        json!(format!(
            "ReplicaSet \"web-{new_hash}\" has successfully progressed."
        ))
    );
    // The old set stays, scaled to 0, for a rollback; the new one is revision 2.
    let sizes = support::eventually("both sets sized", DEADLINE, || async {
        let mut sizes: Vec<(String, i32, String)> = sets
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .map(|set| {
                let revision = set
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("deployment.kubernetes.io/revision").cloned())
                    .unwrap_or_default();
                let name = set.metadata.name.unwrap_or_default();
                (
                    name,
                    set.spec.and_then(|s| s.replicas).unwrap_or(-1),
                    revision,
                )
            })
            .collect();
        sizes.sort_by(|a, b| a.2.cmp(&b.2));
        (sizes.iter().map(|s| s.1).collect::<Vec<_>>() == [0, 1]).then_some(sizes)
    })
    .await;
    assert_eq!(
        sizes,
        vec![
            (format!("web-{hash}"), 0, "1".to_owned()),
            (format!("web-{new_hash}"), 1, "2".to_owned())
        ]
    );
    // Deleting the Deployment takes its sets and, through them, its pods.
    deployments
        .delete("web", &DeleteParams::default())
        .await
        .expect("deleted");
    support::eventually("the sets and pods to go", DEADLINE, || async {
        let left = sets.list(&ListParams::default()).await.ok()?.items.len()
            + pods_json(&pods, "app=web").await.len();
        (left == 0).then_some(())
    })
    .await;
    server.shutdown().await;
}

fn statefulset(replicas: i32) -> StatefulSet {
    serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "etcd"},
        "spec": {"replicas": replicas, "serviceName": "etcd-headless",
                 "selector": {"matchLabels": {"app": "etcd"}},
                 "template": {"metadata": {"labels": {"app": "etcd"}},
                              "spec": {"containers": [{"name": "etcd", "image": "etcd:3.5"}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}))
    .expect("valid StatefulSet")
}

/// Runs kubectl, which must succeed; its stdout.
async fn kubectl_ok(kubectl: &kubectl::Kubectl, args: &[&str]) -> String {
    let output = kubectl.run(args).await;
    assert_eq!(output.code, 0, "kubectl {args:?}: {}", output.stderr);
    output.stdout
}

/// (image, revision, revision history) of every ReplicaSet of `web`, by image.
async fn set_revisions(sets: &Api<ReplicaSet>) -> Vec<(String, String, String)> {
    let mut revisions: Vec<(String, String, String)> = sets
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|set| {
            let set = serde_json::to_value(set).expect("json");
            let annotation = |key: &str| {
                set["metadata"]["annotations"][key]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                set["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                annotation("deployment.kubernetes.io/revision"),
                annotation("deployment.kubernetes.io/revision-history"),
            )
        })
        .collect();
    revisions.sort();
    revisions
}

/// `kubectl rollout status`, `set image`, `rollout undo` twice and `rollout history`: each undo
/// goes back to the template before, because the ReplicaSet made current again takes the next
/// revision (its old one kept in the revision history), as upstream numbers them.
#[tokio::test]
async fn kubectl_rolls_a_deployment_back_and_forth_by_revision() {
    let server = start(&["zone-a"], 0.01).await;
    let Some(kubectl) = kubectl::Kubectl::new(&server) else {
        server.shutdown().await;
        return;
    };
    let deployments: Api<Deployment> = Api::namespaced(server.client(), "default");
    let sets: Api<ReplicaSet> = Api::namespaced(server.client(), "default");
    deployments
        .create(&PostParams::default(), &deployment(2, "nginx:1"))
        .await
        .expect("created");
    let status = ["rollout", "status", "deployment/web", "--timeout=20s"];
    assert!(
        kubectl_ok(&kubectl, &status)
            .await
            .contains("deployment \"web\" successfully rolled out")
    );
    kubectl_ok(&kubectl, &["set", "image", "deployment/web", "web=nginx:2"]).await;
    kubectl_ok(&kubectl, &status).await;
    let image = || async {
        let d =
            serde_json::to_value(deployments.get("web").await.expect("deployment")).expect("json");
        d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let triple = |image: &str, revision: &str, history: &str| {
        (image.to_owned(), revision.to_owned(), history.to_owned())
    };
    assert_eq!(
        set_revisions(&sets).await,
        vec![triple("nginx:1", "1", ""), triple("nginx:2", "2", "")]
    );

    kubectl_ok(&kubectl, &["rollout", "undo", "deployment/web"]).await;
    kubectl_ok(&kubectl, &status).await;
    assert_eq!(image().await, "nginx:1");
    let revived = support::eventually("the revived set's revision", DEADLINE, || async {
        let revisions = set_revisions(&sets).await;
        (revisions[0].1 == "3").then_some(revisions)
    })
    .await;
    assert_eq!(
        revived,
        vec![triple("nginx:1", "3", "1"), triple("nginx:2", "2", "")]
    );

    let undo = kubectl_ok(&kubectl, &["rollout", "undo", "deployment/web"]).await;
    assert!(undo.contains("rolled back"), "{undo}");
    kubectl_ok(&kubectl, &status).await;
    assert_eq!(image().await, "nginx:2", "back to the template before");
    let history = support::eventually("the second undo's revision", DEADLINE, || async {
        let history = kubectl_ok(&kubectl, &["rollout", "history", "deployment/web"]).await;
        history.contains("\n4 ").then_some(history)
    })
    .await;
    let revisions: Vec<&str> = history
        .lines()
        .skip(2)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(revisions, vec!["3", "4"], "{history}");
    assert_eq!(
        set_revisions(&sets).await,
        vec![triple("nginx:1", "3", "1"), triple("nginx:2", "4", "2")]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_statefulset_creates_ordered_pods_with_claims_and_keeps_claims_on_scale_down() {
    let server = start(&["zone-a", "zone-b", "zone-c"], 0.01).await;
    let sets: Api<StatefulSet> = Api::namespaced(server.client(), "default");
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(server.client(), "default");
    sets.create(&PostParams::default(), &statefulset(3))
        .await
        .expect("created");
    let status = support::eventually("three ready replicas", DEADLINE, || async {
        let s = serde_json::to_value(sets.get("etcd").await.expect("sts")).expect("json");
        (s["status"]["readyReplicas"] == 3
            && s["status"]["currentRevision"] == s["status"]["updateRevision"])
            .then(|| s["status"].clone())
    })
    .await;
    let revision = status["updateRevision"]
        .as_str()
        .expect("revision")
        .to_string();
    assert!(revision.starts_with("etcd-"), "{revision}");
    assert_eq!(
        status,
        json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "currentReplicas": 3,
               "updatedReplicas": 3, "currentRevision": revision, "updateRevision": revision,
               "collisionCount": 0, "availableReplicas": 3})
    );
    let mut ready_times = Vec::new();
    let mut created_times = Vec::new();
    for i in 0..3 {
        let name = format!("etcd-{i}");
        let p = serde_json::to_value(pods.get(&name).await.expect("pod")).expect("json");
        assert!(running_and_ready(&p));
        assert_eq!(p["spec"]["hostname"], json!(name));
        assert_eq!(p["spec"]["subdomain"], "etcd-headless");
        assert_eq!(
            p["metadata"]["labels"]["controller-revision-hash"],
            json!(revision)
        );
        assert_eq!(
            p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"],
            json!(name)
        );
        assert_eq!(
            p["metadata"]["labels"]["apps.kubernetes.io/pod-index"],
            json!(i.to_string())
        );
        assert_eq!(
            p["spec"]["volumes"],
            json!([{"name": "data", "persistentVolumeClaim": {"claimName": format!("data-etcd-{i}")}}])
        );
        let ready =
            kubelet_support::condition(&p, "Ready").expect("Ready")["lastTransitionTime"].clone();
        ready_times.push(ready.as_str().expect("time").to_string());
        created_times.push(
            p["metadata"]["creationTimestamp"]
                .as_str()
                .expect("time")
                .to_string(),
        );
        let c = claims.get(&format!("data-etcd-{i}")).await.expect("claim");
        assert_eq!(c.status.and_then(|s| s.phase).as_deref(), Some("Bound"));
        assert_eq!(
            c.metadata
                .labels
                .and_then(|l| l.get("app").cloned())
                .as_deref(),
            Some("etcd")
        );
    }
    // OrderedReady: each pod is created only once the one before it is Ready.
    assert!(created_times[1] >= ready_times[0] && created_times[2] >= ready_times[1]);

    let mut down = sets.get("etcd").await.expect("sts");
    down.spec.as_mut().expect("spec").replicas = Some(1);
    sets.replace("etcd", &PostParams::default(), &down)
        .await
        .expect("scaled down");
    support::eventually("the set to shrink to one pod", DEADLINE, || async {
        let names: Vec<String> = pods_json(&pods, "app=etcd")
            .await
            .iter()
            .map(|p| p["metadata"]["name"].as_str().expect("name").to_string())
            .collect();
        let s = serde_json::to_value(sets.get("etcd").await.expect("sts")).expect("json");
        (names == vec!["etcd-0".to_string()] && s["status"]["replicas"] == 1).then_some(())
    })
    .await;
    let kept: Vec<String> = claims
        .list(&ListParams::default())
        .await
        .expect("claims")
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(
        kept,
        vec!["data-etcd-0", "data-etcd-1", "data-etcd-2"],
        "claims are retained"
    );
    server.shutdown().await;
}
