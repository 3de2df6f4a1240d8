//! Watching files appear, for everything baton waits on: wait files, stop
//! files, a predecessor's lock. inotify, read on baton's own thread through
//! the async loop, with a polling fallback: where inotify cannot be used
//! (limits exhausted, or a filesystem that sends no events, such as NFS or
//! FUSE) baton polls every 100 ms and says so once.
//!
//! A path whose directory does not exist yet is covered by watching its
//! deepest existing ancestor; the watch moves down as directories appear
//! (callers re-run `cover` after every wake-up). Callers cover first and check
//! second, so that a file created at any moment is seen by one or the other.
//!
//! Why inotify directly and not the `notify` crate (which the first version
//! used): the steps of a pod share marker directories, so every event there
//! reaches every waiter. notify watches with a fixed mask that includes
//! `IN_OPEN`, `IN_MODIFY` and `IN_ATTRIB`, and hands every event to a thread of its
//! own, so each write or open of any file woke a thread in every waiting
//! baton; along a chain of 100 steps that cost milliseconds per step. Here the
//! mask holds only what can change a check (a name created, renamed in or
//! deleted, a file closed after writing, the directory itself going), events
//! about names nobody covered are dropped without a wake-up, and there is no
//! second thread.
//!
//! Quiet waiting: all the steps of a chain wait in one directory, so every
//! marker written there would still wake every waiter, only for it to find
//! that the name is not its own (on 2 cores, 100 waiters made that most of the
//! handoff time). But a marker whose writer is alive (its lock is held, see
//! `lock`) announces itself through that lock: the writer renames the marker
//! in, then removes the lock file (an `IN_ATTRIB` on the lock's inode, whose
//! link count drops) or dies (an `IN_CLOSE_WRITE`). So a waiter `guard`s such
//! a file by watching its writer's lock file alone, and a directory whose
//! every covered name belongs to a guarded file is not watched at all. The
//! directory watch is removed only after the guard is in place, and it comes
//! back (with a fresh check) as soon as a file is no longer guarded. What is
//! given up: a marker written by someone else while its writer still runs is
//! seen when the writer ends.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest as Readiness;

use crate::marker::err_path;

/// How often files are checked when inotify cannot be used.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The events that can change the outcome of a check.
fn mask() -> AddWatchFlags {
    AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_ONLYDIR
}

/// After an `IN_CLOSE_WRITE` (a writer's lock closing as it dies), how often
/// and how many times to look again without an event. The kernel sends the
/// close event before it drops the dead writer's `flock`, so a waiter woken
/// at once can still find the lock held, and no later event would come.
const LOCK_CLOSE_RECHECK: Duration = Duration::from_millis(2);
const LOCK_CLOSE_RECHECKS: u8 = 5;

/// The events on a writer's lock file that mean "look again": the lock file
/// removed or replaced (its link count changes), the writer's last close.
fn lock_mask() -> AddWatchFlags {
    AddWatchFlags::IN_ATTRIB
        | AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
}

/// An inotify instance, for tokio (which wants `AsRawFd`).
#[derive(Debug)]
struct Fd(Inotify);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A set of inotify watches, or the polling fallback. The inotify instance is
/// made on the first `cover`, so a step with nothing to watch pays nothing.
#[derive(Debug, Default)]
pub struct Watch {
    inotify: Option<AsyncFd<Fd>>,
    /// Watched directories, by watch descriptor (every spelling that reached
    /// the same directory: inotify gives one descriptor per inode) and by path.
    dirs: HashMap<WatchDescriptor, Vec<PathBuf>>,
    watched: HashSet<PathBuf>,
    /// The names whose events matter, by watched directory (`None`: every name).
    names: HashMap<PathBuf, HashSet<Option<OsString>>>,
    /// Watches on writers' lock files, with the file each one guards.
    guards: HashMap<WatchDescriptor, PathBuf>,
    /// The parents of watched directories, watched for the removal or
    /// renaming of those (by name in the parent): a directory with a file
    /// open in it (the step's own lock, say) sends its own watch nothing when
    /// it is removed, until that file is closed.
    parents: HashMap<WatchDescriptor, Vec<(OsString, PathBuf)>>,
    /// The paths guarded in the round that is being checked (see `settle`):
    /// each guarded file, its `.err` and its `.lock`.
    guarded: Vec<PathBuf>,
    /// A round (cover and check) happened since the last `settle`.
    fresh: bool,
    /// Directories left unwatched: every name covered there is guarded.
    quiet: HashSet<PathBuf>,
    /// Watches removed on purpose; their last event (`IN_IGNORED`) is no news.
    retired: HashSet<WatchDescriptor>,
    /// Rounds left in which to look again after a short pause, without an
    /// event (see `LOCK_CLOSE_RECHECK`).
    rechecks: u8,
    /// Something changed while covering: look again without waiting.
    again: bool,
    poll: bool,
}

