//! The defaulting passes and the inheritance into children: the cluster defaulting pass
//! (spec-api.md §10.8), what the webhook materialises (§12.3, with fixes 6 and 7), shard
//! resolution details (§10.7.4), the PVC-policy chain (fix 4) and the child specs (§10.9).

use std::collections::BTreeMap;

use multigres_api::naming::ClusterName;
use multigres_api::resolver::{
    DefaultingDecision, EffectivePvcPolicy, NamespaceTemplates, TemplateSource,
    effective_pool_pvc_policy, materialize_defaults, populate_cluster_defaults, resolve_cluster,
    resolve_shard, shard_spec,
};
use multigres_api::v1alpha1::{
    BackupConfig, BackupType, CellConfig, CellOverrides, CellTemplateSpec, CoreTemplateSpec,
    DatabaseConfig, EtcdSpec, ExternalTopoServerSpec, FilesystemBackupConfig, GlobalTopoServerSpec,
    MultiAdminConfig, MultigresClusterSpec, PoolName, PoolSpec, PoolType, PvcDeletionPolicy,
    PvcRetentionPolicyType, S3BackupConfig, ShardConfig, ShardOverrides, ShardTemplateSpec,
    StatelessSpec, StorageSpec, TableGroupConfig, TopologyPruningConfig,
};
use pretty_assertions::assert_eq;
use serde_json::json;

use PvcRetentionPolicyType::{Delete, Retain};

fn one_cell() -> MultigresClusterSpec {
    MultigresClusterSpec {
        cells: vec![CellConfig {
            name: "zone-a".into(),
            ..CellConfig::default()
        }],
        ..MultigresClusterSpec::default()
    }
}

fn json_of<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("serializes")
}

fn name() -> ClusterName {
    ClusterName::parse("alpha").expect("valid")
}

#[test]
fn the_defaulting_pass_fills_every_static_and_smart_default() {
    let mut spec = one_cell();
    let decisions = populate_cluster_defaults(&mut spec, &NamespaceTemplates::empty())
        .expect("no lookups fail");
    assert_eq!(decisions, vec![DefaultingDecision::ImplicitDefaultPool]);
    assert_eq!(
        decisions[0].to_string(),
        "Implicitly injected default 'readWrite' pool configuration using the 'default' \
         ShardTemplate"
    );
    assert_eq!(
        json_of(&spec),
        json!({
            "images": {
                "imagePullPolicy": "IfNotPresent",
                "multigateway": "ghcr.io/multigres/multigres:sha-d782aa0",
                "multiorch": "ghcr.io/multigres/multigres:sha-d782aa0",
                "multipooler": "ghcr.io/multigres/multigres:sha-d782aa0",
                "multiadmin": "ghcr.io/multigres/multigres:sha-d782aa0",
                "multiadminWeb": "ghcr.io/multigres/multiadmin-web:sha-d7be6e4",
                "postgres": "ghcr.io/multigres/pgctld:sha-d782aa0"
            },
            "logLevels": {
                "pgctld": "info", "multipooler": "info", "multiorch": "info",
                "multiadmin": "info", "multigateway": "info"
            },
            "templateDefaults": {},
            "cells": [{"name": "zone-a"}],
            "databases": [{
                "name": "postgres",
                "default": true,
                "tablegroups": [{
                    "name": "default",
                    "default": true,
                    "shards": [{
                        "name": "0-inf",
                        "spec": {
                            "multiorch": {"resources": {}},
                            "pools": {"default": {
                                "type": "readWrite",
                                "storage": {},
                                "postgres": {"resources": {}},
                                "multipooler": {"resources": {}}
                            }}
                        }
                    }]
                }]
            }],
            "pvcDeletionPolicy": {"whenDeleted": "Retain", "whenScaled": "Delete"},
            "backup": {
                "type": "filesystem",
                "filesystem": {"path": "/backups", "storage": {"size": "10Gi"}}
            },
            "topologyPruning": {"enabled": true},
            "durabilityPolicy": "AT_LEAST_2"
        })
    );
}

