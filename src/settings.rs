//! The settings of one step, defined once: this struct is what clap reads
//! from the command line (`cli`), what `--help`, the man page and the shell
//! completions describe, and what the rest of the crate runs (`step`). The
//! doc comment of each field is its help line; its attribute, its spelling,
//! value name, default and parser.
// The doc comments of the options are their help text, read by users, not rustdoc.
#![allow(clippy::doc_markdown)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::{ArgAction, Args, ValueEnum};

use crate::duration::parse_duration;
use crate::ready::{parse_probe, Probe};

/// Options of a step (the default mode: wait, run, mark).
#[derive(Debug, Clone, Args)]
#[allow(clippy::struct_excessive_bools)]
pub struct Step {
    /// Wait until PATH exists before running (repeatable, comma-separated; all must exist). If PATH.err appears, the step is skipped
    #[arg(
        long,
        value_name = "PATH",
        value_delimiter = ',',
        help_heading = "Waiting"
    )]
    pub wait_file: Vec<PathBuf>,

    /// A wait file only counts once it is non-empty
    #[arg(long, value_name = "BOOL", help_heading = "Waiting", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub wait_file_content: bool,

    /// On success write PATH; on failure write PATH.err (both hold the exit code)
    #[arg(long, value_name = "PATH", value_parser = path())]
    pub post_file: Option<PathBuf>,

    /// Write the termination message (Tekton's JSON format) to PATH
    #[arg(long, value_name = "PATH", value_parser = path())]
    pub termination_path: Option<PathBuf>,

    /// Limit on the command's run time (Go duration: 90s, 1m30s, 250ms); 0 means none
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = duration)]
    pub timeout: Duration,

    /// Time between SIGTERM and SIGKILL whenever baton itself stops the command
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub grace_period: Duration,

    /// The command to run; its arguments follow `--`
    #[arg(long, value_name = "CMD")]
    pub entrypoint: Option<OsString>,

    /// Sidecars: write PATH once the command is ready (every probe passes, or at once with no probe); PATH.err if it never gets there
    #[arg(long, value_name = "PATH", value_parser = path(), help_heading = "Sidecars")]
    pub ready_file: Option<PathBuf>,

    /// A readiness probe (repeatable): tcp:HOST:PORT, http://HOST:PORT/PATH, exec:COMMAND ARG..., file:PATH; HOST is an IP address or localhost
    #[arg(long, value_name = "SPEC", value_parser = probe, help_heading = "Sidecars")]
    pub ready_probe: Vec<Probe>,

    /// Time between probe rounds
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = duration, help_heading = "Sidecars")]
    pub ready_interval: Duration,

    /// Not ready in time: stop the command, write READY.err, exit 1; 0 means no limit
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = duration, help_heading = "Sidecars")]
    pub ready_timeout: Duration,

    /// Stop the command as soon as PATH or PATH.err appears (repeatable, comma-separated); a stop asked for is a success
    #[arg(
        long,
        value_name = "PATH",
        value_delimiter = ',',
        help_heading = "Sidecars"
    )]
    pub stop_file: Vec<PathBuf>,

    /// After a stop asked for by a stop file, exit with the command's own code
    #[arg(long, value_name = "BOOL", help_heading = "Sidecars", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub stop_keeps_exit_code: bool,

    /// Exit codes that count as success (comma-separated, e.g. 143,137)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub success_exit_codes: Vec<u8>,

    /// Run even if the success marker POST exists from an earlier run
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub rerun: bool,

    /// When the command exits, leave what is left of its process group alone
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub no_kill_group: bool,

    /// What a failing command means for the chain: stopAndFail, or continue (write POST, record the real exit code, exit 0)
    #[arg(long, value_name = "MODE", value_enum, default_value = "stopAndFail")]
    pub on_error: OnError,

    /// Also copy the command's stdout to PATH (appended; parent directories created)
    #[arg(long, value_name = "PATH", value_parser = path(), help_heading = "Output and results")]
    pub stdout_path: Option<PathBuf>,

    /// Also copy the command's stderr to PATH (may be the same file as --stdout-path)
    #[arg(long, value_name = "PATH", value_parser = path(), help_heading = "Output and results")]
    pub stderr_path: Option<PathBuf>,

    /// Result names (comma-separated): each DIR/NAME that exists after the command goes into the termination message
    #[arg(
        long,
        value_name = "NAMES",
        value_delimiter = ',',
        help_heading = "Output and results"
    )]
    pub results: Vec<String>,

    /// Where the results are
    #[arg(long, value_name = "DIR", default_value = "/tekton/results", value_parser = path(), help_heading = "Output and results")]
    pub results_dir: PathBuf,

    /// Write DIR/exitCode with the command's exit code, like Tekton
    #[arg(long, value_name = "DIR", value_parser = path(), help_heading = "Output and results")]
    pub step_metadata_dir: Option<PathBuf>,

    /// Cancel when PATH appears (non-empty with --wait-file-content): stop the command, or stop waiting; write POST.err; exit 123
    #[arg(long, value_name = "PATH", value_parser = path())]
    pub cancel_file: Option<PathBuf>,

    /// Rerun a failed command up to N more times before the step fails
    #[arg(long, value_name = "N", default_value = "0")]
    pub retries: u32,

    /// Delay before the first retry; doubles each time, capped at 1m
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration)]
    pub retry_delay: Duration,

    /// KEY=VALUE lines added to the command's environment (repeatable)
    #[arg(long, value_name = "PATH", value_parser = path())]
    pub env_file: Vec<PathBuf>,

    /// The command and its arguments (after `--`, or the arguments of --entrypoint)
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// What a failing command means for the chain (`--on-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnError {
    /// The step fails: `POST.err`, the command's code.
    #[value(name = "stopAndFail")]
    StopAndFail,
    /// The step counts as a success for the chain; the real code is recorded.
    #[value(name = "continue")]
    Continue,
}

