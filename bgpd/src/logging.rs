//! Logging setup: `tracing` with an `EnvFilter` (RUST_LOG, when set,
//! overrides `[log] level`), as text or JSON lines on stderr.

use crate::config::{LogConfig, LogFormat};
use std::io::IsTerminal as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The filter (from RUST_LOG or `[log] level`) does not parse.
    #[error("invalid log filter {filter:?} from {origin}: {source}")]
    Filter {
        /// The filter text.
        filter: String,
        /// "RUST_LOG" or "`[log] level`".
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

/// A subscriber writing `cfg.format` lines to `writer` (colours only when
/// `ansi`).
pub fn subscriber<W>(
    cfg: &LogConfig,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match cfg.format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .finish(),
        ),
    }
}

/// Installs the global subscriber: stderr, text (coloured on a terminal)
/// or JSON lines.
pub fn init(cfg: &LogConfig) -> Result<(), LogError> {
    let ansi = std::io::stderr().is_terminal();
    let sub = subscriber(cfg, filter(cfg)?, std::io::stderr, ansi);
    tracing::subscriber::set_global_default(sub).map_err(|e| LogError::Init(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

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
        let shown = filter(&cfg).unwrap().to_string();
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

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn log_with(format: LogFormat) -> String {
        let cfg = LogConfig {
            level: "info".into(),
            format,
        };
        let buf = Buf::default();
        let w = buf.clone();
        let sub = subscriber(&cfg, EnvFilter::new("info"), move || w.clone(), false);
        tracing::subscriber::with_default(sub, || {
            tracing::info!(peer = "172.18.0.2", "session established");
            tracing::debug!("filtered out");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        out
    }

    #[test]
    fn text_lines() {
        let out = log_with(LogFormat::Text);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains(" INFO "), "{out}");
        assert!(
            out.contains("session established peer=\"172.18.0.2\""),
            "{out}"
        );
        assert!(
            !out.contains('\u{1b}'),
            "no colours when not a terminal: {out}"
        );
    }

    #[test]
    fn json_lines() {
        let out = log_with(LogFormat::Json);
        assert_eq!(out.lines().count(), 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "session established");
        assert_eq!(v["peer"], "172.18.0.2");
    }
}
