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

use std::sync::OnceLock;

use clap::ValueEnum;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::layer::SubscriberExt as _;

/// baton's default level: errors only (baton is quiet).
pub const DEFAULT_LEVEL: LevelFilter = LevelFilter::ERROR;
/// The default in Tekton's mode: warnings too, such as the breakpoints' instructions.
pub const TEKTON_DEFAULT_LEVEL: LevelFilter = LevelFilter::WARN;

/// The target of the one warning shown at the default level too: the
/// termination message could not be written (the step goes on as its command
/// ended, so only this line says the message is lost).
pub const UNWRITTEN: &str = "baton::termination_message";

/// How diagnostics are written (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line of text per event.
    #[default]
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

/// Installs the global subscriber: `filter`, else `BATON_LOG`, else
/// `default` (errors only for baton, warnings too in Tekton's mode). With
/// everything off none is installed (nothing to pay for).
pub fn init(filter: Option<Targets>, format: Format, default: LevelFilter) {
    let mut bad_env = None;
    let default = || {
        Targets::new()
            .with_default(default)
            .with_target(UNWRITTEN, default.max(LevelFilter::WARN))
    };
    let filter = filter.unwrap_or_else(|| match std::env::var("BATON_LOG") {
        Ok(text) => parse_filter(&text).unwrap_or_else(|why| {
            bad_env = Some(format!("ignoring BATON_LOG={text:?}: {why}"));
            default()
        }),
        Err(_) => default(),
    });
    let max = filter
        .iter()
        .map(|(_, level)| level)
        .chain(filter.default_level())
        .max()
        .unwrap_or(LevelFilter::OFF);
    if max == LevelFilter::OFF {
        return;
    }
    let lazy = Lazy {
        filter,
        max,
        format,
        lines: OnceLock::new(),
    };
    if tracing::subscriber::set_global_default(lazy).is_ok() {
        if let Some(message) = bad_env {
            // An error, not a warning: at the default level it must show.
            tracing::error!(target: "baton", "{message}");
        }
    }
}

/// The subscriber baton installs: it filters by itself, and builds
/// tracing-subscriber's registry and fmt layer only when the first event
/// passes the filter. Most steps log nothing at the default level, and
/// building them was 9 % of a plain step's start-up instructions.
struct Lazy {
    filter: Targets,
    max: LevelFilter,
    format: Format,
    lines: OnceLock<Box<dyn Subscriber + Send + Sync>>,
}

impl fmt::Debug for Lazy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lazy")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl Lazy {
    fn lines(&self) -> &(dyn Subscriber + Send + Sync) {
        self.lines
            .get_or_init(|| {
                let layer = tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(false);
                let registry = tracing_subscriber::registry();
                match self.format {
                    Format::Text => Box::new(registry.with(layer.fmt_fields(Escaped))),
                    Format::Json => Box::new(
                        registry.with(layer.json().with_current_span(false).with_span_list(false)),
                    ),
                }
            })
            .as_ref()
    }
}

impl Subscriber for Lazy {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.enabled(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter
            .would_enable(metadata.target(), metadata.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.lines().new_span(span)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        self.lines().record(span, values);
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.lines().record_follows_from(span, follows);
    }

    fn event(&self, event: &Event<'_>) {
        self.lines().event(event);
    }

    fn enter(&self, span: &Id) {
        self.lines().enter(span);
    }

    fn exit(&self, span: &Id) {
        self.lines().exit(span);
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
