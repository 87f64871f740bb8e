//! The validating webhooks' decisions (spec-api.md §12.4–§12.6), each a pure function of the
//! request and of what the handler read from the API server, calling the checks of
//! `multigres_api::validation` (the ones `render` and the controllers run):
//!
//! - MultigresCluster CREATE/UPDATE: [`validate_cluster`] then, on UPDATE,
//!   [`validate_cluster_update`] (storage shrink, etcd replicas);
//! - templates: pool names (ShardTemplate), edits checked against every cluster using the
//!   template (deliberate fix 11), deletion refused while any cluster uses it, explicitly or
//!   as the namespace's `default`, labelled or not (deliberate fix 5);
//! - Cell, Shard, TableGroup and TopoServer: only the operator, the garbage collector and the
//!   namespace controller may write them.
//!
//! Messages are Go's; a rejection lists every finding (`field: message`, sorted) and carries
//! each as a cause with its field.

use multigres_api::resolver::{TemplateKind, TemplateSource, error_chain_text};
use multigres_api::v1alpha1::{CellTemplate, CoreTemplate, MultigresCluster, ShardTemplate};
use multigres_api::validation::{
    ClusterFacts, FieldError, TemplateEdit, deletion_blocker, validate_cluster,
    validate_cluster_update, validate_shard_template_pools, validate_template_change,
};
use serde_json::Value;

use super::review::{AdmissionRequest, Cause, Operation, Verdict};

/// A rejection listing `errors` (`field: message` each, joined by `"; "`), with one cause per
/// error.
pub fn reject(errors: &[FieldError]) -> Verdict {
    Verdict::Deny {
        code: 403,
        reason: "Forbidden".to_owned(),
        message: errors
            .iter()
            .map(FieldError::with_path)
            .collect::<Vec<_>>()
            .join("; "),
        causes: errors
            .iter()
            .map(|error| Cause {
                reason: "FieldValueInvalid".to_owned(),
                message: error.message.clone(),
                field: error.path.to_string(),
            })
            .collect(),
        warnings: Vec::new(),
    }
}

fn read_cluster(value: Option<&Value>, which: &str) -> Result<MultigresCluster, Verdict> {
    let value = value.ok_or_else(|| Verdict::bad_request(format!("the request has no {which}")))?;
    MultigresCluster::from_json(value).map_err(|err| {
        Verdict::bad_request(format!("the {which} is not a MultigresCluster: {err}"))
    })
}

/// `/validate-multigres-com-v1alpha1-multigrescluster`: the (already defaulted) cluster of a
/// CREATE or UPDATE, with the templates of its namespace and the cluster's nodes and
/// StorageClasses. Other operations are allowed (Go: DELETE is a no-op).
pub fn validate_cluster_request(
    request: &AdmissionRequest,
    templates: &dyn TemplateSource,
    facts: &ClusterFacts,
) -> Verdict {
    if !matches!(request.operation, Operation::Create | Operation::Update) {
        return Verdict::allow();
    }
    let cluster = match read_cluster(request.object.as_ref(), "object") {
        Ok(cluster) => cluster,
        Err(verdict) => return verdict,
    };
    let namespace = cluster
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| request.namespace.clone());
    let report = match validate_cluster(&cluster.spec, &namespace, templates, facts) {
        Ok(report) => report,
        Err(lookup) => return Verdict::internal(error_chain_text(&lookup)),
    };
    if !report.is_valid() {
        return reject(&report.errors);
    }
    let warnings: Vec<String> = report.warnings.iter().map(|w| w.with_path()).collect();
    if request.operation == Operation::Update {
        let old = match read_cluster(request.old_object.as_ref(), "oldObject") {
            Ok(old) => old,
            Err(verdict) => return verdict,
        };
        let errors = validate_cluster_update(&old.spec, &cluster.spec);
        if !errors.is_empty() {
            return with_warnings(reject(&errors), warnings);
        }
    }
    Verdict::Allow {
        warnings,
        patch: None,
    }
}

fn with_warnings(verdict: Verdict, extra: Vec<String>) -> Verdict {
    match verdict {
        Verdict::Deny {
            code,
            reason,
            message,
            causes,
            mut warnings,
        } => {
            warnings.extend(extra);
            Verdict::Deny {
                code,
                reason,
                message,
                causes,
                warnings,
            }
        }
        allowed => allowed,
    }
}

/// The template kind served at a path's kind name.
pub fn template_kind(kind: &str) -> Option<TemplateKind> {
    match kind {
        "CoreTemplate" => Some(TemplateKind::Core),
        "CellTemplate" => Some(TemplateKind::Cell),
        "ShardTemplate" => Some(TemplateKind::Shard),
        _ => None,
    }
}

fn read_edit(kind: TemplateKind, value: &Value) -> Result<TemplateEdit, serde_json::Error> {
    Ok(match kind {
        TemplateKind::Core => {
            TemplateEdit::Core(serde_json::from_value::<CoreTemplate>(value.clone())?.spec)
        }
        TemplateKind::Cell => {
            TemplateEdit::Cell(serde_json::from_value::<CellTemplate>(value.clone())?.spec)
        }
        TemplateKind::Shard => {
            TemplateEdit::Shard(serde_json::from_value::<ShardTemplate>(value.clone())?.spec)
        }
    })
}