impl Watch {
    fn start(&mut self) {
        let made = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
            .map_err(anyhow::Error::from)
            .and_then(|inotify| {
                // SAFETY: `Fd` owns the inotify descriptor, which stays open and the
                // same for as long as the AsyncFd (its only owner) lives.
                unsafe { AsyncFd::register_with_interest(Fd(inotify), Readiness::READABLE) }
                    .map_err(|err| anyhow::Error::from(err.into_parts().1))
            });
        match made {
            Ok(fd) => self.inotify = Some(fd),
            Err(err) => self.fall_back(&format!("inotify_init: {err}")),
        }
    }

    /// Watches the directory of `file`, or its deepest existing ancestor, and
    /// notes which name in it matters. A covered file that is a symlink (a
    /// downward-API item, which the kubelet updates by swapping a `..data`
    /// link) makes every event of its directory count.
    pub fn cover(&mut self, file: &Path) {
        if self.inotify.is_none() && !self.poll {
            self.start();
        }
        let Some(inotify) = &self.inotify else {
            return;
        };
        let mut dir = parent_of(file);
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
        // Called again after every wake-up: allocate only for what is new.
        let name = name.filter(|_| !is_symlink(file));
        let known = self
            .names
            .get(dir)
            .is_some_and(|names| names.contains(&None) || names.contains(&name));
        if !known {
            self.names
                .entry(dir.to_path_buf())
                .or_default()
                .insert(name);
        }
        self.fresh = true;
        if self.watched.contains(dir) || self.quiet.contains(dir) {
            return;
        }
        match inotify.get_ref().0.add_watch(dir, mask()) {
            Ok(wd) => {
                if let Some(kind) = eventless_filesystem(dir) {
                    self.fall_back(&format!(
                        "{} is on {kind}, which sends no inotify events",
                        dir.display()
                    ));
                }
                self.dirs.entry(wd).or_default().push(dir.to_path_buf());
                self.watched.insert(dir.to_path_buf());
                self.watch_parent(dir);
            }
            // The directory went between the check and the watch: look again.
            Err(Errno::ENOENT | Errno::ENOTDIR) => self.again = true,
            Err(err) => self.fall_back(&format!("watching {}: {err}", dir.display())),
        }
    }

    /// Watches the parent of `dir` for the removal or renaming of `dir` (see
    /// `parents`), adding to whatever the parent is watched for already.
    fn watch_parent(&mut self, dir: &Path) {
        let (Some(inotify), Some(name)) = (&self.inotify, dir.file_name()) else {
            return;
        };
        let parent = parent_of(dir);
        if parent == dir {
            return;
        }
        let mask = AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_ONLYDIR
            // nix has no name for it: add to the mask, do not replace it.
            | AddWatchFlags::from_bits_retain(nix::libc::IN_MASK_ADD);
        if let Ok(wd) = inotify.get_ref().0.add_watch(parent, mask) {
            let children = self.parents.entry(wd).or_default();
            if !children.iter().any(|(_, child)| child == dir) {
                children.push((name.to_owned(), dir.to_path_buf()));
            }
        }
    }

