//! The examples, run in OCI containers by the test kubelet (see `kubelet`).

use std::time::Duration;

use crate::harness::cannot_run;
use crate::kubelet::{unavailable, ContainerResult, Pod, PodResult};

/// Fails the test at once unless pods can run here (root, runc, busybox-static,
/// the static binary), saying why not.
fn require_pods() {
    if let Some(why) = unavailable() {
        cannot_run(&format!("pod tests: {why}"));
    }
}

/// Runs an example's pod to the end (failing at once if pods cannot run here).
fn run(example: &str) -> PodResult {
    require_pods();
    Pod::from_example(example).start().wait()
}

/// When baton started the container's command (its termination message).
fn started(container: &ContainerResult) -> String {
    container
        .termination_value("StartedAt")
        .unwrap_or_else(|| panic!("{}: no StartedAt", container.name))
}

/// Two tests of one example: as wired by hand (`examples/NAME`), and its
/// plain twin as `kubectl baton render` wires it (`examples/plain/NAME`),
/// which must give the same results.
macro_rules! both {
    ($name:ident, $check:ident, $example:literal) => {
        mod $name {
            #[test]
            #[ignore = "needs root, runc and busybox-static: scripts/test runs it where it can"]
            fn hand_wired() {
                super::$check($example);
            }

            #[test]
            #[ignore = "needs root, runc and busybox-static: scripts/test runs it where it can"]
            fn rendered_plain_twin() {
                super::$check(concat!("plain/", $example));
            }
        }
    };
}

both!(
    sequential_job,
    sequential_job_runs_its_steps_in_order_as_non_root,
    "sequential-job.yaml"
);
both!(
    sidecar_ready,
    sidecar_ready_starts_the_app_after_the_config_and_completes,
    "sidecar-ready.yaml"
);
both!(
    indexed_job,
    indexed_job_pods_each_process_their_own_item,
    "indexed-job.yaml"
);
both!(
    failing_step,
    failing_step_skips_the_rest_with_clear_termination_messages,
    "failing-step.yaml"
);
both!(
    tekton_style,
    tekton_style_steps_wait_for_the_ready_annotation,
    "tekton-style.yaml"
);
both!(
    deleting,
    deleting_a_waiting_pod_ends_every_container_at_once,
    "tekton-style.yaml"
);
both!(
    cronjob,
    cronjob_pod_template_runs_its_two_steps,
    "cronjob.yaml"
);
both!(
    pod_failure_policy,
    a_pod_failure_policy_tells_the_failed_step_from_the_skipped_one,
    "pod-failure-policy.yaml"
);

fn expect_codes(pod: &PodResult, codes: &[(&str, i32)]) {
    for (name, code) in codes {
        assert_eq!(
            pod.container(name).exit_code,
            *code,
            "{name}\n{}",
            pod.dump()
        );
    }
}

fn sequential_job_runs_its_steps_in_order_as_non_root(example: &str) {
    let pod = run(example);
    assert_eq!(pod.init[0].exit_code, 0, "{}", pod.dump());
    expect_codes(&pod, &[("step-1", 0), ("step-2", 0), ("step-3", 0)]);
    let (one, two, three) = (
        pod.container("step-1"),
        pod.container("step-2"),
        pod.container("step-3"),
    );
    assert_eq!(
        one.lines(),
        ["step 1 writing as 2000:2000"],
        "{}",
        pod.dump()
    );
    assert_eq!(
        two.lines(),
        ["step 2 read: hello from step 1"],
        "{}",
        pod.dump()
    );
    assert_eq!(
        three.lines(),
        ["hello from step 1", "and from step 2"],
        "{}",
        pod.dump()
    );
    // Each step started only after the marker of the one before was written.
    assert!(
        pod.written_at("baton-run-0", "post") <= started(two),
        "{}",
        pod.dump()
    );
    assert!(
        pod.written_at("baton-run-1", "post") <= started(three),
        "{}",
        pod.dump()
    );
    assert!(started(one) < started(two) && started(two) < started(three));
    for step in [one, two, three] {
        assert_eq!(
            step.termination_value("ExitCode").as_deref(),
            Some("0"),
            "{}",
            pod.dump()
        );
        assert!(step.termination_value("StartedAt").is_some());
    }
}

fn sidecar_ready_starts_the_app_after_the_config_and_completes(example: &str) {
    let pod = run(example);
    expect_codes(&pod, &[("config-sidecar", 0), ("app", 0)]);
    let (sidecar, app) = (pod.container("config-sidecar"), pod.container("app"));
    assert_eq!(
        app.lines(),
        ["app: using greeting=hello from the sidecar"],
        "{}",
        pod.dump()
    );
    assert!(
        pod.written_at("baton-run-0", "ready") <= started(app),
        "{}",
        pod.dump()
    );
    assert!(
        sidecar.lines().contains(&"sidecar: stopping"),
        "no SIGTERM reached the sidecar\n{}",
        pod.dump()
    );
    assert_eq!(
        sidecar.termination_value("Reason").as_deref(),
        Some("Stopped"),
        "{}",
        pod.dump()
    );
    // The sidecar was stopped by the app's marker: it exists, and the sidecar
    // ended with reason Stopped after its trap saw the SIGTERM.
    assert!(!pod.written_at("baton-run-1", "post").is_empty());
}

