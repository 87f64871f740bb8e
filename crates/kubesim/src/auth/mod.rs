//! Who a request comes from: the user the API server's authenticators would put in a
//! request's `user.Info` (name, uid, groups), named in the request log and, later, evaluated
//! by authorization.

use serde::Serialize;

/// The user a request authenticated as (the API server's `user.Info`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    pub groups: Vec<String>,
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
        }
    }
}
