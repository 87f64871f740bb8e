//! The 4-level chain (spec-api.md §10.1), component by component: each level wins once, with
//! the levels above it absent. Level 1 is the component's own reference, level 2 the cluster's
//! `templateDefaults`, level 3 the namespace's `default` template, level 4 the built-in default.
//! Each level's template carries a different replica count, so the winner is visible.

use multigres_api::naming::ClusterName;
use multigres_api::resolver::{NamespaceTemplates, ResolvedCluster, resolve_cluster};
use multigres_api::v1alpha1::{
    CellConfig, CellTemplateSpec, CoreTemplateSpec, DatabaseConfig, EtcdSpec, GlobalTopoServerSpec,
    MultiAdminConfig, MultiOrchSpec, MultigresClusterSpec, ShardConfig, ShardTemplateSpec,
    StatelessSpec, TableGroupConfig, TopoServerSpec,
};
use pretty_assertions::assert_eq;

const EXPLICIT: &str = "level1-explicit";
const CLUSTER_WIDE: &str = "level2-cluster";

/// Which levels a case provides.
#[derive(Debug, Clone, Copy)]
struct Levels {
    explicit: bool,
    cluster_wide: bool,
    namespace_default: bool,
}

/// Cases where level N is the highest level present, N = 1..=4, and every lower level is present
/// too (so the winner beats them all).
const CASES: [(Levels, u8); 4] = [
    (
        Levels {
            explicit: true,
            cluster_wide: true,
            namespace_default: true,
        },
        1,
    ),
    (
        Levels {
            explicit: false,
            cluster_wide: true,
            namespace_default: true,
        },
        2,
    ),
    (
        Levels {
            explicit: false,
            cluster_wide: false,
            namespace_default: true,
        },
        3,
    ),
    (
        Levels {
            explicit: false,
            cluster_wide: false,
            namespace_default: false,
        },
        4,
    ),
];

/// Replica count a level's templates give: level 1 → 7, level 2 → 5, level 3 → 9 (all odd, as
/// etcd requires). Level 4 has no template.
fn replicas_of(level: u8) -> i32 {
    match level {
        1 => 7,
        2 => 5,
        _ => 9,
    }
}

fn stateless(replicas: i32) -> StatelessSpec {
    StatelessSpec {
        replicas: Some(replicas),
        ..StatelessSpec::default()
    }
}

fn core(replicas: i32) -> CoreTemplateSpec {
    CoreTemplateSpec {
        global_topo_server: Some(TopoServerSpec {
            etcd: Some(EtcdSpec {
                replicas: Some(replicas),
                ..EtcdSpec::default()
            }),
            pvc_deletion_policy: None,
        }),
        multiadmin: Some(stateless(replicas)),
        multiadmin_web: Some(stateless(replicas)),
    }
}

fn cell(replicas: i32) -> CellTemplateSpec {
    CellTemplateSpec {
        multigateway: Some(stateless(replicas)),
        ..CellTemplateSpec::default()
    }
}

fn shard(replicas: i32) -> ShardTemplateSpec {
    ShardTemplateSpec {
        multiorch: Some(MultiOrchSpec {
            stateless: stateless(replicas),
            ..MultiOrchSpec::default()
        }),
        ..ShardTemplateSpec::default()
    }
}

/// Every template of every level, whatever the case: the levels a case lacks are simply not
/// referenced (levels 1–2) or absent (level 3).
fn templates(levels: Levels) -> NamespaceTemplates {
    let mut templates = NamespaceTemplates::empty()
        .with_core(EXPLICIT, core(replicas_of(1)))
        .with_core(CLUSTER_WIDE, core(replicas_of(2)))
        .with_cell(EXPLICIT, cell(replicas_of(1)))
        .with_cell(CLUSTER_WIDE, cell(replicas_of(2)))
        .with_shard(EXPLICIT, shard(replicas_of(1)))
        .with_shard(CLUSTER_WIDE, shard(replicas_of(2)));
    if levels.namespace_default {
        templates = templates
            .with_core("default", core(replicas_of(3)))
            .with_cell("default", cell(replicas_of(3)))
            .with_shard("default", shard(replicas_of(3)));
    }
    templates
}

