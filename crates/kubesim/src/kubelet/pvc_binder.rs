//! The PersistentVolume controller and a dynamic provisioner, one step at a time: a claim
//! without a class gets the default StorageClass (retroactive default assignment), is bound to
//! a matching Available volume or to a newly provisioned `pvc-<claim uid>` volume (at once for
//! `Immediate` classes, once the scheduler picked a node for `WaitForFirstConsumer` ones, with
//! the node's zone as the volume's node affinity), then reports `Bound` with the volume's
//! capacity. A larger request on a bound claim resizes the volume when its class has
//! `allowVolumeExpansion`. A volume whose claim is gone is deleted (`Delete` policy) or
//! `Released` (`Retain`).
//!
//! Pure: [`next_claim_step`] and [`next_volume_step`] look at the objects and return the one
//! write to make next (or nothing); the runtime writes it and asks again, so every step is
//! idempotent and an interrupted sequence resumes.

use std::cmp::Ordering;

use multigres_api::quantity::GoQuantity;
use serde_json::{Map, Value, json};

use super::object_fields::{is_deleting, name, namespace, str_at, uid};

/// The StorageClass annotation that marks the default class.
pub const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";
/// The claim annotation the scheduler sets for `WaitForFirstConsumer` provisioning.
pub const SELECTED_NODE_ANNOTATION: &str = "volume.kubernetes.io/selected-node";
const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// The cluster objects a claim's binding depends on.
#[derive(Clone, Copy, Debug)]
pub struct BindingContext<'a> {
    pub classes: &'a [&'a Value],
    pub volumes: &'a [&'a Value],
    pub nodes: &'a [&'a Value],
}

/// The next write for a claim.
#[derive(Clone, Debug, PartialEq)]
pub enum ClaimStep {
    /// Update the claim (main resource) to this object: the default class, or `volumeName` and
    /// the bind annotations.
    UpdateClaim(Value),
    /// Replace the claim's status.
    ClaimStatus(Value),
    /// Create this volume (already reserved for the claim through `claimRef`).
    CreateVolume(Value),
    /// Update the volume (main resource) to this object: `claimRef`, or a new capacity.
    UpdateVolume(Value),
    /// Replace the named volume's status.
    VolumeStatus { volume: String, status: Value },
}

/// The next write for a volume whose claim may be gone.
#[derive(Clone, Debug, PartialEq)]
pub enum VolumeStep {
    Delete { volume: String },
    VolumeStatus { volume: String, status: Value },
}

fn quantity(value: &Value) -> Option<GoQuantity> {
    GoQuantity::parse(value.as_str()?).ok()
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    Some(quantity(a)?.cmp_value(&quantity(b)?))
}

fn requested_storage(claim: &Value) -> &Value {
    claim
        .pointer("/spec/resources/requests/storage")
        .unwrap_or(&Value::Null)
}

/// The default class: the newest one carrying the default annotation, as upstream picks when
/// several do.
pub fn default_class<'a>(classes: &[&'a Value]) -> Option<&'a Value> {
    classes
        .iter()
        .filter(|c| {
            str_at(
                c,
                &format!(
                    "/metadata/annotations/{}",
                    DEFAULT_CLASS_ANNOTATION.replace('/', "~1")
                ),
            ) == "true"
        })
        .max_by(|a, b| {
            str_at(a, "/metadata/creationTimestamp")
                .cmp(str_at(b, "/metadata/creationTimestamp"))
                .then_with(|| name(b).cmp(name(a)))
        })
        .copied()
}

fn find_by_name<'a>(objects: &[&'a Value], wanted: &str) -> Option<&'a Value> {
    objects.iter().find(|o| name(o) == wanted).copied()
}

fn claim_ref_uid(volume: &Value) -> &str {
    str_at(volume, "/spec/claimRef/uid")
}

fn volume_phase(volume: &Value) -> &str {
    str_at(volume, "/status/phase")
}

