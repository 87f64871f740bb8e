//! The `render` command's input: YAML or JSON files, each with any number of documents, split
//! into the objects render understands (a MultigresCluster, its templates and the ConfigMaps
//! they reference).
//!
//! Pure: the CLI reads the files (or standard input) and hands their text here. This module only
//! parses and classifies; defaulting and validation happen in `admission`.

use std::fmt;

use serde_json::Value;

/// One input file as read by the CLI: its name as the user gave it (`-` is standard input) and
/// its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    pub name: String,
    pub text: String,
}

/// Where a document came from: the file and its position in it (1-based), for messages.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    pub file: String,
    pub document: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (document {})", self.file, self.document)
    }
}

/// The kinds of object render accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InputKind {
    MultigresCluster,
    CoreTemplate,
    CellTemplate,
    ShardTemplate,
    ConfigMap,
}

impl InputKind {
    const ALL: [InputKind; 5] = [
        InputKind::MultigresCluster,
        InputKind::CoreTemplate,
        InputKind::CellTemplate,
        InputKind::ShardTemplate,
        InputKind::ConfigMap,
    ];

    /// The `kind` field.
    pub const fn kind(self) -> &'static str {
        match self {
            InputKind::MultigresCluster => "MultigresCluster",
            InputKind::CoreTemplate => "CoreTemplate",
            InputKind::CellTemplate => "CellTemplate",
            InputKind::ShardTemplate => "ShardTemplate",
            InputKind::ConfigMap => "ConfigMap",
        }
    }

    /// The `apiVersion` field.
    pub const fn api_version(self) -> &'static str {
        match self {
            InputKind::ConfigMap => "v1",
            _ => "multigres.com/v1alpha1",
        }
    }

    fn from_type_meta(api_version: &str, kind: &str) -> Option<InputKind> {
        Self::ALL
            .into_iter()
            .find(|candidate| candidate.kind() == kind && candidate.api_version() == api_version)
    }

    /// `apiVersion kind` of every accepted kind, for messages.
    fn accepted() -> String {
        Self::ALL
            .iter()
            .map(|kind| format!("{} {}", kind.api_version(), kind.kind()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One parsed document: where it came from, what it is, and its JSON value.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub source: Source,
    pub kind: InputKind,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`; `default` when unset, as `kubectl apply` would place it.
    pub namespace: String,
    pub value: Value,
}

impl Document {
    /// `Kind namespace/name`, for messages.
    pub fn describe(&self) -> String {
        format!("{} {}/{}", self.kind.kind(), self.namespace, self.name)
    }
}

/// The namespace of an object that names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A document render cannot use; every problem of every file is reported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{file}: not valid YAML or JSON: {reason}")]
    Syntax { file: String, reason: String },
    #[error("{at}: a document must be an object with apiVersion, kind and metadata.name")]
    NotAnObject { at: Source },
    #[error(
        "{at}: apiVersion {api_version:?} kind {kind:?} is not an input of render; \
         accepted are {accepted}"
    )]
    UnknownKind {
        at: Source,
        api_version: String,
        kind: String,
        accepted: String,
    },
    #[error("{at}: {kind} has no metadata.name; every object needs a name")]
    MissingName { at: Source, kind: &'static str },
    #[error("{file}: no objects in this file (it is empty or holds only comments)")]
    Empty { file: String },
}

/// Splits every file into documents, skipping empty ones (a leading or trailing `---`).
pub fn parse_files(files: &[InputFile]) -> (Vec<Document>, Vec<InputError>) {
    let mut documents = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        let values: Vec<Value> = match serde_saphyr::from_multiple(&file.text) {
            Ok(values) => values,
            Err(err) => {
                errors.push(InputError::Syntax {
                    file: file.name.clone(),
                    reason: err.to_string(),
                });
                continue;
            }
        };
        if values.iter().all(Value::is_null) {
            // Named here: otherwise the only message would be that no cluster was given.
            errors.push(InputError::Empty {
                file: file.name.clone(),
            });
            continue;
        }
        for (index, value) in values.into_iter().enumerate() {
            if value.is_null() {
                continue;
            }
            let source = Source {
                file: file.name.clone(),
                document: index + 1,
            };
            match classify(source, value) {
                Ok(document) => documents.push(document),
                Err(err) => errors.push(err),
            }
        }
    }
    (documents, errors)
}

fn classify(source: Source, value: Value) -> Result<Document, InputError> {
    let Some(object) = value.as_object() else {
        return Err(InputError::NotAnObject { at: source });
    };
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or_default();
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    let Some(input_kind) = InputKind::from_type_meta(api_version, kind) else {
        return Err(InputError::UnknownKind {
            at: source,
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            accepted: InputKind::accepted(),
        });
    };
    let metadata = object.get("metadata");
    let meta_text = |key: &str| {
        metadata
            .and_then(|metadata| metadata.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let name = meta_text("name");
    if name.is_empty() {
        return Err(InputError::MissingName {
            at: source,
            kind: input_kind.kind(),
        });
    }
    let namespace = match meta_text("namespace") {
        namespace if namespace.is_empty() => DEFAULT_NAMESPACE.to_owned(),
        namespace => namespace,
    };
    Ok(Document {
        source,
        kind: input_kind,
        name,
        namespace,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn file(name: &str, text: &str) -> InputFile {
        InputFile {
            name: name.to_owned(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn yaml_streams_and_json_documents_are_split_and_classified() {
        let (documents, errors) = parse_files(&[
            file(
                "cluster.yaml",
                "---\napiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: orders\n  namespace: shop\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pg-tuning\n---\n",
            ),
            file(
                "template.json",
                r#"{"apiVersion": "multigres.com/v1alpha1", "kind": "ShardTemplate", "metadata": {"name": "standard"}, "spec": {}}"#,
            ),
        ]);
        assert_eq!(errors, Vec::<InputError>::new());
        let summary: Vec<(String, InputKind, String)> = documents
            .iter()
            .map(|d| (d.source.to_string(), d.kind, d.describe()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "cluster.yaml (document 1)".to_owned(),
                    InputKind::MultigresCluster,
                    "MultigresCluster shop/orders".to_owned()
                ),
                (
                    "cluster.yaml (document 2)".to_owned(),
                    InputKind::ConfigMap,
                    "ConfigMap default/pg-tuning".to_owned()
                ),
                (
                    "template.json (document 1)".to_owned(),
                    InputKind::ShardTemplate,
                    "ShardTemplate default/standard".to_owned()
                ),
            ]
        );
        assert_eq!(documents[2].value["spec"], json!({}));
    }

    #[test]
    fn an_empty_or_comment_only_file_is_named() {
        let (documents, errors) = parse_files(&[
            file("empty.yaml", ""),
            file("comments.yaml", "# a cluster goes here\n---\n# and here\n"),
        ]);
        assert_eq!(documents, Vec::new());
        assert_eq!(
            errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "empty.yaml: no objects in this file (it is empty or holds only comments)"
                    .to_owned(),
                "comments.yaml: no objects in this file (it is empty or holds only comments)"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn every_bad_document_is_reported() {
        let (documents, errors) = parse_files(&[
            file("broken.yaml", "apiVersion: [unclosed\n"),
            file(
                "mixed.yaml",
                "- just\n- a list\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\napiVersion: multigres.com/v1alpha1\nkind: CellTemplate\nmetadata: {}\n",
            ),
        ]);
        assert_eq!(documents, Vec::new());
        assert!(matches!(&errors[0], InputError::Syntax { file, .. } if file == "broken.yaml"));
        assert_eq!(
            errors[1..]
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            vec![
                "mixed.yaml (document 1): a document must be an object with apiVersion, kind and \
                 metadata.name"
                    .to_owned(),
                "mixed.yaml (document 2): apiVersion \"apps/v1\" kind \"Deployment\" is not an \
                 input of render; accepted are multigres.com/v1alpha1 MultigresCluster, \
                 multigres.com/v1alpha1 CoreTemplate, multigres.com/v1alpha1 CellTemplate, \
                 multigres.com/v1alpha1 ShardTemplate, v1 ConfigMap"
                    .to_owned(),
                "mixed.yaml (document 3): CellTemplate has no metadata.name; every object needs \
                 a name"
                    .to_owned(),
            ]
        );
    }
}
