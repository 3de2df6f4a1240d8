//! A minimal kubelet for tests: runs the pod template of a manifest in
//! examples/ with runc, the OCI runtime Kubernetes uses underneath, the way a
//! kubelet would:
//!
//! - two root filesystems: baton's image, built from the project's Dockerfile
//!   (`FROM scratch` + `COPY` of the static binary), for every image whose name
//!   mentions baton; and busybox-static with its applet links for every other;
//!   baton reaches the app containers only through the initContainer and an
//!   emptyDir, as in a cluster;
//! - emptyDirs are host directories bind-mounted into the containers that
//!   mount them (mode 0777, or group fsGroup with setgid like the kubelet);
//!   downward-API volumes are written with the kubelet's atomic `..data`
//!   symlink swap and can be updated while the pod runs; env, including
//!   `JOB_COMPLETION_INDEX`; runAsUser/runAsGroup/fsGroup; the termination
//!   message file, read back after each container exits; each container's
//!   output kept apart, every line time-stamped on arrival;
//! - initContainers run one after another to completion; then all app
//!   containers start at once, in a shuffled order, so any order seen comes
//!   from baton and not from here;
//! - pod deletion: SIGTERM to every container, SIGKILL after
//!   `terminationGracePeriodSeconds`.
//!
//! Containers share the host's network namespace (as the containers of a pod
//! share one) and each has its own PID namespace, so baton runs as PID 1.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

/// How long a whole pod may run before the test fails.
const POD_DEADLINE: Duration = Duration::from_secs(90);

/// The repository root (for the Dockerfile and examples/).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Why pods cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("runc needs root".into());
    }
    if Command::new("runc").arg("--version").output().is_err() {
        return Some("runc is not installed (apt-get install runc)".into());
    }
    images().err()
}

/// The two root filesystems, built once per test process.
struct Images {
    baton: PathBuf,
    /// The Dockerfile's ENTRYPOINT, for containers that give only `args`.
    baton_entrypoint: Vec<String>,
    busybox: PathBuf,
}

fn images() -> Result<&'static Images, String> {
    static IMAGES: OnceLock<Result<Images, String>> = OnceLock::new();
    IMAGES
        .get_or_init(build_images)
        .as_ref()
        .map_err(Clone::clone)
}

fn build_images() -> Result<Images, String> {
    let dir = std::env::temp_dir().join(format!("baton-kubelet-images-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    // baton's image, as the Dockerfile builds it: FROM scratch, COPY, ENTRYPOINT.
    let baton = dir.join("baton");
    fs::create_dir_all(&baton).map_err(|e| e.to_string())?;
    let dockerfile = fs::read_to_string(repo().join("Dockerfile")).map_err(|e| e.to_string())?;
    let mut entrypoint = Vec::new();
    for line in dockerfile.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("FROM") if words.next() != Some("scratch") => {
                return Err(format!("the Dockerfile is not FROM scratch: {line}"));
            }
            Some("COPY") => {
                let (Some(src), Some(dest)) = (words.next(), words.next()) else {
                    return Err(format!("unexpected COPY: {line}"));
                };
                let src = repo().join(src);
                if !src.exists() {
                    return Err(format!(
                        "{} is missing: build it with scripts/build-static",
                        src.display()
                    ));
                }
                let dest = baton.join(dest.trim_start_matches('/'));
                if let Some(dir) = dest.parent() {
                    fs::create_dir_all(dir)
                        .map_err(|e| format!("creating {}: {e}", dir.display()))?;
                }
                fs::copy(&src, &dest).map_err(|e| format!("copying {}: {e}", src.display()))?;
            }
            Some("ENTRYPOINT") => {
                let json = line.trim_start_matches("ENTRYPOINT").trim();
                entrypoint = serde_json::from_str(json).map_err(|e| e.to_string())?;
            }
            _ => {}
        }
    }
    // Every other image: busybox-static and a link per applet.
    let busybox = dir.join("busybox");
    fs::create_dir_all(busybox.join("bin")).map_err(|e| e.to_string())?;
    let host_busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or("busybox is not installed (apt-get install busybox-static)")?;
    fs::copy(host_busybox, busybox.join("bin/busybox")).map_err(|e| e.to_string())?;
    let list = Command::new(host_busybox)
        .arg("--list")
        .output()
        .map_err(|e| e.to_string())?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", busybox.join("bin").join(applet));
        }
    }
    Ok(Images {
        baton,
        baton_entrypoint: entrypoint,
        busybox,
    })
}

