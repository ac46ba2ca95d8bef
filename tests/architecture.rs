//! The layer rule of docs/architecture.md, checked on the source: a top-level module may
//! use (`crate::...`) only modules of its own layer or below, modules of one layer form no
//! cycle, and the protocol layer uses nothing else of postern. Test modules (after
//! `#[cfg(test)]`) are not counted.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layers, lowest first (docs/architecture.md). A module missing here fails the test:
/// place it when you add it.
const LAYERS: &[(&str, &[&str])] = &[
    ("proto", &["proto"]),
    ("base", &["acme", "config", "queue", "dkim", "metrics", "limits", "net", "cluster"]),
    ("routing", &["routing"]),
    ("accounts", &["directory", "mailstore", "rewrite"]),
    ("smtp_client", &["smtp_client"]),
    ("transport", &["transport"]),
    ("delivery", &["delivery"]),
    ("app", &["app"]),
    ("server", &["server"]),
    ("edges", &["http", "cli", "dnscheck", "daemon", "admin"]),
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`server` for src/server/smtp/session.rs).
fn unit(rel: &Path) -> String {
    rel.with_extension("").iter().next().map(|c| c.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The units each unit uses.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut all = Vec::new();
    files(src, &mut all);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in all {
        let rel = path.strip_prefix(src).unwrap();
        // The crate roots only declare modules.
        if rel.starts_with("bin") || ["main.rs", "lib.rs"].iter().any(|f| rel == Path::new(f)) {
            continue;
        }
        let from = unit(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let entry = deps.entry(from.clone()).or_default();
        let mut add = |to: String| {
            if to != from {
                entry.insert(to);
            }
        };
        for (i, _) in code.match_indices("crate::") {
            let top: String = code[i + 7..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            add(top);
        }
    }
    deps
}

fn layer_of(unit: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, units)| units.contains(&unit))
}

#[test]
fn layers_import_only_downwards_and_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let deps = graph(&src);
    let mut problems = Vec::new();
    for (from, tos) in &deps {
        let Some(lf) = layer_of(from) else {
            problems.push(format!("{from} is in no layer (tests/architecture.rs LAYERS)"));
            continue;
        };
        for to in tos {
            match layer_of(to) {
                Some(lt) if lt > lf => problems.push(format!("{from} ({}) uses {to} ({}), a higher layer", LAYERS[lf].0, LAYERS[lt].0)),
                Some(lt) if lt == lf && lf == 0 => problems.push(format!("{from} uses {to}: the protocol layer stands alone")),
                Some(_) => {}
                None => problems.push(format!("{from} uses {to}, which is in no layer")),
            }
        }
    }
    // Within a layer: no cycle (depth-first search over same-layer edges).
    fn visit(n: &str, deps: &BTreeMap<String, BTreeSet<String>>, stack: &mut Vec<String>, done: &mut BTreeSet<String>, out: &mut Vec<String>) {
        if done.contains(n) {
            return;
        }
        if let Some(i) = stack.iter().position(|s| s == n) {
            out.push(format!("cycle: {} -> {n}", stack[i..].join(" -> ")));
            return;
        }
        stack.push(n.to_string());
        for to in deps.get(n).into_iter().flatten().filter(|t| layer_of(t) == layer_of(n)) {
            visit(to, deps, stack, done, out);
        }
        stack.pop();
        done.insert(n.to_string());
    }
    let mut done = BTreeSet::new();
    for n in deps.keys() {
        visit(n, &deps, &mut Vec::new(), &mut done, &mut problems);
    }
    assert!(problems.is_empty(), "layer rule broken (docs/architecture.md):\n  {}", problems.join("\n  "));
    // The check sees the real graph: a few known edges must be in it.
    assert!(deps["transport"].contains("smtp_client") && deps["server"].contains("app"), "{deps:#?}");
}
