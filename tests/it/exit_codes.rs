//! Every row of the README's exit-code table.

use crate::harness::{under, Sandbox, SUPERVISORS};

#[test]
fn the_commands_own_code_is_passed_on() {
    let sb = Sandbox::new();
    sb.run(["--post-file", "out", "--", "sh", "-c", "exit 7"])
        .expect_code(7);
    assert_eq!(sb.read("out.err"), "7\n");
    assert!(!sb.exists("out"));
}

#[test]
fn success_writes_the_post_file() {
    let sb = Sandbox::new();
    let out = sb.run(["--post-file", "out", "--", "echo", "hello"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "hello\n", "stdout is the command's alone");
    assert_eq!(out.stderr, "", "baton is quiet by default");
    assert_eq!(sb.read("out"), "0\n");
    assert!(!sb.exists("out.err"));
}

#[test]
fn death_by_signal_is_128_plus_n() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let args = ["--post-file", "out", "--", "sh", "-c", "kill -USR1 $$"];
        sb.run(under(supervisor, &args)).expect_code(128 + 10);
        assert_eq!(sb.read("out.err"), "138\n");
    }
}

#[test]
fn command_not_found_is_127_and_named() {
    let sb = Sandbox::new();
    let out = sb.run(["--post-file", "out", "--", "no-such-command-xyz"]);
    out.expect_code(127);
    assert!(out.stderr.contains("no-such-command-xyz"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert_eq!(sb.read("out.err"), "127\n");
}

#[test]
fn not_executable_is_126_and_named() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("script"), "#!/bin/sh\necho no\n").unwrap();
    let out = sb.run(["--post-file", "out", "--", "./script"]);
    out.expect_code(126);
    assert!(out.stderr.contains("./script"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert_eq!(sb.read("out.err"), "126\n");
}

#[test]
fn timeout_is_124() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let out = sb.run(under(
            supervisor,
            &[
                "--timeout",
                "100ms",
                "--post-file",
                "out",
                "--termination-path",
                "term",
                "--",
                "sleep",
                "30",
            ],
        ));
        out.expect_code(124);
        assert!(out.stderr.contains("timed out"), "{}", out.stderr);
        assert_eq!(sb.read("out.err"), "124\n");
        assert!(sb
            .read("term")
            .contains(r#"{"key":"Reason","value":"TimeoutExceeded","type":3}"#));
    }
}

#[test]
fn a_command_ignoring_sigterm_is_killed_after_the_grace_period() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let out = sb.run(under(
            supervisor,
            &[
                // Long enough for the shell to set its trap first.
                "--timeout",
                "500ms",
                "--grace-period",
                "200ms",
                "--",
                "sh",
                "-c",
                "trap '' TERM; echo $$ > pid; while :; do sleep 0.05; done",
            ],
        ));
        out.expect_code(124);
        let group = sb.group("pid");
        assert!(!group.exists(), "the group outlived baton");
    }
}

#[test]
fn usage_error_is_2() {
    let sb = Sandbox::new();
    let out = sb.run(["--no-such-option", "--", "true"]);
    out.expect_code(2);
    assert!(out.stderr.contains("--no-such-option"), "{}", out.stderr);
    assert!(out.stderr.contains("Usage"), "{}", out.stderr);
}

#[test]
fn skipped_is_1() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("prev.err"), "3\n").unwrap();
    let out = sb.run([
        "--wait-file",
        "prev",
        "--post-file",
        "out",
        "--",
        "touch",
        "ran",
    ]);
    out.expect_code(1);
    assert!(out.stderr.contains("prev.err"), "{}", out.stderr);
    assert!(!sb.exists("ran"), "a skipped step ran its command");
    assert_eq!(sb.read("out.err"), "1\n");
}

#[test]
fn a_marker_that_cannot_be_written_is_125_and_named() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("file"), "").unwrap();
    let out = sb.run(["--post-file", "file/out", "--", "true"]);
    out.expect_code(125);
    assert!(out.stderr.contains("file"), "{}", out.stderr);
}

/// A termination message that cannot be written is not the step's failure
/// (tests/it/termination.rs has the rest): the verdict is the command's.
#[test]
fn when_the_termination_message_cannot_be_written_the_verdict_is_the_commands() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("file"), "").unwrap();
    let out = sb.run([
        "--termination-path",
        "file/term",
        "--post-file",
        "out",
        "--",
        "true",
    ]);
    out.expect_code(0);
    assert!(out.stderr.contains("file/term"), "{}", out.stderr);
    assert_eq!(sb.read("out"), "0\n");
    assert!(!sb.exists("out.err"));
}

