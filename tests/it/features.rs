//! Step features Tekton and Argo users expect: on-error, output capture,
//! results, cancel, retries, env files.

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::harness::{wait_for, wait_until_blocking, Sandbox, DEADLINE};

fn termination(sb: &Sandbox, name: &str) -> Vec<(String, String, u64)> {
    crate::harness::termination_entries(&sb.read(name))
}

fn value(entries: &[(String, String, u64)], key: &str) -> Option<String> {
    entries.iter().find(|e| e.0 == key).map(|e| e.1.clone())
}

#[test]
fn on_error_continue_records_the_real_code_and_lets_the_chain_go_on() {
    let sb = Sandbox::new();
    sb.run([
        "-on_error=continue",
        "--post-file",
        "out",
        "--termination-path",
        "t",
        "--",
        "sh",
        "-c",
        "exit 5",
    ])
    .expect_code(0);
    assert_eq!(sb.read("out"), "0\n");
    assert!(!sb.exists("out.err"));
    let t = termination(&sb, "t");
    assert_eq!(value(&t, "ExitCode").as_deref(), Some("5"));
    assert_eq!(value(&t, "Reason").as_deref(), Some("Continued"));
    // The default fails the chain; a bad mode is a usage error.
    sb.run(["--on-error", "stopAndFail", "--", "sh", "-c", "exit 5"])
        .expect_code(5);
    let out = sb.run(["--on-error", "ignore", "--", "true"]);
    out.expect_code(2);
    assert!(out.stderr.contains("ignore"), "{}", out.stderr);
}

/// 100 MiB of pseudo-random bytes.
fn burst() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut data = Vec::with_capacity(100 << 20);
    while data.len() < 100 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data
}

#[test]
fn a_100_mib_burst_is_captured_intact_in_both_places() {
    let sb = Sandbox::new();
    let data = burst();
    fs::write(sb.path("src"), &data).unwrap();
    let console = fs::File::create(sb.path("console")).unwrap();
    // The file is appended to: what was there stays.
    fs::create_dir(sb.path("logs")).unwrap();
    fs::write(sb.path("logs/out"), b"before\n").unwrap();
    let mut child = sb
        .baton(["--stdout-path", "logs/out", "--", "cat", "src"])
        .stdout(console)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < DEADLINE, "baton did not finish");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success());
    let console = fs::read(sb.path("console")).unwrap();
    assert!(
        console == data,
        "the container log lost or changed bytes ({} of {})",
        console.len(),
        data.len()
    );
    let file = fs::read(sb.path("logs/out")).unwrap();
    assert!(file.starts_with(b"before\n"));
    assert!(
        file[7..] == data[..],
        "the file lost or changed bytes ({} of {})",
        file.len() - 7,
        data.len()
    );
}

#[test]
fn interleaved_stdout_and_stderr_into_one_file() {
    let sb = Sandbox::new();
    // One write(2) per line, so that lines of the two streams cannot split
    // each other (the order within each stream is what baton must keep).
    let script = "import os\nfor i in range(2000):\n    os.write(1, b'out %d\\n' % i)\n    os.write(2, b'err %d\\n' % i)\n";
    let out = sb.run([
        "--stdout-path",
        "both",
        "--stderr-path",
        "both",
        "--",
        "python3",
        "-c",
        script,
    ]);
    out.expect_code(0);
    let expect =
        |prefix: &str| -> Vec<String> { (0..2000).map(|i| format!("{prefix} {i}")).collect() };
    assert_eq!(out.stdout.lines().collect::<Vec<_>>(), expect("out"));
    assert_eq!(out.stderr.lines().collect::<Vec<_>>(), expect("err"));
    let both = sb.read("both");
    let of = |prefix: &str| -> Vec<String> {
        both.lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        of("out "),
        expect("out"),
        "stdout reordered or lost in the file"
    );
    assert_eq!(
        of("err "),
        expect("err"),
        "stderr reordered or lost in the file"
    );
    assert_eq!(both.lines().count(), 4000);
}

#[test]
fn without_capture_options_there_is_no_pipe() {
    let sb = Sandbox::new();
    // The command's stdout is baton's own: the same pipe the test reads.
    let out = sb.run([
        "--",
        "sh",
        "-c",
        "readlink /proc/self/fd/1; readlink /proc/$PPID/fd/1",
    ]);
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], lines[1], "the command's stdout is not baton's");
}

