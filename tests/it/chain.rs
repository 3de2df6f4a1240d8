//! Chains of steps started all at once, as the containers of a pod are.

use std::time::Instant;

use crate::harness::{Running, Sandbox};

/// Starts `n` steps at once, last first; step i waits for step i-1's marker
/// and runs `command(i)`.
fn start_chain(sb: &Sandbox, n: usize, command: impl Fn(usize) -> String) -> Vec<Running> {
    (1..=n)
        .rev()
        .map(|i| {
            let mut args = vec![];
            if i > 1 {
                args.extend(["--wait-file".to_owned(), format!("m/{}", i - 1)]);
            }
            args.extend(["--post-file".to_owned(), format!("m/{i}")]);
            args.extend([
                "--".to_owned(),
                "sh".to_owned(),
                "-c".to_owned(),
                command(i),
            ]);
            sb.start(sb.baton(args))
        })
        .collect()
}

#[test]
fn ten_steps_started_at_once_run_in_order() {
    let sb = Sandbox::new();
    // The directory of the markers does not exist when the steps start.
    let steps = start_chain(&sb, 10, |i| format!("echo {i} >> log"));
    for step in steps {
        step.finish().expect_code(0);
    }
    let order: Vec<String> = sb.read("log").lines().map(str::to_owned).collect();
    let expected: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
    assert_eq!(order, expected);
    for i in 1..=10 {
        assert_eq!(sb.read(&format!("m/{i}")), "0\n");
    }
    // Nothing else is left beside the markers: no lock, no temporary file;
    // temporary files were made in the scratch directory, which is empty.
    let mut names: Vec<String> = std::fs::read_dir(sb.path("m"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
    expected.push(".baton".into());
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(std::fs::read_dir(sb.path("m/.baton")).unwrap().count(), 0);
}

#[test]
fn a_failure_cascades_down_the_chain() {
    let sb = Sandbox::new();
    let steps = start_chain(&sb, 10, |i| {
        if i == 4 {
            "exit 3".to_owned()
        } else {
            format!("echo {i} >> log")
        }
    });
    let codes: Vec<i32> = steps.into_iter().rev().map(|s| s.finish().code()).collect();
    assert_eq!(codes, [0, 0, 0, 3, 1, 1, 1, 1, 1, 1]);
    assert_eq!(sb.read("log"), "1\n2\n3\n");
    assert_eq!(sb.read("m/4.err"), "3\n");
    for i in 5..=10 {
        assert_eq!(sb.read(&format!("m/{i}.err")), "1\n");
        assert!(!sb.exists(&format!("m/{i}")));
    }
}

#[test]
fn a_marker_written_before_baton_starts_is_seen() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("prev"), "0\n").unwrap();
    let started = Instant::now();
    sb.run(["--wait-file", "prev", "--", "touch", "ran"])
        .expect_code(0);
    assert!(sb.exists("ran"));
    eprintln!("ran in {:?}", started.elapsed());
}

#[test]
fn a_step_waits_until_the_marker_appears() {
    let sb = Sandbox::new();
    let mut run = sb.start(sb.baton(["--wait-file", "deep/er/prev", "--", "touch", "ran"]));
    run.wait_watching();
    assert!(
        !run.has_exited() && !sb.exists("ran"),
        "ran before the marker"
    );
    std::fs::create_dir_all(sb.path("deep/er")).unwrap();
    assert!(
        !run.has_exited() && !sb.exists("ran"),
        "ran before the marker"
    );
    std::fs::write(sb.path("deep/er/prev"), "0\n").unwrap();
    run.finish().expect_code(0);
    assert!(sb.exists("ran"));
}
