//! Read-only children by identity, end to end (issue 14, spec-api.md §12.2 step 5 and §12.6):
//! the operator runs with webhooks on and authenticates as its ServiceAccount with a token from
//! TokenRequest, the child-resource validating webhook is registered as the install manifest
//! registers it, and kubesim tells the webhook who each request comes from. `minimal` converges
//! (every child write the operator makes passes admission), an administrator's `kubectl patch`
//! of a Cell is refused with the Go operator's message, and the operator's revert of another
//! child passes.

mod support;
mod webhook_support;

use std::time::Duration;

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, ListParams, PostParams};
use multigres_api::v1alpha1::{Cell, MultigresCluster, Phase, TableGroup};
use multigres_operator::local::webhook::{wait_until_serving, webhook_address};
use multigres_operator::operator::{USER_AGENT, operator_client};
use multigres_operator::webhook::WebhookConfig;
use serde_json::json;
use support::cluster::{self as cluster_support, Cluster, eventually, run_options, spawn_operator};
use webhook_support::{Kubectl, NAMESPACE, SERVICE, SERVICE_ACCOUNT, register_webhooks};

/// The child kinds only the operator may write (the child-resource webhook's resources).
const CHILD_RESOURCES: [&str; 4] = [
    "cells.multigres.com",
    "shards.multigres.com",
    "tablegroups.multigres.com",
    "toposervers.multigres.com",
];

