//! `baton install` and its Tekton spellings.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::harness::Sandbox;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn the_installed_copy_runs_from_its_new_place() {
    let sb = Sandbox::new();
    let mut command = sb.baton(["install", "bin/sub/"]);
    // SAFETY: umask is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
            Ok(())
        });
    }
    let out = sb.start(command).finish();
    out.expect_code(0);
    let installed = sb.path("bin/sub/baton");
    assert_eq!(mode(&installed), 0o755, "the umask narrowed the mode");
    // Run it from elsewhere, by its new path, as another container would.
    let out = Command::new(&installed)
        .args(["--post-file", "out", "--", "echo", "from the copy"])
        .current_dir(sb.path("bin"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from the copy\n");
    // The verdict, and the run of the pod the install began (`pod_run`).
    let run = std::fs::read_to_string(sb.path("bin/sub/baton.run")).unwrap();
    assert_eq!(
        std::fs::read_to_string(sb.path("bin/out")).unwrap(),
        format!("0\nrun {}\n", run.trim())
    );
}

#[test]
fn install_into_an_existing_directory_and_tekton_spellings() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("dir")).unwrap();
    sb.run(["install", "dir"]).expect_code(0);
    assert!(sb.path("dir/baton").is_file());
    sb.run(["cp", "/ko-app/entrypoint", "tekton/bin/entrypoint"])
        .expect_code(0);
    sb.run_in_tekton([
        "init",
        "/ko-app/entrypoint",
        "init/entrypoint",
        "step-a",
        "step-b",
    ])
    .expect_code(0);
    for path in ["tekton/bin/entrypoint", "init/entrypoint"] {
        let out = Command::new(sb.path(path))
            .arg("--version")
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("baton "),
            "{path}"
        );
    }
}

#[test]
fn a_symlink_at_the_destination_is_replaced_not_followed() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("victim"), "keep me").unwrap();
    std::os::unix::fs::symlink(sb.path("victim"), sb.path("link")).unwrap();
    sb.run(["install", "link"]).expect_code(0);
    assert_eq!(
        std::fs::read_to_string(sb.path("victim")).unwrap(),
        "keep me"
    );
    let meta = std::fs::symlink_metadata(sb.path("link")).unwrap();
    assert!(meta.is_file(), "link is still a symlink");
    assert_eq!(mode(&sb.path("link")), 0o755);
    let leftovers: Vec<_> = std::fs::read_dir(sb.root())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn install_failure_names_the_path() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("file"), "").unwrap();
    let out = sb.run(["install", "file/baton"]);
    assert_ne!(out.code(), 0);
    assert!(out.stderr.contains("file/baton"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}
