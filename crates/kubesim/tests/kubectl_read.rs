//! kubectl scenarios, reads (rust-ecosystem.md §3.2): `get` as server-rendered tables (built-in
//! printers and CRD printer columns), `-o yaml`, `-o jsonpath`, `-w`, `explain`, `describe`
//! with events, `api-resources` (a CRD appearing and disappearing) and `version`.

#[path = "support/kubectl.rs"]
mod kubectl;
mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Event};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kubectl::{Kubectl, Output, mask_ages, rows, table};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn ok(output: &Output) -> &str {
    assert_eq!(output.code, 0, "kubectl failed: {}", output.stderr);
    &output.stdout
}

async fn start() -> Option<(kubesim::Handle, Kubectl)> {
    let server = kubesim::Server::builder()
        .start()
        .await
        .expect("kubesim starts");
    let kubectl = Kubectl::new(&server)?;
    Some((server, kubectl))
}

const WIDGET_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.kubectl.test
spec:
  group: kubectl.test
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Ready, type: string, jsonPath: ".status.conditions[?(@.type=='Ready')].status"}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: A widget for kubectl scenarios.
        properties:
          spec:
            type: object
            description: What the widget should be.
            properties:
              size: {type: integer, description: How big the widget is.}
          status:
            type: object
            properties:
              conditions:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [type]
                items:
                  type: object
                  required: [type]
                  properties:
                    type: {type: string}
                    status: {type: string}
"#;

async fn install_widgets(kubectl: &Kubectl) {
    let created = kubectl
        .run_with_stdin(&["apply", "-f", "-"], WIDGET_CRD)
        .await;
    assert_eq!(
        ok(&created),
        "customresourcedefinition.apiextensions.k8s.io/widgets.kubectl.test created\n"
    );
    let established = kubectl
        .run(&[
            "wait",
            "--for=condition=Established",
            "crd/widgets.kubectl.test",
            "--timeout=30s",
        ])
        .await;
    assert_eq!(
        ok(&established),
        "customresourcedefinition.apiextensions.k8s.io/widgets.kubectl.test condition met\n"
    );
}

#[tokio::test]
async fn get_prints_the_servers_tables_yaml_and_jsonpath() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for (name, entries) in [("alpha", 1), ("beta", 3)] {
        let data: serde_json::Map<String, Value> = (0..entries)
            .map(|i| (format!("k{i}"), json!("v")))
            .collect();
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": name, "labels": {"set": name}}, "data": data}),
        )
        .expect("valid ConfigMap");
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("created");
    }
    let listed = kubectl.run(&["get", "configmaps", "--show-labels"]).await;
    assert_eq!(
        mask_ages(table(ok(&listed)), "AGE"),
        rows(&[
            &["NAME", "DATA", "AGE", "LABELS"],
            &["alpha", "1", "<age>", "set=alpha"],
            &["beta", "3", "<age>", "set=beta"],
            // Published in every namespace, as kube-controller-manager does.
            &["kube-root-ca.crt", "1", "<age>", "<none>"],
        ])
    );
    let namespaces = kubectl.run(&["get", "ns"]).await;
    assert_eq!(
        mask_ages(table(ok(&namespaces)), "AGE"),
        rows(&[
            &["NAME", "STATUS", "AGE"],
            &["default", "Active", "<age>"],
            &["kube-node-lease", "Active", "<age>"],
            &["kube-public", "Active", "<age>"],
            &["kube-system", "Active", "<age>"],
        ])
    );
    let services = kubectl.run(&["get", "svc", "-A"]).await;
    assert_eq!(
        mask_ages(table(ok(&services)), "AGE"),
        rows(&[
            &[
                "NAMESPACE",
                "NAME",
                "TYPE",
                "CLUSTER-IP",
                "EXTERNAL-IP",
                "PORT(S)",
                "AGE"
            ],
            &[
                "default",
                "kubernetes",
                "ClusterIP",
                "10.96.0.1",
                "<none>",
                "443/TCP",
                "<age>"
            ],
        ])
    );

    install_widgets(&kubectl).await;
    let widget =
        "apiVersion: kubectl.test/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n";
    ok(&kubectl.run_with_stdin(&["apply", "-f", "-"], widget).await);
    let widgets = kubectl.run(&["get", "wd"]).await;
    assert_eq!(
        mask_ages(table(ok(&widgets)), "AGE"),
        rows(&[&["NAME", "SIZE", "READY", "AGE"], &["w1", "3", "", "<age>"]])
    );

    let yaml = kubectl
        .run(&["get", "configmap", "alpha", "-o", "yaml"])
        .await;
    let object: Value = serde_saphyr::from_str(ok(&yaml)).expect("kubectl prints YAML");
    assert_eq!(object["apiVersion"], "v1");
    assert_eq!(object["kind"], "ConfigMap");
    assert_eq!(object["data"], json!({"k0": "v"}));
    assert_eq!(object["metadata"]["name"], "alpha");
    assert_eq!(object["metadata"]["namespace"], "default");
    let jsonpath = kubectl
        .run(&[
            "get",
            "configmaps",
            "-o",
            r#"jsonpath={range .items[*]}{.metadata.name}:{.metadata.labels.set}{"\n"}{end}"#,
        ])
        .await;
    assert_eq!(ok(&jsonpath), "alpha:alpha\nbeta:beta\nkube-root-ca.crt:\n");
    server.shutdown().await;
}

