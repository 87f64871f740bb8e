//! The operator under faults (spec-controllers.md §14; issue "The operator operates"): 10% of its
//! writes failing with 500, 409 and 429 while its watches are cut every few seconds; the real
//! binary SIGKILLed at several points of a convergence and restarted; and two replicas with
//! leader election, of which only the leader writes. Each ends with exactly the objects of the
//! cluster, none duplicated, none orphaned.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use multigres_api::v1alpha1::{Cell, MultigresCluster, Phase};
use multigres_operator::operator::USER_AGENT;
use serde_json::json;
use support::cluster::{self as cluster_support, Cluster, eventually, owned_objects};

const NAMESPACE: &str = "default";
const LONG: Duration = Duration::from_secs(300);
/// The objects of the minimal cluster (golden case 1 has 30).
const MINIMAL_OBJECTS: usize = 30;

async fn healthy(client: &kube::Client, name: &str) -> bool {
    Api::<MultigresCluster>::namespaced(client.clone(), NAMESPACE)
        .get_opt(name)
        .await
        .ok()
        .flatten()
        .and_then(|c| c.status)
        .and_then(|s| s.phase)
        == Some(Phase::Healthy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_writes_and_dropped_watches_still_converge_without_strays() {
    if !cluster_support::etcd_available("faults") {
        return;
    }
    let cluster = Cluster::start(&["zone-a"]).await;
    let client = cluster.client.clone();
    cluster
        .apply_file(&cluster_support::sample("minimal.yaml"))
        .await;
    let mut rules = Vec::new();
    for verb in ["create", "update", "patch", "delete"] {
        rules.push(kubesim::faults::FaultRule {
            verb: Some(verb.into()),
            error_rate: 0.1,
            codes: vec![500, 409, 429],
            retry_after_seconds: Some(1),
            ..Default::default()
        });
    }
    rules.push(kubesim::faults::FaultRule {
        verb: Some("watch".into()),
        drop_watch_after_ms: Some(3_000),
        ..Default::default()
    });
    cluster.server.faults().set_rules(rules);
    let operator = cluster.start_operator(Duration::from_secs(36_000));
    eventually("minimal to be Healthy under faults", LONG, || async {
        healthy(&client, "minimal").await.then_some(())
    })
    .await;
    cluster.server.faults().clear();
    let objects = owned_objects(&client, NAMESPACE, "minimal").await;
    assert_eq!(objects.len(), MINIMAL_OBJECTS, "{objects:#?}");
    operator.stop().await;
    cluster.server.shutdown().await;
}

/// The operator binary against the kubesim of `cluster`.
fn spawn_binary(cluster: &Cluster, identity: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .args([
            "run",
            "--webhook-enable=false",
            "--metrics-bind-address=0",
            "--health-probe-bind-address=0",
            "--address-resolution=api-server",
            "--namespace=default",
        ])
        .arg(format!("--identity={identity}"))
        .env("KUBECONFIG", cluster.server.kubeconfig_path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the operator binary starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_killed_mid_convergence_and_restarted_converges_without_strays() {
    if !cluster_support::etcd_available("kill") {
        return;
    }
    let cluster = Cluster::start(&["zone-a"]).await;
    let client = cluster.client.clone();
    cluster
        .apply_file(&cluster_support::sample("minimal.yaml"))
        .await;
    let writes = || cluster.server.requests().mutating_by_user_agent(USER_AGENT);
    // SIGKILL after the 3rd, 10th, 18th and 26th write of the run: inside the cluster pass, the
    // shard's first pods, its PVCs and secrets, and the status writes.
    for (round, after) in [3usize, 10, 18, 26].into_iter().enumerate() {
        let mut child = spawn_binary(&cluster, &format!("kill-{round}"));
        let target = writes() + after;
        let reached = eventually("the operator to write", Duration::from_secs(60), || async {
            if writes() >= target || healthy(&client, "minimal").await {
                return Some(());
            }
            None
        })
        .await;
        let () = reached;
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }
    let mut last = spawn_binary(&cluster, "final");
    eventually("minimal to be Healthy after the kills", LONG, || async {
        healthy(&client, "minimal").await.then_some(())
    })
    .await;
    let objects = owned_objects(&client, NAMESPACE, "minimal").await;
    assert_eq!(objects.len(), MINIMAL_OBJECTS, "{objects:#?}");
    // SIGTERM: a clean stop.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(last.id()).expect("a pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let status = last.wait().expect("the operator exits");
    assert!(status.success(), "a SIGTERM stop is clean: {status}");
    cluster.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_two_replicas_only_the_leader_writes_and_the_other_takes_over() {
    if !cluster_support::etcd_available("leader") {
        return;
    }
    let cluster = Cluster::start(&["zone-a"]).await;
    let client = cluster.client.clone();
    let first = cluster.start_operator_with(Duration::from_secs(36_000), Some("first"), true);
    let first_agent = format!("{USER_AGENT} (first)");
    // The first replica holds the lease before the second starts.
    eventually(
        "the first replica to lead",
        Duration::from_secs(30),
        || async {
            let lease = Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(
                client.clone(),
                NAMESPACE,
            )
            .get_opt("multigres-operator.multigres.com")
            .await
            .ok()
            .flatten()?;
            (lease.spec?.holder_identity.as_deref() == Some("first")).then_some(())
        },
    )
    .await;
    let second = cluster.start_operator_with(Duration::from_secs(36_000), Some("second"), true);
    let second_agent = format!("{USER_AGENT} (second)");
    cluster
        .apply_file(&cluster_support::sample("minimal.yaml"))
        .await;
    eventually("minimal to be Healthy", LONG, || async {
        healthy(&client, "minimal").await.then_some(())
    })
    .await;
    let object_writes = |agent: &str| {
        cluster.server.requests().count_matching(|entry| {
            entry.is_mutating()
                && entry.user_agent_starts_with(agent)
                && !entry.qualified_resource().starts_with("leases")
        })
    };
    assert!(
        object_writes(&first_agent) > 0,
        "the leader converged the cluster"
    );
    assert_eq!(
        object_writes(&second_agent),
        0,
        "the follower wrote nothing"
    );

    // The leader stops and releases the lease; the follower takes over and reverts an edit.
    first.stop().await;
    Api::<Cell>::namespaced(client.clone(), NAMESPACE)
        .patch(
            "minimal-zone-a-96c88ae0",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"multigateway": {"replicas": 5}}})),
        )
        .await
        .expect("a user edit");
    eventually("the new leader to revert the edit", LONG, || async {
        let cell = Api::<Cell>::namespaced(client.clone(), NAMESPACE)
            .get("minimal-zone-a-96c88ae0")
            .await
            .ok()?;
        (cell.spec.multigateway.replicas == Some(1)).then_some(())
    })
    .await;
    assert!(object_writes(&second_agent) > 0, "the new leader writes");
    second.stop().await;
    cluster.server.shutdown().await;
}
