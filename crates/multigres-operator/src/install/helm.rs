//! The Helm chart `charts/multigres-operator`, generated from the same objects as the default
//! install manifest: the CRDs go to `crds/` (Helm installs them first and never deletes them),
//! every other object to `templates/operator.yaml` with three values templated (namespace,
//! image, pull policy). `helm template --namespace multigres-operator --include-crds` of the
//! chart therefore renders the default manifest minus its Namespace, which `helm install
//! --create-namespace` makes.
//!
//! Pure: returns file names and contents; the drift test writes or compares them.

use super::{InstallError, InstallSettings, Variant, install_objects};
use crate::crd_manifests::{crd_document, crd_file_name};

/// The chart's name.
pub const CHART_NAME: &str = "multigres-operator";

/// One file of the chart, relative to the chart's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartFile {
    /// Path relative to `charts/multigres-operator/`.
    pub path: String,
    /// Contents.
    pub text: String,
}

fn chart_yaml() -> String {
    let version = env!("CARGO_PKG_VERSION");
    format!(
        "apiVersion: v2\n\
         name: {CHART_NAME}\n\
         description: The Multigres operator (sharded PostgreSQL on Kubernetes), with self-managed \
         admission webhook certificates.\n\
         type: application\n\
         version: {version}\n\
         appVersion: \"{version}\"\n"
    )
}

fn values_yaml() -> String {
    format!(
        "# The operator's image; the tag defaults to the chart's appVersion.\n\
         image:\n  \
           repository: {}\n  \
           tag: \"\"\n  \
           pullPolicy: IfNotPresent\n",
        super::DEFAULT_IMAGE_REPOSITORY
    )
}

/// Every file of the chart, sorted by path.
pub fn chart_files() -> Result<Vec<ChartFile>, InstallError> {
    let mut files = vec![
        ChartFile {
            path: "Chart.yaml".to_owned(),
            text: chart_yaml(),
        },
        ChartFile {
            path: "values.yaml".to_owned(),
            text: values_yaml(),
        },
    ];
    for crd in multigres_api::crds::crds() {
        files.push(ChartFile {
            path: format!("crds/{}", crd_file_name(&crd)),
            text: crd_document(&crd).map_err(|source| InstallError::Crds { source })?,
        });
    }
    let settings = InstallSettings {
        namespace: "{{ .Release.Namespace }}".to_owned(),
        create_namespace: false,
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
            .to_owned(),
        image_pull_policy: "{{ .Values.image.pullPolicy }}".to_owned(),
    };
    let mut operator = String::from(
        "# Generated from the same objects as config/install/default.yaml; do not edit (see\n\
         # docs/install.md).\n",
    );
    for object in install_objects(Variant::Default, &settings)? {
        operator.push_str(&object.to_yaml()?);
    }
    files.push(ChartFile {
        path: "templates/operator.yaml".to_owned(),
        text: operator,
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}
