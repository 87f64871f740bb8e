//! Strategic merge patch for built-in kinds, as apimachinery's `strategicpatch.StrategicMergeMapPatch`
//! applies it on the server (`MergeParallelList` and `IgnoreUnmatchedNulls` both on).
//!
//! Place: `PATCH` with `application/strategic-merge-patch+json` on built-in kinds (kubectl's
//! client-side `apply` on a ConfigMap, kube-lease-manager). Custom resources never get here: the
//! API server answers 415 for them. The list strategies come from the kind's
//! [`MergeSchema`] (`patchStrategy`/`patchMergeKey`).
//!
//! Directives: `$patch: replace|delete` in maps and list items (`merge` in a list item is refused
//! as upstream does), `$retainKeys`, `$deleteFromPrimitiveList/<field>`,
//! `$setElementOrder/<field>`, and `null` deleting a key. Item order follows upstream's rules:
//! `$setElementOrder` first, then the patch's order, then the live order.
//!
//! Must not: drop upstream quirks that clients can observe (scalars deduplicated by swapping with
//! the last element, raw patch items appended without cleanup), or read anything but its inputs.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::PatchError;
use crate::semantics::field_cause::go_number;
use crate::semantics::merge_schema::{ListPatch, MergeSchema, Node};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

const BAD_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
const BAD_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
const BAD_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";
const NO_LIST_OF_LISTS: &str = "lists of lists are not supported";

/// Applies strategic merge patch `patch` to `target`, using `schema` for list strategies.
pub fn strategic_merge_patch(
    target: &Value,
    patch: &Value,
    schema: &MergeSchema,
) -> Result<Value, PatchError> {
    let Value::Object(patch) = patch else {
        return Err(PatchError::StrategicMergeBadRequest {
            message: format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                go_json_word(patch)
            ),
        });
    };
    let original = match target {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    merge_map(original, patch.clone(), schema.root()).map(Value::Object)
}

fn go_json_word(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn failed(message: String) -> PatchError {
    PatchError::StrategicMergeFailed { message }
}

fn bad_request(message: &str) -> PatchError {
    PatchError::StrategicMergeBadRequest {
        message: message.to_owned(),
    }
}

/// `mergeMap`.
fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    node: &Node,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.shift_remove(DIRECTIVE);
                Ok(patch)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(bad_patch_type(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, node)?;

    for (patch_key, patch_value) in patch {
        let (key, is_delete_list) = match patch_key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            Some(rest) => match rest.strip_prefix('/') {
                Some(field) => (field.to_owned(), true),
                None => return Err(bad_request(BAD_PRIMITIVE_LIST)),
            },
            None => (patch_key, false),
        };
        if patch_value.is_null() {
            original.shift_remove(&key);
            continue;
        }
        let Some(current) = original.get(&key) else {
            if !is_delete_list {
                insert_cleaned(&mut original, key, discard_nulls(patch_value));
            }
            continue;
        };
        let (field_node, _) = node.field(&key);
        match (current, &patch_value) {
            (Value::Object(_), Value::Object(_)) => {
                let Some(Value::Object(current)) = original.shift_remove(&key) else {
                    continue;
                };
                let Value::Object(patch_map) = patch_value else {
                    continue;
                };
                // `mergeMapHandler`: a `patchStrategy: replace` field takes the patch as it is.
                let merged = if field_node.replaced_in_strategic_merge() {
                    patch_map
                } else {
                    merge_map(current, patch_map, field_node)?
                };
                original.insert(key, Value::Object(merged));
            }
            (Value::Array(current), Value::Array(patch_list)) => {
                let merged = merge_slice_handler(
                    current.clone(),
                    patch_list.clone(),
                    field_node,
                    is_delete_list,
                )?;
                original.insert(key, Value::Array(merged));
            }
            (current, patch_value) if same_go_kind(current, patch_value) => {
                let patch_value = patch_value.clone();
                insert_cleaned(&mut original, key, patch_value);
            }
            _ => {
                if !is_delete_list {
                    insert_cleaned(&mut original, key, discard_nulls(patch_value));
                }
            }
        }
    }
    Ok(original)
}

/// Whether two values decode to the same Go kind (map, slice, or a scalar) — only maps and
/// slices are merged; any other pair is replaced by the patch value.
fn same_go_kind(a: &Value, b: &Value) -> bool {
    !matches!(a, Value::Object(_) | Value::Array(_))
        && !matches!(b, Value::Object(_) | Value::Array(_))
}

