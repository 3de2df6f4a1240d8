//! The controlling terminal, for interactive containers (`tty: true` with
//! `stdin: true`, `kubectl run -it`, `kubectl debug`): when baton is in the
//! foreground of the terminal on its stdin, the command gets the foreground
//! (its group made the terminal's foreground group, in the child before exec,
//! as tini and dumb-init do), so that it can read the terminal and gets
//! Ctrl-C and window-size changes from it; baton takes the foreground back
//! when the command exits, and hands it over again when baton is continued
//! after a stop (job control). SIGTTOU is blocked in baton (see `signals`),
//! so these calls never stop it.

use std::os::fd::{BorrowedFd, RawFd};
use std::sync::OnceLock;

use nix::unistd::{getpgrp, tcgetpgrp, tcsetpgrp, Pid};

/// The terminal baton held the foreground of when it first looked (before
/// its first command started): stdin, if it is a terminal whose foreground
/// group was baton's. One look per process: once the command has the
/// foreground, baton's group no longer does.
pub fn owned() -> Option<RawFd> {
    static OWNED: OnceLock<Option<RawFd>> = OnceLock::new();
    *OWNED.get_or_init(|| {
        // SAFETY: fd 0 is open for the life of the process (`startup` made sure).
        let stdin = unsafe { BorrowedFd::borrow_raw(0) };
        let owned =
            nix::unistd::isatty(stdin).unwrap_or(false) && tcgetpgrp(stdin).ok() == Some(getpgrp());
        owned.then_some(0)
    })
}

/// Moves the foreground of terminal `tty` from group `from` to group `to`,
/// if `from` has it: baton never takes it from someone else (the shell that
/// put baton in the background with `bg`, say). Errors are no reason to
/// stop the step: the terminal may be gone (a hang-up).
fn pass(tty: RawFd, from: Pid, to: Pid) {
    // SAFETY: `tty` is fd 0, open for the life of the process.
    let fd = unsafe { BorrowedFd::borrow_raw(tty) };
    if tcgetpgrp(fd).ok() != Some(from) {
        return;
    }
    if let Err(err) = tcsetpgrp(fd, to) {
        tracing::debug!(%err, "making group {to} the terminal's foreground");
    }
}

/// Gives the foreground back to the command's `group` (baton continued by
/// `fg`), if baton has it.
pub fn hand_to(tty: RawFd, group: Pid) {
    pass(tty, getpgrp(), group);
}

/// Takes the foreground back for baton from the command's `group`, which
/// has exited.
pub fn take_back(tty: RawFd, group: Pid) {
    pass(tty, group, getpgrp());
}
