//! The layering rule of ../shared/DESIGN.md ("Dependencies point one way"), checked on the
//! source: every `crate::<layer>` path in `src/` (in a `use`, or spelled out in the code) is an
//! edge from the file's layer to that layer, and an edge the rule does not allow fails the test
//! with the file and line.
//!
//! ```text
//!  tui ─┐                       model  uses nothing of ours
//!  cli ─┴─► engine ─► store ─►  model  config uses model; store uses model
//!   │  │      ├─────► config ─► model  engine uses store, config, model (never sim)
//!   │  └─► sim ─────► config    sim uses config, model; cli and tui start it
//!   └─► tui (the binary's commands open the console; nothing else names cli or tui)
//! ```
//! `clock` is the injected time every layer but `model` may take (model gets `now` passed in).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// What each layer may name, besides itself.
fn allowed(layer: &str) -> &'static [&'static str] {
    match layer {
        "model" => &[],
        "config" => &["model"],
        "store" => &["model"],
        "engine" => &["store", "config", "model", "clock"],
        "sim" => &["config", "model", "clock"],
        // The console reaches stored state through the engine: never `store`.
        "tui" => &["engine", "config", "model", "sim", "clock"],
        // `cli` is the binary's front: its `console` and `demo` commands open the console.
        "cli" => &["engine", "config", "model", "sim", "tui", "clock"],
        "clock" => &[],
        // lib.rs and main.rs: the crate's edge.
        _ => &["model", "config", "store", "engine", "sim", "tui", "cli", "clock"],
    }
}

const LAYERS: [&str; 8] = ["model", "config", "store", "engine", "sim", "tui", "cli", "clock"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer a file belongs to: its first folder (or file stem) under `src/`.
fn layer_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
    first.trim_end_matches(".rs").to_owned()
}

/// Every `crate::<layer>` named on a line, outside comments and string literals.
fn named_layers(line: &str) -> Vec<&'static str> {
    let code = line.split("//").next().unwrap_or("");
    // Drop string literals: a message may mention a path.
    let mut plain = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in code.chars() {
        match (in_string, c) {
            (true, '\\') if !escaped => escaped = true,
            (true, '"') if !escaped => in_string = false,
            (true, _) => escaped = false,
            (false, '"') => in_string = true,
            (false, c) => plain.push(c),
        }
    }
    let mut found = Vec::new();
    for (at, _) in plain.match_indices("crate::") {
        // `warroom::crate::` never occurs; a preceding identifier char means another path.
        if plain[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &plain[at + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if let Some(layer) = LAYERS.iter().find(|l| **l == name) {
            found.push(*layer);
        } else if name.is_empty() && rest.starts_with('{') {
            // `use crate::{a, b::{c, d}}`: every layer named at the top of the braces.
            let mut depth = 0;
            let mut parts = vec![String::new()];
            for c in rest[1..].chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(String::new());
                        continue;
                    }
                    _ => {}
                }
                if let Some(last) = parts.last_mut() {
                    last.push(c);
                }
            }
            for part in parts {
                let head: String =
                    part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if let Some(layer) = LAYERS.iter().find(|l| **l == head) {
                    found.push(*layer);
                }
            }
        }
    }
    found
}

/// The file's lines, each `use` statement joined up to its `;` (rustfmt spreads a brace group
/// over lines), numbered by the line it starts on.
fn statements(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        if let Some((start, mut joined)) = open.take() {
            joined.push(' ');
            joined.push_str(code.trim());
            if code.contains(';') {
                out.push((start, joined));
            } else {
                open = Some((start, joined));
            }
            continue;
        }
        let trimmed = code.trim_start();
        let is_use = trimmed.starts_with("use ")
            || trimmed.starts_with("pub use ")
            || trimmed.starts_with("pub(crate) use ");
        if is_use && !code.contains(';') {
            open = Some((n, code.trim().to_owned()));
        } else {
            out.push((n, line.to_owned()));
        }
    }
    out.extend(open);
    out
}

fn forbidden_edges(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let layer = layer_of(src, file);
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in statements(&text) {
            for target in named_layers(&line) {
                if target != layer && !allowed(&layer).contains(&target) {
                    problems.push(format!(
                        "{}:{}: {layer} names {target} (`{}`), which DESIGN.md does not allow: {layer} may use {}",
                        file.display(),
                        n + 1,
                        line.trim(),
                        match allowed(&layer) {
                            [] => "nothing of ours".to_owned(),
                            some => some.join(", "),
                        }
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn dependencies_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let problems = forbidden_edges(&src);
    assert!(problems.is_empty(), "forbidden edges between layers:\n{}", problems.join("\n"));
}

#[test]
fn the_check_sees_an_edge_in_every_form_it_takes() {
    assert_eq!(named_layers("use crate::store::{JobRow, Store};"), ["store"]);
    assert_eq!(named_layers("    let x = crate::sim::demo::EXAMPLE_NAME;"), ["sim"]);
    assert_eq!(named_layers("use crate::{engine, tui::state};"), ["engine", "tui"]);
    assert!(named_layers("// crate::store in a comment").is_empty());
    assert!(named_layers(r#"let s = "crate::store in a message";"#).is_empty());
    assert!(named_layers("use warroom_crate::store;").is_empty());
    assert_eq!(named_layers("use crate::{engine::{jobs, Engine}, store::Store};"), ["engine", "store"]);
    let joined = statements("use crate::{\n    model::Tier,\n    store::{JobRow, Store},\n};\nfn f() {}\n");
    assert_eq!(joined[0].0, 0);
    assert_eq!(named_layers(&joined[0].1), ["model", "store"]);
}

#[test]
fn a_forbidden_edge_fails_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("model")).unwrap();
    std::fs::create_dir_all(src.join("tui")).unwrap();
    std::fs::write(src.join("model/mod.rs"), "//! pure\nuse crate::engine::Engine;\n").unwrap();
    std::fs::write(src.join("tui/app.rs"), "use crate::engine::Engine;\nuse crate::store::Store;\n").unwrap();
    std::fs::write(src.join("tui/view.rs"), "use crate::{\n    model::Tier,\n    store::JobRow,\n};\n")
        .unwrap();
    let problems = forbidden_edges(&src);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[2].contains("tui/view.rs:1: tui names store"), "{}", problems[2]);
    assert!(problems[0].contains("model/mod.rs:2: model names engine"), "{}", problems[0]);
    assert!(problems[0].ends_with("model may use nothing of ours"), "{}", problems[0]);
    assert!(problems[1].contains("tui/app.rs:2: tui names store"), "{}", problems[1]);
}