/// `original[k], ok = removeDirectives(v); if !ok { delete(original, k) }`.
fn insert_cleaned(original: &mut Map<String, Value>, key: String, value: Value) {
    match remove_directives(value) {
        Some(value) => {
            original.insert(key, value);
        }
        None => {
            original.shift_remove(&key);
        }
    }
}

/// `discardNullValuesFromPatch`: drops `null` members everywhere inside.
fn discard_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, discard_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(discard_nulls).collect()),
        other => other,
    }
}

/// `removeDirectives`: a map holding `$patch` disappears, recursively.
fn remove_directives(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) => {
            if map.contains_key(DIRECTIVE) {
                return None;
            }
            Some(Value::Object(
                map.into_iter()
                    .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                    .collect(),
            ))
        }
        Value::Array(items) => Some(Value::Array(
            items.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// `applyRetainKeysDirective`.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(bad_request(BAD_RETAIN_KEYS));
    };
    let retained = |key: &str| retain.iter().any(|k| k.as_str() == Some(key));
    for (key, value) in patch.iter() {
        if value.is_null()
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || key.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !retained(key) {
            return Err(bad_request(BAD_RETAIN_KEYS));
        }
    }
    original.retain(|key, _| retained(key));
    Ok(())
}

/// `mergePatchIntoOriginal`: every `$setElementOrder/<field>` with its list, merged and ordered.
fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    node: &Node,
) -> Result<(), PatchError> {
    let directive_keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for directive_key in directive_keys {
        let Some(order) = patch.shift_remove(&directive_key) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(failed(bad_arg_type("[]interface {}", &order)));
        };
        let field = match directive_key[SET_ELEMENT_ORDER.len()..].strip_prefix('/') {
            Some(field) => field.to_owned(),
            None => return Err(bad_request(BAD_SET_ELEMENT_ORDER)),
        };
        let original_list = match original.get(&field) {
            None => None,
            Some(Value::Array(items)) => Some(items.clone()),
            Some(other) => return Err(failed(bad_arg_type("[]interface {}", other))),
        };
        let patch_list = match patch.get(&field) {
            None => None,
            Some(Value::Array(items)) => Some(items.clone()),
            Some(other) => return Err(failed(bad_arg_type("[]interface {}", other))),
        };
        let (field_node, _) = node.field(&field);
        let merge_key = match field_node.list_patch() {
            ListPatch::Merge { key } => key.clone(),
            ListPatch::Replace => None,
        };
        validate_patch_with_set_order(
            patch_list.as_deref().unwrap_or_default(),
            &order,
            merge_key.as_deref(),
        )?;
        let merged = match (&original_list, &patch_list) {
            (Some(original_list), None) => original_list.clone(),
            (None, Some(patch_list)) => match remove_directives(Value::Array(patch_list.clone())) {
                Some(Value::Array(items)) => items,
                _ => continue,
            },
            (Some(original_list), Some(patch_list)) => {
                merge_slice_handler(original_list.clone(), patch_list.clone(), field_node, false)?
            }
            (None, None) => continue,
        };
        let (patch_items, server_only) = partition(&merged, &order, merge_key.as_deref())?;
        let kind = slice_element_kind(&[
            original_list.as_deref().unwrap_or_default(),
            patch_list.as_deref().unwrap_or_default(),
        ])?;
        let ordered = normalize_element_order(
            patch_items,
            server_only,
            &order,
            original_list.as_deref().unwrap_or_default(),
            merge_key.as_deref(),
            kind,
        )?;
        original.insert(field.clone(), Value::Array(ordered));
        patch.shift_remove(&field);
    }
    Ok(())
}

