//! Env files (`--env-file`): the input is the file. Reading must never
//! panic; what is read is well formed: a valid name, a value without NUL or
//! line break, one variable per line at most.
#![no_main]

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// The file each input is written to: one per process, removed by nobody
/// (it is overwritten at each input, in the system's temporary directory).
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("baton-fuzz-envfile-{}", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    std::fs::write(path, data).expect("writing the env file");
    let Ok(vars) = baton::envfile::read_all(&[path]) else {
        return;
    };
    let lines = data.split(|&b| b == b'\n').count();
    assert!(
        vars.len() <= lines,
        "{} variables from {lines} lines",
        vars.len()
    );
    for (key, value) in &vars {
        let key = key.as_bytes();
        assert!(
            key.first()
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
                && key.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_'),
            "bad name {key:?}"
        );
        let value = value.as_bytes();
        assert!(
            !value.contains(&0) && !value.contains(&b'\n'),
            "bad value {value:?}"
        );
    }
});
