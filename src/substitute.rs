//! Step results, substituted as Tekton's entrypoint does before it runs the
//! command (Tekton mode only): `$(steps.NAME.results.RESULT)` in the command's
//! words, in the environment it gets and in the when expressions is replaced
//! by the result that step `NAME` wrote, the file
//! `ROOT/steps/step-NAME/results/RESULT` (ROOT: `tekton::root()`), a JSON
//! `ResultValue`: a string, an array of strings or an object of strings.
//!
//! The facts are tektoncd/pipeline's `pkg/entrypoint/entrypointer.go`
//! (`findReplacement`, `replaceEnv`, `replaceCommandAndArgs`, `replaceWhen`),
//! `pkg/internal/resultref` (the reference's pattern and its forms) and
//! `ParamValue.UnmarshalJSON` (`pkg/apis/pipeline/v1/param_types.go`):
//!
//! - `$(steps.s.results.r)`: a string result;
//! - `$(steps.s.results.r[2])`: an element of an array result;
//! - `$(steps.s.results.r[*])`: the whole array, as several command words or
//!   when values, and only as a word or value of its own;
//! - `$(steps.s.results.r.key)`: a member of an object result.
//!
//! A form that does not fit its result gives the empty string, as Tekton's
//! zero values do (a missing object key, a string reference to an array).
//! A reference that cannot be resolved (a missing file, a form that is none
//! of these, an index past the array's end) is an error of its part, which
//! the caller logs and leaves as it was (`or_log`), as Tekton logs and goes
//! on.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::child;
use crate::settings::{Argv, Step};

/// Variables added to the command's environment.
pub type Env = Vec<(OsString, OsString)>;

/// What the pattern begins with: `\$\(steps\.`.
const OPEN: &[u8] = b"$(steps.";
/// What it must hold after that: `\.results\.`.
const RESULTS: &[u8] = b".results.";

/// The references in `text`, as Tekton's `StepResultRegex`
/// (`\$\(steps\..*?\.results\..*?\)`) finds them: from the left, each as
/// short as it can be, none across a line break, none overlapping.
pub fn references(text: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = find(&text[at..], OPEN).map(|i| at + i) {
        let body = start + OPEN.len();
        let line = text[body..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| body + i);
        let end = find(&text[body..line], RESULTS).and_then(|i| {
            let after = body + i + RESULTS.len();
            text[after..line]
                .iter()
                .position(|&b| b == b')')
                .map(|j| after + j + 1)
        });
        match end {
            Some(end) => {
                found.push(&text[start..end]);
                at = end;
            }
            None => at = start + 1,
        }
    }
    found
}

/// Where `needle` first occurs: a scan for its first byte (memchr's, SIMD:
/// the environment is scanned at every Tekton step), then a comparison.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut at = 0;
    while let Some(i) = memchr::memchr(first, haystack.get(at..)?) {
        let i = at + i;
        if haystack[i + 1..].starts_with(rest) {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

/// What a reference asks for (Tekton's `resultref.ParsedResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub step: String,
    pub result: String,
    pub form: Form,
}

/// Which form of a reference: what of the result it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// `R`: a string result.
    String,
    /// `R[I]`: an element of an array result.
    Element(usize),
    /// `R[*]`: all of an array result.
    Array,
    /// `R.KEY`: a member of an object result.
    Member(String),
}

/// Reads a reference found by `references` as `resultref.ParseStepExpression`
/// does: `steps.NAME.results.RESULT`, optionally `[N]`, `[*]` or `.KEY`.
pub fn parse(reference: &str) -> Result<Reference> {
    let inner = reference.strip_prefix("$(").unwrap_or(reference);
    let inner = inner.strip_suffix(')').unwrap_or(inner);
    let parts: Vec<&str> = inner.split('.').collect();
    let (step, result, form) = match parts[..] {
        ["steps", step, "results", name] => {
            let (result, index) = result_name(name);
            let form = match index {
                None => Form::String,
                Some("*") => Form::Array,
                // Go's Atoi fails on `1*` and gives 0.
                Some(index) if index.ends_with('*') => Form::Element(0),
                Some(index) => Form::Element(index.parse().unwrap_or(usize::MAX)),
            };
            (step, result, form)
        }
        ["steps", step, "results", result, key] => {
            (step, result.to_owned(), Form::Member(key.to_owned()))
        }
        _ => bail!(
            "{reference}: a step result is $(steps.<stepName>.results.<resultName>) or $(steps.<stepName>.results.<objectResultName>.<key>)"
        ),
    };
    Ok(Reference {
        step: step.to_owned(),
        result,
        form,
    })
}

