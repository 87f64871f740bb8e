//! Admission webhooks end to end (rust-ecosystem.md §3.3): a webhook server inside the test
//! (rustls + rcgen, kube's admission types) receives AdmissionReviews only for matching
//! requests, and its patch, denial, warning, timeout and unreachable paths give the API
//! server's answers, under both failure policies.

mod support;
#[path = "support/webhook.rs"]
mod webhook;

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use webhook::{WebhookServer, configmap_webhook};

struct Setup {
    server: kubesim::Handle,
    hook: WebhookServer,
}

async fn setup() -> Setup {
    let server = support::start().await;
    let hook = WebhookServer::start().await;
    server.register_service_address(webhook::NAMESPACE, webhook::SERVICE, 443, hook.address);
    let services: Api<Service> = Api::namespaced(server.client(), webhook::NAMESPACE);
    let service: Service = serde_json::from_value(json!({
        "metadata": {"name": webhook::SERVICE},
        "spec": {"ports": [{"port": 443, "targetPort": 8443}]},
    }))
    .expect("valid Service");
    services
        .create(&PostParams::default(), &service)
        .await
        .expect("Service created");
    Setup { server, hook }
}

async fn mutating(server: &kubesim::Handle, name: &str, webhooks: Vec<Value>) {
    let api: Api<MutatingWebhookConfiguration> = Api::all(server.client());
    let config = serde_json::from_value(json!({"metadata": {"name": name}, "webhooks": webhooks}))
        .expect("valid configuration");
    api.create(&PostParams::default(), &config)
        .await
        .expect("configuration created");
}

async fn validating(server: &kubesim::Handle, name: &str, webhooks: Vec<Value>) {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(server.client());
    let config = serde_json::from_value(json!({"metadata": {"name": name}, "webhooks": webhooks}))
        .expect("valid configuration");
    api.create(&PostParams::default(), &config)
        .await
        .expect("configuration created");
}

fn configmap(name: &str, labels: Value, data: Value) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "labels": labels}, "data": data})
    .to_string()
}

async fn post(server: &kubesim::Handle, query: &str, body: &str) -> support::RawResponse {
    support::raw(
        server,
        "POST",
        &format!("/api/v1/namespaces/default/configmaps{query}"),
        &[("Content-Type", "application/json")],
        body,
    )
    .await
}

fn warnings(response: &support::RawResponse) -> Vec<String> {
    response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("warning"))
        .map(|(_, v)| v.clone())
        .collect()
}

#[tokio::test]
async fn matching_writes_are_mutated_then_validated() {
    let Setup { server, hook } = setup().await;
    mutating(
        &server,
        "mutate",
        vec![configmap_webhook(
            &hook,
            "mutate.kubesim.test",
            "/mutate",
            &["CREATE", "UPDATE"],
            "Fail",
            10,
        )],
    )
    .await;
    validating(
        &server,
        "validate",
        vec![configmap_webhook(
            &hook,
            "validate.kubesim.test",
            "/validate",
            &["CREATE", "UPDATE"],
            "Fail",
            10,
        )],
    )
    .await;

    let created = post(
        &server,
        "",
        &configmap("admitted", json!({"admission": "on"}), json!({"a": "1"})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.json()["metadata"]["labels"],
        json!({"admission": "on", "mutated": "true"})
    );
    assert_eq!(
        warnings(&created),
        vec![
            r#"299 - "mutated by the kubesim test webhook""#.to_string(),
            r#"299 - "validated by the kubesim test webhook""#.to_string(),
        ]
    );
    // Objects the objectSelector does not select never reach the webhooks.
    let plain = post(
        &server,
        "",
        &configmap("plain", json!({"other": "x"}), json!({})),
    )
    .await;
    assert_eq!(plain.status, 201);
    assert_eq!(warnings(&plain), Vec::<String>::new());

    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    cms.patch(
        "admitted",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"a": "2"}})),
    )
    .await
    .expect("patched");
    assert_eq!(
        hook.requests(),
        vec![
            ("CREATE".to_string(), "admitted".to_string(), false),
            ("CREATE".to_string(), "admitted".to_string(), false),
            ("UPDATE".to_string(), "admitted".to_string(), false),
            ("UPDATE".to_string(), "admitted".to_string(), false),
        ]
    );
    let reviews = hook.reviews();
    // The validating webhook sees the mutated object; updates carry the old one.
    assert_eq!(
        reviews[1]["request"]["object"]["metadata"]["labels"]["mutated"],
        "true"
    );
    assert_eq!(
        reviews[1]["request"]["kind"],
        json!({"group": "", "version": "v1", "kind": "ConfigMap"})
    );
    assert_eq!(
        reviews[3]["request"]["oldObject"]["data"],
        json!({"a": "1"})
    );
    assert_eq!(reviews[3]["request"]["object"]["data"], json!({"a": "2"}));
    assert_eq!(reviews[3]["request"]["options"]["kind"], "PatchOptions");
    server.shutdown().await;
    hook.shutdown();
}

