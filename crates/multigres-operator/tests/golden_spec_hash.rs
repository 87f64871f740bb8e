//! The pool pod spec hash against the Go operator's real outputs (shared/spec/golden, its README):
//! the stream byte for byte for every case that recorded one, and the hash of every golden pool pod
//! against its `multigres.com/spec-hash` annotation, `index.tsv` and `objects.tsv`.
//!
//! The goldens live outside the repository: `MULTIGRES_SHARED_DIR`, else `<workspace>/../shared`.
//! Without them each test prints that it skips.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use k8s_openapi::api::core::v1::{LocalObjectReference, Pod};
use multigres_api::labels::ANNOTATION_SPEC_HASH;
use multigres_operator::controllers::shard::build::spec_hash::{spec_hash, spec_hash_input};
use pretty_assertions::assert_eq;

const CASES_WITH_STREAMS: [&str; 4] = [
    "case1-minimal",
    "case2-pool-options",
    "case3-s3-backup",
    "case4-long-names",
];

fn golden_dir() -> Option<PathBuf> {
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
            "skipping: no golden data at {} (set MULTIGRES_SHARED_DIR)",
            golden.display()
        );
        None
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    String::from_utf8(read(path)?).with_context(|| format!("{} is not UTF-8", path.display()))
}

fn load_pod(path: &Path) -> anyhow::Result<Pod> {
    serde_json::from_slice(&read(path)?).with_context(|| format!("{} is not a Pod", path.display()))
}

/// Names the first recorded chunk our stream disagrees with, from
/// `<case>.pod-0.spec-hash-input.segments.tsv` (`index<TAB>byte_len<TAB>chunk`).
fn first_differing_segment(
    segments_tsv: &str,
    ours: &[u8],
    theirs: &[u8],
) -> anyhow::Result<String> {
    let first_difference = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    let mut offset = 0;
    for line in segments_tsv.lines() {
        let mut fields = line.splitn(3, '\t');
        let (Some(index), Some(length), Some(chunk)) =
            (fields.next(), fields.next(), fields.next())
        else {
            bail!("segment line {line:?} does not have three fields");
        };
        let length: usize = length
            .parse()
            .with_context(|| format!("bad length in segment {index}"))?;
        if first_difference < offset + length {
            let end = (offset + length).min(ours.len());
            let ours_here = ours
                .get(offset..end)
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            return Ok(format!(
                "segment {index} at byte {offset}:\n  go:   {chunk}\n  ours: {ours_here}"
            ));
        }
        offset += length;
    }
    Ok(format!(
        "the end: ours is {} bytes, go's {}",
        ours.len(),
        theirs.len()
    ))
}

#[test]
fn stream_of_pod_0_equals_the_go_stream_byte_for_byte() -> anyhow::Result<()> {
    let Some(golden) = golden_dir() else {
        return Ok(());
    };
    for case in CASES_WITH_STREAMS {
        let pod = load_pod(&golden.join(format!("{case}.pod-0.json")))?;
        let theirs = read(&golden.join(format!("{case}.pod-0.spec-hash-input.txt")))?;
        let ours = spec_hash_input(&pod);
        if ours != theirs {
            let segments =
                read_text(&golden.join(format!("{case}.pod-0.spec-hash-input.segments.tsv")))?;
            bail!(
                "{case}: stream differs from Go's at {}",
                first_differing_segment(&segments, &ours, &theirs)?
            );
        }
    }
    Ok(())
}

struct GoldenPod {
    case: String,
    name: String,
    path: PathBuf,
    pod: Pod,
}

/// Every golden pool pod file with its case. The top-level `<case>.pod-<i>.json` repeat pods of
/// `objects/`; both copies are checked.
fn golden_pods(golden: &Path) -> anyhow::Result<Vec<GoldenPod>> {
    let mut files = Vec::new();
    for case in CASES_WITH_STREAMS {
        for index in 0..2 {
            files.push((
                case.to_owned(),
                golden.join(format!("{case}.pod-{index}.json")),
            ));
        }
    }
    for directory in [golden.join("objects"), golden.join("templates")] {
        let entries = fs::read_dir(&directory)
            .with_context(|| format!("cannot list {}", directory.display()))?;
        for entry in entries {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or_default();
            if name.contains(".pod.") && name.ends_with(".json") && !name.ends_with(".pretty.json")
            {
                let case = name.split('.').next().unwrap_or_default().to_owned();
                files.push((case, path));
            }
        }
    }
    files
        .into_iter()
        .map(|(case, path)| {
            let pod = load_pod(&path)?;
            let name = pod
                .metadata
                .name
                .clone()
                .with_context(|| format!("{} has no name", path.display()))?;
            Ok(GoldenPod {
                case,
                name,
                path,
                pod,
            })
        })
        .collect()
}