/// Reads a manifest from examples/ (or, for a path such as
/// `tests/pods/NAME.yaml`, from the repository) and returns its pod
/// template, whatever the kind (`Pod`, `Job`, `CronJob`). A plain manifest
/// (an example's twin, `plain/NAME.yaml`, or `tests/pods/plain-NAME.yaml`:
/// no baton in it) is wired first, as `kubectl baton render` wires it
/// (kubectl-baton's library, with its default image).
pub fn pod_template(example: &str) -> (String, Value) {
    let path = if example.contains('/') && !example.starts_with("plain/") {
        repo().join(example)
    } else {
        repo().join("examples").join(example)
    };
    let mut text = fs::read_to_string(&path).unwrap();
    let file = path.file_name().unwrap().to_string_lossy();
    if example.starts_with("plain/") || file.starts_with("plain-") {
        text = render(example, &text);
    }
    let manifest: Value = serde_yaml::from_str(&text).unwrap();
    let name = manifest["metadata"]["name"].as_str().unwrap().to_owned();
    let template = match manifest["kind"].as_str().unwrap() {
        "Pod" => manifest.clone(),
        "Job" => manifest["spec"]["template"].clone(),
        "CronJob" => manifest["spec"]["jobTemplate"]["spec"]["template"].clone(),
        kind => panic!("unsupported kind {kind}"),
    };
    (name, template)
}

/// `kubectl baton render` of one manifest: the rendered YAML.
fn render(name: &str, text: &str) -> String {
    use kubectl_baton::{input, output, Options};
    let documents = input::parse(&input::Source(name.to_owned()), text, false)
        .unwrap_or_else(|err| panic!("{name}: {}", err.0));
    let rendered = kubectl_baton::render(documents, &Options::default())
        .unwrap_or_else(|errors| panic!("{name}: {}", errors.join("\n")));
    assert!(
        rendered
            .report
            .iter()
            .all(|line| line.contains(": wired (")),
        "{name}: not wired: {:?}",
        rendered.report
    );
    output::write(&rendered.documents, output::Format::Yaml).unwrap()
}

/// What one container did.
#[derive(Debug, Clone)]
pub struct ContainerResult {
    pub name: String,
    pub exit_code: i32,
    /// Output lines (stdout and stderr, like `kubectl logs`), with the time
    /// since the pod started at which each arrived.
    pub log: Vec<(Duration, String)>,
    pub termination_message: String,
    pub started: Duration,
    pub finished: Duration,
}

impl ContainerResult {
    pub fn lines(&self) -> Vec<&str> {
        self.log.iter().map(|(_, l)| l.as_str()).collect()
    }

    /// The termination message as (key, value) pairs.
    pub fn termination(&self) -> Vec<(String, String)> {
        crate::harness::termination_entries(&self.termination_message)
            .into_iter()
            .map(|(key, value, _)| (key, value))
            .collect()
    }

