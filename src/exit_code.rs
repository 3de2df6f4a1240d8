//! baton's exit codes, in one place, because the next container, Kubernetes and
//! the user all read them. The README's exit-code table mirrors this file.

use std::fmt;

use nix::sys::signal::Signal;

/// The step was cancelled (`--cancel-file`).
pub const CANCELLED: u8 = 123;
/// The command timed out (`--timeout`), as in coreutils' `timeout`.
pub const TIMEOUT: u8 = 124;
/// baton itself failed (e.g. a marker could not be written).
pub const INTERNAL: u8 = 125;
/// The command exists but cannot be executed.
pub const CANNOT_EXECUTE: u8 = 126;
/// The command was not found.
pub const NOT_FOUND: u8 = 127;
/// Usage error: unknown option, bad value, no command (as most command-line tools do).
pub const USAGE: u8 = 2;
/// The step was skipped because a step it waits for failed.
pub const SKIPPED: u8 = 1;
/// The step's when expressions could not be evaluated (malformed, a CEL
/// error, no CEL in this build), as Tekton's entrypoint exits then.
pub const WHEN: u8 = 1;

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildExit {
    Exited(i32),
    Signaled(Signal),
}

impl ChildExit {
    /// The code a shell would report: the exit status, or 128+N for signal N.
    pub fn code(self) -> u8 {
        match self {
            // An exit status is 0..=255 by construction (the kernel keeps 8 bits).
            Self::Exited(code) => u8::try_from(code & 0xff).unwrap_or(u8::MAX),
            Self::Signaled(signal) => from_signal(signal),
        }
    }
}

/// 128+N for signal N.
pub fn from_signal(signal: Signal) -> u8 {
    u8::try_from(128 + signal as i32).unwrap_or(u8::MAX)
}

/// An error whose exit code the caller must use instead of the generic one.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The exit code for an error that ends `run`.
pub fn of_error(err: &anyhow::Error) -> u8 {
    err.downcast_ref::<Failure>().map_or(INTERNAL, |f| f.code)
}
