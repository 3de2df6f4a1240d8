//! One step of a pod: wait, run, mark. This is the loop the rest of the crate
//! serves; `docs/how-baton-works.md` describes it for people.
//!
//! Once baton knows its post file, every way out writes a verdict (`POST` or
//! `POST.err`), so that nothing downstream waits forever because of it.

use std::ffi::OsString;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use nix::sys::signal::Signal;

use crate::breakpoint;
use crate::child;
use crate::envfile;
use crate::exit_code::{self, ChildExit, Failure};
use crate::listeners::Listeners;
use crate::lock;
use crate::marker::{self, err_path};
use crate::oom;
use crate::output;
use crate::reap::{self, Reaper};
use crate::requests::{self, Request};
pub use crate::settings::Step;
use crate::settings::{OnError, ResultFrom};
use crate::signals::{self, Signals};
use crate::supervise::{self, Cause, Ended};
use crate::tekton;
use crate::terminal;
use crate::termination::{self, Encoding, Entry};
use crate::timestamp::rfc3339_millis;
use crate::wait::{self, Outcome};
use crate::watch::Watch;
#[cfg(feature = "tekton")]
use crate::when;

/// The longest pause between two attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_mins(1);

/// How a step ended, before it is written down.
#[derive(Debug)]
struct Report {
    /// baton's exit code, which also decides `POST` or `POST.err`.
    code: u8,
    /// The command's own code where it differs (`--on-error continue`).
    command_code: Option<u8>,
    started_at: SystemTime,
    reason: Option<&'static str>,
    /// Said once on stderr when the step did not simply run.
    message: Option<String>,
    /// How many times the command ran, when retries were allowed.
    attempts: Option<u32>,
    /// Tekton's breakpoint on failure: the debugger wrote the verdict, and
    /// the termination message is written already.
    debugger: bool,
}

/// A step whose command could not be started (its env files, the exec):
/// the failure's code and message.
impl From<Failure> for Report {
    fn from(failure: Failure) -> Self {
        Self::new(failure.code, None, Some(failure.message))
    }
}

impl Report {
    fn new(code: u8, reason: Option<&'static str>, message: Option<String>) -> Self {
        Self {
            code,
            command_code: None,
            started_at: SystemTime::now(),
            reason,
            message,
            attempts: None,
            debugger: false,
        }
    }

    /// baton's own entries of the termination message. In Tekton's mode,
    /// as its controller reads them (`pkg/pod/status.go`): an `ExitCode`
    /// entry means "continued", so it is there only under `--on-error
    /// continue`, and no `Continued` reason (the controller derives it).
    fn entries(&self, tekton: bool) -> Vec<Entry> {
        let kind = termination::INTERNAL;
        let mut out = vec![Entry::new(
            "StartedAt",
            rfc3339_millis(self.started_at),
            kind,
        )];
        if !tekton || self.command_code.is_some() {
            let code = self.command_code.unwrap_or(self.code);
            out.push(Entry::new("ExitCode", code.to_string(), kind));
        }
        if let Some(reason) = self.reason.filter(|r| !(tekton && *r == "Continued")) {
            out.push(Entry::new("Reason", reason, kind));
        }
        if let Some(attempts) = self.attempts {
            out.push(Entry::new("Attempts", attempts.to_string(), kind));
        }
        if let (Some("ResultsTooLarge"), Some(message)) = (self.reason, &self.message) {
            out.push(Entry::new("Message", message.clone(), kind));
        }
        out
    }
}