/// A token for the operator's ServiceAccount, asked for as a pod's projected token would be.
async fn operator_token(client: &kube::Client) -> String {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), NAMESPACE);
    accounts
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": SERVICE_ACCOUNT}}))
                .expect("a ServiceAccount"),
        )
        .await
        .expect("the operator's ServiceAccount is created");
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 3600}}))
            .expect("a TokenRequest");
    accounts
        .create_token_request(SERVICE_ACCOUNT, &PostParams::default(), &request)
        .await
        .expect("TokenRequest answers")
        .status
        .expect("an issued token")
        .token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_cannot_edit_children_while_the_operators_service_account_can() {
    if !cluster_support::etcd_available("webhook_identity") {
        return;
    }
    let cluster = Cluster::start(&["zone-a"]).await;
    let Some(kubectl) = Kubectl::new(&cluster.server) else {
        return cluster.server.shutdown().await;
    };
    register_webhooks(&cluster.client).await;
    let token = operator_token(&cluster.client).await;

    // The operator as in its pod: its ServiceAccount's token, webhooks on, behind the Service.
    let mut config = cluster.server.client_config();
    config.auth_info =
        serde_json::from_value(json!({"token": token})).expect("an AuthInfo with a token");
    let client = operator_client(config, Some("identity")).expect("an operator client");
    let address = webhook_address(0).expect("a free port");
    cluster
        .server
        .register_service_address(NAMESPACE, SERVICE, 443, address);
    let certificates = tempfile::tempdir().expect("a cert dir");
    let mut options = run_options(Duration::from_secs(36_000), Some("identity"), false);
    options.webhook = Some(WebhookConfig {
        bind: address,
        cert_dir: certificates.path().to_path_buf(),
        namespace: NAMESPACE.to_owned(),
        service_name: SERVICE.to_owned(),
        service_account: SERVICE_ACCOUNT.to_owned(),
        enable_http2: false,
    });
    let operator = spawn_operator(client, options);
    wait_until_serving(&cluster.client, address)
        .await
        .expect("the webhooks serve");

    cluster
        .apply_file(&cluster_support::sample("minimal.yaml"))
        .await;
    let clusters: Api<MultigresCluster> = Api::namespaced(cluster.client.clone(), "default");
    eventually(
        "minimal to be Healthy",
        Duration::from_secs(300),
        || async {
            let phase = clusters.get_opt("minimal").await.ok()??.status?.phase;
            (phase == Some(Phase::Healthy)).then_some(())
        },
    )
    .await;

    // Every child write of the operator was made, and admitted, as its ServiceAccount.
    let operator_user = format!("system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}");
    let child_writes: Vec<(String, String, String)> = cluster
        .server
        .requests()
        .entries()
        .iter()
        .filter(|e| e.is_mutating() && CHILD_RESOURCES.contains(&e.qualified_resource().as_str()))
        .map(|e| (e.user.clone(), e.verb.clone(), e.qualified_resource()))
        .collect();
    for resource in CHILD_RESOURCES {
        assert!(
            child_writes.iter().any(|(_, _, r)| r == resource),
            "the operator wrote no {resource}: {child_writes:#?}"
        );
    }
    assert!(
        child_writes
            .iter()
            .all(|(user, _, _)| *user == operator_user),
        "child writes by someone else: {child_writes:#?}"
    );

    // The administrator (system:masters) may not edit a Cell: groups do not count.
    let cells: Api<Cell> = Api::namespaced(cluster.client.clone(), "default");
    let cell = cells
        .list(&ListParams::default())
        .await
        .expect("a list")
        .items
        .pop()
        .expect("minimal has a Cell");
    let cell_name = cell.metadata.name.clone().expect("named");
    let patched = kubectl
        .run(
            &[
                "patch",
                "cell",
                &cell_name,
                "--type",
                "merge",
                "-p",
                r#"{"spec": {"multigateway": {"replicas": 4}}}"#,
            ],
            "",
        )
        .await;
    assert_eq!(patched.code, 1, "{}", patched.stdout);
    assert_eq!(
        patched.stderr,
        "Error from server (Forbidden): admission webhook \"vcell.kb.io\" denied the request: \
         direct modification of Cell is prohibited; this resource is managed by the \
         MultigresCluster parent object\n"
    );
    assert_eq!(
        cells
            .get(&cell_name)
            .await
            .expect("the Cell")
            .spec
            .multigateway
            .replicas,
        cell.spec.multigateway.replicas,
        "the refused edit changed nothing"
    );

    // A TableGroup changed behind admission (as by a write made before the webhooks were
    // installed) is reverted by the operator, whose write the webhook admits.
    let table_groups: Api<TableGroup> = Api::namespaced(cluster.client.clone(), "default");
    let table_group = table_groups
        .list(&ListParams::default())
        .await
        .expect("a list")
        .items
        .pop()
        .expect("minimal has a TableGroup");
    let table_group_name = table_group.metadata.name.clone().expect("named");
    let original =
        serde_json::to_value(&table_group.spec).expect("JSON")["pvcDeletionPolicy"]["whenScaled"]
            .clone();
    assert_eq!(original, json!("Delete"));
    let writes_before = cluster.server.requests().entries().len();
    let def = cluster
        .server
        .cluster()
        .resource("multigres.com", "v1alpha1", "tablegroups")
        .expect("served");
    cluster
        .server
        .cluster()
        .patch(
            &def,
            Some("default"),
            &table_group_name,
            kubesim::api::Subresource::Main,
            kubesim::api::Patch {
                patch_type: kubesim::api::PatchType::Merge,
                body: json!({"spec": {"pvcDeletionPolicy": {"whenScaled": "Retain"}}}),
            },
            &kubesim::api::WriteOptions::default(),
        )
        .expect("an edit behind admission");
    eventually(
        "the TableGroup edit to be reverted",
        Duration::from_secs(60),
        || async {
            let live = table_groups.get(&table_group_name).await.ok()?;
            let when_scaled =
                serde_json::to_value(&live.spec).ok()?["pvcDeletionPolicy"]["whenScaled"].clone();
            (when_scaled == original).then_some(())
        },
    )
    .await;
    let reverts: Vec<(String, String)> = cluster.server.requests().entries()[writes_before..]
        .iter()
        .filter(|e| {
            e.is_mutating()
                && e.qualified_resource() == "tablegroups.multigres.com"
                && e.name.as_deref() == Some(table_group_name.as_str())
        })
        .map(|e| (e.user.clone(), e.user_agent.clone().unwrap_or_default()))
        .collect();
    assert!(
        !reverts.is_empty()
            && reverts
                .iter()
                .all(|(user, agent)| *user == operator_user && agent.starts_with(USER_AGENT)),
        "the revert is the operator's: {reverts:#?}"
    );

    operator.stop().await;
    cluster.server.shutdown().await;
}
