//! The command line: what a pod manifest (or Tekton's controller) writes into a
//! container's `command`. Both spellings of every option are accepted: GNU style
//! (`--wait-file PATH`, `--wait-file=PATH`) and Go style as Tekton writes it
//! (`-wait_file PATH`, `-wait_file=PATH`, `-wait_file_content=true`). Nothing
//! after `--` is ever read as an option.
//!
//! The parser is a table of options and about a hundred lines, not clap: clap
//! was 57 % of baton's start-up instructions and 0.17 MB of its binary, paid in
//! every container of every pod (see `docs/performance.md`).

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::duration::parse_duration;
use crate::ready::{parse_probe, Probe};

/// What the command line asks for.
#[derive(Debug)]
pub struct Cli {
    pub sub: Option<Sub>,
    pub step: StepArgs,
    /// The words after `--`.
    pub command: Vec<OsString>,
}

/// The subcommands: all three copy the running binary.
#[derive(Debug)]
pub enum Sub {
    /// `install DEST`.
    Install { dest: PathBuf },
    /// `cp SRC DEST`, Tekton's spelling (SRC is ignored).
    Cp { dest: PathBuf },
    /// `init SRC DEST [STEP...]`, Tekton's spelling (SRC and STEP are ignored).
    Init { dest: PathBuf },
}

/// Options of a step (the default mode: wait, run, mark). `OPTIONS` documents
/// each one; the defaults are in `Default`.
#[derive(Debug)]
#[allow(clippy::struct_excessive_bools)]
pub struct StepArgs {
    pub wait_file: Vec<PathBuf>,
    pub wait_file_content: bool,
    pub post_file: Option<PathBuf>,
    pub termination_path: Option<PathBuf>,
    pub timeout: Duration,
    pub grace_period: Duration,
    pub entrypoint: Option<OsString>,
    pub ready_file: Option<PathBuf>,
    pub ready_probe: Vec<Probe>,
    pub ready_interval: Duration,
    pub ready_timeout: Duration,
    pub stop_file: Vec<PathBuf>,
    pub stop_keeps_exit_code: bool,
    pub success_exit_codes: Vec<u8>,
    pub rerun: bool,
    pub no_kill_group: bool,
    pub on_error: OnError,
    pub stdout_path: Option<PathBuf>,
    pub stderr_path: Option<PathBuf>,
    pub results: Vec<String>,
    pub results_dir: PathBuf,
    pub step_metadata_dir: Option<PathBuf>,
    pub cancel_file: Option<PathBuf>,
    pub retries: u32,
    pub retry_delay: Duration,
    pub env_file: Vec<PathBuf>,
    pub log_level: Option<LogLevel>,
    pub log_format: LogFormat,
}

impl Default for StepArgs {
    fn default() -> Self {
        Self {
            wait_file: Vec::new(),
            wait_file_content: false,
            post_file: None,
            termination_path: None,
            timeout: Duration::ZERO,
            grace_period: Duration::from_secs(10),
            entrypoint: None,
            ready_file: None,
            ready_probe: Vec::new(),
            ready_interval: Duration::from_millis(100),
            ready_timeout: Duration::ZERO,
            stop_file: Vec::new(),
            stop_keeps_exit_code: false,
            success_exit_codes: Vec::new(),
            rerun: false,
            no_kill_group: false,
            on_error: OnError::StopAndFail,
            stdout_path: None,
            stderr_path: None,
            results: Vec::new(),
            results_dir: PathBuf::from("/tekton/results"),
            step_metadata_dir: None,
            cancel_file: None,
            retries: 0,
            retry_delay: Duration::from_secs(1),
            env_file: Vec::new(),
            log_level: None,
            log_format: LogFormat::Text,
        }
    }
}

impl StepArgs {
    /// The command to run: `--entrypoint` followed by everything after `--`.
    pub fn argv(&self, rest: Vec<OsString>) -> Vec<OsString> {
        self.entrypoint.iter().cloned().chain(rest).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    StopAndFail,
    Continue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// Parses a level name, in any case (`--log-level`, `BATON_LOG`).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_lowercase().as_str() {
            "off" => Self::Off,
            "error" => Self::Error,
            "warn" => Self::Warn,
            "info" => Self::Info,
            "debug" => Self::Debug,
            "trace" => Self::Trace,
            _ => return None,
        })
    }
}

