//! The webhook configurations of the install manifest (spec-api.md §12.1): names, paths,
//! rules, operations and policies of every webhook entry, so the `manifests` command, the
//! certificate rotation and the tests all use the same ones.
//!
//! Pure: builds objects, never applies them.

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhook, MutatingWebhookConfiguration, RuleWithOperations, ServiceReference,
    ValidatingWebhook, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The MutatingWebhookConfiguration's name after kustomize.
pub const MUTATING_CONFIGURATION: &str = "multigres-operator-mutating-webhook-configuration";
/// The ValidatingWebhookConfiguration's name after kustomize.
pub const VALIDATING_CONFIGURATION: &str = "multigres-operator-validating-webhook-configuration";
/// The webhook Service's port; its targetPort is `--webhook-port`.
pub const SERVICE_PORT: i32 = 443;

/// One webhook entry of spec-api.md §12.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookEntry {
    /// The webhook's name.
    pub name: &'static str,
    /// The server path.
    pub path: &'static str,
    /// The resource (plural) of group `multigres.com`, version `v1alpha1`.
    pub resource: &'static str,
    /// The operations it sees.
    pub operations: &'static [&'static str],
}

/// The defaulter.
pub const MUTATING_WEBHOOKS: [WebhookEntry; 1] = [WebhookEntry {
    name: "mmultigrescluster.kb.io",
    path: "/mutate-multigres-com-v1alpha1-multigrescluster",
    resource: "multigresclusters",
    operations: &["CREATE", "UPDATE"],
}];

const WRITE_OPS: &[&str] = &["CREATE", "UPDATE", "DELETE"];

/// The validators, sorted by path as controller-gen writes them. Unlike Go, which sends only
/// DELETE of Core and CellTemplates, every template write is sent: deliberate fix 11 checks
/// each edit against the clusters using the template.
pub const VALIDATING_WEBHOOKS: [WebhookEntry; 8] = [
    WebhookEntry {
        name: "vcell.kb.io",
        path: "/validate-multigres-com-v1alpha1-cell",
        resource: "cells",
        operations: WRITE_OPS,
    },
    WebhookEntry {
        name: "vcelltemplate.kb.io",
        path: "/validate-multigres-com-v1alpha1-celltemplate",
        resource: "celltemplates",
        operations: WRITE_OPS,
    },
    WebhookEntry {
        name: "vcoretemplate.kb.io",
        path: "/validate-multigres-com-v1alpha1-coretemplate",
        resource: "coretemplates",
        operations: WRITE_OPS,
    },
    WebhookEntry {
        name: "vmultigrescluster.kb.io",
        path: "/validate-multigres-com-v1alpha1-multigrescluster",
        resource: "multigresclusters",
        operations: &["CREATE", "UPDATE"],
    },
    WebhookEntry {
        name: "vshard.kb.io",
        path: "/validate-multigres-com-v1alpha1-shard",
        resource: "shards",
        operations: WRITE_OPS,
    },
    WebhookEntry {
        name: "vshardtemplate.kb.io",
        path: "/validate-multigres-com-v1alpha1-shardtemplate",
        resource: "shardtemplates",
        operations: WRITE_OPS,
    },
    WebhookEntry {
        name: "vtablegroup.kb.io",
        path: "/validate-multigres-com-v1alpha1-tablegroup",
        resource: "tablegroups",
        operations: WRITE_OPS,
    },
    WebhookEntry {
        name: "vtoposerver.kb.io",
        path: "/validate-multigres-com-v1alpha1-toposerver",
        resource: "toposervers",
        operations: WRITE_OPS,
    },
];

/// Where the API server reaches the webhooks, and the CA it trusts (`None` until the
/// certificate rotation or cert-manager injects it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub service_name: String,
    /// The CA bundle, PEM.
    pub ca_bundle: Option<String>,
}

