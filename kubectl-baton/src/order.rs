//! The order of the steps: one after another as listed, unless
//! `baton.dev/after.<step>: "x,y"` makes a step wait for x and y instead
//! (`""`: for no step, a root). The result is a DAG: a cycle, or a name that
//! is no step, is an error naming it.

use std::collections::BTreeMap;

use crate::pod::AFTER;

/// The parsed order of a pod's steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Each step's name and the steps it waits for, in the pod's order.
    pub steps: Vec<(String, Vec<String>)>,
}

impl Order {
    /// The steps that no step waits for: the chain's (or DAG's) ends.
    pub fn ends(&self) -> Vec<&str> {
        self.steps
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| {
                !self
                    .steps
                    .iter()
                    .any(|(_, after)| after.iter().any(|a| a == name))
            })
            .collect()
    }
}

/// The items of a comma-separated annotation value: trimmed, empty ones
/// skipped, each once (in their first place).
pub fn list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == item) {
            out.push(item.to_owned());
        }
    }
    out
}

/// The order of `steps` (names, in the pod's order), given the
/// `baton.dev/after.<name>` annotations (`after`: name → value) and the
/// names of the sidecars, which are no steps.
pub fn order(
    steps: &[&str],
    sidecars: &[String],
    after: &BTreeMap<String, String>,
) -> Result<Order, String> {
    for name in after.keys() {
        if sidecars.iter().any(|s| s == name) {
            return Err(format!(
                "{AFTER}{name}: {name:?} is a sidecar, which runs beside the steps and waits for none"
            ));
        }
        if !steps.contains(&name.as_str()) {
            return Err(format!(
                "{AFTER}{name}: the pod has no app container {name:?} (its steps: {})",
                steps.join(", ")
            ));
        }
    }
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let waits = match after.get(*step) {
            Some(text) => list(text),
            None => i
                .checked_sub(1)
                .map(|j| vec![steps[j].to_owned()])
                .unwrap_or_default(),
        };
        for name in &waits {
            if sidecars.iter().any(|s| s == name) {
                return Err(format!(
                    "{AFTER}{step} names {name:?}, a sidecar: every first step waits for every sidecar already"
                ));
            }
            if !steps.contains(&name.as_str()) {
                return Err(format!(
                    "{AFTER}{step} names {name:?}, which is no app container of the pod (its steps: {})",
                    steps.join(", ")
                ));
            }
        }
        out.push(((*step).to_owned(), waits));
    }
    let order = Order { steps: out };
    if let Some(cycle) = cycle(&order) {
        return Err(format!(
            "baton.dev/after makes a cycle: {} (each waits for the next)",
            cycle.join(" → ")
        ));
    }
    Ok(order)
}

/// A cycle of steps, each waiting for the next, the first repeated at the end.
fn cycle(order: &Order) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let index = |name: &str| order.steps.iter().position(|(n, _)| n == name);
    let mut marks = vec![Mark::New; order.steps.len()];
    for start in 0..order.steps.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Depth first, with an explicit stack of (step, next edge).
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        marks[start] = Mark::Open;
        while let Some(&mut (node, ref mut edge)) = path.last_mut() {
            let waits = &order.steps[node].1;
            if *edge == waits.len() {
                marks[node] = Mark::Done;
                path.pop();
                continue;
            }
            let next = index(&waits[*edge]).expect("checked names");
            *edge += 1;
            match marks[next] {
                Mark::New => {
                    marks[next] = Mark::Open;
                    path.push((next, 0));
                }
                Mark::Open => {
                    let from = path.iter().position(|(n, _)| *n == next).expect("open");
                    let mut names: Vec<String> = path[from..]
                        .iter()
                        .map(|(n, _)| order.steps[*n].0.clone())
                        .collect();
                    names.push(order.steps[next].0.clone());
                    return Some(names);
                }
                Mark::Done => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{list, order};

    fn after(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn lists_are_trimmed_and_deduplicated() {
        assert_eq!(list(" a, b,,a ,"), ["a", "b"]);
        assert!(list("").is_empty());
    }

    #[test]
    fn a_chain_by_default() {
        let o = order(&["a", "b", "c"], &[], &BTreeMap::new()).unwrap();
        assert_eq!(o.steps[0].1, Vec::<String>::new());
        assert_eq!(o.steps[1].1, ["a"]);
        assert_eq!(o.steps[2].1, ["b"]);
        assert_eq!(o.ends(), ["c"]);
    }

    #[test]
    fn a_dag() {
        let o = order(
            &["fetch", "left", "right", "join"],
            &[],
            &after(&[("right", "fetch"), ("join", "left, right")]),
        )
        .unwrap();
        assert_eq!(o.steps[1].1, ["fetch"]);
        assert_eq!(o.steps[3].1, ["left", "right"]);
        assert_eq!(o.ends(), ["join"]);
        let o = order(&["a", "b"], &[], &after(&[("b", "")])).unwrap();
        assert!(o.steps.iter().all(|(_, waits)| waits.is_empty()));
        assert_eq!(o.ends(), ["a", "b"]);
    }

    #[test]
    fn cycles_and_unknown_names_are_named() {
        let err = order(&["a", "b", "c"], &[], &after(&[("a", "c")])).unwrap_err();
        assert!(err.contains("a → c → b → a"), "{err}");
        let err = order(&["a"], &[], &after(&[("a", "a")])).unwrap_err();
        assert!(err.contains("a → a"), "{err}");
        let err = order(&["a", "b"], &[], &after(&[("b", "x")])).unwrap_err();
        assert!(err.contains("\"x\""), "{err}");
        let err = order(&["a"], &[], &after(&[("z", "a")])).unwrap_err();
        assert!(err.contains("baton.dev/after.z"), "{err}");
        let err = order(&["a"], &["s".into()], &after(&[("a", "s")])).unwrap_err();
        assert!(err.contains("sidecar"), "{err}");
    }
}