/// One option: its GNU name (without `--`), the name of its value (empty for
/// a boolean), its help line, and what it does to the arguments.
struct Opt {
    name: &'static str,
    value: &'static str,
    help: &'static str,
    set: fn(&mut StepArgs, &OsStr) -> Result<(), String>,
}

/// Every option of a step, in the order `--help` lists them.
const OPTIONS: &[Opt] = &[
    Opt {
        name: "wait-file",
        value: "PATH",
        help: "Wait until PATH exists before running (repeatable, comma-separated; all must exist)",
        set: |a, v| {
            a.wait_file.extend(list(v).map(PathBuf::from));
            Ok(())
        },
    },
    Opt {
        name: "wait-file-content",
        value: "",
        help: "A wait file only counts once it is non-empty",
        set: |a, v| boolean(v).map(|b| a.wait_file_content = b),
    },
    Opt {
        name: "post-file",
        value: "PATH",
        help: "On success write PATH; on failure write PATH.err",
        set: |a, v| {
            a.post_file = Some(path(v)?);
            Ok(())
        },
    },
    Opt {
        name: "termination-path",
        value: "PATH",
        help: "Write the termination message (Tekton's JSON format) to PATH",
        set: |a, v| {
            a.termination_path = Some(path(v)?);
            Ok(())
        },
    },
    Opt {
        name: "timeout",
        value: "DURATION",
        help: "Limit on the command's run time (Go duration: 90s, 1m30s, 250ms); 0 means none [default: 0]",
        set: |a, v| duration(v).map(|d| a.timeout = d),
    },
    Opt {
        name: "grace-period",
        value: "DURATION",
        help: "Time between SIGTERM and SIGKILL whenever baton itself stops the command [default: 10s]",
        set: |a, v| duration(v).map(|d| a.grace_period = d),
    },
    Opt {
        name: "entrypoint",
        value: "CMD",
        help: "The command to run; its arguments follow `--`",
        set: |a, v| {
            a.entrypoint = Some(v.to_owned());
            Ok(())
        },
    },
    Opt {
        name: "ready-file",
        value: "PATH",
        help: "Sidecars: write PATH once the command is ready (every probe passes, or at once with no probe); PATH.err if it never gets there",
        set: |a, v| {
            a.ready_file = Some(path(v)?);
            Ok(())
        },
    },
    Opt {
        name: "ready-probe",
        value: "SPEC",
        help: "A readiness probe (repeatable): tcp:HOST:PORT, http://HOST:PORT/PATH, exec:COMMAND ARG..., file:PATH; HOST is an IP address or localhost",
        set: |a, v| {
            a.ready_probe.push(parse_probe(text(v)?)?);
            Ok(())
        },
    },
    Opt {
        name: "ready-interval",
        value: "DURATION",
        help: "Time between probe rounds [default: 100ms]",
        set: |a, v| duration(v).map(|d| a.ready_interval = d),
    },
    Opt {
        name: "ready-timeout",
        value: "DURATION",
        help: "Not ready in time: stop the command, write READY.err, exit 1; 0 means no limit [default: 0]",
        set: |a, v| duration(v).map(|d| a.ready_timeout = d),
    },
    Opt {
        name: "stop-file",
        value: "PATH",
        help: "Stop the command as soon as PATH or PATH.err appears (repeatable, comma-separated); a stop asked for is a success",
        set: |a, v| {
            a.stop_file.extend(list(v).map(PathBuf::from));
            Ok(())
        },
    },
    Opt {
        name: "stop-keeps-exit-code",
        value: "",
        help: "After a stop asked for by a stop file, exit with the command's own code",
        set: |a, v| boolean(v).map(|b| a.stop_keeps_exit_code = b),
    },
    Opt {
        name: "success-exit-codes",
        value: "LIST",
        help: "Exit codes that count as success (comma-separated, e.g. 143,137)",
        set: |a, v| {
            for code in list(v) {
                let code = text(code)?;
                a.success_exit_codes.push(
                    code.parse()
                        .map_err(|_| format!("{code:?} is not an exit code (0 to 255)"))?,
                );
            }
            Ok(())
        },
    },
    Opt {
        name: "rerun",
        value: "",
        help: "Run even if the success marker POST exists from an earlier run",
        set: |a, v| boolean(v).map(|b| a.rerun = b),
    },
    Opt {
        name: "no-kill-group",
        value: "",
        help: "When the command exits, leave what is left of its process group alone",
        set: |a, v| boolean(v).map(|b| a.no_kill_group = b),
    },
    Opt {
        name: "on-error",
        value: "MODE",
        help: "What a failing command means for the chain: stopAndFail, or continue (write POST, record the real exit code, exit 0) [default: stopAndFail]",
        set: |a, v| {
            a.on_error = match text(v)? {
                "stopAndFail" => OnError::StopAndFail,
                "continue" => OnError::Continue,
                _ => return Err("expected stopAndFail or continue".into()),
            };
            Ok(())
        },
    },
    Opt {
        name: "stdout-path",
        value: "PATH",
        help: "Also copy the command's stdout to PATH (appended; parent directories created)",
        set: |a, v| {
            a.stdout_path = Some(path(v)?);
            Ok(())
        },
    },
    Opt {
        name: "stderr-path",
        value: "PATH",
        help: "Also copy the command's stderr to PATH (may be the same file as --stdout-path)",
        set: |a, v| {
            a.stderr_path = Some(path(v)?);
            Ok(())
        },
    },
    Opt {
        name: "results",
        value: "NAMES",
        help: "Result names (comma-separated): each DIR/NAME that exists after the command goes into the termination message",
        set: |a, v| {
            for name in list(v) {
                a.results.push(text(name)?.to_owned());
            }
            Ok(())
        },
    },
    Opt {
        name: "results-dir",
        value: "DIR",
        help: "Where the results are [default: /tekton/results]",
        set: |a, v| {
            a.results_dir = path(v)?;
            Ok(())
        },
    },
    Opt {
        name: "step-metadata-dir",
        value: "DIR",
        help: "Write DIR/exitCode with the command's exit code, like Tekton",
        set: |a, v| {
            a.step_metadata_dir = Some(path(v)?);
            Ok(())
        },
    },
    Opt {
        name: "cancel-file",
        value: "PATH",
        help: "Cancel when PATH appears (non-empty with --wait-file-content): stop the command, or stop waiting; write POST.err; exit 123",
        set: |a, v| {
            a.cancel_file = Some(path(v)?);
            Ok(())
        },
    },
    Opt {
        name: "retries",
        value: "N",
        help: "Rerun a failed command up to N more times before the step fails [default: 0]",
        set: |a, v| {
            let n = text(v)?;
            a.retries = n.parse().map_err(|_| format!("{n:?} is not a count"))?;
            Ok(())
        },
    },
    Opt {
        name: "retry-delay",
        value: "DURATION",
        help: "Delay before the first retry; doubles each time, capped at 1m [default: 1s]",
        set: |a, v| duration(v).map(|d| a.retry_delay = d),
    },
    Opt {
        name: "env-file",
        value: "PATH",
        help: "KEY=VALUE lines added to the command's environment (repeatable)",
        set: |a, v| {
            a.env_file.push(path(v)?);
            Ok(())
        },
    },
    Opt {
        name: "log-level",
        value: "LEVEL",
        help: "baton's own diagnostics on stderr: off, error, warn, info, debug, trace (default: $BATON_LOG, else error)",
        set: |a, v| {
            a.log_level = Some(
                LogLevel::parse(text(v)?)
                    .ok_or("expected off, error, warn, info, debug or trace")?,
            );
            Ok(())
        },
    },
    Opt {
        name: "log-format",
        value: "FORMAT",
        help: "Format of baton's own diagnostics: text or json [default: text]",
        set: |a, v| {
            a.log_format = match text(v)? {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err("expected text or json".into()),
            };
            Ok(())
        },
    },
];

