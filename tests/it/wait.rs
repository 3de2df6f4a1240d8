//! Waiting: content, several files, and the polling fallback.

use std::process::Command;

use crate::harness::{require_root, voluntary_switches, wait_for, wait_settled, Sandbox, BATON};

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
#[ignore = "needs root (unshare): scripts/test runs it where it can"]
fn without_inotify_baton_polls_and_says_so() {
    require_root(
        "the polling test (unshare: a user namespace with no inotify instances)",
        &["unshare"],
    );
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

/// The inodes that process `pid` has inotify watches on.
fn watched_inodes(pid: i32) -> Vec<u64> {
    let mut inodes = Vec::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fdinfo"))
        .unwrap()
        .flatten()
    {
        let info = std::fs::read_to_string(fd.path()).unwrap_or_default();
        for line in info.lines().filter(|l| l.starts_with("inotify wd:")) {
            let ino = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("ino:"))
                .and_then(|hex| u64::from_str_radix(hex, 16).ok());
            inodes.extend(ino);
        }
    }
    inodes
}

/// A step whose predecessor is alive watches only the predecessor's lock file,
/// not the directory the steps share: markers of other steps written there do
/// not wake it, and the predecessor's own marker still does.
#[test]
fn a_waiter_whose_predecessor_lives_is_not_woken_by_other_markers() {
    use std::os::unix::fs::MetadataExt;
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("m")).unwrap();
    // The predecessor: alive (holding m/a.lock) until m/go appears.
    let first = sb.start(sb.baton(["--wait-file", "go", "--post-file", "m/a", "--", "true"]));
    wait_for("the predecessor's lock", || sb.exists("m/a.lock"));
    let waiter = sb.start(sb.baton([
        "--wait-file",
        "m/a",
        "--post-file",
        "m/b",
        "--",
        "echo",
        "after a",
    ]));
    let lock_inode = std::fs::metadata(sb.path("m/a.lock")).unwrap().ino();
    wait_for("the waiter to watch the lock file alone", || {
        watched_inodes(waiter.pid()) == [lock_inode]
    });
    wait_settled("the waiter to sleep on its watch", waiter.pid());
    let before = voluntary_switches(waiter.pid());
    for i in 0..20 {
        std::fs::write(sb.path(&format!("m/other-{i}")), "0\n").unwrap();
        std::fs::rename(
            sb.path(&format!("m/other-{i}")),
            sb.path(&format!("m/step-{i}")),
        )
        .unwrap();
    }
    // Give a woken waiter time to show it; a quiet one stays asleep.
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(300);
    while std::time::Instant::now() < deadline && voluntary_switches(waiter.pid()) == before {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        voluntary_switches(waiter.pid()),
        before,
        "the waiter woke for markers that are not its own"
    );
    std::fs::write(sb.path("go"), "").unwrap();
    first.finish().expect_code(0);
    let out = waiter.finish();
    out.expect_code(0);
    assert_eq!(out.stdout, "after a\n");
}

/// A wait file whose path runs through a regular file is not there yet (the
/// file may become a directory): baton waits, as for a missing file, and
/// its predecessor's lock there is "not started", not an error.
#[test]
fn a_wait_path_through_a_file_is_waited_for() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("plain"), "").unwrap();
    let mut run =
        sb.start(sb.baton(["--wait-file", "plain/x", "--post-file", "out", "--", "true"]));
    run.wait_watching();
    assert!(!run.has_exited(), "baton gave up on a path through a file");
    run.signal(nix::sys::signal::Signal::SIGTERM);
    run.finish().expect_code(128 + 15);
    assert_eq!(sb.read("out.err"), "143\n");
}

/// The directory of the wait file is removed and made again while the step
/// waits, with the step's own post file (and so its open lock) in it: the
/// removed directory's watch hears nothing, its parent's does.
#[test]
fn a_marker_directory_removed_and_made_again_while_waiting() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("r/sub")).unwrap();
    let waiter = sb.start(sb.baton([
        "--wait-file",
        "r/sub/1",
        "--post-file",
        "r/sub/2",
        "--",
        "echo",
        "ran",
    ]));
    waiter.wait_watching();
    std::fs::remove_dir_all(sb.path("r/sub")).unwrap();
    std::fs::create_dir(sb.path("r/sub")).unwrap();
    std::fs::write(sb.path("r/sub/1"), "0\n").unwrap();
    let out = waiter.finish();
    out.expect_code(0);
    assert_eq!(out.stdout, "ran\n");
    assert_eq!(sb.read("r/sub/2"), "0\n");
}
