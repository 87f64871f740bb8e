//! The multigres runtime: how a container of a multigres image (the operator's pool pods,
//! multiorch, multigateway and multiadmin; spec-wire.md §4) becomes a real multigres process on
//! this machine. Every adaptation is the one measured in spec-local-data-plane.md §3 and listed
//! in docs/kubesim.md "Process runtimes":
//! - the program: `ghcr.io/multigres/multigres:*` has no entrypoint of interest, `args[0]` names
//!   the binary (`multipooler`, `multiorch`, `multigateway`), and multiadmin's `command` is
//!   `/multigres/bin/multiadmin`; `ghcr.io/multigres/pgctld:*` runs `/usr/local/bin/pgctld`.
//!   Each is looked up among the binaries found on this machine ([`MultigresBinaries`]);
//! - bind and hostname flags: every pod listens on the same ports, so each binary gets
//!   `--bind-address`, `--grpc-bind-address` (and multigateway `--pg-bind-address`) set to the
//!   pod's address, and `--hostname` set to it too: without it multipooler registers its
//!   auto-detected FQDN, which the host resolver does not know;
//! - addresses: `*`, `0.0.0.0`, `::` and `localhost` hosts (`--pg-listen-addresses=*`,
//!   `--pgctld-addr=localhost:15470`) become the pod's address (localhost is 127.0.0.1, not the
//!   pod); a cluster DNS name in an address flag (`--topo-global-server-addresses`) becomes the
//!   address kubesim's DNS gives it, and the start waits until it resolves;
//! - container paths in flags and variables are mapped onto host folders only for the volumes
//!   that are not bind-mounted at their container path (see [`super::isolation`]);
//! - `PATH`: the multigres binaries, the PostgreSQL server binaries (pgctld execs `initdb`,
//!   `pg_ctl`, `postgres`, `pg_rewind`, ...) and pgBackRest (shard bootstrap and
//!   `archive_command`, even with no backup configured: §1).
//!
//! Pure: resolution and path mapping come in as functions.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::etcd::Launch;

/// The binaries of the multigres images this runtime knows.
pub const MULTIGRES_PROGRAMS: [&str; 5] = [
    "multipooler",
    "multiorch",
    "multigateway",
    "multiadmin",
    "pgctld",
];

/// The PATH every process ends with (after the multigres, PostgreSQL and pgBackRest folders).
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Which multigres image a container uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MultigresImage {
    /// `ghcr.io/multigres/multigres:*`: the program is named by the first word of the argv.
    Multigres,
    /// `ghcr.io/multigres/pgctld:*`: the program is pgctld.
    Pgctld,
}

/// The repository part of an image reference (no registry port confusion, no tag or digest).
pub(crate) fn repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or_default();
    match without_digest.rfind(':') {
        Some(colon) if !without_digest[colon..].contains('/') => &without_digest[..colon],
        _ => without_digest,
    }
}

impl MultigresImage {
    pub fn for_image(image: &str) -> Option<MultigresImage> {
        let repo = repository(image);
        if repo.ends_with("multigres/multigres") {
            Some(MultigresImage::Multigres)
        } else if repo.ends_with("multigres/pgctld") {
            Some(MultigresImage::Pgctld)
        } else {
            None
        }
    }
}

/// The binary a container of `image` runs and the arguments it gets: the first argv word when
/// it names a known program (any path: `/usr/local/bin/pgctld`, `/multigres/bin/multiadmin`,
/// `multipooler`), else the image's own program (pgctld) with the whole argv as arguments.
pub fn program_of(
    image: MultigresImage,
    argv: &[String],
) -> Result<(String, &[String]), MultigresLaunchError> {
    let first = argv.first().and_then(|word| {
        let name = Path::new(word).file_name()?.to_str()?;
        MULTIGRES_PROGRAMS.contains(&name).then(|| name.to_string())
    });
    match (first, image) {
        (Some(name), _) => Ok((name, &argv[1..])),
        (None, MultigresImage::Pgctld) => Ok(("pgctld".to_string(), argv)),
        (None, MultigresImage::Multigres) => Err(MultigresLaunchError::UnknownProgram {
            first: argv.first().cloned().unwrap_or_default(),
        }),
    }
}

