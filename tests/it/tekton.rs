//! What Tekton's init containers ask of the entrypoint binary: the copy with
//! Tekton's mode, the `/tekton/steps` links, and `decode-script` run the way
//! the place-scripts container runs it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::harness::{wait_for, Output, Sandbox, BATON};

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn init_copies_with_tekton_s_mode_and_links_every_step_by_name_and_index() {
    let sb = Sandbox::new();
    let root = sb.path("tekton");
    for _ in 0..2 {
        // Twice: a restarted init container finds its links already there.
        sb.run_in_tekton([
            "init",
            "/ko-app/entrypoint",
            "tekton/bin/entrypoint",
            "build",
            "push",
        ])
        .expect_code(0);
    }
    assert_eq!(mode(&root.join("bin/entrypoint")), 0o311);
    for (link, i) in [("build", 0), ("0", 0), ("push", 1), ("1", 1)] {
        let target = fs::read_link(root.join("steps").join(link)).unwrap();
        assert_eq!(target, root.join(format!("run/{i}/status")), "{link}");
    }
    // The step's own run directory, as the controller mounts it, shows through the link.
    fs::create_dir_all(root.join("run/1/status")).unwrap();
    fs::write(root.join("run/1/status/exitCode"), "0").unwrap();
    assert_eq!(
        fs::read_to_string(root.join("steps/push/exitCode")).unwrap(),
        "0"
    );
}

#[test]
fn step_init_links_without_copying() {
    let sb = Sandbox::new();
    sb.run_in_tekton(["step-init", "a", "b", "c"])
        .expect_code(0);
    assert_eq!(
        fs::read_link(sb.path("tekton/steps/c")).unwrap(),
        sb.path("tekton/run/2/status")
    );
    assert!(!sb.path("tekton/bin").exists());
}

/// A `script:` step as Tekton's place-scripts container writes it
/// (`pkg/pod/script.go`): base64 in a heredoc, then `decode-script`.
#[cfg(feature = "tekton")]
#[test]
fn decode_script_as_place_scripts_runs_it() {
    let sb = Sandbox::new();
    let script = "#!/bin/sh\nset -e\necho \"$(echo dollar) ${HOME:+home} \\\\ 'quoted'\"\nexit 7\n";
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, script);
    let file = sb.path("scripts/script-0-abcde");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    let place = format!(
        "scriptfile=\"{}\"\ntouch ${{scriptfile}} && chmod +x ${{scriptfile}}\n\
         cat > ${{scriptfile}} << '_EOF_'\n{encoded}\n_EOF_\n{BATON} decode-script \"${{scriptfile}}\"\n",
        file.display()
    );
    let out = sb.start({
        let mut sh = Command::new("sh");
        sh.args(["-c", &place]);
        sh
    });
    out.finish().expect_code(0);
    assert_eq!(fs::read_to_string(&file).unwrap(), script);
    assert_eq!(mode(&file) & 0o111, 0o111, "still executable");
    let ran = Command::new(&file).output().unwrap();
    assert_eq!(ran.status.code(), Some(7));
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout),
        "dollar home \\ 'quoted'\n"
    );
}

#[cfg(feature = "tekton")]
#[test]
fn a_script_file_that_is_not_base64_is_bad_input_and_left_alone() {
    let sb = Sandbox::new();
    fs::write(sb.path("s"), "echo not encoded\n").unwrap();
    let out = sb.run(["decode-script", "s"]);
    out.expect_code(2);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("s is not base64"), "{}", out.stderr);
    assert_eq!(sb.read("s"), "echo not encoded\n");
    sb.run(["decode-script", "missing"]).expect_code(125);
}

/// baton in Tekton's mode, with its Tekton directory in the sandbox.
fn tekton_step(sb: &Sandbox, args: &[&str]) -> Command {
    sb.baton_in_tekton(["--mode", "tekton"].iter().chain(args))
}

/// Runs `tekton_step` to its end.
fn run_step(sb: &Sandbox, args: &[&str]) -> Output {
    sb.start(tekton_step(sb, args)).finish()
}

