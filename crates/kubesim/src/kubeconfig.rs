//! The kubeconfig kubesim writes for its clients: one cluster (server URL and, over HTTPS, the
//! CA as `certificate-authority-data`), one user with a bearer token, one current context.
//!
//! Written atomically (temp file + rename) so a reader never sees half a file; the server writes
//! it only once its listener accepts connections.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// The token kubesim puts in its kubeconfigs (any bearer token is accepted).
pub const TOKEN: &str = "kubesim-token";

/// The kubeconfig YAML for `server` (with the CA PEM when serving HTTPS).
pub fn render(server: &str, ca_pem: Option<&str>) -> String {
    let ca_line = ca_pem
        .map(|pem| format!("\n    certificate-authority-data: {}", B64.encode(pem)))
        .unwrap_or_default();
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: kubesim
  cluster:
    server: {server}{ca_line}
contexts:
- name: kubesim
  context:
    cluster: kubesim
    user: kubesim
    namespace: default
current-context: kubesim
preferences: {{}}
users:
- name: kubesim
  user:
    token: {TOKEN}
"
    )
}

/// Writes `contents` to `path` through a temporary file in the same directory (also used for
/// the state directory's `objects.json`).
pub fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, contents.as_bytes())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_kubeconfig_has_no_ca() {
        assert_eq!(
            render("http://127.0.0.1:1234", None),
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kubesim\n  cluster:\n    server: http://127.0.0.1:1234\ncontexts:\n- name: kubesim\n  context:\n    cluster: kubesim\n    user: kubesim\n    namespace: default\ncurrent-context: kubesim\npreferences: {}\nusers:\n- name: kubesim\n  user:\n    token: kubesim-token\n"
        );
    }
}
