//! The etcd runtime: how a container of an `*etcd*` image (the operator's topology server,
//! spec-controllers.md §5) becomes a real `etcd` process on this machine. Each adaptation is one
//! function below and is listed in docs/kubesim.md "Process runtimes":
//! - listen URLs (`ETCD_LISTEN_{CLIENT,PEER,METRICS}_URLS`, `--listen-*-urls`): a wildcard
//!   (`[::]`, `0.0.0.0`) or loopback host becomes the pod's own address (every pod listens on
//!   the same ports, so they must not share `0.0.0.0`/`127.0.0.1`);
//! - advertised and initial-cluster URLs (`ETCD_ADVERTISE_CLIENT_URLS`,
//!   `ETCD_INITIAL_ADVERTISE_PEER_URLS`, `ETCD_INITIAL_CLUSTER`, their flags): host names become
//!   the addresses kubesim's DNS gives them (the process has no cluster DNS); a name that does
//!   not resolve yet makes the start wait, as etcd's own DNS retries would;
//! - `ETCD_DATA_DIR` / `ETCD_WAL_DIR` (and flags): the container path is mapped onto the host
//!   directory that backs it (the PVC's or emptyDir's folder under `--state-dir`);
//! - probes: `/readyz` and `/livez` (etcd 3.5+) become `/health`, the nearest endpoint Debian's
//!   etcd 3.4 serves on its metrics listener;
//! - other variables are passed as given: etcd 3.4 logs "unrecognized environment variable"
//!   for the ones it does not know and carries on.
//!
//! Pure: resolution and path mapping come in as functions.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Variables and flags whose value is a comma-separated list of URLs to listen on.
const LISTEN_URLS: [&str; 3] = [
    "listen-client-urls",
    "listen-peer-urls",
    "listen-metrics-urls",
];
/// Variables and flags whose URLs are advertised to other members and clients.
const ADVERTISED_URLS: [&str; 2] = ["advertise-client-urls", "initial-advertise-peer-urls"];
/// `name=url,...`
const INITIAL_CLUSTER: &str = "initial-cluster";
/// Directories inside the container.
const PATHS: [&str; 2] = ["data-dir", "wal-dir"];

/// What a process runtime starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The whole environment (the process does not inherit kubesim's).
    pub env: Vec<(String, String)>,
    /// The user (uid, gid) the spawner switches to; `None`: kubesim's own.
    pub run_as: Option<super::isolation::RunAs>,
    /// Files holding the pid of a process that leaves the container's process group but is
    /// part of the container (PostgreSQL's `postmaster.pid`): killed with the container.
    pub pid_files: Vec<PathBuf>,
}

/// Why etcd cannot start yet (or at all).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EtcdLaunchError {
    #[error("{setting}: host {host:?} does not resolve to a pod address yet")]
    Unresolved { setting: String, host: String },
    #[error("{setting}: {value:?} is not a URL of the form scheme://host[:port]")]
    BadUrl { setting: String, value: String },
    #[error("{setting}: {value:?} is not a list of name=URL entries")]
    BadInitialCluster { setting: String, value: String },
    #[error("flag {flag} has no value")]
    MissingFlagValue { flag: String },
}

/// The inputs of an etcd container start.
pub struct EtcdContainer<'a> {
    pub binary: &'a Path,
    /// The container's environment, `$(VAR)` already expanded.
    pub env: &'a [(String, String)],
    /// `command` + `args`, expanded. A leading `etcd` program (any path) is replaced by
    /// `binary`; other leading words are taken as etcd flags.
    pub argv: &'a [String],
    pub pod_ip: IpAddr,
    /// A host name's address (kubesim's DNS, plus the pod's own name).
    pub resolve: &'a dyn Fn(&str) -> Option<IpAddr>,
    /// A container path's host path.
    pub host_path: &'a dyn Fn(&str) -> PathBuf,
}

/// `scheme://host[:port][/path]` → (`scheme://`, host without brackets, `[:port][/path]`).
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let scheme_end = url.find("://")? + 3;
    let (scheme, rest) = url.split_at(scheme_end);
    let (host, tail) = if let Some(bracketed) = rest.strip_prefix('[') {
        let close = bracketed.find(']')?;
        (&bracketed[..close], &bracketed[close + 1..])
    } else {
        let end = rest.find([':', '/']).unwrap_or(rest.len());
        rest.split_at(end)
    };
    Some((scheme, host, tail))
}

