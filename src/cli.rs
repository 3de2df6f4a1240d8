//! The command line: what a pod manifest (or Tekton's controller) writes into a
//! container's `command`. Both spellings of every option are accepted: GNU style
//! (`--wait-file PATH`, `--wait-file=PATH`) and Go style as Tekton writes it
//! (`-wait_file PATH`, `-wait_file=PATH`, `-wait_file_content=true`). Go-style
//! words are rewritten to GNU style before clap sees them; nothing after `--` is
//! ever touched.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::duration::parse_duration;
use crate::ready::{parse_probe, Probe};

/// baton: makes the containers of one pod run in order.
///
/// Waits for the marker of the step before it, runs COMMAND as a child (forwarding
/// signals, reaping zombies), passes its exit code on and writes its own marker.
#[derive(Debug, Parser)]
#[command(
    name = "baton",
    version,
    args_conflicts_with_subcommands = true,
    override_usage = "baton [OPTIONS] [--entrypoint CMD] -- [COMMAND] [ARG...]\n       \
                      baton install DEST\n       baton cp SRC DEST\n       \
                      baton init SRC DEST [STEP...]"
)]
pub struct Cli {
    #[command(subcommand)]
    pub sub: Option<Sub>,

    #[command(flatten)]
    pub step: StepArgs,

    /// The command to run and its arguments (after `--`).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// Options of a step (the default mode: wait, run, mark).
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)]
pub struct StepArgs {
    /// Wait until PATH exists before running (repeatable, comma-separated; all must exist).
    #[arg(long, value_name = "PATH", value_delimiter = ',')]
    pub wait_file: Vec<PathBuf>,

    /// A wait file only counts once it is non-empty.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "false", value_name = "BOOL")]
    pub wait_file_content: bool,

    /// On success write PATH; on failure write PATH.err.
    #[arg(long, value_name = "PATH")]
    pub post_file: Option<PathBuf>,

    /// Write the termination message (Tekton's JSON format) to PATH.
    #[arg(long, value_name = "PATH")]
    pub termination_path: Option<PathBuf>,

    /// Limit on the command's run time (Go duration: 90s, 1m30s, 250ms); 0 means none.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "0")]
    pub timeout: Duration,

    /// Time between SIGTERM and SIGKILL whenever baton itself stops the command.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub grace_period: Duration,

    /// The command to run; its arguments follow `--`.
    #[arg(long, value_name = "CMD")]
    pub entrypoint: Option<OsString>,

    /// Sidecars: write PATH once the command is ready (every probe passes, or at
    /// once with no probe); PATH.err if it never gets there.
    #[arg(long, value_name = "PATH")]
    pub ready_file: Option<PathBuf>,

    /// A readiness probe (repeatable): `tcp:HOST:PORT`, `http://HOST:PORT/PATH`,
    /// `exec:COMMAND ARG...`, `file:PATH`. HOST is an IP address or localhost.
    #[arg(long, value_name = "SPEC", value_parser = parse_probe)]
    pub ready_probe: Vec<Probe>,

    /// Time between probe rounds.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "100ms")]
    pub ready_interval: Duration,

    /// Not ready in time: stop the command, write `READY.err`, exit 1; 0 means no limit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "0")]
    pub ready_timeout: Duration,

    /// Stop the command as soon as PATH or PATH.err appears (repeatable,
    /// comma-separated); a stop asked for is a success.
    #[arg(long, value_name = "PATH", value_delimiter = ',')]
    pub stop_file: Vec<PathBuf>,

    /// After a stop asked for by a stop file, exit with the command's own code.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "false", value_name = "BOOL")]
    pub stop_keeps_exit_code: bool,

    /// Exit codes that count as success (comma-separated, e.g. 143,137).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub success_exit_codes: Vec<u8>,

    /// Run even if the success marker `POST` exists from an earlier run.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "false", value_name = "BOOL")]
    pub rerun: bool,

    /// When the command exits, leave what is left of its process group alone.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "false", value_name = "BOOL")]
    pub no_kill_group: bool,

