//! The 409 an apply gets when it would change fields another manager owns.
//!
//! Place: the error half of `ssa::apply`. Wording is apimachinery's `NewConflictError`:
//! `Apply failed with 1 conflict: conflict with "mgr" using v1: .spec.x`, or for several,
//! `Apply failed with N conflicts: conflicts with "a" using v1:\n- .spec.x\n- .spec.y` grouped by
//! manager in the order of their identity keys; one cause per field with reason
//! `FieldManagerConflict`, the field path, and `conflict with "mgr" using v1`.
//!
//! Must not: decide whether a conflict exists (that is `ssa`).

use serde_json::{Value, json};

use super::field_set::{Path, path_to_string};
use super::managed_fields::Identity;

/// One conflicting field.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// The manager that owns it.
    pub manager: Identity,
    /// The field.
    pub path: Path,
}

/// All conflicts of one apply, grouped by manager (identity key order), fields in
/// structured-merge-diff iteration order.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}", self.message())]
pub struct ApplyConflicts {
    conflicts: Vec<Conflict>,
}

/// One `details.causes[]` entry of the 409.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictCause {
    /// Always `FieldManagerConflict`.
    pub reason: &'static str,
    /// `conflict with "mgr" using v1`.
    pub message: String,
    /// `.spec.x`.
    pub field: String,
}

impl ApplyConflicts {
    /// Conflicts in the order given (the caller groups them by manager key).
    pub fn new(conflicts: Vec<Conflict>) -> Self {
        ApplyConflicts { conflicts }
    }

    /// The conflicts.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    /// The `Status.message`.
    pub fn message(&self) -> String {
        if let [only] = self.conflicts.as_slice() {
            return format!(
                "Apply failed with 1 conflict: conflict with {}: {}",
                only.manager.describe(),
                path_to_string(&only.path)
            );
        }
        let mut lines = Vec::new();
        let mut current: Option<&Identity> = None;
        for conflict in &self.conflicts {
            if current != Some(&conflict.manager) {
                lines.push(format!("conflicts with {}:", conflict.manager.describe()));
                current = Some(&conflict.manager);
            }
            lines.push(format!("- {}", path_to_string(&conflict.path)));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            self.conflicts.len(),
            lines.join("\n")
        )
    }

    /// The `Status.details.causes`.
    pub fn causes(&self) -> Vec<ConflictCause> {
        self.conflicts
            .iter()
            .map(|conflict| ConflictCause {
                reason: "FieldManagerConflict",
                message: format!("conflict with {}", conflict.manager.describe()),
                field: path_to_string(&conflict.path),
            })
            .collect()
    }

    /// The whole `Status` object the API server sends (`errors.NewApplyConflict`): 409,
    /// reason `Conflict`, details holding only the causes.
    pub fn status(&self) -> Value {
        let causes: Vec<Value> = self
            .causes()
            .into_iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect();
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message(),
            "reason": "Conflict",
            "details": {"causes": causes},
            "code": 409
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::field_set::PathElement;
    use super::super::managed_fields::Operation;
    use super::*;
    use pretty_assertions::assert_eq;

    fn path(fields: &[&str]) -> Path {
        fields
            .iter()
            .map(|f| PathElement::Field((*f).to_owned()))
            .collect()
    }

    #[test]
    fn one_conflict_reads_as_a_single_sentence() {
        let conflicts = ApplyConflicts::new(vec![Conflict {
            manager: Identity::new("mgr", Operation::Update, "v1", ""),
            path: path(&["spec", "x"]),
        }]);
        assert_eq!(
            conflicts.to_string(),
            r#"Apply failed with 1 conflict: conflict with "mgr" using v1: .spec.x"#
        );
        assert_eq!(
            conflicts.status(),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Apply failed with 1 conflict: conflict with \"mgr\" using v1: .spec.x",
                "reason": "Conflict",
                "details": {"causes": [{"reason": "FieldManagerConflict",
                                        "message": "conflict with \"mgr\" using v1",
                                        "field": ".spec.x"}]},
                "code": 409
            })
        );
    }

    #[test]
    fn several_conflicts_are_grouped_by_manager() {
        let a = Identity::new("a", Operation::Apply, "v1", "");
        let b = Identity::new("b", Operation::Update, "v1", "status");
        let conflicts = ApplyConflicts::new(vec![
            Conflict {
                manager: a.clone(),
                path: path(&["spec", "x"]),
            },
            Conflict {
                manager: a,
                path: path(&["spec", "y"]),
            },
            Conflict {
                manager: b,
                path: path(&["status", "z"]),
            },
        ]);
        assert_eq!(
            conflicts.message(),
            "Apply failed with 3 conflicts: conflicts with \"a\":\n- .spec.x\n- .spec.y\n\
             conflicts with \"b\" with subresource \"status\" using v1:\n- .status.z"
        );
        let fields: Vec<String> = conflicts.causes().into_iter().map(|c| c.field).collect();
        assert_eq!(fields, vec![".spec.x", ".spec.y", ".status.z"]);
    }
}
