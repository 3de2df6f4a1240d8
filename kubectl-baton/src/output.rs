//! Writing the rendered documents: multi-document YAML (`---` between them),
//! or a stream of JSON objects, one after another, as `kubectl apply -f -`
//! reads both.
//!
//! The YAML is serde-saphyr's, with its default of quoting every string that
//! a YAML 1.1 reader would take for something else (`"y"`, `"on"`, `"0644"`,
//! `"1:20"`), since kubectl reads YAML 1.1; strings with newlines are block
//! literals (`|`), and long lines are left whole (no folding).

use crate::value::Value;

/// The output format (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

/// One document as YAML, ending in a newline.
pub fn yaml(value: &Value) -> Result<String, String> {
    let options = serde_saphyr::ser_options! {
        folded_wrap_chars: usize::MAX,
    };
    let mut text = serde_saphyr::to_string_with_options(value, options)
        .map_err(|err| format!("writing YAML: {err}"))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// One document as indented JSON, ending in a newline.
pub fn json(value: &Value) -> Result<String, String> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|err| format!("writing JSON: {err}"))?;
    text.push('\n');
    Ok(text)
}

/// All documents, in order.
pub fn write(values: &[Value], format: Format) -> Result<String, String> {
    let mut out = String::new();
    for (i, value) in values.iter().enumerate() {
        match format {
            Format::Yaml => {
                if i > 0 {
                    out.push_str("---\n");
                }
                out.push_str(&yaml(value)?);
            }
            Format::Json => out.push_str(&json(value)?),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{write, Format};
    use crate::value::Value;

    #[test]
    fn ambiguous_strings_are_quoted_for_yaml_1_1_readers() {
        let value: Value = serde_json::from_str(
            r#"{"a":"y","b":"on","c":"0644","d":"1:20","e":"no","f":"1_000","g":"~","h":"true"}"#,
        )
        .unwrap();
        let text = write(&[value], Format::Yaml).unwrap();
        for line in text.lines() {
            let (_, v) = line.split_once(": ").unwrap();
            assert!(v.starts_with('"') || v.starts_with('\''), "{line}");
        }
    }

    #[test]
    fn long_lines_stay_whole_and_scripts_are_literal() {
        let long = "x ".repeat(100);
        let value = Value::map([
            ("long", Value::string(&long)),
            ("script", Value::string("set -e\necho hi\n")),
        ]);
        let text = write(std::slice::from_ref(&value), Format::Yaml).unwrap();
        assert!(text.contains("script: |\n  set -e\n  echo hi\n"), "{text}");
        assert_eq!(text.lines().count(), 4, "{text}");
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn documents_are_separated() {
        let docs = [
            Value::map([("a", Value::Int(1))]),
            Value::map([("b", Value::Int(2))]),
        ];
        assert_eq!(write(&docs, Format::Yaml).unwrap(), "a: 1\n---\nb: 2\n");
        assert_eq!(
            write(&docs, Format::Json).unwrap(),
            "{\n  \"a\": 1\n}\n{\n  \"b\": 2\n}\n"
        );
    }
}
