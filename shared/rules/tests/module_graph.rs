//! The files of this crate import each other without a cycle, and the preview folder depends on
//! the core, never the other way round: the production path reads event → facts → access →
//! converge, and `preview` (the CLI's reading of an event file) sits on top of it.
//!
//! The graph is read from the source text: one node per file (`lib.rs` is the crate root,
//! `x/mod.rs` and `x.rs` are module `x`, `x/y.rs` is `x::y`); an edge for every path that starts
//! with `crate::`, `super::`, `self::` or the name of a child module (in `use` trees, braces
//! included, and inline in code), resolved to the deepest file module it names. Comments,
//! strings and character literals are left out, and `super` inside an inline module (`mod tests
//! { use super::*; }`) is the file itself. `mod x;` declares a file and is not an edge; a
//! `pub use` re-export is one (the file depends on what it re-exports), so a folder's `mod.rs`
//! that re-exports its files cannot be imported back by them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module of the crate: its path from the crate root (`[]` is `lib.rs`).
type Module = Vec<String>;

/// Module → the modules it imports.
type Graph = BTreeMap<Module, BTreeSet<Module>>;

fn name(m: &Module) -> String {
    if m.is_empty() {
        "crate (lib.rs)".to_string()
    } else {
        m.join("::")
    }
}

/// Every `.rs` file under `dir`, as (path relative to `dir` with `/`, text).
fn source_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read the source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(dir).expect("under the source folder");
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                let text = std::fs::read_to_string(&path).expect("read a source file");
                out.push((rel.join("/"), text));
            }
        }
    }
    out.sort();
    out
}

