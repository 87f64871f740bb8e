//! The `render` command (style.md §6, docs/render.md): every object the operator would create
//! for the MultigresClusters in some files, computed without a Kubernetes cluster.
//!
//! The pipeline is the one a cluster runs: [`input`] splits the files into documents,
//! [`admission`] does what the API server does before storing each (unknown fields, schema
//! defaults, OpenAPI and CEL validation), and [`cluster_objects`] runs the webhooks' defaulting
//! and validation and every controller's builders; [`output`] prints the result. Every problem
//! of the input is reported at once.
//!
//! Pure: the CLI reads the files and writes the streams. Same input, same bytes.

pub mod admission;
pub mod cluster_objects;
pub mod input;
pub mod output;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use multigres_api::resolver::NamespaceTemplates;
use multigres_api::v1alpha1::{CellTemplate, CoreTemplate, ShardTemplate};

use admission::{Admission, CrdDefect};
use cluster_objects::{ClusterFailure, ClusterInputs, render_cluster};
use input::{Document, InputKind, parse_files};
use output::{OutputError, print_objects};

pub use input::InputFile;
pub use output::OutputFormat;

/// What `render` prints: the objects on standard output, the rest on standard error.
#[derive(Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The objects, in the requested format.
    pub output: String,
    /// The validating webhook's warnings, one line each.
    pub warnings: Vec<String>,
    /// The defaulting decisions, and where the printed objects differ from what the operator
    /// would send, one line each.
    pub notes: Vec<String>,
}

/// Why nothing was rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "the input is not valid ({} problem{}):\n{}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.join("\n")
    )]
    Invalid { problems: Vec<String> },
    #[error(
        "no MultigresCluster in the input; render needs at least one object with apiVersion \
         multigres.com/v1alpha1 and kind MultigresCluster"
    )]
    NoCluster,
    #[error("render failed on MultigresCluster {cluster} (a defect of the operator): {detail}")]
    Defect { cluster: String, detail: String },
    #[error(transparent)]
    Crds(#[from] CrdDefect),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Renders every MultigresCluster of `files`, clusters in namespace and name order.
pub fn render(files: &[InputFile], format: OutputFormat) -> Result<Rendered, RenderError> {
    let (mut documents, input_errors) = parse_files(files);
    let mut problems: Vec<String> = input_errors.iter().map(ToString::to_string).collect();
    let admission = Admission::new()?;
    for document in &mut documents {
        let where_ = format!("{}: {}", document.source, document.describe());
        problems.extend(
            admission
                .admit(document)
                .into_iter()
                .map(|problem| format!("{where_}: {problem}")),
        );
    }
    problems.extend(duplicates(&documents));
    if !problems.is_empty() {
        problems.sort();
        return Err(RenderError::Invalid { problems });
    }

    let namespaces = Namespaces::collect(&documents, &mut problems);
    let mut clusters: Vec<&Document> = documents
        .iter()
        .filter(|document| document.kind == InputKind::MultigresCluster)
        .collect();
    if clusters.is_empty() && problems.is_empty() {
        return Err(RenderError::NoCluster);
    }
    clusters.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));

    let mut objects = Vec::new();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    for cluster in clusters {
        let inputs = ClusterInputs {
            templates: namespaces
                .templates
                .get(&cluster.namespace)
                .unwrap_or(&namespaces.no_templates),
            config_maps: namespaces
                .config_maps
                .get(&cluster.namespace)
                .unwrap_or(&namespaces.no_config_maps),
        };
        let mut value = cluster.value.clone();
        // Placed in `default` when it names no namespace, as `kubectl apply` would; and, since
        // nothing is stored, without a uid even when the file was exported from a cluster, so
        // every owner reference reads `uid: ""`.
        value["metadata"]["namespace"] = serde_json::Value::String(cluster.namespace.clone());
        if let Some(metadata) = value["metadata"].as_object_mut() {
            metadata.remove("uid");
        }
        match render_cluster(&value, &inputs, &admission) {
            Ok(rendered) => {
                objects.extend(rendered.objects);
                warnings.extend(
                    rendered
                        .warnings
                        .into_iter()
                        .map(|warning| format!("{}: {warning}", cluster.describe())),
                );
                notes.extend(
                    rendered
                        .notes
                        .into_iter()
                        .map(|note| format!("{}: {note}", cluster.describe())),
                );
            }
            Err(ClusterFailure::Invalid(found)) => {
                problems.extend(found.into_iter().map(|problem| {
                    format!("{}: {}: {problem}", cluster.source, cluster.describe())
                }))
            }
            Err(ClusterFailure::Defect(detail)) => {
                return Err(RenderError::Defect {
                    cluster: cluster.describe(),
                    detail,
                });
            }
        }
    }
    if !problems.is_empty() {
        problems.sort();
        return Err(RenderError::Invalid { problems });
    }
    Ok(Rendered {
        output: print_objects(objects, format)?,
        warnings,
        notes,
    })
}

