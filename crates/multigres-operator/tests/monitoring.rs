//! The monitoring artefacts under `config/monitoring/`: the PrometheusRule has the ten alerts of
//! spec-controllers.md §12.2 with their thresholds, each with a runbook that exists; the Grafana
//! dashboards are valid dashboard JSON; and every metric any alert or panel queries is one the
//! operator exports (read from the [`Metrics`] registry itself, so renaming a metric breaks this
//! test). `promtool` is not packaged for this project's machines, so the expressions are checked
//! by the small PromQL scanner below (balanced brackets, metric names) instead of
//! `promtool check rules`.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use multigres_operator::telemetry::metrics::{
    DrainResult, Metrics, PoolKey, ReconcileResult, WebhookOperation, WebhookResult,
};
use pretty_assertions::assert_eq;
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn monitoring(file: &str) -> String {
    std::fs::read_to_string(repo_root().join("config/monitoring").join(file))
        .unwrap_or_else(|err| format!("unreadable {file}: {err}"))
}

/// Every sample name a query can use, from a registry where every metric has a series.
fn exported_names() -> BTreeSet<String> {
    let metrics = Metrics::new();
    let pool = PoolKey {
        namespace: "ns".to_owned(),
        cluster: "c".to_owned(),
        shard: "s".to_owned(),
        pool: "p".to_owned(),
        cell: "z".to_owned(),
    };
    metrics.set_cluster_info("ns", "c", "Healthy");
    metrics.set_cluster_totals("ns", "c", 1, 1);
    metrics.set_cell_gateway_replicas("ns", "c-z", 1, 1);
    metrics.set_shard_pool_replicas(&pool, 1, 1);
    metrics.set_pool_pods_drifted(&pool, 0);
    metrics.set_rolling_update_in_progress(&pool, false);
    metrics.set_toposerver_replicas("ns", "c-global", 1, 1);
    metrics.observe_webhook_request(
        WebhookOperation::Validate,
        "MultigresCluster",
        WebhookResult::Success,
        Duration::from_millis(1),
    );
    metrics.set_last_backup_age("ns", "c", "s", Duration::from_secs(1));
    metrics.record_drain("c", "s", DrainResult::Timeout);
    metrics.register_controller("shard");
    metrics.observe_reconcile(
        "shard",
        ReconcileResult::Error,
        Duration::from_millis(1),
        None,
    );
    let text = metrics
        .encode()
        .expect("encoding into a String cannot fail");
    let scraped = support::exposition::parse(&text).expect("a valid exposition");
    scraped.queryable_names().into_iter().collect()
}

/// The metric names a PromQL expression selects, or why it is malformed. Label matchers,
/// string literals, range selectors and grouping label lists are skipped; an identifier
/// followed by `(` is a function or aggregation.
fn metric_names(expr: &str) -> Result<BTreeSet<String>, String> {
    const KEYWORDS: [&str; 12] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "inf",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut depth = 0i32;
    let mut index = 0;
    let mut skip_group = false;
    while index < chars.len() {
        let c = chars[index];
        match c {
            '"' | '\'' => {
                index += 1;
                while index < chars.len() && chars[index] != c {
                    index += usize::from(chars[index] == '\\') + 1;
                }
                if index >= chars.len() {
                    return Err(format!("unterminated string in {expr}"));
                }
                index += 1;
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                let mut quote = None;
                index += 1;
                while index < chars.len() && (quote.is_some() || chars[index] != close) {
                    match (quote, chars[index]) {
                        (None, q @ ('"' | '\'')) => quote = Some(q),
                        (Some(q), x) if x == q => quote = None,
                        (Some(_), '\\') => index += 1,
                        _ => {}
                    }
                    index += 1;
                }
                if index >= chars.len() {
                    return Err(format!("unbalanced {c} in {expr}"));
                }
                index += 1;
            }
            '(' => {
                if skip_group {
                    // The label list of by/without/on/ignoring/group_*.
                    while index < chars.len() && chars[index] != ')' {
                        index += 1;
                    }
                    skip_group = false;
                    index += 1;
                    continue;
                }
                depth += 1;
                index += 1;
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced ) in {expr}"));
                }
                index += 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = index;
                while index < chars.len()
                    && (chars[index].is_ascii_alphanumeric()
                        || chars[index] == '_'
                        || chars[index] == ':')
                {
                    index += 1;
                }
                let word: String = chars[start..index].iter().collect();
                let mut next = index;
                while next < chars.len() && chars[next] == ' ' {
                    next += 1;
                }
                let called = chars.get(next) == Some(&'(');
                let lower = word.to_ascii_lowercase();
                // `sum by (l) (…)`: an aggregation whose grouping comes before its argument.
                const AGGREGATIONS: [&str; 12] = [
                    "sum",
                    "min",
                    "max",
                    "avg",
                    "count",
                    "stddev",
                    "stdvar",
                    "topk",
                    "bottomk",
                    "quantile",
                    "count_values",
                    "group",
                ];
                if AGGREGATIONS.contains(&lower.as_str()) {
                    continue;
                }
                if KEYWORDS.contains(&lower.as_str()) {
                    skip_group = called
                        && [
                            "by",
                            "without",
                            "on",
                            "ignoring",
                            "group_left",
                            "group_right",
                        ]
                        .contains(&lower.as_str());
                } else if !called {
                    names.insert(word);
                }
            }
            _ => index += 1,
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced ( in {expr}"));
    }
    Ok(names)
}

