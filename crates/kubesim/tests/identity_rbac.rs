//! Identities and authorization (issue 12): TokenRequest tokens name their ServiceAccount in
//! the request log and in TokenReview; with `Authorization::Rbac`, Roles, ClusterRoles (with
//! aggregation), bindings, resourceNames, subresources and nonResourceURLs decide, and denials
//! carry the API server's 403 text; SubjectAccessReview answers with the same decisions.

mod support;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::{raw, start_with};

async fn rbac_server() -> kubesim::Handle {
    start_with(kubesim::Server::builder().authorization(kubesim::auth::Authorization::Rbac)).await
}

async fn post(
    server: &kubesim::Handle,
    token: Option<&str>,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer.as_str()));
    }
    let answer = raw(server, "POST", path, &headers, &body.to_string()).await;
    (answer.status, answer.json())
}

async fn get(server: &kubesim::Handle, token: Option<&str>, path: &str) -> (u16, Value) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    let answer = raw(server, "GET", path, &headers, "").await;
    (answer.status, answer.json())
}

/// The administrator's token from the kubeconfig.
const ADMIN: &str = "kubesim-token";

async fn service_account_token(server: &kubesim::Handle, namespace: &str, name: &str) -> String {
    let (code, _) = post(
        server,
        Some(ADMIN),
        &format!("/api/v1/namespaces/{namespace}/serviceaccounts"),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}),
    )
    .await;
    assert_eq!(code, 201);
    let (code, request) = post(
        server,
        Some(ADMIN),
        &format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"),
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
               "spec": {"expirationSeconds": 3600}}),
    )
    .await;
    assert_eq!(code, 201, "{request}");
    assert_eq!(request["kind"], "TokenRequest");
    request["status"]["token"]
        .as_str()
        .expect("a token")
        .to_string()
}

fn forbidden(message: &str, group: &str, kind: &str, name: &str) -> Value {
    let mut details = serde_json::Map::new();
    if !name.is_empty() {
        details.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        details.insert("group".into(), json!(group));
    }
    if !kind.is_empty() {
        details.insert("kind".into(), json!(kind));
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": "Forbidden", "details": details, "code": 403})
}

#[tokio::test]
async fn a_service_account_token_is_that_account_everywhere() {
    let server = support::start().await;
    let token = service_account_token(&server, "default", "operator").await;
    let before = server.requests().entries().len();
    let (code, _) = get(
        &server,
        Some(&token),
        "/api/v1/namespaces/default/configmaps",
    )
    .await;
    assert_eq!(code, 200, "authorization is off by default");
    let entry = &server.requests().entries()[before];
    assert_eq!(entry.user, "system:serviceaccount:default:operator");
    assert_eq!(
        entry.groups,
        [
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated"
        ]
    );
    let (code, review) = post(
        &server,
        Some(ADMIN),
        "/apis/authentication.k8s.io/v1/tokenreviews",
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(review["status"]["authenticated"], true);
    assert_eq!(
        review["status"]["user"]["username"],
        "system:serviceaccount:default:operator"
    );
    let (_, review) = post(
        &server,
        Some(ADMIN),
        "/apis/authentication.k8s.io/v1/tokenreviews",
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": "forged"}}),
    )
    .await;
    assert_eq!(review["status"]["authenticated"], json!(null));
    // The token dies with its ServiceAccount.
    let accounts = server
        .cluster()
        .resource("", "v1", "serviceaccounts")
        .expect("served");
    server
        .cluster()
        .delete(&accounts, Some("default"), "operator", &Default::default())
        .expect("deleted");
    let (_, review) = post(
        &server,
        Some(ADMIN),
        "/apis/authentication.k8s.io/v1/tokenreviews",
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}),
    )
    .await;
    assert_eq!(review["status"]["authenticated"], json!(null));
    server.shutdown().await;
}