#[tokio::test]
async fn get_watch_prints_rows_as_they_change() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let first: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "first"}, "data": {"a": "1"}}))
            .expect("valid ConfigMap");
    cms.create(&PostParams::default(), &first)
        .await
        .expect("created");
    let mut watch = kubectl.spawn(&["get", "configmaps", "-w", "--request-timeout=60s"]);
    let deadline = Duration::from_secs(30);
    let header = watch.line(deadline).await;
    let starts = kubectl::column_starts(&header);
    assert_eq!(
        kubectl::cells(&header, &starts),
        vec!["NAME", "DATA", "AGE"]
    );
    let row = |line: &str| {
        let mut cells = kubectl::cells(line, &starts);
        assert!(kubectl::is_age(&cells[2]), "{line}");
        cells[2] = "<age>".into();
        cells
    };
    assert_eq!(
        row(&watch.line(deadline).await),
        vec!["first", "1", "<age>"]
    );
    assert_eq!(
        row(&watch.line(deadline).await),
        vec!["kube-root-ca.crt", "1", "<age>"]
    );
    cms.patch(
        "first",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"b": "2"}})),
    )
    .await
    .expect("patched");
    assert_eq!(
        row(&watch.line(deadline).await),
        vec!["first", "2", "<age>"]
    );
    let second: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "second"}})).expect("valid ConfigMap");
    cms.create(&PostParams::default(), &second)
        .await
        .expect("created");
    assert_eq!(
        row(&watch.line(deadline).await),
        vec!["second", "0", "<age>"]
    );
    watch.stop().await;

    // A watch that times out ends kubectl without an error.
    let short = kubectl
        .run(&["get", "configmaps", "-w", "--request-timeout=2s"])
        .await;
    assert_eq!(short.code, 0, "{}", short.stderr);
    server.shutdown().await;
}

