//! `render --for podman`: makes a wired pod one that `podman kube play` runs
//! as the kubelet would, for local runs and CI without a cluster
//! (docs/podman.md).
//!
//! It exists because podman is an independent implementation of pod
//! semantics that differs from the kubelet where baton relies on it:
//!
//! - it plays Pods and Deployments, not Jobs or `CronJobs`: a workload's pod
//!   template becomes a Pod named after the workload, a Deployment's too
//!   (podman's replicas would share their volumes); `restartPolicy` is kept,
//!   what only the controller reads (`backoffLimit`, …) is named in a note,
//!   and an Indexed Job's pod is index 0 (`JOB_COMPLETION_INDEX=0`);
//! - an `emptyDir` becomes a volume named after the pod's volume, shared by
//!   every pod that names one the same and outliving a pod left behind, so
//!   that stale markers would skip steps: each is renamed `<pod>-<volume>`
//!   (the same name for the same input: no random part);
//! - it has no downward API (a pod with a `downwardAPI` volume is refused):
//!   such a volume becomes an empty `emptyDir`, and a note says so;
//! - it has no `fsGroup` (dropped, with a note) and reads no termination
//!   message: `terminationMessagePath` and baton's `--termination-path`
//!   (every spelling) are dropped, since a non-root step could not create
//!   `/dev/termination-log`; baton's verdict is in each container's log.
//!
//! The conversion is apart from the wiring: it applies to pods render wires
//! and to pods wired by hand (examples/), which render passes through. The
//! pod it makes carries `baton.dev/for: podman`, by which [`unconvert`]
//! gives the volumes their names back before a second render, so that
//! rendering the output again gives the same bytes.

use crate::objects::pod_path;
use crate::pod;
use crate::value::{Map, Value};

/// The annotation on a pod converted for podman.
pub const FOR: &str = "baton.dev/for";

/// What render's output is for (`--for`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// A cluster: the objects as they are, wired.
    #[default]
    Kubernetes,
    /// `podman kube play`: a Pod, its volumes per pod (docs/podman.md).
    Podman,
}

fn is_pod(object: &Value) -> bool {
    object
        .str_at("apiVersion")
        .zip(object.str_at("kind"))
        .and_then(|(api_version, kind)| pod_path(api_version, kind))
        .is_some_and(<[_]>::is_empty)
}

/// Converts one object (not a list) for podman; gives the notes for the
/// report. Kinds that hold no pod are left as they are.
pub fn convert(object: &mut Value) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    let (Some(api_version), Some(kind)) = (object.str_at("apiVersion"), object.str_at("kind"))
    else {
        return Ok(notes);
    };
    let Some(path) = pod_path(api_version, kind) else {
        return Ok(notes);
    };
    // A workload's pod is named after the workload.
    let name = object
        .get("metadata")
        .and_then(|m| m.str_at("name"))
        .filter(|n| !n.is_empty())
        .ok_or(
            "for podman: it has no metadata.name, which podman names the pod and its volumes after",
        )?
        .to_owned();
    if !path.is_empty() {
        let kind = kind.to_owned();
        *object = to_pod(object, &kind, path, &name, &mut notes)?;
    }
    let pod = object.as_map_mut().expect("a Pod is a mapping");
    let spec = pod
        .get_mut("spec")
        .and_then(Value::as_map_mut)
        .ok_or("it has no pod spec")?;
    fs_group(spec, &mut notes);
    volumes(spec, &name, &mut notes);
    termination(spec, &mut notes);
    let metadata = pod
        .get_mut("metadata")
        .and_then(Value::as_map_mut)
        .expect("it has a name");
    if metadata
        .get("annotations")
        .is_none_or(Value::is_empty_collection)
    {
        metadata.remove("annotations");
        metadata.insert("annotations", Value::Map(Map::new()));
    }
    metadata
        .get_mut("annotations")
        .and_then(Value::as_map_mut)
        .ok_or("its metadata.annotations is not a mapping")?
        .insert(FOR, Value::string("podman"));
    Ok(notes)
}

