//! kubectl scenarios, lifecycle (rust-ecosystem.md §3.2): `wait --for=condition` and
//! `--for=delete`, deleting an object held by a finalizer, and what kubectl shows when
//! admission webhooks warn, deny or time out.

#[path = "support/kubectl.rs"]
mod kubectl;
mod support;
#[path = "support/webhook.rs"]
mod webhook;

use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kubectl::{Kubectl, Output};
use pretty_assertions::assert_eq;
use serde_json::json;
use webhook::{WebhookServer, configmap_webhook};

const DEADLINE: Duration = Duration::from_secs(30);

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

const JOB_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: tasks.kubectl.test
spec:
  group: kubectl.test
  names: {plural: tasks, singular: task, kind: Task}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status:
            type: object
            properties:
              conditions:
                type: array
                items:
                  type: object
                  properties:
                    type: {type: string}
                    status: {type: string}
"#;

#[tokio::test]
async fn wait_for_a_condition_set_after_waiting_started() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    ok(&kubectl.run_with_stdin(&["apply", "-f", "-"], JOB_CRD).await);
    ok(&kubectl
        .run(&[
            "wait",
            "--for=condition=Established",
            "crd/tasks.kubectl.test",
            "--timeout=30s",
        ])
        .await);
    let task = "apiVersion: kubectl.test/v1\nkind: Task\nmetadata:\n  name: build\nspec: {}\n";
    assert_eq!(
        ok(&kubectl.run_with_stdin(&["apply", "-f", "-"], task).await),
        "task.kubectl.test/build created\n"
    );
    let watches = server.requests().count("watch", "tasks.kubectl.test");
    let mut wait = kubectl.spawn(&[
        "wait",
        "--for=condition=Done",
        "task/build",
        "--timeout=30s",
    ]);
    support::eventually("kubectl watches the task", DEADLINE, || async {
        (server.requests().count("watch", "tasks.kubectl.test") > watches).then_some(())
    })
    .await;
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kubectl.test", "v1", "Task"),
        "tasks",
    );
    let tasks: Api<DynamicObject> = Api::namespaced_with(server.client(), "default", &resource);
    tasks
        .patch_status(
            "build",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [{"type": "Done", "status": "True"}]}})),
        )
        .await
        .expect("status patched");
    assert_eq!(
        wait.line(DEADLINE).await,
        "task.kubectl.test/build condition met"
    );
    assert_eq!(wait.finish(DEADLINE).await, (0, String::new()));

    let timed_out = kubectl
        .run(&[
            "wait",
            "--for=condition=Missing",
            "task/build",
            "--timeout=1s",
        ])
        .await;
    assert_eq!(timed_out.code, 1);
    assert_eq!(
        timed_out.stderr,
        "error: timed out waiting for the condition on tasks/build\n"
    );
    server.shutdown().await;
}

async fn held_configmap(server: &kubesim::Handle, name: &str) -> Api<ConfigMap> {
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": name, "finalizers": ["kubectl.test/hold"]},
    }))
    .expect("valid ConfigMap");
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("created");
    cms
}

async fn release(cms: &Api<ConfigMap>, name: &str) {
    cms.patch(
        name,
        &PatchParams::default(),
        &Patch::Json::<()>(
            serde_json::from_value(json!([{"op": "remove", "path": "/metadata/finalizers"}]))
                .expect("valid JSON patch"),
        ),
    )
    .await
    .expect("finalizer removed");
}

