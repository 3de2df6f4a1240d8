//! The command line: the input's bytes split on NUL are the words after the
//! program name. They are parsed as given, then respelt, every option word
//! before `--` in the other spelling (GNU `--wait-file` and Go `-wait_file`),
//! and parsed again. Parsing must never panic; and where the respelling
//! cannot have changed a value (no option word stands where it could be the
//! value of the option before it), both spellings must read the same.
#![no_main]

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::sync::OnceLock;

use baton::cli::{try_parse, Cli, Stop};
use clap::CommandFactory;
use libfuzzer_sys::fuzz_target;

/// The GNU names of every long option, `help` and `version` included.
fn names() -> &'static HashSet<String> {
    static NAMES: OnceLock<HashSet<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut command = Cli::command();
        command.build();
        command
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_owned))
            .chain(["help".to_owned(), "version".to_owned()])
            .collect()
    })
}

const SUBCOMMANDS: [&[u8]; 5] = [b"install", b"cp", b"init", b"step-init", b"decode-script"];

/// The GNU name of an option word in either spelling (`--wait-file=x`,
/// `-wait_file`, `--wait_file`), as baton reads it; whether it has an
/// inline value.
fn option_name(word: &[u8]) -> Option<(String, bool)> {
    let body = word.strip_prefix(b"-")?;
    let body = body.strip_prefix(b"-").unwrap_or(body);
    let (name, inline) = match body.iter().position(|&b| b == b'=') {
        Some(at) => (&body[..at], true),
        None => (body, false),
    };
    let name = std::str::from_utf8(name).ok()?.replace('_', "-");
    names().contains(&name).then_some((name, inline))
}

/// The words with every known option word before `--` in GNU spelling, and
/// in Go spelling; and whether a respelt word may stand where a value is
/// read (then the two may rightly differ).
fn respell(words: &[Vec<u8>]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, bool) {
    let mut gnu = Vec::with_capacity(words.len());
    let mut go = Vec::with_capacity(words.len());
    let mut ambiguous = false;
    if words
        .first()
        .is_some_and(|w| SUBCOMMANDS.contains(&w.as_slice()))
    {
        return (words.to_vec(), words.to_vec(), false);
    }
    let mut previous_takes_next = false;
    let mut after_dashes = false;
    for word in words {
        if after_dashes || word == b"--" {
            after_dashes = true;
            gnu.push(word.clone());
            go.push(word.clone());
            continue;
        }
        let found = option_name(word);
        if let Some((name, inline)) = &found {
            let value = word
                .iter()
                .position(|&b| b == b'=')
                .map_or(&[][..], |at| &word[at..]);
            let mut g = format!("--{name}").into_bytes();
            g.extend_from_slice(value);
            let mut o = format!("-{}", name.replace('-', "_")).into_bytes();
            o.extend_from_slice(value);
            if previous_takes_next && (g != *word || o != *word) {
                ambiguous = true;
            }
            gnu.push(g);
            go.push(o);
            previous_takes_next = !inline;
        } else {
            gnu.push(word.clone());
            go.push(word.clone());
            previous_takes_next = false;
        }
    }
    (gnu, go, ambiguous)
}

fn parse(words: &[Vec<u8>]) -> Result<Cli, Stop> {
    let args: Vec<OsString> = std::iter::once(OsString::from("baton"))
        .chain(words.iter().map(|w| OsString::from_vec(w.clone())))
        .collect();
    try_parse(&args)
}

/// What is compared between the two spellings: a usage message names the
/// words as they were given, so only its being one counts. A usage error is
/// one line (unless a word given has a line break in it).
fn outcome(result: &Result<Cli, Stop>, one_line: bool) -> String {
    match result {
        Ok(cli) => format!("{cli:?}"),
        Err(Stop::Print(text)) => format!("print {text}"),
        Err(Stop::Usage(message)) => {
            assert!(
                !one_line || !message.contains('\n'),
                "a usage error on two lines: {message:?}"
            );
            "usage".to_owned()
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let words: Vec<Vec<u8>> = data.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
    let given = parse(&words);
    let (gnu, go, ambiguous) = respell(&words);
    let gnu_result = parse(&gnu);
    let go_result = parse(&go);
    let one_line = !data.contains(&b'\n');
    outcome(&given, one_line);
    let gnu_outcome = outcome(&gnu_result, one_line);
    let go_outcome = outcome(&go_result, one_line);
    if !ambiguous {
        assert_eq!(gnu_outcome, go_outcome, "GNU {gnu:?}, Go {go:?}");
    }
});
