//! `kubectl baton status`: how a pod's steps went, from `kubectl get pod NAME
//! -o json` (one pod, a `List` of pods such as a Job's, `-l job-name=…`),
//! one row per sidecar and step, in chain order: the state and exit code, the
//! reason from baton's termination message (`Skipped`, `PredecessorLost`,
//! `TimeoutExceeded`, `Stopped`, …), when the command started, how long it
//! ran, its attempts and its results, shortened.
//!
//! A container runs baton when its command's first word is a `baton` binary;
//! its role and place come from its flags: a `--ready-file` makes it a
//! sidecar, its `--wait-file`s name the markers it waits for, its
//! `--post-file` the marker it writes. Sidecars come first, as listed; then
//! the steps, each after every step it waits for (as listed where the order
//! leaves a choice). Containers that do not run baton follow, as listed.

use std::fmt::Write as _;

use crate::value::{Map, Value};

/// One row: a container of a pod.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub container: String,
    /// `sidecar`, `step`, or `-` (does not run baton).
    pub role: &'static str,
    /// `Waiting`, `Running`, `Terminated`, or `Pending` (no status yet).
    pub state: String,
    pub exit_code: Option<i64>,
    /// baton's reason, else the kubelet's (a waiting reason, `OOMKilled`).
    pub reason: Option<String>,
    /// When the command started (baton's `StartedAt`), else the container.
    pub started: Option<String>,
    /// When the container ended (the kubelet gives it to the second).
    pub finished: Option<String>,
    /// From `started` to `finished`, in milliseconds: at most a second
    /// short when `finished` has no fraction of a second.
    pub duration_ms: Option<i64>,
    pub attempts: Option<String>,
    /// Results: (key, value), in the message's order.
    pub results: Vec<(String, String)>,
}

/// The rows of one pod.
#[derive(Debug, Clone, PartialEq)]
pub struct PodStatus {
    pub name: String,
    pub rows: Vec<Row>,
}

/// The pods of a document: a Pod, or the Pods of a List.
pub fn pods(document: &Value) -> Result<Vec<PodStatus>, String> {
    match document.str_at("kind") {
        Some("Pod") => Ok(vec![pod(document)]),
        Some(kind) if kind.ends_with("List") => Ok(document
            .items_at("items")
            .filter(|i| i.str_at("kind").is_none_or(|k| k == "Pod"))
            .map(pod)
            .collect()),
        other => Err(format!(
            "{} is not a Pod or a List of pods (give kubectl get pod NAME -o json)",
            other.unwrap_or("a document without kind")
        )),
    }
}

/// What baton's flags in a container's command say.
#[derive(Debug, Default)]
struct Flags {
    runs_baton: bool,
    waits: Vec<String>,
    post: Option<String>,
    ready: Option<String>,
}

impl Flags {
    /// `sidecar`, `step`, or `-` (does not run baton).
    fn role(&self) -> &'static str {
        match (self.runs_baton, self.ready.is_some()) {
            (false, _) => "-",
            (true, true) => "sidecar",
            (true, false) => "step",
        }
    }
}

fn flags(container: &Value) -> Flags {
    let words: Vec<&str> = container
        .items_at("command")
        .filter_map(Value::as_str)
        .collect();
    let mut out = Flags::default();
    let Some((first, rest)) = words.split_first() else {
        return out;
    };
    out.runs_baton = crate::pod::runs_baton(first);
    if !out.runs_baton {
        return out;
    }
    let mut i = 0;
    while i < rest.len() && rest[i] != "--" {
        let word = rest[i].trim_start_matches('-').replace('_', "-");
        let (name, value) = match word.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (word.clone(), None),
        };
        let takes = matches!(name.as_str(), "wait-file" | "post-file" | "ready-file");
        let value = match value {
            Some(v) => Some(v),
            None if takes => {
                i += 1;
                rest.get(i).map(|v| (*v).to_owned())
            }
            None => None,
        };
        match (name.as_str(), value) {
            ("wait-file", Some(v)) => out
                .waits
                .extend(v.split(',').filter(|s| !s.is_empty()).map(str::to_owned)),
            ("post-file", Some(v)) => out.post = Some(v),
            ("ready-file", Some(v)) => out.ready = Some(v),
            _ => {}
        }
        i += 1;
    }
    out
}

fn pod(pod: &Value) -> PodStatus {
    let name = pod
        .get("metadata")
        .and_then(|m| m.str_at("name"))
        .unwrap_or("(no name)")
        .to_owned();
    let containers = pod
        .get("spec")
        .into_iter()
        .flat_map(|s| s.items_at("containers"));
    let statuses: Vec<&Value> = pod
        .get("status")
        .into_iter()
        .flat_map(|s| s.items_at("containerStatuses"))
        .collect();
    let all: Vec<(&Value, Flags)> = containers.map(|c| (c, flags(c))).collect();
    let rows = chain_order(&all)
        .into_iter()
        .map(|i| {
            let (c, f) = &all[i];
            let cname = c.str_at("name").unwrap_or("?");
            let status = statuses.iter().find(|s| s.str_at("name") == Some(cname));
            row(cname, f.role(), status.copied())
        })
        .collect();
    PodStatus { name, rows }
}

