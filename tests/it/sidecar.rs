//! Sidecars: readiness markers and probes, stop files, Jobs that complete.

use std::net::TcpListener;
use std::time::Duration;

use crate::harness::{voluntary_switches, wait_for, wait_settled, Sandbox};

/// A free TCP port on the loopback (bound, read, released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP server that opens its port only after 300 ms, records its process
/// group, and serves until killed.
const LATE_TCP_SERVER: &str = r#"
import os, socket, sys, time
open("sidecar.pgid", "w").write(f"{os.getpgrp()}\n")
time.sleep(0.3)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
open("listening", "w").close()
while True:
    c, _ = s.accept()
    c.close()
"#;

/// Connects once to the port; exits 1 if nobody listens.
const CONNECT: &str = r#"
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
print("connected")
"#;

fn termination_has(sb: &Sandbox, name: &str, needle: &str) -> bool {
    sb.read(name).contains(needle)
}

#[test]
fn a_step_starts_only_once_the_sidecar_listens_and_stops_it_when_done() {
    let sb = Sandbox::new();
    let port = free_port().to_string();
    let sidecar = sb.start(sb.baton([
        "--ready-file",
        "m/sidecar.ready",
        "--ready-probe",
        &format!("tcp:127.0.0.1:{port}"),
        "--stop-file",
        "m/app",
        "--post-file",
        "m/sidecar",
        "--termination-path",
        "sidecar.term",
        "--",
        "python3",
        "-c",
        LATE_TCP_SERVER,
        &port,
    ]));
    let app = sb.start(sb.baton([
        "--wait-file",
        "m/sidecar.ready",
        "--post-file",
        "m/app",
        "--",
        "python3",
        "-c",
        CONNECT,
        &port,
    ]));
    let out = app.finish();
    out.expect_code(0);
    assert_eq!(out.stdout, "connected\n");
    assert!(sb.exists("listening"));
    // The app's marker is the sidecar's stop file: the sidecar ends, as a success.
    sidecar.finish().expect_code(0);
    assert_eq!(sb.read("m/sidecar"), "0\n");
    assert!(termination_has(
        &sb,
        "sidecar.term",
        r#""Reason","value":"Stopped""#
    ));
    let group = sb.group("sidecar.pgid");
    assert!(!group.exists(), "the sidecar left a process behind");
}

