//! Waiting: content, several files, and the polling fallback.

use std::process::Command;

use crate::harness::{is_root, skip, wait_for, Sandbox, BATON};

#[test]
fn with_content_an_empty_file_does_not_count() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("ready"), "").unwrap();
    let mut run = sb.start(sb.baton([
        "--wait-file",
        "ready",
        "--wait-file-content",
        "--",
        "touch",
        "ran",
    ]));
    run.wait_watching();
    // Rewrite the empty file: an event baton must look at and then ignore.
    std::fs::write(sb.path("ready"), "").unwrap();
    assert!(
        !run.has_exited() && !sb.exists("ran"),
        "an empty wait file counted"
    );
    std::fs::write(sb.path("ready"), "go").unwrap();
    run.finish().expect_code(0);
    assert!(sb.exists("ran"));
}

#[test]
fn every_wait_file_must_exist() {
    let sb = Sandbox::new();
    let mut run = sb.start(sb.baton([
        "--wait-file",
        "a",
        "--wait-file",
        "b,c",
        "--",
        "touch",
        "ran",
    ]));
    run.wait_watching();
    std::fs::write(sb.path("a"), "").unwrap();
    std::fs::write(sb.path("c"), "").unwrap();
    assert!(!run.has_exited() && !sb.exists("ran"), "ran with b missing");
    std::fs::write(sb.path("b"), "").unwrap();
    run.finish().expect_code(0);
    assert!(sb.exists("ran"));
}

#[test]
fn without_inotify_baton_polls_and_says_so() {
    if !is_root() {
        return skip("the polling test needs root for a user namespace with no inotify instances");
    }
    let sb = Sandbox::new();
    let mut command = Command::new("unshare");
    command
        .args(["--user", "--map-root-user", "sh", "-c"])
        .arg(format!(
            "echo 0 > /proc/sys/user/max_inotify_instances && exec {BATON} --log-level warn \
             --wait-file ready -- touch ran"
        ))
        .current_dir(sb.root());
    let mut run = sb.start(command);
    wait_for("baton to start", || {
        std::fs::read_to_string(format!("/proc/{}/cmdline", run.pid()))
            .is_ok_and(|c| c.starts_with(BATON))
    });
    assert!(!run.has_exited() && !sb.exists("ran"));
    std::fs::write(sb.path("ready"), "").unwrap();
    let out = run.finish();
    out.expect_code(0);
    assert!(sb.exists("ran"));
    assert_eq!(
        out.stderr.matches("polling every 100ms").count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn one_directory_reached_by_two_spellings_is_watched_for_both() {
    let sb = Sandbox::new();
    let absolute = sb.path("cancel");
    let mut command = sb.baton(["--wait-file", "ready", "--cancel-file"]);
    command.arg(&absolute).args(["--", "touch", "ran"]);
    let mut run = sb.start(command);
    run.wait_watching();
    assert!(!run.has_exited());
    std::fs::write(sb.path("ready"), "").unwrap();
    run.finish().expect_code(0);
    assert!(sb.exists("ran"));
}

#[test]
fn a_stop_file_that_cannot_be_looked_at_does_not_abandon_the_command() {
    let sb = Sandbox::new();
    let run = sb.start(sb.baton([
        "--stop-file",
        "loop/stop",
        "--post-file",
        "out",
        "--",
        "sh",
        "-c",
        "echo started > started; while [ ! -e go ]; do sleep 0.02; done; echo END",
    ]));
    sb.wait_line("started");
    // A symlink loop where the stop file's directory should be: ELOOP.
    std::os::unix::fs::symlink("loop", sb.path("loop")).unwrap();
    std::fs::write(sb.path("go"), "").unwrap();
    let out = run.finish();
    out.expect_code(0);
    assert_eq!(out.stdout, "END\n");
    assert_eq!(sb.read("out"), "0\n");
}