#[tokio::test]
async fn rbac_allows_what_bindings_grant_and_denies_with_the_api_servers_text() {
    let server = rbac_server().await;
    let token = service_account_token(&server, "default", "operator").await;
    let sa = "system:serviceaccount:default:operator";

    let (code, body) = get(
        &server,
        Some(&token),
        "/api/v1/namespaces/default/configmaps",
    )
    .await;
    assert_eq!(
        (code, body),
        (
            403,
            forbidden(
                &format!(
                    "configmaps is forbidden: User \"{sa}\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\""
                ),
                "",
                "configmaps",
                ""
            )
        )
    );

    let admin_posts = [
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "config"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "create"]},
                      {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["settings"], "verbs": ["get"]},
                      {"apiGroups": ["apps"], "resources": ["statefulsets/status"], "verbs": ["patch"]}]}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "config"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "config"},
            "subjects": [{"kind": "ServiceAccount", "name": "operator", "namespace": "default"}]}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "node-reader", "labels": {"example.com/aggregate-to-reader": "true"}},
            "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-reader": "true"}}]},
            "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "operator", "namespace": "default"}]}),
        ),
    ];
    for (path, body) in admin_posts {
        let (code, answer) = post(&server, Some(ADMIN), path, body).await;
        assert_eq!(code, 201, "{answer}");
    }

    // Through a real client with the token.
    let client = server.client_with_token(&token);
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.list(&Default::default())
        .await
        .expect("list is granted");
    let settings: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "settings"}})).expect("valid");
    cms.create(&PostParams::default(), &settings)
        .await
        .expect("create is granted");
    cms.get("settings")
        .await
        .expect("get of the named object is granted");
    let denied = support::status_of(cms.get("other").await);
    assert_eq!(
        denied.message,
        format!(
            "configmaps \"other\" is forbidden: User \"{sa}\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"default\""
        )
    );
    let denied = support::status_of(cms.delete("settings", &Default::default()).await);
    assert_eq!(denied.code, 403);

    let (code, _) = get(
        &server,
        Some(&token),
        "/api/v1/namespaces/kube-system/configmaps",
    )
    .await;
    assert_eq!(code, 403, "the Role grants only in its namespace");
    let (code, _) = get(&server, Some(&token), "/api/v1/nodes").await;
    assert_eq!(code, 200, "aggregated into reader");
    let (code, body) = get(&server, Some(&token), "/api/v1/nodes/kubesim-zone-a/status").await;
    assert_eq!(
        (code, body),
        (
            403,
            forbidden(
                &format!(
                    "nodes \"kubesim-zone-a\" is forbidden: User \"{sa}\" cannot get resource \"nodes/status\" in API group \"\" at the cluster scope"
                ),
                "",
                "nodes",
                "kubesim-zone-a"
            )
        )
    );
    let patch = raw(
        &server,
        "PATCH",
        "/apis/apps/v1/namespaces/default/statefulsets/db/status",
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Content-Type", "application/merge-patch+json"),
        ],
        "{}",
    )
    .await;
    assert_eq!(
        patch.status, 404,
        "the subresource is granted; the object does not exist"
    );
    // Discovery is granted to every authenticated user by the bootstrap policy.
    let (code, _) = get(&server, Some(&token), "/apis").await;
    assert_eq!(code, 200);
    let (code, body) = get(&server, None, "/apis").await;
    assert_eq!(
        (code, body),
        (
            403,
            forbidden(
                "forbidden: User \"system:anonymous\" cannot get path \"/apis\"",
                "",
                "",
                ""
            )
        )
    );
    let (code, _) = get(&server, None, "/version").await;
    assert_eq!(code, 200, "public info");
    let (code, body) = get(&server, Some("made-up"), "/version").await;
    assert_eq!(
        (code, body),
        (
            401,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                     "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
        )
    );
    server.shutdown().await;
}

