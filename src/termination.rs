//! The termination message: what `kubectl describe pod` shows for a container
//! and what Tekton's controller reads back. A JSON array in Tekton's format,
//! `[{"key":"ExitCode","value":"3","type":3}, …]`, merged with whatever the file
//! already holds (same key: the new value wins), never over 4096 bytes.
//!
//! Read and written with `serde_json`. Entries written by others are kept as
//! raw text (`RawValue`), read for their `key` only, so they pass through
//! unchanged but for the whitespace between tokens, which is dropped (the
//! budget counts them compact): key order, escapes and the spelling of numbers
//! stay as their writer chose.
//!
//! Tekton's compressed form, `tknz:` followed by base64 without padding of the
//! array's raw DEFLATE (`pkg/termination`), is read whatever baton writes, and
//! written with `Encoding::Compressed` whenever it is shorter than the JSON.
//! The 4096 bytes are counted on what is written, so more fits compressed;
//! Tekton inflates at most 128 KiB, and that bounds the JSON.
//!
//! The file is written in place, not renamed over: the kubelet bind-mounts the
//! termination-log file into the container, and a rename onto a mount point
//! fails with EBUSY.

#[cfg(feature = "tekton")]
mod tknz;

use std::fmt;
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};
use serde_json::value::RawValue;

/// Kubernetes' limit on a container's termination message.
pub const MAX_BYTES: usize = 4096;

/// What starts a compressed message (Tekton's `compressedPrefix`).
const COMPRESSED_PREFIX: &str = "tknz:";

/// The most a compressed message may inflate to: Tekton's reader refuses more
/// (`maxDecompressedSize`), and so does baton's.
const MAX_INFLATED: usize = 128 * 1024;

/// How a message is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Encoding {
    /// The JSON array.
    #[default]
    Json,
    /// `tknz:` and base64 of the array's raw DEFLATE, when that is shorter
    /// than the JSON; else the JSON (`--compress-termination-message`).
    Compressed,
}

impl Encoding {
    /// The longest JSON array that can be written this way: a compressed
    /// message must inflate within what Tekton reads back.
    fn max_json(self) -> usize {
        match self {
            Self::Json => MAX_BYTES,
            Self::Compressed => MAX_INFLATED,
        }
    }

    /// What is written for the JSON array `json`.
    fn encode(self, json: String) -> String {
        if self == Self::Json {
            return json;
        }
        compress(&json).unwrap_or(json)
    }
}

/// `tknz:` and the base64 of `json`'s raw DEFLATE, if shorter than `json`.
#[cfg(feature = "tekton")]
fn compress(json: &str) -> Option<String> {
    tknz::compress(json)
}

/// Without the `tekton` feature there is no deflate: the message is written
/// as JSON, which Tekton's controller reads as well.
#[cfg(not(feature = "tekton"))]
fn compress(_json: &str) -> Option<String> {
    None
}

/// The JSON a compressed message holds (the prefix removed).
#[cfg(feature = "tekton")]
fn inflate(encoded: &[u8]) -> Result<Vec<u8>> {
    tknz::inflate(encoded)
}

#[cfg(not(feature = "tekton"))]
fn inflate(_encoded: &[u8]) -> Result<Vec<u8>> {
    anyhow::bail!(
        "this build of baton reads no compressed message (built without the tekton feature)"
    )
}

/// Tekton's `TaskRunResultType`: a result the step produced.
pub const RESULT: u64 = 1;
/// Tekton's `InternalTektonResultType`: everything baton records about a step.
pub const INTERNAL: u64 = 3;
/// Tekton's `StepResultType`: a result of the step itself (`--step-results`).
pub const STEP_RESULT: u64 = 4;
/// Tekton's `StepArtifactsResultType`: the step's `artifacts/provenance.json`.
pub const STEP_ARTIFACTS: u64 = 5;
/// Tekton's `TaskRunArtifactsResultType`: the task's `provenance.json`.
pub const TASK_ARTIFACTS: u64 = 6;

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

    /// `{"key":…,"value":…,"type":…}`, compact.
    fn to_json(&self) -> Element {
        let mut text = Vec::new();
        self.serialize(&mut serde_json::Serializer::with_formatter(
            &mut text, Escapes,
        ))
        .expect("an entry serializes into memory");
        Element {
            text: String::from_utf8(text).expect("serde_json writes UTF-8"),
            key: Some(self.key.clone()),
        }
    }
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entry = serializer.serialize_struct("Entry", 3)?;
        entry.serialize_field("key", &self.key)?;
        entry.serialize_field("value", &self.value)?;
        entry.serialize_field("type", &self.kind)?;
        entry.end()
    }
}

