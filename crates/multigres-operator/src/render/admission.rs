//! What the API server would do with each input before storing it (spec-api.md §9, and
//! rust-ecosystem.md's account of apiextensions-apiserver): reject unknown fields (`metadata`
//! included) as `fieldValidation=Strict` does, validate `metadata.name` (DNS-1123 subdomain) and
//! `metadata.namespace` (DNS-1123 label), apply the CRD schema defaults, validate the OpenAPI
//! schema (types, enums, bounds, patterns, required fields) and the CEL rules of the operator's
//! own CRDs (`multigres_api::crds`).
//!
//! The schema engine is the `crd-admission` crate (kubesim serves custom resources with it too), which follows
//! apiextensions-apiserver and evaluates CEL with kube-cel, so render reports what
//! `kubectl apply --server-side` would: the same paths and the same texts. Pure; the validating
//! webhook's own checks (spec-api.md §11) run later, on the resolved cluster.

use std::collections::BTreeMap;

use crd_admission::crd_schema::{CompiledCrd, FieldValidation, StrictDecodingError};
use crd_admission::object_meta::{NameRule, prune_unknown_metadata, validate_name_and_namespace};
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;

use super::input::{DEFAULT_NAMESPACE, Document, InputKind};

/// The operator's CRDs, compiled once.
pub struct Admission {
    crds: BTreeMap<String, CompiledCrd>,
}

/// The CRDs of `multigres_api::crds` did not compile; a defect of this build, not of the input.
#[derive(Debug, thiserror::Error)]
#[error("the operator's CRD {crd} is not a valid CustomResourceDefinition: {causes}")]
pub struct CrdDefect {
    pub crd: String,
    pub causes: String,
}

impl Admission {
    /// Compiles every CRD of the operator.
    pub fn new() -> Result<Self, CrdDefect> {
        let mut crds = BTreeMap::new();
        for crd in multigres_api::crds::crds() {
            let compiled = CompiledCrd::new(&crd).map_err(|causes| CrdDefect {
                crd: crd.metadata.name.clone().unwrap_or_default(),
                causes: causes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            })?;
            crds.insert(compiled.kind().to_owned(), compiled);
        }
        Ok(Self { crds })
    }

    /// Defaults `document` in place and returns every reason the API server would refuse it
    /// (empty when it would store it), each `field: problem` in the API server's words.
    pub fn admit(&self, document: &mut Document) -> Vec<String> {
        // Stored where `kubectl apply` would place it, so the namespace is checked too.
        if let Some(metadata) = document.value["metadata"].as_object_mut() {
            metadata.insert(
                "namespace".to_owned(),
                Value::String(document.namespace.clone()),
            );
        }
        if document.kind == InputKind::ConfigMap {
            return admit_config_map(&mut document.value);
        }
        self.admit_custom_resource(document.kind.kind(), &mut document.value)
    }

    /// Defaults a custom resource of `kind` in place and returns every reason the API server
    /// would refuse it: unknown fields (strict field validation, `metadata` included), then
    /// the name and namespace, the schema and the CEL causes.
    pub fn admit_custom_resource(&self, kind: &str, value: &mut Value) -> Vec<String> {
        let Some(crd) = self.crds.get(kind) else {
            return vec![format!(
                "no CustomResourceDefinition of the operator serves kind {kind}"
            )];
        };
        place_in_default_namespace(value);
        let version = api_version_suffix(value);
        // Unlike the API server, which stops at the first unknown field (a 400 before any
        // validation), render goes on with the pruned object, so one run reports everything.
        let mut problems: Vec<String> =
            match crd.prune_and_default(&version, value, FieldValidation::Strict) {
                Ok(_) => Vec::new(),
                Err(unknown) => vec![unknown.to_string()],
            };
        // `customResourceValidator.Validate`: object metadata first, then the schema.
        let mut causes = validate_name_and_namespace(value, NameRule::Subdomain, true);
        if let Err(schema_causes) = crd.validate(&version, value, None) {
            causes.extend(schema_causes);
        }
        problems.extend(causes.iter().map(ToString::to_string));
        problems
    }
}

/// Gives an object that names no namespace the one `kubectl apply` would send it to.
fn place_in_default_namespace(value: &mut Value) {
    if let Some(metadata) = value["metadata"].as_object_mut()
        && metadata
            .get("namespace")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        metadata.insert(
            "namespace".to_owned(),
            Value::String(DEFAULT_NAMESPACE.to_owned()),
        );
    }
}

/// The members a ConfigMap declares besides `metadata` (`core/v1` `ConfigMap`).
const CONFIG_MAP_FIELDS: [&str; 6] = [
    "apiVersion",
    "kind",
    "metadata",
    "data",
    "binaryData",
    "immutable",
];

