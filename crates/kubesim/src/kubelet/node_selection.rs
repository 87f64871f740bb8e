//! Which nodes a pod (or a volume) may use: `nodeSelector`, required node affinity
//! (`nodeSelectorTerms` with `matchExpressions` In/NotIn/Exists/DoesNotExist/Gt/Lt and
//! `matchFields` on `metadata.name`), and tolerations against taints.
//!
//! The rules of upstream `component-helpers/scheduling/corev1/nodeaffinity` and
//! `Toleration.ToleratesTaint`. Pure: shared by the scheduler (pods) and the volume checks (a
//! PersistentVolume's `spec.nodeAffinity`).

use serde_json::Value;

use super::object_fields::{labels, name, string_map};

fn str_list(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// One `NodeSelectorRequirement` against a value that may be missing (a label or a field).
fn requirement_matches(requirement: &Value, actual: Option<&str>) -> bool {
    let operator = requirement
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let values = str_list(requirement.get("values"));
    match operator {
        "In" => actual.is_some_and(|a| values.contains(&a)),
        "NotIn" => actual.is_none_or(|a| !values.contains(&a)),
        "Exists" => actual.is_some(),
        "DoesNotExist" => actual.is_none(),
        "Gt" | "Lt" => {
            // Exactly one integer value; the label must parse as an integer too.
            let [bound] = values.as_slice() else {
                return false;
            };
            let (Ok(bound), Some(Ok(actual))) =
                (bound.parse::<i64>(), actual.map(str::parse::<i64>))
            else {
                return false;
            };
            if operator == "Gt" {
                actual > bound
            } else {
                actual < bound
            }
        }
        _ => false,
    }
}

/// One `NodeSelectorTerm`: every expression and field requirement holds. A term without any
/// requirement matches no node (upstream: "an empty term matches no objects").
pub fn term_matches(term: &Value, node: &Value) -> bool {
    let expressions = term
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let fields = term
        .get("matchFields")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if expressions.is_empty() && fields.is_empty() {
        return false;
    }
    let node_labels = labels(node);
    let labels_ok = expressions.iter().all(|requirement| {
        let key = requirement
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or_default();
        requirement_matches(requirement, node_labels.get(key).map(String::as_str))
    });
    // `metadata.name` is the only supported field (upstream `validFieldSelectorKeys`).
    let fields_ok =
        fields.iter().all(
            |requirement| match requirement.get("key").and_then(Value::as_str) {
                Some("metadata.name") => requirement_matches(requirement, Some(name(node))),
                _ => false,
            },
        );
    labels_ok && fields_ok
}

/// A `NodeSelector` (`nodeSelectorTerms`, ORed) against a node; no terms match nothing.
pub fn node_selector_matches(selector: &Value, node: &Value) -> bool {
    selector
        .get("nodeSelectorTerms")
        .and_then(Value::as_array)
        .is_some_and(|terms| terms.iter().any(|t| term_matches(t, node)))
}

/// Whether a pod's `nodeSelector` and required node affinity admit `node`.
pub fn pod_matches_node(pod: &Value, node: &Value) -> bool {
    let node_labels = labels(node);
    let selector_ok = string_map(pod.pointer("/spec/nodeSelector"))
        .iter()
        .all(|(k, v)| node_labels.get(k) == Some(v));
    let affinity_ok = match pod
        .pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution")
    {
        Some(required) => node_selector_matches(required, node),
        None => true,
    };
    selector_ok && affinity_ok
}

/// Whether `toleration` tolerates `taint` (upstream `Toleration.ToleratesTaint`).
pub fn tolerates(toleration: &Value, taint: &Value) -> bool {
    fn field<'a>(v: &'a Value, k: &str) -> &'a str {
        v.get(k).and_then(Value::as_str).unwrap_or_default()
    }
    let effect = field(toleration, "effect");
    if !effect.is_empty() && effect != field(taint, "effect") {
        return false;
    }
    let key = field(toleration, "key");
    if !key.is_empty() && key != field(taint, "key") {
        return false;
    }
    match field(toleration, "operator") {
        "" | "Equal" => field(toleration, "value") == field(taint, "value"),
        "Exists" => true,
        _ => false,
    }
}

