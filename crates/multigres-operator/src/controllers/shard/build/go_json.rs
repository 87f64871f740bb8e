//! Go `json.Marshal` output for the k8s.io/api core/v1 types the pool pod spec hash covers.
//!
//! Place: used by `spec_hash` (spec-controllers.md §7.5), whose stream embeds Go's `json.Marshal` of
//! volumes, affinity, tolerations, resources, security contexts, `valueFrom` and `envFrom`. Go writes
//! struct fields in declaration order (k8s.io/api and apimachinery v0.35.0 `types.go`), drops
//! `omitempty` fields only when nil or Go's zero value (never a non-pointer struct), drops the
//! `omitzero` `creationTimestamp` when zero, sorts map keys bytewise, escapes `<`, `>`, `&`, U+2028
//! and U+2029 in strings, and prints quantities as `resource.Quantity.MarshalJSON` does. serde with
//! k8s-openapi writes fields alphabetically, so it cannot be used for the hash.
//!
//! Must not: serve as the writer of objects sent to the API server (serde does that), or skip a
//! field. Every impl destructures its type without `..`, so a field added by a newer k8s-openapi
//! fails to compile here until it is placed where Go declares it. Fields newer than the k8s-openapi
//! version we build against (e.g. `fileKeyRef`, `podCertificate`) cannot be set, so they never appear.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::jiff;

use multigres_api::quantity;

/// A value Go's `json.Marshal` can write.
pub trait GoJson {
    /// Appends the bytes Go's `json.Marshal` produces for this value.
    fn write_go_json(&self, out: &mut Vec<u8>);
}

/// Go's `json.Marshal(value)`.
pub fn to_go_json<T: GoJson + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.write_go_json(&mut out);
    out
}

/// Go's zero value test behind `omitempty` for non-pointer fields: `""`, `false`, `0`, and empty
/// slices and maps.
trait GoEmpty {
    fn is_go_empty(&self) -> bool;
}

impl GoEmpty for String {
    fn is_go_empty(&self) -> bool {
        self.is_empty()
    }
}

impl GoEmpty for bool {
    fn is_go_empty(&self) -> bool {
        !*self
    }
}

impl GoEmpty for i32 {
    fn is_go_empty(&self) -> bool {
        *self == 0
    }
}

impl GoEmpty for i64 {
    fn is_go_empty(&self) -> bool {
        *self == 0
    }
}

impl<T> GoEmpty for Vec<T> {
    fn is_go_empty(&self) -> bool {
        self.is_empty()
    }
}

impl<V> GoEmpty for BTreeMap<String, V> {
    fn is_go_empty(&self) -> bool {
        self.is_empty()
    }
}

/// Writes one JSON object, field by field, in the order the calls are made.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    has_fields: bool,
}

impl<'a> Object<'a> {
    fn start(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self {
            out,
            has_fields: false,
        }
    }

    fn key(&mut self, name: &str) -> &mut Vec<u8> {
        if self.has_fields {
            self.out.push(b',');
        }
        self.has_fields = true;
        write_go_string(self.out, name);
        self.out.push(b':');
        self.out
    }

    /// A field without `omitempty`: always written (a Rust `None` writes what Go's nil or zero
    /// value writes, see the `Option` impl).
    fn field<T: GoJson + ?Sized>(&mut self, name: &str, value: &T) {
        value.write_go_json(self.key(name));
    }

    /// A pointer field with `omitempty`: omitted only when nil.
    fn pointer<T: GoJson>(&mut self, name: &str, value: &Option<T>) {
        if let Some(value) = value {
            self.field(name, value);
        }
    }

    /// A non-pointer field with `omitempty`, optional in k8s-openapi: omitted when absent or zero.
    fn omit_empty<T: GoJson + GoEmpty>(&mut self, name: &str, value: &Option<T>) {
        if let Some(value) = value {
            self.omit_empty_value(name, value);
        }
    }

    /// A non-pointer field with `omitempty`, required in k8s-openapi: omitted when zero.
    fn omit_empty_value<T: GoJson + GoEmpty>(&mut self, name: &str, value: &T) {
        if !value.is_go_empty() {
            self.field(name, value);
        }
    }

    fn end(self) {
        self.out.push(b'}');
    }
}

/// Go's `encoding/json` string encoding with HTML escaping on (the `json.Marshal` default;
/// the `go-format` crate's, shared by the workspace).
pub fn write_go_string(out: &mut Vec<u8>, value: &str) {
    out.extend_from_slice(go_format::json_string(value).as_bytes());
}

impl GoJson for str {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        write_go_string(out, self);
    }
}

impl GoJson for String {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        write_go_string(out, self);
    }
}

impl GoJson for bool {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

impl GoJson for i32 {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.to_string().as_bytes());
    }
}

impl GoJson for i64 {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.to_string().as_bytes());
    }
}

/// A nil pointer, slice or map: `null`.
impl<T: GoJson> GoJson for Option<T> {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        match self {
            Some(value) => value.write_go_json(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}

impl<T: GoJson> GoJson for [T] {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (index, item) in self.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            item.write_go_json(out);
        }
        out.push(b']');
    }
}

impl<T: GoJson> GoJson for Vec<T> {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        self.as_slice().write_go_json(out);
    }
}

/// Go sorts map keys by their bytes, which is `BTreeMap<String, _>`'s order.
impl<V: GoJson> GoJson for BTreeMap<String, V> {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::start(out);
        for (key, value) in self {
            object.field(key, value);
        }
        object.end();
    }
}

/// `resource.Quantity.MarshalJSON` of the quantity a Go client would have unmarshalled from this
/// string. A string Go could not have parsed (no Go-built object holds one) is written verbatim.
impl GoJson for Quantity {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        match quantity::go_marshal(&self.0) {
            Ok(printed) => write_go_string(out, &printed),
            Err(_) => write_go_string(out, self.0.trim()),
        }
    }
}

