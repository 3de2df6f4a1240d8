//! The command line: what a pod manifest (or Tekton's controller) writes into a
//! container's `command`, read by clap from the definitions in `settings`.
//!
//! Both spellings of every option are accepted: GNU style (`--wait-file PATH`,
//! `--wait-file=PATH`) and Go style as Tekton writes it (`-wait_file PATH`,
//! `-wait_file=PATH`, `-wait_file_content=true`). A small pre-pass
//! (`normalize`) turns every option word before `--` into the one form
//! `--name=value`, as Go's flag package reads words: an option's value is the
//! next word whatever it looks like, a boolean never takes the next word, and
//! empty items of a comma-separated list are skipped. Nothing after `--` is
//! ever read as an option. clap does the rest: typed values, a repeated
//! single-valued option keeping its last value, suggestions, `--help`.
// The doc comments of the options are their help text, read by users, not rustdoc.
#![allow(clippy::doc_markdown)]

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use tracing_subscriber::filter::Targets;

use crate::logging;
use crate::settings::{Argv, Marking, Mode, Output, Running, Sidecar, Step, Tekton, Waiting};

/// The first line of the usage; the subcommands have their own.
const USAGE: &str = "baton [OPTIONS] [--entrypoint CMD] -- [COMMAND] [ARG...]";

/// What the command line asks for.
#[derive(Debug, Parser)]
#[command(
    name = "baton",
    version = env!("BATON_VERSION"),
    about = "Makes the containers of one pod run in order.",
    long_about = "Makes the containers of one pod run in order.\n\n\
        Waits for the marker of the step before it, runs COMMAND as a child (forwarding \
        signals, reaping zombies), passes its exit code on and writes its own marker.",
    override_usage = USAGE,
    after_help = "Every option may also be spelt Go style, as Tekton writes it: \
        -wait_file PATH, -wait_file=PATH, -wait_file_content=true.",
    args_override_self = true,
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub sub: Option<Sub>,
    #[command(flatten)]
    pub step: Step,
    #[command(flatten)]
    pub log: Log,
}

/// baton's own diagnostics.
#[derive(Debug, Clone, Default, Args)]
pub struct Log {
    /// baton's own diagnostics on stderr: off, error, warn, info, debug, trace, or directives such as `baton::wait=debug,warn` [default: $BATON_LOG, else error]
    #[arg(long, value_name = "FILTER", value_parser = logging::parse_filter, help_heading = "Logging")]
    pub log_level: Option<Targets>,

    /// Format of baton's own diagnostics: text or JSON lines
    #[arg(
        long,
        value_name = "FORMAT",
        value_enum,
        default_value = "text",
        help_heading = "Logging"
    )]
    pub log_format: logging::Format,
}

/// The subcommands: the initContainers' work (copying the running binary, and
/// what Tekton's init containers ask of its entrypoint).
#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Copy this binary to DEST (a file path; a directory, or a path ending in /, means DEST/baton)
    #[command(override_usage = "baton install DEST")]
    Install {
        #[arg(value_name = "DEST")]
        dest: PathBuf,
    },
    /// Tekton spelling of install, mode 0311 (SRC is ignored: the running binary is copied)
    #[command(override_usage = "baton cp SRC DEST")]
    Cp {
        #[arg(value_name = "SRC")]
        src: OsString,
        #[arg(value_name = "DEST")]
        dest: PathBuf,
    },
    /// Tekton spelling of install, mode 0311 (SRC is ignored), then step-init STEP...
    #[command(override_usage = "baton init SRC DEST [STEP...]")]
    Init {
        #[arg(value_name = "SRC")]
        src: OsString,
        #[arg(value_name = "DEST")]
        dest: PathBuf,
        #[arg(value_name = "STEP", allow_hyphen_values = true)]
        steps: Vec<OsString>,
    },
    /// Tekton: make /tekton/steps/STEP and /tekton/steps/I links to /tekton/run/I/status
    #[command(override_usage = "baton step-init [STEP...]")]
    StepInit {
        #[arg(value_name = "STEP", allow_hyphen_values = true)]
        steps: Vec<OsString>,
    },
    /// Tekton's place-scripts: replace the base64 text in FILE with the script it encodes
    #[command(override_usage = "baton decode-script FILE")]
    DecodeScript {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// Why parsing stopped without a `Cli`.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// `--help` or `--version`: the text to print on stdout.
    Print(String),
    /// Bad input: the one-line message.
    Usage(String),
}

