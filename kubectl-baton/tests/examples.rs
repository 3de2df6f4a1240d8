//! The examples and their plain twins (`examples/plain/`): every example has
//! a twin with no baton in it, and `kubectl baton render` of the twin is the
//! hand-wired example, object for object (`baton.dev/` annotations aside:
//! the twin's are what render reads, the render's what it writes), so the
//! hand-wired examples show exactly the layout render makes, least privilege
//! included. The one exception is `tekton-style.yaml`, laid out as Tekton's
//! controller lays out a pod: its twin is checked for what it must keep.
//! The pod tests (tests/it/pods.rs) run both of each pair.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// The YAML files of `dir`, by name, sorted.
fn yaml_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Path::new(&name)
                .extension()
                .is_some_and(|e| e == "yaml")
                .then_some(name)
        })
        .collect();
    names.sort();
    names
}

/// One YAML document as JSON (maps unordered), with every `baton.dev/`
/// annotation taken out, and what is left empty by that with it.
fn object(text: &str, what: &str) -> Value {
    let docs = kubectl_baton::input::parse(&kubectl_baton::input::Source(what.into()), text, false)
        .unwrap_or_else(|err| panic!("{what}: {}", err.0));
    assert_eq!(docs.len(), 1, "{what}: one document");
    let json = kubectl_baton::output::json(&docs[0].value).unwrap();
    let mut value: Value = serde_json::from_str(&json).unwrap();
    for pointer in ["", "/spec/template", "/spec/jobTemplate/spec/template"] {
        let Some(holder) = value.pointer_mut(pointer).and_then(Value::as_object_mut) else {
            continue;
        };
        if let Some(metadata) = holder.get_mut("metadata").and_then(Value::as_object_mut) {
            if let Some(annotations) = metadata
                .get_mut("annotations")
                .and_then(Value::as_object_mut)
            {
                annotations.retain(|key, _| !key.starts_with("baton.dev/"));
                if annotations.is_empty() {
                    metadata.remove("annotations");
                }
            }
            if metadata.is_empty() {
                holder.remove("metadata");
            }
        }
    }
    value
}

fn render(twin: &str) -> common::Run {
    let path = examples().join("plain").join(twin);
    let run = common::render(&["-f", path.to_str().unwrap()], "");
    assert_eq!(run.code, 0, "{twin}: {}", run.stderr);
    assert!(run.stderr.contains(": wired ("), "{twin}: {}", run.stderr);
    run
}

#[test]
fn every_example_has_a_plain_twin_with_no_baton_in_it() {
    let hand = yaml_files(&examples());
    let plain = yaml_files(&examples().join("plain"));
    assert_eq!(hand, plain, "examples/ and examples/plain/ differ");
    assert!(hand.len() >= 7, "{hand:?}");
    for twin in &plain {
        let text = fs::read_to_string(examples().join("plain").join(twin)).unwrap();
        let value = object(&text, twin);
        let spec = [
            "/spec",
            "/spec/template/spec",
            "/spec/jobTemplate/spec/template/spec",
        ]
        .iter()
        .find_map(|p| value.pointer(p).filter(|s| s.get("containers").is_some()))
        .unwrap_or_else(|| panic!("{twin}: no pod spec"));
        assert!(
            spec.get("initContainers").is_none(),
            "{twin}: initContainers"
        );
        for c in spec["containers"].as_array().unwrap() {
            let words = c["command"].to_string() + &c["args"].to_string() + &c["image"].to_string();
            assert!(
                !words.contains("baton"),
                "{twin}: container {} mentions baton",
                c["name"]
            );
        }
    }
}

#[test]
fn each_rendered_twin_is_its_hand_wired_example() {
    let mut compared = 0;
    for name in yaml_files(&examples().join("plain")) {
        if name == "tekton-style.yaml" {
            continue;
        }
        let rendered = object(&render(&name).stdout, &name);
        let hand = object(&fs::read_to_string(examples().join(&name)).unwrap(), &name);
        assert_eq!(
            serde_json::to_string_pretty(&rendered).unwrap(),
            serde_json::to_string_pretty(&hand).unwrap(),
            "render of plain/{name} (left) differs from the hand-wired {name} (right)"
        );
        compared += 1;
    }
    assert_eq!(compared, 6);
}

/// Tekton's layout is not render's: the twin keeps the two steps, in order,
/// the first waiting for the annotation through its downward-API file.
#[test]
fn the_tekton_style_twin_waits_for_its_annotation() {
    let rendered = object(&render("tekton-style.yaml").stdout, "tekton-style");
    let containers = rendered["spec"]["containers"].as_array().unwrap();
    let command = |i: usize| -> Vec<&str> {
        containers[i]["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect()
    };
    let build = command(0);
    assert!(build.contains(&"--wait-file=/downward/ready"), "{build:?}");
    assert!(build.contains(&"--wait-file-content"), "{build:?}");
    assert!(
        command(1).contains(&"--wait-file=/baton-run/step-build/post"),
        "{:?}",
        command(1)
    );
}
