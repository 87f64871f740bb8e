//! kube-runtime against kubesim: a reflector and a Controller (with the `finalizer()` helper,
//! SSA children and owner-reference GC) stay consistent across injected watch drops, failing
//! watch requests and the in-stream 410 Expired relist; kube-lease-manager elects exactly one
//! leader; the event Recorder's events.k8s.io Events read back as core/v1 Events
//! (rust-ecosystem.md §3.1).

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use kubesim::FaultRule;
use pretty_assertions::assert_eq;
use serde_json::json;
use support::{eventually, start, start_with};

const DEADLINE: Duration = Duration::from_secs(60);

fn source(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"role": "source"}}, "data": {"value": value}}))
    .expect("valid ConfigMap")
}

/// Fails every watch request until the returned rule set is cleared.
fn block_watches(server: &kubesim::Handle) {
    server.faults().add(FaultRule {
        verb: Some("watch".into()),
        resource: Some("configmaps".into()),
        error_rate: 1.0,
        codes: vec![503],
        ..FaultRule::default()
    });
    server.faults().drop_watches();
}

#[tokio::test]
async fn a_reflector_converges_after_drops_and_an_expired_watch() {
    let server = start_with(kubesim::Server::builder().watch_history(4)).await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let (reader, writer) = reflector::store();
    let stream = watcher(api.clone(), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects();
    let task = tokio::spawn(async move {
        stream.for_each(|_| async {}).await;
    });
    for i in 0..3 {
        api.create(&PostParams::default(), &source(&format!("r{i}"), "0"))
            .await
            .expect("created");
    }
    eventually("initial sync", DEADLINE, || async {
        let ours = reader
            .state()
            .iter()
            .filter(|cm| cm.name_any() != support::ROOT_CA)
            .count();
        (ours == 3).then_some(())
    })
    .await;
    let lists_before = server.requests().count("list", "configmaps");

    // Cut the stream and keep the watcher out while more changes than the history holds happen:
    // its next watch from the old resourceVersion must get 410 and relist.
    block_watches(&server);
    for i in 0..3 {
        let patch = Patch::Merge(json!({"data": {"value": "1"}}));
        api.patch(&format!("r{i}"), &PatchParams::default(), &patch)
            .await
            .expect("patched");
    }
    for i in 3..6 {
        api.create(&PostParams::default(), &source(&format!("r{i}"), "1"))
            .await
            .expect("created");
    }
    api.delete("r0", &Default::default())
        .await
        .expect("deleted");
    server.faults().clear();

    let expected: BTreeMap<String, String> =
        (1..6).map(|i| (format!("r{i}"), "1".to_string())).collect();
    eventually("reflector matches the server", DEADLINE, || async {
        let seen: BTreeMap<String, String> = reader
            .state()
            .iter()
            .filter(|cm| cm.name_any() != support::ROOT_CA)
            .map(|cm| {
                (
                    cm.name_any(),
                    cm.data
                        .as_ref()
                        .and_then(|d| d.get("value").cloned())
                        .unwrap_or_default(),
                )
            })
            .collect();
        (seen == expected).then_some(())
    })
    .await;
    assert!(
        server.requests().count("list", "configmaps") > lists_before,
        "the 410 made the watcher relist"
    );
    assert!(
        reader
            .get(&ObjectRef::new("r0").within("default"))
            .is_none()
    );
    task.abort();
    server.shutdown().await;
}

struct Context {
    client: kube::Client,
}

#[derive(Debug, thiserror::Error)]
enum ReconcileError {
    #[error("kube API call failed")]
    Kube(#[source] kube::Error),
    #[error("finalizer handling failed")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<ReconcileError>>),
}

/// Mirrors each source ConfigMap into `<name>-copy`, owned by the source; the finalizer
/// deletes the copy explicitly on cleanup.
async fn reconcile(source: Arc<ConfigMap>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let ns = source.namespace().unwrap_or_default();
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns);
    finalizer(&api, "kubesim.test/cleanup", source, |event| async {
        match event {
            Finalizer::Apply(source) => {
                let owner = source
                    .controller_owner_ref(&())
                    .expect("stored objects have a uid");
                let copy = json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("{}-copy", source.name_any()),
                                 "labels": {"role": "copy"}, "ownerReferences": [owner]},
                    "data": source.data.clone().unwrap_or_default()});
                api.patch(
                    &format!("{}-copy", source.name_any()),
                    &PatchParams::apply("mirror").force(),
                    &Patch::Apply(&copy),
                )
                .await
                .map_err(ReconcileError::Kube)?;
                Ok(Action::await_change())
            }
            Finalizer::Cleanup(source) => {
                api.delete(&format!("{}-copy", source.name_any()), &Default::default())
                    .await
                    .map(|_| ())
                    .or_else(|e| match e {
                        kube::Error::Api(s) if s.code == 404 => Ok(()),
                        other => Err(ReconcileError::Kube(other)),
                    })?;
                Ok(Action::await_change())
            }
        }
    })
    .await
    .map_err(|e| ReconcileError::Finalizer(Box::new(e)))
}

