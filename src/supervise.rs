//! One run of the command, from the moment it is started until it and its
//! process group are gone: forwarding signals, reaping, probing readiness,
//! watching stop and cancel files, enforcing the timeouts, and stopping the
//! leftovers of its group. One `select!` loop on one thread.

use std::time::Duration;

use anyhow::Result;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::time::Instant;

use crate::child;
use crate::exit_code::{self, ChildExit};
use crate::lock;
use crate::marker::{self, err_path};
use crate::ready;
use crate::reap::Reaper;
use crate::signals::{self, Signals};
use crate::step::Step;
use crate::wait::{self, Request};
use crate::watch::Watch;

/// How often the group is looked at once the command has exited.
const LEFTOVER_CHECK: Duration = Duration::from_millis(100);
/// How long after SIGKILL a group that will not empty is waited for, at least.
const LEFTOVER_LIMIT: Duration = Duration::from_secs(1);

/// What a running step listens to.
#[derive(Debug)]
pub struct Listeners {
    pub signals: Signals,
    pub reaper: Reaper,
    pub watch: Watch,
    /// Predecessors' locks (wait files, stop files).
    pub locks: lock::Watcher,
}

/// Why baton itself stopped the command (the first reason counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// `--timeout` expired.
    Timeout,
    /// Not ready within `--ready-timeout`.
    NotReady,
    /// A stop file appeared.
    StopFile,
    /// The cancel file appeared.
    Cancel,
}

/// What supervision saw.
#[derive(Debug)]
pub struct Ended {
    pub exit: ChildExit,
    pub cause: Option<Cause>,
    /// A stopping signal baton received (and forwarded) while the command ran.
    pub stop_signal: Option<Signal>,
}

impl Ended {
    /// Whether the run ended because it was told to (no retry then); a
    /// timeout is a failure of the attempt, which may be retried.
    pub fn interrupted(&self) -> bool {
        self.stop_signal.is_some() || !matches!(self.cause, None | Some(Cause::Timeout))
    }
}

/// Readiness of the command, for `--ready-file`.
#[derive(Debug, PartialEq, Eq)]
enum Readiness {
    /// No ready file asked for, or written already, or failed already.
    Settled,
    Probing,
}

/// Supervises the command whose process group is `group` until it has exited
/// and (unless `--no-kill-group`) its group is gone. Once the command has
/// exited, the rest of its group gets SIGTERM, then SIGKILL after the grace
/// period.
#[allow(clippy::too_many_lines)] // one select loop: its state reads best in one place
///
/// `last` says whether this is the step's last attempt: only then does a
/// command that ends before it is ready fail its waiters at once (a retry
/// may still get there; `step::finish` writes `READY.err` in the end).
pub async fn supervise(group: Pid, step: &Step, cx: &mut Listeners, last: bool) -> Result<Ended> {
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
        cause: None,
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
    let stop_for = |cause: Cause, why: &str, ended: &mut Ended, kill_at: &mut Option<Instant>| {
        ended.cause.get_or_insert(cause);
        stop(why, kill_at);
    };
    let watching = !step.stop_files.is_empty() || step.cancel_file.is_some();
    loop {
        if let Some(status) = exit {
            if readiness == Readiness::Probing {
                // It ended before it was ready: let the waiters fail fast,
                // unless another attempt follows.
                readiness = Readiness::Settled;
                if last {
                    write_ready(step, Some(ChildExit::code(status)))?;
                }
            }
            if !step.kill_group || !child::group_exists(group) {
                ended.exit = status;
                return Ok(ended);
            }
            if killed
                && kill_at.is_some_and(|at| Instant::now() >= at + LEFTOVER_LIMIT.max(step.grace))
            {
                // A zombie whose parent (outside the group) never reaps it keeps
                // the group alive for ever: give up on it rather than hang.
                tracing::warn!(
                    "process group {group} still not empty after SIGKILL; not waiting for it"
                );
                ended.exit = status;
                return Ok(ended);
            }
            stop(
                "the command exited; what is left of its group",
                &mut kill_at,
            );
        }
        if watching && exit.is_none() && ended.cause.is_none() {
            let content = step.wait_content;
            let asked = wait::requested(
                &mut cx.watch,
                &mut cx.locks,
                &step.stop_files,
                step.cancel_file.as_deref(),
                content,
            )
            .unwrap_or_else(|err| {
                // A stop file that cannot be looked at is no reason to abandon the command.
                tracing::warn!("{err:#}");
                None
            });
            match asked {
                Some(Request::Cancel(file)) => {
                    let why = format!("cancel file {} present", file.display());
                    stop_for(Cause::Cancel, &why, &mut ended, &mut kill_at);
                }
                Some(Request::Stop(file)) => {
                    let why = format!("stop file {} present", file.display());
                    stop_for(Cause::StopFile, &why, &mut ended, &mut kill_at);
                }
                None => {}
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
                write_ready(step, Some(exit_code::SKIPPED))?;
                stop_for(Cause::NotReady, "not ready in time", &mut ended, &mut kill_at);
            }
            () = sleep_until(deadline), if deadline.is_some() && exit.is_none() && ended.cause.is_none() => {
                stop_for(Cause::Timeout, "timeout expired", &mut ended, &mut kill_at);
            }
            // Once the command has exited, look at its group now and then as
            // well: a leftover reaped by a parent outside the group, or a zombie,
            // sends baton no SIGCHLD.
            () = tokio::time::sleep(LEFTOVER_CHECK), if exit.is_some() => {}
            () = sleep_until(kill_at), if kill_at.is_some() && !killed => {
                tracing::info!("grace period over; killing the process group");
                killed = true;
                child::signal_group(group, Signal::SIGKILL);
            }
            changed = cx.watch.changed(), if watching => changed?,
        }
    }
}

/// Writes the ready file (`None`) or its failure twin (`Some(code)`), then
/// touches its lock, which this step keeps holding: the waiters that guard
/// the ready file watch only that lock (see `watch`).
pub fn write_ready(step: &Step, failure: Option<u8>) -> Result<()> {
    let Some(ready) = &step.ready_file else {
        return Ok(());
    };
    match failure {
        None => {
            tracing::info!(ready = %ready.display(), "ready");
            marker::write_atomic(ready, b"ready\n", 0o644)?;
        }
        Some(code) => marker::write_code(&err_path(ready), code.max(1))?,
    }
    lock::announce(ready)
}

/// Sleeps until `at`, or practically forever when there is no `at` (the branch
/// is disabled then anyway; `select!` still builds the future).
pub fn sleep_until(at: Option<Instant>) -> tokio::time::Sleep {
    const FAR: Duration = Duration::from_hours(24 * 365);
    tokio::time::sleep_until(at.unwrap_or_else(|| Instant::now() + FAR))
}
