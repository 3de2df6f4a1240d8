//! Zombies: orphans are reaped, as subreaper and as PID 1; leftovers of the
//! command's group are stopped when it exits.

use std::process::Command;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::harness::{children_of, require_root, under, wait_for, Sandbox, BATON, SUPERVISORS};

/// Makes 100 orphans (`sleep` processes whose parent shell has exited), says
/// so, then waits for the test to let it finish.
const ORPHANS: &str = "for i in $(seq 100); do (sleep 1000 &); done; touch spawned; \
                       while [ ! -e finish ]; do sleep 0.02; done";

/// The test's half: the orphans must have come to `reaper`; they are killed,
/// and none may be left as a zombie.
fn check_orphans_reaped(sb: &Sandbox, reaper: i32) {
    wait_for("the orphans to be spawned", || sb.exists("spawned"));
    let orphans = || -> Vec<(i32, char, String)> {
        children_of(reaper)
            .into_iter()
            .filter(|(_, _, comm)| comm == "sleep")
            .collect()
    };
    wait_for("100 orphans re-parented to baton", || {
        orphans().len() == 100
    });
    for (pid, _, _) in orphans() {
        kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    }
    wait_for("every orphan to be reaped", || orphans().is_empty());
    std::fs::write(sb.path("finish"), "").unwrap();
}

#[test]
fn orphans_are_reaped_by_baton_as_a_subreaper() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let run = sb.start(sb.baton(under(supervisor, &["--", "sh", "-c", ORPHANS])));
        check_orphans_reaped(&sb, run.pid());
        run.finish().expect_code(0);
    }
}

#[test]
#[ignore = "needs root (unshare): scripts/test runs it where it can"]
fn orphans_are_reaped_by_baton_as_pid_1() {
    require_root("the PID-1 test (unshare --pid)", &["unshare"]);
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let script = format!("[ $$ -ne 1 ] && echo \"baton is PID $PPID\" > ppid; {ORPHANS}");
        let mut command = Command::new("unshare");
        command
            .args(["--pid", "--fork", "--mount-proc", BATON])
            .args(under(supervisor, &["--", "sh", "-c", &script]))
            .current_dir(sb.root());
        let run = sb.start(command);
        wait_for("unshare to start baton", || {
            children_of(run.pid()).len() == 1
        });
        let baton = children_of(run.pid())[0].0;
        check_orphans_reaped(&sb, baton);
        run.finish().expect_code(0);
        assert_eq!(sb.read("ppid"), "baton is PID 1\n");
    }
}

#[test]
fn what_the_command_leaves_behind_is_stopped_when_it_exits() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let out = sb.run(under(supervisor, &[
            "--",
            "sh",
            "-c",
            "echo $$ > pgid; sleep 1000 & sh -c 'trap \"touch cleaned; exit 0\" TERM; touch trapped; while :; do sleep 0.02; done' & \
             while [ ! -e trapped ]; do sleep 0.02; done; exit 0",
        ]));
        out.expect_code(0);
        let group = sb.group("pgid");
        assert!(!group.exists(), "a leftover survived baton");
        assert!(
            sb.exists("cleaned"),
            "the leftover got no SIGTERM to clean up"
        );
    }
}

/// The command exits once its child A has left the group (setsid); A's child
/// B stays in the group, and A reaps B itself, so baton gets no SIGCHLD when
/// the group empties. A lingers outside the group.
const REAPED_ELSEWHERE: &str = "
import os, sys, time
if os.fork() == 0:
    b = os.fork()
    if b == 0:
        time.sleep(1000)
        os._exit(0)
    os.setsid()
    open('a.pid', 'w').write(f'{os.getpid()}\\n')
    os.waitpid(b, 0)
    time.sleep(1000)
    os._exit(0)
while not os.path.exists('a.pid'):
    time.sleep(0.01)
";

#[test]
fn a_group_emptied_without_a_sigchld_for_baton_still_ends_the_step() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        // A grace period the test cannot wait out: only the periodic look
        // at the group can end the step.
        let args = [
            "--grace-period",
            "1h",
            "--",
            "python3",
            "-c",
            REAPED_ELSEWHERE,
        ];
        let run = sb.start(sb.baton(under(supervisor, &args)));
        let out = run.finish();
        let a: i32 = sb.wait_line("a.pid").trim().parse().unwrap();
        kill(Pid::from_raw(a), Signal::SIGKILL).unwrap();
        out.expect_code(0);
    }
}

/// The command leaves a zombie B in its group whose parent A (gone from the
/// group with setsid) never reaps it: no signal can empty the group, and
/// baton gives up on it after SIGKILL rather than hang.
const UNREAPED_ZOMBIE: &str = "
import os, time
if os.fork() == 0:
    if os.fork() == 0:
        os._exit(0)
    os.setsid()
    open('a.pid', 'w').write(f'{os.getpid()}\\n')
    time.sleep(1000)
    os._exit(0)
while not os.path.exists('a.pid'):
    time.sleep(0.01)
";

#[test]
fn a_group_kept_alive_by_a_zombie_nobody_reaps_is_given_up() {
    for supervisor in SUPERVISORS {
        let sb = Sandbox::new();
        let args = [
            "--grace-period",
            "200ms",
            "--log-level",
            "warn",
            "--",
            "python3",
            "-c",
            UNREAPED_ZOMBIE,
        ];
        let out = sb.start(sb.baton(under(supervisor, &args))).finish();
        let a: i32 = sb.wait_line("a.pid").trim().parse().unwrap();
        kill(Pid::from_raw(a), Signal::SIGKILL).unwrap();
        out.expect_code(0);
        assert!(
            out.stderr.contains("still not empty after SIGKILL"),
            "{}",
            out.stderr
        );
    }
}
