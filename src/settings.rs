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

/// Options of a step (the default mode: wait, run, mark), in groups that
/// are also the sections of `--help`. The groups are parsed apart, so that a
/// step pays only for the groups its command line names (see `cli`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct Step {
    #[command(flatten)]
    pub waiting: Waiting,
    #[command(flatten)]
    pub marking: Marking,
    #[command(flatten)]
    pub running: Running,
    #[command(flatten)]
    pub sidecar: Sidecar,
    #[command(flatten)]
    pub output: Output,
    #[command(flatten)]
    pub tekton: Tekton,
    #[command(flatten)]
    pub argv: Argv,
}

/// Waiting for the step before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
#[command(next_help_heading = "Waiting for the step before")]
pub struct Waiting {
    /// Wait until PATH exists before running (repeatable, comma-separated; all must exist). If PATH.err appears, the step is skipped
    #[arg(long, value_name = "PATH", value_delimiter = ',')]
    pub wait_file: Vec<PathBuf>,

    /// A wait file only counts once it is non-empty
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub wait_file_content: bool,

    /// Cancel when PATH appears (non-empty with --wait-file-content): stop the command, or stop waiting; write POST.err; exit 123
    #[arg(long, value_name = "PATH", value_parser = path())]
    pub cancel_file: Option<PathBuf>,
}

/// The step's markers, and what it records.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Markers and results")]
pub struct Marking {
    /// On success write PATH; on failure write PATH.err (both hold the exit code)
    #[arg(long, value_name = "PATH", value_parser = marker_path())]
    pub post_file: Option<PathBuf>,

    /// Write the termination message (Tekton's JSON format) to PATH
    #[arg(long, value_name = "PATH", value_parser = path())]
    pub termination_path: Option<PathBuf>,

    /// Write DIR/exitCode with the command's exit code, like Tekton
    #[arg(long, value_name = "DIR", value_parser = path())]
    pub step_metadata_dir: Option<PathBuf>,

    /// Result names (comma-separated): each DIR/NAME that exists after the command goes into the termination message
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub results: Vec<String>,

    /// Where the results are
    #[arg(long, value_name = "DIR", default_value = "/tekton/results", value_parser = path())]
    pub results_dir: PathBuf,

    /// Run even if the success marker POST exists from an earlier run
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub rerun: bool,
}

/// Running the command.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Running the command")]
pub struct Running {
    /// Limit on the command's run time (Go duration: 90s, 1m30s, 250ms); 0 means none
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Time between SIGTERM and SIGKILL whenever baton itself stops the command
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub grace_period: Duration,

    /// Exit codes that count as success (comma-separated, e.g. 143,137)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub success_exit_codes: Vec<u8>,

    /// When the command exits, leave what is left of its process group alone
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub no_kill_group: bool,

    /// What a failing command means for the chain: stopAndFail, or continue (write POST, record the real exit code, exit 0)
    #[arg(long, value_name = "MODE", value_enum, default_value = "stopAndFail")]
    pub on_error: OnError,

    /// Rerun a failed command up to N more times before the step fails
    #[arg(long, value_name = "N", default_value = "0")]
    pub retries: u32,

    /// Delay before the first retry; doubles each time, capped at 1m
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub retry_delay: Duration,

    /// The exit code of one of baton's own outcomes, REASON=CODE (repeatable, comma-separated), e.g. Skipped=3, so that a Job's podFailurePolicy can tell them apart; the verdict marker is as without it
    #[arg(long, value_name = "REASON=CODE", value_delimiter = ',', value_parser = reason_code)]
    pub exit_code_for: Vec<(&'static str, u8)>,

    /// KEY=VALUE lines added to the command's environment (repeatable)
    #[arg(long, value_name = "PATH", value_parser = path())]
    pub env_file: Vec<PathBuf>,
}

/// Sidecars.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Sidecars")]
pub struct Sidecar {
    /// Sidecars: write PATH once the command is ready (every probe passes, or at once with no probe); PATH.err if it never gets there
    #[arg(long, value_name = "PATH", value_parser = marker_path())]
    pub ready_file: Option<PathBuf>,

