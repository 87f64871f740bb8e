//! Lists and watches with a real kube client: pagination, resourceVersion/resourceVersionMatch,
//! label and field selectors (also on watches), bookmarks, timeouts, streaming lists and the
//! in-stream 410 Expired (rust-ecosystem.md §3.1 watcher rows, §3.3).

mod support;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ListParams, PostParams, VersionMatch, WatchEvent, WatchParams};
use pretty_assertions::assert_eq;
use serde_json::json;
use support::{raw, start, start_with, status_of};

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels}, "data": {"k": "v"},
    }))
    .expect("valid ConfigMap")
}

/// The names listed, without the `kube-root-ca.crt` every namespace has.
fn names(list: &kube::core::ObjectList<ConfigMap>) -> Vec<String> {
    list.items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .filter(|name| name != support::ROOT_CA)
        .collect()
}

#[tokio::test]
async fn pagination_walks_a_consistent_snapshot_in_name_order() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for i in (0..25).rev() {
        api.create(
            &PostParams::default(),
            &cm(&format!("cm-{i:02}"), json!({})),
        )
        .await
        .expect("created");
    }
    let first = api
        .list(&ListParams::default().limit(10))
        .await
        .expect("page 1");
    assert_eq!(
        names(&first),
        (0..10).map(|i| format!("cm-{i:02}")).collect::<Vec<_>>()
    );
    // 15 more of ours and the namespace's kube-root-ca.crt.
    assert_eq!(first.metadata.remaining_item_count, Some(16));
    let list_rv = first.metadata.resource_version.clone().expect("list rv");
    // A change between pages does not show up in later pages of the same list.
    api.create(&PostParams::default(), &cm("cm-99", json!({})))
        .await
        .expect("created");
    api.delete("cm-20", &Default::default())
        .await
        .expect("deleted");
    let token = first.metadata.continue_.clone().expect("continue token");
    let second = api
        .list(&ListParams::default().limit(10).continue_token(&token))
        .await
        .expect("page 2");
    assert_eq!(
        names(&second),
        (10..20).map(|i| format!("cm-{i:02}")).collect::<Vec<_>>()
    );
    assert_eq!(
        second.metadata.resource_version.as_deref(),
        Some(list_rv.as_str())
    );
    let token = second.metadata.continue_.clone().expect("continue token");
    let third = api
        .list(&ListParams::default().limit(10).continue_token(&token))
        .await
        .expect("page 3");
    assert_eq!(
        names(&third),
        (20..25).map(|i| format!("cm-{i:02}")).collect::<Vec<_>>()
    );
    assert_eq!(third.metadata.continue_, None);
    assert_eq!(third.metadata.remaining_item_count, None);
    server.shutdown().await;
}

#[tokio::test]
async fn resource_version_match_exact_serves_the_past() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &cm("one", json!({})))
        .await
        .expect("created");
    let then = api.list(&ListParams::default()).await.expect("listed");
    let then_rv = then.metadata.resource_version.clone().expect("rv");
    api.create(&PostParams::default(), &cm("two", json!({})))
        .await
        .expect("created");
    let exact = api
        .list(
            &ListParams::default()
                .at(&then_rv)
                .matching(VersionMatch::Exact),
        )
        .await
        .expect("exact list");
    assert_eq!(names(&exact), vec!["one"]);
    assert_eq!(exact.metadata.resource_version, Some(then_rv.clone()));
    let not_older = api
        .list(
            &ListParams::default()
                .at(&then_rv)
                .matching(VersionMatch::NotOlderThan),
        )
        .await
        .expect("not-older-than list");
    assert_eq!(names(&not_older), vec!["one", "two"]);
    // kube retries 504s, so ask over raw HTTP.
    let future = raw(&server, "GET", "/api/v1/namespaces/default/configmaps?resourceVersion=999999&resourceVersionMatch=NotOlderThan", &[], "").await;
    assert_eq!(future.status, 504);
    let future = future.json();
    assert_eq!(
        future["message"],
        format!(
            "Timeout: Too large resource version: 999999, current: {}",
            server.cluster().revision()
        )
    );
    assert_eq!(future["reason"], "Timeout");
    server.shutdown().await;
}

