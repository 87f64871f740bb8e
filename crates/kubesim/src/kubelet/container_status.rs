//! One container's `status.containerStatuses[]` entry through its simulated life: started
//! (running), crashed (restarted at once the first time, then `CrashLoopBackOff` with the
//! kubelet's doubling back-off), restarted, and stopped when its pod terminates.
//!
//! Ids are derived, not random, so a run is reproducible: `containerID` hashes the pod uid,
//! container name and restart count (`containerd://<64 hex>`); `imageID` hashes the image as
//! containerd would report it (`docker.io/library/nginx@sha256:<64 hex>`). Pure.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The kubelet's crash back-off starts at 10 s and doubles up to 5 minutes.
const BACKOFF_INITIAL_SECONDS: u64 = 10;
const BACKOFF_MAX_SECONDS: u64 = 300;

fn hex_sha256(input: &str) -> String {
    Sha256::digest(input.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The image reference as the container runtime reports it: registry `docker.io` and the
/// `library/` namespace filled in, `:latest` when neither tag nor digest is given
/// (`nginx` → `docker.io/library/nginx:latest`).
pub fn normalize_image(image: &str) -> String {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let first = name.split('/').next().unwrap_or_default();
    let has_registry =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let qualified = if has_registry {
        name.to_string()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    let last = qualified.rsplit('/').next().unwrap_or_default();
    match digest {
        Some(digest) => format!("{qualified}@{digest}"),
        None if last.contains(':') => qualified,
        None => format!("{qualified}:latest"),
    }
}

/// The image id: the image's own digest, or a digest derived from its name.
pub fn image_id(image: &str) -> String {
    let normalized = normalize_image(image);
    if normalized.contains('@') {
        return normalized;
    }
    let repository = match normalized.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo.to_string(),
        _ => normalized.clone(),
    };
    format!("{repository}@sha256:{}", hex_sha256(&normalized))
}

/// `containerd://<64 hex>` for one incarnation of a container.
pub fn container_id(pod_uid: &str, container: &str, restart_count: i64) -> String {
    format!(
        "containerd://{}",
        hex_sha256(&format!("{pod_uid}/{container}/{restart_count}"))
    )
}

/// The back-off before restart number `restart_count + 1`, in simulated seconds: 10 s after
/// the second crash, then 20, 40, ... up to 300.
pub fn backoff_seconds(restart_count: i64) -> u64 {
    let doublings = u32::try_from(restart_count.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    (BACKOFF_INITIAL_SECONDS << doublings).min(BACKOFF_MAX_SECONDS)
}

fn restart_count(status: &Value) -> i64 {
    status
        .get("restartCount")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// A running container. `existing` (this container's current status) keeps its restart count,
/// last state and, when it is already running, its start time and id.
pub fn running(
    spec: &Value,
    pod_uid: &str,
    existing: Option<&Value>,
    ready: bool,
    now: &str,
) -> Value {
    let name = spec.get("name").and_then(Value::as_str).unwrap_or_default();
    let image = spec
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let restarts = existing.map(restart_count).unwrap_or(0);
    let state = match existing.and_then(|e| e.pointer("/state/running")) {
        Some(running) => json!({"running": running}),
        None => json!({"running": {"startedAt": now}}),
    };
    let last_state = existing
        .and_then(|e| e.get("lastState"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    json!({
        "name": name,
        "state": state,
        "lastState": last_state,
        "ready": ready,
        "restartCount": restarts,
        "image": normalize_image(image),
        "imageID": image_id(image),
        "containerID": existing
            .and_then(|e| e.get("containerID"))
            .filter(|_| existing.is_some_and(|e| e.pointer("/state/running").is_some()))
            .cloned()
            .unwrap_or_else(|| json!(container_id(pod_uid, name, restarts))),
        "started": true,
    })
}

/// A container that ran to completion (an init container, or any container of a pod being
/// stopped).
pub fn completed(spec: &Value, pod_uid: &str, existing: Option<&Value>, now: &str) -> Value {
    let name = spec.get("name").and_then(Value::as_str).unwrap_or_default();
    let image = spec
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let restarts = existing.map(restart_count).unwrap_or(0);
    if let Some(done) = existing.filter(|e| e.pointer("/state/terminated").is_some()) {
        return done.clone();
    }
    let started_at = existing
        .and_then(|e| e.pointer("/state/running/startedAt"))
        .cloned()
        .unwrap_or_else(|| json!(now));
    let id = existing
        .and_then(|e| e.get("containerID"))
        .cloned()
        .unwrap_or_else(|| json!(container_id(pod_uid, name, restarts)));
    json!({
        "name": name,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                 "startedAt": started_at, "finishedAt": now, "containerID": id}},
        "lastState": existing.and_then(|e| e.get("lastState")).cloned().unwrap_or_else(|| json!({})),
        "ready": false,
        "restartCount": restarts,
        "image": normalize_image(image),
        "imageID": image_id(image),
        "containerID": id,
        "started": false,
    })
}

/// What a crash leads to.
#[derive(Clone, Debug, PartialEq)]
pub enum CrashOutcome {
    /// The first crash: restarted at once (`restartCount` + 1, running again).
    Restarted,
    /// A repeated crash: waiting in `CrashLoopBackOff` for this many simulated seconds.
    BackOff { seconds: u64 },
    /// `restartPolicy: Never`: the container stays terminated.
    Stopped,
}

/// The status after the container crashes with exit code 1 at `now`. `pod_ref` is
/// `<pod>_<namespace>(<uid>)`, as the kubelet names a pod in its back-off message.
pub fn crashed(
    current: &Value,
    pod_uid: &str,
    pod_ref: &str,
    restart_policy: &str,
    now: &str,
) -> (Value, CrashOutcome) {
    let name = current
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let restarts = restart_count(current);
    let started_at = current
        .pointer("/state/running/startedAt")
        .cloned()
        .unwrap_or_else(|| json!(now));
    let id = current
        .get("containerID")
        .cloned()
        .unwrap_or_else(|| json!(container_id(pod_uid, name, restarts)));
    let terminated = json!({"exitCode": 1, "reason": "Error", "startedAt": started_at,
                            "finishedAt": now, "containerID": id});
    let mut next = current.clone();
    next["ready"] = json!(false);
    if restart_policy == "Never" {
        next["state"] = json!({"terminated": terminated});
        next["started"] = json!(false);
        return (next, CrashOutcome::Stopped);
    }
    next["lastState"] = json!({"terminated": terminated});
    if restarts == 0 {
        next["restartCount"] = json!(1);
        next["state"] = json!({"running": {"startedAt": now}});
        next["containerID"] = json!(container_id(pod_uid, name, 1));
        next["started"] = json!(true);
        return (next, CrashOutcome::Restarted);
    }
    let seconds = backoff_seconds(restarts);
    next["state"] = json!({"waiting": {
        "reason": "CrashLoopBackOff",
        "message": format!("back-off {seconds}s restarting failed container={name} pod={pod_ref}"),
    }});
    next["started"] = json!(false);
    (next, CrashOutcome::BackOff { seconds })
}

/// The status after a back-off ends: running again with `restartCount` + 1.
pub fn restarted(current: &Value, pod_uid: &str, now: &str) -> Value {
    let name = current
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let restarts = restart_count(current) + 1;
    let mut next = current.clone();
    next["restartCount"] = json!(restarts);
    next["state"] = json!({"running": {"startedAt": now}});
    next["containerID"] = json!(container_id(pod_uid, name, restarts));
    next["started"] = json!(true);
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn images_are_normalized_like_containerd_reports_them() {
        let cases = [
            ("nginx", "docker.io/library/nginx:latest"),
            ("nginx:1.27", "docker.io/library/nginx:1.27"),
            ("bitnami/etcd:3.5", "docker.io/bitnami/etcd:3.5"),
            (
                "ghcr.io/multigres/multigres:sha-d782aa0",
                "ghcr.io/multigres/multigres:sha-d782aa0",
            ),
            ("localhost:5000/app", "localhost:5000/app:latest"),
            ("nginx@sha256:abc", "docker.io/library/nginx@sha256:abc"),
        ];
        for (image, expected) in cases {
            assert_eq!(normalize_image(image), expected, "{image}");
        }
        assert_eq!(
            image_id("nginx@sha256:abc"),
            "docker.io/library/nginx@sha256:abc"
        );
        let id = image_id("nginx:1.27");
        assert_eq!(&id[..31], "docker.io/library/nginx@sha256:");
        assert_eq!(id.len(), 31 + 64);
    }

    #[test]
    fn backoff_doubles_from_ten_seconds_to_five_minutes() {
        let seconds: Vec<u64> = (1..=8).map(backoff_seconds).collect();
        assert_eq!(seconds, vec![10, 20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn a_first_crash_restarts_and_a_second_backs_off() {
        let spec = json!({"name": "db", "image": "postgres:17"});
        let running = running(&spec, "uid-1", None, true, "t0");
        assert_eq!(
            running,
            json!({"name": "db", "state": {"running": {"startedAt": "t0"}}, "lastState": {},
                   "ready": true, "restartCount": 0, "image": "docker.io/library/postgres:17",
                   "imageID": image_id("postgres:17"),
                   "containerID": container_id("uid-1", "db", 0), "started": true})
        );
        let (first, outcome) = crashed(&running, "uid-1", "p_ns(uid-1)", "Always", "t1");
        assert_eq!(outcome, CrashOutcome::Restarted);
        assert_eq!(first["restartCount"], 1);
        assert_eq!(first["state"], json!({"running": {"startedAt": "t1"}}));
        assert_eq!(
            first["lastState"],
            json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "t0",
                                  "finishedAt": "t1", "containerID": container_id("uid-1", "db", 0)}})
        );
        let (second, outcome) = crashed(&first, "uid-1", "p_ns(uid-1)", "Always", "t2");
        assert_eq!(outcome, CrashOutcome::BackOff { seconds: 10 });
        assert_eq!(
            second["state"],
            json!({"waiting": {"reason": "CrashLoopBackOff",
                               "message": "back-off 10s restarting failed container=db pod=p_ns(uid-1)"}})
        );
        assert_eq!(second["restartCount"], 1);
        assert_eq!(second["ready"], false);
        assert_eq!(second["started"], false);
        let again = restarted(&second, "uid-1", "t3");
        assert_eq!(again["restartCount"], 2);
        assert_eq!(again["state"], json!({"running": {"startedAt": "t3"}}));
        assert_eq!(again["containerID"], json!(container_id("uid-1", "db", 2)));
    }

    #[test]
    fn never_restarting_containers_stay_terminated() {
        let spec = json!({"name": "job", "image": "busybox"});
        let running = running(&spec, "u", None, true, "t0");
        let (stopped, outcome) = crashed(&running, "u", "p_ns(u)", "Never", "t1");
        assert_eq!(outcome, CrashOutcome::Stopped);
        assert_eq!(stopped["state"]["terminated"]["exitCode"], 1);
        assert_eq!(stopped["restartCount"], 0);
    }

    #[test]
    fn completed_keeps_the_start_time_and_id() {
        let spec = json!({"name": "c", "image": "busybox"});
        let running = running(&spec, "u", None, true, "t0");
        let done = completed(&spec, "u", Some(&running), "t9");
        assert_eq!(
            done["state"],
            json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": "t0",
                                  "finishedAt": "t9", "containerID": container_id("u", "c", 0)}})
        );
        assert_eq!(done["ready"], false);
    }
}
