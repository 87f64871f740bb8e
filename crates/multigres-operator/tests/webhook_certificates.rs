//! The webhook PKI against kubesim (spec-controllers.md §11, spec-api.md §12.7): strategy
//! detection, the two Secrets (labels, owner), the caBundle applied with the operator's field
//! manager, renewal of a corrupt or foreign serving certificate and of an expiring CA, and
//! external certificates served from the cert dir and reloaded when they change.

mod webhook_support;

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use multigres_operator::controllers::shard::cert_entropy::SystemCertEntropy;
use multigres_operator::webhook::cert_rotation::{
    CA_SECRET, FIELD_MANAGER, SELF_SIGNED, SERVING_SECRET, STRATEGY_ANNOTATION,
};
use multigres_operator::webhook::certs::{
    CertCheck, CertPair, check_serving, issue_ca, issue_serving,
};
use multigres_operator::webhook::registration::{MUTATING_CONFIGURATION, VALIDATING_CONFIGURATION};
use multigres_operator::webhook::{CertStrategy, prepare_certificates};
use pretty_assertions::assert_eq;
use serde_json::json;
use webhook_support::{NAMESPACE, SERVICE, bare_kubesim, install, webhook_config};

fn secrets(client: &kube::Client) -> Api<Secret> {
    Api::namespaced(client.clone(), NAMESPACE)
}

async fn stored_pair(client: &kube::Client, name: &str, cert: &str, key: &str) -> CertPair {
    let secret = secrets(client).get(name).await.expect("Secret exists");
    let data = secret.data.expect("data");
    let text = |k: &str| String::from_utf8(data[k].0.clone()).expect("UTF-8 PEM");
    CertPair {
        cert_pem: text(cert),
        key_pem: text(key),
    }
}

/// The caBundle of every entry of both configurations, and their strategy annotations.
async fn bundles(client: &kube::Client) -> (Vec<String>, Vec<Option<String>>) {
    let mutating = Api::<MutatingWebhookConfiguration>::all(client.clone())
        .get(MUTATING_CONFIGURATION)
        .await
        .expect("exists");
    let validating = Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .get(VALIDATING_CONFIGURATION)
        .await
        .expect("exists");
    let annotation = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        meta.annotations
            .as_ref()
            .and_then(|a| a.get(STRATEGY_ANNOTATION).cloned())
    };
    let mut bundles = Vec::new();
    for config in mutating
        .webhooks
        .iter()
        .flatten()
        .map(|w| &w.client_config)
        .chain(
            validating
                .webhooks
                .iter()
                .flatten()
                .map(|w| &w.client_config),
        )
    {
        bundles
            .push(String::from_utf8(config.ca_bundle.clone().expect("a caBundle").0).expect("PEM"));
    }
    (
        bundles,
        vec![
            annotation(&mutating.metadata),
            annotation(&validating.metadata),
        ],
    )
}

#[tokio::test]
async fn bootstrap_creates_both_secrets_and_injects_the_ca_bundle() {
    let installed = install().await;
    let client = installed.client();
    let ca = stored_pair(&client, CA_SECRET, "ca.crt", "ca.key").await;
    let serving = stored_pair(&client, SERVING_SECRET, "tls.crt", "tls.key").await;
    assert_eq!(
        check_serving(&serving, &ca.cert_pem, Timestamp::now()),
        CertCheck::Valid
    );
    for name in [CA_SECRET, SERVING_SECRET] {
        let secret = secrets(&client).get(name).await.expect("exists");
        assert_eq!(
            secret.metadata.labels,
            Some(BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_owned(),
                "multigres-operator".to_owned()
            )]))
        );
        // No operator Deployment in this namespace: no owner (Go: none found ⇒ no owner).
        assert_eq!(secret.metadata.owner_references, None);
    }
    let (bundles, annotations) = bundles(&client).await;
    assert_eq!(bundles.len(), 9);
    assert!(bundles.iter().all(|bundle| *bundle == ca.cert_pem));
    assert_eq!(annotations, vec![Some(SELF_SIGNED.to_owned()); 2]);
    // The caBundle belongs to the operator's field manager, not to whoever applied the
    // manifest, so re-applying the manifest does not wipe it.
    let validating = Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .get(VALIDATING_CONFIGURATION)
        .await
        .expect("exists");
    let managers: Vec<String> = validating
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| {
            entry
                .fields_v1
                .as_ref()
                .is_some_and(|fields| fields.0.to_string().contains("caBundle"))
        })
        .filter_map(|entry| entry.manager.clone())
        .collect();
    assert_eq!(managers, vec![FIELD_MANAGER.to_owned()]);
    // The server presents the stored serving certificate.
    assert_eq!(
        installed.certificates.serving().current_pair(),
        Some(serving)
    );
    installed.shutdown().await;
}

