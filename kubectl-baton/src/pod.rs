//! Wiring one pod (a Pod, or the pod template of a workload) for baton, and
//! stripping that wiring again.
//!
//! What render adds, and nothing else:
//! - the volume `baton-bin` (an emptyDir) for the binary, written only by the
//!   initContainer `baton-install` (`/baton install /baton-bin/` from the
//!   installer image), mounted read-only at `/baton-bin` in every app container;
//! - one emptyDir per app container, `baton-run-<i>`, for its markers: mounted
//!   at `/baton-run/<name>`, writable in that container only and read-only in
//!   every other (as Tekton mounts `/tekton/run/<i>`), so that no container can
//!   replace the binary or forge another step's verdict;
//! - each app container's `command`: `/baton-bin/baton`, its flags, `--`, then
//!   the original `command` (its `args` stay as they are, and follow);
//! - the annotation `baton.dev/rendered: <version>`, by which a second render
//!   finds the wiring, strips it and does it again.
//!
//! A field render must create is put where it would be put again after a
//! strip (an empty one is taken for absent), so that rendering rendered
//! output gives the same bytes.

use std::collections::BTreeMap;

use crate::flags::{self, Flags};
use crate::order;
use crate::probe;
use crate::value::{Map, Value};
use crate::Options;

/// The annotations render reads and writes.
pub const PREFIX: &str = "baton.dev/";
pub const RENDERED: &str = "baton.dev/rendered";
pub const SIDECARS: &str = "baton.dev/sidecars";
pub const AFTER: &str = "baton.dev/after.";
pub const FLAGS: &str = "baton.dev/flags.";

/// The binary's volume, where the installer writes it and where every app
/// container runs it from.
pub const BIN_VOLUME: &str = "baton-bin";
pub const BIN_DIR: &str = "/baton-bin";
pub const BIN: &str = "/baton-bin/baton";
/// The markers' volumes (`baton-run-<i>`), each at `/baton-run/<name>`.
pub const RUN_VOLUME: &str = "baton-run-";
pub const RUN_DIR: &str = "/baton-run";
/// The initContainer that installs the binary.
pub const INSTALLER: &str = "baton-install";
/// Where the installer image holds baton (see the Dockerfile).
pub const IMAGE_BIN: &str = "/baton";
/// The kubelet's default `terminationMessagePath`.
pub const TERMINATION_LOG: &str = "/dev/termination-log";

/// The version written into `baton.dev/rendered`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What one app container becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub name: String,
    /// Its markers' volume and directory.
    pub volume: String,
    pub dir: String,
    pub role: Role,
    /// Its `terminationMessagePath`.
    pub termination_path: String,
    /// The flags of `baton.dev/flags.<name>`, after render's own.
    pub extra: Vec<String>,
    /// The command it ran before (its own, or the one `--command` gave).
    pub command: Vec<String>,
}

/// A step or a sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A step: the markers (or sidecars' ready files) it waits for.
    Step { waits: Vec<String> },
    /// A sidecar: its `--ready-probe` (none: ready once started) and the
    /// markers that stop it.
    Sidecar {
        probe: Option<String>,
        stops: Vec<String>,
    },
}

impl Planned {
    /// Its verdict marker.
    pub fn post_file(&self) -> String {
        format!("{}/post", self.dir)
    }

    /// A sidecar's ready file.
    pub fn ready_file(&self) -> Option<String> {
        matches!(self.role, Role::Sidecar { .. }).then(|| format!("{}/ready", self.dir))
    }

    /// baton's flags, each one word (`--name=value`).
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        match &self.role {
            Role::Step { waits } => {
                flags.extend(waits.iter().map(|w| format!("--wait-file={w}")));
            }
            Role::Sidecar { probe, stops } => {
                flags.extend(self.ready_file().map(|r| format!("--ready-file={r}")));
                flags.extend(probe.iter().map(|p| format!("--ready-probe={p}")));
                flags.extend(stops.iter().map(|s| format!("--stop-file={s}")));
                if stops.len() > 1 {
                    flags.push("--stop-when-all".to_owned());
                }
            }
        }
        flags.push(format!("--post-file={}", self.post_file()));
        flags.push(format!("--termination-path={}", self.termination_path));
        flags.extend(self.extra.iter().cloned());
        flags
    }

    /// The whole new `command`.
    pub fn wrapped(&self) -> Vec<String> {
        let mut command = vec![BIN.to_owned()];
        command.extend(self.flags());
        command.push("--".to_owned());
        command.extend(self.command.iter().cloned());
        command
    }
}