/// `/validate-multigres-com-v1alpha1-{core,cell,shard}template`. `clusters` are the
/// MultigresClusters of the template's namespace (all of them, labelled or not), `templates`
/// that namespace's templates as stored, `facts` the nodes and StorageClasses.
pub fn validate_template_request(
    kind: TemplateKind,
    request: &AdmissionRequest,
    clusters: &[MultigresCluster],
    templates: &dyn TemplateSource,
    facts: &ClusterFacts,
) -> Verdict {
    let name = request.name.as_str();
    match request.operation {
        Operation::Delete => match deletion_blocker(kind, name, clusters) {
            Some(message) => Verdict::forbidden(message),
            None => Verdict::allow(),
        },
        Operation::Create | Operation::Update => {
            let Some(object) = request.object.as_ref() else {
                return Verdict::bad_request("the request has no object");
            };
            let edit = match read_edit(kind, object) {
                Ok(edit) => edit,
                Err(err) => {
                    return Verdict::bad_request(format!("the object is not a {kind}: {err}"));
                }
            };
            if let TemplateEdit::Shard(spec) = &edit {
                let errors = validate_shard_template_pools(spec);
                if !errors.is_empty() {
                    return reject(&errors);
                }
            }
            // Deliberate fix 11: the edit must keep every cluster that uses it valid.
            let report = match validate_template_change(name, &edit, clusters, templates, facts) {
                Ok(report) => report,
                Err(lookup) => return Verdict::internal(error_chain_text(&lookup)),
            };
            let warnings: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
            if report.errors.is_empty() {
                return Verdict::Allow {
                    warnings,
                    patch: None,
                };
            }
            let findings: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
            Verdict::Deny {
                code: 403,
                reason: "Forbidden".to_owned(),
                message: format!(
                    "{kind} '{name}' would make the MultigresClusters using it invalid: {}",
                    findings.join("; ")
                ),
                causes: report
                    .errors
                    .iter()
                    .map(|finding| Cause {
                        reason: "FieldValueInvalid".to_owned(),
                        message: format!(
                            "MultigresCluster '{}': {}",
                            finding.cluster, finding.message
                        ),
                        field: finding.path.to_string(),
                    })
                    .collect(),
                warnings,
            }
        }
        Operation::Connect => Verdict::allow(),
    }
}

/// The users allowed to write child resources (spec-api.md §12.2 step 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExemptUsers(Vec<String>);

impl ExemptUsers {
    /// The operator's ServiceAccount `namespace/service_account`, the garbage collector and
    /// the namespace controller.
    pub fn new(namespace: &str, service_account: &str) -> Self {
        ExemptUsers(vec![
            format!("system:serviceaccount:{namespace}:{service_account}"),
            "system:serviceaccount:kube-system:generic-garbage-collector".to_owned(),
            "system:serviceaccount:kube-system:namespace-controller".to_owned(),
        ])
    }

    /// Whether `username` (exactly; groups do not count) is exempt.
    pub fn contains(&self, username: &str) -> bool {
        self.0.iter().any(|user| user == username)
    }
}

