//! The termination message: what `kubectl describe pod` shows for a container
//! and what Tekton's controller reads back. A JSON array in Tekton's format,
//! `[{"key":"ExitCode","value":"3","type":3}, …]`, merged with whatever the file
//! already holds (same key: the new value wins), never over 4096 bytes.
//!
//! The file is written in place, not renamed over: the kubelet bind-mounts the
//! termination-log file into the container, and a rename onto a mount point
//! fails with EBUSY.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Value};

/// Kubernetes' limit on a container's termination message.
pub const MAX_BYTES: usize = 4096;

/// Tekton's `InternalTektonResultType`, used for everything baton records.
const INTERNAL_TYPE: u64 = 3;

/// What baton records about one step.
#[derive(Debug, Clone)]
pub struct Record {
    pub started_at: String,
    pub exit_code: u8,
    pub reason: Option<&'static str>,
}

impl Record {
    fn entries(&self) -> Vec<Value> {
        let mut out = vec![
            entry("StartedAt", &self.started_at),
            entry("ExitCode", &self.exit_code.to_string()),
        ];
        if let Some(reason) = self.reason {
            out.push(entry("Reason", reason));
        }
        out
    }
}

fn entry(key: &str, value: &str) -> Value {
    json!({"key": key, "value": value, "type": INTERNAL_TYPE})
}

fn key_of(entry: &Value) -> Option<&str> {
    entry.get("key").and_then(Value::as_str)
}

/// Merges `record` into the message at `path` and writes it back.
pub fn write(path: &Path, record: &Record) -> Result<()> {
    let existing = match fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Vec::new(),
        Ok(bytes) => match serde_json::from_slice::<Vec<Value>>(&bytes) {
            Ok(entries) => entries,
            Err(err) => {
                tracing::warn!(path = %path.display(), %err, "replacing a termination message that is not a JSON array");
                Vec::new()
            }
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let text = render(existing, record.entries())?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating directory {}", dir.display()))?;
    }
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The merged message: existing entries (a new entry with the same key replaces
/// the old one in place), then the new ones. Entries of baton's own are never
/// dropped; other entries that would push the message over `MAX_BYTES` are
/// left out, and each one left out is logged.
fn render(existing: Vec<Value>, new: Vec<Value>) -> Result<String> {
    let mut merged: Vec<(Value, bool)> = existing.into_iter().map(|e| (e, false)).collect();
    for item in new {
        match merged
            .iter_mut()
            .find(|(old, _)| key_of(old) == key_of(&item))
        {
            Some(slot) => *slot = (item, true),
            None => merged.push((item, true)),
        }
    }
    let mut budget = MAX_BYTES - 2; // the brackets
    let mut keep = vec![false; merged.len()];
    for pass_own in [true, false] {
        for (i, (item, own)) in merged.iter().enumerate() {
            if *own != pass_own {
                continue;
            }
            let size = serde_json::to_string(item).map_or(usize::MAX, |s| s.len()) + 1;
            if size <= budget {
                budget -= size;
                keep[i] = true;
            } else {
                tracing::error!(
                    key = key_of(item).unwrap_or("?"),
                    "termination message entry dropped: over 4096 bytes"
                );
            }
        }
    }
    let kept: Vec<Value> = merged
        .into_iter()
        .zip(keep)
        .filter_map(|((item, _), k)| k.then_some(item))
        .collect();
    serde_json::to_string(&kept).context("encoding the termination message")
}

#[cfg(test)]
mod tests {
    use super::{entry, render, MAX_BYTES};

    #[test]
    fn same_key_is_replaced_and_others_kept() {
        let text = render(
            vec![entry("ExitCode", "9"), entry("result", "x")],
            vec![entry("ExitCode", "0"), entry("Reason", "Skipped")],
        )
        .unwrap();
        assert_eq!(
            text,
            r#"[{"key":"ExitCode","value":"0","type":3},{"key":"result","value":"x","type":3},{"key":"Reason","value":"Skipped","type":3}]"#
        );
    }

    #[test]
    fn never_over_the_limit_and_own_entries_survive() {
        let big = "y".repeat(3000);
        let text = render(
            vec![entry("a", &big), entry("b", &big)],
            vec![entry("ExitCode", "1")],
        )
        .unwrap();
        assert!(text.len() <= MAX_BYTES);
        assert!(text.contains(r#""key":"ExitCode""#));
        assert!(text.contains(r#""key":"a""#));
        assert!(!text.contains(r#""key":"b""#));
    }
}