fn indexed_job_pods_each_process_their_own_item(example: &str) {
    require_pods();
    // completions: 5, parallelism: 3 — three pods at once, then the other two.
    for batch in [0..3, 3..5] {
        let pods: Vec<_> = batch
            .clone()
            .map(|i| Pod::from_example(example).with_completion_index(i).start())
            .collect();
        for (i, pod) in batch.zip(pods) {
            let pod = pod.wait();
            expect_codes(&pod, &[("fetch", 0), ("report", 0)]);
            assert_eq!(
                pod.container("fetch").lines(),
                [format!("fetch: item-{i}")],
                "{}",
                pod.dump()
            );
            assert_eq!(
                pod.container("report").lines(),
                [format!("report: processed item-{i} in pod {i}")],
                "{}",
                pod.dump()
            );
        }
    }
}

fn failing_step_skips_the_rest_with_clear_termination_messages(example: &str) {
    let pod = run(example);
    expect_codes(&pod, &[("step-1", 0), ("step-2", 3), ("step-3", 1)]);
    let (two, three) = (pod.container("step-2"), pod.container("step-3"));
    assert_eq!(two.termination_value("ExitCode").as_deref(), Some("3"));
    assert_eq!(two.termination_value("Reason"), None);
    assert_eq!(three.termination_value("ExitCode").as_deref(), Some("1"));
    assert_eq!(
        three.termination_value("Reason").as_deref(),
        Some("Skipped")
    );
    let lines = three.lines();
    assert_eq!(lines.len(), 1, "{}", pod.dump());
    assert!(
        lines[0].ends_with(
            " ERROR baton: skipped: /baton-run/step-2/post.err exists (a step this one waits for failed)"
        ),
        "{}",
        pod.dump()
    );
}

fn tekton_style_steps_wait_for_the_ready_annotation(example: &str) {
    require_pods();
    // The twin waits for an annotation of its own, and its markers are
    // render's; Tekton's layout is the other's.
    let plain = example.starts_with("plain/");
    let (annotation, marker) = if plain {
        ("example.com/ready", ("baton-run-0", "post"))
    } else {
        ("tekton.dev/ready", ("tekton-internal-run-0", "out"))
    };
    let mut pod = Pod::from_example(example).start();
    pod.wait_watching("step-build");
    pod.wait_watching("step-publish");
    let annotated = baton::timestamp::rfc3339_millis(std::time::SystemTime::now());
    pod.set_annotation(annotation, "READY");
    let pod = pod.wait();
    expect_codes(&pod, &[("step-build", 0), ("step-publish", 0)]);
    let (build, publish) = (pod.container("step-build"), pod.container("step-publish"));
    assert!(
        started(build) >= annotated,
        "ran before the annotation\n{}",
        pod.dump()
    );
    assert_eq!(publish.lines(), ["publish: artifact-1"], "{}", pod.dump());
    assert!(
        pod.written_at(marker.0, marker.1) <= started(publish),
        "{}",
        pod.dump()
    );
    // Run as /tekton/bin/entrypoint, baton is in Tekton's mode: as Tekton's
    // entrypoint, no ExitCode entry (the controller would read "Continued")
    // and no reason for a step that simply ran (it reads "Completed").
    // Rendered, it is in its own mode, which records the exit code.
    let exit_code = plain.then(|| "0".to_owned());
    for step in [build, publish] {
        assert_eq!(
            step.termination_value("ExitCode"),
            exit_code,
            "{}",
            pod.dump()
        );
        assert_eq!(step.termination_value("Reason"), None, "{}", pod.dump());
        assert!(
            step.termination_value("StartedAt").is_some(),
            "{}",
            pod.dump()
        );
    }
}