fn access_modes(object: &Value) -> Vec<&str> {
    object
        .pointer("/spec/accessModes")
        .and_then(Value::as_array)
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn claim_ref(claim: &Value) -> Value {
    json!({"kind": "PersistentVolumeClaim", "namespace": namespace(claim), "name": name(claim),
           "uid": uid(claim), "apiVersion": "v1",
           "resourceVersion": str_at(claim, "/metadata/resourceVersion")})
}

/// An Available volume of the claim's class that is big enough and offers its access modes;
/// the smallest such volume, as upstream's `findBestMatchForClaim`.
fn matching_volume<'a>(claim: &Value, class: &str, volumes: &[&'a Value]) -> Option<&'a Value> {
    let wanted_modes = access_modes(claim);
    let request = requested_storage(claim);
    volumes
        .iter()
        .copied()
        .filter(|v| !is_deleting(v) && volume_phase(v) == "Available")
        .filter(|v| {
            let reserved = claim_ref_uid(v);
            v.pointer("/spec/claimRef").is_none()
                || reserved == uid(claim)
                || (reserved.is_empty()
                    && str_at(v, "/spec/claimRef/name") == name(claim)
                    && str_at(v, "/spec/claimRef/namespace") == namespace(claim))
        })
        .filter(|v| str_at(v, "/spec/storageClassName") == class)
        .filter(|v| {
            let offered = access_modes(v);
            wanted_modes.iter().all(|m| offered.contains(m))
        })
        .filter(|v| {
            v.pointer("/spec/capacity/storage")
                .and_then(|c| compare(c, request))
                .is_some_and(|o| o != Ordering::Less)
        })
        .min_by(|a, b| {
            let (ca, cb) = (
                a.pointer("/spec/capacity/storage").unwrap_or(&Value::Null),
                b.pointer("/spec/capacity/storage").unwrap_or(&Value::Null),
            );
            compare(ca, cb)
                .unwrap_or(Ordering::Equal)
                .then_with(|| name(a).cmp(name(b)))
        })
}