/// Started with stdin and stdout closed, baton opens them on /dev/null before
/// anything else, so that no descriptor of its own (signalfd, epoll, a marker)
/// takes their numbers and ends up as the command's stdout.
#[test]
fn closed_standard_descriptors_are_opened_on_dev_null() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let mut command = std::process::Command::new("sh");
        command
            .current_dir(sb.root())
            .args(["-c", r#"exec "$0" "$@" <&- >&-"#, crate::harness::BATON])
            .args(under(
                supervisor,
                &[
                    "--post-file",
                    "out",
                    "--",
                    "sh",
                    "-c",
                    // baton's own 0 and 1 (the shell's would show its
                    // redirection), then a write to the stdout the command
                    // inherited.
                    "readlink /proc/$PPID/fd/0 /proc/$PPID/fd/1 >&2; echo to-stdout",
                ],
            ));
        let out = sb.start(command).finish();
        out.expect_code(0);
        assert_eq!(out.stderr, "/dev/null\n/dev/null\n");
        assert_eq!(sb.read("out"), "0\n");
    }
}

/// As execvp: a script without `#!` runs with /bin/sh; PATH is searched in
/// order, a directory whose file cannot be executed is passed over for a later
/// one, and only when nothing runs is the step's code 126.
#[test]
fn the_command_is_found_and_run_as_execvp_would() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let write = |name: &str, text: &str, mode: u32| {
        let path = sb.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    write("plain", "echo plain \"$@\"\n", 0o755);
    let out = sb.run(["--", "./plain", "a", "b"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "plain a b\n");

    write("first/tool", "#!/bin/sh\necho first\n", 0o644);
    write("second/tool", "#!/bin/sh\necho second\n", 0o755);
    let path = format!(
        "{}:{}:/usr/bin:/bin",
        sb.path("first").display(),
        sb.path("second").display()
    );
    let out = sb
        .start({
            let mut c = sb.baton(["--", "tool"]);
            c.env("PATH", &path);
            c
        })
        .finish();
    out.expect_code(0);
    assert_eq!(out.stdout, "second\n");

    let out = sb
        .start({
            let mut c = sb.baton(["--post-file", "out", "--", "tool"]);
            c.env("PATH", sb.path("first"));
            c
        })
        .finish();
    out.expect_code(126);
    assert!(out.stderr.contains("Permission denied"), "{}", out.stderr);
    assert_eq!(sb.read("out.err"), "126\n");

    // A path is tried as it is, and its error is the step's: a file on the
    // way is no directory (126), an empty name is no command (127).
    let out = sb.run(["--", "./plain/x"]);
    out.expect_code(126);
    assert!(out.stderr.contains("Not a directory"), "{}", out.stderr);
    sb.run(["--entrypoint=", "--", "x"]).expect_code(127);
}

/// A PATH set by an env file is the one the command is looked up in.
#[test]
fn an_env_file_path_is_searched() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("bin")).unwrap();
    std::fs::write(
        sb.path("bin/only-here"),
        "#!/bin/sh\necho found \"$GREETING\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        sb.path("bin/only-here"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(
        sb.path("env"),
        format!(
            "PATH={}:/usr/bin:/bin\nGREETING=hi\n",
            sb.path("bin").display()
        ),
    )
    .unwrap();
    let out = sb.run(["--env-file", "env", "--", "only-here"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "found hi\n");
}

/// Every post file name that is valid gets its verdict and its lock; one so
/// long that `NAME.lock` or `NAME.err` cannot exist is refused before
/// anything runs.
#[test]
fn a_long_post_file_name_gets_a_verdict_or_is_refused_at_start() {
    let sb = Sandbox::new();
    for (length, code) in [(246, 3), (250, 0)] {
        let name = "p".repeat(length);
        let exit = format!("exit {code}");
        let out = sb.run(["--post-file", &name, "--", "sh", "-c", &exit]);
        out.expect_code(code);
        let verdict = if code == 0 {
            name.clone()
        } else {
            format!("{name}.err")
        };
        assert_eq!(sb.read(&verdict), format!("{code}\n"), "{length}");
        assert!(!sb.exists(&format!("{name}.lock")), "the lock is released");
    }
    let name = "q".repeat(251);
    let out = sb.run(["--post-file", &name, "--", "touch", "ran"]);
    out.expect_code(2);
    assert!(out.stderr.contains("at most 250"), "{}", out.stderr);
    assert!(!sb.exists("ran"));
}

/// A verdict that fails for the reason the step failed is said once.
#[test]
fn a_verdict_that_cannot_be_written_is_said_once() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("file"), "").unwrap();
    let out = sb.run(["--post-file", "file/sub/marker", "--", "true"]);
    out.expect_code(125);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("file/sub"), "{}", out.stderr);
}

