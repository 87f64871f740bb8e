//! CEL `x-kubernetes-validations`: compile once per CRD, evaluate per write.
//!
//! Place: the last step of CRD validation (`crd_schema::validate`), run only when
//! the OpenAPI checks found no blocking error. Rules are parsed with the `cel`
//! interpreter that `kube-cel` re-exports and evaluated in a context carrying every
//! Kubernetes CEL library `kube-cel` registers (`KubeCelExt`).
//!
//! Why not `kube_cel::Validator` as a whole: its walk pairs `oldSelf` by list
//! index and binds a plain value for `optionalOldSelf`, while the API server
//! (`apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go`, v0.33)
//! pairs list-map items by their keys, binds `oldSelf` as an `optional`, ratchets
//! failures on unchanged values and words failures with the node's schema type.
//! The multigres CRDs' append-only rules sit under list-type=map lists, so the
//! pairing matters; this module walks the structural schema itself and uses
//! `kube-cel` for the language and its libraries.
//!
//! Semantics kept from the API server:
//! * transition rules (using `oldSelf`) run only when the value existed before,
//!   unless `optionalOldSelf: true` (then `oldSelf` is `optional.none()`/`optional.of(old)`);
//! * `oldSelf` follows object keys, map keys and list-type=map keys; never atomic or set items;
//! * a failing non-transition rule on a value equal to its old value is ratcheted (not an error);
//! * failures read `<path>: Invalid value: "<type>": <message>`, `message` trimmed,
//!   default `failed rule: <rule>`, `messageExpression` when it yields a non-empty
//!   single-line string; `reason` picks Forbidden/Required/Duplicate; `fieldPath`
//!   re-points the cause; a root failure has the field `<nil>`.
//!
//! Known gaps (fail-closed or cosmetic): no static type checking (an unknown field
//! fails at evaluation, not at CRD creation), no cost budget, list equality is
//! order-sensitive for sets, and runtime error texts come from the Rust interpreter.
//!
//! Must not: read clocks, do I/O, or mutate objects.

mod value;

use std::fmt;
use std::sync::Arc;

use kube_cel::KubeCelExt;
use kube_cel::cel::objects::OptionalValue;
use kube_cel::cel::{Context, ExecutionError, Program, Value as CelValue};
use serde_json::Value;

use crate::crd_schema::structural::Schema;
use crate::field_cause::{FieldCause, FieldPath, go_quote};

pub(crate) use value::parse_go_duration;

/// A rule as written in the CRD.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RuleSource {
    pub(crate) rule: String,
    pub(crate) message: Option<String>,
    pub(crate) message_expression: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) field_path: Option<String>,
    pub(crate) optional_old_self: Option<bool>,
}

impl RuleSource {
    /// Reads one `x-kubernetes-validations` entry; missing fields stay empty.
    pub(crate) fn from_json(raw: &Value) -> Self {
        let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_owned);
        RuleSource {
            rule: text("rule").unwrap_or_default(),
            message: text("message"),
            message_expression: text("messageExpression"),
            reason: text("reason"),
            field_path: text("fieldPath"),
            optional_old_self: raw.get("optionalOldSelf").and_then(Value::as_bool),
        }
    }

    /// `ruleErrorString`: the trimmed message if any, else the trimmed rule.
    fn error_string(&self) -> &str {
        match self.message.as_deref().map(str::trim) {
            Some(m) if !m.is_empty() => m,
            _ => self.rule.trim(),
        }
    }

    /// `ruleMessageOrDefault`.
    fn message_or_default(&self) -> String {
        match self.message.as_deref() {
            Some(m) if !m.is_empty() => m.trim().to_owned(),
            _ => format!("failed rule: {}", self.error_string()),
        }
    }

    /// Go's `%#v` of the `apiextensions.ValidationRule` the API server prints as
    /// the bad value of a rule that does not compile.
    fn go_struct(&self) -> String {
        let opt_str = |o: &Option<String>| go_quote(o.as_deref().unwrap_or_default());
        let reason = match &self.reason {
            Some(r) => format!("(*apiextensions.FieldValueErrorReason)({})", go_quote(r)),
            None => "(*apiextensions.FieldValueErrorReason)(nil)".to_owned(),
        };
        let optional = match self.optional_old_self {
            Some(b) => format!("(*bool)({b})"),
            None => "(*bool)(nil)".to_owned(),
        };
        format!(
            "apiextensions.ValidationRule{{Rule:{}, Message:{}, MessageExpression:{}, Reason:{reason}, FieldPath:{}, OptionalOldSelf:{optional}}}",
            go_quote(&self.rule),
            opt_str(&self.message),
            opt_str(&self.message_expression),
            opt_str(&self.field_path),
        )
    }
}