/// The pod's tolerations.
pub fn tolerations(pod: &Value) -> &[Value] {
    pod.pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The node's taints.
pub fn taints(node: &Value) -> &[Value] {
    node.pointer("/spec/taints")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The first taint with one of `effects` that none of the pod's tolerations tolerates.
pub fn untolerated_taint<'a>(pod: &Value, node: &'a Value, effects: &[&str]) -> Option<&'a Value> {
    let tolerations = tolerations(pod);
    taints(node).iter().find(|taint| {
        effects.contains(
            &taint
                .get("effect")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ) && !tolerations.iter().any(|t| tolerates(t, taint))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, labels: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}})
    }

    fn expr(key: &str, operator: &str, values: &[&str]) -> Value {
        json!({"nodeSelectorTerms": [{"matchExpressions": [
            {"key": key, "operator": operator, "values": values}]}]})
    }

    #[test]
    fn match_expression_operators_follow_upstream() {
        let n = node("n1", json!({"zone": "a", "cores": "8"}));
        let cases = [
            (expr("zone", "In", &["a", "b"]), true),
            (expr("zone", "In", &["b"]), false),
            (expr("zone", "NotIn", &["b"]), true),
            (expr("missing", "NotIn", &["b"]), true),
            (expr("zone", "Exists", &[]), true),
            (expr("zone", "DoesNotExist", &[]), false),
            (expr("missing", "DoesNotExist", &[]), true),
            (expr("cores", "Gt", &["4"]), true),
            (expr("cores", "Gt", &["8"]), false),
            (expr("cores", "Lt", &["9"]), true),
            (expr("zone", "Gt", &["1"]), false),
            (expr("cores", "Gt", &["1", "2"]), false),
            (expr("zone", "Bogus", &["a"]), false),
        ];
        for (selector, expected) in cases {
            assert_eq!(node_selector_matches(&selector, &n), expected, "{selector}");
        }
    }

    #[test]
    fn terms_are_ored_and_empty_terms_match_nothing() {
        let n = node("n1", json!({"zone": "a"}));
        let either = json!({"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["x"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]});
        assert!(node_selector_matches(&either, &n));
        assert!(!node_selector_matches(
            &json!({"nodeSelectorTerms": [{}]}),
            &n
        ));
        assert!(!node_selector_matches(
            &json!({"nodeSelectorTerms": []}),
            &n
        ));
        let other_field = json!({"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.uid", "operator": "In", "values": ["n1"]}]}]});
        assert!(!node_selector_matches(&other_field, &n));
    }

    #[test]
    fn pods_need_both_node_selector_and_affinity() {
        let n = node("n1", json!({"zone": "a", "disk": "ssd"}));
        let pod = json!({"spec": {"nodeSelector": {"disk": "ssd"}, "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": expr("zone", "In", &["a"])}}}});
        assert!(pod_matches_node(&pod, &n));
        let wrong_zone = json!({"spec": {"nodeSelector": {"disk": "ssd"}, "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": expr("zone", "In", &["b"])}}}});
        assert!(!pod_matches_node(&wrong_zone, &n));
        assert!(!pod_matches_node(
            &json!({"spec": {"nodeSelector": {"disk": "hdd"}}}),
            &n
        ));
        assert!(pod_matches_node(&json!({"spec": {}}), &n));
    }

    #[test]
    fn tolerations_follow_tolerates_taint() {
        let taint = json!({"key": "dedicated", "value": "db", "effect": "NoSchedule"});
        let cases = [
            (
                json!({"key": "dedicated", "value": "db", "effect": "NoSchedule"}),
                true,
            ),
            (
                json!({"key": "dedicated", "operator": "Equal", "value": "db"}),
                true,
            ),
            (json!({"key": "dedicated", "value": "web"}), false),
            (json!({"key": "dedicated", "operator": "Exists"}), true),
            (json!({"operator": "Exists"}), true),
            (
                json!({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}),
                false,
            ),
            (json!({"key": "other", "operator": "Exists"}), false),
        ];
        for (toleration, expected) in cases {
            assert_eq!(tolerates(&toleration, &taint), expected, "{toleration}");
        }
    }

    #[test]
    fn untolerated_taint_considers_only_the_given_effects() {
        let n = json!({"spec": {"taints": [
            {"key": "soft", "effect": "PreferNoSchedule"},
            {"key": "hard", "effect": "NoSchedule"}]}});
        let pod = json!({"spec": {}});
        assert_eq!(
            untolerated_taint(&pod, &n, &["NoSchedule", "NoExecute"]),
            Some(&json!({"key": "hard", "effect": "NoSchedule"}))
        );
        let tolerant = json!({"spec": {"tolerations": [{"key": "hard", "operator": "Exists"}]}});
        assert_eq!(
            untolerated_taint(&tolerant, &n, &["NoSchedule", "NoExecute"]),
            None
        );
    }
}