/// `validatePatchWithSetOrderList`: the patch list's items must appear in the order list, in
/// the same relative order (deletions ignored).
fn validate_patch_with_set_order(
    patch_list: &[Value],
    order: &[Value],
    merge_key: Option<&str>,
) -> Result<(), PatchError> {
    if patch_list.is_empty() || order.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<&Value> = match merge_key {
        Some(_) => {
            let mut kept = Vec::new();
            for item in patch_list {
                let Value::Object(map) = item else {
                    return Err(failed(bad_arg_type("map[string]interface {}", item)));
                };
                if map.get(DIRECTIVE).and_then(Value::as_str) != Some("delete") {
                    kept.push(item);
                }
            }
            kept
        }
        None => patch_list.iter().collect(),
    };
    let (mut patch_index, mut order_index) = (0, 0);
    while patch_index < non_delete.len() && order_index < order.len() {
        if has_directive(non_delete[patch_index]) {
            patch_index += 1;
            continue;
        }
        if merge_key_value_equal(non_delete[patch_index], &order[order_index], merge_key)? {
            patch_index += 1;
        }
        order_index += 1;
    }
    if patch_index < non_delete.len() && order_index >= order.len() {
        return Err(failed(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            go_v(&Value::Array(patch_list.to_vec())),
            go_v(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}

fn has_directive(item: &Value) -> bool {
    item.as_object().is_some_and(|m| m.contains_key(DIRECTIVE))
}

/// `mergeKeyValueEqual`.
fn merge_key_value_equal(
    left: &Value,
    right: &Value,
    merge_key: Option<&str>,
) -> Result<bool, PatchError> {
    let Some(key) = merge_key else {
        return Ok(left == right);
    };
    let Value::Object(left_map) = left else {
        return Err(failed(bad_arg_type("map[string]interface {}", left)));
    };
    let Value::Object(right_map) = right else {
        return Err(failed(bad_arg_type("map[string]interface {}", right)));
    };
    let left_value = left_map
        .get(key)
        .ok_or_else(|| failed(no_merge_key(left, key)))?;
    let right_value = right_map
        .get(key)
        .ok_or_else(|| failed(no_merge_key(right, key)))?;
    Ok(left_value == right_value)
}

/// `mergeSliceHandler`: merge when the strategy says so (or for a deletion list), else take the
/// patch list as it is.
fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    node: &Node,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    match node.list_patch() {
        ListPatch::Merge { key } => {
            merge_slice(original, patch, node, key.as_deref(), is_delete_list)
        }
        ListPatch::Replace if is_delete_list => {
            merge_slice(original, patch, node, None, is_delete_list)
        }
        ListPatch::Replace => Ok(patch),
    }
}

/// The element kinds `sliceElementType` distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ElementKind {
    Map,
    Scalar,
}

/// `sliceElementType`: all elements of all slices share one Go type, and none is a list.
fn slice_element_kind(slices: &[&[Value]]) -> Result<ElementKind, PatchError> {
    let mut previous: Option<&'static str> = None;
    for slice in slices {
        for item in *slice {
            let current = go_type(item);
            match previous {
                None => {
                    if matches!(item, Value::Array(_)) {
                        return Err(PatchError::StrategicMergeInvalid {
                            message: NO_LIST_OF_LISTS.to_owned(),
                        });
                    }
                    previous = Some(current);
                }
                Some(previous) if previous != current => {
                    let printed: Vec<String> = slices
                        .iter()
                        .map(|s| go_v(&Value::Array(s.to_vec())))
                        .collect();
                    return Err(failed(format!(
                        "list element types are not identical: [{}]",
                        printed.join(" ")
                    )));
                }
                Some(_) => {}
            }
        }
    }
    match previous {
        Some("map[string]interface {}") => Ok(ElementKind::Map),
        Some(_) => Ok(ElementKind::Scalar),
        None => Err(failed("no elements in any of the given slices".to_owned())),
    }
}

/// `mergeSlice`.
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    node: &Node,
    merge_key: Option<&str>,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = slice_element_kind(&[&original, &patch])?;
    let (_, item_node) = node.list();
    let (server_order, patch, merged) = match kind {
        ElementKind::Scalar => {
            if is_delete_list {
                return Ok(original
                    .into_iter()
                    .filter(|item| !patch.contains(item))
                    .collect());
            }
            let mut both = original.clone();
            both.extend(patch.iter().cloned());
            (original, patch, deduplicate_scalars(both))
        }
        ElementKind::Map => {
            let Some(key) = merge_key else {
                return Err(failed(
                    "cannot merge lists without merge key for the list's item type".to_owned(),
                ));
            };
            let (original, patch) = merge_slice_with_special_elements(original, patch, key)?;
            let merged =
                merge_slice_without_special_elements(original.clone(), &patch, key, item_node)?;
            (original, patch, merged)
        }
    };
    let (patch_items, server_only) = partition(&merged, &patch, merge_key)?;
    normalize_element_order(
        patch_items,
        server_only,
        &patch,
        &server_order,
        merge_key,
        kind,
    )
}

/// `deduplicateScalars`: a duplicate is overwritten by the last element and the list shortened,
/// which reorders the tail exactly as upstream does.
fn deduplicate_scalars(mut items: Vec<Value>) -> Vec<Value> {
    if items.is_empty() {
        return items;
    }
    let mut length = items.len() - 1;
    let mut i = 0;
    while i < length {
        let mut j = i + 1;
        while j <= length {
            if items[i] == items[j] {
                items[j] = items[length].clone();
                items.truncate(length);
                length -= 1;
                // `j--` then the loop's `j++`: look at position j again.
                continue;
            }
            j += 1;
        }
        i += 1;
    }
    items
}

/// `mergeSliceWithSpecialElements`: `$patch: delete` items remove their matches, `$patch:
/// replace` makes the directive-free patch items the whole list.
fn merge_slice_with_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut without_special = Vec::new();
    let mut replace = false;
    for item in patch {
        let Value::Object(map) = &item else {
            return Err(failed(bad_arg_type("map[string]interface {}", &item)));
        };
        match map.get(DIRECTIVE) {
            None => without_special.push(item),
            Some(directive) => match directive.as_str() {
                Some("delete") => {
                    let Some(value) = map.get(merge_key) else {
                        return Err(failed(no_merge_key(&item, merge_key)));
                    };
                    let value = value.clone();
                    for (index, entry) in original.iter().enumerate() {
                        if !entry.is_object() {
                            return Err(failed(format!("value for key {index} is not a map")));
                        }
                    }
                    original.retain(|entry| entry.get(merge_key) != Some(&value));
                }
                Some("replace") => replace = true,
                Some("merge") => {
                    return Err(failed(
                        "merging lists cannot yet be specified in the patch".to_owned(),
                    ));
                }
                _ => return Err(bad_patch_type(directive, map)),
            },
        }
    }
    if replace {
        return Ok((without_special, Vec::new()));
    }
    Ok((original, without_special))
}

