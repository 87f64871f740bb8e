//! What this machine has for the process runtimes, learned once when the kubelet starts: the
//! multigres binaries, PostgreSQL's server binaries, pgBackRest, the `en_US.UTF-8` locale
//! (PostgreSQL refuses to start without it: the generated `postgresql.conf` names it), etcd,
//! and the isolation `unshare` allows (spec-local-data-plane.md §1, §3 "Host prerequisites").
//!
//! [`HostTools::detect`] does the I/O; [`HostTools::missing_for`] is pure and names, for a
//! program, each missing prerequisite with the fix. A pod whose prerequisites are missing stays
//! simulated and says why in an Event, rather than failing half-started.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::isolation::{Isolation, RunAs, probe_isolation};
use super::multigres::{MULTIGRES_PROGRAMS, MultigresBinaries};

/// The locale the generated `postgresql.conf` sets for `lc_messages` and friends.
pub const POSTGRES_LOCALE: &str = "en_US.UTF-8";

/// A missing prerequisite and how to get it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    pub what: String,
    pub fix: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (fix: {})", self.what, self.fix)
    }
}

/// The tools found on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostTools {
    pub binaries: MultigresBinaries,
    /// Where the multigres binaries were looked for (for messages).
    pub searched: String,
    pub locale: bool,
    pub etcd: bool,
    pub isolation: Isolation,
    /// The non-root user pod processes run as when their securityContext names none.
    pub default_user: RunAs,
    /// kubesim's own uid.
    pub uid: u32,
}

/// The first of `names` found in `dir`, or on `path` (a `PATH` value) when `dir` is `None`.
pub fn find_program(name: &str, dir: Option<&Path>, path: &str) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match dir {
        Some(dir) => vec![dir.join(name)],
        None => path
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(name))
            .collect(),
    };
    candidates.into_iter().find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The folder of PostgreSQL's server binaries: the given one, else Debian's newest
/// `/usr/lib/postgresql/<major>/bin`, else the folder of `initdb` on `PATH`.
pub fn find_postgres_bin(given: Option<&Path>, path: &str) -> Option<PathBuf> {
    if let Some(given) = given {
        return is_executable(&given.join("initdb")).then(|| given.to_path_buf());
    }
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            is_executable(&bin.join("initdb")).then_some((major, bin))
        })
        .collect();
    majors.sort();
    if let Some((_, bin)) = majors.pop() {
        return Some(bin);
    }
    let initdb = find_program("initdb", None, path)?;
    // Follow a symlink such as /usr/local/bin/initdb → /usr/lib/postgresql/15/bin/initdb, so
    // the folder holds postgres and pg_ctl too.
    std::fs::canonicalize(&initdb)
        .ok()
        .and_then(|real| real.parent().map(Path::to_path_buf))
}

/// Whether `locale -a` output lists `wanted` (`en_US.UTF-8` is listed as `en_US.utf8`).
pub fn locale_listed(listing: &str, wanted: &str) -> bool {
    let normal = |name: &str| name.to_ascii_lowercase().replace('-', "");
    let wanted = normal(wanted);
    listing.lines().any(|line| normal(line.trim()) == wanted)
}

/// The uid and gid of `user` in an `/etc/passwd` text.
pub fn passwd_user(passwd: &str, user: &str) -> Option<RunAs> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 3 && fields[0] == user)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

impl HostTools {
    /// Looks at this machine. `multigres_bin`: the folder of the multigres binaries (`None`:
    /// `PATH`); `postgres_bin`: PostgreSQL's (`None`: found); `namespaces`: whether to use
    /// namespaces when the machine allows them.
    pub fn detect(
        multigres_bin: Option<&Path>,
        postgres_bin: Option<&Path>,
        etcd_binary: &Path,
        namespaces: bool,
    ) -> HostTools {
        let path = std::env::var("PATH").unwrap_or_default();
        let programs: BTreeMap<String, PathBuf> = MULTIGRES_PROGRAMS
            .iter()
            .filter_map(|name| Some((name.to_string(), find_program(name, multigres_bin, &path)?)))
            .collect();
        let locale = std::process::Command::new("locale")
            .arg("-a")
            .output()
            .map(|out| locale_listed(&String::from_utf8_lossy(&out.stdout), POSTGRES_LOCALE))
            .unwrap_or(false);
        let (uid, gid) = own_ids();
        let isolation = if namespaces {
            probe_isolation(uid, gid)
        } else {
            Isolation::None {
                reason: "namespaces turned off".into(),
            }
        };
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let default_user = passwd_user(&passwd, "postgres")
            .or_else(|| passwd_user(&passwd, "nobody"))
            .unwrap_or((65534, 65534));
        HostTools {
            binaries: MultigresBinaries {
                programs,
                postgres_bin: find_postgres_bin(postgres_bin, &path),
                pgbackrest: find_program("pgbackrest", None, &path),
            },
            searched: match multigres_bin {
                Some(dir) => dir.display().to_string(),
                None => "PATH".to_string(),
            },
            locale,
            etcd: is_executable(etcd_binary),
            isolation,
            default_user,
            uid,
        }
    }

