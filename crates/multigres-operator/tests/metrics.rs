//! The metrics of spec-controllers.md §12.1 as a scraper sees them: names, types, label sets and
//! values read back from the encoded text with a strict parser, the one-phase rule of
//! `cluster_info`, the fix-9 changes (filled `cell` label, drain `timeout`, deleted objects'
//! series removed) and the reconcile histogram's trace-id exemplars.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use multigres_operator::telemetry::metrics::{
    DrainResult, Metrics, PoolKey, ReconcileResult, WebhookOperation, WebhookResult,
};
use pretty_assertions::assert_eq;
use support::exposition::{Exposition, parse};

const NS: &str = "tenant-ns";

/// A sample name, its exact labels and its value.
type Expected = (&'static str, Vec<(&'static str, &'static str)>, f64);

fn pool(cluster: &str, shard: &str, pool: &str, cell: &str) -> PoolKey {
    PoolKey {
        namespace: NS.to_owned(),
        cluster: cluster.to_owned(),
        shard: shard.to_owned(),
        pool: pool.to_owned(),
        cell: cell.to_owned(),
    }
}

fn scrape(metrics: &Metrics) -> Exposition {
    let text = metrics
        .encode()
        .expect("encoding into a String cannot fail");
    parse(&text)
        .map_err(|why| format!("{why}\n{text}"))
        .expect("a valid exposition")
}

/// Sets one value of every metric for the cluster `orders`, the way its controllers would.
fn populate(metrics: &Metrics, cluster: &str) {
    let shard = format!("{cluster}-postgres-default-0-inf");
    metrics.set_cluster_info(NS, cluster, "Healthy");
    metrics.set_cluster_totals(NS, cluster, 2, 3);
    metrics.set_cell_gateway_replicas(NS, &format!("{cluster}-zone-a"), 2, 1);
    metrics.set_shard_pool_replicas(&pool(cluster, &shard, "main", "zone-a"), 3, 2);
    metrics.set_pool_pods_drifted(&pool(cluster, &shard, "main", "zone-a"), 1);
    metrics.set_rolling_update_in_progress(&pool(cluster, &shard, "main", "zone-a"), true);
    metrics.set_toposerver_replicas(NS, &format!("{cluster}-global-topo"), 3, 3);
    metrics.set_last_backup_age(NS, cluster, &shard, Duration::from_millis(90_500));
    metrics.record_drain(cluster, &shard, DrainResult::Success);
    metrics.record_drain(cluster, &shard, DrainResult::Timeout);
}

#[test]
fn every_metric_has_the_go_operators_name_type_and_labels() {
    let metrics = Metrics::new();
    populate(&metrics, "orders");
    metrics.observe_webhook_request(
        WebhookOperation::Default,
        "MultigresCluster",
        WebhookResult::Success,
        Duration::from_millis(30),
    );
    metrics.observe_reconcile(
        "shard",
        ReconcileResult::Error,
        Duration::from_millis(120),
        None,
    );
    let queue = metrics.work_queue("shard");
    for shard in ["a", "b", "c", "d", "d"] {
        queue.triggered((Some(NS.to_owned()), shard.to_owned()));
    }
    let scraped = scrape(&metrics);

    let types: BTreeMap<&str, &str> = scraped
        .types
        .iter()
        .map(|(name, kind)| (name.as_str(), kind.as_str()))
        .collect();
    assert_eq!(
        types,
        BTreeMap::from([
            ("controller_runtime_reconcile", "counter"),
            ("controller_runtime_reconcile_errors", "counter"),
            ("controller_runtime_reconcile_time_seconds", "histogram"),
            ("multigres_operator_cell_gateway_replicas", "gauge"),
            ("multigres_operator_cluster_cells_total", "gauge"),
            ("multigres_operator_cluster_info", "gauge"),
            ("multigres_operator_cluster_shards_total", "gauge"),
            ("multigres_operator_drain_operations", "counter"),
            ("multigres_operator_last_backup_age_seconds", "gauge"),
            ("multigres_operator_pool_pods_drifted", "gauge"),
            ("multigres_operator_rolling_update_in_progress", "gauge"),
            ("multigres_operator_shard_pool_replicas", "gauge"),
            ("multigres_operator_toposerver_replicas", "gauge"),
            ("multigres_operator_webhook_request", "counter"),
            (
                "multigres_operator_webhook_request_duration_seconds",
                "histogram"
            ),
            ("workqueue_depth", "gauge"),
        ])
    );

    let shard = "orders-postgres-default-0-inf";
    let pool_labels = [
        ("cluster", "orders"),
        ("shard", shard),
        ("pool", "main"),
        ("cell", "zone-a"),
        ("namespace", NS),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut labels = pool_labels.to_vec();
        labels.extend_from_slice(extra);
        labels
    };
    let expectations: Vec<Expected> = vec![
        (
            "multigres_operator_cluster_info",
            vec![("name", "orders"), ("namespace", NS), ("phase", "Healthy")],
            1.0,
        ),
        (
            "multigres_operator_cluster_cells_total",
            vec![("cluster", "orders"), ("namespace", NS)],
            2.0,
        ),
        (
            "multigres_operator_cluster_shards_total",
            vec![("cluster", "orders"), ("namespace", NS)],
            3.0,
        ),
        (
            "multigres_operator_cell_gateway_replicas",
            vec![
                ("cell", "orders-zone-a"),
                ("namespace", NS),
                ("state", "desired"),
            ],
            2.0,
        ),
        (
            "multigres_operator_cell_gateway_replicas",
            vec![
                ("cell", "orders-zone-a"),
                ("namespace", NS),
                ("state", "ready"),
            ],
            1.0,
        ),
        (
            "multigres_operator_shard_pool_replicas",
            with(&[("state", "desired")]),
            3.0,
        ),
        (
            "multigres_operator_shard_pool_replicas",
            with(&[("state", "ready")]),
            2.0,
        ),
        ("multigres_operator_pool_pods_drifted", with(&[]), 1.0),
        (
            "multigres_operator_rolling_update_in_progress",
            with(&[]),
            1.0,
        ),
        (
            "multigres_operator_toposerver_replicas",
            vec![
                ("name", "orders-global-topo"),
                ("namespace", NS),
                ("state", "ready"),
            ],
            3.0,
        ),
        (
            "multigres_operator_last_backup_age_seconds",
            vec![("cluster", "orders"), ("shard", shard), ("namespace", NS)],
            90.5,
        ),
        (
            "multigres_operator_drain_operations_total",
            vec![
                ("cluster", "orders"),
                ("shard", shard),
                ("result", "success"),
            ],
            1.0,
        ),
        (
            "multigres_operator_drain_operations_total",
            vec![
                ("cluster", "orders"),
                ("shard", shard),
                ("result", "timeout"),
            ],
            1.0,
        ),
        (
            "multigres_operator_webhook_request_total",
            vec![
                ("operation", "DEFAULT"),
                ("resource", "MultigresCluster"),
                ("result", "success"),
            ],
            1.0,
        ),
        (
            "multigres_operator_webhook_request_duration_seconds_count",
            vec![("operation", "DEFAULT"), ("resource", "MultigresCluster")],
            1.0,
        ),
        (
            "multigres_operator_webhook_request_duration_seconds_bucket",
            vec![
                ("operation", "DEFAULT"),
                ("resource", "MultigresCluster"),
                ("le", "0.05"),
            ],
            1.0,
        ),
        (
            "controller_runtime_reconcile_total",
            vec![("controller", "shard"), ("result", "error")],
            1.0,
        ),
        (
            "controller_runtime_reconcile_errors_total",
            vec![("controller", "shard")],
            1.0,
        ),
        (
            "controller_runtime_reconcile_time_seconds_bucket",
            vec![("controller", "shard"), ("le", "0.1")],
            0.0,
        ),
        (
            "controller_runtime_reconcile_time_seconds_bucket",
            vec![("controller", "shard"), ("le", "0.15")],
            1.0,
        ),
        ("workqueue_depth", vec![("name", "shard")], 4.0),
    ];
    for (name, labels, expected) in expectations {
        assert_eq!(
            scraped.value(name, &labels),
            Some(expected),
            "{name} {labels:?}"
        );
    }
}

#[test]
fn cluster_info_keeps_only_the_current_phase() {
    let metrics = Metrics::new();
    metrics.set_cluster_info(NS, "orders", "Initializing");
    metrics.set_cluster_info(NS, "billing", "Healthy");
    metrics.set_cluster_info(NS, "orders", "Degraded");
    metrics.set_cluster_info(NS, "orders", "Healthy");
    let scraped = scrape(&metrics);
    let phases: Vec<(&str, &str)> = scraped
        .find("multigres_operator_cluster_info", &[])
        .into_iter()
        .map(|sample| {
            (
                sample.labels["name"].as_str(),
                sample.labels["phase"].as_str(),
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(phases, [("billing", "Healthy"), ("orders", "Healthy")]);
}

#[test]
fn forgetting_a_cluster_removes_every_series_it_had_and_no_other() {
    let metrics = Metrics::new();
    populate(&metrics, "orders");
    populate(&metrics, "billing");
    let before = scrape(&metrics);
    metrics.forget_cluster(NS, "orders");
    // Cells and TopoServers are their own CRs: their controllers forget them on deletion.
    metrics.forget_cell(NS, "orders-zone-a");
    metrics.forget_toposerver(NS, "orders-global-topo");
    let after = scrape(&metrics);

    let mentions_orders = |sample: &&support::exposition::Sample| {
        sample
            .labels
            .values()
            .any(|value| value.starts_with("orders"))
    };
    let left: Vec<_> = after.samples.iter().filter(mentions_orders).collect();
    assert!(
        left.is_empty(),
        "series of the deleted cluster remain: {left:?}"
    );
    let billing_before: Vec<_> = before
        .samples
        .iter()
        .filter(|sample| !mentions_orders(sample))
        .collect();
    let billing_after: Vec<_> = after.samples.iter().collect();
    assert_eq!(billing_after, billing_before);
    assert!(!billing_after.is_empty());
}

#[test]
fn forgetting_a_shard_or_a_pool_leaves_its_siblings() {
    let metrics = Metrics::new();
    let kept = pool("orders", "orders-shard-a", "main", "zone-a");
    let other_cell = pool("orders", "orders-shard-a", "main", "zone-b");
    let gone = pool("orders", "orders-shard-b", "main", "zone-a");
    for key in [&kept, &other_cell, &gone] {
        metrics.set_shard_pool_replicas(key, 1, 1);
        metrics.set_pool_pods_drifted(key, 0);
        metrics.set_rolling_update_in_progress(key, false);
    }
    metrics.record_drain("orders", "orders-shard-b", DrainResult::Success);
    metrics.set_last_backup_age(NS, "orders", "orders-shard-b", Duration::from_secs(5));

    metrics.forget_shard(NS, "orders", "orders-shard-b");
    metrics.forget_pool(&other_cell);
    let scraped = scrape(&metrics);
    let shards_and_cells: std::collections::BTreeSet<(String, String)> = scraped
        .samples
        .iter()
        .filter(|sample| sample.name.starts_with("multigres_operator_"))
        .map(|sample| {
            (
                sample.labels["shard"].clone(),
                sample.labels.get("cell").cloned().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        shards_and_cells,
        [("orders-shard-a".to_owned(), "zone-a".to_owned())].into()
    );
}

#[test]
fn reconcile_durations_carry_the_trace_id_as_an_exemplar() {
    let metrics = Metrics::new();
    metrics.observe_reconcile(
        "multigrescluster",
        ReconcileResult::Success,
        Duration::from_millis(40),
        Some("4bf92f3577b34da6a3ce929d0e0e4736"),
    );
    let scraped = scrape(&metrics);
    let exemplars: Vec<(&str, &BTreeMap<String, String>)> = scraped
        .find("controller_runtime_reconcile_time_seconds_bucket", &[])
        .into_iter()
        .filter_map(|sample| Some((sample.labels["le"].as_str(), sample.exemplar.as_ref()?)))
        .collect();
    let expected = BTreeMap::from([(
        "trace_id".to_owned(),
        "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
    )]);
    assert_eq!(exemplars, [("0.05", &expected)]);
    // No error: the errors counter exists only once the controller is registered or fails.
    assert_eq!(
        scraped.value(
            "controller_runtime_reconcile_total",
            &[("controller", "multigrescluster"), ("result", "success")]
        ),
        Some(1.0)
    );
}

#[test]
fn a_registered_controller_exports_zero_series_before_its_first_reconcile() {
    let metrics = Metrics::new();
    metrics.register_controller("cell");
    let scraped = scrape(&metrics);
    for result in ["success", "error", "requeue", "requeue_after"] {
        assert_eq!(
            scraped.value(
                "controller_runtime_reconcile_total",
                &[("controller", "cell"), ("result", result)]
            ),
            Some(0.0),
            "{result}"
        );
    }
    assert_eq!(
        scraped.value(
            "controller_runtime_reconcile_errors_total",
            &[("controller", "cell")]
        ),
        Some(0.0)
    );
    assert_eq!(
        scraped.value(
            "controller_runtime_reconcile_time_seconds_count",
            &[("controller", "cell")]
        ),
        Some(0.0)
    );
}

#[test]
fn label_values_are_escaped() {
    let metrics = Metrics::new();
    metrics.set_cluster_info(NS, "weird\"name\\with\nbreaks", "Healthy");
    let scraped = scrape(&metrics);
    assert_eq!(
        scraped.value(
            "multigres_operator_cluster_info",
            &[
                ("name", "weird\"name\\with\nbreaks"),
                ("namespace", NS),
                ("phase", "Healthy")
            ]
        ),
        Some(1.0)
    );
}
