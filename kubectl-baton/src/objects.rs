//! Which objects hold a pod to wire, and where: a Pod itself; the pod
//! template of a Job (`spec.template`), of a `CronJob`
//! (`spec.jobTemplate.spec.template`) and of a Deployment, `StatefulSet` or
//! `DaemonSet` (`spec.template`). A `List` (or any `…List` with `items`) is
//! rendered item by item. Every other object passes through unchanged.

use crate::pod::{self, Outcome};
use crate::value::{Map, Value};
use crate::Options;

/// How an object is named in the report: `Kind/name`.
pub fn describe(object: &Value) -> String {
    let kind = object.str_at("kind").unwrap_or("?");
    let metadata = object.get("metadata");
    let name = metadata
        .and_then(|m| m.str_at("name"))
        .map(str::to_owned)
        .or_else(|| {
            metadata
                .and_then(|m| m.str_at("generateName"))
                .map(|g| format!("{g}*"))
        })
        .unwrap_or_else(|| "(no name)".to_owned());
    format!("{kind}/{name}")
}

/// Whether `object` is a list whose items are objects of their own.
pub fn items_mut(object: &mut Value) -> Option<&mut Vec<Value>> {
    let kind = object.str_at("kind")?;
    if !kind.ends_with("List") {
        return None;
    }
    object.get_mut("items")?.as_seq_mut()
}

/// The path from the object to the map that holds the pod's `metadata` and
/// `spec`, for the kinds render wires.
pub(crate) fn pod_path(api_version: &str, kind: &str) -> Option<&'static [&'static str]> {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    match (group, kind) {
        ("", "Pod") => Some(&[]),
        ("batch", "Job") | ("apps", "Deployment" | "StatefulSet" | "DaemonSet") => {
            Some(&["spec", "template"])
        }
        ("batch", "CronJob") => Some(&["spec", "jobTemplate", "spec", "template"]),
        _ => None,
    }
}

/// The map that holds the `metadata` and `spec` of the pod `object` holds,
/// for the kinds render wires (`None` for the others, and when it is not
/// there).
pub fn pod(object: &Value) -> Option<&Map> {
    let path = pod_path(object.str_at("apiVersion")?, object.str_at("kind")?)?;
    let mut holder = object.as_map()?;
    for key in path {
        holder = holder.get(key)?.as_map()?;
    }
    Some(holder)
}

/// Renders one object (not a list).
pub fn render(object: &mut Value, options: &Options) -> Result<Outcome, String> {
    let Some(map) = object.as_map_mut() else {
        return Err("not a Kubernetes object (not a mapping)".to_owned());
    };
    let (Some(api_version), Some(kind)) = (
        map.get("apiVersion").and_then(Value::as_str),
        map.get("kind").and_then(Value::as_str),
    ) else {
        return Err("not a Kubernetes object (no apiVersion or kind)".to_owned());
    };
    let Some(path) = pod_path(api_version, kind) else {
        return Ok(Outcome::Left(None));
    };
    let mut holder: &mut Map = map;
    for (i, key) in path.iter().enumerate() {
        let shown = path[..=i].join(".");
        holder = holder
            .get_mut(key)
            .and_then(Value::as_map_mut)
            .ok_or_else(|| format!("it has no {shown}"))?;
    }
    pod::render(holder, !path.is_empty(), options)
}
