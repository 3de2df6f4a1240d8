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

/// The compressed termination message: only in a build with the `tekton`
/// feature (without it the message is written as JSON).
#[cfg(feature = "tekton")]
mod compressed {
    use super::*;

    /// `sh -c` that writes each of `names` into `res/` as 180 numbered lines:
    /// about 2 kB of JSON each, which compresses well.
    fn write_results(names: &str) -> String {
        format!(
            "for r in {names}; do i=0; while [ $i -lt 180 ]; do echo \"$r line $i\"; i=$((i+1)); done > res/$r; done"
        )
    }

    /// A compressed message read as Tekton reads it: base64 without padding, then
    /// raw DEFLATE.
    fn inflate(text: &str) -> String {
        use base64::Engine as _;
        use std::io::Read as _;
        let body = text
            .strip_prefix("tknz:")
            .unwrap_or_else(|| panic!("not compressed: {text:.80}"));
        let deflated = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(body)
            .unwrap();
        let mut json = String::new();
        flate2::read::DeflateDecoder::new(deflated.as_slice())
            .read_to_string(&mut json)
            .unwrap();
        json
    }

    /// Runs a Python script with the sandbox's `name` as its argument and
    /// returns its stdout.
    fn python(sb: &Sandbox, script: &str, name: &str) -> String {
        let out = std::process::Command::new("python3")
            .args(["-c", script, &sb.path(name).display().to_string()])
            .output()
            .expect("running python3");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn compressed_message_carries_results_that_plain_json_cannot() {
        let sb = Sandbox::new();
        std::fs::create_dir(sb.path("res")).unwrap();
        let write = write_results("a b c");
        let plain = sb.run([
            "--termination-path",
            "plain",
            "--results-dir",
            "res",
            "--results",
            "a,b,c",
            "--",
            "sh",
            "-c",
            &write,
        ]);
        plain.expect_code(1);
        assert!(
            plain.stderr.contains("results left out"),
            "{}",
            plain.stderr
        );
        // As Tekton's controller spells it.
        let out = sb.run([
            "-termination_path",
            "term",
            "--results-dir",
            "res",
            "-results",
            "a,b,c",
            "-compress_termination_message=true",
            "--",
            "sh",
            "-c",
            &write,
        ]);
        out.expect_code(0);
        let text = sb.read("term");
        assert!(text.starts_with("tknz:"), "{text:.80}");
        assert!(text.len() <= 4096, "{} bytes", text.len());
        let json = inflate(&text);
        assert!(json.len() > 6000, "{} bytes of JSON", json.len());
        let got = entries(&json);
        for name in ["a", "b", "c"] {
            let value = sb.read(&format!("res/{name}"));
            assert!(got.contains(&(name.into(), value, 1)), "{name}: {got:?}");
        }
        assert!(got.contains(&("ExitCode".into(), "0".into(), 3)), "{got:?}");
        assert!(!got.iter().any(|e| e.0 == "Reason"), "{got:?}");
    }

    #[test]
    fn a_compressed_message_is_merged_by_a_step_that_does_not_compress() {
        let sb = Sandbox::new();
        std::fs::create_dir(sb.path("res")).unwrap();
        let first = sb.run([
            "--termination-path",
            "term",
            "--results-dir",
            "res",
            "--results",
            "a",
            "--compress-termination-message",
            "--",
            "sh",
            "-c",
            &write_results("a"),
        ]);
        first.expect_code(0);
        assert!(sb.read("term").starts_with("tknz:"));
        sb.run([
            "--termination-path",
            "term",
            "--results-dir",
            "res",
            "--results",
            "b",
            "--",
            "sh",
            "-c",
            "echo -n b > res/b; exit 3",
        ])
        .expect_code(3);
        let got = entries(&sb.read("term"));
        let keys: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(keys, ["StartedAt", "ExitCode", "a", "b"], "{got:?}");
        assert_eq!(got[1], ("ExitCode".into(), "3".into(), 3));
        assert_eq!(got[2].1, sb.read("res/a"));
    }

    /// Python's zlib, a reader and writer apart from baton's: it inflates what
    /// baton wrote (base64's padding added back), and what it compresses baton
    /// reads and merges.
    #[test]
    fn python_s_zlib_reads_baton_s_compressed_message_and_baton_reads_its() {
        const INFLATE: &str = "import base64, sys, zlib\n\
            text = open(sys.argv[1], 'rb').read()\n\
            assert text.startswith(b'tknz:'), text[:20]\n\
            body = text[5:]\n\
            assert b'=' not in body\n\
            data = base64.b64decode(body + b'=' * (-len(body) % 4), validate=True)\n\
            sys.stdout.write(zlib.decompress(data, -15).decode())\n";
        const DEFLATE: &str = "import base64, json, sys, zlib\n\
            entries = [{'key': 'py', 'value': ''.join('py line %d\\n' % i for i in range(300)), 'type': 1},\n\
                       {'key': 'ExitCode', 'value': '9', 'type': 3}]\n\
            c = zlib.compressobj(9, zlib.DEFLATED, -15)\n\
            data = c.compress(json.dumps(entries, separators=(',', ':')).encode()) + c.flush()\n\
            open(sys.argv[1], 'w').write('tknz:' + base64.b64encode(data).decode().rstrip('='))\n";
        let sb = Sandbox::new();
        std::fs::create_dir(sb.path("res")).unwrap();
        python(&sb, DEFLATE, "term");
        let out = sb.run([
            "--termination-path",
            "term",
            "--results-dir",
            "res",
            "--results",
            "a,b",
            "--compress-termination-message",
            "--",
            "sh",
            "-c",
            &write_results("a b"),
        ]);
        out.expect_code(0);
        assert!(!out.stderr.contains("replacing"), "{}", out.stderr);
        let text = sb.read("term");
        assert!(text.len() <= 4096, "{} bytes", text.len());
        let json = python(&sb, INFLATE, "term");
        assert_eq!(json, inflate(&text));
        let got = entries(&json);
        let keys: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(keys, ["py", "ExitCode", "StartedAt", "a", "b"], "{got:?}");
        assert_eq!(got[0].1.lines().count(), 300);
        assert_eq!(got[1].1, "0");
        assert_eq!(got[3].1, sb.read("res/a"));
    }
}