/// Go's zero `time.Time`, 0001-01-01T00:00:00Z, as seconds from the Unix epoch.
const GO_ZERO_TIME_UNIX_SECONDS: i64 = -62_135_596_800;

fn is_go_zero_time(time: &meta::Time) -> bool {
    time.0.as_second() == GO_ZERO_TIME_UNIX_SECONDS && time.0.subsec_nanosecond() == 0
}

/// `metav1.Time.MarshalJSON`: `null` for the zero time, else RFC 3339 in UTC, whole seconds.
impl GoJson for meta::Time {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        if is_go_zero_time(self) {
            out.extend_from_slice(b"null");
            return;
        }
        let civil = jiff::tz::TimeZone::UTC.to_datetime(self.0);
        let year = civil.year();
        // Go's appendInt(year, 4): a sign, then at least four digits.
        let sign = if year < 0 { "-" } else { "" };
        let text = format!(
            "\"{sign}{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z\"",
            year.unsigned_abs(),
            civil.month(),
            civil.day(),
            civil.hour(),
            civil.minute(),
            civil.second()
        );
        out.extend_from_slice(text.as_bytes());
    }
}

/// `metav1.FieldsV1` marshals its raw JSON, which `json.Marshal` compacts and HTML-escapes.
impl GoJson for meta::FieldsV1 {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        self.0.write_go_json(out);
    }
}

/// Raw JSON compacted by Go: members in their stored order, strings re-escaped Go's way.
impl GoJson for serde_json::Value {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        match self {
            serde_json::Value::Null => out.extend_from_slice(b"null"),
            serde_json::Value::Bool(value) => value.write_go_json(out),
            serde_json::Value::Number(number) => {
                out.extend_from_slice(number.to_string().as_bytes())
            }
            serde_json::Value::String(text) => write_go_string(out, text),
            serde_json::Value::Array(items) => items.write_go_json(out),
            serde_json::Value::Object(members) => {
                let mut object = Object::start(out);
                for (key, value) in members {
                    object.field(key, value);
                }
                object.end();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Containers: env, envFrom, resources, security context.

impl GoJson for core::EnvVarSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            field_ref,
            resource_field_ref,
            config_map_key_ref,
            secret_key_ref,
        } = self;
        let mut object = Object::start(out);
        object.pointer("fieldRef", field_ref);
        object.pointer("resourceFieldRef", resource_field_ref);
        object.pointer("configMapKeyRef", config_map_key_ref);
        object.pointer("secretKeyRef", secret_key_ref);
        object.end();
    }
}

impl GoJson for core::ObjectFieldSelector {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            api_version,
            field_path,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("apiVersion", api_version);
        object.field("fieldPath", field_path);
        object.end();
    }
}

impl GoJson for core::ResourceFieldSelector {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            container_name,
            resource,
            divisor,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("containerName", container_name);
        object.field("resource", resource);
        // `divisor` is a non-pointer struct: `omitempty` never drops it, and Go's zero Quantity
        // prints "0".
        match divisor {
            Some(divisor) => object.field("divisor", divisor),
            None => object.field("divisor", "0"),
        }
        object.end();
    }
}

impl GoJson for core::ConfigMapKeySelector {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            name,
            key,
            optional,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty_value("name", name);
        object.field("key", key);
        object.pointer("optional", optional);
        object.end();
    }
}

impl GoJson for core::SecretKeySelector {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            name,
            key,
            optional,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty_value("name", name);
        object.field("key", key);
        object.pointer("optional", optional);
        object.end();
    }
}

impl GoJson for core::EnvFromSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            prefix,
            config_map_ref,
            secret_ref,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("prefix", prefix);
        object.pointer("configMapRef", config_map_ref);
        object.pointer("secretRef", secret_ref);
        object.end();
    }
}

impl GoJson for core::ConfigMapEnvSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { name, optional } = self;
        let mut object = Object::start(out);
        object.omit_empty_value("name", name);
        object.pointer("optional", optional);
        object.end();
    }
}

impl GoJson for core::SecretEnvSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { name, optional } = self;
        let mut object = Object::start(out);
        object.omit_empty_value("name", name);
        object.pointer("optional", optional);
        object.end();
    }
}

impl GoJson for core::ResourceRequirements {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            limits,
            requests,
            claims,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("limits", limits);
        object.omit_empty("requests", requests);
        object.omit_empty("claims", claims);
        object.end();
    }
}

impl GoJson for core::ResourceClaim {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { name, request } = self;
        let mut object = Object::start(out);
        object.field("name", name);
        object.omit_empty("request", request);
        object.end();
    }
}

impl GoJson for core::SecurityContext {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            capabilities,
            privileged,
            se_linux_options,
            windows_options,
            run_as_user,
            run_as_group,
            run_as_non_root,
            read_only_root_filesystem,
            allow_privilege_escalation,
            proc_mount,
            seccomp_profile,
            app_armor_profile,
        } = self;
        let mut object = Object::start(out);
        object.pointer("capabilities", capabilities);
        object.pointer("privileged", privileged);
        object.pointer("seLinuxOptions", se_linux_options);
        object.pointer("windowsOptions", windows_options);
        object.pointer("runAsUser", run_as_user);
        object.pointer("runAsGroup", run_as_group);
        object.pointer("runAsNonRoot", run_as_non_root);
        object.pointer("readOnlyRootFilesystem", read_only_root_filesystem);
        object.pointer("allowPrivilegeEscalation", allow_privilege_escalation);
        object.pointer("procMount", proc_mount);
        object.pointer("seccompProfile", seccomp_profile);
        object.pointer("appArmorProfile", app_armor_profile);
        object.end();
    }
}