    /// A readiness probe (repeatable): tcp:HOST:PORT, http://HOST:PORT/PATH, exec:COMMAND ARG... (split on spaces), exec-json:["COMMAND","ARG"...] (the exact words), file:PATH; HOST is an IP address or localhost
    #[arg(long, value_name = "SPEC", value_parser = parse_probe, requires = "ready_file")]
    pub ready_probe: Vec<Probe>,

    /// Time between probe rounds
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_duration)]
    pub ready_interval: Duration,

    /// Not ready in time: stop the command, write READY.err, exit 1; 0 means no limit
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_duration)]
    pub ready_timeout: Duration,

    /// Stop the command as soon as PATH or PATH.err appears (repeatable, comma-separated); a stop asked for is a success
    #[arg(long, value_name = "PATH", value_delimiter = ',')]
    pub stop_file: Vec<PathBuf>,

    /// Stop only once every stop file says so (the ends of a DAG), not at the first
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub stop_when_all: bool,

    /// After a stop asked for by a stop file, exit with the command's own code
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub stop_keeps_exit_code: bool,
}

/// Output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
#[command(next_help_heading = "Output")]
pub struct Output {
    /// Also copy the command's stdout to PATH (appended; parent directories created)
    #[arg(long, value_name = "PATH", value_parser = path())]
    pub stdout_path: Option<PathBuf>,

    /// Also copy the command's stderr to PATH (may be the same file as --stdout-path)
    #[arg(long, value_name = "PATH", value_parser = path())]
    pub stderr_path: Option<PathBuf>,
}

/// Tekton's entrypoint: the flags its controller writes that only Tekton
/// uses (see docs/tekton.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
#[command(next_help_heading = "Tekton's entrypoint")]
#[allow(clippy::struct_excessive_bools)]
pub struct Tekton {
    /// Behave as Tekton's entrypoint (markers, exitCode files, termination keys, exit codes) or as baton [default: tekton when run as `entrypoint`, else baton]
    #[arg(long, value_name = "MODE", value_enum)]
    pub mode: Option<Mode>,

    /// Step result names (comma-separated): each DIR/results/NAME of --step-metadata-dir goes into the termination message
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub step_results: Vec<String>,

    /// The step's `when` expressions, as the controller writes them (JSON); the command runs only if all allow it
    #[arg(long, value_name = "JSON")]
    pub when_expressions: Option<String>,

    /// Where the results go: termination-message, or sidecar-logs (left in their files for Tekton's sidecar)
    #[arg(
        long,
        value_name = "METHOD",
        value_enum,
        default_value = "termination-message"
    )]
    pub result_from: ResultFrom,

    /// Compress the termination message (`tknz:` and base64 of raw deflate) when that makes it shorter
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub compress_termination_message: bool,

    /// SPIRE signing of results: not in this build; true fails the step (exit 1)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub enable_spire: bool,

    /// Debugging: on failure, leave no verdict and wait for POST.breakpointexit, then exit with the code it holds
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub breakpoint_on_failure: bool,

    /// Debugging: before running, wait for POST.beforestepexit (run) or POST.beforestepexit.err (fail)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub debug_before_step: bool,

    /// creds-init: a basic-auth Git secret, SECRET=URL (repeatable), from /tekton/creds-secrets/SECRET
    #[arg(long = "basic-git", value_name = "SECRET=URL")]
    pub basic_git: Vec<String>,

    /// creds-init: an SSH Git secret, SECRET=URL (repeatable)
    #[arg(long = "ssh-git", value_name = "SECRET=URL")]
    pub ssh_git: Vec<String>,

    /// creds-init: a basic-auth Docker registry secret, SECRET=URL (repeatable)
    #[arg(long = "basic-docker", value_name = "SECRET=URL")]
    pub basic_docker: Vec<String>,

    /// creds-init: a `kubernetes.io/dockerconfigjson` secret (repeatable)
    #[arg(long = "docker-config", value_name = "SECRET")]
    pub docker_config: Vec<String>,

    /// creds-init: a `kubernetes.io/dockercfg` secret (repeatable)
    #[arg(long = "docker-cfg", value_name = "SECRET")]
    pub docker_cfg: Vec<String>,
}

