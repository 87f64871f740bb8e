//! The status tree while `local` runs: redrawn in place on a terminal, as progress lines of
//! what changed otherwise; then the KUBECONFIG and the next commands to try.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kube::Client;

use crate::status_tree::{self, FetchError, Style, Tree};
use crate::topology::{AddressResolver, ApiServerResolver};

/// The trees of every MultigresCluster in `namespaces`, by namespace then name, with the pool
/// pods' roles from the topology (kubesim resolves its address).
pub async fn trees(
    client: &Client,
    namespaces: &BTreeSet<String>,
) -> Result<Vec<Tree>, FetchError> {
    let resolver: Arc<dyn AddressResolver> = Arc::new(ApiServerResolver::new(client.clone()));
    let mut trees = Vec::new();
    for namespace in namespaces {
        for mut objects in status_tree::fetch_clusters(client, namespace, None).await? {
            status_tree::read_poolers(&mut objects, resolver.clone()).await;
            trees.push(status_tree::build_tree(&objects));
        }
    }
    Ok(trees)
}

/// What was shown last, so the next frame replaces it or only the changes are printed.
pub struct Display {
    terminal: bool,
    /// After convergence the tree stops being redrawn (the next steps stay on screen) and
    /// changes are printed as lines.
    frozen: bool,
    height: usize,
    previous: BTreeMap<String, Tree>,
}

impl Display {
    pub fn new(terminal: bool) -> Display {
        Display {
            terminal,
            frozen: false,
            height: 0,
            previous: BTreeMap::new(),
        }
    }

    pub fn freeze(&mut self) {
        self.frozen = true;
    }

    pub fn show(&mut self, trees: &[Tree], out: &mut impl Write) -> std::io::Result<()> {
        if self.terminal && !self.frozen {
            let lines: Vec<String> = trees
                .iter()
                .flat_map(|tree| status_tree::tree_lines(tree, Style::Color))
                .collect();
            out.write_all(status_tree::redraw(self.height, &lines).as_bytes())?;
            self.height = lines.len();
        } else {
            for tree in trees {
                for line in status_tree::progress_lines(self.previous.get(&tree.root.name), tree) {
                    writeln!(out, "{line}")?;
                }
            }
        }
        self.previous = trees
            .iter()
            .map(|tree| (tree.root.name.clone(), tree.clone()))
            .collect();
        Ok(())
    }
}

/// The lines printed once every cluster is Healthy. `program` is how the user can run this
/// binary again ([`program_to_suggest`]).
pub fn print_next_steps(
    out: &mut impl Write,
    trees: &[Tree],
    kubeconfig: &Path,
    elapsed: Duration,
    state_dir: Option<&Path>,
    program: &str,
) -> std::io::Result<()> {
    let names: Vec<&str> = trees.iter().map(|t| t.root.name.as_str()).collect();
    let (namespace, first) = names
        .first()
        .and_then(|n| n.split_once('/'))
        .unwrap_or(("default", "minimal"));
    // The kubeconfig's namespace is `default`: a cluster elsewhere needs `-n` in every command.
    let in_namespace = if namespace == "default" {
        String::new()
    } else {
        format!(" -n {namespace}")
    };
    writeln!(out)?;
    writeln!(
        out,
        "Healthy: {} after {:.1} s.",
        names.join(", "),
        elapsed.as_secs_f64()
    )?;
    writeln!(out)?;
    writeln!(out, "export KUBECONFIG={}", kubeconfig.display())?;
    writeln!(out, "Then try:")?;
    writeln!(
        out,
        "  kubectl get multigresclusters,cells,tablegroups,shards,pods{in_namespace}"
    )?;
    writeln!(
        out,
        "  kubectl edit multigrescluster {first}{in_namespace}    # e.g. \
         spec.cells[0].spec.multigateway.replicas"
    )?;
    writeln!(out, "  {program} status {first}{in_namespace} --watch")?;
    match state_dir {
        Some(dir) => writeln!(
            out,
            "Ctrl-C stops everything; `--state-dir {}` resumes this cluster.",
            dir.display()
        )?,
        None => writeln!(
            out,
            "Ctrl-C stops everything and discards the cluster (keep it with --state-dir DIR)."
        )?,
    }
    writeln!(out)?;
    Ok(())
}

/// The command that runs this binary again from the user's shell: its name when it was found
/// on the PATH, else its absolute path. README's `scripts/local.sh` runs it through
/// `cargo run` as `target/release/multigres-operator`, which is on no PATH, so a bare
/// `multigres-operator status` would not be found (and a relative path would depend on the
/// folder the user is in).
pub fn program_to_suggest(argv0: Option<&std::ffi::OsStr>, current_exe: Option<&Path>) -> String {
    const NAME: &str = "multigres-operator";
    let invoked_by_path = argv0.is_some_and(|argv0| argv0.to_string_lossy().contains('/'));
    match current_exe {
        Some(exe) if invoked_by_path => exe.display().to_string(),
        _ => NAME.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status_tree::{Health, Node};

    fn healthy(name: &str) -> Tree {
        Tree {
            root: Node {
                kind: "MultigresCluster".to_owned(),
                name: name.to_owned(),
                health: Health::Good,
                summary: "Healthy".to_owned(),
                details: Vec::new(),
                role: None,
                children: Vec::new(),
            },
            warnings: Vec::new(),
        }
    }

    fn next_steps(trees: &[Tree]) -> String {
        let mut out = Vec::new();
        print_next_steps(
            &mut out,
            trees,
            Path::new("/tmp/state/kubeconfig"),
            Duration::from_millis(3_750),
            None,
            "multigres-operator",
        )
        .expect("written to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn the_next_steps_name_the_first_cluster_and_its_namespace() {
        assert_eq!(
            next_steps(&[healthy("shop/orders"), healthy("shop/payments")]),
            "
Healthy: shop/orders, shop/payments after 3.8 s.

export KUBECONFIG=/tmp/state/kubeconfig
Then try:
  kubectl get multigresclusters,cells,tablegroups,shards,pods -n shop
  kubectl edit multigrescluster orders -n shop    # e.g. spec.cells[0].spec.multigateway.replicas
  multigres-operator status orders -n shop --watch
Ctrl-C stops everything and discards the cluster (keep it with --state-dir DIR).

"
        );
    }

    #[test]
    fn the_next_steps_in_the_default_namespace_need_no_flag() {
        assert!(next_steps(&[healthy("default/minimal")]).contains(
            "  kubectl get multigresclusters,cells,tablegroups,shards,pods\n  kubectl edit \
                 multigrescluster minimal    # e.g. spec.cells[0].spec.multigateway.replicas\n  \
                 multigres-operator status minimal --watch\n"
        ));
    }

    #[test]
    fn a_binary_run_by_its_path_is_suggested_by_its_absolute_path() {
        let exe = Path::new("/src/multigres/target/release/multigres-operator");
        assert_eq!(
            program_to_suggest(
                Some(std::ffi::OsStr::new("target/release/multigres-operator")),
                Some(exe)
            ),
            "/src/multigres/target/release/multigres-operator"
        );
    }

    #[test]
    fn a_binary_found_on_the_path_is_suggested_by_its_name() {
        let exe = Path::new("/usr/local/bin/multigres-operator");
        assert_eq!(
            program_to_suggest(Some(std::ffi::OsStr::new("multigres-operator")), Some(exe)),
            "multigres-operator"
        );
    }
}
