//! What render refuses: one line per error on stderr naming the file, the
//! document, the object (and the container), exit 1, and nothing at all on
//! stdout, so that a pipe into `kubectl apply` never applies half the input.

mod common;

const FINE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n";

fn pod(annotations: &str, containers: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {{{annotations}}}\nspec:\n  restartPolicy: Never\n  containers:\n{containers}"
    )
}

/// Renders FINE, then `text`: the one line of the error.
fn refused(text: &str) -> String {
    let run = common::render(&[], &format!("{FINE}---\n{text}"));
    one_error(&run, "kubectl-baton: stdin: document 2: ")
}

/// The one line of a failed run, which begins with `prefix`: exit 1 and
/// nothing on stdout.
fn one_error(run: &common::Run, prefix: &str) -> String {
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "", "nothing on stdout: {run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {}", run.stderr);
    assert!(lines[0].starts_with(prefix), "{}", lines[0]);
    lines[0].to_owned()
}

#[test]
fn a_container_without_a_command_names_the_fix() {
    let text = pod("", "    - {name: a, image: busybox:1.36, command: [echo]}\n    - {name: web, image: \"nginx:1.27\"}\n");
    let line = refused(&text);
    assert_eq!(
        line,
        "kubectl-baton: stdin: document 2: Pod/p: error: container \"web\" has no command, and the \
         entrypoint of its image \"nginx:1.27\" cannot be known offline: give it with \
         --command 'nginx:1.27=[\"/entrypoint\",\"arg\"]'"
    );
    let run = common::render(
        &["--command", r#"nginx:1.27=["nginx","-g","daemon off;"]"#],
        &text,
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("- daemon off;\n"), "{}", run.stdout);
    // The image string exactly as written: another tag is another image.
    let run = common::render(&["--command", r#"nginx=["nginx"]"#], &text);
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
fn a_cycle_and_unknown_names_are_named() {
    let three = "    - {name: a, image: i, command: [a]}\n    - {name: b, image: i, command: [b]}\n    - {name: c, image: i, command: [c]}\n";
    let line = refused(&pod("baton.dev/after.a: \"c\"", three));
    assert!(
        line.ends_with(
            "Pod/p: error: baton.dev/after makes a cycle: a → c → b → a (each waits for the next)"
        ),
        "{line}"
    );
    let line = refused(&pod("baton.dev/after.b: \"a, zz\"", three));
    assert!(line.contains("baton.dev/after.b names \"zz\""), "{line}");
    let line = refused(&pod("baton.dev/after.zz: \"a\"", three));
    assert!(
        line.contains("baton.dev/after.zz: the pod has no app container \"zz\""),
        "{line}"
    );
    let line = refused(&pod("baton.dev/sidecars: \"a,envoy\"", three));
    assert!(
        line.contains("baton.dev/sidecars names \"envoy\", which is no app container"),
        "{line}"
    );
    let line = refused(&pod("baton.dev/sidecar: \"a\"", three));
    assert!(
        line.contains("unknown annotation baton.dev/sidecar "),
        "{line}"
    );
    let line = refused(&pod("baton.dev/sidecars: \"a,b,c\"", three));
    assert!(line.contains("there is no step to run"), "{line}");
}

#[test]
fn a_malformed_document_is_named_by_file_and_number() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.yaml");
    std::fs::write(
        &file,
        format!("{FINE}---\n# the second\nkind: Pod\nmetadata: {{name: x\n"),
    )
    .unwrap();
    let run = common::run_in(dir.path(), &["render", "-f", "broken.yaml"], "");
    let line = one_error(
        &run,
        "kubectl-baton: broken.yaml: document 2: not valid YAML: ",
    );
    assert!(line.contains("line 7"), "{line}");
    std::fs::write(
        dir.path().join("broken.json"),
        "{\"kind\": \"Pod\"}\n{\"kind\": }",
    )
    .unwrap();
    let run = common::run_in(dir.path(), &["render", "-f", "broken.json"], "");
    one_error(
        &run,
        "kubectl-baton: broken.json: document 2: not valid JSON: ",
    );
    let line = refused("just a string\n");
    assert!(line.contains("not a Kubernetes object"), "{line}");
    let line = refused("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nmetadata: {name: q}\n");
    assert!(line.contains("duplicate"), "{line}");
}

#[test]
fn probes_and_names_that_cannot_be_wired() {
    let sidecar = |probe: &str| {
        pod(
            "baton.dev/sidecars: s",
            &format!("    - {{name: s, image: i, command: [s], readinessProbe: {probe}}}\n    - {{name: a, image: i, command: [a]}}\n"),
        )
    };
    let line = refused(&sidecar("{tcpSocket: {port: db}}"));
    assert!(line.contains("the named port \"db\""), "{line}");
    let clash = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes: [{name: baton-run-0, emptyDir: {}}]\n  containers: [{name: a, image: i, command: [a]}]\n";
    let line = refused(clash);
    assert!(line.contains("a volume named \"baton-run-0\""), "{line}");
}

#[test]
fn every_error_is_told_and_usage_errors_exit_2() {
    let bad = pod("", "    - {name: a, image: i}\n");
    let run = common::render(&[], &format!("{bad}---\n{bad}"));
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
    let run = common::render(&["--command", "nginx"], "");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("is not IMAGE=JSON_ARRAY"),
        "{}",
        run.stderr
    );
    let run = common::render(&["--command", "nginx=[1]"], "");
    assert_eq!(run.code, 2, "{run:?}");
    let run = common::render(&["-f", "no-such-file.yaml"], "");
    one_error(&run, "kubectl-baton: no-such-file.yaml: ");
}