#[tokio::test]
async fn broken_or_expiring_certificates_are_replaced() {
    let installed = install().await;
    let client = installed.client();
    let CertStrategy::SelfManaged(rotator) = &installed.certificates else {
        unreachable!("an empty cert dir means self-managed certificates");
    };
    let ca = stored_pair(&client, CA_SECRET, "ca.crt", "ca.key").await;

    // A corrupt serving Secret is deleted and issued anew under the same CA.
    secrets(&client)
        .patch(
            SERVING_SECRET,
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"tls.crt": ByteString(b"garbage".to_vec())}})),
        )
        .await
        .expect("corrupted");
    assert_eq!(
        rotator
            .reconcile(Timestamp::now())
            .await
            .expect("reconciles"),
        ca
    );
    let serving = stored_pair(&client, SERVING_SECRET, "tls.crt", "tls.key").await;
    assert_eq!(
        check_serving(&serving, &ca.cert_pem, Timestamp::now()),
        CertCheck::Valid
    );
    assert_eq!(
        installed.certificates.serving().current_pair(),
        Some(serving.clone())
    );

    // One signed by another CA is re-issued in place.
    let mut entropy = SystemCertEntropy::new();
    let foreign_ca = issue_ca(Timestamp::now(), &mut entropy).expect("CA");
    let foreign = issue_serving(
        &foreign_ca,
        SERVICE,
        NAMESPACE,
        Timestamp::now(),
        &mut entropy,
    )
    .expect("serving");
    secrets(&client)
        .patch(
            SERVING_SECRET,
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {
                "tls.crt": ByteString(foreign.cert_pem.into_bytes()),
                "tls.key": ByteString(foreign.key_pem.into_bytes())}})),
        )
        .await
        .expect("replaced");
    rotator
        .reconcile(Timestamp::now())
        .await
        .expect("reconciles");
    let reissued = stored_pair(&client, SERVING_SECRET, "tls.crt", "tls.key").await;
    assert_eq!(
        check_serving(&reissued, &ca.cert_pem, Timestamp::now()),
        CertCheck::Valid
    );
    assert_ne!(reissued, serving);

    // 3,621 days on, the CA has less than 30 days left: a new CA, a new serving certificate
    // signed by it, and the new caBundle everywhere.
    let later = Timestamp::now()
        .checked_add(SignedDuration::from_hours(24 * 3621))
        .expect("in range");
    let new_ca = rotator.reconcile(later).await.expect("reconciles");
    assert_ne!(new_ca, ca);
    assert_eq!(
        stored_pair(&client, CA_SECRET, "ca.crt", "ca.key").await,
        new_ca
    );
    let serving = stored_pair(&client, SERVING_SECRET, "tls.crt", "tls.key").await;
    assert_eq!(
        check_serving(&serving, &new_ca.cert_pem, later),
        CertCheck::Valid
    );
    let (bundles, _) = bundles(&client).await;
    assert!(bundles.iter().all(|bundle| *bundle == new_ca.cert_pem));
    installed.shutdown().await;
}

