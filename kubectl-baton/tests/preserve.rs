//! Everything render does not need to touch comes out unchanged: labels,
//! annotations, tolerations, resources, env, fields it does not know, their
//! order; no null, `{}` or `[]` is added but the emptyDirs of its own
//! volumes. And the ways of reading and writing: stdin, several files, a
//! directory, JSON in and out, Lists.

mod common;

use kubectl_baton::input::{self, Source};
use kubectl_baton::pod;
use kubectl_baton::value::{Map, Value};

const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: keep
  labels: {app: keep, "y": "n"}
  annotations: {example.com/a: "1", baton.dev/after.b: a}
  x-unknown-meta: {deep: [1, 2.5, null, true, "0644"]}
spec:
  x-unknown-spec: [{}, []]
  restartPolicy: Never
  tolerations: [{key: k, operator: Exists, effect: NoExecute, tolerationSeconds: 30}]
  nodeSelector: {disk: ssd}
  containers:
    - name: a
      x-unknown-container: {keep: me}
      image: busybox:1.36
      command: [sh, -c, "echo a"]
      env:
        - {name: E, value: "on"}
        - {name: EMPTY, value: ""}
        - {name: REF, valueFrom: {secretKeyRef: {name: s, key: k, optional: true}}}
      resources: {limits: {cpu: 500m, memory: 1Gi, nvidia.com/gpu: 1}, requests: {cpu: 0.25}}
      volumeMounts: [{name: data, mountPath: /data, subPath: a}]
      stdin: false
    - name: b
      image: busybox:1.36
      command: [cat]
      args: [/data/a]
      lifecycle: {preStop: {exec: {command: [sh, -c, "sleep 1"]}}}
  volumes:
    - {name: data, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
status: {phase: Pending}
"#;

fn parse(text: &str) -> Vec<Value> {
    input::parse(&Source("t".into()), text, false)
        .expect("valid")
        .into_iter()
        .map(|d| d.value)
        .collect()
}

fn ours(v: &Value) -> bool {
    v.str_at("name").is_some_and(|n| {
        n == pod::BIN_VOLUME || n.starts_with(pod::RUN_VOLUME) || n == pod::INSTALLER
    })
}

/// Takes out by hand what render adds (not with `pod::strip`).
fn unwire(pod: &mut Value) {
    let map = pod.as_map_mut().unwrap();
    let annotations = map
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_map_mut)
        .unwrap();
    assert_eq!(
        annotations.remove(pod::RENDERED),
        Some(Value::string(pod::VERSION))
    );
    let spec = map.get_mut("spec").and_then(Value::as_map_mut).unwrap();
    let drop_ours = |m: &mut Map, key: &str| {
        let seq = m.get_mut(key).and_then(Value::as_seq_mut).unwrap();
        seq.retain(|v| !ours(v));
        if seq.is_empty() {
            m.remove(key);
        }
    };
    drop_ours(spec, "initContainers");
    drop_ours(spec, "volumes");
    for c in spec
        .get_mut("containers")
        .and_then(Value::as_seq_mut)
        .unwrap()
    {
        let c = c.as_map_mut().unwrap();
        drop_ours(c, "volumeMounts");
        let words = c.get_mut("command").and_then(Value::as_seq_mut).unwrap();
        let dashes = words.iter().position(|w| w.as_str() == Some("--")).unwrap();
        words.drain(..=dashes);
    }
}

/// How many nulls, empty maps and empty sequences `v` holds.
fn empties(v: &Value) -> (usize, usize, usize) {
    let add =
        |a: (usize, usize, usize), b: (usize, usize, usize)| (a.0 + b.0, a.1 + b.1, a.2 + b.2);
    match v {
        Value::Null => (1, 0, 0),
        Value::Map(m) if m.is_empty() => (0, 1, 0),
        Value::Seq(s) if s.is_empty() => (0, 0, 1),
        Value::Map(m) => m.iter().map(|(_, v)| empties(v)).fold((0, 0, 0), add),
        Value::Seq(s) => s.iter().map(empties).fold((0, 0, 0), add),
        _ => (0, 0, 0),
    }
}

