//! Label selectors in the query-string syntax of `labelSelector=` (rust-ecosystem.md §3.3
//! Selectors): `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>n`, `k<n`,
//! comma = AND. Also converts a `metav1.LabelSelector` object (Scale's `status.selector`).
//!
//! Pure: parsing and matching only.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
    GreaterThan(i64),
    LessThan(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

/// Why a selector string did not parse; the text is the API server's 400 message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: {detail}")]
pub struct LabelSelectorError {
    pub detail: String,
}

impl LabelSelector {
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Parses the `labelSelector` query value.
    pub fn parse(input: &str) -> Result<LabelSelector, LabelSelectorError> {
        let mut requirements = Vec::new();
        for part in split_top_level(input) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            requirements.push(parse_requirement(part)?);
        }
        Ok(LabelSelector { requirements })
    }

    /// Whether an object's labels satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object);
        let get = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.requirements.iter().all(|r| match &r.op {
            Op::Equals(v) => get(&r.key) == Some(v.as_str()),
            Op::NotEquals(v) => get(&r.key) != Some(v.as_str()),
            Op::In(vs) => get(&r.key).is_some_and(|l| vs.iter().any(|v| v == l)),
            Op::NotIn(vs) => !get(&r.key).is_some_and(|l| vs.iter().any(|v| v == l)),
            Op::Exists => get(&r.key).is_some(),
            Op::DoesNotExist => get(&r.key).is_none(),
            Op::GreaterThan(n) => get(&r.key)
                .and_then(|l| l.parse::<i64>().ok())
                .is_some_and(|l| l > *n),
            Op::LessThan(n) => get(&r.key)
                .and_then(|l| l.parse::<i64>().ok())
                .is_some_and(|l| l < *n),
        })
    }
}

/// Renders a `metav1.LabelSelector` (`matchLabels` + `matchExpressions`) as selector text, the
/// form autoscaling/v1 Scale's `status.selector` carries.
pub fn label_selector_object_to_string(selector: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        let sorted: BTreeMap<&String, &Value> = labels.iter().collect();
        for (k, v) in sorted {
            parts.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    if let Some(exprs) = selector.get("matchExpressions").and_then(Value::as_array) {
        for expr in exprs {
            let key = expr.get("key").and_then(Value::as_str).unwrap_or_default();
            let values: Vec<&str> = expr
                .get("values")
                .and_then(Value::as_array)
                .map(|vs| vs.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match expr.get("operator").and_then(Value::as_str) {
                Some("In") => parts.push(format!("{key} in ({})", values.join(","))),
                Some("NotIn") => parts.push(format!("{key} notin ({})", values.join(","))),
                Some("Exists") => parts.push(key.to_string()),
                Some("DoesNotExist") => parts.push(format!("!{key}")),
                _ => {}
            }
        }
    }
    parts.join(",")
}

fn split_top_level(input: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in input.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<Requirement, LabelSelectorError> {
    let error = |detail: String| LabelSelectorError { detail };
    if let Some(key) = part.strip_prefix('!') {
        let key = key.trim();
        check_key(key)?;
        return Ok(Requirement {
            key: key.to_string(),
            op: Op::DoesNotExist,
        });
    }
    for (token, make) in [
        ("!=", Op::NotEquals as fn(String) -> Op),
        ("==", Op::Equals as fn(String) -> Op),
        ("=", Op::Equals as fn(String) -> Op),
    ] {
        if let Some((key, value)) = part.split_once(token) {
            let key = key.trim();
            check_key(key)?;
            return Ok(Requirement {
                key: key.to_string(),
                op: make(value.trim().to_string()),
            });
        }
    }
    for (token, greater) in [(">", true), ("<", false)] {
        if let Some((key, value)) = part.split_once(token) {
            let key = key.trim();
            check_key(key)?;
            let n: i64 = value.trim().parse().map_err(|_| {
                error(format!(
                    "for 'Gt', 'Lt' operators, the value must be an integer: {}",
                    value.trim()
                ))
            })?;
            return Ok(Requirement {
                key: key.to_string(),
                op: if greater {
                    Op::GreaterThan(n)
                } else {
                    Op::LessThan(n)
                },
            });
        }
    }
    let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
    if words.len() == 2 {
        let key = words[0];
        let rest = words[1].trim_start();
        let (notin, list) = if let Some(list) = rest.strip_prefix("notin") {
            (true, list)
        } else if let Some(list) = rest.strip_prefix("in") {
            (false, list)
        } else {
            return Err(error(format!(
                "found '{rest}', expected: in, notin, =, ==, !=, gt, lt"
            )));
        };
        check_key(key)?;
        let list = list.trim();
        let inner = list
            .strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
            .ok_or_else(|| error(format!("found '{list}', expected: '('")))?;
        let values: Vec<String> = inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        return Ok(Requirement {
            key: key.to_string(),
            op: if notin {
                Op::NotIn(values)
            } else {
                Op::In(values)
            },
        });
    }
    check_key(part)?;
    Ok(Requirement {
        key: part.to_string(),
        op: Op::Exists,
    })
}

fn check_key(key: &str) -> Result<(), LabelSelectorError> {
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if valid {
        Ok(())
    } else {
        Err(LabelSelectorError {
            detail: format!("invalid label key \"{key}\""),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"labels": labels}})
    }

    #[test]
    fn every_operator_matches_as_kubernetes_does() {
        let o = obj(json!({"app": "web", "tier": "db", "n": "5"}));
        let cases = [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app!=api", true),
            ("missing!=x", true),
            ("app in (api, web)", true),
            ("app notin (api,web)", false),
            ("missing notin (a)", true),
            ("tier", true),
            ("!tier", false),
            ("!missing", true),
            ("n>4", true),
            ("n<5", false),
            ("app=web,tier in (db),!missing", true),
            ("app=web,tier=cache", false),
            ("", true),
        ];
        for (selector, expected) in cases {
            let parsed = LabelSelector::parse(selector).expect(selector);
            assert_eq!(parsed.matches(&o), expected, "{selector}");
        }
    }

    #[test]
    fn malformed_selectors_are_rejected_with_the_requirement_named() {
        assert_eq!(
            LabelSelector::parse("app in web"),
            Err(LabelSelectorError {
                detail: "found 'web', expected: '('".into()
            })
        );
        assert_eq!(
            LabelSelector::parse("a b"),
            Err(LabelSelectorError {
                detail: "found 'b', expected: in, notin, =, ==, !=, gt, lt".into()
            })
        );
    }

    #[test]
    fn label_selector_objects_render_as_text() {
        let selector = json!({"matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "c", "operator": "In", "values": ["x", "y"]},
                                 {"key": "d", "operator": "DoesNotExist"}]});
        assert_eq!(
            label_selector_object_to_string(&selector),
            "a=1,b=2,c in (x,y),!d"
        );
    }
}