/// One problem per object given twice (same kind, namespace and name).
fn duplicates(documents: &[Document]) -> Vec<String> {
    let mut first: BTreeMap<(InputKind, &str, &str), &Document> = BTreeMap::new();
    let mut problems = Vec::new();
    for document in documents {
        let key = (
            document.kind,
            document.namespace.as_str(),
            document.name.as_str(),
        );
        match first.get(&key) {
            Some(earlier) => problems.push(format!(
                "{}: {}: given twice, first in {}; each object may appear once",
                document.source,
                document.describe(),
                earlier.source
            )),
            None => {
                first.insert(key, document);
            }
        }
    }
    problems
}

/// The templates and ConfigMaps of the input, by namespace.
struct Namespaces {
    templates: BTreeMap<String, NamespaceTemplates>,
    config_maps: BTreeMap<String, BTreeMap<String, ConfigMap>>,
    no_templates: NamespaceTemplates,
    no_config_maps: BTreeMap<String, ConfigMap>,
}

impl Namespaces {
    /// Reads the admitted templates and ConfigMaps; one that does not read back as its type is
    /// a problem.
    fn collect(documents: &[Document], problems: &mut Vec<String>) -> Self {
        let mut namespaces = Namespaces {
            templates: BTreeMap::new(),
            config_maps: BTreeMap::new(),
            no_templates: NamespaceTemplates::empty(),
            no_config_maps: BTreeMap::new(),
        };
        for document in documents {
            let templates = || NamespaceTemplates::empty();
            let read_error = |err: serde_json::Error| {
                format!(
                    "{}: {}: not a valid {}: {err}",
                    document.source,
                    document.describe(),
                    document.kind.kind()
                )
            };
            let name = document.name.clone();
            let namespace = document.namespace.clone();
            let result = match document.kind {
                InputKind::MultigresCluster => Ok(()),
                InputKind::CoreTemplate => {
                    serde_json::from_value::<CoreTemplate>(document.value.clone()).map(|template| {
                        let entry = namespaces
                            .templates
                            .entry(namespace)
                            .or_insert_with(templates);
                        entry.core.insert(name, template.spec);
                    })
                }
                InputKind::CellTemplate => {
                    serde_json::from_value::<CellTemplate>(document.value.clone()).map(|template| {
                        let entry = namespaces
                            .templates
                            .entry(namespace)
                            .or_insert_with(templates);
                        entry.cell.insert(name, template.spec);
                    })
                }
                InputKind::ShardTemplate => serde_json::from_value::<ShardTemplate>(
                    document.value.clone(),
                )
                .map(|template| {
                    let entry = namespaces
                        .templates
                        .entry(namespace)
                        .or_insert_with(templates);
                    entry.shard.insert(name, template.spec);
                }),
                InputKind::ConfigMap => serde_json::from_value::<ConfigMap>(document.value.clone())
                    .map(|config_map| {
                        namespaces
                            .config_maps
                            .entry(namespace)
                            .or_default()
                            .insert(name, config_map);
                    }),
            };
            if let Err(err) = result {
                problems.push(read_error(err));
            }
        }
        namespaces
    }
}
