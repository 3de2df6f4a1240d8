//! Starting the command and acting on its process group. The command runs in a
//! process group of its own, so that a signal reaches a whole shell pipeline
//! and what a script leaves behind can be found and stopped. It inherits
//! stdin, stdout and stderr (no pipe, no copying), default signal dispositions
//! and an empty signal mask, whatever baton or its parent blocked or
//! ignored: both are inherited across exec, so the child resets them between
//! fork and exec (the standard library's spawn does not on every path).

use std::ffi::OsString;
use std::io::ErrorKind;
use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::Result;
use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::{killpg, SigSet, SigmaskHow, Signal};
use nix::unistd::Pid;

use crate::exit_code::{Failure, CANNOT_EXECUTE, NOT_FOUND};
use crate::output::Pipes;

/// Starts `argv` in a new process group, with `env` added to baton's
/// environment and the captured streams of `pipes`; returns its pid (also
/// the group's id).
pub fn spawn(
    argv: &[OsString],
    env: &[(OsString, OsString)],
    pipes: Pipes,
) -> Result<Pid, Failure> {
    let (program, args) = argv.split_first().ok_or_else(|| Failure {
        code: CANNOT_EXECUTE,
        message: "empty command".to_owned(),
    })?;
    let shown = program.to_string_lossy();
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(env.iter().cloned())
        .process_group(0);
    if let Some(out) = pipes.stdout {
        command.stdout(out);
    }
    if let Some(err) = pipes.stderr {
        command.stderr(err);
    }
    // SAFETY: `reset_signals` runs in the forked child before exec and makes
    // only async-signal-safe system calls on its own stack.
    unsafe {
        command.pre_exec(reset_signals);
    }
    match command.spawn() {
        Ok(child) => Ok(Pid::from_raw(
            i32::try_from(child.id()).expect("pids fit in i32"),
        )),
        Err(err) if err.kind() == ErrorKind::NotFound => Err(Failure {
            code: NOT_FOUND,
            message: format!("command not found: {shown}"),
        }),
        Err(err) => Err(Failure {
            code: CANNOT_EXECUTE,
            message: format!("cannot execute {shown}: {err}"),
        }),
    }
}

/// Gives the child an empty signal mask and every signal's default action.
/// The raw `rt_sigaction` call also reaches the real-time signals that glibc
/// keeps for itself (32 and 33), which an ignoring ancestor may have left
/// ignored; an all-zero kernel `sigaction` means `SIG_DFL`, no flags, empty mask.
fn reset_signals() -> std::io::Result<()> {
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
    let default = [0u64; 4];
    for signal in 1..=64 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: `default` outlives the call and is at least as large as the
        // kernel's `struct sigaction`; the old action is not asked for. A
        // signal the kernel refuses keeps its action, which exec resets if it
        // is a handler.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                default.as_ptr(),
                std::ptr::null_mut::<u8>(),
                8usize,
            );
        }
    }
    Ok(())
}

/// Sends `signal` to the group; a group that is already gone is not an error.
pub fn signal_group(group: Pid, signal: Signal) {
    match killpg(group, signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(err) => tracing::warn!(%signal, %err, "signalling process group {group}"),
    }
}

/// Whether any process of the group is left (zombies not yet reaped included).
pub fn group_exists(group: Pid) -> bool {
    !matches!(killpg(group, None), Err(Errno::ESRCH))
}