#[tokio::test]
async fn access_reviews_answer_with_the_rbac_decision() {
    let server = rbac_server().await;
    let token = service_account_token(&server, "default", "reader").await;
    let (code, _) = post(&server, Some(ADMIN), "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "missing"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "missing"},
        "subjects": [{"kind": "User", "name": "eve"}]})).await;
    assert_eq!(code, 201);
    let review = |spec: Value| json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec});
    let (code, answer) = post(
        &server,
        Some(ADMIN),
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        review(json!({
        "user": "kubernetes-admin", "groups": ["system:masters"],
        "resourceAttributes": {"verb": "delete", "resource": "nodes", "name": "n"}})),
    )
    .await;
    assert_eq!((code, &answer["status"]), (201, &json!({"allowed": true})));
    let (_, answer) = post(
        &server,
        Some(ADMIN),
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        review(json!({
        "user": "eve", "nonResourceAttributes": {"verb": "get", "path": "/metrics"}})),
    )
    .await;
    assert_eq!(
        answer["status"],
        json!({"allowed": false, "reason": "RBAC: clusterrole.rbac.authorization.k8s.io \"missing\" not found"})
    );
    let (_, answer) = post(
        &server,
        Some(ADMIN),
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        review(json!({
        "user": "system:serviceaccount:default:reader", "groups": ["system:authenticated"],
        "nonResourceAttributes": {"verb": "get", "path": "/apis"}})),
    )
    .await;
    assert_eq!(answer["status"], json!({"allowed": true}));
    // The reader asks about itself.
    let (code, answer) = post(&server, Some(&token), "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "list", "resource": "secrets", "namespace": "default"}}})).await;
    assert_eq!((code, &answer["status"]), (201, &json!({"allowed": false})));
    let (code, answer) = post(
        &server,
        Some(&token),
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}),
    )
    .await;
    assert_eq!(
        (code, &answer["status"]["userInfo"]["username"]),
        (201, &json!("system:serviceaccount:default:reader"))
    );
    server.shutdown().await;
}

/// A pod with the Ready condition `ready`, written in process (no kubelet runs here).
fn ready_pod(server: &kubesim::Handle, name: &str, ready: bool) {
    let cluster = server.cluster();
    let pods = cluster.resource("", "v1", "pods").expect("served");
    cluster
        .create(
            &pods,
            Some("default"),
            json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "db"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}}),
            &Default::default(),
        )
        .expect("created");
    let mut pod = cluster
        .get(
            &pods,
            Some("default"),
            name,
            kubesim::api::Subresource::Main,
        )
        .expect("got");
    pod["status"]["conditions"] =
        json!([{"type": "Ready", "status": if ready { "True" } else { "False" }}]);
    cluster
        .update(
            &pods,
            Some("default"),
            name,
            kubesim::api::Subresource::Status,
            pod,
            &Default::default(),
        )
        .expect("status written");
}

