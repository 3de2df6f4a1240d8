//! Interactive containers and job control, under a real pseudo-terminal: the
//! command gets the terminal's foreground (it can read it, Ctrl-C and window
//! size changes reach it), an interactive shell gives its prompt, and Ctrl-Z
//! on baton under an interactive shell stops the job and gives the prompt
//! back. A small Python driver owns the terminal's master side.

use std::process::Command;

use crate::harness::BATON;

/// Runs `argv` as the session leader of a new pseudo-terminal, then, for each
/// `(expect, send)`, waits (20 s at most) until the output after the last
/// expectation met holds `expect` (or, for `FG:NAME`, until the terminal's foreground group is led
/// by a process whose command line holds NAME) and writes `send` (`\x03` is
/// Ctrl-C, `\x1a` Ctrl-Z, `WINCH` a window-size change instead). Returns the
/// output and the exit code.
const DRIVER: &str = r#"
import fcntl, json, os, pty, select, struct, sys, termios, time
argv, actions = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out = b""
seen = 0  # each expectation is looked for after the one before
def read(until, seconds):
    global out, seen
    end = time.time() + seconds
    while until is None or until.encode() not in out[seen:]:
        if time.time() > end:
            return until is None
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return until is None
            out += chunk
    at = out.index(until.encode(), seen)
    seen = at + len(until)
    return True
def foreground(name, seconds):
    end = time.time() + seconds
    while time.time() < end:
        read(None, 0.05)
        try:
            with open("/proc/%d/cmdline" % os.tcgetpgrp(fd), "rb") as f:
                if name.encode() in f.read():
                    return True
        except OSError:
            pass
    return False
ok = True
for expect, send in actions:
    if expect is not None and expect.startswith("FG:"):
        found = foreground(expect[3:], 20)
    else:
        found = expect is None or read(expect, 20)
    if not found:
        ok = False
        break
    if send == "WINCH":
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    elif send:
        os.write(fd, send.encode())
if not ok:
    os.kill(pid, 9)
end = time.time() + 20
status = None
while time.time() < end:
    read(None, 0.05)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(st)
        break
if status is None:
    os.kill(pid, 9)
read(None, 0.2)
print(json.dumps({"ok": ok, "status": status, "out": out.decode(errors="replace")}))
"#;

#[derive(Debug)]
struct Session {
    ok: bool,
    status: Option<i64>,
    out: String,
}

fn under_a_terminal(argv: &[&str], actions: &[(Option<&str>, &str)]) -> Session {
    let argv = serde_json::to_string(argv).unwrap();
    let actions = serde_json::to_string(actions).unwrap();
    let out = Command::new("python3")
        .args(["-c", DRIVER, &argv, &actions])
        .output()
        .expect("running python3");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("driver: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    Session {
        ok: result["ok"].as_bool().unwrap(),
        status: result["status"].as_i64(),
        out: result["out"].as_str().unwrap().to_owned(),
    }
}

#[test]
fn the_command_reads_the_terminal() {
    let s = under_a_terminal(
        &[BATON, "--", "sh", "-c", "echo ready; read x; echo got:$x"],
        &[(Some("ready"), "hello\n"), (Some("got:hello"), "")],
    );
    assert!(s.ok, "{s:?}");
    assert_eq!(s.status, Some(0), "{s:?}");
    assert!(!s.out.contains("Stopped"), "{s:?}");
}

#[test]
fn ctrl_c_reaches_the_command() {
    let s = under_a_terminal(
        &[BATON, "--", "sh", "-c", "echo ready; exec sleep 30"],
        &[(Some("ready"), "\x03")],
    );
    assert!(s.ok, "{s:?}");
    assert_eq!(s.status, Some(130), "{s:?}");
}

#[test]
fn a_window_size_change_reaches_the_command() {
    let probe = "import signal, sys, time\n\
                 signal.signal(signal.SIGWINCH, lambda *_: (print('resized', flush=True), sys.exit(0)))\n\
                 print('ready', flush=True)\n\
                 time.sleep(30)\n";
    let s = under_a_terminal(
        &[BATON, "--", "python3", "-c", probe],
        &[(Some("ready"), "WINCH"), (Some("resized"), "")],
    );
    assert!(s.ok, "{s:?}");
    assert_eq!(s.status, Some(0), "{s:?}");
}

#[test]
fn an_interactive_shell_gives_its_prompt() {
    let s = under_a_terminal(
        &[BATON, "--", "sh", "-i"],
        &[
            (Some("# "), "echo hi-$((6*7))\n"),
            (Some("hi-42"), "exit 7\n"),
        ],
    );
    assert!(s.ok, "{s:?}");
    assert_eq!(s.status, Some(7), "{s:?}");
}

/// Ctrl-Z on `baton -- sleep 30` under an interactive shell: the job stops,
/// the prompt comes back; `fg` continues it, and Ctrl-C then ends it.
#[test]
fn ctrl_z_stops_the_job_and_fg_continues_it() {
    let job = format!("{BATON} -- sleep 30\n");
    let s = under_a_terminal(
        &["sh", "-i"],
        &[
            (Some("# "), &job),
            // The command has the terminal once baton has started it.
            (Some("FG:sleep"), "\x1a"),
            (Some("Stopped"), "fg\n"),
            (Some("FG:sleep"), "\x03"),
            (Some("# "), "echo code:$?\n"),
            (Some("code:130"), "exit\n"),
        ],
    );
    assert!(s.ok, "{s:?}");
    assert_eq!(s.status, Some(0), "{s:?}");
}