impl GoJson for core::Capabilities {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { add, drop } = self;
        let mut object = Object::start(out);
        object.omit_empty("add", add);
        object.omit_empty("drop", drop);
        object.end();
    }
}

impl GoJson for core::SELinuxOptions {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            user,
            role,
            type_,
            level,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("user", user);
        object.omit_empty("role", role);
        object.omit_empty("type", type_);
        object.omit_empty("level", level);
        object.end();
    }
}

impl GoJson for core::WindowsSecurityContextOptions {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            gmsa_credential_spec_name,
            gmsa_credential_spec,
            run_as_user_name,
            host_process,
        } = self;
        let mut object = Object::start(out);
        object.pointer("gmsaCredentialSpecName", gmsa_credential_spec_name);
        object.pointer("gmsaCredentialSpec", gmsa_credential_spec);
        object.pointer("runAsUserName", run_as_user_name);
        object.pointer("hostProcess", host_process);
        object.end();
    }
}

impl GoJson for core::SeccompProfile {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            type_,
            localhost_profile,
        } = self;
        let mut object = Object::start(out);
        object.field("type", type_);
        object.pointer("localhostProfile", localhost_profile);
        object.end();
    }
}

impl GoJson for core::AppArmorProfile {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            type_,
            localhost_profile,
        } = self;
        let mut object = Object::start(out);
        object.field("type", type_);
        object.pointer("localhostProfile", localhost_profile);
        object.end();
    }
}

// ---------------------------------------------------------------------------------------------
// Pod-level: security context, affinity, tolerations.

impl GoJson for core::PodSecurityContext {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            se_linux_options,
            windows_options,
            run_as_user,
            run_as_group,
            run_as_non_root,
            supplemental_groups,
            supplemental_groups_policy,
            fs_group,
            sysctls,
            fs_group_change_policy,
            seccomp_profile,
            app_armor_profile,
            se_linux_change_policy,
        } = self;
        let mut object = Object::start(out);
        object.pointer("seLinuxOptions", se_linux_options);
        object.pointer("windowsOptions", windows_options);
        object.pointer("runAsUser", run_as_user);
        object.pointer("runAsGroup", run_as_group);
        object.pointer("runAsNonRoot", run_as_non_root);
        object.omit_empty("supplementalGroups", supplemental_groups);
        object.pointer("supplementalGroupsPolicy", supplemental_groups_policy);
        object.pointer("fsGroup", fs_group);
        object.omit_empty("sysctls", sysctls);
        object.pointer("fsGroupChangePolicy", fs_group_change_policy);
        object.pointer("seccompProfile", seccomp_profile);
        object.pointer("appArmorProfile", app_armor_profile);
        object.pointer("seLinuxChangePolicy", se_linux_change_policy);
        object.end();
    }
}

impl GoJson for core::Sysctl {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { name, value } = self;
        let mut object = Object::start(out);
        object.field("name", name);
        object.field("value", value);
        object.end();
    }
}

impl GoJson for core::Affinity {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            node_affinity,
            pod_affinity,
            pod_anti_affinity,
        } = self;
        let mut object = Object::start(out);
        object.pointer("nodeAffinity", node_affinity);
        object.pointer("podAffinity", pod_affinity);
        object.pointer("podAntiAffinity", pod_anti_affinity);
        object.end();
    }
}

impl GoJson for core::NodeAffinity {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            required_during_scheduling_ignored_during_execution,
            preferred_during_scheduling_ignored_during_execution,
        } = self;
        let mut object = Object::start(out);
        object.pointer(
            "requiredDuringSchedulingIgnoredDuringExecution",
            required_during_scheduling_ignored_during_execution,
        );
        object.omit_empty(
            "preferredDuringSchedulingIgnoredDuringExecution",
            preferred_during_scheduling_ignored_during_execution,
        );
        object.end();
    }
}

impl GoJson for core::NodeSelector {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            node_selector_terms,
        } = self;
        let mut object = Object::start(out);
        // No `omitempty`: required by the API, so a stored object always has the list.
        object.field("nodeSelectorTerms", node_selector_terms);
        object.end();
    }
}

impl GoJson for core::NodeSelectorTerm {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            match_expressions,
            match_fields,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("matchExpressions", match_expressions);
        object.omit_empty("matchFields", match_fields);
        object.end();
    }
}

impl GoJson for core::NodeSelectorRequirement {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            key,
            operator,
            values,
        } = self;
        let mut object = Object::start(out);
        object.field("key", key);
        object.field("operator", operator);
        object.omit_empty("values", values);
        object.end();
    }
}

impl GoJson for core::PreferredSchedulingTerm {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { weight, preference } = self;
        let mut object = Object::start(out);
        object.field("weight", weight);
        object.field("preference", preference);
        object.end();
    }
}

impl GoJson for core::PodAffinity {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            required_during_scheduling_ignored_during_execution,
            preferred_during_scheduling_ignored_during_execution,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty(
            "requiredDuringSchedulingIgnoredDuringExecution",
            required_during_scheduling_ignored_during_execution,
        );
        object.omit_empty(
            "preferredDuringSchedulingIgnoredDuringExecution",
            preferred_during_scheduling_ignored_during_execution,
        );
        object.end();
    }
}

impl GoJson for core::PodAntiAffinity {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            required_during_scheduling_ignored_during_execution,
            preferred_during_scheduling_ignored_during_execution,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty(
            "requiredDuringSchedulingIgnoredDuringExecution",
            required_during_scheduling_ignored_during_execution,
        );
        object.omit_empty(
            "preferredDuringSchedulingIgnoredDuringExecution",
            preferred_during_scheduling_ignored_during_execution,
        );
        object.end();
    }
}

