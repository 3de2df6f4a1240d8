//! What the stop and cancel files ask of a step, looked at both while it
//! waits (`wait`) and while its command runs (`supervise`): a stop file (or
//! its `.err` twin, or its writer lost) ends the step as asked, the cancel
//! file cancels it. The files are covered by the watch before they are
//! looked at, as every file baton waits for.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::lock::{self, Holder};
use crate::marker::{err_path, exists, failed, gone};
use crate::watch::Watch;

/// What the stop and cancel files ask of a step.
#[derive(Debug)]
pub enum Request {
    /// The cancel file is there.
    Cancel(PathBuf),
    /// A stop file (or its `.err` twin) is there.
    Stop(PathBuf),
}

/// A step's stop files, and whether all of them must be there to stop it
/// (`--stop-when-all`) or any one (the default).
#[derive(Debug, Clone, Copy)]
pub struct Stops<'a> {
    pub files: &'a [PathBuf],
    pub all: bool,
}

impl<'a> Stops<'a> {
    pub fn of(step: &'a crate::settings::Step) -> Self {
        Self {
            files: &step.sidecar.stop_file,
            all: step.sidecar.stop_when_all,
        }
    }
}

/// Covers the stop and cancel files and says whether they ask the step to
/// end (the cancel file first).
pub fn requested(
    watch: &mut Watch,
    locks: &mut lock::Watcher,
    stops: Stops<'_>,
    cancel_file: Option<&Path>,
    content: bool,
) -> Result<Option<Request>> {
    watch.begin_round();
    for file in stops.files {
        watch.cover(file);
        watch.cover(&err_path(file));
        watch.cover(&lock::lock_path(file));
    }
    if let Some(file) = cancel_file {
        watch.cover(file);
    }
    if let Some(file) = cancel_requested(cancel_file, content)? {
        return Ok(Some(Request::Cancel(file)));
    }
    Ok(stop_requested(stops, locks, watch)?.map(Request::Stop))
}

/// A stop file that says stop: there as `PATH` or `PATH.err`, or its writer
/// died without writing either (its lock is free: the step it waits for will
/// never end otherwise, and a sidecar must not outlive its Job). The first
/// such file, or with `all` the last once every file says so.
fn stop_requested(
    stops: Stops<'_>,
    locks: &mut lock::Watcher,
    watch: &mut Watch,
) -> Result<Option<PathBuf>> {
    let mut said = None;
    for file in stops.files {
        let says = if exists(file)? {
            Some(file.clone())
        } else if let Some(failed) = failed(file)? {
            Some(failed)
        } else {
            match locks.holder(file)? {
                Holder::Lost if !exists(file)? && failed(file)?.is_none() => {
                    Some(lock::lock_path(file))
                }
                Holder::Alive => {
                    watch.guard(file, &lock::lock_path(file));
                    None
                }
                _ => None,
            }
        };
        match says {
            Some(path) if !stops.all => return Ok(Some(path)),
            Some(path) => said = Some(path),
            None if stops.all => return Ok(None),
            None => {}
        }
    }
    Ok(said)
}

/// The cancel file, if it is there (and non-empty when `content` is asked for).
fn cancel_requested(file: Option<&Path>, content: bool) -> Result<Option<PathBuf>> {
    let Some(file) = file else {
        return Ok(None);
    };
    match fs::metadata(file) {
        Ok(meta) if !content || meta.len() > 0 => Ok(Some(file.to_path_buf())),
        Ok(_) => Ok(None),
        Err(err) if gone(&err) => Ok(None),
        Err(err) => Err(err).with_context(|| format!("checking cancel file {}", file.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::{stop_requested, Stops};
    use crate::lock;
    use crate::watch::Watch;

    #[test]
    fn any_stop_file_or_all_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let files = [dir.path().join("a"), dir.path().join("b")];
        let look = |all: bool| {
            let stops = Stops { files: &files, all };
            stop_requested(stops, &mut lock::Watcher::default(), &mut Watch::default()).unwrap()
        };
        assert_eq!(look(false), None);
        std::fs::write(&files[0], "0\n").unwrap();
        assert_eq!(
            look(false),
            Some(files[0].clone()),
            "any: the first says stop"
        );
        assert_eq!(look(true), None, "all: b has not said so yet");
        std::fs::write(dir.path().join("b.err"), "1\n").unwrap();
        assert_eq!(look(true), Some(dir.path().join("b.err")), "all: both have");
    }
}
