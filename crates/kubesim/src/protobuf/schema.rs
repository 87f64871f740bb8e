//! The message catalogue: the generated field table (`messages.rs`) indexed by name, and
//! the JSON name of every field.
//!
//! JSON names are not in the protobuf messages (prost snake-cases `podIP` to `pod_ip`); they
//! come from the OpenAPI definitions of the built-in kinds ([`BuiltinSchemas`]): the property
//! of the message's definition whose name, lower-cased without `_`/`-`/`$`, equals the field's.
//! A message without a definition uses any definition's property of that spelling, else the
//! camelCase of the field name.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde_json::Value;

use super::messages::MESSAGES;
use crate::semantics::builtin_schema::BuiltinSchemas;

/// How a field is written on the wire (the prost kinds k8s-pb uses).
#[derive(Debug)]
pub enum Kind {
    String,
    Bool,
    Int32,
    Int64,
    Double,
    Bytes,
    /// A nested message, by dotted k8s-pb module path.
    Message(&'static str),
    /// `map<string, V>`.
    Map(&'static Kind),
}

/// One field of a message.
#[derive(Debug)]
pub struct Field {
    pub tag: u32,
    /// The prost field name (`pod_ip`).
    pub name: &'static str,
    pub kind: Kind,
    pub repeated: bool,
}

/// One message: its dotted k8s-pb module path (`api.core.v1.ConfigMap`) and fields in the
/// order of the Go struct (the order the API server writes JSON in).
#[derive(Debug)]
pub struct Message {
    pub name: &'static str,
    pub fields: &'static [Field],
}

/// Scalar fields that are pointers in the Go types, where a zero on the wire is a value the
/// client set (`replicas: 0`, `gracePeriodSeconds: 0`), not the default a Go client writes
/// for every non-pointer field. Only these keep zeros when decoded (with the schema's required
/// fields). `(message, prost field)`.
const POINTER_SCALARS: &[(&str, &str)] = &[
    ("api.apps.v1.DeploymentSpec", "replicas"),
    ("api.apps.v1.DeploymentSpec", "revision_history_limit"),
    ("api.apps.v1.DeploymentSpec", "progress_deadline_seconds"),
    ("api.apps.v1.StatefulSetSpec", "replicas"),
    ("api.apps.v1.StatefulSetSpec", "revision_history_limit"),
    ("api.apps.v1.RollingUpdateStatefulSetStrategy", "partition"),
    ("api.apps.v1.ReplicaSetSpec", "replicas"),
    ("api.apps.v1.DaemonSetSpec", "revision_history_limit"),
    ("api.batch.v1.JobSpec", "parallelism"),
    ("api.batch.v1.JobSpec", "completions"),
    ("api.batch.v1.JobSpec", "backoff_limit"),
    ("api.batch.v1.JobSpec", "active_deadline_seconds"),
    ("api.batch.v1.JobSpec", "ttl_seconds_after_finished"),
    ("api.batch.v1.JobSpec", "suspend"),
    ("api.batch.v1.JobSpec", "manual_selector"),
    ("api.batch.v1.CronJobSpec", "suspend"),
    ("api.batch.v1.CronJobSpec", "starting_deadline_seconds"),
    ("api.batch.v1.CronJobSpec", "successful_jobs_history_limit"),
    ("api.batch.v1.CronJobSpec", "failed_jobs_history_limit"),
    ("api.core.v1.PodSpec", "termination_grace_period_seconds"),
    ("api.core.v1.PodSpec", "active_deadline_seconds"),
    ("api.core.v1.PodSpec", "automount_service_account_token"),
    ("api.core.v1.PodSpec", "share_process_namespace"),
    ("api.core.v1.PodSpec", "priority"),
    ("api.core.v1.PodSpec", "enable_service_links"),
    ("api.core.v1.PodSpec", "set_hostname_as_fqdn"),
    ("api.core.v1.PodSpec", "host_users"),
    ("api.core.v1.SecurityContext", "privileged"),
    ("api.core.v1.SecurityContext", "run_as_user"),
    ("api.core.v1.SecurityContext", "run_as_group"),
    ("api.core.v1.SecurityContext", "run_as_non_root"),
    ("api.core.v1.SecurityContext", "read_only_root_filesystem"),
    ("api.core.v1.SecurityContext", "allow_privilege_escalation"),
    ("api.core.v1.PodSecurityContext", "run_as_user"),
    ("api.core.v1.PodSecurityContext", "run_as_group"),
    ("api.core.v1.PodSecurityContext", "run_as_non_root"),
    ("api.core.v1.PodSecurityContext", "fs_group"),
    ("api.core.v1.Probe", "termination_grace_period_seconds"),
    ("api.core.v1.ConfigMapVolumeSource", "default_mode"),
    ("api.core.v1.ConfigMapVolumeSource", "optional"),
    ("api.core.v1.SecretVolumeSource", "default_mode"),
    ("api.core.v1.SecretVolumeSource", "optional"),
    ("api.core.v1.ProjectedVolumeSource", "default_mode"),
    ("api.core.v1.DownwardAPIVolumeSource", "default_mode"),
    ("api.core.v1.KeyToPath", "mode"),
    ("api.core.v1.DownwardAPIVolumeFile", "mode"),
    ("api.core.v1.ConfigMapKeySelector", "optional"),
    ("api.core.v1.SecretKeySelector", "optional"),
    ("api.core.v1.ConfigMapEnvSource", "optional"),
    ("api.core.v1.SecretEnvSource", "optional"),
    ("api.core.v1.ConfigMap", "immutable"),
    ("api.core.v1.Secret", "immutable"),
    (
        "api.core.v1.ServiceAccount",
        "automount_service_account_token",
    ),
    (
        "api.core.v1.ServiceSpec",
        "allocate_load_balancer_node_ports",
    ),
    (
        "api.core.v1.ServiceAccountTokenProjection",
        "expiration_seconds",
    ),
    ("api.coordination.v1.LeaseSpec", "lease_duration_seconds"),
    ("api.coordination.v1.LeaseSpec", "lease_transitions"),
    ("api.coordination.v1.LeaseSpec", "holder_identity"),
    ("api.storage.v1.StorageClass", "allow_volume_expansion"),
    (
        "api.admissionregistration.v1.ValidatingWebhook",
        "timeout_seconds",
    ),
    (
        "api.admissionregistration.v1.MutatingWebhook",
        "timeout_seconds",
    ),
    (
        "api.authentication.v1.TokenRequestSpec",
        "expiration_seconds",
    ),
    (
        "api.certificates.v1.CertificateSigningRequestSpec",
        "expiration_seconds",
    ),
    (
        "apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "deletion_grace_period_seconds",
    ),
    ("apimachinery.pkg.apis.meta.v1.OwnerReference", "controller"),
    (
        "apimachinery.pkg.apis.meta.v1.OwnerReference",
        "block_owner_deletion",
    ),
    (
        "apimachinery.pkg.apis.meta.v1.DeleteOptions",
        "grace_period_seconds",
    ),
    (
        "apimachinery.pkg.apis.meta.v1.DeleteOptions",
        "orphan_dependents",
    ),
    (
        "apimachinery.pkg.apis.meta.v1.ListMeta",
        "remaining_item_count",
    ),
];

/// The JSON names the OpenAPI definitions cannot give (JSONSchemaProps' `$ref`/`$schema`).
const NAME_OVERRIDES: &[(&str, &str, &str)] = &[
    (
        "apiextensions_apiserver.pkg.apis.apiextensions.v1.JsonSchemaProps",
        "ref",
        "$ref",
    ),
    (
        "apiextensions_apiserver.pkg.apis.apiextensions.v1.JsonSchemaProps",
        "schema",
        "$schema",
    ),
];

/// API group → the k8s-pb package prefix of its messages.
const GROUP_PACKAGES: &[(&str, &str)] = &[
    ("", "api.core"),
    ("apps", "api.apps"),
    ("batch", "api.batch"),
    ("policy", "api.policy"),
    ("autoscaling", "api.autoscaling"),
    ("rbac.authorization.k8s.io", "api.rbac"),
    ("authorization.k8s.io", "api.authorization"),
    ("authentication.k8s.io", "api.authentication"),
    ("certificates.k8s.io", "api.certificates"),
    ("coordination.k8s.io", "api.coordination"),
    ("storage.k8s.io", "api.storage"),
    ("events.k8s.io", "api.events"),
    ("admissionregistration.k8s.io", "api.admissionregistration"),
    (
        "apiextensions.k8s.io",
        "apiextensions_apiserver.pkg.apis.apiextensions",
    ),
    (
        "apiregistration.k8s.io",
        "kube_aggregator.pkg.apis.apiregistration",
    ),
    ("meta.k8s.io", "apimachinery.pkg.apis.meta"),
];

/// The package of the options and status kinds every group version carries.
const META_PACKAGE: &str = "apimachinery.pkg.apis.meta.v1";

/// The indexed catalogue.
#[derive(Debug)]
pub struct Catalogue {
    by_name: HashMap<&'static str, &'static Message>,
    by_lower_name: HashMap<String, &'static Message>,
    json_names: HashMap<(&'static str, &'static str), String>,
    keeps_zero: HashSet<(&'static str, &'static str)>,
    inline: HashSet<(&'static str, &'static str)>,
}

/// Lower case without the separators JSON and Rust spellings differ by.
pub fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | '$'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn camel_case(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn properties(definition: &Value) -> impl Iterator<Item = &String> {
    definition
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.keys())
}

impl Catalogue {
    /// The catalogue, built on first use.
    pub fn get() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(build)
    }

    pub fn message(&self, name: &str) -> Option<&'static Message> {
        self.by_name.get(name).copied()
    }