    pub fn termination_value(&self, key: &str) -> Option<String> {
        self.termination()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// What a pod did.
#[derive(Debug)]
pub struct PodResult {
    pub init: Vec<ContainerResult>,
    pub containers: Vec<ContainerResult>,
    /// The pod's host directory (volumes), kept until the result is dropped.
    dir: tempfile::TempDir,
}

impl PodResult {
    /// When the file `name` in volume `volume` was last written, in the form
    /// of `StartedAt` (RFC 3339, UTC, milliseconds): one clock for both, so
    /// the two compare as strings.
    pub fn written_at(&self, volume: &str, name: &str) -> String {
        let path = self.path(volume, name);
        let modified = fs::metadata(&path)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), self.dump()));
        baton::timestamp::rfc3339_millis(modified)
    }

    /// What the file `name` in volume `volume` holds.
    pub fn read(&self, volume: &str, name: &str) -> String {
        let path = self.path(volume, name);
        fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), self.dump()))
    }

    /// Whether the file `name` is in volume `volume`.
    pub fn exists(&self, volume: &str, name: &str) -> bool {
        self.path(volume, name).exists()
    }

    /// The host path of the file `name` in volume `volume`.
    fn path(&self, volume: &str, name: &str) -> PathBuf {
        self.dir.path().join("volumes").join(volume).join(name)
    }

    pub fn container(&self, name: &str) -> &ContainerResult {
        self.containers
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no container {name}"))
    }

    /// Every container's log, for failure messages.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for c in self.init.iter().chain(&self.containers) {
            let _ = writeln!(
                out,
                "--- {} (exit {}, {:?}..{:?}) termination: {}",
                c.name, c.exit_code, c.started, c.finished, c.termination_message
            );
            for (t, line) in &c.log {
                let _ = writeln!(out, "  {t:>10.3?} {line}");
            }
        }
        out
    }
}

/// A pod to run: its template plus what the Job controller would add.
pub struct Pod {
    name: String,
    template: Value,
    env: Vec<(String, String)>,
    annotations: BTreeMap<String, String>,
    dir: tempfile::TempDir,
}

impl Pod {
    pub fn from_example(example: &str) -> Self {
        let (name, template) = pod_template(example);
        let annotations = template["metadata"]["annotations"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            name,
            template,
            env: Vec::new(),
            annotations,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// An Indexed Job's pod: `JOB_COMPLETION_INDEX` in every container, and
    /// the annotation the Job controller sets.
    pub fn with_completion_index(mut self, index: usize) -> Self {
        self.env
            .push(("JOB_COMPLETION_INDEX".into(), index.to_string()));
        self.annotations.insert(
            "batch.kubernetes.io/job-completion-index".into(),
            index.to_string(),
        );
        self
    }

    fn spec(&self) -> &Value {
        &self.template["spec"]
    }

    fn volume_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join("volumes").join(name)
    }

    /// Creates the pod's volumes on the host.
    fn make_volumes(&self) {
        let fs_group = self.spec()["securityContext"]["fsGroup"].as_u64();
        for volume in self.spec()["volumes"].as_array().into_iter().flatten() {
            let name = volume["name"].as_str().unwrap();
            let dir = self.volume_dir(name);
            fs::create_dir_all(&dir).unwrap();
            if volume.get("emptyDir").is_some() {
                // The kubelet makes emptyDirs 0777; with fsGroup, group-owned and setgid.
                let mut mode = 0o777;
                if let Some(gid) = fs_group {
                    chown(&dir, None, Some(u32::try_from(gid).unwrap())).unwrap();
                    mode |= 0o2000;
                }
                fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
            } else if volume.get("downwardAPI").is_some() {
                self.write_downward(volume);
            } else {
                panic!("volume {name}: only emptyDir and downwardAPI are supported");
            }
        }
    }

    /// Writes a downward-API volume the way the kubelet's atomic writer does:
    /// the files live in a time-stamped directory, `..data` points at it, and
    /// each item is a symlink through `..data`; an update swaps `..data`.
    fn write_downward(&self, volume: &Value) {
        let dir = self.volume_dir(volume["name"].as_str().unwrap());
        let stamp = format!(
            "..{}",
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let data = dir.join(&stamp);
        fs::create_dir_all(&data).unwrap();
        for item in volume["downwardAPI"]["items"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let path = item["path"].as_str().unwrap();
            let field = item["fieldRef"]["fieldPath"].as_str().unwrap();
            fs::write(data.join(path), self.field(field)).unwrap();
            let link = dir.join(path);
            if fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(Path::new("..data").join(path), &link).unwrap();
            }
        }
        fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
        let old = fs::read_link(dir.join("..data")).ok();
        let tmp = dir.join("..data_tmp");
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&stamp, &tmp).unwrap();
        fs::rename(&tmp, dir.join("..data")).unwrap();
        if let Some(old) = old {
            let _ = fs::remove_dir_all(dir.join(old));
        }
    }