#[tokio::test]
async fn delete_waits_for_finalizers_and_wait_for_delete_sees_it_go() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    let cms = held_configmap(&server, "held").await;
    let mut delete = kubectl.spawn(&["delete", "configmap", "held", "--timeout=30s"]);
    assert_eq!(delete.line(DEADLINE).await, "configmap \"held\" deleted");
    // kubectl keeps waiting while the finalizer holds the object.
    let marked = cms.get("held").await.expect("still there");
    assert!(marked.metadata.deletion_timestamp.is_some());
    release(&cms, "held").await;
    assert_eq!(delete.finish(DEADLINE).await, (0, String::new()));
    assert_eq!(cms.get_opt("held").await.expect("readable"), None);

    let cms = held_configmap(&server, "second").await;
    let no_wait = kubectl
        .run(&["delete", "configmap", "second", "--wait=false"])
        .await;
    assert_eq!(ok(&no_wait), "configmap \"second\" deleted\n");
    let watches = server.requests().count("watch", "configmaps");
    let mut wait = kubectl.spawn(&["wait", "--for=delete", "configmap/second", "--timeout=30s"]);
    // Release the object only once kubectl watches it (a missing object is not "deleted").
    support::eventually("kubectl watches the configmap", DEADLINE, || async {
        (server.requests().count("watch", "configmaps") > watches).then_some(())
    })
    .await;
    release(&cms, "second").await;
    assert_eq!(wait.line(DEADLINE).await, "configmap/second condition met");
    assert_eq!(wait.finish(DEADLINE).await, (0, String::new()));
    server.shutdown().await;
}

#[tokio::test]
async fn webhook_warnings_denials_and_timeouts_as_kubectl_shows_them() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    let hook = WebhookServer::start().await;
    server.register_service_address(webhook::NAMESPACE, webhook::SERVICE, 443, hook.address);
    let services: Api<Service> = Api::namespaced(server.client(), webhook::NAMESPACE);
    let service: Service = serde_json::from_value(json!({
        "metadata": {"name": webhook::SERVICE}, "spec": {"ports": [{"port": 443}]},
    }))
    .expect("valid Service");
    services
        .create(&PostParams::default(), &service)
        .await
        .expect("created");
    let mut slow = configmap_webhook(&hook, "slow.kubesim.test", "/hang", &["CREATE"], "Fail", 1);
    slow["objectSelector"] = json!({"matchLabels": {"admission": "slow"}});
    let config: ValidatingWebhookConfiguration = serde_json::from_value(json!({
        "metadata": {"name": "checks"},
        "webhooks": [
            configmap_webhook(&hook, "validate.kubesim.test", "/validate", &["CREATE", "UPDATE"], "Fail", 10),
            slow,
        ],
    }))
    .expect("valid configuration");
    let configs: Api<ValidatingWebhookConfiguration> = Api::all(server.client());
    configs
        .create(&PostParams::default(), &config)
        .await
        .expect("created");

    let allowed = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n  labels: {admission: \"on\"}\ndata: {a: \"1\"}\n";
    let created = kubectl.run_with_stdin(&["apply", "-f", "-"], allowed).await;
    assert_eq!(ok(&created), "configmap/fine created\n");
    assert_eq!(
        created.stderr,
        "Warning: validated by the kubesim test webhook\n"
    );

    let denied = allowed
        .replace("name: fine", "name: bad")
        .replace("a: \"1\"", "forbidden: \"1\"");
    let refused = kubectl.run_with_stdin(&["apply", "-f", "-"], &denied).await;
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr,
        "Error from server (Forbidden): error when creating \"STDIN\": admission webhook \"validate.kubesim.test\" denied the request: key \"forbidden\" is not allowed\n"
    );

    let hanging = allowed
        .replace("name: fine", "name: slow")
        .replace("admission: \"on\"", "admission: slow");
    let timed_out = kubectl
        .run_with_stdin(&["create", "-f", "-"], &hanging)
        .await;
    assert_eq!(timed_out.code, 1);
    assert_eq!(
        timed_out.stderr,
        "Error from server (InternalError): error when creating \"STDIN\": Internal error occurred: failed calling webhook \"slow.kubesim.test\": failed to call webhook: Post \"https://hook.default.svc:443/hang?timeout=1s\": context deadline exceeded\n"
    );
    server.shutdown().await;
    hook.shutdown();
}
