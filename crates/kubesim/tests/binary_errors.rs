//! A failing `kubesim` prints `Error: ...` with its causes and exits with status 1, and never
//! prints a backtrace for it, even when the user's shell sets RUST_BACKTRACE. Runs the built
//! binary, as users do.

use std::net::TcpListener;
use std::process::Command;

use pretty_assertions::assert_eq;

#[test]
fn a_port_in_use_is_one_error_line_without_a_backtrace() {
    // Held until the end of the test, so the port stays taken.
    let taken = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let port = taken.local_addr().expect("a bound address").port();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .arg("--kubeconfig")
        .arg(dir.path().join("kubeconfig"))
        .args(["--http", "--no-kubelet", "--port", &port.to_string()])
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .env("RUST_LOG", "off")
        .output()
        .expect("the binary runs");
    assert_eq!(
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned()
        ),
        (
            Some(1),
            format!(
                "Error: failed to bind 127.0.0.1:{port}: Address already in use (os error 98)\n"
            )
        )
    );
}
