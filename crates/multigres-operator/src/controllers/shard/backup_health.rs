//! Backup health of a Shard (spec-controllers.md §8): what the primary pooler's backup list
//! says, and how that lands in the status (`lastBackupTime`, `lastBackupType`, condition
//! `BackupHealthy`) and in events.
//!
//! Pure: the time is an argument, nothing here calls the pooler or writes. The data-plane step
//! (`data_plane.rs`) finds the primary and asks it for its backups; the pass folds the result
//! into its one status write (`reconcile.rs`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff;
use multigres_api::conditions::{
    BACKUP_HEALTHY, ConditionStatus, find_condition, is_condition_true, set_condition,
    shard_backup_healthy,
};
use multigres_api::v1alpha1::{LastBackupType, ShardStatus};

use crate::pooler::messages::{BackupMetadata, BackupStatus};

/// A newest backup older than this makes the shard's backups stale (§8, §10).
pub const STALE_AFTER_HOURS: i64 = 25;

/// The `limit` of the GetBackups call: none. multipooler returns pgBackRest's list oldest first
/// and cuts it after `limit`, so Go's `limit: 10` judged a shard with more than ten backups by
/// old ones and called it stale (spec-wire.md §8 Q3); deliberate fix 2 asks for the newest.
pub const GET_BACKUPS_LIMIT: u32 = 0;

/// The newest complete backup, when its time could be read from its ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastBackup {
    pub time: jiff::Timestamp,
    /// `full`, `diff` or `incr`; `None` for a type the CRD does not know.
    pub kind: Option<LastBackupType>,
    /// `now - time`.
    pub age: jiff::SignedDuration,
}

/// What the backup list says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupHealth {
    pub healthy: bool,
    /// The condition's message, with the age in hours to one decimal where there is one.
    pub message: String,
    pub last: Option<LastBackup>,
}

impl BackupHealth {
    fn unhealthy(message: String) -> Self {
        Self {
            healthy: false,
            message,
            last: None,
        }
    }
}

