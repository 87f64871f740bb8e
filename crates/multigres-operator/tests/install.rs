//! The install manifests and the Helm chart: the committed files under `config/install/` and
//! `charts/multigres-operator/` are exactly what the code generates (so a change to the objects
//! cannot ship without them), each object is a valid object of its kind, the variants differ
//! only where their overlay says, and the chart renders the default manifest with the real helm
//! (scripts/install-helm.sh installs it where missing; without it the comparison is skipped with
//! a note on standard error, and fails under CI).
//!
//! `UPDATE_MANIFESTS=1 cargo test -p multigres-operator --test install` rewrites the files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

mod support;

use clap::Parser;
use multigres_operator::cli::Cli;
use multigres_operator::install::helm::chart_files;
use multigres_operator::install::{InstallSettings, Variant, install_objects, install_yaml};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::helm::Helm;

const UPDATE_HINT: &str = "run `UPDATE_MANIFESTS=1 cargo test -p multigres-operator --test \
                           install` to regenerate config/install and charts/multigres-operator";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_MANIFESTS").is_some_and(|value| value == "1")
}

/// Compares (or, when updating, writes) one generated file.
fn check_file(path: &Path, generated: &str) -> Result<(), String> {
    if updating() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|err| err.to_string())?;
        }
        std::fs::write(path, generated).map_err(|err| format!("{}: {err}", path.display()))?;
    }
    let committed = std::fs::read_to_string(path)
        .map_err(|err| format!("reading {}: {err}; {UPDATE_HINT}", path.display()))?;
    assert!(
        committed == generated,
        "{} differs from the generated file; {UPDATE_HINT}",
        path.display()
    );
    Ok(())
}

fn files_under(dir: &Path) -> Result<BTreeSet<String>, String> {
    let mut files = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).map_err(|err| err.to_string())? {
            let path = entry.map_err(|err| err.to_string())?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).map_err(|err| err.to_string())?;
                files.insert(relative.to_string_lossy().into_owned());
            }
        }
    }
    Ok(files)
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple(yaml).expect("the manifest is valid YAML")
}

/// The objects of `variant` after the CRDs, read back from their YAML (the CRDs are the same in
/// every variant and slow to parse in a debug build; `tests/crds.rs` checks them).
fn operator_documents(variant: Variant) -> Vec<Value> {
    let yaml: String = install_objects(variant, &InstallSettings::default())
        .expect("builds")
        .iter()
        .map(|object| object.to_yaml().expect("renders"))
        .collect();
    documents(&yaml)
}

fn run_cli(args: &[&str]) -> Result<String, String> {
    let cli = Cli::try_parse_from(args).map_err(|err| err.to_string())?;
    let mut out = Vec::new();
    cli.run(&mut out).map_err(|err| format!("{err:#}"))?;
    String::from_utf8(out).map_err(|err| err.to_string())
}

#[test]
fn committed_manifests_match_the_generated_ones() -> Result<(), String> {
    let dir = repo_root().join("config/install");
    let mut expected = BTreeSet::new();
    for variant in Variant::ALL {
        let name = format!("{}.yaml", variant.name());
        let generated = install_yaml(variant).map_err(|err| err.to_string())?;
        check_file(&dir.join(&name), &generated)?;
        if variant == Variant::NoWebhook {
            // The CLI prints the same text.
            assert_eq!(
                run_cli(&["multigres-operator", "manifests", "--variant", "no-webhook"])?,
                generated
            );
        }
        expected.insert(name);
    }
    assert_eq!(
        files_under(&dir)?,
        expected,
        "stale files in config/install"
    );
    Ok(())
}

#[test]
fn the_default_variant_is_the_default() -> Result<(), String> {
    assert_eq!(
        run_cli(&["multigres-operator", "manifests"])?,
        install_yaml(Variant::Default).map_err(|err| err.to_string())?
    );
    Ok(())
}

#[test]
fn committed_chart_matches_the_generated_one() -> Result<(), String> {
    let dir = repo_root().join("charts/multigres-operator");
    let files = chart_files().map_err(|err| err.to_string())?;
    for file in &files {
        check_file(&dir.join(&file.path), &file.text)?;
    }
    let expected: BTreeSet<String> = files.into_iter().map(|file| file.path).collect();
    assert_eq!(files_under(&dir)?, expected, "stale files in the chart");
    Ok(())
}

