//! What the tests of `kubectl-baton` share: running the built plugin, and
//! the golden cases' files.

#![allow(dead_code)] // each test crate uses its own part of this

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one run of the plugin gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `tests/golden`.
pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Runs `kubectl-baton ARGS` in `dir`, with `stdin` as its standard input.
pub fn run_in(dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-baton"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running kubectl-baton");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("writing stdin");
    let out = child.wait_with_output().expect("waiting for kubectl-baton");
    Run {
        code: out.status.code().expect("an exit code"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}

/// Runs `kubectl-baton render ARGS` on `stdin`.
pub fn render(args: &[&str], stdin: &str) -> Run {
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    run_in(&golden_dir(), &all, stdin)
}

/// The golden cases: the names of `tests/golden/<case>.in.yaml`, sorted.
pub fn cases() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(golden_dir())
        .expect("tests/golden")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".in.yaml").map(str::to_owned)
        })
        .collect();
    cases.sort();
    cases
}

/// The extra arguments of a case: its `# arg: WORD` lines, in order.
pub fn case_args(input: &str) -> Vec<String> {
    input
        .lines()
        .filter_map(|l| l.strip_prefix("# arg: "))
        .map(str::to_owned)
        .collect()
}

/// Renders a golden case as its test does: in `tests/golden`, `-f
/// <case>.in.yaml` and the case's own arguments.
pub fn render_case(case: &str) -> Run {
    let file = format!("{case}.in.yaml");
    let input = std::fs::read_to_string(golden_dir().join(&file)).expect("the case's input");
    let extra = case_args(&input);
    let mut args = vec!["render", "-f", &file];
    args.extend(extra.iter().map(String::as_str));
    run_in(&golden_dir(), &args, "")
}