/// Runs a step to the end and returns baton's exit code.
pub fn run(step: &Step) -> Result<u8> {
    // First of all, before any thread exists (see `signals`).
    let blocked = signals::block()?;
    // One look at the post file answers both questions below.
    let post = step
        .marking
        .post_file
        .as_deref()
        .and_then(|p| fs::metadata(p).ok());
    if let Some(bad) = bad_markers(step, post.as_ref().is_some_and(fs::Metadata::is_dir)) {
        return fail(step, bad.into());
    }
    if already_ran(step, post.is_some()) {
        return Ok(0);
    }
    let held = match prepare(step) {
        Ok(held) => held,
        Err(err) => return fail(step, err),
    };
    // Tekton's creds-init flags, once the lock is held; as for Tekton, a
    // failure is not the step's.
    #[cfg(feature = "tekton")]
    if step.tekton_mode() || step.tekton.creds_requested() {
        if let Err(err) = crate::creds::install(&step.tekton) {
            tracing::warn!("{err:#}");
        }
    }
    // Wait, then run: in the async runtime only when there is something to
    // wait for, watch, probe, capture or retry.
    let report = if let Some(refused) = refused(step) {
        Ok(refused)
    } else if step.needs_runtime() {
        in_runtime(step, &blocked)
    } else {
        execute_blocking(step, &blocked)
    };
    let mut report = match report {
        Ok(report) => report,
        Err(err) => return fail(step, err),
    };
    if step.tekton_mode() {
        in_tekton_terms(&mut report);
    }
    // Mark.
    finish(step, &mut report)?;
    for lock in held {
        lock.release();
    }
    // `--exit-code-for`: the code, not the verdict, of one of baton's outcomes.
    if let Some((_, code)) = step
        .running
        .exit_code_for
        .iter()
        .rev()
        .find(|(reason, _)| Some(*reason) == report.reason)
    {
        report.code = *code;
    }
    match report.message {
        Some(message) => Err(Failure {
            code: report.code,
            message,
        }
        .into()),
        None => Ok(report.code),
    }
}

/// Marker paths that cannot work, found before anything runs (exit 2): a
/// post file that is a directory (it would pass for a step that ran), a
/// step that waits for its own post or ready file (it would wait for good).
fn bad_markers(step: &Step, post_is_dir: bool) -> Option<Failure> {
    let usage = |message: String| Failure {
        code: exit_code::USAGE,
        message,
    };
    let post_dir = step.marking.post_file.iter().filter(|_| post_is_dir);
    let ready_dir = step.sidecar.ready_file.iter().filter(|p| p.is_dir());
    if let Some(dir) = post_dir.chain(ready_dir).next() {
        return Some(usage(format!("marker {} is a directory", dir.display())));
    }
    let own = step
        .marking
        .post_file
        .iter()
        .chain(&step.sidecar.ready_file);
    let waits_for_itself = own.into_iter().find(|p| step.waiting.wait_file.contains(p));
    waits_for_itself.map(|p| {
        usage(format!(
            "the step waits for its own marker {}: it would wait for good",
            p.display()
        ))
    })
}

/// What this build cannot do that the command line asks for: the step fails
/// at once, with one line (exit 1, `POST.err`).
fn refused(step: &Step) -> Option<Report> {
    let why = if step.tekton.enable_spire {
        "SPIRE is not in baton: --enable-spire cannot sign the results"
    } else if !cfg!(feature = "tekton") && step.tekton.when_expressions.is_some() {
        "this build of baton has no when expressions (--when-expressions): use the image's \
         /ko-app/entrypoint, built with the tekton feature"
    } else if !cfg!(feature = "tekton") && step.tekton.creds_requested() {
        "this build of baton has no creds-init (--basic-git, --ssh-git, --basic-docker, \
         --docker-config, --docker-cfg): use the image's /ko-app/entrypoint, built with the tekton feature"
    } else {
        return None;
    };
    Some(Report::new(exit_code::SKIPPED, None, Some(why.into())))
}

/// Whether the step's success marker exists (`exists`) from an earlier run
/// (and `--rerun` does not ask to run it again): a restarted pod resumes.
fn already_ran(step: &Step, exists: bool) -> bool {
    match &step.marking.post_file {
        Some(post) if exists && !step.marking.rerun && !crate::pod_run::is_stale(post) => {
            tracing::info!(post = %post.display(), "the step already ran (its marker exists): not running it again");
            true
        }
        _ => false,
    }
}