/// The Pod a workload's pod template makes.
fn to_pod(
    object: &Value,
    kind: &str,
    path: &[&str],
    name: &str,
    notes: &mut Vec<String>,
) -> Result<Value, String> {
    let mut template = object;
    let mut dropped = Vec::new();
    for (i, key) in path.iter().enumerate() {
        let holder = template
            .as_map()
            .ok_or_else(|| format!("its {} is not a mapping", path[..i].join(".")))?;
        if *key == "template" || *key == "jobTemplate" {
            // What only the controller reads: spec's other fields.
            dropped.extend(holder.keys().filter(|k| k != key).map(str::to_owned));
        }
        template = holder
            .get(key)
            .ok_or_else(|| format!("it has no {}", path[..=i].join(".")))?;
    }
    let template = template
        .as_map()
        .ok_or_else(|| format!("its {} is not a mapping", path.join(".")))?;
    // The object's own labels and annotations are the controller's, not
    // the pod's: said, and left out.
    for key in ["labels", "annotations"] {
        if object
            .get("metadata")
            .and_then(|m| m.get(key))
            .is_some_and(|v| !v.is_empty_collection())
        {
            dropped.push(format!("metadata.{key}"));
        }
    }
    if path.len() == 4
        && object
            .get("spec")
            .and_then(|s| s.get("jobTemplate"))
            .and_then(|j| j.get("metadata"))
            .is_some_and(|v| !v.is_empty_collection())
    {
        dropped.push("spec.jobTemplate.metadata".to_owned());
    }
    let mut metadata = Map::new();
    metadata.insert("name", Value::string(name));
    if let Some(namespace) = object.get("metadata").and_then(|m| m.get("namespace")) {
        metadata.insert("namespace", namespace.clone());
    }
    for (k, v) in template
        .get("metadata")
        .and_then(Value::as_map)
        .into_iter()
        .flat_map(Map::iter)
    {
        if k != "name" && k != "namespace" && k != "generateName" {
            metadata.insert(k, v.clone());
        }
    }
    let mut spec = template
        .get("spec")
        .cloned()
        .ok_or_else(|| format!("it has no {}.spec", path.join(".")))?;
    let why = if kind == "Deployment" {
        "one pod: podman's replicas would share their volumes".to_owned()
    } else {
        format!("podman plays no {kind}s")
    };
    let mut note = format!("for podman: the {kind}'s pod template as Pod/{name} ({why})");
    if !dropped.is_empty() {
        note.push_str("; not carried over: ");
        note.push_str(&dropped.join(", "));
    }
    notes.push(note);
    let job_spec = match path.len() {
        2 if kind == "Job" => object.get("spec"),
        4 => object
            .get("spec")
            .and_then(|s| s.get("jobTemplate"))
            .and_then(|j| j.get("spec")),
        _ => None,
    };
    if job_spec.and_then(|s| s.str_at("completionMode")) == Some("Indexed") {
        if let Some(spec) = spec.as_map_mut() {
            completion_index(spec);
        }
        notes.push(
            "for podman: an Indexed Job: this one pod is index 0 (JOB_COMPLETION_INDEX=0 in its containers)"
                .to_owned(),
        );
    }
    Ok(Value::map([
        ("apiVersion", Value::string("v1")),
        ("kind", Value::string("Pod")),
        ("metadata", Value::Map(metadata)),
        ("spec", spec),
    ]))
}

/// Gives every mount of a volume renamed (`(old, new)` names) the new name.
fn rename_mounts(spec: &mut Map, renamed: &[(String, String)]) {
    for container in all_containers(spec) {
        for mount in container.maps_at_mut("volumeMounts") {
            let old = mount.get("name").and_then(Value::as_str);
            if let Some((_, new)) = renamed.iter().find(|(o, _)| Some(o.as_str()) == old) {
                mount.insert("name", Value::string(new));
            }
        }
    }
}

