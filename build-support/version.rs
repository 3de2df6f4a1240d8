//! The version that `--version` prints, worked out when a binary is built
//! (shared by the build scripts of `baton` and `kubectl-baton`): the
//! package's version and the git commit it was built from, e.g.
//! `0.1.0 (4619a172b519 2026-12-01)`: `git rev-parse --short=12 HEAD` and
//! the commit's date, `-dirty` after the commit when the binary's own sources
//! differ from it. Without git (a source tarball), the commit is
//! `$BATON_GIT_COMMIT`, else `unknown`.
//!
//! Cargo runs the build script again when HEAD moves (the file HEAD, the
//! branch's ref and `packed-refs`, wherever `git rev-parse --git-path` puts
//! them: a worktree's HEAD is in the main repository's
//! `.git/worktrees/NAME/`), when the sources change and when
//! `BATON_GIT_COMMIT` does; never on a build where none of them did.

use std::path::{Path, PathBuf};

#[path = "git.rs"]
mod git;
use git::git;

/// Sets the environment variable `env` of the crate being built to its
/// version and commit. `root` is the repository's root, `sources` the
/// paths under it that the binary is built from.
pub fn emit(env: &str, root: &Path, sources: &[&str]) {
    println!("cargo:rerun-if-env-changed=BATON_GIT_COMMIT");
    for source in sources {
        println!("cargo:rerun-if-changed={}", root.join(source).display());
    }
    let commit = from_git(root, sources)
        .or_else(|| std::env::var("BATON_GIT_COMMIT").ok())
        .filter(|commit| !commit.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    println!("cargo:rustc-env={env}={version} ({})", commit.trim());
}

/// `COMMIT[-dirty] DATE` from git, if `root` is the top of a git work tree
/// (not a tarball unpacked inside some other repository) with a commit;
/// and the files to watch for HEAD moving.
fn from_git(root: &Path, sources: &[&str]) -> Option<String> {
    let paths = git(
        root,
        &[
            "rev-parse",
            "--show-toplevel",
            "--git-path",
            "HEAD",
            "--git-path",
            "packed-refs",
            "--symbolic-full-name",
            "HEAD",
        ],
    )?;
    let mut lines = paths.lines();
    let top = PathBuf::from(lines.next()?);
    if top.canonicalize().ok()? != root.canonicalize().ok()? {
        return None;
    }
    let mut watch: Vec<PathBuf> = vec![root.join(lines.next()?), root.join(lines.next()?)];
    // The branch HEAD names ("HEAD" itself when detached: the file holds
    // the commit). A ref that is only packed has no file yet: its
    // directory, where committing creates it.
    if let Some(branch) = lines.next().filter(|r| r.starts_with("refs/")) {
        let file = root.join(git(root, &["rev-parse", "--git-path", branch])?);
        match file.parent() {
            Some(dir) if !file.exists() => watch.push(dir.to_path_buf()),
            _ => watch.push(file),
        }
    }
    // A path that does not exist would make cargo run the script every time.
    for path in watch.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let described = git(root, &["log", "-1", "--abbrev=12", "--format=%h %cs"])?;
    let (commit, date) = described.split_once(' ')?;
    // `--no-optional-locks`: no refresh of the index, which would change a
    // file git owns on every build.
    let mut status = vec!["--no-optional-locks", "status", "--porcelain", "--"];
    status.extend(sources);
    let dirty = git(root, &status).is_some_and(|changes| !changes.is_empty());
    Some(format!(
        "{commit}{} {date}",
        if dirty { "-dirty" } else { "" }
    ))
}
