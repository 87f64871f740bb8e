//! The operator runtime: the pod of the operator's own Deployment (`config/install/*.yaml`,
//! image `ghcr.io/multigres/multigres-operator-rs:*`) runs as the locally built
//! `multigres-operator` binary, so an install manifest applied to kubesim brings up a working
//! operator, as on a cluster (docs/kubesim.md "Process runtimes", docs/install.md).
//!
//! What the process gets, and how each differs from a container:
//! - the program: the binary kubesim was given (`--operator-bin`, `MULTIGRES_OPERATOR_BIN`, else
//!   `multigres-operator` on `PATH`) in place of a leading `multigres-operator` word of the
//!   container's `command` (any path), or before the whole argv when the container keeps the
//!   image's entrypoint (the image's `ENTRYPOINT` is the binary);
//! - its environment, `$(VAR)` expanded by [`super::container_env`] (downward-API fields such as
//!   `metadata.namespace` and `spec.serviceAccountName` included);
//! - listen addresses: every simulated pod shares this machine's ports, so a listen address
//!   whose host is a wildcard or loopback (`:8443`, `0.0.0.0:8081`, `[::]:9443`,
//!   `127.0.0.1:8080`) becomes the pod's own address, in the `--*-bind-address` flags and their
//!   variables; the defaults of the flags the container leaves out (`:8443`, `:8081`) and the
//!   webhook server's (every address, port 9443) are pinned to the pod's address through their
//!   variables, so the webhook Service (targetPort 9443) and the metrics port reach the process
//!   at the pod IP and nothing else;
//! - credentials: a kubeconfig ([`service_account_kubeconfig`]) with kubesim's URL and a token
//!   issued for the pod's ServiceAccount (`system:serviceaccount:<ns>:<sa>`), named by
//!   `KUBECONFIG`: what the in-cluster configuration gives a real pod. `KUBERNETES_SERVICE_HOST`
//!   is not set, so the operator resolves Service names through kubesim
//!   (`--address-resolution=auto`; the process has no cluster DNS);
//! - volumes: Secret and ConfigMap volumes at their container paths through the mount plan of
//!   [`super::isolation`], kept current by the kubelet when the objects change (the operator
//!   writes its webhook certificate Secret after it starts; an `optional` Secret that does not
//!   exist yet mounts as an empty folder).
//!
//! Pure: the binary, the address and the kubeconfig's path come in.

use std::net::IpAddr;
use std::path::Path;

use super::etcd::Launch;
use super::multigres::repository;

/// The repository of the operator's image (config/install's Deployment; the Containerfile).
pub const OPERATOR_IMAGE: &str = "ghcr.io/multigres/multigres-operator-rs";
/// The operator's program name (the image's entrypoint).
pub const OPERATOR_PROGRAM: &str = "multigres-operator";
/// The variable naming the operator binary when kubesim's settings name none.
pub const OPERATOR_BIN_ENV: &str = "MULTIGRES_OPERATOR_BIN";

/// The PATH of the operator process.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Whether `image` is the operator's (any tag or digest, any registry mirror of the path).
pub fn is_operator_image(image: &str) -> bool {
    repository(image).ends_with("multigres/multigres-operator-rs")
}

/// The listen settings of `multigres-operator run`: flag, variable, default. A flag left out
/// of the argv and a variable left out of the environment mean the default, which binds every
/// address; the runtime pins it to the pod.
const LISTENERS: [(&str, &str, Option<&str>); 3] = [
    (
        "metrics-bind-address",
        "MULTIGRES_METRICS_BIND_ADDRESS",
        Some(":8443"),
    ),
    (
        "health-probe-bind-address",
        "MULTIGRES_HEALTH_PROBE_BIND_ADDRESS",
        Some(":8081"),
    ),
    // No address flag: the webhook server listens on every address unless `--webhook-host`
    // names one (webhook/args.rs).
    ("webhook-host", "MULTIGRES_WEBHOOK_HOST", None),
];