    /// What a failing command means for the chain: `stopAndFail` (the default)
    /// or `continue` (write POST, record the real exit code, exit 0).
    #[arg(long, value_name = "MODE", value_enum, default_value = "stopAndFail")]
    pub on_error: OnError,

    /// Also copy the command's stdout to PATH (appended; parent directories created).
    #[arg(long, value_name = "PATH")]
    pub stdout_path: Option<PathBuf>,

    /// Also copy the command's stderr to PATH (may be the same file as --stdout-path).
    #[arg(long, value_name = "PATH")]
    pub stderr_path: Option<PathBuf>,

    /// Result names (comma-separated): each `DIR/NAME` that exists after the
    /// command goes into the termination message.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub results: Vec<String>,

    /// Where the results are.
    #[arg(long, value_name = "DIR", default_value = "/tekton/results")]
    pub results_dir: PathBuf,

    /// Write `DIR/exitCode` with the command's exit code, like Tekton.
    #[arg(long, value_name = "DIR")]
    pub step_metadata_dir: Option<PathBuf>,

    /// Cancel when PATH appears (non-empty with --wait-file-content): stop the
    /// command, or stop waiting; write POST.err; exit 123.
    #[arg(long, value_name = "PATH")]
    pub cancel_file: Option<PathBuf>,

    /// Rerun a failed command up to N more times before the step fails.
    #[arg(long, value_name = "N", default_value = "0")]
    pub retries: u32,

    /// Delay before the first retry; doubles each time, capped at 1m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1s")]
    pub retry_delay: Duration,

    /// `KEY=VALUE` lines added to the command's environment (repeatable).
    #[arg(long, value_name = "PATH")]
    pub env_file: Vec<PathBuf>,

    /// baton's own diagnostics on stderr: off, error, warn, info, debug, trace
    /// (default: `$BATON_LOG`, else error).
    #[arg(long, value_name = "LEVEL", value_enum)]
    pub log_level: Option<LogLevel>,

    /// Format of baton's own diagnostics.
    #[arg(long, value_name = "FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnError {
    #[value(name = "stopAndFail")]
    StopAndFail,
    #[value(name = "continue")]
    Continue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Copy this binary to DEST (a file path; a directory means DEST/baton).
    Install {
        #[arg(value_name = "DEST")]
        dest: PathBuf,
    },
    /// Tekton spelling of install (SRC is ignored: the running binary is copied).
    Cp {
        #[arg(value_name = "SRC")]
        _src: OsString,
        #[arg(value_name = "DEST")]
        dest: PathBuf,
    },
    /// Tekton spelling of install (SRC is ignored; STEP names are accepted and ignored).
    Init {
        #[arg(value_name = "SRC")]
        _src: OsString,
        #[arg(value_name = "DEST")]
        dest: PathBuf,
        #[arg(value_name = "STEP")]
        _steps: Vec<OsString>,
    },
}

impl StepArgs {
    /// The command to run: `--entrypoint` followed by everything after `--`.
    pub fn argv(&self, rest: Vec<OsString>) -> Vec<OsString> {
        self.entrypoint.iter().cloned().chain(rest).collect()
    }
}

/// Parses the process arguments; on a usage error prints clap's message and exits 2.
pub fn parse() -> Cli {
    parse_from(std::env::args_os())
}

pub fn parse_from(args: impl IntoIterator<Item = OsString>) -> Cli {
    let mut command = Cli::command();
    command.build();
    let args = normalize(&command, args.into_iter().collect());
    let post_file = post_file_of(&args);
    let result = command
        .try_get_matches_from_mut(args)
        .and_then(|mut matches| Cli::from_arg_matches_mut(&mut matches));
    let cli = match result {
        Ok(cli) => cli,
        Err(err) => usage_error(post_file.as_deref(), &err.format(&mut command)),
    };
    if cli.sub.is_none() && cli.step.argv(Vec::new()).is_empty() && cli.command.is_empty() {
        let err = command.error(
            clap::error::ErrorKind::MissingRequiredArgument,
            "no command given: put it after `--` (or use --entrypoint)",
        );
        usage_error(post_file.as_deref(), &err);
    }
    cli
}

