//! Running the installed kubectl against a kubesim: each [`Kubectl`] has its own HOME and
//! `--cache-dir` (kubectl caches discovery and OpenAPI on disk, pitfall P10), commands run
//! with a deadline, and table output is split into cells by the header's column positions so
//! tests can compare rows exactly while masking ages.
//!
//! The binary is `$KUBECTL` or `kubectl` on PATH; when neither exists the tests print that
//! they skip.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// How long one kubectl command may take.
const DEADLINE: Duration = Duration::from_secs(60);

/// A finished kubectl command.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// kubectl pointed at one kubesim.
pub struct Kubectl {
    binary: PathBuf,
    home: tempfile::TempDir,
    kubeconfig: PathBuf,
}

fn find_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
}

impl Kubectl {
    /// kubectl for `server`, or `None` (after printing why) when kubectl is not installed.
    pub fn new(server: &kubesim::Handle) -> Option<Kubectl> {
        let Some(binary) = find_binary() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "kubectl is required under CI (set KUBECTL or add it to PATH)"
            );
            eprintln!("kubectl is not installed (set KUBECTL or add it to PATH): skipping");
            return None;
        };
        Some(Kubectl {
            binary,
            home: tempfile::tempdir().expect("temporary HOME"),
            kubeconfig: server.kubeconfig_path().to_path_buf(),
        })
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .arg("--cache-dir")
            .arg(self.home.path().join("cache"))
            .env("HOME", self.home.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .env_remove("KUBECTL_EXTERNAL_DIFF")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs a command to completion.
    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, "").await
    }

    /// Runs a command with `stdin` (for `-f -`).
    pub async fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self.command(args).spawn().expect("kubectl starts");
        let mut input = child.stdin.take().expect("stdin is piped");
        input
            .write_all(stdin.as_bytes())
            .await
            .expect("stdin written");
        drop(input);
        let output = tokio::time::timeout(DEADLINE, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic_free_timeout(args))
            .expect("kubectl runs");
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Starts a long-running command (`get -w`, `wait`, a blocking `delete`).
    pub fn spawn(&self, args: &[&str]) -> Running {
        let mut child = self.command(args).spawn().expect("kubectl starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        Running {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }
}

/// What a timed-out command reports (kept out of line so the deadline reads clearly).
fn panic_free_timeout(args: &[&str]) -> std::io::Result<std::process::Output> {
    Err(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("kubectl {args:?} did not finish within {DEADLINE:?}"),
    ))
}

/// A running kubectl whose stdout is read line by line.
pub struct Running {
    child: Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Running {
    /// The next line of stdout, waiting at most `deadline`.
    pub async fn line(&mut self, deadline: Duration) -> String {
        tokio::time::timeout(deadline, self.lines.next_line())
            .await
            .expect("kubectl printed a line in time")
            .expect("stdout readable")
            .expect("kubectl is still printing")
    }

    /// Waits for the command to exit and returns its code and the rest of its stdout.
    pub async fn finish(mut self, deadline: Duration) -> (i32, String) {
        let status = tokio::time::timeout(deadline, self.child.wait())
            .await
            .expect("kubectl exited in time")
            .expect("kubectl status");
        let mut rest = String::new();
        while let Ok(Some(line)) = self.lines.next_line().await {
            rest.push_str(&line);
            rest.push('\n');
        }
        (status.code().unwrap_or(-1), rest)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Splits a kubectl table into rows of cells, using the header's column starts. The header is
/// the first row.
pub fn table(output: &str) -> Vec<Vec<String>> {
    let mut lines = output.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let starts = column_starts(header);
    std::iter::once(header)
        .chain(lines)
        .map(|line| cells(line, &starts))
        .collect()
}

/// Where each column of a header line starts (columns are separated by at least two spaces
/// or start at the beginning).
pub fn column_starts(header: &str) -> Vec<usize> {
    let bytes = header.as_bytes();
    let mut starts = vec![0];
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b' ' {
            let run = bytes[i..].iter().take_while(|b| **b == b' ').count();
            if i + run < bytes.len() {
                starts.push(i + run);
            }
            i += run;
        } else {
            i += 1;
        }
    }
    starts
}

/// The cells of one line at the given column starts, trimmed.
pub fn cells(line: &str, starts: &[usize]) -> Vec<String> {
    starts
        .iter()
        .enumerate()
        .map(|(n, start)| {
            let end = starts
                .get(n + 1)
                .copied()
                .unwrap_or(line.len())
                .min(line.len());
            line.get((*start).min(line.len())..end)
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect()
}

/// Whether a cell is a fresh age (`0s` … `119s`, or `2m`…), as kubectl prints an age.
pub fn is_age(cell: &str) -> bool {
    let digits: String = cell.chars().take_while(char::is_ascii_digit).collect();
    !digits.is_empty() && matches!(&cell[digits.len()..], "s" | "m")
}

/// Replaces the cells of `column` (by header name) with `<age>` after checking they are ages.
pub fn mask_ages(mut rows: Vec<Vec<String>>, column: &str) -> Vec<Vec<String>> {
    let Some(index) = rows
        .first()
        .and_then(|header| header.iter().position(|c| c == column))
    else {
        return rows;
    };
    for row in rows.iter_mut().skip(1) {
        if let Some(cell) = row.get_mut(index) {
            assert!(is_age(cell), "{cell:?} is not an age");
            *cell = "<age>".to_string();
        }
    }
    rows
}

/// Rows as string slices, for comparing with literals.
pub fn rows(literal: &[&[&str]]) -> Vec<Vec<String>> {
    literal
        .iter()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect()
}