#[test]
fn set_values_are_kept_by_the_defaulting_pass() {
    let mut spec = one_cell();
    spec.images.postgres = "registry/pg:1".into();
    spec.durability_policy = "MULTI_CELL_AT_LEAST_2".to_owned();
    spec.topology_pruning = Some(TopologyPruningConfig {
        enabled: Some(false),
    });
    spec.backup = Some(BackupConfig {
        type_: BackupType::S3,
        s3: Some(S3BackupConfig {
            bucket: "b".to_owned(),
            region: "r".to_owned(),
            ..S3BackupConfig::default()
        }),
        ..BackupConfig::default()
    });
    let before = spec.clone();
    populate_cluster_defaults(&mut spec, &NamespaceTemplates::empty()).expect("defaults");
    assert_eq!(
        (
            spec.images.postgres.as_str(),
            spec.durability_policy.as_str(),
            &spec.topology_pruning,
            &spec.backup
        ),
        (
            "registry/pg:1",
            "MULTI_CELL_AT_LEAST_2",
            &before.topology_pruning,
            &before.backup
        )
    );
}

#[test]
fn a_partial_cluster_pvc_policy_is_completed_with_the_built_ins() {
    let mut spec = one_cell();
    spec.pvc_deletion_policy = Some(PvcDeletionPolicy {
        when_deleted: Some(Delete),
        when_scaled: None,
    });
    populate_cluster_defaults(&mut spec, &NamespaceTemplates::empty()).expect("defaults");
    assert_eq!(
        spec.pvc_deletion_policy,
        Some(PvcDeletionPolicy {
            when_deleted: Some(Delete),
            when_scaled: Some(Delete)
        })
    );
}

#[test]
fn no_default_pool_is_injected_when_a_shard_template_applies() {
    // Fix 6: the `default` ShardTemplate is looked up in the source given, the cluster's
    // namespace.
    let with_default =
        NamespaceTemplates::empty().with_shard("default", ShardTemplateSpec::default());
    let mut spec = one_cell();
    assert_eq!(
        populate_cluster_defaults(&mut spec, &with_default).expect("defaults"),
        Vec::<DefaultingDecision>::new()
    );
    let shard = &spec.databases[0].tablegroups[0].shards[0];
    assert_eq!(
        json_of(shard),
        json!({"name": "0-inf", "spec": {"multiorch": {"resources": {}}}})
    );

    let mut spec = one_cell();
    spec.template_defaults.shard_template = "mine".into();
    assert_eq!(
        populate_cluster_defaults(&mut spec, &NamespaceTemplates::empty()).expect("defaults"),
        Vec::<DefaultingDecision>::new()
    );
}

#[test]
fn a_cluster_without_cells_gets_a_shard_without_spec() {
    let mut spec = MultigresClusterSpec::default();
    populate_cluster_defaults(&mut spec, &NamespaceTemplates::empty()).expect("defaults");
    assert_eq!(
        json_of(&spec.databases),
        json!([{"name": "postgres", "default": true, "tablegroups": [
            {"name": "default", "default": true, "shards": [{"name": "0-inf"}]}
        ]}])
    );
}

#[test]
fn with_no_templates_the_webhook_makes_everything_explicit_but_cells() {
    let mut spec = one_cell();
    materialize_defaults(&mut spec, &NamespaceTemplates::empty()).expect("defaults");
    let resources = |cpu: &str, memory: &str, limit: &str| json!({"limits": {"memory": limit}, "requests": {"cpu": cpu, "memory": memory}});
    assert_eq!(
        json_of(&spec.global_topo_server),
        json!({"etcd": {
            "image": "gcr.io/etcd-development/etcd:v3.6.7",
            "replicas": 3,
            "storage": {"size": "1Gi"},
            "resources": resources("100m", "256Mi", "512Mi"),
            "rootPath": "/multigres/global"
        }})
    );
    assert_eq!(
        json_of(&spec.multiadmin),
        json!({"spec": {"replicas": 1, "resources": resources("100m", "128Mi", "256Mi")}})
    );
    assert_eq!(
        json_of(&spec.multiadmin_web),
        json!({"spec": {"replicas": 1, "resources": resources("50m", "64Mi", "128Mi")}})
    );
    assert_eq!(
        json_of(&spec.cells),
        json!([{"name": "zone-a", "spec": {"multigateway": {
            "replicas": 1, "resources": resources("100m", "128Mi", "256Mi")
        }}}])
    );
    assert_eq!(
        json_of(&spec.databases[0].tablegroups[0].shards),
        json!([{
            "name": "0-inf",
            "spec": {
                "multiorch": {"replicas": 1, "resources": resources("50m", "64Mi", "128Mi")},
                "pools": {"default": {
                    "type": "readWrite",
                    "replicasPerCell": 3,
                    "storage": {"size": "1Gi"},
                    "postgres": {"resources": resources("100m", "256Mi", "512Mi")},
                    "multipooler": {"resources": resources("100m", "128Mi", "256Mi")}
                }}
            },
            "backup": {
                "type": "filesystem",
                "filesystem": {"path": "/backups", "storage": {"size": "10Gi"}}
            }
        }])
    );
}