/// A compiled rule attached to its schema node.
pub(crate) struct CompiledRule {
    source: RuleSource,
    program: Program,
    message_program: Option<Program>,
    uses_old_self: bool,
    /// `NormalizedRuleFieldPath`: the rule's `fieldPath` resolved against the node.
    normalized_field_path: Option<String>,
}

impl fmt::Debug for CompiledRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledRule")
            .field("source", &self.source)
            .field("uses_old_self", &self.uses_old_self)
            .finish_non_exhaustive()
    }
}

impl CompiledRule {
    pub(crate) fn source(&self) -> &RuleSource {
        &self.source
    }

    pub(crate) fn uses_old_self(&self) -> bool {
        self.uses_old_self
    }
}

/// Why a rule was rejected when the CRD was created.
#[derive(Debug)]
pub(crate) struct RuleCompileError {
    /// `rule` or `messageExpression`: the member the cause points at.
    member: &'static str,
    source: Box<RuleSource>,
    detail: String,
}

impl RuleCompileError {
    /// The cause the API server reports under `x-kubernetes-validations[i]`.
    pub(crate) fn into_cause(self, rule_path: &FieldPath) -> FieldCause {
        FieldCause::invalid_rendered(
            &rule_path.child(self.member),
            &self.source.go_struct(),
            &self.detail,
        )
    }
}

/// Compiles a rule (and its `messageExpression`) for the node `schema`.
pub(crate) fn compile_rule(
    source: RuleSource,
    schema: &Schema,
) -> Result<CompiledRule, RuleCompileError> {
    let program = match Program::compile(source.rule.trim()) {
        Ok(p) => p,
        Err(err) => {
            return Err(RuleCompileError {
                member: "rule",
                detail: format!("compilation failed: {err}"),
                source: Box::new(source),
            });
        }
    };
    let message_program = match source.message_expression.as_deref().map(str::trim) {
        Some(expr) if !expr.is_empty() => match Program::compile(expr) {
            Ok(p) => Some(p),
            Err(err) => {
                return Err(RuleCompileError {
                    member: "messageExpression",
                    detail: format!("messageExpression compilation failed: {err}"),
                    source: Box::new(source),
                });
            }
        },
        _ => None,
    };
    let normalized_field_path = match source.field_path.as_deref() {
        Some(fp) if !fp.trim().is_empty() => Some(resolve_field_path(fp, schema).map_err(
            |()| RuleCompileError {
                member: "fieldPath",
                detail: "fieldPath must be a valid path".to_owned(),
                source: Box::new(source.clone()),
            },
        )?),
        _ => None,
    };
    let uses_old_self = program.references().has_variable("oldSelf");
    Ok(CompiledRule {
        source,
        program,
        message_program,
        uses_old_self,
        normalized_field_path,
    })
}

