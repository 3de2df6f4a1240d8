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

/// The mode `install` gives the copy.
pub const MODE: u32 = 0o755;

/// Copies the running binary to `dest` (or `dest/baton` when `dest` is a
/// directory, or ends in `/`), atomically and with `mode` whatever the umask.
/// A symlink at the destination is replaced, never followed.
pub fn install(dest: &Path, mode: u32) -> Result<PathBuf> {
    let target = target_of(dest);
    let mut source = open_self()?;
    marker::copy_atomic(&mut source, &target, mode)
        .with_context(|| format!("installing baton to {}", target.display()))?;
    drop_written_pages(&target);
    // The install step runs again in a new run of the pod: the run begins.
    let (run_file, id) = crate::pod_run::fresh(target.parent().unwrap_or(Path::new(".")));
    marker::write_atomic(&run_file, id.as_bytes(), 0o644)
        .with_context(|| format!("starting a run of the pod in {}", run_file.display()))?;
    tracing::info!(path = %target.display(), "installed");
    Ok(target)
}

/// Writes the copy out and drops its pages from the page cache, so that
/// every container runs it from pages read anew, as a binary read from disk
/// is. Pages the copy's own writes left in the cache come in large folios,
/// which the kernel maps into a process whole on a fault: each baton of the
/// pod then held 64 KiB more (`VmHWM` 1672 KiB instead of 1608 on ext4,
/// docs/decisions.md). Best effort: on tmpfs (a memory-backed emptyDir),
/// where the cache is the file, nothing is dropped and nothing is lost.
fn drop_written_pages(target: &Path) {
    use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};
    let dropped = fs::File::open(target).and_then(|file| {
        // Dirty pages are only written back, not dropped: write them first.
        file.sync_data()?;
        posix_fadvise(&file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED)
            .map_err(std::io::Error::from)
    });
    if let Err(err) = dropped {
        tracing::debug!(path = %target.display(), %err, "dropping the copy's pages from the cache");
    }
}

/// The running binary: `/proc/self/exe`, or where argv[0] points when /proc
/// is not mounted (a bare chroot).
fn open_self() -> Result<fs::File> {
    fs::File::open(SELF_EXE).or_else(|err| {
        let argv0 = std::env::args_os()
            .next()
            .map(PathBuf::from)
            .filter(|p| p.components().count() > 1);
        match argv0 {
            Some(path) => fs::File::open(&path)
                .with_context(|| format!("opening {SELF_EXE} ({err}) and then {}", path.display())),
            None => Err(err).with_context(|| format!("opening {SELF_EXE}")),
        }
    })
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