/// Takes the locks, held until the verdict is written whatever happens next
/// (one for the post file, and one for the ready file, so that the waiters
/// of a sidecar killed before it was ready fail fast too), then clears what
/// an earlier attempt left.
fn prepare(step: &Step) -> Result<Vec<lock::Held>> {
    // The locks before anything else: a step killed before its lock exists
    // leaves its waiters waiting (docs/how-baton-works.md, "The first
    // milliseconds").
    let held = step
        .marking
        .post_file
        .iter()
        .chain(&step.sidecar.ready_file)
        .map(|marker| lock::Held::take(marker))
        .collect::<Result<Vec<_>>>()?;
    if let Err(err) = reap::become_subreaper()
        .and_then(|()| clear_stale(step))
        .and_then(|()| metadata_dirs(step))
    {
        // Held on until exit, past the verdict that `fail` writes.
        std::mem::forget(held);
        return Err(err);
    }
    Ok(held)
}

/// Waits and runs the command in a single-threaded async runtime, for a step
/// with files to wait for or watch, readiness to probe, output to capture or
/// attempts to retry. Never inlined: its future is kept on the stack, about
/// 14 KB, which a plain step would otherwise reserve and fault in as well.
#[inline(never)]
fn in_runtime(step: &Step, blocked: &signals::Blocked) -> Result<Report> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let mut cx = Listeners {
            signals: Signals::register(blocked)?,
            reaper: Reaper::default(),
            watch: Watch::default(),
            locks: lock::Watcher::default(),
        };
        let outcome = wait::wait(
            wait::Spec {
                files: &step.waiting.wait_file,
                content: step.waiting.wait_file_content,
                cancel_content: step.cancel_needs_content(),
                stops: requests::Stops::of(step),
                // Tekton's entrypoint looks at its cancel file only while the
                // command runs: a cancelled TaskRun's waiting steps end as
                // Skipped, through the running step's failure.
                cancel_file: step
                    .waiting
                    .cancel_file
                    .as_deref()
                    .filter(|_| !step.tekton_mode()),
                run_after_failure: step.tekton.breakpoint_on_failure,
            },
            &mut cx,
        )
        .await?;
        let report = match outcome {
            Outcome::Ready => execute_with_breakpoints(step, &mut cx).await,
            outcome => Ok(not_run(&outcome)),
        };
        // baton exits right after the verdict, and exit closes every
        // descriptor: closing them here would cost a system call each.
        std::mem::forget(cx);
        report
    });
    std::mem::forget(runtime);
    report
}

/// Runs the command of a step that needs nothing but signals and timers
/// (no wait, no watch, no probe, no capture, one attempt) without a runtime:
/// most of what a plain `baton -- command` costs beyond the command itself
/// was building one (docs/performance.md).
fn execute_blocking(step: &Step, blocked: &signals::Blocked) -> Result<Report> {
    let reaper = Reaper::default();
    let (substituted, env) = match before_start(step, || blocked.pending(), &reaper)? {
        Ok(ready) => ready,
        Err(report) => return Ok(report),
    };
    let step = substituted.as_deref().unwrap_or(step);
    let started_at = SystemTime::now();
    let group = match start(step, &env, output::Pipes::default(), &reaper) {
        Ok(group) => group,
        Err(report) => return Ok(report),
    };
    let ended = supervise::supervise_blocking(group, step, blocked, &reaper)
        .inspect_err(|_| never_behind_a_verdict(group))?;
    let report = Report {
        started_at,
        ..verdict(step, &ended)
    };
    Ok(on_error(step, report))
}

/// Before the command first starts: a stop asked for meanwhile (while the
/// last wait file appeared, say) wins over starting it (`next` takes a
/// queued signal); then the env files are read and the when expressions
/// looked at (`when`). The step as it runs and its additions to the
/// environment, or (`Err`) the report of a step that ends here.
fn before_start(
    step: &Step,
    mut next: impl FnMut() -> Result<Option<Signal>>,
    reaper: &Reaper,
) -> Result<Result<Ready, Report>> {
    while let Some(signal) = next()? {
        if signal == Signal::SIGCHLD {
            reaper.reap()?;
        } else if signals::ends_wait(signal) {
            return Ok(Err(stopped_by(signal)));
        }
    }
    Ok(envfile::read_all(&step.running.env_file)
        .map_err(Report::from)
        .and_then(|env| when(step, env)))
}