/// Parses the process arguments. Help and version are printed and exit 0; a
/// usage error is logged as one line, leaves the verdict `POST.err` when the
/// post file can be made out (so that the steps after a misconfigured step do
/// not wait forever), and exits 2.
pub fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    match try_parse(&args) {
        Ok(cli) => cli,
        Err(Stop::Print(text)) => {
            print!("{text}");
            std::process::exit(0)
        }
        Err(Stop::Usage(message)) => {
            // The log settings of the bad command line, as far as they can
            // be read: `--log-format json` gives JSON even for this line.
            let words = normal_words(&args);
            let found = |name| value_of(&words, name);
            let filter = found("log-level").and_then(|v| logging::parse_filter(&v).ok());
            let format = match found("log-format").as_deref() {
                Some("json") => logging::Format::Json,
                _ => logging::Format::Text,
            };
            logging::init(filter, format, logging::DEFAULT_LEVEL);
            if let Some(post) = found("post-file").filter(|p| !p.is_empty()) {
                if let Err(also) =
                    crate::marker::write_verdict(&PathBuf::from(post), crate::exit_code::USAGE)
                {
                    tracing::error!(target: "baton", "{also:#}");
                }
            }
            tracing::error!(target: "baton", "{message}");
            std::process::exit(crate::exit_code::USAGE.into())
        }
    }
}

/// Parses `args` (the program name first). A step's command line is first
/// read by a command built of only the groups of options it names (building
/// all of clap's arguments was most of what baton cost at start-up,
/// docs/performance.md); anything that command cannot read (help, a
/// subcommand, bad input) is read again by the whole command, whose answer,
/// suggestions and all, is the one given.
pub fn try_parse(args: &[OsString]) -> Result<Cli, Stop> {
    let words = args.get(1..).unwrap_or_default();
    let mut cli = match parse_named_groups(words) {
        Some(cli) => cli,
        None => parse_whole(words)?,
    };
    // Tekton's controller runs its entrypoint as /tekton/bin/entrypoint
    // (and its image's /ko-app/entrypoint): that name asks for its behaviour.
    let as_entrypoint = args
        .first()
        .and_then(|argv0| std::path::Path::new(argv0).file_name())
        .is_some_and(|name| name == "entrypoint");
    cli.step.tekton.mode.get_or_insert(if as_entrypoint {
        Mode::Tekton
    } else {
        Mode::Baton
    });
    if cli.step.tekton_mode() {
        // Tekton's entrypoint's defaults: its termination path, and the
        // downward-API file through which the controller cancels a step.
        let root = crate::tekton::root();
        let marking = &mut cli.step.marking;
        marking
            .termination_path
            .get_or_insert_with(|| root.join("termination"));
        let waiting = &mut cli.step.waiting;
        waiting
            .cancel_file
            .get_or_insert_with(|| root.join("downward/cancel"));
        let argv = &mut cli.step.argv;
        if argv.entrypoint.is_none() {
            if let Some(json) = std::env::var_os("TEKTON_PLATFORM_COMMANDS") {
                let command = crate::tekton::platform_command(
                    &json.to_string_lossy(),
                    crate::tekton::PLATFORM,
                )
                .map_err(Stop::Usage)?;
                let args = std::mem::take(&mut argv.command);
                argv.command = command
                    .into_iter()
                    .map(OsString::from)
                    .chain(args)
                    .collect();
            }
        }
    }
    if cli.sub.is_none() && cli.step.argv.entrypoint.is_none() && cli.step.argv.command.is_empty() {
        return Err(Stop::Usage(format!(
            "no command given: put it after `--` (or use --entrypoint); usage: {USAGE}"
        )));
    }
    Ok(cli)
}

