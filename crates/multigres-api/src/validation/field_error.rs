//! What validation reports: a message tied to the field it is about.
//!
//! The message is the Go operator's text, exactly (spec-api.md §11, §12.4); the field path is
//! ours and says where in the object to look, which Go's messages only partly do. A report
//! lists every finding at once, sorted by path (numeric indices in numeric order) and then by
//! message, instead of Go's first error in map order (spec-api.md §17 Q10).

use std::fmt;

use thiserror::Error;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathSegment {
    /// A field name: `.name`.
    Field(String),
    /// A list index: `[3]`.
    Index(usize),
    /// A map key: `[main]`.
    Key(String),
}

/// A path into an object, printed as Kubernetes prints field paths: `spec.cells[0].zone`,
/// `spec.pools[main].storage`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(Vec<PathSegment>);

impl FieldPath {
    /// The `spec` of the object.
    pub fn spec() -> Self {
        FieldPath(vec![PathSegment::Field("spec".to_owned())])
    }

    /// This path's field `name`.
    pub fn field(&self, name: &str) -> Self {
        self.with(PathSegment::Field(name.to_owned()))
    }

    /// This path's list item `index`.
    pub fn index(&self, index: usize) -> Self {
        self.with(PathSegment::Index(index))
    }

    /// This path's map entry `key`.
    pub fn key(&self, key: &str) -> Self {
        self.with(PathSegment::Key(key.to_owned()))
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    fn with(&self, segment: PathSegment) -> Self {
        let mut segments = self.0.clone();
        segments.push(segment);
        FieldPath(segments)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Field(name) if position == 0 => f.write_str(name)?,
                PathSegment::Field(name) => write!(f, ".{name}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
                PathSegment::Key(key) => write!(f, "[{key}]")?,
            }
        }
        Ok(())
    }
}

/// A rejection: the object must not be stored as it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Error)]
#[error("{message}")]
pub struct FieldError {
    /// Where the problem is.
    pub path: FieldPath,
    /// Go's message, verbatim: what is wrong and what is allowed.
    pub message: String,
}

impl FieldError {
    /// An error at `path`.
    pub fn new(path: FieldPath, message: impl Into<String>) -> Self {
        FieldError {
            path,
            message: message.into(),
        }
    }

    /// `path: message`, for output that has room for the path (the `render` command, Events).
    pub fn with_path(&self) -> String {
        format!("{}: {}", self.path, self.message)
    }
}

/// A warning: the object is accepted, but probably not what the user wants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldWarning {
    /// What the warning is about.
    pub path: FieldPath,
    /// Go's message, verbatim.
    pub message: String,
}

impl FieldWarning {
    /// A warning at `path`.
    pub fn new(path: FieldPath, message: impl Into<String>) -> Self {
        FieldWarning {
            path,
            message: message.into(),
        }
    }

    /// `path: message`.
    pub fn with_path(&self) -> String {
        format!("{}: {}", self.path, self.message)
    }
}

impl fmt::Display for FieldWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every error and warning about one object, each list sorted by path and then message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationReport {
    /// Rejections.
    pub errors: Vec<FieldError>,
    /// Warnings.
    pub warnings: Vec<FieldWarning>,
}

impl ValidationReport {
    /// No error (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// Adds another report's findings.
    pub fn extend(&mut self, other: ValidationReport) {
        self.errors.extend(other.errors);
        self.warnings.extend(other.warnings);
    }

    /// Sorts both lists and drops exact duplicates.
    pub fn sorted(mut self) -> Self {
        self.errors.sort();
        self.errors.dedup();
        self.warnings.sort();
        self.warnings.dedup();
        self
    }
}

/// Go's `%q` of a string (`strconv.Quote`; the `go-format` crate's, shared by the workspace).
pub use go_format::quote as go_quote;

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn paths_print_like_kubernetes_field_paths() {
        let path = FieldPath::spec()
            .field("databases")
            .index(0)
            .field("pools")
            .key("main")
            .field("storage");
        assert_eq!(path.to_string(), "spec.databases[0].pools[main].storage");
    }

    #[test]
    fn paths_sort_indices_numerically() {
        let cells = FieldPath::spec().field("cells");
        let mut paths = [
            cells.index(10),
            cells.index(2),
            FieldPath::spec().field("backup"),
        ];
        paths.sort();
        assert_eq!(
            paths.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["spec.backup", "spec.cells[2]", "spec.cells[10]"]
        );
    }

    #[test]
    fn errors_display_the_go_message_alone() {
        let error = FieldError::new(FieldPath::spec().field("cells"), "bad");
        assert_eq!(
            (error.to_string(), error.with_path()),
            ("bad".to_owned(), "spec.cells: bad".to_owned())
        );
    }
}