/// `mergeSliceWithoutSpecialElements`: items with a known key merge into their match, others are
/// appended as they are.
fn merge_slice_without_special_elements(
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
    item_node: &Node,
) -> Result<Vec<Value>, PatchError> {
    for item in patch {
        let Value::Object(item_map) = item else {
            return Err(failed(bad_arg_type("map[string]interface {}", item)));
        };
        let Some(value) = item_map.get(merge_key) else {
            return Err(failed(no_merge_key(item, merge_key)));
        };
        let mut found = None;
        for (index, entry) in original.iter().enumerate() {
            let Value::Object(entry) = entry else {
                return Err(failed(format!("value for key {index} is not a map")));
            };
            if entry.get(merge_key) == Some(value) {
                found = Some(index);
                break;
            }
        }
        match found {
            Some(index) => {
                let current = match std::mem::take(&mut original[index]) {
                    Value::Object(map) => map,
                    _ => Map::new(),
                };
                original[index] = Value::Object(merge_map(current, item_map.clone(), item_node)?);
            }
            None => original.push(item.clone()),
        }
    }
    Ok(original)
}

/// The value `index()` compares: the merge key's value for maps, the item for scalars.
fn order_value<'a>(
    item: &'a Value,
    merge_key: Option<&str>,
    kind: ElementKind,
) -> Option<&'a Value> {
    match (kind, merge_key) {
        (ElementKind::Map, Some(key)) => item.as_object().and_then(|m| m.get(key)),
        (ElementKind::Map, None) => None,
        (ElementKind::Scalar, _) => Some(item),
    }
}

/// `index`: position of `item` in `list` by order value, if any.
fn index_of(
    list: &[Value],
    item: &Value,
    merge_key: Option<&str>,
    kind: ElementKind,
) -> Option<usize> {
    let wanted = order_value(item, merge_key, kind);
    list.iter()
        .position(|candidate| order_value(candidate, merge_key, kind) == wanted)
}

