//! The files generated from baton's command line, so that the man pages and
//! the shell completions kept in the repository cannot drift from what
//! `baton --help` says: everything here is rendered from
//! `baton::cli::Cli::command()` alone, whatever structs the options live in.
//!
//! - Man pages, `clap_mangen`'s usual layout of one page per command:
//!   `docs/man/baton.1` for baton itself (its SUBCOMMANDS section names the
//!   others) and `docs/man/baton-install.1`, `baton-cp.1`, `baton-init.1` for
//!   the subcommands.
//! - Completions: `completions/baton.bash`, `completions/_baton` (zsh) and
//!   `completions/baton.fish`.
//!
//! - `kubectl-baton/generated/baton-options.txt`: baton's long options, each
//!   with whether it takes a value, which `kubectl baton render` checks the
//!   flags of its `baton.dev/flags.<container>` annotation against (the
//!   plugin links nothing of baton).
//!
//! The output is deterministic: the pages carry no date (`clap_mangen` leaves
//! it empty unless told), and nothing depends on where the repository is.
//! `docs/man/`, `completions/` and `kubectl-baton/generated/` hold nothing else: a file there that is no
//! longer generated is stale too, and `generate` removes it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap::{Command, CommandFactory};
use clap_complete::{Generator, Shell};
use clap_mangen::Man;

/// The directories, relative to the repository root, whose every file is
/// generated here.
pub const DIRS: [&str; 3] = ["docs/man", "completions", "kubectl-baton/generated"];

/// The shells completions are generated for.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative to the repository root, with `/` separators.
    pub path: String,
    pub contents: Vec<u8>,
}

/// The root of the repository: the parent of this crate's directory.
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .expect("xtask/ lies in the repository root")
        .to_path_buf()
}

/// baton's command line, with the package's version alone: what `--version`
/// prints holds the commit too (build.rs), and a page written at one commit
/// must not be stale at the next.
fn baton_command() -> Command {
    baton::cli::Cli::command().version(env!("CARGO_PKG_VERSION"))
}

/// Renders every generated file in memory: the man pages first (baton's,
/// then one per subcommand), then the completions, then the list of options.
pub fn render() -> Vec<File> {
    let mut files = Vec::new();
    let mut command = baton_command();
    // Gives the subcommands their display names (`baton-install`), which
    // clap_mangen takes for their pages' titles and file names.
    command.build();
    // Every page's footer names baton and its version, as the top page's
    // does by default (a subcommand has no version of its own).
    let source = format!(
        "{} {}",
        command.get_name(),
        command.get_version().unwrap_or_default()
    );
    man_pages(&command, &source, &mut files);
    for shell in SHELLS {
        let mut command = baton_command();
        let name = command.get_name().to_owned();
        let mut contents = Vec::new();
        clap_complete::generate(shell, &mut command, &name, &mut contents);
        files.push(File {
            path: format!("completions/{}", shell.file_name(&name)),
            contents,
        });
    }
    files.push(File {
        path: OPTIONS.to_owned(),
        contents: options(&command).into_bytes(),
    });
    files
}

/// Where baton's options are listed for kubectl-baton.
pub const OPTIONS: &str = "kubectl-baton/generated/baton-options.txt";

/// baton's long options and their aliases, one a line: the name, then
/// `value` (it must have one), `bool` (`--name`, or `--name=true|false`) or
/// `flag` (it takes none), sorted. `command` is built.
fn options(command: &Command) -> String {
    let mut lines = Vec::new();
    for arg in command.get_arguments().filter(|a| !a.is_positional()) {
        let kind = match arg.get_num_args() {
            _ if !arg.get_action().takes_values() => "flag",
            Some(range) if range.min_values() == 0 => "bool",
            _ => "value",
        };
        let names = arg
            .get_long()
            .into_iter()
            .chain(arg.get_all_aliases().into_iter().flatten());
        lines.extend(names.map(|name| format!("{name} {kind}")));
    }
    lines.sort();
    lines.dedup();
    let mut text = String::from(
        "# baton's long options (scripts/generate writes this file from its command line):\n\
         # NAME, then `value` (it needs one), `bool` (--NAME or --NAME=true|false) or `flag` (none).\n",
    );
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// The page of `command` and those of its subcommands, recursively, as
/// `clap_mangen::generate_to` lays them out, but into `files`.
fn man_pages(command: &Command, source: &str, files: &mut Vec<File>) {
    let man = Man::new(command.clone()).source(source);
    let mut contents = Vec::new();
    man.render(&mut contents)
        .expect("rendering into memory cannot fail");
    files.push(File {
        path: format!("docs/man/{}", man.get_filename()),
        contents,
    });
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, source, files);
    }
}

/// How the files under `root` differ from `render()`: one line for each
/// file that is stale, missing or no longer generated, each saying what to
/// run. Empty when everything is up to date.
pub fn stale(root: &Path) -> io::Result<Vec<String>> {
    let files = render();
    let mut problems = Vec::new();
    for file in &files {
        let problem = match fs::read(root.join(&file.path)) {
            Ok(on_disk) if on_disk == file.contents => continue,
            Ok(_) => "is stale",
            Err(err) if err.kind() == io::ErrorKind::NotFound => "is missing",
            Err(err) => return Err(io::Error::new(err.kind(), format!("{}: {err}", file.path))),
        };
        problems.push(format!("{} {problem}: run scripts/generate", file.path));
    }
    for path in extra(root, &files)? {
        problems.push(format!(
            "{path} is no longer generated: run scripts/generate (it removes the file)"
        ));
    }
    Ok(problems)
}

/// Writes `render()` under `root` and removes what is no longer generated.
/// Returns what changed, one line each ("wrote PATH", "removed PATH").
pub fn generate(root: &Path) -> io::Result<Vec<String>> {
    let files = render();
    let mut changed = Vec::new();
    for file in &files {
        let path = root.join(&file.path);
        if fs::read(&path).is_ok_and(|on_disk| on_disk == file.contents) {
            continue;
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&path, &file.contents)
            .map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", file.path)))?;
        changed.push(format!("wrote {}", file.path));
    }
    for path in extra(root, &files)? {
        fs::remove_file(root.join(&path))
            .map_err(|err| io::Error::new(err.kind(), format!("{path}: {err}")))?;
        changed.push(format!("removed {path}"));
    }
    Ok(changed)
}

/// The files in `DIRS` under `root` that are not among `files`, sorted.
fn extra(root: &Path, files: &[File]) -> io::Result<Vec<String>> {
    let mut extra = Vec::new();
    for dir in DIRS {
        let entries = match fs::read_dir(root.join(dir)) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(io::Error::new(err.kind(), format!("{dir}: {err}"))),
        };
        for entry in entries {
            let path = format!("{dir}/{}", entry?.file_name().to_string_lossy());
            if !files.iter().any(|f| f.path == path) {
                extra.push(path);
            }
        }
    }
    extra.sort();
    Ok(extra)
}