/// Reads `words` with the whole command.
fn parse_whole(words: &[OsString]) -> Result<Cli, Stop> {
    let mut options = Options::whole();
    let words = normalize(&mut options, words);
    if let Some(message) = words.error {
        return Err(Stop::Usage(message));
    }
    let argv = std::iter::once(OsString::from("baton")).chain(words.words);
    let mut matches = options
        .command
        .try_get_matches_from_mut(argv)
        .map_err(|err| stop(&err, &words.renamed))?;
    let cli = Cli::from_arg_matches_mut(&mut matches).map_err(|err| stop(&err, &words.renamed))?;
    // baton exits soon: freeing them would be work for nothing.
    std::mem::forget(matches);
    std::mem::forget(options);
    Ok(cli)
}

/// Reads a step's `words` with a command of only the groups they name;
/// `None` when that is not enough (see `try_parse`).
fn parse_named_groups(words: &[OsString]) -> Option<Cli> {
    if !words.first()?.as_bytes().starts_with(b"-") {
        return None; // a subcommand, or a stray word
    }
    let mut options = Options::named();
    let words = normalize(&mut options, words);
    if words.error.is_some() {
        return None;
    }
    let argv = std::iter::once(OsString::from("baton")).chain(words.words);
    let mut m = options.command.try_get_matches_from_mut(argv).ok()?;
    let built = options.built;
    let cli = Cli {
        sub: None,
        step: Step {
            waiting: group(built[Group::Waiting as usize], &mut m)?,
            marking: group(built[Group::Marking as usize], &mut m)?,
            running: group(built[Group::Running as usize], &mut m)?,
            sidecar: group(built[Group::Sidecar as usize], &mut m)?,
            output: group(built[Group::Output as usize], &mut m)?,
            tekton: group(built[Group::Tekton as usize], &mut m)?,
            argv: group(true, &mut m)?,
        },
        log: group(built[Group::Log as usize], &mut m)?,
    };
    std::mem::forget(m);
    std::mem::forget(options);
    Some(cli)
}

/// The values of a group: read from `m` where it was `built`, else its defaults.
fn group<G: Default + FromArgMatches>(built: bool, m: &mut clap::ArgMatches) -> Option<G> {
    if built {
        G::from_arg_matches_mut(m).ok()
    } else {
        Some(G::default())
    }
}

/// A group of options, parsed apart (see `settings::Step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Waiting,
    Marking,
    Running,
    Sidecar,
    Output,
    Tekton,
    Log,
}

const GROUPS: usize = 7;

/// The group of the option with GNU name `name` (`entrypoint` is in the
/// command's group, always built). `every_option_is_in_its_group` checks
/// this against the groups' definitions.
fn group_of(name: &str) -> Option<Group> {
    Some(match name {
        "wait-file" | "wait-file-content" | "cancel-file" => Group::Waiting,
        "post-file" | "termination-path" | "step-metadata-dir" | "results" | "results-dir"
        | "rerun" => Group::Marking,
        "timeout" | "grace-period" | "success-exit-codes" | "no-kill-group" | "on-error"
        | "retries" | "retry-delay" | "env-file" | "exit-code-for" => Group::Running,
        "ready-file"
        | "ready-probe"
        | "ready-interval"
        | "ready-timeout"
        | "stop-file"
        | "stop-when-all"
        | "stop-keeps-exit-code" => Group::Sidecar,
        "stdout-path" | "stderr-path" => Group::Output,
        "mode"
        | "step-results"
        | "when-expressions"
        | "result-from"
        | "compress-termination-message"
        | "enable-spire"
        | "breakpoint-on-failure"
        | "debug-before-step"
        | "basic-git"
        | "ssh-git"
        | "basic-docker"
        | "docker-config"
        | "docker-cfg" => Group::Tekton,
        "log-level" | "log-format" => Group::Log,
        _ => return None,
    })
}

/// The options a command line is read with: the whole command, or one that
/// gets the group of each option named as the pre-pass comes to it.
struct Options {
    command: clap::Command,
    /// Which groups `command` has (all of them for the whole command; the
    /// command's own, `Argv`, is always there).
    built: [bool; GROUPS],
}

impl Options {
    fn whole() -> Self {
        Self {
            command: Cli::command(),
            built: [true; GROUPS],
        }
    }

