//! The one harness of the integration tests: a temporary directory per test,
//! the built binary, and helpers that wait for a condition with a deadline
//! (never a fixed sleep as an assertion) and show the child's output when a
//! test fails.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BATON: &str = env!("CARGO_BIN_EXE_baton");

/// How long any single condition may take before a test fails. Generous,
/// because CI is a loaded 2-core machine; a passing test never waits it out.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A temporary directory for one test.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("creating a temporary directory"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A baton command that runs in the sandbox.
    pub fn baton<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(BATON);
        command.args(args).current_dir(self.root());
        command
    }

    /// A baton command like `baton`, with its Tekton directory
    /// (`BATON_TEKTON_ROOT`) at `tekton` in the sandbox.
    pub fn baton_in_tekton<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.baton(args);
        command.env("BATON_TEKTON_ROOT", self.path("tekton"));
        command
    }

    /// Starts a command with captured output. A method, though it needs no
    /// state, so that every start reads `sb.start(...)` next to its sandbox.
    #[allow(clippy::unused_self)]
    pub fn start(&self, mut command: Command) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting baton");
        let stdout = Capture::start(child.stdout.take());
        let stderr = Capture::start(child.stderr.take());
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// Runs baton to its end (within the deadline) and returns what it did.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.start(self.baton(args)).finish()
    }

    /// Runs `baton_in_tekton` to its end, as `run`.
    pub fn run_in_tekton<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.start(self.baton_in_tekton(args)).finish()
    }

    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    /// The process group written to `name`, once it is written.
    pub fn group(&self, name: &str) -> Group {
        let id = self
            .wait_line(name)
            .trim()
            .parse()
            .expect("a process group id");
        Group(nix::unistd::Pid::from_raw(id))
    }

    /// Waits until the file holds a whole line (a shell's `echo x > f` creates
    /// the file before it writes), then returns the file.
    pub fn wait_line(&self, name: &str) -> String {
        wait_for(&format!("a line in {name}"), || {
            fs::read_to_string(self.path(name)).is_ok_and(|t| t.ends_with('\n'))
        });
        self.read(name)
    }
}

/// A stream read to its end by a thread of its own, so that a grandchild
/// holding the pipe open cannot block a test.
struct Capture {
    text: Arc<Mutex<Vec<u8>>>,
    done: Arc<AtomicBool>,
}

impl Capture {
    fn start(stream: Option<impl Read + Send + 'static>) -> Self {
        let text = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let (t, d) = (Arc::clone(&text), Arc::clone(&done));
        std::thread::spawn(move || {
            if let Some(mut stream) = stream {
                let mut buf = [0u8; 8192];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    t.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            }
            d.store(true, Ordering::SeqCst);
        });
        Self { text, done }
    }

    /// What was read: all of it once the stream closed, or, if a leftover
    /// process keeps it open past a short wait, what had arrived by then.
    fn take(&self) -> String {
        let start = Instant::now();
        while !self.done.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(5));
        }
        String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned()
    }
}

/// A started process whose output is captured.
pub struct Running {
    pub child: Child,
    stdout: Capture,
    stderr: Capture,
}

/// A test that fails half-way leaves nothing running: baton gets SIGTERM,
/// which it forwards to its command's group before it exits; SIGKILL if it
/// has not ended within two seconds.
impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Running {
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// Ends the process if it still runs: SIGTERM, which baton forwards to
    /// its command's group before it exits, then SIGKILL if it has not ended
    /// within two seconds (a command that ignores SIGTERM then outlives it).
    fn stop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let pid = nix::unistd::Pid::from_raw(self.pid());
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let start = Instant::now();
        while matches!(self.child.try_wait(), Ok(None)) {
            if start.elapsed() > Duration::from_secs(2) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the process to end within the deadline; stops it and fails otherwise.
    pub fn finish(mut self) -> Output {
        let status = self.wait_deadline();
        Output {
            status,
            stdout: self.stdout.take(),
            stderr: self.stderr.take(),
        }
    }

    /// Whether the process has ended (without reaping output).
    pub fn has_exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    fn wait_deadline(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > DEADLINE {
                self.stop();
                panic!(
                    "process did not end within {DEADLINE:?}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout.take(),
                    self.stderr.take()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until baton has its inotify watch set: it is waiting.
    pub fn wait_watching(&self) {
        let pid = u64::try_from(self.pid()).unwrap();
        wait_for("baton to watch", || is_watching(pid));
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal).unwrap();
    }
}

/// What a finished process did.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {self:?}"))
    }

    /// Asserts the exit code, showing the output if it is not the expected one.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.status.code(),
            Some(code),
            "unexpected exit status\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// The two loops that supervise a command: a plain step's, without an async
/// runtime, and the runtime's, which a step takes as soon as it has anything
/// to wait for, watch, probe or capture (here a stop file that never
/// appears). Tests of what both share run under each; the extra arguments go
/// first.
pub const SUPERVISORS: [&[&str]; 2] = [&[], &["--stop-file", "never-written"]];

/// `args` after the extra arguments of one of the `SUPERVISORS`, which is
/// named on stderr (shown when the test fails).
pub fn under<'a>(supervisor: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
    eprintln!(
        "supervisor: {}",
        if supervisor.is_empty() {
            "plain"
        } else {
            "runtime"
        }
    );
    supervisor.iter().chain(args).copied().collect()
}

/// Polls `condition` until it holds; panics with `what` after the deadline.
pub fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The processes whose parent is `parent`: (pid, state letter, command name).
pub fn children_of(parent: i32) -> Vec<(i32, char, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split at the last ')'.
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c).to_owned();
        let mut fields = tail.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: i32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == parent {
            out.push((pid, state, comm));
        }
    }
    out
}

