//! The admission webhooks end to end: kubesim calls the operator's webhook server (TLS with the
//! certificates the operator bootstrapped itself, caBundle injected by its rotation), and
//! kubectl shows what a user sees: stored defaults, warnings, rejections with Go's messages
//! and their fields, protected templates and read-only children (spec-api.md §12).

mod webhook_support;

use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use multigres_api::resolver::NamespaceTemplates;
use multigres_api::v1alpha1::{CellTemplate, CoreTemplate, ShardTemplate};
use multigres_operator::render::admission::Admission;
use multigres_operator::webhook::defaulting::default_cluster;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use webhook_support::{Installed, Kubectl, install, repo_root};

fn clusters(installed: &Installed, namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("multigres.com", "v1alpha1", "MultigresCluster"),
        "multigresclusters",
    );
    Api::namespaced_with(installed.client(), namespace, &resource)
}

async fn stored_spec(installed: &Installed, name: &str) -> Value {
    let stored = clusters(installed, "default")
        .get(name)
        .await
        .expect("the cluster is stored");
    stored.data["spec"].clone()
}

fn yaml_documents(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple(text).expect("valid YAML")
}

/// The templates of `config/samples/templates/`, as the API server stores them.
fn sample_templates(admission: &Admission) -> NamespaceTemplates {
    let (mut core, mut cell, mut shard) = (Vec::new(), Vec::new(), Vec::new());
    let dir = repo_root().join("config/samples/templates");
    for entry in std::fs::read_dir(dir).expect("templates dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("readable");
        for mut document in yaml_documents(&text) {
            let kind = document["kind"].as_str().unwrap_or_default().to_owned();
            assert_eq!(
                admission.admit_custom_resource(&kind, &mut document),
                Vec::<String>::new()
            );
            match kind.as_str() {
                "CoreTemplate" => core
                    .push(serde_json::from_value::<CoreTemplate>(document).expect("CoreTemplate")),
                "CellTemplate" => cell
                    .push(serde_json::from_value::<CellTemplate>(document).expect("CellTemplate")),
                "ShardTemplate" => shard.push(
                    serde_json::from_value::<ShardTemplate>(document).expect("ShardTemplate"),
                ),
                other => unreachable!("unexpected {other} among the sample templates"),
            }
        }
    }
    NamespaceTemplates::from_objects(core, cell, shard)
}

/// What the API server should store for `document` in namespace `default`: schema defaults,
/// then the defaulter (the same pure functions `render` uses).
fn expected_spec(admission: &Admission, templates: &NamespaceTemplates, document: &Value) -> Value {
    let mut value = document.clone();
    value["metadata"]["namespace"] = json!("default");
    assert_eq!(
        admission.admit_custom_resource("MultigresCluster", &mut value),
        Vec::<String>::new()
    );
    default_cluster(&value, templates, &Default::default())
        .expect("defaults")
        .object["spec"]
        .clone()
}

fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix("Warning: "))
        .collect()
}