impl GoJson for core::PodAffinityTerm {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            label_selector,
            namespaces,
            topology_key,
            namespace_selector,
            match_label_keys,
            mismatch_label_keys,
        } = self;
        let mut object = Object::start(out);
        object.pointer("labelSelector", label_selector);
        object.omit_empty("namespaces", namespaces);
        object.field("topologyKey", topology_key);
        object.pointer("namespaceSelector", namespace_selector);
        object.omit_empty("matchLabelKeys", match_label_keys);
        object.omit_empty("mismatchLabelKeys", mismatch_label_keys);
        object.end();
    }
}

impl GoJson for core::WeightedPodAffinityTerm {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            weight,
            pod_affinity_term,
        } = self;
        let mut object = Object::start(out);
        object.field("weight", weight);
        object.field("podAffinityTerm", pod_affinity_term);
        object.end();
    }
}

impl GoJson for core::Toleration {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            key,
            operator,
            value,
            effect,
            toleration_seconds,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("key", key);
        object.omit_empty("operator", operator);
        object.omit_empty("value", value);
        object.omit_empty("effect", effect);
        object.pointer("tolerationSeconds", toleration_seconds);
        object.end();
    }
}

// ---------------------------------------------------------------------------------------------
// metav1 types reachable from the above (selectors) and from ephemeral volume templates.

impl GoJson for meta::LabelSelector {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            match_labels,
            match_expressions,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("matchLabels", match_labels);
        object.omit_empty("matchExpressions", match_expressions);
        object.end();
    }
}

impl GoJson for meta::LabelSelectorRequirement {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            key,
            operator,
            values,
        } = self;
        let mut object = Object::start(out);
        object.field("key", key);
        object.field("operator", operator);
        object.omit_empty("values", values);
        object.end();
    }
}

impl GoJson for meta::ObjectMeta {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            name,
            generate_name,
            namespace,
            self_link,
            uid,
            resource_version,
            generation,
            creation_timestamp,
            deletion_timestamp,
            deletion_grace_period_seconds,
            labels,
            annotations,
            owner_references,
            finalizers,
            managed_fields,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("name", name);
        object.omit_empty("generateName", generate_name);
        object.omit_empty("namespace", namespace);
        object.omit_empty("selfLink", self_link);
        object.omit_empty("uid", uid);
        object.omit_empty("resourceVersion", resource_version);
        object.omit_empty("generation", generation);
        // `omitzero` (apimachinery v0.35.0): the zero time is dropped, not written as null.
        if let Some(created) = creation_timestamp
            .as_ref()
            .filter(|time| !is_go_zero_time(time))
        {
            object.field("creationTimestamp", created);
        }
        object.pointer("deletionTimestamp", deletion_timestamp);
        object.pointer("deletionGracePeriodSeconds", deletion_grace_period_seconds);
        object.omit_empty("labels", labels);
        object.omit_empty("annotations", annotations);
        object.omit_empty("ownerReferences", owner_references);
        object.omit_empty("finalizers", finalizers);
        object.omit_empty("managedFields", managed_fields);
        object.end();
    }
}

impl GoJson for meta::OwnerReference {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            api_version,
            kind,
            name,
            uid,
            controller,
            block_owner_deletion,
        } = self;
        let mut object = Object::start(out);
        object.field("apiVersion", api_version);
        object.field("kind", kind);
        object.field("name", name);
        object.field("uid", uid);
        object.pointer("controller", controller);
        object.pointer("blockOwnerDeletion", block_owner_deletion);
        object.end();
    }
}

impl GoJson for meta::ManagedFieldsEntry {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            manager,
            operation,
            api_version,
            time,
            fields_type,
            fields_v1,
            subresource,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("manager", manager);
        object.omit_empty("operation", operation);
        object.omit_empty("apiVersion", api_version);
        object.pointer("time", time);
        object.omit_empty("fieldsType", fields_type);
        object.pointer("fieldsV1", fields_v1);
        object.omit_empty("subresource", subresource);
        object.end();
    }
}

// ---------------------------------------------------------------------------------------------
// Volumes: `Volume` is `name` followed by the inlined `VolumeSource`, in Go's order.

impl GoJson for core::Volume {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            name,
            host_path,
            empty_dir,
            gce_persistent_disk,
            aws_elastic_block_store,
            git_repo,
            secret,
            nfs,
            iscsi,
            glusterfs,
            persistent_volume_claim,
            rbd,
            flex_volume,
            cinder,
            cephfs,
            flocker,
            downward_api,
            fc,
            azure_file,
            config_map,
            vsphere_volume,
            quobyte,
            azure_disk,
            photon_persistent_disk,
            projected,
            portworx_volume,
            scale_io,
            storageos,
            csi,
            ephemeral,
            image,
        } = self;
        let mut object = Object::start(out);
        object.field("name", name);
        object.pointer("hostPath", host_path);
        object.pointer("emptyDir", empty_dir);
        object.pointer("gcePersistentDisk", gce_persistent_disk);
        object.pointer("awsElasticBlockStore", aws_elastic_block_store);
        object.pointer("gitRepo", git_repo);
        object.pointer("secret", secret);
        object.pointer("nfs", nfs);
        object.pointer("iscsi", iscsi);
        object.pointer("glusterfs", glusterfs);
        object.pointer("persistentVolumeClaim", persistent_volume_claim);
        object.pointer("rbd", rbd);
        object.pointer("flexVolume", flex_volume);
        object.pointer("cinder", cinder);
        object.pointer("cephfs", cephfs);
        object.pointer("flocker", flocker);
        object.pointer("downwardAPI", downward_api);
        object.pointer("fc", fc);
        object.pointer("azureFile", azure_file);
        object.pointer("configMap", config_map);
        object.pointer("vsphereVolume", vsphere_volume);
        object.pointer("quobyte", quobyte);
        object.pointer("azureDisk", azure_disk);
        object.pointer("photonPersistentDisk", photon_persistent_disk);
        object.pointer("projected", projected);
        object.pointer("portworxVolume", portworx_volume);
        object.pointer("scaleIO", scale_io);
        object.pointer("storageos", storageos);
        object.pointer("csi", csi);
        object.pointer("ephemeral", ephemeral);
        object.pointer("image", image);
        object.end();
    }
}