const USAGE: &str = "Usage: baton [OPTIONS] [--entrypoint CMD] -- [COMMAND] [ARG...]
       baton install DEST
       baton cp SRC DEST
       baton init SRC DEST [STEP...]";

/// Why parsing stopped without a `Cli`.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// `--help`: the text to print on stdout.
    Help(String),
    /// `--version`: the text to print on stdout.
    Version(String),
    /// Bad input: the one-line message.
    Usage(String),
}

/// Parses the process arguments. Help and version are printed and exit 0; a
/// usage error is printed with the usage, leaves the verdict `POST.err` when
/// the post file can be made out (so that the steps after a misconfigured step
/// do not wait forever), and exits 2.
pub fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    match try_parse(&args) {
        Ok(cli) => cli,
        Err(Stop::Help(text) | Stop::Version(text)) => {
            print!("{text}");
            std::process::exit(0)
        }
        Err(Stop::Usage(message)) => {
            if let Some(post) = post_file_of(&args) {
                if let Err(also) = crate::marker::write_verdict(&post, crate::exit_code::USAGE) {
                    eprintln!("baton: {also:#}");
                }
            }
            let usage = USAGE.lines().next().unwrap_or_default();
            eprintln!("baton: {message}\n{usage}\nFor more information, try 'baton --help'.");
            std::process::exit(crate::exit_code::USAGE.into())
        }
    }
}

