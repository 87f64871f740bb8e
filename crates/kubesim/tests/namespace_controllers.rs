//! What kube-controller-manager keeps in every namespace (issue 12): the `kube-root-ca.crt`
//! ConfigMap with the CA kubesim serves TLS with, and the `default` ServiceAccount; both in the
//! bootstrap namespaces and in each new one, re-created when deleted, the CA put back when
//! edited; deleting the namespace still removes them with the rest of its content.

#[path = "support/kubectl.rs"]
mod kubectl;
mod support;

use std::time::Duration;

use base64::Engine;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kubectl::{Kubectl, Output};
use pretty_assertions::assert_eq;
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(30);
const BOOTSTRAP_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

fn ok(output: &Output) -> &str {
    assert_eq!(output.code, 0, "kubectl failed: {}", output.stderr);
    &output.stdout
}

async fn root_ca(client: &kube::Client, namespace: &str) -> Option<String> {
    Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .get_opt("kube-root-ca.crt")
        .await
        .expect("readable")?
        .data?
        .get("ca.crt")
        .cloned()
}

#[tokio::test]
async fn kubectl_finds_the_root_ca_and_default_service_account_in_a_new_namespace() {
    let server = support::start().await;
    let Some(kubectl) = Kubectl::new(&server) else {
        return server.shutdown().await;
    };
    let ca = server.ca_pem().to_string();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    // The bootstrap namespaces have both from the start.
    for namespace in BOOTSTRAP_NAMESPACES {
        assert_eq!(
            root_ca(&server.client(), namespace).await.as_deref(),
            Some(ca.as_str()),
            "{namespace}"
        );
        ok(&kubectl
            .run(&["get", "serviceaccount", "default", "-n", namespace])
            .await);
    }

    assert_eq!(
        ok(&kubectl.run(&["create", "namespace", "x"]).await),
        "namespace/x created\n"
    );
    // The controllers act on the watch event of the create, as in a cluster: soon after.
    let published = support::eventually("kube-root-ca.crt in x", DEADLINE, || async {
        let output = kubectl
            .run(&[
                "get",
                "configmap",
                "kube-root-ca.crt",
                "-n",
                "x",
                "-o",
                r"jsonpath={.data.ca\.crt}",
            ])
            .await;
        (output.code == 0).then_some(output.stdout)
    })
    .await;
    assert_eq!(published, ca);
    let account = support::eventually("the default ServiceAccount in x", DEADLINE, || async {
        let output = kubectl
            .run(&["get", "sa", "default", "-n", "x", "-o", "name"])
            .await;
        (output.code == 0).then_some(output.stdout)
    })
    .await;
    assert_eq!(account, "serviceaccount/default\n");
    let described = ok(&kubectl
        .run(&[
            "get",
            "configmap",
            "kube-root-ca.crt",
            "-n",
            "x",
            "-o",
            "jsonpath={.metadata.managedFields[0].manager}",
        ])
        .await)
    .to_string();
    assert_eq!(described, "kube-controller-manager");

    // Deleting the namespace removes them with the rest of its content, and nothing comes
    // back in the terminating namespace.
    ok(&kubectl
        .run(&[
            "-n",
            "x",
            "create",
            "configmap",
            "inner",
            "--from-literal=a=b",
        ])
        .await);
    assert_eq!(
        ok(&kubectl.run(&["delete", "namespace", "x"]).await),
        "namespace \"x\" deleted\n"
    );
    support::eventually("x and its content to be gone", DEADLINE, || async {
        let gone = |path: &'static str| {
            let server = &server;
            async move { support::raw(server, "GET", path, &[], "").await.status == 404 }
        };
        (gone("/api/v1/namespaces/x").await
            && gone("/api/v1/namespaces/x/configmaps/kube-root-ca.crt").await
            && gone("/api/v1/namespaces/x/configmaps/inner").await
            && gone("/api/v1/namespaces/x/serviceaccounts/default").await)
            .then_some(())
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn deleted_or_edited_objects_are_put_back() {
    let server = support::start().await;
    let client = server.client();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "team"}})).expect("valid"),
        )
        .await
        .expect("created");
    let ca = server.ca_pem().to_string();
    support::eventually("the root CA in team", DEADLINE, || async {
        (root_ca(&client, "team").await.as_deref() == Some(ca.as_str())).then_some(())
    })
    .await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    let first_uid = config_maps
        .get("kube-root-ca.crt")
        .await
        .expect("published")
        .metadata
        .uid;

    config_maps
        .patch(
            "kube-root-ca.crt",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"ca.crt": "not a CA", "other": "x"}})),
        )
        .await
        .expect("an edit");
    support::eventually("the CA to be put back", DEADLINE, || async {
        let data = config_maps.get("kube-root-ca.crt").await.ok()?.data?;
        (data.len() == 1 && data.get("ca.crt") == Some(&ca)).then_some(())
    })
    .await;

    config_maps
        .delete("kube-root-ca.crt", &DeleteParams::default())
        .await
        .expect("deleted");
    let recreated = support::eventually("the ConfigMap to be re-created", DEADLINE, || async {
        let object = config_maps.get_opt("kube-root-ca.crt").await.ok()??;
        (object.metadata.uid != first_uid).then_some(object)
    })
    .await;
    assert_eq!(
        recreated.data.and_then(|d| d.get("ca.crt").cloned()),
        Some(ca)
    );

    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "team");
    let account_uid = accounts.get("default").await.expect("created").metadata.uid;
    accounts
        .delete("default", &DeleteParams::default())
        .await
        .expect("deleted");
    support::eventually("the ServiceAccount to be re-created", DEADLINE, || async {
        let object = accounts.get_opt("default").await.ok()??;
        (object.metadata.uid != account_uid).then_some(())
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn over_tls_the_root_ca_is_the_one_in_the_kubeconfig() {
    let server = kubesim::Server::builder()
        .start()
        .await
        .expect("kubesim starts over TLS");
    let kubeconfig = std::fs::read_to_string(server.kubeconfig_path()).expect("a kubeconfig");
    let encoded = kubeconfig
        .lines()
        .find_map(|line| line.trim().strip_prefix("certificate-authority-data: "))
        .expect("the kubeconfig names the CA");
    let served = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64"),
    )
    .expect("PEM");
    assert_eq!(server.ca_pem(), served);
    // The client verifies the server with that CA: reading the ConfigMap proves both agree.
    assert_eq!(root_ca(&server.client(), "kube-public").await, Some(served));
    server.shutdown().await;
}
