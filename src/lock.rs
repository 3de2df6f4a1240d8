//! Lost predecessors. A step killed without a chance to write its verdict
//! (SIGKILL, the OOM killer choosing baton) must not leave the steps after it
//! waiting until the pod's deadline. So while a step is alive it holds an
//! exclusive `flock` on `POST.lock`; the kernel drops the lock when the process
//! dies, however it dies. A waiter that finds `WAIT.lock` present but not held,
//! while neither `WAIT` nor `WAIT.err` exists, knows its predecessor died
//! without a verdict.
//!
//! The waiter learns of the death without polling: the holder opened the lock
//! file for writing, so the kernel's final close of it (at the holder's death)
//! is an inotify `IN_CLOSE_WRITE` event in the watched directory. The waiter keeps
//! its own descriptor open across checks (read-only: its close is no such
//! event). See docs/how-baton-works.md for the cases.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::marker::{self, with_suffix};

/// `POST.lock` for the marker `POST`.
pub fn lock_path(marker: &Path) -> PathBuf {
    with_suffix(marker, ".lock")
}

/// The lock a living step holds on `POST.lock`.
#[derive(Debug)]
pub struct Held {
    path: PathBuf,
    // Held for its lock: the kernel releases it when this closes.
    _file: fs::File,
}

impl Held {
    /// Takes the lock for the step that writes `post`. The lock file is made
    /// under a temporary name (in the scratch directory, see
    /// `marker::scratch_path`), locked, then renamed into place, so that no
    /// waiter ever sees it present but unlocked while this step lives; the
    /// rename also replaces a stale lock of an earlier attempt.
    pub fn take(post: &Path) -> Result<Self> {
        let path = lock_path(post);
        let tmp = marker::scratch_path(&path)?;
        let _ = fs::remove_file(&tmp);
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        // Waiters running as other users open it to probe it, whatever the umask.
        file.set_permissions(fs::Permissions::from_mode(0o644))
            .with_context(|| format!("setting the mode of {}", tmp.display()))?;
        file.lock()
            .with_context(|| format!("locking {}", tmp.display()))?;
        fs::rename(&tmp, &path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
        Ok(Self { path, _file: file })
    }

    /// Removes the lock file once the verdict is written (the lock itself
    /// goes with the descriptor).
    pub fn release(self) {
        if let Err(err) = fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), %err, "removing the lock file");
        }
    }
}

/// What a step's lock says about the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// No lock file: the step has not started, or has finished and let go.
    Absent,
    /// The lock is held: the step lives, and will write its verdict, then
    /// remove the lock file (or die, which closes it).
    Alive,
    /// The lock file is there and nobody holds it: the step died without a verdict.
    Lost,
}

/// Tells the waiters that guard `marker` (see `watch`) to look again, after
/// a marker written while its lock stays held (a ready file): the lock file's
/// times are set to now, an `IN_ATTRIB` for those watching it.
pub fn announce(marker: &Path) -> Result<()> {
    let path = lock_path(marker);
    nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        &path,
        &nix::sys::time::TimeSpec::UTIME_NOW,
        &nix::sys::time::TimeSpec::UTIME_NOW,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .with_context(|| format!("touching {}", path.display()))
}

/// A waiter's view of its predecessors' locks.
#[derive(Debug, Default)]
pub struct Watcher {
    /// Open lock files, kept open so that checking them causes no events.
    open: Vec<(PathBuf, fs::File)>,
}

impl Watcher {
    /// The state of the step that writes `marker`, as its lock tells it. On
    /// `Lost` the caller checks the verdict files again: a step releases its
    /// lock after writing them.
    pub fn holder(&mut self, marker: &Path) -> Result<Holder> {
        let path = lock_path(marker);
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            // Not there (yet): a path through something that is not a
            // directory yet counts as missing too, as for the wait file.
            Err(err) if matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                self.open.retain(|(p, _)| *p != path);
                return Ok(Holder::Absent);
            }
            Err(err) => return Err(err).with_context(|| format!("checking {}", path.display())),
        };
        let same = |file: &fs::File| {
            file.metadata()
                .is_ok_and(|m| m.ino() == meta.ino() && m.dev() == meta.dev())
        };
        let index = match self.open.iter().position(|(p, _)| *p == path) {
            Some(i) if same(&self.open[i].1) => i,
            found => {
                // New, or replaced by a restarted step: (re)open it read-only,
                // whose close is no IN_CLOSE_WRITE for any watcher.
                let file = match fs::File::open(&path) {
                    Ok(file) => file,
                    Err(err)
                        if matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) =>
                    {
                        return Ok(Holder::Absent)
                    }
                    Err(err) => {
                        return Err(err).with_context(|| format!("opening {}", path.display()))
                    }
                };
                if let Some(i) = found {
                    self.open.remove(i);
                }
                self.open.push((path.clone(), file));
                self.open.len() - 1
            }
        };
        let file = &self.open[index].1;
        match file.try_lock_shared() {
            Ok(()) => {
                file.unlock()
                    .with_context(|| format!("unlocking {}", path.display()))?;
                Ok(Holder::Lost)
            }
            Err(fs::TryLockError::WouldBlock) => Ok(Holder::Alive),
            Err(fs::TryLockError::Error(err)) => {
                Err(err).with_context(|| format!("probing the lock {}", path.display()))
            }
        }
    }
}