#[tokio::test]
async fn a_denial_is_the_webhooks_status_with_the_api_servers_message() {
    let Setup { server, hook } = setup().await;
    validating(
        &server,
        "validate",
        vec![configmap_webhook(
            &hook,
            "validate.kubesim.test",
            "/validate",
            &["CREATE"],
            "Ignore",
            10,
        )],
    )
    .await;
    let denied = post(
        &server,
        "",
        &configmap("bad", json!({"admission": "on"}), json!({"forbidden": "1"})),
    )
    .await;
    assert_eq!(
        denied.json(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "admission webhook \"validate.kubesim.test\" denied the request: key \"forbidden\" is not allowed",
            "reason": "Forbidden", "code": 403,
        })
    );
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    assert_eq!(cms.get_opt("bad").await.expect("readable"), None);
    server.shutdown().await;
    hook.shutdown();
}

#[tokio::test]
async fn timeouts_and_unreachable_webhooks_fail_closed_or_open() {
    let Setup { server, hook } = setup().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_address = closed.local_addr().expect("address");
    drop(closed);
    server.register_service_address("default", "gone", 443, closed_address);
    let services: Api<Service> = Api::namespaced(server.client(), "default");
    let gone: Service = serde_json::from_value(
        json!({"metadata": {"name": "gone"}, "spec": {"ports": [{"port": 443}]}}),
    )
    .expect("valid Service");
    services
        .create(&PostParams::default(), &gone)
        .await
        .expect("created");
    let with_service = |mut webhook: Value, name: &str| {
        webhook["clientConfig"]["service"]["name"] = json!(name);
        webhook
    };
    let hang = |policy: &str, name: &str| {
        let mut webhook = configmap_webhook(&hook, name, "/hang", &["CREATE"], policy, 1);
        webhook["objectSelector"] = json!({"matchLabels": {"case": name}});
        webhook
    };
    validating(
        &server,
        "failures",
        vec![
            hang("Fail", "hang-fail.kubesim.test"),
            hang("Ignore", "hang-ignore.kubesim.test"),
            with_service(hang("Fail", "refused-fail.kubesim.test"), "gone"),
            with_service(hang("Ignore", "refused-ignore.kubesim.test"), "gone"),
            with_service(hang("Fail", "missing-fail.kubesim.test"), "missing"),
        ],
    )
    .await;
    let attempt = |case: &str| {
        configmap(
            case.split('.').next().unwrap_or(case),
            json!({"case": case}),
            json!({}),
        )
    };

    let timeout = post(&server, "", &attempt("hang-fail.kubesim.test")).await;
    assert_eq!(
        timeout.json(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Internal error occurred: failed calling webhook \"hang-fail.kubesim.test\": failed to call webhook: Post \"https://hook.default.svc:443/hang?timeout=1s\": context deadline exceeded",
            "reason": "InternalError",
            "details": {"causes": [{"message": "failed calling webhook \"hang-fail.kubesim.test\": failed to call webhook: Post \"https://hook.default.svc:443/hang?timeout=1s\": context deadline exceeded"}]},
            "code": 500,
        })
    );
    assert_eq!(
        post(&server, "", &attempt("hang-ignore.kubesim.test"))
            .await
            .status,
        201
    );

    let refused = post(&server, "", &attempt("refused-fail.kubesim.test")).await;
    assert_eq!(refused.status, 500);
    assert_eq!(
        refused.json()["message"],
        format!(
            "Internal error occurred: failed calling webhook \"refused-fail.kubesim.test\": failed to call webhook: Post \"https://gone.default.svc:443/hang?timeout=1s\": dial tcp {closed_address}: connect: connection refused"
        )
    );
    assert_eq!(
        post(&server, "", &attempt("refused-ignore.kubesim.test"))
            .await
            .status,
        201
    );

    let missing = post(&server, "", &attempt("missing-fail.kubesim.test")).await;
    assert_eq!(
        missing.json()["message"],
        "Internal error occurred: failed calling webhook \"missing-fail.kubesim.test\": failed to call webhook: Post \"https://missing.default.svc:443/hang?timeout=1s\": service \"missing\" not found"
    );
    server.shutdown().await;
    hook.shutdown();
}

