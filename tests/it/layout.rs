//! The shape of the crate: data flows one way (parse → plan → wait → run →
//! mark), so no module of `src/` may reach, through the modules it uses, back
//! to itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Each module of `src/` and the modules it names as `crate::NAME`.
fn uses() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_none_or(|e| e != "rs") || matches!(name.as_str(), "lib" | "main") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let used = text
            .match_indices("crate::")
            .filter_map(|(at, _)| {
                let rest = &text[at + "crate::".len()..];
                let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
                Some(rest[..end].to_owned())
            })
            .filter(|m| *m != name)
            .collect();
        graph.insert(name, used);
    }
    graph
}

#[test]
fn no_module_reaches_back_to_itself() {
    let graph = uses();
    assert!(
        graph.contains_key("step") && graph.contains_key("wait"),
        "{graph:?}"
    );
    for start in graph.keys() {
        // Every path from `start`, depth first; a path back to it is a cycle.
        let mut stack = vec![vec![start.clone()]];
        let mut seen = BTreeSet::new();
        while let Some(path) = stack.pop() {
            let last = path.last().unwrap();
            for next in graph.get(last).into_iter().flatten() {
                assert_ne!(next, start, "module cycle: {} → {next}", path.join(" → "));
                if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push(longer);
                }
            }
        }
    }
}
