//! The `render` command as users run it: the built binary on the repository's samples, on
//! standard input, twice on the same input, and on one bad input of each kind, each refused
//! with a non-zero exit status and a message naming the file, the object, the field and what is
//! allowed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, bail};
use clap::Parser;
use multigres_operator::cli::{Cli, Command as CliCommand};
use multigres_operator::render::OutputFormat;
use pretty_assertions::assert_eq;
use serde_json::Value;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_multigres-operator"));
    // No backtrace in error output; no flag taken from the environment.
    command
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .env_remove("MULTIGRES_RENDER_FILES")
        .env_remove("MULTIGRES_RENDER_OUTPUT");
    command
}

fn render(args: &[&str]) -> anyhow::Result<Output> {
    let mut command = binary();
    command.arg("render").args(args);
    command.output().context("failed to run the binary")
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/samples")
}

fn yaml_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    Ok(files)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_sample_renders_one_cell_object_per_cell() -> anyhow::Result<()> {
    let samples = yaml_files(&samples_dir())?;
    let templates = yaml_files(&samples_dir().join("templates"))?;
    assert!(!samples.is_empty(), "config/samples holds the samples");
    for sample in &samples {
        let mut args = vec!["-f".to_owned(), sample.display().to_string()];
        for template in &templates {
            args.extend(["-f".to_owned(), template.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = render(&args)?;
        if !output.status.success() {
            bail!("{}: {}", sample.display(), text(&output.stderr));
        }
        let input: Vec<Value> = serde_saphyr::from_multiple(&std::fs::read_to_string(sample)?)?;
        let cells_in = input
            .iter()
            .filter(|doc| doc["kind"] == "MultigresCluster")
            .map(|doc| doc["spec"]["cells"].as_array().map_or(0, Vec::len))
            .sum::<usize>();
        let printed: Vec<Value> = serde_saphyr::from_multiple(&text(&output.stdout))?;
        for object in &printed {
            assert!(
                object["apiVersion"].is_string() && object["metadata"]["name"].is_string(),
                "{}: {object}",
                sample.display()
            );
        }
        let cells_out = printed.iter().filter(|doc| doc["kind"] == "Cell").count();
        assert_eq!(cells_out, cells_in, "{}: Cells", sample.display());
    }
    Ok(())
}

#[test]
fn the_same_input_prints_the_same_bytes() -> anyhow::Result<()> {
    let sample = samples_dir().join("templated-cluster.yaml");
    let mut args = vec!["-f".to_owned(), sample.display().to_string()];
    for template in yaml_files(&samples_dir().join("templates"))? {
        args.extend(["-f".to_owned(), template.display().to_string()]);
    }
    for format in ["yaml", "json"] {
        let mut with_format = args.clone();
        with_format.extend(["-o".to_owned(), format.to_owned()]);
        let with_format: Vec<&str> = with_format.iter().map(String::as_str).collect();
        let first = render(&with_format)?;
        let second = render(&with_format)?;
        assert!(first.status.success(), "{}", text(&first.stderr));
        assert!(!first.stdout.is_empty());
        assert_eq!(text(&first.stdout), text(&second.stdout), "-o {format}");
        assert_eq!(text(&first.stderr), text(&second.stderr), "-o {format}");
    }
    Ok(())
}

#[test]
fn standard_input_renders_like_a_file() -> anyhow::Result<()> {
    let sample = samples_dir().join("minimal.yaml");
    let from_file = render(&["-f", &sample.display().to_string()])?;
    let mut child = binary()
        .args(["render", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin is piped")?
        .write_all(std::fs::read_to_string(&sample)?.as_bytes())?;
    let from_stdin = child.wait_with_output()?;
    assert!(from_stdin.status.success(), "{}", text(&from_stdin.stderr));
    assert_eq!(text(&from_stdin.stdout), text(&from_file.stdout));
    Ok(())
}

const CLUSTER: &str = "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: orders\n  namespace: shop\nspec:\n";

/// Renders `files` (name, content) written to a temporary directory; returns the exit status
/// and standard error with the directory replaced by `<dir>`.
fn render_files(files: &[(&str, &str)]) -> anyhow::Result<(bool, String)> {
    let dir = tempfile::tempdir()?;
    let mut args = Vec::new();
    for (name, content) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, content)?;
        args.extend(["-f".to_owned(), path.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = render(&args)?;
    let stderr = text(&output.stderr).replace(&format!("{}/", dir.path().display()), "<dir>/");
    Ok((output.status.success(), stderr))
}

/// One bad input: what is wrong, the files (name, content), and the exact standard error.
type BadInput<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn each_kind_of_bad_input_is_refused_with_a_precise_message() -> anyhow::Result<()> {
    let unknown_field = format!("{CLUSTER}  cells:\n  - name: eu-a\n    zonee: eu-west-1a\n");
    let enum_value =
        format!("{CLUSTER}  cells:\n  - name: eu-a\n  logLevels:\n    multigateway: verbose\n");
    let cel_rule =
        format!("{CLUSTER}  cells:\n  - name: eu-a\n    zone: eu-west-1a\n    region: eu-west-1\n");
    let missing_template =
        format!("{CLUSTER}  cells:\n  - name: eu-a\n    cellTemplate: big-gateways\n");
    let missing_config_map = format!(
        "{CLUSTER}  cells:\n  - name: eu-a\n  databases:\n  - name: postgres\n    default: true\n    tablegroups:\n    - name: default\n      default: true\n      shards:\n      - name: 0-inf\n        spec:\n          postgresConfigRef: {{name: tuning, key: postgresql.conf}}\n"
    );
    let no_cells = format!("{CLUSTER}  images:\n    imagePullPolicy: Always\n");
    let cases: Vec<BadInput<'_>> = vec![
        (
            "unknown field",
            vec![("cluster.yaml", &unknown_field)],
            "Error: the input is not valid (1 problem):\n<dir>/cluster.yaml (document 1): \
             MultigresCluster shop/orders: strict decoding error: unknown field \
             \"spec.cells[0].zonee\"\n",
        ),
        (
            "value outside an enum",
            vec![("cluster.yaml", &enum_value)],
            "Error: the input is not valid (2 problems):\n<dir>/cluster.yaml (document 1): \
             MultigresCluster shop/orders: <nil>: Invalid value: \"null\": some validation rules \
             were not checked because the object was invalid; correct the existing errors to \
             complete validation\n<dir>/cluster.yaml (document 1): MultigresCluster \
             shop/orders: spec.logLevels.multigateway: Unsupported value: \"verbose\": supported \
             values: \"debug\", \"info\", \"warn\", \"error\"\n",
        ),
        (
            "CEL rule",
            vec![("cluster.yaml", &cel_rule)],
            "Error: the input is not valid (1 problem):\n<dir>/cluster.yaml (document 1): \
             MultigresCluster shop/orders: spec.cells[0]: Invalid value: \"object\": cannot \
             specify both 'zone' and 'region'\n",
        ),
        (
            "missing template",
            vec![("cluster.yaml", &missing_template)],
            "Error: the input is not valid (1 problem):\n<dir>/cluster.yaml (document 1): \
             MultigresCluster shop/orders: spec.cells[0].cellTemplate: referenced CellTemplate \
             'big-gateways' not found in namespace 'shop'\n",
        ),
        (
            "missing ConfigMap",
            vec![("cluster.yaml", &missing_config_map)],
            "Error: the input is not valid (1 problem):\n<dir>/cluster.yaml (document 1): \
             MultigresCluster shop/orders: Shard orders-postgres-default-0-inf-36675870: \
             postgresConfigRef names ConfigMap \"tuning\" key \"postgresql.conf\", which no \
             input file holds; add that ConfigMap (its content is hashed into the pool pods' \
             multigres.com/postgres-config-hash)\n",
        ),
        (
            "cluster logic (spec-api §11)",
            vec![("cluster.yaml", &no_cells)],
            "Error: the input is not valid (2 problems):\n<dir>/cluster.yaml (document 1): \
             MultigresCluster shop/orders: \
             spec.databases[0].tablegroups[0].shards[0].spec.multiorch.cells: shard '0-inf' \
             matches NO cells (check your cell names or template configuration)\n\
             <dir>/cluster.yaml (document 1): MultigresCluster shop/orders: \
             spec.databases[0].tablegroups[0].shards[0].spec.pools[default].cells: pool \
             'default' in shard '0-inf' matches NO cells\n",
        ),
        (
            "unknown kind and a duplicate",
            vec![
                ("cluster.yaml", CLUSTER),
                (
                    "more.yaml",
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\napiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: orders\n  namespace: shop\n",
                ),
            ],
            "Error: the input is not valid (2 problems):\n<dir>/more.yaml (document 1): \
             apiVersion \"apps/v1\" kind \"Deployment\" is not an input of render; accepted are \
             multigres.com/v1alpha1 MultigresCluster, multigres.com/v1alpha1 CoreTemplate, \
             multigres.com/v1alpha1 CellTemplate, multigres.com/v1alpha1 ShardTemplate, v1 \
             ConfigMap\n<dir>/more.yaml (document 2): MultigresCluster shop/orders: given \
             twice, first in <dir>/cluster.yaml (document 1); each object may appear once\n",
        ),
        (
            "no cluster",
            vec![(
                "config.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tuning\n",
            )],
            "Error: no MultigresCluster in the input; render needs at least one object with \
             apiVersion multigres.com/v1alpha1 and kind MultigresCluster\n",
        ),
    ];
    for (what, files, expected) in cases {
        let (success, stderr) = render_files(&files)?;
        assert!(!success, "{what}: must fail");
        assert_eq!(stderr, expected, "{what}");
    }
    Ok(())
}

#[test]
fn malformed_documents_and_missing_files_name_the_file() -> anyhow::Result<()> {
    let (success, stderr) = render_files(&[("broken.yaml", "apiVersion: [unclosed\n")])?;
    assert!(!success);
    assert_eq!(
        stderr.lines().take(2).collect::<Vec<_>>(),
        vec![
            "Error: the input is not valid (1 problem):",
            "<dir>/broken.yaml: not valid YAML or JSON: error: line 1 column 13: unclosed \
             bracket '['"
        ]
    );
    let output = render(&["-f", "/nonexistent/cluster.yaml"])?;
    assert!(!output.status.success());
    assert_eq!(
        text(&output.stderr),
        "Error: failed to read /nonexistent/cluster.yaml: No such file or directory (os error 2)\n"
    );
    Ok(())
}

#[test]
fn render_flags_parse_as_documented() -> anyhow::Result<()> {
    let cli = Cli::try_parse_from([
        "multigres-operator",
        "render",
        "-f",
        "cluster.yaml",
        "--filename",
        "-",
        "-o",
        "json",
    ])?;
    let CliCommand::Render(args) = cli.command else {
        bail!("parsed as another command");
    };
    assert_eq!(args.files, vec!["cluster.yaml".to_owned(), "-".to_owned()]);
    assert_eq!(args.output, OutputFormat::Json);

    let missing = Cli::try_parse_from(["multigres-operator", "render"])
        .expect_err("-f is required")
        .to_string();
    assert!(
        missing.starts_with(
            "error: the following required arguments were not provided:\n  --filename <FILES>"
        ),
        "{missing}"
    );
    let unknown = Cli::try_parse_from(["multigres-operator", "render", "-f", "a", "-o", "xml"])
        .expect_err("xml is no format")
        .to_string();
    assert!(
        unknown.starts_with(
            "error: invalid value 'xml' for '--output <OUTPUT>'\n  [possible values: yaml, json]"
        ),
        "{unknown}"
    );
    Ok(())
}
