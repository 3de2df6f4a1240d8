//! One run of the command, from the moment it is started until it and its
//! process group are gone: forwarding signals, reaping, probing readiness,
//! watching stop and cancel files, enforcing the timeouts, and stopping the
//! leftovers of its group. One loop on one thread: `sigtimedwait` for a step
//! that needs only signals and timers, a `select!` in the runtime otherwise;
//! both drive the same `Supervision`.

use std::time::{Duration, Instant};

use anyhow::Result;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::child;
use crate::exit_code::{self, ChildExit};
use crate::job_control;
use crate::listeners::Listeners;
use crate::lock;
use crate::marker::{self, err_path};
use crate::ready;
use crate::reap::Reaper;
use crate::requests::{self, Request};
use crate::settings::Step;
use crate::signals::{self, Blocked};
use crate::terminal;

/// How often the group is looked at once the command has exited.
const LEFTOVER_CHECK: Duration = Duration::from_millis(100);
/// How long after SIGKILL a group that will not empty is waited for, at least.
const LEFTOVER_LIMIT: Duration = Duration::from_secs(1);

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
#[derive(Debug, Clone, Copy)]
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

/// The part of supervision both loops share: reaping and forwarding, the
/// timeout, and stopping what is left of the group once the command has
/// exited (SIGTERM, then SIGKILL after the grace period).
#[derive(Debug)]
struct Supervision<'a> {
    group: Pid,
    step: &'a Step,
    /// How the command ended, once it has.
    exit: Option<ChildExit>,
    ended: Ended,
    deadline: Option<Instant>,
    /// Set once baton itself has sent SIGTERM to the group; SIGKILL follows then.
    kill_at: Option<Instant>,
    killed: bool,
}

impl<'a> Supervision<'a> {
    fn new(group: Pid, step: &'a Step) -> Self {
        Self {
            group,
            step,
            exit: None,
            ended: Ended {
                exit: ChildExit::Exited(0),
                cause: None,
                stop_signal: None,
            },
            deadline: step.timeout().map(|t| Instant::now() + t),
            kill_at: None,
            killed: false,
        }
    }

    /// Whether the command is still running and nothing has stopped it yet.
    fn undisturbed(&self) -> bool {
        self.exit.is_none() && self.ended.cause.is_none()
    }

    /// The end of supervision, once the command has exited and its group is
    /// gone (or given up on); until then, stops what is left of the group.
    fn over(&mut self) -> Option<Ended> {
        let status = self.exit?;
        self.ended.exit = status;
        if !self.step.kill_group() || !child::group_exists(self.group) {
            return Some(self.ended);
        }
        let limit = LEFTOVER_LIMIT.max(self.step.running.grace_period);
        if self.killed && self.kill_at.is_some_and(|at| Instant::now() >= at + limit) {
            // A zombie whose parent (outside the group) never reaps it keeps
            // the group alive for ever: give up on it rather than hang.
            tracing::warn!(
                "process group {} still not empty after SIGKILL; not waiting for it",
                self.group
            );
            return Some(self.ended);
        }
        self.stop("the command exited; what is left of its group");
        None
    }

    fn stop(&mut self, why: &str) {
        if self.kill_at.is_none() {
            tracing::info!("{why}: stopping the command");
            child::signal_group(self.group, Signal::SIGTERM);
            // A stopped process acts on SIGTERM only once continued.
            child::signal_group(self.group, Signal::SIGCONT);
            self.kill_at = Some(Instant::now() + self.step.running.grace_period);
        }
    }

    fn stop_for(&mut self, cause: Cause, why: &str) {
        self.ended.cause.get_or_insert(cause);
        self.stop(why);
    }

    /// SIGCHLD reaps (and may end the command); any other signal is
    /// forwarded to the group.
    fn signal(&mut self, signal: Signal, reaper: &Reaper) -> Result<()> {
        if signal == Signal::SIGCHLD {
            reaper.reap()?;
            if self.exit.is_none() {
                self.exit = reaper.take(self.group);
                if self.exit.is_some() {
                    if let Some(tty) = terminal::owned() {
                        terminal::take_back(tty, self.group);
                    }
                }
            }
            if let Some(stop) = reaper.take_stop(self.group).filter(|_| self.exit.is_none()) {
                job_control::command_stopped(self.group, stop);
            }
        } else {
            if signals::ends_wait(signal) {
                self.ended.stop_signal = Some(signal);
            }
            tracing::debug!(%signal, "forwarding");
            child::signal_group(self.group, signal);
            if signal == Signal::SIGCONT && self.exit.is_none() {
                // Continued after a stop: the command's group gets the
                // terminal back (the shell gave it to baton's).
                if let Some(tty) = terminal::owned() {
                    terminal::hand_to(tty, self.group);
                }
            } else if signals::ends_wait(signal) {
                // A stopped command would never see it. Its stop may still
                // be news queued behind this signal (a lower number comes
                // first): reap to know.
                reaper.reap()?;
                if reaper.is_stopped(self.group) {
                    child::signal_group(self.group, Signal::SIGCONT);
                }
            }
        }
        Ok(())
    }

