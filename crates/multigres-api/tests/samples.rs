//! Every sample of `config/samples/` goes through the admission pipeline (spec-api.md §12.9)
//! and the controller's resolution without an error: CRD schema defaults, the CRD's CEL rules,
//! the mutating webhook's defaulting, the CEL rules again on the mutated object (deliberate
//! fix 7: the webhook never produces an object its CRD rejects), the validating webhook's checks,
//! and `resolve_cluster`. The templates of `config/samples/templates/` are in the namespace.
//!
//! Invalid variants of the samples then show the messages a user gets: the field, the problem
//! and what is allowed.

// Each test crate uses part of the support modules.
#[allow(dead_code)]
mod cel_catalogue;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use multigres_api::naming::ClusterName;
use multigres_api::resolver::{NamespaceTemplates, materialize_defaults, resolve_cluster};
use multigres_api::v1alpha1::{CellTemplate, CoreTemplate, MultigresCluster, ShardTemplate};
use multigres_api::validation::{
    ClusterFacts, StorageClassFacts, ValidationReport, validate_cluster,
    validate_shard_template_pools,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const NAMESPACE: &str = "default";

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/samples")
}

/// Every YAML document of `path`, as JSON values.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .expect("sample is readable");
    serde_saphyr::from_multiple::<Value>(&text)
        .map_err(|e| format!("{}: {e}", path.display()))
        .expect("sample is YAML")
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("samples directory is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn plural(kind: &str) -> &'static str {
    match kind {
        "MultigresCluster" => "multigresclusters",
        "CoreTemplate" => "coretemplates",
        "CellTemplate" => "celltemplates",
        "ShardTemplate" => "shardtemplates",
        other => unreachable!("samples hold no {other}"),
    }
}

/// The object as the API server stores it (schema defaults), or its rejections.
fn admit(object: &Value) -> Result<Value, Vec<(String, String)>> {
    let kind = object["kind"].as_str().expect("every document has a kind");
    cel_catalogue::admit(plural(kind), object, None)
}

/// The sample templates, admitted.
fn sample_templates() -> NamespaceTemplates {
    let mut core = Vec::new();
    let mut cell = Vec::new();
    let mut shard = Vec::new();
    for path in yaml_files(&samples_dir().join("templates")) {
        for document in documents(&path) {
            let stored = admit(&document).expect("sample templates pass their CEL rules");
            match document["kind"].as_str() {
                Some("CoreTemplate") => core
                    .push(serde_json::from_value::<CoreTemplate>(stored).expect("a CoreTemplate")),
                Some("CellTemplate") => cell
                    .push(serde_json::from_value::<CellTemplate>(stored).expect("a CellTemplate")),
                Some("ShardTemplate") => {
                    let template: ShardTemplate =
                        serde_json::from_value(stored).expect("a ShardTemplate");
                    assert_eq!(validate_shard_template_pools(&template.spec), vec![]);
                    shard.push(template);
                }
                other => unreachable!("templates/ holds only templates, not {other:?}"),
            }
        }
    }
    NamespaceTemplates::from_objects(core, cell, shard)
}

/// A Kubernetes cluster with a default StorageClass and a node in every zone and region the
/// cluster's cells name.
fn facts_for(cluster: &MultigresCluster) -> ClusterFacts {
    let node_labels = cluster
        .spec
        .cells
        .iter()
        .map(|cell| {
            BTreeMap::from([
                (
                    "topology.kubernetes.io/zone".to_owned(),
                    cell.zone.to_string(),
                ),
                (
                    "topology.kubernetes.io/region".to_owned(),
                    cell.region.to_string(),
                ),
            ])
        })
        .collect();
    ClusterFacts {
        node_labels: Some(node_labels),
        storage_classes: vec![StorageClassFacts {
            name: "standard".to_owned(),
            annotations: BTreeMap::from([(
                "storageclass.kubernetes.io/is-default-class".to_owned(),
                "true".to_owned(),
            )]),
        }],
    }
}

