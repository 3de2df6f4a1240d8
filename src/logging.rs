//! baton's own diagnostics: on stderr only (stdout belongs to the command),
//! quiet by default (errors only), as text or JSON lines. The level comes from
//! `--log-level`, else from `BATON_LOG`.
//!
//! The code logs through `tracing`'s macros; the subscriber that prints them is
//! this module's, about eighty lines, rather than tracing-subscriber's `fmt`:
//! baton has no spans and needs one line per event, and tracing-subscriber's
//! registry was 6 % of start-up and 0.03 MB of binary (`docs/performance.md`).
//!
//! Text: `2026-01-02T03:04:05.678Z  WARN message key="value" n=3`.
//! JSON: `{"timestamp":"…","level":"WARN","fields":{"message":"…","key":"value"}}`,
//! the layout of tracing-subscriber's JSON (timestamps in milliseconds), so
//! that log pipelines built for it read baton's lines.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::cli::{LogFormat, LogLevel};
use crate::json;
use crate::timestamp::rfc3339_millis;

/// Installs the global subscriber.
pub fn init(level: Option<LogLevel>, format: LogFormat) {
    let level = level.unwrap_or_else(|| {
        std::env::var("BATON_LOG").map_or(LogLevel::Error, |text| {
            LogLevel::parse(&text).unwrap_or_else(|| {
                eprintln!("baton: ignoring BATON_LOG={text:?}: expected off, error, warn, info, debug or trace");
                LogLevel::Error
            })
        })
    });
    let max = match level {
        LogLevel::Off => return,
        LogLevel::Error => Level::ERROR,
        LogLevel::Warn => Level::WARN,
        LogLevel::Info => Level::INFO,
        LogLevel::Debug => Level::DEBUG,
        LogLevel::Trace => Level::TRACE,
    };
    let _ = tracing::subscriber::set_global_default(Lines { max, format });
}

/// Prints each event as one line on stderr.
#[derive(Debug)]
struct Lines {
    max: Level,
    format: LogFormat,
}

impl Subscriber for Lines {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(self.max))
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let line = format_line(self.format, SystemTime::now(), event);
        // One write per line, so that lines of concurrent threads do not mix.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

fn format_line(format: LogFormat, now: SystemTime, event: &Event<'_>) -> String {
    let level = event.metadata().level().as_str();
    let mut fields = Fields {
        format,
        message: String::new(),
        rest: String::new(),
    };
    event.record(&mut fields);
    match format {
        LogFormat::Text => {
            format!(
                "{} {level:>5} {}{}\n",
                rfc3339_millis(now),
                escape_controls(&fields.message),
                fields.rest
            )
        }
        LogFormat::Json => {
            let mut line = format!(
                "{{\"timestamp\":\"{}\",\"level\":\"{level}\",\"fields\":{{\"message\":",
                rfc3339_millis(now)
            );
            json::string(&mut line, &fields.message);
            line.push_str(&fields.rest);
            line.push_str("}}\n");
            line
        }
    }
}

/// Collects an event's fields: the message apart, the others as ` k=v` (text)
/// or `,"k":v` (JSON).
struct Fields {
    format: LogFormat,
    message: String,
    rest: String,
}

impl Fields {
    fn push(&mut self, field: &Field, value: &str, quote: bool) {
        if field.name() == "message" {
            self.message.push_str(value);
            return;
        }
        match self.format {
            // Text: strings quoted (and escaped) as tracing-subscriber does;
            // other values as they format, control characters escaped, so
            // that no value can split or forge a line.
            LogFormat::Text if quote => {
                let _ = write!(self.rest, " {}={value:?}", field.name());
            }
            LogFormat::Text => {
                let _ = write!(self.rest, " {}={}", field.name(), escape_controls(value));
            }
            LogFormat::Json => {
                self.rest.push(',');
                json::string(&mut self.rest, field.name());
                self.rest.push(':');
                if quote {
                    json::string(&mut self.rest, value);
                } else {
                    self.rest.push_str(value);
                }
            }
        }
    }
}

/// `text` with control characters (C0, DEL, C1) escaped as Rust does.
fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, &format!("{value:?}"), true);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value, true);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, &value.to_string(), false);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, &value.to_string(), false);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, if value { "true" } else { "false" }, false);
    }
}
