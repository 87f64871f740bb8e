//! Test support: the Go operator's golden objects (shared/spec/golden/objects/ and templates/,
//! their READMEs) and the few documented differences between them and our objects.
//!
//! Only reads and reshapes golden files; nothing here builds objects, so a test cannot pass by
//! reusing the code it checks.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

/// A golden case: its directory, its name, and the rows of that directory's `objects.tsv`.
pub struct Case {
    pub dir: PathBuf,
    pub name: &'static str,
    pub rows: Vec<BTreeMap<String, String>>,
}

/// Every case with a full object set: the four of `objects/` and the two of `templates/`.
pub const CASES: [(&str, &str); 6] = [
    ("objects", "case1-minimal"),
    ("objects", "case2-pool-options"),
    ("objects", "case3-s3-backup"),
    ("objects", "case4-long-names"),
    ("templates", "t1-explicit"),
    ("templates", "t3-cluster-defaults"),
];

/// Fixed UIDs the goldens use in place of an API server's (objects/README.md, templates/README.md).
pub const CLUSTER_UID: &str = "11111111-1111-1111-1111-111111111111";
pub const TABLE_GROUP_UID: &str = "22222222-2222-2222-2222-222222222222";
pub const SHARD_UID: &str = "33333333-3333-3333-3333-333333333333";
pub const TOPO_SERVER_UID: &str = "55555555-5555-5555-5555-555555555555";
/// The Cell UIDs in `spec.cells` order.
pub const CELL_UIDS: [&str; 2] = [
    "44444444-4444-4444-4444-444444444444",
    "66666666-6666-6666-6666-666666666666",
];

/// `spec/golden` of the shared directory: `MULTIGRES_SHARED_DIR`, else `<workspace>/../shared`;
/// `None` after printing that `test` skips.
pub fn golden_dir(test: &str) -> Option<PathBuf> {
    let shared = std::env::var_os("MULTIGRES_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let golden = shared.join("spec/golden");
    if golden.is_dir() {
        Some(golden)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no golden data at {} under CI (set MULTIGRES_SHARED_DIR)",
            golden.display()
        );
        println!(
            "{test}: skipped, no golden data at {} (set MULTIGRES_SHARED_DIR)",
            golden.display()
        );
        None
    }
}

/// Loads every case of [`CASES`] under `golden`.
pub fn cases(golden: &Path) -> anyhow::Result<Vec<Case>> {
    CASES
        .iter()
        .map(|(dir, name)| {
            let dir = golden.join(dir);
            let rows = read_tsv(&dir.join("objects.tsv"))?
                .into_iter()
                .filter(|row| row.get("case").map(String::as_str) == Some(*name))
                .collect();
            Ok(Case { dir, name, rows })
        })
        .collect()
}

impl Case {
    /// The parsed golden file of one object.
    pub fn object(&self, kind: &str, name: &str) -> anyhow::Result<Value> {
        read_json(
            &self
                .dir
                .join(format!("{}.{}.{name}.json", self.name, kind.to_lowercase())),
        )
    }

    /// Rows whose controller owner is `owner` (`Kind/name`), as `(kind, name)`.
    pub fn owned_by(&self, owner: &str) -> Vec<(String, String)> {
        self.rows
            .iter()
            .filter(|row| row.get("controller_owner").map(String::as_str) == Some(owner))
            .map(|row| (row["kind"].clone(), row["name"].clone()))
            .collect()
    }

    /// Rows of one kind, as names, in file order.
    pub fn names_of(&self, kind: &str) -> Vec<String> {
        self.rows
            .iter()
            .filter(|row| row["kind"] == kind)
            .map(|row| row["name"].clone())
            .collect()
    }

    /// The cluster input of the case: in `templates/` for the template cases, beside
    /// `objects/` for the others.
    pub fn cluster_input(&self) -> anyhow::Result<Value> {
        let file = format!("{}.cluster-input.json", self.name);
        let here = self.dir.join(&file);
        if here.is_file() {
            read_json(&here)
        } else {
            read_json(&self.dir.join("..").join(file))
        }
    }

    /// The templates of the case (`<case>.templates.json`, a JSON list), empty for the cases
    /// without templates.
    pub fn templates(&self) -> anyhow::Result<Vec<Value>> {
        let path = self.dir.join(format!("{}.templates.json", self.name));
        if !path.is_file() {
            return Ok(Vec::new());
        }
        match read_json(&path)? {
            Value::Array(items) => Ok(items),
            other => bail!("{} is not a JSON list: {other}", path.display()),
        }
    }
}

pub fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn read_tsv(path: &Path) -> anyhow::Result<Vec<BTreeMap<String, String>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        bail!("{} is empty", path.display());
    };
    let header: Vec<&str> = header.split('\t').collect();
    lines
        .filter(|line| !line.is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            if cells.len() != header.len() {
                bail!("{}: row {line:?} has {} cells", path.display(), cells.len());
            }
            Ok(header
                .iter()
                .zip(cells)
                .map(|(k, v)| ((*k).to_owned(), v.to_owned()))
                .collect())
        })
        .collect()
}

/// A golden custom resource as the API server stores it: the builder output plus its uid.
pub fn stored(mut object: Value, uid: &str) -> Value {
    object["metadata"]["uid"] = Value::String(uid.to_owned());
    object
}

/// The JSON paths where `ours` and `golden` differ, with both values; empty when they are equal
/// (key order is ignored, as parsed-JSON equality does).
pub fn differences(ours: &Value, golden: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_differences("", ours, golden, &mut found);
    found
}

fn collect_differences(path: &str, ours: &Value, golden: &Value, found: &mut Vec<String>) {
    match (ours, golden) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let here = format!("{path}.{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => collect_differences(&here, x, y, found),
                    (Some(x), None) => found.push(format!("{here}: ours {x}, golden has none")),
                    (None, Some(y)) => found.push(format!("{here}: ours has none, golden {y}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                collect_differences(&format!("{path}[{index}]"), x, y, found);
            }
        }
        _ if ours == golden => {}
        _ => found.push(format!("{path}: ours {ours}, golden {golden}")),
    }
}
