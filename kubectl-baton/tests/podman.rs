//! The examples under `podman kube play`, an implementation of pod semantics
//! independent of the test kubelet (tests/it/kubelet.rs): each example is
//! rendered with `kubectl baton render --for podman`, played as root in a
//! private store under target/podman (the one scripts/play uses), and judged
//! by what podman reports: exit codes, logs, the order the containers
//! finished in, the markers and their owners in the pod's volumes. Also
//! baton's image: what the Dockerfile puts in it, what .dockerignore lets
//! into the build context, and that it runs.
//!
//! These need root, podman and the static binaries (scripts/build-static),
//! so they are `#[ignore]`d; scripts/test runs them where it can, and under
//! `CI=true`, where a missing piece fails at the test's start. Pods are
//! played one at a time, and every wait has a deadline: a loaded machine
//! makes them slower, never wrong.

mod podman {
    use std::collections::BTreeSet;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};
    use std::sync::{Mutex, MutexGuard, OnceLock};
    use std::time::{Duration, Instant};

    use kubectl_baton::input;

    /// How long one pod may take, start to end, before the test fails.
    const DEADLINE: Duration = Duration::from_mins(2);
    /// The image tags the examples name.
    const BATON_IMAGE: &str = kubectl_baton::DEFAULT_IMAGE;
    fn repo() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the workspace")
    }

    /// The private store: target/podman, as scripts/play's.
    fn dir() -> PathBuf {
        std::env::var_os("BATON_PODMAN_DIR")
            .map_or_else(|| repo().join("target/podman"), PathBuf::from)
    }

    /// `podman` with the private store and its configuration.
    fn podman() -> Command {
        let dir = dir();
        let mut command = Command::new("podman");
        command
            .env("CONTAINERS_CONF", dir.join("containers.conf"))
            .arg("--root")
            .arg(dir.join("root"))
            .arg("--runroot")
            .arg(dir.join("runroot"))
            .arg("--tmpdir")
            .arg(dir.join("tmp"))
            .args(["--cgroup-manager=cgroupfs", "--events-backend=file"]);
        command
    }

    fn output(command: &mut Command) -> Output {
        command
            .output()
            .unwrap_or_else(|e| panic!("running {command:?}: {e}"))
    }

    /// Runs podman ARGS, which must succeed; its stdout.
    fn run(args: &[&str]) -> String {
        let out = output(podman().args(args));
        assert!(
            out.status.success(),
            "podman {}: {}\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 from podman")
    }

    /// Why these tests cannot run here, if they cannot.
    fn unavailable() -> Option<String> {
        if !nix_is_root() {
            return Some("podman kube play runs rootful here: not running as root".into());
        }
        if Command::new("podman").arg("--version").output().is_err() {
            return Some("podman is not installed (apt-get install podman)".into());
        }
        for binary in [
            "target/x86_64-unknown-linux-gnu/release/baton",
            "target/tekton/x86_64-unknown-linux-gnu/release/baton",
        ] {
            if !repo().join(binary).exists() {
                return Some(format!(
                    "{binary} is missing: build it with scripts/build-static"
                ));
            }
        }
        if busybox().is_none() {
            return Some("busybox is not installed (apt-get install busybox-static)".into());
        }
        None
    }

    fn nix_is_root() -> bool {
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }

    fn busybox() -> Option<&'static str> {
        ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .find(|p| Path::new(p).exists())
    }

    /// The configuration and both images, once per test process; then the
    /// lock that plays one pod at a time.
    fn ready() -> MutexGuard<'static, ()> {
        static IMAGES: OnceLock<()> = OnceLock::new();
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        if let Some(why) = unavailable() {
            panic!("cannot run the podman tests: {why}");
        }
        let guard = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        IMAGES.get_or_init(build_images);
        guard
    }

    /// The store, its configuration and both images, as scripts/play makes
    /// them (`--images`: one definition of each).
    fn build_images() {
        let out = output(
            Command::new(repo().join("scripts/play"))
                .arg("--images")
                .env("BATON_PODMAN_DIR", dir()),
        );
        assert!(
            out.status.success(),
            "scripts/play --images: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// One container as podman saw it.
    #[derive(Debug)]
    struct Container {
        name: String,
        code: i32,
        log: String,
        finished: i64,
    }

    /// A pod played; removed, with its volumes, when dropped.
    #[derive(Debug)]
    struct Pod {
        name: String,
        volumes: Vec<String>,
    }

    impl Drop for Pod {
        fn drop(&mut self) {
            let _ = output(podman().args(["pod", "rm", "--force", &self.name]));
            // podman keeps a volume that only initContainers mount.
            for volume in &self.volumes {
                let _ = output(podman().args(["volume", "rm", "--force", volume]));
            }
        }
    }

    /// Renders `examples/NAME.yaml` for podman and plays it; waits for the pod
    /// to end.
    fn play(example: &str) -> Pod {
        let file = repo().join("examples").join(format!("{example}.yaml"));
        let rendered = output(
            Command::new(env!("CARGO_BIN_EXE_kubectl-baton"))
                .args(["render", "--for", "podman", "-f"])
                .arg(&file),
        );
        assert!(
            rendered.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        let text = String::from_utf8(rendered.stdout).expect("UTF-8");
        let docs = input::parse(&input::Source(example.into()), &text, false).expect("YAML");
        assert_eq!(docs.len(), 1, "{example}: one document");
        let pod = &docs[0].value;
        assert_eq!(pod.str_at("kind"), Some("Pod"), "{example}");
        let name = pod
            .get("metadata")
            .and_then(|m| m.str_at("name"))
            .expect("a name")
            .to_owned();
        let volumes: Vec<String> = pod
            .get("spec")
            .into_iter()
            .flat_map(|s| s.items_at("volumes"))
            .filter(|v| v.get("emptyDir").is_some())
            .filter_map(|v| v.str_at("name").map(str::to_owned))
            .collect();
        assert!(
            volumes.iter().all(|v| v.starts_with(&format!("{name}-"))),
            "{example}: every emptyDir named after the pod: {volumes:?}"
        );
        let path = dir().join(format!("test-{}.yaml", example.replace('/', "-")));
        std::fs::write(&path, &text).expect("the rendered pod");
        // Left behind by a run that was killed: it would clash.
        let played = Pod { name, volumes };
        drop(output(podman().args([
            "pod",
            "rm",
            "--force",
            &played.name,
        ])));
        let out = output(
            podman()
                .args(["kube", "play", "--network", "none"])
                .arg(&path)
                .stderr(std::process::Stdio::null()),
        );
        assert!(out.status.success(), "{example}: podman kube play failed");
        let start = Instant::now();
        loop {
            let state = run(&["pod", "inspect", &played.name, "--format", "{{.State}}"]);
            if state.trim() == "Exited" {
                break;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{example}: the pod is still {} after {DEADLINE:?}: {:#?}",
                state.trim(),
                played.containers()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        played
    }

    impl Pod {
        /// Its containers, in the order podman created them, without the
        /// infra container.
        fn containers(&self) -> Vec<Container> {
            let list = run(&[
                "ps",
                "--all",
                "--filter",
                &format!("pod={}", self.name),
                "--sort",
                "created",
                "--format",
                "{{.Names}} {{.IsInfra}}",
            ]);
            list.lines()
                .filter_map(|l| l.strip_suffix(" false"))
                .map(|full| {
                    let state = run(&[
                        "inspect",
                        full,
                        "--format",
                        "{{.State.ExitCode}} {{.State.FinishedAt.UnixNano}}",
                    ]);
                    let (code, finished) = state.trim().split_once(' ').expect("two fields");
                    let log = output(podman().args(["logs", full]));
                    let mut text = String::from_utf8_lossy(&log.stdout).into_owned();
                    text.push_str(&String::from_utf8_lossy(&log.stderr));
                    Container {
                        name: full
                            .strip_prefix(&format!("{}-", self.name))
                            .unwrap_or(full)
                            .to_owned(),
                        code: code.parse().expect("an exit code"),
                        log: text,
                        finished: finished.parse().expect("a time"),
                    }
                })
                .collect()
        }

        /// Where the pod's volume `NAME` (as the example names it) is.
        fn volume(&self, name: &str) -> PathBuf {
            let full = format!("{}-{name}", self.name);
            PathBuf::from(run(&["volume", "inspect", &full, "--format", "{{.Mountpoint}}"]).trim())
        }
    }

    fn codes(containers: &[Container]) -> Vec<(&str, i32)> {
        containers
            .iter()
            .map(|c| (c.name.as_str(), c.code))
            .collect()
    }

    /// Plays `example` as wired by hand, then its plain twin as render wires
    /// it; `check` judges each, given the pod and its containers.
    fn twins(example: &str, check: impl Fn(&Pod, &[Container])) {
        let _one = ready();
        for example in [example.to_owned(), format!("plain/{example}")] {
            let pod = play(&example);
            check(&pod, &pod.containers());
        }
    }

    fn uid(path: &Path) -> u32 {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .uid()
    }

    #[test]
    #[ignore = "needs root and podman"]
    fn the_sequential_job_runs_in_order_as_uid_2000() {
        twins("sequential-job", |pod, cs| {
            // The initContainer is gone: podman removes it once it is done.
            assert_eq!(
                codes(cs),
                [("step-1", 0), ("step-2", 0), ("step-3", 0)],
                "{cs:#?}"
            );
            assert!(cs[0].log.contains("step 1 writing as 2000:2000"), "{cs:#?}");
            assert!(
                cs[1].log.contains("step 2 read: hello from step 1"),
                "{cs:#?}"
            );
            assert_eq!(cs[2].log, "hello from step 1\nand from step 2\n", "{cs:#?}");
            assert!(
                cs[0].finished <= cs[1].finished && cs[1].finished <= cs[2].finished,
                "finished out of order: {cs:#?}"
            );
            // No fsGroup: each volume belongs to the pod's user, who made it.
            for i in 0..3 {
                let run = pod.volume(&format!("baton-run-{i}"));
                assert_eq!(uid(&run), 2000, "baton-run-{i}");
                assert_eq!(uid(&run.join("post")), 2000, "baton-run-{i}/post");
            }
            assert_eq!(uid(&pod.volume("work").join("data")), 2000);
            assert_eq!(uid(&pod.volume("baton-bin").join("baton")), 2000);
        });
    }

    #[test]
    #[ignore = "needs root and podman"]
    fn after_a_failing_step_the_next_is_skipped() {
        twins("failing-step", |pod, cs| {
            assert_eq!(
                codes(cs),
                [("step-1", 0), ("step-2", 3), ("step-3", 1)],
                "{cs:#?}"
            );
            assert!(
                cs[2]
                    .log
                    .contains("skipped: /baton-run/step-2/post.err exists"),
                "{cs:#?}"
            );
            assert!(!cs[2].log.contains("must not run"), "{cs:#?}");
            let marker = |i: usize, name: &str| pod.volume(&format!("baton-run-{i}")).join(name);
            for (i, name) in [(0, "post"), (1, "post.err"), (2, "post.err")] {
                assert!(marker(i, name).exists(), "baton-run-{i}/{name}: {cs:#?}");
            }
            assert!(!marker(1, "post").exists() && !marker(2, "post").exists());
        });
    }

    #[test]
    #[ignore = "needs root and podman"]
    fn the_sidecar_is_ready_first_and_stopped_once_the_app_is_done() {
        twins("sidecar-ready", |pod, cs| {
            assert_eq!(codes(cs), [("config-sidecar", 0), ("app", 0)], "{cs:#?}");
            assert!(
                cs[1]
                    .log
                    .contains("app: using greeting=hello from the sidecar"),
                "{cs:#?}"
            );
            assert!(cs[0].log.contains("sidecar: stopping"), "{cs:#?}");
            assert!(cs[1].finished <= cs[0].finished, "{cs:#?}");
            let sidecar = pod.volume("baton-run-0");
            assert!(sidecar.join("ready").exists());
            assert!(sidecar.join("post").exists(), "stopped: a success");
        });
    }

    #[test]
    #[ignore = "needs root and podman"]
    fn the_failure_policy_job_gives_its_exit_codes() {
        twins("pod-failure-policy", |_, cs| {
            // step-3 skipped, with the code --exit-code-for Skipped=3 gives it.
            assert_eq!(
                codes(cs),
                [("step-1", 0), ("step-2", 42), ("step-3", 3)],
                "{cs:#?}"
            );
        });
    }

    #[test]
    #[ignore = "needs root and podman"]
    fn a_cronjob_and_an_indexed_job_play_as_one_pod_each() {
        let _one = ready();
        let pod = play("cronjob");
        let cs = pod.containers();
        assert_eq!(codes(&cs), [("backup", 0), ("verify", 0)], "{cs:#?}");
        assert_eq!(cs[1].log, "verify: rows=42 ok\n", "{cs:#?}");
        drop(pod);
        let pod = play("indexed-job");
        let cs = pod.containers();
        assert_eq!(codes(&cs), [("fetch", 0), ("report", 0)], "{cs:#?}");
        assert_eq!(cs[1].log, "report: processed item-0 in pod 0\n", "{cs:#?}");
    }

    #[test]
    #[ignore = "needs root and podman"]
    fn a_second_run_starts_afresh() {
        let _one = ready();
        for run in 1..=2 {
            let pod = play("failing-step");
            let cs = pod.containers();
            assert_eq!(
                codes(&cs),
                [("step-1", 0), ("step-2", 3), ("step-3", 1)],
                "run {run}: {cs:#?}"
            );
            assert_eq!(cs[0].log, "step 1 ok\n", "run {run}: step 1 ran");
            drop(pod);
            let left = run_volumes();
            assert!(
                !left.iter().any(|v| v.starts_with("failing-step-")),
                "run {run}: volumes left: {left:?}"
            );
        }
    }

    fn run_volumes() -> Vec<String> {
        run(&["volume", "ls", "--format", "{{.Name}}"])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Every file and directory under `root`, relative to it.
    fn tree(root: &Path) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo = vec![root.to_path_buf()];
        while let Some(dir) = todo.pop() {
            for entry in std::fs::read_dir(&dir).expect("a directory") {
                let path = entry.expect("an entry").path();
                let rel = path.strip_prefix(root).expect("below root");
                out.insert(rel.to_string_lossy().into_owned());
                if path.is_dir() && !path.is_symlink() {
                    todo.push(path);
                }
            }
        }
        out
    }

    /// The files of image `tag`, through `podman image mount`.
    fn image_files(tag: &str) -> BTreeSet<String> {
        let mount = run(&["image", "mount", tag]);
        let files = tree(Path::new(mount.trim()));
        run(&["image", "unmount", tag]);
        files
    }

    #[test]
    #[ignore = "needs root and podman"]
    fn the_image_holds_the_binaries_and_the_licence_and_nothing_else() {
        let _one = ready();
        let want: BTreeSet<String> = ["LICENSE", "baton", "ko-app", "ko-app/entrypoint"]
            .map(str::to_owned)
            .into();
        assert_eq!(image_files(BATON_IMAGE), want);
        let licence = std::fs::read_to_string(repo().join("LICENSE")).expect("LICENSE");
        assert!(licence.contains("Apache License") && licence.contains("Version 2.0"));
        // What the static binaries the image holds say (version and commit).
        let version = {
            let out = output(
                Command::new(repo().join("target/x86_64-unknown-linux-gnu/release/baton"))
                    .arg("--version"),
            );
            String::from_utf8(out.stdout).expect("UTF-8")
        };
        assert!(
            version.starts_with(&format!("baton {} (", env!("CARGO_PKG_VERSION"))),
            "{version}"
        );
        let run_it = |entrypoint: &str| {
            run(&[
                "run",
                "--rm",
                "--network",
                "none",
                "--entrypoint",
                entrypoint,
                BATON_IMAGE,
                "--version",
            ])
        };
        assert_eq!(run_it("/baton"), version);
        assert_eq!(run_it("/ko-app/entrypoint"), version);
        assert_eq!(
            run(&["run", "--rm", "--network", "none", BATON_IMAGE, "--version"]),
            version
        );

        // The build context .dockerignore lets in: the two binaries and the
        // licence, not the rest of target/ (hundreds of megabytes).
        let probe = dir().join("context-probe.Containerfile");
        std::fs::write(&probe, "FROM scratch\nCOPY . /context\n").expect("the probe");
        let tag = "localhost/baton-context-probe:test";
        run(&[
            "build",
            "--quiet",
            "--file",
            probe.to_str().expect("UTF-8"),
            "--tag",
            tag,
            repo().to_str().expect("UTF-8"),
        ]);
        let files = image_files(tag);
        run(&["rmi", tag]);
        let want: BTreeSet<String> = [
            "context",
            "context/LICENSE",
            "context/target",
            "context/target/tekton",
            "context/target/tekton/x86_64-unknown-linux-gnu",
            "context/target/tekton/x86_64-unknown-linux-gnu/release",
            "context/target/tekton/x86_64-unknown-linux-gnu/release/baton",
            "context/target/x86_64-unknown-linux-gnu",
            "context/target/x86_64-unknown-linux-gnu/release",
            "context/target/x86_64-unknown-linux-gnu/release/baton",
        ]
        .map(str::to_owned)
        .into();
        assert_eq!(files, want, "the build context");
    }
}
