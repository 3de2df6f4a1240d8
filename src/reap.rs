//! Zombies: baton reaps every child that ends, its own command, its probes and
//! every orphan re-parented to it. As PID 1 that is its duty; otherwise (a pod
//! with `shareProcessNamespace`, or a plain shell) it makes itself a child
//! subreaper so that the command's orphans come to it rather than to some
//! other init. One `waitpid(-1)` loop reaps them all; the statuses of the
//! children someone asked about are kept for them.

use std::cell::RefCell;
use std::pin::pin;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use tokio::sync::Notify;

use crate::exit_code::ChildExit;

/// Makes baton the reaper of its descendants' orphans. As PID 1 it already
/// is; the flag is then harmless, and setting it costs less than asking the
/// kernel for the pid first.
pub fn become_subreaper() -> Result<()> {
    nix::sys::prctl::set_child_subreaper(true).context("prctl(PR_SET_CHILD_SUBREAPER)")
}

/// Reaps children and keeps the statuses of those being followed.
#[derive(Debug, Default)]
pub struct Reaper {
    /// Followed children: `None` while running, then how they ended. A few
    /// at most (the command, a probe): a list, which unlike a `HashMap` needs
    /// no random seed from the kernel.
    followed: RefCell<Vec<(Pid, Option<ChildExit>)>>,
    /// The followed children stopped now (job control: SIGTSTP, SIGSTOP, …).
    stopped: RefCell<Vec<Pid>>,
    /// Stops not yet asked about (`take_stop`), with the signal that stopped.
    stops: RefCell<Vec<(Pid, Signal)>>,
    reaped: Notify,
}

impl Reaper {
    /// Keeps the status of `pid` for `take` or `exited` once it ends.
    pub fn follow(&self, pid: Pid) {
        let mut followed = self.followed.borrow_mut();
        followed.retain(|(p, _)| *p != pid);
        followed.push((pid, None));
    }

    /// How `pid` ended, if it has (and stops following it).
    pub fn take(&self, pid: Pid) -> Option<ChildExit> {
        let mut followed = self.followed.borrow_mut();
        let at = followed
            .iter()
            .position(|(p, exit)| *p == pid && exit.is_some())?;
        followed.swap_remove(at).1
    }

    /// Stops following `pid`; true if it had not ended yet (as far as the
    /// reaper knows), so that its pid still names it.
    pub fn unfollow(&self, pid: Pid) -> bool {
        let mut followed = self.followed.borrow_mut();
        let Some(at) = followed.iter().position(|(p, _)| *p == pid) else {
            return false;
        };
        followed.swap_remove(at).1.is_none()
    }

    /// Waits until the followed child `pid` has ended (reaped by `reap`).
    pub async fn exited(&self, pid: Pid) -> ChildExit {
        loop {
            let mut reaped = pin!(self.reaped.notified());
            reaped.as_mut().enable();
            if let Some(exit) = self.take(pid) {
                return exit;
            }
            reaped.await;
        }
    }

    /// Whether the followed child `pid` is stopped (job control).
    pub fn is_stopped(&self, pid: Pid) -> bool {
        self.stopped.borrow().contains(&pid)
    }

    /// The signal that stopped the followed child `pid` since the last look,
    /// if it did stop.
    pub fn take_stop(&self, pid: Pid) -> Option<Signal> {
        let mut stops = self.stops.borrow_mut();
        let at = stops.iter().rposition(|(p, _)| *p == pid)?;
        let (_, signal) = stops.swap_remove(at);
        stops.retain(|(p, _)| *p != pid);
        Some(signal)
    }

    /// Reaps every child that has ended, and notes which followed ones have
    /// stopped or continued; call on SIGCHLD.
    pub fn reap(&self) -> Result<()> {
        let mut any = false;
        let flags = WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED | WaitPidFlag::WCONTINUED;
        loop {
            let (pid, exit) = match waitpid(None, Some(flags)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, ChildExit::Exited(code)),
                Ok(WaitStatus::Signaled(pid, signal, _)) => (pid, ChildExit::Signaled(signal)),
                Ok(WaitStatus::Stopped(pid, signal)) => {
                    if self.followed.borrow().iter().any(|(p, _)| *p == pid) {
                        self.stopped.borrow_mut().push(pid);
                        self.stops.borrow_mut().push((pid, signal));
                    }
                    continue;
                }
                Ok(WaitStatus::Continued(pid)) => {
                    self.stopped.borrow_mut().retain(|p| *p != pid);
                    continue;
                }
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => break,
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(err) => return Err(err).context("waitpid"),
            };
            self.stopped.borrow_mut().retain(|p| *p != pid);
            if let Some((_, slot)) = self
                .followed
                .borrow_mut()
                .iter_mut()
                .find(|(p, _)| *p == pid)
            {
                *slot = Some(exit);
                any = true;
            }
        }
        if any {
            self.reaped.notify_waiters();
        }
        Ok(())
    }
}
