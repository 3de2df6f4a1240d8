//! Reading what render is given: files, a directory's `*.yaml`, `*.yml` and
//! `*.json` (one level deep, in name order), or stdin; each read as YAML or
//! JSON, one or many documents.
//!
//! YAML is read as `kubectl` reads it (sigs.k8s.io/yaml, YAML 1.1 scalars):
//! `yes`/`no`/`on`/`off` are booleans and `0644` is octal. A stream is cut
//! into its documents at the `---` lines before it is parsed, so that an
//! error names the document it is in (and a line of the file: each document
//! is parsed with the lines before it left blank). JSON is a stream of values
//! (`{…}{…}`); a file whose name ends in `.json`, or whose text begins with
//! `{` or `[` and reads as JSON, is read as JSON.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::value::Value;

/// Where documents came from: a file's path as given, or stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source(pub String);

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One document of a source; `number` counts from 1 in the source.
#[derive(Debug, Clone)]
pub struct Document {
    pub source: Source,
    pub number: usize,
    pub value: Value,
}

/// Why input could not be read: one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of stdin in reports.
pub const STDIN: &str = "stdin";

/// The files `-f` names, in order: a directory gives its `*.yaml`, `*.yml`
/// and `*.json` files (not those of its subdirectories), sorted by name;
/// `-` is stdin; no `-f` at all is stdin.
pub fn expand(args: &[PathBuf]) -> Result<Vec<Option<PathBuf>>, InputError> {
    if args.is_empty() {
        return Ok(vec![None]);
    }
    let mut out = Vec::new();
    for arg in args {
        if arg.as_os_str() == "-" {
            out.push(None);
            continue;
        }
        let failed = |err: std::io::Error| InputError(format!("{}: {err}", arg.display()));
        if !std::fs::metadata(arg).map_err(failed)?.is_dir() {
            out.push(Some(arg.clone()));
            continue;
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(arg).map_err(failed)? {
            let entry = entry.map_err(failed)?;
            let path = entry.path();
            let wanted = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
            if wanted && path.is_file() {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(InputError(format!(
                "{}: the directory holds no *.yaml, *.yml or *.json file",
                arg.display()
            )));
        }
        files.sort();
        out.extend(files.into_iter().map(Some));
    }
    Ok(out)
}

/// Reads one file (or stdin, for `None`) into its documents.
pub fn read(path: Option<&Path>) -> Result<Vec<Document>, InputError> {
    let (source, text) = if let Some(path) = path {
        let source = Source(path.display().to_string());
        let text =
            std::fs::read_to_string(path).map_err(|err| InputError(format!("{source}: {err}")))?;
        (source, text)
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|err| InputError(format!("{STDIN}: {err}")))?;
        (Source(STDIN.to_owned()), text)
    };
    let json = path
        .and_then(Path::extension)
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    parse(&source, &text, json)
}

/// Parses `text` into its documents; as JSON when `json`, else as JSON if
/// it looks like and reads as JSON, else as YAML.
pub fn parse(source: &Source, text: &str, json: bool) -> Result<Vec<Document>, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let looks_json = matches!(text.trim_start().chars().next(), Some('{' | '['));
    if json {
        return parse_json(source, text);
    }
    if looks_json {
        // JSON, or YAML in flow style; if neither, it was meant as JSON.
        return parse_json(source, text).or_else(|json| parse_yaml(source, text).map_err(|_| json));
    }
    parse_yaml(source, text)
}

fn parse_json(source: &Source, text: &str) -> Result<Vec<Document>, InputError> {
    let mut docs = Vec::new();
    for value in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let number = docs.len() + 1;
        let value = value.map_err(|err| {
            InputError(format!(
                "{source}: document {number}: not valid JSON: {err}"
            ))
        })?;
        docs.push(Document {
            source: source.clone(),
            number,
            value,
        });
    }
    Ok(docs)
}

/// The documents of a YAML stream: the text between `---` lines (a first
/// part holding only comments and blank lines is no document).
fn parse_yaml(source: &Source, text: &str) -> Result<Vec<Document>, InputError> {
    let mut parts: Vec<(usize, String)> = Vec::new(); // (first line, text)
    let mut current = String::new();
    let mut start = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let separator = line
            .strip_prefix("---")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\n', '\r']));
        if separator && index > 0 {
            parts.push((start, std::mem::take(&mut current)));
            start = index;
        }
        current.push_str(line);
    }
    parts.push((start, current));
    if parts.len() > 1 && is_blank(&parts[0].1) {
        parts.remove(0);
    }
    let options = serde_saphyr::options! {
        legacy_octal_numbers: true,
        with_snippet: false,
    };
    let mut docs = Vec::new();
    for (index, (first_line, part)) in parts.into_iter().enumerate() {
        let number = index + 1;
        if is_blank(&part) {
            continue;
        }
        // Blank lines first, so that the parser's line numbers are the file's.
        let padded = "\n".repeat(first_line) + &part;
        let value: Value =
            serde_saphyr::from_str_with_options(&padded, options.clone()).map_err(|err| {
                let message = one_line(&err.to_string());
                InputError(format!(
                    "{source}: document {number}: not valid YAML: {message}"
                ))
            })?;
        if value == Value::Null {
            continue;
        }
        docs.push(Document {
            source: source.clone(),
            number,
            value,
        });
    }
    Ok(docs)
}

/// Nothing but blank lines, comments, `---` and `...`.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    })
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::{parse, Source};

    fn numbers(text: &str) -> Vec<usize> {
        parse(&Source("t".into()), text, false)
            .unwrap()
            .iter()
            .map(|d| d.number)
            .collect()
    }

    #[test]
    fn documents_are_numbered_as_written() {
        assert_eq!(numbers("a: 1\n"), [1]);
        assert_eq!(numbers("# c\n---\na: 1\n---\nb: 2\n"), [1, 2]);
        assert_eq!(numbers("a: 1\n---\n---\nb: 2\n--- \n"), [1, 3]);
        assert_eq!(numbers("--- {a: 1}\n--- |\n  text\n"), [1, 2]);
        assert_eq!(numbers("{\"a\": 1}\n{\"b\": 2}"), [1, 2]);
    }

    #[test]
    fn a_malformed_document_is_named_with_its_line() {
        let err = parse(&Source("f.yaml".into()), "a: 1\n---\nb: 2\nc: [\n", false).unwrap_err();
        assert!(
            err.0.starts_with("f.yaml: document 2: not valid YAML: "),
            "{err}"
        );
        assert!(err.0.contains("line"), "{err}");
        assert!(!err.0.contains('\n'), "{err}");
        let err = parse(&Source("f.json".into()), "{}\n{\"a\": }", true).unwrap_err();
        assert!(
            err.0.starts_with("f.json: document 2: not valid JSON: "),
            "{err}"
        );
        let err = parse(&Source("-".into()), "{}\n{\"a\": }", false).unwrap_err();
        assert!(
            err.0.starts_with("-: document 2: not valid JSON: "),
            "{err}"
        );
        let docs = parse(&Source("-".into()), "{a: 1, b: [x]}\n", false).unwrap();
        assert_eq!(
            serde_json::to_string(&docs[0].value).unwrap(),
            r#"{"a":1,"b":["x"]}"#
        );
    }

    #[test]
    fn yaml_scalars_are_read_as_kubectl_reads_them() {
        let docs = parse(&Source("t".into()), "m: 0644\nb: yes\ns: '0644'\n", false).unwrap();
        let text = serde_json::to_string(&docs[0].value).unwrap();
        assert_eq!(text, r#"{"m":420,"b":true,"s":"0644"}"#);
    }
}
