//! The termination message: what `kubectl describe pod` shows for a container
//! and what Tekton's controller reads back. A JSON array in Tekton's format,
//! `[{"key":"ExitCode","value":"3","type":3}, …]`, merged with whatever the file
//! already holds (same key: the new value wins), never over 4096 bytes.
//!
//! The file is written in place, not renamed over: the kubelet bind-mounts the
//! termination-log file into the container, and a rename onto a mount point
//! fails with EBUSY.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use crate::json::{self, Element};

/// Kubernetes' limit on a container's termination message.
pub const MAX_BYTES: usize = 4096;

/// Tekton's `TaskRunResultType`: a result the step produced.
pub const RESULT: u64 = 1;
/// Tekton's `InternalTektonResultType`: everything baton records about a step.
pub const INTERNAL: u64 = 3;

/// One entry of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub kind: u64,
}

impl Entry {
    pub fn new(key: &str, value: impl Into<String>, kind: u64) -> Self {
        Self {
            key: key.to_owned(),
            value: value.into(),
            kind,
        }
    }

    fn to_json(&self) -> Element {
        let mut text = String::from("{\"key\":");
        json::string(&mut text, &self.key);
        text.push_str(",\"value\":");
        json::string(&mut text, &self.value);
        let _ = write!(text, ",\"type\":{}}}", self.kind);
        Element {
            text,
            key: Some(self.key.clone()),
        }
    }
}

/// The entries a message file holds now (none if it is missing or empty; a
/// file that is not a JSON array is replaced, and that is logged).
pub fn read(path: &Path) -> Result<Vec<Element>> {
    match fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Vec::new()),
        Ok(bytes) => Ok(json::parse_array(&bytes).unwrap_or_else(|err| {
            tracing::warn!(path = %path.display(), %err, "replacing a termination message that is not a JSON array");
            Vec::new()
        })),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes a rendered message in place.
pub fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating directory {}", dir.display()))?;
    }
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// A message ready to write, and the results that did not fit.
#[derive(Debug)]
pub struct Rendered {
    pub text: String,
    pub dropped_results: Vec<String>,
}

/// Merges `own` and `results` into `existing` (a new entry with the same key
/// replaces the old one in place; others are appended) and fits the whole into
/// `MAX_BYTES`: baton's own entries always, then results, then what was there
/// before, each in order while it fits. Results left out are returned; other
/// entries left out are logged.
pub fn render(existing: Vec<Element>, own: &[Entry], results: &[Entry]) -> Rendered {
    #[derive(PartialEq, Clone, Copy)]
    enum Rank {
        Own,
        Result,
        Before,
    }
    let mut merged: Vec<(Element, Rank)> =
        existing.into_iter().map(|e| (e, Rank::Before)).collect();
    let new = own
        .iter()
        .map(|e| (e, Rank::Own))
        .chain(results.iter().map(|e| (e, Rank::Result)));
    for (entry, rank) in new {
        let item = (entry.to_json(), rank);
        match merged
            .iter_mut()
            .find(|(old, _)| old.key.as_deref() == Some(entry.key.as_str()))
        {
            Some(slot) => *slot = item,
            None => merged.push(item),
        }
    }
    let mut budget = MAX_BYTES - 2; // the brackets
    let mut keep = vec![false; merged.len()];
    let mut dropped_results = Vec::new();
    for pass in [Rank::Own, Rank::Result, Rank::Before] {
        for (i, (item, rank)) in merged.iter().enumerate() {
            if *rank != pass {
                continue;
            }
            let size = item.text.len() + 1;
            if size <= budget {
                budget -= size;
                keep[i] = true;
                continue;
            }
            let key = item.key.clone().unwrap_or_default();
            if *rank == Rank::Result {
                dropped_results.push(key);
            } else {
                tracing::error!(key, "termination message entry dropped: over 4096 bytes");
            }
        }
    }
    let kept: Vec<String> = merged
        .into_iter()
        .zip(keep)
        .filter_map(|((item, _), k)| k.then_some(item.text))
        .collect();
    Rendered {
        text: format!("[{}]", kept.join(",")),
        dropped_results,
    }
}

#[cfg(test)]
mod tests {
    use super::{render, Entry, INTERNAL, MAX_BYTES, RESULT};
    use crate::json::{parse_array, Element};

    fn json(text: &str) -> Element {
        parse_array(format!("[{text}]").as_bytes())
            .unwrap()
            .remove(0)
    }

    fn internal(key: &str, value: &str) -> Entry {
        Entry::new(key, value, INTERNAL)
    }

    #[test]
    fn same_key_is_replaced_and_others_kept() {
        let existing = vec![
            json(r#"{"key": "ExitCode", "value": "9", "type": 3}"#),
            json(r#"{"key": "result", "value": "x", "type": 1}"#),
        ];
        let out = render(
            existing,
            &[internal("ExitCode", "0"), internal("Reason", "Skipped")],
            &[],
        );
        assert_eq!(
            out.text,
            r#"[{"key":"ExitCode","value":"0","type":3},{"key":"result","value":"x","type":1},{"key":"Reason","value":"Skipped","type":3}]"#
        );
    }

    #[test]
    fn never_over_the_limit_own_first_then_results() {
        let big = "y".repeat(1500);
        let existing = vec![json(&format!(
            r#"{{"key": "old", "value": "{big}", "type": 1}}"#
        ))];
        let results = [
            Entry::new("a", big.clone(), RESULT),
            Entry::new("b", big.clone(), RESULT),
            Entry::new("c", "small", RESULT),
        ];
        let out = render(existing, &[internal("ExitCode", "1")], &results);
        assert!(out.text.len() <= MAX_BYTES);
        assert!(out.text.contains(r#""key":"ExitCode""#));
        assert!(out.text.contains(r#""key":"a""#) && out.text.contains(r#""key":"b""#));
        assert!(out.text.contains(r#""key":"c""#));
        assert!(
            !out.text.contains(r#""key":"old""#),
            "what was there before goes first"
        );
        assert!(out.dropped_results.is_empty());
        let results = [
            Entry::new("a", big.clone(), RESULT),
            Entry::new("b", big.clone(), RESULT),
            Entry::new("c", big, RESULT),
        ];
        let out = render(Vec::new(), &[internal("ExitCode", "1")], &results);
        assert_eq!(out.dropped_results, ["c"]);
    }
}