#[tokio::test]
async fn dry_runs_reach_side_effect_free_webhooks_and_persist_nothing() {
    let Setup { server, hook } = setup().await;
    let mut unsafe_hook = configmap_webhook(
        &hook,
        "side-effects.kubesim.test",
        "/validate",
        &["CREATE"],
        "Fail",
        10,
    );
    unsafe_hook["sideEffects"] = json!("Some");
    unsafe_hook["objectSelector"] = json!({"matchLabels": {"side": "effects"}});
    mutating(
        &server,
        "mutate",
        vec![
            configmap_webhook(
                &hook,
                "mutate.kubesim.test",
                "/mutate",
                &["CREATE"],
                "Fail",
                10,
            ),
            unsafe_hook,
        ],
    )
    .await;
    let dry = post(
        &server,
        "?dryRun=All",
        &configmap("dry", json!({"admission": "on"}), json!({})),
    )
    .await;
    assert_eq!(dry.status, 201);
    assert_eq!(dry.json()["metadata"]["labels"]["mutated"], "true");
    assert_eq!(
        hook.requests(),
        vec![("CREATE".to_string(), "dry".to_string(), true)]
    );
    assert_eq!(
        hook.reviews()[0]["request"]["options"]["dryRun"],
        json!(["All"])
    );
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    assert_eq!(cms.get_opt("dry").await.expect("readable"), None);
    let refused = post(
        &server,
        "?dryRun=All",
        &configmap("dry2", json!({"side": "effects"}), json!({})),
    )
    .await;
    assert_eq!(
        refused.json(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "admission webhook \"side-effects.kubesim.test\" does not support dry run",
            "reason": "BadRequest", "code": 400,
        })
    );
    server.shutdown().await;
    hook.shutdown();
}

#[tokio::test]
async fn deletes_and_match_conditions() {
    let Setup { server, hook } = setup().await;
    let mut on_delete = configmap_webhook(
        &hook,
        "delete.kubesim.test",
        "/validate",
        &["DELETE"],
        "Fail",
        10,
    );
    on_delete["matchConditions"] = json!([
        {"name": "not-scratch", "expression": "!oldObject.metadata.name.startsWith('scratch-')"}
    ]);
    validating(&server, "deletes", vec![on_delete]).await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for name in ["kept-then-deleted", "scratch-1"] {
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": name, "labels": {"admission": "on"}}}),
        )
        .expect("valid ConfigMap");
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("created");
    }
    let deleted = support::raw(
        &server,
        "DELETE",
        "/api/v1/namespaces/default/configmaps/kept-then-deleted",
        &[],
        "",
    )
    .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(
        warnings(&deleted),
        vec![r#"299 - "validated by the kubesim test webhook""#.to_string()]
    );
    cms.delete("scratch-1", &DeleteParams::default())
        .await
        .expect("deleted without the webhook");
    assert_eq!(
        hook.requests(),
        vec![("DELETE".to_string(), "kept-then-deleted".to_string(), false)]
    );
    let review = &hook.reviews()[0]["request"];
    assert_eq!(review["object"], Value::Null);
    assert_eq!(review["oldObject"]["metadata"]["name"], "kept-then-deleted");
    assert_eq!(review["options"]["kind"], "DeleteOptions");

    // A deletecollection is admitted item by item; one refusal keeps every item.
    for (name, data) in [
        ("scratch-2", json!({})),
        ("guarded", json!({"forbidden": "yes"})),
    ] {
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": name, "labels": {"admission": "on"}}, "data": data}),
        )
        .expect("valid ConfigMap");
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("created");
    }
    let refused = support::raw(
        &server,
        "DELETE",
        "/api/v1/namespaces/default/configmaps?labelSelector=admission%3Don",
        &[],
        "",
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(
        refused.json()["message"],
        "admission webhook \"delete.kubesim.test\" denied the request: key \"forbidden\" is not allowed"
    );
    assert!(cms.get_opt("scratch-2").await.expect("readable").is_some());
    server.shutdown().await;
    hook.shutdown();
}