#[tokio::test]
async fn every_sample_is_stored_defaulted_and_its_warnings_are_shown() {
    let installed = install().await;
    let Some(kubectl) = Kubectl::new(&installed.kubesim) else {
        return installed.shutdown().await;
    };
    let samples = repo_root().join("config/samples");
    let templates_dir = samples.join("templates");
    let applied = kubectl
        .run(&["apply", "-f", &templates_dir.display().to_string()], "")
        .await;
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let admission = Admission::new().expect("CRDs compile");
    let templates = sample_templates(&admission);

    let mut files: Vec<_> = std::fs::read_dir(&samples)
        .expect("samples dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "samples: {files:?}");
    let mut shown = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable sample");
        let document = yaml_documents(&text).remove(0);
        let name = document["metadata"]["name"]
            .as_str()
            .expect("named")
            .to_owned();
        let applied = kubectl
            .run(&["apply", "-f", &file.display().to_string()], "")
            .await;
        assert_eq!(applied.code, 0, "{}: {}", file.display(), applied.stderr);
        assert_eq!(
            applied.stdout,
            format!("multigrescluster.multigres.com/{name} created\n")
        );
        assert_eq!(
            stored_spec(&installed, &name).await,
            expected_spec(&admission, &templates, &document),
            "{}",
            file.display()
        );
        shown.extend(
            warnings(&applied.stderr)
                .into_iter()
                .map(|warning| format!("{name}: {warning}")),
        );
    }
    // Every warning the validating webhook gives reaches the user, with its field.
    // Each names the field that sets the pool's replicas: the inline pool, or the template
    // reference when the template provides them (the `overrides` sample changes only storage).
    let rwo = |cluster: &str, pool: &str, field: &str| {
        format!(
            "{cluster}: {field}: Shard '0-inf' uses filesystem backups with ReadWriteOnce (RWO) \
             storage but pool '{pool}' has 3 replicas per cell. This configuration may fail if \
             pods are scheduled on different nodes. Consider using ReadWriteMany (RWX), \
             ensuring node affinity, or using S3 backups."
        )
    };
    let shard = "spec.databases[0].tablegroups[0].shards[0]";
    assert_eq!(
        shown,
        vec![
            rwo(
                "external-etcd",
                "default",
                &format!("{shard}.spec.pools[default].replicasPerCell")
            ),
            rwo(
                "minimal",
                "default",
                &format!("{shard}.spec.pools[default].replicasPerCell")
            ),
            rwo(
                "inline",
                "main",
                &format!("{shard}.spec.pools[main].replicasPerCell")
            ),
            rwo("overrides", "main-app", &format!("{shard}.shardTemplate")),
            rwo(
                "templated",
                "main-app",
                "spec.templateDefaults.shardTemplate"
            ),
            "topology: spec.cells[2].region: cell 'usw2': no nodes currently match \
             topology.kubernetes.io/region=us-west-2; pods will be Pending until matching \
             nodes are available"
                .to_owned(),
        ]
    );
    // Re-applying a sample is a no-op: the stored object already holds every default.
    let again = kubectl
        .run(
            &[
                "apply",
                "-f",
                &samples.join("minimal.yaml").display().to_string(),
            ],
            "",
        )
        .await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    installed.shutdown().await;
}

/// `spec/golden/templates/` of the shared directory (`MULTIGRES_SHARED_DIR`, else `../shared`
/// beside the repository), or `None` after saying the test skips.
fn golden_templates_dir(test: &str) -> Option<std::path::PathBuf> {
    let shared = std::env::var_os("MULTIGRES_SHARED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"));
    let dir = shared.join("spec/golden/templates");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: no golden data at {} under CI",
        dir.display()
    );
    println!(
        "{test}: skipped, no golden data at {} (set MULTIGRES_SHARED_DIR)",
        dir.display()
    );
    None
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable golden file"))
        .expect("golden JSON")
}

#[tokio::test]
async fn the_stored_cluster_of_every_golden_template_case_is_the_go_defaulters() {
    let Some(dir) = golden_templates_dir("golden template defaulting") else {
        return;
    };
    let installed = install().await;
    let Some(kubectl) = Kubectl::new(&installed.kubesim) else {
        return installed.shutdown().await;
    };
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .filter_map(|entry| {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            name.strip_suffix(".multigrescluster.defaulted.json")
                .map(str::to_owned)
        })
        .collect();
    cases.sort();
    assert_eq!(cases, vec!["t1-explicit", "t3-cluster-defaults"]);
    let mut templates_applied = Vec::new();
    for case in &cases {
        // Both cases use the same templates (golden/templates/README.md); apply each once.
        let templates = read_json(&dir.join(format!("{case}.templates.json")));
        if !templates_applied.contains(&templates) {
            for template in templates.as_array().expect("a list of templates") {
                let applied = kubectl
                    .run(&["apply", "-f", "-"], &template.to_string())
                    .await;
                assert_eq!(applied.code, 0, "{}", applied.stderr);
            }
            templates_applied.push(templates);
        }
        let input = read_json(&dir.join(format!("{case}.cluster-input.json")));
        let applied = kubectl.run(&["apply", "-f", "-"], &input.to_string()).await;
        assert_eq!(applied.code, 0, "{case}: {}", applied.stderr);
        let name = input["metadata"]["name"].as_str().expect("named");
        let golden = read_json(&dir.join(format!("{case}.multigrescluster.defaulted.json")));
        // Fix 6 does not change these cases: neither namespace has a `default` ShardTemplate.
        assert_eq!(
            stored_spec(&installed, name).await,
            without_go_zero_structs(golden["spec"].clone()),
            "{case}"
        );
    }
    installed.shutdown().await;
}

