//! `--when-expressions` and step results, as Tekton's controller writes the
//! flags and lays out `/tekton/steps` (here a fake root, `BATON_TEKTON_ROOT`).

use std::fs;

use crate::harness::{termination_entries, under, Output, Sandbox, SUPERVISORS};

fn reason(sb: &Sandbox, name: &str) -> Option<String> {
    termination_entries(&sb.read(name))
        .into_iter()
        .find(|e| e.0 == "Reason")
        .map(|e| e.1)
}

/// A when expression of the operator kind.
fn when(input: &str, operator: &str, values: &[&str]) -> String {
    serde_json::json!([{ "input": input, "operator": operator, "values": values }]).to_string()
}

/// A step guarded by `json` whose command touches `ran`.
fn guarded(sb: &Sandbox, supervisor: &[&str], json: &str) -> Output {
    sb.run(under(
        supervisor,
        &[
            "--when-expressions",
            json,
            "--post-file",
            "post",
            "--termination-path",
            "term",
            "--step-metadata-dir",
            "meta",
            "--",
            "touch",
            "ran",
        ],
    ))
}

#[test]
fn a_false_when_expression_skips_the_step_as_a_success() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let out = guarded(&sb, supervisor, &when("a", "in", &["b", "c"]));
        out.expect_code(0);
        assert!(out.stderr.is_empty(), "{}", out.stderr);
        assert!(!sb.exists("ran"), "the command must not run");
        assert_eq!(sb.read("post"), "0\n");
        assert!(!sb.exists("post.err"));
        assert_eq!(sb.read("meta/exitCode"), "0");
        assert_eq!(reason(&sb, "term").as_deref(), Some("Skipped"));
    }
}

#[test]
fn a_true_when_expression_runs_the_step() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        guarded(&sb, supervisor, &when("a", "in", &["b", "a"])).expect_code(0);
        assert!(sb.exists("ran"));
        assert_eq!(sb.read("post"), "0\n");
        assert_eq!(reason(&sb, "term"), None);
    }
}

#[test]
fn notin_runs_when_the_input_is_none_of_the_values() {
    let sb = Sandbox::new();
    guarded(&sb, &[], &when("a", "notin", &["b"])).expect_code(0);
    assert!(sb.exists("ran"));
    let sb = Sandbox::new();
    guarded(&sb, &[], &when("a", "notin", &["a"])).expect_code(0);
    assert!(!sb.exists("ran"));
    assert_eq!(reason(&sb, "term").as_deref(), Some("Skipped"));
}

