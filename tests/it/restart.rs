//! Lost predecessors and restarts: SIGKILL, OOM, `restartPolicy: OnFailure`,
//! a recreated sandbox whose emptyDir survived.

use std::time::Instant;

use nix::sys::signal::Signal;

use crate::harness::{wait_for, Sandbox};

/// Step a, whose command runs until the test kills baton (its group id in
/// `a.pgid`).
const A_UNTIL_KILLED: [&str; 6] = [
    "--post-file",
    "m/a",
    "--",
    "sh",
    "-c",
    "echo $$ > a.pgid; exec sleep 1000",
];

/// Step b after a, which logs that it ran.
const B_LOGS: [&str; 8] = [
    "--wait-file",
    "m/a",
    "--post-file",
    "m/b",
    "--",
    "sh",
    "-c",
    "echo b >> log",
];

#[test]
fn a_killed_step_fails_its_successor_within_a_second_and_the_rest_skip() {
    let sb = Sandbox::new();
    let a = sb.start(sb.baton(A_UNTIL_KILLED));
    let b = sb.start(sb.baton([
        "--wait-file",
        "m/a",
        "--post-file",
        "m/b",
        "--termination-path",
        "b.term",
        "--",
        "touch",
        "b-ran",
    ]));
    let c = sb.start(sb.baton([
        "--wait-file",
        "m/b",
        "--post-file",
        "m/c",
        "--termination-path",
        "c.term",
        "--",
        "touch",
        "c-ran",
    ]));
    // The command outlives its SIGKILLed baton here (no container): `_a` kills it.
    let _a = sb.group("a.pgid");
    assert!(sb.exists("m/a.lock"));
    b.wait_watching();
    let killed = Instant::now();
    a.signal(Signal::SIGKILL);
    wait_for("step b to give up", || sb.exists("m/b.err"));
    let noticed = killed.elapsed();
    eprintln!("predecessor loss noticed after {noticed:?}");
    let out = b.finish();
    out.expect_code(1);
    assert!(
        out.stderr.contains("died without a verdict"),
        "{}",
        out.stderr
    );
    assert!(sb
        .read("b.term")
        .contains(r#""Reason","value":"PredecessorLost""#));
    assert!(noticed.as_millis() < 1000, "took {noticed:?}");
    c.finish().expect_code(1);
    assert!(sb.read("c.term").contains(r#""Reason","value":"Skipped""#));
    assert!(!sb.exists("b-ran") && !sb.exists("c-ran"));
}

#[test]
fn after_a_lost_predecessor_restarts_the_chain_converges() {
    let sb = Sandbox::new();
    // First attempt of a: killed without a verdict; b gives up.
    let a = sb.start(sb.baton(A_UNTIL_KILLED));
    let b = sb.start(sb.baton(B_LOGS));
    let first_a = sb.group("a.pgid");
    b.wait_watching();
    a.signal(Signal::SIGKILL);
    b.finish().expect_code(1);
    drop(first_a);
    drop(a);
    // The kubelet restarts b first: a's stale lock is still there, so b fails again.
    sb.run(B_LOGS).expect_code(1);
    // Then a, which takes its lock again, and b once more while a runs.
    std::fs::remove_file(sb.path("a.pgid")).unwrap();
    let a = sb.start(sb.baton([
        "--post-file",
        "m/a",
        "--",
        "sh",
        "-c",
        "echo $$ > a.pgid; while [ ! -e go ]; do sleep 0.02; done; echo a >> log",
    ]));
    sb.wait_line("a.pgid");
    let b = sb.start(sb.baton(B_LOGS));
    b.wait_watching();
    assert!(
        !sb.exists("m/b.err"),
        "the stale failure of b survived its restart"
    );
    std::fs::write(sb.path("go"), "").unwrap();
    a.finish().expect_code(0);
    b.finish().expect_code(0);
    assert_eq!(sb.read("log"), "a\nb\n");
    assert!(!sb.exists("m/a.lock"), "a left its lock file behind");
}

#[test]
fn a_restarted_successful_step_does_not_run_twice() {
    let sb = Sandbox::new();
    let step = ["--post-file", "m/a", "--", "sh", "-c", "echo run >> runs"];
    sb.run(step).expect_code(0);
    let out = sb.run(step);
    out.expect_code(0);
    assert_eq!(sb.read("runs"), "run\n");
    let mut rerun = vec!["--rerun"];
    rerun.extend(step);
    sb.run(rerun).expect_code(0);
    assert_eq!(sb.read("runs"), "run\nrun\n");
}

#[test]
fn a_restarted_failed_step_runs_again_and_lets_its_waiter_finish() {
    let sb = Sandbox::new();
    let a = [
        "--post-file",
        "m/a",
        "--",
        "sh",
        "-c",
        "echo a >> log; [ -e second ] || { touch second; exit 3; }",
    ];
    let first_b = sb.start(sb.baton(B_LOGS));
    sb.run(a).expect_code(3);
    first_b.finish().expect_code(1);
    assert_eq!(sb.read("m/b.err"), "1\n");
    // restartPolicy: OnFailure restarts both; here a first, then b.
    sb.run(a).expect_code(0);
    assert!(
        !sb.exists("m/a.err"),
        "the stale failure marker of a survived"
    );
    sb.run(B_LOGS).expect_code(0);
    assert!(!sb.exists("m/b.err"));
    assert_eq!(sb.read("log"), "a\na\nb\n");
}

#[test]
fn no_kill_group_leaves_leftovers_alone() {
    let sb = Sandbox::new();
    sb.run([
        "--no-kill-group",
        "--",
        "sh",
        "-c",
        "echo $$ > pgid; sleep 1000 > /dev/null 2>&1 &",
    ])
    .expect_code(0);
    let group = sb.group("pgid");
    assert!(
        group.exists(),
        "the leftover was stopped despite --no-kill-group"
    );
}

#[test]
fn a_sidecar_stops_when_the_step_it_waits_to_end_is_killed() {
    let sb = Sandbox::new();
    let sidecar = sb.start(sb.baton([
        "--stop-file",
        "m/last",
        "--post-file",
        "m/sidecar",
        "--",
        "sleep",
        "1000",
    ]));
    let last = sb.start(sb.baton([
        "--post-file",
        "m/last",
        "--",
        "sh",
        "-c",
        "echo $$ > last.pgid; exec sleep 1000",
    ]));
    let _last_command = sb.group("last.pgid");
    sidecar.wait_watching();
    last.signal(Signal::SIGKILL);
    sidecar.finish().expect_code(0);
    assert_eq!(sb.read("m/sidecar"), "0\n");
}

#[test]
fn the_waiters_of_a_sidecar_killed_before_it_was_ready_fail_fast() {
    let sb = Sandbox::new();
    let sidecar = sb.start(sb.baton([
        "--ready-file",
        "m/ready",
        "--ready-probe",
        "file:never",
        "--",
        "sh",
        "-c",
        "echo $$ > sidecar.pgid; exec sleep 1000",
    ]));
    let app = sb.start(sb.baton([
        "--wait-file",
        "m/ready",
        "--termination-path",
        "t",
        "--",
        "touch",
        "ran",
    ]));
    let _sidecar_command = sb.group("sidecar.pgid");
    app.wait_watching();
    sidecar.signal(Signal::SIGKILL);
    app.finish().expect_code(1);
    assert!(!sb.exists("ran"));
    assert!(sb
        .read("t")
        .contains(r#""Reason","value":"PredecessorLost""#));
}

/// A whole pod restarted in place (its init container runs `baton install`
/// again, a new run): the markers of the run before count for nothing, and
/// the chain runs again. One container restarted (no install since) resumes.
#[test]
fn a_new_run_of_the_pod_runs_the_chain_again() {
    let sb = Sandbox::new();
    let install = |sb: &Sandbox| {
        sb.run(["install", "bin/"]).expect_code(0);
    };
    install(&sb);
    let baton = sb.path("bin/baton");
    let step = |args: &[&str]| {
        let mut command = std::process::Command::new(&baton);
        command.args(args).current_dir(sb.root());
        sb.start(command)
    };
    let first = ["--post-file", "m/1", "--", "sh", "-c", "echo run >> log"];
    let second = [
        "--wait-file",
        "m/1",
        "--post-file",
        "m/2",
        "--",
        "sh",
        "-c",
        "echo second >> log",
    ];
    step(&first).finish().expect_code(0);
    step(&second).finish().expect_code(0);
    assert_eq!(sb.read("log"), "run\nsecond\n");
    // One container restarted: the same run, nothing runs again.
    step(&first).finish().expect_code(0);
    assert_eq!(sb.read("log"), "run\nsecond\n");
    // The whole pod restarted: a new run. The second step waits for the
    // first's new verdict (the old one is of the run before), then runs.
    install(&sb);
    let waiting = step(&second);
    waiting.wait_watching();
    step(&first).finish().expect_code(0);
    waiting.finish().expect_code(0);
    assert_eq!(sb.read("log"), "run\nsecond\nrun\nsecond\n");
}
