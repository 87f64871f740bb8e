//! Every object the operator would create for one MultigresCluster, computed the way the
//! controllers compute them: the mutating webhook's defaulting, the validating webhook's checks
//! (spec-api.md §11), the cluster controller's resolution and builders, then the TopoServer,
//! Cell, TableGroup and Shard controllers' builders on the child resources the API server would
//! have stored (schema defaults applied, validated).
//!
//! Pure: templates and ConfigMaps come from the input files. Objects that only exist in a real
//! cluster are left as render documents: uids are empty, the operator's OTEL environment is
//! empty, the target cluster is assumed to have a default StorageClass, node labels are unknown
//! (so the zone/region warnings are skipped), and the generated pgBackRest Secrets hold no key
//! material (render never generates or prints a private key).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use multigres_api::naming::ClusterName;
use multigres_api::resolver::{
    NamespaceTemplates, error_chain_text, materialize_defaults, resolve_cluster,
};
use multigres_api::v1alpha1::{Cell, MultigresCluster, Shard, TableGroup, TopoServer};
use multigres_api::validation::logic::DEFAULT_STORAGE_CLASS_ANNOTATION;
use multigres_api::validation::{ClusterFacts, StorageClassFacts, validate_cluster};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::admission::Admission;
use crate::controllers::cell::build::build_cell_objects;
use crate::controllers::multigres_cluster::build::build_cluster_objects;
use crate::controllers::otel_env::OperatorOtelEnv;
use crate::controllers::shard::build::pgbackrest_certs::{
    CaMaterial, ServerMaterial, uses_generated_certificates,
};
use crate::controllers::shard::build::pool_pod::postgres_config_hash;
use crate::controllers::shard::build::{
    PgBackRestMaterial, PgBackRestTls, ShardBuildInputs, build_shard_objects,
};
use crate::controllers::table_group::build::build_table_group_objects;
use crate::controllers::topo_server::build::build_topo_server_objects;

/// The name of the StorageClass render assumes the target cluster marks as default.
pub const ASSUMED_DEFAULT_STORAGE_CLASS: &str = "(the cluster's default StorageClass)";

/// What one MultigresCluster needs from the input besides itself, all in its namespace.
pub struct ClusterInputs<'a> {
    pub templates: &'a NamespaceTemplates,
    /// ConfigMaps by name.
    pub config_maps: &'a BTreeMap<String, ConfigMap>,
}

/// The objects of one cluster, in apply order per controller, and what render tells the user
/// on standard error.
#[derive(Debug, Default)]
pub struct ClusterObjects {
    pub objects: Vec<Value>,
    /// The validating webhook's warnings, as kubectl would show them.
    pub warnings: Vec<String>,
    /// The defaulting decisions (the operator's `ImplicitDefault` events), and the objects
    /// render prints differently from what the operator sends, with why.
    pub notes: Vec<String>,
}

/// Why a cluster's objects cannot be rendered: what the user must fix (each `field: problem`),
/// or a defect of the operator itself.
#[derive(Debug, PartialEq, Eq)]
pub enum ClusterFailure {
    /// The input is wrong: every problem found.
    Invalid(Vec<String>),
    /// The operator built an object the API server would refuse, or could not build one from a
    /// valid input: a defect to report, not the user's mistake.
    Defect(String),
}

