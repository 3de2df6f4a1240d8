//! Running git, for build-support/version.rs and the test of what it
//! stamps (build-support/version_check.rs), which include this file.

use std::path::Path;
use std::process::Command;

/// What `git -C ROOT ARGS` prints, if it ran and succeeded.
pub fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim_end().to_owned())
}