/// Starts the command and follows it; a command that cannot be started is
/// its step's report (not retried: `finish` writes READY.err with its code).
fn start(
    step: &Step,
    env: &[(OsString, OsString)],
    pipes: output::Pipes,
    reaper: &Reaper,
) -> Result<nix::unistd::Pid, Report> {
    let group = child::spawn(&step.argv(), env, pipes, terminal::owned()).map_err(Report::from)?;
    reaper.follow(group);
    tracing::debug!(pid = group.as_raw(), "command started");
    Ok(group)
}

/// Step results substituted and the when expressions evaluated
/// (`when::before_start`): a step they do not allow ends here, a success
/// (`Skipped`), and one they cannot be evaluated for fails.
#[cfg(feature = "tekton")]
fn when(step: &Step, env: Env) -> Result<Ready, Report> {
    match when::before_start(step, env) {
        Ok(when::Start::Run { step, env }) => Ok((step, env)),
        Ok(when::Start::Skip) => Err(Report::new(0, Some("Skipped"), None)),
        Err(failure) => Err(failure.into()),
    }
}

/// Without the tekton feature there are neither when expressions (refused,
/// see `refused`) nor step results to substitute.
#[cfg(not(feature = "tekton"))]
#[allow(clippy::unnecessary_wraps)]
fn when(_step: &Step, env: Env) -> Result<Ready, Report> {
    Ok((None, env))
}

/// The command's additions to the environment (`--env-file`).
type Env = Vec<(OsString, OsString)>;

/// A command about to start: its step with results substituted, where any
/// were (`when`), and its additions to the environment.
type Ready = (Option<Box<Step>>, Env);

/// When supervision itself failed: the command must not run on behind the
/// verdict that the error leads to.
fn never_behind_a_verdict(group: nix::unistd::Pid) {
    child::signal_group(group, Signal::SIGKILL);
}

/// The report of a step whose wait ended without running the command.
fn not_run(outcome: &Outcome) -> Report {
    match outcome {
        Outcome::Ready => unreachable!("a step that is ready runs"),
        Outcome::UpstreamFailed(path) => Report::new(
            exit_code::SKIPPED,
            Some("Skipped"),
            Some(format!(
                "skipped: {} exists (a step this one waits for failed)",
                path.display()
            )),
        ),
        Outcome::PredecessorLost(path) => Report::new(
            exit_code::SKIPPED,
            Some("PredecessorLost"),
            Some(format!(
                "the step that writes {} died without a verdict (its lock is free)",
                path.display()
            )),
        ),
        Outcome::StopRequested(path) => {
            tracing::info!(stop = %path.display(), "stop file present: not starting");
            Report::new(0, Some("Stopped"), None)
        }
        Outcome::Cancelled(path) => cancelled(path),
        Outcome::Stopped(signal) => stopped_by(*signal),
    }
}

fn cancelled(path: &Path) -> Report {
    Report::new(
        exit_code::CANCELLED,
        Some("Cancelled"),
        Some(format!("cancelled: {} present", path.display())),
    )
}

fn stopped_by(signal: Signal) -> Report {
    tracing::info!(%signal, "stopped before the command ran");
    Report::new(exit_code::from_signal(signal), Some("Terminated"), None)
}

/// Still leaves a verdict behind for an error; the error is what the user sees.
fn fail(step: &Step, err: anyhow::Error) -> Result<u8> {
    let code = exit_code::of_error(&err);
    if let Err(also) = finish(step, &mut Report::new(code, None, None)) {
        // Said once: the verdict often fails for the reason the step did.
        if format!("{also:#}") != format!("{err:#}") {
            tracing::error!("{also:#}");
        }
    }
    Err(err)
}