fn deleting_a_waiting_pod_ends_every_container_at_once(example: &str) {
    require_pods();
    let pod = Pod::from_example(example).start();
    pod.wait_watching("step-build");
    pod.wait_watching("step-publish");
    let pod = pod.delete();
    // Not 137: each ended without SIGKILL, well before the 30 s grace period.
    // step-publish either handles its own SIGTERM (143) or first sees the
    // failure marker step-build wrote on its SIGTERM (skipped, 1): the kubelet
    // signals containers independently, so both orders happen.
    let build = pod.container("step-build");
    assert_eq!(build.exit_code, 143, "{}", pod.dump());
    assert_eq!(
        build.termination_value("Reason").as_deref(),
        Some("Terminated")
    );
    let publish = pod.container("step-publish");
    let expected = match publish.exit_code {
        143 => "Terminated",
        1 => "Skipped",
        _ => panic!("step-publish did not end on the deletion\n{}", pod.dump()),
    };
    assert_eq!(
        publish.termination_value("Reason").as_deref(),
        Some(expected),
        "{}",
        pod.dump()
    );
    for c in &pod.containers {
        assert!(c.finished < Duration::from_secs(30), "{}", pod.dump());
    }
}

fn cronjob_pod_template_runs_its_two_steps(example: &str) {
    let pod = run(example);
    expect_codes(&pod, &[("backup", 0), ("verify", 0)]);
    assert_eq!(
        pod.container("verify").lines(),
        ["verify: rows=42 ok"],
        "{}",
        pod.dump()
    );
    assert!(
        pod.written_at("baton-run-0", "post") <= started(pod.container("verify")),
        "{}",
        pod.dump()
    );
}

/// A step's expected state: its name, termination reason, exit code, results.
type Expected<'a> = (&'a str, &'a str, i32, &'a [(&'a str, &'a str)]);

/// A step's state as Tekton's controller makes it out of the container's
/// end and its termination message (`pkg/pod/status.go`): the termination
/// reason (the message's `Reason`; else "Continued" when it has an
/// `ExitCode`; else the kubelet's Completed or Error), the exit code (the
/// message's `ExitCode` over the container's), and the results (type 1, task
/// results; type 4, step results) as (key, value).
fn tekton_step_state(step: &ContainerResult) -> (String, i32, Vec<(String, String)>) {
    let entries = crate::harness::termination_entries(&step.termination_message);
    let value = |key: &str| step.termination_value(key);
    let exit_code = value("ExitCode").map_or(step.exit_code, |code| code.parse().unwrap());
    let kubelet = if step.exit_code == 0 {
        "Completed"
    } else {
        "Error"
    };
    let reason = value("Reason").unwrap_or_else(|| {
        if value("ExitCode").is_some() {
            "Continued".into()
        } else {
            kubelet.into()
        }
    });
    let results = entries
        .iter()
        .filter(|(_, _, kind)| matches!(kind, 1 | 4))
        .map(|(k, v, _)| (k.clone(), v.clone()))
        .collect();
    (reason, exit_code, results)
}

/// The pod Tekton's controller builds for a `TaskRun`, run unchanged with
/// baton's image as the entrypoint image: the step states come out as with
/// Tekton's entrypoint.
#[test]
#[ignore = "needs root, runc and busybox-static: scripts/test runs it where it can"]
fn a_pod_built_as_tekton_s_controller_builds_it_gives_tekton_s_step_states() {
    require_pods();
    let mut pod = Pod::from_example("tests/pods/tekton-taskrun.yaml").start();
    pod.wait_watching("step-produce");
    pod.set_annotation("tekton.dev/ready", "READY");
    let pod = pod.wait();
    let expected: [Expected; 6] = [
        ("step-produce", "Completed", 0, &[("greeting", "hello")]),
        // Every step that runs reports the task's results there are by then
        // (`-results out`: /tekton/results is the pod's), as Tekton's does.
        ("step-consume", "Completed", 0, &[("out", "got hello")]),
        ("step-flaky", "Continued", 3, &[("out", "got hello")]),
        ("step-never", "Skipped", 0, &[]),
        ("step-slow", "TimeoutExceeded", 1, &[("out", "got hello")]),
        ("step-after", "Skipped", 1, &[]),
    ];
    for (name, reason, code, results) in expected {
        let (got_reason, got_code, got_results) = tekton_step_state(pod.container(name));
        assert_eq!(
            (got_reason.as_str(), got_code),
            (reason, code),
            "{name}\n{}",
            pod.dump()
        );
        let results: Vec<(String, String)> = results
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(got_results, results, "{name}\n{}", pod.dump());
    }
    assert_eq!(
        pod.container("step-produce").lines(),
        ["produced"],
        "{}",
        pod.dump()
    );
    assert!(pod
        .container("step-never")
        .lines()
        .iter()
        .all(|l| !l.contains("must not run")));
    // The steps' own directories, as Tekton's entrypoint leaves them.
    assert_eq!(pod.read("tekton-internal-run-0", "status/exitCode"), "0");
    assert_eq!(pod.read("tekton-internal-run-2", "status/exitCode"), "3");
    assert_eq!(pod.read("tekton-internal-run-3", "status/exitCode"), "0");
    assert!(
        !pod.exists("tekton-internal-run-4", "status/exitCode"),
        "no exitCode after a timeout"
    );
    assert_eq!(
        pod.read("tekton-internal-run-0", "out"),
        "",
        "Tekton's markers are empty"
    );
    assert!(pod.exists("tekton-internal-run-5", "out.err"));
    assert_eq!(
        pod.container("sidecar-server").exit_code,
        0,
        "{}",
        pod.dump()
    );
}

