//! Markers: the files through which the steps of a pod speak to each other. A
//! marker is whole or absent: it is written to a temporary file in the same
//! directory and renamed into place, so a reader never sees half of one.
//! `POST` means success, `POST.err` failure; both hold baton's exit code in
//! decimal and a newline.

use std::borrow::Cow;
use std::ffi::OsString;
use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// `PATH.err`: the failure marker that goes with PATH.
pub fn err_path(path: &Path) -> PathBuf {
    with_suffix(path, ".err")
}

/// PATH with a suffix appended to its last component.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Where the verdict of a step goes: `POST` with code 0, `POST.err` otherwise.
fn verdict_path(post: &Path, code: u8) -> Cow<'_, Path> {
    if code == 0 {
        Cow::Borrowed(post)
    } else {
        Cow::Owned(err_path(post))
    }
}

/// Writes the verdict of a step: `POST` with code 0, `POST.err` otherwise.
pub fn write_verdict(post: &Path, code: u8) -> Result<()> {
    write_code(&verdict_path(post, code), code)
}

/// Writes the verdict of a step as Tekton's entrypoint does: an empty `POST`
/// with code 0, an empty `POST.err` otherwise.
pub fn write_empty_verdict(post: &Path, code: u8) -> Result<()> {
    write_atomic(&verdict_path(post, code), b"", 0o644)
}

/// Writes a marker holding `code` at exactly `path`, and the run of the pod
/// it belongs to, if there is one (`pod_run`).
pub fn write_code(path: &Path, code: u8) -> Result<()> {
    let mut text = format!("{code}\n");
    text.extend(crate::pod_run::line());
    write_atomic(path, text.as_bytes(), 0o644)
}

/// Writes `contents` to `path` atomically (see `replace_atomic`), with the
/// temporary file in the hidden scratch directory (see `scratch_path`).
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let tmp = scratch_path(path)?;
    replace_atomic(path, &tmp, mode, |file| file.write_all(contents))
}

/// Copies the open file `source` to `path` atomically (see `replace_atomic`),
/// with the temporary file beside it (nobody watches where baton is installed).
pub fn copy_atomic(source: &mut fs::File, path: &Path, mode: u32) -> Result<()> {
    let dir = parent_of(path);
    fs::create_dir_all(dir).with_context(|| format!("creating directory {}", dir.display()))?;
    let name = temporary_name(".", path);
    replace_atomic(path, &dir.join(name), mode, |file| {
        std::io::copy(source, file).map(drop)
    })
}

/// The name of the scratch directory next to markers.
const SCRATCH_DIR: &str = ".baton";

/// A temporary name for a file that will be renamed to `path`:
/// `DIR/.baton/NAME.PID.tmp`. Steps of a pod share marker directories, and
/// every event in a watched directory wakes every step watching it; made in
/// a subdirectory, a marker costs its watchers one event (the rename) instead
/// of half a dozen. The scratch directory is world-writable and sticky, like
/// /tmp, because the steps of a pod may run as different users. It and the
/// marker's directory are created when missing.
pub fn scratch_path(path: &Path) -> Result<PathBuf> {
    let scratch = parent_of(path).join(SCRATCH_DIR);
    if !scratch.is_dir() {
        fs::create_dir_all(&scratch)
            .with_context(|| format!("creating directory {}", scratch.display()))?;
        // Whoever made it last gives it the mode; another user's chmod fails harmlessly.
        let _ = fs::set_permissions(&scratch, fs::Permissions::from_mode(0o1777));
    }
    Ok(scratch.join(temporary_name("", path)))
}

/// The longest file name (Linux's `NAME_MAX`).
const NAME_MAX: usize = 255;

/// The longest name of a marker: `NAME.lock` and `NAME.err` must fit too.
pub const MAX_MARKER_NAME: usize = NAME_MAX - ".lock".len();

/// `PREFIX` + the name of `path` + `.PID.tmp`, the name cut short where the
/// whole would not fit `NAME_MAX` (a marker's name may be up to
/// `MAX_MARKER_NAME` long). A process writes one temporary file at a time,
/// and the PID keeps other processes' apart.
fn temporary_name(prefix: &str, path: &Path) -> OsString {
    let tail = format!(".{}.tmp", std::process::id());
    let name = path.file_name().unwrap_or_default().as_bytes();
    let room = NAME_MAX - prefix.len() - tail.len();
    let mut out = prefix.as_bytes().to_vec();
    out.extend_from_slice(&name[..name.len().min(room)]);
    out.extend_from_slice(tail.as_bytes());
    OsString::from_vec(out)
}

/// Fills the temporary file `tmp` (on the same filesystem as `path`; created
/// anew, so nothing already there is followed) and renames it over `path`,
/// which replaces a symlink rather than following it. On failure the
/// temporary file is removed and `path` is untouched.
fn replace_atomic(
    path: &Path,
    tmp: &Path,
    mode: u32,
    fill: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let _ = fs::remove_file(tmp);
    let result = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(tmp)
        .with_context(|| format!("creating {}", tmp.display()))
        .and_then(|mut file| {
            // The umask must not narrow the mode: a step running as another user
            // still has to execute an installed baton.
            file.set_permissions(fs::Permissions::from_mode(mode))
                .and_then(|()| fill(&mut file))
                .with_context(|| format!("writing {}", tmp.display()))
        })
        .and_then(|()| {
            fs::rename(tmp, path)
                .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
        });
    if result.is_err() {
        let _ = fs::remove_file(tmp);
    }
    result
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `FILE.err`, if it exists.
pub fn failed(file: &Path) -> Result<Option<PathBuf>> {
    let path = err_path(file);
    Ok((exists(&path)? && !crate::pod_run::is_stale(&path)).then_some(path))
}

/// Whether anything is at `path` (a link counts, whatever it points to).
pub fn exists(path: &Path) -> Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(err) if gone(&err) => Ok(false),
        Err(err) => Err(err).with_context(|| format!("checking {}", path.display())),
    }
}

/// Not there (yet): missing, or a path through something that is not a directory yet.
pub fn gone(err: &std::io::Error) -> bool {
    matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}