/// Go `checkBackupHealth`'s evaluation of `backups` at `now`: empty → "No backups found"; no
/// COMPLETE backup → "No completed backups found"; the COMPLETE backup with the greatest
/// `backup_id` (byte order) is the newest; an ID whose first 15 characters are not
/// `YYYYMMDD-HHMMSS` → unparsable; older than 25 h → stale; else healthy.
pub fn evaluate(backups: &[BackupMetadata], now: jiff::Timestamp) -> BackupHealth {
    if backups.is_empty() {
        return BackupHealth::unhealthy("No backups found".to_owned());
    }
    let Some(newest) = backups
        .iter()
        .filter(|backup| backup.status == BackupStatus::Complete as i32)
        .max_by(|a, b| a.backup_id.cmp(&b.backup_id))
    else {
        return BackupHealth::unhealthy("No completed backups found".to_owned());
    };
    let Some(time) = backup_time(&newest.backup_id) else {
        return BackupHealth::unhealthy(format!(
            "Failed to parse backup timestamp from ID {}",
            go_format::quote(&newest.backup_id)
        ));
    };
    let age = now.duration_since(time);
    let hours = go_hours(age);
    let stale = age > jiff::SignedDuration::from_hours(STALE_AFTER_HOURS);
    let message = if stale {
        format!("Last backup is {hours:.1}h old (threshold: {STALE_AFTER_HOURS}h)")
    } else {
        format!("Last {} backup completed {hours:.1}h ago", newest.r#type)
    };
    BackupHealth {
        healthy: !stale,
        message,
        last: Some(LastBackup {
            time,
            kind: backup_kind(&newest.r#type),
            age,
        }),
    }
}

/// The time in a pgBackRest label: its first 15 bytes as `YYYYMMDD-HHMMSS`, UTC (Go
/// `time.Parse("20060102-150405", id[:15])`: fixed-width digits, real calendar values).
pub fn backup_time(id: &str) -> Option<jiff::Timestamp> {
    let label = id.as_bytes().get(..15)?;
    let number = |range: std::ops::Range<usize>| -> Option<i16> {
        let digits = label.get(range)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    if label[8] != b'-' {
        return None;
    }
    let date = jiff::civil::Date::new(
        number(0..4)?,
        i8::try_from(number(4..6)?).ok()?,
        i8::try_from(number(6..8)?).ok()?,
    )
    .ok()?;
    let time = jiff::civil::Time::new(
        i8::try_from(number(9..11)?).ok()?,
        i8::try_from(number(11..13)?).ok()?,
        i8::try_from(number(13..15)?).ok()?,
        0,
    )
    .ok()?;
    date.to_datetime(time)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|zoned| zoned.timestamp())
}

/// Go `time.Duration.Hours()`: whole hours plus the remainder's fraction, so the rounding of
/// `%.1f` sees the same value.
fn go_hours(age: jiff::SignedDuration) -> f64 {
    const HOUR: i128 = 3_600_000_000_000;
    let nanos = age.as_nanos();
    // Both parts are far below 2^53 for any age a backup can have.
    #[allow(clippy::cast_precision_loss)]
    let hours = (nanos / HOUR) as f64 + (nanos % HOUR) as f64 / HOUR as f64;
    hours
}

fn backup_kind(kind: &str) -> Option<LastBackupType> {
    match kind {
        "full" => Some(LastBackupType::Full),
        "diff" => Some(LastBackupType::Diff),
        "incr" => Some(LastBackupType::Incr),
        _ => None,
    }
}

/// The event a new result calls for (§8 step 4: transitions only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupEvent {
    /// Not healthy before (or never checked), healthy now: `Normal BackupHealthy`.
    Healthy(String),
    /// Healthy before, not now: `Warning BackupStale`. A first-ever unhealthy result emits
    /// nothing, as in Go (spec-controllers.md §16 quirk 15).
    Stale(String),
}

/// Folds `health` into `status` (the status the pass is about to write): `lastBackupTime`,
/// `lastBackupType` and `BackupHealthy` (with `generation`, its transition time moving only
/// when it flips). Returns the event to publish once that status is written.
///
/// The age moves the metric, not the status: when the result is the same as the one written
/// (same verdict, same newest backup), the condition keeps its message, so a pass that only
/// finds the same backup a little older writes nothing.
pub fn fold(
    status: &mut ShardStatus,
    health: &BackupHealth,
    generation: Option<i64>,
    now: &Time,
) -> Option<BackupEvent> {
    let was_healthy = is_condition_true(&status.conditions, BACKUP_HEALTHY);
    let mut desired = shard_backup_healthy(health.healthy, health.message.clone());
    let time = health.last.as_ref().map(|last| Time(last.time));
    let kind = health.last.as_ref().and_then(|last| last.kind);
    let same_backup =
        health.last.is_some() && status.last_backup_time == time && status.last_backup_type == kind;
    if same_backup
        && let Some(written) = find_condition(&status.conditions, BACKUP_HEALTHY)
        && written.status == desired.status.as_str()
        && written.reason == desired.reason
    {
        desired.message.clone_from(&written.message);
    }
    set_condition(&mut status.conditions, &desired, generation, now);
    status.last_backup_time = time;
    status.last_backup_type = kind;
    match (was_healthy, desired.status == ConditionStatus::True) {
        (false, true) => Some(BackupEvent::Healthy(health.message.clone())),
        (true, false) => Some(BackupEvent::Stale(health.message.clone())),
        _ => None,
    }
}

/// Whether `a` and `b` agree on what the backup check owns: `lastBackupTime`,
/// `lastBackupType` and the `BackupHealthy` condition.
pub fn same_backup_state(a: &ShardStatus, b: &ShardStatus) -> bool {
    a.last_backup_time == b.last_backup_time
        && a.last_backup_type == b.last_backup_type
        && find_condition(&a.conditions, BACKUP_HEALTHY)
            == find_condition(&b.conditions, BACKUP_HEALTHY)
}

/// Replaces what the backup check owns in `status` with `from`'s (the condition keeps its
/// place in the list when `status` has one).
pub fn take_backup_state(status: &mut ShardStatus, from: &ShardStatus) {
    status.last_backup_time.clone_from(&from.last_backup_time);
    status.last_backup_type = from.last_backup_type;
    let theirs = find_condition(&from.conditions, BACKUP_HEALTHY).cloned();
    match (
        status
            .conditions
            .iter()
            .position(|c| c.type_ == BACKUP_HEALTHY),
        theirs,
    ) {
        (Some(index), Some(theirs)) => status.conditions[index] = theirs,
        (Some(index), None) => {
            status.conditions.remove(index);
        }
        (None, Some(theirs)) => status.conditions.push(theirs),
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
    use pretty_assertions::assert_eq;

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().expect("an RFC 3339 time")
    }

    fn backup(id: &str, status: BackupStatus, kind: &str) -> BackupMetadata {
        BackupMetadata {
            table_group: "default".into(),
            shard: "0-inf".into(),
            status: status as i32,
            backup_id: id.into(),
            r#type: kind.into(),
            ..Default::default()
        }
    }

    const NOW: &str = "2026-05-02T12:00:00Z";

    #[test]
    fn no_backups_is_unhealthy() {
        assert_eq!(
            evaluate(&[], at(NOW)),
            BackupHealth {
                healthy: false,
                message: "No backups found".into(),
                last: None
            }
        );
    }

    #[test]
    fn no_complete_backup_is_unhealthy() {
        let backups = [
            backup("20260502-110000F", BackupStatus::Incomplete, "full"),
            backup(
                "20260502-113000F_20260502-114000I",
                BackupStatus::Unknown,
                "incr",
            ),
        ];
        assert_eq!(
            evaluate(&backups, at(NOW)),
            BackupHealth {
                healthy: false,
                message: "No completed backups found".into(),
                last: None
            }
        );
    }

    #[test]
    fn an_unparsable_newest_id_is_unhealthy_and_quoted_as_go_does() {
        let backups = [
            backup("20260501-120000F", BackupStatus::Complete, "full"),
            backup("manual\t\"x\"", BackupStatus::Complete, "full"),
        ];
        assert_eq!(
            evaluate(&backups, at(NOW)),
            BackupHealth {
                healthy: false,
                message: r#"Failed to parse backup timestamp from ID "manual\t\"x\"""#.into(),
                last: None
            }
        );
    }

    #[test]
    fn labels_parse_as_fixed_width_utc_calendar_values() {
        assert_eq!(
            backup_time("20260501-120000F"),
            Some(at("2026-05-01T12:00:00Z"))
        );
        assert_eq!(
            backup_time("20260501-120000F_20260502-010203I"),
            Some(at("2026-05-01T12:00:00Z"))
        );
        assert_eq!(
            backup_time("20260501-120000"),
            Some(at("2026-05-01T12:00:00Z"))
        );
        for bad in [
            "20260501-12000",   // too short
            "20260501T120000F", // no dash
            "20261301-120000F", // month 13
            "20260230-120000F", // 30 February
            "20260501-240000F", // hour 24
            "2026050a-120000F",
            "+2026050-120000F",
            "2026é501-120000F",
        ] {
            assert_eq!(backup_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_newest_complete_backup_by_id_decides_and_its_age_has_one_decimal() {
        // Listed oldest first, as pgBackRest does; an incomplete newer one does not count.
        let backups = [
            backup("20260430-120000F", BackupStatus::Complete, "full"),
            backup(
                "20260501-120000F_20260502-090000D",
                BackupStatus::Complete,
                "diff",
            ),
            backup("20260501-120000F", BackupStatus::Complete, "full"),
            backup("20260502-115900F", BackupStatus::Incomplete, "full"),
        ];
        // "20260501-120000F_…" > "20260501-120000F" in byte order: the diff is the newest,
        // and its label's first 15 characters are its full parent's time (Go reads it so).
        assert_eq!(
            evaluate(&backups, at("2026-05-01T13:15:00Z")),
            BackupHealth {
                healthy: true,
                message: "Last diff backup completed 1.2h ago".into(),
                last: Some(LastBackup {
                    time: at("2026-05-01T12:00:00Z"),
                    kind: Some(LastBackupType::Diff),
                    age: jiff::SignedDuration::from_mins(75),
                }),
            }
        );
    }

    #[test]
    fn twenty_five_hours_is_still_recent_and_a_second_more_is_stale() {
        let backups = [backup("20260501-110000F", BackupStatus::Complete, "full")];
        let recent = evaluate(&backups, at(NOW));
        assert!(recent.healthy);
        assert_eq!(recent.message, "Last full backup completed 25.0h ago");
        let stale = evaluate(&backups, at("2026-05-02T12:00:01Z"));
        assert_eq!(
            stale,
            BackupHealth {
                healthy: false,
                message: "Last backup is 25.0h old (threshold: 25h)".into(),
                last: Some(LastBackup {
                    time: at("2026-05-01T11:00:00Z"),
                    kind: Some(LastBackupType::Full),
                    age: jiff::SignedDuration::from_secs(25 * 3600 + 1),
                }),
            }
        );
    }

    #[test]
    fn ages_round_as_gos_percent_point_one_f() {
        let backups = [backup("20260501-000000F", BackupStatus::Complete, "incr")];
        let message = |now: &str| evaluate(&backups, at(now)).message;
        // 15 min = 0.25 h: a tie, rounded to even as Go's strconv does.
        assert_eq!(
            message("2026-05-01T00:15:00Z"),
            "Last incr backup completed 0.2h ago"
        );
        // 45 min = 0.75 h rounds up to even.
        assert_eq!(
            message("2026-05-01T00:45:00Z"),
            "Last incr backup completed 0.8h ago"
        );
        assert_eq!(
            message("2026-05-01T00:02:59Z"),
            "Last incr backup completed 0.0h ago"
        );
        // A backup "from the future" (clock skew) has a negative age, printed as Go does.
        assert_eq!(
            message("2026-04-30T23:00:00Z"),
            "Last incr backup completed -1.0h ago"
        );
    }

    #[test]
    fn an_unknown_backup_type_leaves_the_type_unset() {
        let health = evaluate(
            &[backup(
                "20260502-110000F",
                BackupStatus::Complete,
                "snapshot",
            )],
            at(NOW),
        );
        assert!(health.healthy);
        assert_eq!(health.message, "Last snapshot backup completed 1.0h ago");
        assert_eq!(health.last.expect("a time").kind, None);
    }

    fn now_time() -> Time {
        Time(at(NOW))
    }

    fn healthy_at(time: &str, message: &str) -> BackupHealth {
        BackupHealth {
            healthy: true,
            message: message.into(),
            last: Some(LastBackup {
                time: at(time),
                kind: Some(LastBackupType::Full),
                age: jiff::SignedDuration::from_hours(1),
            }),
        }
    }

    fn condition(status: &ShardStatus) -> Condition {
        find_condition(&status.conditions, BACKUP_HEALTHY)
            .expect("BackupHealthy")
            .clone()
    }

    #[test]
    fn a_first_healthy_result_sets_time_type_condition_and_says_so() {
        let mut status = ShardStatus::default();
        let health = healthy_at(
            "2026-05-02T11:00:00Z",
            "Last full backup completed 1.0h ago",
        );
        let event = fold(&mut status, &health, Some(3), &now_time());
        assert_eq!(
            event,
            Some(BackupEvent::Healthy(
                "Last full backup completed 1.0h ago".into()
            ))
        );
        assert_eq!(
            status.last_backup_time,
            Some(Time(at("2026-05-02T11:00:00Z")))
        );
        assert_eq!(status.last_backup_type, Some(LastBackupType::Full));
        assert_eq!(
            condition(&status),
            Condition {
                type_: "BackupHealthy".into(),
                status: "True".into(),
                reason: "BackupRecent".into(),
                message: "Last full backup completed 1.0h ago".into(),
                observed_generation: Some(3),
                last_transition_time: now_time(),
            }
        );
    }

    #[test]
    fn the_same_backup_older_changes_nothing() {
        let mut status = ShardStatus::default();
        fold(
            &mut status,
            &healthy_at(
                "2026-05-02T11:00:00Z",
                "Last full backup completed 1.0h ago",
            ),
            Some(3),
            &now_time(),
        );
        let written = status.clone();
        let later = Time(at("2026-05-02T13:00:00Z"));
        let event = fold(
            &mut status,
            &healthy_at(
                "2026-05-02T11:00:00Z",
                "Last full backup completed 2.0h ago",
            ),
            Some(3),
            &later,
        );
        assert_eq!(event, None);
        assert_eq!(status, written);
        // A newer backup is news: new time and message, no event (still healthy), the
        // transition time stays.
        let event = fold(
            &mut status,
            &healthy_at(
                "2026-05-02T12:30:00Z",
                "Last full backup completed 0.5h ago",
            ),
            Some(3),
            &later,
        );
        assert_eq!(event, None);
        assert_eq!(
            status.last_backup_time,
            Some(Time(at("2026-05-02T12:30:00Z")))
        );
        assert_eq!(
            condition(&status).message,
            "Last full backup completed 0.5h ago"
        );
        assert_eq!(condition(&status).last_transition_time, now_time());
    }

    #[test]
    fn healthy_to_stale_warns_once_and_back_to_healthy_says_so() {
        let mut status = ShardStatus::default();
        fold(
            &mut status,
            &healthy_at(
                "2026-05-01T11:00:00Z",
                "Last full backup completed 1.0h ago",
            ),
            Some(1),
            &now_time(),
        );
        let stale = BackupHealth {
            healthy: false,
            message: "Last backup is 25.1h old (threshold: 25h)".into(),
            last: Some(LastBackup {
                time: at("2026-05-01T11:00:00Z"),
                kind: Some(LastBackupType::Full),
                age: jiff::SignedDuration::from_mins(25 * 60 + 6),
            }),
        };
        let later = Time(at("2026-05-02T12:06:00Z"));
        assert_eq!(
            fold(&mut status, &stale, Some(1), &later),
            Some(BackupEvent::Stale(
                "Last backup is 25.1h old (threshold: 25h)".into()
            ))
        );
        let written = condition(&status);
        assert_eq!(
            (written.status.as_str(), written.reason.as_str()),
            ("False", "BackupStale")
        );
        assert_eq!(written.last_transition_time, later);
        // Still stale, older: nothing new, the message stays.
        let older = BackupHealth {
            message: "Last backup is 26.0h old (threshold: 25h)".into(),
            ..stale.clone()
        };
        assert_eq!(fold(&mut status, &older, Some(1), &later), None);
        assert_eq!(condition(&status), written);
        // Recovered.
        assert_eq!(
            fold(
                &mut status,
                &healthy_at(
                    "2026-05-02T12:10:00Z",
                    "Last full backup completed 0.0h ago"
                ),
                Some(1),
                &later
            ),
            Some(BackupEvent::Healthy(
                "Last full backup completed 0.0h ago".into()
            ))
        );
    }

    #[test]
    fn a_first_unhealthy_result_emits_nothing_and_clears_the_backup_fields() {
        let mut status = ShardStatus {
            last_backup_time: Some(now_time()),
            last_backup_type: Some(LastBackupType::Incr),
            ..ShardStatus::default()
        };
        let event = fold(
            &mut status,
            &BackupHealth::unhealthy("No backups found".into()),
            Some(2),
            &now_time(),
        );
        assert_eq!(event, None);
        assert_eq!(status.last_backup_time, None);
        assert_eq!(status.last_backup_type, None);
        let written = condition(&status);
        assert_eq!(
            (
                written.status.as_str(),
                written.reason.as_str(),
                written.message.as_str()
            ),
            ("False", "BackupStale", "No backups found")
        );
        // Another unhealthy finding replaces the message (no age in it to keep).
        fold(
            &mut status,
            &BackupHealth::unhealthy("No completed backups found".into()),
            Some(2),
            &now_time(),
        );
        assert_eq!(condition(&status).message, "No completed backups found");
    }

    #[test]
    fn a_new_generation_is_observed_without_a_new_message() {
        let mut status = ShardStatus::default();
        let health = healthy_at(
            "2026-05-02T11:00:00Z",
            "Last full backup completed 1.0h ago",
        );
        fold(&mut status, &health, Some(1), &now_time());
        let older = healthy_at(
            "2026-05-02T11:00:00Z",
            "Last full backup completed 1.5h ago",
        );
        fold(&mut status, &older, Some(2), &now_time());
        let written = condition(&status);
        assert_eq!(written.observed_generation, Some(2));
        assert_eq!(written.message, "Last full backup completed 1.0h ago");
    }

    #[test]
    fn the_backup_state_is_taken_from_the_servers_status_and_compared_alone() {
        let available = Condition {
            type_: "Available".into(),
            status: "True".into(),
            reason: "AllPodsReady".into(),
            message: "All 3 pods are ready".into(),
            observed_generation: Some(1),
            last_transition_time: now_time(),
        };
        // The cache before this process's last write: no backup state yet.
        let cached = ShardStatus {
            conditions: vec![available.clone()],
            ..ShardStatus::default()
        };
        let mut server = cached.clone();
        fold(
            &mut server,
            &healthy_at(
                "2026-05-02T11:00:00Z",
                "Last full backup completed 1.0h ago",
            ),
            Some(1),
            &now_time(),
        );
        assert!(!same_backup_state(&cached, &server));
        // Another condition does not count.
        let mut other = server.clone();
        other.conditions[0].message = "2/3 pods ready".into();
        assert!(same_backup_state(&server, &other));

        let mut status = cached.clone();
        take_backup_state(&mut status, &server);
        assert_eq!(status, server);
        // The same result a little older, folded on the server's state: nothing to write, no
        // second event.
        let later = Time(at("2026-05-02T12:05:00Z"));
        let again = healthy_at(
            "2026-05-02T11:00:00Z",
            "Last full backup completed 1.1h ago",
        );
        assert_eq!(fold(&mut status, &again, Some(1), &later), None);
        assert_eq!(status, server);
        // Taking a state without the condition removes it and keeps the others in place.
        take_backup_state(&mut status, &cached);
        assert_eq!(status, cached);
    }
}
