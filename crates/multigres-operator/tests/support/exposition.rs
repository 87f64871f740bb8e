//! A parser of the OpenMetrics text the operator serves, strict enough that a malformed line
//! fails the test that scrapes it: every sample must belong to a declared family, label values
//! must be quoted and escaped, values must be numbers and the text must end with `# EOF`.

use std::collections::BTreeMap;

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    /// The exemplar's labels, when the line carries one (`# {trace_id="…"} 0.2`).
    pub exemplar: Option<BTreeMap<String, String>>,
}

/// A parsed scrape: families by name (`# TYPE`) and every sample in order.
#[derive(Debug, Default)]
pub struct Exposition {
    pub types: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The samples of `name` whose labels include every pair of `labels`.
    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|sample| {
                sample.name == name
                    && labels.iter().all(|(key, value)| {
                        sample.labels.get(*key).map(String::as_str) == Some(value)
                    })
            })
            .collect()
    }

    /// The value of the one sample of `name` with exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|sample| sample.name == name && sample.labels == wanted)
            .map(|sample| sample.value)
    }

    /// Every sample name a PromQL expression can use: a counter `x` exposes `x_total`
    /// (and `x_created`), a histogram `x` exposes `x_bucket`, `x_sum` and `x_count`.
    pub fn queryable_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (family, kind) in &self.types {
            match kind.as_str() {
                "counter" => names.push(format!("{family}_total")),
                "histogram" => {
                    for suffix in ["_bucket", "_sum", "_count"] {
                        names.push(format!("{family}{suffix}"));
                    }
                }
                _ => names.push(family.clone()),
            }
        }
        names
    }
}

/// Parses `text`, or says which line is wrong and why.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut exposition = Exposition::default();
    let mut saw_eof = false;
    for (number, line) in text.lines().enumerate() {
        let fail = |why: &str| format!("line {}: {why}: {line:?}", number + 1);
        if saw_eof {
            return Err(fail("text after # EOF"));
        }
        if line == "# EOF" {
            saw_eof = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| fail("TYPE without a type"))?;
            if ![
                "counter",
                "gauge",
                "histogram",
                "info",
                "stateset",
                "unknown",
                "summary",
                "gaugehistogram",
            ]
            .contains(&kind)
            {
                return Err(fail("unknown metric type"));
            }
            exposition.types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") || line.starts_with("# UNIT ") {
            continue;
        }
        if line.starts_with('#') {
            return Err(fail("unknown comment"));
        }
        let (sample_part, exemplar_part) = match line.split_once(" # ") {
            Some((sample, exemplar)) => (sample, Some(exemplar)),
            None => (line, None),
        };
        let (name, labels, rest) = parse_series(sample_part).map_err(|why| fail(&why))?;
        let value = parse_value(rest.trim()).map_err(|why| fail(&why))?;
        let family_declared = exposition.types.iter().any(|(family, kind)| {
            let suffixes: &[&str] = match kind.as_str() {
                "counter" => &["_total", "_created"],
                "histogram" => &["_bucket", "_sum", "_count", "_created"],
                _ => &[""],
            };
            suffixes
                .iter()
                .any(|suffix| name == format!("{family}{suffix}"))
        });
        if !family_declared {
            return Err(fail("sample of an undeclared family"));
        }
        let exemplar = match exemplar_part {
            None => None,
            Some(text) => {
                let (empty_name, labels, rest) = parse_series(text).map_err(|why| fail(&why))?;
                if !empty_name.is_empty() {
                    return Err(fail("exemplar with a name"));
                }
                let value = rest.split_whitespace().next().unwrap_or_default();
                parse_value(value).map_err(|why| fail(&why))?;
                Some(labels)
            }
        };
        exposition.samples.push(Sample {
            name,
            labels,
            value,
            exemplar,
        });
    }
    if !saw_eof {
        return Err("the text does not end with # EOF".to_owned());
    }
    Ok(exposition)
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text.parse().map_err(|_| format!("bad value {text:?}")),
    }
}

/// Parses `name{key="value",…}` and returns the name, the labels and what follows.
fn parse_series(text: &str) -> Result<(String, BTreeMap<String, String>, &str), String> {
    let name_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    let name = text[..name_end].to_owned();
    let mut rest = &text[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = after_brace;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after_key) = rest.split_once("=\"").ok_or("label without =\"")?;
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("bad label name {key:?}"));
            }
            let mut value = String::new();
            let mut chars = after_key.char_indices();
            let mut end = None;
            while let Some((index, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, '\\')) => value.push('\\'),
                        _ => return Err("bad escape in a label value".to_owned()),
                    },
                    '"' => {
                        end = Some(index);
                        break;
                    }
                    _ => value.push(c),
                }
            }
            let end = end.ok_or("unterminated label value")?;
            if labels.insert(key.to_owned(), value).is_some() {
                return Err(format!("label {key} twice"));
            }
            rest = &after_key[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    if !rest.is_empty() && !rest.starts_with(' ') {
        return Err("no space after the series".to_owned());
    }
    Ok((name, labels, rest))
}
