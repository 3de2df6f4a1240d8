//! Whether the kernel's OOM killer ended the command. A command killed that
//! way exits like any SIGKILL (137) and the kubelet, which sees baton live
//! on, reports an ordinary error; so when the command dies of SIGKILL, baton
//! looks at its own cgroup, the container's: a count of OOM kills above zero
//! (cgroup v2 `memory.events`, or v1 `memory.oom_control`, line `oom_kill`)
//! means the reason is `OOMKilled`. Kubernetes gives every container a
//! cgroup of its own, new at each start, so the count is of the container's
//! own life; outside a container an earlier OOM kill in the same cgroup
//! would count too. Nothing is read unless the command died of SIGKILL.

use std::fs;
use std::path::PathBuf;

/// Where the cgroup filesystems are.
const ROOT: &str = "/sys/fs/cgroup";

/// The OOM kills counted in baton's cgroup, if one can be read.
pub fn kills() -> Option<u64> {
    let cgroups = fs::read_to_string("/proc/self/cgroup").ok()?;
    candidates(&cgroups)
        .into_iter()
        .find_map(|file| fs::read_to_string(file).ok())
        .and_then(|text| count(&text))
}

/// The files that may hold the count, most likely first: cgroup v2's
/// `memory.events` (unified at the root, or under `unified/` on a hybrid
/// host), then v1's `memory.oom_control`.
fn candidates(cgroups: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in cgroups.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            out.insert(0, PathBuf::from(ROOT).join(path).join("memory.events"));
            out.insert(
                1,
                PathBuf::from(ROOT)
                    .join("unified")
                    .join(path)
                    .join("memory.events"),
            );
        } else if controllers.split(',').any(|c| c == "memory") {
            out.push(
                PathBuf::from(ROOT)
                    .join("memory")
                    .join(path)
                    .join("memory.oom_control"),
            );
        }
    }
    out
}

/// The `oom_kill N` line of either file.
fn count(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::{candidates, count};
    use std::path::PathBuf;

    #[test]
    fn v2_first_then_v1() {
        let files = candidates("0::/kubepods/pod1/c1\n4:memory:/kubepods/pod1/c1\n");
        assert_eq!(
            files,
            [
                PathBuf::from("/sys/fs/cgroup/kubepods/pod1/c1/memory.events"),
                PathBuf::from("/sys/fs/cgroup/unified/kubepods/pod1/c1/memory.events"),
                PathBuf::from("/sys/fs/cgroup/memory/kubepods/pod1/c1/memory.oom_control"),
            ]
        );
        assert_eq!(count("low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n"), Some(1));
        assert_eq!(
            count("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"),
            Some(3)
        );
        assert_eq!(count("oom 1\n"), None);
    }
}