#[test]
fn the_scanner_finds_metric_names_and_nothing_else() {
    assert_eq!(
        metric_names(
            "histogram_quantile(0.99, sum by (controller, le) (rate(x_bucket{a=~\"b|c\"}[5m]))) > 30"
        ),
        Ok(BTreeSet::from(["x_bucket".to_owned()]))
    );
    assert_eq!(
        metric_names("a{state=\"ready\"} < ignoring(state) b{state=\"desired\"}"),
        Ok(BTreeSet::from(["a".to_owned(), "b".to_owned()]))
    );
    assert_eq!(
        metric_names("count(m{phase=\"Error\"}) or vector(0)"),
        Ok(BTreeSet::from(["m".to_owned()]))
    );
    assert!(metric_names("rate(x[5m]").is_err());
    assert!(metric_names("x{a=\"b}").is_err());
}

fn rules() -> Vec<Value> {
    let document: Value =
        serde_saphyr::from_str(&monitoring("prometheus-rules.yaml")).expect("valid YAML");
    assert_eq!(document["kind"], "PrometheusRule");
    assert_eq!(document["metadata"]["name"], "multigres-operator-alerts");
    let groups = document["spec"]["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["name"], "multigres-operator.rules");
    groups[0]["rules"].as_array().expect("rules").clone()
}

#[test]
fn the_rules_hold_the_ten_alerts_of_the_go_operator_each_with_a_runbook() {
    let rules = rules();
    let summary: Vec<(String, String, String)> = rules
        .iter()
        .map(|rule| {
            (
                rule["alert"].as_str().unwrap_or_default().to_owned(),
                rule["for"].as_str().unwrap_or_default().to_owned(),
                rule["labels"]["severity"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("MultigresClusterReconcileErrors", "5m", "warning"),
        ("MultigresClusterDegraded", "10m", "warning"),
        ("MultigresCellGatewayUnavailable", "5m", "critical"),
        ("MultigresShardPoolDegraded", "10m", "warning"),
        ("MultigresWebhookErrors", "5m", "warning"),
        ("MultigresBackupStale", "30m", "warning"),
        ("MultigresRollingUpdateStuck", "30m", "warning"),
        ("MultigresDrainTimeout", "10m", "warning"),
        ("MultigresReconcileSlow", "5m", "warning"),
        ("MultigresControllerSaturated", "10m", "warning"),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(summary, expected);

    for rule in &rules {
        let alert = rule["alert"].as_str().unwrap_or_default();
        for annotation in ["summary", "description"] {
            assert!(
                rule["annotations"][annotation]
                    .as_str()
                    .is_some_and(|text| !text.is_empty()),
                "{alert} has no {annotation}"
            );
        }
        let runbook = rule["annotations"]["runbook_url"]
            .as_str()
            .unwrap_or_default();
        let file = format!("docs/runbooks/{alert}.md");
        assert_eq!(
            runbook,
            format!("https://github.com/multigres/multigres-operator-rs/blob/main/{file}")
        );
        let text = std::fs::read_to_string(repo_root().join(&file)).unwrap_or_default();
        assert!(
            text.starts_with(&format!("# {alert}\n")),
            "{file} is missing or has another title"
        );
    }
}

/// The thresholds of §12.2, read back from the expressions.
#[test]
fn the_alert_thresholds_are_the_go_operators() {
    let rules = rules();
    let expr = |alert: &str| {
        rules
            .iter()
            .find(|rule| rule["alert"] == alert)
            .and_then(|rule| rule["expr"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(expr("MultigresBackupStale").ends_with("> 86400"));
    assert!(expr("MultigresReconcileSlow").starts_with("histogram_quantile(0.99,"));
    assert!(expr("MultigresReconcileSlow").ends_with("> 30"));
    assert!(expr("MultigresControllerSaturated").ends_with("> 50"));
    assert!(expr("MultigresDrainTimeout").contains("result=\"timeout\""));
    assert!(expr("MultigresCellGatewayUnavailable").ends_with("== 0"));
}

fn dashboard_exprs(file: &str) -> (Value, Vec<String>) {
    let dashboard: Value = serde_json::from_str(&monitoring(file)).expect("valid JSON");
    let mut exprs = Vec::new();
    let mut ids = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        assert!(
            ids.insert(panel["id"].as_u64().expect("a numeric panel id")),
            "duplicate panel id in {file}"
        );
        for key in ["x", "y", "w", "h"] {
            assert!(panel["gridPos"][key].is_u64(), "{file}: gridPos.{key}");
        }
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], "prometheus-uid", "{file}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(
            !targets.is_empty(),
            "{file}: panel {} has no query",
            panel["title"]
        );
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "prometheus-uid", "{file}");
            exprs.push(target["expr"].as_str().expect("an expr").to_owned());
        }
    }
    (dashboard, exprs)
}

#[test]
fn the_dashboards_are_grafana_dashboards_with_the_go_operators_uids() {
    for (file, uid, title) in [
        (
            "operator-overview.json",
            "multigres-operator-overview",
            "Multigres Operator Overview",
        ),
        (
            "cluster-health.json",
            "multigres-cluster-health",
            "Multigres Cluster Health",
        ),
    ] {
        let (dashboard, exprs) = dashboard_exprs(file);
        assert_eq!(dashboard["uid"], uid);
        assert_eq!(dashboard["title"], title);
        assert_eq!(dashboard["refresh"], "10s");
        assert!(dashboard["schemaVersion"].is_u64());
        assert!(exprs.len() >= 10, "{file} has {} queries", exprs.len());
    }
}

#[test]
fn every_queried_metric_is_exported() {
    let exported = exported_names();
    let mut queries: Vec<(String, String)> = rules()
        .iter()
        .map(|rule| {
            (
                format!("alert {}", rule["alert"].as_str().unwrap_or_default()),
                rule["expr"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for file in ["operator-overview.json", "cluster-health.json"] {
        queries.extend(
            dashboard_exprs(file)
                .1
                .into_iter()
                .map(|expr| (file.to_owned(), expr)),
        );
    }
    let mut used = BTreeSet::new();
    for (source, expr) in &queries {
        let names = metric_names(expr).map_err(|why| format!("{source}: {why}"));
        let names = names.expect("a well-formed expression");
        assert!(!names.is_empty(), "{source}: {expr} selects no metric");
        for name in names {
            assert!(
                exported.contains(&name),
                "{source} queries {name}, which the operator does not export"
            );
            used.insert(name);
        }
    }
    // The dashboards and alerts together cover every operator metric.
    let unused: Vec<&String> = exported
        .iter()
        .filter(|name| {
            !used.contains(*name)
                && !name.ends_with("_sum")
                && !name.ends_with("_count")
                && !name.ends_with("_bucket")
        })
        .collect();
    assert_eq!(unused, Vec::<&String>::new());
}