/// Renders `cluster` (already admitted: schema defaults applied and validated).
pub fn render_cluster(
    cluster_value: &Value,
    inputs: &ClusterInputs<'_>,
    admission: &Admission,
) -> Result<ClusterObjects, ClusterFailure> {
    let mut cluster = MultigresCluster::from_json(cluster_value).map_err(|err| {
        ClusterFailure::Invalid(vec![format!("not a valid MultigresCluster: {err}")])
    })?;
    let namespace = cluster.metadata.namespace.clone().unwrap_or_default();
    let raw_name = cluster.metadata.name.clone().unwrap_or_default();
    let name = ClusterName::parse(raw_name.as_str()).map_err(|err| {
        ClusterFailure::Invalid(vec![format!(
            "metadata.name: Invalid value: {raw_name:?}: {err}; every object of the cluster is \
             named after it"
        )])
    })?;
    let mut out = ClusterObjects::default();

    // The mutating webhook: what the API server stores.
    let decisions = materialize_defaults(&mut cluster.spec, inputs.templates)
        .map_err(|err| ClusterFailure::Invalid(vec![error_chain_text(&err)]))?;
    out.notes.extend(
        decisions
            .iter()
            .map(|decision| decision.message().to_owned()),
    );

    // The validating webhook.
    let facts = ClusterFacts {
        node_labels: None,
        storage_classes: vec![StorageClassFacts {
            name: ASSUMED_DEFAULT_STORAGE_CLASS.to_owned(),
            annotations: BTreeMap::from([(
                DEFAULT_STORAGE_CLASS_ANNOTATION.to_owned(),
                "true".to_owned(),
            )]),
        }],
    };
    let report = validate_cluster(&cluster.spec, &namespace, inputs.templates, &facts)
        .map_err(|err| ClusterFailure::Invalid(vec![error_chain_text(&err)]))?;
    if !report.is_valid() {
        return Err(ClusterFailure::Invalid(
            report
                .errors
                .iter()
                .map(|error| error.with_path())
                .collect(),
        ));
    }
    out.warnings
        .extend(report.warnings.iter().map(|warning| warning.with_path()));

    // The cluster controller.
    let resolved = resolve_cluster(&name, &namespace, &cluster.spec, inputs.templates)
        .map_err(|err| ClusterFailure::Invalid(vec![error_chain_text(&err)]))?;
    let env = OperatorOtelEnv::default();
    let desired = build_cluster_objects(&cluster, &resolved, &env).map_err(defect)?;
    out.objects.extend(desired.objects());
    let mut topo_servers = Vec::new();
    if let Some(topo_server) = &desired.topo_server {
        topo_servers.push(store::<TopoServer>(admission, "TopoServer", topo_server)?);
    }
    let mut cells = Vec::new();
    for cell in &desired.cells {
        cells.push(store::<Cell>(admission, "Cell", cell)?);
    }
    let mut table_groups = Vec::new();
    for table_group in &desired.table_groups {
        table_groups.push(store::<TableGroup>(admission, "TableGroup", table_group)?);
    }

    // The TopoServer controller.
    for topo_server in &topo_servers {
        out.objects.extend(
            build_topo_server_objects(topo_server)
                .map_err(defect)?
                .objects(),
        );
    }
    // The Cell controller.
    for cell in &cells {
        out.objects
            .extend(build_cell_objects(cell, &env).map_err(defect)?.objects());
    }
    // The TableGroup controller, then the Shard controller.
    let mut shards = Vec::new();
    for table_group in &table_groups {
        let desired = build_table_group_objects(table_group).map_err(defect)?;
        out.objects.extend(desired.objects());
        for shard in &desired.shards {
            shards.push(store::<Shard>(admission, "Shard", shard)?);
        }
    }
    for shard in &shards {
        render_shard(shard, inputs, &mut out)?;
    }
    Ok(out)
}

/// The Shard controller's objects of one stored Shard.
fn render_shard(
    shard: &Shard,
    inputs: &ClusterInputs<'_>,
    out: &mut ClusterObjects,
) -> Result<(), ClusterFailure> {
    let shard_name = shard.metadata.name.clone().unwrap_or_default();
    let postgres_config_hash = match &shard.spec.postgres_config_ref {
        None => None,
        Some(reference) => {
            let content = inputs
                .config_maps
                .get(&reference.name)
                .and_then(|config_map| config_map.data.as_ref())
                .and_then(|data| data.get(&reference.key))
                .ok_or_else(|| {
                    ClusterFailure::Invalid(vec![format!(
                        "Shard {shard_name}: postgresConfigRef names ConfigMap {:?} key {:?}, \
                         which no input file holds; add that ConfigMap (its content is hashed \
                         into the pool pods' multigres.com/postgres-config-hash)",
                        reference.name, reference.key
                    )])
                })?;
            Some(postgres_config_hash(content))
        }
    };
    // No key material: the Secrets show their keys with empty values (see the module docs).
    let pgbackrest_material =
        uses_generated_certificates(&shard.spec).then(|| PgBackRestMaterial {
            ca: CaMaterial {
                cert_pem: String::new(),
                key_pem: String::new(),
            },
            server: ServerMaterial {
                cert_pem: String::new(),
                key_pem: String::new(),
            },
        });
    let desired = build_shard_objects(
        shard,
        &ShardBuildInputs {
            postgres_config_hash,
            pgbackrest_material,
            operator_otel_env: OperatorOtelEnv::default(),
        },
    )
    .map_err(defect)?;
    if let PgBackRestTls::Generated {
        ca_secret,
        tls_secret,
    } = &desired.pgbackrest_tls
    {
        for secret in [ca_secret, tls_secret] {
            out.notes.push(format!(
                "Secret {}: data values left empty; the operator generates this certificate and \
                 its private key when it creates the Secret",
                secret.metadata.name.as_deref().unwrap_or_default()
            ));
        }
    }
    out.objects.extend(desired.objects());
    Ok(())
}

/// A child custom resource as the API server would store it (schema defaults applied), checked
/// as the API server would check it.
fn store<T: DeserializeOwned>(
    admission: &Admission,
    kind: &str,
    object: &impl Serialize,
) -> Result<T, ClusterFailure> {
    let mut value = to_value(object)?;
    let problems = admission.admit_custom_resource(kind, &mut value);
    if !problems.is_empty() {
        return Err(ClusterFailure::Defect(format!(
            "the operator built a {kind} {:?} that the API server would refuse: {}",
            value["metadata"]["name"].as_str().unwrap_or_default(),
            problems.join("; ")
        )));
    }
    serde_json::from_value(value)
        .map_err(|err| ClusterFailure::Defect(format!("a stored {kind} does not read back: {err}")))
}

fn to_value(object: &impl Serialize) -> Result<Value, ClusterFailure> {
    serde_json::to_value(object)
        .map_err(|err| ClusterFailure::Defect(format!("an object does not serialize: {err}")))
}

fn defect(err: impl std::error::Error) -> ClusterFailure {
    ClusterFailure::Defect(error_chain_text(&err))
}
