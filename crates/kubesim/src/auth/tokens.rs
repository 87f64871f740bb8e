//! Service-account tokens issued by TokenRequest (`POST serviceaccounts/{name}/token`): JWT-shaped
//! like the API server's (header, claims, signature; clients pass them through unread), and
//! remembered here, which is what makes them valid: a token authenticates while it has not
//! expired and its ServiceAccount still exists with the same uid (bound tokens die with it).
//!
//! The signature is a SHA-256 over a per-instance secret, a counter and the claims, so tokens
//! cannot be guessed by another process on the machine.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::UserInfo;

/// The issuer and default audience of kubesim's tokens (the API server's defaults in kind).
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// The `extra` key under which the API server names the credential a ServiceAccount token
/// user authenticated with: `JTI=<the token's jti claim>` (KEP-4193, on by default since 1.30),
/// so audit logs and webhooks can tell two tokens of one ServiceAccount apart.
pub const CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";

/// What a TokenRequest asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSpec {
    pub namespace: String,
    pub service_account: String,
    pub service_account_uid: String,
    /// Empty: the API audience ([`ISSUER`]).
    pub audiences: Vec<String>,
    pub expiration_seconds: i64,
}

/// An issued token's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub user: UserInfo,
    pub audiences: Vec<String>,
    pub expires: jiff::Timestamp,
    pub namespace: String,
    pub service_account: String,
    pub service_account_uid: String,
}

#[derive(Debug)]
struct Inner {
    secret: [u8; 32],
    counter: u64,
    grants: HashMap<String, Grant>,
}

/// The tokens of one kubesim instance.
#[derive(Clone, Debug)]
pub struct Tokens {
    inner: Arc<Mutex<Inner>>,
}

impl Default for Tokens {
    fn default() -> Self {
        // RandomState is seeded from the OS's randomness; four hashes give 32 secret bytes.
        let mut secret = [0u8; 32];
        for (i, chunk) in secret.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&RandomState::new().hash_one(i).to_le_bytes());
        }
        Tokens {
            inner: Arc::new(Mutex::new(Inner {
                secret,
                counter: 0,
                grants: HashMap::new(),
            })),
        }
    }
}

/// The user name of a ServiceAccount (`serviceaccount.MakeUsername`).
pub fn service_account_username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// The user a ServiceAccount authenticates as (without the per-token `extra`).
pub fn service_account_user(namespace: &str, name: &str, uid: &str) -> UserInfo {
    UserInfo {
        username: service_account_username(namespace, name),
        uid: uid.to_string(),
        groups: vec![
            "system:serviceaccounts".to_string(),
            format!("system:serviceaccounts:{namespace}"),
            "system:authenticated".to_string(),
        ],
        extra: std::collections::BTreeMap::new(),
    }
}

/// A UUID-shaped rendering of 16 bytes (the API server's `jti` claims are random UUIDs).
fn uuid_text(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl Tokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Issues a token for `spec` at `now`; returns it with its expiry.
    pub fn issue(&self, spec: &TokenSpec, now: jiff::Timestamp) -> (String, jiff::Timestamp) {
        let expires = now
            .checked_add(jiff::SignedDuration::from_secs(spec.expiration_seconds))
            .unwrap_or(jiff::Timestamp::MAX);
        let audiences = if spec.audiences.is_empty() {
            vec![ISSUER.to_string()]
        } else {
            spec.audiences.clone()
        };
        let mut inner = self.lock();
        inner.counter += 1;
        let jti = {
            let mut hasher = Sha256::new();
            hasher.update(b"jti");
            hasher.update(inner.secret);
            hasher.update(inner.counter.to_le_bytes());
            uuid_text(&hasher.finalize())
        };
        let claims = json!({
            "aud": audiences,
            "exp": expires.as_second(),
            "iat": now.as_second(),
            "iss": ISSUER,
            "jti": jti,
            "kubernetes.io": {
                "namespace": spec.namespace,
                "serviceaccount": {"name": spec.service_account, "uid": spec.service_account_uid},
            },
            "nbf": now.as_second(),
            "sub": service_account_username(&spec.namespace, &spec.service_account),
        });
        let header = B64URL.encode(br#"{"alg":"RS256","kid":"kubesim"}"#);
        let payload = B64URL.encode(claims.to_string());
        let mut hasher = Sha256::new();
        hasher.update(inner.secret);
        hasher.update(inner.counter.to_le_bytes());
        hasher.update(payload.as_bytes());
        let signature = B64URL.encode(hasher.finalize());
        let token = format!("{header}.{payload}.{signature}");
        let mut user = service_account_user(
            &spec.namespace,
            &spec.service_account,
            &spec.service_account_uid,
        );
        user.extra
            .insert(CREDENTIAL_ID.to_string(), vec![format!("JTI={jti}")]);
        inner.grants.insert(
            token.clone(),
            Grant {
                user,
                audiences,
                expires,
                namespace: spec.namespace.clone(),
                service_account: spec.service_account.clone(),
                service_account_uid: spec.service_account_uid.clone(),
            },
        );
        (token, expires)
    }

    /// The grant of `token` if it was issued here and has not expired at `now`.
    pub fn lookup(&self, token: &str, now: jiff::Timestamp) -> Option<Grant> {
        let mut inner = self.lock();
        // Expired grants are forgotten as they are met.
        inner.grants.retain(|_, grant| grant.expires > now);
        inner.grants.get(token).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TokenSpec {
        TokenSpec {
            namespace: "ops".into(),
            service_account: "operator".into(),
            service_account_uid: "u-1".into(),
            audiences: vec![],
            expiration_seconds: 600,
        }
    }

    #[test]
    fn issued_tokens_name_their_service_account_until_they_expire() {
        let tokens = Tokens::default();
        let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
        let (token, expires) = tokens.issue(&spec(), now);
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(expires, "2026-01-01T00:10:00Z".parse().expect("time"));
        let grant = tokens.lookup(&token, now).expect("valid");
        assert_eq!(grant.user.username, "system:serviceaccount:ops:operator");
        assert_eq!(
            grant.user.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:ops",
                "system:authenticated"
            ]
        );
        assert_eq!(grant.audiences, [ISSUER]);
        let claims: serde_json::Value = serde_json::from_slice(
            &B64URL
                .decode(token.split('.').nth(1).expect("payload"))
                .expect("base64url"),
        )
        .expect("JSON claims");
        let jti = claims["jti"].as_str().expect("a jti claim");
        assert_eq!(jti.len(), 36);
        assert_eq!(
            grant.user.extra.get(CREDENTIAL_ID),
            Some(&vec![format!("JTI={jti}")])
        );
        assert!(tokens.lookup(&token, expires).is_none());
        assert!(tokens.lookup("made-up", now).is_none());
        let (other, _) = tokens.issue(&spec(), now);
        assert_ne!(token, other);
        assert_ne!(
            tokens.lookup(&other, now).expect("valid").user.extra,
            grant.user.extra,
            "each token has its own credential id"
        );
    }
}
