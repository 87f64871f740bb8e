//! The MultigresCluster controller's builders against the Go operator's real outputs
//! (shared/spec/golden/objects/ and templates/): for every case, the cluster input (and its
//! templates) goes through the CRD schema defaults and the resolver, and every object the
//! controller applies comes out equal, as parsed JSON, to its golden file; no object is missing
//! and none is extra (objects.tsv `controller_owner`).
//!
//! The goldens live outside the repository: `MULTIGRES_SHARED_DIR`, else `<workspace>/../shared`.
//! Without them each test prints that it skips.

mod golden_objects;

use std::collections::BTreeMap;

use anyhow::Context;
use crd_admission::crd_schema::CompiledCrd;
use golden_objects::{CLUSTER_UID, Case, cases, differences, golden_dir};
use multigres_api::crds::crds;
use multigres_api::naming::ClusterName;
use multigres_api::resolver::{NamespaceTemplates, resolve_cluster};
use multigres_api::v1alpha1::{CellTemplate, CoreTemplate, MultigresCluster, ShardTemplate};
use multigres_operator::controllers::multigres_cluster::build::{Desired, build_cluster_objects};
use multigres_operator::controllers::otel_env::OperatorOtelEnv;
use pretty_assertions::assert_eq;
use serde_json::Value;

/// `value` as the API server stores it: our CRD's schema defaults applied by the API server's
/// CRD engine (`crd-admission`).
fn with_crd_defaults(crds: &BTreeMap<String, CompiledCrd>, kind: &str, value: &Value) -> Value {
    let crd = &crds[kind];
    let mut stored = value.clone();
    crd.apply_defaults(crd.storage_version().name(), &mut stored);
    stored
}

fn crd_schemas() -> anyhow::Result<BTreeMap<String, CompiledCrd>> {
    crds()
        .iter()
        .map(|crd| {
            let compiled = CompiledCrd::new(crd).map_err(|causes| {
                anyhow::anyhow!("CRD {} is not accepted: {causes:?}", crd.spec.names.kind)
            })?;
            Ok((crd.spec.names.kind.clone(), compiled))
        })
        .collect()
}

fn templates(
    case: &Case,
    schemas: &BTreeMap<String, CompiledCrd>,
) -> anyhow::Result<NamespaceTemplates> {
    let items = case.templates()?;
    let of_kind = |kind: &str| {
        items
            .iter()
            .filter(|item| item["kind"] == kind)
            .map(|item| with_crd_defaults(schemas, kind, item))
            .collect::<Vec<_>>()
    };
    let core = of_kind("CoreTemplate")
        .into_iter()
        .map(serde_json::from_value::<CoreTemplate>)
        .collect::<Result<Vec<_>, _>>()?;
    let cell = of_kind("CellTemplate")
        .into_iter()
        .map(serde_json::from_value::<CellTemplate>)
        .collect::<Result<Vec<_>, _>>()?;
    let shard = of_kind("ShardTemplate")
        .into_iter()
        .map(serde_json::from_value::<ShardTemplate>)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NamespaceTemplates::from_objects(core, cell, shard))
}

/// `(kind, name, JSON)` of each built object, in build order.
fn built_objects(desired: &Desired) -> anyhow::Result<Vec<(String, String, Value)>> {
    let Desired {
        topo_server,
        services,
        deployments,
        certificate,
        cells,
        table_groups,
    } = desired;
    let mut objects: Vec<(&str, Value)> = Vec::new();
    if let Some(topo_server) = topo_server {
        objects.push(("TopoServer", serde_json::to_value(topo_server)?));
    }
    for service in services {
        objects.push(("Service", serde_json::to_value(service)?));
    }
    for deployment in deployments {
        objects.push(("Deployment", serde_json::to_value(deployment)?));
    }
    if let Some(certificate) = certificate {
        objects.push(("Certificate", serde_json::to_value(certificate)?));
    }
    for cell in cells {
        objects.push(("Cell", serde_json::to_value(cell)?));
    }
    for table_group in table_groups {
        objects.push(("TableGroup", serde_json::to_value(table_group)?));
    }
    Ok(objects
        .into_iter()
        .map(|(kind, value)| {
            let name = value["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (kind.to_owned(), name, value)
        })
        .collect())
}

#[test]
fn cluster_objects_equal_the_go_operators() -> anyhow::Result<()> {
    let Some(golden) = golden_dir("cluster_objects_equal_the_go_operators") else {
        return Ok(());
    };
    let schemas = crd_schemas()?;
    for case in cases(&golden)? {
        let mut input = with_crd_defaults(&schemas, "MultigresCluster", &case.cluster_input()?);
        input["metadata"]["uid"] = Value::String(CLUSTER_UID.to_owned());
        let cluster: MultigresCluster = serde_json::from_value(input)
            .with_context(|| format!("{}: the cluster input", case.name))?;
        let name = ClusterName::parse(cluster.metadata.name.clone().unwrap_or_default())?;
        let namespace = cluster.metadata.namespace.clone().unwrap_or_default();
        let resolved = resolve_cluster(
            &name,
            &namespace,
            &cluster.spec,
            &templates(&case, &schemas)?,
        )
        .with_context(|| format!("{}: resolving the cluster", case.name))?;
        // The goldens were made with no OTEL_* variable in the operator's environment.
        let desired = build_cluster_objects(&cluster, &resolved, &OperatorOtelEnv::default())?;
        let built = built_objects(&desired)?;

        let owner = format!("MultigresCluster/{name}");
        let mut expected = case.owned_by(&owner);
        expected.sort();
        let mut got: Vec<(String, String)> = built
            .iter()
            .map(|(kind, name, _)| (kind.clone(), name.clone()))
            .collect();
        got.sort();
        assert_eq!(got, expected, "{}: objects owned by {owner}", case.name);

        for (kind, object_name, value) in built {
            let golden_object = case.object(&kind, &object_name)?;
            assert_eq!(
                differences(&value, &golden_object),
                Vec::<String>::new(),
                "{}: {kind} {object_name}",
                case.name
            );
        }
    }
    Ok(())
}
