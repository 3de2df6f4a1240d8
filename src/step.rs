//! One step of a pod: wait, run, mark. This is the loop the rest of the crate
//! serves; `docs/how-baton-works.md` describes it for people.
//!
//! Once baton knows its post file, every way out writes a verdict (`POST` or
//! `POST.err`), so that nothing downstream waits forever because of it.

use std::ffi::OsString;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::time::Instant;

use crate::child;
use crate::cli::StepArgs;
use crate::exit_code::{self, ChildExit, Failure};
use crate::lock;
use crate::marker::{self, err_path};
use crate::ready::{self, Probe};
use crate::reap::{self, Reaper};
use crate::signals::{self, Signals};
use crate::termination::{self, Record};
use crate::timestamp::rfc3339_millis;
use crate::wait::{self, Outcome};
use crate::watch::Watch;

/// The settings of one step, taken from the command line.
#[derive(Debug)]
#[allow(clippy::struct_excessive_bools)]
pub struct Step {
    pub wait_files: Vec<PathBuf>,
    pub wait_content: bool,
    pub post_file: Option<PathBuf>,
    pub termination_path: Option<PathBuf>,
    pub timeout: Option<Duration>,
    pub grace: Duration,
    pub ready_file: Option<PathBuf>,
    pub ready_probes: Vec<Probe>,
    pub ready_interval: Duration,
    pub ready_timeout: Option<Duration>,
    pub stop_files: Vec<PathBuf>,
    pub stop_keeps_exit_code: bool,
    pub success_exit_codes: Vec<u8>,
    pub rerun: bool,
    pub kill_group: bool,
    pub argv: Vec<OsString>,
}