    /// The value of a downward-API field path.
    fn field(&self, path: &str) -> String {
        if let Some(key) = path
            .strip_prefix("metadata.annotations['")
            .and_then(|k| k.strip_suffix("']"))
        {
            return self.annotations.get(key).cloned().unwrap_or_default();
        }
        if let Some(key) = path
            .strip_prefix("metadata.labels['")
            .and_then(|k| k.strip_suffix("']"))
        {
            return self.template["metadata"]["labels"][key]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
        match path {
            "metadata.name" => self.name.clone(),
            _ => panic!("unsupported fieldPath {path}"),
        }
    }

    /// The mounts of one container: the usual pseudo-filesystems, its volumes,
    /// and the termination-message file.
    fn mounts(&self, container: &Value, term_file: &Path) -> Vec<Value> {
        let mut mounts = vec![
            json!({"destination": "/proc", "type": "proc", "source": "proc"}),
            json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
            json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}),
            json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
            json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}),
            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}),
        ];
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            let source = self.volume_dir(mount["name"].as_str().unwrap());
            let mode = if mount["readOnly"].as_bool() == Some(true) {
                "ro"
            } else {
                "rw"
            };
            mounts.push(json!({
                "destination": mount["mountPath"], "type": "bind",
                "source": source, "options": ["rbind", mode]
            }));
        }
        let term_path = container["terminationMessagePath"]
            .as_str()
            .unwrap_or("/dev/termination-log");
        mounts.push(json!({"destination": term_path, "type": "bind", "source": term_file, "options": ["rbind", "rw"]}));
        mounts
    }

    /// The OCI runtime spec of one container.
    fn oci_spec(&self, container: &Value, term_file: &Path) -> Value {
        let images = images().unwrap();
        let image = container["image"].as_str().unwrap();
        let (root, entrypoint) = if image.contains("baton") {
            (&images.baton, images.baton_entrypoint.clone())
        } else {
            (&images.busybox, Vec::new())
        };
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect()
        };
        let mut args = strings(&container["command"]);
        if args.is_empty() {
            args = entrypoint;
        }
        args.extend(strings(&container["args"]));
        let mut env = vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
            format!("HOSTNAME={}", self.name),
        ];
        env.extend(self.env.iter().map(|(k, v)| format!("{k}={v}")));
        for var in container["env"].as_array().into_iter().flatten() {
            env.push(format!(
                "{}={}",
                var["name"].as_str().unwrap(),
                var["value"].as_str().unwrap_or_default()
            ));
        }
        let security = |key: &str| {
            container["securityContext"][key]
                .as_u64()
                .or_else(|| self.spec()["securityContext"][key].as_u64())
        };
        let uid = security("runAsUser").unwrap_or(0);
        let gid = security("runAsGroup").unwrap_or(0);
        let groups: Vec<u64> = self.spec()["securityContext"]["fsGroup"]
            .as_u64()
            .into_iter()
            .collect();
        let mounts = self.mounts(container, term_file);
        let caps = [
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_FSETID",
            "CAP_FOWNER",
            "CAP_MKNOD",
            "CAP_NET_RAW",
            "CAP_SETGID",
            "CAP_SETUID",
            "CAP_SETFCAP",
            "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT",
            "CAP_KILL",
            "CAP_AUDIT_WRITE",
        ];
        let effective: &[&str] = if uid == 0 { &caps } else { &[] };
        json!({
            "ociVersion": "1.0.2",
            "process": {
                "terminal": false,
                "user": {"uid": uid, "gid": gid, "additionalGids": groups},
                "args": args,
                "env": env,
                "cwd": container["workingDir"].as_str().unwrap_or("/"),
                "capabilities": {"bounding": caps, "effective": effective, "permitted": effective},
                "noNewPrivileges": true
            },
            "root": {"path": root, "readonly": true},
            "hostname": self.name,
            "mounts": mounts,
            "linux": {
                "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
                "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
                "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
            }
        })
    }

    /// Runs the initContainers to completion, then starts every app container.
    pub fn start(self) -> RunningPod {
        self.make_volumes();
        let epoch = Instant::now();
        let mut running = RunningPod {
            pod: self,
            epoch,
            init: Vec::new(),
            containers: Vec::new(),
        };
        let inits: Vec<Value> = running.pod.spec()["initContainers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for init in &inits {
            let mut container = running.launch(init);
            let result = container.wait(epoch, epoch + POD_DEADLINE);
            let failed = result.exit_code != 0;
            running.init.push(result);
            assert!(
                !failed,
                "init container failed:\n{}",
                running.dump_partial()
            );
        }
        let mut apps: Vec<Value> = running.pod.spec()["containers"]
            .as_array()
            .cloned()
            .unwrap();
        shuffle(&mut apps);
        let order: Vec<&str> = apps.iter().map(|c| c["name"].as_str().unwrap()).collect();
        eprintln!(
            "{}: starting app containers in the order {order:?}",
            running.pod.name
        );
        for app in &apps {
            let container = running.launch(app);
            running.containers.push(container);
        }
        running
    }
}