#[test]
fn hash_of_every_golden_pool_pod_equals_its_annotation() -> anyhow::Result<()> {
    let Some(golden) = golden_dir() else {
        return Ok(());
    };
    let pods = golden_pods(&golden)?;
    assert_eq!(
        pods.len(),
        26,
        "4 cases × 2 top-level pods, 12 in objects/, 6 in templates/"
    );
    for GoldenPod { path, pod, .. } in &pods {
        let annotation = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(ANNOTATION_SPEC_HASH))
            .with_context(|| format!("{} has no spec-hash annotation", path.display()))?;
        assert_eq!((path, spec_hash(pod)), (path, annotation.clone()));
    }
    Ok(())
}

/// `(case, pod name, spec hash)` rows of a golden TSV, columns found by header name; with
/// `kind`, only rows of that kind.
fn tsv_hashes(
    path: &Path,
    name_column: &str,
    kind: Option<&str>,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let text = read_text(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .with_context(|| format!("{} is empty", path.display()))?
        .split('\t')
        .collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|field| *field == name)
            .with_context(|| format!("{} has no column {name}", path.display()))
    };
    let (case, pod, hash) = (column("case")?, column(name_column)?, column("spec_hash")?);
    let kind_column = kind.map(|_| column("kind")).transpose()?;
    let mut rows = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        ensure!(
            fields.len() == header.len(),
            "{}: row {line:?} does not match the header",
            path.display()
        );
        if let (Some(wanted), Some(column)) = (kind, kind_column)
            && fields[column] != wanted
        {
            continue;
        }
        rows.push((
            fields[case].to_owned(),
            fields[pod].to_owned(),
            fields[hash].to_owned(),
        ));
    }
    Ok(rows)
}

#[test]
fn hash_of_every_golden_pool_pod_equals_the_index_and_objects_tables() -> anyhow::Result<()> {
    let Some(golden) = golden_dir() else {
        return Ok(());
    };
    let pods = golden_pods(&golden)?;
    let mut rows = tsv_hashes(&golden.join("index.tsv"), "pod_name", None)?;
    rows.extend(tsv_hashes(
        &golden.join("templates/index.tsv"),
        "pod_name",
        None,
    )?);
    rows.extend(tsv_hashes(
        &golden.join("objects/objects.tsv"),
        "name",
        Some("Pod"),
    )?);
    rows.extend(tsv_hashes(
        &golden.join("templates/objects.tsv"),
        "name",
        Some("Pod"),
    )?);
    assert_eq!(
        rows.len(),
        8 + 6 + 12 + 6,
        "rows of index.tsv, templates/index.tsv and the Pod rows of both objects.tsv"
    );
    for (case, pod_name, hash) in rows {
        let matching: Vec<&GoldenPod> = pods
            .iter()
            .filter(|pod| pod.case == case && pod.name == pod_name)
            .collect();
        ensure!(
            !matching.is_empty(),
            "no golden pod file for {case} {pod_name}"
        );
        for GoldenPod { pod, .. } in matching {
            assert_eq!(
                (&case, &pod_name, spec_hash(pod)),
                (&case, &pod_name, hash.clone())
            );
        }
    }
    Ok(())
}

/// spec/README.md fix 10: pull settings on a Go-built pod keep the hash the Go operator wrote.
#[test]
fn pull_settings_added_to_golden_pods_keep_the_go_hash() -> anyhow::Result<()> {
    let Some(golden) = golden_dir() else {
        return Ok(());
    };
    for case in CASES_WITH_STREAMS {
        let mut pod = load_pod(&golden.join(format!("{case}.pod-0.json")))?;
        let expected = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(ANNOTATION_SPEC_HASH))
            .cloned()
            .context("golden pods carry the Go spec hash")?;
        let spec = pod.spec.as_mut().context("golden pods have a spec")?;
        for container in spec
            .init_containers
            .iter_mut()
            .flatten()
            .chain(&mut spec.containers)
        {
            container.image_pull_policy = Some("Always".to_owned());
        }
        spec.image_pull_secrets = Some(vec![LocalObjectReference {
            name: "regcred".to_owned(),
        }]);
        assert_eq!((case, spec_hash(&pod)), (case, expected));
    }
    Ok(())
}