/// The golden file is Go's `json.Marshal` of the defaulted object, which writes struct fields
/// without `omitempty` even when empty: `templateDefaults: {}` (golden/templates/README.md).
/// Such an empty object means what its absence means, and the Rust model omits it.
fn without_go_zero_structs(mut spec: Value) -> Value {
    if let Some(fields) = spec.as_object_mut()
        && fields.get("templateDefaults") == Some(&json!({}))
    {
        fields.remove("templateDefaults");
    }
    spec
}

fn cluster_yaml(name: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: {name}\n\
         spec:\n  cells:\n  - name: zone-a\n    zone: us-east-1a\n{extra_spec}"
    )
}

fn denial(webhook: &str, message: &str) -> String {
    format!(
        "Error from server (Forbidden): error when creating \"STDIN\": admission webhook \
         \"{webhook}\" denied the request: {message}\n"
    )
}

#[tokio::test]
async fn rejections_carry_gos_message_and_the_field() {
    let installed = install().await;
    let Some(kubectl) = Kubectl::new(&installed.kubesim) else {
        return installed.shutdown().await;
    };
    let apply = ["apply", "-f", "-"];

    let missing = kubectl
        .run(
            &apply,
            &cluster_yaml("orders", "  templateDefaults:\n    cellTemplate: nowhere\n"),
        )
        .await;
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr,
        denial(
            "vmultigrescluster.kb.io",
            "spec.templateDefaults.cellTemplate: referenced CellTemplate 'nowhere' not found in \
             namespace 'default'"
        )
    );

    // Update-only rules: a pool's storage may not shrink, etcd keeps its member count.
    let pools = |size: &str| {
        format!(
            "  databases:\n  - name: postgres\n    default: true\n    tablegroups:\n    - name: \
             default\n      default: true\n      shards:\n      - name: 0-inf\n        spec:\n          \
             pools:\n            main:\n              type: readWrite\n              storage:\n                \
             size: {size}\n"
        )
    };
    let created = kubectl
        .run(&apply, &cluster_yaml("orders", &pools("10Gi")))
        .await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    let shrunk = kubectl
        .run(&apply, &cluster_yaml("orders", &pools("5Gi")))
        .await;
    assert_eq!(shrunk.code, 1);
    let for_stdin = |message: &str| {
        format!(
            "for: \"STDIN\": error when patching \"STDIN\": admission webhook \
             \"vmultigrescluster.kb.io\" denied the request: {message}"
        )
    };
    assert!(
        shrunk.stderr.lines().any(|line| line
            == for_stdin(
                "spec.databases[0].tablegroups[0].shards[0].spec.pools[main].storage.size: \
                 storage.size cannot be decreased (postgres/default/0-inf/main: 10Gi \u{2192} \
                 5Gi); PVC shrink is not supported by Kubernetes"
            )),
        "{}",
        shrunk.stderr
    );
    let resized = kubectl
        .run(
            &apply,
            &cluster_yaml(
                "orders",
                &format!(
                    "{}  globalTopoServer:\n    etcd:\n      replicas: 5\n",
                    pools("10Gi")
                ),
            ),
        )
        .await;
    assert_eq!(resized.code, 1);
    assert!(
        resized.stderr.lines().any(|line| line
            == for_stdin(
                "spec.globalTopoServer.etcd.replicas: topology server (etcd) replicas cannot be \
                 changed after cluster creation (3 \u{2192} 5); etcd uses static bootstrap which \
                 does not support dynamic member addition"
            )),
        "{}",
        resized.stderr
    );
    installed.shutdown().await;
}

/// A Cell as the cluster controller would write it.
const CELL: &str = r#"{"apiVersion": "multigres.com/v1alpha1", "kind": "Cell",
  "metadata": {"name": "templated-us-east-1a", "namespace": "default"},
  "spec": {"name": "us-east-1a", "zone": "us-east-1a",
    "images": {"multigateway": "ghcr.io/multigres/multigres:sha-d782aa0"},
    "multigateway": {"replicas": 1},
    "globalTopoServer": {"address": "templated-global-topo.default.svc:2379",
                         "rootPath": "/multigres/global", "implementation": "etcd"},
    "allCells": ["us-east-1a"]}}"#;

