//! The drain state machine of one pod (spec-controllers.md §7.7): `requested` → `draining` →
//! `acknowledged` → `ready-for-deletion`, with the 5-minute force timeout.
//!
//! Pure: the pod's annotations, the time and what the topology said come in; the next step comes
//! out. The synchronous-standby RPC to the primary is a later capability (the gRPC client);
//! until then a non-primary's drain advances exactly as Go's does when it finds no primary to
//! call.

use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::pool::READY_FOR_DELETION;

pub const REQUESTED: &str = "requested";
pub const DRAINING: &str = "draining";
pub const ACKNOWLEDGED: &str = "acknowledged";

/// A drain older than this is forced to completion (§10).
pub const FORCE_TIMEOUT: SignedDuration = SignedDuration::from_mins(5);

/// What the topology said about the pod's cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poolers {
    /// Listed; whether one of them is this pod's, and whether that one is the primary.
    Listed { mine: bool, primary: bool },
    /// The topology server is unreachable.
    Unavailable,
}

/// The next step of a drain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DrainStep {
    /// Nothing to do (no drain, or already ready for deletion).
    Idle,
    /// Wait and look again soon.
    Wait,
    /// Move to `state`; `unregister` asks to delete the pod's pooler record first; `completed`
    /// marks the normal end of a drain (Event and metric); `timed_out` the forced one.
    Advance {
        state: &'static str,
        unregister: bool,
        completed: bool,
        timed_out: bool,
        primary: bool,
    },
}

/// When the drain started: `requested-at` (a malformed value counts as now, as in Go), else
/// the deletion time.
pub fn drain_start(
    requested_at: Option<&str>,
    deletion: Option<Timestamp>,
    now: Timestamp,
) -> Option<Timestamp> {
    match requested_at {
        Some(text) => Some(text.parse::<Timestamp>().unwrap_or(now)),
        None => deletion,
    }
}

/// One step for a pod in `state`.
pub fn next_step(
    state: Option<&str>,
    started: Option<Timestamp>,
    terminating: bool,
    poolers: Poolers,
    now: Timestamp,
) -> DrainStep {
    let Some(state) = state.filter(|s| !s.is_empty() && *s != READY_FOR_DELETION) else {
        return DrainStep::Idle;
    };
    if started.is_some_and(|start| now.duration_since(start) > FORCE_TIMEOUT) {
        return DrainStep::Advance {
            state: READY_FOR_DELETION,
            unregister: true,
            completed: false,
            timed_out: true,
            primary: false,
        };
    }
    let (mine, primary) = match poolers {
        Poolers::Unavailable if terminating => {
            return DrainStep::Advance {
                state: READY_FOR_DELETION,
                unregister: false,
                completed: false,
                timed_out: false,
                primary: false,
            };
        }
        Poolers::Unavailable => return DrainStep::Wait,
        Poolers::Listed { mine, primary } => (mine, primary),
    };
    match state {
        REQUESTED => DrainStep::Advance {
            state: DRAINING,
            unregister: false,
            completed: false,
            timed_out: false,
            primary,
        },
        DRAINING => DrainStep::Advance {
            state: ACKNOWLEDGED,
            unregister: false,
            completed: false,
            timed_out: false,
            primary,
        },
        ACKNOWLEDGED => DrainStep::Advance {
            state: READY_FOR_DELETION,
            unregister: mine,
            completed: true,
            timed_out: false,
            primary,
        },
        // An unknown state: finish the drain rather than loop on it.
        _ => DrainStep::Advance {
            state: READY_FOR_DELETION,
            unregister: mine,
            completed: true,
            timed_out: false,
            primary,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_765_000_000 + second).expect("a valid time")
    }

    const LISTED: Poolers = Poolers::Listed {
        mine: true,
        primary: false,
    };

    #[test]
    fn a_drain_walks_every_state_and_unregisters_at_the_end() {
        let mut state = Some(REQUESTED);
        let mut seen = Vec::new();
        while let DrainStep::Advance {
            state: next,
            unregister,
            completed,
            ..
        } = next_step(state, Some(at(0)), false, LISTED, at(1))
        {
            seen.push((next, unregister, completed));
            state = Some(next);
        }
        assert_eq!(
            seen,
            vec![
                (DRAINING, false, false),
                (ACKNOWLEDGED, false, false),
                (READY_FOR_DELETION, true, true)
            ]
        );
    }

    #[test]
    fn an_unreachable_topology_waits_unless_the_pod_is_going_away() {
        assert_eq!(
            next_step(
                Some(REQUESTED),
                Some(at(0)),
                false,
                Poolers::Unavailable,
                at(1)
            ),
            DrainStep::Wait
        );
        assert!(matches!(
            next_step(
                Some(REQUESTED),
                Some(at(0)),
                true,
                Poolers::Unavailable,
                at(1)
            ),
            DrainStep::Advance {
                state: READY_FOR_DELETION,
                ..
            }
        ));
    }

    #[test]
    fn a_drain_older_than_five_minutes_is_forced() {
        assert!(matches!(
            next_step(Some(DRAINING), Some(at(0)), false, LISTED, at(301)),
            DrainStep::Advance {
                state: READY_FOR_DELETION,
                timed_out: true,
                unregister: true,
                ..
            }
        ));
        assert_eq!(
            drain_start(Some("not a time"), None, at(7)),
            Some(at(7)),
            "a malformed requested-at counts as now"
        );
        assert_eq!(next_step(None, None, false, LISTED, at(0)), DrainStep::Idle);
    }
}