/// What a pod's wiring will be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Every app container, in the pod's order.
    pub containers: Vec<Planned>,
    /// What a user should know.
    pub notes: Vec<String>,
}

impl Plan {
    pub fn steps(&self) -> usize {
        self.containers
            .iter()
            .filter(|c| matches!(c.role, Role::Step { .. }))
            .count()
    }

    pub fn sidecars(&self) -> usize {
        self.containers.len() - self.steps()
    }
}

/// The outcome of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Wired; `again` when it was wired already (stripped and done again).
    Wired {
        again: bool,
        steps: usize,
        sidecars: usize,
        notes: Vec<String>,
    },
    /// Passed through unchanged, and why when it is a kind render wires.
    Left(Option<String>),
}

/// Wires the pod whose `metadata` and `spec` are in `holder` (a Pod, or a
/// pod template); `template` says which, for where a missing `metadata` goes.
pub fn render(holder: &mut Map, template: bool, options: &Options) -> Result<Outcome, String> {
    let again = annotations(holder).is_some_and(|a| a.get(RENDERED).is_some());
    if again {
        strip(holder);
    } else if let Some(why) = hand_wired(holder) {
        return Ok(Outcome::Left(Some(why)));
    }
    let plan = plan(holder, options)?;
    wire(holder, template, &plan, options);
    Ok(Outcome::Wired {
        again,
        steps: plan.steps(),
        sidecars: plan.sidecars(),
        notes: plan.notes,
    })
}

fn annotations(holder: &Map) -> Option<&Map> {
    holder.get("metadata")?.get("annotations")?.as_map()
}

fn spec(holder: &Map) -> Result<&Map, String> {
    holder
        .get("spec")
        .and_then(Value::as_map)
        .ok_or_else(|| "it has no pod spec".to_owned())
}

fn containers(spec: &Map) -> Result<&Vec<Value>, String> {
    spec.get("containers")
        .and_then(Value::as_seq)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| "its pod spec has no containers".to_owned())
}

/// Why a pod not rendered by render is ordered already: a container whose
/// command runs a `baton` binary (wired by hand, as examples/ are), or
/// Tekton's entrypoint (`/tekton/…`: a pod Tekton's controller built).
fn hand_wired(holder: &Map) -> Option<String> {
    let spec = holder.get("spec")?;
    ["initContainers", "containers"]
        .into_iter()
        .flat_map(|f| spec.items_at(f))
        .find_map(|c| {
            let word = c.items_at("command").next().and_then(Value::as_str)?;
            let name = c.str_at("name").unwrap_or("?");
            if runs_baton(word) {
                Some(format!(
                    "container {name:?} runs baton already: wired by hand"
                ))
            } else if word.starts_with("/tekton/") {
                Some(format!(
                    "container {name:?} runs {word}: a pod of Tekton's, ordered by its entrypoint"
                ))
            } else {
                None
            }
        })
}

/// Whether `word`, a command's first, is a `baton` binary.
pub fn runs_baton(word: &str) -> bool {
    word.rsplit('/').next() == Some("baton")
}