impl GoJson for core::LocalObjectReference {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { name } = self;
        let mut object = Object::start(out);
        object.omit_empty_value("name", name);
        object.end();
    }
}

impl GoJson for core::KeyToPath {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { key, path, mode } = self;
        let mut object = Object::start(out);
        object.field("key", key);
        object.field("path", path);
        object.pointer("mode", mode);
        object.end();
    }
}

impl GoJson for core::HostPathVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { path, type_ } = self;
        let mut object = Object::start(out);
        object.field("path", path);
        object.pointer("type", type_);
        object.end();
    }
}

impl GoJson for core::EmptyDirVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { medium, size_limit } = self;
        let mut object = Object::start(out);
        object.omit_empty("medium", medium);
        object.pointer("sizeLimit", size_limit);
        object.end();
    }
}

impl GoJson for core::GCEPersistentDiskVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            pd_name,
            fs_type,
            partition,
            read_only,
        } = self;
        let mut object = Object::start(out);
        object.field("pdName", pd_name);
        object.omit_empty("fsType", fs_type);
        object.omit_empty("partition", partition);
        object.omit_empty("readOnly", read_only);
        object.end();
    }
}

impl GoJson for core::AWSElasticBlockStoreVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            volume_id,
            fs_type,
            partition,
            read_only,
        } = self;
        let mut object = Object::start(out);
        object.field("volumeID", volume_id);
        object.omit_empty("fsType", fs_type);
        object.omit_empty("partition", partition);
        object.omit_empty("readOnly", read_only);
        object.end();
    }
}

impl GoJson for core::GitRepoVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            repository,
            revision,
            directory,
        } = self;
        let mut object = Object::start(out);
        object.field("repository", repository);
        object.omit_empty("revision", revision);
        object.omit_empty("directory", directory);
        object.end();
    }
}

impl GoJson for core::SecretVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            secret_name,
            items,
            default_mode,
            optional,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("secretName", secret_name);
        object.omit_empty("items", items);
        object.pointer("defaultMode", default_mode);
        object.pointer("optional", optional);
        object.end();
    }
}

impl GoJson for core::NFSVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            server,
            path,
            read_only,
        } = self;
        let mut object = Object::start(out);
        object.field("server", server);
        object.field("path", path);
        object.omit_empty("readOnly", read_only);
        object.end();
    }
}

impl GoJson for core::ISCSIVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            target_portal,
            iqn,
            lun,
            iscsi_interface,
            fs_type,
            read_only,
            portals,
            chap_auth_discovery,
            chap_auth_session,
            secret_ref,
            initiator_name,
        } = self;
        let mut object = Object::start(out);
        object.field("targetPortal", target_portal);
        object.field("iqn", iqn);
        object.field("lun", lun);
        object.omit_empty("iscsiInterface", iscsi_interface);
        object.omit_empty("fsType", fs_type);
        object.omit_empty("readOnly", read_only);
        object.omit_empty("portals", portals);
        object.omit_empty("chapAuthDiscovery", chap_auth_discovery);
        object.omit_empty("chapAuthSession", chap_auth_session);
        object.pointer("secretRef", secret_ref);
        object.pointer("initiatorName", initiator_name);
        object.end();
    }
}

impl GoJson for core::GlusterfsVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            endpoints,
            path,
            read_only,
        } = self;
        let mut object = Object::start(out);
        object.field("endpoints", endpoints);
        object.field("path", path);
        object.omit_empty("readOnly", read_only);
        object.end();
    }
}

impl GoJson for core::PersistentVolumeClaimVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            claim_name,
            read_only,
        } = self;
        let mut object = Object::start(out);
        object.field("claimName", claim_name);
        object.omit_empty("readOnly", read_only);
        object.end();
    }
}

impl GoJson for core::RBDVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            monitors,
            image,
            fs_type,
            pool,
            user,
            keyring,
            secret_ref,
            read_only,
        } = self;
        let mut object = Object::start(out);
        object.field("monitors", monitors);
        object.field("image", image);
        object.omit_empty("fsType", fs_type);
        object.omit_empty("pool", pool);
        object.omit_empty("user", user);
        object.omit_empty("keyring", keyring);
        object.pointer("secretRef", secret_ref);
        object.omit_empty("readOnly", read_only);
        object.end();
    }
}

impl GoJson for core::FlexVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            driver,
            fs_type,
            secret_ref,
            read_only,
            options,
        } = self;
        let mut object = Object::start(out);
        object.field("driver", driver);
        object.omit_empty("fsType", fs_type);
        object.pointer("secretRef", secret_ref);
        object.omit_empty("readOnly", read_only);
        object.omit_empty("options", options);
        object.end();
    }
}

impl GoJson for core::CinderVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            volume_id,
            fs_type,
            read_only,
            secret_ref,
        } = self;
        let mut object = Object::start(out);
        object.field("volumeID", volume_id);
        object.omit_empty("fsType", fs_type);
        object.omit_empty("readOnly", read_only);
        object.pointer("secretRef", secret_ref);
        object.end();
    }
}