fn join_url(scheme: &str, ip: IpAddr, tail: &str) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{scheme}{v4}{tail}"),
        IpAddr::V6(v6) => format!("{scheme}[{v6}]{tail}"),
    }
}

fn is_local_host(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_unspecified() || ip.is_loopback(),
        Err(_) => host.is_empty() || host.eq_ignore_ascii_case("localhost"),
    }
}

/// One URL with its host replaced: wildcard or loopback → the pod address; a name → its
/// resolved address; an address other than those → unchanged.
fn rewrite_url(
    setting: &str,
    url: &str,
    input: &EtcdContainer<'_>,
) -> Result<String, EtcdLaunchError> {
    let (scheme, host, tail) = split_url(url).ok_or_else(|| EtcdLaunchError::BadUrl {
        setting: setting.to_string(),
        value: url.to_string(),
    })?;
    if is_local_host(host) {
        return Ok(join_url(scheme, input.pod_ip, tail));
    }
    if host.parse::<IpAddr>().is_ok() {
        return Ok(url.to_string());
    }
    let ip = (input.resolve)(host).ok_or_else(|| EtcdLaunchError::Unresolved {
        setting: setting.to_string(),
        host: host.to_string(),
    })?;
    Ok(join_url(scheme, ip, tail))
}

fn rewrite_url_list(
    setting: &str,
    value: &str,
    input: &EtcdContainer<'_>,
) -> Result<String, EtcdLaunchError> {
    value
        .split(',')
        .map(|url| rewrite_url(setting, url.trim(), input))
        .collect::<Result<Vec<_>, _>>()
        .map(|urls| urls.join(","))
}

