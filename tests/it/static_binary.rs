//! The release binary is static: it runs in an empty root, as in a
//! `FROM scratch` image, with nothing but itself.

use std::process::Command;

use crate::harness::{cannot_run, require_root, Sandbox};

#[test]
#[ignore = "needs root (chroot) and the static binary: scripts/test runs it where it can"]
fn the_static_binary_runs_in_an_empty_root() {
    let Ok(binary) = std::env::var("BATON_STATIC_BIN") else {
        cannot_run("BATON_STATIC_BIN is not set: run scripts/test, which builds it");
    };
    require_root("chroot into an empty root", &["chroot"]);
    let sb = Sandbox::new();
    let root = sb.path("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::copy(&binary, root.join("baton")).unwrap();
    let chroot = |args: &[&str]| {
        let out = Command::new("chroot")
            .arg(&root)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "chroot {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // No /proc here: install falls back to argv[0].
    chroot(&["/baton", "install", "/bin/"]);
    let out = chroot(&[
        "/bin/baton",
        "--post-file",
        "/m/out",
        "--",
        "/baton",
        "--version",
    ]);
    assert!(out.starts_with("baton "), "{out}");
    assert_eq!(std::fs::read_to_string(root.join("m/out")).unwrap(), "0\n");
    let entries: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        entries.len(),
        3,
        "only baton, bin/ and m/ in the root: {entries:?}"
    );
}
