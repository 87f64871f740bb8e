//! kubectl's imperative commands, which send protobuf bodies for built-in kinds (issue 12):
//! `create configmap|secret generic|deployment|namespace|service clusterip` and `delete
//! namespace` with content.

#[path = "support/kubectl.rs"]
mod kubectl;
mod support;

use std::time::Duration;

use kubectl::{Kubectl, Output};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::raw;

const DEADLINE: Duration = Duration::from_secs(30);
const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

fn ok(output: &Output) -> &str {
    assert_eq!(output.code, 0, "kubectl failed: {}", output.stderr);
    &output.stdout
}

async fn start() -> Option<(kubesim::Handle, Kubectl)> {
    let server = support::start().await;
    let kubectl = Kubectl::new(&server)?;
    Some((server, kubectl))
}

async fn get(server: &kubesim::Handle, path: &str) -> Value {
    let answer = raw(server, "GET", path, &[], "").await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.json()
}

/// Whether kubectl created `resource` with a protobuf body.
fn created_in_protobuf(server: &kubesim::Handle, resource: &str) -> bool {
    server.requests().count_matching(|e| {
        e.verb == "create" && e.resource == resource && e.content_type.as_deref() == Some(PROTOBUF)
    }) == 1
}

#[tokio::test]
async fn create_configmap_and_secret_generic() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    assert_eq!(
        ok(&kubectl
            .run(&[
                "create",
                "configmap",
                "settings",
                "--from-literal=mode=fast"
            ])
            .await),
        "configmap/settings created\n"
    );
    assert!(created_in_protobuf(&server, "configmaps"));
    let cm = get(&server, "/api/v1/namespaces/default/configmaps/settings").await;
    assert_eq!(cm["data"], json!({"mode": "fast"}));
    assert_eq!(
        ok(&kubectl
            .run(&[
                "create",
                "secret",
                "generic",
                "creds",
                "--from-literal=password=hunter2"
            ])
            .await),
        "secret/creds created\n"
    );
    assert!(created_in_protobuf(&server, "secrets"));
    let secret = get(&server, "/api/v1/namespaces/default/secrets/creds").await;
    assert_eq!(secret["data"], json!({"password": "aHVudGVyMg=="}));
    server.shutdown().await;
}

#[tokio::test]
async fn create_deployment_and_service_clusterip() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    assert_eq!(
        ok(&kubectl
            .run(&[
                "create",
                "deployment",
                "web",
                "--image=nginx:1.27",
                "--replicas=0",
                "--port=80"
            ])
            .await),
        "deployment.apps/web created\n"
    );
    assert!(created_in_protobuf(&server, "deployments"));
    let deployment = get(&server, "/apis/apps/v1/namespaces/default/deployments/web").await;
    assert_eq!(deployment["spec"]["replicas"], json!(0));
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"],
        json!([{"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                "resources": {}}])
    );
    assert_eq!(
        ok(&kubectl
            .run(&["create", "service", "clusterip", "web", "--tcp=80:8080"])
            .await),
        "service/web created\n"
    );
    assert!(created_in_protobuf(&server, "services"));
    let service = get(&server, "/api/v1/namespaces/default/services/web").await;
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}])
    );
    assert_eq!(service["spec"]["selector"], json!({"app": "web"}));
    server.shutdown().await;
}

#[tokio::test]
async fn create_and_delete_a_namespace_with_content() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    assert_eq!(
        ok(&kubectl.run(&["create", "namespace", "team-a"]).await),
        "namespace/team-a created\n"
    );
    assert!(created_in_protobuf(&server, "namespaces"));
    ok(&kubectl
        .run(&[
            "-n",
            "team-a",
            "create",
            "configmap",
            "inner",
            "--from-literal=a=b",
        ])
        .await);
    assert_eq!(
        ok(&kubectl.run(&["delete", "namespace", "team-a"]).await),
        "namespace \"team-a\" deleted\n"
    );
    support::eventually(
        "the namespace and its content are gone",
        DEADLINE,
        || async {
            let ns = raw(&server, "GET", "/api/v1/namespaces/team-a", &[], "").await;
            let cm = raw(
                &server,
                "GET",
                "/api/v1/namespaces/team-a/configmaps/inner",
                &[],
                "",
            )
            .await;
            (ns.status == 404 && cm.status == 404).then_some(())
        },
    )
    .await;
    server.shutdown().await;
}
