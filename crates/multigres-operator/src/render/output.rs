//! How `render` prints objects: YAML documents (`---` before each) or one JSON `v1` `List`,
//! each object as the operator sends it minus `status`, which the API server owns and ignores on
//! these writes.
//!
//! Pure and deterministic: object order is the caller's, keys keep the serializer's order, so
//! the same input gives the same bytes.

use serde_json::{Value, json};

/// The output formats of `render -o`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Multi-document YAML (the default).
    Yaml,
    /// One JSON object of kind `List`, as `kubectl get -o json` prints several objects.
    Json,
}

/// Why the objects could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("failed to print {object} as YAML")]
    Yaml {
        object: String,
        #[source]
        source: serde_saphyr::ser::Error,
    },
    #[error("failed to print the objects as JSON")]
    Json {
        #[source]
        source: serde_json::Error,
    },
}

/// Prints `objects` in `format`.
pub fn print_objects(objects: Vec<Value>, format: OutputFormat) -> Result<String, OutputError> {
    let objects: Vec<Value> = objects.into_iter().map(without_status).collect();
    match format {
        OutputFormat::Yaml => {
            let mut out = String::new();
            for object in &objects {
                let yaml = serde_saphyr::to_string(object).map_err(|source| OutputError::Yaml {
                    object: describe(object),
                    source,
                })?;
                out.push_str("---\n");
                out.push_str(&yaml);
                if !yaml.ends_with('\n') {
                    out.push('\n');
                }
            }
            Ok(out)
        }
        OutputFormat::Json => {
            let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
            let mut text = serde_json::to_string_pretty(&list)
                .map_err(|source| OutputError::Json { source })?;
            text.push('\n');
            Ok(text)
        }
    }
}

fn without_status(mut object: Value) -> Value {
    if let Some(fields) = object.as_object_mut() {
        fields.remove("status");
    }
    object
}

/// `Kind namespace/name` of a printed object, for messages.
fn describe(object: &Value) -> String {
    format!(
        "{} {}/{}",
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn objects() -> Vec<Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "shop"},
                   "spec": {"ports": [{"name": "postgres", "port": 5432, "targetPort": "5432"}]},
                   "status": {"loadBalancer": {}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"enabled": "true"}}),
        ]
    }

    #[test]
    fn yaml_has_one_document_per_object_without_status_and_keeps_strings_strings() {
        let yaml = print_objects(objects(), OutputFormat::Yaml).expect("prints");
        let documents: Vec<Value> =
            serde_saphyr::from_multiple(&yaml).expect("the output reads back");
        let mut expected = objects();
        if let Some(service) = expected[0].as_object_mut() {
            service.remove("status");
        }
        assert_eq!(documents, expected);
        assert_eq!(yaml.matches("---\n").count(), 2);
        assert!(yaml.starts_with("---\n"), "{yaml}");
    }

    #[test]
    fn json_is_a_list() {
        let text = print_objects(objects(), OutputFormat::Json).expect("prints");
        let list: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(list["kind"], json!("List"));
        assert_eq!(list["items"][0]["metadata"]["name"], json!("a"));
        assert_eq!(list["items"][0].get("status"), None);
        assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    }
}
