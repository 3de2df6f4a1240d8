//! Job control: a command stopped from its terminal (Ctrl-Z: SIGTSTP; or
//! SIGTTIN, SIGTTOU) stops baton too, so that the shell that started baton
//! sees its job stopped and gives its prompt back; `fg` or `bg` continue
//! baton, which forwards SIGCONT to the command (see `supervise`), as
//! dumb-init does. As PID 1 (a container) there is no shell to return to and
//! the kernel does not stop an init: a command stopped by Ctrl-Z is continued
//! at once, rather than left stopped with nobody to continue it. A command
//! stopped otherwise (SIGSTOP: a debugger, an operator) leaves baton running:
//! it still honours SIGTERM, the timeout and the grace period, sending
//! SIGCONT after SIGTERM so that the stopped command can act on it.

use nix::sys::signal::{raise, Signal};
use nix::unistd::{getpid, Pid};

use crate::child;

/// The command (its group `group`) has been stopped by `signal`.
pub fn command_stopped(group: Pid, signal: Signal) {
    let from_terminal = matches!(signal, Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU);
    if !from_terminal {
        tracing::info!(%signal, "the command was stopped");
        return;
    }
    if getpid() == Pid::from_raw(1) {
        if signal == Signal::SIGTSTP {
            tracing::info!("the command was stopped (Ctrl-Z); as PID 1, continuing it");
            child::signal_group(group, Signal::SIGCONT);
        }
        return;
    }
    tracing::info!(%signal, "the command was stopped; stopping with it");
    // Stops here until continued; SIGCONT is then read from the queue and
    // forwarded like any other signal.
    if let Err(err) = raise(Signal::SIGSTOP) {
        tracing::warn!(%err, "stopping with the command");
    }
}
