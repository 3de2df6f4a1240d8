//! Golden files: each `tests/golden/<case>.in.yaml` rendered (in that
//! directory, with `-f <case>.in.yaml` and the case's `# arg:` lines) gives
//! `<case>.out.yaml` on stdout and `<case>.stderr` on stderr, exit 0; a case
//! with no `.out.yaml` must fail (exit 1, nothing on stdout). Every output
//! rendered again gives the same bytes. `UPDATE_GOLDEN=1 cargo test -p
//! kubectl-baton --test golden` writes the files anew; `scripts/validate-examples`
//! validates every `.out.yaml` against the Kubernetes schemas (strict).

mod common;

use std::path::Path;

fn check(path: &Path, actual: &str, update: bool, failures: &mut Vec<String>) {
    if update {
        std::fs::write(path, actual).expect("writing a golden file");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected != actual {
        failures.push(format!(
            "{}: differs (UPDATE_GOLDEN=1 writes it anew)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        ));
    }
}

#[test]
fn every_case_renders_as_its_golden_files_say() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let dir = common::golden_dir();
    let cases = common::cases();
    assert!(cases.len() >= 10, "golden cases: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let run = common::render_case(case);
        let out = dir.join(format!("{case}.out.yaml"));
        let failing = case.starts_with("error-");
        if failing {
            assert_eq!(run.code, 1, "{case}: {run:?}");
            assert_eq!(run.stdout, "", "{case}: nothing on stdout");
            assert!(!out.exists(), "{case}: a failing case has no .out.yaml");
        } else {
            assert_eq!(run.code, 0, "{case}: {run:?}");
            check(&out, &run.stdout, update, &mut failures);
        }
        check(
            &dir.join(format!("{case}.stderr")),
            &run.stderr,
            update,
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rendering_rendered_output_gives_the_same_bytes() {
    for case in common::cases() {
        let first = common::render_case(&case);
        if first.code != 0 {
            continue;
        }
        let input = std::fs::read_to_string(common::golden_dir().join(format!("{case}.in.yaml")))
            .expect("the case's input");
        let extra = common::case_args(&input);
        let mut args = vec!["-f", "-"];
        args.extend(extra.iter().map(String::as_str));
        let again = common::render(&args, &first.stdout);
        assert_eq!(again.code, 0, "{case}: {again:?}");
        assert_eq!(again.stdout, first.stdout, "{case}: rendered twice");
        let wired = first
            .stderr
            .lines()
            .filter(|l| l.contains(": wired (") || l.contains(": already wired, wired again ("))
            .count();
        let rewired = again
            .stderr
            .lines()
            .filter(|l| l.contains(": already wired, wired again ("))
            .count();
        assert_eq!(wired, rewired, "{case}: {}\n{}", first.stderr, again.stderr);
        assert!(
            !again.stderr.contains(": wired ("),
            "{case}: {}",
            again.stderr
        );
    }
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    for case in common::cases() {
        let (a, b) = (common::render_case(&case), common::render_case(&case));
        assert_eq!((a.stdout, a.stderr), (b.stdout, b.stderr), "{case}");
    }
}