    /// The message of `kind` in `apiVersion` (`v1`, `apps/v1`), falling back to the options
    /// and status kinds of `meta.k8s.io/v1` (`DeleteOptions` is sent as `v1` or `apps/v1`).
    pub fn message_for_kind(&self, api_version: &str, kind: &str) -> Option<&'static Message> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let package = GROUP_PACKAGES
            .iter()
            .find(|(g, _)| *g == group)
            .map(|(_, p)| *p)?;
        let lookup = |name: String| self.by_lower_name.get(&name.to_lowercase()).copied();
        lookup(format!("{package}.{version}.{kind}"))
            .or_else(|| lookup(format!("{META_PACKAGE}.{kind}")))
    }

    /// The JSON name of `field` in `message`.
    pub fn json_name(&self, message: &Message, field: &Field) -> &str {
        self.json_names
            .get(&(message.name, field.name))
            .map(String::as_str)
            .unwrap_or(field.name)
    }

    /// Whether `field` is an embedded Go struct whose fields JSON writes inline in the parent
    /// (`Probe.handler`, `Volume.volumeSource`): a message field the definition has no
    /// property for.
    pub fn is_inline(&self, message: &Message, field: &Field) -> bool {
        self.inline.contains(&(message.name, field.name))
    }

    /// Whether a zero value of `field` is kept when decoded (required or pointer fields).
    pub fn keeps_zero(&self, message: &Message, field: &Field) -> bool {
        self.keeps_zero.contains(&(message.name, field.name))
    }
}