#[tokio::test]
async fn explain_reads_descriptions_of_built_ins_and_crds() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    let data = kubectl.run(&["explain", "configmap.data"]).await;
    assert_eq!(
        ok(&data),
        "KIND:       ConfigMap
VERSION:    v1

FIELD: data <map[string]string>


DESCRIPTION:
    Data contains the configuration data. Each key must consist of alphanumeric
    characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use
    the BinaryData field. The keys stored in Data must not overlap with the keys
    in the BinaryData field, this is enforced during validation process.
    

"
    );
    install_widgets(&kubectl).await;
    let spec = kubectl.run(&["explain", "widget.spec"]).await;
    assert_eq!(
        ok(&spec),
        "GROUP:      kubectl.test
KIND:       Widget
VERSION:    v1

FIELD: spec <Object>


DESCRIPTION:
    What the widget should be.
    
FIELDS:
  size\t<integer>
    How big the widget is.


"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn describe_shows_the_object_and_its_events() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "described", "labels": {"app": "db"}},
        "data": {"mode": "fast"},
    }))
    .expect("valid ConfigMap");
    let created = cms
        .create(&PostParams::default(), &cm)
        .await
        .expect("created");
    let events: Api<Event> = Api::namespaced(server.client(), "default");
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let event: Event = serde_json::from_value(json!({
        "metadata": {"name": "described.1"},
        "involvedObject": {"kind": "ConfigMap", "namespace": "default", "name": "described",
                           "uid": created.metadata.uid, "apiVersion": "v1"},
        "reason": "Checked", "message": "configuration looks fine", "type": "Normal",
        "source": {"component": "kubesim-test"},
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    }))
    .expect("valid Event");
    events
        .create(&PostParams::default(), &event)
        .await
        .expect("created");
    let described = kubectl.run(&["describe", "configmap", "described"]).await;
    let text = ok(&described);
    let (head, events_part) = text
        .split_once("Events:\n")
        .expect("describe prints an Events section");
    assert_eq!(
        head,
        "Name:         described
Namespace:    default
Labels:       app=db
Annotations:  <none>

Data
====
mode:
----
fast


BinaryData
====

"
    );
    let lines: Vec<&str> = events_part.lines().collect();
    // The section is indented by two spaces: the first "column" is that indent.
    let starts = kubectl::column_starts(lines[0]);
    let header = kubectl::cells(lines[0], &starts);
    assert_eq!(header, vec!["", "Type", "Reason", "Age", "From", "Message"]);
    let mut row = kubectl::cells(lines[2], &starts).split_off(1);
    assert!(kubectl::is_age(&row[2]), "{row:?}");
    row[2] = "<age>".into();
    assert_eq!(
        row,
        vec![
            "Normal",
            "Checked",
            "<age>",
            "kubesim-test",
            "configuration looks fine"
        ]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn api_resources_follow_crds_and_version_reports_minor_33() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    let apps = kubectl.run(&["api-resources", "--api-group=apps"]).await;
    assert_eq!(
        table(ok(&apps)),
        rows(&[
            &["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
            &["deployments", "deploy", "apps/v1", "true", "Deployment"],
            &["replicasets", "rs", "apps/v1", "true", "ReplicaSet"],
            &["statefulsets", "sts", "apps/v1", "true", "StatefulSet"],
        ])
    );
    install_widgets(&kubectl).await;
    let widgets = kubectl
        .run(&["api-resources", "--api-group=kubectl.test"])
        .await;
    assert_eq!(
        table(ok(&widgets)),
        rows(&[
            &["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
            &["widgets", "wd", "kubectl.test/v1", "true", "Widget"],
        ])
    );
    let deleted = kubectl
        .run(&["delete", "crd", "widgets.kubectl.test"])
        .await;
    assert_eq!(
        ok(&deleted),
        "customresourcedefinition.apiextensions.k8s.io \"widgets.kubectl.test\" deleted\n"
    );
    let gone = kubectl
        .run(&["api-resources", "--api-group=kubectl.test"])
        .await;
    assert_eq!(
        ok(&gone),
        "NAME   SHORTNAMES   APIVERSION   NAMESPACED   KIND\n"
    );
    let version = kubectl.run(&["version", "-o", "json"]).await;
    let version: Value = serde_json::from_str(ok(&version)).expect("JSON");
    assert_eq!(version["serverVersion"]["minor"], "33");
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.33.0-kubesim");
    server.shutdown().await;
}