#[tokio::test]
async fn templates_in_use_are_protected_and_children_are_read_only() {
    let installed = install().await;
    let Some(kubectl) = Kubectl::new(&installed.kubesim) else {
        return installed.shutdown().await;
    };
    let samples = repo_root().join("config/samples");
    for path in [
        samples.join("templates"),
        samples.join("templated-cluster.yaml"),
    ] {
        let applied = kubectl
            .run(&["apply", "-f", &path.display().to_string()], "")
            .await;
        assert_eq!(applied.code, 0, "{}", applied.stderr);
    }

    // Fix 5: the cluster is not labelled (no controller runs here) and is still protected.
    let deleted = kubectl
        .run(&["delete", "celltemplate", "standard-cell"], "")
        .await;
    assert_eq!(deleted.code, 1);
    assert_eq!(
        deleted.stderr,
        "Error from server (Forbidden): admission webhook \"vcelltemplate.kb.io\" denied the \
         request: cannot delete CellTemplate 'standard-cell' because it is in use by \
         MultigresCluster 'templated'\n"
    );
    // ... and so is a `default` template a cluster uses implicitly, created after it.
    let minimal = kubectl
        .run(
            &[
                "apply",
                "-f",
                &samples.join("minimal.yaml").display().to_string(),
            ],
            "",
        )
        .await;
    assert_eq!(minimal.code, 0, "{}", minimal.stderr);
    let default_core = "apiVersion: multigres.com/v1alpha1\nkind: CoreTemplate\nmetadata:\n  \
                        name: default\nspec:\n  multiadmin:\n    replicas: 2\n";
    let created = kubectl.run(&["apply", "-f", "-"], default_core).await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    let deleted = kubectl
        .run(&["delete", "coretemplate", "default"], "")
        .await;
    assert_eq!(
        deleted.stderr,
        "Error from server (Forbidden): admission webhook \"vcoretemplate.kb.io\" denied the \
         request: cannot delete CoreTemplate 'default' because it is in use by \
         MultigresCluster 'minimal'\n"
    );
    // A template nobody uses may go.
    let unused = "apiVersion: multigres.com/v1alpha1\nkind: CellTemplate\nmetadata:\n  name: \
                  spare\nspec:\n  multigateway:\n    replicas: 1\n";
    assert_eq!(kubectl.run(&["apply", "-f", "-"], unused).await.code, 0);
    let deleted = kubectl.run(&["delete", "celltemplate", "spare"], "").await;
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);

    // Fix 11: an edit that would make a cluster using the template invalid is refused.
    let template = std::fs::read_to_string(samples.join("templates/shard.yaml"))
        .expect("readable")
        .replacen("memory: 256Mi", "memory: 64Mi", 1);
    let edited = kubectl.run(&["apply", "-f", "-"], &template).await;
    assert_eq!(edited.code, 1);
    assert!(
        edited.stderr.lines().any(|line| line
            == "for: \"STDIN\": error when patching \"STDIN\": admission webhook \
                \"vshardtemplate.kb.io\" denied the request: ShardTemplate 'standard-shard' \
                would make the MultigresClusters using it invalid: MultigresCluster \
                'templated': spec.templateDefaults.shardTemplate: shard '0-inf' multiorch: \
                resource memory limit (64Mi) must be >= request (128Mi)"),
        "{}",
        edited.stderr
    );

    // The same for a CellTemplate (Go does not send those edits to the webhook at all).
    let template = std::fs::read_to_string(samples.join("templates/cell.yaml"))
        .expect("readable")
        .replacen("memory: 1Gi", "memory: 128Mi", 1);
    let edited = kubectl.run(&["apply", "-f", "-"], &template).await;
    assert_eq!(edited.code, 1, "{}{}", edited.stdout, edited.stderr);
    assert!(
        edited.stderr.contains(
            "\"vcelltemplate.kb.io\" denied the request: CellTemplate \
                                'standard-cell' would make the MultigresClusters using it \
                                invalid: MultigresCluster 'templated': "
        ),
        "{}",
        edited.stderr
    );

    // Children are the operator's: a user may not write them.
    let cell = kubectl.run(&["apply", "-f", "-"], CELL).await;
    assert_eq!(cell.code, 1);
    assert_eq!(
        cell.stderr,
        "Error from server (Forbidden): error when creating \"STDIN\": admission webhook \
         \"vcell.kb.io\" denied the request: direct modification of Cell is prohibited; this \
         resource is managed by the MultigresCluster parent object\n"
    );
    installed.shutdown().await;
}
