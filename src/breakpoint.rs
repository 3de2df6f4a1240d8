//! Tekton's debug breakpoints (`--debug-before-step`, `--breakpoint-on-failure`):
//! the step pauses until the user, through the debug scripts Tekton's
//! controller places in `/tekton/debug/scripts`, writes a file next to the
//! step's post file. The waits are baton's own (inotify, the cancel file,
//! stop signals), not Tekton's one-second poll. Facts:
//! tektoncd/pipeline's `pkg/entrypoint/entrypointer.go` and
//! `pkg/pod/scripts_constants.go` (docs/tekton.md).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::listeners::Listeners;
use crate::marker::with_suffix;
use crate::settings::Step;
use crate::wait::{self, Outcome};

/// Before the command: waits for `POST.beforestepexit` (run it) or
/// `POST.beforestepexit.err` (fail the step: `Outcome::UpstreamFailed`).
pub async fn before_step(step: &Step, post: &Path, cx: &mut Listeners) -> Result<Outcome> {
    let file = with_suffix(post, ".beforestepexit");
    tracing::warn!(
        target: "baton",
        "debug before step breakpoint: waiting for {} (run it: /tekton/debug/scripts/debug-beforestep-continue) \
         or {}.err (fail it: debug-beforestep-fail-continue)",
        file.display(),
        file.display()
    );
    wait_for(step, file, false, cx).await
}

/// After the command failed: waits for `POST.breakpointexit` (the debug
/// script has written the verdict itself by then) and gives the exit code it
/// holds. Unreadable as a number, it is 0, as with Tekton's entrypoint.
/// `Err(outcome)` when the wait ended otherwise (cancelled, a stop signal).
pub async fn on_failure(
    step: &Step,
    post: &Path,
    cx: &mut Listeners,
) -> Result<Result<u8, Outcome>> {
    let file = with_suffix(post, ".breakpointexit");
    tracing::warn!(
        target: "baton",
        "breakpoint on failure: waiting for {} (/tekton/debug/scripts/debug-continue or debug-fail-continue)",
        file.display()
    );
    // Written by `echo N > FILE`: once it has content it is whole.
    match wait_for(step, file.clone(), true, cx).await? {
        Outcome::Ready => {
            let text =
                fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let code = text.trim_end_matches('\n').parse().unwrap_or_else(|_| {
                tracing::error!(target: "baton", "{} holds no exit code: exiting 0", file.display());
                0
            });
            Ok(Ok(code))
        }
        Outcome::UpstreamFailed(_) => Ok(Ok(1)),
        outcome => Ok(Err(outcome)),
    }
}

async fn wait_for(
    step: &Step,
    file: PathBuf,
    content: bool,
    cx: &mut Listeners,
) -> Result<Outcome> {
    let files = [file];
    wait::wait(
        wait::Spec {
            files: &files,
            content,
            cancel_content: step.cancel_needs_content(),
            stops: crate::requests::Stops::of(step),
            cancel_file: step.waiting.cancel_file.as_deref(),
            run_after_failure: false,
        },
        cx,
    )
    .await
}
