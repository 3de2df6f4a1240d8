//! Watching files appear, for everything baton waits on: wait files, stop
//! files, a predecessor's lock. inotify through `notify`, with a polling
//! fallback: where inotify cannot be used (limits exhausted, or a filesystem
//! that sends no events, such as NFS or FUSE) baton polls every 100 ms and
//! says so once.
//!
//! A path whose directory does not exist yet is covered by watching its
//! deepest existing ancestor; the watch moves down as directories appear
//! (callers re-run `cover` after every wake-up). Callers cover first and check
//! second, so that a file created at any moment is seen by one or the other.
//!
//! Only events about the names covered wake baton's main thread: when a whole
//! chain of steps shares one directory, every marker, lock and temporary file
//! of every step is an event for every waiter, and waking each of them for
//! each would cost milliseconds per step. notify's thread drops the rest. A
//! covered file that is a symlink (a downward-API item, which the kubelet
//! updates by swapping a `..data` link) makes every event of its directory count.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::Notify as Wake;

/// How often files are checked when inotify cannot be used.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A set of inotify watches, or the polling fallback. The inotify instance (and
/// notify's thread) is made on the first `cover`, so a step with nothing to
/// watch pays nothing.
#[derive(Debug, Default)]
pub struct Watch {
    watcher: Option<notify::RecommendedWatcher>,
    watched: HashSet<PathBuf>,
    interest: Arc<Mutex<Interest>>,
    /// The working directory, read once, to make covered paths absolute.
    cwd: Option<PathBuf>,
    wake: Arc<Wake>,
    poll: bool,
}

impl Watch {
    fn start(&mut self) {
        let sender = Arc::clone(&self.wake);
        let interest = Arc::clone(&self.interest);
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let relevant = event.map_or(true, |event| {
                event.need_rescan()
                    || event.paths.is_empty()
                    || interest
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .wants(&event.paths)
            });
            if relevant {
                sender.notify_one();
            }
        });
        match watcher {
            Ok(watcher) => self.watcher = Some(watcher),
            Err(err) => self.fall_back(&err.to_string()),
        }
    }

    /// Watches the directory of `file`, or its deepest existing ancestor.
    pub fn cover(&mut self, file: &Path) {
        if self.watcher.is_none() && !self.poll {
            self.start();
        }
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        let mut dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // The name in `dir` whose events matter: the file's own, or the next
        // directory on the way to it.
        let mut name = file.file_name().map(OsString::from);
        while !dir.is_dir() {
            name = dir.file_name().map(OsString::from);
            match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => dir = p,
                _ => {
                    dir = Path::new(if file.is_absolute() { "/" } else { "." });
                    break;
                }
            }
        }
        {
            let mut interest = self.interest.lock().unwrap_or_else(PoisonError::into_inner);
            // notify reports absolute paths, made as it makes them.
            let key = if dir.is_absolute() {
                dir.to_path_buf()
            } else {
                let cwd = self
                    .cwd
                    .get_or_insert_with(|| std::env::current_dir().unwrap_or_default());
                cwd.join(dir)
            };
            let names = interest.names.entry(key).or_default();
            match name {
                Some(name) if !is_symlink(file) => names.insert(Some(name)),
                _ => names.insert(None),
            };
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

    /// Resolves when something may have changed (never, if nothing is watched).
    pub async fn changed(&self) {
        if self.watcher.is_none() && !self.poll {
            return std::future::pending().await;
        }
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

/// The names whose events matter, by watched directory (`None`: every name).
#[derive(Debug, Default)]
struct Interest {
    names: HashMap<PathBuf, HashSet<Option<OsString>>>,
}

impl Interest {
    /// Whether an event about `paths` (the watched directory joined with the
    /// name, as notify reports them) concerns a covered name.
    fn wants(&self, paths: &[PathBuf]) -> bool {
        paths.iter().any(|path| {
            let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
                return true;
            };
            self.names.get(dir).is_some_and(|names| {
                names.contains(&None) || names.contains(&Some(name.to_os_string()))
            })
        })
    }
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
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