#[test]
fn namespace_default_templates_are_promoted_and_keep_components_dynamic() {
    let templates = NamespaceTemplates::empty()
        .with_core("default", CoreTemplateSpec::default())
        .with_cell("default", CellTemplateSpec::default());
    let mut spec = one_cell();
    materialize_defaults(&mut spec, &templates).expect("defaults");
    assert_eq!(
        json_of(&spec.template_defaults),
        json!({"coreTemplate": "default", "cellTemplate": "default"})
    );
    assert_eq!(
        (
            &spec.global_topo_server,
            &spec.multiadmin,
            &spec.multiadmin_web,
            &spec.cells[0].spec
        ),
        (&None, &None, &None, &None)
    );
    // No ShardTemplate: the shard is materialised.
    assert!(spec.databases[0].tablegroups[0].shards[0].backup.is_some());
}

#[test]
fn a_component_template_ref_keeps_only_that_component_dynamic() {
    let templates = NamespaceTemplates::empty().with_core("admin", CoreTemplateSpec::default());
    let mut spec = one_cell();
    spec.multiadmin = Some(MultiAdminConfig {
        template_ref: "admin".into(),
        spec: None,
    });
    materialize_defaults(&mut spec, &templates).expect("defaults");
    assert_eq!(json_of(&spec.multiadmin), json!({"templateRef": "admin"}));
    assert!(
        spec.global_topo_server
            .as_ref()
            .is_some_and(|t| t.etcd.is_some())
    );
    assert!(
        spec.multiadmin_web
            .as_ref()
            .is_some_and(|a| a.spec.is_some())
    );
}

#[test]
fn overrides_without_a_template_are_left_as_written() {
    // Fix 7: writing `spec` beside `overrides` would fail CEL rules #4 and #19.
    let mut spec = one_cell();
    let cell_overrides = CellOverrides {
        multigateway: Some(StatelessSpec {
            replicas: Some(2),
            ..StatelessSpec::default()
        }),
        multigateway_placement: None,
    };
    spec.cells[0].overrides = Some(cell_overrides.clone());
    let shard_overrides = ShardOverrides {
        pools: BTreeMap::from([(
            PoolName::new("main"),
            PoolSpec {
                replicas_per_cell: Some(1),
                ..PoolSpec::default()
            },
        )]),
        ..ShardOverrides::default()
    };
    spec.databases = vec![DatabaseConfig {
        name: "postgres".into(),
        default: true,
        tablegroups: vec![TableGroupConfig {
            name: "default".into(),
            default: true,
            shards: vec![ShardConfig {
                name: "0-inf".into(),
                overrides: Some(shard_overrides.clone()),
                ..ShardConfig::default()
            }],
            ..TableGroupConfig::default()
        }],
        ..DatabaseConfig::default()
    }];
    materialize_defaults(&mut spec, &NamespaceTemplates::empty()).expect("defaults");
    let shard = &spec.databases[0].tablegroups[0].shards[0];
    assert_eq!(
        (
            &spec.cells[0].spec,
            &spec.cells[0].overrides,
            &shard.spec,
            &shard.overrides,
            &shard.backup
        ),
        (
            &None,
            &Some(cell_overrides),
            &None,
            &Some(shard_overrides),
            &None
        )
    );
    // The controller still applies the overrides over the built-ins.
    let resolved =
        resolve_cluster(&name(), "ns", &spec, &NamespaceTemplates::empty()).expect("resolves");
    let pools = &resolved.table_groups[0].shards[0].pools;
    assert_eq!(
        (
            resolved.cells[0].multigateway.replicas,
            pools.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
            pools[&PoolName::new("main")].replicas_per_cell,
        ),
        (Some(2), vec!["main"], Some(1))
    );
}