/// Reads what the wiring needs, and checks it: every error is found here,
/// before anything is changed.
pub fn plan(holder: &Map, options: &Options) -> Result<Plan, String> {
    let Annotations {
        sidecars,
        after,
        flags,
    } = read_annotations(holder)?;
    let spec = spec(holder)?;
    let containers = containers(spec)?;
    let names = names(containers)?;
    for name in flags.keys() {
        if !names.contains(&name.as_str()) {
            return Err(format!(
                "{FLAGS}{name} names no app container of the pod (its containers: {})",
                names.join(", ")
            ));
        }
    }
    for s in &sidecars {
        if !names.contains(&s.as_str()) {
            return Err(format!(
                "{SIDECARS} names {s:?}, which is no app container of the pod (its containers: {})",
                names.join(", ")
            ));
        }
    }
    let steps: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !sidecars.iter().any(|s| s == n))
        .collect();
    if steps.is_empty() {
        return Err(format!(
            "{SIDECARS} names every app container: there is no step to run"
        ));
    }
    let order = order::order(&steps, &sidecars, &after)?;
    reserved(spec)?;
    let dir = |name: &str| format!("{RUN_DIR}/{name}");
    // The markers that stop the sidecars: those of the end steps (with more
    // than one, the sidecar waits for all of them: `--stop-when-all`).
    let stops: Vec<String> = if sidecars.is_empty() {
        Vec::new()
    } else {
        order
            .ends()
            .iter()
            .map(|end| format!("{}/post", dir(end)))
            .collect()
    };
    let mut planned = Vec::new();
    let mut notes = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let name = names[i];
        let extra = flags.get(name).cloned().unwrap_or_default();
        let role = if sidecars.iter().any(|s| s == name) {
            // A --ready-probe of the user's own replaces the one read from
            // the container's probes (and that one's notes).
            let probe = if extra.probe().is_some() {
                None
            } else {
                let ready = probe::ready(name, c)?;
                notes.extend(ready.notes);
                ready.spec
            };
            Role::Sidecar {
                probe,
                stops: stops.clone(),
            }
        } else {
            if extra.probe().is_some() {
                return Err(format!(
                    "{FLAGS}{name}: --ready-probe is for a sidecar ({SIDECARS}), and {name:?} is a step"
                ));
            }
            let (_, waits) = order
                .steps
                .iter()
                .find(|(n, _)| n == name)
                .expect("every step is in the order");
            let mut files: Vec<String> = waits.iter().map(|w| format!("{}/post", dir(w))).collect();
            if waits.is_empty() {
                files.extend(sidecars.iter().map(|s| format!("{}/ready", dir(s))));
            }
            if !files.is_empty() && extra.content() {
                return Err(format!(
                    "{FLAGS}{name}: --wait-file-content would apply to the markers render makes {name:?} wait for \
                     too, which are empty: only a step that waits for no step and no sidecar can take it"
                ));
            }
            Role::Step { waits: files }
        };
        planned.push(Planned {
            name: name.to_owned(),
            volume: format!("{RUN_VOLUME}{i}"),
            dir: dir(name),
            role,
            termination_path: termination_path(c, name)?,
            extra: extra.words,
            command: command(c, name, options)?,
        });
    }
    Ok(Plan {
        containers: planned,
        notes,
    })
}

/// The names of the app containers, each once.
fn names(containers: &[Value]) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    for c in containers {
        let name = c
            .str_at("name")
            .ok_or_else(|| "one of its containers has no name".to_owned())?;
        if names.contains(&name) {
            return Err(format!("two of its containers are named {name:?}"));
        }
        if c.get("args").is_some_and(|a| !is_strings(a)) {
            return Err(format!(
                "container {name:?}: its args are not a list of strings"
            ));
        }
        names.push(name);
    }
    Ok(names)
}

fn termination_path(container: &Value, name: &str) -> Result<String, String> {
    match container.get("terminationMessagePath") {
        None => Ok(TERMINATION_LOG.to_owned()),
        Some(Value::String(p)) if !p.is_empty() => Ok(p.clone()),
        Some(_) => Err(format!(
            "container {name:?}: its terminationMessagePath is not a path"
        )),
    }
}

/// What render reads from the pod's annotations; an unknown `baton.dev/`
/// annotation is an error, a typo caught.
struct Annotations {
    sidecars: Vec<String>,
    /// `baton.dev/after.<name>`: name → value.
    after: BTreeMap<String, String>,
    /// `baton.dev/flags.<name>`: name → its flags.
    flags: BTreeMap<String, Flags>,
}

fn read_annotations(holder: &Map) -> Result<Annotations, String> {
    let mut sidecars = Vec::new();
    let mut after = BTreeMap::new();
    let mut flags = BTreeMap::new();
    for (key, value) in annotations(holder).into_iter().flat_map(Map::iter) {
        let Some(rest) = key.strip_prefix(PREFIX) else {
            continue;
        };
        let text = value
            .as_str()
            .ok_or_else(|| format!("the annotation {key} is not a string"))?;
        if key == SIDECARS {
            sidecars = order::list(text);
        } else if let Some(name) = key.strip_prefix(AFTER).filter(|n| !n.is_empty()) {
            after.insert(name.to_owned(), text.to_owned());
        } else if let Some(name) = key.strip_prefix(FLAGS).filter(|n| !n.is_empty()) {
            flags.insert(name.to_owned(), flags::parse(key, text)?);
        } else if key != RENDERED {
            return Err(format!(
                "unknown annotation {key} (render reads {SIDECARS}, {AFTER}<container> and {FLAGS}<container>; {rest:?} is none of them)"
            ));
        }
    }
    Ok(Annotations {
        sidecars,
        after,
        flags,
    })
}

