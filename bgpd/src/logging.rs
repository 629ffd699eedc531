//! Logging setup: `tracing` with an `EnvFilter` (RUST_LOG, when set,
//! overrides `[log] level`), as text or JSON lines on stderr.

use crate::config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The filter (from RUST_LOG or `[log] level`) does not parse.
    #[error("invalid log filter {filter:?} from {origin}: {source}")]
    Filter {
        /// The filter text.
        filter: String,
        /// "RUST_LOG" or "[log] level".
        origin: &'static str,
        /// The parse error.
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber was already installed.
    #[error("logging already initialised: {0}")]
    Init(String),
}

/// The filter in force: RUST_LOG when set and not empty, else `cfg.level`.
pub fn filter(cfg: &LogConfig) -> Result<EnvFilter, LogError> {
    let (filter, origin) = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => (v, "RUST_LOG"),
        _ => (cfg.level.clone(), "[log] level"),
    };
    EnvFilter::try_new(&filter).map_err(|source| LogError::Filter {
        filter,
        origin,
        source,
    })
}

/// Installs the global subscriber: stderr, text or JSON lines.
pub fn init(cfg: &LogConfig) -> Result<(), LogError> {
    let filter = filter(cfg)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let res = match cfg.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    res.map_err(|e| LogError::Init(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_level_is_used_without_rust_log() {
        // RUST_LOG is not set by cargo test unless the caller set it.
        if std::env::var_os("RUST_LOG").is_some() {
            return;
        }
        let cfg = LogConfig {
            level: "warn,bgpd=debug".into(),
            format: LogFormat::Text,
        };
        let f = filter(&cfg).unwrap();
        let shown = f.to_string();
        assert!(
            shown.contains("bgpd=debug") && shown.contains("warn"),
            "{shown}"
        );
        let bad = LogConfig {
            level: "bgpd=loud".into(),
            format: LogFormat::Json,
        };
        let e = filter(&bad).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid log filter \"bgpd=loud\" from [log] level:"),
            "{e}"
        );
    }
}