fn cluster(levels: Levels) -> MultigresClusterSpec {
    let explicit = |on: bool| {
        if on {
            EXPLICIT.into()
        } else {
            Default::default()
        }
    };
    let mut spec = MultigresClusterSpec {
        global_topo_server: levels.explicit.then(|| GlobalTopoServerSpec {
            template_ref: EXPLICIT.into(),
            ..GlobalTopoServerSpec::default()
        }),
        multiadmin: levels.explicit.then(|| MultiAdminConfig {
            template_ref: EXPLICIT.into(),
            spec: None,
        }),
        multiadmin_web: levels.explicit.then(|| MultiAdminConfig {
            template_ref: EXPLICIT.into(),
            spec: None,
        }),
        cells: vec![CellConfig {
            name: "zone-a".into(),
            cell_template: explicit(levels.explicit),
            ..CellConfig::default()
        }],
        databases: vec![DatabaseConfig {
            name: "postgres".into(),
            default: true,
            tablegroups: vec![TableGroupConfig {
                name: "default".into(),
                default: true,
                shards: vec![ShardConfig {
                    name: "0-inf".into(),
                    shard_template: explicit(levels.explicit),
                    ..ShardConfig::default()
                }],
                ..TableGroupConfig::default()
            }],
            ..DatabaseConfig::default()
        }],
        ..MultigresClusterSpec::default()
    };
    if levels.cluster_wide {
        spec.template_defaults.core_template = CLUSTER_WIDE.into();
        spec.template_defaults.cell_template = CLUSTER_WIDE.into();
        spec.template_defaults.shard_template = CLUSTER_WIDE.into();
    }
    spec
}

fn resolve(levels: Levels) -> ResolvedCluster {
    let name = ClusterName::parse("chain").expect("valid name");
    resolve_cluster(&name, "ns", &cluster(levels), &templates(levels)).expect("resolves")
}

/// `(component, resolved replicas)` of every templated component.
fn replicas(resolved: &ResolvedCluster) -> Vec<(&'static str, Option<i32>)> {
    vec![
        (
            "globalTopoServer.etcd",
            resolved
                .global_topo_server
                .etcd
                .as_ref()
                .and_then(|e| e.replicas),
        ),
        ("multiadmin", resolved.multiadmin.replicas),
        ("multiadmin-web", resolved.multiadmin_web.replicas),
        ("cell multigateway", resolved.cells[0].multigateway.replicas),
        (
            "shard multiorch",
            resolved.table_groups[0].shards[0]
                .multiorch
                .stateless
                .replicas,
        ),
    ]
}

#[test]
fn each_level_wins_for_every_component_kind() {
    for (levels, winner) in CASES {
        let expected = if winner == 4 {
            // The built-in defaults: etcd 3, every stateless component 1.
            vec![
                ("globalTopoServer.etcd", Some(3)),
                ("multiadmin", Some(1)),
                ("multiadmin-web", Some(1)),
                ("cell multigateway", Some(1)),
                ("shard multiorch", Some(1)),
            ]
        } else {
            let r = Some(replicas_of(winner));
            vec![
                ("globalTopoServer.etcd", r),
                ("multiadmin", r),
                ("multiadmin-web", r),
                ("cell multigateway", r),
                ("shard multiorch", r),
            ]
        };
        assert_eq!(replicas(&resolve(levels)), expected, "level {winner} wins");
    }
}

#[test]
fn an_explicit_template_that_does_not_exist_is_an_error_naming_component_and_template() {
    let mut spec = cluster(CASES[3].0);
    spec.databases[0].tablegroups[0].shards[0].shard_template = "missing".into();
    let name = ClusterName::parse("chain").expect("valid name");
    let error = resolve_cluster(&name, "ns", &spec, &NamespaceTemplates::empty())
        .expect_err("missing template");
    assert_eq!(
        multigres_api::resolver::error_chain_text(&error),
        "failed to resolve shard '0-inf': referenced ShardTemplate 'missing' not found: \
         shardtemplates.multigres.com \"missing\" not found"
    );
}

#[test]
fn an_explicit_reference_to_a_missing_default_falls_back_to_the_built_ins() {
    // Go tolerates `default` named explicitly and absent at resolve time (§10.4); only the
    // validating webhook's integrity check rejects it.
    let mut spec = cluster(CASES[3].0);
    spec.cells[0].cell_template = "default".into();
    let name = ClusterName::parse("chain").expect("valid name");
    let resolved =
        resolve_cluster(&name, "ns", &spec, &NamespaceTemplates::empty()).expect("resolves");
    assert_eq!(resolved.cells[0].multigateway.replicas, Some(1));
}

