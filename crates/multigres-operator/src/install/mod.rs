//! The install manifests (`multigres-operator manifests`, `config/install/<variant>.yaml`) and
//! the Helm chart's templates (`charts/multigres-operator`), built from one list of objects so
//! the two cannot drift: spec-controllers.md §13.5 (RBAC), §13.6 (Deployment, Services and
//! overlays) and spec-api.md §12.1 (webhook configurations and Service).
//!
//! Pure: builds and renders objects, writes no files. The names are the Go operator's after
//! kustomize (`multigres-operator-` prefix, namespace `multigres-operator`), so a user switching
//! operators keeps the same objects.

pub mod helm;
mod objects;
pub mod rbac;

use serde_json::Value;

pub use objects::{
    CERT_MANAGER_SECRET, DEPLOYMENT, InstallSettings, METRICS_SERVICE, SERVICE_ACCOUNT,
    WEBHOOK_SERVICE, install_objects,
};

/// The namespace the manifests install into.
pub const NAMESPACE: &str = "multigres-operator";
/// The operator's image when none is given: this crate's version.
pub const DEFAULT_IMAGE_REPOSITORY: &str = "ghcr.io/multigres/multigres-operator-rs";

/// Which install manifest to produce (the Go operator's kustomize overlays).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Variant {
    /// Webhooks with certificates the operator makes and rotates itself.
    Default,
    /// Webhooks with certificates from cert-manager (a self-signed Issuer and a Certificate;
    /// cert-manager injects the CA bundle).
    CertManager,
    /// The default plus OTLP trace export to `otel-collector.multigres-operator.svc:4318`.
    Observability,
    /// No admission webhooks (`--webhook-enable=false`): only the CRDs' own rules apply.
    NoWebhook,
}

impl Variant {
    /// Every variant, in the order of the committed files.
    pub const ALL: [Variant; 4] = [
        Variant::Default,
        Variant::CertManager,
        Variant::Observability,
        Variant::NoWebhook,
    ];

    /// The variant's name on the command line and in `config/install/<name>.yaml`.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Default => "default",
            Variant::CertManager => "cert-manager",
            Variant::Observability => "observability",
            Variant::NoWebhook => "no-webhook",
        }
    }
}

/// Failure to render the manifests.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("failed to render the CRDs")]
    Crds {
        #[source]
        source: crate::crd_manifests::CrdManifestError,
    },
    #[error("failed to convert {kind} {name} to JSON")]
    ToJson {
        kind: &'static str,
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("failed to render {kind} {name} as YAML")]
    ToYaml {
        kind: String,
        name: String,
        #[source]
        source: serde_saphyr::ser::Error,
    },
}

/// One object of the manifest, with the reasons of its RBAC rules (rendered as comments).
#[derive(Clone, Debug)]
pub struct InstallObject {
    /// The object, without its `rules` when `rules` is set.
    pub object: Value,
    /// RBAC rules rendered after the object with a comment each.
    pub rules: Vec<rbac::Rule>,
}

impl InstallObject {
    /// The object as the API server receives it (rules included).
    pub fn to_value(&self) -> Result<Value, InstallError> {
        let mut value = self.object.clone();
        if !self.rules.is_empty()
            && let Value::Object(map) = &mut value
        {
            let rules = self
                .rules
                .iter()
                .map(|rule| serde_json::to_value(&rule.rule))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| InstallError::ToJson {
                    kind: "PolicyRule",
                    name: name_of(&self.object),
                    source,
                })?;
            map.insert("rules".to_owned(), Value::Array(rules));
        }
        Ok(value)
    }

    /// One YAML document starting with `---`.
    pub fn to_yaml(&self) -> Result<String, InstallError> {
        let yaml_error = |source| InstallError::ToYaml {
            kind: self.object["kind"].as_str().unwrap_or_default().to_owned(),
            name: name_of(&self.object),
            source,
        };
        let mut text = format!(
            "---\n{}",
            serde_saphyr::to_string(&self.object).map_err(yaml_error)?
        );
        if !self.rules.is_empty() {
            text.push_str("rules:\n");
            for rule in &self.rules {
                for line in wrap(rule.reason, 96) {
                    text.push_str("# ");
                    text.push_str(&line);
                    text.push('\n');
                }
                let body = serde_saphyr::to_string(&rule.rule).map_err(yaml_error)?;
                for (index, line) in body.lines().enumerate() {
                    text.push_str(if index == 0 { "- " } else { "  " });
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        Ok(text)
    }
}

fn name_of(object: &Value) -> String {
    object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Splits `text` into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// The whole install manifest of `variant`: the CRDs, then every other object in apply order.
pub fn install_yaml(variant: Variant) -> Result<String, InstallError> {
    let mut text = format!(
        "# multigres-operator {} install manifest, variant {}; generated by \
         `multigres-operator manifests --variant {}`.\n",
        env!("CARGO_PKG_VERSION"),
        variant.name(),
        variant.name()
    );
    text.push_str(
        &crate::crd_manifests::all_crds_yaml().map_err(|source| InstallError::Crds { source })?,
    );
    for object in install_objects(variant, &InstallSettings::default())? {
        text.push_str(&object.to_yaml()?);
    }
    Ok(text)
}
