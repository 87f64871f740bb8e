//! The webhook server under stress and absent: a certificate rotation while 1,000 admission
//! requests are in flight drops none; a stalled client holds only its own connection; with
//! the server down, `failurePolicy: Fail` rejects writes and `Ignore` admits them unchanged.

mod webhook_support;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use multigres_operator::webhook::CertStrategy;
use multigres_operator::webhook::cert_rotation::{CA_SECRET, SERVING_SECRET};
use multigres_operator::webhook::registration::{MUTATING_CONFIGURATION, VALIDATING_CONFIGURATION};
use pretty_assertions::assert_eq;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use webhook_support::{NAMESPACE, SERVICE, SERVICE_ACCOUNT, install};

const PATH: &str = "/validate-multigres-com-v1alpha1-cell";

/// A TLS client trusting the operator's CA, as the API server does through the caBundle.
async fn connector(client: &kube::Client) -> TlsConnector {
    let ca: Secret = Api::namespaced(client.clone(), NAMESPACE)
        .get(CA_SECRET)
        .await
        .expect("the CA Secret exists");
    let pem = ca.data.expect("data")["ca.crt"].0.clone();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(&pem).expect("CA PEM"))
        .expect("CA accepted");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn connect(connector: &TlsConnector, address: std::net::SocketAddr) -> TlsStream<TcpStream> {
    let stream = TcpStream::connect(address).await.expect("connects");
    let name = ServerName::try_from(format!("{SERVICE}.{NAMESPACE}.svc")).expect("DNS name");
    connector
        .connect(name, stream)
        .await
        .expect("TLS handshake")
}

fn served_certificate(stream: &TlsStream<TcpStream>) -> Vec<u8> {
    stream
        .get_ref()
        .1
        .peer_certificates()
        .expect("a certificate")[0]
        .to_vec()
}

/// A review of an UPDATE of a Cell by the operator's ServiceAccount (allowed, no API reads).
fn review(uid: &str) -> String {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid, "kind": {"group": "multigres.com", "version": "v1alpha1", "kind": "Cell"},
        "resource": {"group": "multigres.com", "version": "v1alpha1", "resource": "cells"},
        "operation": "UPDATE", "name": "c", "namespace": "default",
        "userInfo": {"username": format!("system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}")},
        "object": {"metadata": {"name": "c"}}, "oldObject": {"metadata": {"name": "c"}}}})
    .to_string()
}

fn head(body_length: usize) -> String {
    format!(
        "POST {PATH} HTTP/1.1\r\nHost: {SERVICE}.{NAMESPACE}.svc\r\nContent-Type: \
         application/json\r\nContent-Length: {body_length}\r\nConnection: close\r\n\r\n"
    )
}

/// Reads an HTTP/1.1 response to the end: status and JSON body.
async fn response(stream: &mut TlsStream<TcpStream>) -> (u16, Value) {
    let mut bytes = Vec::new();
    // A close_notify-less close still ends the read; the body is complete by then.
    let _ = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut bytes))
        .await
        .expect("answered within 60s");
    let text = String::from_utf8(bytes).expect("UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    (status, serde_json::from_str(body).expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_under_a_thousand_in_flight_requests_drops_none() {
    const IN_FLIGHT: usize = 1000;
    let installed = install().await;
    let connector = connector(&installed.client()).await;
    let address = installed.server.address;
    let before = served_certificate(&connect(&connector, address).await);

    // Every request is started (handshake done, headers and half the body sent) before the
    // rotation, and finished after it.
    let (started_tx, mut started_rx) = tokio::sync::mpsc::channel::<()>(IN_FLIGHT);
    let (rotated_tx, rotated_rx) = tokio::sync::watch::channel(false);
    let mut requests = Vec::new();
    for n in 0..IN_FLIGHT {
        let connector = connector.clone();
        let started = started_tx.clone();
        let mut rotated = rotated_rx.clone();
        requests.push(tokio::spawn(async move {
            let uid = format!("request-{n}");
            let body = review(&uid);
            let mut stream = connect(&connector, address).await;
            let (first, rest) = body.as_bytes().split_at(body.len() / 2);
            stream
                .write_all(head(body.len()).as_bytes())
                .await
                .expect("headers sent");
            stream.write_all(first).await.expect("half the body sent");
            stream.flush().await.expect("flushed");
            started.send(()).await.expect("test alive");
            rotated.wait_for(|done| *done).await.expect("test alive");
            stream.write_all(rest).await.expect("rest of the body sent");
            stream.flush().await.expect("flushed");
            let (status, review) = response(&mut stream).await;
            (uid, status, review)
        }));
    }
    drop(started_tx);
    for _ in 0..IN_FLIGHT {
        started_rx.recv().await.expect("every request starts");
    }

    // Rotate by hand (docs/webhooks.md): delete the serving Secret; the next check issues a
    // new certificate, served from the next handshake on.
    let CertStrategy::SelfManaged(rotator) = &installed.certificates else {
        unreachable!("an empty cert dir means self-managed certificates");
    };
    Api::<Secret>::namespaced(installed.client(), NAMESPACE)
        .delete(SERVING_SECRET, &DeleteParams::default())
        .await
        .expect("serving Secret deleted");
    rotator
        .reconcile(Timestamp::now())
        .await
        .expect("rotation succeeds");
    let after = served_certificate(&connect(&connector, address).await);
    assert_ne!(before, after, "new handshakes get the new certificate");
    rotated_tx.send(true).expect("requests waiting");

    let mut answered = 0;
    for request in requests {
        let (uid, status, review) = request.await.expect("request task");
        assert_eq!(status, 200);
        assert_eq!(review["response"]["uid"], json!(uid));
        assert_eq!(review["response"]["allowed"], json!(true), "{review}");
        answered += 1;
    }
    assert_eq!(answered, IN_FLIGHT);
    println!("{IN_FLIGHT} requests in flight across the rotation, {answered} answered");
    installed.shutdown().await;
}

