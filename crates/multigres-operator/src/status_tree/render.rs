//! Renderers of the status tree: the whole tree as text lines (the `status` command, and the
//! frames `local` redraws in place on a terminal), and progress lines (one per node whose state
//! changed, for output that is not a terminal: logs, CI, tests).
//!
//! Pure: strings in, strings out. Writing them and knowing whether the output is a terminal
//! is the caller's job.

use std::collections::BTreeMap;

use super::model::{Health, Node, Tree, WarningEvent};

/// Whether lines get colours (terminals) or not (files, pipes, tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
}

fn marker(health: Health, style: Style) -> String {
    let (symbol, color) = match health {
        Health::Good => ("✓", "32"),
        Health::Progressing => ("…", "33"),
        Health::Failing => ("✗", "31"),
        Health::Unknown => ("?", "90"),
    };
    match style {
        Style::Plain => symbol.to_owned(),
        Style::Color => format!("\x1b[{color}m{symbol}\x1b[0m"),
    }
}

/// The whole tree, one line per node, details (conditions not True) under their node, then
/// the last Warning events.
pub fn tree_lines(tree: &Tree, style: Style) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(format!(
        "{} {}: {}",
        marker(tree.root.health, style),
        tree.root.title(),
        tree.root.summary
    ));
    for detail in &tree.root.details {
        lines.push(format!("    ! {detail}"));
    }
    push_children(&tree.root, "", style, &mut lines);
    if !tree.warnings.is_empty() {
        lines.push("Warning events:".to_owned());
        lines.extend(
            tree.warnings
                .iter()
                .map(|w| format!("  {}", warning_text(w))),
        );
    }
    lines
}

fn push_children(node: &Node, prefix: &str, style: Style, lines: &mut Vec<String>) {
    let count = node.children.len();
    for (i, child) in node.children.iter().enumerate() {
        let last = i + 1 == count;
        let branch = if last { "└── " } else { "├── " };
        lines.push(format!(
            "{prefix}{branch}{} {}: {}",
            marker(child.health, style),
            child.title(),
            child.summary
        ));
        let inner = format!("{prefix}{}", if last { "    " } else { "│   " });
        for detail in &child.details {
            lines.push(format!("{inner}    ! {detail}"));
        }
        push_children(child, &inner, style, lines);
    }
}

fn warning_text(warning: &WarningEvent) -> String {
    let count = if warning.count > 1 {
        format!(" (x{})", warning.count)
    } else {
        String::new()
    };
    format!(
        "{} {}{count}: {}",
        warning.regarding, warning.reason, warning.note
    )
}

/// The state of every node a progress line reports: CRs and pools always, pods only while
/// they fail (their names carry random suffixes and they come and go in dozens).
fn progress_states(tree: &Tree) -> BTreeMap<String, (usize, String)> {
    let mut states = BTreeMap::new();
    let mut order = 0;
    let mut visit = |path: String, node: &Node| {
        let mut text = format!("{}: {}", path, node.summary);
        for detail in &node.details {
            text.push_str(&format!("\n  ! {detail}"));
        }
        states.insert(path, (order, text));
        order += 1;
    };
    visit(tree.root.title(), &tree.root);
    fn walk(node: &Node, parent: Option<&str>, visit: &mut dyn FnMut(String, &Node)) {
        for child in &node.children {
            // Pods only when they fail or have a role: a failover shows as the pods' new roles
            // without listing every pod while a cluster converges.
            if child.kind == "pod" && child.health != Health::Failing && child.role.is_none() {
                continue;
            }
            let path = match parent {
                Some(parent) => format!("{parent} / {}", child.title()),
                None => child.title(),
            };
            visit(path.clone(), child);
            walk(child, Some(&path), visit);
        }
    }
    walk(&tree.root, None, &mut visit);
    states
}

/// Lines for what changed from `previous` (nothing before: everything) to `current`, in tree
/// order: `<path>: <summary>`, each detail on its own `  ! ` line, nodes that went away as
/// `<path>: gone`, and Warning events not seen before.
pub fn progress_lines(previous: Option<&Tree>, current: &Tree) -> Vec<String> {
    let before = previous.map(progress_states).unwrap_or_default();
    let now = progress_states(current);
    let mut changed: Vec<(usize, &String)> = now
        .iter()
        .filter(|(path, (_, text))| before.get(*path).map(|(_, t)| t) != Some(text))
        .map(|(_, (order, text))| (*order, text))
        .collect();
    changed.sort();
    let mut lines: Vec<String> = changed
        .into_iter()
        .flat_map(|(_, text)| text.lines().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    lines.extend(
        before
            .keys()
            .filter(|path| !now.contains_key(*path))
            .map(|path| format!("{path}: gone")),
    );
    let seen: Vec<&WarningEvent> = previous
        .map(|p| p.warnings.iter().collect())
        .unwrap_or_default();
    lines.extend(
        current
            .warnings
            .iter()
            .filter(|w| {
                !seen
                    .iter()
                    .any(|s| s.regarding == w.regarding && s.reason == w.reason && s.note == w.note)
            })
            .map(|w| format!("Warning {}", warning_text(w))),
    );
    lines
}

/// A terminal frame that replaces the `previous_height` lines drawn last with `lines`: cursor
/// up to the first of them, clear to the end of the screen, write with line wrapping off (a
/// wrapped line would break the next frame's line count).
pub fn redraw(previous_height: usize, lines: &[String]) -> String {
    let mut frame = String::new();
    if previous_height > 0 {
        frame.push_str(&format!("\x1b[{previous_height}F"));
    }
    frame.push_str("\x1b[J\x1b[?7l");
    for line in lines {
        frame.push_str(line);
        frame.push('\n');
    }
    frame.push_str("\x1b[?7h");
    frame
}
