//! `baton install DEST` (and Tekton's spellings `cp` and `init`): the
//! initContainer's job, copying the running binary into a shared emptyDir so
//! that every other container of the pod can run it from there.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::marker;

/// Where the running binary is; readable even when it was started from a
/// directory or mount that the destination knows nothing of.
const SELF_EXE: &str = "/proc/self/exe";

/// Copies the running binary to `dest` (or `dest/baton` when `dest` is a
/// directory, or ends in `/`), atomically and with mode 0755. A symlink at the
/// destination is replaced, never followed.
pub fn install(dest: &Path) -> Result<PathBuf> {
    let target = target_of(dest);
    let mut source = fs::File::open(SELF_EXE).with_context(|| format!("opening {SELF_EXE}"))?;
    marker::copy_atomic(&mut source, &target, 0o755)
        .with_context(|| format!("installing baton to {}", target.display()))?;
    tracing::info!(path = %target.display(), "installed");
    Ok(target)
}

fn target_of(dest: &Path) -> PathBuf {
    let names_dir = dest.as_os_str().as_bytes().ends_with(b"/");
    let is_dir = fs::symlink_metadata(dest).is_ok_and(|m| m.is_dir());
    if names_dir || is_dir {
        dest.join("baton")
    } else {
        dest.to_path_buf()
    }
}