/// The inputs of the operator container's start.
pub struct OperatorContainer<'a> {
    /// The `multigres-operator` binary to run.
    pub binary: &'a Path,
    /// The container's environment, `$(VAR)` already expanded.
    pub env: &'a [(String, String)],
    /// `command` + `args`, expanded.
    pub argv: &'a [String],
    pub pod_ip: IpAddr,
    /// The kubeconfig of the pod's ServiceAccount ([`service_account_kubeconfig`]).
    pub kubeconfig: &'a Path,
    /// `HOME` of the process (the image's home does not exist here).
    pub home: &'a Path,
}

/// Whether a listen host is the pod itself: empty (`:PORT`), a wildcard or loopback.
fn is_local_host(host: &str) -> bool {
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => ip.is_unspecified() || ip.is_loopback(),
        Err(_) => matches!(host, "" | "*" | "localhost"),
    }
}

/// A listen address (`host:port`, `:port`, `[v6]:port`) with a local host replaced by the
/// pod's address; anything else (`0`, which disables the listener, or another host) as given.
pub fn pod_listen_address(value: &str, pod_ip: IpAddr) -> String {
    let Some((host, port)) = value.rsplit_once(':') else {
        return value.to_string();
    };
    if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) || !is_local_host(host) {
        return value.to_string();
    }
    match pod_ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// A `--webhook-host` value: a local host becomes the pod's address.
fn pod_host(value: &str, pod_ip: IpAddr) -> String {
    if is_local_host(value) {
        pod_ip.to_string()
    } else {
        value.to_string()
    }
}

fn adapt(flag: &str, value: &str, pod_ip: IpAddr) -> String {
    if flag == "webhook-host" {
        pod_host(value, pod_ip)
    } else {
        pod_listen_address(value, pod_ip)
    }
}

/// The operator process for the container.
pub fn operator_launch(input: &OperatorContainer<'_>) -> Launch {
    let words: &[String] = match input.argv.first() {
        Some(first)
            if Path::new(first)
                .file_name()
                .is_some_and(|name| name == OPERATOR_PROGRAM) =>
        {
            &input.argv[1..]
        }
        _ => input.argv,
    };
    let mut args = Vec::with_capacity(words.len());
    let mut seen: Vec<&str> = Vec::new();
    let mut words = words.iter().peekable();
    while let Some(word) = words.next() {
        let listener = LISTENERS.iter().find_map(|(flag, _, _)| {
            let rest = word.strip_prefix("--")?.strip_prefix(flag)?;
            Some((*flag, rest))
        });
        match listener {
            Some((flag, rest)) if rest.starts_with('=') => {
                seen.push(flag);
                args.push(format!(
                    "--{flag}={}",
                    adapt(flag, &rest[1..], input.pod_ip)
                ));
            }
            // clap takes `--flag value` too.
            Some((flag, "")) if words.peek().is_some_and(|next| !next.starts_with('-')) => {
                seen.push(flag);
                let value = words.next().map(String::as_str).unwrap_or_default();
                args.push(format!("--{flag}={}", adapt(flag, value, input.pod_ip)));
            }
            _ => args.push(word.clone()),
        }
    }
    let mut env: Vec<(String, String)> = input
        .env
        .iter()
        .map(|(name, value)| {
            let value = match LISTENERS.iter().find(|(_, variable, _)| variable == name) {
                Some((flag, _, _)) => adapt(flag, value, input.pod_ip),
                None => value.clone(),
            };
            (name.clone(), value)
        })
        .collect();
    for (flag, variable, default) in LISTENERS {
        if seen.contains(&flag) || env.iter().any(|(name, _)| name == variable) {
            continue;
        }
        let value = match default {
            Some(default) => pod_listen_address(default, input.pod_ip),
            None => input.pod_ip.to_string(),
        };
        env.push((variable.to_string(), value));
    }
    let defaults = [
        (
            "KUBECONFIG",
            input.kubeconfig.to_string_lossy().into_owned(),
        ),
        ("HOME", input.home.to_string_lossy().into_owned()),
        ("PATH", SYSTEM_PATH.to_string()),
    ];
    for (name, value) in defaults {
        if !env.iter().any(|(n, _)| n == name) {
            env.push((name.to_string(), value));
        }
    }
    Launch {
        program: input.binary.to_path_buf(),
        args,
        env,
        ..Launch::default()
    }
}