/// A TokenRequest token of ServiceAccount `default/<name>`, with its uid.
async fn service_account_token(server: &kubesim::Handle, name: &str) -> (String, String) {
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(server.client(), "default");
    let account = accounts
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}})).expect("valid"),
        )
        .await
        .expect("ServiceAccount created");
    let answer = support::raw(
        server,
        "POST",
        &format!("/api/v1/namespaces/default/serviceaccounts/{name}/token"),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer kubesim-token"),
        ],
        &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"expirationSeconds": 3600}})
        .to_string(),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let token = answer.json()["status"]["token"]
        .as_str()
        .expect("a token")
        .to_string();
    (token, account.metadata.uid.expect("a uid"))
}

#[tokio::test]
async fn webhooks_see_the_authenticated_user_of_each_request() {
    let Setup { server, hook } = setup().await;
    validating(
        &server,
        "validate",
        vec![configmap_webhook(
            &hook,
            "validate.kubesim.test",
            "/validate",
            &["CREATE", "UPDATE", "DELETE"],
            "Fail",
            10,
        )],
    )
    .await;
    let (token, account_uid) = service_account_token(&server, "operator").await;
    let admin = "Bearer kubesim-token".to_string();
    let robot = format!("Bearer {token}");
    // The TokenReview of the token is what the webhook must be told, extra included.
    let review = support::raw(
        &server,
        "POST",
        "/apis/authentication.k8s.io/v1/tokenreviews",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &admin),
        ],
        &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                "spec": {"token": token}})
        .to_string(),
    )
    .await
    .json();
    let robot_user = review["status"]["user"].clone();
    assert_eq!(
        robot_user["extra"]["authentication.kubernetes.io/credential-id"][0]
            .as_str()
            .map(|id| id.starts_with("JTI=")),
        Some(true),
        "{review}"
    );
    let cases = [
        (
            Some(admin.as_str()),
            json!({"username": "kubernetes-admin",
                   "groups": ["system:masters", "system:authenticated"]}),
        ),
        (Some(robot.as_str()), {
            let mut expected = json!({"username": "system:serviceaccount:default:operator",
                   "uid": account_uid,
                   "groups": ["system:serviceaccounts", "system:serviceaccounts:default",
                              "system:authenticated"]});
            expected["extra"] = robot_user["extra"].clone();
            expected
        }),
        (
            None,
            json!({"username": "system:anonymous", "groups": ["system:unauthenticated"]}),
        ),
    ];
    for (i, (authorization, expected)) in cases.into_iter().enumerate() {
        let name = format!("who-{i}");
        let headers = |content_type: &'static str| {
            let mut headers = vec![("Content-Type", content_type)];
            headers.extend(authorization.map(|a| ("Authorization", a)));
            headers
        };
        let path = "/api/v1/namespaces/default/configmaps";
        let object = configmap(&name, json!({"admission": "on"}), json!({"a": "1"}));
        let created =
            support::raw(&server, "POST", path, &headers("application/json"), &object).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let patched = support::raw(
            &server,
            "PATCH",
            &format!("{path}/{name}"),
            &headers("application/merge-patch+json"),
            &json!({"data": {"b": "2"}}).to_string(),
        )
        .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
        let deleted = support::raw(
            &server,
            "DELETE",
            &format!("{path}/{name}"),
            &headers("application/json"),
            "",
        )
        .await;
        assert_eq!(deleted.status, 200, "{}", deleted.body);
        let seen: Vec<(String, Value)> = hook
            .reviews()
            .iter()
            .filter(|r| r["request"]["name"] == json!(name))
            .map(|r| {
                (
                    r["request"]["operation"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    r["request"]["userInfo"].clone(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            ["CREATE", "UPDATE", "DELETE"]
                .map(|op| (op.to_string(), expected.clone()))
                .to_vec(),
            "{authorization:?}"
        );
    }
    server.shutdown().await;
    hook.shutdown();
}
