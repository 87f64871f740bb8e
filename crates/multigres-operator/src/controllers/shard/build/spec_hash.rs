//! The pool pod spec hash (spec-controllers.md §7.5): FNV-1a 32-bit over a byte stream built from
//! the desired pod, stored in the `multigres.com/spec-hash` annotation and compared on every pass to
//! decide whether a pod drifted (§7.6 `podNeedsUpdate`).
//!
//! The stream must equal the Go operator's byte for byte: a user who swaps operators would
//! otherwise see every pool pod drained and recreated. Its JSON pieces come from [`super::go_json`],
//! which writes Go's field order and escaping.
//!
//! Must not: read the `multigres.com/spec-hash` annotation itself, labels, other annotations,
//! ports, probes, restart policies, hostname/subdomain, owner references, `imagePullPolicy` or
//! `imagePullSecrets` (spec/README.md fix 10: pull settings must not change the hash of pods that
//! don't set them). The destructurings below name every field of `Container` and `PodSpec`, so a
//! field added by a newer k8s-openapi does not compile until someone decides whether Go hashes it.

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, ResourceRequirements};
use multigres_api::labels::ANNOTATION_POSTGRES_CONFIG_HASH;

use super::go_json::to_go_json;

const FNV32_OFFSET_BASIS: u32 = 0x811c_9dc5;
const FNV32_PRIME: u32 = 0x0100_0193;

/// The exact bytes Go's `ComputeSpecHash` feeds to FNV-1a, chunks joined without separators.
pub fn spec_hash_input(pod: &Pod) -> Vec<u8> {
    let mut stream = Vec::new();
    let no_spec = PodSpec::default();
    let PodSpec {
        init_containers,
        containers,
        volumes,
        affinity,
        tolerations,
        node_selector,
        termination_grace_period_seconds,
        service_account_name,
        security_context,
        // Not hashed by Go (§7.5): a change to any of these never rolls the pool.
        active_deadline_seconds: _,
        automount_service_account_token: _,
        dns_config: _,
        dns_policy: _,
        enable_service_links: _,
        ephemeral_containers: _,
        host_aliases: _,
        host_ipc: _,
        host_network: _,
        host_pid: _,
        host_users: _,
        hostname: _,
        image_pull_secrets: _,
        node_name: _,
        os: _,
        overhead: _,
        preemption_policy: _,
        priority: _,
        priority_class_name: _,
        readiness_gates: _,
        resource_claims: _,
        resources: _,
        restart_policy: _,
        runtime_class_name: _,
        scheduler_name: _,
        scheduling_gates: _,
        service_account: _,
        set_hostname_as_fqdn: _,
        share_process_namespace: _,
        subdomain: _,
        topology_spread_constraints: _,
    } = pod.spec.as_ref().unwrap_or(&no_spec);

    for container in init_containers.iter().flatten().chain(containers) {
        write_container(&mut stream, container);
    }
    for volume in volumes.iter().flatten() {
        stream.extend_from_slice(&to_go_json(volume));
    }
    if let Some(affinity) = affinity {
        stream.extend_from_slice(&to_go_json(affinity));
    }
    if let Some(tolerations) = tolerations.as_ref().filter(|list| !list.is_empty()) {
        stream.extend_from_slice(&to_go_json(tolerations));
    }
    // BTreeMap iterates in Go's `sort.Strings` order.
    for (key, value) in node_selector.iter().flatten() {
        chunk(&mut stream, &[key, "=", value]);
    }
    if let Some(seconds) = termination_grace_period_seconds {
        chunk(&mut stream, &["tgp=", &seconds.to_string()]);
    }
    if let Some(account) = service_account_name
        .as_deref()
        .filter(|name| !name.is_empty())
    {
        chunk(&mut stream, &["sa=", account]);
    }
    if let Some(context) = security_context {
        stream.extend_from_slice(b"podsc=");
        stream.extend_from_slice(&to_go_json(context));
    }
    let config_hash = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(ANNOTATION_POSTGRES_CONFIG_HASH));
    if let Some(config_hash) = config_hash.filter(|value| !value.is_empty()) {
        chunk(&mut stream, &["pgcfg=", config_hash]);
    }
    stream
}

/// The `multigres.com/spec-hash` value: FNV-1a 32-bit of [`spec_hash_input`], 8 lowercase hex digits.
pub fn spec_hash(pod: &Pod) -> String {
    format!("{:08x}", fnv1a_32(&spec_hash_input(pod)))
}

fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(FNV32_OFFSET_BASIS, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(FNV32_PRIME)
    })
}