/// Why a multigres container cannot start yet (or at all).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MultigresLaunchError {
    #[error(
        "the first word of the container's command/args {first:?} is not a multigres program \
         (one of multipooler, multiorch, multigateway, multiadmin, pgctld)"
    )]
    UnknownProgram { first: String },
    #[error(
        "the multigres binary {program:?} was not found (set --multigres-bin / \
         MULTIGRES_BIN_DIR to the folder of binaries built from multigres' go/cmd)"
    )]
    MissingBinary { program: String },
    #[error("{flag}: host {host:?} does not resolve to a pod address yet")]
    Unresolved { flag: String, host: String },
}

/// Where the binaries and tools the multigres processes need are on this machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MultigresBinaries {
    /// Program name → binary.
    pub programs: BTreeMap<String, PathBuf>,
    /// The folder of the PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`).
    pub postgres_bin: Option<PathBuf>,
    /// `pgbackrest`.
    pub pgbackrest: Option<PathBuf>,
}

impl MultigresBinaries {
    /// The `PATH` of the processes: the multigres binaries' folders, PostgreSQL's, pgBackRest's,
    /// then the system folders; each once, in that order.
    pub fn path_variable(&self) -> String {
        let mut folders: Vec<String> = Vec::new();
        let candidates = self
            .programs
            .values()
            .filter_map(|p| p.parent().map(Path::to_path_buf))
            .chain(self.postgres_bin.clone())
            .chain(
                self.pgbackrest
                    .as_ref()
                    .and_then(|p| p.parent().map(Path::to_path_buf)),
            );
        for folder in candidates {
            let folder = folder.to_string_lossy().into_owned();
            if !folder.is_empty() && !folders.contains(&folder) {
                folders.push(folder);
            }
        }
        folders.push(SYSTEM_PATH.to_string());
        folders.join(":")
    }
}

/// The inputs of a multigres container start.
pub struct MultigresContainer<'a> {
    pub image: MultigresImage,
    pub binaries: &'a MultigresBinaries,
    /// The container's environment, `$(VAR)` already expanded.
    pub env: &'a [(String, String)],
    /// `command` + `args`, expanded.
    pub argv: &'a [String],
    pub pod_ip: IpAddr,
    /// A host name's address (kubesim's DNS).
    pub resolve: &'a dyn Fn(&str) -> Option<IpAddr>,
    /// The host path of a container path that is not mounted at its own path, or `None`
    /// when the process sees the container path as it is (a bind mount in its namespace, or a
    /// path outside every volume).
    pub rewrite_path: &'a dyn Fn(&str) -> Option<PathBuf>,
    /// `HOME` of the process (the images' home folders do not exist here).
    pub home: &'a Path,
}

/// Whether a host in an address is the pod itself: a wildcard or loopback.
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

fn show(ip: IpAddr) -> String {
    ip.to_string()
}