/// A shuffle seeded from the clock: a different order each run.
fn shuffle<T>(items: &mut [T]) {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    let mut seed = (now.as_secs() << 32) ^ u64::from(now.subsec_nanos()) | 1;
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = seed % u64::try_from(i + 1).unwrap();
        items.swap(i, usize::try_from(j).unwrap());
    }
}

/// One container under runc.
struct Container {
    name: String,
    id: String,
    child: Child,
    log: Arc<Mutex<Vec<(Duration, String)>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    term_file: PathBuf,
    started: Duration,
    done: Option<ContainerResult>,
}

impl Container {
    /// Waits for the container to exit (killing it at the deadline).
    fn wait(&mut self, epoch: Instant, deadline: Instant) -> ContainerResult {
        if let Some(done) = &self.done {
            return done.clone();
        }
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                runc(&["kill", &self.id, "KILL"]);
                break self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let finished = epoch.elapsed();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let result = ContainerResult {
            name: self.name.clone(),
            exit_code: status.code().unwrap_or(-1),
            log: self.log.lock().unwrap().clone(),
            termination_message: fs::read_to_string(&self.term_file).unwrap_or_default(),
            started: self.started,
            finished,
        };
        self.done = Some(result.clone());
        result
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.done.is_none() {
            runc(&["kill", &self.id, "KILL"]);
            let _ = self.child.wait();
        }
        runc(&["delete", "--force", &self.id]);
    }
}

