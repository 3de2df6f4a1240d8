//! The termination message: Tekton's format, merged, `StartedAt` at start.

use std::time::SystemTime;

use crate::harness::{termination_entries as entries, Sandbox};

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
    let after = SystemTime::now();
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
    // The clock's time during the run, to the millisecond, as GNU date
    // reads it.
    let date = std::process::Command::new("date")
        .args(["-u", "-d", started, "+%s%3N"])
        .output()
        .unwrap();
    let at: u128 = String::from_utf8_lossy(&date.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("date cannot read {started}: {e}"));
    let ms = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    };
    assert!(
        ms(before) <= at && at <= ms(after),
        "{started} is not between {} and {} ms",
        ms(before),
        ms(after)
    );
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

/// The lines of `stderr` that say the termination message was not written.
fn unwritten_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("termination message"))
        .collect()
}

/// A termination path that cannot be written (here under a regular file)
/// costs the step nothing but one warning line, shown at the default level,
/// that names the path and the OS error: the exit code and the marker are
/// the command's, under both supervisors.
#[test]
fn an_unwritable_termination_path_is_one_warning_and_the_verdict_is_the_commands() {
    for supervisor in crate::harness::SUPERVISORS {
        for (code, marker) in [(0, "out"), (3, "out.err")] {
            let sb = Sandbox::new();
            std::fs::write(sb.path("file"), "").unwrap();
            let script = format!("touch ran; exit {code}");
            let out = sb.run(crate::harness::under(
                supervisor,
                &[
                    "--termination-path",
                    "file/term",
                    "--post-file",
                    "out",
                    "--",
                    "sh",
                    "-c",
                    &script,
                ],
            ));
            out.expect_code(code);
            assert!(sb.exists("ran"));
            assert_eq!(sb.read(marker), format!("{code}\n"), "{}", out.stderr);
            let lines: Vec<&str> = out.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "one line: {}", out.stderr);
            assert!(
                lines[0].contains(" WARN ")
                    && lines[0].contains("file/term")
                    && lines[0].ends_with("Not a directory (os error 20)"),
                "{}",
                out.stderr
            );
        }
    }
}

/// As podman runs a pod (it ignores `terminationMessagePath`): a non-root
/// baton cannot create its termination log under `/dev`. The step runs and
/// succeeds all the same, with one warning naming the path, Permission
/// denied. Run as root, the step drops to uid and gid 65534 first.
#[test]
fn a_non_root_step_that_cannot_create_its_termination_log_still_succeeds() {
    use std::os::unix::process::CommandExt as _;
    let sb = Sandbox::new();
    let log = format!("/dev/baton-termination-log-{}", std::process::id());
    assert!(!std::path::Path::new(&log).exists(), "{log} exists");
    let mut command = sb.baton([
        "--termination-path",
        &log,
        "--post-file",
        "run/1",
        "--",
        "sh",
        "-c",
        "id -u > uid",
    ]);
    if crate::harness::is_root() {
        let nobody = nix::unistd::Uid::from_raw(65534);
        let nogroup = nix::unistd::Gid::from_raw(65534);
        nix::unistd::chown(sb.root(), Some(nobody), Some(nogroup)).unwrap();
        // A copy in the sandbox: uid 65534 may not reach the build's
        // (a checkout under /root, mode 0700).
        let copy = sb.root().join("baton");
        std::fs::copy(crate::harness::BATON, &copy).unwrap();
        let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
        command = std::process::Command::new(&copy);
        command.args(args).current_dir(sb.root());
        // SAFETY: between fork and exec only setgroups, setgid and setuid,
        // system calls that are async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                nix::unistd::setgroups(&[])?;
                nix::unistd::setgid(nogroup)?;
                nix::unistd::setuid(nobody)?;
                Ok(())
            });
        }
    }
    let out = sb.start(command).finish();
    out.expect_code(0);
    assert_ne!(sb.read("uid").trim(), "0", "the step ran as root");
    assert_eq!(sb.read("run/1"), "0\n");
    assert!(!std::path::Path::new(&log).exists());
    let lines = unwritten_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains(&format!("writing {log}: Permission denied (os error 13)")),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

/// The warning goes through baton's log like everything else it says: a
/// level that leaves warnings out (`--log-level error`) leaves it out too,
/// and `--log-format json` gives it as JSON.
#[test]
fn the_unwritten_message_warning_follows_the_log_settings() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("file"), "").unwrap();
    let args = ["--termination-path", "file/term"];
    let out = sb.run(args.iter().chain(&["--log-level", "error", "--", "true"]));
    out.expect_code(0);
    assert_eq!(out.stderr, "", "--log-level error");
    let out = sb.run(args.iter().chain(&["--log-format", "json", "--", "true"]));
    out.expect_code(0);
    let line: serde_json::Value =
        serde_json::from_str(out.stderr.trim()).unwrap_or_else(|e| panic!("{e}: {}", out.stderr));
    assert_eq!(line["level"], "WARN", "{line}");
    let message = line["fields"]["message"].as_str().unwrap();
    assert!(message.contains("file/term"), "{line}");
}

/// In Tekton's mode baton does what Tekton's entrypoint does when its
/// deferred write of the message fails (`log.Fatalf`): the marker and the
/// `exitCode` file are the command's, written first, and the step exits 1
/// with one error line naming the path.
#[test]
fn in_tekton_mode_an_unwritable_termination_path_exits_1_after_the_marker() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("file"), "").unwrap();
    let out = sb.run([
        "--mode",
        "tekton",
        "-termination_path",
        "file/term",
        "-post_file",
        "out",
        "-step_metadata_dir",
        "meta",
        "--",
        "true",
    ]);
    out.expect_code(1);
    assert_eq!(sb.read("out"), "", "Tekton's success marker, empty");
    assert!(!sb.exists("out.err"));
    assert_eq!(sb.read("meta/exitCode"), "0");
    let lines = unwritten_lines(&out.stderr);
    assert!(
        lines.is_empty(),
        "no warning besides the error: {}",
        out.stderr
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains(" ERROR ")
            && lines[0].ends_with("reading file/term: Not a directory (os error 20)"),
        "{}",
        out.stderr
    );
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