fn show_with_port(ip: IpAddr, port: &str) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// `host:port` → (host, port); `[v6]:port` too. `None` for a bare host.
fn split_host_port(value: &str) -> Option<(&str, &str)> {
    if let Some(rest) = value.strip_prefix('[') {
        let close = rest.find(']')?;
        let port = rest[close + 1..].strip_prefix(':')?;
        return Some((&rest[..close], port));
    }
    let (host, port) = value.rsplit_once(':')?;
    (!host.contains(':') && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
        .then_some((host, port))
}

/// One address (`host`, `host:port`) with its host adapted: local → the pod; a name → its
/// address; an address → kept.
fn rewrite_address(
    flag: &str,
    value: &str,
    input: &MultigresContainer<'_>,
) -> Result<String, MultigresLaunchError> {
    let (host, port) = match split_host_port(value) {
        Some((host, port)) => (host, Some(port)),
        None => (value, None),
    };
    let ip = if is_local_host(host) {
        input.pod_ip
    } else if host.parse::<IpAddr>().is_ok() {
        return Ok(value.to_string());
    } else {
        (input.resolve)(host).ok_or_else(|| MultigresLaunchError::Unresolved {
            flag: flag.to_string(),
            host: host.to_string(),
        })?
    };
    Ok(match port {
        Some(port) => show_with_port(ip, port),
        None => show(ip),
    })
}

/// Whether a flag names network addresses (`--pgctld-addr`, `--bind-address`,
/// `--topo-global-server-addresses`, `--pg-listen-addresses`).
fn is_address_flag(flag: &str) -> bool {
    flag.ends_with("-addr") || flag.ends_with("-address") || flag.ends_with("-addresses")
}

/// A flag's value adapted: addresses (comma lists) and container paths.
fn adapt_value(
    flag: &str,
    value: &str,
    input: &MultigresContainer<'_>,
) -> Result<String, MultigresLaunchError> {
    if is_address_flag(flag) {
        return value
            .split(',')
            .map(|item| rewrite_address(&format!("--{flag}"), item.trim(), input))
            .collect::<Result<Vec<_>, _>>()
            .map(|items| items.join(","));
    }
    Ok(rewrite_paths(value, input))
}

fn rewrite_paths(value: &str, input: &MultigresContainer<'_>) -> String {
    if value.starts_with('/')
        && let Some(host) = (input.rewrite_path)(value)
    {
        return host.to_string_lossy().into_owned();
    }
    value.to_string()
}

/// The flags every program gets, with the pod's address (spec-local-data-plane.md §3).
fn injected_flags(program: &str) -> &'static [&'static str] {
    match program {
        "multigateway" => &[
            "bind-address",
            "grpc-bind-address",
            "pg-bind-address",
            "hostname",
        ],
        _ => &["bind-address", "grpc-bind-address", "hostname"],
    }
}

/// The multigres process for the container.
pub fn multigres_launch(input: &MultigresContainer<'_>) -> Result<Launch, MultigresLaunchError> {
    let (program, words) = program_of(input.image, input.argv)?;
    let binary = input.binaries.programs.get(&program).ok_or_else(|| {
        MultigresLaunchError::MissingBinary {
            program: program.clone(),
        }
    })?;
    let mut args = Vec::with_capacity(words.len() + 4);
    let mut seen: Vec<String> = Vec::new();
    let mut words = words.iter().peekable();
    while let Some(word) = words.next() {
        let Some(flag) = word.strip_prefix("--").or_else(|| word.strip_prefix('-')) else {
            args.push(rewrite_paths(word, input));
            continue;
        };
        // Go's flag packages take `--flag=value` and `--flag value` alike; the adapted flag is
        // written in the first form.
        let (key, value) = match flag.split_once('=') {
            Some((key, value)) => (key.to_string(), Some(value.to_string())),
            None if words.peek().is_some_and(|next| !next.starts_with('-')) => {
                (flag.to_string(), words.next().cloned())
            }
            None => (flag.to_string(), None),
        };
        seen.push(key.clone());
        match value {
            Some(value) => args.push(format!("--{key}={}", adapt_value(&key, &value, input)?)),
            None => args.push(word.clone()),
        }
    }
    for flag in injected_flags(&program) {
        if !seen.iter().any(|s| s == flag) {
            args.push(format!("--{flag}={}", show(input.pod_ip)));
        }
    }
    let mut env: Vec<(String, String)> = input
        .env
        .iter()
        .map(|(name, value)| (name.clone(), rewrite_paths(value, input)))
        .collect();
    let defaults = [
        ("PATH", input.binaries.path_variable()),
        ("HOME", input.home.to_string_lossy().into_owned()),
    ];
    for (name, value) in defaults {
        if !env.iter().any(|(n, _)| n == name) {
            env.push((name.to_string(), value));
        }
    }
    Ok(Launch {
        program: binary.clone(),
        args,
        env,
        ..Launch::default()
    })
}

