//! The short hashes workload controllers put in names and labels: a Deployment's
//! `pod-template-hash` (`<deploy>-<hash>-<rand5>` pods) and a StatefulSet's revision
//! (`controller-revision-hash: <sts>-<hash>`).
//!
//! Same shape as upstream `controller.ComputeHash`: FNV-1a (32 bit) over the pod template, plus
//! the collision count, printed in decimal and mapped character by character onto
//! `rand.SafeEncodeString`'s alphabet (no vowels, so no words; no `0`, `1`, `3`). The bytes hashed
//! differ from Go's (Go feeds its object printer's output; here the template's JSON with object
//! keys sorted), so values are not byte-identical to a real cluster's, but they are stable
//! across key order and change exactly when the template does.
//!
//! Pure: no I/O, no clock.

use serde_json::Value;

/// `rand.SafeEncodeString`'s alphabet.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

fn fnv1a(hash: u32, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(hash, |h, b| (h ^ u32::from(*b)).wrapping_mul(FNV_PRIME))
}

/// Whether a field is what Go's typed template cannot tell from an absent one: null, an empty
/// list or map (dropped by `omitempty` when the API server stores it), or an empty object (the
/// zero value of a struct field such as `resources`, which Go clients always write). Go hashes
/// the decoded template, so `kubectl rollout undo`, which writes a ReplicaSet's template back
/// as Go serializes it (`creationTimestamp: null`, `resources: {}`), finds that same
/// ReplicaSet. (A pointer to an empty struct, `emptyDir: {}`, does count in Go; a template
/// differing from another only by one is not a valid template.)
fn is_zero(field: &Value) -> bool {
    match field {
        Value::Null => true,
        Value::Object(map) => map.values().all(is_zero),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Writes `value` as JSON with every object's keys sorted and its [`is_zero`] fields left out,
/// so that two templates that differ only in key order or in such fields hash alike.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map
                .iter()
                .filter(|(_, field)| !is_zero(field))
                .map(|(key, _)| key)
                .collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The hash of a pod template (and collision count), e.g. `"7d4b9c6f58"`.
pub fn template_hash(template: &Value, collision_count: u32) -> String {
    let mut canonical = String::new();
    write_canonical(template, &mut canonical);
    let mut hash = fnv1a(FNV_OFFSET, canonical.as_bytes());
    if collision_count > 0 {
        hash = fnv1a(hash, &collision_count.to_le_bytes());
    }
    safe_encode(hash)
}

/// The decimal digits of `hash`, each mapped to `SAFE_ALPHABET[byte % 27]` as Go's
/// `SafeEncodeString(fmt.Sprint(hash))` does: digits become `4 5 6 7 8 9 b c d f`.
fn safe_encode(hash: u32) -> String {
    hash.to_string()
        .bytes()
        .map(|digit| char::from(SAFE_ALPHABET[usize::from(digit) % SAFE_ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // Test vectors of the FNV reference implementation.
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0x811c_9dc5);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xe40c_292c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn the_hash_ignores_key_order_and_follows_content() {
        let a = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        let b = json!({"spec": {"containers": [{"image": "nginx", "name": "c"}]}, "metadata": {"labels": {"app": "web"}}});
        let c = json!({"spec": {"containers": [{"image": "nginx:2", "name": "c"}]}, "metadata": {"labels": {"app": "web"}}});
        assert_eq!(template_hash(&a, 0), template_hash(&b, 0));
        assert_ne!(template_hash(&a, 0), template_hash(&c, 0));
        assert_ne!(template_hash(&a, 0), template_hash(&a, 1));
        let as_go_writes_it = json!({"metadata": {"labels": {"app": "web"}, "creationTimestamp": null},
                                     "spec": {"containers": [{"name": "c", "image": "nginx",
                                                              "resources": {}, "ports": []}]}});
        assert_eq!(
            template_hash(&a, 0),
            template_hash(&as_go_writes_it, 0),
            "null, {{}} and [] are absent"
        );
    }

    #[test]
    fn digits_map_onto_the_safe_alphabet_like_go() {
        assert_eq!(safe_encode(1_234_567_890), "56789bcdf4");
        assert_eq!(safe_encode(0), "4");
        let hash = template_hash(&json!({"spec": {"x": 1}}), 0);
        assert_eq!(
            hash,
            safe_encode(fnv1a(FNV_OFFSET, b"{\"spec\":{\"x\":1}}"))
        );
    }
}