    /// When `timers` has something to do next: the timeout, SIGKILL after
    /// the grace period, and, once the command has exited, a look at its
    /// group now and then (a leftover reaped by a parent outside the group,
    /// or a zombie, sends baton no SIGCHLD).
    fn next_timer(&self) -> Option<Instant> {
        let deadline = self.deadline.filter(|_| self.undisturbed());
        let kill_at = self.kill_at.filter(|_| !self.killed);
        let leftover = self.exit.map(|_| Instant::now() + LEFTOVER_CHECK);
        [deadline, kill_at, leftover].into_iter().flatten().min()
    }

    /// Does what is due by `now` (nothing when nothing is).
    fn timers(&mut self, now: Instant) {
        if self.undisturbed() && self.deadline.is_some_and(|at| now >= at) {
            self.stop_for(Cause::Timeout, "timeout expired");
        }
        if !self.killed && self.kill_at.is_some_and(|at| now >= at) {
            tracing::info!("grace period over; killing the process group");
            self.killed = true;
            child::signal_group(self.group, Signal::SIGKILL);
        }
    }
}

/// Supervises the command whose process group is `group` until it has exited
/// and (unless `--no-kill-group`) its group is gone, for a step that needs
/// nothing but signals and timers: one `sigtimedwait` loop, no runtime.
pub fn supervise_blocking(
    group: Pid,
    step: &Step,
    signals: &Blocked,
    reaper: &Reaper,
) -> Result<Ended> {
    let mut run = Supervision::new(group, step);
    loop {
        if let Some(ended) = run.over() {
            return Ok(ended);
        }
        let timeout = run
            .next_timer()
            .map(|at| at.saturating_duration_since(Instant::now()));
        if let Some(signal) = signals.wait(timeout)? {
            run.signal(signal, reaper)?;
        }
        // After every wake-up: a stream of signals must not put the timers off.
        run.timers(Instant::now());
    }
}

/// Supervises the command whose process group is `group` as
/// `supervise_blocking` does, and also probes readiness and watches the stop
/// and cancel files.
///
/// `last` says whether this is the step's last attempt: only then does a
/// command that ends before it is ready fail its waiters at once (a retry
/// may still get there; `step::finish` writes `READY.err` in the end).
pub async fn supervise(group: Pid, step: &Step, cx: &mut Listeners, last: bool) -> Result<Ended> {
    let mut run = Supervision::new(group, step);
    let ready_deadline = step.ready_timeout().map(|t| Instant::now() + t);
    let mut readiness = if step.sidecar.ready_file.is_some() {
        Readiness::Probing
    } else {
        Readiness::Settled
    };
    let mut probing = Box::pin(ready::until_ready(
        &step.sidecar.ready_probe,
        step.sidecar.ready_interval,
        &cx.reaper,
    ));
    let watching = !step.sidecar.stop_file.is_empty() || step.waiting.cancel_file.is_some();
    loop {
        if let (Some(status), Readiness::Probing) = (run.exit, &readiness) {
            // It ended before it was ready: let the waiters fail fast,
            // unless another attempt follows.
            readiness = Readiness::Settled;
            if last {
                write_ready(step, Some(ChildExit::code(status)))?;
            }
        }
        if let Some(ended) = run.over() {
            return Ok(ended);
        }
        if watching && run.undisturbed() {
            let asked = requests::requested(
                &mut cx.watch,
                &mut cx.locks,
                requests::Stops::of(step),
                step.waiting.cancel_file.as_deref(),
                step.cancel_needs_content(),
            )
            .unwrap_or_else(|err| {
                // A stop file that cannot be looked at is no reason to abandon the command.
                tracing::warn!("{err:#}");
                None
            });
            match asked {
                Some(Request::Cancel(file)) => {
                    let why = format!("cancel file {} present", file.display());
                    run.stop_for(Cause::Cancel, &why);
                }
                Some(Request::Stop(file)) => {
                    let why = format!("stop file {} present", file.display());
                    run.stop_for(Cause::StopFile, &why);
                }
                None => {}
            }
        }
        let probing_now = readiness == Readiness::Probing;
        let timer = run.next_timer();
        tokio::select! {
            biased;
            signal = cx.signals.next() => run.signal(signal?, &cx.reaper)?,
            () = &mut probing, if probing_now => {
                readiness = Readiness::Settled;
                write_ready(step, None)?;
            }
            () = sleep_until(ready_deadline), if probing_now && ready_deadline.is_some() => {}
            () = sleep_until(timer), if timer.is_some() => {}
            changed = cx.watch.changed(), if watching => changed?,
        }
        // The timers after every wake-up: a stream of signals must not put them off.
        let now = Instant::now();
        if readiness == Readiness::Probing && ready_deadline.is_some_and(|at| now >= at) {
            readiness = Readiness::Settled;
            write_ready(step, Some(exit_code::SKIPPED))?;
            run.stop_for(Cause::NotReady, "not ready in time");
        }
        run.timers(now);
    }
}

/// Writes the ready file (`None`) or its failure twin (`Some(code)`), then
/// touches its lock, which this step keeps holding: the waiters that guard
/// the ready file watch only that lock (see `watch`).
pub fn write_ready(step: &Step, failure: Option<u8>) -> Result<()> {
    let Some(ready) = &step.sidecar.ready_file else {
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
fn sleep_until(at: Option<Instant>) -> tokio::time::Sleep {
    const FAR: Duration = Duration::from_hours(24 * 365);
    let at = at.unwrap_or_else(|| Instant::now() + FAR);
    tokio::time::sleep_until(tokio::time::Instant::from_std(at))
}
