//! Field selectors (`fieldSelector=metadata.name=x,status.phase!=Failed`, rust-ecosystem.md
//! §3.3 Selectors). Which fields a resource supports is the registry's knowledge
//! (`ResourceDef::supports_field`); an unsupported one is a 400 `field label not supported: X`.
//!
//! Pure: parsing and matching only.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    field: String,
    value: String,
    negated: bool,
}

/// A parsed field selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSelectorError {
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    Malformed { selector: String, term: String },
    #[error("field label not supported: {field}")]
    Unsupported { field: String },
}

impl FieldSelector {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Parses the query value, accepting only fields for which `supported` is true.
    pub fn parse(
        input: &str,
        supported: impl Fn(&str) -> bool,
    ) -> Result<FieldSelector, FieldSelectorError> {
        let mut terms = Vec::new();
        for term in input.split(',') {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            let (field, value, negated) = if let Some((f, v)) = term.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, v, false)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, v, false)
            } else {
                return Err(FieldSelectorError::Malformed {
                    selector: input.to_string(),
                    term: term.to_string(),
                });
            };
            let field = field.trim();
            if !supported(field) {
                return Err(FieldSelectorError::Unsupported {
                    field: field.to_string(),
                });
            }
            terms.push(Term {
                field: field.to_string(),
                value: value.trim().to_string(),
                negated,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// The value of `metadata.name=` when the selector pins one name (lets a list skip a scan).
    pub fn pinned_name(&self) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == "metadata.name" && !t.negated)
            .map(|t| t.value.as_str())
    }

    /// Whether the object (in the representation being served) satisfies every term.
    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|t| {
            let actual = field_value(object, &t.field);
            (actual == t.value) != t.negated
        })
    }
}

/// What an absent field reads as: upstream renders typed Go fields, so a missing boolean is
/// `false` and a missing count `0`; strings are `""`.
fn absent_value(field: &str) -> &'static str {
    match field {
        "spec.unschedulable" | "spec.hostNetwork" => "false",
        "status.replicas" | "status.successful" => "0",
        _ => "",
    }
}

/// The string form of a selectable field: strings as is, booleans and numbers as text, absent
/// fields per [`absent_value`]. `source` on core/v1 Events means `source.component`, as upstream.
fn field_value(object: &Value, field: &str) -> String {
    let path = if field == "source" {
        "source.component"
    } else {
        field
    };
    let mut current = object;
    for segment in path.split('.') {
        match current.get(segment) {
            Some(next) => current = next,
            None => return absent_value(field).to_string(),
        }
    }
    match current {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all(_: &str) -> bool {
        true
    }

    #[test]
    fn terms_compare_strings_booleans_and_absent_fields() {
        let pod = json!({"metadata": {"name": "p", "namespace": "ns"},
                         "spec": {"nodeName": "n1", "hostNetwork": true},
                         "status": {"phase": "Running"}});
        let cases = [
            ("metadata.name=p", true),
            ("metadata.name==q", false),
            ("metadata.namespace=ns,status.phase!=Failed", true),
            ("spec.nodeName=n1,spec.hostNetwork=true", true),
            ("status.podIP=", true),
            ("status.podIP!=", false),
            ("spec.unschedulable=false", true),
        ];
        for (selector, expected) in cases {
            let parsed = FieldSelector::parse(selector, all).expect(selector);
            assert_eq!(parsed.matches(&pod), expected, "{selector}");
        }
    }

    #[test]
    fn unsupported_fields_are_named_in_the_error() {
        let only_meta = |f: &str| f.starts_with("metadata.");
        assert_eq!(
            FieldSelector::parse("metadata.name=a,spec.x=1", only_meta),
            Err(FieldSelectorError::Unsupported {
                field: "spec.x".into()
            })
        );
        assert_eq!(
            FieldSelectorError::Unsupported {
                field: "spec.x".into()
            }
            .to_string(),
            "field label not supported: spec.x"
        );
    }

    #[test]
    fn pinned_name_is_found() {
        let parsed =
            FieldSelector::parse("metadata.namespace=a,metadata.name=b", all).expect("valid");
        assert_eq!(parsed.pinned_name(), Some("b"));
    }
}
