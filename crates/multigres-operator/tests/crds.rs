//! The `crds` command and the committed `config/crd/bases/` files: both are exactly the CRDs
//! generated from the v1alpha1 types, so a change to the types cannot ship without its CRD.
//!
//! `UPDATE_CRDS=1 cargo test -p multigres-operator --test crds` rewrites the committed files.

use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use multigres_operator::cli::Cli;
use multigres_operator::crd_manifests::{crd_document, crd_file_name};
use pretty_assertions::assert_eq;
use serde_json::Value;

const UPDATE_HINT: &str = "run `UPDATE_CRDS=1 cargo test -p multigres-operator --test crds` \
                           to regenerate config/crd/bases";

fn bases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/crd/bases")
}

/// Runs the CLI with `args` and returns what it printed.
fn run_cli(args: &[&str]) -> Result<String, String> {
    let cli = Cli::try_parse_from(args).map_err(|err| err.to_string())?;
    let mut out = Vec::new();
    cli.run(&mut out).map_err(|err| format!("{err:#}"))?;
    String::from_utf8(out).map_err(|err| err.to_string())
}

#[test]
fn cli_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn committed_crd_files_match_the_generated_crds() -> Result<(), String> {
    let dir = bases_dir();
    let update = std::env::var_os("UPDATE_CRDS").is_some_and(|value| value == "1");
    let mut expected_files = Vec::new();
    for crd in multigres_api::crds::crds() {
        let name = crd_file_name(&crd);
        let path = dir.join(&name);
        let generated = crd_document(&crd).map_err(|err| err.to_string())?;
        if update {
            std::fs::write(&path, &generated)
                .map_err(|err| format!("writing {}: {err}", path.display()))?;
        }
        let committed = std::fs::read_to_string(&path)
            .map_err(|err| format!("reading {}: {err}; {UPDATE_HINT}", path.display()))?;
        assert!(
            committed == generated,
            "config/crd/bases/{name} differs from the generated CRD; {UPDATE_HINT}"
        );
        expected_files.push(name);
    }

    let mut committed_files = std::fs::read_dir(&dir)
        .map_err(|err| format!("listing {}: {err}", dir.display()))?
        .map(|entry| entry.map(|entry| entry.file_name().to_string_lossy().into_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("listing {}: {err}", dir.display()))?;
    committed_files.sort();
    expected_files.sort();
    assert_eq!(
        committed_files, expected_files,
        "stale files in config/crd/bases"
    );
    Ok(())
}

#[test]
fn crds_command_prints_every_crd_in_install_order() -> Result<(), String> {
    let printed = run_cli(&["multigres-operator", "crds"])?;

    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&printed).map_err(|err| err.to_string())?;
    let names: Vec<&str> = documents
        .iter()
        .map(|document| document["metadata"]["name"].as_str().unwrap_or_default())
        .collect();
    // spec-api.md §1.3: the Go operator's kustomization order.
    assert_eq!(
        names,
        [
            "multigresclusters.multigres.com",
            "tablegroups.multigres.com",
            "celltemplates.multigres.com",
            "coretemplates.multigres.com",
            "shardtemplates.multigres.com",
            "cells.multigres.com",
            "shards.multigres.com",
            "toposervers.multigres.com",
        ]
    );

    // The YAML reads back as exactly the generated objects: nothing lost to quoting (the
    // condition status enum holds the strings "True" and "False") or to block scalars.
    let generated = multigres_api::crds::crds()
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| err.to_string())?;
    assert_eq!(documents, generated);
    Ok(())
}