fn chunk(stream: &mut Vec<u8>, parts: &[&str]) {
    for part in parts {
        stream.extend_from_slice(part.as_bytes());
    }
}

/// Go's `hashContainers` for one container (§7.5 item 1).
fn write_container(stream: &mut Vec<u8>, container: &Container) {
    let Container {
        name,
        image,
        command,
        args,
        env,
        env_from,
        resources,
        volume_mounts,
        security_context,
        // Not hashed by Go (§7.5); `image_pull_policy` also by spec/README.md fix 10.
        image_pull_policy: _,
        lifecycle: _,
        liveness_probe: _,
        ports: _,
        readiness_probe: _,
        resize_policy: _,
        restart_policy: _,
        startup_probe: _,
        stdin: _,
        stdin_once: _,
        termination_message_path: _,
        termination_message_policy: _,
        tty: _,
        volume_devices: _,
        working_dir: _,
    } = container;
    chunk(stream, &["name=", name]);
    chunk(stream, &["image=", image.as_deref().unwrap_or_default()]);
    for part in command.iter().flatten() {
        chunk(stream, &["cmd=", part]);
    }
    for arg in args.iter().flatten() {
        chunk(stream, &["arg=", arg]);
    }
    for variable in env.iter().flatten() {
        chunk(
            stream,
            &[
                "env=",
                &variable.name,
                "=",
                variable.value.as_deref().unwrap_or_default(),
            ],
        );
        if let Some(source) = &variable.value_from {
            chunk(stream, &["envValFrom=", &variable.name, "="]);
            stream.extend_from_slice(&to_go_json(source));
        }
    }
    for source in env_from.iter().flatten() {
        stream.extend_from_slice(b"envFromSrc=");
        stream.extend_from_slice(&to_go_json(source));
    }
    // `Resources` is a non-pointer struct in Go: always hashed, `{}` when empty.
    stream.extend_from_slice(b"res=");
    match resources {
        Some(resources) => stream.extend_from_slice(&to_go_json(resources)),
        None => stream.extend_from_slice(&to_go_json(&ResourceRequirements::default())),
    }
    for mount in volume_mounts.iter().flatten() {
        chunk(stream, &["vm=", &mount.name, ":", &mount.mount_path]);
    }
    if let Some(context) = security_context {
        stream.extend_from_slice(b"sc=");
        stream.extend_from_slice(&to_go_json(context));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).expect("test pods are valid Pod JSON")
    }

    fn stream_text(pod: &Pod) -> String {
        String::from_utf8(spec_hash_input(pod)).expect("streams of UTF-8 input are UTF-8")
    }

    #[test]
    fn container_chunks_cover_commands_env_sources_resources_and_security_context() {
        let pod = pod(json!({"spec": {"containers": [{
            "name": "c",
            "image": "img:1",
            "command": ["/bin/sh", "-c"],
            "args": ["run --x=<y>&z"],
            "env": [
                {"name": "PLAIN", "value": "v"},
                {"name": "EMPTY"},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"containerName": "c", "resource": "limits.memory"}}},
                {"name": "MEM_GI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1024Mi"}}},
                {"name": "CM", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k", "optional": true}}},
                {"name": "S", "valueFrom": {"secretKeyRef": {"name": "", "key": "password"}}}
            ],
            "envFrom": [
                {"prefix": "PG_", "configMapRef": {"name": "pg-env"}},
                {"secretRef": {"name": "pg-secret", "optional": false}}
            ],
            "resources": {
                "limits": {"memory": "1024Mi", "cpu": "2000m"},
                "requests": {"cpu": "0.5"},
                "claims": [{"name": "gpu"}, {"name": "nic", "request": "fast"}]
            },
            "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": true}],
            "securityContext": {
                "appArmorProfile": {"type": "Localhost", "localhostProfile": "pg"},
                "seccompProfile": {"type": "RuntimeDefault"},
                "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true,
                "runAsNonRoot": true,
                "runAsGroup": 998,
                "runAsUser": 999,
                "seLinuxOptions": {"level": "s0:c1", "type": "spc_t"},
                "privileged": false,
                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
            },
            "ports": [{"containerPort": 5432}],
            "livenessProbe": {"httpGet": {"path": "/live", "port": 15200}}
        }]}}));
        let expected = [
            "name=c",
            "image=img:1",
            "cmd=/bin/sh",
            "cmd=-c",
            // Plain chunks are written as-is: only JSON pieces are HTML-escaped.
            "arg=run --x=<y>&z",
            "env=PLAIN=v",
            "env=EMPTY=",
            "env=POD_IP=",
            r#"envValFrom=POD_IP={"fieldRef":{"fieldPath":"status.podIP"}}"#,
            "env=NODE=",
            r#"envValFrom=NODE={"fieldRef":{"apiVersion":"v1","fieldPath":"spec.nodeName"}}"#,
            "env=MEM=",
            r#"envValFrom=MEM={"resourceFieldRef":{"containerName":"c","resource":"limits.memory","divisor":"0"}}"#,
            "env=MEM_GI=",
            r#"envValFrom=MEM_GI={"resourceFieldRef":{"resource":"limits.memory","divisor":"1Gi"}}"#,
            "env=CM=",
            r#"envValFrom=CM={"configMapKeyRef":{"name":"cm","key":"k","optional":true}}"#,
            "env=S=",
            r#"envValFrom=S={"secretKeyRef":{"key":"password"}}"#,
            r#"envFromSrc={"prefix":"PG_","configMapRef":{"name":"pg-env"}}"#,
            r#"envFromSrc={"secretRef":{"name":"pg-secret","optional":false}}"#,
            r#"res={"limits":{"cpu":"2","memory":"1Gi"},"requests":{"cpu":"500m"},"claims":[{"name":"gpu"},{"name":"nic","request":"fast"}]}"#,
            "vm=data:/data",
            concat!(
                r#"sc={"capabilities":{"add":["NET_BIND_SERVICE"],"drop":["ALL"]},"privileged":false,"#,
                r#""seLinuxOptions":{"type":"spc_t","level":"s0:c1"},"runAsUser":999,"runAsGroup":998,"#,
                r#""runAsNonRoot":true,"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,"#,
                r#""seccompProfile":{"type":"RuntimeDefault"},"#,
                r#""appArmorProfile":{"type":"Localhost","localhostProfile":"pg"}}"#
            ),
        ];
        assert_eq!(stream_text(&pod), expected.concat());
    }

    #[test]
    fn pod_chunks_cover_volumes_affinity_tolerations_node_selector_and_pod_security_context() {
        let pod = pod(json!({
            "metadata": {"annotations": {
                "multigres.com/postgres-config-hash": "abc123",
                "multigres.com/spec-hash": "deadbeef",
                "other": "x"
            }},
            "spec": {
                "initContainers": [{"name": "init", "image": "i", "restartPolicy": "Always"}],
                "containers": [{"name": "c"}],
                "volumes": [
                    {"name": "cfg", "projected": {"sources": [
                        {"configMap": {"name": "cm", "items": [{"key": "a.conf", "path": "a.conf", "mode": 420}], "optional": true}},
                        {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                        {"serviceAccountToken": {"audience": "vault", "expirationSeconds": 3600, "path": "token"}}
                    ]}},
                    {"name": "tls", "secret": {"secretName": "tls", "items": [{"key": "tls.crt", "path": "tls.crt"}], "defaultMode": 256}},
                    {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "1024Mi"}},
                    {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast"}}}}
                ],
                "affinity": {},
                "tolerations": [
                    {"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60},
                    {"operator": "Exists"}
                ],
                "nodeSelector": {"zone": "a", "disk": "ssd", "Zeta": "z"},
                "terminationGracePeriodSeconds": 45,
                "serviceAccountName": "pg-sa",
                "securityContext": {
                    "seccompProfile": {"type": "RuntimeDefault"},
                    "fsGroupChangePolicy": "OnRootMismatch",
                    "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}],
                    "fsGroup": 999,
                    "supplementalGroups": [1000, 2000],
                    "runAsNonRoot": true
                },
                "hostname": "h",
                "subdomain": "s",
                "priorityClassName": "high"
            }
        }));
        let expected = [
            "name=init",
            "image=i",
            "res={}",
            "name=c",
            "image=",
            "res={}",
            concat!(
                r#"{"name":"cfg","projected":{"sources":["#,
                r#"{"configMap":{"name":"cm","items":[{"key":"a.conf","path":"a.conf","mode":420}],"optional":true}},"#,
                r#"{"downwardAPI":{"items":[{"path":"labels","fieldRef":{"fieldPath":"metadata.labels"}}]}},"#,
                r#"{"serviceAccountToken":{"audience":"vault","expirationSeconds":3600,"path":"token"}}]}}"#
            ),
            r#"{"name":"tls","secret":{"secretName":"tls","items":[{"key":"tls.crt","path":"tls.crt"}],"defaultMode":256}}"#,
            r#"{"name":"shm","emptyDir":{"medium":"Memory","sizeLimit":"1Gi"}}"#,
            // Go's non-pointer `metadata` and `resources` structs are written even when empty.
            r#"{"name":"scratch","ephemeral":{"volumeClaimTemplate":{"metadata":{},"spec":{"accessModes":["ReadWriteOnce"],"resources":{},"storageClassName":"fast"}}}}"#,
            "{}",
            r#"[{"key":"k","operator":"Exists","effect":"NoExecute","tolerationSeconds":60},{"operator":"Exists"}]"#,
            // Keys in byte order: upper case sorts first.
            "Zeta=z",
            "disk=ssd",
            "zone=a",
            "tgp=45",
            "sa=pg-sa",
            concat!(
                r#"podsc={"runAsNonRoot":true,"supplementalGroups":[1000,2000],"fsGroup":999,"#,
                r#""sysctls":[{"name":"net.core.somaxconn","value":"1024"}],"#,
                r#""fsGroupChangePolicy":"OnRootMismatch","seccompProfile":{"type":"RuntimeDefault"}}"#
            ),
            "pgcfg=abc123",
        ];
        assert_eq!(stream_text(&pod), expected.concat());
    }

    #[test]
    fn affinity_json_is_html_escaped_but_node_selector_chunks_are_not() {
        let pod = pod(json!({"spec": {
            "containers": [],
            "affinity": {
                "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                    "mismatchLabelKeys": ["other"],
                    "matchLabelKeys": ["pod-template-hash"],
                    "namespaceSelector": {},
                    "topologyKey": "zone",
                    "namespaces": ["db"],
                    "labelSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
                }]},
                "nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 5, "preference": {
                        "matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}]
                    }}],
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
                        "matchExpressions": [{"key": "k", "operator": "In", "values": ["a<b&c>d"]}]
                    }]}
                }
            },
            "nodeSelector": {"k": "<v>&"}
        }}));
        let expected = concat!(
            r#"{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"#,
            r#""matchExpressions":[{"key":"k","operator":"In","values":["a\u003cb\u0026c\u003ed"]}]}]},"#,
            r#""preferredDuringSchedulingIgnoredDuringExecution":[{"weight":5,"preference":{"#,
            r#""matchFields":[{"key":"metadata.name","operator":"NotIn","values":["n1"]}]}}]},"#,
            r#""podAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"#,
            r#""labelSelector":{"matchExpressions":[{"key":"app","operator":"Exists"}]},"namespaces":["db"],"#,
            r#""topologyKey":"zone","namespaceSelector":{},"matchLabelKeys":["pod-template-hash"],"#,
            r#""mismatchLabelKeys":["other"]}]}}"#,
            "k=<v>&"
        );
        assert_eq!(stream_text(&pod), expected);
    }

    #[test]
    fn empty_tolerations_node_selector_and_config_hash_add_nothing() {
        let pod = pod(json!({
            "metadata": {"annotations": {"multigres.com/postgres-config-hash": ""}},
            "spec": {"containers": [{"name": "c", "image": "i"}], "tolerations": [], "nodeSelector": {}, "serviceAccountName": ""}
        }));
        assert_eq!(stream_text(&pod), "name=cimage=ires={}");
    }

    #[test]
    fn a_pod_without_spec_hashes_only_its_config_hash() {
        let pod =
            pod(json!({"metadata": {"annotations": {"multigres.com/postgres-config-hash": "ff"}}}));
        assert_eq!(stream_text(&pod), "pgcfg=ff");
    }

    /// spec/README.md fix 10: pull settings apply to every pod without changing its hash.
    #[test]
    fn image_pull_policy_and_secrets_do_not_change_the_hash() {
        let plain = pod(json!({"spec": {
            "initContainers": [{"name": "multipooler", "image": "m"}],
            "containers": [{"name": "postgres", "image": "p"}]
        }}));
        let with_pull_settings = pod(json!({"spec": {
            "initContainers": [{"name": "multipooler", "image": "m", "imagePullPolicy": "Always"}],
            "containers": [{"name": "postgres", "image": "p", "imagePullPolicy": "IfNotPresent"}],
            "imagePullSecrets": [{"name": "regcred"}]
        }}));
        assert_eq!(
            spec_hash_input(&with_pull_settings),
            spec_hash_input(&plain)
        );
        assert_eq!(spec_hash(&with_pull_settings), spec_hash(&plain));
    }

    #[test]
    fn fnv1a_32_matches_the_reference_vectors() {
        assert_eq!(fnv1a_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a_32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a_32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn spec_hash_keeps_leading_zero_digits() {
        // FNV-1a 32 of "pgcfg=200" is 0x0376d3f1 (computed independently).
        let pod = pod(
            json!({"metadata": {"annotations": {"multigres.com/postgres-config-hash": "200"}}}),
        );
        assert_eq!(spec_hash(&pod), "0376d3f1");
    }
}