/// The admission pipeline and the controller's resolution on one MultigresCluster document.
/// Returns the validation report, or the CEL rejections of the input.
fn run_pipeline(
    document: &Value,
    templates: &NamespaceTemplates,
) -> Result<(MultigresCluster, ValidationReport), Vec<(String, String)>> {
    let stored = admit(document)?;
    let mut cluster: MultigresCluster =
        serde_json::from_value(stored).expect("an admitted cluster deserializes");
    cluster.metadata.namespace = Some(NAMESPACE.to_owned());
    materialize_defaults(&mut cluster.spec, templates).expect("the webhook defaults it");
    let mutated = serde_json::to_value(&cluster).expect("clusters serialize");
    assert_eq!(
        admit(&mutated).err(),
        None,
        "the mutated object must pass the CRD's own rules"
    );
    let report = validate_cluster(&cluster.spec, NAMESPACE, templates, &facts_for(&cluster))
        .expect("in-memory lookups cannot fail");
    Ok((cluster, report))
}

fn cluster_documents() -> Vec<(String, Value)> {
    yaml_files(&samples_dir())
        .into_iter()
        .flat_map(|path| {
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            documents(&path)
                .into_iter()
                .map(move |document| (file.clone(), document))
        })
        .collect()
}

#[test]
fn every_sample_is_admitted_validated_and_resolved() {
    let templates = sample_templates();
    let documents = cluster_documents();
    let files: Vec<&str> = documents.iter().map(|(file, _)| file.as_str()).collect();
    assert_eq!(
        files,
        [
            "external-etcd.yaml",
            "minimal.yaml",
            "no-templates.yaml",
            "overrides.yaml",
            "templated-cluster.yaml",
            "topology.yaml",
        ]
    );
    for (file, document) in &documents {
        let (cluster, report) = run_pipeline(document, &templates)
            .map_err(|rejections| format!("{file}: {rejections:?}"))
            .expect("the sample passes the CEL rules");
        assert_eq!(report.errors, vec![], "{file}");
        let name = ClusterName::parse(cluster.metadata.name.clone().expect("named"))
            .expect("sample names are valid");
        let resolved = resolve_cluster(&name, NAMESPACE, &cluster.spec, &templates)
            .map_err(|e| format!("{file}: {e}"))
            .expect("the sample resolves");
        assert_eq!(
            (resolved.cells.len(), resolved.table_groups.len()),
            (cluster.spec.cells.len(), 1),
            "{file}"
        );
    }
}

fn sample(file: &str) -> Value {
    documents(&samples_dir().join(file))
        .into_iter()
        .next()
        .expect("the sample has a document")
}

fn error_lines(report: &ValidationReport) -> Vec<String> {
    report.errors.iter().map(|e| e.with_path()).collect()
}

#[test]
fn what_each_sample_resolves_to() {
    let templates = sample_templates();
    let resolve = |file: &str| {
        let (cluster, report) = run_pipeline(&sample(file), &templates).expect("admitted");
        let name =
            ClusterName::parse(cluster.metadata.name.clone().expect("named")).expect("valid name");
        let resolved =
            resolve_cluster(&name, NAMESPACE, &cluster.spec, &templates).expect("resolves");
        (resolved, report)
    };

    let (templated, _) = resolve("templated-cluster.yaml");
    let shard = &templated.table_groups[0].shards[0];
    assert_eq!(
        (
            templated.multiadmin.replicas,
            templated.cells[1].multigateway.replicas,
            serde_json::to_value(&shard.pools["main-app"].cells).expect("serializes"),
            shard.pools["main-app"].storage.size.as_str(),
        ),
        (
            Some(2),
            Some(2),
            json!(["us-east-1a", "us-east-1b"]),
            "100Gi"
        )
    );

    let (overrides, _) = resolve("overrides.yaml");
    let shard = &overrides.table_groups[0].shards[0];
    assert_eq!(
        (
            overrides.cells[0].multigateway.replicas,
            overrides.cells[1].multigateway.replicas,
            overrides.multiadmin_web.replicas,
            shard.pools["main-app"].storage.size.as_str(),
            shard.pools["main-app"].replicas_per_cell,
            shard.initdb_args.as_str(),
        ),
        (
            Some(3),
            Some(2),
            Some(2),
            "200Gi",
            Some(3),
            "--data-checksums"
        )
    );

    let (external, _) = resolve("external-etcd.yaml");
    assert_eq!(
        (
            external.topo_server.is_none(),
            external.global_topo_ref.address.as_str(),
            external.global_topo_ref.root_path.as_str(),
        ),
        (
            true,
            "http://etcd-client.etcd.svc.cluster.local:2379",
            "/multigres/external-etcd"
        )
    );

    let (topology, report) = resolve("topology.yaml");
    let table_group = &topology.table_groups[0];
    assert_eq!(
        (
            serde_json::to_value(&table_group.cell_topology_labels).expect("serializes"),
            table_group.durability_policy.as_str(),
            report.warnings.len(),
        ),
        (
            json!({
                "use1-a": {"topology.kubernetes.io/zone": "us-east-1a"},
                "use1-b": {"topology.kubernetes.io/zone": "us-east-1b"},
                "usw2": {"topology.kubernetes.io/region": "us-west-2"}
            }),
            "MULTI_CELL_AT_LEAST_2",
            0
        )
    );
}