#[tokio::test]
async fn exact_lists_older_than_the_history_are_expired() {
    let server = start_with(kubesim::Server::builder().watch_history(2)).await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("created");
    let old_rv = server.cluster().revision();
    for name in ["b", "c", "d"] {
        api.create(&PostParams::default(), &cm(name, json!({})))
            .await
            .expect("created");
    }
    let expired = status_of(
        api.list(
            &ListParams::default()
                .at(&old_rv.to_string())
                .matching(VersionMatch::Exact),
        )
        .await,
    );
    assert_eq!(expired.code, 410);
    assert_eq!(expired.reason, "Expired");
    assert_eq!(
        expired.message,
        format!("too old resource version: {old_rv} ({})", old_rv + 1)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn label_and_field_selectors_filter_lists() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(
        &PostParams::default(),
        &cm("web", json!({"app": "web", "tier": "front"})),
    )
    .await
    .expect("created");
    api.create(
        &PostParams::default(),
        &cm("db", json!({"app": "db", "tier": "back"})),
    )
    .await
    .expect("created");
    api.create(&PostParams::default(), &cm("bare", json!({})))
        .await
        .expect("created");
    let cases = [
        ("app=web", vec!["web"]),
        ("app!=web", vec!["bare", "db"]),
        ("app in (web,db)", vec!["db", "web"]),
        ("app notin (web)", vec!["bare", "db"]),
        ("tier", vec!["db", "web"]),
        ("!tier", vec!["bare"]),
        ("app=db,tier=back", vec!["db"]),
    ];
    for (selector, expected) in cases {
        let list = api
            .list(&ListParams::default().labels(selector))
            .await
            .expect(selector);
        assert_eq!(names(&list), expected, "{selector}");
    }
    let by_name = api
        .list(&ListParams::default().fields("metadata.name=db"))
        .await
        .expect("fields");
    assert_eq!(names(&by_name), vec!["db"]);
    let not_name = api
        .list(&ListParams::default().fields("metadata.name!=db,metadata.namespace=default"))
        .await
        .expect("fields");
    assert_eq!(names(&not_name), vec!["bare", "web"]);
    let unsupported = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps?fieldSelector=spec.x%3D1",
        &[],
        "",
    )
    .await;
    assert_eq!(unsupported.status, 400);
    assert_eq!(
        unsupported.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
               "message":"field label not supported: spec.x","reason":"BadRequest","code":400})
    );
    let pods: Api<Pod> = Api::all(server.client());
    pods.list(&ListParams::default().fields("spec.nodeName=kubesim-zone-a,status.phase!=Failed"))
        .await
        .expect("pods support their own field selectors");
    server.shutdown().await;
}

async fn next_event(
    stream: &mut (impl futures::Stream<Item = Result<WatchEvent<ConfigMap>, kube::Error>> + Unpin),
) -> WatchEvent<ConfigMap> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event within 10s")
        .expect("stream open")
        .expect("event decodes")
}

fn event_name(event: &WatchEvent<ConfigMap>) -> (String, String) {
    match event {
        WatchEvent::Added(o) => ("ADDED".into(), o.metadata.name.clone().unwrap_or_default()),
        WatchEvent::Modified(o) => (
            "MODIFIED".into(),
            o.metadata.name.clone().unwrap_or_default(),
        ),
        WatchEvent::Deleted(o) => (
            "DELETED".into(),
            o.metadata.name.clone().unwrap_or_default(),
        ),
        WatchEvent::Bookmark(b) => ("BOOKMARK".into(), b.metadata.resource_version.clone()),
        WatchEvent::Error(e) => ("ERROR".into(), e.message.clone()),
    }
}

#[tokio::test]
async fn watch_with_a_label_selector_sees_objects_enter_and_leave() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(
        &PostParams::default(),
        &cm("early", json!({"watched": "yes"})),
    )
    .await
    .expect("created");
    let mut stream = api
        .watch(
            &WatchParams::default().labels("watched=yes").timeout(30),
            "0",
        )
        .await
        .expect("watch")
        .boxed();
    assert_eq!(
        event_name(&next_event(&mut stream).await),
        ("ADDED".into(), "early".into())
    );
    api.create(
        &PostParams::default(),
        &cm("ignored", json!({"watched": "no"})),
    )
    .await
    .expect("created");
    let mut late = api
        .create(
            &PostParams::default(),
            &cm("late", json!({"watched": "no"})),
        )
        .await
        .expect("created");
    late.metadata.labels = Some([("watched".to_string(), "yes".to_string())].into());
    let late = api
        .replace("late", &PostParams::default(), &late)
        .await
        .expect("now matches");
    assert_eq!(
        event_name(&next_event(&mut stream).await),
        ("ADDED".into(), "late".into())
    );
    let mut leaving = late.clone();
    leaving.metadata.labels = Some([("watched".to_string(), "no".to_string())].into());
    api.replace("late", &PostParams::default(), &leaving)
        .await
        .expect("stops matching");
    assert_eq!(
        event_name(&next_event(&mut stream).await),
        ("DELETED".into(), "late".into())
    );
    api.delete("early", &Default::default())
        .await
        .expect("deleted");
    assert_eq!(
        event_name(&next_event(&mut stream).await),
        ("DELETED".into(), "early".into())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn watch_by_name_field_selector_replays_from_a_resource_version() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let created = api
        .create(&PostParams::default(), &cm("target", json!({})))
        .await
        .expect("created");
    let rv = created.metadata.resource_version.clone().expect("rv");
    let mut changed = created.clone();
    changed.data = Some([("k".to_string(), "2".to_string())].into());
    api.replace("target", &PostParams::default(), &changed)
        .await
        .expect("replaced");
    api.create(&PostParams::default(), &cm("other", json!({})))
        .await
        .expect("created");
    let mut stream = api
        .watch(
            &WatchParams::default()
                .fields("metadata.name=target")
                .timeout(30),
            &rv,
        )
        .await
        .expect("watch")
        .boxed();
    let event = next_event(&mut stream).await;
    let WatchEvent::Modified(object) = event else {
        unreachable!("expected MODIFIED, got {event:?}");
    };
    assert_eq!(object.data, changed.data);
    server.shutdown().await;
}

