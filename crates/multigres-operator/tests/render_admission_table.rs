//! `render` refuses what a cluster refuses, in the same words (issue 13): for one input of every
//! kind of mistake, the table holds render's message next to the API server's, and the same
//! input sent with `kubectl create` (kubectl's default field validation is Strict) to kubesim,
//! with the operator's CRDs installed and its webhooks served, gives the same field and wording.
//!
//! The API server column is what a real API server answers, as kubectl prints it. kubesim
//! answers the same, except where a row says otherwise.

mod webhook_support;

use multigres_operator::render::{InputFile, OutputFormat, RenderError, render};
use pretty_assertions::assert_eq;
use webhook_support::{Kubectl, install};

const RFC1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
     alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character \
     (e.g. 'example.com', regex used for validation is \
     '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const RFC1123_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
     characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  \
     or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const CEL_SKIPPED: &str = "<nil>: Invalid value: \"null\": some validation rules were not \
     checked because the object was invalid; correct the existing errors to complete validation";

/// One row: an input, what render says about it (each problem after `file (document 1):
/// Kind ns/name: `, or the whole line when the input has no object), and what kubectl prints
/// on standard error when a real API server refuses it.
struct Row {
    kind: &'static str,
    input: String,
    render: Vec<String>,
    kubectl: String,
}

fn cluster(metadata: &str, spec: &str) -> String {
    format!(
        "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: orders\n\
         {metadata}{spec}"
    )
}

const CELLS: &str = "spec:\n  cells:\n  - name: zone-a\n    zone: us-east-1a\n";

fn rows() -> Vec<Row> {
    let invalid = |name: &str, causes: &[&str]| {
        if let [cause] = causes {
            format!("The MultigresCluster \"{name}\" is invalid: {cause}\n")
        } else {
            let lines: Vec<String> = causes.iter().map(|c| format!("* {c}")).collect();
            format!(
                "The MultigresCluster \"{name}\" is invalid: \n{}\n",
                lines.join("\n")
            )
        }
    };
    let bad_request = |message: &str| {
        format!(
            "Error from server (BadRequest): error when creating \"STDIN\": MultigresCluster in \
             version \"v1alpha1\" cannot be handled as a MultigresCluster: {message}\n"
        )
    };
    let denied = |message: &str| {
        format!(
            "Error from server (Forbidden): error when creating \"STDIN\": admission webhook \
             \"vmultigrescluster.kb.io\" denied the request: {message}\n"
        )
    };
    let name = format!("metadata.name: Invalid value: \"Bad_Name\": {RFC1123_SUBDOMAIN}");
    let namespace = format!("metadata.namespace: Invalid value: \"Bad_NS\": {RFC1123_LABEL}");
    let zone = "spec.cells[0].zone: Invalid value: \"integer\": spec.cells[0].zone in body must \
                be of type string: \"integer\"";
    let pool_cells = "spec.databases[0].tablegroups[0].shards[0].spec.pools[main].cells: pool \
                      'main' in shard '0-inf' is assigned to non-existent cell 'nope'";
    let no_cells = [
        "spec.databases[0].tablegroups[0].shards[0].spec.multiorch.cells: shard '0-inf' matches \
         NO cells (check your cell names or template configuration)",
        "spec.databases[0].tablegroups[0].shards[0].spec.pools[default].cells: pool 'default' \
         in shard '0-inf' matches NO cells",
    ];
    vec![
        Row {
            kind: "bad name",
            input: cluster("", CELLS).replace("name: orders", "name: Bad_Name"),
            render: vec![name.clone()],
            kubectl: invalid("Bad_Name", &[&name]),
        },
        Row {
            // One 422 for the metadata and the schema, metadata first.
            kind: "bad name and a type error",
            input: cluster("", &CELLS.replace("zone: us-east-1a", "zone: 5"))
                .replace("name: orders", "name: Bad_Name"),
            render: vec![CEL_SKIPPED.to_owned(), name.clone(), zone.to_owned()],
            kubectl: invalid("Bad_Name", &[&name, zone, CEL_SKIPPED]),
        },
        Row {
            kind: "bad namespace",
            input: cluster("  namespace: Bad_NS\n", CELLS),
            render: vec![namespace.clone()],
            kubectl: invalid("orders", &[&namespace]),
        },
        Row {
            kind: "unknown metadata field",
            input: cluster("  colour: red\n", CELLS),
            render: vec!["strict decoding error: unknown field \"metadata.colour\"".to_owned()],
            kubectl: bad_request("strict decoding error: unknown field \"metadata.colour\""),
        },
        Row {
            kind: "unknown spec field",
            input: cluster("", &CELLS.replace("zone: us", "zonee: us")),
            render: vec!["strict decoding error: unknown field \"spec.cells[0].zonee\"".to_owned()],
            kubectl: bad_request("strict decoding error: unknown field \"spec.cells[0].zonee\""),
        },
        Row {
            // Decoding comes before admission: the webhook's refusal (a missing template) is
            // never reached.
            kind: "unknown field before any webhook",
            input: cluster(
                "",
                &format!("{CELLS}  templateDefaults:\n    cellTemplate: nowhere\n  replicas: 3\n"),
            ),
            render: vec!["strict decoding error: unknown field \"spec.replicas\"".to_owned()],
            kubectl: bad_request("strict decoding error: unknown field \"spec.replicas\""),
        },
        Row {
            kind: "type error at depth",
            input: cluster("", &CELLS.replace("zone: us-east-1a", "zone: 5")),
            render: vec![CEL_SKIPPED.to_owned(), zone.to_owned()],
            kubectl: invalid("orders", &[zone, CEL_SKIPPED]),
        },
        Row {
            kind: "webhook rule on the deepest field",
            input: cluster(
                "",
                &format!(
                    "{CELLS}  databases:\n  - name: postgres\n    default: true\n    \
                     tablegroups:\n    - name: default\n      default: true\n      shards:\n      \
                     - name: 0-inf\n        spec:\n          pools:\n            main:\n              \
                     type: readWrite\n              cells: [nope]\n"
                ),
            ),
            render: vec![pool_cells.to_owned()],
            kubectl: denied(pool_cells),
        },
        Row {
            kind: "no spec",
            input: cluster("", ""),
            render: no_cells.iter().map(|line| (*line).to_owned()).collect(),
            kubectl: denied(&no_cells.join("; ")),
        },
        Row {
            kind: "empty input",
            input: "# nothing here yet\n".to_owned(),
            render: vec![
                "input.yaml: no objects in this file (it is empty or holds only comments)"
                    .to_owned(),
            ],
            kubectl: "error: no objects passed to create\n".to_owned(),
        },
    ]
}

/// render's problems for `input`, each without the `file (document 1): Kind ns/name: ` prefix.
fn render_problems(input: &str) -> Vec<String> {
    let files = [InputFile {
        name: "input.yaml".to_owned(),
        text: input.to_owned(),
    }];
    let result = render(&files, OutputFormat::Yaml);
    let Err(RenderError::Invalid { problems }) = result else {
        unreachable!("render must refuse the input, got {result:?}");
    };
    problems
        .into_iter()
        .map(|problem| {
            let prefix = "input.yaml (document 1): MultigresCluster ";
            match problem.strip_prefix(prefix) {
                // `ns/name: ` follows the kind.
                Some(rest) => rest
                    .split_once(": ")
                    .map(|(_, problem)| problem.to_owned())
                    .unwrap_or(rest.to_owned()),
                None => problem,
            }
        })
        .collect()
}

#[test]
fn render_words_each_refusal_as_the_api_server_does() {
    for row in rows() {
        let problems = render_problems(&row.input);
        assert_eq!(problems, row.render, "{}", row.kind);
        if row.kind != "empty input" {
            for problem in &problems {
                assert!(
                    row.kubectl.contains(problem.as_str()),
                    "{}: render's {problem:?} is not in the API server's {:?}",
                    row.kind,
                    row.kubectl
                );
            }
        }
    }
}

#[tokio::test]
async fn kubectl_gets_the_same_refusals_from_kubesim() {
    let installed = install().await;
    let Some(kubectl) = Kubectl::new(&installed.kubesim) else {
        return installed.shutdown().await;
    };
    for row in rows() {
        let created = kubectl.run(&["create", "-f", "-"], &row.input).await;
        assert_eq!(created.code, 1, "{}: {}", row.kind, created.stdout);
        assert_eq!(created.stderr, row.kubectl, "{}", row.kind);
    }
    installed.shutdown().await;
}