/// A full disk under --stdout-path is named, path and all.
#[test]
fn a_full_output_file_is_named() {
    let sb = Sandbox::new();
    let out = sb.run(["--stdout-path", "/dev/full", "--", "echo", "hi"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "hi\n", "the log still gets everything");
    assert!(out.stderr.contains("path=/dev/full"), "{}", out.stderr);
    assert!(out.stderr.contains("No space left"), "{}", out.stderr);
}

/// A wait file that cannot be looked at is named as the wait file, not only
/// by its `.err` twin.
#[test]
fn an_unreadable_wait_file_is_named_as_such() {
    let sb = Sandbox::new();
    // Its `.err` twin's name is over the filesystem's 255 bytes.
    let name = "w".repeat(253);
    let out = sb.run(["--wait-file", &name, "--", "true"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        out.stderr.contains(&format!("checking wait file {name}:")),
        "{}",
        out.stderr
    );
}

/// `--exit-code-for` gives one of baton's outcomes a code of its own; the
/// verdict and the termination message are as without it.
#[test]
fn an_outcome_can_have_an_exit_code_of_its_own() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("up.err"), "1\n").unwrap();
    let args = [
        "--wait-file",
        "up",
        "--post-file",
        "me",
        "--termination-path",
        "tm",
    ];
    let out = sb.run(args.iter().chain(&[
        "--exit-code-for",
        "PredecessorLost=9,Skipped=3",
        "--",
        "true",
    ]));
    out.expect_code(3);
    assert_eq!(sb.read("me.err"), "1\n", "the verdict is a skip's");
    let entries = crate::harness::termination_entries(&sb.read("tm"));
    assert!(entries
        .iter()
        .any(|(k, v, _)| k == "Reason" && v == "Skipped"));
    // Without it, a skipped step exits 1.
    sb.run(args.iter().chain(&["--rerun", "--", "true"]))
        .expect_code(1);
    let out = sb.run(["--exit-code-for", "Skiped=3", "--", "true"]);
    out.expect_code(2);
    assert!(out.stderr.contains("Skiped"), "{}", out.stderr);
}

/// A termination path that is no file (a FIFO nobody reads, a pipe behind
/// /dev/stdout) neither hangs the step nor is read without end.
#[test]
fn a_termination_path_that_is_no_file_does_not_hang() {
    let sb = Sandbox::new();
    nix::unistd::mkfifo(
        &sb.path("t"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let out = sb.run(["--post-file", "p", "--termination-path", "t", "--", "true"]);
    out.expect_code(0);
    assert!(out.stderr.contains("writing t"), "{}", out.stderr);
    assert_eq!(sb.read("p"), "0\n");
    // The test's stdout is a pipe: the message goes down it.
    let out = sb.run(["--termination-path", "/dev/stdout", "--", "true"]);
    out.expect_code(0);
    assert!(
        out.stdout.starts_with("[{\"key\":\"StartedAt\""),
        "{}",
        out.stdout
    );
}

/// Marker paths that cannot work are refused before anything runs.
#[test]
fn markers_that_cannot_work_are_refused_at_start() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("p")).unwrap();
    let cases: [(&[&str], &str, Option<&str>); 3] = [
        (
            &["--post-file", "p"],
            "marker p is a directory",
            Some("p.err"),
        ),
        (
            &["--post-file", "q", "--wait-file", "q"],
            "its own marker q",
            Some("q.err"),
        ),
        // A probe with no ready file to settle: no verdict asked for.
        (&["--ready-probe", "exec:true"], "--ready-file", None),
    ];
    for (args, said, verdict) in cases {
        let out = sb.run(args.iter().chain(&["--", "touch", "ran"]));
        out.expect_code(2);
        assert!(out.stderr.contains(said), "{}", out.stderr);
        assert!(!sb.exists("ran"), "{args:?}");
        assert!(verdict.is_none_or(|v| sb.exists(v)), "{args:?}");
    }
}

/// A bad `BATON_LOG` is said at the default level, and ignored.
#[test]
fn a_bad_baton_log_is_said() {
    let sb = Sandbox::new();
    let mut command = sb.baton(["--", "true"]);
    command.env("BATON_LOG", "loud");
    let out = sb.start(command).finish();
    out.expect_code(0);
    assert!(
        out.stderr.contains("ignoring BATON_LOG=\"loud\""),
        "{}",
        out.stderr
    );
}

/// A script whose `#!` interpreter is missing is named as such.
#[test]
fn a_missing_interpreter_is_named() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("s"), "#!/no/such/sh\n").unwrap();
    std::fs::set_permissions(
        sb.path("s"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = sb.run(["--", "./s"]);
    out.expect_code(127);
    assert!(out.stderr.contains("interpreter"), "{}", out.stderr);
}
