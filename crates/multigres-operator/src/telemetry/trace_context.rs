//! The trace context carried from admission to reconcile (spec-controllers.md §12.4): the
//! mutating webhook stores its span's W3C `traceparent` (and `tracestate`) in annotations of the
//! MultigresCluster with the time it did so; the cluster reconciler reads them back and either
//! continues that trace or, when the annotation is older than ten minutes, starts a new trace
//! linked to it (a reconcile hours after an edit does not belong in the edit's trace).
//!
//! Pure: no clock (the current time is an argument), no I/O, no global propagator.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// Annotation holding the W3C `traceparent` header value.
pub const TRACEPARENT_ANNOTATION: &str = "multigres.com/traceparent";
/// Annotation holding the W3C `tracestate` header value, when the trace has one.
pub const TRACESTATE_ANNOTATION: &str = "multigres.com/tracestate";
/// Annotation holding the Unix time (seconds) at which the traceparent was written.
pub const TRACEPARENT_TS_ANNOTATION: &str = "multigres.com/traceparent-ts";

/// How old a stored trace context may be and still be continued (§12.4).
pub const MAX_TRACE_CONTEXT_AGE: Duration = Duration::from_secs(10 * 60);

/// What a reconcile's span should do with the trace context found on its object.
#[derive(Clone, Debug, PartialEq)]
pub enum StoredTrace {
    /// No (valid) traceparent: the reconcile starts its own root span.
    Absent,
    /// A recent traceparent: the reconcile span is its child.
    Continue(SpanContext),
    /// A traceparent older than [`MAX_TRACE_CONTEXT_AGE`], or without a valid timestamp: the
    /// reconcile starts a new root span with a link to it.
    Stale(SpanContext),
}

/// Reads the trace context annotations of an object at Unix time `now_unix_seconds`.
pub fn stored_trace(annotations: &BTreeMap<String, String>, now_unix_seconds: i64) -> StoredTrace {
    let Some(traceparent) = annotations.get(TRACEPARENT_ANNOTATION) else {
        return StoredTrace::Absent;
    };
    let mut carrier = HashMap::from([("traceparent".to_owned(), traceparent.clone())]);
    if let Some(tracestate) = annotations.get(TRACESTATE_ANNOTATION) {
        carrier.insert("tracestate".to_owned(), tracestate.clone());
    }
    let context = TraceContextPropagator::new().extract(&carrier);
    let span_context = context.span().span_context().clone();
    if !span_context.is_valid() {
        return StoredTrace::Absent;
    }
    let written_at = annotations
        .get(TRACEPARENT_TS_ANNOTATION)
        .and_then(|ts| ts.trim().parse::<i64>().ok());
    let fresh = written_at.is_some_and(|written_at| {
        // A timestamp in the future (clock skew between replicas) counts as fresh, as in Go's
        // `time.Since(ts) > 10m`.
        now_unix_seconds.saturating_sub(written_at) <= MAX_TRACE_CONTEXT_AGE.as_secs() as i64
    });
    if fresh {
        StoredTrace::Continue(span_context)
    } else {
        StoredTrace::Stale(span_context)
    }
}