impl GoJson for core::CephFSVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            monitors,
            path,
            user,
            secret_file,
            secret_ref,
            read_only,
        } = self;
        let mut object = Object::start(out);
        object.field("monitors", monitors);
        object.omit_empty("path", path);
        object.omit_empty("user", user);
        object.omit_empty("secretFile", secret_file);
        object.pointer("secretRef", secret_ref);
        object.omit_empty("readOnly", read_only);
        object.end();
    }
}

impl GoJson for core::FlockerVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            dataset_name,
            dataset_uuid,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("datasetName", dataset_name);
        object.omit_empty("datasetUUID", dataset_uuid);
        object.end();
    }
}

impl GoJson for core::DownwardAPIVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            items,
            default_mode,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("items", items);
        object.pointer("defaultMode", default_mode);
        object.end();
    }
}

impl GoJson for core::DownwardAPIVolumeFile {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            path,
            field_ref,
            resource_field_ref,
            mode,
        } = self;
        let mut object = Object::start(out);
        object.field("path", path);
        object.pointer("fieldRef", field_ref);
        object.pointer("resourceFieldRef", resource_field_ref);
        object.pointer("mode", mode);
        object.end();
    }
}

impl GoJson for core::FCVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            target_wwns,
            lun,
            fs_type,
            read_only,
            wwids,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("targetWWNs", target_wwns);
        object.pointer("lun", lun);
        object.omit_empty("fsType", fs_type);
        object.omit_empty("readOnly", read_only);
        object.omit_empty("wwids", wwids);
        object.end();
    }
}

impl GoJson for core::AzureFileVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            secret_name,
            share_name,
            read_only,
        } = self;
        let mut object = Object::start(out);
        object.field("secretName", secret_name);
        object.field("shareName", share_name);
        object.omit_empty("readOnly", read_only);
        object.end();
    }
}

impl GoJson for core::ConfigMapVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            name,
            items,
            default_mode,
            optional,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty_value("name", name);
        object.omit_empty("items", items);
        object.pointer("defaultMode", default_mode);
        object.pointer("optional", optional);
        object.end();
    }
}

impl GoJson for core::VsphereVirtualDiskVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            volume_path,
            fs_type,
            storage_policy_name,
            storage_policy_id,
        } = self;
        let mut object = Object::start(out);
        object.field("volumePath", volume_path);
        object.omit_empty("fsType", fs_type);
        object.omit_empty("storagePolicyName", storage_policy_name);
        object.omit_empty("storagePolicyID", storage_policy_id);
        object.end();
    }
}

impl GoJson for core::QuobyteVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            registry,
            volume,
            read_only,
            user,
            group,
            tenant,
        } = self;
        let mut object = Object::start(out);
        object.field("registry", registry);
        object.field("volume", volume);
        object.omit_empty("readOnly", read_only);
        object.omit_empty("user", user);
        object.omit_empty("group", group);
        object.omit_empty("tenant", tenant);
        object.end();
    }
}

impl GoJson for core::AzureDiskVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            disk_name,
            disk_uri,
            caching_mode,
            fs_type,
            read_only,
            kind,
        } = self;
        let mut object = Object::start(out);
        object.field("diskName", disk_name);
        object.field("diskURI", disk_uri);
        object.pointer("cachingMode", caching_mode);
        object.pointer("fsType", fs_type);
        object.pointer("readOnly", read_only);
        object.pointer("kind", kind);
        object.end();
    }
}

impl GoJson for core::PhotonPersistentDiskVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { pd_id, fs_type } = self;
        let mut object = Object::start(out);
        object.field("pdID", pd_id);
        object.omit_empty("fsType", fs_type);
        object.end();
    }
}

impl GoJson for core::ProjectedVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            sources,
            default_mode,
        } = self;
        let mut object = Object::start(out);
        // No `omitempty`: a nil list is written as null.
        object.field("sources", sources);
        object.pointer("defaultMode", default_mode);
        object.end();
    }
}

impl GoJson for core::VolumeProjection {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            secret,
            downward_api,
            config_map,
            service_account_token,
            cluster_trust_bundle,
        } = self;
        let mut object = Object::start(out);
        object.pointer("secret", secret);
        object.pointer("downwardAPI", downward_api);
        object.pointer("configMap", config_map);
        object.pointer("serviceAccountToken", service_account_token);
        object.pointer("clusterTrustBundle", cluster_trust_bundle);
        object.end();
    }
}

impl GoJson for core::SecretProjection {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            name,
            items,
            optional,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty_value("name", name);
        object.omit_empty("items", items);
        object.pointer("optional", optional);
        object.end();
    }
}

impl GoJson for core::ConfigMapProjection {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            name,
            items,
            optional,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty_value("name", name);
        object.omit_empty("items", items);
        object.pointer("optional", optional);
        object.end();
    }
}

impl GoJson for core::DownwardAPIProjection {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { items } = self;
        let mut object = Object::start(out);
        object.omit_empty("items", items);
        object.end();
    }
}

impl GoJson for core::ServiceAccountTokenProjection {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            audience,
            expiration_seconds,
            path,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("audience", audience);
        object.pointer("expirationSeconds", expiration_seconds);
        object.field("path", path);
        object.end();
    }
}

impl GoJson for core::ClusterTrustBundleProjection {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            name,
            signer_name,
            label_selector,
            optional,
            path,
        } = self;
        let mut object = Object::start(out);
        object.pointer("name", name);
        object.pointer("signerName", signer_name);
        object.pointer("labelSelector", label_selector);
        object.pointer("optional", optional);
        object.field("path", path);
        object.end();
    }
}

impl GoJson for core::PortworxVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            volume_id,
            fs_type,
            read_only,
        } = self;
        let mut object = Object::start(out);
        object.field("volumeID", volume_id);
        object.omit_empty("fsType", fs_type);
        object.omit_empty("readOnly", read_only);
        object.end();
    }
}

