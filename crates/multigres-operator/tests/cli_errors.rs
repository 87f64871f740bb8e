//! A user error of any command is printed as `Error: ...` with its causes, and never with a
//! backtrace, even when the user's shell sets RUST_BACKTRACE (common on developer machines).
//! Runs the built binary, as users do.

use std::process::Command;

use pretty_assertions::assert_eq;

/// Runs the binary with backtraces requested in every way the standard library and anyhow read.
fn run_with_backtraces(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .env_remove("MULTIGRES_RENDER_FILES")
        .env_remove("MULTIGRES_RENDER_OUTPUT")
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_missing_input_file_is_one_error_line_with_its_cause() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("cluster.yaml");
    let missing = missing.to_str().expect("a UTF-8 path");
    assert_eq!(
        run_with_backtraces(&["render", "-f", missing]),
        (
            Some(1),
            String::new(),
            format!("Error: failed to read {missing}: No such file or directory (os error 2)\n")
        )
    );
}

#[test]
fn an_invalid_input_lists_its_problems_without_a_backtrace() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("cluster.yaml");
    std::fs::write(
        &file,
        "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: orders\nspec:\n  cells:\n  - name: eu-b\n    zone: eu-west-1b\n    region: eu-west-1\n",
    )
    .expect("the input is written");
    let file = file.to_str().expect("a UTF-8 path");
    assert_eq!(
        run_with_backtraces(&["render", "-f", file]),
        (
            Some(1),
            String::new(),
            format!(
                "Error: the input is not valid (1 problem):\n{file} (document 1): \
                 MultigresCluster default/orders: spec.cells[0]: Invalid value: \"object\": \
                 cannot specify both 'zone' and 'region'\n"
            )
        )
    );
}