#[tokio::test]
async fn watch_times_out_with_a_final_bookmark() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let rv = server.cluster().revision().to_string();
    let events: Vec<(String, String)> = api
        .watch(&WatchParams::default().timeout(1).disable_bookmarks(), &rv)
        .await
        .expect("watch")
        .map_ok(|e| event_name(&e))
        .try_collect()
        .await
        .expect("stream ends cleanly");
    assert_eq!(events, Vec::<(String, String)>::new());
    let events: Vec<(String, String)> = api
        .watch(&WatchParams::default().timeout(1), &rv)
        .await
        .expect("watch")
        .map_ok(|e| event_name(&e))
        .try_collect()
        .await
        .expect("stream ends cleanly");
    assert_eq!(events, vec![("BOOKMARK".to_string(), rv)]);
    server.shutdown().await;
}

#[tokio::test]
async fn streaming_list_ends_initial_events_with_an_annotated_bookmark() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("created");
    api.create(&PostParams::default(), &cm("b", json!({})))
        .await
        .expect("created");
    let response = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=0&timeoutSeconds=1",
        &[],
        "",
    )
    .await;
    assert_eq!(response.status, 200);
    let events: Vec<serde_json::Value> = response
        .body
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    let events: Vec<serde_json::Value> = events
        .into_iter()
        .filter(|e| e["object"]["metadata"]["name"] != support::ROOT_CA)
        .collect();
    let summary: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("ADDED".to_string(), "a".to_string()),
            ("ADDED".to_string(), "b".to_string()),
            ("BOOKMARK".to_string(), String::new()),
            ("BOOKMARK".to_string(), String::new()),
        ]
    );
    let rv = server.cluster().revision().to_string();
    assert_eq!(
        events[2]["object"],
        json!({"kind": "ConfigMap", "apiVersion": "v1",
               "metadata": {"resourceVersion": rv, "annotations": {"k8s.io/initial-events-end": "true"}}})
    );
    assert_eq!(events[0]["object"]["apiVersion"], "v1");
    assert_eq!(events[0]["object"]["kind"], "ConfigMap");
    server.shutdown().await;
}

#[tokio::test]
async fn watch_from_an_expired_version_gets_an_in_stream_410() {
    let server = start_with(kubesim::Server::builder().watch_history(2)).await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let old = server.cluster().revision();
    for name in ["a", "b", "c", "d"] {
        api.create(&PostParams::default(), &cm(name, json!({})))
            .await
            .expect("created");
    }
    let mut stream = api
        .watch(&WatchParams::default().timeout(30), &old.to_string())
        .await
        .expect("watch starts with HTTP 200")
        .boxed();
    let event = next_event(&mut stream).await;
    let WatchEvent::Error(status) = event else {
        unreachable!("expected ERROR, got {event:?}");
    };
    assert_eq!(status.code, 410);
    assert_eq!(status.reason, "Expired");
    assert_eq!(
        status.message,
        format!("too old resource version: {old} ({})", old + 2)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn watch_parameters_are_validated() {
    let server = start().await;
    let no_initial = raw(&server, "GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersionMatch=NotOlderThan&resourceVersion=0", &[], "").await;
    assert_eq!(no_initial.status, 422);
    assert_eq!(
        no_initial.json()["message"],
        "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
    );
    let exact = raw(&server, "GET", "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=Exact&resourceVersion=1", &[], "").await;
    assert_eq!(exact.status, 422);
    assert_eq!(
        exact.json()["message"],
        "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
    );
    server.shutdown().await;
}