/// Tekton's mode: the step's `results` and `artifacts` directories, made
/// before waiting as Tekton's entrypoint makes them, for the command to write.
fn metadata_dirs(step: &Step) -> Result<()> {
    match &step.marking.step_metadata_dir {
        Some(dir) if step.tekton_mode() => ["results", "artifacts"].iter().try_for_each(|sub| {
            let path = dir.join(sub);
            fs::create_dir_all(&path)
                .with_context(|| format!("creating directory {}", path.display()))
        }),
        _ => Ok(()),
    }
}

/// Tekton's exit codes for what baton names otherwise: a timeout exits 1,
/// a cancelled step 9 (Tekton's entrypoint exits with SIGKILL's number).
fn in_tekton_terms(report: &mut Report) {
    match report.reason {
        Some("TimeoutExceeded") => report.code = tekton::TIMEOUT_EXIT,
        Some("Cancelled") => report.code = tekton::CANCELLED_EXIT,
        _ => {}
    }
}

/// Before waiting, with the step's lock held: clears what an earlier attempt
/// of this step left (its failure marker, a ready file).
fn clear_stale(step: &Step) -> Result<()> {
    if let Some(post) = &step.marking.post_file {
        if step.marking.rerun || crate::pod_run::is_stale(post) {
            remove_stale(post)?;
        }
        remove_stale(&err_path(post))?;
    }
    clear_ready(step)
}

/// Removes the ready file and its failure twin (before each attempt: a new
/// run of the command must earn its readiness again).
fn clear_ready(step: &Step) -> Result<()> {
    if let Some(ready) = &step.sidecar.ready_file {
        remove_stale(ready)?;
        remove_stale(&err_path(ready))?;
    }
    Ok(())
}

fn remove_stale(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "removed a marker of an earlier attempt");
            Ok(())
        }
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err).with_context(|| format!("removing {}", path.display())),
    }
}

/// Writes the termination message, the step metadata and the verdict marker,
/// and `READY.err` for a step with a ready file that never got there (it
/// failed or was skipped before its command was ready, or never ran it), so
/// that the sidecar's waiters do not take it for one that has not started.
/// Results that do not fit the message fail the step (`ResultsTooLarge`).
fn finish(step: &Step, report: &mut Report) -> Result<()> {
    if report.debugger {
        return Ok(());
    }
    let mut first_error = None;
    if let Some(ready) = &step.sidecar.ready_file {
        let settled = ready.exists() || err_path(ready).exists();
        if !settled {
            let failure = Some(report.code.max(exit_code::SKIPPED));
            if let Err(err) = supervise::write_ready(step, failure) {
                first_error = Some(err);
            }
        }
    }
    let mut unwritten = None;
    if let Some(path) = &step.marking.termination_path {
        unwritten = message_unwritten(step, write_termination(step, path, report));
    }
    if let Some(dir) = &step.marking.step_metadata_dir {
        let code = report.command_code.unwrap_or(report.code);
        let content = if step.tekton_mode() {
            tekton::exit_code_file(report.code, report.command_code, report.reason)
        } else {
            Some(code.to_string())
        };
        if let Some(content) = content {
            if let Err(err) = marker::write_atomic(&dir.join("exitCode"), content.as_bytes(), 0o644)
            {
                first_error.get_or_insert(err);
            }
        }
    }
    if first_error.is_some() {
        // The verdict must agree with the exit code baton is about to give.
        report.code = exit_code::INTERNAL;
    }
    if let Some(post) = &step.marking.post_file {
        // Tekton's markers are empty; baton's hold the exit code.
        let written = if step.tekton_mode() {
            marker::write_empty_verdict(post, report.code)
        } else {
            marker::write_verdict(post, report.code)
        };
        if let Err(err) = written {
            first_error.get_or_insert(err);
        }
    }
    first_error.or(unwritten).map_or(Ok(()), Err)
}