#[test]
fn inline_and_overrides_beat_the_template_field_by_field() {
    let levels = CASES[0].0;
    let mut spec = cluster(levels);
    // Overrides on the cell: replicas from the override, annotations unioned.
    spec.cells[0].overrides = Some(multigres_api::v1alpha1::CellOverrides {
        multigateway: Some(stateless(11)),
        multigateway_placement: None,
    });
    // Inline etcd over the cluster-wide template's (CEL forbids an inline etcd beside a
    // templateRef): the image from inline, replicas from the template.
    spec.global_topo_server = Some(GlobalTopoServerSpec {
        etcd: Some(EtcdSpec {
            image: "etcd:inline".into(),
            ..EtcdSpec::default()
        }),
        ..GlobalTopoServerSpec::default()
    });
    // Inline multiadmin over the cluster-wide template's.
    spec.multiadmin = Some(MultiAdminConfig {
        template_ref: Default::default(),
        spec: Some(stateless(13)),
    });
    let name = ClusterName::parse("chain").expect("valid name");
    let resolved = resolve_cluster(&name, "ns", &spec, &templates(levels)).expect("resolves");
    let etcd = resolved.global_topo_server.etcd.expect("managed etcd");
    assert_eq!(
        (
            resolved.cells[0].multigateway.replicas,
            etcd.image.as_str(),
            etcd.replicas,
            resolved.multiadmin.replicas,
        ),
        (Some(11), "etcd:inline", Some(replicas_of(2)), Some(13))
    );
}

mod precedence {
    //! The layering of one component as a property: for any combination of template,
    //! overrides and inline values, a scalar comes from the highest layer that sets it (else the
    //! built-in), and pod labels are the union of all layers, the highest winning per key.

    use std::collections::BTreeMap;

    use multigres_api::resolver::{NamespaceTemplates, resolve_cell};
    use multigres_api::v1alpha1::{
        CellConfig, CellInlineSpec, CellOverrides, CellTemplateSpec, StatelessSpec,
    };
    use proptest::prelude::*;

    fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
        proptest::collection::btree_map("[a-c]", "[x-z]", 0..3)
    }

    fn layer() -> impl Strategy<Value = Option<StatelessSpec>> {
        proptest::option::of((proptest::option::of(0..128i32), labels()).prop_map(
            |(replicas, pod_labels)| StatelessSpec {
                replicas,
                pod_labels,
                ..StatelessSpec::default()
            },
        ))
    }

    proptest! {
        #[test]
        fn the_highest_layer_that_sets_a_field_wins(
            template in layer(),
            overrides in layer(),
            inline in layer(),
        ) {
            // CEL forbids `spec` beside `overrides`; the resolver still layers them (inline
            // last), which is what this pins.
            let templates = NamespaceTemplates::empty().with_cell(
                "t",
                CellTemplateSpec {
                    multigateway: template.clone(),
                    ..CellTemplateSpec::default()
                },
            );
            let cell = CellConfig {
                name: "c".into(),
                cell_template: "t".into(),
                overrides: overrides.clone().map(|gateway| CellOverrides {
                    multigateway: Some(gateway),
                    multigateway_placement: None,
                }),
                spec: inline.clone().map(|multigateway| CellInlineSpec {
                    multigateway,
                    ..CellInlineSpec::default()
                }),
                ..CellConfig::default()
            };
            let resolved = resolve_cell(&cell, &templates).expect("template exists");

            let layers = [&template, &overrides, &inline];
            let expected_replicas = layers
                .iter()
                .rev()
                .find_map(|layer| layer.as_ref().and_then(|l| l.replicas))
                .unwrap_or(1);
            let mut expected_labels = BTreeMap::new();
            for layer in layers.iter().filter_map(|l| l.as_ref()) {
                expected_labels.extend(layer.pod_labels.clone());
            }
            prop_assert_eq!(resolved.multigateway.replicas, Some(expected_replicas));
            prop_assert_eq!(resolved.multigateway.pod_labels, expected_labels);
        }
    }
}