#[tokio::test]
async fn secrets_are_owned_by_the_single_operator_deployment() {
    let kubesim = bare_kubesim().await;
    let client = kubesim.client();
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "multigres-operator-controller-manager",
                     "labels": {"app.kubernetes.io/name": "multigres-operator"}},
        "spec": {"selector": {"matchLabels": {"control-plane": "controller-manager"}},
                 "template": {"metadata": {"labels": {"control-plane": "controller-manager"}},
                              "spec": {"containers": [{"name": "manager", "image": "operator"}]}}}
    }))
    .expect("a Deployment");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let created = deployments
        .create(&PostParams::default(), &deployment)
        .await
        .expect("created");
    let cert_dir = tempfile::tempdir().expect("cert dir");
    prepare_certificates(client.clone(), &webhook_config(cert_dir.path()))
        .await
        .expect("bootstraps");
    let owners = secrets(&client)
        .get(CA_SECRET)
        .await
        .expect("exists")
        .metadata
        .owner_references
        .expect("owned");
    assert_eq!(owners.len(), 1);
    assert_eq!(
        (
            owners[0].kind.as_str(),
            owners[0].name.as_str(),
            owners[0].uid.clone(),
            owners[0].controller
        ),
        (
            "Deployment",
            "multigres-operator-controller-manager",
            created.metadata.uid.clone().expect("uid"),
            Some(true)
        )
    );

    // Two of them: which one owns the Secrets is ambiguous, so the bootstrap refuses.
    let mut second = deployment.clone();
    second.metadata.name = Some("another".into());
    deployments
        .create(&PostParams::default(), &second)
        .await
        .expect("created");
    secrets(&client)
        .delete(CA_SECRET, &DeleteParams::default())
        .await
        .expect("deleted");
    let err = prepare_certificates(client.clone(), &webhook_config(cert_dir.path()))
        .await
        .expect_err("two operator Deployments");
    assert_eq!(
        err.to_string(),
        "found 2 Deployments labelled app.kubernetes.io/name=multigres-operator in namespace \
         multigres-operator (another, multigres-operator-controller-manager); the certificate \
         Secrets need exactly one owner"
    );
    kubesim.shutdown().await;
}

#[tokio::test]
async fn certificates_in_the_cert_dir_are_external_unless_marked_self_signed() {
    let kubesim = bare_kubesim().await;
    let client = kubesim.client();
    let cert_dir = tempfile::tempdir().expect("cert dir");
    let mut entropy = SystemCertEntropy::new();
    let ca = issue_ca(Timestamp::now(), &mut entropy).expect("CA");
    let write = |pair: &CertPair| {
        std::fs::write(cert_dir.path().join("tls.crt"), &pair.cert_pem).expect("written");
        std::fs::write(cert_dir.path().join("tls.key"), &pair.key_pem).expect("written");
    };
    let first = issue_serving(&ca, SERVICE, NAMESPACE, Timestamp::now(), &mut entropy).expect("ok");
    write(&first);
    let config = webhook_config(cert_dir.path());

    let strategy = prepare_certificates(client.clone(), &config)
        .await
        .expect("prepares");
    assert!(
        matches!(strategy, CertStrategy::External { .. }),
        "{strategy:?}"
    );
    assert_eq!(strategy.serving().current_pair(), Some(first));
    // cert-manager renews: the new files are served after the next reload.
    let second =
        issue_serving(&ca, SERVICE, NAMESPACE, Timestamp::now(), &mut entropy).expect("ok");
    write(&second);
    assert!(strategy.reload().await.expect("reloads"));
    assert_eq!(strategy.serving().current_pair(), Some(second));
    assert!(
        !strategy.reload().await.expect("reloads"),
        "unchanged files are not reinstalled"
    );
    // Nothing was written to the cluster.
    assert_eq!(
        secrets(&client).get_opt(CA_SECRET).await.expect("reads"),
        None
    );

    // A configuration marked self-signed means the files are the operator's own, projected
    // from its Secret: it resumes managing them.
    Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .patch(
            VALIDATING_CONFIGURATION,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {STRATEGY_ANNOTATION: SELF_SIGNED}}})),
        )
        .await
        .expect("annotated");
    let strategy = prepare_certificates(client.clone(), &config)
        .await
        .expect("prepares");
    assert!(
        matches!(strategy, CertStrategy::SelfManaged(_)),
        "{strategy:?}"
    );
    assert!(
        secrets(&client)
            .get_opt(CA_SECRET)
            .await
            .expect("reads")
            .is_some()
    );
    kubesim.shutdown().await;
}