/// `ValidFieldPath`: resolves a rule's `fieldPath` (`.a.b`, `.m['k.x']`) against the
/// node's schema and returns it rendered relative to the node (`a.b`, `m[k.x]`).
pub(crate) fn resolve_field_path(field_path: &str, schema: &Schema) -> Result<String, ()> {
    let mut rendered = String::new();
    let mut current = schema;
    let mut rest = field_path.trim();
    while !rest.is_empty() {
        let (name, remaining) = if let Some(after_dot) = rest.strip_prefix('.') {
            let end = after_dot.find(['.', '[']).unwrap_or(after_dot.len());
            (after_dot[..end].to_owned(), &after_dot[end..])
        } else if let Some(after_bracket) = rest.strip_prefix("['") {
            let end = after_bracket.find("']").ok_or(())?;
            (
                after_bracket[..end].replace("\\'", "'"),
                &after_bracket[end + 2..],
            )
        } else {
            return Err(());
        };
        if name.is_empty() {
            return Err(());
        }
        if !current.properties.is_empty() {
            current = current.properties.get(&name).ok_or(())?;
            if !rendered.is_empty() {
                rendered.push('.');
            }
            rendered.push_str(&name);
        } else if let Some(value_schema) = current.additional_schema() {
            current = value_schema;
            rendered.push_str(&format!("[{name}]"));
        } else {
            return Err(());
        }
        rest = remaining;
    }
    Ok(rendered)
}

/// Evaluates every rule of the schema tree against `new` (and `old` on update),
/// appending the API server's causes.
pub(crate) fn evaluate(
    root: &Schema,
    new: &Value,
    old: Option<&Value>,
    causes: &mut Vec<FieldCause>,
) {
    if !root.has_rules() {
        return;
    }
    let env = Context::default().with_all();
    let walk = Walk { env: &env };
    let at = At {
        schema: root,
        path: FieldPath::root(),
        new,
        old,
        resource_root: true,
    };
    walk.node(&at, false, causes);
}

/// The evaluation environment (every Kubernetes CEL library registered once).
struct Walk<'e> {
    env: &'e Context<'e>,
}

/// One value being validated: its schema node, path and correlated old value.
struct At<'a> {
    schema: &'a Schema,
    path: FieldPath,
    new: &'a Value,
    old: Option<&'a Value>,
    /// The resource root exposes `apiVersion`, `kind` and `metadata` to rules.
    resource_root: bool,
}