/// A result's name without its indexing (`\[([0-9])*\*?\]`, every match
/// removed), and what the first such indexing holds (`None` without one, or
/// for an empty `[]`).
fn result_name(name: &str) -> (String, Option<&str>) {
    let bytes = name.as_bytes();
    let mut rest = String::new();
    let mut first = None;
    let mut kept = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'[' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if bytes.get(j) == Some(&b'*') {
                j += 1;
            }
            if bytes.get(j) == Some(&b']') {
                rest.push_str(&name[kept..i]);
                first.get_or_insert(&name[i + 1..j]);
                kept = j + 1;
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    rest.push_str(&name[kept..]);
    (rest, first.filter(|index| !index.is_empty()))
}

/// A result's value, as `ParamValue.UnmarshalJSON` reads the file: an array
/// or an object of strings when it is one, else a JSON string, else the text
/// as it is. `null` is the empty string, in an array or object too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    String(String),
    Array(Vec<String>),
    Object(serde_json::Map<String, serde_json::Value>),
}

impl Value {
    pub fn parse(bytes: &[u8]) -> Self {
        use serde_json::Value as Json;
        let text = |json: Json| match json {
            Json::String(s) => Some(s),
            Json::Null => Some(String::new()),
            _ => None,
        };
        let Some(&first) = bytes.first() else {
            return Self::String(String::new());
        };
        match serde_json::from_slice(bytes) {
            Ok(Json::Array(items)) if first == b'[' => {
                if let Some(items) = items.into_iter().map(text).collect() {
                    return Self::Array(items);
                }
            }
            Ok(Json::Object(members)) if first == b'{' => {
                if members.values().all(|v| v.is_string() || v.is_null()) {
                    return Self::Object(members);
                }
            }
            Ok(json) => {
                if let Some(s) = text(json) {
                    return Self::String(s);
                }
            }
            Err(_) => {}
        }
        Self::String(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// What a reference is replaced by: a string, or the words of a whole array.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Replacement {
    String(String),
    Words(Vec<String>),
}

/// Tekton's `findReplacement`: the reference's value, read from `steps`.
fn replacement(reference: &[u8], steps: &Path) -> Result<Replacement> {
    let text = String::from_utf8_lossy(reference);
    let Reference { step, result, form } = parse(&text)?;
    let path = steps
        .join(format!("step-{step}"))
        .join("results")
        .join(&result);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("{text}: reading the result {}", path.display()))?;
    let value = Value::parse(&bytes);
    Ok(match (form, value) {
        (Form::String, Value::String(s)) => Replacement::String(s),
        (Form::Element(i), Value::Array(items)) => match items.get(i) {
            Some(item) => Replacement::String(item.clone()),
            None => bail!(
                "{text}: the result {} has {} elements",
                path.display(),
                items.len()
            ),
        },
        // An empty array replaces as the empty string (Tekton's test is
        // `len(replaceWithArray) > 0`).
        (Form::Array, Value::Array(items)) if !items.is_empty() => Replacement::Words(items),
        (Form::Member(key), Value::Object(members)) => Replacement::String(
            members
                .get(&key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
        // The zero value of what the form reads.
        _ => Replacement::String(String::new()),
    })
}

/// Every occurrence of `from` in `text` replaced by `to` (Go's `ReplaceAll`).
fn replace_all(text: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = find(rest, from) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(to);
        rest = &rest[i + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// `text` with every string reference replaced; a whole array is an error
/// where `words` is false, and gives the words where it is (only as all of
/// `text`).
fn in_text(text: &[u8], steps: &Path, words: bool) -> Result<Vec<Vec<u8>>> {
    let mut out = text.to_vec();
    for reference in references(text) {
        match replacement(reference, steps)? {
            Replacement::String(s) => out = replace_all(&out, reference, s.as_bytes()),
            // As `replaceEnv` and the input and CEL of `replaceWhen` take
            // `findReplacement`'s string only, which is then empty.
            Replacement::Words(_) if !words => out = replace_all(&out, reference, b""),
            Replacement::Words(items) if reference == text => {
                return Ok(items.into_iter().map(String::into_bytes).collect());
            }
            Replacement::Words(_) => bail!(
                "{}: a whole array result must be a word of its own, $(steps.<stepName>.results.<resultName>[*])",
                String::from_utf8_lossy(reference)
            ),
        }
    }
    Ok(vec![out])
}

/// A string with step results substituted, as the input and CEL of a when
/// expression are (a whole array result is the empty string there).
pub fn in_string(text: &str, steps: &Path) -> Result<String> {
    let mut words = in_text(text.as_bytes(), steps, false)?;
    Ok(String::from_utf8_lossy(&words.remove(0)).into_owned())
}

/// The command's words with step results substituted; a whole array result
/// becomes as many words.
pub fn in_argv(argv: &[OsString], steps: &Path) -> Result<Vec<OsString>> {
    let mut out = Vec::with_capacity(argv.len());
    for word in argv {
        let words = in_text(word.as_bytes(), steps, true)
            .with_context(|| format!("in the command word {}", word.to_string_lossy()))?;
        out.extend(words.into_iter().map(OsString::from_vec));
    }
    Ok(out)
}

/// The variables to add to the command's environment: baton's own that hold
/// a reference, substituted, then `added` (the env files') substituted.
pub fn in_env(added: &Env, steps: &Path) -> Result<Env> {
    let mut out = Vec::new();
    for (name, value) in own_with_references().chain(added.iter().cloned()) {
        let mut words = in_text(value.as_bytes(), steps, false)
            .with_context(|| format!("in the variable {}", name.to_string_lossy()))?;
        out.push((name, OsString::from_vec(words.remove(0))));
    }
    Ok(out)
}

/// baton's own variables whose values hold a reference.
fn own_with_references() -> impl Iterator<Item = (OsString, OsString)> {
    child::own_environment()
        .filter(|var| find(var, OPEN).is_some())
        .filter_map(|var| {
            let (name, value) = var.split_at(memchr::memchr(b'=', var)?);
            let value = &value[1..];
            (!references(value).is_empty()).then(|| {
                (
                    OsString::from_vec(name.to_vec()),
                    OsString::from_vec(value.to_vec()),
                )
            })
        })
}

/// Strings with step results substituted, as the values of a when
/// expression are: a whole array result becomes as many strings.
pub fn in_list(items: &[String], steps: &Path) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let words = in_text(item.as_bytes(), steps, true)?;
        out.extend(
            words
                .into_iter()
                .map(|w| String::from_utf8_lossy(&w).into_owned()),
        );
    }
    Ok(out)
}

/// The step with its command substituted, if that changes it (boxed: it is
/// large, and the async runtime's future would hold it); an error is logged
/// and the command left as it was.
pub fn in_step(step: &Step, steps: &Path) -> Option<Box<Step>> {
    let Argv {
        entrypoint,
        command,
    } = &step.argv;
    let mut words = entrypoint.iter().chain(command);
    if words.all(|word| find(word.as_bytes(), OPEN).is_none()) {
        return None;
    }
    let argv = step.argv();
    let command = or_log("the command", in_argv(&argv, steps).map(Some), None)?;
    (command != argv).then(|| {
        let mut step = Box::new(step.clone());
        step.argv = Argv {
            entrypoint: None,
            command,
        };
        step
    })
}

/// A part substituted, or, after an error (logged, as Tekton logs it and
/// goes on), the part as it was.
pub fn or_log<T>(part: &str, substituted: Result<T>, unchanged: T) -> T {
    substituted.unwrap_or_else(|err| {
        tracing::error!("substituting step results in {part}: {err:#}; left as it was");
        unchanged
    })
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::fs;

    fn found(text: &str) -> Vec<&str> {
        references(text.as_bytes())
            .into_iter()
            .map(|r| std::str::from_utf8(r).unwrap())
            .collect()
    }

    #[test]
    fn the_pattern_as_tekton_s_regex_finds_it() {
        assert_eq!(found("a $(steps.s.results.r) b"), ["$(steps.s.results.r)"]);
        assert_eq!(
            found("$(steps.s.results.r)$(steps.t.results.u[*])"),
            ["$(steps.s.results.r)", "$(steps.t.results.u[*])"]
        );
        assert_eq!(
            found("$(steps.s.results.o.k) $(steps.s.results.a[1])"),
            ["$(steps.s.results.o.k)", "$(steps.s.results.a[1])"]
        );
        // Lazy: the first `.results.` after the start, the first `)` after it.
        assert_eq!(
            found("$(steps.a).x $(steps.b.results.c))"),
            ["$(steps.a).x $(steps.b.results.c)"]
        );
        // Nothing across a line break; the next start is tried.
        assert_eq!(
            found("$(steps.a\n.results.b) $(steps.c.results.d)"),
            ["$(steps.c.results.d)"]
        );
        assert_eq!(found("$(steps.a.results.b\n)"), Vec::<&str>::new());
        assert_eq!(found("$(steps.results.x)"), Vec::<&str>::new());
        assert_eq!(found("$(steps..results.)"), ["$(steps..results.)"]);
        assert_eq!(
            found("$(params.x) $(tasks.t.results.r)"),
            Vec::<&str>::new()
        );
    }

    fn reference(step: &str, result: &str, form: Form) -> Reference {
        Reference {
            step: step.into(),
            result: result.into(),
            form,
        }
    }

    #[test]
    fn the_forms_of_a_reference() {
        assert_eq!(
            parse("$(steps.s.results.r)").unwrap(),
            reference("s", "r", Form::String)
        );
        assert_eq!(
            parse("$(steps.s.results.r[3])").unwrap(),
            reference("s", "r", Form::Element(3))
        );
        assert_eq!(
            parse("$(steps.s.results.r[*])").unwrap(),
            reference("s", "r", Form::Array)
        );
        assert_eq!(
            parse("$(steps.s.results.o.key)").unwrap(),
            reference("s", "o", Form::Member("key".into()))
        );
        // As Tekton's parser: `[]` is no index, `[1*]` is index 0.
        assert_eq!(
            parse("$(steps.s.results.r[])").unwrap(),
            reference("s", "r", Form::String)
        );
        assert_eq!(
            parse("$(steps.s.results.r[1*])").unwrap(),
            reference("s", "r", Form::Element(0))
        );
        for bad in [
            "$(steps.s.results.o.a.b)",
            "$(steps.s.other.r)",
            "$(steps.a).x $(steps.b.results.c)",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn result_values_as_go_reads_them() {
        assert_eq!(Value::parse(b""), Value::String(String::new()));
        assert_eq!(Value::parse(b"\"a\\nb\""), Value::String("a\nb".into()));
        assert_eq!(
            Value::parse(b"plain text\n"),
            Value::String("plain text\n".into())
        );
        assert_eq!(
            Value::parse(br#"["a",null,"c"]"#),
            Value::Array(vec!["a".into(), String::new(), "c".into()])
        );
        assert_eq!(Value::parse(b"[1,2]"), Value::String("[1,2]".into()));
        assert_eq!(
            Value::parse(br#"{"k":"v"}"#),
            Value::Object(serde_json::from_str(r#"{"k":"v"}"#).unwrap())
        );
        assert_eq!(Value::parse(b"null"), Value::String(String::new()));
    }

    pub fn fake_root() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let results = root.path().join("step-first/results");
        fs::create_dir_all(&results).unwrap();
        fs::write(results.join("s"), "hello").unwrap();
        fs::write(results.join("a"), r#"["x","y z"]"#).unwrap();
        fs::write(results.join("empty"), "[]").unwrap();
        fs::write(results.join("o"), r#"{"k":"v"}"#).unwrap();
        root
    }

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn in_the_command() {
        let root = fake_root();
        let steps = root.path();
        assert_eq!(
            in_argv(
                &os(&[
                    "echo",
                    "<$(steps.first.results.s)>",
                    "$(steps.first.results.a[*])",
                    "$(steps.first.results.a[1])",
                    "$(steps.first.results.o.k)$(steps.first.results.o.missing)",
                    "$(steps.first.results.empty[*])",
                    "$(steps.first.results.a)",
                ]),
                steps
            )
            .unwrap(),
            os(&["echo", "<hello>", "x", "y z", "y z", "v", "", ""])
        );
        for bad in [
            "x$(steps.first.results.a[*])",
            "$(steps.first.results.a[2])",
            "$(steps.missing.results.s)",
            "$(steps.first.results.o.a.b)",
        ] {
            assert!(in_argv(&os(&[bad]), steps).is_err(), "{bad}");
        }
    }

    #[test]
    fn in_a_list_and_a_string() {
        let root = fake_root();
        let list = [
            "$(steps.first.results.a[*])".to_owned(),
            "-$(steps.first.results.o.k)".to_owned(),
        ];
        assert_eq!(in_list(&list, root.path()).unwrap(), ["x", "y z", "-v"]);
        assert_eq!(
            in_string(
                "'$(steps.first.results.s)' $(steps.first.results.a[*])",
                root.path()
            )
            .unwrap(),
            "'hello' "
        );
        assert!(in_list(&["x$(steps.first.results.a[*])".to_owned()], root.path()).is_err());
    }

    #[test]
    fn baton_s_own_environment_as_the_standard_library_reads_it() {
        let own: Vec<Vec<u8>> = child::own_environment().map(<[u8]>::to_vec).collect();
        let std: Vec<Vec<u8>> = std::env::vars_os()
            .map(|(name, value)| [name.as_bytes(), b"=", value.as_bytes()].concat())
            .collect();
        assert_eq!(own, std);
    }

    #[test]
    fn in_the_env_files_variables() {
        let root = fake_root();
        let added = vec![
            (
                OsString::from("A"),
                OsString::from("$(steps.first.results.s)!"),
            ),
            (
                OsString::from("B"),
                OsString::from("$(steps.first.results.a[*])"),
            ),
        ];
        let out = in_env(&added, root.path()).unwrap();
        let tail = &out[out.len() - 2..];
        assert_eq!(tail[0], (OsString::from("A"), OsString::from("hello!")));
        assert_eq!(tail[1], (OsString::from("B"), OsString::new()));
    }
}