/// `/validate-multigres-com-v1alpha1-{cell,shard,tablegroup,toposerver}` (spec-api.md §12.6).
pub fn validate_child_request(request: &AdmissionRequest, exempt: &ExemptUsers) -> Verdict {
    if exempt.contains(&request.user_info.username) {
        return Verdict::allow();
    }
    let kind = if request.kind.kind.is_empty() {
        "Resource"
    } else {
        request.kind.kind.as_str()
    };
    Verdict::forbidden(format!(
        "direct modification of {kind} is prohibited; this resource is managed by the \
         MultigresCluster parent object"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::review::{Kind, UserInfo};
    use multigres_api::resolver::NamespaceTemplates;
    use multigres_api::validation::StorageClassFacts;
    use pretty_assertions::assert_eq;
    use rstest::rstest;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn request(operation: Operation, kind: &str, object: Option<Value>) -> AdmissionRequest {
        AdmissionRequest {
            uid: "uid".into(),
            kind: Kind {
                group: "multigres.com".into(),
                version: "v1alpha1".into(),
                kind: kind.into(),
            },
            operation,
            user_info: UserInfo {
                username: "alice".into(),
                groups: vec!["system:masters".into()],
            },
            name: object
                .as_ref()
                .and_then(|o| o["metadata"]["name"].as_str())
                .unwrap_or("x")
                .into(),
            namespace: "shop".into(),
            object,
            old_object: None,
            dry_run: false,
        }
    }

    fn facts() -> ClusterFacts {
        ClusterFacts {
            node_labels: None,
            storage_classes: vec![StorageClassFacts {
                name: "standard".into(),
                annotations: BTreeMap::from([(
                    "storageclass.kubernetes.io/is-default-class".into(),
                    "true".into(),
                )]),
            }],
        }
    }

    fn cluster(spec: Value) -> Value {
        json!({"apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
               "metadata": {"name": "orders", "namespace": "shop"}, "spec": spec})
    }

    #[rstest]
    #[case::cell(
        "Cell",
        "direct modification of Cell is prohibited; this resource is managed by the \
         MultigresCluster parent object"
    )]
    #[case::no_kind(
        "",
        "direct modification of Resource is prohibited; this resource is managed by the \
         MultigresCluster parent object"
    )]
    fn users_may_not_write_children(#[case] kind: &str, #[case] message: &str) {
        let exempt = ExemptUsers::new("ops", "operator");
        let verdict = validate_child_request(&request(Operation::Update, kind, None), &exempt);
        assert_eq!(verdict, Verdict::forbidden(message));
    }

    #[rstest]
    #[case("system:serviceaccount:ops:operator")]
    #[case("system:serviceaccount:kube-system:generic-garbage-collector")]
    #[case("system:serviceaccount:kube-system:namespace-controller")]
    fn the_operator_and_the_collectors_may(#[case] user: &str) {
        let exempt = ExemptUsers::new("ops", "operator");
        let mut request = request(Operation::Delete, "Shard", None);
        request.user_info.username = user.into();
        assert_eq!(validate_child_request(&request, &exempt), Verdict::allow());
    }

    #[test]
    fn a_missing_template_is_rejected_with_its_field() {
        let object = cluster(json!({"templateDefaults": {"cellTemplate": "gone"},
                                    "cells": [{"name": "zone-a", "zone": "us-east-1a"}]}));
        let verdict = validate_cluster_request(
            &request(Operation::Create, "MultigresCluster", Some(object)),
            &NamespaceTemplates::empty(),
            &facts(),
        );
        assert_eq!(
            verdict,
            Verdict::Deny {
                code: 403,
                reason: "Forbidden".into(),
                message: "spec.templateDefaults.cellTemplate: referenced CellTemplate 'gone' \
                          not found in namespace 'shop'"
                    .into(),
                causes: vec![Cause {
                    reason: "FieldValueInvalid".into(),
                    message: "referenced CellTemplate 'gone' not found in namespace 'shop'".into(),
                    field: "spec.templateDefaults.cellTemplate".into(),
                }],
                warnings: vec![],
            }
        );
    }

    #[test]
    fn etcd_replicas_cannot_change_on_update() {
        let old = cluster(json!({"globalTopoServer": {"etcd": {"replicas": 3}},
                                 "cells": [{"name": "zone-a", "zone": "us-east-1a"}]}));
        let new = cluster(json!({"globalTopoServer": {"etcd": {"replicas": 5}},
                                 "cells": [{"name": "zone-a", "zone": "us-east-1a"}]}));
        let mut update = request(Operation::Update, "MultigresCluster", Some(new));
        update.old_object = Some(old);
        let Verdict::Deny { message, .. } =
            validate_cluster_request(&update, &NamespaceTemplates::empty(), &facts())
        else {
            unreachable!("an etcd resize must be refused");
        };
        assert_eq!(
            message,
            "spec.globalTopoServer.etcd.replicas: topology server (etcd) replicas cannot be \
             changed after cluster creation (3 → 5); etcd uses static bootstrap which does not \
             support dynamic member addition"
        );
    }

    #[test]
    fn a_template_in_use_cannot_be_deleted() {
        let user: MultigresCluster = serde_json::from_value(cluster(
            json!({"cells": [{"name": "zone-a", "zone": "us-east-1a", "cellTemplate": "gw"}]}),
        ))
        .expect("a cluster");
        let mut delete = request(Operation::Delete, "CellTemplate", None);
        delete.name = "gw".into();
        assert_eq!(
            validate_template_request(
                TemplateKind::Cell,
                &delete,
                &[user],
                &NamespaceTemplates::empty(),
                &facts()
            ),
            Verdict::forbidden(
                "cannot delete CellTemplate 'gw' because it is in use by MultigresCluster 'orders'"
            )
        );
        assert_eq!(
            validate_template_request(
                TemplateKind::Cell,
                &delete,
                &[],
                &NamespaceTemplates::empty(),
                &facts()
            ),
            Verdict::allow()
        );
    }

    #[test]
    fn shard_template_pool_names_are_checked() {
        let template = json!({"apiVersion": "multigres.com/v1alpha1", "kind": "ShardTemplate",
                              "metadata": {"name": "std", "namespace": "shop"},
                              "spec": {"pools": {"Bad_Name": {"type": "readWrite"}}}});
        let verdict = validate_template_request(
            TemplateKind::Shard,
            &request(Operation::Create, "ShardTemplate", Some(template)),
            &[],
            &NamespaceTemplates::empty(),
            &facts(),
        );
        let Verdict::Deny { causes, .. } = verdict else {
            unreachable!("an invalid pool name must be refused");
        };
        assert_eq!(causes[0].field, "spec.pools[Bad_Name]");
    }
}
