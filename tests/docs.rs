//! The docs name only files and folders that exist: every source path the README, the crate
//! docs and the design notes cite (`src/…`, `tests/…`, `cli/…`, …) is in the tree. Build
//! products (`…/build/…`) are left out.

use std::path::Path;

const DOCS: &[&str] = &["README.md", "src/lib.rs", "docs/DESIGN.md"];
const ROOTS: &[&str] = &[
    "src/",
    "tests/",
    "benches/",
    "ffi-tests/",
    "bindings/",
    "cli/",
    "fuzz/",
    "docs/",
    "examples/",
    "include/",
];

/// The paths `text` cites: a known root, then path characters, trailing punctuation dropped.
fn cited(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    for root in ROOTS {
        let mut from = 0;
        while let Some(at) = text[from..].find(root) {
            let start = from + at;
            from = start + root.len();
            let preceded = start > 0 && {
                let c = bytes[start - 1];
                c.is_ascii_alphanumeric() || c == b'_' || c == b'/' || c == b'.' || c == b'-'
            };
            if preceded {
                continue;
            }
            let end = text[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || "_./-".contains(c)))
                .map_or(text.len(), |n| start + n);
            let path = text[start..end].trim_end_matches(['.', ',', '-']);
            if !path.contains("/build/") && !path.contains('*') {
                out.push(path.to_string());
            }
        }
    }
    out
}

#[test]
fn every_cited_path_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    for doc in DOCS {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for path in cited(&text) {
            if !root.join(&path).exists() {
                missing.push(format!("{doc}: {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "cited paths not in the tree: {missing:#?}"
    );
}

#[test]
fn the_citation_reader_finds_paths_and_skips_others() {
    assert_eq!(
        cited("see `src/ffi/stage.rs`, and tests/layers.rs. not xsrc/a.rs or ffi-tests/build/x"),
        ["src/ffi/stage.rs", "tests/layers.rs"]
    );
}
