//! `kubectl-baton`'s renderer: wires plain Pods, Jobs, `CronJobs` and the pod
//! templates of Deployments, `StatefulSets` and `DaemonSets` for baton, offline,
//! as `istioctl kube-inject` does for its proxy (docs/kubernetes.md).
//!
//! `render` takes the documents read (`input`), wires each object
//! (`objects`, `pod`, `order`, `probe`) in a generic ordered tree (`value`)
//! and gives the documents to write (`output`) and one report line per
//! object, or every error: then nothing is written at all, so that a pipe
//! into `kubectl apply` never applies half of the input. `status` reads
//! how a wired pod's steps went.

pub mod flags;
pub mod input;
pub mod objects;
pub mod order;
pub mod output;
pub mod pod;
pub mod podman;
pub mod probe;
pub mod status;
pub mod value;

use input::Document;
use pod::Outcome;
use value::Value;

/// The installer image when `--image` is not given: baton's image (the
/// Dockerfile: the static binary at `/baton`) tagged with this version.
pub const DEFAULT_IMAGE: &str = concat!("baton:", env!("CARGO_PKG_VERSION"));

/// What render is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The installer image.
    pub image: String,
    /// `--command IMAGE=JSON_ARRAY`: the command of containers of that image
    /// that have none (the last one given for an image counts).
    pub commands: Vec<(String, Vec<String>)>,
    /// `--for`: a cluster, or `podman kube play` (the `podman` module).
    pub target: podman::Target,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            image: DEFAULT_IMAGE.to_owned(),
            commands: Vec::new(),
            target: podman::Target::default(),
        }
    }
}

impl Options {
    /// The command `--command` gives `image` (its string exactly as written).
    pub fn command_for(&self, image: &str) -> Option<&[String]> {
        self.commands
            .iter()
            .rev()
            .find(|(i, _)| i == image)
            .map(|(_, c)| c.as_slice())
    }
}

/// Parses `IMAGE=JSON_ARRAY` (`--command`).
pub fn parse_command(text: &str) -> Result<(String, Vec<String>), String> {
    let (image, json) = text
        .split_once('=')
        .filter(|(i, _)| !i.is_empty())
        .ok_or_else(|| format!("{text:?} is not IMAGE=JSON_ARRAY"))?;
    let command: Vec<String> = serde_json::from_str(json).map_err(|err| {
        format!("{json:?} is not a JSON array of strings, as [\"/entrypoint\",\"arg\"]: {err}")
    })?;
    if command.is_empty() {
        return Err(format!("the command given for {image} is empty"));
    }
    Ok((image.to_owned(), command))
}

/// What a successful render gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The documents to write, in input order.
    pub documents: Vec<Value>,
    /// One line per object (and a line per note), for stderr.
    pub report: Vec<String>,
}

/// Renders every document; on any error, every error (one line each) and
/// nothing else.
pub fn render(documents: Vec<Document>, options: &Options) -> Result<Rendered, Vec<String>> {
    let mut report = Vec::new();
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for mut doc in documents {
        let place = format!("{}: document {}", doc.source, doc.number);
        if let Some(items) = objects::items_mut(&mut doc.value) {
            for (i, item) in items.iter_mut().enumerate() {
                let place = format!("{place}, item {}", i + 1);
                one(item, &place, options, &mut report, &mut errors);
            }
            // podman plays no List: its items become documents of their own.
            if options.target == podman::Target::Podman {
                out.append(items);
                continue;
            }
        } else {
            one(&mut doc.value, &place, options, &mut report, &mut errors);
        }
        out.push(doc.value);
    }
    if errors.is_empty() {
        Ok(Rendered {
            documents: out,
            report,
        })
    } else {
        Err(errors)
    }
}

fn one(
    object: &mut Value,
    place: &str,
    options: &Options,
    report: &mut Vec<String>,
    errors: &mut Vec<String>,
) {
    podman::unconvert(object);
    let name = objects::describe(object);
    let rendered = objects::render(object, options).and_then(|outcome| match options.target {
        podman::Target::Podman => podman::convert(object).map(|notes| (outcome, notes)),
        podman::Target::Kubernetes => Ok((outcome, Vec::new())),
    });
    let (outcome, podman_notes) = match rendered {
        Ok(rendered) => rendered,
        Err(why) => {
            errors.push(format!("{place}: {name}: error: {why}"));
            return;
        }
    };
    match outcome {
        Outcome::Wired {
            again,
            steps,
            sidecars,
            notes,
        } => {
            let plural =
                |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
            let mut what = plural(steps, "step");
            if sidecars > 0 {
                what = format!("{what}, {}", plural(sidecars, "sidecar"));
            }
            let verb = if again {
                "already wired, wired again"
            } else {
                "wired"
            };
            report.push(format!("{place}: {name}: {verb} ({what})"));
            report.extend(notes.iter().map(|n| format!("{place}: {name}: note: {n}")));
        }
        Outcome::Left(None) => report.push(format!("{place}: {name}: passed through")),
        Outcome::Left(Some(why)) => {
            report.push(format!("{place}: {name}: passed through ({why})"));
        }
    }
    report.extend(
        podman_notes
            .iter()
            .map(|n| format!("{place}: {name}: note: {n}")),
    );
}