fn build() -> Catalogue {
    let schemas = BuiltinSchemas::get();
    // Definitions by normalized name: `io.k8s.api.core.v1.ConfigMap` → the definition.
    let definitions: HashMap<String, &Value> = schemas
        .definitions()
        .iter()
        .map(|(name, def)| (normalize(name), def))
        .collect();
    // Every property spelling of every definition, for messages without a definition.
    let mut spellings: HashMap<String, String> = HashMap::new();
    for def in schemas.definitions().values() {
        for property in properties(def).filter(|p| !p.starts_with('$')) {
            spellings
                .entry(normalize(property))
                .or_insert_with(|| property.clone());
        }
    }
    let mut by_name = HashMap::new();
    let mut by_lower_name = HashMap::new();
    let mut json_names = HashMap::new();
    let mut inline = HashSet::new();
    let mut keeps_zero: HashSet<(&'static str, &'static str)> =
        POINTER_SCALARS.iter().copied().collect();
    for message in MESSAGES {
        by_name.insert(message.name, message);
        by_lower_name.insert(message.name.to_lowercase(), message);
        let definition = definitions.get(&normalize(&format!("io.k8s.{}", message.name)));
        let required: HashSet<String> = definition
            .and_then(|d| d.get("required"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(normalize)
            .collect();
        for field in message.fields {
            let key = normalize(field.name);
            if let (Some(def), Kind::Message(_)) = (definition, &field.kind)
                && !field.repeated
                && !properties(def).any(|p| normalize(p) == key)
            {
                inline.insert((message.name, field.name));
            }
            let json = NAME_OVERRIDES
                .iter()
                .find(|(m, f, _)| *m == message.name && *f == field.name)
                .map(|(_, _, json)| json.to_string())
                .or_else(|| {
                    definition.and_then(|d| properties(d).find(|p| normalize(p) == key).cloned())
                })
                .or_else(|| spellings.get(&key).cloned())
                .unwrap_or_else(|| camel_case(field.name));
            json_names.insert((message.name, field.name), json);
            if required.contains(&key) {
                keeps_zero.insert((message.name, field.name));
            }
        }
    }
    Catalogue {
        by_name,
        by_lower_name,
        json_names,
        keeps_zero,
        inline,
    }
}