/// An HTTP server that answers 503 to its first three requests, then 200,
/// logging each status before it sends it.
const FLAKY_HTTP_SERVER: &str = r#"
import http.server, sys
count = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global count
        count += 1
        status = 503 if count <= 3 else 200
        with open("statuses", "a") as log:
            log.write(f"{status} {self.path}\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

#[test]
fn an_http_probe_waits_for_a_2xx_answer() {
    let sb = Sandbox::new();
    let port = free_port().to_string();
    let sidecar = sb.start(sb.baton([
        "--ready-file",
        "ready",
        "--ready-probe",
        &format!("http://127.0.0.1:{port}/healthz"),
        "--ready-interval",
        "20ms",
        "--stop-file",
        "stop",
        "--",
        "python3",
        "-c",
        FLAKY_HTTP_SERVER,
        &port,
    ]));
    wait_for("the ready file", || sb.exists("ready"));
    let statuses = sb.read("statuses");
    let lines: Vec<&str> = statuses.lines().collect();
    assert_eq!(&lines[..3], ["503 /healthz"; 3], "{statuses}");
    assert_eq!(lines[3], "200 /healthz", "ready before a 200: {statuses}");
    std::fs::write(sb.path("stop"), "").unwrap();
    sidecar.finish().expect_code(0);
}

#[test]
fn exec_and_file_probes_and_a_stale_ready_file() {
    let sb = Sandbox::new();
    // Left from an earlier run of the same container: must not count.
    std::fs::write(sb.path("ready"), "ready\n").unwrap();
    let mut sidecar = sb.start(sb.baton([
        "--ready-file",
        "ready",
        "--ready-probe",
        "exec:test -e gate1",
        "--ready-probe",
        "file:gate2",
        "--ready-interval",
        "20ms",
        "--stop-file",
        "stop",
        "--",
        "sh",
        "-c",
        "touch started; exec sleep 1000",
    ]));
    wait_for("the sidecar to start", || sb.exists("started"));
    assert!(
        !sb.exists("ready"),
        "a stale ready file survived the restart"
    );
    std::fs::write(sb.path("gate1"), "").unwrap();
    std::fs::write(sb.path("gate2"), "").unwrap();
    wait_for("the ready file", || sb.exists("ready"));
    assert!(!sidecar.has_exited());
    std::fs::write(sb.path("stop"), "").unwrap();
    sidecar.finish().expect_code(0);
}

#[test]
fn no_probe_means_ready_once_started() {
    let sb = Sandbox::new();
    let sidecar = sb.start(sb.baton([
        "--ready-file",
        "ready",
        "--stop-file",
        "stop",
        "--",
        "sleep",
        "1000",
    ]));
    wait_for("the ready file", || sb.exists("ready"));
    std::fs::write(sb.path("stop"), "").unwrap();
    sidecar.finish().expect_code(0);
}

#[test]
fn not_ready_in_time_fails_the_sidecar_and_its_waiters_fast() {
    let sb = Sandbox::new();
    let port = free_port().to_string();
    let sidecar = sb.start(sb.baton([
        "--ready-file",
        "ready",
        "--ready-probe",
        &format!("tcp:127.0.0.1:{port}"),
        "--ready-timeout",
        "300ms",
        "--grace-period",
        "5s",
        "--post-file",
        "sidecar",
        "--termination-path",
        "term",
        "--",
        "sleep",
        "1000",
    ]));
    let waiter = sb.start(sb.baton(["--wait-file", "ready", "--", "touch", "ran"]));
    let out = sidecar.finish();
    out.expect_code(1);
    assert!(out.stderr.contains("not ready"), "{}", out.stderr);
    assert_eq!(sb.read("ready.err"), "1\n");
    assert_eq!(sb.read("sidecar.err"), "1\n");
    assert!(termination_has(
        &sb,
        "term",
        r#""Reason","value":"NotReady""#
    ));
    waiter.finish().expect_code(1);
    assert!(!sb.exists("ran"));
}

#[test]
fn a_job_chain_completes_and_its_sidecar_leaves_nothing_behind() {
    let sb = Sandbox::new();
    let sidecar = sb.start(sb.baton([
        "--ready-file",
        "m/sidecar.ready",
        // Ready once its group is written down: the chain can be over
        // before the sidecar's shell has run a line otherwise.
        "--ready-probe",
        "file:sidecar.pgid",
        "--stop-file",
        "m/3",
        "--post-file",
        "m/sidecar",
        "--",
        "sh",
        "-c",
        "echo $$ > sidecar.pgid; sleep 1000 & while :; do sleep 0.05; done",
    ]));
    let steps: Vec<_> = (1..=3)
        .rev()
        .map(|i| {
            let wait = if i == 1 {
                "m/sidecar.ready".to_owned()
            } else {
                format!("m/{}", i - 1)
            };
            sb.start(sb.baton([
                "--wait-file".to_owned(),
                wait,
                "--post-file".to_owned(),
                format!("m/{i}"),
                "--".to_owned(),
                "sh".to_owned(),
                "-c".to_owned(),
                format!("echo {i} >> log"),
            ]))
        })
        .collect();
    for step in steps {
        step.finish().expect_code(0);
    }
    assert_eq!(sb.read("log"), "1\n2\n3\n");
    sidecar.finish().expect_code(0);
    let group = sb.group("sidecar.pgid");
    assert!(!group.exists(), "the sidecar left a process behind");
}

#[test]
fn a_sidecar_ignoring_sigterm_is_killed_after_the_grace_period() {
    for (keep, code) in [(false, 0), (true, 137)] {
        let sb = Sandbox::new();
        let mut args = vec![
            "--stop-file",
            "stop",
            "--grace-period",
            "300ms",
            "--post-file",
            "out",
        ];
        if keep {
            args.push("-stop_keeps_exit_code");
        }
        args.extend([
            "--",
            "sh",
            "-c",
            "trap '' TERM; echo $$ > pgid; while :; do sleep 0.05; done",
        ]);
        let run = sb.start(sb.baton(args));
        sb.wait_line("pgid");
        std::fs::write(sb.path("stop"), "").unwrap();
        let started = std::time::Instant::now();
        run.finish().expect_code(code);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300),
            "killed before the grace period: {took:?}"
        );
        let group = sb.group("pgid");
        assert!(!group.exists());
        let marker = if code == 0 { "out" } else { "out.err" };
        assert_eq!(sb.read(marker), format!("{code}\n"));
    }
}

#[test]
fn a_stop_file_present_while_waiting_means_the_command_never_starts() {
    let sb = Sandbox::new();
    let run = sb.start(sb.baton([
        "--wait-file",
        "never",
        "--stop-file",
        "done",
        "--post-file",
        "out",
        "--",
        "touch",
        "ran",
    ]));
    std::fs::write(sb.path("done.err"), "1\n").unwrap();
    run.finish().expect_code(0);
    assert!(!sb.exists("ran"));
    assert_eq!(sb.read("out"), "0\n");
}

