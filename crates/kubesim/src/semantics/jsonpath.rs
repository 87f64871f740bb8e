//! The JSONPath dialect of Kubernetes (`k8s.io/client-go/util/jsonpath`) as CRD
//! `additionalPrinterColumns` use it: `.spec.replicas`, `.metadata.labels['app\.kubernetes\.io/name']`,
//! `.status.conditions[?(@.type=='Ready')].status`, `.items[0]`, `.items[-1:]`, `.spec.*`,
//! `..name`, unions `[0,2]` (rust-ecosystem.md §3.3 "Table": the apiextensions table convertor
//! evaluates each column's `jsonPath` and keeps the first result).
//!
//! Pure: parsing and evaluation over `serde_json::Value`. Must not format results (the table
//! module decides how a value becomes a cell) and must not fail on missing data: a path that
//! finds nothing returns no results, which the caller renders as an empty cell.

use std::cmp::Ordering;

use serde_json::Value;

/// Why a JSONPath expression could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JsonPathError {
    #[error("unexpected end of JSONPath {path:?}: {expected}")]
    UnexpectedEnd {
        path: String,
        expected: &'static str,
    },
    #[error("unexpected character {found:?} at offset {offset} of JSONPath {path:?}: {expected}")]
    Unexpected {
        path: String,
        offset: usize,
        found: char,
        expected: &'static str,
    },
    #[error("invalid number {text:?} in JSONPath {path:?}")]
    Number { path: String, text: String },
}

/// A parsed JSONPath.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq)]
enum Step {
    /// `.name` or `['name']`.
    Field(String),
    /// `.*` or `[*]`: every member of an object or item of an array.
    Wildcard,
    /// `..`: the current values and all their descendants (the next step filters them).
    Descendants,
    /// `[i]`, negative from the end.
    Index(i64),
    /// `[start:end:step]`.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
    },
    /// `[a,b]`: the union of the selections.
    Union(Vec<Step>),
    /// `[?(...)]`: the items of an array (or members of an object) the filter keeps.
    Filter(Filter),
}

#[derive(Clone, Debug, PartialEq)]
struct Filter {
    left: Operand,
    /// `None` for an existence test `[?(@.x)]`.
    comparison: Option<(Comparison, Operand)>,
}

#[derive(Clone, Debug, PartialEq)]
enum Operand {
    /// `@...` relative to the item under test.
    Path(Vec<Step>),
    Literal(Value),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

struct Parser<'a> {
    path: &'a str,
    chars: Vec<char>,
    at: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn end(&self, expected: &'static str) -> JsonPathError {
        JsonPathError::UnexpectedEnd {
            path: self.path.to_string(),
            expected,
        }
    }

    fn unexpected(&self, expected: &'static str) -> JsonPathError {
        match self.peek() {
            Some(found) => JsonPathError::Unexpected {
                path: self.path.to_string(),
                offset: self.at,
                found,
                expected,
            },
            None => self.end(expected),
        }
    }

    fn expect(&mut self, c: char, expected: &'static str) -> Result<(), JsonPathError> {
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// Steps until `stop` (not consumed) or the end.
    fn steps(&mut self, stop: &[char]) -> Result<Vec<Step>, JsonPathError> {
        let mut steps = Vec::new();
        while let Some(c) = self.peek() {
            if stop.contains(&c) {
                break;
            }
            match c {
                '.' => {
                    self.at += 1;
                    if self.peek() == Some('.') {
                        self.at += 1;
                        steps.push(Step::Descendants);
                    }
                    match self.peek() {
                        Some('*') => {
                            self.at += 1;
                            steps.push(Step::Wildcard);
                        }
                        Some('[') => {}
                        Some(_) => steps.push(Step::Field(self.identifier())),
                        // A trailing `.` (the whole object, as in `{.}`) selects the current value.
                        None => {}
                    }
                }
                '[' => {
                    self.at += 1;
                    steps.push(self.bracket()?);
                    self.expect(']', "`]` closing a subscript")?;
                }
                '$' | '@' if steps.is_empty() => self.at += 1,
                _ => steps.push(Step::Field(self.identifier())),
            }
        }
        Ok(steps)
    }

    /// A field name after `.`: up to the next `.`, `[`, space or operator; `\.` escapes a dot.
    fn identifier(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            match c {
                '\\' if self.chars.get(self.at + 1).is_some() => {
                    name.push(self.chars[self.at + 1]);
                    self.at += 2;
                }
                '.' | '[' | ']' | ' ' | ')' | '=' | '!' | '<' | '>' | ',' | '}' => break,
                _ => {
                    name.push(c);
                    self.at += 1;
                }
            }
        }
        name
    }