/// The module a file holds.
fn module_of(file: &str) -> Module {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.len() == 1 && parts[0] == "lib" {
        return Vec::new();
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The text with comments, string literals (raw and byte ones too) and character literals
/// replaced by a space, and lifetimes' quotes dropped.
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        let after_ident = i > 0 && is_ident_byte(b[i - 1]);
        if c == b'/' && next == Some(b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && next == Some(b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(b' ');
        } else if !after_ident
            && (c == b'r' || (c == b'b' && next == Some(b'r')))
            && raw_string_len(&b[i..]).is_some()
        {
            i += raw_string_len(&b[i..]).unwrap_or(1);
            out.push(b' ');
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(b' ');
        } else if c == b'\'' {
            // A character literal ('x', '\n', 'é') or a lifetime ('a).
            if next == Some(b'\\') {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
                out.push(b' ');
            } else {
                let ch = src[i + 1..].chars().next().map_or(0, char::len_utf8);
                if b.get(i + 1 + ch) == Some(&b'\'') {
                    i += ch + 2;
                    out.push(b' ');
                } else {
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The length of the raw string (`r"…"`, `r#"…"#`, `br"…"`) at the start of `b`, if one is.
fn raw_string_len(b: &[u8]) -> Option<usize> {
    let mut i = if b.starts_with(b"br") { 2 } else { 1 };
    let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
    i += hashes;
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    let end = b[i + 1..]
        .windows(close.len())
        .position(|w| w == close.as_slice())?;
    Some(i + 1 + end + close.len())
}

/// Identifiers, `::` and single punctuation characters.
fn tokens(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if is_ident_byte(c) || c >= 0x80 {
            let start = i;
            while i < b.len() && (is_ident_byte(b[i]) || b[i] >= 0x80) {
                i += 1;
            }
            out.push(&text[start..i]);
        } else if b[i..].starts_with(b"::") {
            out.push("::");
            i += 2;
        } else {
            out.push(&text[i..i + 1]);
            i += 1;
        }
    }
    out
}

/// The paths of the use tree (or inline path) starting at `toks[i]`, each under `prefix`, and
/// the index after it.
fn use_tree(toks: &[&str], mut i: usize, prefix: &[String]) -> (Vec<Vec<String>>, usize) {
    let mut path = prefix.to_vec();
    loop {
        match toks.get(i).copied() {
            Some("{") => {
                i += 1;
                let mut out = Vec::new();
                while let Some(&t) = toks.get(i) {
                    match t {
                        "}" => {
                            i += 1;
                            break;
                        }
                        "," => i += 1,
                        "as" => i += 2,
                        _ => {
                            let (paths, j) = use_tree(toks, i, &path);
                            out.extend(paths);
                            i = j.max(i + 1);
                        }
                    }
                }
                return (out, i);
            }
            Some("*") => return (vec![path], i + 1),
            Some(t) if t.bytes().all(is_ident_byte) => {
                path.push(t.to_string());
                i += 1;
                if toks.get(i) == Some(&"::") {
                    i += 1;
                } else {
                    return (vec![path], i);
                }
            }
            _ => return (vec![path], i),
        }
    }
}

/// The file module that `path`, written in `scope` (a file's module and the inline modules
/// around the path), names: the deepest module of `known` it starts with.
fn resolve(path: &[String], scope: &Module, file: &Module, known: &BTreeSet<Module>) -> Module {
    let mut abs: Module = match path[0].as_str() {
        "crate" => Vec::new(),
        "self" => scope.clone(),
        "super" => scope.clone(),
        _ => file.clone(), // a child module of the file
    };
    let mut rest = match path[0].as_str() {
        "crate" | "self" => &path[1..],
        _ => path,
    };
    while rest.first().is_some_and(|s| s == "super") {
        abs.pop();
        rest = &rest[1..];
    }
    abs.extend(rest.iter().filter(|s| *s != "self").cloned());
    (0..=abs.len())
        .rev()
        .map(|n| abs[..n].to_vec())
        .find(|m| known.contains(m))
        .unwrap_or_default()
}

/// The module graph of `files` (paths relative to `src/`, and their text).
fn graph(files: &[(String, String)]) -> Graph {
    let known: BTreeSet<Module> = files.iter().map(|(f, _)| module_of(f)).collect();
    let mut g = Graph::new();
    for (f, text) in files {
        let file = module_of(f);
        let edges = g.entry(file.clone()).or_default();
        let text = strip(text);
        let toks = tokens(&text);
        // Inline modules open around the current token: (name, brace depth inside it).
        let mut inline: Vec<(String, usize)> = Vec::new();
        let mut depth = 0;
        let mut i = 0;
        while i < toks.len() {
            let t = toks[i];
            match t {
                "{" => {
                    depth += 1;
                    if i >= 2 && toks[i - 2] == "mod" {
                        inline.push((toks[i - 1].to_string(), depth));
                    }
                }
                "}" => {
                    if inline.last().is_some_and(|&(_, d)| d == depth) {
                        inline.pop();
                    }
                    depth -= 1;
                }
                _ => {}
            }
            let starts_path = toks.get(i + 1) == Some(&"::")
                && (i == 0 || !matches!(toks[i - 1], "::" | "." | "$"))
                && match t {
                    "crate" | "super" | "self" => true,
                    _ => {
                        inline.is_empty()
                            && known.contains(&[file.clone(), vec![t.into()]].concat())
                    }
                };
            if !starts_path {
                i += 1;
                continue;
            }
            let scope: Module = file
                .iter()
                .cloned()
                .chain(inline.iter().map(|(n, _)| n.clone()))
                .collect();
            let (paths, j) = use_tree(&toks, i, &[]);
            for p in paths {
                let target = resolve(&p, &scope, &file, &known);
                if target != file {
                    edges.insert(target);
                }
            }
            // Braces inside a use tree open no scope.
            i = j.max(i + 1);
        }
    }
    g
}

/// The cycles of `g`: within each strongly connected component of more than one module, the
/// shortest cycle through each of its modules, each as the modules along it (the first
/// repeated at the end), each once.
fn cycles(g: &Graph) -> Vec<Vec<Module>> {
    // Tarjan's strongly connected components.
    struct State<'g> {
        g: &'g Graph,
        index: BTreeMap<&'g Module, usize>,
        low: BTreeMap<&'g Module, usize>,
        stack: Vec<&'g Module>,
        on_stack: BTreeSet<&'g Module>,
        sccs: Vec<Vec<&'g Module>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g Module) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.g.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                scc.push(w);
                if w == v {
                    break;
                }
            }
            s.sccs.push(scc);
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        sccs: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    let mut out = BTreeSet::new();
    for scc in s.sccs.into_iter().filter(|c| c.len() > 1) {
        let inside: BTreeSet<&Module> = scc.iter().copied().collect();
        for &start in &inside {
            out.insert(shortest_cycle(g, &inside, start));
        }
    }
    out.into_iter().collect()
}

/// The shortest cycle through `start` within the modules `inside` (a strongly connected
/// component), rotated to begin at its least module so that one cycle is named once.
fn shortest_cycle(g: &Graph, inside: &BTreeSet<&Module>, start: &Module) -> Vec<Module> {
    let mut came_from: BTreeMap<&Module, &Module> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut last = None;
    'search: while let Some(v) = queue.pop_front() {
        for w in g.get(v).into_iter().flatten() {
            if w == start {
                last = Some(v);
                break 'search;
            }
            if inside.contains(w) && !came_from.contains_key(w) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    let mut cycle = Vec::new();
    let mut v = last.expect("every module of a component is on a cycle");
    while v != start {
        cycle.push(v.clone());
        v = came_from[v];
    }
    cycle.push(start.clone());
    cycle.reverse();
    let least = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap_or(0);
    cycle.rotate_left(least);
    cycle.push(cycle[0].clone());
    cycle
}

fn crate_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph(&source_files(&src));
    // The walk found the crate (a wrong folder would make every check pass).
    for m in [&[][..], &["facts"], &["preview"], &["event"]] {
        let m: Module = m.iter().map(|s| s.to_string()).collect();
        assert!(g.contains_key(&m), "no module {} under {src:?}", name(&m));
    }
    g
}

#[test]
fn the_files_of_the_crate_import_each_other_without_a_cycle() {
    let found: Vec<String> = cycles(&crate_graph())
        .iter()
        .map(|c| c.iter().map(name).collect::<Vec<_>>().join(" → "))
        .collect();
    assert!(
        found.is_empty(),
        "import cycles among the files of shared/rules:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn no_core_module_imports_the_preview_folder() {
    let is_preview = |m: &Module| m.first().is_some_and(|s| s == "preview");
    let wrong: Vec<String> = crate_graph()
        .iter()
        .filter(|(from, _)| !is_preview(from))
        .flat_map(|(from, to)| {
            to.iter()
                .filter(|t| is_preview(t))
                .map(move |t| format!("{} → {}", name(from), name(t)))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "the core imports the preview folder (preview depends on the core, not the other way):\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn the_reader_resolves_paths_as_rustc_does_and_names_a_cycle() {
    let files: Vec<(String, String)> = [
        (
            "lib.rs",
            "//! See crate::b::B.\npub mod a;\npub mod b;\nmod c;\npub use a::A;\n",
        ),
        (
            "a.rs",
            "use crate::{b::{self, B}, c::C as Sea};\npub(crate) struct A;\n\
             fn f<'x>(s: &'x str) -> char { let _ = \"crate::\"; '{' }\n",
        ),
        (
            "b.rs",
            "/* use crate::a; /* nested */ */\npub struct B;\nfn g() -> &'static str { r#\"crate::a::A\"# }\n\
             #[cfg(test)]\nmod tests {\n    use super::*;\n    fn h() { let _ = self::super::B; }\n}\n\
             pub(super) fn k() {}\n",
        ),
        ("c/mod.rs", "mod d;\npub use d::D;\npub struct C;\n"),
        (
            "c/d.rs",
            "pub struct D(u8);\nimpl D { fn e(&self) { let _ = super::super::a::A; self.0; } }\n",
        ),
    ]
    .into_iter()
    .map(|(f, t)| (f.to_string(), t.to_string()))
    .collect();
    let g = graph(&files);
    let m = |s: &str| -> Module {
        if s.is_empty() {
            Vec::new()
        } else {
            s.split("::").map(String::from).collect()
        }
    };
    let want: Graph = [
        ("", vec!["a"]),
        ("a", vec!["b", "c"]),
        ("b", vec![]),
        ("c", vec!["c::d"]),
        ("c::d", vec!["a"]),
    ]
    .into_iter()
    .map(|(f, to)| (m(f), to.into_iter().map(m).collect()))
    .collect();
    assert_eq!(g, want);
    assert_eq!(cycles(&g), vec![vec![m("a"), m("c"), m("c::d"), m("a")]]);
}