    fn named() -> Self {
        let command = clap::Command::new("baton")
            .args_override_self(true)
            .disable_help_flag(true)
            .disable_version_flag(true);
        Self {
            command: Argv::augment_args(command),
            built: [false; GROUPS],
        }
    }

    /// The option with GNU name `name`, once its group is built.
    fn arg(&mut self, name: &str) -> Option<&clap::Arg> {
        if let Some(group) = group_of(name).filter(|g| !self.built[*g as usize]) {
            self.built[group as usize] = true;
            let command = std::mem::take(&mut self.command);
            self.command = match group {
                Group::Waiting => Waiting::augment_args(command),
                Group::Marking => Marking::augment_args(command),
                Group::Running => Running::augment_args(command),
                Group::Sidecar => Sidecar::augment_args(command),
                Group::Output => Output::augment_args(command),
                Group::Tekton => Tekton::augment_args(command),
                Group::Log => Log::augment_args(command),
            };
        }
        self.command
            .get_arguments()
            .find(|a| a.get_long() == Some(name))
    }

    fn is_subcommand(&self, word: &OsStr) -> bool {
        word.to_str()
            .is_some_and(|w| self.command.get_subcommands().any(|s| s.get_name() == w))
    }
}

/// A clap error as baton reports it: help and version as they are, anything
/// else on one line, with each option word spelt as it was given.
fn stop(err: &clap::Error, renamed: &[(String, String)]) -> Stop {
    let text = err.render().to_string();
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        return Stop::Print(text);
    }
    let mut line = text
        .lines()
        .map(str::trim)
        // clap's tip for a stray option word offers `-- WORD`, which would
        // make it part of the command: no help here.
        .filter(|l| !l.is_empty() && !l.starts_with("tip: to pass"))
        .collect::<Vec<_>>()
        .join("; ")
        .replace(":; ", ": ");
    if let Some(rest) = line.strip_prefix("error: ") {
        line = rest.to_owned();
    }
    for (word, given) in renamed {
        line = line.replace(&format!("'{word}'"), &format!("'{given}'"));
    }
    Stop::Usage(line)
}

/// The words of a command line in the form clap reads, and what was
/// respelt on the way (for messages).
#[derive(Debug, Default)]
struct Normalized {
    words: Vec<OsString>,
    /// (the word as clap sees it, the word as it was given)
    renamed: Vec<(String, String)>,
    error: Option<String>,
}

/// How an option takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    /// The next word, unless given inline.
    Value,
    /// The same, a comma-separated list.
    List,
    /// Only inline (`--rerun=false`): a boolean, or `--help`.
    Nothing,
}

/// How the option with GNU name `name` takes its value, if it exists.
fn takes(options: &mut Options, name: &str) -> Option<Takes> {
    if matches!(name, "help" | "version") {
        return Some(Takes::Nothing);
    }
    let arg = options.arg(name)?;
    let optional = arg.get_num_args().is_some_and(|n| n.min_values() == 0);
    Some(if !arg.get_action().takes_values() || optional {
        Takes::Nothing
    } else if arg.get_value_delimiter().is_some() {
        Takes::List
    } else {
        Takes::Value
    })
}