    fn quoted(&mut self) -> Result<String, JsonPathError> {
        let quote = self.peek().ok_or_else(|| self.end("a quoted string"))?;
        self.at += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.end("a closing quote")),
                Some('\\') if self.chars.get(self.at + 1).is_some() => {
                    text.push(self.chars[self.at + 1]);
                    self.at += 2;
                }
                Some(c) if c == quote => {
                    self.at += 1;
                    return Ok(text);
                }
                Some(c) => {
                    text.push(c);
                    self.at += 1;
                }
            }
        }
    }

    fn integer(&mut self) -> Result<Option<i64>, JsonPathError> {
        self.skip_spaces();
        let start = self.at;
        if self.peek() == Some('-') {
            self.at += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        self.skip_spaces();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse().map(Some).map_err(|_| JsonPathError::Number {
            path: self.path.to_string(),
            text,
        })
    }

    /// The inside of `[...]`.
    fn bracket(&mut self) -> Result<Step, JsonPathError> {
        self.skip_spaces();
        match self.peek() {
            Some('?') => {
                self.at += 1;
                self.expect('(', "`(` opening a filter")?;
                let filter = self.filter()?;
                self.expect(')', "`)` closing a filter")?;
                Ok(Step::Filter(filter))
            }
            Some('*') => {
                self.at += 1;
                Ok(Step::Wildcard)
            }
            _ => {
                let mut selections = vec![self.selection()?];
                while self.peek() == Some(',') {
                    self.at += 1;
                    selections.push(self.selection()?);
                }
                Ok(if selections.len() == 1 {
                    selections.remove(0)
                } else {
                    Step::Union(selections)
                })
            }
        }
    }

    /// One member of a subscript: `'name'`, `i` or `start:end:step`.
    fn selection(&mut self) -> Result<Step, JsonPathError> {
        self.skip_spaces();
        if matches!(self.peek(), Some('\'' | '"')) {
            let name = self.quoted()?;
            self.skip_spaces();
            return Ok(Step::Field(name));
        }
        let start = self.integer()?;
        if self.peek() != Some(':') {
            return start
                .map(Step::Index)
                .ok_or_else(|| self.unexpected("an index, a slice or a quoted name"));
        }
        self.at += 1;
        let end = self.integer()?;
        let step = if self.peek() == Some(':') {
            self.at += 1;
            self.integer()?
        } else {
            None
        };
        Ok(Step::Slice { start, end, step })
    }

    fn operand(&mut self) -> Result<Operand, JsonPathError> {
        self.skip_spaces();
        match self.peek() {
            Some('@') => Ok(Operand::Path(self.steps(&[' ', ')', '=', '!', '<', '>'])?)),
            Some('\'' | '"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            Some(_) => {
                let start = self.at;
                while self.peek().is_some_and(|c| !c.is_whitespace() && c != ')') {
                    self.at += 1;
                }
                let text: String = self.chars[start..self.at].iter().collect();
                match text.as_str() {
                    "true" => Ok(Operand::Literal(Value::Bool(true))),
                    "false" => Ok(Operand::Literal(Value::Bool(false))),
                    _ => serde_json::from_str::<serde_json::Number>(&text)
                        .map(|n| Operand::Literal(Value::Number(n)))
                        .map_err(|_| JsonPathError::Number {
                            path: self.path.to_string(),
                            text,
                        }),
                }
            }
            None => Err(self.end("a filter operand")),
        }
    }

    fn filter(&mut self) -> Result<Filter, JsonPathError> {
        let left = self.operand()?;
        self.skip_spaces();
        let comparison = match self.peek() {
            Some(')') => None,
            Some(_) => {
                let two: String = self.chars[self.at..(self.at + 2).min(self.chars.len())]
                    .iter()
                    .collect();
                let (op, width) = match two.as_str() {
                    "==" => (Comparison::Eq, 2),
                    "!=" => (Comparison::Ne, 2),
                    "<=" => (Comparison::Le, 2),
                    ">=" => (Comparison::Ge, 2),
                    _ => match self.peek() {
                        Some('<') => (Comparison::Lt, 1),
                        Some('>') => (Comparison::Gt, 1),
                        Some('=') => (Comparison::Eq, 1),
                        _ => return Err(self.unexpected("a comparison operator")),
                    },
                };
                self.at += width;
                let right = self.operand()?;
                self.skip_spaces();
                Some((op, right))
            }
            None => return Err(self.end("`)` closing a filter")),
        };
        Ok(Filter { left, comparison })
    }
}

