//! A command the kernel's OOM killer ends is reported as such, in a memory
//! cgroup of its own (as Kubernetes gives every container one).

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::harness::{require_root, termination_entries, Sandbox, BATON};

/// A memory cgroup of the test's own, limited to `bytes`, under the root of
/// the cgroup v1 memory hierarchy (or of cgroup v2 where memory is there);
/// removed when dropped.
struct MemoryCgroup(PathBuf);

impl MemoryCgroup {
    fn new(bytes: u64) -> Self {
        let name = format!("baton-oom-test-{}", std::process::id());
        let v1 = PathBuf::from("/sys/fs/cgroup/memory").join(&name);
        if fs::create_dir(&v1).is_ok() {
            fs::write(v1.join("memory.limit_in_bytes"), bytes.to_string()).unwrap();
            return Self(v1);
        }
        let v2 = PathBuf::from("/sys/fs/cgroup").join(&name);
        fs::create_dir(&v2).unwrap_or_else(|e| panic!("cannot make a memory cgroup here: {e}"));
        fs::write(v2.join("memory.max"), bytes.to_string())
            .unwrap_or_else(|e| panic!("no memory controller in cgroup v2 here: {e}"));
        Self(v2)
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

#[test]
#[ignore = "needs root (a memory cgroup): scripts/test runs it where it can"]
fn an_oom_killed_command_is_reported_as_oom_killed() {
    require_root("a memory cgroup", &["python3"]);
    let cgroup = MemoryCgroup::new(64 * 1024 * 1024);
    let sb = Sandbox::new();
    // The shell moves itself into the cgroup, then becomes baton, whose
    // command asks for four times the limit.
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec {BATON} --post-file p --termination-path tm \
         -- python3 -c 'b = bytearray(256 * 1024 * 1024); b[::4096] = b\"x\" * len(b[::4096])'",
        cgroup.0.display()
    );
    let mut command = Command::new("sh");
    command.args(["-c", &script]).current_dir(sb.root());
    let out = sb.start(command).finish();
    out.expect_code(137);
    assert!(out.stderr.contains("OOM killer"), "{}", out.stderr);
    let entries = termination_entries(&sb.read("tm"));
    assert!(
        entries
            .iter()
            .any(|(k, v, _)| k == "Reason" && v == "OOMKilled"),
        "{entries:?}"
    );
    assert_eq!(sb.read("p.err"), "137\n");
}
