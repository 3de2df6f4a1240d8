//! The command line: both spellings, and bad input.

use crate::harness::Sandbox;

#[test]
fn go_style_flags_as_tekton_writes_them() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("ready"), "x").unwrap();
    let out = sb.run([
        "-wait_file",
        "ready",
        "-wait_file_content",
        "-post_file=out",
        "-termination_path",
        "term",
        "-timeout=1m",
        "-entrypoint",
        "sh",
        "--",
        "-c",
        "echo go-style",
    ]);
    out.expect_code(0);
    assert_eq!(out.stdout, "go-style\n");
    assert_eq!(sb.read("out"), "0\n");
    assert!(sb.exists("term"));
}

#[test]
fn gnu_style_with_equals_and_comma_lists() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("a"), "").unwrap();
    std::fs::write(sb.path("b"), "").unwrap();
    let out = sb.run([
        "--wait-file=a,b",
        "--wait-file-content=false",
        "--post-file=out",
        "--entrypoint=echo",
        "--",
        "gnu",
    ]);
    out.expect_code(0);
    assert_eq!(out.stdout, "gnu\n");
}

#[test]
fn nothing_after_the_double_dash_is_an_option() {
    let sb = Sandbox::new();
    let out = sb.run(["--", "echo", "--post-file", "-wait_file", "--", "install"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "--post-file -wait_file -- install\n");
    assert!(!sb.exists("-wait_file"));
}

#[test]
fn bad_duration_is_a_usage_error_naming_the_value() {
    let sb = Sandbox::new();
    let out = sb.run(["--timeout", "5 minutes", "--", "true"]);
    out.expect_code(2);
    assert!(out.stderr.contains("5 minutes"), "{}", out.stderr);
    let out = sb.run(["-grace_period=-1s", "--", "true"]);
    out.expect_code(2);
    assert!(out.stderr.contains("-1s"), "{}", out.stderr);
}

#[test]
fn no_command_is_a_usage_error() {
    let sb = Sandbox::new();
    let out = sb.run(["--post-file", "out"]);
    out.expect_code(2);
    assert!(out.stderr.contains("no command"), "{}", out.stderr);
    let out = sb.run(Vec::<String>::new());
    out.expect_code(2);
}

#[test]
fn a_wait_file_that_is_a_directory_is_a_usage_error() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("dir")).unwrap();
    let out = sb.run([
        "--wait-file",
        "dir",
        "--post-file",
        "out",
        "--",
        "touch",
        "ran",
    ]);
    out.expect_code(2);
    assert!(out.stderr.contains("dir is a directory"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(!sb.exists("ran"));
    assert_eq!(sb.read("out.err"), "2\n", "downstream must not hang");
}

#[test]
fn version_and_help() {
    let sb = Sandbox::new();
    let out = sb.run(["--version"]);
    out.expect_code(0);
    assert!(out.stdout.starts_with("baton "), "{}", out.stdout);
    let out = sb.run(["--help"]);
    out.expect_code(0);
    assert!(out.stdout.contains("--wait-file"));
}

#[test]
fn log_goes_to_stderr_as_json_when_asked() {
    let sb = Sandbox::new();
    let out = sb.run([
        "--log-level",
        "debug",
        "--log-format",
        "json",
        "--",
        "echo",
        "x",
    ]);
    out.expect_code(0);
    assert_eq!(out.stdout, "x\n");
    let first = out.stderr.lines().next().expect("some log");
    assert!(
        first.starts_with('{') && first.contains("\"level\""),
        "{first}"
    );
    let out = sb
        .start({
            let mut c = sb.baton(["--", "echo", "y"]);
            c.env("BATON_LOG", "debug");
            c
        })
        .finish();
    assert!(out.stderr.contains("DEBUG"), "{}", out.stderr);
}

#[test]
fn a_usage_error_still_leaves_a_verdict_for_the_steps_after() {
    let sb = Sandbox::new();
    sb.run(["--post-file", "out", "--timeout", "5x", "--", "true"])
        .expect_code(2);
    assert_eq!(sb.read("out.err"), "2\n");
    sb.run(["-post_file=out2", "--no-such-option", "--", "true"])
        .expect_code(2);
    assert_eq!(sb.read("out2.err"), "2\n");
    sb.run(["--post-file=out3"]).expect_code(2);
    assert_eq!(sb.read("out3.err"), "2\n");
    // --help is no error: nothing written.
    sb.run(["--post-file", "out4", "--help"]).expect_code(0);
    assert!(!sb.exists("out4") && !sb.exists("out4.err"));
}

/// A text log line stays one line whatever its values hold.
#[test]
fn text_log_lines_escape_control_characters() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("done\nFAKE line"), "0\n").unwrap();
    let out = sb.run([
        "--log-level",
        "info",
        "--post-file",
        "done\nFAKE line",
        "--",
        "true",
    ]);
    out.expect_code(0);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains(r"done\nFAKE line"), "{}", out.stderr);
}

