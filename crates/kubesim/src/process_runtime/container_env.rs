//! A container's environment and arguments as the kubelet computes them before it starts the
//! container: `envFrom` sources first (in order, each key with its `prefix`), then `env[]` in
//! order (literal values, `fieldRef`s, `secretKeyRef`s and `configMapKeyRef`s), `$(VAR)`
//! references expanded against the variables defined before (Kubernetes' expansion rules: `$$`
//! is a literal `$`, an undefined `$(VAR)` stays as written), then `command` and `args`
//! expanded against them all.
//!
//! Pure: the pod comes in as JSON and the Secrets and ConfigMaps of its namespace through
//! [`EnvSources`] (the kubelet reads them from kubesim's store). A missing object or key that
//! is not `optional` fails the start with the kubelet's own message (the container then waits
//! with `CreateContainerConfigError`, retried until the object appears); `resourceFieldRef` is
//! reported as unsupported.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;

/// A Secret's or ConfigMap's string data by key, or `None` when the object does not exist.
pub type DataLookup<'a> = &'a dyn Fn(&str) -> Option<BTreeMap<String, String>>;

/// Where `secretKeyRef`, `configMapKeyRef` and `envFrom` read their values: the objects of the
/// pod's namespace, by name.
#[derive(Clone, Copy)]
pub struct EnvSources<'a> {
    pub secret: DataLookup<'a>,
    pub config_map: DataLookup<'a>,
}

impl EnvSources<'_> {
    /// No Secrets or ConfigMaps at all (every reference is missing).
    pub fn none() -> EnvSources<'static> {
        EnvSources {
            secret: &|_| None,
            config_map: &|_| None,
        }
    }
}

/// A Secret's data as strings: `data` base64-decoded (entries that are not valid base64 or not
/// UTF-8 are left out, as no environment variable could hold them) overlaid by `stringData`.
pub fn secret_data(secret: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(data) = secret.get("data").and_then(Value::as_object) {
        for (key, value) in data {
            let decoded = value
                .as_str()
                .and_then(|v| B64.decode(v).ok())
                .and_then(|bytes| String::from_utf8(bytes).ok());
            if let Some(decoded) = decoded {
                out.insert(key.clone(), decoded);
            }
        }
    }
    if let Some(data) = secret.get("stringData").and_then(Value::as_object) {
        for (key, value) in data {
            if let Some(value) = value.as_str() {
                out.insert(key.clone(), value.to_string());
            }
        }
    }
    out
}

/// A ConfigMap's `data`.
pub fn config_map_data(config_map: &Value) -> BTreeMap<String, String> {
    config_map
        .get("data")
        .and_then(Value::as_object)
        .map(|data| {
            data.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Why the environment of a container cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error(
        "container {container:?}: env {variable:?} uses valueFrom.{source_kind}, which kubesim's \
         process runtimes do not resolve (allowed: value, valueFrom.fieldRef, \
         valueFrom.secretKeyRef, valueFrom.configMapKeyRef)"
    )]
    UnsupportedSource {
        container: String,
        variable: String,
        source_kind: String,
    },
    #[error(
        "container {container:?}: env {variable:?} refers to field {field_path:?}, which is not \
         one of metadata.name, metadata.namespace, metadata.uid, metadata.labels['<key>'], \
         metadata.annotations['<key>'], spec.nodeName, spec.serviceAccountName, status.hostIP, \
         status.podIP"
    )]
    UnsupportedField {
        container: String,
        variable: String,
        field_path: String,
    },
    /// The kubelet's message for a missing object (`secret "x" not found`).
    #[error("container {container:?}: {kind} {name:?} not found")]
    MissingObject {
        container: String,
        kind: &'static str,
        name: String,
    },
    /// The kubelet's message for a missing key.
    #[error("container {container:?}: couldn't find key {key} in {kind} {namespace}/{name}")]
    MissingKey {
        container: String,
        kind: &'static str,
        namespace: String,
        name: String,
        key: String,
    },
}