/// Parses `args` (the program name first).
pub fn try_parse(args: &[OsString]) -> Result<Cli, Stop> {
    let words = args.get(1..).unwrap_or_default();
    if let Some(sub) = words.first().and_then(|w| w.to_str()) {
        if matches!(sub, "install" | "cp" | "init") {
            return subcommand(sub, &words[1..]);
        }
    }
    let mut step = StepArgs::default();
    let mut command = Vec::new();
    let mut rest = words.iter();
    while let Some(word) = rest.next() {
        if word == "--" {
            command.extend(rest.cloned());
            break;
        }
        help_or_version(word)?;
        let Some((name, inline)) = split_option(word) else {
            return Err(Stop::Usage(format!(
                "unexpected argument {:?}: the command goes after `--`",
                word.to_string_lossy()
            )));
        };
        let Some(opt) = OPTIONS.iter().find(|o| o.name == name) else {
            return Err(Stop::Usage(format!(
                "unknown option {:?}",
                word.to_string_lossy()
            )));
        };
        let value = match inline {
            Some(value) => value,
            None if opt.value.is_empty() => OsStr::new("true"),
            None => match rest.next() {
                Some(value) if value != "--" => value.as_os_str(),
                _ => {
                    return Err(Stop::Usage(format!(
                        "option --{} needs a value: --{} {}",
                        opt.name, opt.name, opt.value
                    )))
                }
            },
        };
        (opt.set)(&mut step, value).map_err(|why| {
            Stop::Usage(format!(
                "invalid value {:?} for --{}: {why}",
                value.to_string_lossy(),
                opt.name
            ))
        })?;
    }
    if step.entrypoint.is_none() && command.is_empty() {
        return Err(Stop::Usage(
            "no command given: put it after `--` (or use --entrypoint)".into(),
        ));
    }
    Ok(Cli {
        sub: None,
        step,
        command,
    })
}

/// `install DEST`, `cp SRC DEST`, `init SRC DEST [STEP...]`.
fn subcommand(sub: &str, words: &[OsString]) -> Result<Cli, Stop> {
    for word in words {
        help_or_version(word)?;
    }
    let (("install", [dest]) | ("cp", [_, dest]) | ("init", [_, dest, ..])) = (sub, words) else {
        let shape = USAGE
            .lines()
            .find(|line| line.contains(&format!("baton {sub} ")))
            .map_or("", |line| line.trim_start_matches("Usage:").trim());
        return Err(Stop::Usage(format!("expected: {shape}")));
    };
    let dest = PathBuf::from(dest);
    Ok(Cli {
        sub: Some(match sub {
            "install" => Sub::Install { dest },
            "cp" => Sub::Cp { dest },
            _ => Sub::Init { dest },
        }),
        step: StepArgs::default(),
        command: Vec::new(),
    })
}

fn help_or_version(word: &OsStr) -> Result<(), Stop> {
    match word.as_bytes() {
        b"-h" | b"--help" | b"-help" => Err(Stop::Help(help())),
        b"-V" | b"--version" | b"-version" => Err(Stop::Version(format!(
            "baton {}\n",
            env!("CARGO_PKG_VERSION")
        ))),
        _ => Ok(()),
    }
}

/// An option word split into its GNU name and its inline value: `--post-file=x`,
/// `-post_file=x` → (`post-file`, `x`). `None` for a word that is no option.
fn split_option(word: &OsStr) -> Option<(String, Option<&OsStr>)> {
    let bytes = word.as_bytes();
    let body = bytes
        .strip_prefix(b"--")
        .or_else(|| bytes.strip_prefix(b"-"))
        .filter(|body| !body.is_empty() && !body.starts_with(b"-"))?;
    let (name, value) = match body.iter().position(|&b| b == b'=') {
        Some(at) => (&body[..at], Some(OsStr::from_bytes(&body[at + 1..]))),
        None => (body, None),
    };
    let name = std::str::from_utf8(name).ok()?.replace('_', "-");
    Some((name, value))
}

