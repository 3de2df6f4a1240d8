//! What a step listens to while it waits and while its command runs: the
//! signals, its children, the watched files and its predecessors' locks.
//! Owned by `step`, lent to `wait` and `supervise` in turn.

use crate::lock;
use crate::reap::Reaper;
use crate::signals::Signals;
use crate::watch::Watch;

/// What a running step listens to.
#[derive(Debug)]
pub struct Listeners {
    pub signals: Signals,
    pub reaper: Reaper,
    pub watch: Watch,
    /// Predecessors' locks (wait files, stop files).
    pub locks: lock::Watcher,
}