/// Expands `$(NAME)` references in `input` with `lookup`, as the kubelet does
/// (k8s.io/kubernetes third_party/forked/golang/expansion): `$$` → `$`, `$(NAME)` → its value
/// when defined and left as written otherwise, any other `$` kept.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(close) = inner.find(')')
        {
            let name = &inner[..close];
            match lookup(name) {
                Some(value) => out.push_str(&value),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &inner[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `metadata.labels['key']` → (`labels`, `key`).
fn map_entry(field_path: &str) -> Option<(&str, &str)> {
    let (map, rest) = field_path
        .strip_prefix("metadata.labels['")
        .map(|rest| ("labels", rest))
        .or_else(|| {
            field_path
                .strip_prefix("metadata.annotations['")
                .map(|rest| ("annotations", rest))
        })?;
    Some((map, rest.strip_suffix("']")?))
}

/// The value of a downward-API `fieldRef` on the pod.
fn field_value(pod: &Value, field_path: &str) -> Option<String> {
    if let Some((map, key)) = map_entry(field_path) {
        return Some(
            pod.pointer(&format!("/metadata/{map}"))
                .and_then(|m| m.get(key))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        );
    }
    let pointer = match field_path {
        "metadata.name" => "/metadata/name",
        "metadata.namespace" => "/metadata/namespace",
        "metadata.uid" => "/metadata/uid",
        "spec.nodeName" => "/spec/nodeName",
        "spec.serviceAccountName" => "/spec/serviceAccountName",
        "status.hostIP" => "/status/hostIP",
        "status.podIP" => "/status/podIP",
        _ => return None,
    };
    Some(str_at(pod, pointer).to_string())
}

/// A `secretKeyRef` / `configMapKeyRef` / `envFrom` reference.
struct Reference<'a> {
    kind: &'static str,
    name: &'a str,
    optional: bool,
}

impl Reference<'_> {
    fn of<'v>(kind: &'static str, value: &'v Value) -> Reference<'v> {
        Reference {
            kind,
            name: str_at(value, "/name"),
            optional: value.get("optional").and_then(Value::as_bool) == Some(true),
        }
    }

    /// The object's data; `Ok(None)` for a missing optional object.
    fn data(
        &self,
        sources: &EnvSources<'_>,
        container: &str,
    ) -> Result<Option<BTreeMap<String, String>>, EnvError> {
        let lookup = if self.kind == "secret" {
            sources.secret
        } else {
            sources.config_map
        };
        match lookup(self.name) {
            Some(data) => Ok(Some(data)),
            None if self.optional => Ok(None),
            None => Err(EnvError::MissingObject {
                container: container.to_string(),
                kind: self.kind,
                name: self.name.to_string(),
            }),
        }
    }
}

/// Sets `variable`: a later definition replaces an earlier one in place, as the container
/// runtime sees only the last.
fn set(env: &mut Vec<(String, String)>, variable: String, value: String) {
    match env.iter_mut().find(|(n, _)| *n == variable) {
        Some(slot) => slot.1 = value,
        None => env.push((variable, value)),
    }
}

/// The container's environment: `envFrom` first, then `env[]` in order. `pod_ip` overrides
/// `status.podIP` because the kubelet knows the address before it writes it.
pub fn container_env(
    pod: &Value,
    container: &Value,
    pod_ip: &str,
    sources: &EnvSources<'_>,
) -> Result<Vec<(String, String)>, EnvError> {
    let container_name = str_at(container, "/name").to_string();
    let namespace = str_at(pod, "/metadata/namespace");
    let mut env: Vec<(String, String)> = Vec::new();
    for from in container
        .get("envFrom")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let prefix = str_at(from, "/prefix");
        let reference = if let Some(secret) = from.get("secretRef") {
            Reference::of("secret", secret)
        } else if let Some(config_map) = from.get("configMapRef") {
            Reference::of("configmap", config_map)
        } else {
            continue;
        };
        for (key, value) in reference
            .data(sources, &container_name)?
            .unwrap_or_default()
        {
            set(&mut env, format!("{prefix}{key}"), value);
        }
    }
    for entry in container
        .get("env")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let variable = str_at(entry, "/name").to_string();
        let value = if let Some(from) = entry.get("valueFrom").and_then(Value::as_object) {
            if let Some(field_ref) = from.get("fieldRef") {
                let field_path = str_at(field_ref, "/fieldPath");
                if field_path == "status.podIP" {
                    pod_ip.to_string()
                } else {
                    field_value(pod, field_path).ok_or_else(|| EnvError::UnsupportedField {
                        container: container_name.clone(),
                        variable: variable.clone(),
                        field_path: field_path.to_string(),
                    })?
                }
            } else if let Some((kind, key_ref)) = from
                .get("secretKeyRef")
                .map(|r| ("secret", r))
                .or_else(|| from.get("configMapKeyRef").map(|r| ("configmap", r)))
            {
                let reference = Reference::of(kind, key_ref);
                let key = str_at(key_ref, "/key");
                let Some(data) = reference.data(sources, &container_name)? else {
                    continue;
                };
                match data.get(key) {
                    Some(value) => value.clone(),
                    None if reference.optional => continue,
                    None => {
                        return Err(EnvError::MissingKey {
                            container: container_name,
                            kind: if kind == "secret" {
                                "Secret"
                            } else {
                                "ConfigMap"
                            },
                            namespace: namespace.to_string(),
                            name: reference.name.to_string(),
                            key: key.to_string(),
                        });
                    }
                }
            } else {
                return Err(EnvError::UnsupportedSource {
                    container: container_name,
                    variable,
                    source_kind: from.keys().next().cloned().unwrap_or_default(),
                });
            }
        } else {
            let defined = env.clone();
            expand(str_at(entry, "/value"), &|name| {
                defined
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            })
        };
        set(&mut env, variable, value);
    }
    Ok(env)
}