/// The container's command: its own, or the one `--command` gives its image.
fn command(container: &Value, name: &str, options: &Options) -> Result<Vec<String>, String> {
    match container.get("command") {
        Some(words) if !words.is_empty_collection() => {
            if !is_strings(words) {
                return Err(format!(
                    "container {name:?}: its command is not a list of strings"
                ));
            }
            Ok(words
                .as_seq()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect())
        }
        _ => {
            let image = container.str_at("image").unwrap_or("");
            if let Some(command) = options.command_for(image) {
                return Ok(command.to_vec());
            }
            Err(format!(
                "container {name:?} has no command, and the entrypoint of its image {image:?} \
                 cannot be known offline: give it with --command '{image}=[\"/entrypoint\",\"arg\"]'"
            ))
        }
    }
}

fn is_strings(value: &Value) -> bool {
    value
        .as_seq()
        .is_some_and(|s| s.iter().all(|w| w.as_str().is_some()))
}

/// Names and paths that are render's own: a pod that uses them already
/// (and is not rendered) cannot be wired without a clash.
fn reserved(spec: &Map) -> Result<(), String> {
    let ours = |name: &str| name == BIN_VOLUME || name.starts_with(RUN_VOLUME);
    for v in spec.items_at("volumes") {
        if let Some(name) = v.str_at("name").filter(|n| ours(n)) {
            return Err(format!(
                "it has a volume named {name:?}, a name render gives its own volumes"
            ));
        }
    }
    for c in spec.items_at("initContainers") {
        if c.str_at("name") == Some(INSTALLER) {
            return Err(format!(
                "it has an initContainer named {INSTALLER:?}, the name of render's installer"
            ));
        }
    }
    for c in spec.items_at("containers") {
        for m in c.items_at("volumeMounts") {
            if let Some(path) = m.str_at("mountPath") {
                let path = path.trim_end_matches('/');
                if path == BIN_DIR || path == RUN_DIR || path.starts_with(&format!("{RUN_DIR}/")) {
                    return Err(format!(
                        "container {:?} mounts something at {path}, where render mounts its own volumes",
                        c.str_at("name").unwrap_or("?")
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The map at `key` of `map`; when absent or empty, made anew at the place
/// `index` finds (in `map` without it).
fn map_at<'a>(map: &'a mut Map, key: &str, index: impl Fn(&Map) -> usize) -> &'a mut Map {
    let fresh = map
        .get(key)
        .is_none_or(|v| v.as_map().is_none_or(Map::is_empty));
    if fresh {
        map.remove(key);
        let at = index(map);
        map.insert_at(at, key, Value::Map(Map::new()));
    }
    map.get_mut(key).and_then(Value::as_map_mut).expect("a map")
}

/// The sequence at `key` of `map`; when absent or empty, made anew at the
/// place `index` finds (in `map` without it).
fn seq_at<'a>(map: &'a mut Map, key: &str, index: impl Fn(&Map) -> usize) -> &'a mut Vec<Value> {
    let fresh = map
        .get(key)
        .is_none_or(|v| v.as_seq().is_none_or(Vec::is_empty));
    if fresh {
        map.remove(key);
        let at = index(map);
        map.insert_at(at, key, Value::Seq(Vec::new()));
    }
    map.get_mut(key)
        .and_then(Value::as_seq_mut)
        .expect("a sequence")
}

fn at_end(map: &Map) -> usize {
    map.len()
}

/// Applies `plan` to the pod in `holder`.
fn wire(holder: &mut Map, template: bool, plan: &Plan, options: &Options) {
    // metadata: first in a template; after apiVersion and kind in a Pod.
    let metadata = map_at(holder, "metadata", |m| {
        if template {
            0
        } else {
            m.position("kind").map_or(0, |i| i + 1)
        }
    });
    map_at(metadata, "annotations", at_end).insert(RENDERED, Value::string(VERSION));

    let spec = holder
        .get_mut("spec")
        .and_then(Value::as_map_mut)
        .expect("checked by plan");
    seq_at(spec, "initContainers", |m| {
        m.position("containers").unwrap_or(0)
    })
    .insert(0, installer(&options.image));
    let volumes = seq_at(spec, "volumes", at_end);
    volumes.push(empty_dir(BIN_VOLUME));
    volumes.extend(plan.containers.iter().map(|p| empty_dir(&p.volume)));

    let containers = spec
        .get_mut("containers")
        .and_then(Value::as_seq_mut)
        .expect("checked by plan");
    for (container, planned) in containers.iter_mut().zip(&plan.containers) {
        let container = container.as_map_mut().expect("checked by plan");
        let command = Value::strings(&planned.wrapped());
        if container.get("command").is_some() {
            container.insert("command", command);
        } else {
            let at = container
                .position("image")
                .map_or(container.len(), |i| i + 1);
            container.insert_at(at, "command", command);
        }
        let mounts = seq_at(container, "volumeMounts", at_end);
        mounts.push(mount(BIN_VOLUME, BIN_DIR, true));
        for other in &plan.containers {
            mounts.push(mount(&other.volume, &other.dir, other.name != planned.name));
        }
    }
}

fn installer(image: &str) -> Value {
    Value::map([
        ("name", Value::string(INSTALLER)),
        ("image", Value::string(image)),
        (
            "command",
            Value::strings(&[IMAGE_BIN, "install", &format!("{BIN_DIR}/")]),
        ),
        (
            "volumeMounts",
            Value::Seq(vec![mount(BIN_VOLUME, BIN_DIR, false)]),
        ),
        (
            "securityContext",
            Value::map([
                ("allowPrivilegeEscalation", Value::Bool(false)),
                (
                    "capabilities",
                    Value::map([("drop", Value::strings(&["ALL"]))]),
                ),
                ("readOnlyRootFilesystem", Value::Bool(true)),
            ]),
        ),
    ])
}

fn empty_dir(name: &str) -> Value {
    Value::map([
        ("name", Value::string(name)),
        ("emptyDir", Value::Map(Map::new())),
    ])
}

fn mount(volume: &str, path: &str, read_only: bool) -> Value {
    let mut m = Value::map([
        ("name", Value::string(volume)),
        ("mountPath", Value::string(path)),
    ]);
    if read_only {
        m.as_map_mut()
            .expect("a map")
            .insert("readOnly", Value::Bool(true));
    }
    m
}

/// Takes render's wiring out of a rendered pod: what `plan` and `wire` then
/// make of it is what they made the first time.
pub fn strip(holder: &mut Map) {
    let ours = |v: &Value| {
        v.str_at("name")
            .is_some_and(|n| n == BIN_VOLUME || n.starts_with(RUN_VOLUME))
    };
    if let Some(metadata) = holder.get_mut("metadata").and_then(Value::as_map_mut) {
        if let Some(annotations) = metadata.get_mut("annotations").and_then(Value::as_map_mut) {
            annotations.remove(RENDERED);
        }
        metadata.remove_if_empty("annotations");
    }
    holder.remove_if_empty("metadata");
    let Some(spec) = holder.get_mut("spec").and_then(Value::as_map_mut) else {
        return;
    };
    if let Some(inits) = spec.get_mut("initContainers").and_then(Value::as_seq_mut) {
        inits.retain(|c| c.str_at("name") != Some(INSTALLER));
    }
    spec.remove_if_empty("initContainers");
    if let Some(volumes) = spec.get_mut("volumes").and_then(Value::as_seq_mut) {
        volumes.retain(|v| !ours(v));
    }
    spec.remove_if_empty("volumes");
    for c in spec.maps_at_mut("containers") {
        if let Some(mounts) = c.get_mut("volumeMounts").and_then(Value::as_seq_mut) {
            mounts.retain(|m| !ours(m));
        }
        c.remove_if_empty("volumeMounts");
        if let Some(Value::Seq(words)) = c.get_mut("command") {
            if words.first().and_then(Value::as_str) == Some(BIN) {
                if let Some(dashes) = words.iter().position(|w| w.as_str() == Some("--")) {
                    words.drain(..=dashes);
                }
            }
        }
    }
}
