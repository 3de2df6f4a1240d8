//! `--env-file`: variables one step hands to the next through the shared
//! volume, as `KEY=VALUE` lines. Read when the command is about to start (the
//! step before may have written the file). Blank lines and lines starting
//! with `#` are skipped; the value is everything after the first `=`, taken
//! as it is (no quotes, no expansion). A malformed line is an error naming
//! the file and the line.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use crate::exit_code::{Failure, USAGE};

/// The variables of every file, in order (a later one wins).
pub fn read_all(paths: &[impl AsRef<Path>]) -> Result<Vec<(OsString, OsString)>, Failure> {
    let mut vars = Vec::new();
    for path in paths {
        vars.extend(read(path.as_ref())?);
    }
    Ok(vars)
}

fn read(path: &Path) -> Result<Vec<(OsString, OsString)>, Failure> {
    let bad = |message: String| Failure {
        code: USAGE,
        message,
    };
    let bytes =
        std::fs::read(path).map_err(|e| bad(format!("env file {}: {e}", path.display())))?;
    let mut vars = Vec::new();
    for (number, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) || line.first() == Some(&b'#') {
            continue;
        }
        let malformed = |why: &str| {
            bad(format!(
                "env file {} line {}: {why}: {:?}",
                path.display(),
                number + 1,
                String::from_utf8_lossy(line)
            ))
        };
        let eq = line
            .iter()
            .position(|&b| b == b'=')
            .ok_or_else(|| malformed("expected KEY=VALUE"))?;
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        let valid_key = key
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            && key.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
        if !valid_key {
            return Err(malformed("invalid variable name"));
        }
        if value.contains(&0) {
            // The environment is NUL-terminated strings: a NUL would cut the
            // value short, and the exec fail.
            return Err(malformed("NUL byte in the value"));
        }
        vars.push((
            OsString::from_vec(key.to_vec()),
            OsString::from_vec(value.to_vec()),
        ));
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::read_all;

    #[test]
    fn lines_comments_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good");
        std::fs::write(&good, "# handed on\nA=1\n\nB=x=y z\r\n_C=\n").unwrap();
        let vars = read_all(&[&good]).unwrap();
        let pairs: Vec<(String, String)> = vars
            .into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("A".into(), "1".into()),
                ("B".into(), "x=y z".into()),
                ("_C".into(), String::new())
            ]
        );
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "A=1\nnot a pair\n").unwrap();
        let err = read_all(&[&bad]).unwrap_err();
        assert!(
            err.message.contains("line 2") && err.message.contains("bad"),
            "{}",
            err.message
        );
        std::fs::write(&bad, "1A=x\n").unwrap();
        assert!(read_all(&[&bad])
            .unwrap_err()
            .message
            .contains("invalid variable name"));
        let missing = dir.path().join("missing");
        assert!(read_all(&[&missing])
            .unwrap_err()
            .message
            .contains("missing"));
    }
}