/// A termination message that could not be written (a runtime that ignores
/// `terminationMessagePath`, as podman does, leaves `/dev/termination-log`
/// for a non-root user to create, and it cannot): the verdict, marker and
/// exit code stay the command's. In baton's mode that is one warning line,
/// shown at the default level; in Tekton's mode, whose controller reads the
/// step's results from the message, the step exits 1 once its marker is
/// written, as Tekton's entrypoint does (`log.Fatalf` in `Go`'s deferred
/// write). See docs/reliability.md.
fn message_unwritten(step: &Step, written: Result<()>) -> Option<anyhow::Error> {
    let err = written.err()?;
    if step.tekton_mode() {
        return Some(
            Failure {
                code: tekton::MESSAGE_EXIT,
                message: format!("{err:#}"),
            }
            .into(),
        );
    }
    tracing::warn!(
        target: crate::logging::UNWRITTEN,
        "no termination message (exit code and marker unaffected): {err:#}"
    );
    None
}

fn write_termination(step: &Step, path: &Path, report: &mut Report) -> Result<()> {
    let existing = termination::read(path)?;
    // Tekton's entrypoint reads no results for a step it skipped (after a
    // failure upstream, or by its when expressions): it returns before.
    let skipped = matches!(report.reason, Some("Skipped" | "PredecessorLost"));
    let results = if step.tekton_mode() && skipped {
        Vec::new()
    } else {
        read_results(step)
    };
    let encoding = if step.tekton.compress_termination_message {
        Encoding::Compressed
    } else {
        Encoding::Json
    };
    let tekton = step.tekton_mode();
    let mut rendered = termination::render(
        existing.clone(),
        &report.entries(tekton),
        &results,
        encoding,
    );
    // Naming what was left out makes baton's own entries longer, which can
    // leave out more: settle within as many rounds as there are results.
    for _ in 0..=results.len() {
        if rendered.dropped_results.is_empty() {
            break;
        }
        let message = format!(
            "results left out of the termination message (over {} bytes): {}",
            termination::MAX_BYTES,
            rendered.dropped_results.join(", ")
        );
        if report.message.as_deref() == Some(message.as_str()) {
            break;
        }
        if report.code == 0 {
            report.code = exit_code::SKIPPED;
        }
        report.reason = Some("ResultsTooLarge");
        report.message = Some(message);
        rendered = termination::render(
            existing.clone(),
            &report.entries(tekton),
            &results,
            encoding,
        );
    }
    termination::write(path, &rendered.text)
}

/// The results named by `--results` that exist in the results directory,
/// then the step results named by `--step-results` in the step's own
/// `results` directory, then (Tekton's mode) the step's and the task's
/// `provenance.json`, keyed by path as Tekton keys them. None with
/// `--result-from sidecar-logs`: Tekton's sidecar reads them from the files.
fn read_results(step: &Step) -> Vec<Entry> {
    if step.tekton.result_from == ResultFrom::SidecarLogs {
        return Vec::new();
    }
    let mut out: Vec<Entry> = step
        .marking
        .results
        .iter()
        .filter_map(|name| {
            read_entry(
                name,
                &step.marking.results_dir.join(name),
                termination::RESULT,
            )
        })
        .collect();
    if let Some(dir) = &step.marking.step_metadata_dir {
        let results = dir.join("results");
        out.extend(
            step.tekton
                .step_results
                .iter()
                .filter_map(|name| read_entry(name, &results.join(name), termination::STEP_RESULT)),
        );
        if step.tekton_mode() {
            let step_provenance = dir.join("artifacts/provenance.json");
            let task_provenance = tekton::root().join("artifacts/provenance.json");
            for (path, kind) in [
                (step_provenance, termination::STEP_ARTIFACTS),
                (task_provenance, termination::TASK_ARTIFACTS),
            ] {
                out.extend(read_entry(&path.to_string_lossy(), &path, kind));
            }
        }
    }
    out
}

/// An entry `key` holding what `path` holds, if it exists.
fn read_entry(key: &str, path: &Path, kind: u64) -> Option<Entry> {
    match fs::read(path) {
        Ok(bytes) => Some(Entry::new(key, String::from_utf8_lossy(&bytes), kind)),
        Err(err) => {
            if err.kind() != ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), %err, "reading a result");
            }
            None
        }
    }
}