/// What the API server does with a ConfigMap before storing it, as far as render needs it:
/// strict decoding (unknown members, `metadata` included), the name and namespace, and the
/// types of `data` and `binaryData`.
fn admit_config_map(value: &mut Value) -> Vec<String> {
    let mut unknown = prune_unknown_metadata(value);
    if let Some(object) = value.as_object_mut() {
        object.retain(|key, _| {
            let known = CONFIG_MAP_FIELDS.contains(&key.as_str());
            if !known {
                unknown.push(key.clone());
            }
            known
        });
    }
    let mut problems = Vec::new();
    if !unknown.is_empty() {
        problems.push(
            StrictDecodingError {
                unknown_fields: unknown,
            }
            .to_string(),
        );
    }
    problems.extend(
        validate_name_and_namespace(value, NameRule::Subdomain, true)
            .iter()
            .map(ToString::to_string),
    );
    if let Err(err) = serde_json::from_value::<ConfigMap>(value.clone()) {
        problems.push(format!("not a valid ConfigMap: {err}"));
    }
    problems
}

/// The version part of `apiVersion` (`v1alpha1` of `multigres.com/v1alpha1`).
fn api_version_suffix(value: &Value) -> String {
    value["apiVersion"]
        .as_str()
        .and_then(|api_version| api_version.rsplit('/').next())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::input::{InputFile, parse_files};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn admit(yaml: &str) -> (Value, Vec<String>) {
        let (mut documents, errors) = parse_files(&[InputFile {
            name: "input.yaml".into(),
            text: yaml.into(),
        }]);
        assert_eq!(errors, Vec::new());
        let admission = Admission::new().expect("the operator's CRDs compile");
        let problems = admission.admit(&mut documents[0]);
        (documents.remove(0).value, problems)
    }

    #[test]
    fn a_valid_cluster_gets_the_schema_defaults() {
        let (value, problems) = admit(
            "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: orders\nspec:\n  cells:\n  - name: eu-west-1a\n    zone: eu-west-1a\n",
        );
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(
            value["spec"]["pvcDeletionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Delete"})
        );
        assert_eq!(value["spec"]["postgresSuperuser"], json!("postgres"));
    }

    #[test]
    fn unknown_fields_are_reported_as_a_strict_decoding_error() {
        let (_, problems) = admit(
            "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: orders\n  labls: {app: db}\nspec:\n  cels: []\n  multiadmin:\n    spec:\n      replica: 2\n",
        );
        assert_eq!(
            problems,
            vec![
                "strict decoding error: unknown field \"metadata.labls\", unknown field \
                 \"spec.cels\", unknown field \"spec.multiadmin.spec.replica\""
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn unknown_fields_do_not_hide_the_other_violations() {
        let (_, problems) = admit(
            "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: orders\nspec:\n  cells:\n  - name: eu-b\n    zone: eu-west-1b\n    region: eu-west-1\n    weight: 3\n",
        );
        assert_eq!(
            problems,
            vec![
                "strict decoding error: unknown field \"spec.cells[0].weight\"".to_owned(),
                "spec.cells[0]: Invalid value: \"object\": cannot specify both 'zone' and 'region'"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn names_and_namespaces_are_checked_as_the_api_server_checks_them() {
        let (_, problems) = admit(
            "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: Orders\n  namespace: Shop_1\nspec: {}\n",
        );
        assert_eq!(
            problems,
            vec![
                "metadata.name: Invalid value: \"Orders\": a lowercase RFC 1123 subdomain must \
                 consist of lower case alphanumeric characters, '-' or '.', and must start and \
                 end with an alphanumeric character (e.g. 'example.com', regex used for \
                 validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                    .to_owned(),
                "metadata.namespace: Invalid value: \"Shop_1\": a lowercase RFC 1123 label must \
                 consist of lower case alphanumeric characters or '-', and must start and end \
                 with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for \
                 validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
                    .to_owned(),
            ]
        );
        // The CRD's own name rule (a CEL rule on metadata.name) applies too.
        let (_, problems) = admit(&format!(
            "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: {}\nspec: {{}}\n",
            "a".repeat(26)
        ));
        assert_eq!(
            problems,
            vec![
                "<nil>: Invalid value: \"object\": MultigresCluster name must be at most 25 \
                 characters"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn schema_and_cel_violations_name_the_field() {
        let (_, problems) = admit(
            "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: orders\nspec:\n  images:\n    imagePullPolicy: Sometimes\n  cells:\n  - name: eu-west-1a\n    zone: eu-west-1a\n    region: eu-west-1\n",
        );
        assert_eq!(
            problems,
            vec![
                "spec.images.imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \
                 \"Always\", \"Never\", \"IfNotPresent\""
                    .to_owned(),
                "<nil>: Invalid value: \"null\": some validation rules were not checked because \
                 the object was invalid; correct the existing errors to complete validation"
                    .to_owned(),
            ]
        );
        let (_, problems) = admit(
            "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: orders\nspec:\n  cells:\n  - name: eu-west-1a\n    zone: eu-west-1a\n    region: eu-west-1\n",
        );
        assert_eq!(
            problems,
            vec![
                "spec.cells[0]: Invalid value: \"object\": cannot specify both 'zone' and 'region'"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn a_config_map_must_have_the_config_map_shape() {
        let (_, problems) = admit(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pg-tuning\n  colour: red\ndatta: {}\ndata:\n  postgresql.conf: [not, a, string]\n",
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(
            problems[0],
            "strict decoding error: unknown field \"metadata.colour\", unknown field \"datta\""
        );
        assert!(
            problems[1].starts_with("not a valid ConfigMap: "),
            "{}",
            problems[1]
        );
    }
}
