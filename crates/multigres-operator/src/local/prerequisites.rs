//! What `local` needs from the machine, checked before anything starts, each failure with
//! the fix (issue 15): the etcd binary the TopoServer's pods run, and a free port.

use std::path::Path;

use serde_json::Value;

use super::LocalArgs;
use super::apply::Document;

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

/// Every cell of the clusters to apply must fit a simulated node, or its pods stay Pending and
/// the cluster never becomes Healthy: a cell's `zone` must be one of `--zones`, and a cell's
/// `region` the one region all of kubesim's nodes carry. Lists every cell that does not fit,
/// with the flag that fixes it.
pub fn check_cell_placement(documents: &[Document], zones: &[String]) -> anyhow::Result<()> {
    let region = kubesim::bootstrap::BootstrapConfig::default().region;
    let mut problems = Vec::new();
    let mut missing_zones: Vec<String> = Vec::new();
    for document in documents {
        let value = &document.value;
        if value.get("kind").and_then(Value::as_str) != Some("MultigresCluster") {
            continue;
        }
        let name = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let namespace = value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let cells = value.pointer("/spec/cells").and_then(Value::as_array);
        for (index, cell) in cells.into_iter().flatten().enumerate() {
            let at = format!(
                "{}: MultigresCluster {namespace}/{name}: spec.cells[{index}]",
                document.source
            );
            if let Some(zone) = cell.get("zone").and_then(Value::as_str)
                && !zones.iter().any(|z| z == zone)
            {
                problems.push(format!(
                    "{at}.zone {zone:?} is not a zone of the simulated nodes ({})",
                    zones.join(",")
                ));
                if !missing_zones.iter().any(|z| z == zone) {
                    missing_zones.push(zone.to_owned());
                }
            }
            if let Some(cell_region) = cell.get("region").and_then(Value::as_str)
                && cell_region != region
            {
                problems.push(format!(
                    "{at}.region {cell_region:?}: every simulated node is in region {region:?}; \
                     give the cell a zone instead"
                ));
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "no simulated node can run the pods of {} (they would stay Pending):\n  - {}",
        if problems.len() == 1 {
            "this cell"
        } else {
            "these cells"
        },
        problems.join("\n  - ")
    );
    if !missing_zones.is_empty() {
        let mut all = zones.to_vec();
        all.extend(missing_zones);
        message.push_str(&format!("\nStart local with --zones {}", all.join(",")));
    }
    Err(anyhow::anyhow!(message))
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

    fn cluster(cells: Value) -> Document {
        Document {
            source: "shop.yaml".to_owned(),
            value: serde_json::json!({
                "apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
                "metadata": {"name": "orders", "namespace": "shop"}, "spec": {"cells": cells}
            }),
        }
    }

    #[test]
    fn cells_in_the_simulated_zones_fit() {
        let zones = ["zone-a".to_owned(), "zone-b".to_owned()];
        let documents = [cluster(serde_json::json!([
            {"name": "a", "zone": "zone-a"}, {"name": "b", "zone": "zone-b"},
            {"name": "c", "region": "kubesim"}, {"name": "d"}
        ]))];
        assert!(check_cell_placement(&documents, &zones).is_ok());
    }

    #[test]
    fn cells_no_simulated_node_can_run_are_listed_with_the_zones_to_start_with() {
        let zones = ["zone-a".to_owned()];
        let documents = [cluster(serde_json::json!([
            {"name": "east", "zone": "us-east-1a"}, {"name": "west", "region": "us-west-2"},
            {"name": "a", "zone": "zone-a"}
        ]))];
        assert_eq!(
            check_cell_placement(&documents, &zones)
                .expect_err("two cells cannot be placed")
                .to_string(),
            "no simulated node can run the pods of these cells (they would stay Pending):\n  \
             - shop.yaml: MultigresCluster shop/orders: spec.cells[0].zone \"us-east-1a\" is not a \
             zone of the simulated nodes (zone-a)\n  - shop.yaml: MultigresCluster shop/orders: \
             spec.cells[1].region \"us-west-2\": every simulated node is in region \"kubesim\"; \
             give the cell a zone instead\nStart local with --zones zone-a,us-east-1a"
        );
    }

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