#[test]
fn an_external_topology_server_replaces_the_template_etcd() {
    let templates = NamespaceTemplates::empty().with_core(
        "default",
        CoreTemplateSpec {
            global_topo_server: Some(multigres_api::v1alpha1::TopoServerSpec {
                etcd: Some(EtcdSpec {
                    replicas: Some(5),
                    ..EtcdSpec::default()
                }),
                pvc_deletion_policy: None,
            }),
            ..CoreTemplateSpec::default()
        },
    );
    let mut spec = one_cell();
    spec.global_topo_server = Some(GlobalTopoServerSpec {
        external: Some(ExternalTopoServerSpec {
            endpoints: vec!["https://etcd-a:2379".into(), "https://etcd-b:2379".into()],
            ..ExternalTopoServerSpec::default()
        }),
        ..GlobalTopoServerSpec::default()
    });
    let resolved = resolve_cluster(&name(), "ns", &spec, &templates).expect("resolves");
    assert_eq!(
        (
            json_of(&resolved.global_topo_server),
            &resolved.topo_server,
            json_of(&resolved.global_topo_ref)
        ),
        (
            json!({"external": {
                "endpoints": ["https://etcd-a:2379", "https://etcd-b:2379"],
                "implementation": "etcd",
                "rootPath": "/multigres/global"
            }}),
            &None,
            json!({
                "address": "https://etcd-a:2379",
                "rootPath": "/multigres/global",
                "implementation": "etcd"
            })
        )
    );
}

#[test]
fn shard_cells_default_to_every_cell_sorted_and_pools_are_created_on_them() {
    let cells: Vec<_> = ["zone-c", "zone-a", "zone-b"].map(Into::into).to_vec();
    let resolved = resolve_shard(
        &ShardConfig {
            name: "0-inf".into(),
            ..ShardConfig::default()
        },
        &cells,
        None,
        &NamespaceTemplates::empty(),
    )
    .expect("resolves");
    let sorted: Vec<_> = ["zone-a", "zone-b", "zone-c"].map(Into::into).to_vec();
    assert_eq!(resolved.multiorch.cells, sorted);
    assert_eq!(
        resolved
            .pools
            .keys()
            .map(|k| k.as_str())
            .collect::<Vec<_>>(),
        vec!["default"]
    );
    let pool = &resolved.pools[&PoolName::new("default")];
    assert_eq!(
        (pool.type_, &pool.cells, pool.replicas_per_cell),
        (Some(PoolType::ReadWrite), &sorted, Some(3))
    );
}

#[test]
fn backup_is_inherited_and_merged_at_the_shard() {
    let inherited = BackupConfig {
        type_: BackupType::Filesystem,
        filesystem: Some(FilesystemBackupConfig {
            path: "/tg".to_owned(),
            storage: StorageSpec {
                size: "20Gi".to_owned(),
                ..StorageSpec::default()
            },
        }),
        ..BackupConfig::default()
    };
    let own = BackupConfig {
        filesystem: Some(FilesystemBackupConfig {
            storage: StorageSpec {
                class: "nfs".to_owned(),
                access_modes: vec!["ReadWriteMany".to_owned()],
                ..StorageSpec::default()
            },
            ..FilesystemBackupConfig::default()
        }),
        ..BackupConfig::default()
    };
    let shard = ShardConfig {
        name: "0-inf".into(),
        backup: Some(own),
        ..ShardConfig::default()
    };
    let resolved =
        resolve_shard(&shard, &[], Some(&inherited), &NamespaceTemplates::empty()).expect("ok");
    assert_eq!(
        json_of(&resolved.backup),
        json!({"type": "filesystem", "filesystem": {"path": "/tg", "storage": {
            "size": "20Gi", "class": "nfs", "accessModes": ["ReadWriteMany"]
        }}})
    );
}