/// Turns every option word before `--` into `--name` or `--name=value`
/// (see the module comment). The words of a subcommand pass as they are.
fn normalize(options: &mut Options, words: &[OsString]) -> Normalized {
    let mut out = Normalized::default();
    if words.first().is_some_and(|w| options.is_subcommand(w)) {
        out.words = words.to_vec();
        return out;
    }
    let mut rest = words.iter();
    while let Some(word) = rest.next() {
        if word == "--" {
            out.words.push(word.clone());
            out.words.extend(rest.cloned());
            break;
        }
        let Some((name, inline, go)) = option_word(word) else {
            out.words.push(word.clone());
            continue;
        };
        let how = takes(options, &name);
        let value = match (how, inline) {
            (_, Some(value)) => Some(value.to_owned()),
            (Some(Takes::Value | Takes::List), None) => {
                match rest.next() {
                    Some(value) if value != "--" => Some(value.clone()),
                    next => {
                        out.error.get_or_insert_with(|| {
                        let value_name = options
                            .arg(&name)
                            .and_then(|a| a.get_value_names())
                            .and_then(|v| v.first())
                            .map_or_else(String::new, ToString::to_string);
                        format!("option --{name} needs a value: --{name} {value_name}; usage: {USAGE}")
                    });
                        if let Some(next) = next {
                            out.words.push(next.clone());
                            out.words.extend(rest.cloned());
                        }
                        break;
                    }
                }
            }
            (_, None) => None,
        };
        let value = match (how, value) {
            (Some(Takes::List), Some(value)) => match skip_empty_items(&value) {
                Some(items) => Some(items),
                None => continue,
            },
            (_, value) => value,
        };
        let mut normal = OsString::from(format!("--{name}"));
        if let Some(value) = value {
            normal.push("=");
            normal.push(value);
        }
        if go {
            let given = word.to_string_lossy().into_owned();
            let flag = given.split('=').next().unwrap_or_default().to_owned();
            out.renamed
                .push((normal.to_string_lossy().into_owned(), given));
            out.renamed.push((format!("--{name}"), flag));
        }
        out.words.push(normal);
    }
    out
}

/// An option word split into its GNU name, its inline value and whether it
/// was spelt Go style: `--post-file=x`, `-post_file=x` → (`post-file`,
/// `x`). `None` for a word that is no long option (a value, `-h`, `-5`).
fn option_word(word: &OsStr) -> Option<(String, Option<&OsStr>, bool)> {
    let bytes = word.as_bytes();
    let (body, go) = match bytes.strip_prefix(b"--") {
        Some(body) => (body, false),
        None => (bytes.strip_prefix(b"-")?, true),
    };
    let (name, value) = match body.iter().position(|&b| b == b'=') {
        Some(at) => (&body[..at], Some(OsStr::from_bytes(&body[at + 1..]))),
        None => (body, None),
    };
    let first = *name.first()?;
    if !first.is_ascii_alphabetic() || (go && name.len() < 2) {
        return None;
    }
    // Go's flag package reads `--name` as `-name`: Tekton's controller
    // writes `--when_expressions`.
    let go = go || name.contains(&b'_');
    let name = std::str::from_utf8(name).ok()?;
    Some((
        if go {
            name.replace('_', "-")
        } else {
            name.to_owned()
        },
        value,
        go,
    ))
}

/// A comma-separated list without its empty items (`a,,b,` → `a,b`), or
/// `None` when nothing is left.
fn skip_empty_items(value: &OsStr) -> Option<OsString> {
    let items: Vec<&[u8]> = value
        .as_bytes()
        .split(|&b| b == b',')
        .filter(|item| !item.is_empty())
        .collect();
    (!items.is_empty()).then(|| OsString::from_vec(items.join(&b',')))
}

/// The words of a command line that may be bad (the program name first),
/// as `normalize` reads them with the whole command, for `value_of`.
fn normal_words(args: &[OsString]) -> Vec<OsString> {
    normalize(&mut Options::whole(), args.get(1..).unwrap_or_default()).words
}

