//! The layer map, enforced: every `crate::…` path in `src/` names a top-level module at or below
//! the layer of the module it is written in (doc comments and comments are not imports). A new
//! top-level module fails this test until it is placed in `LAYERS`.

use std::collections::BTreeMap;
use std::path::Path;

/// Top-level modules from the bottom up; modules on one line share a layer and may not import
/// each other.
const LAYERS: &[&[&str]] = &[
    &["error", "sync", "limits"],
    &["memory", "workers", "handoff"],
    &["dsp"],
    &["cache"],
    &["spectral", "typed"],
    &["auralis"],
    &["pipeline"],
    &["render"],
    &["engine"],
    // The loom model checks (test-only) reach into engine, render and handoff.
    &["ffi", "loom_tests"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level modules a source text refers to through `crate::` outside comments, including
/// the first segment of each entry of a `crate::{a::X, b::Y}` group.
fn imports(source: &str) -> Vec<String> {
    let code: String = source
        .lines()
        .map(|line| line.find("//").map_or(line, |at| &line[..at]))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at + "crate::".len()..];
        if let Some(group) = tail.strip_prefix('{') {
            // Entries at depth 0 of the group, each named by its first segment.
            let (mut depth, mut start) = (0usize, 0usize);
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.push(ident(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(ident(tail));
        }
        rest = tail;
    }
    found.retain(|n| n.chars().next().is_some_and(|c| c.is_ascii_lowercase()));
    found
}

/// Every violation in `files` (top-level module, its source): `"from -> to"`.
fn violations(files: &[(String, String)]) -> Vec<String> {
    let mut bad = Vec::new();
    for (module, source) in files {
        let Some(own) = layer_of(module) else {
            bad.push(format!("{module}: not in LAYERS"));
            continue;
        };
        for target in imports(source) {
            if &target == module {
                continue;
            }
            match layer_of(&target) {
                Some(l) if l < own => {}
                Some(_) => bad.push(format!("{module} -> {target}")),
                None => bad.push(format!("{module} -> {target}: not in LAYERS")),
            }
        }
    }
    bad.sort();
    bad.dedup();
    bad
}

fn sources(dir: &Path, out: &mut Vec<(String, String)>, src: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out, src);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = top.trim_end_matches(".rs").to_string();
            if module != "lib" {
                out.push((module, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
}

#[test]
fn imports_only_point_down_the_layer_map() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files, &src);
    let modules: BTreeMap<_, _> = files.iter().map(|(m, _)| (m.clone(), ())).collect();
    assert!(modules.len() >= 10, "found only {:?}", modules.keys());
    let bad = violations(&files);
    assert!(bad.is_empty(), "imports against the layer map: {bad:#?}");
}

#[test]
fn the_checker_catches_upward_sideways_and_unplaced_imports() {
    let file = |m: &str, s: &str| (m.to_string(), s.to_string());
    let files = [
        file(
            "dsp",
            "use crate::pipeline::Equalizer;\n/// [`x`](crate::engine::Engine)",
        ),
        file("spectral", "let t = crate::typed::TypedSample::x();"),
        file(
            "cache",
            "use crate::{\n    dsp::{Sample, Layout},\n    engine::Engine,\n};",
        ),
        file("pipeline", "use crate::dsp::Layout; // crate::ffi"),
        file("newthing", "use crate::dsp::Layout;"),
        file("ffi", "use crate::nowhere::X;"),
    ];
    assert_eq!(
        violations(&files),
        vec![
            "cache -> engine".to_string(),
            "dsp -> pipeline".to_string(),
            "ffi -> nowhere: not in LAYERS".to_string(),
            "newthing: not in LAYERS".to_string(),
            "spectral -> typed".to_string(),
        ]
    );
}