#[test]
fn results_and_step_metadata_go_where_tekton_puts_them() {
    let sb = Sandbox::new();
    let out = sb.run([
        "--results",
        "digest,url,missing",
        "--results-dir",
        "results",
        "--step-metadata-dir",
        "meta",
        "--termination-path",
        "t",
        "--",
        "sh",
        "-c",
        "mkdir -p results; printf sha256:abc > results/digest; printf 'http://x/y\n' > results/url; exit 0",
    ]);
    out.expect_code(0);
    let t = termination(&sb, "t");
    assert!(
        t.contains(&("digest".into(), "sha256:abc".into(), 1)),
        "{t:?}"
    );
    assert!(
        t.contains(&("url".into(), "http://x/y\n".into(), 1)),
        "{t:?}"
    );
    assert!(value(&t, "missing").is_none());
    assert_eq!(sb.read("meta/exitCode"), "0");
    sb.run(["--step-metadata-dir", "meta", "--", "sh", "-c", "exit 6"])
        .expect_code(6);
    assert_eq!(sb.read("meta/exitCode"), "6");
}

#[test]
fn results_that_overflow_the_message_fail_the_step_and_are_named() {
    let sb = Sandbox::new();
    fs::create_dir(sb.path("results")).unwrap();
    fs::write(sb.path("results/first"), "a".repeat(2000)).unwrap();
    fs::write(sb.path("results/second"), "b".repeat(2000)).unwrap();
    fs::write(sb.path("results/third"), "c".repeat(100)).unwrap();
    let out = sb.run([
        "--results=first,second,third",
        "--results-dir=results",
        "--termination-path=t",
        "--post-file=out",
        "--",
        "true",
    ]);
    out.expect_code(1);
    assert!(out.stderr.contains("second"), "{}", out.stderr);
    assert_eq!(sb.read("out.err"), "1\n");
    let text = sb.read("t");
    assert!(text.len() <= 4096, "{} bytes", text.len());
    let t = termination(&sb, "t");
    assert_eq!(value(&t, "Reason").as_deref(), Some("ResultsTooLarge"));
    assert!(
        value(&t, "Message").is_some_and(|m| m.contains("second")),
        "{t:?}"
    );
    assert!(value(&t, "StartedAt").is_some() && value(&t, "ExitCode").is_some());
    assert!(value(&t, "first").is_some() && value(&t, "third").is_some());
    assert!(value(&t, "second").is_none());
}

#[test]
fn cancel_while_waiting() {
    let sb = Sandbox::new();
    let mut run = sb.start(sb.baton([
        "--wait-file",
        "never",
        "--wait-file-content",
        "--cancel-file",
        "cancel",
        "--post-file",
        "out",
        "--termination-path",
        "t",
        "--",
        "touch",
        "ran",
    ]));
    wait_until_blocking(run.pid(), Signal::SIGTERM);
    // With --wait-file-content an empty cancel file does not count.
    fs::write(sb.path("cancel"), "").unwrap();
    assert!(!run.has_exited());
    fs::write(sb.path("cancel"), "cancelled by the user").unwrap();
    let out = run.finish();
    out.expect_code(123);
    assert!(out.stderr.contains("cancel"), "{}", out.stderr);
    assert!(!sb.exists("ran"));
    assert_eq!(sb.read("out.err"), "123\n");
    assert_eq!(
        value(&termination(&sb, "t"), "Reason").as_deref(),
        Some("Cancelled")
    );
}

#[test]
fn cancel_while_running_stops_the_whole_group() {
    let sb = Sandbox::new();
    let run = sb.start(sb.baton([
        "--cancel-file",
        "cancel",
        "--post-file",
        "out",
        "--",
        "sh",
        "-c",
        "echo $$ > pgid; sleep 1000 & while :; do sleep 0.02; done",
    ]));
    sb.wait_line("pgid");
    fs::write(sb.path("cancel"), "").unwrap();
    run.finish().expect_code(123);
    let group = sb.group("pgid");
    assert!(!group.exists());
    assert_eq!(sb.read("out.err"), "123\n");
}

/// Fails until its third run.
const THIRD_TIME_LUCKY: &str = "echo run >> runs; [ $(wc -l < runs) -ge 3 ]";