/// Runs the command as `execute` does, within Tekton's debug breakpoints
/// where they are asked for (see `breakpoint`).
async fn execute_with_breakpoints(step: &Step, cx: &mut Listeners) -> Result<Report> {
    let Some(post) = &step.marking.post_file else {
        return execute(step, cx).await;
    };
    if step.tekton.debug_before_step {
        match breakpoint::before_step(step, post, cx).await? {
            Outcome::Ready => {}
            Outcome::UpstreamFailed(_) => {
                return Ok(Report::new(
                    exit_code::SKIPPED,
                    None,
                    Some("before step breakpoint: the step was failed (fail-continue)".into()),
                ))
            }
            outcome => return Ok(not_run(&outcome)),
        }
    }
    let mut report = execute(step, cx).await?;
    // A failure of the command itself, continued or not (Tekton's breakpoint
    // comes before `on_error`).
    let failed =
        (report.code != 0 && report.reason.is_none()) || report.reason == Some("Continued");
    if step.tekton.breakpoint_on_failure && failed {
        // As Tekton's entrypoint: the termination message now; the verdict
        // is the debug script's, the exit code the one it leaves.
        if let Some(path) = &step.marking.termination_path {
            let written = write_termination(step, path, &mut report);
            if let Some(err) = message_unwritten(step, written) {
                return Err(err);
            }
        }
        match breakpoint::on_failure(step, post, cx).await? {
            Ok(code) => {
                report.code = code;
                report.message = None;
                report.debugger = true;
            }
            Err(outcome) => return Ok(not_run(&outcome)),
        }
    }
    Ok(report)
}

/// Runs the command, again after a failure while retries are left, and
/// reports how the last attempt ended.
async fn execute(step: &Step, cx: &mut Listeners) -> Result<Report> {
    let (substituted, env) = match before_start(step, || cx.signals.pending(), &cx.reaper)? {
        Ok(ready) => ready,
        Err(report) => return Ok(report),
    };
    let step = substituted.as_deref().unwrap_or(step);
    let started_at = SystemTime::now();
    let mut delay = step.running.retry_delay;
    let mut attempt = 1;
    loop {
        if attempt > 1 {
            // A new run of the command must earn its readiness again.
            clear_ready(step)?;
        }
        let last = attempt > step.running.retries;
        let (mut report, retryable) = attempt_once(step, &env, cx, last).await?;
        report.started_at = started_at;
        report.attempts = (step.running.retries > 0).then_some(attempt);
        if !retryable || attempt > step.running.retries {
            return Ok(on_error(step, report));
        }
        tracing::info!(
            attempt,
            code = report.code,
            "command failed; retrying in {delay:?}"
        );
        match pause(delay, step, cx).await? {
            Pause::Elapsed => {}
            Pause::Signal => {
                report.reason = Some("Terminated");
                return Ok(report);
            }
            Pause::Cancelled(path) => {
                return Ok(Report {
                    started_at,
                    attempts: report.attempts,
                    ..cancelled(&path)
                })
            }
            Pause::Stopped => {
                report.reason = Some("Stopped");
                if !step.sidecar.stop_keeps_exit_code {
                    report.code = 0;
                    report.message = None;
                }
                return Ok(report);
            }
        }
        delay = (delay * 2).min(MAX_RETRY_DELAY);
        attempt += 1;
    }
}

/// Runs the command once; says whether a failure may be retried (not when
/// the command could not be started, nor when it was told to stop).
async fn attempt_once(
    step: &Step,
    env: &[(OsString, OsString)],
    cx: &mut Listeners,
    last: bool,
) -> Result<(Report, bool)> {
    let (capture, pipes) = output::start(
        step.output.stdout_path.as_deref(),
        step.output.stderr_path.as_deref(),
    )?;
    let group = match start(step, env, pipes, &cx.reaper) {
        Ok(group) => group,
        Err(report) => return Ok((report, false)),
    };
    let ended = supervise::supervise(group, step, cx, last)
        .await
        .inspect_err(|_| never_behind_a_verdict(group))?;
    capture.finish(step.running.grace_period).await;
    let report = verdict(step, &ended);
    let retryable = report.code != 0 && !ended.interrupted();
    Ok((report, retryable))
}