impl GoJson for core::ScaleIOVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            gateway,
            system,
            secret_ref,
            ssl_enabled,
            protection_domain,
            storage_pool,
            storage_mode,
            volume_name,
            fs_type,
            read_only,
        } = self;
        let mut object = Object::start(out);
        object.field("gateway", gateway);
        object.field("system", system);
        // A pointer without `omitempty`.
        object.field("secretRef", secret_ref);
        object.omit_empty("sslEnabled", ssl_enabled);
        object.omit_empty("protectionDomain", protection_domain);
        object.omit_empty("storagePool", storage_pool);
        object.omit_empty("storageMode", storage_mode);
        object.omit_empty("volumeName", volume_name);
        object.omit_empty("fsType", fs_type);
        object.omit_empty("readOnly", read_only);
        object.end();
    }
}

impl GoJson for core::StorageOSVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            volume_name,
            volume_namespace,
            fs_type,
            read_only,
            secret_ref,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("volumeName", volume_name);
        object.omit_empty("volumeNamespace", volume_namespace);
        object.omit_empty("fsType", fs_type);
        object.omit_empty("readOnly", read_only);
        object.pointer("secretRef", secret_ref);
        object.end();
    }
}

impl GoJson for core::CSIVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            driver,
            read_only,
            fs_type,
            volume_attributes,
            node_publish_secret_ref,
        } = self;
        let mut object = Object::start(out);
        object.field("driver", driver);
        object.pointer("readOnly", read_only);
        object.pointer("fsType", fs_type);
        object.omit_empty("volumeAttributes", volume_attributes);
        object.pointer("nodePublishSecretRef", node_publish_secret_ref);
        object.end();
    }
}

impl GoJson for core::EphemeralVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            volume_claim_template,
        } = self;
        let mut object = Object::start(out);
        object.pointer("volumeClaimTemplate", volume_claim_template);
        object.end();
    }
}

impl GoJson for core::PersistentVolumeClaimTemplate {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { metadata, spec } = self;
        let mut object = Object::start(out);
        // A non-pointer struct: written even when empty (`{}`).
        match metadata {
            Some(metadata) => object.field("metadata", metadata),
            None => object.field("metadata", &meta::ObjectMeta::default()),
        }
        object.field("spec", spec);
        object.end();
    }
}

impl GoJson for core::PersistentVolumeClaimSpec {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            access_modes,
            selector,
            resources,
            volume_name,
            storage_class_name,
            volume_mode,
            data_source,
            data_source_ref,
            volume_attributes_class_name,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("accessModes", access_modes);
        object.pointer("selector", selector);
        // A non-pointer struct: written even when empty (`{}`).
        match resources {
            Some(resources) => object.field("resources", resources),
            None => object.field("resources", &core::VolumeResourceRequirements::default()),
        }
        object.omit_empty("volumeName", volume_name);
        object.pointer("storageClassName", storage_class_name);
        object.pointer("volumeMode", volume_mode);
        object.pointer("dataSource", data_source);
        object.pointer("dataSourceRef", data_source_ref);
        object.pointer("volumeAttributesClassName", volume_attributes_class_name);
        object.end();
    }
}

impl GoJson for core::VolumeResourceRequirements {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self { limits, requests } = self;
        let mut object = Object::start(out);
        object.omit_empty("limits", limits);
        object.omit_empty("requests", requests);
        object.end();
    }
}

impl GoJson for core::TypedLocalObjectReference {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            api_group,
            kind,
            name,
        } = self;
        let mut object = Object::start(out);
        // A pointer without `omitempty`: nil is written as null.
        object.field("apiGroup", api_group);
        object.field("kind", kind);
        object.field("name", name);
        object.end();
    }
}

impl GoJson for core::TypedObjectReference {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            api_group,
            kind,
            name,
            namespace,
        } = self;
        let mut object = Object::start(out);
        // A pointer without `omitempty`: nil is written as null.
        object.field("apiGroup", api_group);
        object.field("kind", kind);
        object.field("name", name);
        object.pointer("namespace", namespace);
        object.end();
    }
}