/// The termination message as (key, value, type), from Tekton's default path.
fn message(sb: &Sandbox) -> Vec<(String, String, u64)> {
    crate::harness::termination_entries(&sb.read("tekton/termination"))
}

fn keys(entries: &[(String, String, u64)]) -> Vec<&str> {
    entries.iter().map(|(k, _, _)| k.as_str()).collect()
}

fn value<'a>(entries: &'a [(String, String, u64)], key: &str) -> Option<&'a str> {
    entries
        .iter()
        .find(|(k, _, _)| k == key)
        .map(|(_, v, _)| v.as_str())
}

const META: [&str; 4] = [
    "-post_file",
    "run/0/out",
    "-step_metadata_dir",
    "run/0/status",
];

#[test]
fn tekton_mode_success_and_failure_as_tekton_s_entrypoint_records_them() {
    let sb = Sandbox::new();
    let args = [&META[..], &["-entrypoint", "true", "--"]].concat();
    run_step(&sb, &args).expect_code(0);
    assert_eq!(sb.read("run/0/out"), "", "Tekton's markers are empty");
    assert_eq!(sb.read("run/0/status/exitCode"), "0");
    assert_eq!(
        keys(&message(&sb)),
        ["StartedAt"],
        "the controller reads Completed"
    );
    for sub in ["results", "artifacts"] {
        assert!(sb.path("run/0/status").join(sub).is_dir(), "{sub}");
    }

    let sb = Sandbox::new();
    let args = [&META[..], &["--", "sh", "-c", "exit 3"]].concat();
    run_step(&sb, &args).expect_code(3);
    assert_eq!(sb.read("run/0/out.err"), "");
    assert!(
        !sb.exists("run/0/status/exitCode"),
        "no exitCode for a failure"
    );
    assert_eq!(
        keys(&message(&sb)),
        ["StartedAt"],
        "the controller reads Error"
    );
}

#[test]
fn tekton_mode_on_error_continue_records_the_code_as_continued() {
    let sb = Sandbox::new();
    let args = [
        &META[..],
        &["-on_error", "continue", "--", "sh", "-c", "exit 3"],
    ]
    .concat();
    run_step(&sb, &args).expect_code(0);
    assert_eq!(sb.read("run/0/out"), "");
    assert_eq!(sb.read("run/0/status/exitCode"), "3");
    let entries = message(&sb);
    assert_eq!(value(&entries, "ExitCode"), Some("3"));
    assert_eq!(
        value(&entries, "Reason"),
        None,
        "the controller derives Continued"
    );
}

#[test]
fn tekton_mode_timeout_exits_1_even_when_continuing() {
    for continuing in [false, true] {
        let sb = Sandbox::new();
        let mut args = META.to_vec();
        if continuing {
            args.extend(["-on_error", "continue"]);
        }
        args.extend(["-timeout", "200ms", "--", "sleep", "30"]);
        run_step(&sb, &args).expect_code(1);
        assert!(sb.exists("run/0/out.err"), "continuing: {continuing}");
        assert!(!sb.exists("run/0/status/exitCode"));
        let entries = message(&sb);
        assert_eq!(value(&entries, "Reason"), Some("TimeoutExceeded"));
        assert_eq!(value(&entries, "ExitCode"), None);
    }
}

#[test]
fn tekton_mode_cancel_file_stops_the_step_as_cancelled() {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.path("tekton/downward")).unwrap();
    // The downward-API file is there, empty, until the controller cancels.
    fs::write(sb.path("tekton/downward/cancel"), "").unwrap();
    let args = [
        &META[..],
        &["--", "sh", "-c", "touch started; exec sleep 30"],
    ]
    .concat();
    let running = sb.start(tekton_step(&sb, &args));
    wait_for("the command to start", || sb.exists("started"));
    fs::write(sb.path("tekton/downward/cancel"), "true").unwrap();
    running.finish().expect_code(9);
    assert_eq!(sb.read("run/0/out.err"), "");
    assert_eq!(sb.read("run/0/status/exitCode"), "killed");
    assert_eq!(value(&message(&sb), "Reason"), Some("Cancelled"));
}

