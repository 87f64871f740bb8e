//! Test support: locating and reading the Go operator's golden outputs in `spec/golden/`.
//!
//! Only reads files; nothing here builds objects, so a test cannot pass by reusing the code it
//! checks.

use std::path::PathBuf;

/// The shared reference directory: `MULTIGRES_SHARED_DIR`, or `<workspace>/../shared`.
///
/// `None` when it does not exist, so that tests can print that they skip (a checkout without
/// the references must still build and test).
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MULTIGRES_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    dir.is_dir().then_some(dir)
}

/// `spec/golden/` of the shared directory, or `None` after printing why the caller skips.
pub fn golden_dir(test: &str) -> Option<PathBuf> {
    match shared_dir() {
        Some(dir) => Some(dir.join("spec/golden")),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: no shared directory under CI (set MULTIGRES_SHARED_DIR)"
            );
            eprintln!(
                "{test}: skipped, no shared directory (set MULTIGRES_SHARED_DIR or place \
                 shared/ beside the workspace)"
            );
            None
        }
    }
}

/// Reads a golden JSON file.
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .expect("golden file is readable");
    serde_json::from_str(&text)
        .map_err(|e| format!("{}: {e}", path.display()))
        .expect("golden file is JSON")
}

/// Reads a tab-separated file with one header line into rows keyed by column name.
pub fn read_tsv(path: &std::path::Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .expect("golden file is readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .expect("a golden TSV file starts with a header line")
        .split('\t')
        .collect();
    lines
        .filter(|line| !line.is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(
                cells.len(),
                header.len(),
                "{}: row {line:?}",
                path.display()
            );
            header
                .iter()
                .zip(cells)
                .map(|(k, v)| ((*k).to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}