/// With keep-pod-on-cancel, the controller cancels through the downward-API
/// `cancel` file: the running step ends as Cancelled, the next is skipped.
#[test]
#[ignore = "needs root, runc and busybox-static: scripts/test runs it where it can"]
fn a_tekton_step_cancelled_through_the_downward_api_ends_as_cancelled() {
    require_pods();
    let mut pod = Pod::from_example("tests/pods/tekton-cancel.yaml").start();
    pod.wait_watching("step-work");
    pod.set_annotation("tekton.dev/ready", "READY");
    pod.wait_line("step-work", "working");
    pod.set_annotation("tekton.dev/cancel", "TaskRunCancelled");
    let pod = pod.wait();
    assert_eq!(
        tekton_step_state(pod.container("step-work")),
        ("Cancelled".into(), 9, Vec::new()),
        "{}",
        pod.dump()
    );
    assert_eq!(
        pod.read("tekton-internal-run-0", "status/exitCode"),
        "killed"
    );
    assert_eq!(
        tekton_step_state(pod.container("step-next")),
        ("Skipped".into(), 1, Vec::new()),
        "{}",
        pod.dump()
    );
}

/// The first rule of a Job's `podFailurePolicy` that matches a failed pod,
/// as the Job controller matches `onExitCodes` rules (a container, or any,
/// terminated with a code `In` or `NotIn` the values, 0 never matching
/// `NotIn`); `onPodConditions` rules match no pod here.
fn matching_rule(policy: &serde_json::Value, pod: &PodResult) -> Option<String> {
    policy["rules"].as_array()?.iter().find_map(|rule| {
        let on = &rule["onExitCodes"];
        if on.is_null() {
            return None;
        }
        let values: Vec<i64> = on["values"]
            .as_array()?
            .iter()
            .filter_map(serde_json::Value::as_i64)
            .collect();
        let matches = pod.containers.iter().any(|c| {
            let named = on["containerName"].as_str().is_none_or(|n| n == c.name);
            let code = i64::from(c.exit_code);
            let listed = values.contains(&code);
            named
                && match on["operator"].as_str() {
                    Some("In") => listed,
                    Some("NotIn") => !listed && code != 0,
                    _ => false,
                }
        });
        matches.then(|| rule["action"].as_str().unwrap_or_default().to_owned())
    })
}

fn a_pod_failure_policy_tells_the_failed_step_from_the_skipped_one(example: &str) {
    let pod = run(example);
    expect_codes(&pod, &[("step-1", 0), ("step-2", 42), ("step-3", 3)]);
    assert_eq!(
        pod.container("step-3")
            .termination_value("Reason")
            .as_deref(),
        Some("Skipped")
    );
    let text =
        std::fs::read_to_string(crate::kubelet::repo().join("examples").join(example)).unwrap();
    let job: serde_json::Value = serde_yaml::from_str(&text).unwrap();
    let policy = &job["spec"]["podFailurePolicy"];
    assert_eq!(
        matching_rule(policy, &pod).as_deref(),
        Some("FailJob"),
        "{}",
        pod.dump()
    );
    // A skip alone (exit 3) would match no rule: only the step that failed counts.
    let mut skipped_only = pod;
    for c in &mut skipped_only.containers {
        if c.name == "step-2" {
            c.exit_code = 0;
        }
    }
    assert_eq!(matching_rule(policy, &skipped_only), None);
}

/// Least privilege, as render wires a pod: a step cannot forge or remove
/// another step's markers, nor replace the binary the others run, and can
/// write its own directory.
#[test]
#[ignore = "needs root, runc and busybox-static: scripts/test runs it where it can"]
fn a_rendered_step_cannot_forge_another_s_marker_or_replace_the_binary() {
    let pod = run("tests/pods/plain-least-privilege.yaml");
    let intruder = pod.container("intruder");
    assert_eq!(
        intruder.lines(),
        [
            "refused: echo forged > /baton-run/first/post.err",
            "refused: rm -f /baton-run/first/post",
            "refused: echo forged > /baton-run/last/post",
            "refused: cp /bin/busybox /baton-bin/baton",
            "allowed: echo mine > /baton-run/intruder/note",
        ],
        "{}",
        pod.dump()
    );
    expect_codes(&pod, &[("first", 0), ("intruder", 0), ("last", 0)]);
    assert!(!pod.exists("baton-run-0", "post.err"), "{}", pod.dump());
    assert_eq!(pod.read("baton-run-1", "note"), "mine\n");
}