/// Exits with clap's message. For a usage error (not --help or --version),
/// first leaves the verdict `POST.err` if the post file can be made out, so
/// that a misconfigured step does not leave the steps after it waiting.
fn usage_error(post_file: Option<&std::path::Path>, err: &clap::Error) -> ! {
    if err.use_stderr() {
        if let Some(post) = post_file {
            if let Err(also) = crate::marker::write_verdict(post, crate::exit_code::USAGE) {
                eprintln!("baton: {also:#}");
            }
        }
    }
    err.exit()
}

/// The value of `--post-file` among GNU-style words, if any, before `--`.
fn post_file_of(args: &[OsString]) -> Option<PathBuf> {
    let mut words = args.iter().skip(1).take_while(|w| *w != "--");
    while let Some(word) = words.next() {
        if word == "--post-file" {
            return words.next().map(PathBuf::from);
        }
        if let Some(value) = word.to_str().and_then(|w| w.strip_prefix("--post-file=")) {
            return Some(PathBuf::from(value));
        }
    }
    None
}

/// Rewrites Go-style options (`-wait_file`, `-wait_file=x`) to GNU style
/// (`--wait-file`, `--wait-file=x`). Only words naming a known long option are
/// rewritten, the value of an option that takes one is left alone, and nothing
/// from `--` on is touched.
fn normalize(command: &clap::Command, args: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter();
    if let Some(program) = iter.next() {
        out.push(program);
    }
    let mut value_expected = false;
    while let Some(arg) = iter.next() {
        if value_expected {
            value_expected = false;
            out.push(arg);
            continue;
        }
        if arg == "--" {
            out.push(arg);
            out.extend(iter);
            break;
        }
        let Some(text) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        let long = match text.strip_prefix("--") {
            Some(rest) => Some(rest.to_owned()),
            None => text
                .strip_prefix('-')
                .filter(|rest| rest.len() > 1)
                .map(|rest| rest.replace('_', "-")),
        };
        let Some(long) = long else {
            out.push(arg);
            continue;
        };
        let (name, has_value) = match long.split_once('=') {
            Some((name, _)) => (name.to_owned(), true),
            None => (long.clone(), false),
        };
        match command
            .get_arguments()
            .find(|a| a.get_long() == Some(&name))
        {
            Some(option) => {
                let takes_value = option.get_action().takes_values()
                    && !option.is_require_equals_set()
                    && option.get_num_args().is_some_and(|n| n.min_values() > 0);
                value_expected = takes_value && !has_value;
                out.push(OsString::from(format!("--{long}")));
            }
            None => out.push(arg),
        }
    }
    out
}

/// The words after the program name, as `normalize` leaves them (for tests).
#[cfg(test)]
fn normalized(words: &[&str]) -> Vec<String> {
    let args = std::iter::once("baton")
        .chain(words.iter().copied())
        .map(OsString::from)
        .collect();
    let mut command = Cli::command();
    command.build();
    normalize(&command, args)
        .into_iter()
        .skip(1)
        .map(|w| w.to_string_lossy().into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::normalized;

    #[test]
    fn go_style_words_become_gnu_style() {
        assert_eq!(
            normalized(&[
                "-wait_file",
                "/a",
                "-wait_file_content",
                "-post_file=/b",
                "--",
                "-x"
            ]),
            [
                "--wait-file",
                "/a",
                "--wait-file-content",
                "--post-file=/b",
                "--",
                "-x"
            ]
        );
    }

    #[test]
    fn option_values_and_unknown_words_are_left_alone() {
        assert_eq!(
            normalized(&["--entrypoint", "-post_file", "-nope", "-h"]),
            ["--entrypoint", "-post_file", "-nope", "-h"]
        );
        assert_eq!(
            normalized(&["-wait_file_content", "-post_file", "/p"]),
            ["--wait-file-content", "--post-file", "/p"]
        );
    }
}