/// Fix 4 through the whole chain: cluster → table group → shard (template) → pool, each level
/// setting one field only. An unset `whenScaled` inherits; an unset `whenDeleted` in a policy
/// that is present is `Retain`, as Go's API server would store it, so the table group's `Delete`
/// does not reach the shard whose template policy leaves `whenDeleted` out.
#[test]
fn pvc_policy_when_scaled_inherits_down_to_the_pool_and_when_deleted_is_never_less_safe() {
    let partial = |d, s| PvcDeletionPolicy {
        when_deleted: d,
        when_scaled: s,
    };
    let templates = NamespaceTemplates::empty().with_shard(
        "std",
        ShardTemplateSpec {
            pvc_deletion_policy: Some(partial(None, Some(Retain))),
            pools: BTreeMap::from([
                (PoolName::new("inherit"), PoolSpec::default()),
                (
                    PoolName::new("own"),
                    PoolSpec {
                        pvc_deletion_policy: Some(partial(None, Some(Delete))),
                        ..PoolSpec::default()
                    },
                ),
            ]),
            ..ShardTemplateSpec::default()
        },
    );
    let mut spec = one_cell();
    spec.pvc_deletion_policy = Some(partial(Some(Retain), Some(Delete)));
    spec.databases = vec![DatabaseConfig {
        name: "postgres".into(),
        default: true,
        tablegroups: vec![TableGroupConfig {
            name: "default".into(),
            default: true,
            pvc_deletion_policy: Some(partial(Some(Delete), None)),
            shards: vec![ShardConfig {
                name: "0-inf".into(),
                shard_template: "std".into(),
                ..ShardConfig::default()
            }],
            ..TableGroupConfig::default()
        }],
        ..DatabaseConfig::default()
    }];
    let resolved = resolve_cluster(&name(), "ns", &spec, &templates).expect("resolves");
    let table_group = &resolved.table_groups[0];
    assert_eq!(
        table_group.pvc_deletion_policy,
        Some(partial(Some(Delete), Some(Delete)))
    );
    let shard = shard_spec(table_group, &table_group.shards[0]);
    // The template's whenScaled wins over the table group's; its policy says nothing about
    // whenDeleted, which Go stores as Retain.
    assert_eq!(
        shard.pvc_deletion_policy,
        Some(partial(Some(Retain), Some(Retain)))
    );
    let effective =
        |pool: &str| effective_pool_pvc_policy(&shard.pools[&PoolName::new(pool)], &shard);
    assert_eq!(
        (effective("inherit"), effective("own")),
        (
            EffectivePvcPolicy {
                when_deleted: Retain,
                when_scaled: Retain
            },
            EffectivePvcPolicy {
                when_deleted: Retain,
                when_scaled: Delete
            }
        )
    );
}

#[test]
fn children_inherit_cluster_wide_settings() {
    let mut spec = MultigresClusterSpec {
        cells: vec![
            CellConfig {
                name: "east".into(),
                zone: "us-east-1a".into(),
                ..CellConfig::default()
            },
            CellConfig {
                name: "west".into(),
                region: "us-west-2".into(),
                ..CellConfig::default()
            },
            CellConfig {
                name: "lab".into(),
                ..CellConfig::default()
            },
        ],
        topology_pruning: Some(TopologyPruningConfig {
            enabled: Some(false),
        }),
        cert_common_name: "db.example.com".to_owned(),
        postgres_superuser: "admin".to_owned(),
        ..MultigresClusterSpec::default()
    };
    spec.databases = vec![DatabaseConfig {
        name: "postgres".into(),
        default: true,
        durability_policy: "MULTI_CELL_AT_LEAST_2".to_owned(),
        ..DatabaseConfig::default()
    }];
    let resolved =
        resolve_cluster(&name(), "ns", &spec, &NamespaceTemplates::empty()).expect("resolves");
    let cell = &resolved.cells[1];
    assert_eq!(
        (
            json_of(&cell.all_cells),
            json_of(&cell.topology_reconciliation),
            cell.cert_common_name.as_str(),
            cell.region.as_str(),
        ),
        (
            json!(["east", "west", "lab"]),
            json!({"registerCell": true, "prunePoolers": false}),
            "db.example.com",
            "us-west-2"
        )
    );
    let table_group = &resolved.table_groups[0];
    assert_eq!(
        (
            json_of(&table_group.cell_topology_labels),
            table_group.durability_policy.as_str(),
            table_group.postgres_superuser.as_str(),
        ),
        (
            json!({
                "east": {"topology.kubernetes.io/zone": "us-east-1a"},
                "west": {"topology.kubernetes.io/region": "us-west-2"}
            }),
            "MULTI_CELL_AT_LEAST_2",
            "admin"
        )
    );
    // 3 replicas per cell in each of the 3 cells.
    let shard = shard_spec(table_group, &table_group.shards[0]);
    assert_eq!(shard.replicas, Some(9));
}

