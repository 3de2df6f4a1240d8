//! One step of a pod: wait, run, mark. This is the loop the rest of the crate
//! serves; `docs/how-baton-works.md` describes it for people.
//!
//! Once baton knows its post file, every way out writes a verdict (`POST` or
//! `POST.err`), so that nothing downstream waits forever because of it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::time::Instant;

use crate::child;
use crate::cli::StepArgs;
use crate::exit_code::{self, ChildExit, Failure};
use crate::marker;
use crate::reap;
use crate::signals::{self, Signals};
use crate::termination::{self, Record};
use crate::timestamp::rfc3339_millis;
use crate::wait::{self, Outcome};

/// The settings of one step, taken from the command line.
#[derive(Debug)]
pub struct Step {
    pub wait_files: Vec<PathBuf>,
    pub wait_content: bool,
    pub post_file: Option<PathBuf>,
    pub termination_path: Option<PathBuf>,
    pub timeout: Option<Duration>,
    pub grace: Duration,
    pub argv: Vec<OsString>,
}

impl Step {
    pub fn new(args: StepArgs, rest: Vec<OsString>) -> Self {
        let argv = args.argv(rest);
        Self {
            wait_files: args.wait_file,
            wait_content: args.wait_file_content,
            post_file: args.post_file,
            termination_path: args.termination_path,
            timeout: (!args.timeout.is_zero()).then_some(args.timeout),
            grace: args.grace_period,
            argv,
        }
    }
}

/// How a step ended, before it is written down.
#[derive(Debug)]
struct Report {
    code: u8,
    started_at: SystemTime,
    reason: Option<&'static str>,
    /// Said once on stderr when the step did not simply run.
    message: Option<String>,
}

impl Report {
    fn new(code: u8, reason: Option<&'static str>, message: Option<String>) -> Self {
        Self {
            code,
            started_at: SystemTime::now(),
            reason,
            message,
        }
    }
}

/// Runs a step to the end and returns baton's exit code.
pub fn run(step: &Step) -> Result<ExitCode> {
    // First of all, before any thread exists (see `signals`).
    let blocked = signals::block()?;
    reap::become_subreaper()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let mut signals = Signals::register(blocked)?;
        let spec = wait::Spec {
            files: &step.wait_files,
            content: step.wait_content,
        };
        match wait::wait(spec, &mut signals).await? {
            Outcome::Ready => execute(step, &mut signals).await,
            Outcome::UpstreamFailed(path) => Ok(Report::new(
                exit_code::SKIPPED,
                Some("Skipped"),
                Some(format!(
                    "skipped: {} exists (a step this one waits for failed)",
                    path.display()
                )),
            )),
            Outcome::Stopped(signal) => Ok(stopped_while_waiting(signal)),
        }
    });
    let report = match report {
        Ok(report) => report,
        Err(err) => {
            // Still leave a verdict behind; the error itself is what the user sees.
            let code = exit_code::of_error(&err);
            if let Err(also) = finish(step, &Report::new(code, None, None)) {
                tracing::error!("{also:#}");
            }
            return Err(err);
        }
    };
    finish(step, &report)?;
    match report.message {
        Some(message) => Err(Failure {
            code: report.code,
            message,
        }
        .into()),
        None => Ok(ExitCode::from(report.code)),
    }
}

fn stopped_while_waiting(signal: Signal) -> Report {
    tracing::info!(%signal, "stopped while waiting");
    Report::new(exit_code::from_signal(signal), Some("Terminated"), None)
}

