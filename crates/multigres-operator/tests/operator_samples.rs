//! Every sample of config/samples converges to Healthy under the running operator, and what the
//! operator created is what `multigres-operator render` prints for the same input (render and
//! apply share the builders; this checks they also share every input the controllers feed
//! them).

mod golden_objects;
mod support;

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use multigres_api::v1alpha1::{MultigresCluster, Phase};
use multigres_operator::render::{InputFile, OutputFormat, render};
use serde_json::{Value, json};
use support::cluster::{self as cluster_support, Cluster, eventually};

const NAMESPACE: &str = "default";

/// The samples, each with the files applied before it (templates) and what it needs around it.
struct Sample {
    file: &'static str,
    cluster: &'static str,
    before: &'static [&'static str],
}

const SAMPLES: &[Sample] = &[
    Sample {
        file: "no-templates.yaml",
        cluster: "inline",
        before: &[],
    },
    Sample {
        file: "templated-cluster.yaml",
        cluster: "templated",
        before: &[
            "templates/core.yaml",
            "templates/cell.yaml",
            "templates/shard.yaml",
        ],
    },
    Sample {
        file: "overrides.yaml",
        cluster: "overrides",
        before: &[
            "templates/core.yaml",
            "templates/cell.yaml",
            "templates/shard.yaml",
        ],
    },
    Sample {
        file: "topology.yaml",
        cluster: "topology",
        before: &[],
    },
    Sample {
        file: "external-etcd.yaml",
        cluster: "external-etcd",
        before: &[],
    },
];

fn sample_files(sample: &Sample) -> Vec<PathBuf> {
    sample
        .before
        .iter()
        .chain(std::iter::once(&sample.file))
        .map(|file| cluster_support::sample(file))
        .collect()
}

async fn phase(client: &kube::Client, name: &str) -> Option<Phase> {
    Api::<MultigresCluster>::namespaced(client.clone(), NAMESPACE)
        .get_opt(name)
        .await
        .ok()
        .flatten()
        .and_then(|c| c.status)
        .and_then(|s| s.phase)
}

/// Whether `live` holds every field of `want` (see operator_minimal.rs).
fn contains(want: &Value, live: &Value, path: &str) -> Option<String> {
    match (want, live) {
        (Value::Object(w), Value::Object(l)) => w.iter().find_map(|(key, value)| {
            let child = format!("{path}.{key}");
            match l.get(key) {
                Some(found) => contains(value, found, &child),
                None if value.is_null()
                    || value.as_object().is_some_and(|m| m.is_empty())
                    || value.as_array().is_some_and(|a| a.is_empty()) =>
                {
                    None
                }
                None => Some(child),
            }
        }),
        (Value::Array(w), Value::Array(l)) => {
            if w.len() != l.len() {
                return Some(format!("{path} (length {} vs {})", w.len(), l.len()));
            }
            w.iter()
                .zip(l)
                .enumerate()
                .find_map(|(i, (a, b))| contains(a, b, &format!("{path}[{i}]")))
        }
        (Value::Null, _) => None,
        (Value::Number(a), Value::Number(b)) => (a.as_f64() != b.as_f64()).then(|| path.to_owned()),
        (a, b) => (a != b).then(|| format!("{path}: want {a}, have {b}")),
    }
}

/// What render prints that an API server replaces: uids, status, and the generated Secrets'
/// key material (render prints it empty).
fn comparable(mut object: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    if let Some(references) = object["metadata"]["ownerReferences"].as_array_mut() {
        for reference in references {
            if let Some(reference) = reference.as_object_mut() {
                reference.remove("uid");
            }
        }
    }
    if object["kind"] == "Secret"
        && let Some(data) = object["data"].as_object_mut()
    {
        for value in data.values_mut() {
            if value.as_str() == Some("") {
                *value = Value::Null;
            }
        }
    }
    object
}

