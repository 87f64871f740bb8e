//! Serves a watch as newline-delimited JSON events on a chunked HTTP/1.1 200 response, one
//! event per chunk (rust-ecosystem.md §3.4 "Watch framing"), ending early when faults drop it.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::json;
use tokio::sync::watch;

use crate::api::WatchStream;

/// Turns the object of a non-ERROR event (given its type) into what the client asked for.
pub(super) type Render = Box<dyn FnMut(&str, serde_json::Value) -> serde_json::Value + Send>;

pub(super) fn response(
    stream: WatchStream,
    mut render: Render,
    mut drops: watch::Receiver<u64>,
    drop_after: Option<Duration>,
) -> Response {
    drops.borrow_and_update();
    let cut = async move {
        let after = async {
            match drop_after {
                Some(after) => tokio::time::sleep(after).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = drops.changed() => {}
            _ = after => {}
        }
    };
    let lines = stream.take_until(cut).map(move |event| {
        let object = if event.event_type == "ERROR" {
            event.object
        } else {
            render(event.event_type, event.object)
        };
        let mut line = serde_json::to_vec(&json!({"type": event.event_type, "object": object}))
            .unwrap_or_default();
        line.push(b'\n');
        Ok::<Bytes, Infallible>(Bytes::from(line))
    });
    let mut response = (StatusCode::OK, Body::from_stream(lines)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
