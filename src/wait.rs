//! Waiting for the step before this one: until every wait file exists (and is
//! non-empty with `--wait-file-content`), or one of them has a `.err` twin, or
//! baton is told to stop. Driven by inotify through `notify`: the directory of
//! each wait file is watched *before* the files are checked, so a marker that
//! appears while baton starts is seen either by the check or by an event. A wait
//! file whose directory does not exist yet is covered by watching its deepest
//! existing ancestor and moving the watch down as directories appear. Where
//! inotify cannot be used (limits exhausted, or a filesystem that sends no
//! events, such as NFS or FUSE) baton polls every 100 ms and says so once.

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::signal::Signal;
use notify::{RecursiveMode, Watcher};
use tokio::sync::Notify as Wake;

use crate::exit_code::{Failure, USAGE};
use crate::marker::err_path;
use crate::reap;
use crate::signals::{self, Signals};

/// How often wait files are checked when inotify cannot be used.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How a wait ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every wait file is there.
    Ready,
    /// `FILE.err` appeared: the step upstream failed.
    UpstreamFailed(PathBuf),
    /// baton was told to stop while waiting.
    Stopped(Signal),
}

/// What a wait is for.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    pub files: &'a [PathBuf],
    pub content: bool,
}

/// Waits until `spec` is met, a wait file's upstream failed, or a stopping signal.
pub async fn wait(spec: Spec<'_>, signals: &mut Signals) -> Result<Outcome> {
    if spec.files.is_empty() {
        return Ok(Outcome::Ready);
    }
    let mut watch = Watch::new();
    loop {
        for file in spec.files {
            watch.cover(file);
        }
        if let Some(outcome) = check(spec)? {
            return Ok(outcome);
        }
        tokio::select! {
            biased;
            signal = signals.next() => {
                let signal = signal?;
                if signal == Signal::SIGCHLD {
                    reap::reap(None)?;
                } else if signals::ends_wait(signal) {
                    return Ok(Outcome::Stopped(signal));
                } else {
                    tracing::debug!(%signal, "no command yet: signal dropped");
                }
            }
            () = watch.changed() => {}
        }
    }
}

/// One look at every wait file: `Some` once the wait is over.
fn check(spec: Spec<'_>) -> Result<Option<Outcome>> {
    let mut ready = true;
    for file in spec.files {
        let failed = err_path(file);
        if exists(&failed)? {
            return Ok(Some(Outcome::UpstreamFailed(failed)));
        }
        ready &= is_there(file, spec.content)?;
    }
    Ok(ready.then_some(Outcome::Ready))
}

/// Whether a wait file counts as there. A directory is a usage error.
fn is_there(file: &Path, content: bool) -> Result<bool> {
    match fs::metadata(file) {
        Ok(meta) if meta.is_dir() => Err(Failure {
            code: USAGE,
            message: format!("wait file {} is a directory", file.display()),
        }
        .into()),
        Ok(meta) => Ok(!content || meta.len() > 0),
        Err(err) if gone(&err) => Ok(false),
        Err(err) => Err(err).with_context(|| format!("checking wait file {}", file.display())),
    }
}

fn exists(path: &Path) -> Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(err) if gone(&err) => Ok(false),
        Err(err) => Err(err).with_context(|| format!("checking {}", path.display())),
    }
}

/// Not there (yet): missing, or a path through something that is not a directory yet.
fn gone(err: &std::io::Error) -> bool {
    matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

/// The inotify watches of a wait, or the polling fallback.
struct Watch {
    watcher: Option<notify::RecommendedWatcher>,
    watched: HashSet<PathBuf>,
    wake: Arc<Wake>,
    poll: bool,
}

impl Watch {
    fn new() -> Self {
        let wake = Arc::new(Wake::new());
        let sender = Arc::clone(&wake);
        let watcher = notify::recommended_watcher(move |_event: notify::Result<notify::Event>| {
            sender.notify_one();
        });
        let mut watch = Self {
            watcher: None,
            watched: HashSet::new(),
            wake,
            poll: false,
        };
        match watcher {
            Ok(watcher) => watch.watcher = Some(watcher),
            Err(err) => watch.fall_back(&err.to_string()),
        }
        watch
    }

    /// Watches the directory of `file`, or its deepest existing ancestor.
    fn cover(&mut self, file: &Path) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        let mut dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        while !dir.is_dir() {
            match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => dir = p,
                _ => {
                    dir = Path::new(if file.is_absolute() { "/" } else { "." });
                    break;
                }
            }
        }
        if self.watched.contains(dir) {
            return;
        }
        let result = watcher.watch(dir, RecursiveMode::NonRecursive);
        match result {
            Ok(()) => {
                if let Some(kind) = eventless_filesystem(dir) {
                    self.fall_back(&format!(
                        "{} is on {kind}, which sends no inotify events",
                        dir.display()
                    ));
                }
                self.watched.insert(dir.to_path_buf());
            }
            // The directory vanished between the check and the watch: the next round retries.
            Err(notify::Error {
                kind: notify::ErrorKind::PathNotFound,
                ..
            }) => self.wake.notify_one(),
            Err(err) => self.fall_back(&format!("watching {}: {err}", dir.display())),
        }
    }

    fn fall_back(&mut self, why: &str) {
        if !self.poll {
            tracing::warn!("inotify cannot be used ({why}); polling every 100ms");
        }
        self.poll = true;
    }

    /// Resolves when something may have changed.
    async fn changed(&self) {
        if self.poll {
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        } else {
            self.wake.notified().await;
        }
    }
}

/// The name of the filesystem under `dir` if it is one known to send no (or
/// not all) inotify events for changes made elsewhere.
fn eventless_filesystem(dir: &Path) -> Option<&'static str> {
    let stat = nix::sys::statfs::statfs(dir).ok()?;
    // The magic numbers of linux/magic.h (and fs/*/ for the ones not listed there).
    #[allow(clippy::cast_sign_loss, clippy::unnecessary_cast)]
    let magic = stat.filesystem_type().0 as u64;
    match magic {
        0x6969 => Some("NFS"),
        0xFF53_4D42 | 0xFE53_4D42 | 0x517B => Some("SMB/CIFS"),
        0x6573_5546 => Some("FUSE"),
        0x0102_1997 => Some("9p"),
        0x00C3_6400 => Some("CephFS"),
        0x9fa0 => Some("procfs"),
        0x6265_6572 => Some("sysfs"),
        _ => None,
    }
}