fn rewrite_initial_cluster(
    setting: &str,
    value: &str,
    input: &EtcdContainer<'_>,
) -> Result<String, EtcdLaunchError> {
    value
        .split(',')
        .map(|entry| {
            let (name, url) =
                entry
                    .split_once('=')
                    .ok_or_else(|| EtcdLaunchError::BadInitialCluster {
                        setting: setting.to_string(),
                        value: value.to_string(),
                    })?;
            Ok(format!(
                "{name}={}",
                rewrite_url(setting, url.trim(), input)?
            ))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|entries| entries.join(","))
}

/// The adapted value of one etcd setting (`key` in flag form, e.g. `listen-client-urls`).
fn adapt_setting(
    key: &str,
    setting: &str,
    value: &str,
    input: &EtcdContainer<'_>,
) -> Result<String, EtcdLaunchError> {
    if LISTEN_URLS.contains(&key) || ADVERTISED_URLS.contains(&key) {
        rewrite_url_list(setting, value, input)
    } else if key == INITIAL_CLUSTER {
        rewrite_initial_cluster(setting, value, input)
    } else if PATHS.contains(&key) {
        Ok((input.host_path)(value).to_string_lossy().into_owned())
    } else {
        Ok(value.to_string())
    }
}

/// `ETCD_LISTEN_CLIENT_URLS` → `listen-client-urls` (etcd's own env ↔ flag mapping).
fn env_key(variable: &str) -> Option<String> {
    variable
        .strip_prefix("ETCD_")
        .map(|rest| rest.to_ascii_lowercase().replace('_', "-"))
}

/// Whether `word` is the etcd program itself (`etcd`, `/usr/local/bin/etcd`).
fn is_etcd_program(word: &str) -> bool {
    Path::new(word)
        .file_name()
        .is_some_and(|name| name == "etcd")
}

/// The etcd process for the container.
pub fn etcd_launch(input: &EtcdContainer<'_>) -> Result<Launch, EtcdLaunchError> {
    let mut env = Vec::with_capacity(input.env.len());
    for (variable, value) in input.env {
        let adapted = match env_key(variable) {
            Some(key) => adapt_setting(&key, variable, value, input)?,
            None => value.clone(),
        };
        env.push((variable.clone(), adapted));
    }
    let mut words = input.argv.iter().peekable();
    if words.peek().is_some_and(|w| is_etcd_program(w)) {
        words.next();
    }
    let mut args = Vec::new();
    while let Some(word) = words.next() {
        let Some(flag) = word.strip_prefix("--").or_else(|| word.strip_prefix('-')) else {
            args.push(word.clone());
            continue;
        };
        match flag.split_once('=') {
            Some((key, value)) => {
                let adapted = adapt_setting(key, &format!("--{key}"), value, input)?;
                args.push(format!("--{key}={adapted}"));
            }
            None if needs_value(flag) => {
                let value = words
                    .next()
                    .ok_or_else(|| EtcdLaunchError::MissingFlagValue { flag: word.clone() })?;
                let adapted = adapt_setting(flag, &format!("--{flag}"), value, input)?;
                args.push(format!("--{flag}={adapted}"));
            }
            None => args.push(word.clone()),
        }
    }
    Ok(Launch {
        program: input.binary.to_path_buf(),
        args,
        env,
        ..Launch::default()
    })
}

/// Whether `--flag value` takes the next word (every setting this runtime adapts does).
fn needs_value(flag: &str) -> bool {
    LISTEN_URLS.contains(&flag)
        || ADVERTISED_URLS.contains(&flag)
        || flag == INITIAL_CLUSTER
        || PATHS.contains(&flag)
}

/// The probe path etcd 3.4 serves for one a newer etcd image's probe names.
pub fn probe_path(path: &str) -> String {
    let bare = path.split('?').next().unwrap_or_default();
    match bare {
        "/readyz" | "/livez" => "/health".to_string(),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn resolve(host: &str) -> Option<IpAddr> {
        let last = match host.split('.').next()? {
            "topo-0" => 2,
            "topo-1" => 3,
            "topo-2" => 4,
            _ => return None,
        };
        Some(IpAddr::from([127, 0, 0, last]))
    }

    fn host_path(path: &str) -> PathBuf {
        Path::new("/state/pvc-data").join(path.trim_start_matches('/'))
    }

    fn strings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    const PEER: &str = "topo-headless.db.svc.cluster.local";

    /// The operator's environment for pod topo-1 (spec-controllers.md §5), expanded.
    fn operator_env() -> Vec<(String, String)> {
        let advertise_client = format!("http://topo-1.{PEER}:2379");
        let advertise_peer = format!("http://topo-1.{PEER}:2380");
        let cluster = format!(
            "topo-0=http://topo-0.{PEER}:2380,topo-1=http://topo-1.{PEER}:2380,\
             topo-2=http://topo-2.{PEER}:2380"
        );
        strings(&[
            ("POD_NAME", "topo-1"),
            ("POD_NAMESPACE", "db"),
            ("ETCD_NAME", "topo-1"),
            ("ETCD_DATA_DIR", "/var/lib/etcd"),
            ("ETCD_LISTEN_CLIENT_URLS", "http://[::]:2379"),
            ("ETCD_LISTEN_PEER_URLS", "http://[::]:2380"),
            ("ETCD_LISTEN_METRICS_URLS", "http://[::]:2381"),
            ("ETCD_ADVERTISE_CLIENT_URLS", &advertise_client),
            ("ETCD_INITIAL_ADVERTISE_PEER_URLS", &advertise_peer),
            ("ETCD_INITIAL_CLUSTER_STATE", "new"),
            ("ETCD_INITIAL_CLUSTER_TOKEN", "topo"),
            ("ETCD_INITIAL_CLUSTER", &cluster),
        ])
    }

    fn container<'a>(env: &'a [(String, String)], argv: &'a [String]) -> EtcdContainer<'a> {
        EtcdContainer {
            binary: Path::new("/usr/bin/etcd"),
            env,
            argv,
            pod_ip: IpAddr::from([127, 0, 0, 3]),
            resolve: &resolve,
            host_path: &host_path,
        }
    }

    #[test]
    fn the_operators_environment_is_adapted_to_pod_addresses_and_host_paths() {
        let env = operator_env();
        let launch = etcd_launch(&container(&env, &[])).expect("all names resolve");
        assert_eq!(
            launch,
            Launch {
                program: PathBuf::from("/usr/bin/etcd"),
                args: vec![],
                env: strings(&[
                    ("POD_NAME", "topo-1"),
                    ("POD_NAMESPACE", "db"),
                    ("ETCD_NAME", "topo-1"),
                    ("ETCD_DATA_DIR", "/state/pvc-data/var/lib/etcd"),
                    ("ETCD_LISTEN_CLIENT_URLS", "http://127.0.0.3:2379"),
                    ("ETCD_LISTEN_PEER_URLS", "http://127.0.0.3:2380"),
                    ("ETCD_LISTEN_METRICS_URLS", "http://127.0.0.3:2381"),
                    ("ETCD_ADVERTISE_CLIENT_URLS", "http://127.0.0.3:2379"),
                    ("ETCD_INITIAL_ADVERTISE_PEER_URLS", "http://127.0.0.3:2380"),
                    ("ETCD_INITIAL_CLUSTER_STATE", "new"),
                    ("ETCD_INITIAL_CLUSTER_TOKEN", "topo"),
                    (
                        "ETCD_INITIAL_CLUSTER",
                        "topo-0=http://127.0.0.2:2380,topo-1=http://127.0.0.3:2380,\
                         topo-2=http://127.0.0.4:2380"
                    ),
                ]),
                ..Launch::default()
            }
        );
    }

    #[test]
    fn flags_are_adapted_in_both_forms_and_the_program_is_replaced() {
        let argv: Vec<String> = [
            "/usr/local/bin/etcd",
            "--listen-client-urls=http://0.0.0.0:2379,http://localhost:2379",
            "--initial-cluster",
            "topo-0=http://topo-0.x.db.svc:2380",
            "-data-dir",
            "/data",
            "--name=topo-0",
            "--enable-v2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let launch = etcd_launch(&container(&[], &argv)).expect("resolves");
        assert_eq!(
            launch.args,
            vec![
                "--listen-client-urls=http://127.0.0.3:2379,http://127.0.0.3:2379",
                "--initial-cluster=topo-0=http://127.0.0.2:2380",
                "--data-dir=/state/pvc-data/data",
                "--name=topo-0",
                "--enable-v2",
            ]
        );
    }

    #[test]
    fn a_peer_without_an_address_yet_makes_the_start_wait() {
        let env = strings(&[(
            "ETCD_INITIAL_CLUSTER",
            "topo-0=http://topo-0.h.db.svc:2380,topo-9=http://topo-9.h.db.svc:2380",
        )]);
        assert_eq!(
            etcd_launch(&container(&env, &[])),
            Err(EtcdLaunchError::Unresolved {
                setting: "ETCD_INITIAL_CLUSTER".into(),
                host: "topo-9.h.db.svc".into(),
            })
        );
    }

    #[test]
    fn malformed_settings_are_reported() {
        let env = strings(&[("ETCD_ADVERTISE_CLIENT_URLS", "topo-0:2379")]);
        assert_eq!(
            etcd_launch(&container(&env, &[]))
                .expect_err("no scheme")
                .to_string(),
            "ETCD_ADVERTISE_CLIENT_URLS: \"topo-0:2379\" is not a URL of the form \
             scheme://host[:port]"
        );
        let env = strings(&[("ETCD_INITIAL_CLUSTER", "http://topo-0:2380")]);
        assert_eq!(
            etcd_launch(&container(&env, &[])),
            Err(EtcdLaunchError::BadInitialCluster {
                setting: "ETCD_INITIAL_CLUSTER".into(),
                value: "http://topo-0:2380".into(),
            })
        );
        let argv = vec!["--data-dir".to_string()];
        assert_eq!(
            etcd_launch(&container(&[], &argv)),
            Err(EtcdLaunchError::MissingFlagValue {
                flag: "--data-dir".into()
            })
        );
    }

    #[test]
    fn newer_probe_endpoints_map_to_health() {
        assert_eq!(probe_path("/readyz"), "/health");
        assert_eq!(probe_path("/livez?verbose"), "/health");
        assert_eq!(probe_path("/metrics"), "/metrics");
    }
}