impl Walk<'_> {
    /// `Validator.validate` for one node. `parent_unchanged` is the ratcheting
    /// verdict of the nearest correlated ancestor.
    fn node(&self, at: &At<'_>, parent_unchanged: bool, causes: &mut Vec<FieldCause>) {
        // Only non-null values are validated (rules on nullable fields see non-null values).
        if at.new.is_null() {
            return;
        }
        let old = at.old.filter(|o| !o.is_null());
        let unchanged = match old {
            Some(o) => o == at.new,
            None => parent_unchanged,
        };
        let schema = at.schema;
        self.rules(at, old, unchanged, causes);
        for branch in &schema.all_of {
            let branch_at = At {
                schema: branch,
                path: at.path.clone(),
                new: at.new,
                old,
                resource_root: at.resource_root,
            };
            self.node(&branch_at, parent_unchanged, causes);
        }
        let child = |schema, path, new, old| At {
            schema,
            path,
            new,
            old,
            resource_root: false,
        };
        match at.new {
            Value::Array(items) => {
                let Some(item_schema) = schema.items.as_deref() else {
                    return;
                };
                for (i, item) in items.iter().enumerate() {
                    let old_item =
                        match (schema.list_type.as_deref(), old.and_then(Value::as_array)) {
                            (Some("map"), Some(old_items)) => {
                                find_by_keys(old_items, item, &schema.list_map_keys)
                            }
                            _ => None,
                        };
                    self.node(
                        &child(item_schema, at.path.index(i), item, old_item),
                        unchanged,
                        causes,
                    );
                }
            }
            Value::Object(map) => {
                let old_map = old.and_then(Value::as_object);
                if let Some(value_schema) = schema.additional_schema() {
                    for (k, v) in map {
                        let old_v = old_map.and_then(|m| m.get(k));
                        self.node(
                            &child(value_schema, at.path.key(k), v, old_v),
                            unchanged,
                            causes,
                        );
                    }
                }
                for (k, v) in map {
                    if let Some(prop) = schema.properties.get(k) {
                        let old_v = old_map.and_then(|m| m.get(k));
                        self.node(&child(prop, at.path.child(k), v, old_v), unchanged, causes);
                    }
                }
            }
            _ => {}
        }
    }

    /// `validateExpressions`: evaluates the node's own rules (`old` is the
    /// non-null correlated old value).
    fn rules(
        &self,
        at: &At<'_>,
        old: Option<&Value>,
        unchanged: bool,
        causes: &mut Vec<FieldCause>,
    ) {
        let (schema, path, new, resource_root) = (at.schema, &at.path, at.new, at.resource_root);
        if schema.rules.is_empty() {
            return;
        }
        let type_value = go_quote(schema.type_name());
        let self_value = value::to_cel(new, schema, resource_root);
        let old_value = old.map(|o| value::to_cel(o, schema, resource_root));
        for rule in &schema.rules {
            let optional_old_self = rule.source.optional_old_self == Some(true);
            if rule.uses_old_self && old_value.is_none() && !optional_old_self {
                continue;
            }
            let mut scope = self.env.new_inner_scope();
            scope.add_variable_from_value("self", self_value.clone());
            match (&old_value, optional_old_self) {
                (Some(o), false) => scope.add_variable_from_value("oldSelf", o.clone()),
                (Some(o), true) => scope.add_variable_from_value(
                    "oldSelf",
                    CelValue::Opaque(Arc::new(OptionalValue::of(o.clone()))),
                ),
                (None, _) => scope.add_variable_from_value(
                    "oldSelf",
                    CelValue::Opaque(Arc::new(OptionalValue::none())),
                ),
            }
            match rule.program.execute(&scope) {
                Ok(CelValue::Bool(true)) => {}
                Ok(_) => {
                    let cause_path = match &rule.normalized_field_path {
                        Some(relative) => path.child(relative),
                        None => path.clone(),
                    };
                    let message = rule
                        .message_program
                        .as_ref()
                        .and_then(|p| evaluate_message(p, &scope))
                        .unwrap_or_else(|| rule.source.message_or_default());
                    let cause = match rule.source.reason.as_deref() {
                        Some("FieldValueForbidden") => FieldCause::forbidden(&cause_path, &message),
                        Some("FieldValueRequired") => FieldCause::required(&cause_path, &message),
                        Some("FieldValueDuplicate") => {
                            FieldCause::duplicate_rendered(&cause_path, &type_value)
                        }
                        _ => FieldCause::invalid_rendered(&cause_path, &type_value, &message),
                    };
                    // Ratcheting: a non-transition rule failing on an unchanged value
                    // is only a warning in the API server.
                    if rule.uses_old_self || !unchanged {
                        causes.push(cause);
                    }
                }
                Err(err) => {
                    let detail = match err {
                        ExecutionError::NoSuchOverload => format!(
                            "'no such overload': call arguments did not match a supported operator, function or macro signature for rule: {}",
                            rule.source.error_string()
                        ),
                        other => format!(
                            "{} evaluating rule: {}",
                            go_error_text(&other),
                            rule.source.error_string()
                        ),
                    };
                    causes.push(FieldCause::invalid_rendered(path, &type_value, &detail));
                }
            }
        }
    }
}

/// `evalMessageExpression`: a non-empty, single-line string, else `None` (fall back).
fn evaluate_message(program: &Program, scope: &Context<'_>) -> Option<String> {
    match program.execute(scope) {
        Ok(CelValue::String(s)) => {
            let trimmed = s.trim();
            (!trimmed.is_empty() && !trimmed.contains('\n')).then(|| trimmed.to_owned())
        }
        _ => None,
    }
}

/// The cel-go wording of the runtime errors rules commonly hit.
fn go_error_text(err: &ExecutionError) -> String {
    match err {
        ExecutionError::NoSuchKey(key) => format!("no such key: {key}"),
        ExecutionError::DivisionByZero(_) => "division by zero".to_owned(),
        other => other.to_string(),
    }
}

/// The old item of a list-type=map list with the same key values as `item`.
fn find_by_keys<'a>(old_items: &'a [Value], item: &Value, keys: &[String]) -> Option<&'a Value> {
    old_items
        .iter()
        .find(|old| keys.iter().all(|k| old.get(k) == item.get(k)))
}

#[cfg(test)]
mod tests;
