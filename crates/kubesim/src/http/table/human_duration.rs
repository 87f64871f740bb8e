//! How tables show ages and durations: apimachinery's `duration.HumanDuration` (`45s`, `5m`,
//! `7m30s`, `2d3h`, `3y12d`), and the printers' `translateTimestampSince` around it
//! (rust-ecosystem.md §3.2 "get": Age must be a human duration, not RFC 3339).
//!
//! Pure: the current time is an argument.

use jiff::Timestamp;

/// `duration.HumanDuration` of a signed number of seconds (sub-second parts are dropped, as
/// Go's integer division does).
pub fn human_duration(seconds: i64) -> String {
    // A deviation under two seconds counts as "now": clocks of machines differ.
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Seconds from `then` to `now`, truncated toward zero like Go's `Duration.Seconds()` → int.
fn seconds_between(then: Timestamp, now: Timestamp) -> i64 {
    let nanos = now.as_nanosecond() - then.as_nanosecond();
    i64::try_from(nanos / 1_000_000_000).unwrap_or(i64::MAX)
}

/// `translateTimestampSince`: `<unknown>` for a missing or unparsable time, else the human
/// duration since it.
pub fn since(timestamp: Option<&str>, now: Timestamp) -> String {
    match timestamp.and_then(|t| t.parse::<Timestamp>().ok()) {
        Some(then) => human_duration(seconds_between(then, now)),
        None => "<unknown>".to_string(),
    }
}

/// The human duration between two timestamps (a Job's run time), empty when either is missing.
pub fn between(start: Option<&str>, end: Option<&str>) -> Option<String> {
    let start = start?.parse::<Timestamp>().ok()?;
    let end = end?.parse::<Timestamp>().ok()?;
    Some(human_duration(seconds_between(start, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_kubectl_ages() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (45, "45s"),
            (119, "119s"),
            (120, "2m"),
            (450, "7m30s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 25 * 60, "3h25m"),
            (8 * 3600 + 59 * 60, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (51 * 3600, "2d3h"),
            (8 * 86400 + 5 * 3600, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (742 * 86400, "2y12d"),
            (9 * 365 * 86400, "9y"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(human_duration(seconds), expected, "{seconds}s");
        }
    }

    #[test]
    fn ages_are_measured_from_rfc3339_and_micro_times() {
        let now: Timestamp = "2026-01-02T03:04:05Z".parse().expect("valid time");
        assert_eq!(since(Some("2026-01-02T02:59:05Z"), now), "5m");
        assert_eq!(since(Some("2026-01-02T03:04:04.999999Z"), now), "0s");
        assert_eq!(since(Some("not a time"), now), "<unknown>");
        assert_eq!(since(None, now), "<unknown>");
        assert_eq!(
            between(Some("2026-01-02T03:00:00Z"), Some("2026-01-02T03:00:42Z")),
            Some("42s".to_string())
        );
        assert_eq!(between(None, Some("2026-01-02T03:00:42Z")), None);
    }
}