/// How a pod reaches the API server: kubesim's URL, its CA (over HTTPS) and a token of the
/// pod's ServiceAccount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodCredentials {
    pub server: String,
    pub ca_pem: Option<String>,
    pub token: String,
}

/// The kubeconfig of a pod's ServiceAccount: what client libraries build from the in-cluster
/// files (`/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}`), in the form
/// every client reads with `KUBECONFIG`.
pub fn service_account_kubeconfig(credentials: &PodCredentials, namespace: &str) -> String {
    use base64::Engine;
    let ca = credentials
        .ca_pem
        .as_deref()
        .map(|pem| {
            format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(pem)
            )
        })
        .unwrap_or_default();
    let quoted = |value: &str| serde_json::Value::String(value.to_string()).to_string();
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: in-cluster
  cluster:
    server: {server}{ca}
contexts:
- name: in-cluster
  context:
    cluster: in-cluster
    user: service-account
    namespace: {namespace}
current-context: in-cluster
users:
- name: service-account
  user:
    token: {token}
",
        server = quoted(&credentials.server),
        namespace = quoted(namespace),
        token = quoted(&credentials.token),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process_runtime::container_env::{EnvSources, container_argv, container_env};
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};
    use std::path::PathBuf;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    const IP: &str = "127.0.0.9";

    fn ip() -> IpAddr {
        IP.parse().expect("an address")
    }

    /// The Deployment pod of config/install/default.yaml, as the Deployment controller makes it.
    fn default_manifest_pod() -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/install/default.yaml");
        let text = std::fs::read_to_string(&path).expect("the committed install manifest");
        let documents: Vec<Value> = serde_saphyr::from_multiple(&text).expect("valid YAML");
        let deployment = documents
            .into_iter()
            .find(|d| d["kind"] == "Deployment")
            .expect("the manifest has the operator Deployment");
        let mut pod = json!({
            "metadata": deployment["spec"]["template"]["metadata"].clone(),
            "spec": deployment["spec"]["template"]["spec"].clone(),
        });
        pod["metadata"]["name"] = json!("multigres-operator-controller-manager-7d9f8-x2x4q");
        pod["metadata"]["namespace"] = deployment["metadata"]["namespace"].clone();
        pod["metadata"]["uid"] = json!("u-1");
        pod
    }

    #[test]
    fn the_install_manifests_image_is_the_operators() {
        let pod = default_manifest_pod();
        let image = pod["spec"]["containers"][0]["image"]
            .as_str()
            .expect("an image");
        assert!(is_operator_image(image), "{image}");
        assert!(is_operator_image(
            "registry.local:5000/multigres/multigres-operator-rs@sha256:ab"
        ));
        assert!(!is_operator_image("ghcr.io/multigres/multigres:sha-1"));
        assert!(!is_operator_image("ghcr.io/numtide/multigres-operator"));
    }

    #[test]
    fn the_default_manifests_pod_runs_the_binary_on_its_own_address() {
        let pod = default_manifest_pod();
        let container = &pod["spec"]["containers"][0];
        let env = container_env(&pod, container, IP, &EnvSources::none()).expect("supported env");
        assert_eq!(
            env,
            pairs(&[
                ("POD_NAMESPACE", "multigres-operator"),
                (
                    "POD_SERVICE_ACCOUNT",
                    "multigres-operator-controller-manager"
                ),
            ])
        );
        let argv = container_argv(container, &env);
        let launch = operator_launch(&OperatorContainer {
            binary: Path::new("/build/multigres-operator"),
            env: &env,
            argv: &argv,
            pod_ip: ip(),
            kubeconfig: Path::new("/s/pods/u-1/containers/manager/kubeconfig"),
            home: Path::new("/s/pods/u-1/containers/manager/home"),
        });
        assert_eq!(
            launch,
            Launch {
                program: PathBuf::from("/build/multigres-operator"),
                args: strings(&[
                    "run",
                    "--metrics-bind-address=127.0.0.9:8443",
                    "--leader-elect",
                    "--health-probe-bind-address=127.0.0.9:8081",
                ]),
                env: pairs(&[
                    ("POD_NAMESPACE", "multigres-operator"),
                    (
                        "POD_SERVICE_ACCOUNT",
                        "multigres-operator-controller-manager"
                    ),
                    ("MULTIGRES_WEBHOOK_HOST", "127.0.0.9"),
                    ("KUBECONFIG", "/s/pods/u-1/containers/manager/kubeconfig"),
                    ("HOME", "/s/pods/u-1/containers/manager/home"),
                    ("PATH", SYSTEM_PATH),
                ]),
                run_as: None,
                pid_files: vec![],
            }
        );
    }

    #[test]
    fn left_out_listeners_and_their_variables_are_pinned_to_the_pod() {
        let env = pairs(&[
            ("MULTIGRES_METRICS_BIND_ADDRESS", "0.0.0.0:9090"),
            ("MULTIGRES_WEBHOOK_HOST", "10.0.0.1"),
            ("HOME", "/home/op"),
        ]);
        // The image's entrypoint (no command): the argv is the binary's arguments.
        let argv = strings(&["run", "--health-probe-bind-address", "[::]:8081", "-v"]);
        let launch = operator_launch(&OperatorContainer {
            binary: Path::new("/b/multigres-operator"),
            env: &env,
            argv: &argv,
            pod_ip: ip(),
            kubeconfig: Path::new("/k"),
            home: Path::new("/h"),
        });
        assert_eq!(
            launch.args,
            strings(&["run", "--health-probe-bind-address=127.0.0.9:8081", "-v"])
        );
        assert_eq!(
            launch.env,
            pairs(&[
                ("MULTIGRES_METRICS_BIND_ADDRESS", "127.0.0.9:9090"),
                ("MULTIGRES_WEBHOOK_HOST", "10.0.0.1"),
                ("HOME", "/home/op"),
                ("KUBECONFIG", "/k"),
                ("PATH", SYSTEM_PATH),
            ])
        );
    }

    #[test]
    fn listen_addresses_move_to_the_pod_unless_disabled_or_elsewhere() {
        for (value, expected) in [
            (":8443", "127.0.0.9:8443"),
            ("0.0.0.0:8443", "127.0.0.9:8443"),
            ("[::]:9443", "127.0.0.9:9443"),
            ("127.0.0.1:8080", "127.0.0.9:8080"),
            ("localhost:8080", "127.0.0.9:8080"),
            ("0", "0"),
            ("10.1.2.3:8443", "10.1.2.3:8443"),
            (":http", ":http"),
        ] {
            assert_eq!(pod_listen_address(value, ip()), expected, "{value}");
        }
        assert_eq!(
            pod_listen_address(":8443", "::5".parse().expect("v6")),
            "[::5]:8443"
        );
    }

    #[test]
    fn the_kubeconfig_names_the_server_its_ca_and_the_token() {
        let text = service_account_kubeconfig(
            &PodCredentials {
                server: "https://127.0.0.1:6443".into(),
                ca_pem: Some("PEM".into()),
                token: "a.b.c".into(),
            },
            "multigres-operator",
        );
        let parsed: Value = serde_saphyr::from_str(&text).expect("YAML");
        assert_eq!(
            parsed["clusters"][0]["cluster"],
            json!({"server": "https://127.0.0.1:6443", "certificate-authority-data": "UEVN"})
        );
        assert_eq!(parsed["users"][0]["user"], json!({"token": "a.b.c"}));
        assert_eq!(
            parsed["contexts"][0]["context"]["namespace"],
            json!("multigres-operator")
        );
        assert_eq!(parsed["current-context"], json!("in-cluster"));
    }
}