/// The indices of `all` in chain order (see the module's comment).
fn chain_order(all: &[(&Value, Flags)]) -> Vec<usize> {
    let with_role = |role| (0..all.len()).filter(move |i| all[*i].1.role() == role);
    let mut order: Vec<usize> = with_role("sidecar").collect();
    let steps: Vec<usize> = with_role("step").collect();
    let writer = |marker: &str| {
        steps
            .iter()
            .copied()
            .find(|j| all[*j].1.post.as_deref() == Some(marker))
    };
    let mut placed = vec![false; all.len()];
    while order.len() < all.len() {
        // The first step (as listed) whose predecessors are all placed.
        let next = steps.iter().copied().find(|s| {
            !placed[*s]
                && all[*s]
                    .1
                    .waits
                    .iter()
                    .filter_map(|w| writer(w))
                    .all(|p| placed[p] || p == *s)
        });
        match next {
            Some(s) => {
                placed[s] = true;
                order.push(s);
            }
            None => break, // a cycle, or none left: the rest as listed
        }
    }
    for i in 0..all.len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    order
}

fn row(name: &str, role: &'static str, status: Option<&Value>) -> Row {
    let state = status.and_then(|s| s.get("state")).and_then(Value::as_map);
    let (kind, detail) = state
        .and_then(|m| m.iter().next())
        .map_or(("Pending", None), |(k, v)| {
            let kind = match k {
                "waiting" => "Waiting",
                "running" => "Running",
                "terminated" => "Terminated",
                _ => "Unknown",
            };
            (kind, Some(v))
        });
    let field = |key: &str| detail.and_then(|d| d.str_at(key)).map(str::to_owned);
    let message = detail
        .and_then(|d| d.str_at("message"))
        .map(termination_message)
        .unwrap_or_default();
    let entry = |key: &str| {
        message
            .iter()
            .find(|(k, _, t)| k == key && *t == 3)
            .map(|(_, v, _)| v.clone())
    };
    let exit_code = detail.and_then(|d| match d.get("exitCode") {
        Some(Value::Int(n)) => Some(*n),
        _ => None,
    });
    let reason = entry("Reason")
        .or_else(|| field("reason").filter(|r| !matches!(r.as_str(), "Completed" | "Error")));
    let started = entry("StartedAt").or_else(|| field("startedAt"));
    let finished = field("finishedAt");
    let duration_ms = match (
        started.as_deref().and_then(millis),
        finished.as_deref().and_then(millis),
    ) {
        (Some(s), Some(f)) => Some((f - s).max(0)),
        _ => None,
    };
    Row {
        container: name.to_owned(),
        role,
        state: kind.to_owned(),
        exit_code,
        reason,
        started,
        finished,
        duration_ms,
        attempts: entry("Attempts"),
        results: message
            .iter()
            .filter(|(_, _, t)| *t == 1 || *t == 4)
            .map(|(k, v, _)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// The entries of baton's (Tekton's) termination message: (key, value, type).
fn termination_message(text: &str) -> Vec<(String, String, i64)> {
    let Ok(Value::Seq(entries)) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let kind = match e.get("type") {
                Some(Value::Int(t)) => *t,
                _ => 3,
            };
            Some((
                e.str_at("key")?.to_owned(),
                e.str_at("value")?.to_owned(),
                kind,
            ))
        })
        .collect()
}

/// An RFC 3339 time (`2026-01-02T03:04:05.678Z`, `…+01:00`) in milliseconds
/// since the epoch.
pub fn millis(text: &str) -> Option<i64> {
    let num = |s: &str| s.parse::<i64>().ok();
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut ymd = date.splitn(3, '-');
    let (year, month, day) = (num(ymd.next()?)?, num(ymd.next()?)?, num(ymd.next()?)?);
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => time.split_at(i),
        None => (time, ""),
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.splitn(3, ':');
    let (hour, minute, second) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    let ms = if frac.is_empty() {
        0
    } else {
        num(&format!("{:0<3}", &frac[..frac.len().min(3)]))?
    };
    let offset_min = match offset.chars().next() {
        None | Some('Z' | 'z') => 0,
        Some(sign) => {
            let (oh, om) = offset[1..].split_once(':')?;
            let m = num(oh)? * 60 + num(om)?;
            if sign == '-' {
                -m
            } else {
                m
            }
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some((((days * 24 + hour) * 60 + minute - offset_min) * 60 + second) * 1000 + ms)
}

/// A duration for people: `850ms`, `12.3s`, `4m05s`, `2h01m`.
pub fn human(ms: i64) -> String {
    match ms {
        ..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{}.{}s", ms / 1000, ms % 1000 / 100),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, ms / 60_000 % 60),
    }
}

/// A duration whose end is known to the second only (`finished` has no
/// fraction): `<1s`, `3s`, `4m05s`.
fn coarse(ms: i64) -> String {
    match ms {
        ..1_000 => "<1s".to_owned(),
        1_000..60_000 => format!("{}s", ms / 1000),
        _ => human(ms),
    }
}

/// `text` cut to `max` characters, `…` marking the cut.
fn shorten(text: &str, max: usize) -> String {
    let flat = text.replace(['\n', '\r', '\t'], " ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The table for people, a block per pod.
pub fn table(pods: &[PodStatus]) -> String {
    let mut out = String::new();
    for (i, pod) in pods.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "pod {}", pod.name);
        let header = [
            "CONTAINER",
            "ROLE",
            "STATE",
            "EXIT",
            "REASON",
            "STARTED",
            "DURATION",
            "ATTEMPTS",
            "RESULTS",
        ];
        let dash = || "-".to_owned();
        let cells: Vec<Vec<String>> = pod
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.container.clone(),
                    r.role.to_owned(),
                    r.state.clone(),
                    r.exit_code.map_or_else(dash, |c| c.to_string()),
                    r.reason.clone().unwrap_or_else(dash),
                    r.started.clone().unwrap_or_else(dash),
                    r.duration_ms.map_or_else(dash, |ms| {
                        let precise = r.finished.as_deref().is_some_and(|f| f.contains('.'));
                        if precise {
                            human(ms)
                        } else {
                            coarse(ms)
                        }
                    }),
                    r.attempts.clone().unwrap_or_else(dash),
                    if r.results.is_empty() {
                        dash()
                    } else {
                        shorten(
                            &r.results
                                .iter()
                                .map(|(k, v)| format!("{k}={}", shorten(v, 24)))
                                .collect::<Vec<_>>()
                                .join(", "),
                            60,
                        )
                    },
                ]
            })
            .collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|c| {
                cells
                    .iter()
                    .map(|r| r[c].chars().count())
                    .chain([header[c].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cols: Vec<&str>| {
            let mut l = String::new();
            for (c, text) in cols.iter().enumerate() {
                if c + 1 == cols.len() {
                    l.push_str(text);
                } else {
                    let pad = widths[c] - text.chars().count();
                    let _ = write!(l, "{text}{}  ", " ".repeat(pad));
                }
            }
            l.trim_end().to_owned()
        };
        let _ = writeln!(out, "{}", line(header.to_vec()));
        for r in &cells {
            let _ = writeln!(out, "{}", line(r.iter().map(String::as_str).collect()));
        }
    }
    out
}

/// The same as data: an array of pods, each with its rows.
pub fn data(pods: &[PodStatus]) -> Value {
    let opt = |v: Option<&String>| v.map_or(Value::Null, |s| Value::string(s));
    Value::Seq(
        pods.iter()
            .map(|p| {
                let rows = p
                    .rows
                    .iter()
                    .map(|r| {
                        let results: Map = r
                            .results
                            .iter()
                            .map(|(k, v)| (k.clone(), Value::string(v)))
                            .collect();
                        Value::map([
                            ("container", Value::string(&r.container)),
                            ("role", Value::string(r.role)),
                            ("state", Value::string(&r.state)),
                            ("exitCode", r.exit_code.map_or(Value::Null, Value::Int)),
                            ("reason", opt(r.reason.as_ref())),
                            ("startedAt", opt(r.started.as_ref())),
                            ("finishedAt", opt(r.finished.as_ref())),
                            ("durationMs", r.duration_ms.map_or(Value::Null, Value::Int)),
                            ("attempts", opt(r.attempts.as_ref())),
                            ("results", Value::Map(results)),
                        ])
                    })
                    .collect();
                Value::map([
                    ("pod", Value::string(&p.name)),
                    ("containers", Value::Seq(rows)),
                ])
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::{human, millis};

    #[test]
    fn times_and_durations() {
        assert_eq!(millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(millis("1970-01-02T00:00:01.5Z"), Some(86_401_500));
        assert_eq!(
            millis("2026-12-01T17:12:40.690Z").unwrap() - millis("2026-12-01T17:12:35Z").unwrap(),
            5_690
        );
        assert_eq!(
            millis("2000-03-01T01:00:00+01:00"),
            millis("2000-03-01T00:00:00Z")
        );
        assert_eq!(
            millis("2000-02-29T00:00:00Z").unwrap() + 86_400_000,
            millis("2000-03-01T00:00:00Z").unwrap()
        );
        assert_eq!(millis("nonsense"), None);
        assert_eq!(human(850), "850ms");
        assert_eq!(human(12_340), "12.3s");
        assert_eq!(human(245_000), "4m05s");
        assert_eq!(human(7_260_000), "2h01m");
    }
}