/// The value of `--post-file` (either spelling) before `--`, if any: read
/// even when the rest of the command line is bad. The value of another
/// option is never taken for an option.
fn post_file_of(args: &[OsString]) -> Option<PathBuf> {
    let mut words = args.iter().skip(1).take_while(|w| *w != "--");
    let mut found = None;
    while let Some(word) = words.next() {
        let Some((name, inline)) = split_option(word) else {
            continue;
        };
        let takes_value = OPTIONS
            .iter()
            .any(|o| o.name == name && !o.value.is_empty());
        let value = match inline {
            Some(value) => Some(value.to_owned()),
            None if takes_value => words.next().cloned(),
            None => None,
        };
        if name == "post-file" {
            found = value.map(PathBuf::from);
        }
    }
    found.filter(|p| !p.as_os_str().is_empty())
}

/// `--help`: generated from `OPTIONS`.
fn help() -> String {
    let mut out = String::from(
        "baton: makes the containers of one pod run in order.\n\n\
         Waits for the marker of the step before it, runs COMMAND as a child (forwarding\n\
         signals, reaping zombies), passes its exit code on and writes its own marker.\n\n",
    );
    out.push_str(USAGE);
    out.push_str(
        "\n\nCommands:\n  \
         install DEST   Copy this binary to DEST (a file path; a directory means DEST/baton)\n  \
         cp SRC DEST    Tekton spelling of install (SRC is ignored: the running binary is copied)\n  \
         init SRC DEST  Tekton spelling of install (SRC and STEP names are ignored)\n\n\
         Options (also spelt Go style, as Tekton writes them: -wait_file PATH, -wait_file=PATH,\n\
         -wait_file_content=true):\n",
    );
    for opt in OPTIONS {
        let left = if opt.value.is_empty() {
            format!("--{}[=BOOL]", opt.name)
        } else {
            format!("--{} {}", opt.name, opt.value)
        };
        let _ = write!(out, "  {left:<34}");
        // Wrapped at 100 columns, continued under the help column.
        let mut column = 36;
        for (i, word) in opt.help.split(' ').enumerate() {
            if i > 0 && column + 1 + word.len() > 100 {
                let _ = write!(out, "\n{:36}", "");
                column = 36;
            } else if i > 0 {
                out.push(' ');
                column += 1;
            }
            out.push_str(word);
            column += word.len();
        }
        out.push('\n');
    }
    out.push_str("  -h, --help                        Print help\n");
    out.push_str("  -V, --version                     Print version\n");
    out
}

/// A path value; an empty one is refused (it would name the working directory).
fn path(value: &OsStr) -> Result<PathBuf, String> {
    if value.is_empty() {
        return Err("empty path".into());
    }
    Ok(PathBuf::from(value))
}

fn text(value: &OsStr) -> Result<&str, String> {
    value.to_str().ok_or_else(|| "not valid UTF-8".into())
}

fn duration(value: &OsStr) -> Result<Duration, String> {
    parse_duration(text(value)?)
}

/// A comma-separated list; empty items (`a,,b`, a trailing comma) are skipped.
fn list(value: &OsStr) -> impl Iterator<Item = &OsStr> {
    value
        .as_bytes()
        .split(|&b| b == b',')
        .filter(|item| !item.is_empty())
        .map(OsStr::from_bytes)
}

