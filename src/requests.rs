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

/// Covers the stop and cancel files and says whether one of them asks the
/// step to end (the cancel file first).
pub fn requested(
    watch: &mut Watch,
    locks: &mut lock::Watcher,
    stop_files: &[PathBuf],
    cancel_file: Option<&Path>,
    content: bool,
) -> Result<Option<Request>> {
    watch.begin_round();
    for file in stop_files {
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
    Ok(stop_requested(stop_files, locks, watch)?.map(Request::Stop))
}

/// The first stop file that is there, as `PATH` or `PATH.err`, or whose
/// writer died without writing either (its lock is free): the step it waits
/// for will never end otherwise, and a sidecar must not outlive its Job.
fn stop_requested(
    files: &[PathBuf],
    locks: &mut lock::Watcher,
    watch: &mut Watch,
) -> Result<Option<PathBuf>> {
    for file in files {
        if exists(file)? {
            return Ok(Some(file.clone()));
        }
        if let Some(failed) = failed(file)? {
            return Ok(Some(failed));
        }
        match locks.holder(file)? {
            Holder::Lost if !exists(file)? && failed(file)?.is_none() => {
                return Ok(Some(lock::lock_path(file)));
            }
            Holder::Alive => watch.guard(file, &lock::lock_path(file)),
            _ => {}
        }
    }
    Ok(None)
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
