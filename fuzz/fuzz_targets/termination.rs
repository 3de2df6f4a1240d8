//! The termination-message merge: the input up to its first NUL is the file
//! a step finds at its termination path (any bytes), each further NUL-separated
//! part one entry of this step: a first byte (bit 0: a result rather than
//! one of baton's own entries; bits 1-3: the type; bits 5-7: the value
//! repeated 1 to 128 times, so that short inputs overflow the budget), then
//! `KEY=VALUE`. The message rendered must be at most 4096 bytes and a JSON
//! array; it reads back as the elements it was joined from; when everything
//! surely fits, nothing is left out; and (where the file had no key twice)
//! merging the same entries into it again changes nothing. Built with the
//! feature `tekton` (the default), a file may be Tekton's compressed form, and the message
//! is also written compressed: still at most 4096 bytes, and it reads back.
#![no_main]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use baton::termination::{self, Encoding, Entry, MAX_BYTES};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

const KINDS: [u64; 8] = [
    termination::RESULT,
    termination::INTERNAL,
    termination::STEP_RESULT,
    termination::STEP_ARTIFACTS,
    termination::TASK_ARTIFACTS,
    0,
    2,
    u64::MAX,
];

/// The file the message is written to and read from: one per process, in the
/// system's temporary directory, overwritten at each input.
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("baton-fuzz-termination-{}", std::process::id()))
    })
}

/// The elements of the message file holding `bytes`.
fn read(bytes: &[u8]) -> Vec<termination::Element> {
    std::fs::write(path(), bytes).expect("writing the message file");
    termination::read(path()).expect("reading the message file")
}

/// The longest JSON an entry can be: every character escaped as `\u00XX`.
fn longest(entry: &Entry) -> usize {
    r#"{"key":"","value":"","type":18446744073709551615}"#.len()
        + 6 * (entry.key.len() + entry.value.len())
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let file = parts.next().unwrap_or_default();
    let (mut own, mut results) = (Vec::new(), Vec::new());
    for part in parts {
        let Some((&control, text)) = part.split_first() else {
            continue;
        };
        let text = String::from_utf8_lossy(text);
        let (key, value) = text.split_once('=').unwrap_or((&text, ""));
        let value = value.repeat(1 << (control >> 5));
        let entry = Entry::new(key, value, KINDS[usize::from(control >> 1) & 7]);
        if control & 1 == 0 {
            own.push(entry);
        } else {
            results.push(entry);
        }
    }

    let existing = read(file);
    let existing_keys: Vec<&str> = existing.iter().filter_map(|e| e.key.as_deref()).collect();
    let unique = existing_keys.iter().collect::<HashSet<_>>().len() == existing_keys.len();
    let room = 2
        + existing.len()
        + own.len()
        + results.len()
        + existing.iter().map(|e| e.text.len()).sum::<usize>()
        + own.iter().chain(&results).map(longest).sum::<usize>();

    let rendered = termination::render(existing.clone(), &own, &results, Encoding::Json);
    let text = &rendered.text;
    assert!(text.len() <= MAX_BYTES, "{} bytes", text.len());
    let array: Vec<Box<RawValue>> =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not a JSON array ({e}): {text:?}"));
    let result_keys: HashSet<&str> = results.iter().map(|e| e.key.as_str()).collect();
    for key in &rendered.dropped_results {
        assert!(
            result_keys.contains(key.as_str()),
            "dropped {key:?}, no result"
        );
    }

    // Read back, it is the elements it was joined from.
    let back = read(text.as_bytes());
    assert_eq!(back.len(), array.len(), "{text:?}");
    let joined = format!(
        "[{}]",
        back.iter()
            .map(|e| e.text.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(&joined, text);

    // When the whole would fit whatever the escapes, nothing is left out.
    if room <= MAX_BYTES {
        assert!(rendered.dropped_results.is_empty(), "{text:?}");
        let keys: HashSet<&str> = back.iter().filter_map(|e| e.key.as_deref()).collect();
        for entry in own.iter().chain(&results) {
            assert!(
                keys.contains(entry.key.as_str()),
                "{:?} left out: {text:?}",
                entry.key
            );
        }
        assert!(back.len() >= existing.len(), "{text:?}");
    }

    // The same entries merged again change nothing.
    if unique {
        let again = termination::render(back, &own, &results, Encoding::Json);
        assert_eq!(&again.text, text, "merged twice");
        let mut first = rendered.dropped_results.clone();
        let mut second = again.dropped_results;
        first.sort();
        second.sort();
        assert_eq!(first, second, "dropped results, merged twice");
    }

    #[cfg(feature = "tekton")]
    {
        let compressed = termination::render(existing, &own, &results, Encoding::Compressed);
        let text = &compressed.text;
        assert!(text.len() <= MAX_BYTES, "{} bytes compressed", text.len());
        let back = read(text.as_bytes());
        assert!(!back.is_empty() || text == "[]", "not read back: {text:?}");
        if !text.starts_with("tknz:") {
            let _: Vec<Box<RawValue>> = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("not a JSON array ({e}): {text:?}"));
        }
    }
});