#[test]
fn a_pool_in_a_cell_the_cluster_lacks_names_the_pool_the_shard_and_the_cell() {
    let mut document = sample("topology.yaml");
    document["spec"]["databases"][0]["tablegroups"][0]["shards"][0]["spec"]["pools"]["dr"]["cells"] =
        json!(["usw-2"]);
    let (_, report) = run_pipeline(&document, &sample_templates()).expect("CEL accepts it");
    assert_eq!(
        error_lines(&report),
        [
            "spec.databases[0].tablegroups[0].shards[0].spec.pools[dr].cells: pool 'dr' in shard \
             '0-inf' is assigned to non-existent cell 'usw-2'"
        ]
    );
}

#[test]
fn templates_that_do_not_exist_are_named_with_their_field() {
    let (_, report) = run_pipeline(
        &sample("templated-cluster.yaml"),
        &NamespaceTemplates::empty(),
    )
    .expect("CEL accepts it");
    assert_eq!(
        error_lines(&report),
        [
            "spec.templateDefaults.cellTemplate: referenced CellTemplate 'standard-cell' not \
             found in namespace 'default'",
            "spec.templateDefaults.coreTemplate: referenced CoreTemplate 'standard-core' not \
             found in namespace 'default'",
            "spec.templateDefaults.shardTemplate: referenced ShardTemplate 'standard-shard' not \
             found in namespace 'default'",
        ]
    );
}

#[test]
fn an_invalid_pool_name_says_what_is_allowed() {
    let mut document = sample("no-templates.yaml");
    let pools =
        &mut document["spec"]["databases"][0]["tablegroups"][0]["shards"][0]["spec"]["pools"];
    let main = pools["main"].take();
    *pools = json!({ "Main_Pool": main });
    let (_, report) = run_pipeline(&document, &sample_templates()).expect("CEL accepts it");
    assert_eq!(
        error_lines(&report),
        [
            "spec.databases[0].tablegroups[0].shards[0].spec.pools[Main_Pool]: shard '0-inf': \
             pool name 'Main_Pool' is invalid: must consist of lowercase alphanumeric characters \
             or '-', and must start and end with an alphanumeric character"
        ]
    );
}

#[test]
fn limits_below_requests_name_the_component_and_both_values() {
    let mut document = sample("no-templates.yaml");
    document["spec"]["cells"][0]["spec"]["multigateway"]["resources"]["limits"]["memory"] =
        json!("64Mi");
    let (_, report) = run_pipeline(&document, &sample_templates()).expect("CEL accepts it");
    assert_eq!(
        error_lines(&report),
        [
            "spec.cells[0].spec.multigateway.resources: cell 'zone-a' multigateway: resource \
          memory limit (64Mi) must be >= request (128Mi)"
        ]
    );
}

#[test]
fn schema_rules_reject_before_the_webhook_runs() {
    let mut document = sample("external-etcd.yaml");
    document["spec"]["globalTopoServer"]["external"]["endpoints"] = json!(["etcd:2379"]);
    assert_eq!(
        run_pipeline(&document, &sample_templates()).err(),
        Some(vec![(
            "spec.globalTopoServer.external.endpoints".to_owned(),
            "endpoints must be valid URLs".to_owned()
        )])
    );
}

#[test]
fn overrides_without_a_template_pass_the_crd_after_defaulting() {
    // Fix 7: Go would write `spec` beside `overrides` here and fail CEL rule #4.
    let mut document = sample("minimal.yaml");
    document["spec"]["cells"][0]["overrides"] = json!({"multigateway": {"replicas": 2}});
    let (cluster, report) =
        run_pipeline(&document, &NamespaceTemplates::empty()).expect("CEL accepts it");
    assert_eq!(
        (
            serde_json::to_value(&cluster.spec.cells[0]).expect("serializes"),
            report.errors
        ),
        (
            // `resources: {}` is the value struct Go writes too.
            json!({
                "name": "zone-a",
                "overrides": {"multigateway": {"replicas": 2, "resources": {}}}
            }),
            vec![]
        )
    );
}
