//! The kubelet's test controls over HTTP, beside kubesim's other control endpoints under
//! `/kubesim/v1/` (paths no Kubernetes API uses):
//!
//! - `PUT  /kubesim/v1/namespaces/{ns}/pods/{pod}/ready` with `{"ready": false|true}`
//! - `POST /kubesim/v1/namespaces/{ns}/pods/{pod}/containers/{container}/crash`
//! - `POST /kubesim/v1/nodes/{node}/fail`
//! - `POST /kubesim/v1/nodes/{node}/recover`
//!
//! Each answers a `Status`: `Success` (200), or `Failure` with the code of
//! [`ControlError::code`] and its message. Thin: the work is [`KubeletControls`]'.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use serde::Deserialize;
use serde_json::json;

use super::controls::{ControlError, KubeletControls};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadyBody {
    ready: bool,
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = if code == 200 {
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
    } else {
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code})
    };
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn respond(result: Result<(), ControlError>) -> Response {
    match result {
        Ok(()) => status(200, "", ""),
        Err(error) => {
            let reason = match error.code() {
                404 => "NotFound",
                409 => "Conflict",
                503 => "ServiceUnavailable",
                _ => "InternalError",
            };
            let mut message = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message.push_str(": ");
                message.push_str(&cause.to_string());
                source = cause.source();
            }
            status(error.code(), reason, &message)
        }
    }
}

async fn set_ready(
    State(controls): State<KubeletControls>,
    Path((namespace, pod)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<ReadyBody>(&body) {
        Ok(parsed) => respond(controls.set_pod_ready(&namespace, &pod, parsed.ready).await),
        Err(error) => status(
            400,
            "BadRequest",
            &format!("body must be {{\"ready\": true|false}}: {error}"),
        ),
    }
}

async fn crash(
    State(controls): State<KubeletControls>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
) -> Response {
    respond(controls.crash_container(&namespace, &pod, &container).await)
}

async fn fail(State(controls): State<KubeletControls>, Path(node): Path<String>) -> Response {
    respond(controls.fail_node(&node).await)
}

async fn recover(State(controls): State<KubeletControls>, Path(node): Path<String>) -> Response {
    respond(controls.recover_node(&node).await)
}

/// The routes, to merge into kubesim's router.
pub fn routes(controls: KubeletControls) -> Router {
    Router::new()
        .route(
            "/kubesim/v1/namespaces/{namespace}/pods/{pod}/ready",
            put(set_ready),
        )
        .route(
            "/kubesim/v1/namespaces/{namespace}/pods/{pod}/containers/{container}/crash",
            post(crash),
        )
        .route("/kubesim/v1/nodes/{node}/fail", post(fail))
        .route("/kubesim/v1/nodes/{node}/recover", post(recover))
        .with_state(controls)
}