/// The value of option `name` (GNU name) among `normal_words`; the last one
/// counts. The value of another option is never taken for an option.
fn value_of(words: &[OsString], name: &str) -> Option<String> {
    let prefix = format!("--{name}=");
    words
        .iter()
        .take_while(|w| *w != "--")
        .filter_map(|w| w.to_str()?.strip_prefix(&prefix).map(str::to_owned))
        .last()
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
    use crate::settings::OnError;
    use std::path::Path;
    use std::time::Duration;
    use tracing_subscriber::filter::LevelFilter;

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
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    /// The index of groups agrees with the groups' definitions, and covers
    /// every option of the whole command.
    #[test]
    fn every_option_is_in_its_group() {
        let groups = [
            (
                Group::Waiting,
                Waiting::augment_args(clap::Command::new("t")),
            ),
            (
                Group::Marking,
                Marking::augment_args(clap::Command::new("t")),
            ),
            (
                Group::Running,
                Running::augment_args(clap::Command::new("t")),
            ),
            (
                Group::Sidecar,
                Sidecar::augment_args(clap::Command::new("t")),
            ),
            (Group::Output, Output::augment_args(clap::Command::new("t"))),
            (Group::Tekton, Tekton::augment_args(clap::Command::new("t"))),
            (Group::Log, Log::augment_args(clap::Command::new("t"))),
        ];
        for (group, command) in &groups {
            for long in command.get_arguments().filter_map(clap::Arg::get_long) {
                assert_eq!(group_of(long), Some(*group), "--{long}");
            }
        }
        for long in Cli::command()
            .get_arguments()
            .filter_map(clap::Arg::get_long)
        {
            assert!(
                group_of(long).is_some() || long == "entrypoint",
                "--{long} is in no group"
            );
        }
        let mut matches = Log::augment_args(clap::Command::new("t")).get_matches_from(["t"]);
        let log = Log::from_arg_matches_mut(&mut matches).unwrap();
        assert_eq!(format!("{log:?}"), format!("{:?}", Log::default()));
    }

    /// Reading only the groups named gives what the whole command gives.
    #[test]
    fn the_named_groups_read_as_the_whole_command_does() {
        for words in [
            &["--", "true"][..],
            &[
                "-wait_file",
                "a,,b",
                "-post_file=p",
                "-termination_path",
                "t",
                "-entrypoint",
                "sh",
                "--",
                "-c",
                "x",
            ],
            &[
                "--timeout=1m",
                "--on-error",
                "continue",
                "--rerun",
                "--",
                "x",
            ],
            &[
                "--ready-file",
                "r",
                "--ready-probe",
                "tcp:127.0.0.1:80",
                "--stop-file",
                "s",
                "--",
                "x",
            ],
            &[
                "--stdout-path",
                "o",
                "--log-level",
                "baton::wait=debug",
                "--log-format=json",
                "--",
                "x",
            ],
            &[
                "--entrypoint=-x",
                "--timeout",
                "1s",
                "-timeout",
                "2s",
                "--success-exit-codes",
                "1,,2",
            ],
        ] {
            let args = argv(words);
            let named = parse_named_groups(&args[1..]).unwrap_or_else(|| panic!("{words:?}"));
            let whole = parse_whole(&args[1..]).unwrap();
            assert_eq!(named.step, whole.step, "{words:?}");
            assert_eq!(
                format!("{:?}", named.log),
                format!("{:?}", whole.log),
                "{words:?}"
            );
        }
        for words in [
            &["install", "x"][..],
            &["--help"],
            &["--nope", "--", "x"],
            &["-h"],
        ] {
            assert!(parse_named_groups(&argv(words)[1..]).is_none(), "{words:?}");
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
            "--when_expressions",
            "[]",
            "-entrypoint",
            "sh",
            "--",
            "-c",
            "-post_file",
        ])
        .unwrap();
        assert_eq!(
            cli.step.waiting.wait_file,
            [Path::new("/a"), Path::new("/b")]
        );
        assert!(cli.step.waiting.wait_file_content);
        assert_eq!(cli.step.marking.post_file.as_deref(), Some(Path::new("/p")));
        assert_eq!(cli.step.running.timeout, Duration::from_secs(90));
        assert_eq!(cli.step.tekton.when_expressions.as_deref(), Some("[]"));
        assert_eq!(cli.step.argv(), ["sh", "-c", "-post_file"]);
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
        assert_eq!(cli.step.waiting.wait_file.len(), 3);
        assert!(!cli.step.marking.rerun);
        assert!(cli.step.running.no_kill_group);
        assert_eq!(cli.step.running.on_error, OnError::Continue);
        assert_eq!(cli.step.running.success_exit_codes, [143, 137]);
        assert_eq!(
            cli.log.log_level.and_then(|t| t.default_level()),
            Some(LevelFilter::DEBUG)
        );
        assert_eq!(
            cli.step.running.grace_period,
            Duration::from_secs(10),
            "default"
        );
    }

    #[test]
    fn a_repeated_option_keeps_its_last_value_and_a_boolean_no_word() {
        let cli = parse(&["--timeout=1s", "-timeout", "2s", "--rerun", "--", "x"]).unwrap();
        assert_eq!(cli.step.running.timeout, Duration::from_secs(2));
        assert!(cli.step.marking.rerun);
        assert!(usage(&["--rerun", "false", "--", "x"]).contains("false"));
    }

    #[test]
    fn an_option_value_may_look_like_an_option() {
        let cli = parse(&["--entrypoint", "-post_file", "--", "x"]).unwrap();
        assert_eq!(
            cli.step.argv.entrypoint.as_deref(),
            Some(OsStr::new("-post_file"))
        );
        assert!(cli.step.marking.post_file.is_none());
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
        assert!(usage(&["--log-level=loud", "--", "x"]).contains("loud"));
        for words in [
            &["--nope", "--", "true"][..],
            &["--timeout", "5x", "--", "true"],
        ] {
            assert!(!usage(words).contains('\n'), "one line: {words:?}");
        }
    }

    #[test]
    fn a_mistyped_option_gets_a_suggestion_in_its_own_spelling() {
        let message = usage(&["--wait-flie", "x", "--", "true"]);
        assert!(message.contains("'--wait-flie'"), "{message}");
        assert!(message.contains("'--wait-file'"), "{message}");
        let message = usage(&["-post_flie=x", "--", "true"]);
        assert!(message.contains("'-post_flie'"), "{message}");
        assert!(message.contains("'--post-file'"), "{message}");
    }

    #[test]
    fn the_mode_follows_the_name_unless_given() {
        let mode = |argv0: &str, words: &[&str]| {
            let args: Vec<OsString> = std::iter::once(argv0)
                .chain(words.iter().copied())
                .map(OsString::from)
                .collect();
            try_parse(&args).unwrap().step.tekton.mode
        };
        assert_eq!(
            mode("/tekton/bin/entrypoint", &["--", "x"]),
            Some(Mode::Tekton)
        );
        assert_eq!(mode("/ko-app/entrypoint", &["--", "x"]), Some(Mode::Tekton));
        assert_eq!(mode("/baton-bin/baton", &["--", "x"]), Some(Mode::Baton));
        assert_eq!(
            mode("entrypoint", &["-mode=baton", "--", "x"]),
            Some(Mode::Baton)
        );
        assert_eq!(
            mode("baton", &["--mode", "tekton", "--", "x"]),
            Some(Mode::Tekton)
        );
    }

    #[test]
    fn subcommands_come_first() {
        let cli = parse(&["init", "src", "/d", "step-a"]).unwrap();
        assert!(matches!(cli.sub, Some(Sub::Init { dest, .. }) if dest == Path::new("/d")));
        let cli = parse(&["--", "install", "x"]).unwrap();
        assert!(cli.sub.is_none());
        assert_eq!(cli.step.argv.command, ["install", "x"]);
    }

    #[test]
    fn help_lists_every_option_with_defaults_and_version_is_short() {
        let Err(Stop::Print(text)) = parse(&["--post-file", "p", "-h"]) else {
            panic!("no help")
        };
        for arg in Cli::command().get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(text.contains(&format!("--{long}")), "{long} missing");
            }
        }
        assert!(text.contains("[default: 10s]"), "{text}");
        assert!(matches!(parse(&["-version"]), Err(Stop::Print(v)) if v.starts_with("baton ")));
    }

    /// The README's option table keeps up with the parser.
    #[test]
    fn the_readme_documents_every_option() {
        let readme = include_str!("../README.md");
        for arg in Cli::command().get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            assert!(
                readme.contains(&format!("| `--{long}"))
                    || readme.contains(&format!(", `--{long}")),
                "--{long} is not in the README's option table"
            );
        }
    }

    #[test]
    fn post_file_is_found_on_a_bad_command_line() {
        let post = |words: &[&str]| value_of(&normal_words(&argv(words)), "post-file");
        assert_eq!(post(&["--nope", "-post_file", "p"]), Some("p".into()));
        assert_eq!(post(&["--post-file=q", "--timeout", "x"]), Some("q".into()));
        assert_eq!(post(&["--", "--post-file=q"]), None);
        assert_eq!(
            post(&["--entrypoint", "-post_file", "x", "--nope"]),
            None,
            "an option's value is no option"
        );
    }
}