fn runc(args: &[&str]) {
    let _ = Command::new("runc")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A pod whose app containers have been started.
pub struct RunningPod {
    pod: Pod,
    epoch: Instant,
    init: Vec<ContainerResult>,
    containers: Vec<Container>,
}

impl RunningPod {
    fn launch(&self, spec: &Value) -> Container {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = spec["name"].as_str().unwrap().to_owned();
        let id = format!(
            "baton-test-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let bundle = self.pod.dir.path().join("bundles").join(&name);
        fs::create_dir_all(&bundle).unwrap();
        // The kubelet creates the termination-log file world-writable.
        let term_file = self.pod.dir.path().join("termination").join(&name);
        fs::create_dir_all(term_file.parent().unwrap()).unwrap();
        fs::write(&term_file, "").unwrap();
        fs::set_permissions(&term_file, fs::Permissions::from_mode(0o666)).unwrap();
        let spec = self.pod.oci_spec(spec, &term_file);
        fs::write(
            bundle.join("config.json"),
            serde_json::to_vec_pretty(&spec).unwrap(),
        )
        .unwrap();
        let mut child = Command::new("runc")
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting runc");
        let started = self.epoch.elapsed();
        let log = Arc::new(Mutex::new(Vec::new()));
        let epoch = self.epoch;
        let mut readers = Vec::new();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = Arc::clone(&log);
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock().unwrap().push((epoch.elapsed(), line));
                }
            }));
        }
        Container {
            name,
            id,
            child,
            log,
            readers,
            term_file,
            started,
            done: None,
        }
    }

    /// Waits until the baton in container `name` watches its files (its
    /// inotify watch is set): it has set up its wait and is waiting.
    pub fn wait_watching(&self, name: &str) {
        let c = self.container(name);
        crate::harness::wait_for(&format!("{name} to wait"), || {
            let Ok(out) = Command::new("runc").args(["state", &c.id]).output() else {
                return false;
            };
            let state: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            state["pid"]
                .as_u64()
                .is_some_and(crate::harness::is_watching)
        });
    }

    /// Waits until container `name` has written the line `line`.
    pub fn wait_line(&self, name: &str, line: &str) {
        let c = self.container(name);
        crate::harness::wait_for(&format!("{name} to say {line:?}"), || {
            c.log.lock().unwrap().iter().any(|(_, l)| l == line)
        });
    }

    /// The running container `name`.
    fn container(&self, name: &str) -> &Container {
        self.containers
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no container {name}"))
    }

    /// Sets an annotation and rewrites every downward-API volume, as the
    /// kubelet does when the pod's metadata changes.
    pub fn set_annotation(&mut self, key: &str, value: &str) {
        self.pod.annotations.insert(key.into(), value.into());
        let volumes: Vec<Value> = self.pod.spec()["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for volume in volumes.iter().filter(|v| v.get("downwardAPI").is_some()) {
            self.pod.write_downward(volume);
        }
    }

    /// Deletes the pod: SIGTERM to every container, SIGKILL to those still
    /// running after `terminationGracePeriodSeconds` (default 30).
    pub fn delete(mut self) -> PodResult {
        let grace = self.pod.spec()["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap_or(30);
        // Like the kubelet, signal every container at once rather than in turn.
        std::thread::scope(|scope| {
            for c in &self.containers {
                scope.spawn(|| runc(&["kill", &c.id, "TERM"]));
            }
        });
        let kill_at = Instant::now() + Duration::from_secs(grace);
        for c in &mut self.containers {
            c.wait(self.epoch, kill_at);
        }
        self.finish()
    }

    /// Waits for every app container to exit.
    pub fn wait(mut self) -> PodResult {
        let deadline = self.epoch + POD_DEADLINE;
        for c in &mut self.containers {
            c.wait(self.epoch, deadline);
        }
        self.finish()
    }

    fn finish(mut self) -> PodResult {
        let containers = self
            .containers
            .iter_mut()
            .map(|c| c.wait(self.epoch, Instant::now()))
            .collect();
        // The containers are deleted before their volumes go.
        drop(std::mem::take(&mut self.containers));
        PodResult {
            init: std::mem::take(&mut self.init),
            containers,
            dir: self.pod.dir,
        }
    }

    fn dump_partial(&self) -> String {
        let mut out = String::new();
        for c in &self.init {
            let _ = writeln!(out, "--- {} (exit {})", c.name, c.exit_code);
            for (t, line) in &c.log {
                let _ = writeln!(out, "  {t:>10.3?} {line}");
            }
        }
        out
    }
}