/// `partitionPrimitivesByPresentInList` / `partitionMapsByPresentInList`: items present in
/// `by` first, the rest second.
fn partition(
    merged: &[Value],
    by: &[Value],
    merge_key: Option<&str>,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut present = Vec::new();
    let mut server_only = Vec::new();
    for item in merged {
        let found = match merge_key {
            None => by.contains(item),
            Some(key) => {
                let Value::Object(map) = item else {
                    return Err(failed(bad_arg_type("map[string]interface {}", item)));
                };
                let Some(value) = map.get(key) else {
                    return Err(failed(no_merge_key(item, key)));
                };
                let mut found = false;
                for (index, candidate) in by.iter().enumerate() {
                    let Value::Object(candidate) = candidate else {
                        return Err(failed(format!("value for key {index} is not a map")));
                    };
                    if candidate.get(key) == Some(value) {
                        found = true;
                        break;
                    }
                }
                found
            }
        };
        if found {
            present.push(item.clone());
        } else {
            server_only.push(item.clone());
        }
    }
    Ok((present, server_only))
}

/// `normalizeElementOrder`: both parts sorted by their own order list, then interleaved by the
/// live order.
fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: Option<&str>,
    kind: ElementKind,
) -> Result<Vec<Value>, PatchError> {
    let patch = normalize_slice_order(patch, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted_slice(
        server_only,
        patch,
        server_order,
        merge_key,
        kind,
    ))
}

/// `normalizeSliceOrder`: stable sort by position in `order`; `$patch: delete` items last.
fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    merge_key: Option<&str>,
    kind: ElementKind,
) -> Result<Vec<Value>, PatchError> {
    let (mut to_sort, to_delete) = match (kind, merge_key) {
        (ElementKind::Map, Some(key)) => {
            for item in to_sort.iter().chain(order) {
                let Value::Object(map) = item else {
                    return Err(failed(bad_arg_type("map[string]interface {}", item)));
                };
                if !map.contains_key(key) {
                    return Err(failed(no_merge_key(item, key)));
                }
            }
            to_sort.into_iter().partition::<Vec<Value>, _>(|item| {
                item.get(DIRECTIVE).and_then(Value::as_str) != Some("delete")
            })
        }
        _ => (to_sort, Vec::new()),
    };
    // Every item is found in `order` here (partitioning guarantees it), so sorting by position
    // is the comparator upstream uses.
    to_sort.sort_by(|a, b| {
        match (
            index_of(order, a, merge_key, kind),
            index_of(order, b, merge_key, kind),
        ) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => Ordering::Equal,
        }
    });
    to_sort.extend(to_delete);
    Ok(to_sort)
}

/// `mergeSortedSlice`: inserts server-only items among patch items where the live order puts
/// them.
fn merge_sorted_slice(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: Option<&str>,
    kind: ElementKind,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() || j < right.len() {
        if i >= left.len() {
            out.push(right[j].clone());
            j += 1;
        } else if j >= right.len() {
            out.push(left[i].clone());
            i += 1;
        } else {
            let li = index_of(server_order, &left[i], merge_key, kind);
            let ri = index_of(server_order, &right[j], merge_key, kind);
            match (li, ri) {
                (Some(li), Some(ri)) if li < ri => {
                    out.push(left[i].clone());
                    i += 1;
                }
                _ => {
                    out.push(right[j].clone());
                    j += 1;
                }
            }
        }
    }
    out
}

/// `ErrNoMergeKey`.
fn no_merge_key(item: &Value, key: &str) -> String {
    format!(
        "map: {} does not contain declared merge key: {key}",
        go_v(item)
    )
}

/// `ErrBadPatchType`.
fn bad_patch_type(directive: &Value, map: &Map<String, Value>) -> PatchError {
    let directive = match directive {
        Value::String(s) => s.clone(),
        other => format!("%!s({})", go_v(other)),
    };
    failed(format!(
        "unknown patch type: {directive} in map: {}",
        go_v(&Value::Object(map.clone()))
    ))
}

/// `ErrBadArgType`.
fn bad_arg_type(expected: &str, actual: &Value) -> String {
    let actual = match actual {
        Value::Null => "%!s(<nil>)".to_owned(),
        other => go_type(other).to_owned(),
    };
    format!("expected a {expected}, but received a {actual}")
}