#[test]
fn a_retry_succeeds_on_the_third_attempt() {
    let sb = Sandbox::new();
    let started = Instant::now();
    sb.run([
        "--retries",
        "5",
        "--retry-delay",
        "50ms",
        "--post-file",
        "out",
        "--termination-path",
        "t",
        "--",
        "sh",
        "-c",
        THIRD_TIME_LUCKY,
    ])
    .expect_code(0);
    // Two pauses: 50 ms, then 100 ms (doubling).
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(sb.read("runs"), "run\nrun\nrun\n");
    assert_eq!(sb.read("out"), "0\n");
    assert_eq!(
        value(&termination(&sb, "t"), "Attempts").as_deref(),
        Some("3")
    );
}

#[test]
fn retries_run_out_and_a_timeout_applies_to_each_attempt() {
    let sb = Sandbox::new();
    sb.run([
        "-retries=1",
        "-retry_delay=10ms",
        "--termination-path",
        "t",
        "--",
        "sh",
        "-c",
        THIRD_TIME_LUCKY,
    ])
    .expect_code(1);
    assert_eq!(sb.read("runs"), "run\nrun\n");
    assert_eq!(
        value(&termination(&sb, "t"), "Attempts").as_deref(),
        Some("2")
    );
    sb.run([
        "--retries",
        "1",
        "--retry-delay",
        "10ms",
        "--timeout",
        "100ms",
        "--termination-path",
        "t2",
        "--",
        "sh",
        "-c",
        "echo run >> slow; sleep 30",
    ])
    .expect_code(124);
    assert_eq!(sb.read("slow"), "run\nrun\n");
    let t = termination(&sb, "t2");
    assert_eq!(value(&t, "Attempts").as_deref(), Some("2"));
    assert_eq!(value(&t, "Reason").as_deref(), Some("TimeoutExceeded"));
}

#[test]
fn a_signal_between_attempts_stops_the_retrying() {
    let sb = Sandbox::new();
    let run = sb.start(sb.baton([
        "--retries",
        "5",
        "--retry-delay",
        "1m",
        "--termination-path",
        "t",
        "--",
        "sh",
        "-c",
        "echo run >> runs; exit 4",
    ]));
    wait_for("the first attempt", || sb.exists("runs"));
    run.signal(Signal::SIGTERM);
    run.finish().expect_code(4);
    assert_eq!(sb.read("runs"), "run\n");
    let t = termination(&sb, "t");
    assert_eq!(value(&t, "Reason").as_deref(), Some("Terminated"));
    assert_eq!(value(&t, "Attempts").as_deref(), Some("1"));
}

#[test]
fn env_files_hand_variables_to_the_next_step() {
    let sb = Sandbox::new();
    sb.run([
        "--post-file",
        "m/1",
        "--",
        "sh",
        "-c",
        "printf '# from step 1\\nGREETING=hello world\\nN=1\\n' > vars",
    ])
    .expect_code(0);
    fs::write(sb.path("more"), "N=2\n").unwrap();
    let out = sb.run([
        "--wait-file",
        "m/1",
        "--env-file",
        "vars",
        "--env-file",
        "more",
        "--",
        "sh",
        "-c",
        "echo \"$GREETING $N\"",
    ]);
    out.expect_code(0);
    assert_eq!(out.stdout, "hello world 2\n");
    fs::write(sb.path("bad"), "OK=1\nthis is not a pair\n").unwrap();
    let out = sb.run([
        "--env-file",
        "bad",
        "--post-file",
        "b",
        "--",
        "touch",
        "ran",
    ]);
    out.expect_code(2);
    assert!(out.stderr.contains("bad line 2"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(!sb.exists("ran"));
    assert_eq!(sb.read("b.err"), "2\n");
}

/// A NUL byte in an env file is a malformed file, not a command that cannot
/// be executed.
#[test]
fn a_nul_byte_in_an_env_file_is_a_malformed_line() {
    let sb = Sandbox::new();
    fs::write(sb.path("env"), b"A=1\nB=x\0y\n").unwrap();
    let out = sb.run([
        "--env-file",
        "env",
        "--post-file",
        "p",
        "--",
        "touch",
        "ran",
    ]);
    out.expect_code(2);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("env line 2: NUL byte"),
        "{}",
        out.stderr
    );
    assert!(!sb.exists("ran"));
    assert_eq!(sb.read("p.err"), "2\n");
}