#[tokio::test]
async fn a_stalled_client_does_not_block_the_others() {
    let installed = install().await;
    let connector = connector(&installed.client()).await;
    let address = installed.server.address;
    // One client sends headers and a few bytes of its body, then nothing.
    let mut stalled = connect(&connector, address).await;
    stalled
        .write_all(format!("{}{{\"apiV", head(10_000)).as_bytes())
        .await
        .expect("partial request sent");
    stalled.flush().await.expect("flushed");
    // A client that never finishes its TLS handshake either.
    let _silent = TcpStream::connect(address).await.expect("connects");
    for n in 0..20 {
        let uid = format!("other-{n}");
        let body = review(&uid);
        let mut stream = connect(&connector, address).await;
        stream
            .write_all(format!("{}{body}", head(body.len())).as_bytes())
            .await
            .expect("request sent");
        let (status, review) = response(&mut stream).await;
        assert_eq!(
            (status, review["response"]["uid"].clone()),
            (200, json!(uid))
        );
    }
    // (Closed before shutdown, which would otherwise wait for the stalled request.)
    drop(stalled);
    installed.shutdown().await;
}

fn clusters(client: &kube::Client) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("multigres.com", "v1alpha1", "MultigresCluster"),
        "multigresclusters",
    );
    Api::namespaced_with(client.clone(), "default", &resource)
}

fn cluster(name: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
        "metadata": {"name": name},
        "spec": {"cells": [{"name": "zone-a", "zone": "us-east-1a"}]}}))
    .expect("a MultigresCluster")
}

/// Sets `failurePolicy` of every webhook entry of both configurations.
async fn set_failure_policy(client: &kube::Client, policy: &str) {
    let mutating: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let current = mutating.get(MUTATING_CONFIGURATION).await.expect("exists");
    let count = current.webhooks.map_or(0, |w| w.len());
    let ops: Vec<Value> = (0..count)
        .map(|i| json!({"op": "replace", "path": format!("/webhooks/{i}/failurePolicy"), "value": policy}))
        .collect();
    mutating
        .patch(
            MUTATING_CONFIGURATION,
            &PatchParams::default(),
            &Patch::Json::<()>(serde_json::from_value(json!(ops)).expect("patch")),
        )
        .await
        .expect("mutating policy set");
    let validating: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let current = validating
        .get(VALIDATING_CONFIGURATION)
        .await
        .expect("exists");
    let count = current.webhooks.map_or(0, |w| w.len());
    let ops: Vec<Value> = (0..count)
        .map(|i| json!({"op": "replace", "path": format!("/webhooks/{i}/failurePolicy"), "value": policy}))
        .collect();
    validating
        .patch(
            VALIDATING_CONFIGURATION,
            &PatchParams::default(),
            &Patch::Json::<()>(serde_json::from_value(json!(ops)).expect("patch")),
        )
        .await
        .expect("validating policy set");
}

#[tokio::test]
async fn with_the_webhook_down_fail_rejects_and_ignore_admits() {
    let mut installed = install().await;
    let client = installed.client();
    // Up: defaulted.
    let created = clusters(&client)
        .create(&PostParams::default(), &cluster("up"))
        .await
        .expect("admitted");
    assert_eq!(
        created.data["spec"]["globalTopoServer"]["etcd"]["replicas"],
        json!(3)
    );

    installed.server.stop().await;
    let refused = clusters(&client)
        .create(&PostParams::default(), &cluster("down-fail"))
        .await
        .expect_err("failurePolicy Fail refuses writes while the webhook is down");
    let kube::Error::Api(status) = refused else {
        unreachable!("an API error, got {refused:?}");
    };
    assert_eq!(status.code, 500, "{status:?}");
    assert!(
        status.message.starts_with(
            "Internal error occurred: failed calling webhook \"mmultigrescluster.kb.io\""
        ),
        "{status:?}"
    );

    set_failure_policy(&client, "Ignore").await;
    let admitted = clusters(&client)
        .create(&PostParams::default(), &cluster("down-ignore"))
        .await
        .expect("failurePolicy Ignore admits writes while the webhook is down");
    // Stored as written (plus the schema defaults): no webhook defaulted it.
    assert_eq!(admitted.data["spec"]["globalTopoServer"], Value::Null);
    assert_eq!(
        admitted.data["spec"]["cells"],
        json!([{"name": "zone-a", "zone": "us-east-1a"}])
    );
    installed.kubesim.shutdown().await;
}