/// The host names the process may look up by itself, beyond its flags: the hosts of its
/// address flags (the Cell record the operator writes names the same topology Service as
/// `--topo-global-server-addresses`, spec-controllers.md §7.4). Listed in the process's
/// `/etc/hosts` when it has a mount namespace.
pub fn named_hosts(argv: &[String]) -> Vec<String> {
    let mut hosts = Vec::new();
    let mut words = argv.iter().peekable();
    while let Some(word) = words.next() {
        let Some(flag) = word.strip_prefix("--") else {
            continue;
        };
        let (key, value) = match flag.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (
                flag,
                words
                    .peek()
                    .filter(|next| !next.starts_with('-'))
                    .map(|next| next.as_str()),
            ),
        };
        let Some(value) = value.filter(|_| is_address_flag(key)) else {
            continue;
        };
        for item in value.split(',') {
            let host = split_host_port(item.trim()).map_or(item.trim(), |(host, _)| host);
            if !is_local_host(host)
                && host.parse::<IpAddr>().is_err()
                && !hosts.iter().any(|h| h == host)
            {
                hosts.push(host.to_string());
            }
        }
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn images_are_recognised_by_repository() {
        for (image, expected) in [
            (
                "ghcr.io/multigres/multigres:sha-d782aa0",
                Some(MultigresImage::Multigres),
            ),
            (
                "ghcr.io/multigres/pgctld:sha-d782aa0",
                Some(MultigresImage::Pgctld),
            ),
            (
                "ghcr.io/multigres/pgctld@sha256:abcd",
                Some(MultigresImage::Pgctld),
            ),
            (
                "registry:5000/multigres/multigres",
                Some(MultigresImage::Multigres),
            ),
            ("ghcr.io/multigres/multiadmin-web:sha-d7be6e4", None),
            (
                "quay.io/prometheuscommunity/postgres-exporter:v0.18.1",
                None,
            ),
        ] {
            assert_eq!(MultigresImage::for_image(image), expected, "{image}");
        }
    }

    #[test]
    fn the_program_comes_from_the_first_word_or_the_image() {
        let argv = strings(&["/multigres/bin/multiadmin", "--http-port=18000"]);
        assert_eq!(
            program_of(MultigresImage::Multigres, &argv),
            Ok(("multiadmin".to_string(), &argv[1..]))
        );
        let argv = strings(&["server", "--pg-port=5432"]);
        assert_eq!(
            program_of(MultigresImage::Pgctld, &argv),
            Ok(("pgctld".to_string(), &argv[..]))
        );
        assert_eq!(
            program_of(MultigresImage::Multigres, &argv),
            Err(MultigresLaunchError::UnknownProgram {
                first: "server".into()
            })
        );
    }

    #[test]
    fn path_lists_each_folder_once_before_the_system_folders() {
        let binaries = MultigresBinaries {
            programs: [
                (
                    "multipooler".to_string(),
                    PathBuf::from("/opt/mg/multipooler"),
                ),
                ("pgctld".to_string(), PathBuf::from("/opt/mg/pgctld")),
            ]
            .into(),
            postgres_bin: Some(PathBuf::from("/usr/lib/postgresql/15/bin")),
            pgbackrest: Some(PathBuf::from("/usr/bin/pgbackrest")),
        };
        assert_eq!(
            binaries.path_variable(),
            "/opt/mg:/usr/lib/postgresql/15/bin:/usr/bin:/usr/local/sbin:/usr/local/bin:\
             /usr/sbin:/usr/bin:/sbin:/bin"
        );
    }

    #[test]
    fn named_hosts_are_the_names_in_address_flags() {
        let argv = strings(&[
            "multigateway",
            "--topo-global-server-addresses",
            "topo.default.svc:2379,127.0.0.1:2379,other.svc:2379",
            "--pgctld-addr=localhost:15470",
            "--cell=zone-a",
        ]);
        assert_eq!(
            named_hosts(&argv),
            strings(&["topo.default.svc", "other.svc"])
        );
    }
}
