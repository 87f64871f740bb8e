//! Who a request comes from: the user the API server's authenticators would put in a
//! request's `user.Info` (name, uid, groups), named in the request log and, later, evaluated
//! by authorization.

pub mod rbac;
pub mod tokens;

use std::collections::BTreeMap;

use serde::Serialize;

/// The user a request authenticated as (the API server's `user.Info`), serialized as
/// `authentication.k8s.io/v1` `UserInfo` (what TokenReview, SelfSubjectReview and every
/// AdmissionReview's `request.userInfo` carry; empty fields are omitted, as Go's `omitempty`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Authenticator-specific attributes (for ServiceAccount tokens the credential id, see
    /// [`tokens::CREDENTIAL_ID`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// The user of the static token in kubesim's kubeconfigs: a cluster administrator, as the
/// admin kubeconfig of a kubeadm cluster (`kubernetes-admin` in `system:masters`).
pub const ADMIN_USERNAME: &str = "kubernetes-admin";

impl UserInfo {
    /// The administrator the kubeconfig's static token stands for.
    pub fn admin() -> Self {
        UserInfo {
            username: ADMIN_USERNAME.to_string(),
            uid: String::new(),
            groups: vec![
                "system:masters".to_string(),
                "system:authenticated".to_string(),
            ],
            extra: BTreeMap::new(),
        }
    }
}

/// The user of requests without credentials (`system:anonymous`).
pub fn anonymous() -> UserInfo {
    UserInfo {
        username: "system:anonymous".to_string(),
        uid: String::new(),
        groups: vec!["system:unauthenticated".to_string()],
        extra: BTreeMap::new(),
    }
}

/// How requests are authorized (`--authorization`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Authorization {
    /// Every authenticated request is allowed, and any bearer token authenticates (as the
    /// administrator): kubesim's default, for tests that do not exercise permissions.
    #[default]
    AlwaysAllow,
    /// RBAC over the stored Roles, ClusterRoles and bindings; unknown tokens get 401.
    Rbac,
}
