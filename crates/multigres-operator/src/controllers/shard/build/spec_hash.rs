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