impl Step {
    /// The command to run: `--entrypoint` followed by everything after `--`.
    pub fn argv(&self) -> Vec<OsString> {
        self.entrypoint
            .iter()
            .chain(&self.command)
            .cloned()
            .collect()
    }

    /// `--timeout`, where one is set (0 means none).
    pub fn timeout(&self) -> Option<Duration> {
        limit(self.timeout)
    }

    /// `--ready-timeout`, where one is set (0 means none).
    pub fn ready_timeout(&self) -> Option<Duration> {
        limit(self.ready_timeout)
    }

    /// Whether what is left of the command's group is stopped when it exits.
    pub fn kill_group(&self) -> bool {
        !self.no_kill_group
    }

    /// Whether the step needs the async runtime: files to wait for or
    /// watch, readiness to probe, output to capture, attempts to retry.
    /// Without any of these, signals and timers are all there is. Every
    /// field is named, so that a new option has to be placed here.
    pub fn needs_runtime(&self) -> bool {
        let Self {
            wait_file,
            stop_file,
            cancel_file,
            ready_file,
            ready_probe,
            stdout_path,
            stderr_path,
            retries,
            // Only with one of the above, or not about waiting at all.
            wait_file_content: _,
            ready_interval: _,
            ready_timeout: _,
            retry_delay: _,
            stop_keeps_exit_code: _,
            post_file: _,
            termination_path: _,
            timeout: _,
            grace_period: _,
            success_exit_codes: _,
            rerun: _,
            no_kill_group: _,
            on_error: _,
            results: _,
            results_dir: _,
            step_metadata_dir: _,
            env_file: _,
            entrypoint: _,
            command: _,
        } = self;
        !wait_file.is_empty()
            || !stop_file.is_empty()
            || cancel_file.is_some()
            || ready_file.is_some()
            || !ready_probe.is_empty()
            || stdout_path.is_some()
            || stderr_path.is_some()
            || *retries > 0
    }
}

fn limit(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

/// A path value; an empty one is refused (it would name the working directory).
fn path() -> impl TypedValueParser<Value = PathBuf> {
    OsStringValueParser::new().try_map(|value| {
        if value.is_empty() {
            return Err("empty path");
        }
        Ok(PathBuf::from(value))
    })
}

fn duration(value: &str) -> Result<Duration, String> {
    parse_duration(value)
}

fn probe(value: &str) -> Result<Probe, String> {
    parse_probe(value)
}

/// A boolean as Go's `strconv.ParseBool` reads it.
pub fn go_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}
