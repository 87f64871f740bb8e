//! helm for the chart tests: `$HELM`, else `helm` on PATH, else the copy scripts/install-helm.sh
//! puts in `target/tools/bin` (scripts/test.sh runs it first). Debian has no helm package, so
//! where none is found a test says so and skips, except under CI, where it fails as the kubectl
//! and etcd tests do.
//!
//! Each [`Helm`] has its own HOME and helm cache, config and data folders, so tests do not share
//! helm's state with each other or with the user's.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// Where scripts/install-helm.sh installs helm, from the repository root.
const INSTALLED: &str = "target/tools/bin/helm";

/// The helm binary, or `None` after saying so (a failure under CI).
pub fn find(test: &str) -> Option<PathBuf> {
    let on_path = || {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join("helm"))
            .find(|candidate| candidate.is_file())
    };
    let installed = || {
        Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(INSTALLED),
        )
        .filter(|path| path.is_file())
    };
    let found = std::env::var_os("HELM")
        .map(PathBuf::from)
        .or_else(on_path)
        .or_else(installed);
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: helm is required under CI (scripts/install-helm.sh installs it; or set HELM)"
        );
        eprintln!("{test}: skipped, helm is not installed (run scripts/install-helm.sh)");
    }
    found
}

/// A finished helm command.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// helm with its own state, pointed at one kubeconfig.
pub struct Helm {
    binary: PathBuf,
    home: tempfile::TempDir,
    kubeconfig: Option<PathBuf>,
}

impl Helm {
    /// helm for `test`, or `None` (see [`find`]).
    pub fn new(test: &str, kubeconfig: Option<&Path>) -> Option<Helm> {
        Some(Helm {
            binary: find(test)?,
            home: tempfile::tempdir().expect("temporary HOME"),
            kubeconfig: kubeconfig.map(Path::to_path_buf),
        })
    }

    /// helm with `args`, its own state folders and the kubeconfig (none: no cluster).
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let home = self.home.path();
        let mut command = std::process::Command::new(&self.binary);
        command
            .args(args)
            .env("HOME", home)
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match &self.kubeconfig {
            Some(path) => command.env("KUBECONFIG", path),
            None => command.env_remove("KUBECONFIG"),
        };
        command
    }

    /// Runs helm with `args`, at most `deadline`.
    pub async fn run(&self, args: &[&str], deadline: Duration) -> Output {
        let mut command = Command::from(self.command(args));
        command.kill_on_drop(true);
        let child = command.spawn().expect("helm starts");
        let output = tokio::time::timeout(deadline, child.wait_with_output())
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("helm {args:?} did not finish within {deadline:?}"),
                )
            })
            .and_then(|finished| finished)
            .expect("helm runs and finishes in time");
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}