impl JsonPath {
    /// Parses a path as a CRD column or `kubectl -o jsonpath` writes it, with or without the
    /// surrounding `{}` and the leading `$`.
    pub fn parse(path: &str) -> Result<JsonPath, JsonPathError> {
        let trimmed = path.trim();
        let inner = trimmed
            .strip_prefix('{')
            .and_then(|p| p.strip_suffix('}'))
            .unwrap_or(trimmed);
        let mut parser = Parser {
            path,
            chars: inner.chars().collect(),
            at: 0,
        };
        let steps = parser.steps(&[])?;
        Ok(JsonPath { steps })
    }

    /// Every value the path selects in `root`, in document order; empty when nothing matches.
    pub fn find<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        evaluate(&self.steps, vec![root])
    }
}

fn evaluate<'a>(steps: &[Step], mut current: Vec<&'a Value>) -> Vec<&'a Value> {
    for step in steps {
        current = current
            .into_iter()
            .flat_map(|value| apply(step, value))
            .collect();
        if current.is_empty() {
            break;
        }
    }
    current
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let resolved = if index < 0 { len + index } else { index };
    (0..len).contains(&resolved).then_some(resolved as usize)
}

fn apply<'a>(step: &Step, value: &'a Value) -> Vec<&'a Value> {
    match step {
        Step::Field(name) => value.get(name.as_str()).into_iter().collect(),
        Step::Wildcard => match value {
            Value::Object(map) => map.values().collect(),
            Value::Array(items) => items.iter().collect(),
            _ => Vec::new(),
        },
        Step::Descendants => {
            let mut out = Vec::new();
            descendants(value, &mut out);
            out
        }
        Step::Index(index) => value
            .as_array()
            .and_then(|items| resolve_index(*index, items.len()).map(|i| &items[i]))
            .into_iter()
            .collect(),
        Step::Slice { start, end, step } => {
            let Some(items) = value.as_array() else {
                return Vec::new();
            };
            let len = items.len() as i64;
            let clamp = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
            let from = start.map_or(0, clamp);
            let to = end.map_or(len, clamp);
            let stride = step.unwrap_or(1).max(1);
            (from..to)
                .step_by(stride as usize)
                .filter_map(|i| items.get(i as usize))
                .collect()
        }
        Step::Union(selections) => selections.iter().flat_map(|s| apply(s, value)).collect(),
        Step::Filter(filter) => {
            let candidates: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                Value::Object(map) => map.values().collect(),
                _ => Vec::new(),
            };
            candidates
                .into_iter()
                .filter(|item| keeps(filter, item))
                .collect()
        }
    }
}

fn descendants<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(value);
    match value {
        Value::Object(map) => map.values().for_each(|v| descendants(v, out)),
        Value::Array(items) => items.iter().for_each(|v| descendants(v, out)),
        _ => {}
    }
}

fn operand_values<'a>(operand: &'a Operand, item: &'a Value) -> Vec<&'a Value> {
    match operand {
        Operand::Path(steps) => evaluate(steps, vec![item]),
        Operand::Literal(value) => vec![value],
    }
}

