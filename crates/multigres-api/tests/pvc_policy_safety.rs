//! Deliberate fix 4 may only make a volume safer than the Go operator leaves it, never less
//! (../shared/spec/README.md, docs/compatibility.md "`pvcDeletionPolicy` is never less safe than
//! Go"). Random clusters and templates put `pvcDeletionPolicy` objects with random partial fields
//! at every level (cluster, global topo server, etcd, table group, shard, pools inline and in
//! overrides, the CoreTemplate's topo server and etcd, the ShardTemplate and its pools); the
//! CoreTemplate and ShardTemplate are used through a reference, `templateDefaults`, the
//! namespace `default`, or not at all. For every volume (the global etcd, the shard's backups,
//! each pool's data) and both fields, ours is `Retain` wherever the Go operator's is.
//!
//! The Go operator is modelled here from spec-api.md §2.5, §2.18, §10.5, §10.7 and §10.9, not from
//! our resolver: the API server's CRD defaults (`whenDeleted: Retain`, `whenScaled: Delete`) are
//! written into every policy object that is present, then an inline section, an override or a
//! user section replaces the template's policy object whole, and `MergePVCDeletionPolicy` takes
//! the child's fields over the parent's along each chain.

use std::collections::BTreeMap;

use multigres_api::naming::ClusterName;
use multigres_api::resolver::{
    NamespaceTemplates, effective_pool_pvc_policy, materialize_defaults, resolve_cluster,
    shard_spec,
};
use multigres_api::v1alpha1::{
    CoreTemplateSpec, MultigresClusterSpec, PvcDeletionPolicy, PvcRetentionPolicyType,
    ShardTemplateSpec,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// A policy object as written: absent, or present with each field set or not.
type Written = Option<(Option<bool>, Option<bool>)>;

/// Whether a volume is kept: `(whenDeleted, whenScaled)`, `true` for `Retain`.
type Kept = (bool, bool);

const POOLS: [&str; 2] = ["main", "extra"];

/// How a component finds its template.
#[derive(Clone, Copy, Debug)]
enum TemplateUse {
    /// No template of that kind exists.
    None,
    /// The component names template `std`.
    Reference,
    /// `templateDefaults` names template `std`.
    Defaults,
    /// A template named `default` exists in the namespace and nothing names it.
    ImplicitDefault,
}

/// Where the cluster's `globalTopoServer` takes its server from (CEL rule 11 allows one).
#[derive(Clone, Copy, Debug)]
enum UserTopo {
    Absent,
    Etcd,
    TemplateRef,
}

#[derive(Clone, Debug)]
struct Case {
    cluster: Written,
    user_topo: UserTopo,
    user_topo_policy: Written,
    user_etcd_policy: Written,
    core_use: TemplateUse,
    core_topo: bool,
    core_topo_policy: Written,
    core_etcd: bool,
    core_etcd_policy: Written,
    table_group: Written,
    shard_use: TemplateUse,
    template_policy: Written,
    template_pools: [Option<Written>; 2],
    /// 0: neither, 1: an inline `spec`, 2: `overrides` (CEL rule 19 forbids both).
    shard_section: u8,
    inline_policy: Written,
    section_pools: [Option<Written>; 2],
}

fn written() -> impl Strategy<Value = Written> {
    prop::option::of((
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
    ))
}

fn template_use() -> impl Strategy<Value = TemplateUse> {
    prop_oneof![
        Just(TemplateUse::None),
        Just(TemplateUse::Reference),
        Just(TemplateUse::Defaults),
        Just(TemplateUse::ImplicitDefault),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let topo = (
        written(),
        prop_oneof![
            Just(UserTopo::Absent),
            Just(UserTopo::Etcd),
            Just(UserTopo::TemplateRef)
        ],
        written(),
        written(),
        template_use(),
        any::<bool>(),
        written(),
        any::<bool>(),
        written(),
    );
    let shard = (
        written(),
        template_use(),
        written(),
        [prop::option::of(written()), prop::option::of(written())],
        0u8..3,
        written(),
        [prop::option::of(written()), prop::option::of(written())],
    );
    (topo, shard).prop_map(
        |(
            (
                cluster,
                user_topo,
                user_topo_policy,
                user_etcd_policy,
                core_use,
                core_topo,
                core_topo_policy,
                core_etcd,
                core_etcd_policy,
            ),
            (
                table_group,
                shard_use,
                template_policy,
                template_pools,
                shard_section,
                inline_policy,
                section_pools,
            ),
        )| Case {
            cluster,
            user_topo,
            user_topo_policy,
            user_etcd_policy,
            // A `templateRef` names CoreTemplate `std`.
            core_use: match (user_topo, core_use) {
                (UserTopo::TemplateRef, _) => TemplateUse::Reference,
                (_, core_use) => core_use,
            },
            core_topo,
            core_topo_policy,
            // CEL rule 12: a CoreTemplate's topo server has an etcd.
            core_etcd: core_etcd || core_topo,
            core_etcd_policy,
            table_group,
            shard_use,
            template_policy,
            template_pools,
            shard_section,
            inline_policy,
            section_pools,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// The Go operator's result, modelled from the spec.

/// A policy object as Go's API server stores it: each missing field gets its CRD default.
fn go_stored(policy: Written) -> Option<Kept> {
    policy.map(|(deleted, scaled)| (deleted.unwrap_or(true), scaled.unwrap_or(false)))
}

/// Go `MergePVCDeletionPolicy(child, parent)` on stored (complete) objects: the child, if any.
fn go_merge(child: Option<Kept>, parent: Option<Kept>) -> Option<Kept> {
    child.or(parent)
}

/// Whether ResolveGlobalTopo reads the CoreTemplate: the section's `templateRef`, else
/// `templateDefaults`, else the namespace `default`.
fn core_template_in_use(case: &Case) -> bool {
    match case.core_use {
        TemplateUse::None => false,
        TemplateUse::Reference => matches!(case.user_topo, UserTopo::TemplateRef),
        TemplateUse::Defaults | TemplateUse::ImplicitDefault => true,
    }
}

fn go_volumes(case: &Case) -> BTreeMap<String, Kept> {
    let mut volumes = BTreeMap::new();
    // The cluster's own object default, then its field defaults.
    let cluster = go_stored(case.cluster).or(Some((true, false)));

    // ResolveGlobalTopo: the template's topo server (policy and etcd), the user's etcd merged
    // over the template's (its policy replacing the template etcd's when set), the user's policy
    // replacing the template topo server's when set. A `templateRef` section carries no etcd.
    let template = core_template_in_use(case) && case.core_topo;
    let mut topo_policy = if template {
        go_stored(case.core_topo_policy)
    } else {
        None
    };
    let mut etcd_policy = if template && case.core_etcd {
        go_stored(case.core_etcd_policy)
    } else {
        None
    };
    if !matches!(case.user_topo, UserTopo::Absent) {
        if matches!(case.user_topo, UserTopo::Etcd) && case.user_etcd_policy.is_some() {
            etcd_policy = go_stored(case.user_etcd_policy);
        }
        if case.user_topo_policy.is_some() {
            topo_policy = go_stored(case.user_topo_policy);
        }
    }
    if let Some(etcd) = go_merge(etcd_policy, go_merge(topo_policy, cluster)) {
        volumes.insert("etcd".to_owned(), etcd);
    }

    // ResolveShard: the template's policy and pools; override pools, then inline pools, merged
    // over them with a set policy replacing the template pool's; the inline policy replacing the
    // template's. Then table group over cluster, shard over table group, pool over shard.
    let shard_template = !matches!(case.shard_use, TemplateUse::None);
    let mut shard_level = if shard_template {
        go_stored(case.template_policy)
    } else {
        None
    };
    let mut pools: BTreeMap<&str, Option<Kept>> = BTreeMap::new();
    if shard_template {
        for (name, pool) in POOLS.iter().zip(&case.template_pools) {
            if let Some(policy) = pool {
                pools.insert(name, go_stored(*policy));
            }
        }
    }
    if case.shard_section != 0 {
        for (name, pool) in POOLS.iter().zip(&case.section_pools) {
            if let Some(policy) = pool {
                let stored = go_stored(*policy);
                let entry = pools.entry(name).or_insert(None);
                if stored.is_some() {
                    *entry = stored;
                }
            }
        }
    }
    if case.shard_section == 1 && case.inline_policy.is_some() {
        shard_level = go_stored(case.inline_policy);
    }
    if pools.is_empty() {
        pools.insert("default", None);
    }
    let table_group = go_merge(go_stored(case.table_group), cluster);
    let shard = go_merge(shard_level, table_group).unwrap_or((true, false));
    volumes.insert("backup".to_owned(), shard);
    for (name, pool) in pools {
        volumes.insert(
            format!("pool {name}"),
            go_merge(pool, Some(shard)).unwrap_or((true, false)),
        );
    }
    volumes
}

// ---------------------------------------------------------------------------------------------
// Ours: the case written as objects, through the webhook's defaulting and the resolver.

fn policy_json(policy: Written) -> Option<Value> {
    policy.map(|(deleted, scaled)| {
        let word = |retain: bool| if retain { "Retain" } else { "Delete" };
        let mut object = Map::new();
        if let Some(deleted) = deleted {
            object.insert("whenDeleted".to_owned(), json!(word(deleted)));
        }
        if let Some(scaled) = scaled {
            object.insert("whenScaled".to_owned(), json!(word(scaled)));
        }
        Value::Object(object)
    })
}

/// `object` with `key` set to the policy when it is present.
fn with_policy(mut object: Value, policy: Written) -> Value {
    if let Some(policy) = policy_json(policy) {
        object["pvcDeletionPolicy"] = policy;
    }
    object
}

fn pools_json(pools: &[Option<Written>; 2]) -> Value {
    let mut object = Map::new();
    for (name, pool) in POOLS.iter().zip(pools) {
        if let Some(policy) = pool {
            object.insert((*name).to_owned(), with_policy(json!({}), *policy));
        }
    }
    Value::Object(object)
}

fn template_name(template_use: TemplateUse) -> &'static str {
    match template_use {
        TemplateUse::ImplicitDefault => "default",
        _ => "std",
    }
}

fn ours(case: &Case) -> BTreeMap<String, Kept> {
    let mut templates = NamespaceTemplates::empty();
    if !matches!(case.core_use, TemplateUse::None) {
        let mut spec = json!({});
        if case.core_topo {
            let mut topo = with_policy(json!({}), case.core_topo_policy);
            if case.core_etcd {
                topo["etcd"] = with_policy(json!({}), case.core_etcd_policy);
            }
            spec["globalTopoServer"] = topo;
        }
        let spec: CoreTemplateSpec = serde_json::from_value(spec).expect("a CoreTemplate spec");
        templates
            .core
            .insert(template_name(case.core_use).to_owned(), spec);
    }
    if !matches!(case.shard_use, TemplateUse::None) {
        let spec = with_policy(
            json!({"pools": pools_json(&case.template_pools)}),
            case.template_policy,
        );
        let spec: ShardTemplateSpec = serde_json::from_value(spec).expect("a ShardTemplate spec");
        templates
            .shard
            .insert(template_name(case.shard_use).to_owned(), spec);
    }

    let mut shard = json!({"name": "0-inf"});
    if matches!(case.shard_use, TemplateUse::Reference) {
        shard["shardTemplate"] = json!("std");
    }
    match case.shard_section {
        1 => {
            shard["spec"] = with_policy(
                json!({"pools": pools_json(&case.section_pools)}),
                case.inline_policy,
            )
        }
        2 => shard["overrides"] = json!({"pools": pools_json(&case.section_pools)}),
        _ => {}
    }
    let mut cluster = json!({
        "cells": [{"name": "zone-a", "zone": "zone-a"}],
        "databases": [{"name": "postgres", "default": true, "tablegroups": [
            with_policy(json!({"name": "default", "default": true, "shards": [shard]}), case.table_group),
        ]}],
    });
    if let Some(policy) = policy_json(case.cluster) {
        cluster["pvcDeletionPolicy"] = policy;
    }
    match case.user_topo {
        UserTopo::Absent => {}
        UserTopo::Etcd => {
            cluster["globalTopoServer"] = with_policy(
                json!({"etcd": with_policy(json!({}), case.user_etcd_policy)}),
                case.user_topo_policy,
            )
        }
        UserTopo::TemplateRef => {
            cluster["globalTopoServer"] =
                with_policy(json!({"templateRef": "std"}), case.user_topo_policy)
        }
    }
    if matches!(case.core_use, TemplateUse::Defaults) {
        cluster["templateDefaults"]["coreTemplate"] = json!("std");
    }
    if matches!(case.shard_use, TemplateUse::Defaults) {
        cluster["templateDefaults"]["shardTemplate"] = json!("std");
    }
    let mut spec: MultigresClusterSpec = serde_json::from_value(cluster).expect("a cluster spec");
    materialize_defaults(&mut spec, &templates).expect("the webhook defaults the cluster");
    let name = ClusterName::parse("orders").expect("a valid name");
    let resolved = resolve_cluster(&name, "shop", &spec, &templates).expect("the cluster resolves");

    let kept = |field: Option<PvcRetentionPolicyType>, unset_retains: bool| {
        field.map_or(unset_retains, |value| {
            value == PvcRetentionPolicyType::Retain
        })
    };
    let mut volumes = BTreeMap::new();
    if let Some(topo) = &resolved.topo_server {
        // The etcd StatefulSet's retention policy maps an unset field to Retain.
        let policy = topo.pvc_deletion_policy.clone().unwrap_or_default();
        volumes.insert(
            "etcd".to_owned(),
            (
                kept(policy.when_deleted, true),
                kept(policy.when_scaled, true),
            ),
        );
    }
    let table_group = &resolved.table_groups[0];
    let shard = shard_spec(table_group, &table_group.shards[0]);
    let policy: PvcDeletionPolicy = shard.pvc_deletion_policy.clone().unwrap_or_default();
    volumes.insert(
        "backup".to_owned(),
        (
            kept(policy.when_deleted, true),
            kept(policy.when_scaled, false),
        ),
    );
    for (name, pool) in &shard.pools {
        let effective = effective_pool_pvc_policy(pool, &shard);
        volumes.insert(
            format!("pool {}", name.as_str()),
            (
                effective.when_deleted == PvcRetentionPolicyType::Retain,
                effective.when_scaled == PvcRetentionPolicyType::Retain,
            ),
        );
    }
    volumes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn no_volume_is_deleted_where_the_go_operator_keeps_it(case in case()) {
        let go = go_volumes(&case);
        let ours = ours(&case);
        prop_assert_eq!(go.keys().collect::<Vec<_>>(), ours.keys().collect::<Vec<_>>());
        for (volume, (go_deleted, go_scaled)) in &go {
            let (our_deleted, our_scaled) = ours[volume];
            prop_assert!(
                our_deleted || !go_deleted,
                "{}: Go keeps it when its owner is deleted, we delete it", volume
            );
            prop_assert!(
                our_scaled || !go_scaled,
                "{}: Go keeps it on scale-down, we delete it", volume
            );
        }
    }
}

/// The property above is not vacuous: the cases where it matters occur, and ours is stricter
/// than Go exactly where fix 4 says (an unset `whenScaled` inherits a `Retain`).
#[test]
fn an_unset_when_scaled_inherits_retain_where_go_would_delete() {
    let case = Case {
        cluster: Some((None, Some(true))),
        user_topo: UserTopo::Absent,
        user_topo_policy: None,
        user_etcd_policy: None,
        core_use: TemplateUse::None,
        core_topo: false,
        core_topo_policy: None,
        core_etcd: false,
        core_etcd_policy: None,
        table_group: Some((Some(false), None)),
        shard_use: TemplateUse::Reference,
        template_policy: Some((None, Some(false))),
        template_pools: [Some(Some((None, Some(true)))), None],
        shard_section: 1,
        inline_policy: Some((Some(false), None)),
        section_pools: [Some(Some((Some(false), None))), None],
    };
    let go = go_volumes(&case);
    let ours = ours(&case);
    // Inline shard policy {whenDeleted: Delete} over the template's {whenScaled: Delete}: Go
    // replaces the object, and stores whenScaled Delete; ours takes the template's Delete too.
    assert_eq!(go["backup"], (false, false));
    assert_eq!(ours["backup"], (false, false));
    // Inline pool {whenDeleted: Delete} over the template pool {whenScaled: Retain}: Go stores
    // the inline pool's whenScaled as Delete; ours keeps the template pool's Retain.
    assert_eq!(go["pool main"], (false, false));
    assert_eq!(ours["pool main"], (false, true));
}
