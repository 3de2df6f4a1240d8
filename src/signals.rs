//! Every signal baton receives is taken from the kernel's queue, in order, on
//! the main thread: with `sigtimedwait` by a step that needs no async runtime
//! (a plain `baton -- command`), through a signalfd otherwise. The signals are
//! blocked (so the kernel queues them, even for
//! PID 1, which would otherwise drop signals it has no handler for, and even
//! when baton's parent left them ignored). baton installs no handler and
//! changes one disposition, SIGCHLD's (see `reset_dispositions`); the command
//! inherits the others as baton got them, as with tini. The fault signals
//! (SEGV, BUS, ILL, FPE, TRAP, ABRT, SYS) are blocked and forwarded too: only
//! a signal someone sent reaches the queue, since the kernel delivers a real
//! fault of baton's own whatever the mask (a crash of baton is still a crash,
//! and `abort` unblocks SIGABRT). TTIN and TTOU are forwarded too: job
//! control is the command's, and baton stops when the command stops
//! (`job_control`), as dumb-init does.

use std::ptr;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Signals that baton forwards to the command's process group.
pub const FORWARDED: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGPIPE,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGSTKFLT,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGURG,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGWINCH,
    Signal::SIGIO,
    Signal::SIGPWR,
    // Job control of the command, not of baton: forwarded, the command
    // stops, and baton with it (see `job_control`). Blocked, SIGTTOU also
    // lets baton hand the terminal over from the background (`terminal`).
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    // The fault signals too: blocked, they reach baton's queue only when
    // someone sent them (kill, `si_code` <= 0); a real fault of baton's own
    // is delivered by the kernel whatever the mask, and is still a crash.
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGILL,
    Signal::SIGFPE,
    Signal::SIGTRAP,
    Signal::SIGABRT,
    Signal::SIGSYS,
];

/// Signals that, received while baton is still waiting, end the wait.
pub fn ends_wait(signal: Signal) -> bool {
    matches!(
        signal,
        Signal::SIGTERM
            | Signal::SIGINT
            | Signal::SIGHUP
            | Signal::SIGQUIT
            // Sent with kill, these would have ended baton by default.
            | Signal::SIGSEGV
            | Signal::SIGBUS
            | Signal::SIGILL
            | Signal::SIGFPE
            | Signal::SIGTRAP
            | Signal::SIGABRT
            | Signal::SIGSYS
    )
}

/// The signals routed through the signalfd: the forwarded ones and SIGCHLD.
fn routed() -> SigSet {
    let mut set = SigSet::empty();
    for &signal in FORWARDED {
        set.add(signal);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// The routed signals, blocked. Made first thing in `run`, before any thread
/// exists, so that every thread inherits the mask and no signal can be
/// delivered to a thread that would take the default action. Blocked signals
/// wait in the kernel's queue: a step that needs no async runtime takes them
/// from there itself (`wait`); the others read them through a signalfd
/// (`Signals`), which also sees what was queued before it existed.
#[derive(Debug)]
pub struct Blocked(SigSet);

/// Resets SIGCHLD's disposition and blocks the routed signals.
pub fn block() -> Result<Blocked> {
    reset_dispositions();
    let set = routed();
    set.thread_block().context("blocking signals")?;
    Ok(Blocked(set))
}

impl Blocked {
    /// The next routed signal, waiting at most `timeout` (for ever without
    /// one); `None` once the timeout has passed, or when the wait was
    /// interrupted.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<Option<Signal>> {
        let timeout = timeout.map(|t| libc::timespec {
            tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: t.subsec_nanos().into(),
        });
        let timeout_ptr = timeout.as_ref().map_or(ptr::null(), ptr::from_ref);
        // SAFETY: the set is a valid sigset_t; the info pointer may be null;
        // the timeout is null or points at a timespec that lives for the
        // whole call.
        let number = unsafe { libc::sigtimedwait(self.0.as_ref(), ptr::null_mut(), timeout_ptr) };
        if number >= 0 {
            return Ok(Some(to_signal(number.unsigned_abs())));
        }
        match Errno::last() {
            // Interrupted (a stop and continue, say): the caller looks at its
            // clock and asks again, as after a timeout.
            Errno::EAGAIN | Errno::EINTR => Ok(None),
            err => Err(err).context("sigtimedwait"),
        }
    }

    /// A signal already queued, if any.
    pub fn pending(&self) -> Result<Option<Signal>> {
        self.wait(Some(Duration::ZERO))
    }
}

/// Sets SIGCHLD's action to the default. Inherited as "ignore", it would make
/// the kernel reap baton's children itself, and baton would never learn its
/// command's exit status. The other routed signals need nothing: a blocked
/// signal is queued even when its action is "ignore", so baton receives and
/// forwards them whatever its parent did. The command inherits the other
/// dispositions as they are, as with tini and across any exec: a command
/// started under `nohup` keeps ignoring SIGHUP.
fn reset_dispositions() {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: installing SIG_DFL runs no code of ours in signal context; the
    // call cannot fail for SIGCHLD.
    let _ = unsafe { sigaction(Signal::SIGCHLD, &default) };
}

/// The signal source once inside the runtime.
#[derive(Debug)]
pub struct Signals {
    fd: AsyncFd<SignalFd>,
}

impl Signals {
    /// Opens a signalfd for the blocked signals and registers it with the
    /// runtime.
    pub fn register(blocked: &Blocked) -> Result<Self> {
        let fd = SignalFd::with_flags(&blocked.0, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .context("creating a signalfd")?;
        // SAFETY: the SignalFd owns its descriptor, which stays open and the same
        // for as long as the AsyncFd (its only owner) lives.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|err| err.into_parts().1)
            .context("registering the signalfd")?;
        Ok(Self { fd })
    }

    /// The next signal, waiting for one.
    pub async fn next(&mut self) -> Result<Signal> {
        loop {
            let mut guard = self
                .fd
                .readable_mut()
                .await
                .context("polling the signalfd")?;
            match guard.get_inner_mut().read_signal() {
                Ok(Some(info)) => return Ok(to_signal(info.ssi_signo)),
                Ok(None) => guard.clear_ready(),
                Err(err) => return Err(err).context("reading the signalfd"),
            }
        }
    }

    /// A signal already queued, if any.
    pub fn pending(&mut self) -> Result<Option<Signal>> {
        let info = self
            .fd
            .get_mut()
            .read_signal()
            .context("reading the signalfd")?;
        Ok(info.map(|info| to_signal(info.ssi_signo)))
    }
}

fn to_signal(number: u32) -> Signal {
    i32::try_from(number)
        .ok()
        .and_then(|n| Signal::try_from(n).ok())
        .unwrap_or(Signal::SIGCHLD)
}