#[test]
fn what_render_does_not_touch_comes_out_as_it_came_in() {
    let run = common::render(&[], POD);
    assert_eq!(run.code, 0, "{run:?}");
    let input = parse(POD).remove(0);
    let mut output = parse(&run.stdout).remove(0);
    let (nulls, maps, seqs) = empties(&output);
    // The emptyDirs of baton-bin and of the two steps' markers are the only `{}` added.
    assert_eq!((nulls, maps, seqs), {
        let (n, m, s) = empties(&input);
        (n, m + 3, s)
    });
    unwire(&mut output);
    assert_eq!(output, input);
    // The strings a YAML 1.1 reader would misread stay strings.
    for quoted in [r#""y": "n""#, r#"value: "on""#, r#"- "0644""#] {
        assert!(run.stdout.contains(quoted), "{quoted}: {}", run.stdout);
    }
}

#[test]
fn empty_fields_render_adds_to_are_made_again_in_one_place() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: e, annotations: {}}\nspec:\n  volumes: []\n  initContainers: []\n  containers:\n    - {name: a, image: i, command: [a], volumeMounts: []}\n";
    let first = common::render(&[], text);
    assert_eq!(first.code, 0, "{first:?}");
    let again = common::render(&[], &first.stdout);
    assert_eq!(again.stdout, first.stdout);
    assert!(!first.stdout.contains("[]"), "{}", first.stdout);
}

#[test]
fn stdin_several_files_and_a_directory_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let pod = |name: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers: [{{name: a, image: i, command: [a]}}]\n")
    };
    std::fs::write(dir.path().join("b.yaml"), pod("b")).unwrap();
    std::fs::write(dir.path().join("a.yml"), pod("a")).unwrap();
    std::fs::write(
        dir.path().join("c.json"),
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
    std::fs::create_dir(dir.path().join("deeper")).unwrap();
    std::fs::write(dir.path().join("deeper/d.yaml"), pod("d")).unwrap();
    std::fs::write(dir.path().join("first.yaml"), pod("first")).unwrap();
    let names = |stderr: &str| -> Vec<String> {
        stderr
            .lines()
            .map(|l| l.split(": ").nth(3).unwrap().to_owned())
            .collect()
    };
    let d = dir.path().to_str().unwrap();
    let run = common::run_in(
        dir.path(),
        &["render", "-f", "first.yaml", "-f", d, "-f", "-"],
        &pod("stdin"),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        names(&run.stderr),
        [
            "Pod/first",
            "Pod/a",
            "Pod/b",
            "ConfigMap/c",
            "Pod/first",
            "Pod/stdin"
        ]
    );
    assert!(
        run.stderr
            .contains("kubectl-baton: stdin: document 1: Pod/stdin: wired (1 step)"),
        "{}",
        run.stderr
    );
    assert_eq!(parse(&run.stdout).len(), 6);
    // No -f: stdin.
    let run = common::render(&[], &pod("p"));
    assert_eq!(names(&run.stderr), ["Pod/p"]);
}

#[test]
fn json_in_and_out() {
    let yaml = common::render(&["-f", "pod-chain.in.yaml"], "");
    let json = common::render(&["-f", "pod-chain.in.yaml", "-o", "json"], "");
    assert_eq!(json.code, 0, "{json:?}");
    let from_json: Vec<Value> = serde_json::Deserializer::from_str(&json.stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(from_json, parse(&yaml.stdout));
    // JSON in (a List, as kubectl get -o json gives it): the same wiring.
    let list = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
        serde_json::to_string(
            &parse(
                &std::fs::read_to_string(common::golden_dir().join("pod-chain.in.yaml")).unwrap()
            )[0]
        )
        .unwrap()
    );
    let run = common::render(&[], &list);
    assert_eq!(run.code, 0, "{run:?}");
    let items = parse(&run.stdout)[0]
        .get("items")
        .and_then(Value::as_seq)
        .unwrap()
        .clone();
    assert_eq!(items, parse(&yaml.stdout));
    assert!(
        run.stderr
            .contains("stdin: document 1, item 1: Pod/chain: wired (3 steps)"),
        "{}",
        run.stderr
    );
    // JSON rendered output rendered again: unchanged.
    let again = common::render(&["-o", "json"], &json.stdout);
    assert_eq!(again.stdout, json.stdout);
}

#[test]
fn hand_wired_examples_and_tekton_pods_pass_through_unchanged() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files: Vec<_> = ["examples", "tests/pods"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        // tests/pods/plain-*.yaml are plain pods, for render to wire.
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("plain-")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 9, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let run = common::render(&["-f", file.to_str().unwrap()], "");
        assert_eq!(run.code, 0, "{}: {run:?}", file.display());
        assert!(
            run.stderr.contains(": passed through ("),
            "{}: {}",
            file.display(),
            run.stderr
        );
        assert_eq!(parse(&run.stdout), parse(&text), "{}", file.display());
    }
}
