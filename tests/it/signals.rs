//! Signals: forwarded to the command's group, and stopping a wait.

use std::os::unix::process::CommandExt;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};

use crate::harness::{
    children_of, state, under, wait_for, wait_until_blocking, Sandbox, SUPERVISORS,
};

/// A probe that records every signal it receives, one number a line.
const PROBE: &str = r#"
import os, signal, sys, time
log = open(sys.argv[1], "a", buffering=1)
def record(n, _frame):
    log.write(f"{n}\n")
for n in range(1, 32):
    if n in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD):
        continue
    try:
        signal.signal(n, record)
    except (OSError, ValueError):
        pass
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.02)
"#;

#[test]
fn every_forwarded_signal_reaches_the_command() {
    for supervisor in SUPERVISORS {
        every_forwarded_signal_reaches_the_command_under(supervisor);
    }
}

fn every_forwarded_signal_reaches_the_command_under(supervisor: &[&str]) {
    let sb = Sandbox::new();
    let log = sb.path("log");
    // Debug logging: every forwarded signal is logged, for the failure report.
    let args = ["--log-level", "debug", "--", "python3", "-c", PROBE];
    let mut command = sb.baton(under(supervisor, &args));
    command.arg(&log).arg(sb.path("ready")).arg(sb.path("stop"));
    let run = sb.start(command);
    wait_for("the probe to install its handlers", || sb.exists("ready"));
    let forwarded = [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGPIPE,
        Signal::SIGALRM,
        Signal::SIGTERM,
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
        Signal::SIGSTKFLT,
        // Job control is the command's (it handles them here, so nothing stops).
        Signal::SIGTTIN,
        Signal::SIGTTOU,
        // Sent with kill, the fault signals are forwarded like any other.
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGILL,
        Signal::SIGFPE,
        Signal::SIGTRAP,
        Signal::SIGABRT,
        Signal::SIGSYS,
    ];
    for signal in forwarded {
        run.signal(signal);
        let line = format!("{}\n", signal as i32);
        wait_for(&format!("{signal} to reach the command"), || {
            std::fs::read_to_string(&log)
                .is_ok_and(|text| text.lines().any(|l| format!("{l}\n") == line))
        });
    }
    std::fs::write(sb.path("stop"), "").unwrap();
    let out = run.finish();
    out.expect_code(0);
}

/// The command starts with an empty mask whatever baton's parent blocked, and
/// with the dispositions baton's parent gave it, as with tini and across any
/// exec (a command under `nohup` keeps ignoring SIGHUP), but for SIGCHLD,
/// which baton needs at its default to learn how its children end.
#[test]
fn the_command_starts_with_an_empty_mask_and_inherited_dispositions() {
    let sb = Sandbox::new();
    let mut command = sb.baton(["--", "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let mut blocked = SigSet::empty();
            blocked.add(Signal::SIGUSR1);
            blocked.add(Signal::SIGTERM);
            nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None)?;
            nix::sys::signal::signal(Signal::SIGHUP, nix::sys::signal::SigHandler::SigIgn)?;
            nix::sys::signal::signal(Signal::SIGINT, nix::sys::signal::SigHandler::SigIgn)?;
            nix::sys::signal::signal(Signal::SIGTERM, nix::sys::signal::SigHandler::SigIgn)?;
            nix::sys::signal::signal(Signal::SIGCHLD, nix::sys::signal::SigHandler::SigIgn)?;
            // Signals glibc's own calls refuse (32 and 33, its internal ones;
            // posix_spawn leaves them ignored) and real-time ones, raw.
            let ignore = [1u64, 0, 0, 0]; // SIG_IGN, no flags, empty mask
            for signal in [5, 31, 32, 33, 34, 50, 64] {
                let rc = nix::libc::syscall(
                    nix::libc::SYS_rt_sigaction,
                    signal,
                    ignore.as_ptr(),
                    std::ptr::null_mut::<u8>(),
                    8usize,
                );
                if rc != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let out = sb.start(command).finish();
    out.expect_code(0);
    // Ignored as the parent left them: HUP, INT, TERM, 5, 31 to 34, 50, 64.
    let ignored: u64 = [1, 2, 15, 5, 31, 32, 33, 34, 50, 64]
        .iter()
        .map(|n| 1u64 << (n - 1))
        .sum();
    assert_eq!(
        out.stdout,
        format!("SigBlk:\t0000000000000000\nSigIgn:\t{ignored:016x}\n")
    );
}

#[test]
fn sigterm_kills_a_whole_background_pipeline() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let run = sb.start(sb.baton(under(
            supervisor,
            &[
                "--post-file",
                "out",
                "--",
                "sh",
                "-c",
                "echo $$ > pgid; sleep 1000 | sleep 1000 & sleep 1000 | cat & touch started; wait",
            ],
        )));
        wait_for("the pipeline to start", || sb.exists("started"));
        let group = sb.group("pgid");
        run.signal(Signal::SIGTERM);
        let out = run.finish();
        out.expect_code(128 + 15);
        assert!(!group.exists(), "part of the pipeline survived");
        assert_eq!(sb.read("out.err"), "143\n");
    }
}