/// The Go type JSON decodes into (`UnmarshalCaseSensitivePreserveInts`).
fn go_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `%v` of decoded JSON: `map[a:1 b:[x y]]`, `<nil>`, unquoted strings.
fn go_v(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_v).collect();
            format!("[{}]", inner.join(" "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", go_v(&map[k.as_str()])))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn pod() -> MergeSchema {
        MergeSchema::for_builtin("", "v1", "Pod")
    }

    fn apply(target: Value, patch: Value) -> Result<Value, PatchError> {
        strategic_merge_patch(&target, &patch, &pod())
    }

    #[test]
    fn list_maps_merge_by_key_and_atomic_lists_are_replaced() {
        let live = json!({
            "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
            "spec": {
                "containers": [
                    {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
                    {"name": "sidecar", "image": "side:1"}
                ],
                "tolerations": [{"key": "k1"}]
            }
        });
        let patch = json!({
            "metadata": {"labels": {"a": null, "c": "3"}, "finalizers": ["y", "x"]},
            "spec": {
                "containers": [
                    {"name": "app", "image": "app:2", "env": [{"name": "B", "value": "2"}]}
                ],
                "tolerations": [{"key": "k2"}]
            }
        });
        assert_eq!(
            apply(live, patch).expect("a plain strategic patch applies"),
            json!({
                "metadata": {"name": "p", "labels": {"b": "2", "c": "3"}, "finalizers": ["y", "x"]},
                "spec": {
                    "containers": [
                        // Patch items the live order does not place come first.
                        {"name": "app", "image": "app:2",
                         "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]},
                        {"name": "sidecar", "image": "side:1"}
                    ],
                    "tolerations": [{"key": "k2"}]
                }
            })
        );
    }

    #[test]
    fn patch_directives_replace_delete_and_retain() {
        let live = json!({"spec": {
            "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}],
            "nodeSelector": {"x": "1", "y": "2"},
            "securityContext": {"runAsUser": 1, "fsGroup": 2}
        }});
        let cases = vec![
            (
                json!({"spec": {"containers": [{"name": "b", "$patch": "delete"}]}}),
                json!({"spec": {
                    "containers": [{"name": "a", "image": "1"}],
                    "nodeSelector": {"x": "1", "y": "2"},
                    "securityContext": {"runAsUser": 1, "fsGroup": 2}
                }}),
            ),
            (
                json!({"spec": {"containers": [{"name": "c", "image": "3"}, {"$patch": "replace"}]}}),
                json!({"spec": {
                    "containers": [{"name": "c", "image": "3"}],
                    "nodeSelector": {"x": "1", "y": "2"},
                    "securityContext": {"runAsUser": 1, "fsGroup": 2}
                }}),
            ),
            (
                json!({"spec": {"nodeSelector": {"z": "3", "$patch": "replace"}}}),
                json!({"spec": {
                    "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}],
                    "nodeSelector": {"z": "3"},
                    "securityContext": {"runAsUser": 1, "fsGroup": 2}
                }}),
            ),
            (
                json!({"spec": {"securityContext": {"$patch": "delete"}}}),
                json!({"spec": {
                    "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}],
                    "nodeSelector": {"x": "1", "y": "2"},
                    "securityContext": {}
                }}),
            ),
            (
                json!({"spec": {"securityContext": {"$retainKeys": ["runAsUser"], "runAsUser": 5}}}),
                json!({"spec": {
                    "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}],
                    "nodeSelector": {"x": "1", "y": "2"},
                    "securityContext": {"runAsUser": 5}
                }}),
            ),
        ];
        for (patch, expected) in cases {
            assert_eq!(
                apply(live.clone(), patch.clone()).expect("every directive applies"),
                expected,
                "{patch}"
            );
        }
    }

    #[test]
    fn primitive_lists_support_deletion_lists_and_dedup() {
        let live = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
        assert_eq!(
            apply(
                live.clone(),
                json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}})
            )
            .expect("deletion list applies"),
            json!({"metadata": {"finalizers": ["a", "c"]}})
        );
        // Upstream's deduplication swaps the last element into a duplicate's slot.
        assert_eq!(
            deduplicate_scalars(vec![json!("a"), json!("b"), json!("a"), json!("c")]),
            vec![json!("a"), json!("b"), json!("c")]
        );
        assert_eq!(
            deduplicate_scalars(vec![json!("a"), json!("a"), json!("b"), json!("c")]),
            vec![json!("a"), json!("c"), json!("b")]
        );
        assert_eq!(
            apply(live, json!({"metadata": {"finalizers": ["d", "a"]}}))
                .expect("merge of primitives applies"),
            json!({"metadata": {"finalizers": ["d", "a", "b", "c"]}})
        );
    }

    #[test]
    fn set_element_order_fixes_the_final_order() {
        let live = json!({"spec": {"containers": [
            {"name": "a", "image": "1"}, {"name": "b", "image": "2"}, {"name": "c", "image": "3"}
        ]}});
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
            "containers": [{"name": "a", "image": "9"}]
        }});
        assert_eq!(
            apply(live, patch).expect("setElementOrder applies"),
            json!({"spec": {"containers": [
                {"name": "c", "image": "3"}, {"name": "a", "image": "9"}, {"name": "b", "image": "2"}
            ]}})
        );
    }

    #[test]
    fn malformed_directives_are_refused_with_upstream_messages() {
        let live =
            json!({"spec": {"containers": [{"name": "a"}], "securityContext": {"runAsUser": 1}}});
        let cases = vec![
            (
                json!({"spec": {"securityContext": {"$retainKeys": ["fsGroup"], "runAsUser": 2}}}),
                PatchError::StrategicMergeBadRequest {
                    message: BAD_RETAIN_KEYS.to_owned(),
                },
            ),
            (
                json!({"metadata": {"$deleteFromPrimitiveList": ["x"]}}),
                PatchError::StrategicMergeBadRequest {
                    message: BAD_PRIMITIVE_LIST.to_owned(),
                },
            ),
            (
                json!({"spec": {"$setElementOrder": [{"name": "a"}]}}),
                PatchError::StrategicMergeBadRequest {
                    message: BAD_SET_ELEMENT_ORDER.to_owned(),
                },
            ),
            (
                json!({"spec": {"containers": [{"image": "x"}]}}),
                PatchError::StrategicMergeFailed {
                    message: "map: map[image:x] does not contain declared merge key: name"
                        .to_owned(),
                },
            ),
            (
                json!({"spec": {"securityContext": {"$patch": "merge"}}}),
                PatchError::StrategicMergeFailed {
                    message: "unknown patch type: merge in map: map[$patch:merge]".to_owned(),
                },
            ),
            (
                json!({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}),
                PatchError::StrategicMergeFailed {
                    message: "merging lists cannot yet be specified in the patch".to_owned(),
                },
            ),
            (
                json!({"metadata": {"finalizers": [["x"]]}}),
                PatchError::StrategicMergeInvalid {
                    message: NO_LIST_OF_LISTS.to_owned(),
                },
            ),
        ];
        let live = {
            let mut live = live;
            live["metadata"] = json!({"finalizers": []});
            live
        };
        for (patch, expected) in cases {
            assert_eq!(apply(live.clone(), patch.clone()), Err(expected), "{patch}");
        }
        let mut mixed = live.clone();
        mixed["metadata"] = json!({"finalizers": ["a"]});
        assert_eq!(
            apply(mixed, json!({"metadata": {"finalizers": [1]}})),
            Err(PatchError::StrategicMergeFailed {
                message: "list element types are not identical: [[a] [1]]".to_owned()
            })
        );
        assert_eq!(
            apply(live, json!(["x"])),
            Err(PatchError::StrategicMergeBadRequest {
                message:
                    "json: cannot unmarshal array into Go value of type map[string]interface {}"
                        .to_owned()
            })
        );
    }

    #[test]
    fn replace_strategy_fields_take_the_patch_object() {
        let pdb = MergeSchema::for_builtin("policy", "v1", "PodDisruptionBudget");
        let live = json!({"spec": {"selector": {"matchLabels": {"a": "1"}}, "minAvailable": 1}});
        let patch = json!({"spec": {"selector": {"matchExpressions": [{"key": "b", "operator": "Exists"}]}}});
        assert_eq!(
            strategic_merge_patch(&live, &patch, &pdb),
            Ok(json!({"spec": {
                "selector": {"matchExpressions": [{"key": "b", "operator": "Exists"}]},
                "minAvailable": 1
            }}))
        );
    }

    #[test]
    fn new_values_lose_nulls_and_directives() {
        let patch = json!({"spec": {"affinity": {"nodeAffinity": null, "podAffinity": {"x": 1}},
                                     "dnsConfig": {"$patch": "delete"}}});
        assert_eq!(
            apply(json!({"spec": {}}), patch).expect("new subtrees are cleaned"),
            json!({"spec": {"affinity": {"podAffinity": {"x": 1}}}})
        );
    }
}