/// A process group that a test's command wrote down (`echo $$ > NAME`).
/// Killed when dropped: a command whose baton a test killed with SIGKILL, or a test that
/// failed half-way, must not leave processes behind.
#[derive(Debug)]
pub struct Group(nix::unistd::Pid);

impl Group {
    /// Whether any process of the group is left.
    pub fn exists(&self) -> bool {
        !matches!(
            nix::sys::signal::killpg(self.0, None),
            Err(nix::errno::Errno::ESRCH)
        )
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(self.0, nix::sys::signal::Signal::SIGKILL);
    }
}

/// Whether we are root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Fails a test that cannot run here, saying why. A test that needs what a
/// machine may lack (root, runc, `unshare`, `chroot`) is `#[ignore]`d, so
/// that cargo's summary counts it as ignored, never as passed; `scripts/test`
/// includes it where it can run, and always under `CI=true`. Included where it
/// cannot run, it fails here, first thing.
#[track_caller]
pub fn cannot_run(why: &str) -> ! {
    panic!("cannot run here: {why}")
}

/// Fails the test at once (see `cannot_run`) unless we are root and every one
/// of `tools` is on `PATH`; `what` names what needs them.
#[track_caller]
pub fn require_root(what: &str, tools: &[&str]) {
    if !is_root() {
        cannot_run(&format!("{what} needs root"));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for tool in tools {
        if !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()) {
            cannot_run(&format!("{what} needs {tool}, which is not on PATH"));
        }
    }
}

/// Waits until process `pid` blocks `signal` (baton does so first thing, so a
/// signal sent afterwards is queued for it rather than killing it).
pub fn wait_until_blocking(pid: i32, signal: nix::sys::signal::Signal) {
    let bit = 1u64 << (signal as i32 - 1);
    wait_for(&format!("process {pid} to block {signal}"), || {
        fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("SigBlk:"))
                .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
                .is_some_and(|mask| mask & bit != 0)
        })
    });
}

/// The state letter of process `pid` (`S`, `T`, …) in /proc/PID/stat, or
/// `?` if it is gone.
pub fn state(pid: i32) -> char {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next())
        })
        .unwrap_or('?')
}

/// How often process `pid` has gone to sleep (its voluntary context switches).
pub fn voluntary_switches(pid: i32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("process {pid}: {e}"))
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

/// Waits until process `pid` has settled: asleep, and not switching, for
/// 50 ms (an inotify watch can be in place a moment before the process
/// goes to sleep on it: its last look, then the block). Fails at once if
/// it ends instead.
pub fn wait_settled(what: &str, pid: i32) {
    wait_for(what, || {
        let start = voluntary_switches(pid);
        std::thread::sleep(Duration::from_millis(50));
        let now = state(pid);
        assert!(
            !matches!(now, 'Z' | 'X' | '?'),
            "process {pid} ended while waiting for {what}"
        );
        now == 'S' && voluntary_switches(pid) == start
    });
}

/// Whether process `pid` has an inotify watch set (a line `inotify wd:` in the
/// fdinfo of one of its descriptors): baton is waiting, its watch in place.
pub fn is_watching(pid: u64) -> bool {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| fs::read_to_string(fd.path()).is_ok_and(|info| info.contains("inotify wd:")))
}

/// A termination message's entries as (key, value, type); panics, naming the
/// text, if it is not Tekton's format.
pub fn termination_entries(text: &str) -> Vec<(String, String, u64)> {
    let value: serde_json::Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("bad termination message {text:?}: {e}"));
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {text:?}"))
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
                e["type"].as_u64().unwrap(),
            )
        })
        .collect()
}
