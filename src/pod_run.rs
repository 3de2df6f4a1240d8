//! Which run of the pod a marker belongs to. When all of a pod's containers
//! are restarted in place (KEP-5532's `RestartAllContainers`, or a pod sandbox
//! re-created), emptyDirs keep their files: the markers of the run before
//! would make steps skip, or resume, wrongly. So the install step (`baton
//! install`, `cp`, `init`: the init container, which runs again in a new run
//! of the pod) writes a fresh run id next to the binary it installs
//! (`baton.run`), and every verdict a step writes holds the id of its run
//! (`run ID` on its second line). A marker of another run is taken as
//! absent: its waiters wait, its own step runs again. A single container
//! restarted keeps the run (no install ran since): it resumes as before. A
//! baton not installed this way (no `baton.run` beside it), and Tekton's
//! empty markers, carry no run and behave as before.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The run file's name, next to the installed binary.
const RUN_FILE: &str = "baton.run";

/// A new run of the pod, to begin beside the binary installed in `dir`:
/// where to write it, and what (a fresh id).
pub fn fresh(dir: &Path) -> (PathBuf, String) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (
        dir.join(RUN_FILE),
        format!("{nanos:x}-{:x}\n", std::process::id()),
    )
}

/// This run's id: what `baton.run` beside the running binary holds, if
/// there is one. Read once.
pub fn current() -> Option<&'static str> {
    static CURRENT: OnceLock<Option<String>> = OnceLock::new();
    CURRENT
        .get_or_init(|| {
            let exe = std::env::current_exe().ok()?;
            let file: PathBuf = exe.parent()?.join(RUN_FILE);
            let id = fs::read_to_string(file).ok()?;
            Some(id.trim().to_owned()).filter(|id| !id.is_empty())
        })
        .as_deref()
}

/// The line a verdict carries for this run, if there is a run.
pub fn line() -> Option<String> {
    current().map(|id| format!("run {id}\n"))
}

/// Whether the marker at `path` belongs to another run of the pod: it names
/// a run, and not this one. A marker that names none (an older baton's,
/// Tekton's) belongs to every run; one that cannot be read is left to the
/// caller's own look.
pub fn is_stale(path: &Path) -> bool {
    let Some(id) = current() else {
        return false;
    };
    let Ok(text) = fs::read_to_string(path) else {
        return false;
    };
    text.lines()
        .find_map(|line| line.strip_prefix("run "))
        .is_some_and(|run| run != id)
}