/// The volume a provisioner creates for `claim` in `class` (on `node` for
/// `WaitForFirstConsumer`).
pub fn provisioned_volume(claim: &Value, class: &Value, node: Option<&Value>) -> Value {
    let provisioner = str_at(class, "/provisioner");
    let volume_name = format!("pvc-{}", uid(claim));
    let mut spec = Map::new();
    spec.insert(
        "accessModes".into(),
        claim
            .pointer("/spec/accessModes")
            .cloned()
            .unwrap_or_else(|| json!([])),
    );
    spec.insert(
        "capacity".into(),
        json!({"storage": requested_storage(claim)}),
    );
    spec.insert("claimRef".into(), claim_ref(claim));
    spec.insert(
        "hostPath".into(),
        json!({"path": format!("/var/lib/kubesim/volumes/{volume_name}"), "type": "DirectoryOrCreate"}),
    );
    if let Some(zone) = node
        .map(|n| {
            str_at(
                n,
                &format!("/metadata/labels/{}", ZONE_LABEL.replace('/', "~1")),
            )
        })
        .filter(|z| !z.is_empty())
    {
        spec.insert(
            "nodeAffinity".into(),
            json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": ZONE_LABEL, "operator": "In", "values": [zone]}]}]}}),
        );
    }
    spec.insert(
        "persistentVolumeReclaimPolicy".into(),
        json!(match str_at(class, "/reclaimPolicy") {
            "" => "Delete",
            policy => policy,
        }),
    );
    spec.insert("storageClassName".into(), json!(name(class)));
    spec.insert(
        "volumeMode".into(),
        json!(match str_at(claim, "/spec/volumeMode") {
            "" => "Filesystem",
            mode => mode,
        }),
    );
    json!({"apiVersion": "v1", "kind": "PersistentVolume",
           "metadata": {"name": volume_name,
                        "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
           "spec": spec})
}

/// The claim with `volumeName` and the bind annotations the controller writes.
fn bound_claim(claim: &Value, volume: &str, provisioner: Option<&str>) -> Value {
    let mut next = claim.clone();
    next["spec"]["volumeName"] = json!(volume);
    let annotations = next["metadata"]
        .as_object_mut()
        .map(|m| m.entry("annotations").or_insert_with(|| json!({})));
    if let Some(Value::Object(annotations)) = annotations {
        annotations.insert("pv.kubernetes.io/bind-completed".into(), json!("yes"));
        annotations.insert("pv.kubernetes.io/bound-by-controller".into(), json!("yes"));
        if let Some(provisioner) = provisioner {
            annotations.insert(
                "volume.beta.kubernetes.io/storage-provisioner".into(),
                json!(provisioner),
            );
            annotations.insert(
                "volume.kubernetes.io/storage-provisioner".into(),
                json!(provisioner),
            );
        }
    }
    next
}

fn bound_claim_status(claim: &Value, capacity: &Value) -> Value {
    json!({"phase": "Bound",
           "accessModes": claim.pointer("/spec/accessModes").cloned().unwrap_or_else(|| json!([])),
           "capacity": {"storage": capacity}})
}

/// The next write that moves `claim` towards `Bound` (or its volume towards the requested
/// size); `None` when it is done or must wait for something else.
pub fn next_claim_step(claim: &Value, ctx: &BindingContext<'_>) -> Option<ClaimStep> {
    if is_deleting(claim) {
        return None;
    }
    let Some(class_name) = claim.pointer("/spec/storageClassName") else {
        let class = default_class(ctx.classes)?;
        let mut next = claim.clone();
        next["spec"]["storageClassName"] = json!(name(class));
        return Some(ClaimStep::UpdateClaim(next));
    };
    let class_name = class_name.as_str().unwrap_or_default();
    let class = find_by_name(ctx.classes, class_name).filter(|_| !class_name.is_empty());
    let volume_name = str_at(claim, "/spec/volumeName");
    // A volume already reserved for this claim (provisioned for it, or pre-bound).
    let reserved = if volume_name.is_empty() {
        ctx.volumes
            .iter()
            .copied()
            .find(|v| claim_ref_uid(v) == uid(claim))
    } else {
        find_by_name(ctx.volumes, volume_name)
    };
    if let Some(volume) = reserved {
        let reserved_by_name = claim_ref_uid(volume).is_empty()
            && str_at(volume, "/spec/claimRef/name") == name(claim)
            && str_at(volume, "/spec/claimRef/namespace") == namespace(claim);
        if volume.pointer("/spec/claimRef").is_none() || reserved_by_name {
            let mut next = volume.clone();
            next["spec"]["claimRef"] = claim_ref(claim);
            return Some(ClaimStep::UpdateVolume(next));
        }
        if claim_ref_uid(volume) != uid(claim) {
            // Reserved for another claim: this claim waits (upstream reports a mismatch event).
            return None;
        }
        if volume_phase(volume) != "Bound" {
            return Some(ClaimStep::VolumeStatus {
                volume: name(volume).to_string(),
                status: json!({"phase": "Bound"}),
            });
        }
        if volume_name.is_empty()
            || str_at(
                claim,
                "/metadata/annotations/pv.kubernetes.io~1bind-completed",
            ) != "yes"
        {
            let provisioner = volume
                .pointer("/metadata/annotations/pv.kubernetes.io~1provisioned-by")
                .and_then(Value::as_str);
            return Some(ClaimStep::UpdateClaim(bound_claim(
                claim,
                name(volume),
                provisioner,
            )));
        }
        return bound_claim_step(claim, volume, class);
    }
    if !volume_name.is_empty() {
        // Pre-bound to a volume that does not exist (yet).
        return None;
    }
    if let Some(volume) = matching_volume(claim, class_name, ctx.volumes) {
        let mut next = volume.clone();
        next["spec"]["claimRef"] = claim_ref(claim);
        return Some(ClaimStep::UpdateVolume(next));
    }
    let class = class?;
    if str_at(class, "/provisioner") == NO_PROVISIONER || str_at(class, "/provisioner").is_empty() {
        return None;
    }
    let node = if str_at(class, "/volumeBindingMode") == "WaitForFirstConsumer" {
        let selected = str_at(
            claim,
            &format!(
                "/metadata/annotations/{}",
                SELECTED_NODE_ANNOTATION.replace('/', "~1")
            ),
        );
        if selected.is_empty() {
            return None;
        }
        Some(find_by_name(ctx.nodes, selected)?)
    } else {
        None
    };
    Some(ClaimStep::CreateVolume(provisioned_volume(
        claim, class, node,
    )))
}

/// A bound claim: report the volume's capacity, and grow the volume when the request grew and
/// the class allows expansion.
fn bound_claim_step(claim: &Value, volume: &Value, class: Option<&Value>) -> Option<ClaimStep> {
    let request = requested_storage(claim);
    let volume_capacity = volume
        .pointer("/spec/capacity/storage")
        .unwrap_or(&Value::Null);
    let expandable = class
        .and_then(|c| c.get("allowVolumeExpansion"))
        .and_then(Value::as_bool)
        == Some(true);
    if expandable && compare(request, volume_capacity) == Some(Ordering::Greater) {
        let mut next = volume.clone();
        next["spec"]["capacity"]["storage"] = request.clone();
        return Some(ClaimStep::UpdateVolume(next));
    }
    let desired = bound_claim_status(claim, volume_capacity);
    let current = claim.get("status").cloned().unwrap_or(Value::Null);
    (current.get("phase") != desired.get("phase")
        || current.get("capacity") != desired.get("capacity")
        || current.get("accessModes") != desired.get("accessModes"))
    .then_some(ClaimStep::ClaimStatus(desired))
}

/// The next write for a volume whose claim is gone (or was replaced by a new claim of the same
/// name): delete it under the `Delete` policy, mark it `Released` under `Retain`.
pub fn next_volume_step(volume: &Value, claims: &[&Value]) -> Option<VolumeStep> {
    if is_deleting(volume) {
        return None;
    }
    let Some(reference) = volume.pointer("/spec/claimRef") else {
        return (volume_phase(volume) != "Available").then(|| VolumeStep::VolumeStatus {
            volume: name(volume).to_string(),
            status: json!({"phase": "Available"}),
        });
    };
    let claim_uid = str_at(reference, "/uid");
    if claim_uid.is_empty() {
        return None;
    }
    let claim_present = claims.iter().any(|c| {
        uid(c) == claim_uid
            && name(c) == str_at(reference, "/name")
            && namespace(c) == str_at(reference, "/namespace")
    });
    if claim_present {
        return None;
    }
    match str_at(volume, "/spec/persistentVolumeReclaimPolicy") {
        "Retain" => (volume_phase(volume) != "Released").then(|| VolumeStep::VolumeStatus {
            volume: name(volume).to_string(),
            status: json!({"phase": "Released"}),
        }),
        _ => Some(VolumeStep::Delete {
            volume: name(volume).to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn class(name: &str, mode: &str, expand: bool) -> Value {
        json!({"metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z",
                            "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
               "provisioner": "kubesim.io/hostpath", "reclaimPolicy": "Delete",
               "volumeBindingMode": mode, "allowVolumeExpansion": expand})
    }

    fn claim(class: Option<&str>) -> Value {
        let mut c = json!({"metadata": {"name": "data-db-0", "namespace": "ns", "uid": "c-1",
                                        "resourceVersion": "7"},
                           "spec": {"accessModes": ["ReadWriteOnce"],
                                    "resources": {"requests": {"storage": "1Gi"}}}});
        if let Some(class) = class {
            c["spec"]["storageClassName"] = json!(class);
        }
        c
    }

    /// Applies steps until none is left, as the runtime does; returns the claim, the volumes and
    /// the steps taken.
    fn converge(
        mut claim: Value,
        classes: &[Value],
        mut volumes: Vec<Value>,
        nodes: &[Value],
    ) -> (Value, Vec<Value>, Vec<String>) {
        let mut taken = Vec::new();
        for _ in 0..20 {
            let class_refs: Vec<&Value> = classes.iter().collect();
            let volume_refs: Vec<&Value> = volumes.iter().collect();
            let node_refs: Vec<&Value> = nodes.iter().collect();
            let ctx = BindingContext {
                classes: &class_refs,
                volumes: &volume_refs,
                nodes: &node_refs,
            };
            let Some(step) = next_claim_step(&claim, &ctx) else {
                return (claim, volumes, taken);
            };
            match step {
                ClaimStep::UpdateClaim(c) => {
                    taken.push("UpdateClaim".into());
                    claim = c;
                }
                ClaimStep::ClaimStatus(s) => {
                    taken.push("ClaimStatus".into());
                    claim["status"] = s;
                }
                ClaimStep::CreateVolume(v) => {
                    taken.push("CreateVolume".into());
                    volumes.push(v);
                }
                ClaimStep::UpdateVolume(v) => {
                    taken.push("UpdateVolume".into());
                    let i = volumes
                        .iter()
                        .position(|x| name(x) == name(&v))
                        .expect("exists");
                    volumes[i] = v;
                }
                ClaimStep::VolumeStatus { volume, status } => {
                    taken.push("VolumeStatus".into());
                    let i = volumes
                        .iter()
                        .position(|x| name(x) == volume)
                        .expect("exists");
                    volumes[i]["status"] = status;
                }
            }
        }
        unreachable!("binding did not converge: {taken:?}")
    }

    #[test]
    fn a_claim_without_class_gets_the_default_and_a_provisioned_volume() {
        let (claim, volumes, steps) = converge(
            claim(None),
            &[class("standard", "Immediate", true)],
            vec![],
            &[],
        );
        assert_eq!(
            steps,
            vec![
                "UpdateClaim",
                "CreateVolume",
                "VolumeStatus",
                "UpdateClaim",
                "ClaimStatus"
            ]
        );
        assert_eq!(claim["spec"]["storageClassName"], "standard");
        assert_eq!(claim["spec"]["volumeName"], "pvc-c-1");
        assert_eq!(
            claim["metadata"]["annotations"],
            json!({"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                   "volume.beta.kubernetes.io/storage-provisioner": "kubesim.io/hostpath",
                   "volume.kubernetes.io/storage-provisioner": "kubesim.io/hostpath"})
        );
        assert_eq!(
            claim["status"],
            json!({"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}})
        );
        assert_eq!(
            volumes,
            vec![json!({"apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": "pvc-c-1", "annotations": {"pv.kubernetes.io/provisioned-by": "kubesim.io/hostpath"}},
                "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
                         "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "ns", "name": "data-db-0",
                                      "uid": "c-1", "apiVersion": "v1", "resourceVersion": "7"},
                         "hostPath": {"path": "/var/lib/kubesim/volumes/pvc-c-1", "type": "DirectoryOrCreate"},
                         "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard",
                         "volumeMode": "Filesystem"},
                "status": {"phase": "Bound"}})]
        );
    }

    #[test]
    fn wait_for_first_consumer_needs_a_selected_node_and_pins_the_zone() {
        let classes = [class("local", "WaitForFirstConsumer", false)];
        let nodes = [json!({"metadata": {"name": "kubesim-b", "labels": {ZONE_LABEL: "b"}}})];
        let (waiting, _, steps) = converge(claim(Some("local")), &classes, vec![], &nodes);
        assert_eq!(steps, Vec::<String>::new());
        assert_eq!(waiting.get("status"), None);
        let mut selected = claim(Some("local"));
        selected["metadata"]["annotations"] = json!({SELECTED_NODE_ANNOTATION: "kubesim-b"});
        let (bound, volumes, _) = converge(selected, &classes, vec![], &nodes);
        assert_eq!(bound["status"]["phase"], "Bound");
        assert_eq!(
            volumes[0]["spec"]["nodeAffinity"],
            json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": ZONE_LABEL, "operator": "In", "values": ["b"]}]}]}})
        );
    }

    #[test]
    fn an_available_volume_of_the_class_is_bound_before_provisioning() {
        let small = json!({"metadata": {"name": "pv-small"}, "spec": {"storageClassName": "manual",
            "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "512Mi"}}, "status": {"phase": "Available"}});
        let big = json!({"metadata": {"name": "pv-big"}, "spec": {"storageClassName": "manual",
            "accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "capacity": {"storage": "2Gi"}}, "status": {"phase": "Available"}});
        let (claim, volumes, _) = converge(claim(Some("manual")), &[], vec![small, big], &[]);
        assert_eq!(claim["spec"]["volumeName"], "pv-big");
        assert_eq!(claim["status"]["capacity"], json!({"storage": "2Gi"}));
        assert_eq!(volumes[0].pointer("/spec/claimRef"), None);
        assert_eq!(volumes[1]["status"]["phase"], "Bound");
    }

    #[test]
    fn a_claim_of_an_unknown_class_waits() {
        let (claim, volumes, steps) = converge(claim(Some("missing")), &[], vec![], &[]);
        assert_eq!(
            (claim.get("status"), volumes.len(), steps.len()),
            (None, 0, 0)
        );
    }

    #[test]
    fn a_larger_request_expands_the_volume_when_the_class_allows_it() {
        let classes = [class("standard", "Immediate", true)];
        let (mut claim, volumes, _) = converge(claim(Some("standard")), &classes, vec![], &[]);
        claim["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        let (claim, volumes, steps) = converge(claim, &classes, volumes, &[]);
        assert_eq!(steps, vec!["UpdateVolume", "ClaimStatus"]);
        assert_eq!(volumes[0]["spec"]["capacity"], json!({"storage": "2Gi"}));
        assert_eq!(claim["status"]["capacity"], json!({"storage": "2Gi"}));
        let fixed = [class("standard", "Immediate", false)];
        let mut again = claim.clone();
        again["spec"]["resources"]["requests"]["storage"] = json!("5Gi");
        let (again, _, steps) = converge(again, &fixed, volumes, &[]);
        assert_eq!(steps, Vec::<String>::new());
        assert_eq!(again["status"]["capacity"], json!({"storage": "2Gi"}));
    }

    #[test]
    fn volumes_of_deleted_claims_follow_their_reclaim_policy() {
        let mut volume = provisioned_volume(
            &claim(Some("standard")),
            &class("standard", "Immediate", true),
            None,
        );
        volume["status"] = json!({"phase": "Bound"});
        let live = claim(Some("standard"));
        assert_eq!(next_volume_step(&volume, &[&live]), None);
        assert_eq!(
            next_volume_step(&volume, &[]),
            Some(VolumeStep::Delete {
                volume: "pvc-c-1".into()
            })
        );
        let mut recreated = live.clone();
        recreated["metadata"]["uid"] = json!("c-2");
        assert_eq!(
            next_volume_step(&volume, &[&recreated]),
            Some(VolumeStep::Delete {
                volume: "pvc-c-1".into()
            })
        );
        volume["spec"]["persistentVolumeReclaimPolicy"] = json!("Retain");
        assert_eq!(
            next_volume_step(&volume, &[]),
            Some(VolumeStep::VolumeStatus {
                volume: "pvc-c-1".into(),
                status: json!({"phase": "Released"})
            })
        );
        let free = json!({"metadata": {"name": "pv-free"}, "spec": {}});
        assert_eq!(
            next_volume_step(&free, &[]),
            Some(VolumeStep::VolumeStatus {
                volume: "pv-free".into(),
                status: json!({"phase": "Available"})
            })
        );
    }
}
