//! The crates' modules read from the bottom up: each module uses only the
//! modules its crate's map (the paragraph of `lib.rs` that lists them "from the
//! bottom") puts before it, and the map lists every module. So a reader who
//! starts at the bottom never needs a file above the one they are in, and the
//! map in the docs stays true.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// The crates of the workspace, by folder.
const CRATES: [&str; 4] = [".", "zivacare", "sandbox", "server"];

/// The modules of a crate: its `src/*.rs` files but the crate roots.
fn modules(src: &Path) -> BTreeSet<String> {
    fs::read_dir(src)
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let module = name.strip_suffix(".rs")?;
            (!["lib", "main"].contains(&module)).then(|| module.to_owned())
        })
        .collect()
}

/// The words in backticks of the `//!` paragraph of `lib.rs` that says "from
/// the bottom", from there on, that name one of `modules`: the map's order.
fn map(lib: &str, modules: &BTreeSet<String>) -> Vec<String> {
    let docs: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .collect();
    let paragraph = docs
        .split(|l| l.is_empty())
        .map(|p| p.join(" "))
        .find(|p| p.contains("from the bottom"))
        .expect("lib.rs has a paragraph that lists the modules \"from the bottom\"");
    let after = &paragraph[paragraph.find("from the bottom").unwrap()..];
    let mut order: Vec<String> = Vec::new();
    for (i, word) in after.split('`').enumerate() {
        if i % 2 == 1 && modules.contains(word) && !order.iter().any(|m| m == word) {
            order.push(word.to_owned());
        }
    }
    order
}

/// The modules of the crate `source` names (`crate::x`, `super::x`).
fn uses(source: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for prefix in ["crate::", "super::"] {
        for (at, _) in source.match_indices(prefix) {
            let rest = &source[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(rest.len());
            if modules.contains(&rest[..end]) {
                used.insert(rest[..end].to_owned());
            }
        }
    }
    used
}

#[test]
fn every_module_uses_only_the_modules_below_it_in_its_crates_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for krate in CRATES {
        let src = root.join(krate).join("src");
        let all = modules(&src);
        let order = map(&fs::read_to_string(src.join("lib.rs")).unwrap(), &all);
        let listed: BTreeSet<String> = order.iter().cloned().collect();
        for missing in all.difference(&listed) {
            problems.push(format!("{krate}: `{missing}` is not in lib.rs's map"));
        }
        for (i, module) in order.iter().enumerate() {
            let source = fs::read_to_string(src.join(format!("{module}.rs"))).unwrap();
            for used in uses(&source, &all) {
                if used != *module && !order[..i].contains(&used) {
                    problems.push(format!(
                        "{krate}: `{module}` uses `{used}`, above it in the map"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_a_module_that_uses_one_above_it() {
    let all: BTreeSet<String> = ["a", "b"].map(String::from).into();
    let order = map("//! Modules, from the bottom: `a`, then `b`.\n", &all);
    assert_eq!(order, ["a", "b"]);
    assert!(uses("use crate::b::Thing;", &all).contains("b"));
    assert!(uses("use crate::Thing; // crate::bee", &all).is_empty());
}