/// Every container and initContainer of the pod spec.
fn all_containers(spec: &mut Map) -> impl Iterator<Item = &mut Map> {
    let mut all = Vec::new();
    for (key, value) in spec.iter_mut() {
        if key == "initContainers" || key == "containers" || key == "ephemeralContainers" {
            if let Some(seq) = value.as_seq_mut() {
                all.extend(seq.iter_mut().filter_map(Value::as_map_mut));
            }
        }
    }
    all.into_iter()
}

/// `JOB_COMPLETION_INDEX=0` in every container that does not set it, but
/// render's installer (which needs none, and is made anew by a second
/// render); a new `env` goes before `volumeMounts`, where it stays when a
/// second render strips and adds render's mounts again.
fn completion_index(spec: &mut Map) {
    for container in all_containers(spec) {
        if container.get("name").and_then(Value::as_str) == Some(pod::INSTALLER) {
            continue;
        }
        if container.get("env").and_then(Value::as_seq).is_none() {
            // A null or empty `env` goes: the new one is put where the
            // position of `volumeMounts` says without it.
            container.remove("env");
            let at = container
                .position("volumeMounts")
                .unwrap_or(container.len());
            container.insert_at(at, "env", Value::Seq(Vec::new()));
        }
        let env = container
            .get_mut("env")
            .and_then(Value::as_seq_mut)
            .expect("just made");
        if !env
            .iter()
            .any(|e| e.str_at("name") == Some("JOB_COMPLETION_INDEX"))
        {
            env.push(Value::map([
                ("name", Value::string("JOB_COMPLETION_INDEX")),
                ("value", Value::string("0")),
            ]));
        }
    }
}

/// Drops the pod's `fsGroup` (podman has none), with a note.
fn fs_group(spec: &mut Map, notes: &mut Vec<String>) {
    let Some(context) = spec.get_mut("securityContext").and_then(Value::as_map_mut) else {
        return;
    };
    let mut gone = Vec::new();
    for key in ["fsGroup", "fsGroupChangePolicy"] {
        if let Some(value) = context.remove(key) {
            let shown = match value {
                Value::Int(i) => i.to_string(),
                Value::String(s) => s,
                other => format!("{other:?}"),
            };
            gone.push(format!("{key} {shown}"));
        }
    }
    if context.is_empty() {
        spec.remove("securityContext");
    }
    if !gone.is_empty() {
        notes.push(format!(
            "for podman: securityContext.{} dropped (podman has no fsGroup): a new volume belongs to the user of the first container that mounts it (initContainers first), mode 0755",
            gone.join(", ")
        ));
    }
}