#[test]
fn resolved_templates_list_explicit_references_only() {
    let source = NamespaceTemplates::empty()
        .with_core("core-b", CoreTemplateSpec::default())
        .with_core("core-a", CoreTemplateSpec::default())
        .with_cell("default", CellTemplateSpec::default())
        .with_shard("s", ShardTemplateSpec::default());
    let mut spec = one_cell();
    spec.template_defaults.core_template = "core-b".into();
    spec.multiadmin = Some(MultiAdminConfig {
        template_ref: "core-a".into(),
        spec: None,
    });
    spec.multiadmin_web = Some(MultiAdminConfig {
        template_ref: "core-b".into(),
        spec: None,
    });
    spec.databases = vec![DatabaseConfig {
        name: "postgres".into(),
        default: true,
        tablegroups: vec![TableGroupConfig {
            name: "default".into(),
            default: true,
            shards: vec![ShardConfig {
                name: "0-inf".into(),
                shard_template: "s".into(),
                ..ShardConfig::default()
            }],
            ..TableGroupConfig::default()
        }],
        ..DatabaseConfig::default()
    }];
    let resolved = resolve_cluster(&name(), "ns", &spec, &source).expect("resolves");
    assert_eq!(
        json_of(&resolved.resolved_templates),
        json!({"coreTemplates": ["core-a", "core-b"], "shardTemplates": ["s"]})
    );
    assert_eq!(
        json_of(&resolved.tracking_labels()),
        json!({
            "multigres.com/uses-core-template": "true",
            "multigres.com/uses-shard-template": "true"
        })
    );
}

/// A source that fails every lookup, like an API server refusing access.
struct Unreachable;

impl TemplateSource for Unreachable {
    fn core_template(
        &self,
        name: &str,
    ) -> Result<Option<CoreTemplateSpec>, multigres_api::resolver::LookupError> {
        Err(failure(multigres_api::resolver::TemplateKind::Core, name))
    }
    fn cell_template(
        &self,
        name: &str,
    ) -> Result<Option<CellTemplateSpec>, multigres_api::resolver::LookupError> {
        Err(failure(multigres_api::resolver::TemplateKind::Cell, name))
    }
    fn shard_template(
        &self,
        name: &str,
    ) -> Result<Option<ShardTemplateSpec>, multigres_api::resolver::LookupError> {
        Err(failure(multigres_api::resolver::TemplateKind::Shard, name))
    }
}

fn failure(
    kind: multigres_api::resolver::TemplateKind,
    name: &str,
) -> multigres_api::resolver::LookupError {
    multigres_api::resolver::LookupError {
        kind,
        name: name.to_owned(),
        source: "connection refused".into(),
    }
}

#[test]
fn lookup_failures_are_reported_as_such() {
    let error = resolve_cluster(&name(), "ns", &one_cell(), &Unreachable).expect_err("fails");
    assert_eq!(
        multigres_api::resolver::error_chain_text(&error),
        "failed to check for implicit shard template: failed to get ShardTemplate 'default': \
         connection refused"
    );
    assert!(error.lookup_failure().is_some());
}