/// The report for how one run of the command ended.
fn verdict(step: &Step, ended: &Ended) -> Report {
    let mut code = ended.exit.code();
    let mut reason = ended.stop_signal.map(|_| "Terminated");
    match ended.cause {
        Some(Cause::Timeout) => {
            let limit = step.timeout().unwrap_or_default();
            return Report::new(
                exit_code::TIMEOUT,
                Some("TimeoutExceeded"),
                Some(format!("command timed out after {limit:?}")),
            );
        }
        Some(Cause::Cancel) => {
            return cancelled(
                step.waiting
                    .cancel_file
                    .as_deref()
                    .unwrap_or(Path::new("?")),
            );
        }
        Some(Cause::NotReady) => {
            let limit = step.ready_timeout().unwrap_or_default();
            return Report::new(
                exit_code::SKIPPED,
                Some("NotReady"),
                Some(format!("command not ready within {limit:?}")),
            );
        }
        Some(Cause::StopFile) => {
            reason = Some("Stopped");
            if !step.sidecar.stop_keeps_exit_code {
                code = 0;
            }
        }
        None => {}
    }
    if step.running.success_exit_codes.contains(&code) {
        code = 0;
    }
    let killed = ended.exit == ChildExit::Signaled(Signal::SIGKILL);
    if killed && reason.is_none() && oom::kills().is_some_and(|n| n > 0) {
        return Report::new(
            code,
            Some("OOMKilled"),
            Some("the command was killed by the kernel's OOM killer (out of memory)".into()),
        );
    }
    Report::new(code, reason, None)
}

/// `--on-error continue`: a command that failed on its own still counts as a
/// success for the chain; the real code is recorded.
fn on_error(step: &Step, mut report: Report) -> Report {
    // Tekton's entrypoint fails a step that timed out whatever `on_error` says.
    let own_failure = match report.reason {
        None | Some("OOMKilled") => true,
        Some("TimeoutExceeded") => !step.tekton_mode(),
        Some(_) => false,
    };
    if step.running.on_error == OnError::Continue && report.code != 0 && own_failure {
        tracing::info!(
            code = report.code,
            "command failed; continuing (--on-error continue)"
        );
        report.command_code = Some(report.code);
        report.code = 0;
        report.reason = Some("Continued");
        report.message = None;
    }
    report
}

/// How a pause between two attempts ended.
#[derive(Debug)]
enum Pause {
    Elapsed,
    Signal,
    Cancelled(PathBuf),
    Stopped,
}

/// Waits `delay` before the next attempt; a stop signal, the cancel file or a
/// stop file ends the retrying.
async fn pause(delay: Duration, step: &Step, cx: &mut Listeners) -> Result<Pause> {
    let until = tokio::time::Instant::now() + delay;
    loop {
        let content = step.cancel_needs_content();
        match requests::requested(
            &mut cx.watch,
            &mut cx.locks,
            requests::Stops::of(step),
            step.waiting.cancel_file.as_deref(),
            content,
        )? {
            Some(Request::Cancel(file)) => return Ok(Pause::Cancelled(file)),
            Some(Request::Stop(_)) => return Ok(Pause::Stopped),
            None => {}
        }
        tokio::select! {
            biased;
            signal = cx.signals.next() => match signal? {
                Signal::SIGCHLD => cx.reaper.reap()?,
                signal if signals::ends_wait(signal) => {
                    tracing::info!(%signal, "stopped between attempts");
                    return Ok(Pause::Signal);
                }
                signal => tracing::debug!(%signal, "between attempts: signal dropped"),
            },
            () = tokio::time::sleep_until(until) => return Ok(Pause::Elapsed),
            changed = cx.watch.changed() => changed?,
        }
    }
}