fn keeps(filter: &Filter, item: &Value) -> bool {
    let left = operand_values(&filter.left, item);
    let Some((comparison, right)) = &filter.comparison else {
        return !left.is_empty();
    };
    let right = operand_values(right, item);
    let (Some(l), Some(r)) = (left.first(), right.first()) else {
        return false;
    };
    let ordering = compare(l, r);
    match comparison {
        Comparison::Eq => ordering == Some(Ordering::Equal),
        Comparison::Ne => ordering != Some(Ordering::Equal),
        Comparison::Lt => ordering == Some(Ordering::Less),
        Comparison::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        Comparison::Gt => ordering == Some(Ordering::Greater),
        Comparison::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
    }
}

/// Compares values of the same kind (numbers numerically); values of different kinds are
/// unordered, so only `!=` holds between them.
fn compare(left: &Value, right: &Value) -> Option<Ordering> {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => (left == right).then_some(Ordering::Equal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find(path: &str, root: &Value) -> Vec<Value> {
        JsonPath::parse(path)
            .expect("valid path")
            .find(root)
            .into_iter()
            .cloned()
            .collect()
    }

    fn object() -> Value {
        json!({
            "metadata": {"name": "db", "labels": {"app.kubernetes.io/name": "pg", "tier": "data"}},
            "spec": {"replicas": 3, "ports": [{"port": 5432}, {"port": 6432}, {"port": 15432}]},
            "status": {
                "conditions": [
                    {"type": "Available", "status": "True", "observedGeneration": 2},
                    {"type": "Ready", "status": "False", "observedGeneration": 3},
                ],
            },
        })
    }

    #[test]
    fn printer_column_paths_select_what_kubectl_shows() {
        let o = object();
        let cases: Vec<(&str, Vec<Value>)> = vec![
            (".spec.replicas", vec![json!(3)]),
            ("{.metadata.name}", vec![json!("db")]),
            ("$.metadata.name", vec![json!("db")]),
            (
                ".status.conditions[?(@.type=='Available')].status",
                vec![json!("True")],
            ),
            (
                ".status.conditions[?(@.type==\"Ready\")].status",
                vec![json!("False")],
            ),
            (
                ".status.conditions[?(@.observedGeneration >= 3)].type",
                vec![json!("Ready")],
            ),
            (
                ".status.conditions[?(@.type != 'Ready')].type",
                vec![json!("Available")],
            ),
            (
                ".status.conditions[?(@.observedGeneration)].type",
                vec![json!("Available"), json!("Ready")],
            ),
            (
                ".metadata.labels['app.kubernetes.io/name']",
                vec![json!("pg")],
            ),
            (
                ".metadata.labels.app\\.kubernetes\\.io/name",
                vec![json!("pg")],
            ),
            (".spec.ports[0].port", vec![json!(5432)]),
            (".spec.ports[-1].port", vec![json!(15432)]),
            (".spec.ports[1:].port", vec![json!(6432), json!(15432)]),
            (".spec.ports[0,2].port", vec![json!(5432), json!(15432)]),
            (
                ".spec.ports[*].port",
                vec![json!(5432), json!(6432), json!(15432)],
            ),
            (".spec.ports[::2].port", vec![json!(5432), json!(15432)]),
            ("..port", vec![json!(5432), json!(6432), json!(15432)]),
            (".metadata.labels.*", vec![json!("pg"), json!("data")]),
            (".spec.missing", vec![]),
            (
                ".status.conditions[?(@.type=='Progressing')].status",
                vec![],
            ),
            (".spec.ports[7].port", vec![]),
        ];
        for (path, expected) in cases {
            assert_eq!(find(path, &o), expected, "{path}");
        }
    }

    #[test]
    fn malformed_paths_are_errors_naming_the_position() {
        assert_eq!(
            JsonPath::parse(".spec[?(@.a=='b'").map(|_| ()),
            Err(JsonPathError::UnexpectedEnd {
                path: ".spec[?(@.a=='b'".into(),
                expected: "`)` closing a filter",
            })
        );
        assert_eq!(
            JsonPath::parse(".items[x]").map(|_| ()),
            Err(JsonPathError::Unexpected {
                path: ".items[x]".into(),
                offset: 7,
                found: 'x',
                expected: "an index, a slice or a quoted name",
            })
        );
    }
}