/// An etcd for the external-etcd sample: the Service `etcd-client` in namespace `etcd`, made
/// with the TopoServer builders (the process runtime runs it for real).
async fn external_etcd(cluster: &Cluster) {
    let client = cluster.client.clone();
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "etcd"}})).expect("a namespace"),
        )
        .await
        .expect("the namespace is created");
    let topo: multigres_api::v1alpha1::TopoServer = serde_json::from_value(json!({
        "apiVersion": "multigres.com/v1alpha1",
        "kind": "TopoServer",
        "metadata": {"name": "etcd-client", "namespace": "etcd", "uid": "0",
                     "labels": {"multigres.com/cluster": "external"}},
        "spec": {"etcd": {"replicas": 1}},
    }))
    .expect("a TopoServer");
    let objects =
        multigres_operator::controllers::topo_server::build::build_topo_server_objects(&topo)
            .expect("the etcd objects build");
    for mut service in objects.services {
        service.metadata.owner_references = None;
        Api::<k8s_openapi::api::core::v1::Service>::namespaced(client.clone(), "etcd")
            .create(&PostParams::default(), &service)
            .await
            .expect("a Service");
    }
    let mut stateful_set = objects.stateful_set.0;
    stateful_set.metadata.owner_references = None;
    Api::<k8s_openapi::api::apps::v1::StatefulSet>::namespaced(client.clone(), "etcd")
        .create(&PostParams::default(), &stateful_set)
        .await
        .expect("a StatefulSet");
}

async fn converges_and_matches_render(sample: &Sample) {
    if !cluster_support::etcd_available(sample.file) {
        return;
    }
    let cluster = Cluster::start(&["us-east-1a", "us-east-1b", "us-west-2a", "zone-a"]).await;
    let client = cluster.client.clone();
    // The region of the us-west cell (every kubesim node shares one region otherwise).
    Api::<Node>::all(client.clone())
        .patch(
            "kubesim-us-west-2a",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"labels": {"topology.kubernetes.io/region": "us-west-2"}}}),
            ),
        )
        .await
        .expect("the node is relabelled");
    // The S3 credentials the topology sample names.
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "s3-backup-credentials"},
        "stringData": {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"},
    }))
    .expect("a Secret");
    Api::<Secret>::namespaced(client.clone(), NAMESPACE)
        .create(&PostParams::default(), &secret)
        .await
        .expect("the Secret is created");
    if sample.file == "external-etcd.yaml" {
        external_etcd(&cluster).await;
    }
    let operator = cluster.start_operator(Duration::from_secs(36_000));
    for file in sample_files(sample) {
        cluster.apply_file(&file).await;
    }
    eventually(
        &format!("{} to be Healthy", sample.cluster),
        Duration::from_secs(300),
        || async { (phase(&client, sample.cluster).await == Some(Phase::Healthy)).then_some(()) },
    )
    .await;

    // What render prints for the same files is what the operator made.
    let inputs: Vec<InputFile> = sample_files(sample)
        .iter()
        .map(|path| InputFile {
            name: path.display().to_string(),
            text: std::fs::read_to_string(path).expect("readable"),
        })
        .collect();
    let rendered = render(&inputs, OutputFormat::Json).expect("the sample renders");
    let list: Value = serde_json::from_str(&rendered.output).expect("a JSON List");
    let mut mismatches = Vec::new();
    for object in list["items"].as_array().expect("items") {
        let api_version = object["apiVersion"].as_str().expect("apiVersion");
        let kind = object["kind"].as_str().expect("kind");
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, _) = kube::discovery::pinned_kind(&client, &gvk)
            .await
            .expect("a served kind");
        let resource: ApiResource = resource;
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or(NAMESPACE);
        let name = object["metadata"]["name"].as_str().expect("a name");
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        match api.get_opt(name).await.expect("a get") {
            None => mismatches.push(format!("{kind}/{name}: rendered but not created")),
            Some(live) => {
                let mut live = serde_json::to_value(&live).expect("json");
                if let Some(references) = live["metadata"]["ownerReferences"].as_array_mut() {
                    for reference in references {
                        if let Some(reference) = reference.as_object_mut() {
                            reference.remove("uid");
                        }
                    }
                }
                if let Some(path) = contains(&comparable(object.clone()), &live, "") {
                    mismatches.push(format!("{kind}/{name}: {path}"));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}: operator and render differ: {mismatches:#?}",
        sample.file
    );
    operator.stop().await;
    cluster.server.shutdown().await;
}

/// The golden cases' inputs (shared/spec/golden): the operator creates every object render
/// prints for them. Their pods need not start (case 2 asks for nodes kubesim lacks), so this
/// waits for the objects, not for Healthy.
async fn golden_case_matches_render(case: &str, config_map: Option<(&str, &str, &str)>) {
    let Some(golden) = golden_objects::golden_dir(case) else {
        return;
    };
    if !cluster_support::etcd_available(case) {
        return;
    }
    let cluster = Cluster::start(&["us-east-1a", "zone-a"]).await;
    let client = cluster.client.clone();
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "s3-backup-credentials"},
        "stringData": {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"},
    }))
    .expect("a Secret");
    Api::<Secret>::namespaced(client.clone(), NAMESPACE)
        .create(&PostParams::default(), &secret)
        .await
        .expect("the Secret is created");
    let mut inputs = Vec::new();
    if let Some((name, key, value)) = config_map {
        let document = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": NAMESPACE}, "data": {key: value}});
        cluster.apply_value(&document).await;
        inputs.push(InputFile {
            name: "configmap.json".into(),
            text: document.to_string(),
        });
    }
    let path = golden.join(format!("{case}.cluster-input.json"));
    let mut input: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("JSON");
    if let Some(meta) = input["metadata"].as_object_mut() {
        meta.remove("uid");
    }
    if let Some(map) = input.as_object_mut() {
        map.remove("status");
    }
    inputs.push(InputFile {
        name: path.display().to_string(),
        text: input.to_string(),
    });
    let operator = cluster.start_operator(Duration::from_secs(36_000));
    cluster.apply_value(&input).await;
    let rendered = render(&inputs, OutputFormat::Json).expect("the case renders");
    let list: Value = serde_json::from_str(&rendered.output).expect("a JSON List");
    let items = list["items"].as_array().expect("items").clone();
    let mismatches = eventually(
        "every rendered object to exist",
        Duration::from_secs(120),
        || {
            let items = items.clone();
            let client = client.clone();
            async move {
                let mismatches = compare_with_live(&client, &items).await;
                (!mismatches
                    .iter()
                    .any(|m| m.contains("rendered but not created")))
                .then_some(mismatches)
            }
        },
    )
    .await;
    assert!(
        mismatches.is_empty(),
        "{case}: operator and render differ: {mismatches:#?}"
    );
    operator.stop().await;
    cluster.server.shutdown().await;
}

