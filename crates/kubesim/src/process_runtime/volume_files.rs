//! The files of `configMap`, `secret` and `projected` volumes, as the kubelet writes them
//! before the containers start (pgctld reads `/etc/pgctld/pg_hba_template.conf` from the
//! operator's ConfigMap; multipooler's pgBackRest certificates come from a projected volume).
//!
//! Pure: the objects come in through [`EnvSources`]; the kubelet writes the files
//! ([`super::prepare_launch`]). A missing object that is not `optional` stops the start with
//! the kubelet's message, and the start is retried until it appears.

use serde_json::Value;

use super::container_env::EnvSources;

/// One file of a volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeFile {
    /// Relative to the volume's root.
    pub path: String,
    pub content: String,
    /// Permission bits (`defaultMode` / item `mode`, 0644 by default).
    pub mode: u32,
}

/// Why a volume's files cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VolumeError {
    #[error("volume {volume:?}: {kind} {name:?} not found")]
    MissingObject {
        volume: String,
        kind: &'static str,
        name: String,
    },
    #[error("volume {volume:?}: {kind} {name:?} has no key {key:?}")]
    MissingKey {
        volume: String,
        kind: &'static str,
        name: String,
        key: String,
    },
    #[error("volume {volume:?}: item path {path:?} must be relative and must not contain '..'")]
    BadPath { volume: String, path: String },
}

const DEFAULT_MODE: u32 = 0o644;

fn mode_of(value: &Value, fallback: u32) -> u32 {
    value
        .get("mode")
        .or_else(|| value.get("defaultMode"))
        .and_then(Value::as_u64)
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(fallback)
}