impl WebhookTarget {
    fn client_config(&self, path: &str) -> WebhookClientConfig {
        WebhookClientConfig {
            service: Some(ServiceReference {
                namespace: self.namespace.clone(),
                name: self.service_name.clone(),
                path: Some(path.to_owned()),
                port: Some(SERVICE_PORT),
            }),
            ca_bundle: self
                .ca_bundle
                .as_ref()
                .map(|pem| k8s_openapi::ByteString(pem.clone().into_bytes())),
            url: None,
        }
    }
}

fn rules(entry: &WebhookEntry) -> Option<Vec<RuleWithOperations>> {
    Some(vec![RuleWithOperations {
        api_groups: Some(vec!["multigres.com".to_owned()]),
        api_versions: Some(vec!["v1alpha1".to_owned()]),
        operations: Some(entry.operations.iter().map(|op| (*op).to_owned()).collect()),
        resources: Some(vec![entry.resource.to_owned()]),
        scope: None,
    }])
}

/// The MutatingWebhookConfiguration of the install manifest.
pub fn mutating_configuration(target: &WebhookTarget) -> MutatingWebhookConfiguration {
    MutatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(MUTATING_CONFIGURATION.to_owned()),
            ..ObjectMeta::default()
        },
        webhooks: Some(
            MUTATING_WEBHOOKS
                .iter()
                .map(|entry| MutatingWebhook {
                    name: entry.name.to_owned(),
                    admission_review_versions: vec!["v1".to_owned()],
                    client_config: target.client_config(entry.path),
                    failure_policy: Some("Fail".to_owned()),
                    side_effects: "None".to_owned(),
                    rules: rules(entry),
                    ..MutatingWebhook::default()
                })
                .collect(),
        ),
    }
}

/// The ValidatingWebhookConfiguration of the install manifest.
pub fn validating_configuration(target: &WebhookTarget) -> ValidatingWebhookConfiguration {
    ValidatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(VALIDATING_CONFIGURATION.to_owned()),
            ..ObjectMeta::default()
        },
        webhooks: Some(
            VALIDATING_WEBHOOKS
                .iter()
                .map(|entry| ValidatingWebhook {
                    name: entry.name.to_owned(),
                    admission_review_versions: vec!["v1".to_owned()],
                    client_config: target.client_config(entry.path),
                    failure_policy: Some("Fail".to_owned()),
                    side_effects: "None".to_owned(),
                    rules: rules(entry),
                    ..ValidatingWebhook::default()
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn paths_follow_the_controller_runtime_scheme() {
        for entry in MUTATING_WEBHOOKS.iter().chain(&VALIDATING_WEBHOOKS) {
            let kind = entry.resource.trim_end_matches('s');
            let prefix = if entry.name.starts_with('m') {
                "mutate"
            } else {
                "validate"
            };
            assert_eq!(
                entry.path,
                format!("/{prefix}-multigres-com-v1alpha1-{kind}")
            );
            assert_eq!(entry.name, format!("{}{kind}.kb.io", &prefix[..1]));
        }
        let mut paths: Vec<_> = VALIDATING_WEBHOOKS.iter().map(|e| e.path).collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            VALIDATING_WEBHOOKS
                .iter()
                .map(|e| e.path)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn entries_point_at_the_service_with_fail_policy() {
        let target = WebhookTarget {
            namespace: "multigres-operator".into(),
            service_name: "multigres-operator-webhook-service".into(),
            ca_bundle: None,
        };
        let value = serde_json::to_value(validating_configuration(&target)).expect("serializes");
        assert_eq!(
            value["webhooks"][3],
            serde_json::json!({
                "name": "vmultigrescluster.kb.io",
                "admissionReviewVersions": ["v1"],
                "clientConfig": {"service": {
                    "namespace": "multigres-operator",
                    "name": "multigres-operator-webhook-service",
                    "path": "/validate-multigres-com-v1alpha1-multigrescluster",
                    "port": 443}},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "rules": [{"apiGroups": ["multigres.com"], "apiVersions": ["v1alpha1"],
                           "operations": ["CREATE", "UPDATE"],
                           "resources": ["multigresclusters"]}],
            })
        );
        assert_eq!(
            mutating_configuration(&target).webhooks.map(|w| w.len()),
            Some(1)
        );
    }
}
