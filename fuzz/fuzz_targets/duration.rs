//! Go durations (`--timeout`, `--grace-period`, …): any text, valid UTF-8 or
//! not (lossily), must parse or be refused without a panic (the build has
//! overflow checks). What parses reads back the same written in nanoseconds,
//! and an explicit `+` changes nothing.
#![no_main]

use baton::duration::parse_duration;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = parse_duration(&text);
    if let Ok(duration) = parsed {
        let nanos = format!("{}ns", duration.as_nanos());
        assert_eq!(
            parse_duration(&nanos),
            Ok(duration),
            "{text:?} then {nanos:?}"
        );
    }
    if !text.starts_with(['+', '-']) {
        let plus = parse_duration(&format!("+{text}"));
        assert_eq!(plus.is_ok(), parsed.is_ok(), "{text:?} and +{text:?}");
        if let (Ok(a), Ok(b)) = (plus, parsed) {
            assert_eq!(a, b, "{text:?}");
        }
    }
});