    /// Guards `file`, which is missing and whose writer holds `lock`: until
    /// the next round, an event on the lock file is enough to look again (see
    /// the module's comment). If the lock file is already gone, nothing is
    /// guarded and the directory stays watched.
    pub fn guard(&mut self, file: &Path, lock: &Path) {
        let Some(inotify) = &self.inotify else {
            return;
        };
        if self.poll {
            return;
        }
        if let Ok(wd) = inotify.get_ref().0.add_watch(lock, lock_mask()) {
            // The same inode gives the same descriptor: renewed, not added. A
            // new guard was probed before its watch existed (a restarted
            // writer's lock): look once more now that it is watched.
            if self.guards.insert(wd, file.to_path_buf()).is_none() {
                self.again = true;
            }
            self.guarded
                .extend([file.to_path_buf(), err_path(file), lock.to_path_buf()]);
        }
    }

    /// Starts a round of covering and checking: the guards of earlier rounds
    /// count no more.
    pub fn begin_round(&mut self) {
        self.guarded.clear();
        self.fresh = true;
    }

    /// After a round: drops the guards no longer asked for, stops watching
    /// directories whose every covered name is guarded, and watches again
    /// (asking for a fresh round) those where that is no longer so.
    fn settle(&mut self) {
        if !std::mem::take(&mut self.fresh) {
            return;
        }
        let guarded = std::mem::take(&mut self.guarded);
        let Some(inotify) = &self.inotify else {
            return;
        };
        let inotify = &inotify.get_ref().0;
        let retired = &mut self.retired;
        let mut retire = |wd: WatchDescriptor| {
            if inotify.rm_watch(wd).is_ok() {
                retired.insert(wd);
            }
        };
        self.guards.retain(|wd, file| {
            let keep = guarded.contains(file);
            if !keep {
                retire(*wd);
            }
            keep
        });
        // A covered name is guarded if it is one of the paths `guard` listed.
        let is_guarded = |dir: &Path, name: &Option<OsString>| {
            name.as_ref().is_some_and(|name| {
                guarded.iter().any(|path| {
                    parent_of(path) == dir && path.file_name() == Some(name.as_os_str())
                })
            })
        };
        let quiet = |dir: &Path| {
            self.names
                .get(dir)
                .is_some_and(|names| names.iter().all(|n| is_guarded(dir, n)))
        };
        let mut silence = Vec::new();
        for (wd, spellings) in &self.dirs {
            if spellings.iter().all(|dir| quiet(dir)) {
                silence.push(*wd);
            }
        }
        let mut wake = false;
        self.quiet.retain(|dir| {
            let keep = quiet(dir);
            wake |= !keep;
            keep
        });
        for wd in silence {
            if let Some(spellings) = self.dirs.remove(&wd) {
                retire(wd);
                for dir in spellings {
                    self.watched.remove(&dir);
                    // A quiet directory needs no sentinel in its parent either.
                    for children in self.parents.values_mut() {
                        children.retain(|(_, child)| *child != dir);
                    }
                    self.quiet.insert(dir);
                }
            }
        }
        // A parent watched only as a sentinel of directories now quiet goes.
        let dirs = &self.dirs;
        self.parents.retain(|wd, children| {
            let idle = children.is_empty() && !dirs.contains_key(wd);
            if idle {
                retire(*wd);
            }
            !idle
        });
        // A directory no longer quiet is watched by the next round's `cover`,
        // which then checks: look again at once.
        self.again |= wake;
    }

    fn fall_back(&mut self, why: &str) {
        if !self.poll {
            tracing::warn!("inotify cannot be used ({why}); polling every 100ms");
        }
        self.poll = true;
    }

    /// Resolves when something covered may have changed (never, if nothing
    /// is watched); every 100 ms when polling.
    pub async fn changed(&mut self) -> Result<()> {
        self.settle();
        if std::mem::take(&mut self.again) {
            return Ok(());
        }
        if self.poll {
            tokio::time::sleep(POLL_INTERVAL).await;
            return Ok(());
        }
        if self.inotify.is_none() {
            return std::future::pending().await;
        }
        if self.rechecks > 0 {
            self.rechecks -= 1;
            // Either an event, or a look again after the pause.
            return match tokio::time::timeout(LOCK_CLOSE_RECHECK, self.events()).await {
                Ok(read) => read,
                Err(_elapsed) => Ok(()),
            };
        }
        self.events().await
    }

