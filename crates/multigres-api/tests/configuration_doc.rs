//! The example of `docs/configuration.md` resolves to what its table says, so the user guide
//! stays true. The YAML is read from the document itself.

use std::path::Path;

use multigres_api::naming::ClusterName;
use multigres_api::resolver::{NamespaceTemplates, materialize_defaults, resolve_cluster};
use multigres_api::v1alpha1::{CellTemplate, MultigresCluster, ShardTemplate};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// Every document of every ```yaml block of the guide.
fn guide_documents() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .expect("the guide is readable");
    let mut documents = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        match (&mut block, line.trim_end()) {
            (None, "```yaml") => block = Some(String::new()),
            (Some(yaml), "```") => {
                documents
                    .extend(serde_saphyr::from_multiple::<Value>(yaml).expect("guide YAML parses"));
                block = None;
            }
            (Some(yaml), _) => {
                yaml.push_str(line);
                yaml.push('\n');
            }
            (None, _) => {}
        }
    }
    documents
}

#[test]
fn the_guide_example_resolves_as_its_table_says() {
    let documents = guide_documents();
    let of_kind = |kind: &'static str| documents.iter().filter(move |d| d["kind"] == kind);
    let templates = NamespaceTemplates::from_objects(
        [],
        of_kind("CellTemplate")
            .map(|d| serde_json::from_value::<CellTemplate>(d.clone()).expect("CellTemplate")),
        of_kind("ShardTemplate")
            .map(|d| serde_json::from_value::<ShardTemplate>(d.clone()).expect("ShardTemplate")),
    );
    let mut cluster: MultigresCluster = serde_json::from_value(
        of_kind("MultigresCluster")
            .next()
            .expect("the guide has a cluster")
            .clone(),
    )
    .expect("MultigresCluster");

    let name = ClusterName::parse("shop").expect("valid name");
    let resolved = resolve_cluster(&name, "db", &cluster.spec, &templates).expect("resolves");
    let shard = &resolved.table_groups[0].shards[0];
    let main = &shard.pools["main"];
    assert_eq!(
        (
            shard.pools.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
            json!(main.cells),
            main.replicas_per_cell,
            (main.storage.size.as_str(), main.storage.class.as_str()),
            resolved.cells[0].multigateway.replicas,
            resolved.cells[1].multigateway.replicas,
            resolved.multiadmin.replicas,
            resolved
                .global_topo_server
                .etcd
                .as_ref()
                .and_then(|e| e.replicas),
            resolved.multiadmin_web.replicas,
        ),
        (
            vec!["main"],
            json!(["zone-a", "zone-b"]),
            Some(3),
            ("50Gi", "fast-ssd"),
            Some(2),
            Some(4),
            Some(2),
            Some(3),
            Some(1),
        )
    );

    materialize_defaults(&mut cluster.spec, &templates).expect("the webhook defaults it");
    assert_eq!(
        json!(cluster.spec.template_defaults),
        json!({"cellTemplate": "default", "shardTemplate": "standard-shard"})
    );
}
