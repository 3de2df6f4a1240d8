//! baton's own diagnostics: on stderr only (stdout belongs to the command),
//! quiet by default (errors only), as text or JSON lines. The level comes from
//! `--log-level`, else from `BATON_LOG`.

use tracing::level_filters::LevelFilter;

use crate::cli::{LogFormat, LogLevel};

/// Installs the global subscriber.
pub fn init(level: Option<LogLevel>, format: LogFormat) {
    let filter = match level {
        Some(level) => level.filter(),
        None => std::env::var("BATON_LOG").map_or(LevelFilter::ERROR, |text| {
            <LogLevel as clap::ValueEnum>::from_str(&text, true).map_or_else(
                |_| {
                    eprintln!("baton: ignoring BATON_LOG={text:?}: expected off, error, warn, info, debug or trace");
                    LevelFilter::ERROR
                },
                LogLevel::filter,
            )
        }),
    };
    if filter == LevelFilter::OFF {
        return;
    }
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

impl LogLevel {
    fn filter(self) -> LevelFilter {
        match self {
            Self::Off => LevelFilter::OFF,
            Self::Error => LevelFilter::ERROR,
            Self::Warn => LevelFilter::WARN,
            Self::Info => LevelFilter::INFO,
            Self::Debug => LevelFilter::DEBUG,
            Self::Trace => LevelFilter::TRACE,
        }
    }
}