#[test]
fn success_exit_codes_count_as_success() {
    let sb = Sandbox::new();
    sb.run([
        "--success-exit-codes",
        "3,143",
        "--post-file",
        "out",
        "--",
        "sh",
        "-c",
        "exit 3",
    ])
    .expect_code(0);
    assert_eq!(sb.read("out"), "0\n");
    sb.run([
        "-success_exit_codes=3",
        "--post-file",
        "out2",
        "--",
        "sh",
        "-c",
        "exit 4",
    ])
    .expect_code(4);
    let out = sb.run(["--success-exit-codes", "300", "--", "true"]);
    out.expect_code(2);
    assert!(out.stderr.contains("300"), "{}", out.stderr);
}

/// A sidecar that never runs its command (its own wait failed upstream) still
/// settles its ready file: `READY.err`, so that its waiters skip rather than
/// take it for a sidecar that has not started.
#[test]
fn a_sidecar_skipped_before_it_ran_fails_its_ready_file() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("up.err"), "1\n").unwrap();
    sb.run([
        "--wait-file",
        "up",
        "--ready-file",
        "ready",
        "--post-file",
        "side",
        "--",
        "sleep",
        "100",
    ])
    .expect_code(1);
    assert_eq!(sb.read("ready.err"), "1\n");
    assert!(!sb.exists("ready"));
    // A waiter of the sidecar skips at once.
    sb.run(["--wait-file", "ready", "--", "true"])
        .expect_code(1);
}

/// A retry may still get ready: the attempt that ended before it was ready
/// leaves no `READY.err` behind for the waiters to fail on.
#[test]
fn an_attempt_that_ends_before_ready_does_not_fail_the_waiters_of_a_retry() {
    let sb = Sandbox::new();
    let run = sb.start(sb.baton([
        "--ready-file",
        "ready",
        "--ready-probe",
        "file:ok",
        "--retries",
        "1",
        "--retry-delay",
        "0s",
        "--stop-file",
        "stop",
        "--post-file",
        "side",
        "--",
        "sh",
        "-c",
        "if [ -e tried ]; then touch ok; exec sleep 100; fi; touch tried; exit 3",
    ]));
    wait_for("the retry to get ready", || sb.exists("ready"));
    assert!(
        !sb.exists("ready.err"),
        "the first attempt failed the waiters"
    );
    std::fs::write(sb.path("stop"), "").unwrap();
    run.finish().expect_code(0);
    assert!(!sb.exists("ready.err"));
}

/// A sidecar whose command cannot be started settles its ready file with the
/// same code as its verdict.
#[test]
fn a_sidecar_that_cannot_start_fails_its_ready_file() {
    let sb = Sandbox::new();
    sb.run([
        "--ready-file",
        "ready",
        "--post-file",
        "side",
        "--",
        "no-such-command-xyz",
    ])
    .expect_code(127);
    assert_eq!(sb.read("ready.err"), "127\n");
    assert_eq!(sb.read("side.err"), "127\n");
}

/// `exec-json:` gives an exec probe its exact words, a space inside one
/// included, as a Kubernetes exec probe has them.
#[test]
fn an_exec_json_probe_passes_its_words_exactly() {
    let sb = Sandbox::new();
    let out = sb.run([
        "--ready-file",
        "r",
        "--ready-probe",
        r#"exec-json:["sh","-c","test -e 'a b'"]"#,
        "--ready-timeout",
        "20s",
        "--",
        "sh",
        "-c",
        "touch 'a b'; while [ ! -e r ]; do sleep 0.01; done",
    ]);
    out.expect_code(0);
    assert_eq!(sb.read("r"), "ready\n");
}

/// With `--stop-when-all`, a sidecar stops once every end of a DAG has its
/// verdict, not at the first.
#[test]
fn a_sidecar_stops_when_all_its_stop_files_say_so() {
    let sb = Sandbox::new();
    let mut sidecar = sb.start(sb.baton([
        "--stop-file",
        "end-a,end-b",
        "--stop-when-all",
        "--post-file",
        "s",
        "--",
        "sh",
        "-c",
        "touch started; exec sleep 30",
    ]));
    wait_for("the sidecar", || sb.exists("started"));
    wait_settled("the sidecar to sleep on its watch", sidecar.pid());
    let before = voluntary_switches(sidecar.pid());
    std::fs::write(sb.path("end-a"), "0\n").unwrap();
    // One end is not enough: woken by it, the sidecar looks, and goes back
    // to sleep on its watch with its command still running (one that stops
    // at the first end would be ending, or gone, instead).
    wait_for("the sidecar to wake for the first end", || {
        voluntary_switches(sidecar.pid()) > before
    });
    wait_settled("the sidecar to wait again", sidecar.pid());
    assert!(
        !sb.exists("s") && !sidecar.has_exited(),
        "stopped at the first end"
    );
    std::fs::write(sb.path("end-b.err"), "1\n").unwrap();
    let out = sidecar.finish();
    out.expect_code(0);
    assert_eq!(sb.read("s"), "0\n");
}