impl GoJson for core::ImageVolumeSource {
    fn write_go_json(&self, out: &mut Vec<u8>) {
        let Self {
            reference,
            pull_policy,
        } = self;
        let mut object = Object::start(out);
        object.omit_empty("reference", reference);
        object.omit_empty("pullPolicy", pull_policy);
        object.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn go_json_text<T: GoJson + ?Sized>(value: &T) -> String {
        String::from_utf8(to_go_json(value)).expect("Go JSON of UTF-8 input is UTF-8")
    }

    fn volume(value: serde_json::Value) -> core::Volume {
        serde_json::from_value(value).expect("test volumes are valid Volume JSON")
    }

    #[test]
    fn strings_are_escaped_like_go_json_marshal() {
        let input = "q\" b\\ n\n r\r t\t b\u{8} f\u{c} c\u{1} <>& \u{2028}\u{2029} é \u{7f}";
        let expected = r#""q\" b\\ n\n r\r t\t b\b f\f c\u0001 \u003c\u003e\u0026 \u2028\u2029 é "#;
        assert_eq!(go_json_text(input), format!("{expected}\u{7f}\""));
    }

    #[test]
    fn map_keys_are_sorted_bytewise_and_escaped() {
        let map: BTreeMap<String, String> = [("b", "2"), ("B", "1"), ("a&", "3")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        assert_eq!(go_json_text(&map), r#"{"B":"1","a\u0026":"3","b":"2"}"#);
    }

    #[test]
    fn legacy_volume_sources_keep_go_order_and_omitempty_rules() {
        let cases = [
            (
                json!({"name": "i", "iscsi": {"targetPortal": "10.0.0.1:3260", "iqn": "iqn.x", "lun": 0, "readOnly": false, "secretRef": {"name": "chap"}}}),
                r#"{"name":"i","iscsi":{"targetPortal":"10.0.0.1:3260","iqn":"iqn.x","lun":0,"secretRef":{"name":"chap"}}}"#,
            ),
            (
                json!({"name": "g", "gcePersistentDisk": {"pdName": "pd", "partition": 0, "fsType": "ext4", "readOnly": true}}),
                r#"{"name":"g","gcePersistentDisk":{"pdName":"pd","fsType":"ext4","readOnly":true}}"#,
            ),
            (
                json!({"name": "a", "azureDisk": {"diskName": "d", "diskURI": "u", "readOnly": false, "kind": "Managed"}}),
                r#"{"name":"a","azureDisk":{"diskName":"d","diskURI":"u","readOnly":false,"kind":"Managed"}}"#,
            ),
            (
                json!({"name": "r", "rbd": {"monitors": [], "image": "img", "pool": "rbd"}}),
                r#"{"name":"r","rbd":{"monitors":[],"image":"img","pool":"rbd"}}"#,
            ),
            (
                json!({"name": "s", "scaleIO": {"gateway": "gw", "system": "sys", "secretRef": {"name": ""}}}),
                r#"{"name":"s","scaleIO":{"gateway":"gw","system":"sys","secretRef":{}}}"#,
            ),
            (
                json!({"name": "c", "csi": {"driver": "d", "volumeAttributes": {"z": "1", "a": "2"}, "readOnly": false}}),
                r#"{"name":"c","csi":{"driver":"d","readOnly":false,"volumeAttributes":{"a":"2","z":"1"}}}"#,
            ),
            (
                json!({"name": "f", "fc": {"lun": 0, "targetWWNs": ["w"]}}),
                r#"{"name":"f","fc":{"targetWWNs":["w"],"lun":0}}"#,
            ),
            (
                json!({"name": "h", "hostPath": {"path": "/d", "type": ""}}),
                r#"{"name":"h","hostPath":{"path":"/d","type":""}}"#,
            ),
            (
                json!({"name": "p", "projected": {"defaultMode": 288}}),
                r#"{"name":"p","projected":{"sources":null,"defaultMode":288}}"#,
            ),
            (
                json!({"name": "im", "image": {"reference": "r:1", "pullPolicy": "Always"}}),
                r#"{"name":"im","image":{"reference":"r:1","pullPolicy":"Always"}}"#,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(go_json_text(&volume(input)), expected);
        }
    }

    #[test]
    fn pvc_template_data_sources_write_nil_api_group_as_null() {
        let input = json!({"name": "e", "ephemeral": {"volumeClaimTemplate": {
            "metadata": {"labels": {"app": "pg"}},
            "spec": {
                "resources": {"requests": {"storage": "2048Mi"}},
                "dataSource": {"kind": "PersistentVolumeClaim", "name": "src"},
                "dataSourceRef": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap", "namespace": "ns"},
                "volumeMode": "Filesystem"
            }
        }}});
        let expected = concat!(
            r#"{"name":"e","ephemeral":{"volumeClaimTemplate":{"metadata":{"labels":{"app":"pg"}},"spec":{"#,
            r#""resources":{"requests":{"storage":"2Gi"}},"volumeMode":"Filesystem","#,
            r#""dataSource":{"apiGroup":null,"kind":"PersistentVolumeClaim","name":"src"},"#,
            r#""dataSourceRef":{"apiGroup":"snapshot.storage.k8s.io","kind":"VolumeSnapshot","name":"snap","namespace":"ns"}}}}}"#
        );
        assert_eq!(go_json_text(&volume(input)), expected);
    }

    #[test]
    fn object_meta_writes_times_as_rfc3339_seconds_and_drops_a_zero_creation_timestamp() {
        let meta: meta::ObjectMeta = serde_json::from_value(json!({
            "name": "n",
            "generation": 0,
            "creationTimestamp": "0001-01-01T00:00:00Z",
            "deletionTimestamp": "2024-05-06T07:08:09.5Z",
            "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "o", "uid": "u", "controller": true}],
            "managedFields": [{"manager": "m", "operation": "Apply", "time": "2024-01-02T03:04:05Z",
                "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:a<b": {}}}}}]
        }))
        .expect("valid ObjectMeta JSON");
        let expected = concat!(
            r#"{"name":"n","deletionTimestamp":"2024-05-06T07:08:09Z","#,
            r#""ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":"o","uid":"u","controller":true}],"#,
            r#""managedFields":[{"manager":"m","operation":"Apply","time":"2024-01-02T03:04:05Z","#,
            r#""fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{"f:a\u003cb":{}}}}}]}"#
        );
        assert_eq!(go_json_text(&meta), expected);
    }

    #[test]
    fn node_selector_terms_and_toleration_fields_follow_go_tags() {
        let selector = core::NodeSelector {
            node_selector_terms: Vec::new(),
        };
        assert_eq!(go_json_text(&selector), r#"{"nodeSelectorTerms":[]}"#);
        let toleration = core::Toleration {
            key: Some(String::new()),
            operator: Some("Exists".to_owned()),
            toleration_seconds: Some(0),
            ..Default::default()
        };
        assert_eq!(
            go_json_text(&toleration),
            r#"{"operator":"Exists","tolerationSeconds":0}"#
        );
    }

    #[test]
    fn an_unparsable_quantity_is_written_verbatim() {
        let quantity = Quantity("12 apples".to_owned());
        assert_eq!(go_json_text(&quantity), r#""12 apples""#);
    }
}