impl Tekton {
    /// Whether any of the creds-init flags is given.
    pub fn creds_requested(&self) -> bool {
        !(self.basic_git.is_empty()
            && self.ssh_git.is_empty()
            && self.basic_docker.is_empty()
            && self.docker_config.is_empty()
            && self.docker_cfg.is_empty())
    }
}

/// How baton behaves where Tekton's entrypoint and baton differ (`--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// baton's own documented behaviour.
    Baton,
    /// Tekton's entrypoint's, wherever its controller or a Task can see it.
    Tekton,
}

/// Where a step's results go (`--result-from`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ResultFrom {
    /// Into the termination message.
    #[default]
    TerminationMessage,
    /// Left in their files, for Tekton's results sidecar to read.
    SidecarLogs,
}

/// The command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
#[command(next_help_heading = "Command")]
pub struct Argv {
    /// The command to run; its arguments follow `--`
    #[arg(long, value_name = "CMD")]
    pub entrypoint: Option<OsString>,

    /// The command and its arguments (after `--`, or the arguments of --entrypoint)
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// What a failing command means for the chain (`--on-error`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OnError {
    /// The step fails: `POST.err`, the command's code.
    #[default]
    #[value(name = "stopAndFail")]
    StopAndFail,
    /// The step counts as a success for the chain; the real code is recorded.
    #[value(name = "continue")]
    Continue,
}

// The groups whose clap defaults are not their types' own: the same values,
// for a group none of whose options is named (`cli` does not build it).
// `the_defaults_are_clap_s` checks each against clap.

impl Default for Marking {
    fn default() -> Self {
        Self {
            post_file: None,
            termination_path: None,
            step_metadata_dir: None,
            results: Vec::new(),
            results_dir: PathBuf::from("/tekton/results"),
            rerun: false,
        }
    }
}

impl Default for Running {
    fn default() -> Self {
        Self {
            timeout: Duration::ZERO,
            grace_period: Duration::from_secs(10),
            success_exit_codes: Vec::new(),
            no_kill_group: false,
            on_error: OnError::StopAndFail,
            retries: 0,
            retry_delay: Duration::from_secs(1),
            exit_code_for: Vec::new(),
            env_file: Vec::new(),
        }
    }
}

impl Default for Sidecar {
    fn default() -> Self {
        Self {
            ready_file: None,
            ready_probe: Vec::new(),
            ready_interval: Duration::from_millis(100),
            ready_timeout: Duration::ZERO,
            stop_file: Vec::new(),
            stop_when_all: false,
            stop_keeps_exit_code: false,
        }
    }
}

impl Step {
    /// The command to run: `--entrypoint` followed by everything after `--`.
    pub fn argv(&self) -> Vec<OsString> {
        let Argv {
            entrypoint,
            command,
        } = &self.argv;
        entrypoint.iter().chain(command).cloned().collect()
    }

    /// Whether baton behaves as Tekton's entrypoint (`--mode`, resolved by
    /// `cli` from the name baton was run as).
    pub fn tekton_mode(&self) -> bool {
        self.tekton.mode == Some(Mode::Tekton)
    }

    /// Whether the cancel file counts only once it is non-empty: with
    /// `--wait-file-content`, and always in Tekton's mode (the downward-API
    /// file is there, empty, until the controller cancels).
    pub fn cancel_needs_content(&self) -> bool {
        self.waiting.wait_file_content || self.tekton_mode()
    }

    /// `--timeout`, where one is set (0 means none).
    pub fn timeout(&self) -> Option<Duration> {
        limit(self.running.timeout)
    }

    /// `--ready-timeout`, where one is set (0 means none).
    pub fn ready_timeout(&self) -> Option<Duration> {
        limit(self.sidecar.ready_timeout)
    }

    /// Whether what is left of the command's group is stopped when it exits.
    pub fn kill_group(&self) -> bool {
        !self.running.no_kill_group
    }

