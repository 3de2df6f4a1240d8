//! `--stdout-path` / `--stderr-path`: the command's output goes both to the
//! container log (baton's own stdout/stderr) and to a file. Without these
//! options there is no pipe at all: the command inherits baton's streams.
//!
//! Each captured stream is a pipe read by a thread of its own, which writes
//! every chunk, in order, first to baton's stream and then to the file
//! (opened for appending). Blocking threads rather than the async loop: a slow
//! log reader must not stall signal forwarding. Both streams may name the same
//! file; it is then opened once and shared. The step waits for both threads to
//! reach end of file, so a command that writes a lot and exits at once still
//! has all of its output in both places.

use std::fs::{self, File};
use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::oneshot;

/// How much one read takes from a pipe (as coreutils' tee).
const CHUNK: usize = 128 * 1024;

/// Which of baton's streams a captured stream is copied to.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The write ends to give the command, for the streams that are captured.
#[derive(Debug, Default)]
pub struct Pipes {
    pub stdout: Option<PipeWriter>,
    pub stderr: Option<PipeWriter>,
}

/// The copying threads of one run of the command.
#[derive(Debug, Default)]
pub struct Capture {
    done: Vec<oneshot::Receiver<()>>,
}

/// Opens the files and starts a copying thread per captured stream.
pub fn start(stdout_path: Option<&Path>, stderr_path: Option<&Path>) -> Result<(Capture, Pipes)> {
    let mut capture = Capture::default();
    let mut pipes = Pipes::default();
    let out_file = stdout_path.map(open_append).transpose()?.map(Arc::new);
    let err_file = match (stderr_path, &out_file) {
        (Some(path), Some(shared)) if Some(path) == stdout_path => Some(Arc::clone(shared)),
        (Some(path), _) => Some(Arc::new(open_append(path)?)),
        (None, _) => None,
    };
    if let (Some(file), Some(path)) = (out_file, stdout_path) {
        pipes.stdout = Some(capture.copy(Stream::Stdout, file, path)?);
    }
    if let (Some(file), Some(path)) = (err_file, stderr_path) {
        pipes.stderr = Some(capture.copy(Stream::Stderr, file, path)?);
    }
    Ok((capture, pipes))
}

fn open_append(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating directory {}", dir.display()))?;
    }
    fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

impl Capture {
    fn copy(&mut self, stream: Stream, file: Arc<File>, path: &Path) -> Result<PipeWriter> {
        let path = path.to_path_buf();
        let (reader, writer) = io::pipe().context("creating a pipe for the command's output")?;
        let console = match stream {
            Stream::Stdout => io::stdout().as_fd().try_clone_to_owned(),
            Stream::Stderr => io::stderr().as_fd().try_clone_to_owned(),
        }
        .context("duplicating baton's output stream")?;
        let (tx, rx) = oneshot::channel();
        std::thread::Builder::new()
            .name(format!("{stream:?}"))
            .spawn(move || {
                copy_stream(reader, File::from(console), (&file, &path), stream);
                let _ = tx.send(());
            })
            .context("starting an output thread")?;
        self.done.push(rx);
        Ok(writer)
    }

    /// Waits until every captured stream has reached end of file (all its
    /// writers are gone), or `limit` has passed (a process outside the
    /// command's group may hold a pipe open).
    pub async fn finish(self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        for done in self.done {
            if tokio::time::timeout_at(deadline, done).await.is_err() {
                tracing::warn!("output still open after {limit:?}; not waiting for the rest of it");
            }
        }
    }
}

/// Copies `reader` to `console` and `file` until end of file. A failing
/// destination is logged once and then left out; the pipe is still drained,
/// so the command never blocks on a full pipe.
fn copy_stream(
    mut reader: PipeReader,
    mut console: File,
    (file, path): (&File, &Path),
    stream: Stream,
) {
    let mut buf = vec![0u8; CHUNK];
    let mut to_console = true;
    let mut to_file = true;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                tracing::error!(?stream, %err, "reading the command's output");
                return;
            }
        };
        if to_console {
            if let Err(err) = console.write_all(&buf[..n]) {
                tracing::warn!(?stream, %err, "writing to baton's own stream; the file still gets everything");
                to_console = false;
            }
        }
        if to_file {
            if let Err(err) = (&*file).write_all(&buf[..n]) {
                tracing::error!(?stream, path = %path.display(), %err, "writing the output file");
                to_file = false;
            }
        }
    }
}