/// The annotations the mutating webhook writes for the span `span_context` at Unix time
/// `now_unix_seconds`; empty when the span is not valid (tracing off).
pub fn trace_annotations(
    span_context: &SpanContext,
    now_unix_seconds: i64,
) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::new();
    if !span_context.is_valid() {
        return annotations;
    }
    let context = opentelemetry::Context::new().with_remote_span_context(span_context.clone());
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    if let Some(traceparent) = carrier.remove("traceparent") {
        annotations.insert(TRACEPARENT_ANNOTATION.to_owned(), traceparent);
    }
    if let Some(tracestate) = carrier
        .remove("tracestate")
        .filter(|state| !state.is_empty())
    {
        annotations.insert(TRACESTATE_ANNOTATION.to_owned(), tracestate);
    }
    annotations.insert(
        TRACEPARENT_TS_ANNOTATION.to_owned(),
        now_unix_seconds.to_string(),
    );
    annotations
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const WRITTEN_AT: i64 = 1_700_000_000;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    fn expected_context(state: TraceState) -> SpanContext {
        SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("valid hex"),
            SpanId::from_hex("00f067aa0ba902b7").expect("valid hex"),
            TraceFlags::SAMPLED,
            true,
            state,
        )
    }

    fn stored_at(now: i64, ts: &str) -> StoredTrace {
        stored_trace(
            &annotations(&[
                (TRACEPARENT_ANNOTATION, TRACEPARENT),
                (TRACEPARENT_TS_ANNOTATION, ts),
            ]),
            now,
        )
    }

    #[test]
    fn a_recent_traceparent_is_continued() {
        assert_eq!(
            stored_at(WRITTEN_AT + 599, &WRITTEN_AT.to_string()),
            StoredTrace::Continue(expected_context(TraceState::default()))
        );
    }

    #[test]
    fn exactly_ten_minutes_is_still_fresh_and_one_second_more_is_stale() {
        assert_eq!(
            stored_at(WRITTEN_AT + 600, &WRITTEN_AT.to_string()),
            StoredTrace::Continue(expected_context(TraceState::default()))
        );
        assert_eq!(
            stored_at(WRITTEN_AT + 601, &WRITTEN_AT.to_string()),
            StoredTrace::Stale(expected_context(TraceState::default()))
        );
    }

    #[test]
    fn a_timestamp_in_the_future_is_fresh() {
        assert_eq!(
            stored_at(WRITTEN_AT - 30, &WRITTEN_AT.to_string()),
            StoredTrace::Continue(expected_context(TraceState::default()))
        );
    }

    #[test]
    fn a_missing_or_unparsable_timestamp_makes_the_context_stale() {
        let missing = stored_trace(
            &annotations(&[(TRACEPARENT_ANNOTATION, TRACEPARENT)]),
            WRITTEN_AT,
        );
        assert_eq!(
            missing,
            StoredTrace::Stale(expected_context(TraceState::default()))
        );
        assert_eq!(
            stored_at(WRITTEN_AT, "yesterday"),
            StoredTrace::Stale(expected_context(TraceState::default()))
        );
    }

    #[test]
    fn missing_or_invalid_traceparents_are_absent() {
        assert_eq!(
            stored_trace(&BTreeMap::new(), WRITTEN_AT),
            StoredTrace::Absent
        );
        for bad in [
            "",
            "garbage",
            // All-zero trace id and span id are invalid in W3C trace context.
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            // Version ff is forbidden.
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            let stored = stored_trace(
                &annotations(&[
                    (TRACEPARENT_ANNOTATION, bad),
                    (TRACEPARENT_TS_ANNOTATION, &WRITTEN_AT.to_string()),
                ]),
                WRITTEN_AT,
            );
            assert_eq!(stored, StoredTrace::Absent, "traceparent {bad:?}");
        }
    }

    #[test]
    fn the_tracestate_annotation_is_carried() {
        let stored = stored_trace(
            &annotations(&[
                (TRACEPARENT_ANNOTATION, TRACEPARENT),
                (TRACESTATE_ANNOTATION, "vendor=value"),
                (TRACEPARENT_TS_ANNOTATION, &WRITTEN_AT.to_string()),
            ]),
            WRITTEN_AT,
        );
        let state = TraceState::from_key_value([("vendor", "value")]).expect("valid tracestate");
        assert_eq!(stored, StoredTrace::Continue(expected_context(state)));
    }

    #[test]
    fn written_annotations_read_back_as_the_same_context() {
        let state = TraceState::from_key_value([("vendor", "value")]).expect("valid tracestate");
        let context = expected_context(state);
        let written = trace_annotations(&context, WRITTEN_AT);
        assert_eq!(
            written,
            annotations(&[
                (TRACEPARENT_ANNOTATION, TRACEPARENT),
                (TRACESTATE_ANNOTATION, "vendor=value"),
                (TRACEPARENT_TS_ANNOTATION, "1700000000"),
            ])
        );
        assert_eq!(
            stored_trace(&written, WRITTEN_AT + 1),
            StoredTrace::Continue(context)
        );
    }

    #[test]
    fn no_annotations_are_written_without_a_valid_span() {
        assert_eq!(
            trace_annotations(&SpanContext::empty_context(), WRITTEN_AT),
            BTreeMap::new()
        );
    }
}
