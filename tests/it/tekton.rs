//! What Tekton's init containers ask of the entrypoint binary: the copy with
//! Tekton's mode, the `/tekton/steps` links, and `decode-script` run the way
//! the place-scripts container runs it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::harness::{Sandbox, BATON};

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn init_copies_with_tekton_s_mode_and_links_every_step_by_name_and_index() {
    let sb = Sandbox::new();
    let root = sb.path("tekton");
    for _ in 0..2 {
        // Twice: a restarted init container finds its links already there.
        let mut init = sb.baton([
            "init",
            "/ko-app/entrypoint",
            "tekton/bin/entrypoint",
            "build",
            "push",
        ]);
        init.env("BATON_TEKTON_ROOT", &root);
        sb.start(init).finish().expect_code(0);
    }
    assert_eq!(mode(&root.join("bin/entrypoint")), 0o311);
    for (link, i) in [("build", 0), ("0", 0), ("push", 1), ("1", 1)] {
        let target = fs::read_link(root.join("steps").join(link)).unwrap();
        assert_eq!(target, root.join(format!("run/{i}/status")), "{link}");
    }
    // The step's own run directory, as the controller mounts it, shows through the link.
    fs::create_dir_all(root.join("run/1/status")).unwrap();
    fs::write(root.join("run/1/status/exitCode"), "0").unwrap();
    assert_eq!(
        fs::read_to_string(root.join("steps/push/exitCode")).unwrap(),
        "0"
    );
}

#[test]
fn step_init_links_without_copying() {
    let sb = Sandbox::new();
    let mut step_init = sb.baton(["step-init", "a", "b", "c"]);
    step_init.env("BATON_TEKTON_ROOT", sb.path("t"));
    sb.start(step_init).finish().expect_code(0);
    assert_eq!(
        fs::read_link(sb.path("t/steps/c")).unwrap(),
        sb.path("t/run/2/status")
    );
    assert!(!sb.path("t/bin").exists());
}

/// A `script:` step as Tekton's place-scripts container writes it
/// (`pkg/pod/script.go`): base64 in a heredoc, then `decode-script`.
#[test]
fn decode_script_as_place_scripts_runs_it() {
    let sb = Sandbox::new();
    let script = "#!/bin/sh\nset -e\necho \"$(echo dollar) ${HOME:+home} \\\\ 'quoted'\"\nexit 7\n";
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, script);
    let file = sb.path("scripts/script-0-abcde");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    let place = format!(
        "scriptfile=\"{}\"\ntouch ${{scriptfile}} && chmod +x ${{scriptfile}}\n\
         cat > ${{scriptfile}} << '_EOF_'\n{encoded}\n_EOF_\n{BATON} decode-script \"${{scriptfile}}\"\n",
        file.display()
    );
    let out = sb.start({
        let mut sh = Command::new("sh");
        sh.args(["-c", &place]);
        sh
    });
    out.finish().expect_code(0);
    assert_eq!(fs::read_to_string(&file).unwrap(), script);
    assert_eq!(mode(&file) & 0o111, 0o111, "still executable");
    let ran = Command::new(&file).output().unwrap();
    assert_eq!(ran.status.code(), Some(7));
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout),
        "dollar home \\ 'quoted'\n"
    );
}

#[test]
fn a_script_file_that_is_not_base64_is_bad_input_and_left_alone() {
    let sb = Sandbox::new();
    fs::write(sb.path("s"), "echo not encoded\n").unwrap();
    let out = sb.run(["decode-script", "s"]);
    out.expect_code(2);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("s is not base64"), "{}", out.stderr);
    assert_eq!(sb.read("s"), "echo not encoded\n");
    sb.run(["decode-script", "missing"]).expect_code(125);
}