/// Each `emptyDir` renamed `<pod>-<name>`; a `downwardAPI` or `projected`
/// volume becomes one (empty), with a note.
fn volumes(spec: &mut Map, pod: &str, notes: &mut Vec<String>) {
    let mut renamed = Vec::new();
    for volume in spec.maps_at_mut("volumes") {
        let Some(name) = volume
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        for source in ["downwardAPI", "projected"] {
            if volume.remove(source).is_some() {
                volume.insert("emptyDir", Value::Map(Map::new()));
                notes.push(format!(
                    "for podman: volume {name:?} ({source}) is an empty emptyDir: podman has no {source} volumes, so its files are missing"
                ));
            }
        }
        if volume.get("emptyDir").is_some() {
            let new = format!("{pod}-{name}");
            volume.insert("name", Value::string(&new));
            renamed.push((name, new));
        }
    }
    if renamed.is_empty() {
        return;
    }
    rename_mounts(spec, &renamed);
    notes.push(format!(
        "for podman: emptyDir volumes named after the pod, so that no other pod shares them: {}",
        renamed
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
}

/// Whether `word` runs baton (or Tekton's entrypoint, which baton stands for).
fn runs_baton(word: &str) -> bool {
    pod::runs_baton(word) || word.rsplit('/').next() == Some("entrypoint")
}

/// Whether `word` is baton's termination path option, and if so whether its
/// value is in the same word (`=`).
fn termination_option(word: &str) -> Option<bool> {
    let name = word.strip_prefix("--").or_else(|| word.strip_prefix('-'))?;
    let (name, inline) = match name.split_once('=') {
        Some((n, _)) => (n, true),
        None => (name, false),
    };
    (name == "termination-path" || name == "termination_path").then_some(inline)
}

/// Drops the termination message: `terminationMessagePath`, and baton's
/// `--termination-path` in the words before `--` of a container that runs
/// baton (in `command`, then `args`).
fn termination(spec: &mut Map, notes: &mut Vec<String>) {
    let mut dropped = false;
    for container in all_containers(spec) {
        dropped |= container.remove("terminationMessagePath").is_some();
        let baton = container
            .items_at("command")
            .next()
            .and_then(Value::as_str)
            .is_some_and(runs_baton);
        if !baton {
            continue;
        }
        let mut ended = false;
        for key in ["command", "args"] {
            let Some(words) = container.get_mut(key).and_then(Value::as_seq_mut) else {
                continue;
            };
            let mut kept = Vec::with_capacity(words.len());
            let mut skip_value = false;
            for word in words.drain(..) {
                if ended {
                    kept.push(word);
                    continue;
                }
                if skip_value {
                    skip_value = false;
                    dropped = true;
                    continue;
                }
                match word.as_str() {
                    Some("--") => {
                        ended = true;
                        kept.push(word);
                    }
                    Some(w) => match termination_option(w) {
                        Some(inline) => {
                            skip_value = !inline;
                            dropped = true;
                        }
                        None => kept.push(word),
                    },
                    None => kept.push(word),
                }
            }
            *words = kept;
        }
    }
    if dropped {
        notes.push(
            "for podman: termination messages dropped (terminationMessagePath, --termination-path): podman reads none, and baton's verdict is in each container's log"
                .to_owned(),
        );
    }
}

/// Takes the volume names [`convert`] gave back to what they were, in a pod
/// that carries `baton.dev/for: podman`, so that render can find its own
/// wiring; the rest of the conversion is stable as it is.
pub fn unconvert(object: &mut Value) {
    if !is_pod(object) {
        return;
    }
    let Some(pod) = object.as_map_mut() else {
        return;
    };
    let Some(metadata) = pod.get_mut("metadata").and_then(Value::as_map_mut) else {
        return;
    };
    let Some(annotations) = metadata.get_mut("annotations").and_then(Value::as_map_mut) else {
        return;
    };
    if annotations.get(FOR).and_then(Value::as_str) != Some("podman") {
        return;
    }
    annotations.remove(FOR);
    metadata.remove_if_empty("annotations");
    let Some(name) = metadata.get("name").and_then(Value::as_str) else {
        return;
    };
    let prefix = format!("{name}-");
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_map_mut) else {
        return;
    };
    let mut renamed = Vec::new();
    for volume in spec.maps_at_mut("volumes") {
        if volume.get("emptyDir").is_none() {
            continue;
        }
        let Some(old) = volume
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        if let Some(original) = old.strip_prefix(&prefix) {
            let original = original.to_owned();
            volume.insert("name", Value::string(&original));
            renamed.push((old, original));
        }
    }
    rename_mounts(spec, &renamed);
}

#[cfg(test)]
mod tests {
    use super::termination_option;

    #[test]
    fn every_spelling_of_the_termination_path_is_found() {
        assert_eq!(termination_option("--termination-path=/x"), Some(true));
        assert_eq!(termination_option("--termination-path"), Some(false));
        assert_eq!(termination_option("-termination_path"), Some(false));
        assert_eq!(termination_option("-termination_path=/x"), Some(true));
        assert_eq!(termination_option("--post-file=/x"), None);
        assert_eq!(termination_option("termination-path"), None);
    }
}