async fn evict(server: &kubesim::Handle, name: &str) -> (u16, Value) {
    post(server, None, &format!("/api/v1/namespaces/default/pods/{name}/eviction"), json!({
        "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}})).await
}

#[tokio::test]
async fn evictions_honour_pod_disruption_budgets() {
    let server = support::start().await;
    for (name, ready) in [("db-0", true), ("db-1", true), ("db-2", false)] {
        ready_pod(&server, name, ready);
    }
    let (code, _) = post(
        &server,
        None,
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
        json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "db"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}}),
    )
    .await;
    assert_eq!(code, 201);
    // An unready pod goes while the budget is met; then one of the two healthy pods.
    assert_eq!(
        evict(&server, "db-2").await,
        (
            201,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
        )
    );
    assert_eq!(evict(&server, "db-0").await.0, 201);
    let (code, _) = get(&server, None, "/api/v1/namespaces/default/pods/db-0").await;
    assert_eq!(code, 404, "pods without a node go at once");
    assert_eq!(
        evict(&server, "db-1").await,
        (
            429,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                     "message": "Cannot evict pod as it would violate the pod's disruption budget.",
                     "reason": "TooManyRequests",
                     "details": {"causes": [{"reason": "DisruptionBudget",
                        "message": "The disruption budget db needs 1 healthy pods and has 1 currently"}]},
                     "code": 429})
        )
    );
    let (code, _) = get(&server, None, "/api/v1/namespaces/default/pods/db-1").await;
    assert_eq!(code, 200, "still there");
    // maxUnavailable needs the pods' controller: pods without one are never disrupted.
    ready_pod(&server, "lone", true);
    let (code, _) = post(
        &server,
        None,
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
        json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "lone"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "lone"}}}}),
    )
    .await;
    assert_eq!(code, 201);
    let cluster = server.cluster();
    let pods = cluster.resource("", "v1", "pods").expect("served");
    let mut lone = cluster
        .get(
            &pods,
            Some("default"),
            "lone",
            kubesim::api::Subresource::Main,
        )
        .expect("got");
    lone["metadata"]["labels"] = json!({"app": "lone"});
    cluster
        .update(
            &pods,
            Some("default"),
            "lone",
            kubesim::api::Subresource::Main,
            lone,
            &Default::default(),
        )
        .expect("relabelled");
    let (code, body) = evict(&server, "lone").await;
    assert_eq!(code, 429);
    assert_eq!(
        body["details"]["causes"][0]["message"],
        "The disruption budget lone needs 0 healthy pods and has 0 currently"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn discovery_lists_the_reviews_and_subresources() {
    let server = support::start().await;
    let (_, core) = get(&server, None, "/api/v1").await;
    let names: Vec<&str> = core["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    for wanted in [
        "serviceaccounts/token",
        "pods/eviction",
        "componentstatuses",
    ] {
        assert!(names.contains(&wanted), "{wanted} in {names:?}");
    }
    let (_, authz) = get(&server, None, "/apis/authorization.k8s.io/v1").await;
    let review = authz["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "subjectaccessreviews")
        .cloned()
        .expect("listed");
    assert_eq!(review["verbs"], json!(["create"]));
    let (code, statuses) = get(&server, None, "/api/v1/componentstatuses").await;
    assert_eq!(code, 200);
    assert_eq!(statuses["items"].as_array().map(Vec::len), Some(3));
    let (code, _) = get(&server, None, "/apis/apiregistration.k8s.io/v1/apiservices").await;
    assert_eq!(code, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn ephemeral_containers_and_csr_approval_have_their_subresources() {
    let server = support::start().await;
    ready_pod(&server, "debug-me", true);
    let patch = raw(
        &server,
        "PATCH",
        "/api/v1/namespaces/default/pods/debug-me/ephemeralcontainers",
        &[("Content-Type", "application/strategic-merge-patch+json")],
        r#"{"spec":{"ephemeralContainers":[{"name":"debugger","image":"busybox","targetContainerName":"c"}],"restartPolicy":"Never"}}"#,
    )
    .await;
    assert_eq!(patch.status, 200, "{}", patch.body);
    let (_, pod) = get(&server, None, "/api/v1/namespaces/default/pods/debug-me").await;
    assert_eq!(pod["spec"]["ephemeralContainers"][0]["name"], "debugger");
    assert_eq!(
        pod["spec"].get("restartPolicy"),
        None,
        "only ephemeral containers change"
    );

    let (code, _) = post(&server, None, "/apis/certificates.k8s.io/v1/certificatesigningrequests", json!({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": "csr"},
        "spec": {"request": "LS0tLS1CRUdJTg==", "signerName": "example.com/signer", "usages": ["client auth"]}})).await;
    assert_eq!(code, 201);
    let approval = raw(
        &server,
        "PATCH",
        "/apis/certificates.k8s.io/v1/certificatesigningrequests/csr/approval",
        &[("Content-Type", "application/merge-patch+json")],
        r#"{"status":{"conditions":[{"type":"Approved","status":"True","reason":"Test","message":"ok"}]}}"#,
    )
    .await;
    assert_eq!(approval.status, 200, "{}", approval.body);
    let (_, csr) = get(
        &server,
        None,
        "/apis/certificates.k8s.io/v1/certificatesigningrequests/csr/approval",
    )
    .await;
    assert_eq!(csr["status"]["conditions"][0]["type"], "Approved");
    server.shutdown().await;
}
