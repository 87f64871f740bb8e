//! A container's environment and arguments as the kubelet computes them before it starts the
//! container: `env[]` in order (literal values and `fieldRef`s), `$(VAR)` references expanded
//! against the variables defined before (Kubernetes' expansion rules: `$$` is a literal `$`, an
//! undefined `$(VAR)` stays as written), then `command` and `args` expanded against them all.
//!
//! Pure: the pod comes in as JSON and nothing is read from the cluster; `secretKeyRef`,
//! `configMapKeyRef`, `resourceFieldRef` and `envFrom` are reported as unsupported (the
//! container then waits with `CreateContainerConfigError`, as a kubelet does when it cannot
//! build the environment).

use serde_json::Value;

/// Why the environment of a container cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error(
        "container {container:?}: env {variable:?} uses valueFrom.{source_kind}, which kubesim's \
         process runtimes do not resolve (allowed: value, valueFrom.fieldRef)"
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
    #[error("container {container:?}: envFrom is not resolved by kubesim's process runtimes")]
    EnvFrom { container: String },
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

/// The container's environment, in `env[]` order (a later duplicate replaces an earlier one in
/// place, as the container runtime sees only the last). `pod_ip` overrides `status.podIP`
/// because the kubelet knows the address before it writes it.
pub fn container_env(
    pod: &Value,
    container: &Value,
    pod_ip: &str,
) -> Result<Vec<(String, String)>, EnvError> {
    let container_name = str_at(container, "/name").to_string();
    if container
        .get("envFrom")
        .and_then(Value::as_array)
        .is_some_and(|e| !e.is_empty())
    {
        return Err(EnvError::EnvFrom {
            container: container_name,
        });
    }
    let mut env: Vec<(String, String)> = Vec::new();
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
        match env.iter_mut().find(|(n, _)| *n == variable) {
            Some(slot) => slot.1 = value,
            None => env.push((variable, value)),
        }
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
        let env = container_env(&pod(), &container, "127.0.0.7").expect("supported");
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

    #[test]
    fn unsupported_sources_are_named() {
        let secret = json!({"name": "etcd", "env": [
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]});
        assert_eq!(
            container_env(&pod(), &secret, "127.0.0.7")
                .expect_err("secret")
                .to_string(),
            "container \"etcd\": env \"PASSWORD\" uses valueFrom.secretKeyRef, which kubesim's \
             process runtimes do not resolve (allowed: value, valueFrom.fieldRef)"
        );
        let field = json!({"name": "etcd", "env": [
            {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.hostname"}}}]});
        assert_eq!(
            container_env(&pod(), &field, "127.0.0.7"),
            Err(EnvError::UnsupportedField {
                container: "etcd".into(),
                variable: "X".into(),
                field_path: "spec.hostname".into(),
            })
        );
    }
}