/// Writes the termination message and the verdict marker.
fn finish(step: &Step, report: &Report) -> Result<()> {
    let mut first_error = None;
    if let Some(path) = &step.termination_path {
        let record = Record {
            started_at: rfc3339_millis(report.started_at),
            exit_code: report.code,
            reason: report.reason,
        };
        first_error = termination::write(path, &record).err();
    }
    if let Some(post) = &step.post_file {
        if let Err(err) = marker::write_verdict(post, report.code) {
            first_error.get_or_insert(err);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Runs the command to its end and stops what it leaves behind.
async fn execute(step: &Step, signals: &mut Signals) -> Result<Report> {
    // A stop asked for while the last wait file appeared wins over starting.
    while let Some(signal) = signals.pending()? {
        if signal == Signal::SIGCHLD {
            reap::reap(None)?;
        } else if signals::ends_wait(signal) {
            return Ok(stopped_while_waiting(signal));
        }
    }
    let started_at = SystemTime::now();
    let group = match child::spawn(&step.argv) {
        Ok(pid) => pid,
        Err(failure) => {
            return Ok(Report {
                code: failure.code,
                started_at,
                reason: None,
                message: Some(failure.message),
            })
        }
    };
    tracing::debug!(pid = group.as_raw(), "command started");
    let ended = supervise(group, step, signals).await?;
    let (code, reason, message) = if ended.timed_out {
        let limit = step.timeout.unwrap_or_default();
        (
            exit_code::TIMEOUT,
            Some("TimeoutExceeded"),
            Some(format!("command timed out after {limit:?}")),
        )
    } else {
        let reason = ended.stop_signal.map(|_| "Terminated");
        (ended.exit.code(), reason, None)
    };
    Ok(Report {
        code,
        started_at,
        reason,
        message,
    })
}

/// What supervision saw.
#[derive(Debug)]
struct Ended {
    exit: ChildExit,
    timed_out: bool,
    /// A stopping signal baton received (and forwarded) while the command ran.
    stop_signal: Option<Signal>,
}

/// Forwards signals, reaps, enforces the timeout, and once the command has
/// exited stops the rest of its group: SIGTERM, then SIGKILL after the grace
/// period. Returns when the command has exited and its group is gone.
async fn supervise(group: Pid, step: &Step, signals: &mut Signals) -> Result<Ended> {
    let deadline = step.timeout.map(|t| Instant::now() + t);
    let mut exit = None;
    let mut timed_out = false;
    let mut stop_signal = None;
    // Set once baton itself has sent SIGTERM to the group; SIGKILL follows then.
    let mut kill_at: Option<Instant> = None;
    let mut killed = false;
    loop {
        if let Some(exit) = exit {
            if !child::group_exists(group) {
                return Ok(Ended {
                    exit,
                    timed_out,
                    stop_signal,
                });
            }
            if kill_at.is_none() {
                tracing::debug!("command exited; stopping what is left of its group");
                child::signal_group(group, Signal::SIGTERM);
                kill_at = Some(Instant::now() + step.grace);
            }
        }
        tokio::select! {
            biased;
            signal = signals.next() => match signal? {
                Signal::SIGCHLD => {
                    if let Some(status) = reap::reap(Some(group))? {
                        exit = Some(status);
                    }
                }
                signal => {
                    if signals::ends_wait(signal) {
                        stop_signal = Some(signal);
                    }
                    tracing::debug!(%signal, "forwarding");
                    child::signal_group(group, signal);
                }
            },
            () = sleep_until(deadline), if deadline.is_some() && exit.is_none() && !timed_out => {
                tracing::info!("timeout expired; stopping the command");
                timed_out = true;
                child::signal_group(group, Signal::SIGTERM);
                kill_at.get_or_insert(Instant::now() + step.grace);
            }
            () = sleep_until(kill_at), if kill_at.is_some() && !killed => {
                tracing::info!("grace period over; killing the process group");
                killed = true;
                child::signal_group(group, Signal::SIGKILL);
            }
        }
    }
}

/// Sleeps until `at`, or practically forever when there is no `at` (the branch
/// is disabled then anyway; `select!` still builds the future).
fn sleep_until(at: Option<Instant>) -> tokio::time::Sleep {
    const FAR: Duration = Duration::from_hours(24 * 365);
    tokio::time::sleep_until(at.unwrap_or_else(|| Instant::now() + FAR))
}