    /// Whether the step needs the async runtime: files to wait for or
    /// watch, readiness to probe, output to capture, attempts to retry.
    /// Without any of these, signals and timers are all there is. Every
    /// field of the groups that could ask for it is named, so that a new
    /// option there has to be placed here.
    pub fn needs_runtime(&self) -> bool {
        let Waiting {
            wait_file,
            cancel_file,
            wait_file_content: _,
        } = &self.waiting;
        let Sidecar {
            ready_file,
            ready_probe,
            stop_file,
            ready_interval: _,
            ready_timeout: _,
            stop_when_all: _,
            stop_keeps_exit_code: _,
        } = &self.sidecar;
        let Output {
            stdout_path,
            stderr_path,
        } = &self.output;
        let Tekton {
            debug_before_step,
            breakpoint_on_failure,
            mode: _,
            step_results: _,
            when_expressions: _,
            result_from: _,
            compress_termination_message: _,
            enable_spire: _,
            basic_git: _,
            ssh_git: _,
            basic_docker: _,
            docker_config: _,
            docker_cfg: _,
        } = &self.tekton;
        !wait_file.is_empty()
            || !stop_file.is_empty()
            || cancel_file.is_some()
            || ready_file.is_some()
            || !ready_probe.is_empty()
            || stdout_path.is_some()
            || stderr_path.is_some()
            || self.running.retries > 0
            || *debug_before_step
            || *breakpoint_on_failure
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

/// A marker's path: not empty, and with a name short enough that its
/// `.lock` and `.err` twins fit the filesystem's limit, so that every way out
/// of the step can leave a verdict.
fn marker_path() -> impl TypedValueParser<Value = PathBuf> {
    path().try_map(|path| {
        let length = path.file_name().map_or(0, std::ffi::OsStr::len);
        if length > crate::marker::MAX_MARKER_NAME {
            return Err(format!(
                "its name is {length} bytes long: at most {}, so that NAME.lock and NAME.err fit the filesystem's 255",
                crate::marker::MAX_MARKER_NAME
            ));
        }
        Ok(path)
    })
}

/// The reasons baton records, whose exit code `--exit-code-for` may choose.
pub const REASONS: &[&str] = &[
    "Skipped",
    "PredecessorLost",
    "NotReady",
    "ResultsTooLarge",
    "TimeoutExceeded",
    "Cancelled",
    "Terminated",
    "Stopped",
    "Continued",
    "OOMKilled",
];

/// `REASON=CODE`, REASON one of `REASONS`, CODE 0 to 255.
fn reason_code(value: &str) -> Result<(&'static str, u8), String> {
    let (reason, code) = value
        .split_once('=')
        .ok_or_else(|| "expected REASON=CODE, e.g. Skipped=3".to_string())?;
    let reason = REASONS.iter().find(|r| **r == reason).ok_or_else(|| {
        format!(
            "{reason:?} is none of baton's reasons: {}",
            REASONS.join(", ")
        )
    })?;
    let code = code
        .parse()
        .map_err(|_| format!("{code:?} is not an exit code (0 to 255)"))?;
    Ok((reason, code))
}

/// A boolean as Go's `strconv.ParseBool` reads it.
pub fn go_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Command, FromArgMatches};

    /// What clap gives for a group none of whose options is named.
    fn clap_default<G: Args + FromArgMatches>() -> G {
        let mut matches = G::augment_args(Command::new("t")).get_matches_from(["t"]);
        G::from_arg_matches_mut(&mut matches).unwrap()
    }

    #[test]
    fn the_defaults_are_clap_s() {
        assert_eq!(Waiting::default(), clap_default::<Waiting>());
        assert_eq!(Marking::default(), clap_default::<Marking>());
        assert_eq!(Running::default(), clap_default::<Running>());
        assert_eq!(Sidecar::default(), clap_default::<Sidecar>());
        assert_eq!(Output::default(), clap_default::<Output>());
        assert_eq!(Tekton::default(), clap_default::<Tekton>());
        assert_eq!(Argv::default(), clap_default::<Argv>());
        assert_eq!(Step::default(), clap_default::<Step>());
    }
}
