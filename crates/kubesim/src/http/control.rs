//! The kubesim control endpoints under `/kubesim/v1/` (a prefix no Kubernetes path uses):
//! `GET|PUT|DELETE faults`, `POST faults/drop-watches`, `GET|DELETE requests`,
//! `GET resolve?name=<in-cluster name>` (crate::dns).

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::path::Route;
use super::router::AppState;
use crate::error::ApiError;
use crate::faults::FaultRule;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FaultsBody {
    #[serde(default)]
    rules: Vec<FaultRule>,
    #[serde(default)]
    seed: Option<u64>,
}

fn json(value: &serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        serde_json::to_vec(value).unwrap_or_default(),
    )
        .into_response()
}

pub(super) fn handle(app: &AppState, method: &Method, route: &Route, body: &Bytes) -> Response {
    match (route, method) {
        (Route::Faults, &Method::GET) => json(&json!({"rules": app.faults.rules()})),
        (Route::Faults, &Method::PUT) => match serde_json::from_slice::<FaultsBody>(body) {
            Ok(parsed) => {
                if let Some(seed) = parsed.seed {
                    app.faults.reseed(seed);
                }
                app.faults.set_rules(parsed.rules);
                json(&json!({"rules": app.faults.rules()}))
            }
            Err(e) => ApiError::BadRequest {
                message: format!("faults body: {e}"),
            }
            .into_response(),
        },
        (Route::Faults, &Method::DELETE) => {
            app.faults.clear();
            json(&json!({"rules": []}))
        }
        (Route::DropWatches, &Method::POST) => {
            app.faults.drop_watches();
            json(&json!({"dropped": true}))
        }
        (Route::Requests, &Method::GET) => json(&json!({
            "requests": app.requests.snapshot(),
            "entries": app.requests.entries(),
        })),
        (Route::Requests, &Method::DELETE) => {
            app.requests.reset();
            json(&json!({"requests": [], "entries": []}))
        }
        _ => ApiError::MethodNotAllowed.into_response(),
    }
}

/// `GET /kubesim/v1/resolve?name=...` → `{"name": ..., "addresses": ["127.0.0.2", ...]}`
/// (empty for an unknown Service or one without published pods; 400 for a name that is not an
/// in-cluster name).
pub(super) fn resolve(app: &AppState, name: Option<&str>) -> Response {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return ApiError::BadRequest {
            message: "resolve: the query parameter \"name\" is required, e.g. \
                      ?name=<service>.<namespace>.svc"
                .into(),
        }
        .into_response();
    };
    match crate::dns::resolve(&app.cluster, name) {
        Ok(addresses) => json(&json!({
            "name": name,
            "addresses": addresses.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })),
        Err(error @ crate::dns::ResolveError::NotClusterName { .. }) => ApiError::BadRequest {
            message: error.to_string(),
        }
        .into_response(),
        Err(crate::dns::ResolveError::Read { source, .. }) => source.into_response(),
    }
}
