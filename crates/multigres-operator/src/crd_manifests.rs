//! The CRDs as YAML manifests: the output of `multigres-operator crds` and the committed files
//! under `config/crd/bases/` (one per CRD, named like controller-gen names them).
//!
//! The CRDs themselves come from `multigres_api::crds`; this module only renders them. It
//! writes no files: the CLI prints, and the drift test compares or rewrites.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// Failure to render a CRD as YAML.
#[derive(Debug, thiserror::Error)]
pub enum CrdManifestError {
    #[error("failed to render CRD {crd} as YAML")]
    Render {
        crd: String,
        #[source]
        source: serde_saphyr::ser::Error,
    },
}

/// Name of the file holding `crd` in `config/crd/bases/`: `multigres.com_<plural>.yaml`.
pub fn crd_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// One YAML document for `crd`, starting with the `---` document marker, so that the files
/// concatenated form a valid multi-document stream.
pub fn crd_document(crd: &CustomResourceDefinition) -> Result<String, CrdManifestError> {
    let yaml = serde_saphyr::to_string(crd).map_err(|source| CrdManifestError::Render {
        crd: crd.metadata.name.clone().unwrap_or_default(),
        source,
    })?;
    Ok(format!("---\n{yaml}"))
}

/// Every CRD of the operator, in install order, as one multi-document YAML stream.
pub fn all_crds_yaml() -> Result<String, CrdManifestError> {
    multigres_api::crds::crds()
        .iter()
        .map(crd_document)
        .collect::<Result<Vec<_>, _>>()
        .map(|documents| documents.concat())
}