impl Step {
    pub fn new(args: StepArgs, rest: Vec<OsString>) -> Self {
        let argv = args.argv(rest);
        let limit = |d: Duration| (!d.is_zero()).then_some(d);
        Self {
            wait_files: args.wait_file,
            wait_content: args.wait_file_content,
            post_file: args.post_file,
            termination_path: args.termination_path,
            timeout: limit(args.timeout),
            grace: args.grace_period,
            ready_file: args.ready_file,
            ready_probes: args.ready_probe,
            ready_interval: args.ready_interval,
            ready_timeout: limit(args.ready_timeout),
            stop_files: args.stop_file,
            stop_keeps_exit_code: args.stop_keeps_exit_code,
            success_exit_codes: args.success_exit_codes,
            rerun: args.rerun,
            kill_group: !args.no_kill_group,
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
    if let Some(post) = &step.post_file {
        if !step.rerun && post.exists() {
            tracing::info!(post = %post.display(), "the step already ran (its marker exists): not running it again");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let held = match prepare(step) {
        Ok(held) => held,
        Err(err) => return fail(step, err),
    };
    let report = (|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .context("starting the async runtime")?;
        runtime.block_on(async {
            let mut signals = Signals::register(blocked)?;
            let reaper = Reaper::default();
            let mut watch = Watch::default();
            let spec = wait::Spec {
                files: &step.wait_files,
                content: step.wait_content,
                stop_files: &step.stop_files,
            };
            match wait::wait(spec, &mut signals, &reaper, &mut watch).await? {
                Outcome::Ready => {
                    execute(
                        step,
                        &mut Running {
                            signals,
                            reaper,
                            watch,
                        },
                    )
                    .await
                }
                Outcome::UpstreamFailed(path) => Ok(Report::new(
                    exit_code::SKIPPED,
                    Some("Skipped"),
                    Some(format!(
                        "skipped: {} exists (a step this one waits for failed)",
                        path.display()
                    )),
                )),
                Outcome::PredecessorLost(path) => Ok(Report::new(
                    exit_code::SKIPPED,
                    Some("PredecessorLost"),
                    Some(format!(
                        "the step that writes {} died without a verdict (its lock is free)",
                        path.display()
                    )),
                )),
                Outcome::StopRequested(path) => {
                    tracing::info!(stop = %path.display(), "stop file present: not starting");
                    Ok(Report::new(0, Some("Stopped"), None))
                }
                Outcome::Stopped(signal) => Ok(stopped_while_waiting(signal)),
            }
        })
    })();
    let report = match report {
        Ok(report) => report,
        Err(err) => return fail(step, err),
    };
    finish(step, &report)?;
    if let Some(held) = held {
        held.release();
    }
    match report.message {
        Some(message) => Err(Failure {
            code: report.code,
            message,
        }
        .into()),
        None => Ok(ExitCode::from(report.code)),
    }
}

/// Still leaves a verdict behind for an error; the error is what the user sees.
fn fail(step: &Step, err: anyhow::Error) -> Result<ExitCode> {
    let code = exit_code::of_error(&err);
    if let Err(also) = finish(step, &Report::new(code, None, None)) {
        tracing::error!("{also:#}");
    }
    Err(err)
}

/// Before waiting: take the step's lock, then clear what an earlier attempt
/// of this step left (its failure marker, a ready file), and become the
/// reaper of orphans.
fn prepare(step: &Step) -> Result<Option<lock::Held>> {
    reap::become_subreaper()?;
    let held = step
        .post_file
        .as_deref()
        .map(lock::Held::take)
        .transpose()?;
    if let Some(post) = &step.post_file {
        if step.rerun {
            remove_stale(post)?;
        }
        remove_stale(&err_path(post))?;
    }
    if let Some(ready) = &step.ready_file {
        remove_stale(ready)?;
        remove_stale(&err_path(ready))?;
    }
    Ok(held)
}

fn remove_stale(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "removed a marker of an earlier attempt");
            Ok(())
        }
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err).with_context(|| format!("removing {}", path.display())),
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

/// What the running step listens to.
struct Running {
    signals: Signals,
    reaper: Reaper,
    watch: Watch,
}

/// Runs the command to its end and stops what it leaves behind.
async fn execute(step: &Step, cx: &mut Running) -> Result<Report> {
    // A stop asked for while the last wait file appeared wins over starting.
    while let Some(signal) = cx.signals.pending()? {
        if signal == Signal::SIGCHLD {
            cx.reaper.reap()?;
        } else if signals::ends_wait(signal) {
            return Ok(stopped_while_waiting(signal));
        }
    }
    let started_at = SystemTime::now();
    let group = match child::spawn(&step.argv) {
        Ok(pid) => pid,
        Err(failure) => {
            if let Some(ready) = &step.ready_file {
                marker::write_code(&err_path(ready), failure.code)?;
            }
            return Ok(Report {
                code: failure.code,
                started_at,
                reason: None,
                message: Some(failure.message),
            });
        }
    };
    cx.reaper.follow(group);
    tracing::debug!(pid = group.as_raw(), "command started");
    let ended = supervise(group, step, cx).await?;
    let (code, reason, message) = verdict(step, &ended);
    Ok(Report {
        code,
        started_at,
        reason,
        message,
    })
}

/// baton's exit code, the reason recorded, and what to say, for how the command ended.
fn verdict(step: &Step, ended: &Ended) -> (u8, Option<&'static str>, Option<String>) {
    if ended.timed_out {
        let limit = step.timeout.unwrap_or_default();
        return (
            exit_code::TIMEOUT,
            Some("TimeoutExceeded"),
            Some(format!("command timed out after {limit:?}")),
        );
    }
    if ended.not_ready {
        let limit = step.ready_timeout.unwrap_or_default();
        return (
            exit_code::SKIPPED,
            Some("NotReady"),
            Some(format!("command not ready within {limit:?}")),
        );
    }
    let mut code = ended.exit.code();
    let mut reason = ended.stop_signal.map(|_| "Terminated");
    if ended.stop_requested {
        reason = Some("Stopped");
        if !step.stop_keeps_exit_code {
            code = 0;
        }
    }
    if step.success_exit_codes.contains(&code) {
        code = 0;
    }
    (code, reason, None)
}

/// What supervision saw.
#[derive(Debug)]
struct Ended {
    exit: ChildExit,
    timed_out: bool,
    not_ready: bool,
    /// A stop file appeared while the command ran.
    stop_requested: bool,
    /// A stopping signal baton received (and forwarded) while the command ran.
    stop_signal: Option<Signal>,
}

/// Readiness of the command, for `--ready-file`.
#[derive(Debug, PartialEq, Eq)]
enum Readiness {
    /// No ready file asked for, or written already, or failed already.
    Settled,
    Probing,
}

/// Forwards signals, reaps, probes readiness, watches stop files, enforces the
/// timeouts, and once the command has exited stops the rest of its group:
/// SIGTERM, then SIGKILL after the grace period. Returns when the command has
/// exited and (unless `--no-kill-group`) its group is gone.
async fn supervise(group: Pid, step: &Step, cx: &mut Running) -> Result<Ended> {
    let deadline = step.timeout.map(|t| Instant::now() + t);
    let ready_deadline = step.ready_timeout.map(|t| Instant::now() + t);
    let mut readiness = if step.ready_file.is_some() {
        Readiness::Probing
    } else {
        Readiness::Settled
    };
    let mut probing = Box::pin(ready::until_ready(
        &step.ready_probes,
        step.ready_interval,
        &cx.reaper,
    ));
    let mut exit = None;
    let mut ended = Ended {
        exit: ChildExit::Exited(0),
        timed_out: false,
        not_ready: false,
        stop_requested: false,
        stop_signal: None,
    };
    // Set once baton itself has sent SIGTERM to the group; SIGKILL follows then.
    let mut kill_at: Option<Instant> = None;
    let mut killed = false;
    let stop = |why: &str, kill_at: &mut Option<Instant>| {
        if kill_at.is_none() {
            tracing::info!("{why}: stopping the command");
            child::signal_group(group, Signal::SIGTERM);
            *kill_at = Some(Instant::now() + step.grace);
        }
    };
    loop {
        if let Some(status) = exit {
            if readiness == Readiness::Probing {
                // It ended before it was ready: let the waiters fail fast.
                readiness = Readiness::Settled;
                write_ready(step, Some(ChildExit::code(status)))?;
            }
            if !step.kill_group || !child::group_exists(group) {
                ended.exit = status;
                return Ok(ended);
            }
            stop(
                "the command exited; what is left of its group",
                &mut kill_at,
            );
        }
        if !ended.stop_requested && exit.is_none() {
            for file in &step.stop_files {
                cx.watch.cover(file);
            }
            if let Some(file) = wait::stop_requested(&step.stop_files)? {
                ended.stop_requested = true;
                stop(
                    &format!("stop file {} present", file.display()),
                    &mut kill_at,
                );
            }
        }
        tokio::select! {
            biased;
            signal = cx.signals.next() => match signal? {
                Signal::SIGCHLD => {
                    cx.reaper.reap()?;
                    if exit.is_none() {
                        exit = cx.reaper.take(group);
                    }
                }
                signal => {
                    if signals::ends_wait(signal) {
                        ended.stop_signal = Some(signal);
                    }
                    tracing::debug!(%signal, "forwarding");
                    child::signal_group(group, signal);
                }
            },
            () = &mut probing, if readiness == Readiness::Probing => {
                readiness = Readiness::Settled;
                write_ready(step, None)?;
            }
            () = sleep_until(ready_deadline), if readiness == Readiness::Probing && ready_deadline.is_some() => {
                readiness = Readiness::Settled;
                ended.not_ready = true;
                write_ready(step, Some(exit_code::SKIPPED))?;
                stop("not ready in time", &mut kill_at);
            }
            () = sleep_until(deadline), if deadline.is_some() && exit.is_none() && !ended.timed_out => {
                ended.timed_out = true;
                stop("timeout expired", &mut kill_at);
            }
            () = sleep_until(kill_at), if kill_at.is_some() && !killed => {
                tracing::info!("grace period over; killing the process group");
                killed = true;
                child::signal_group(group, Signal::SIGKILL);
            }
            () = cx.watch.changed(), if !step.stop_files.is_empty() => {}
        }
    }
}

/// Writes the ready file (`None`) or its failure twin (`Some(code)`).
fn write_ready(step: &Step, failure: Option<u8>) -> Result<()> {
    let Some(ready) = &step.ready_file else {
        return Ok(());
    };
    match failure {
        None => {
            tracing::info!(ready = %ready.display(), "ready");
            marker::write_atomic(ready, b"ready\n", 0o644)
        }
        Some(code) => marker::write_code(&err_path(ready), code.max(1)),
    }
}

/// Sleeps until `at`, or practically forever when there is no `at` (the branch
/// is disabled then anyway; `select!` still builds the future).
fn sleep_until(at: Option<Instant>) -> tokio::time::Sleep {
    const FAR: Duration = Duration::from_hours(24 * 365);
    tokio::time::sleep_until(at.unwrap_or_else(|| Instant::now() + FAR))
}
