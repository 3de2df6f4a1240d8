//! baton's own diagnostics, through tracing-subscriber: on stderr only
//! (stdout belongs to the command), errors only by default, as text or JSON
//! lines. Everything baton says goes through here, the final verdict line
//! (`baton: skipped: …`) and usage errors included, so `--log-format json`
//! gives JSON lines only and `--log-level off` gives silence.
//!
//! The filter is tracing-subscriber's `Targets` (`warn`, `baton::wait=debug,error`),
//! from `--log-level`, else `BATON_LOG`. Not `EnvFilter`: it brings a regex
//! engine into a binary that runs in front of every container.
//!
//! Text: `2026-01-02T03:04:05.678901Z  WARN baton::wait: message key="value"`,
//! every control character of a message or value escaped (tracing-subscriber
//! escapes only ANSI sequences), so that no path can split or forge a line.
//! JSON: tracing-subscriber's layout, `{"timestamp":…,"level":…,"fields":{…},"target":…}`.

use std::fmt::{self, Write as _};

use clap::ValueEnum;
use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::layer::SubscriberExt as _;

/// How diagnostics are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line of text per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// Reads a filter (`--log-level`, `BATON_LOG`): comma-separated directives,
/// each a level (`off`, `error`, `warn`, `info`, `debug`, `trace`, in any
/// case) or `TARGET=LEVEL`. A bare word that is no level is refused, rather
/// than taken for a target name as `Targets` would.
pub fn parse_filter(text: &str) -> Result<Targets, String> {
    for directive in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if !directive.contains('=') && directive.parse::<LevelFilter>().is_err() {
            return Err(format!(
                "{directive:?} is neither a level (off, error, warn, info, debug, trace) nor TARGET=LEVEL"
            ));
        }
    }
    text.parse().map_err(|err| format!("{err}"))
}

/// Installs the global subscriber: `filter`, else `BATON_LOG`, else errors
/// only. With everything off none is installed (nothing to pay for).
pub fn init(filter: Option<Targets>, format: Format) {
    let mut bad_env = None;
    let filter = filter.unwrap_or_else(|| match std::env::var("BATON_LOG") {
        Ok(text) => parse_filter(&text).unwrap_or_else(|why| {
            bad_env = Some(format!("ignoring BATON_LOG={text:?}: {why}"));
            Targets::new().with_default(LevelFilter::ERROR)
        }),
        Err(_) => Targets::new().with_default(LevelFilter::ERROR),
    });
    if filter.iter().all(|(_, level)| level == LevelFilter::OFF)
        && filter.default_level().unwrap_or(LevelFilter::OFF) == LevelFilter::OFF
    {
        return;
    }
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match format {
        Format::Text => {
            tracing::subscriber::set_global_default(registry.with(layer.fmt_fields(Escaped)))
        }
        Format::Json => tracing::subscriber::set_global_default(
            registry.with(layer.json().with_current_span(false).with_span_list(false)),
        ),
    };
    if installed.is_ok() {
        if let Some(message) = bad_env {
            tracing::warn!(target: "baton", "{message}");
        }
    }
}

/// Formats the fields of a text line: the message as it is, other fields as
/// ` name=value` (strings quoted), every control character escaped.
#[derive(Debug)]
struct Escaped;

impl<'w> FormatFields<'w> for Escaped {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = EscapingVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct EscapingVisitor<'w> {
    writer: Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Visit for EscapingVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        let separator = if self.first { "" } else { " " };
        self.first = false;
        self.result = if field.name() == "message" {
            write!(self.writer, "{separator}{}", escape_controls(&text))
        } else {
            write!(
                self.writer,
                "{separator}{}={}",
                field.name(),
                escape_controls(&text)
            )
        };
    }
}

/// `text` with control characters (C0, DEL, C1) escaped as Rust does.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_levels_or_directives() {
        assert_eq!(
            parse_filter("WARN").unwrap().default_level(),
            Some(LevelFilter::WARN)
        );
        let targets = parse_filter("baton::wait=debug,error").unwrap();
        assert_eq!(targets.default_level(), Some(LevelFilter::ERROR));
        assert!(targets.would_enable("baton::wait", &tracing::Level::DEBUG));
        assert!(parse_filter("loud").unwrap_err().contains("loud"));
        assert!(parse_filter("x=loud").is_err());
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            escape_controls("a\nb\x1b[31m\u{85}"),
            r"a\nb\u{1b}[31m\u{85}"
        );
        assert_eq!(escape_controls("plain"), "plain");
    }
}