    /// What `program` needs that this machine lacks, each with its fix.
    pub fn missing_for(&self, program: &str) -> Vec<Missing> {
        let mut missing = Vec::new();
        if !self.binaries.programs.contains_key(program) {
            missing.push(Missing {
                what: format!(
                    "the multigres binary {program} (looked in {})",
                    self.searched
                ),
                fix: "build multigres' go/cmd binaries at the commit of the images (README \
                      \"Real data plane\") and pass --multigres-bin DIR or set MULTIGRES_BIN_DIR"
                    .into(),
            });
        }
        if program == "pgctld" {
            if self.binaries.postgres_bin.is_none() {
                missing.push(Missing {
                    what: "PostgreSQL's server binaries (initdb, pg_ctl, postgres)".into(),
                    fix: "apt-get install postgresql (15 works; the images use 17)".into(),
                });
            }
            if !self.locale {
                missing.push(Missing {
                    what: format!("the {POSTGRES_LOCALE} locale"),
                    fix: "apt-get install locales && echo 'en_US.UTF-8 UTF-8' >> /etc/locale.gen \
                          && locale-gen"
                        .into(),
                });
            }
        }
        if matches!(program, "pgctld" | "multipooler") && self.binaries.pgbackrest.is_none() {
            missing.push(Missing {
                what: "pgbackrest (shard bootstrap goes through it even without a backup \
                       configured)"
                    .into(),
                fix: "apt-get install pgbackrest".into(),
            });
        }
        missing
    }

    /// Everything a whole multigres data plane needs that is missing (printed at start).
    pub fn missing_for_data_plane(&self) -> Vec<Missing> {
        let mut all: Vec<Missing> = Vec::new();
        for program in MULTIGRES_PROGRAMS {
            for missing in self.missing_for(program) {
                if !all.contains(&missing) {
                    all.push(missing);
                }
            }
        }
        if !self.etcd {
            all.push(Missing {
                what: "etcd (the topology server)".into(),
                fix: "apt-get install etcd-server".into(),
            });
        }
        all
    }
}

/// kubesim's uid and gid, read from `/proc/self/status` (no unsafe `getuid`).
fn own_ids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|effective| effective.parse().ok())
            .unwrap_or(u32::MAX)
    };
    (field("Uid:"), field("Gid:"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_locale_is_found_whatever_its_spelling() {
        assert!(locale_listed(
            "C\nC.utf8\nen_US.utf8\nPOSIX\n",
            POSTGRES_LOCALE
        ));
        assert!(!locale_listed("C\nC.utf8\nPOSIX\n", POSTGRES_LOCALE));
    }

    #[test]
    fn users_come_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      postgres:x:101:104:PostgreSQL administrator:/var/lib/postgresql:/bin/bash\n";
        assert_eq!(passwd_user(passwd, "postgres"), Some((101, 104)));
        assert_eq!(passwd_user(passwd, "nobody"), None);
    }

    fn tools(programs: &[&str], postgres: bool, pgbackrest: bool, locale: bool) -> HostTools {
        HostTools {
            binaries: MultigresBinaries {
                programs: programs
                    .iter()
                    .map(|p| (p.to_string(), PathBuf::from("/mg").join(p)))
                    .collect(),
                postgres_bin: postgres.then(|| PathBuf::from("/usr/lib/postgresql/15/bin")),
                pgbackrest: pgbackrest.then(|| PathBuf::from("/usr/bin/pgbackrest")),
            },
            searched: "/mg".into(),
            locale,
            etcd: true,
            isolation: Isolation::Namespaces,
            default_user: (101, 104),
            uid: 0,
        }
    }

    #[test]
    fn each_program_names_what_it_misses_with_the_fix() {
        let host = tools(&["multiorch"], true, false, false);
        assert_eq!(host.missing_for("multiorch"), vec![]);
        let pgctld: Vec<String> = host
            .missing_for("pgctld")
            .iter()
            .map(|m| m.what.clone())
            .collect();
        assert_eq!(
            pgctld,
            vec![
                "the multigres binary pgctld (looked in /mg)".to_string(),
                "the en_US.UTF-8 locale".to_string(),
                "pgbackrest (shard bootstrap goes through it even without a backup configured)"
                    .to_string(),
            ]
        );
        assert_eq!(
            host.missing_for("multigateway")[0].to_string(),
            "the multigres binary multigateway (looked in /mg) (fix: build multigres' go/cmd \
             binaries at the commit of the images (README \"Real data plane\") and pass \
             --multigres-bin DIR or set MULTIGRES_BIN_DIR)"
        );
        let complete = tools(&MULTIGRES_PROGRAMS, true, true, true);
        assert_eq!(complete.missing_for_data_plane(), vec![]);
    }

    #[test]
    fn programs_are_found_in_the_folder_or_on_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let program = dir.path().join("multiorch");
        std::fs::write(&program, "#!/bin/sh\n").expect("write");
        assert_eq!(
            find_program("multiorch", Some(dir.path()), ""),
            None,
            "not executable"
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(
            find_program("multiorch", Some(dir.path()), ""),
            Some(program.clone())
        );
        let path = format!("/nonexistent:{}", dir.path().display());
        assert_eq!(find_program("multiorch", None, &path), Some(program));
        assert_eq!(find_program("multigateway", None, &path), None);
    }
}
