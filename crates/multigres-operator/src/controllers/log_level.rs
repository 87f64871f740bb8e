//! The `--log-level` value of a multigres component (spec-controllers.md §2.5, §4.2, §7.3.5,
//! §7.4): the resolved `spec.logLevels.<component>`.
//!
//! Pure; the one place the multiadmin, multigateway, multiorch, multipooler and pgctld builders
//! get the value from. Child resources the operator writes always carry every level (the
//! defaulting pass fills them, spec-api.md §10.8), so a Go-built pod never changes; for a
//! hand-written one without a level this falls back to the resolver's default, `info`
//! (spec-api.md §10.2), where Go would pass an empty value the component rejects.

use multigres_api::v1alpha1::LogLevel;

/// The flag value of `level`, `info` when unset.
pub fn log_level_flag(level: Option<LogLevel>) -> &'static str {
    match level.unwrap_or(LogLevel::Info) {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn levels_use_the_crd_spelling_and_default_to_info() {
        for level in [
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error,
        ] {
            assert_eq!(
                serde_json::to_value(level).expect("a LogLevel serializes"),
                serde_json::Value::String(log_level_flag(Some(level)).to_owned())
            );
        }
        assert_eq!(log_level_flag(None), "info");
    }

    #[test]
    fn every_level_has_its_flag_value() {
        assert_eq!(
            [
                Some(LogLevel::Debug),
                Some(LogLevel::Info),
                Some(LogLevel::Warn),
                Some(LogLevel::Error),
                None
            ]
            .map(log_level_flag),
            ["debug", "info", "warn", "error", "info"]
        );
    }
}
