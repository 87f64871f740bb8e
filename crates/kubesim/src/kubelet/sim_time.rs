//! Simulated time: the wall-clock `now` every decision receives, and the time scale that turns
//! the durations Kubernetes objects name (grace periods, back-offs, `minReadySeconds`,
//! toleration seconds) into real waits, so tests honour a 30 s grace period in 0.3 s with a
//! scale of 0.01.
//!
//! Timestamps written into objects stay real (RFC 3339, second precision, as the API server
//! writes them); only durations scale. Pure: the runtime reads the clock and builds a
//! [`SimClock`] per decision.

use std::time::Duration;

/// `now` plus the time scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimClock {
    pub now: jiff::Timestamp,
    /// Real seconds per simulated second (1.0 = real time).
    pub time_scale: f64,
}

impl SimClock {
    /// `now` as objects record it.
    pub fn timestamp(&self) -> String {
        crate::api::format_time(self.now)
    }

    /// The real wait for `seconds` of simulated time.
    pub fn real(&self, seconds: f64) -> Duration {
        Duration::try_from_secs_f64((seconds * self.time_scale).max(0.0)).unwrap_or(Duration::MAX)
    }

    /// Simulated seconds elapsed since an RFC 3339 time written by the API or a controller;
    /// `None` when the time does not parse.
    pub fn seconds_since(&self, time: &str) -> Option<f64> {
        let then: jiff::Timestamp = time.parse().ok()?;
        let real = self.now.duration_since(then).as_secs_f64();
        Some(real / self.time_scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_scale_and_timestamps_do_not() {
        let clock = SimClock {
            now: "2026-03-01T10:00:30Z".parse().expect("valid"),
            time_scale: 0.5,
        };
        assert_eq!(clock.timestamp(), "2026-03-01T10:00:30Z");
        assert_eq!(clock.real(30.0), Duration::from_secs(15));
        assert_eq!(clock.real(-1.0), Duration::ZERO);
        assert_eq!(clock.seconds_since("2026-03-01T10:00:00Z"), Some(60.0));
        assert_eq!(clock.seconds_since("yesterday"), None);
    }
}