/// Every rendered object against its live copy: what differs, or is missing.
async fn compare_with_live(client: &kube::Client, items: &[Value]) -> Vec<String> {
    let mut mismatches = Vec::new();
    for object in items {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let Ok((resource, _)) = kube::discovery::pinned_kind(client, &gvk).await else {
            mismatches.push(format!("{kind}: not served"));
            continue;
        };
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or(NAMESPACE);
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        match api.get_opt(name).await.ok().flatten() {
            None => mismatches.push(format!("{kind}/{name}: rendered but not created")),
            Some(live) => {
                let mut live = serde_json::to_value(&live).expect("json");
                if let Some(references) = live["metadata"]["ownerReferences"].as_array_mut() {
                    for reference in references {
                        if let Some(reference) = reference.as_object_mut() {
                            reference.remove("uid");
                        }
                    }
                }
                if let Some(path) = contains(&comparable(object.clone()), &live, "") {
                    mismatches.push(format!("{kind}/{name}: {path}"));
                }
            }
        }
    }
    mismatches
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn golden_case_2_pool_options_is_created_like_render() {
    golden_case_matches_render(
        "case2-pool-options",
        Some((
            "pg-custom-config",
            "postgresql.conf",
            "max_connections = 200\nshared_buffers = 256MB\n",
        )),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn golden_case_3_s3_backup_is_created_like_render() {
    golden_case_matches_render("case3-s3-backup", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn golden_case_4_long_names_is_created_like_render() {
    golden_case_matches_render("case4-long-names", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_templates_converges_like_render() {
    converges_and_matches_render(&SAMPLES[0]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn templated_cluster_converges_like_render() {
    converges_and_matches_render(&SAMPLES[1]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overrides_converges_like_render() {
    converges_and_matches_render(&SAMPLES[2]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn topology_converges_like_render() {
    converges_and_matches_render(&SAMPLES[3]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn external_etcd_converges_like_render() {
    converges_and_matches_render(&SAMPLES[4]).await;
}
