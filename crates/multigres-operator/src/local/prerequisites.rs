//! What `local` needs from the machine, checked before anything starts, each failure with
//! the fix (issue 15): the etcd binary the TopoServer's pods run, and a free port.

use std::path::Path;

use super::LocalArgs;

/// The Debian/Ubuntu package that provides `/usr/bin/etcd` (kubesim's process runtime).
pub const ETCD_PACKAGE: &str = "etcd-server";

/// Fails with the fix when local mode cannot work on this machine.
pub fn check(args: &LocalArgs) -> anyhow::Result<()> {
    check_etcd(&args.etcd_binary)?;
    if args.zones.is_empty() || args.zones.iter().any(String::is_empty) {
        anyhow::bail!(
            "--zones {:?}: give at least one zone name, e.g. --zones zone-a",
            args.zones
        );
    }
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        anyhow::bail!(
            "--time-scale {}: must be a positive number (0.1 = ten times faster than real time)",
            args.time_scale
        );
    }
    Ok(())
}

/// The TopoServer's etcd runs for real: without the binary no cluster can become Healthy.
pub fn check_etcd(binary: &Path) -> anyhow::Result<()> {
    let executable = std::fs::metadata(binary).is_ok_and(|meta| {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    });
    if executable {
        return Ok(());
    }
    anyhow::bail!(
        "no etcd at {}: local mode runs the TopoServer's etcd as real processes. Install it \
         with `sudo apt-get install -y {ETCD_PACKAGE}` (Debian, Ubuntu), or point \
         --etcd-binary at an etcd 3.4 or newer binary",
        binary.display()
    )
}

/// Turns kubesim's start error into one that names the port and the flag to change it.
pub fn explain_start_error(error: kubesim::server::StartError, port: u16) -> anyhow::Error {
    match error {
        kubesim::server::StartError::Bind { .. } => anyhow::Error::new(error).context(format!(
            "port {port} on 127.0.0.1 is in use: choose another with --port (0 picks a free one)"
        )),
        other => anyhow::Error::new(other).context("failed to start the embedded API server"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_etcd_names_the_package_and_the_flag() {
        let error = check_etcd(Path::new("/nonexistent/etcd")).expect_err("no such binary");
        assert_eq!(
            error.to_string(),
            "no etcd at /nonexistent/etcd: local mode runs the TopoServer's etcd as real \
             processes. Install it with `sudo apt-get install -y etcd-server` (Debian, Ubuntu), \
             or point --etcd-binary at an etcd 3.4 or newer binary"
        );
    }

    #[test]
    fn a_port_in_use_names_the_port_and_the_flag() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = taken.local_addr().expect("an address").port();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let error = runtime
            .block_on(kubesim::Server::builder().port(port).start())
            .expect_err("the port is taken");
        assert_eq!(
            explain_start_error(error, port).to_string(),
            format!(
                "port {port} on 127.0.0.1 is in use: choose another with --port (0 picks a free \
                 one)"
            )
        );
    }
}