/// `serde_json`'s compact output, but backspace and form feed escaped as
/// `\u0008` and `\u000c` rather than `\b` and `\f`: the bytes baton wrote
/// before it used `serde_json`, so that a message's size, and what fits in it,
/// stay the same.
struct Escapes;

impl Formatter for Escapes {
    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        match escape {
            CharEscape::Backspace => writer.write_all(br"\u0008"),
            CharEscape::FormFeed => writer.write_all(br"\u000c"),
            other => CompactFormatter.write_char_escape(writer, other),
        }
    }
}

/// One element of the array a message file holds, or one of baton's entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The element as compact JSON (whitespace between tokens removed).
    pub text: String,
    /// The value of its `"key"` member, when it is an object that has a
    /// string there.
    pub key: Option<String>,
}

impl Element {
    fn from_raw(raw: &RawValue) -> Self {
        Self {
            text: compact(raw.get()),
            key: serde_json::from_str::<Key>(raw.get())
                .ok()
                .and_then(|key| key.0),
        }
    }
}

/// The entries a message file holds now (none if it is missing or empty; a
/// file that is neither a JSON array nor Tekton's compressed form of one is
/// replaced, and that is logged).
pub fn read(path: &Path) -> Result<Vec<Element>> {
    // Only a file holds earlier entries: a FIFO would block for good, a
    // device (`/dev/stdout` on a pipe, `/dev/zero`) never end.
    match fs::metadata(path) {
        Ok(meta) if !meta.is_file() => return Ok(Vec::new()),
        _ => {}
    }
    match read_at_most(path, MAX_INFLATED) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Vec::new()),
        Ok(bytes) => Ok(decode(&bytes).unwrap_or_else(|err| {
            tracing::warn!(path = %path.display(), err = %format_args!("{err:#}"), "replacing a termination message that is not a JSON array");
            Vec::new()
        })),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
    }
}

