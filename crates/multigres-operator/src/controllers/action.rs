//! What a pass asks for next: kube-runtime's `Action`, with the requeue delay readable.
//!
//! Reconcilers and error policies return this [`Action`]; `counted_controller` hands kube-runtime
//! its own `Action` after noting the delay, because `workqueue_depth` must count a requeue once it
//! is due (spec-controllers.md §12.1) and kube-runtime keeps the delay of its `Action` private.
//! The constructors and their meaning are kube-runtime's (style.md §3 step 10).

use std::time::Duration;

/// When the next pass of an object runs if nothing it watches changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action {
    requeue_after: Option<Duration>,
}

impl Action {
    /// Run again after `duration`, even without a change (a resync, a poll of what is not
    /// watched, a retry).
    #[must_use]
    pub const fn requeue(duration: Duration) -> Self {
        Self {
            requeue_after: Some(duration),
        }
    }

    /// Run again only when a watched object changes.
    #[must_use]
    pub const fn await_change() -> Self {
        Self {
            requeue_after: None,
        }
    }

    /// The delay of the requeue asked for, if any.
    pub fn requeue_after(&self) -> Option<Duration> {
        self.requeue_after
    }
}

impl From<Action> for kube::runtime::controller::Action {
    fn from(action: Action) -> Self {
        match action.requeue_after {
            Some(duration) => Self::requeue(duration),
            None => Self::await_change(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_to_the_same_kube_action() {
        let after = Duration::from_secs(42);
        assert_eq!(
            kube::runtime::controller::Action::from(Action::requeue(after)),
            kube::runtime::controller::Action::requeue(after)
        );
        assert_eq!(
            kube::runtime::controller::Action::from(Action::await_change()),
            kube::runtime::controller::Action::await_change()
        );
        assert_eq!(Action::requeue(after).requeue_after(), Some(after));
        assert_eq!(Action::await_change().requeue_after(), None);
    }
}