/// One source (a `configMap` or `secret` volume, or an entry of `projected.sources`).
fn source_files(
    volume: &str,
    kind: &'static str,
    source: &Value,
    sources: &EnvSources<'_>,
    mode: u32,
    out: &mut Vec<VolumeFile>,
) -> Result<(), VolumeError> {
    let name = source
        .get("name")
        .or_else(|| source.get("secretName"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let optional = source.get("optional").and_then(Value::as_bool) == Some(true);
    let lookup = if kind == "secret" {
        sources.secret
    } else {
        sources.config_map
    };
    let Some(data) = lookup(name) else {
        if optional {
            return Ok(());
        }
        return Err(VolumeError::MissingObject {
            volume: volume.to_string(),
            kind,
            name: name.to_string(),
        });
    };
    let mode = mode_of(source, mode);
    match source.get("items").and_then(Value::as_array) {
        Some(items) => {
            for item in items {
                let key = item.get("key").and_then(Value::as_str).unwrap_or_default();
                let path = item.get("path").and_then(Value::as_str).unwrap_or(key);
                if path.starts_with('/') || path.split('/').any(|part| part == "..") {
                    return Err(VolumeError::BadPath {
                        volume: volume.to_string(),
                        path: path.to_string(),
                    });
                }
                let Some(content) = data.get(key) else {
                    if optional {
                        continue;
                    }
                    return Err(VolumeError::MissingKey {
                        volume: volume.to_string(),
                        kind,
                        name: name.to_string(),
                        key: key.to_string(),
                    });
                };
                out.push(VolumeFile {
                    path: path.to_string(),
                    content: content.clone(),
                    mode: mode_of(item, mode),
                });
            }
        }
        None => out.extend(data.into_iter().map(|(key, content)| VolumeFile {
            path: key,
            content,
            mode,
        })),
    }
    Ok(())
}

/// The files of the pod volume `volume` (its JSON from `spec.volumes`); empty for kinds that
/// hold no projected data (PVCs, emptyDir, ...).
pub fn volume_files(
    volume: &Value,
    sources: &EnvSources<'_>,
) -> Result<Vec<VolumeFile>, VolumeError> {
    let name = volume
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut files = Vec::new();
    if let Some(config_map) = volume.get("configMap") {
        source_files(
            name,
            "configmap",
            config_map,
            sources,
            DEFAULT_MODE,
            &mut files,
        )?;
    } else if let Some(secret) = volume.get("secret") {
        source_files(name, "secret", secret, sources, DEFAULT_MODE, &mut files)?;
    } else if let Some(projected) = volume.get("projected") {
        let mode = mode_of(projected, DEFAULT_MODE);
        for source in projected
            .get("sources")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if let Some(secret) = source.get("secret") {
                source_files(name, "secret", secret, sources, mode, &mut files)?;
            } else if let Some(config_map) = source.get("configMap") {
                source_files(name, "configmap", config_map, sources, mode, &mut files)?;
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn secrets(name: &str) -> Option<BTreeMap<String, String>> {
        match name {
            "ca" => Some([("ca.crt".to_string(), "CA".to_string())].into()),
            "tls" => Some(
                [
                    ("tls.crt".to_string(), "CRT".to_string()),
                    ("tls.key".to_string(), "KEY".to_string()),
                ]
                .into(),
            ),
            _ => None,
        }
    }

    fn config_maps(name: &str) -> Option<BTreeMap<String, String>> {
        (name == "hba")
            .then(|| [("pg_hba_template.conf".to_string(), "local all".to_string())].into())
    }

    const SOURCES: EnvSources<'static> = EnvSources {
        secret: &secrets,
        config_map: &config_maps,
    };

    #[test]
    fn config_maps_and_projected_secrets_become_files() {
        let hba = json!({"name": "pg-hba-template", "configMap": {"name": "hba"}});
        assert_eq!(
            volume_files(&hba, &SOURCES),
            Ok(vec![VolumeFile {
                path: "pg_hba_template.conf".into(),
                content: "local all".into(),
                mode: 0o644
            }])
        );
        let certs = json!({"name": "pgbackrest-certs", "projected": {"sources": [
            {"secret": {"name": "ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"secret": {"name": "tls", "items": [{"key": "tls.crt", "path": "pgbackrest.crt"},
                                                 {"key": "tls.key", "path": "pgbackrest.key", "mode": 384}]}}],
            "defaultMode": 288}});
        let files: Vec<(String, String, u32)> = volume_files(&certs, &SOURCES)
            .expect("all present")
            .into_iter()
            .map(|f| (f.path, f.content, f.mode))
            .collect();
        assert_eq!(
            files,
            vec![
                ("ca.crt".into(), "CA".into(), 0o440),
                ("pgbackrest.crt".into(), "CRT".into(), 0o440),
                ("pgbackrest.key".into(), "KEY".into(), 0o600),
            ]
        );
        assert_eq!(
            volume_files(&json!({"name": "d", "emptyDir": {}}), &SOURCES),
            Ok(vec![])
        );
    }

    #[test]
    fn missing_objects_keys_and_bad_paths_are_named() {
        let missing = json!({"name": "v", "secret": {"secretName": "gone"}});
        assert_eq!(
            volume_files(&missing, &SOURCES)
                .expect_err("missing")
                .to_string(),
            "volume \"v\": secret \"gone\" not found"
        );
        let optional = json!({"name": "v", "secret": {"secretName": "gone", "optional": true}});
        assert_eq!(volume_files(&optional, &SOURCES), Ok(vec![]));
        let key = json!({"name": "v", "configMap": {"name": "hba", "items": [{"key": "x", "path": "x"}]}});
        assert!(matches!(
            volume_files(&key, &SOURCES),
            Err(VolumeError::MissingKey { .. })
        ));
        let escape = json!({"name": "v", "configMap": {"name": "hba",
            "items": [{"key": "pg_hba_template.conf", "path": "../etc/passwd"}]}});
        assert!(matches!(
            volume_files(&escape, &SOURCES),
            Err(VolumeError::BadPath { .. })
        ));
    }
}