/// Round-trips `value` through the typed object of its kind: a misspelt or misplaced field is
/// dropped by the typed model and the comparison fails.
fn assert_well_formed(value: &Value) {
    fn through<T: serde::de::DeserializeOwned + serde::Serialize>(value: &Value) -> Value {
        let typed: T = serde_json::from_value(value.clone()).expect("deserializes as its kind");
        serde_json::to_value(typed).expect("serializes")
    }
    use k8s_openapi::api::{
        admissionregistration::v1 as admission, apps::v1 as apps, core::v1 as core,
        rbac::v1 as rbac,
    };
    let round_tripped = match value["kind"].as_str().unwrap_or_default() {
        "CustomResourceDefinition" => through::<
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        >(value),
        "Namespace" => through::<core::Namespace>(value),
        "ServiceAccount" => through::<core::ServiceAccount>(value),
        "Service" => through::<core::Service>(value),
        "Role" => through::<rbac::Role>(value),
        "ClusterRole" => through::<rbac::ClusterRole>(value),
        "RoleBinding" => through::<rbac::RoleBinding>(value),
        "ClusterRoleBinding" => through::<rbac::ClusterRoleBinding>(value),
        "Deployment" => through::<apps::Deployment>(value),
        "MutatingWebhookConfiguration" => through::<admission::MutatingWebhookConfiguration>(value),
        "ValidatingWebhookConfiguration" => {
            through::<admission::ValidatingWebhookConfiguration>(value)
        }
        // cert-manager's kinds have no typed model here; their fields are checked below.
        "Issuer" | "Certificate" => value.clone(),
        other => unknown_kind(other),
    };
    assert_eq!(&round_tripped, value);
}

fn unknown_kind(kind: &str) -> Value {
    assert_eq!(
        kind, "a kind this test knows",
        "unexpected kind in the manifest"
    );
    Value::Null
}

#[test]
fn every_object_is_a_well_formed_object_of_its_kind() {
    // The whole default manifest, CRDs included, is one valid YAML stream.
    let default = documents(&install_yaml(Variant::Default).expect("renders"));
    assert_eq!(default[8..], operator_documents(Variant::Default)[..]);
    for variant in Variant::ALL {
        let parsed = operator_documents(variant);
        for document in &parsed {
            assert_well_formed(document);
        }
        // The comments on RBAC rules change nothing: the YAML reads back as the objects.
        let objects: Vec<Value> = install_objects(variant, &InstallSettings::default())
            .expect("builds")
            .iter()
            .map(|object| object.to_value().expect("converts"))
            .collect();
        assert_eq!(parsed, objects);
    }
    for document in &default[..8] {
        assert_well_formed(document);
    }
}

fn find<'a>(documents: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    documents
        .iter()
        .find(|document| document["kind"] == kind && document["metadata"]["name"] == name)
}

/// An object's kind and name.
type KindName = (String, String);

