//! `kubectl baton status`: a Job's pods (`tests/status/job-pods.json`, as
//! `kubectl get pods -l job-name=… -o json` gives them) give the table in
//! `tests/status/job-pods.table` (`UPDATE_GOLDEN=1` writes it anew) and the
//! same as data; rows come in chain order, whatever the listed order.

mod common;

use kubectl_baton::value::Value;

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/status")
}

#[test]
fn a_jobs_pods_as_a_table() {
    let run = common::run_in(&dir(), &["status", "-f", "job-pods.json"], "");
    assert_eq!(run.code, 0, "{run:?}");
    let golden = dir().join("job-pods.table");
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&golden, &run.stdout).unwrap();
    }
    assert_eq!(run.stdout, std::fs::read_to_string(&golden).unwrap());
    // stdin, the default.
    let text = std::fs::read_to_string(dir().join("job-pods.json")).unwrap();
    assert_eq!(
        common::run_in(&dir(), &["status"], &text).stdout,
        run.stdout
    );
}

#[test]
fn the_same_as_data() {
    let text = std::fs::read_to_string(dir().join("job-pods.json")).unwrap();
    let run = common::run_in(&dir(), &["status", "-o", "json"], &text);
    assert_eq!(run.code, 0, "{run:?}");
    let data: Value = serde_json::from_str(&run.stdout).unwrap();
    let pods = data.as_seq().unwrap();
    assert_eq!(pods.len(), 2);
    let rows = pods[1].get("containers").and_then(Value::as_seq).unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r.str_at("container").unwrap())
        .collect();
    assert_eq!(names, ["web", "fetch", "left", "right", "join"]);
    assert_eq!(rows[2].str_at("reason"), Some("Skipped"));
    assert_eq!(rows[2].get("exitCode"), Some(&Value::Int(1)));
    assert_eq!(rows[0].str_at("reason"), Some("CrashLoopBackOff"));
    let ok = pods[0].get("containers").and_then(Value::as_seq).unwrap();
    let join = ok
        .iter()
        .find(|r| r.str_at("container") == Some("join"))
        .unwrap();
    assert_eq!(
        join.get("results").and_then(|r| r.str_at("count")),
        Some("42")
    );
    assert_eq!(ok[0].str_at("reason"), Some("Stopped"));
}

#[test]
fn rows_come_in_chain_order_and_hand_wired_flags_are_read() {
    // Listed out of order, wired by hand with two-word and Go-style flags.
    let pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: by-hand}
spec:
  containers:
    - {name: last, image: i, command: [/b/baton, --wait-file, /m/2, --post-file, /m/3, --, c]}
    - {name: plain, image: i, command: [echo]}
    - {name: second, image: i, command: [/b/baton, -wait_file=/m/1, -post_file=/m/2, --, c]}
    - {name: side, image: i, command: [/b/baton, --ready-file=/m/ready, --, s]}
    - {name: first, image: i, command: [/b/baton, "--wait-file=/m/ready", "--post-file=/m/1", --, c]}
"#;
    let run = common::run_in(&dir(), &["status", "-o", "json"], pod);
    assert_eq!(run.code, 0, "{run:?}");
    let data: Value = serde_json::from_str(&run.stdout).unwrap();
    let rows = data.as_seq().unwrap()[0]
        .get("containers")
        .and_then(Value::as_seq)
        .unwrap()
        .clone();
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r.str_at("container").unwrap(),
                r.str_at("role").unwrap(),
                r.str_at("state").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("side", "sidecar", "Pending"),
            ("first", "step", "Pending"),
            ("second", "step", "Pending"),
            ("last", "step", "Pending"),
            ("plain", "-", "Pending"),
        ]
    );
}

#[test]
fn what_is_no_pod_is_refused() {
    let run = common::run_in(
        &dir(),
        &["status"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("stdin: document 1: ConfigMap is not a Pod or a List of pods"),
        "{}",
        run.stderr
    );
    let run = common::run_in(&dir(), &["status"], "");
    assert_eq!(run.code, 1, "{run:?}");
}