fn error_policy(_: Arc<ConfigMap>, _: &ReconcileError, _: Arc<Context>) -> Action {
    Action::requeue(Duration::from_millis(200))
}

async fn copies(api: &Api<ConfigMap>) -> BTreeMap<String, String> {
    api.list(&ListParams::default().labels("role=copy"))
        .await
        .expect("listed")
        .items
        .into_iter()
        .map(|cm| {
            (
                cm.name_any(),
                cm.data
                    .and_then(|d| d.get("value").cloned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_controller_stays_consistent_across_faults() {
    let server = start_with(kubesim::Server::builder().watch_history(8)).await;
    let client = server.client();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let sources = Api::<ConfigMap>::namespaced(client.clone(), "default");
    let controller = Controller::new(sources, watcher::Config::default().labels("role=source"))
        .owns(api.clone(), watcher::Config::default().labels("role=copy"))
        .run(
            reconcile,
            error_policy,
            Arc::new(Context {
                client: client.clone(),
            }),
        )
        .for_each(|_| async {});
    let task = tokio::spawn(controller);
    for i in 0..3 {
        api.create(&PostParams::default(), &source(&format!("s{i}"), "a"))
            .await
            .expect("created");
    }
    let want = |value: &str, names: &[usize]| -> BTreeMap<String, String> {
        names
            .iter()
            .map(|i| (format!("s{i}-copy"), value.to_string()))
            .collect()
    };
    eventually("copies made", DEADLINE, || async {
        (copies(&api).await == want("a", &[0, 1, 2])).then_some(())
    })
    .await;
    let with_finalizer = api.get("s0").await.expect("source");
    assert_eq!(
        with_finalizer.finalizers(),
        &["kubesim.test/cleanup".to_string()]
    );

    // Changes made while every watch fails, then more than the history holds: the
    // controller must relist and converge.
    block_watches(&server);
    for round in ["b", "c", "d"] {
        for i in 0..3 {
            let patch = Patch::Merge(json!({"data": {"value": round}}));
            api.patch(&format!("s{i}"), &PatchParams::default(), &patch)
                .await
                .expect("patched");
        }
    }
    server.faults().clear();
    eventually("copies follow the sources", DEADLINE, || async {
        (copies(&api).await == want("d", &[0, 1, 2])).then_some(())
    })
    .await;

    // Deleting a source runs the finalizer cleanup; the copy goes with it.
    api.delete("s1", &Default::default())
        .await
        .expect("deleted");
    eventually("source and copy gone", DEADLINE, || async {
        let gone = api.get_opt("s1").await.expect("get").is_none();
        (gone && copies(&api).await == want("d", &[0, 2])).then_some(())
    })
    .await;
    task.abort();
    server.shutdown().await;
}

#[tokio::test]
async fn lease_manager_elects_exactly_one_leader() {
    let server = start().await;
    let make = |identity: &'static str| {
        kube_lease_manager::LeaseManagerBuilder::new(server.client(), "kubesim-election")
            .with_identity(identity)
            .with_duration(3)
            .with_grace(1)
            .build()
    };
    let first = make("first").await.expect("manager");
    let second = make("second").await.expect("manager");
    let (mut first_rx, first_task) = first.watch().await;
    let (second_rx, second_task) = second.watch().await;
    let leaders = eventually("one leader", DEADLINE, || {
        let a = *first_rx.borrow();
        let b = *second_rx.borrow();
        async move { (a || b).then_some((a, b)) }
    })
    .await;
    assert!(leaders.0 ^ leaders.1, "exactly one leader: {leaders:?}");
    // Hold for more than a lease duration: leadership must not be shared or flap.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        let (a, b) = (*first_rx.borrow_and_update(), *second_rx.borrow());
        assert!(!(a && b), "two leaders at once");
        let _ = tokio::time::timeout(Duration::from_millis(200), first_rx.changed()).await;
    }
    let lease: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(server.client(), "default");
    let holder = lease
        .get("kubesim-election")
        .await
        .expect("lease exists")
        .spec
        .and_then(|s| s.holder_identity);
    let expected = if leaders.0 { "first" } else { "second" };
    assert_eq!(holder.as_deref(), Some(expected));
    drop(first_rx);
    drop(second_rx);
    let _ = first_task.await;
    let _ = second_task.await;
    server.shutdown().await;
}

#[tokio::test]
async fn recorder_events_read_back_as_core_events() {
    let server = start().await;
    let client = server.client();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm = api
        .create(&PostParams::default(), &source("observed", "x"))
        .await
        .expect("created");
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "kubesim-test".into(),
            instance: Some("pod-0".into()),
        },
    );
    let event = Event {
        type_: EventType::Normal,
        reason: "Mirrored".into(),
        note: Some("made a copy".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    recorder
        .publish(&event, &cm.object_ref(&()))
        .await
        .expect("published");
    recorder
        .publish(&event, &cm.object_ref(&()))
        .await
        .expect("repeat published");
    let core: Api<CoreEvent> = Api::namespaced(client, "default");
    let found = core
        .list(&ListParams::default().fields(&format!(
            "involvedObject.name=observed,involvedObject.kind=ConfigMap,involvedObject.uid={}",
            cm.uid().expect("uid")
        )))
        .await
        .expect("core events listed")
        .items;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reason.as_deref(), Some("Mirrored"));
    assert_eq!(found[0].message.as_deref(), Some("made a copy"));
    assert_eq!(
        found[0].reporting_component.as_deref(),
        Some("kubesim-test")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_metadata_watcher_sees_partial_objects() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let metadata: Api<kube::core::PartialObjectMeta<ConfigMap>> =
        Api::namespaced(server.client(), "default");
    let (reader, writer) = reflector::store();
    let stream = watcher(metadata, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects();
    let task = tokio::spawn(async move {
        stream.for_each(|_| async {}).await;
    });
    api.create(&PostParams::default(), &source("meta-1", "x"))
        .await
        .expect("created");
    api.create(&PostParams::default(), &source("meta-2", "x"))
        .await
        .expect("created");
    let names = eventually("metadata reflector synced", DEADLINE, || async {
        let mut names: Vec<String> = reader
            .state()
            .iter()
            .map(|m| m.name_any())
            .filter(|name| name != support::ROOT_CA)
            .collect();
        names.sort();
        (names.len() == 2).then_some(names)
    })
    .await;
    assert_eq!(names, vec!["meta-1", "meta-2"]);
    task.abort();
    server.shutdown().await;
}

#[tokio::test]
async fn a_streaming_list_watcher_syncs_without_a_list_call() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &source("streamed-1", "x"))
        .await
        .expect("created");
    let (reader, writer) = reflector::store();
    let stream = watcher(api.clone(), watcher::Config::default().streaming_lists())
        .default_backoff()
        .reflect(writer)
        .applied_objects();
    let task = tokio::spawn(async move {
        stream.for_each(|_| async {}).await;
    });
    tokio::time::timeout(DEADLINE, reader.wait_until_ready())
        .await
        .expect("initial events end within the deadline")
        .expect("store ready");
    api.create(&PostParams::default(), &source("streamed-2", "x"))
        .await
        .expect("created");
    let names = eventually("both objects", DEADLINE, || async {
        let mut names: Vec<String> = reader
            .state()
            .iter()
            .map(|m| m.name_any())
            .filter(|name| name != support::ROOT_CA)
            .collect();
        names.sort();
        (names.len() == 2).then_some(names)
    })
    .await;
    assert_eq!(names, vec!["streamed-1", "streamed-2"]);
    assert_eq!(server.requests().count("list", "configmaps"), 0);
    task.abort();
    server.shutdown().await;
}
