//! The test of `--version` that `baton`'s and `kubectl-baton`'s tests share:
//! `NAME VERSION (COMMIT[-dirty] DATE)`, the commit and date those of git's
//! HEAD when the binary was built in the repository, else
//! `$BATON_GIT_COMMIT` or `unknown` (build-support/version.rs).

use std::path::Path;
use std::process::Command;

#[path = "git.rs"]
mod git;
use git::git;

/// Runs `binary --version` and `-V` and checks what they print; `root` is
/// the repository's root.
pub fn check(binary: &Path, name: &str, root: &Path) {
    let run = |flag: &str| {
        let out = Command::new(binary).arg(flag).output().unwrap();
        assert!(out.status.success(), "{flag}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run("--version");
    assert_eq!(run("-V"), text, "-V and --version differ");
    let prefix = format!("{name} {} (", env!("CARGO_PKG_VERSION"));
    let inner = text
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("not {prefix}…): {text:?}"));
    let in_git = git(root, &["rev-parse", "--show-toplevel"])
        .is_some_and(|top| Path::new(&top).canonicalize().ok() == root.canonicalize().ok());
    if !in_git {
        let want = std::env::var("BATON_GIT_COMMIT").unwrap_or_else(|_| "unknown".into());
        assert_eq!(inner, want, "{text:?}");
        return;
    }
    let (commit, date) = inner
        .split_once(' ')
        .unwrap_or_else(|| panic!("no COMMIT DATE: {text:?}"));
    let commit = commit.strip_suffix("-dirty").unwrap_or(commit);
    assert_eq!(
        Some(commit.to_owned()),
        git(root, &["rev-parse", "--short=12", "HEAD"]),
        "{text:?}"
    );
    assert!(
        commit.len() >= 12 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
        "{text:?}"
    );
    assert_eq!(
        Some(date.to_owned()),
        git(root, &["log", "-1", "--format=%cs"]),
        "{text:?}"
    );
}
