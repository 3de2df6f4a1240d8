//! Markers: the files through which the steps of a pod speak to each other. A
//! marker is whole or absent: it is written to a temporary file in the same
//! directory and renamed into place, so a reader never sees half of one.
//! `POST` means success, `POST.err` failure; both hold baton's exit code in
//! decimal and a newline.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
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

/// Writes the verdict of a step: `POST` with code 0, `POST.err` otherwise.
pub fn write_verdict(post: &Path, code: u8) -> Result<()> {
    let target = if code == 0 {
        post.to_path_buf()
    } else {
        err_path(post)
    };
    write_code(&target, code)
}

/// Writes a marker holding `code` at exactly `path`.
pub fn write_code(path: &Path, code: u8) -> Result<()> {
    write_atomic(path, format!("{code}\n").as_bytes(), 0o644)
}

/// Writes `contents` to `path` atomically (see `replace_atomic`).
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    replace_atomic(path, mode, |file| file.write_all(contents))
}

/// Copies the open file `source` to `path` atomically (see `replace_atomic`).
pub fn copy_atomic(source: &mut fs::File, path: &Path, mode: u32) -> Result<()> {
    replace_atomic(path, mode, |file| std::io::copy(source, file).map(drop))
}

/// Fills a temporary file in the same directory as `path` (created anew, so
/// nothing already there is followed) and renames it over `path`, which
/// replaces a symlink rather than following it. Missing parent directories are
/// created; on failure the temporary file is removed and `path` is untouched.
fn replace_atomic(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let dir = parent_of(path);
    fs::create_dir_all(dir).with_context(|| format!("creating directory {}", dir.display()))?;
    let tmp = temp_path(path);
    let result = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))
        .and_then(|mut file| {
            // The umask must not narrow the mode: a step running as another user
            // still has to execute an installed baton.
            file.set_permissions(fs::Permissions::from_mode(mode))
                .and_then(|()| fill(&mut file))
                .with_context(|| format!("writing {}", tmp.display()))
        })
        .and_then(|()| {
            fs::rename(&tmp, path)
                .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
        });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A hidden temporary name next to `path`, unique to this process.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default();
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".{}.tmp", std::process::id()));
    parent_of(path).join(tmp)
}
