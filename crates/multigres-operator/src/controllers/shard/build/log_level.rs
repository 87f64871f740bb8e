//! The `--log-level=` value of a multigres component from the Shard's `logLevels`
//! (spec-controllers.md §7.3.5, §7.4).
//!
//! An unset level is `info`, the resolver's default (spec-api.md §10.2), as the Cell builder
//! does; a Go-built Shard always has every level set, so this changes no Go-built pod. Pure.

use multigres_api::v1alpha1::LogLevel;

/// `debug`, `info`, `warn` or `error`; `info` when unset.
pub fn log_level_value(level: Option<LogLevel>) -> &'static str {
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
        assert_eq!(
            [
                Some(LogLevel::Debug),
                Some(LogLevel::Info),
                Some(LogLevel::Warn),
                Some(LogLevel::Error),
                None
            ]
            .map(log_level_value),
            ["debug", "info", "warn", "error", "info"]
        );
    }
}