#[test]
fn tekton_mode_skips_after_a_failure_upstream() {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.path("run/prev")).unwrap();
    fs::write(sb.path("run/prev/out.err"), "").unwrap();
    let args = [&META[..], &["-wait_file", "run/prev/out", "--", "true"]].concat();
    run_step(&sb, &args).expect_code(1);
    assert_eq!(sb.read("run/0/out.err"), "");
    assert!(!sb.exists("run/0/status/exitCode"));
    assert_eq!(value(&message(&sb), "Reason"), Some("Skipped"));
}

#[test]
fn tekton_mode_step_results_and_artifacts_go_into_the_message() {
    let sb = Sandbox::new();
    let script = "echo -n v1 > run/0/status/results/r1; \
                  echo -n '{\"out\":[]}' > run/0/status/artifacts/provenance.json; \
                  echo -n task > results/t1";
    let args = [
        &META[..],
        &[
            "-step_results",
            "r1,missing",
            "-results",
            "t1",
            "-results_dir",
            "results",
            "--",
            "sh",
            "-c",
            script,
        ],
    ]
    .concat();
    fs::create_dir(sb.path("results")).unwrap();
    run_step(&sb, &args).expect_code(0);
    let entries = message(&sb);
    let find = |key: &str| entries.iter().find(|(k, _, _)| k == key).cloned();
    assert_eq!(
        find("r1"),
        Some(("r1".into(), "v1".into(), 4)),
        "a step result"
    );
    assert_eq!(
        find("t1"),
        Some(("t1".into(), "task".into(), 1)),
        "a task result"
    );
    // Keyed by its path as the step names it, as Tekton keys it.
    let key = "run/0/status/artifacts/provenance.json";
    assert_eq!(
        find(key).map(|(_, v, t)| (v, t)),
        Some(("{\"out\":[]}".into(), 5))
    );

    // With -result_from sidecar-logs the results stay in their files.
    let sb2 = Sandbox::new();
    fs::create_dir(sb2.path("results")).unwrap();
    let args = [
        &META[..],
        &[
            "-result_from",
            "sidecar-logs",
            "-results",
            "t1",
            "-results_dir",
            "results",
            "--",
            "sh",
            "-c",
            "echo -n x > results/t1",
        ],
    ]
    .concat();
    run_step(&sb2, &args).expect_code(0);
    assert_eq!(keys(&message(&sb2)), ["StartedAt"]);
}

#[test]
fn enable_spire_fails_the_step_with_one_line() {
    let sb = Sandbox::new();
    let out = run_step(&sb, &[&META[..], &["-enable_spire", "--", "true"]].concat());
    out.expect_code(1);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("SPIRE"), "{}", out.stderr);
    assert!(sb.exists("run/0/out.err"), "the steps after it do not wait");
}

/// Run under the name Tekton's controller gives it, baton is in Tekton's mode.
#[test]
fn run_as_entrypoint_baton_is_in_tekton_s_mode() {
    let sb = Sandbox::new();
    std::os::unix::fs::symlink(BATON, sb.path("entrypoint")).unwrap();
    let mut command = Command::new(sb.path("entrypoint"));
    command
        .args(["-post_file", "out", "-entrypoint", "true", "--"])
        .env("BATON_TEKTON_ROOT", sb.path("tekton"))
        .current_dir(sb.root());
    sb.start(command).finish().expect_code(0);
    assert_eq!(sb.read("out"), "");
    assert_eq!(keys(&message(&sb)), ["StartedAt"]);
}

