//! Readiness probe specs (`--ready-probe`): any text must parse or be
//! refused without a panic, and a probe that parses reads back the same from
//! what it displays as (the spec baton logs).
#![no_main]

use baton::ready::parse_probe;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let spec = String::from_utf8_lossy(data);
    if let Ok(probe) = parse_probe(&spec) {
        let shown = probe.to_string();
        assert_eq!(
            parse_probe(&shown),
            Ok(probe),
            "{spec:?} shown as {shown:?}"
        );
    }
});