#[test]
fn malformed_json_fails_the_step_in_one_line() {
    let sb = Sandbox::new();
    let out = guarded(&sb, &[], r#"[{"input": "a""#);
    out.expect_code(1);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains(r#"[{"input": "a""#), "{}", out.stderr);
    assert!(!sb.exists("ran"));
    assert_eq!(sb.read("post.err"), "1\n");
}

#[cfg(not(feature = "cel"))]
#[test]
fn without_the_cel_feature_a_cel_entry_fails_in_one_line() {
    let sb = Sandbox::new();
    let out = guarded(&sb, &[], r#"[{"cel": "'a' == 'a'"}]"#);
    out.expect_code(1);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("no CEL"), "{}", out.stderr);
    assert!(!sb.exists("ran"));
    assert!(sb.exists("post.err"));
}

/// A sandbox whose fake Tekton root (`Sandbox::baton_in_tekton`'s) holds
/// what step `first` wrote as its results.
fn first_step_results() -> Sandbox {
    let sb = Sandbox::new();
    let results = sb.path("tekton/steps/step-first/results");
    fs::create_dir_all(&results).unwrap();
    fs::write(results.join("greeting"), "hello").unwrap();
    fs::write(results.join("words"), r#"["one","two three"]"#).unwrap();
    fs::write(results.join("config"), r#"{"env":"prod"}"#).unwrap();
    sb
}

/// The words the command got, one a line, then the variable GOT.
const PRINT: &str = r#"for w in "$@"; do echo "<$w>"; done; echo "GOT=$GOT""#;

#[test]
fn step_results_are_substituted_in_the_command_and_its_environment() {
    for supervisor in SUPERVISORS {
        let sb = first_step_results();
        let mut baton = sb.baton_in_tekton(under(
            supervisor,
            &[
                "-mode=tekton",
                "--",
                "sh",
                "-c",
                PRINT,
                "sh",
                "[$(steps.first.results.greeting)]",
                "$(steps.first.results.words[*])",
                "$(steps.first.results.words[0])-$(steps.first.results.config.env)",
            ],
        ));
        baton.env("GOT", "$(steps.first.results.greeting) world");
        let out = sb.start(baton).finish();
        out.expect_code(0);
        assert_eq!(
            out.stdout, "<[hello]>\n<one>\n<two three>\n<one-prod>\nGOT=hello world\n",
            "{}",
            out.stderr
        );
    }
}

#[test]
fn step_results_in_an_env_file_and_the_when_expressions() {
    let sb = first_step_results();
    fs::write(sb.path("env"), "GOT=$(steps.first.results.words[1])!\n").unwrap();
    let json = when(
        "$(steps.first.results.greeting)",
        "in",
        &["$(steps.first.results.words[*])", "hello"],
    );
    // Two dashes and Go's underscores, as Tekton's controller writes it.
    let out = sb.run_in_tekton([
        "-mode=tekton",
        "--when_expressions",
        &json,
        "-env_file=env",
        "--",
        "sh",
        "-c",
        PRINT,
    ]);
    out.expect_code(0);
    assert_eq!(out.stdout, "GOT=two three!\n", "{}", out.stderr);

    let json = when(
        "$(steps.first.results.greeting)",
        "notin",
        &["$(steps.first.results.greeting)"],
    );
    sb.run_in_tekton([
        "-mode=tekton",
        "--when-expressions",
        &json,
        "--",
        "touch",
        "ran",
    ])
    .expect_code(0);
    assert!(!sb.exists("ran"), "hello is in [hello]: skipped");
}

#[test]
fn a_reference_that_cannot_be_resolved_is_logged_and_left_as_it_was() {
    let sb = first_step_results();
    let out = sb.run_in_tekton([
        "-mode=tekton",
        "--",
        "echo",
        "$(steps.missing.results.x)",
        "$(steps.first.results.greeting)",
    ]);
    out.expect_code(0);
    // The command as a whole is left as it was, as Tekton leaves it.
    assert_eq!(
        out.stdout,
        "$(steps.missing.results.x) $(steps.first.results.greeting)\n"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("step-missing/results/x"),
        "{}",
        out.stderr
    );
}

#[test]
fn baton_mode_substitutes_nothing() {
    let sb = first_step_results();
    let out = sb.run_in_tekton([
        "--mode",
        "baton",
        "--",
        "echo",
        "$(steps.first.results.greeting)",
    ]);
    out.expect_code(0);
    assert_eq!(out.stdout, "$(steps.first.results.greeting)\n");
}

/// Only in a build with the cargo feature `cel` (`scripts/test` runs this
/// module in one).
#[cfg(feature = "cel")]
#[test]
fn cel_with_a_step_result_decides() {
    let sb = first_step_results();
    for (cel, runs) in [
        ("'$(steps.first.results.greeting)' == 'hello'", true),
        ("'$(steps.first.results.greeting)'.startsWith('bye')", false),
    ] {
        let _ = fs::remove_file(sb.path("ran"));
        let json = serde_json::json!([{ "cel": cel }]).to_string();
        sb.run_in_tekton([
            "-mode=tekton",
            "--when_expressions",
            &json,
            "--termination-path",
            "term",
            "--",
            "touch",
            "ran",
        ])
        .expect_code(0);
        assert_eq!(sb.exists("ran"), runs, "{cel}");
        let skipped = reason(&sb, "term").as_deref() == Some("Skipped");
        assert_eq!(skipped, !runs, "{cel}");
    }
    let out = sb.run(["--when-expressions", r#"[{"cel":"1 +"}]"#, "--", "true"]);
    out.expect_code(1);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}