/// `command` followed by `args`, each expanded against the container's environment. Empty when
/// the container keeps its image's entrypoint.
pub fn container_argv(container: &Value, env: &[(String, String)]) -> Vec<String> {
    let lookup = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    ["command", "args"]
        .iter()
        .flat_map(|field| {
            container
                .get(*field)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .map(|arg| expand(arg.as_str().unwrap_or_default(), &lookup))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn vars(name: &str) -> Option<String> {
        match name {
            "POD_NAME" => Some("topo-0".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expansion_follows_the_kubelet_rules() {
        let cases = [
            ("http://$(POD_NAME).svc:2379", "http://topo-0.svc:2379"),
            ("$(UNDEFINED)-x", "$(UNDEFINED)-x"),
            ("$$(POD_NAME)", "$(POD_NAME)"),
            ("cost $5 and $", "cost $5 and $"),
            ("$(POD_NAME", "$(POD_NAME"),
            ("[$(EMPTY)]", "[]"),
            ("$(POD_NAME)$(POD_NAME)", "topo-0topo-0"),
        ];
        for (input, expected) in cases {
            assert_eq!(expand(input, &vars), expected, "{input}");
        }
    }

    fn pod() -> Value {
        json!({"metadata": {"name": "topo-1", "namespace": "db", "uid": "u-1",
                            "labels": {"app": "etcd"}},
               "spec": {"nodeName": "kubesim-zone-a"},
               "status": {"hostIP": "172.18.0.2"}})
    }

    #[test]
    fn env_resolves_field_refs_and_earlier_variables_in_order() {
        let container = json!({"name": "etcd", "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "URL", "value": "http://$(POD_NAME).h.$(POD_NAMESPACE).svc:$(LATER)"},
            {"name": "LATER", "value": "2379"},
        ]});
        let env =
            container_env(&pod(), &container, "127.0.0.7", &EnvSources::none()).expect("supported");
        let expected: Vec<(String, String)> = [
            ("POD_NAME", "topo-1"),
            ("POD_NAMESPACE", "db"),
            ("IP", "127.0.0.7"),
            ("APP", "etcd"),
            ("URL", "http://topo-1.h.db.svc:$(LATER)"),
            ("LATER", "2379"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        assert_eq!(env, expected);
        let argv = container_argv(
            &json!({"command": ["etcd"], "args": ["--name=$(POD_NAME)", "$(NOPE)"]}),
            &env,
        );
        assert_eq!(argv, vec!["etcd", "--name=topo-1", "$(NOPE)"]);
    }

    fn secrets(name: &str) -> Option<BTreeMap<String, String>> {
        (name == "pw").then(|| {
            secret_data(
                &json!({"data": {"password": "czNjcjN0", "user": "cG9zdGdyZXM="},
                                "stringData": {"extra": "plain"}}),
            )
        })
    }

    fn config_maps(name: &str) -> Option<BTreeMap<String, String>> {
        (name == "settings")
            .then(|| config_map_data(&json!({"data": {"LEVEL": "debug", "PORT": "5432"}})))
    }

    const SOURCES: EnvSources<'static> = EnvSources {
        secret: &secrets,
        config_map: &config_maps,
    };

    #[test]
    fn secrets_config_maps_and_env_from_resolve_from_the_namespace() {
        let container = json!({"name": "postgres",
            "envFrom": [
                {"configMapRef": {"name": "settings"}, "prefix": "APP_"},
                {"secretRef": {"name": "pw"}},
                {"secretRef": {"name": "absent", "optional": true}}],
            "env": [
                {"name": "POSTGRES_PASSWORD",
                 "valueFrom": {"secretKeyRef": {"name": "pw", "key": "password"}}},
                {"name": "LEVEL",
                 "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "LEVEL"}}},
                {"name": "SKIPPED",
                 "valueFrom": {"secretKeyRef": {"name": "pw", "key": "nope", "optional": true}}},
                {"name": "URL", "value": "postgres://$(user):$(POSTGRES_PASSWORD)@db:$(APP_PORT)"},
                {"name": "user", "value": "override"}]});
        let env = container_env(&pod(), &container, "127.0.0.7", &SOURCES).expect("resolves");
        let expected: Vec<(String, String)> = [
            ("APP_LEVEL", "debug"),
            ("APP_PORT", "5432"),
            ("extra", "plain"),
            ("password", "s3cr3t"),
            ("user", "override"),
            ("POSTGRES_PASSWORD", "s3cr3t"),
            ("LEVEL", "debug"),
            ("URL", "postgres://postgres:s3cr3t@db:5432"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        assert_eq!(env, expected);
    }

    #[test]
    fn missing_objects_and_keys_fail_with_the_kubelet_message() {
        let missing = json!({"name": "postgres", "env": [
            {"name": "P", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k"}}}]});
        assert_eq!(
            container_env(&pod(), &missing, "127.0.0.7", &SOURCES)
                .expect_err("no secret")
                .to_string(),
            "container \"postgres\": secret \"gone\" not found"
        );
        let key = json!({"name": "postgres", "env": [
            {"name": "P", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "k"}}}]});
        assert_eq!(
            container_env(&pod(), &key, "127.0.0.7", &SOURCES)
                .expect_err("no key")
                .to_string(),
            "container \"postgres\": couldn't find key k in ConfigMap db/settings"
        );
        let env_from = json!({"name": "postgres", "envFrom": [{"configMapRef": {"name": "gone"}}]});
        assert_eq!(
            container_env(&pod(), &env_from, "127.0.0.7", &SOURCES),
            Err(EnvError::MissingObject {
                container: "postgres".into(),
                kind: "configmap",
                name: "gone".into(),
            })
        );
    }

    #[test]
    fn unsupported_sources_are_named() {
        let resources = json!({"name": "etcd", "env": [
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]});
        assert_eq!(
            container_env(&pod(), &resources, "127.0.0.7", &SOURCES)
                .expect_err("resources")
                .to_string(),
            "container \"etcd\": env \"CPU\" uses valueFrom.resourceFieldRef, which kubesim's \
             process runtimes do not resolve (allowed: value, valueFrom.fieldRef, \
             valueFrom.secretKeyRef, valueFrom.configMapKeyRef)"
        );
        let field = json!({"name": "etcd", "env": [
            {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.hostname"}}}]});
        assert_eq!(
            container_env(&pod(), &field, "127.0.0.7", &EnvSources::none()),
            Err(EnvError::UnsupportedField {
                container: "etcd".into(),
                variable: "X".into(),
                field_path: "spec.hostname".into(),
            })
        );
    }
}