    /// Reads events until one may change a check.
    async fn events(&mut self) -> Result<()> {
        let Some(inotify) = &self.inotify else {
            return std::future::pending().await;
        };
        loop {
            let mut guard = inotify.readable().await.context("polling inotify")?;
            let events = match guard.get_inner().0.read_events() {
                Ok(events) => events,
                Err(Errno::EAGAIN) => {
                    guard.clear_ready();
                    continue;
                }
                Err(err) => {
                    return Err(std::io::Error::from(err)).context("reading inotify events")
                }
            };
            let mut relevant = false;
            for event in events {
                if event.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                    relevant = true;
                    continue;
                }
                if self.retired.contains(&event.wd) {
                    // Queued before the watch was removed: may still be news.
                    if event.mask.contains(AddWatchFlags::IN_IGNORED) {
                        self.retired.remove(&event.wd);
                    } else {
                        relevant = true;
                    }
                    continue;
                }
                let closed = event.mask.contains(AddWatchFlags::IN_CLOSE_WRITE);
                if self.guards.contains_key(&event.wd) {
                    if event.mask.contains(AddWatchFlags::IN_IGNORED) {
                        self.guards.remove(&event.wd);
                    }
                    if closed {
                        self.rechecks = LOCK_CLOSE_RECHECKS;
                    }
                    relevant = true;
                    continue;
                }
                if let Some(children) = self.parents.get(&event.wd) {
                    let gone = event.mask.contains(AddWatchFlags::IN_ISDIR)
                        && event
                            .mask
                            .intersects(AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM);
                    let went: Vec<PathBuf> = children
                        .iter()
                        .filter(|(child, _)| gone && event.name.as_ref() == Some(child))
                        .map(|(_, dir)| dir.clone())
                        .collect();
                    for dir in went {
                        // A watched directory went: forget its watch (no more
                        // events come from it) and cover it anew.
                        self.watched.remove(&dir);
                        self.dirs.retain(|_, spellings| {
                            spellings.retain(|d| *d != dir);
                            !spellings.is_empty()
                        });
                        relevant = true;
                    }
                }
                let Some(spellings) = self.dirs.get(&event.wd) else {
                    continue;
                };
                if event.mask.intersects(
                    AddWatchFlags::IN_IGNORED
                        | AddWatchFlags::IN_DELETE_SELF
                        | AddWatchFlags::IN_MOVE_SELF,
                ) {
                    // The directory itself went: cover it anew on the next round.
                    for dir in spellings {
                        self.watched.remove(dir);
                    }
                    if event.mask.contains(AddWatchFlags::IN_IGNORED) {
                        self.dirs.remove(&event.wd);
                    }
                    relevant = true;
                    continue;
                }
                // A scan of a few names, not a lookup: no copy of the event's name.
                let covered = spellings.iter().any(|dir| {
                    self.names.get(dir).is_some_and(|names| {
                        names
                            .iter()
                            .any(|name| name.is_none() || *name == event.name)
                    })
                });
                if covered && closed {
                    self.rechecks = LOCK_CLOSE_RECHECKS;
                }
                relevant |= covered;
            }
            if relevant {
                return Ok(());
            }
        }
    }
}

/// The directory a file is in (`.` for a bare name).
fn parent_of(file: &Path) -> &Path {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

impl Drop for Watch {
    /// Leaves the inotify descriptor open for the process's exit to close.
    /// Closing an inotify instance that had watches waits for the kernel's
    /// fsnotify SRCU grace period: measured 20 ms with 50 waiting batons on 2
    /// cores, and the watch is dropped before the verdict is written, so each
    /// step of a chain paid it. At exit the same wait comes after the verdict.
    fn drop(&mut self) {
        if let Some(fd) = self.inotify.take() {
            std::mem::forget(fd);
        }
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
