//! The termination message: Tekton's format, merged, `StartedAt` at start.

use std::time::SystemTime;

use crate::harness::Sandbox;

fn entries(text: &str) -> Vec<(String, String, u64)> {
    crate::harness::termination_entries(text)
}

#[test]
fn message_is_merged_with_what_the_file_holds() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.path("term"),
        r#"[{"key":"digest","value":"sha256:abc","type":1},{"key":"ExitCode","value":"99","type":3}]"#,
    )
    .unwrap();
    let before = SystemTime::now();
    sb.run(["--termination-path", "term", "--", "sh", "-c", "exit 4"])
        .expect_code(4);
    let got = entries(&sb.read("term"));
    assert_eq!(got[0], ("digest".into(), "sha256:abc".into(), 1));
    assert_eq!(got[1], ("ExitCode".into(), "4".into(), 3));
    assert_eq!(got[2].0, "StartedAt");
    assert_eq!(
        got.len(),
        3,
        "no Reason for a step that simply ran: {got:?}"
    );
    let started = &got[2].1;
    assert_eq!(started.len(), "2026-01-02T03:04:05.678Z".len(), "{started}");
    assert!(
        started.ends_with('Z') && started.as_bytes()[19] == b'.',
        "{started}"
    );
    // Compare with the clock to the second (format YYYY-MM-DDTHH:MM:SS).
    let secs = before
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let date = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H"])
        .output()
        .unwrap();
    let hour = String::from_utf8_lossy(&date.stdout).trim().to_owned();
    assert!(started.starts_with(&hour[..10]), "{started} vs {hour}");
}

#[test]
fn skipped_step_records_reason_skipped() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("prev.err"), "1\n").unwrap();
    sb.run([
        "--wait-file",
        "prev",
        "--termination-path",
        "t/term",
        "--",
        "true",
    ])
    .expect_code(1);
    let got = entries(&sb.read("t/term"));
    assert!(got.contains(&("ExitCode".into(), "1".into(), 3)), "{got:?}");
    assert!(
        got.contains(&("Reason".into(), "Skipped".into(), 3)),
        "{got:?}"
    );
    assert!(got.iter().any(|e| e.0 == "StartedAt"));
}

#[test]
fn an_oversized_message_is_cut_to_4096_bytes_keeping_batons_entries() {
    let sb = Sandbox::new();
    let big = "x".repeat(3000);
    std::fs::write(
        sb.path("term"),
        format!(
            r#"[{{"key":"a","value":"{big}","type":1}},{{"key":"b","value":"{big}","type":1}}]"#
        ),
    )
    .unwrap();
    sb.run(["--termination-path", "term", "--", "true"])
        .expect_code(0);
    let text = sb.read("term");
    assert!(text.len() <= 4096, "{} bytes", text.len());
    let keys: Vec<String> = entries(&text).into_iter().map(|e| e.0).collect();
    assert_eq!(keys, ["a", "StartedAt", "ExitCode"]);
}
