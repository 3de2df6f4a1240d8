//! Waiting for the step before this one: until every wait file exists (and is
//! non-empty with `--wait-file-content`), or one of them has a `.err` twin, or
//! its writer died without a verdict (see `lock`), or a stop file appears, or
//! baton is told to stop. The files are watched (see `watch`) *before* they are
//! checked, so a marker that appears while baton starts is seen either by the
//! check or by an event.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::sys::signal::Signal;

use crate::exit_code::{Failure, USAGE};
use crate::listeners::Listeners;
use crate::lock::{self, Holder};
use crate::marker::{err_path, exists, failed, gone};
use crate::requests::{self, Request};
use crate::signals;
use crate::watch::Watch;

/// How a wait ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every wait file is there.
    Ready,
    /// `FILE.err` appeared: the step upstream failed.
    UpstreamFailed(PathBuf),
    /// The step that writes this wait file died without a verdict.
    PredecessorLost(PathBuf),
    /// A stop file appeared: the command is not wanted any more.
    StopRequested(PathBuf),
    /// The cancel file appeared.
    Cancelled(PathBuf),
    /// baton was told to stop while waiting.
    Stopped(Signal),
}

/// What a wait is for.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    pub files: &'a [PathBuf],
    pub content: bool,
    /// Whether the cancel file counts only once it is non-empty.
    pub cancel_content: bool,
    pub stops: requests::Stops<'a>,
    pub cancel_file: Option<&'a Path>,
    /// A wait file's `.err` twin counts as the file (Tekton's breakpoint on
    /// failure: a failed step before does not skip this one).
    pub run_after_failure: bool,
}

/// Waits until `spec` is met or the wait ends otherwise (see `Outcome`).
pub async fn wait(spec: Spec<'_>, cx: &mut Listeners) -> Result<Outcome> {
    loop {
        for file in spec.files {
            cx.watch.cover(file);
            cx.watch.cover(&err_path(file));
            cx.watch.cover(&lock::lock_path(file));
        }
        match requests::requested(
            &mut cx.watch,
            &mut cx.locks,
            spec.stops,
            spec.cancel_file,
            spec.cancel_content,
        )? {
            Some(Request::Cancel(file)) => return Ok(Outcome::Cancelled(file)),
            Some(Request::Stop(file)) => return Ok(Outcome::StopRequested(file)),
            None => {}
        }
        if let Some(outcome) = check(spec, &mut cx.locks, &mut cx.watch)? {
            return Ok(outcome);
        }
        tokio::select! {
            biased;
            signal = cx.signals.next() => {
                let signal = signal?;
                if signal == Signal::SIGCHLD {
                    cx.reaper.reap()?;
                } else if signals::ends_wait(signal) {
                    return Ok(Outcome::Stopped(signal));
                } else {
                    tracing::debug!(%signal, "no command yet: signal dropped");
                }
            }
            changed = cx.watch.changed() => changed?,
        }
    }
}

/// One look at every file: `Some` once the wait is over. A file whose writer
/// is alive is guarded (see `Watch::guard`): its writer's lock will tell when
/// to look again.
fn check(spec: Spec<'_>, locks: &mut lock::Watcher, watch: &mut Watch) -> Result<Option<Outcome>> {
    let mut ready = true;
    for file in spec.files {
        let failed = |file: &Path| {
            failed(file).with_context(|| format!("checking wait file {}", file.display()))
        };
        if let Some(failed) = failed(file)? {
            if spec.run_after_failure {
                continue;
            }
            return Ok(Some(Outcome::UpstreamFailed(failed)));
        }
        if is_there(file, spec.content)? {
            continue;
        }
        ready = false;
        match locks.holder(file)? {
            Holder::Lost => {
                // A step writes its verdict before it lets go of its lock: look again.
                if let Some(failed) = failed(file)? {
                    if spec.run_after_failure {
                        continue;
                    }
                    return Ok(Some(Outcome::UpstreamFailed(failed)));
                }
                if !exists(file)? {
                    return Ok(Some(Outcome::PredecessorLost(file.clone())));
                }
            }
            Holder::Alive => watch.guard(file, &lock::lock_path(file)),
            Holder::Absent => {}
        }
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
        // A marker of another run of the pod is not there yet (`pod_run`).
        Ok(meta) => Ok((!content || meta.len() > 0) && !crate::pod_run::is_stale(file)),
        Err(err) if gone(&err) => Ok(false),
        Err(err) => Err(err).with_context(|| format!("checking wait file {}", file.display())),
    }
}
