//! The cert-manager `Certificate` of the multigateway TLS (spec-controllers.md §2.8), built only
//! when `spec.certCommonName` is set; the Cell controller mounts its Secret `generated-certs`.
//!
//! cert-manager is optional, so the object is a `DynamicObject` (`cert-manager.io/v1`), not a
//! compiled-in type. Every value is the Go operator's, including its literal subject text
//! ("Delware", no space before `O=`), because a changed spec makes cert-manager reissue the
//! certificate. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use multigres_api::naming::{Dns1123Subdomain, MULTIGATEWAY_TLS_SECRET_NAME};
use serde_json::json;

use super::{ClusterParts, Error};

/// cert-manager's API group, version and kind of a certificate request.
pub const GROUP: &str = "cert-manager.io";
pub const VERSION: &str = "v1";
pub const KIND: &str = "Certificate";
/// The plural resource name, for the API path.
pub const PLURAL: &str = "certificates";

/// The ClusterIssuer the Go operator requests from.
const ISSUER_NAME: &str = "supabase-issuer";
/// Five years and a little (Go `CertDuration`, as Go's `time.Duration` prints it).
const DURATION: &str = "44640h0m0s";
const KEY_SIZE: i64 = 2048;

/// The cert-manager Certificate resource, for building `Api<DynamicObject>`.
pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, VERSION, KIND), PLURAL)
}

/// Go `buildCertificate`, named after the common name itself; `None` without one.
pub(super) fn build_certificate(parts: &ClusterParts<'_>) -> Result<Option<DynamicObject>, Error> {
    let common_name = parts.spec.cert_common_name.as_str();
    if common_name.is_empty() {
        return Ok(None);
    }
    let name = Dns1123Subdomain::parse(common_name).map_err(|source| Error::CertificateName {
        cluster: parts.describe(),
        common_name: common_name.to_owned(),
        source: Box::new(source),
    })?;
    let mut dns_names = vec![common_name.to_owned()];
    if let Some(bare) = common_name.strip_prefix("db.") {
        dns_names.push(bare.to_owned());
    }
    let mut certificate = DynamicObject::new(name.as_str(), &api_resource());
    // Go sets only the name, the namespace and the owner: no labels.
    certificate.metadata = ObjectMeta {
        name: Some(name.into_string()),
        namespace: parts.namespace.clone(),
        owner_references: Some(vec![parts.owner.clone()]),
        ..ObjectMeta::default()
    };
    certificate.data = json!({
        "spec": {
            "secretName": MULTIGATEWAY_TLS_SECRET_NAME,
            "dnsNames": dns_names,
            "duration": DURATION,
            "literalSubject": format!(
                "C=US, ST=Delware, L=New Castle,O=Supabase Inc, CN={common_name}"
            ),
            "issuerRef": {"name": ISSUER_NAME, "kind": "ClusterIssuer", "group": GROUP},
            "privateKey": {"algorithm": "RSA", "size": KEY_SIZE},
            "usages": ["digital signature", "key encipherment", "server auth"],
        }
    });
    Ok(Some(certificate))
}