/// A SIGTERM that reached the command is a stop, not a failure of the
/// command: `--on-error continue` does not turn it into a success.
#[test]
fn a_stop_signal_while_running_is_terminated_even_with_on_error_continue() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let run = sb.start(sb.baton(under(
            supervisor,
            &[
                "--on-error",
                "continue",
                "--post-file",
                "out",
                "--termination-path",
                "term",
                "--",
                "sh",
                "-c",
                "touch started; exec sleep 1000",
            ],
        )));
        wait_for("the command to start", || sb.exists("started"));
        run.signal(Signal::SIGTERM);
        run.finish().expect_code(128 + 15);
        assert_eq!(sb.read("out.err"), "143\n");
        assert!(sb.read("term").contains(r#""Reason","value":"Terminated""#));
    }
}

/// The anonymous inodes a process holds open ("signalfd", "eventpoll", ...).
fn anon_inodes(pid: i32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            link.strip_prefix("anon_inode:")
                .map(|kind| kind.trim_matches(['[', ']']).to_owned())
        })
        .collect()
}

/// A plain step takes its signals with `sigtimedwait` and builds no runtime
/// (no signalfd, no epoll); a step with something to watch reads them
/// through a signalfd in the runtime.
#[test]
fn a_plain_step_supervises_without_a_runtime() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let script = "touch started; while [ ! -e finish ]; do sleep 0.02; done";
        let run = sb.start(sb.baton(under(supervisor, &["--", "sh", "-c", script])));
        wait_for("the command to start", || sb.exists("started"));
        let held = anon_inodes(run.pid());
        if supervisor.is_empty() {
            assert!(held.is_empty(), "a plain step holds {held:?}");
        } else {
            for kind in ["signalfd", "eventpoll"] {
                assert!(held.iter().any(|h| h == kind), "no {kind} in {held:?}");
            }
        }
        std::fs::write(sb.path("finish"), "").unwrap();
        run.finish().expect_code(0);
    }
}