/// A mistyped option is named as it was written, with the option meant.
#[test]
fn a_mistyped_option_gets_a_suggestion() {
    let sb = Sandbox::new();
    let out = sb.run(["-post_flie=out", "--", "true"]);
    out.expect_code(2);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("'-post_flie'"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("similar argument exists: '--post-file'"),
        "{}",
        out.stderr
    );
}

/// The ways baton speaks on stderr: a usage error, a command that cannot
/// start, a skipped step, a marker that cannot be written, info lines.
fn every_kind_of_diagnostic(sb: &Sandbox, log: &[&str]) -> Vec<String> {
    std::fs::write(sb.path("up.err"), "1\n").unwrap();
    std::fs::write(sb.path("file"), "").unwrap();
    let cases: [&[&str]; 4] = [
        &["--no-such-option", "--", "true"],
        &["--", "no-such-command-xyz"],
        &["--wait-file", "up", "--post-file", "me", "--", "true"],
        &["--post-file", "file/sub/marker", "--", "true"],
    ];
    cases
        .iter()
        .map(|case| {
            let out = sb.run(log.iter().chain(case.iter()));
            assert_ne!(out.status.code(), Some(0), "{case:?}");
            out.stderr
        })
        .collect()
}

#[test]
fn log_format_json_gives_json_lines_only() {
    let sb = Sandbox::new();
    let stderr = every_kind_of_diagnostic(&sb, &["--log-format", "json", "--log-level", "info"]);
    for text in &stderr {
        assert!(!text.is_empty(), "every case says something");
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?} in\n{text}"));
            assert!(value["fields"]["message"].is_string(), "{line}");
            assert!(value["level"].is_string(), "{line}");
        }
    }
}

#[test]
fn log_level_off_gives_silence() {
    let sb = Sandbox::new();
    for text in every_kind_of_diagnostic(&sb, &["--log-level=off"]) {
        assert_eq!(text, "", "--log-level off");
    }
    let out = sb
        .start({
            let mut c = sb.baton(["--", "no-such-command-xyz"]);
            c.env("BATON_LOG", "off");
            c
        })
        .finish();
    out.expect_code(127);
    assert_eq!(out.stderr, "", "BATON_LOG=off");
}

/// No control character of a path or command reaches a log line raw, in the
/// message or in a field, as text or JSON.
#[test]
fn no_control_character_reaches_a_log_line_raw() {
    let sb = Sandbox::new();
    let evil = "no\nFAKE 2026-01-01T00:00:00Z ERROR forged\r\x1b[31m";
    for format in ["text", "json"] {
        let out = sb.run(["--log-format", format, "--log-level", "debug", "--", evil]);
        out.expect_code(127);
        for line in out.stderr.lines() {
            assert!(
                !line.chars().any(char::is_control),
                "raw control character in {line:?}"
            );
            assert!(!line.starts_with("FAKE"), "{}", out.stderr);
        }
        assert!(out.stderr.contains("command not found"), "{}", out.stderr);
    }
}

#[path = "../../build-support/version_check.rs"]
mod version_check;

/// `--version` (and `-V`): `baton 0.1.0 (COMMIT DATE)`, the commit git's
/// HEAD at build time (build.rs).
#[test]
fn version_names_the_commit_it_was_built_from() {
    version_check::check(
        std::path::Path::new(crate::harness::BATON),
        "baton",
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
    );
}
