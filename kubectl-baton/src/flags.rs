//! The annotation `baton.dev/flags.<container>`: baton flags of a user's own
//! for one container (`--timeout=5m`, `--exit-code-for=Skipped=3`), which
//! render puts after its own. They are checked here, against baton's options
//! as `scripts/generate` lists them from its command line
//! (`generated/baton-options.txt`: the plugin links nothing of baton), so
//! that a typo fails the render, not the pod.
//!
//! The value is the flags as words: separated by white space, or a JSON
//! array of strings when a value holds a space (`["--ready-probe=exec:sh -c x"]`).
//! A flag that takes a value is `--name=value` or `--name value`; render
//! writes each as one word, `--name=value`.

/// baton's options: `NAME KIND` lines (`value`, `bool` or `flag`).
const OPTIONS: &str = include_str!("../generated/baton-options.txt");

/// The flags render sets itself, from the pod's shape: giving them by hand
/// would contradict the wiring. (`--ready-probe` on a sidecar replaces the
/// probe render reads from the container's probes; see `Flags::probe`.)
const OWNED: [&str; 9] = [
    "post-file",
    "termination-path",
    "ready-file",
    "stop-file",
    "stop-when-all",
    "mode",
    "entrypoint",
    "help",
    "version",
];

/// The flags of one container, each one word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub words: Vec<String>,
}

impl Flags {
    /// The `--ready-probe` given, if any (the last one).
    pub fn probe(&self) -> Option<&str> {
        self.words
            .iter()
            .rev()
            .find_map(|w| w.strip_prefix("--ready-probe="))
    }

    /// Whether `--wait-file-content` is given (and not `=false`).
    pub fn content(&self) -> bool {
        self.words
            .iter()
            .rev()
            .find_map(|w| match w.as_str() {
                "--wait-file-content" => Some(true),
                w => w.strip_prefix("--wait-file-content=").and_then(boolean),
            })
            .unwrap_or(false)
    }
}

/// A boolean's value as baton reads it (Go's `strconv.ParseBool`, baton's
/// `settings::go_bool`; tests/agree.rs checks that both agree).
pub fn boolean(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// What kind of value an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Value,
    Bool,
    Flag,
}

/// baton's options: (name, kind).
fn options() -> impl Iterator<Item = (&'static str, &'static str)> {
    OPTIONS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
}

fn kind(name: &str) -> Option<Kind> {
    options()
        .find(|(n, _)| *n == name)
        .map(|(_, kind)| match kind {
            "bool" => Kind::Bool,
            "flag" => Kind::Flag,
            _ => Kind::Value,
        })
}

/// The option closest to `name` (for "did you mean"): within two edits of
/// it, or one it starts with or that starts with it.
fn suggest(name: &str) -> Option<&'static str> {
    options()
        .map(|(n, _)| (distance(name, n), n))
        .filter(|(d, n)| *d <= 2 || n.starts_with(name) || name.starts_with(n))
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein's distance between `a` and `b`.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Reads the value `text` of the annotation `key` (named in the messages).
pub fn parse(key: &str, text: &str) -> Result<Flags, String> {
    let words: Vec<String> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text)
            .map_err(|err| format!("{key}: {text:?} is not a JSON array of strings: {err}"))?
    } else {
        text.split_whitespace().map(str::to_owned).collect()
    };
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let Some(flag) = word.strip_prefix("--").filter(|f| !f.is_empty()) else {
            return Err(format!(
                "{key}: {word:?} is no flag (each word is --name or --name=value; the command is the container's own)"
            ));
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (flag, None),
        };
        let name = name.replace('_', "-");
        if OWNED.contains(&name.as_str()) {
            return Err(format!(
                "{key}: --{name} is set by render itself, from the pod's shape (docs/kubernetes.md, \"Flags of your own\")"
            ));
        }
        let Some(kind) = kind(&name) else {
            let hint = suggest(&name).map_or(String::new(), |s| format!(" (did you mean --{s}?)"));
            return Err(format!("{key}: --{name} is no option of baton{hint}"));
        };
        let word = match (kind, value) {
            (Kind::Flag, Some(_)) => {
                return Err(format!("{key}: --{name} takes no value"));
            }
            (Kind::Flag | Kind::Bool, None) => format!("--{name}"),
            (Kind::Bool, Some(v)) if boolean(&v).is_none() => {
                return Err(format!(
                    "{key}: --{name}={v}: not true or false (--{name}, or --{name}=true|false)"
                ));
            }
            (Kind::Bool | Kind::Value, Some(v)) => format!("--{name}={v}"),
            (Kind::Value, None) => {
                let v = words
                    .next()
                    .filter(|v| !v.starts_with("--"))
                    .ok_or_else(|| format!("{key}: --{name} needs a value (--{name}=VALUE)"))?;
                format!("--{name}={v}")
            }
        };
        out.push(word);
    }
    Ok(Flags { words: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "baton.dev/flags.app";

    fn words(text: &str) -> Vec<String> {
        parse(KEY, text).unwrap().words
    }

    #[test]
    fn flags_are_written_one_word_each() {
        assert_eq!(
            words(" --timeout 5m\n--exit-code-for=Skipped=3  --no-kill-group --wait-file-content=false "),
            [
                "--timeout=5m",
                "--exit-code-for=Skipped=3",
                "--no-kill-group",
                "--wait-file-content=false"
            ]
        );
        assert_eq!(
            words(r#"["--ready-probe=exec:test -f /ready", "--grace-period", "5s"]"#),
            ["--ready-probe=exec:test -f /ready", "--grace-period=5s"]
        );
        assert_eq!(
            parse(KEY, "--ready-probe=tcp:127.0.0.1:80")
                .unwrap()
                .probe(),
            Some("tcp:127.0.0.1:80")
        );
        assert!(words("").is_empty());
    }

    #[test]
    fn a_wrong_flag_is_one_line_naming_it() {
        let err = |text: &str| parse(KEY, text).unwrap_err();
        assert_eq!(
            err("--timout=5m"),
            "baton.dev/flags.app: --timout is no option of baton (did you mean --timeout?)"
        );
        assert_eq!(
            err("--frobnicate"),
            "baton.dev/flags.app: --frobnicate is no option of baton"
        );
        assert_eq!(
            err("--time=5m"),
            "baton.dev/flags.app: --time is no option of baton (did you mean --timeout?)"
        );
        assert!(err("--post-file=/x").contains("--post-file is set by render itself"));
        assert!(err("--termination_path=/x").contains("--termination-path is set by render"));
        assert_eq!(
            err("--timeout"),
            "baton.dev/flags.app: --timeout needs a value (--timeout=VALUE)"
        );
        assert_eq!(err("--help=1"), "baton.dev/flags.app: --help is set by render itself, from the pod's shape (docs/kubernetes.md, \"Flags of your own\")");
        assert!(err("sh -c").contains("\"sh\" is no flag"));
        assert_eq!(
            err("--no-kill-group=yes"),
            "baton.dev/flags.app: --no-kill-group=yes: not true or false (--no-kill-group, or --no-kill-group=true|false)"
        );
        assert!(err("[\"--timeout\", 5]").contains("is not a JSON array of strings"));
    }
}
