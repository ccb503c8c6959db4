//! The floor plan holds: no import cycle between the modules of a crate (top
//! level modules, and sibling files or folders inside one folder), and the
//! engine never imports `live`.
//!
//! Imports are read from the sources as text: every `crate::a::b` and
//! `super::a` path outside comments and test modules, resolved to the module
//! file it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every module of the crate at `root` (its `src`), with the modules it imports.
fn imports(root: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut files = Vec::new();
    collect_files(root, &mut files);
    let mut graph = BTreeMap::new();
    for file in files {
        let me = module_of(root, &file);
        let parent: Module = me[..me.len().saturating_sub(1)].to_vec();
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let mut targets = BTreeSet::new();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (base, rest) in paths(line) {
                let base = if base == "crate" { Vec::new() } else { parent.clone() };
                for path in rest {
                    let target = resolve(root, base.clone(), &path);
                    if !target.is_empty() && target != me {
                        targets.insert(target);
                    }
                }
            }
        }
        graph.insert(me, targets);
    }
    graph
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(root: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// `(crate|super, [path segments...])` for every path in `line`, with
/// `a::{b, c::d}` groups expanded.
fn paths(line: &str) -> Vec<(&'static str, Vec<Vec<String>>)> {
    let mut found = Vec::new();
    for base in ["crate", "super"] {
        let mut rest = line;
        while let Some(at) = rest.find(&format!("{base}::")) {
            let before = rest[..at].chars().last();
            rest = &rest[at + base.len() + 2..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let (head, group) = match rest.find('{') {
                Some(open) if !rest[..open].contains(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) => {
                    let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
                    (&rest[..open], Some(&rest[open + 1..close]))
                }
                _ => (rest, None),
            };
            let segments = |s: &str| -> Vec<String> {
                s.split("::")
                    .map(|seg| seg.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
                    .take_while(|seg: &String| !seg.is_empty())
                    .collect()
            };
            let head = segments(head);
            let items = match group {
                Some(group) => group
                    .split(',')
                    .map(|item| head.iter().cloned().chain(segments(item.trim())).collect())
                    .collect(),
                None => vec![head],
            };
            found.push((base, items));
        }
    }
    found
}

/// The deepest module that `path` names from `base`.
fn resolve(root: &Path, mut base: Module, path: &[String]) -> Module {
    for segment in path {
        let mut candidate = base.clone();
        candidate.push(segment.clone());
        let dir: PathBuf = candidate.iter().collect();
        if root.join(&dir).with_extension("rs").is_file() || root.join(&dir).join("mod.rs").is_file() {
            base = candidate;
        } else {
            break;
        }
    }
    base
}

/// The cycles of a graph (strongly connected components of more than one node).
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    let nodes: Vec<&Module> = graph.keys().chain(graph.values().flatten()).collect();
    let reach = |from: &Module, to: &Module| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(at) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == to {
                    return true;
                }
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        false
    };
    let mut found: Vec<Vec<Module>> = Vec::new();
    for &a in &nodes {
        if found.iter().any(|c| c.contains(a)) {
            continue;
        }
        let cycle: Vec<Module> = nodes
            .iter()
            .filter(|&&b| b == a || (reach(a, b) && reach(b, a)))
            .map(|&b| b.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if cycle.len() > 1 {
            found.push(cycle);
        }
    }
    found
}

/// The graph seen at one level: top-level modules of the crate, or the
/// children of one folder (what a file imports deeper counts as the child
/// that holds it; the folder's own `mod.rs` is left out, as re-exporting its
/// children is what it is for).
fn level(graph: &BTreeMap<Module, BTreeSet<Module>>, folder: &[String]) -> BTreeMap<Module, BTreeSet<Module>> {
    let child = |m: &Module| -> Option<Module> {
        (m.len() > folder.len() && m[..folder.len()] == *folder).then(|| m[..=folder.len()].to_vec())
    };
    let mut out: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, targets) in graph {
        let Some(a) = child(from) else { continue };
        for b in targets.iter().filter_map(child) {
            if a != b {
                out.entry(a.clone()).or_default().insert(b);
            }
        }
    }
    out
}

fn assert_no_cycles(crate_src: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(crate_src);
    let graph = imports(&root);
    let folders: BTreeSet<Module> = std::iter::once(Vec::new())
        .chain(
            graph
                .keys()
                .filter(|m| !m.is_empty())
                .map(|m| m[..m.len() - 1].to_vec()),
        )
        .collect();
    for folder in folders {
        let found = cycles(&level(&graph, &folder));
        assert!(
            found.is_empty(),
            "{crate_src}/{}: import cycles {found:?}",
            folder.join("/")
        );
    }
}

#[test]
fn the_runtime_has_no_import_cycle() {
    assert_no_cycles("streamflow-runtime/src");
}

#[test]
fn the_compiler_has_no_import_cycle() {
    assert_no_cycles("streamflow-macros/src");
}

#[test]
fn the_engine_never_imports_live() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("streamflow-runtime/src");
    let graph = imports(&root);
    let offenders: Vec<String> = graph
        .iter()
        .filter(|(from, targets)| {
            from.first().is_none_or(|m| m != "live") && targets.iter().any(|t| t.first().is_some_and(|m| m == "live"))
        })
        .map(|(from, _)| from.join("/"))
        .collect();
    assert!(offenders.is_empty(), "these modules import live/: {offenders:?}");
}

#[test]
fn a_cycle_is_found() {
    let m = |s: &str| -> Module { s.split('/').map(str::to_owned).collect() };
    let graph: BTreeMap<Module, BTreeSet<Module>> = [
        (m("a"), [m("b")].into()),
        (m("b"), [m("a/x")].into()),
        (m("c"), [m("a")].into()),
    ]
    .into();
    assert_eq!(cycles(&level(&graph, &[])), vec![vec![m("a"), m("b")]]);
    assert!(cycles(&level(&graph, &["a".to_owned()])).is_empty());
    assert_eq!(paths("use crate::live::{sources::Feed, error};").len(), 1);
    assert_eq!(paths("use crate::live::{sources::Feed, error};")[0].1.len(), 2);
}