/// A boolean as Go's `strconv.ParseBool` reads it.
fn boolean(value: &OsStr) -> Result<bool, String> {
    match value.as_bytes() {
        b"1" | b"t" | b"T" | b"true" | b"TRUE" | b"True" => Ok(true),
        b"0" | b"f" | b"F" | b"false" | b"FALSE" | b"False" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// For the tests: `Path` of the post file found on a bad command line.
#[cfg(test)]
fn post_file_in(words: &[&str]) -> Option<PathBuf> {
    post_file_of(&argv(words))
}

#[cfg(test)]
fn argv(words: &[&str]) -> Vec<OsString> {
    std::iter::once("baton")
        .chain(words.iter().copied())
        .map(OsString::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(words: &[&str]) -> Result<Cli, Stop> {
        try_parse(&argv(words))
    }

    fn usage(words: &[&str]) -> String {
        match parse(words) {
            Err(Stop::Usage(message)) => message,
            other => panic!("{words:?} parsed: {other:?}"),
        }
    }

    #[test]
    fn go_style_words_as_tekton_writes_them() {
        let cli = parse(&[
            "-wait_file",
            "/a,/b",
            "-wait_file_content",
            "-post_file=/p",
            "-timeout=1m30s",
            "-entrypoint",
            "sh",
            "--",
            "-c",
            "-post_file",
        ])
        .unwrap();
        assert_eq!(cli.step.wait_file, [Path::new("/a"), Path::new("/b")]);
        assert!(cli.step.wait_file_content);
        assert_eq!(cli.step.post_file.as_deref(), Some(Path::new("/p")));
        assert_eq!(cli.step.timeout, Duration::from_secs(90));
        assert_eq!(cli.step.argv(cli.command), ["sh", "-c", "-post_file"]);
    }

    #[test]
    fn gnu_style_with_equals_and_booleans() {
        let cli = parse(&[
            "--wait-file=a",
            "--wait-file",
            "b,,c,",
            "--rerun=false",
            "--no-kill-group=true",
            "--on-error",
            "continue",
            "--success-exit-codes=143,137",
            "--log-level=DEBUG",
            "--",
            "true",
        ])
        .unwrap();
        assert_eq!(cli.step.wait_file.len(), 3);
        assert!(!cli.step.rerun);
        assert!(cli.step.no_kill_group);
        assert_eq!(cli.step.on_error, OnError::Continue);
        assert_eq!(cli.step.success_exit_codes, [143, 137]);
        assert_eq!(cli.step.log_level, Some(LogLevel::Debug));
        assert_eq!(cli.step.grace_period, Duration::from_secs(10), "default");
    }

    #[test]
    fn an_option_value_may_look_like_an_option() {
        let cli = parse(&["--entrypoint", "-post_file", "--", "x"]).unwrap();
        assert_eq!(
            cli.step.entrypoint.as_deref(),
            Some(OsStr::new("-post_file"))
        );
        assert!(cli.step.post_file.is_none());
    }

    #[test]
    fn bad_input_names_what_is_wrong() {
        assert!(usage(&["--nope", "--", "true"]).contains("--nope"));
        assert!(usage(&["-nope_x", "--", "true"]).contains("-nope_x"));
        assert!(usage(&["stray", "--", "true"]).contains("stray"));
        assert!(usage(&["--timeout", "5x", "--", "true"]).contains("5x"));
        assert!(usage(&["--rerun=maybe", "--", "true"]).contains("maybe"));
        assert!(usage(&["--retries=-1", "--", "true"]).contains("-1"));
        assert!(usage(&["--success-exit-codes=256", "--", "true"]).contains("256"));
        assert!(usage(&["--post-file", "--", "true"]).contains("needs a value"));
        assert!(usage(&["--post-file"]).contains("needs a value"));
        assert!(usage(&["--post-file="]).contains("empty path"));
        assert!(usage(&["--post-file=x"]).contains("no command"));
        assert!(usage(&["install"]).contains("install DEST"));
        assert!(usage(&["cp", "a"]).contains("cp SRC DEST"));
    }

    #[test]
    fn subcommands_come_first() {
        let cli = parse(&["init", "src", "/d", "step-a"]).unwrap();
        assert!(matches!(cli.sub, Some(Sub::Init { dest }) if dest == Path::new("/d")));
        let cli = parse(&["--", "install", "x"]).unwrap();
        assert!(cli.sub.is_none());
        assert_eq!(cli.command, ["install", "x"]);
    }

    #[test]
    fn help_lists_every_option_and_version_is_short() {
        let Err(Stop::Help(text)) = parse(&["--post-file", "p", "-h"]) else {
            panic!("no help")
        };
        for opt in OPTIONS {
            assert!(
                text.contains(&format!("--{}", opt.name)),
                "{} missing",
                opt.name
            );
        }
        assert!(matches!(parse(&["-version"]), Err(Stop::Version(v)) if v.starts_with("baton ")));
    }

    /// The README's option table keeps up with the parser.
    #[test]
    fn the_readme_documents_every_option() {
        let readme = include_str!("../README.md");
        for opt in OPTIONS {
            assert!(
                readme.contains(&format!("| `--{}", opt.name))
                    || readme.contains(&format!(", `--{}", opt.name)),
                "--{} is not in the README's option table",
                opt.name
            );
        }
    }

    #[test]
    fn post_file_is_found_on_a_bad_command_line() {
        assert_eq!(
            post_file_in(&["--nope", "-post_file", "p"]),
            Some("p".into())
        );
        assert_eq!(
            post_file_in(&["--post-file=q", "--timeout", "x"]),
            Some("q".into())
        );
        assert_eq!(post_file_in(&["--", "--post-file=q"]), None);
        assert_eq!(
            post_file_in(&["--entrypoint", "-post_file", "x", "--nope"]),
            None,
            "an option's value is no option"
        );
    }
}