/// What the file at `path` holds, at most `limit` bytes and one more (which
/// no message of 4096 bytes can be: the rest is not read).
fn read_at_most(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The elements of a message: a JSON array, or its compressed form.
fn decode(bytes: &[u8]) -> Result<Vec<Element>> {
    match bytes.strip_prefix(COMPRESSED_PREFIX.as_bytes()) {
        Some(encoded) => {
            let json = inflate(encoded).context("a compressed message")?;
            parse(&json).context("the JSON of a compressed message")
        }
        None => Ok(parse(bytes)?),
    }
}

/// A JSON array's elements. Each is checked and skipped by `serde_json` without
/// recursion, so no nesting exhausts the stack.
fn parse(bytes: &[u8]) -> serde_json::Result<Vec<Element>> {
    let raw: Vec<&RawValue> = serde_json::from_slice(bytes)?;
    Ok(raw.into_iter().map(Element::from_raw).collect())
}

/// The `"key"` member of an object, if it is a string (the last such when
/// there are several); every other member is skipped unread. Anything but an
/// object is an error, and has no key.
struct Key(Option<String>);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Key, A::Error> {
        let mut key = None;
        while let Some(name) = map.next_key::<String>()? {
            if name == "key" {
                let value: &RawValue = map.next_value()?;
                if let Ok(value) = serde_json::from_str(value.get()) {
                    key = Some(value);
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Key(key))
    }
}

/// Valid JSON without the whitespace between its tokens (inside strings it
/// is kept).
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Writes a rendered message in place.
pub fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating directory {}", dir.display()))?;
    }
    // Not blocking on a FIFO nobody reads: that is an error, not a hang.
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

/// A message ready to write, and the results that did not fit.
#[derive(Debug)]
pub struct Rendered {
    /// What is written: the JSON array, or its compressed form.
    pub text: String,
    pub dropped_results: Vec<String>,
}

/// Merges `own` and `results` into `existing` (a new entry with the same key
/// replaces the old one in place; others are appended) and fits the whole into
/// `MAX_BYTES` as written with `encoding`: baton's own entries always, then
/// results, then what was there before, each in order while it fits. Results
/// left out are returned; other entries left out are logged.
pub fn render(
    existing: Vec<Element>,
    own: &[Entry],
    results: &[Entry],
    encoding: Encoding,
) -> Rendered {
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
    // What is written when the entries marked in `keep` are, if that fits.
    // The JSON's length is counted first, so that a set too long for
    // `encoding` is neither joined nor deflated.
    let fit = |keep: &[bool]| -> Option<String> {
        let kept = || {
            merged
                .iter()
                .zip(keep)
                .filter_map(|((item, _), k)| k.then_some(item.text.as_str()))
        };
        let commas = kept().count().saturating_sub(1);
        let len = 2 + commas + kept().map(str::len).sum::<usize>();
        if len > encoding.max_json() {
            return None;
        }
        let json = format!("[{}]", kept().collect::<Vec<_>>().join(","));
        Some(encoding.encode(json)).filter(|text| text.len() <= MAX_BYTES)
    };
    let mut keep = vec![true; merged.len()];
    if let Some(text) = fit(&keep) {
        return Rendered {
            text,
            dropped_results: Vec::new(),
        };
    }
    keep.fill(false);
    let mut text = fit(&keep).expect("an empty message fits");
    let mut dropped_results = Vec::new();
    for pass in [Rank::Own, Rank::Result, Rank::Before] {
        for (i, (item, rank)) in merged.iter().enumerate() {
            if *rank != pass {
                continue;
            }
            keep[i] = true;
            if let Some(fitted) = fit(&keep) {
                text = fitted;
                continue;
            }
            keep[i] = false;
            let key = item.key.clone().unwrap_or_default();
            if *rank == Rank::Result {
                dropped_results.push(key);
            } else {
                tracing::error!(key, "termination message entry dropped: over 4096 bytes");
            }
        }
    }
    Rendered {
        text,
        dropped_results,
    }
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "tekton")]
    use std::fmt::Write as _;
    #[cfg(feature = "tekton")]
    use std::io::Read as _;

    #[cfg(feature = "tekton")]
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    #[cfg(feature = "tekton")]
    use base64::Engine as _;

    #[cfg(feature = "tekton")]
    use super::tknz::deflate;
    #[cfg(feature = "tekton")]
    use super::Encoding::Compressed;
    use super::Encoding::Json;
    #[cfg(feature = "tekton")]
    use super::{decode, MAX_INFLATED};
    use super::{parse, read, render, Element, Entry, INTERNAL, MAX_BYTES, RESULT};

    #[cfg(feature = "tekton")]
    /// A compressed message read as Tekton reads it, apart from baton's own
    /// reader: Go's `RawStdEncoding` is base64's standard alphabet without
    /// padding, and `flate.NewReader` reads raw DEFLATE.
    fn inflated(text: &str) -> String {
        let body = text
            .strip_prefix("tknz:")
            .unwrap_or_else(|| panic!("not compressed: {text}"));
        let deflated = STANDARD_NO_PAD.decode(body).unwrap();
        let mut json = String::new();
        flate2::read::DeflateDecoder::new(deflated.as_slice())
            .read_to_string(&mut json)
            .unwrap();
        json
    }

    #[cfg(feature = "tekton")]
    /// `json` compressed, as Tekton writes it (whether or not it is shorter).
    fn compressed(json: &str) -> String {
        format!("tknz:{}", STANDARD_NO_PAD.encode(deflate(json.as_bytes())))
    }

    #[cfg(feature = "tekton")]
    /// A value that compresses well, but not to nothing: numbered lines.
    fn lines(tag: &str, count: usize) -> String {
        let mut out = String::new();
        for i in 0..count {
            writeln!(out, "{tag} line {i}").unwrap();
        }
        out
    }

    #[cfg(feature = "tekton")]
    /// A value that does not compress: pseudo-random letters and digits.
    fn noise(len: usize, seed: u32) -> String {
        let symbols = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut x = seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                char::from(symbols[x as usize % symbols.len()])
            })
            .collect()
    }

    #[cfg(feature = "tekton")]
    fn keys(json: &str) -> Vec<String> {
        parse(json.as_bytes())
            .unwrap()
            .into_iter()
            .map(|e| e.key.unwrap())
            .collect()
    }

    fn json(text: &str) -> Element {
        parse(format!("[{text}]").as_bytes()).unwrap().remove(0)
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
            Json,
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
        let out = render(existing, &[internal("ExitCode", "1")], &results, Json);
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
        let out = render(Vec::new(), &[internal("ExitCode", "1")], &results, Json);
        assert_eq!(out.dropped_results, ["c"]);
    }

    #[test]
    fn others_entries_are_kept_as_written_but_for_whitespace() {
        let input = br#" [ {"key" : "A\u0042", "value":"x y", "type":3},
            {"other": [1, -2.5e3, 1e400, true, null, {}], "key": 7}, "s", [] ] "#;
        assert_eq!(
            parse(input).unwrap(),
            [
                Element {
                    text: r#"{"key":"A\u0042","value":"x y","type":3}"#.into(),
                    key: Some("AB".into())
                },
                Element {
                    text: r#"{"other":[1,-2.5e3,1e400,true,null,{}],"key":7}"#.into(),
                    key: None
                },
                Element {
                    text: r#""s""#.into(),
                    key: None
                },
                Element {
                    text: "[]".into(),
                    key: None
                },
            ]
        );
        assert_eq!(parse(b"[]").unwrap(), []);
        let strings = parse(br#"["\ud83d\ude00", "a \" ] b"]"#).unwrap();
        assert_eq!(strings[0].text, r#""\ud83d\ude00""#);
        assert_eq!(strings[1].text, r#""a \" ] b""#);
        // Member names are compared decoded; of several string keys the last wins.
        let element = json(r#"{"k\u0065y": "a", "key": 1, "key": "b", "key": []}"#);
        assert_eq!(element.key.as_deref(), Some("b"));
    }

    #[test]
    fn what_is_not_one_json_array_is_refused() {
        for bad in [
            &br"{}"[..],
            br#""s""#,
            br"[",
            br"[1,]",
            br"[01]",
            br"[1.]",
            br#"["a]"#,
            br#"["\x"]"#,
            br"[tru]",
            br"[1] x",
            br"[1] [2]",
            br#"[{"a" 1}]"#,
            b"[\"\x01\"]",
            b"[\"\xff\"]",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn a_file_that_is_not_an_array_is_replaced_and_a_blank_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("term");
        assert_eq!(read(&path).unwrap(), [], "missing");
        for replaced in [&b""[..], b" \n\t", br#"{"key":"a"}"#, b"[1,", b"\xff"] {
            std::fs::write(&path, replaced).unwrap();
            assert_eq!(read(&path).unwrap(), [], "{replaced:?}");
        }
        std::fs::write(&path, r#"{"key":"a","value":"b","type":1}"#).unwrap();
        let out = render(
            read(&path).unwrap(),
            &[internal("ExitCode", "0")],
            &[],
            Json,
        );
        assert_eq!(out.text, r#"[{"key":"ExitCode","value":"0","type":3}]"#);
        std::fs::write(&path, "[ {\"key\": \"a\"} ]\n").unwrap();
        assert_eq!(read(&path).unwrap(), [json(r#"{"key":"a"}"#)]);
    }

    #[test]
    fn deep_nesting_does_not_crash() {
        let depth = 100_000;
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let elements = parse(format!("[{deep}]").as_bytes()).unwrap();
        assert_eq!(elements.len(), 1);
        assert_eq!(elements[0].key, None);
        let out = render(elements, &[internal("ExitCode", "0")], &[], Json);
        assert_eq!(
            out.text, r#"[{"key":"ExitCode","value":"0","type":3}]"#,
            "too big to keep"
        );
        let unclosed = format!("[{}", "[".repeat(depth));
        assert!(parse(unclosed.as_bytes()).is_err());
        let within = &deep[depth - 500..depth + 500];
        let element = json(&format!(r#"{{"v": {within}, "key": "deep"}}"#));
        assert_eq!(element.key.as_deref(), Some("deep"));
        assert_eq!(element.text, format!(r#"{{"v":{within},"key":"deep"}}"#));
    }

    #[test]
    fn batons_entries_are_compact_with_control_characters_as_before() {
        let entry = Entry::new("k\"", "a\"b\\c\nd\r\t\u{1}\u{8}\u{c}\u{7f}é/", RESULT);
        assert_eq!(
            entry.to_json(),
            Element {
                text: "{\"key\":\"k\\\"\",\"value\":\"a\\\"b\\\\c\\nd\\r\\t\\u0001\\u0008\\u000c\u{7f}é/\",\"type\":1}".into(),
                key: Some("k\"".into())
            }
        );
    }

    #[cfg(feature = "tekton")]
    #[test]
    fn compressed_is_tekton_s_form_and_holds_the_same_json() {
        let own = [internal("ExitCode", "0")];
        let results = [Entry::new("log", lines("a", 100), RESULT)];
        let plain = render(Vec::new(), &own, &results, Json).text;
        let out = render(Vec::new(), &own, &results, Compressed);
        assert!(out.text.starts_with("tknz:"), "{}", out.text);
        assert!(!out.text.contains('='), "no padding: {}", out.text);
        assert!(out.text.len() < plain.len() / 2, "{} bytes", out.text.len());
        assert_eq!(inflated(&out.text), plain);
        // And baton reads it back as the JSON.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("term");
        std::fs::write(&path, &out.text).unwrap();
        assert_eq!(read(&path).unwrap(), parse(plain.as_bytes()).unwrap());
    }

    #[cfg(feature = "tekton")]
    #[test]
    fn compressed_only_when_shorter() {
        let own = [
            internal("StartedAt", "2026-01-02T03:04:05.678Z"),
            internal("ExitCode", "0"),
        ];
        let small = render(Vec::new(), &own, &[], Compressed);
        assert_eq!(small.text, render(Vec::new(), &own, &[], Json).text);
        // Noise does not compress, and base64 makes it a third longer.
        let noisy = [Entry::new("n", noise(2000, 1), RESULT)];
        let out = render(Vec::new(), &own, &noisy, Compressed);
        assert_eq!(out.text, render(Vec::new(), &own, &noisy, Json).text);
        assert!(compressed(&out.text).len() > out.text.len());
        // Whenever it is shorter, the compressed form is written.
        let mut seen = [false; 2];
        for len in 0..200 {
            let json = format!(r#"[{{"key":"r","value":"{}","type":1}}]"#, "ab".repeat(len));
            let text = Compressed.encode(json.clone());
            let shorter = compressed(&json).len() < json.len();
            assert_eq!(text.starts_with("tknz:"), shorter, "{json}");
            assert_eq!(if shorter { inflated(&text) } else { text }, json);
            seen[usize::from(shorter)] = true;
        }
        assert_eq!(seen, [true, true]);
        assert_eq!(Json.encode(lines("a", 100)), lines("a", 100));
    }

    #[cfg(feature = "tekton")]
    #[test]
    fn a_compressed_message_is_read_and_merged_whatever_this_step_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("term");
        let digest = Entry::new("digest", lines("sha", 50), RESULT);
        let before = render(
            Vec::new(),
            &[internal("ExitCode", "9")],
            std::slice::from_ref(&digest),
            Compressed,
        );
        assert!(before.text.starts_with("tknz:"));
        // A line break after it, which Go's base64 decoder skips.
        std::fs::write(&path, format!("{}\n", before.text)).unwrap();
        let existing = read(&path).unwrap();
        let own = [internal("ExitCode", "0")];
        let more = [Entry::new("more", "x", RESULT)];
        let out = render(existing.clone(), &own, &more, Json);
        let expect = [&own[0], &digest, &more[0]].map(|e| e.to_json().text);
        assert_eq!(out.text, format!("[{}]", expect.join(",")));
        let out = render(existing, &own, &more, Compressed);
        assert_eq!(inflated(&out.text), format!("[{}]", expect.join(",")));
    }

    #[cfg(feature = "tekton")]
    #[test]
    fn a_compressed_message_that_cannot_be_read_is_replaced() {
        let empty = r#"[{"key":"a","value":"","type":1}]"#;
        let at_limit = empty.replace(
            r#""value":"""#,
            &format!(r#""value":"{}""#, "v".repeat(MAX_INFLATED - empty.len())),
        );
        assert_eq!(at_limit.len(), MAX_INFLATED);
        assert_eq!(decode(compressed(&at_limit).as_bytes()).unwrap().len(), 1);
        let over = at_limit.replacen('v', "vv", 1);
        let good = compressed(r#"[{"key":"a"}]"#);
        assert_eq!(decode(good.as_bytes()).unwrap(), [json(r#"{"key":"a"}"#)]);
        // As Go's reader: bytes after the last block are ignored.
        let mut trailing = deflate(br#"[{"key":"a"}]"#);
        trailing.extend_from_slice(b"junk");
        let trailing = format!("tknz:{}", STANDARD_NO_PAD.encode(trailing));
        assert_eq!(decode(trailing.as_bytes()).unwrap().len(), 1);
        let deflated = deflate(br#"[{"key":"a","value":"b","type":1}]"#);
        let cut = format!(
            "tknz:{}",
            STANDARD_NO_PAD.encode(&deflated[..deflated.len() - 2])
        );
        let not_deflate = format!("tknz:{}", STANDARD_NO_PAD.encode("hello world"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("term");
        for bad in [
            compressed(&over),
            "tknz:".into(),
            "tknz:!!!!".into(),
            format!("{good}="),
            format!("{good}=="),
            format!("{good} "),
            format!(" {good}"),
            cut,
            not_deflate,
            compressed(r#"{"key":"a"}"#),
        ] {
            assert!(decode(bad.as_bytes()).is_err(), "{bad:.60}");
            std::fs::write(&path, &bad).unwrap();
            assert_eq!(read(&path).unwrap(), [], "{bad:.60}");
        }
    }

    #[cfg(feature = "tekton")]
    #[test]
    fn the_budget_is_judged_on_the_compressed_size() {
        let own = [
            internal("StartedAt", "2026-01-02T03:04:05.678Z"),
            internal("ExitCode", "0"),
        ];
        let results = ["a", "b", "c"].map(|k| Entry::new(k, lines(k, 180), RESULT));
        let plain = render(Vec::new(), &own, &results, Json);
        assert_eq!(plain.dropped_results, ["b", "c"]);
        let out = render(Vec::new(), &own, &results, Compressed);
        assert!(out.dropped_results.is_empty());
        assert!(out.text.len() <= MAX_BYTES, "{} bytes", out.text.len());
        let all = inflated(&out.text);
        assert!(all.len() > 6000, "{} bytes of JSON", all.len());
        assert_eq!(keys(&all), ["StartedAt", "ExitCode", "a", "b", "c"]);
        // Past what fits compressed, results are left out in order, and what
        // was there before goes first.
        let existing = vec![Entry::new("old", lines("old", 100), RESULT).to_json()];
        let results = [
            Entry::new("a", lines("a", 180), RESULT),
            Entry::new("n", noise(3500, 7), RESULT),
            Entry::new("b", lines("b", 180), RESULT),
        ];
        let out = render(existing, &own, &results, Compressed);
        assert_eq!(out.dropped_results, ["n"]);
        assert!(out.text.len() <= MAX_BYTES, "{} bytes", out.text.len());
        assert_eq!(
            keys(&inflated(&out.text)),
            ["old", "StartedAt", "ExitCode", "a", "b"]
        );
    }

    #[cfg(feature = "tekton")]
    #[test]
    fn a_compressed_message_inflates_within_128_kib() {
        let own = [internal("ExitCode", "0")];
        // Deflated to a few hundred bytes, but Tekton would not inflate it.
        let results = [
            Entry::new("big", "a".repeat(MAX_INFLATED), RESULT),
            Entry::new("small", "x", RESULT),
        ];
        let out = render(Vec::new(), &own, &results, Compressed);
        assert_eq!(out.dropped_results, ["big"]);
        assert_eq!(keys(&out.text), ["ExitCode", "small"]);
        let results = [Entry::new("big", "a".repeat(MAX_INFLATED - 100), RESULT)];
        let out = render(Vec::new(), &own, &results, Compressed);
        assert!(out.dropped_results.is_empty());
        assert!(out.text.len() < 1000, "{} bytes", out.text.len());
        assert!(inflated(&out.text).len() <= MAX_INFLATED);
    }

    #[test]
    fn a_message_of_exactly_4096_bytes_fits() {
        let own = [internal("ExitCode", "0")];
        let base = render(Vec::new(), &own, &[Entry::new("r", "", RESULT)], Json)
            .text
            .len();
        let exact = [Entry::new("r", "v".repeat(MAX_BYTES - base), RESULT)];
        let out = render(Vec::new(), &own, &exact, Json);
        assert_eq!(out.text.len(), MAX_BYTES);
        assert!(out.dropped_results.is_empty());
        let over = [Entry::new("r", "v".repeat(MAX_BYTES - base + 1), RESULT)];
        assert_eq!(render(Vec::new(), &own, &over, Json).dropped_results, ["r"]);
    }
}
