//! The operator's CRDs in the CRD engine that kubesim serves them with and that `render` and the
//! webhook admit objects with (`crd-admission`): every CRD is accepted, and the first rules of
//! the CEL catalogue (spec-api.md §9) sit where the catalogue says and reject with its text.

// Each test crate uses part of the support module.
#[allow(dead_code)]
mod support;

use crd_admission::crd_schema::{CompiledCrd, FieldValidation};
use crd_admission::field_cause::FieldCause;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// Every cause as the API server prints it in a 422 message.
fn lines(causes: &[FieldCause]) -> Vec<String> {
    causes.iter().map(ToString::to_string).collect()
}

#[test]
fn the_operator_crds_are_accepted() {
    for crd in multigres_api::crds::crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let causes = CompiledCrd::new(&crd)
            .err()
            .map(|c| lines(&c))
            .unwrap_or_default();
        assert_eq!(causes, Vec::<String>::new(), "{name}");
    }
}

/// Rules 1-5 of spec-api.md §9 (the CEL catalogue), copied by hand:
/// (number, rule, message).
const CATALOGUE_FIRST_RULES: [(&str, &str, &str); 5] = [
    (
        "1",
        "self.metadata.name.size() <= 25",
        "MultigresCluster name must be at most 25 characters",
    ),
    (
        "2 T",
        "oldSelf.all(c, c.name in self.map(x, x.name))",
        "Cells cannot be removed or renamed (Append-Only)",
    ),
    (
        "3",
        "!(has(self.spec) && has(self.cellTemplate))",
        "cannot specify both 'spec' and 'cellTemplate'",
    ),
    (
        "4",
        "!(has(self.spec) && has(self.overrides))",
        "cannot specify both 'spec' and 'overrides'",
    ),
    (
        "5",
        "!(has(self.zone) && has(self.region))",
        "cannot specify both 'zone' and 'region'",
    ),
];

#[test]
fn the_hand_copied_rules_match_the_spec_catalogue() {
    let Some(shared) = support::shared_dir() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no shared directory under CI (set MULTIGRES_SHARED_DIR)"
        );
        println!("skipping: no shared directory (set MULTIGRES_SHARED_DIR)");
        return;
    };
    let catalogue =
        std::fs::read_to_string(shared.join("spec/spec-api.md")).expect("spec-api.md is readable");
    for (number, rule, message) in CATALOGUE_FIRST_RULES {
        let prefix = format!("| {number} |");
        let row = catalogue
            .lines()
            .find(|l| l.starts_with(&prefix))
            .expect("the catalogue has rows 1 to 5");
        let spans: Vec<&str> = row.split('`').skip(1).step_by(2).collect();
        assert_eq!(&spans[spans.len() - 2..], [rule, message], "row {number}");
    }
}

#[test]
fn the_operator_multigres_cluster_crd_enforces_the_first_catalogue_rules() {
    let crd = multigres_api::crds::crds()
        .into_iter()
        .find(|c| c.spec.names.kind == "MultigresCluster")
        .expect("the operator has a MultigresCluster CRD");
    let compiled = CompiledCrd::new(&crd).expect("the MultigresCluster CRD is accepted");
    let version = compiled.storage_version().name().to_owned();

    // The rules sit where the catalogue says, with its exact text.
    let schema = compiled.storage_version().schema_json();
    let cells = &schema["properties"]["spec"]["properties"]["cells"];
    let rule_pairs = |node: &Value| -> Vec<(String, String)> {
        node["x-kubernetes-validations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    r["rule"].as_str().unwrap_or_default().to_owned(),
                    r["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let expected = |range: std::ops::Range<usize>| -> Vec<(String, String)> {
        CATALOGUE_FIRST_RULES[range]
            .iter()
            .map(|(_, r, m)| ((*r).to_owned(), (*m).to_owned()))
            .collect()
    };
    assert_eq!(rule_pairs(schema), expected(0..1));
    assert_eq!(rule_pairs(cells), expected(1..2));
    assert_eq!(rule_pairs(&cells["items"]), expected(2..5));

    let cluster = |name: &str, cells: Value| {
        json!({
            "apiVersion": format!("{}/{version}", compiled.group()),
            "kind": "MultigresCluster",
            "metadata": {"name": name, "namespace": "tenant-a"},
            "spec": {"cells": cells}
        })
    };
    let check = |new: Value, old: Option<Value>| -> Vec<String> {
        let mut new = new;
        compiled
            .prune_and_default(&version, &mut new, FieldValidation::Strict)
            .expect("hand-built clusters have no unknown fields");
        let old = old.map(|mut o| {
            compiled.apply_defaults(&version, &mut o);
            o
        });
        compiled
            .validate(&version, &new, old.as_ref())
            .err()
            .map(|c| lines(&c))
            .unwrap_or_default()
    };

    let ok_cells = json!([{"name": "zone-a", "zone": "us-east-1a"}, {"name": "zone-b", "region": "us-east-1"}]);
    assert_eq!(
        check(cluster("prod", ok_cells.clone()), None),
        Vec::<String>::new()
    );
    assert_eq!(
        check(
            cluster("a-cluster-name-of-26-chars", ok_cells.clone()),
            None
        ),
        [r#"<nil>: Invalid value: "object": MultigresCluster name must be at most 25 characters"#]
    );
    assert_eq!(
        check(
            cluster(
                "prod",
                json!([{"name": "zone-a", "zone": "z", "region": "r", "spec": {}, "cellTemplate": "t", "overrides": {}}])
            ),
            None
        ),
        [
            r#"spec.cells[0]: Invalid value: "object": cannot specify both 'spec' and 'cellTemplate'"#,
            r#"spec.cells[0]: Invalid value: "object": cannot specify both 'spec' and 'overrides'"#,
            r#"spec.cells[0]: Invalid value: "object": cannot specify both 'zone' and 'region'"#,
        ]
    );
    // Rule 2 is a transition rule: appending is fine, removing or renaming is not.
    let appended = json!([{"name": "zone-a", "zone": "us-east-1a"}, {"name": "zone-b", "region": "us-east-1"}, {"name": "zone-c"}]);
    assert_eq!(
        check(
            cluster("prod", appended),
            Some(cluster("prod", ok_cells.clone()))
        ),
        Vec::<String>::new()
    );
    let renamed = json!([{"name": "zone-a", "zone": "us-east-1a"}, {"name": "zone-x", "region": "us-east-1"}]);
    assert_eq!(
        check(cluster("prod", renamed), Some(cluster("prod", ok_cells))),
        [r#"spec.cells: Invalid value: "array": Cells cannot be removed or renamed (Append-Only)"#]
    );
}
