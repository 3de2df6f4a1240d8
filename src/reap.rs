//! Zombies: baton reaps every child that ends, its own command and every orphan
//! re-parented to it. As PID 1 that is its duty; otherwise (a pod with
//! `shareProcessNamespace`, or a plain shell) it makes itself a child subreaper
//! so that the command's orphans come to it rather than to some other init.

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::exit_code::ChildExit;

/// Makes baton the reaper of its descendants' orphans (a no-op as PID 1).
pub fn become_subreaper() -> Result<()> {
    if std::process::id() == 1 {
        return Ok(());
    }
    nix::sys::prctl::set_child_subreaper(true).context("prctl(PR_SET_CHILD_SUBREAPER)")
}

/// Reaps every child that has ended; returns how `main` ended if it was among them.
pub fn reap(main: Option<Pid>) -> Result<Option<ChildExit>> {
    let mut found = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if Some(pid) == main => {
                found = Some(ChildExit::Exited(code));
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) if Some(pid) == main => {
                found = Some(ChildExit::Signaled(signal));
            }
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return Ok(found),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(err) => return Err(err).context("waitpid"),
        }
    }
}