#[test]
fn sigterm_while_waiting_stops_the_wait_and_fails_the_step() {
    for (signal, code) in [(Signal::SIGTERM, 143), (Signal::SIGINT, 130)] {
        let sb = Sandbox::new();
        let run = sb.start(sb.baton([
            "--wait-file",
            "never",
            "--post-file",
            "out",
            "--termination-path",
            "term",
            "--",
            "touch",
            "ran",
        ]));
        wait_until_blocking(run.pid(), signal);
        run.signal(signal);
        let out = run.finish();
        out.expect_code(code);
        assert!(!sb.exists("ran"));
        assert_eq!(sb.read("out.err"), format!("{code}\n"));
        assert!(sb.read("term").contains(r#""Reason","value":"Terminated""#));
    }
}

/// A parent that left SIGCHLD ignored would have the kernel reap baton's
/// children behind its back; and one that left SIGTERM ignored must still be
/// able to stop baton (a blocked signal is queued even when ignored).
#[test]
fn signals_the_parent_ignored_still_work_for_baton() {
    let sb = Sandbox::new();
    let ignoring = |args: &[&str]| {
        let mut command = sb.baton(args);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                nix::sys::signal::signal(Signal::SIGCHLD, nix::sys::signal::SigHandler::SigIgn)?;
                nix::sys::signal::signal(Signal::SIGTERM, nix::sys::signal::SigHandler::SigIgn)?;
                Ok(())
            });
        }
        command
    };
    let out = sb.start(ignoring(&["--", "sh", "-c", "exit 3"])).finish();
    out.expect_code(3);
    // While the command runs (it catches SIGTERM itself, as the ignored
    // disposition passes through to it): baton still forwards it.
    let catcher = "import signal, sys, time\n\
                   signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n\
                   open('started', 'w').close()\n\
                   time.sleep(1000)";
    for supervisor in SUPERVISORS {
        let _ = std::fs::remove_file(sb.path("started"));
        let run = sb.start(ignoring(&under(
            supervisor,
            &["--", "python3", "-c", catcher],
        )));
        wait_for("the command to start", || sb.exists("started"));
        run.signal(Signal::SIGTERM);
        run.finish().expect_code(7);
    }
    let run = sb.start(ignoring(&[
        "--wait-file",
        "never",
        "--post-file",
        "out",
        "--",
        "true",
    ]));
    run.wait_watching();
    run.signal(Signal::SIGTERM);
    run.finish().expect_code(128 + 15);
    assert_eq!(sb.read("out.err"), "143\n");
}

/// A command stopped by someone (SIGSTOP) leaves baton running: SIGTERM
/// still ends it, baton sending SIGCONT after it so the command can act.
#[test]
fn a_stopped_command_still_ends_on_sigterm() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let run = sb.start(sb.baton(under(supervisor, &["--", "sleep", "30"])));
        let pid = run.pid();
        // Once it has exec'd: stopped between clone and exec, the child
        // would keep baton in its vfork wait, signals blocked (a window of
        // microseconds no operator's SIGSTOP hits; a test on a loaded
        // machine can).
        wait_for("the command", || {
            children_of(pid).iter().any(|(_, _, comm)| comm == "sleep")
        });
        let command = children_of(pid)[0].0;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(command), Signal::SIGSTOP).unwrap();
        wait_for("the command to stop", || state(command) == 'T');
        assert_ne!(state(pid), 'T', "baton runs on");
        run.signal(Signal::SIGTERM);
        run.finish().expect_code(143);
    }
}

/// SIGTTIN sent to baton is the command's job control: the command stops,
/// and baton with it; SIGCONT to baton continues both.
#[test]
fn sigttin_stops_the_command_and_baton_and_sigcont_continues_both() {
    let sb = Sandbox::new();
    let run = sb.start(sb.baton(["--", "sleep", "30"]));
    let pid = run.pid();
    // Once the command runs, baton has blocked its signals (the first thing
    // it does); /proc's SigBlk cannot tell, as `sigtimedwait` unblocks them
    // while it waits.
    wait_for("the command", || !children_of(pid).is_empty());
    let command = children_of(pid)[0].0;
    run.signal(Signal::SIGTTIN);
    wait_for("both to stop", || {
        state(command) == 'T' && state(pid) == 'T'
    });
    run.signal(Signal::SIGCONT);
    wait_for("both to go on", || {
        state(command) != 'T' && state(pid) != 'T'
    });
    run.signal(Signal::SIGTERM);
    run.finish().expect_code(143);
}