#[test]
fn debug_before_step_waits_for_the_user_s_decision() {
    for (decision, code) in [("out.beforestepexit", 0), ("out.beforestepexit.err", 1)] {
        let sb = Sandbox::new();
        let args = [
            "-post_file",
            "out",
            "-debug_before_step",
            "--",
            "touch",
            "ran",
        ];
        let running = sb.start(tekton_step(&sb, &args));
        running.wait_watching();
        assert!(!sb.exists("ran"), "ran before the decision");
        fs::write(sb.path(decision), "0\n").unwrap();
        running.finish().expect_code(code);
        assert_eq!(sb.exists("ran"), code == 0, "{decision}");
        assert_eq!(sb.exists("out.err"), code != 0, "{decision}");
    }
}

/// As Tekton's debug-continue script does: it marks the step itself, then
/// leaves the exit code for the entrypoint.
#[test]
fn breakpoint_on_failure_leaves_the_verdict_to_the_debugger() {
    let sb = Sandbox::new();
    // A failed step before does not skip this one under the breakpoint.
    fs::write(sb.path("prev.err"), "").unwrap();
    let args = [
        "-wait_file",
        "prev",
        "-post_file",
        "out",
        "-step_metadata_dir",
        "meta",
        "-breakpoint_on_failure",
        "--",
        "sh",
        "-c",
        "exit 3",
    ];
    let running = sb.start(tekton_step(&sb, &args));
    wait_for("the termination message", || {
        sb.exists("tekton/termination")
    });
    running.wait_watching();
    assert!(
        !sb.exists("out") && !sb.exists("out.err"),
        "no verdict of baton's"
    );
    fs::write(sb.path("out"), "").unwrap();
    fs::write(sb.path("out.breakpointexit"), "0\n").unwrap();
    running.finish().expect_code(0);
    assert!(!sb.exists("out.err") && !sb.exists("meta/exitCode"));
}

/// A step without `command` whose image serves several platforms: the
/// controller gives the image's command per platform, not `-entrypoint`.
#[cfg(feature = "tekton")]
#[test]
fn tekton_platform_commands_give_the_command() {
    let sb = Sandbox::new();
    let mut command = tekton_step(&sb, &["-post_file", "out", "--", "from-args"]);
    command.env(
        "TEKTON_PLATFORM_COMMANDS",
        r#"{"linux/amd64":["echo","amd64"],"linux/arm64":["echo","arm64"]}"#,
    );
    let out = sb.start(command).finish();
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        format!(
            "{} from-args\n",
            if cfg!(target_arch = "x86_64") {
                "amd64"
            } else {
                "arm64"
            }
        )
    );
}

/// Without the tekton feature (the image's /baton), decode-script is not there.
#[cfg(not(feature = "tekton"))]
#[test]
fn decode_script_is_refused_in_a_build_without_it() {
    let sb = Sandbox::new();
    fs::write(sb.path("s"), "ZWNobwo=\n").unwrap();
    let out = sb.run(["decode-script", "s"]);
    out.expect_code(2);
    assert!(out.stderr.contains("not in this build"), "{}", out.stderr);
    assert_eq!(sb.read("s"), "ZWNobwo=\n");
}

/// Without the tekton feature (the image's /baton), a step whose `options`
/// ask for what only that build has fails at once in one line naming it,
/// and leaves its verdict.
#[cfg(not(feature = "tekton"))]
fn refused_without_the_feature(options: &[&str], named: &str) {
    let sb = Sandbox::new();
    let args = [
        &["--post-file", "out"][..],
        options,
        &["--", "touch", "ran"],
    ]
    .concat();
    let out = sb.run(args);
    out.expect_code(1);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains(named), "{}", out.stderr);
    assert!(sb.exists("out.err") && !sb.exists("ran"));
}

#[cfg(not(feature = "tekton"))]
#[test]
fn creds_flags_fail_clearly_in_a_build_without_them() {
    refused_without_the_feature(&["-basic-git=github=https://github.com"], "no creds-init");
}

#[cfg(not(feature = "tekton"))]
#[test]
fn when_expressions_fail_clearly_in_a_build_without_them() {
    let when = r#"[{"input":"a","operator":"in","values":["a"]}]"#;
    refused_without_the_feature(&["--when-expressions", when], "no when expressions");
}