fn kinds_and_names(documents: &[Value]) -> Vec<KindName> {
    documents
        .iter()
        .filter(|document| document["kind"] != "CustomResourceDefinition")
        .map(|document| {
            (
                document["kind"].as_str().unwrap_or_default().to_owned(),
                document["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_default_manifest_holds_the_go_operators_objects_in_apply_order() {
    let default = operator_documents(Variant::Default);
    let pairs = |items: &[(&str, &str)]| -> Vec<(String, String)> {
        items
            .iter()
            .map(|(kind, name)| ((*kind).to_owned(), (*name).to_owned()))
            .collect()
    };
    assert_eq!(
        kinds_and_names(&default),
        pairs(&[
            ("Namespace", "multigres-operator"),
            ("ServiceAccount", "multigres-operator-controller-manager"),
            ("Role", "multigres-operator-leader-election-role"),
            ("ClusterRole", "multigres-operator-manager-role"),
            ("ClusterRole", "multigres-operator-metrics-auth-role"),
            ("ClusterRole", "multigres-operator-metrics-reader"),
            (
                "RoleBinding",
                "multigres-operator-leader-election-rolebinding"
            ),
            (
                "ClusterRoleBinding",
                "multigres-operator-manager-rolebinding"
            ),
            (
                "ClusterRoleBinding",
                "multigres-operator-metrics-auth-rolebinding"
            ),
            (
                "Service",
                "multigres-operator-controller-manager-metrics-service"
            ),
            ("Service", "multigres-operator-webhook-service"),
            ("Deployment", "multigres-operator-controller-manager"),
            (
                "MutatingWebhookConfiguration",
                "multigres-operator-mutating-webhook-configuration"
            ),
            (
                "ValidatingWebhookConfiguration",
                "multigres-operator-validating-webhook-configuration"
            ),
        ])
    );

    let deployment = find(
        &default,
        "Deployment",
        "multigres-operator-controller-manager",
    )
    .expect("the Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["command"], json!(["multigres-operator", "run"]));
    assert_eq!(
        container["args"],
        json!([
            "--metrics-bind-address=:8443",
            "--leader-elect",
            "--health-probe-bind-address=:8081"
        ])
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(
        pod["volumes"][0]["secret"],
        json!({"secretName": "multigres-webhook-certs", "defaultMode": 420, "optional": true})
    );
    // The Services select the operator's pods and reach its ports.
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (service, port, target) in [
        (
            "multigres-operator-controller-manager-metrics-service",
            8443,
            8443,
        ),
        ("multigres-operator-webhook-service", 443, 9443),
    ] {
        let service = find(&default, "Service", service).expect("the Service");
        assert_eq!(&service["spec"]["selector"], pod_labels);
        assert_eq!(service["spec"]["ports"][0]["port"], port);
        assert_eq!(service["spec"]["ports"][0]["targetPort"], target);
        let container_ports: Vec<&Value> = container["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .map(|port| &port["containerPort"])
            .collect();
        assert!(container_ports.contains(&&json!(target)), "{service}");
    }
    // Every binding names the operator's ServiceAccount in its namespace.
    for document in &default {
        if let Some(subjects) = document.get("subjects") {
            assert_eq!(
                subjects,
                &json!([{
                    "kind": "ServiceAccount",
                    "name": "multigres-operator-controller-manager",
                    "namespace": "multigres-operator",
                }])
            );
        }
    }
}

/// The objects of `variant` with the default's removed or changed ones, as (kind, name).
fn differences(variant: Variant) -> (Vec<KindName>, Vec<KindName>) {
    let default = operator_documents(Variant::Default);
    let other = operator_documents(variant);
    let changed_or_added = other
        .iter()
        .filter(|document| !default.contains(document))
        .flat_map(|document| kinds_and_names(std::slice::from_ref(document)))
        .collect();
    let removed = default
        .iter()
        .filter(|document| {
            find(
                &other,
                document["kind"].as_str().unwrap_or_default(),
                document["metadata"]["name"].as_str().unwrap_or_default(),
            )
            .is_none()
        })
        .flat_map(|document| kinds_and_names(std::slice::from_ref(document)))
        .collect();
    (changed_or_added, removed)
}

#[test]
fn each_overlay_changes_only_what_it_is_for() {
    let pair = |kind: &str, name: &str| (kind.to_owned(), name.to_owned());
    let deployment = pair("Deployment", "multigres-operator-controller-manager");
    let mutating = pair(
        "MutatingWebhookConfiguration",
        "multigres-operator-mutating-webhook-configuration",
    );
    let validating = pair(
        "ValidatingWebhookConfiguration",
        "multigres-operator-validating-webhook-configuration",
    );
    let service = pair("Service", "multigres-operator-webhook-service");

    assert_eq!(
        differences(Variant::Observability),
        (vec![deployment.clone()], vec![])
    );
    assert_eq!(
        differences(Variant::NoWebhook),
        (
            vec![deployment.clone()],
            vec![service, mutating.clone(), validating.clone()]
        )
    );
    assert_eq!(
        differences(Variant::CertManager),
        (
            vec![
                pair("Issuer", "multigres-operator-selfsigned-issuer"),
                pair("Certificate", "multigres-operator-serving-cert"),
                deployment,
                mutating,
                validating,
            ],
            vec![]
        )
    );

    let container = |variant: Variant| {
        let parsed = operator_documents(variant);
        find(
            &parsed,
            "Deployment",
            "multigres-operator-controller-manager",
        )
        .expect("the Deployment")["spec"]["template"]["spec"]
            .clone()
    };
    let no_webhook = container(Variant::NoWebhook);
    assert_eq!(
        no_webhook["containers"][0]["args"][3],
        "--webhook-enable=false"
    );
    assert_eq!(no_webhook.get("volumes"), None);
    let observability = container(Variant::Observability);
    let env: Vec<&str> = observability["containers"][0]["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|var| var["value"].as_str())
        .collect();
    assert_eq!(env[0], "http://otel-collector.multigres-operator.svc:4318");
    let cert_manager = operator_documents(Variant::CertManager);
    let pod = &find(
        &cert_manager,
        "Deployment",
        "multigres-operator-controller-manager",
    )
    .expect("the Deployment")["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"][0]["secret"]["secretName"],
        "webhook-server-cert"
    );
    let certificate = find(
        &cert_manager,
        "Certificate",
        "multigres-operator-serving-cert",
    )
    .expect("the Certificate");
    assert_eq!(certificate["spec"]["secretName"], "webhook-server-cert");
    // The self-managed PKI's key type, and a new key at each renewal.
    assert_eq!(
        certificate["spec"]["privateKey"],
        json!({"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"})
    );
    for kind in [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ] {
        let configuration = cert_manager
            .iter()
            .find(|document| document["kind"] == kind)
            .expect("the configuration");
        assert_eq!(
            configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            "multigres-operator/multigres-operator-serving-cert"
        );
    }
}

/// `helm template` of the chart equals the default manifest without its Namespace.
#[test]
fn the_helm_chart_renders_the_default_manifest() -> Result<(), String> {
    let Some(helm) = Helm::new("the_helm_chart_renders_the_default_manifest", None) else {
        return Ok(());
    };
    let chart = repo_root().join("charts/multigres-operator");
    let output = helm
        .command(&[
            "template",
            "multigres-operator",
            &chart.display().to_string(),
            "--namespace",
            "multigres-operator",
            "--include-crds",
        ])
        .output()
        .map_err(|err| err.to_string())?;
    assert!(
        output.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rendered = documents(&String::from_utf8_lossy(&output.stdout));
    let sort = |mut documents: Vec<Value>| {
        documents.sort_by_key(|document| {
            (
                document["kind"].to_string(),
                document["metadata"]["name"].to_string(),
            )
        });
        documents
    };
    let expected: Vec<Value> = documents(&install_yaml(Variant::Default).expect("renders"))
        .into_iter()
        .filter(|document| document["kind"] != "Namespace")
        .collect();
    assert_eq!(sort(rendered), sort(expected));
    Ok(())
}

/// The image recipe runs the binary the Deployment's command names, as the non-root user the
/// pod's `runAsNonRoot` requires, from a static base.
#[test]
fn the_containerfile_builds_a_static_non_root_image_of_the_deployments_command() {
    let recipe = std::fs::read_to_string(repo_root().join("Containerfile")).expect("Containerfile");
    let instructions: Vec<&str> = recipe
        .lines()
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .filter(|line| !line.starts_with(' '))
        .collect();
    let stages: Vec<&&str> = instructions
        .iter()
        .filter(|line| line.starts_with("FROM "))
        .collect();
    assert_eq!(stages.len(), 2, "a build stage and a runtime stage");
    assert!(
        stages[1].starts_with("FROM gcr.io/distroless/static"),
        "{}",
        stages[1]
    );
    assert!(
        recipe.contains("-unknown-linux-musl"),
        "a static musl build"
    );
    let runtime: Vec<&str> = instructions
        .iter()
        .skip_while(|line| !line.starts_with("FROM gcr.io/distroless"))
        .copied()
        .collect();
    assert_eq!(
        runtime[1..],
        [
            "COPY --from=build /multigres-operator /usr/local/bin/multigres-operator",
            "USER 65532:65532",
            "ENTRYPOINT [\"/usr/local/bin/multigres-operator\"]",
            "CMD [\"run\"]",
        ]
    );
    // The Deployment's command is found on distroless' PATH (/usr/local/bin comes first).
    let deployment = operator_documents(Variant::Default)
        .into_iter()
        .find(|document| document["kind"] == "Deployment")
        .expect("the Deployment");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["command"],
        json!(["multigres-operator", "run"])
    );
}
