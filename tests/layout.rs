//! The architecture, checked from the sources so that it cannot silently regress (DESIGN.md,
//! "Layout"): the servers never depend on each other, core stays free of I/O, and no module file
//! imports a module that imports it back.
//!
//! The module graph is built from the text of the sources, with std alone: an edge goes from a
//! module file to each module file its `crate::…` and `super::…` paths name (grouped imports
//! included). `pub use` re-exports, `mod` declarations, comments, string literals and
//! `#[cfg(test)]` modules add no edge.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

/// The crates whose module graphs must have no cycle: (name, source folder under the root).
const CRATES: [(&str, &str); 9] = [
    ("core", "core/src"),
    ("io", "io/src"),
    ("collector", "collector/src"),
    ("processor", "processor/src"),
    ("renderer", "renderer/src"),
    ("export", "export/src"),
    ("fixtures", "fixtures/src"),
    ("benches", "benches/src"),
    ("heatpipe", "src"),
];

/// The three servers and the Parquet export: each builds on core and io, never on another of
/// them.
const SERVERS: [&str; 4] = ["collector", "processor", "renderer", "export"];

/// What core must not pull in: it does no I/O and knows nothing of servers.
const NOT_IN_CORE: [&str; 4] = ["aws-sdk-s3", "aws-config", "warp", "tokio"];

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn servers_depend_only_on_core_and_io() {
    for server in SERVERS {
        let dependencies = dependencies_of(&workspace_root().join(server).join("Cargo.toml"));
        for other in SERVERS.iter().filter(|&&other| other != server) {
            assert!(
                !dependencies.contains(&format!("heatpipe-{other}")),
                "{server}/Cargo.toml [dependencies] names heatpipe-{other}: the servers share \
                 only core and io (a dev-dependency is fine)"
            );
        }
    }
    let core = dependencies_of(&workspace_root().join("core").join("Cargo.toml"));
    let ours: Vec<&String> = core.iter().filter(|d| d.starts_with("heatpipe")).collect();
    assert!(
        ours.is_empty(),
        "core/Cargo.toml depends on {ours:?}: core is the bottom of the workspace"
    );
    for crate_name in NOT_IN_CORE {
        assert!(
            !core.contains(crate_name),
            "core/Cargo.toml depends on {crate_name}: core does no I/O (stores are in heatpipe-io)"
        );
    }
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut found = Vec::new();
    for (name, folder) in CRATES {
        let files = module_files(&workspace_root().join(folder));
        assert!(
            files.len() > 1,
            "{name}: no module files under {folder}; is the list of crates out of date?"
        );
        for cycle in module_cycles(&files) {
            found.push(format!("{name}: {cycle}"));
        }
    }
    assert!(
        found.is_empty(),
        "modules that import a module importing them back (remove one direction; a shared item \
         can move to a module both import):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_cycle_finder_finds_a_hand_made_cycle_and_nothing_else() {
    let files = |sources: &[(&str, &str)]| -> Vec<(PathBuf, String)> {
        sources
            .iter()
            .map(|(path, text)| (PathBuf::from(path), text.to_string()))
            .collect()
    };
    let circle = files(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("a.rs", "use crate::{b::{self, Thing}};\n"),
        (
            "b/mod.rs",
            "mod inner;\npub struct Thing;\nfn f() { crate::b::inner::h() }\n",
        ),
        ("b/inner.rs", "use super::super::c::Other;\npub fn h() {}\n"),
        ("c.rs", "pub struct Other;\nfn f() { super::a::g(); }\n"),
    ]);
    let cycles = module_cycles(&circle);
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert!(
        cycles[0].starts_with("a -> b -> b::inner -> c -> a "),
        "{}",
        cycles[0]
    );

    // The same files, with the way back from c to a only where it is no import.
    let no_circle = files(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        (
            "a.rs",
            "use crate::{b::{self, Thing}};\npub use crate::c::Other;\n",
        ),
        (
            "b/mod.rs",
            "mod inner;\npub struct Thing;\nfn f() { crate::b::inner::h() }\n",
        ),
        ("b/inner.rs", "use super::super::c::Other;\npub fn h() {}\n"),
        (
            "c.rs",
            "pub use super::a::g; // uses crate::a::g\n/* crate::a */\n\
             fn f() -> &'static str { \"crate::a::g\" }\n\
             fn g() -> &'static str { r#\"crate::a::g\"# }\n\
             #[cfg(test)]\n#[allow(dead_code)]\nmod tests {\n    use crate::a::g;\n    fn t() { let _ = '{'; }\n}\n\
             #[cfg(test)]\nmod more_tests;\n",
        ),
        ("c/more_tests.rs", "use crate::a::g;\n"),
    ]);
    assert_eq!(module_cycles(&no_circle), Vec::<String>::new());
}

// ---- Cargo.toml -------------------------------------------------------------------------------

/// Returns the crates a manifest's `[dependencies]` (and `[target.….dependencies]`) name, by
/// key and by `package = "…"` when renamed.
fn dependencies_of(manifest: &Path) -> BTreeSet<String> {
    /// What the lines of the current section are.
    enum Section {
        /// `[dependencies]`: one dependency a line.
        Dependencies,
        /// `[dependencies.name]`: the fields of one dependency.
        OneDependency,
        Other,
    }
    let text = fs::read_to_string(manifest)
        .unwrap_or_else(|err| panic!("reading {}: {err}", manifest.display()));
    let mut names = BTreeSet::new();
    let mut section = Section::Other;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_end_matches(']').trim();
            let table = header
                .strip_prefix("dependencies.")
                .or_else(|| header.split_once(".dependencies.").map(|(_, name)| name));
            section = if let Some(name) = table {
                names.insert(name.trim_matches('"').to_owned());
                Section::OneDependency
            } else if header == "dependencies" || header.ends_with(".dependencies") {
                Section::Dependencies
            } else {
                Section::Other
            };
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        match section {
            Section::Dependencies => {
                let name = key.split('.').next().unwrap_or(key).trim_matches('"');
                names.insert(name.to_owned());
                if let Some(package) = renamed_package(value) {
                    names.insert(package);
                }
            }
            Section::OneDependency if key == "package" => {
                names.insert(value.trim().trim_matches('"').to_owned());
            }
            Section::OneDependency | Section::Other => {}
        }
    }
    names
}

/// Returns the `package = "…"` of an inline dependency table, if it renames the crate.
fn renamed_package(value: &str) -> Option<String> {
    let after = value.split_once("package")?.1;
    let quoted = after.trim_start_matches([' ', '=']).strip_prefix('"')?;
    Some(quoted.split('"').next()?.to_owned())
}

// ---- Module files -----------------------------------------------------------------------------

/// A module's path inside its crate: `["chunk", "read"]`; empty for the crate root.
type ModulePath = Vec<String>;

/// Returns every `.rs` file under `src`, as (path relative to `src`, text), sorted by path.
fn module_files(src: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = fs::read_dir(&folder)
            .unwrap_or_else(|err| panic!("listing {}: {err}", folder.display()));
        for entry in entries {
            let path = entry.expect("folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = fs::read_to_string(&path)
                    .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
                let relative = path.strip_prefix(src).expect("under src").to_path_buf();
                files.push((relative, text));
            }
        }
    }
    files.sort();
    files
}

/// Returns the module a file holds: `chunk/read.rs` and `chunk/read/mod.rs` are `chunk::read`;
/// `lib.rs` and `main.rs` are the crate root.
fn module_path(relative: &Path) -> ModulePath {
    let mut parts: ModulePath = relative
        .with_extension("")
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts
}

fn display(module: &[String]) -> String {
    if module.is_empty() {
        "lib".to_owned()
    } else {
        module.join("::")
    }
}

/// Returns each cycle of the graph of `files` as a line: its modules in order, back to the first,
/// e.g. `run -> shard -> run`.
fn module_cycles(files: &[(PathBuf, String)]) -> Vec<String> {
    let graph = module_graph(files);
    strongly_connected(&graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            let cycle = shortest_cycle(&graph, &component);
            let mut line: Vec<String> = cycle.iter().map(|m| display(m)).collect();
            line.push(display(&cycle[0]));
            let members: Vec<String> = component.iter().map(|m| display(m)).collect();
            format!(
                "{} (strongly connected: {})",
                line.join(" -> "),
                members.join(", ")
            )
        })
        .collect()
}

/// Builds the graph: from each module file to the module files its paths name.
fn module_graph(files: &[(PathBuf, String)]) -> BTreeMap<ModulePath, BTreeSet<ModulePath>> {
    let mut texts: BTreeMap<ModulePath, Vec<String>> = BTreeMap::new();
    let mut test_only: BTreeSet<ModulePath> = BTreeSet::new();
    for (relative, text) in files {
        let module = module_path(relative);
        let (code, test_modules) = without_tests(&code_only(text));
        for name in test_modules {
            let mut child = module.clone();
            child.push(name);
            test_only.insert(child);
        }
        texts.entry(module).or_default().push(code);
    }
    // A test module's file and everything under it is test code.
    texts.retain(|module, _| !test_only.iter().any(|test| module.starts_with(test)));
    let modules: BTreeSet<ModulePath> = texts.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (module, codes) in &texts {
        let mut edges = BTreeSet::new();
        for code in codes {
            for path in named_paths(module, &without_re_exports(code)) {
                // The longest leading part of the path that is a module file.
                let target = (0..=path.len())
                    .rev()
                    .map(|len| path[..len].to_vec())
                    .find(|prefix| modules.contains(prefix));
                if let Some(target) = target.filter(|target| target != module) {
                    edges.insert(target);
                }
            }
        }
        graph.insert(module.clone(), edges);
    }
    graph
}

/// Returns `text` with comments removed and the insides of string and character literals blanked,
/// keeping every line break.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let keep_newlines = |out: &mut String, from: &[char]| {
        out.extend(from.iter().filter(|&&c| c == '\n'));
    };
    while i < chars.len() {
        let c = chars[i];
        let previous_is_word = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let start = i;
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            keep_newlines(&mut out, &chars[start..i.min(chars.len())]);
        } else if !previous_is_word && (c == 'r' || (c == 'b' && at(i + 1) == 'r')) && {
            let hashes_from = if c == 'r' { i + 1 } else { i + 2 };
            let mut j = hashes_from;
            while at(j) == '#' {
                j += 1;
            }
            at(j) == '"'
        } {
            // A raw string: r"…", r#"…"#, br"…".
            let mut j = if c == 'r' { i + 1 } else { i + 2 };
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            let start = j;
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            keep_newlines(&mut out, &chars[start..j.min(chars.len())]);
            i = j;
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
            keep_newlines(&mut out, &chars[start..i.min(chars.len())]);
        } else if c == '\'' && (at(i + 1) == '\\' || at(i + 2) == '\'') {
            // A character literal ('x', '\n', '\u{7b}'); otherwise `'` starts a lifetime.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Removes `#[cfg(test)]` modules from `code` (written inline, or declared `mod name;` with the
/// names returned, so their files can be left out).
fn without_tests(code: &str) -> (String, Vec<String>) {
    const MARKER: &str = "#[cfg(test)]";
    let mut out = String::with_capacity(code.len());
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(found) = rest.find(MARKER) {
        out.push_str(&rest[..found]);
        let after = &rest[found + MARKER.len()..];
        let declaration = strip_visibility(without_attributes(after));
        let Some(module) = declaration.strip_prefix("mod ") else {
            // A test-only item other than a module: keep it (it is rare, and small).
            out.push_str(MARKER);
            rest = after;
            continue;
        };
        let name: String = module
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let body = module.trim_start()[name.len()..].trim_start();
        if let Some(rest_after) = body.strip_prefix(';') {
            names.push(name);
            rest = rest_after;
        } else if body.starts_with('{') {
            let end = matching_brace(body).unwrap_or(body.len());
            out.extend(body[..end].chars().filter(|&c| c == '\n'));
            rest = &body[end..];
        } else {
            out.push_str(MARKER);
            rest = after;
        }
    }
    out.push_str(rest);
    (out, names)
}

/// Returns `text` without its leading whitespace and attributes (`#[allow(…)]`).
fn without_attributes(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        match text
            .strip_prefix("#[")
            .and_then(|inside| inside.split_once(']'))
        {
            Some((_, rest)) => text = rest,
            None => return text,
        }
    }
}

/// Returns `text` without a leading `pub`, `pub(crate)`, `pub(super)` or `pub(in …)`.
fn strip_visibility(text: &str) -> &str {
    let Some(after) = text.strip_prefix("pub") else {
        return text;
    };
    let after = after.trim_start();
    if let Some(restricted) = after.strip_prefix('(') {
        return restricted
            .split_once(')')
            .map_or(text, |(_, rest)| rest.trim_start());
    }
    if text[3..].starts_with(char::is_whitespace) {
        after
    } else {
        text
    }
}

/// Returns the index just past the `}` that closes the `{` `text` starts with.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(index + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Removes `pub use …;` re-exports (of any visibility): they give other crates a path, and the
/// module does not use what it re-exports.
fn without_re_exports(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(found) = find_word(rest, "pub") {
        out.push_str(&rest[..found]);
        let after_visibility = strip_visibility(&rest[found..]);
        if after_visibility.starts_with("use ") {
            let end = after_visibility
                .find(';')
                .map_or(after_visibility.len(), |e| e + 1);
            let statement = &after_visibility[..end];
            out.extend(statement.chars().filter(|&c| c == '\n'));
            rest = &after_visibility[end..];
        } else {
            out.push_str("pub");
            rest = &rest[found + 3..];
        }
    }
    out.push_str(rest);
    out
}

/// Returns where `word` first occurs in `text` as a whole word.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(found) = text[from..].find(word) {
        let start = from + found;
        let end = start + word.len();
        let before_ok = !text[..start].chars().next_back().is_some_and(is_word);
        let after_ok = !text[end..].chars().next().is_some_and(is_word);
        if before_ok && after_ok {
            return Some(start);
        }
        from = end;
    }
    None
}

/// Returns the crate-relative paths named in `code` of `module` by `crate::…` and `super::…`,
/// each grouped import (`crate::{a, b::{c, d}}`) expanded to all its paths.
fn named_paths(module: &[String], code: &str) -> Vec<ModulePath> {
    let mut paths = Vec::new();
    for keyword in ["crate", "super"] {
        let mut from = 0;
        while let Some(found) = find_word(&code[from..], keyword) {
            let start = from + found;
            from = start + keyword.len();
            // `super::super::x` is found once, at its first `super`.
            let before = code[..start].trim_end();
            if keyword == "super" && before.ends_with("::") {
                continue;
            }
            let rest = &code[start..];
            let (base, tree) = if keyword == "crate" {
                let Some(tree) = rest["crate".len()..].strip_prefix("::") else {
                    continue;
                };
                (Vec::new(), tree)
            } else {
                let mut tree = rest;
                let mut levels = 0;
                while let Some(after) = tree.strip_prefix("super::") {
                    levels += 1;
                    tree = after;
                }
                if levels == 0 {
                    continue;
                }
                (module[..module.len().saturating_sub(levels)].to_vec(), tree)
            };
            use_tree(tree, base, &mut paths);
        }
    }
    paths
}

/// Expands the use tree at the start of `text` (what follows a `::`), appending each full path
/// to `paths`; returns the unparsed rest of `text`.
fn use_tree<'t>(text: &'t str, prefix: ModulePath, paths: &mut Vec<ModulePath>) -> &'t str {
    let text = text.trim_start();
    if let Some(group) = text.strip_prefix('{') {
        let mut rest = group;
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix('}') {
                return after;
            }
            if let Some(after) = rest.strip_prefix(',') {
                rest = after;
                continue;
            }
            if rest.is_empty() {
                return rest;
            }
            let before = rest.len();
            rest = use_tree(rest, prefix.clone(), paths);
            if rest.len() == before {
                // Not a path: skip a character rather than loop.
                rest = &rest[rest.chars().next().map_or(0, char::len_utf8)..];
            }
        }
    }
    let name: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if name.is_empty() {
        // `*` or something that is not a path: the prefix itself is what is named.
        paths.push(prefix);
        return text.strip_prefix('*').unwrap_or(text);
    }
    let rest = &text[name.len()..];
    let mut path = prefix;
    if name != "self" {
        path.push(name);
    }
    match rest.strip_prefix("::") {
        Some(deeper) => use_tree(deeper, path, paths),
        None => {
            paths.push(path);
            rest
        }
    }
}

// ---- Cycles -----------------------------------------------------------------------------------

/// Tarjan's algorithm: the strongly connected components of `graph`, each sorted.
fn strongly_connected(graph: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> Vec<Vec<ModulePath>> {
    struct Search<'g> {
        graph: &'g BTreeMap<ModulePath, BTreeSet<ModulePath>>,
        index: BTreeMap<&'g ModulePath, usize>,
        low: BTreeMap<&'g ModulePath, usize>,
        stack: Vec<&'g ModulePath>,
        on_stack: BTreeSet<&'g ModulePath>,
        components: Vec<Vec<ModulePath>>,
    }
    impl<'g> Search<'g> {
        fn visit(&mut self, module: &'g ModulePath) {
            let number = self.index.len();
            self.index.insert(module, number);
            self.low.insert(module, number);
            self.stack.push(module);
            self.on_stack.insert(module);
            for next in &self.graph[module] {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[module].min(self.low[next]);
                    self.low.insert(module, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[module].min(self.index[next]);
                    self.low.insert(module, low);
                }
            }
            if self.low[module] == self.index[module] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    component.push(member.clone());
                    if member == module {
                        break;
                    }
                }
                component.sort();
                self.components.push(component);
            }
        }
    }
    let mut search = Search {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for module in graph.keys() {
        if !search.index.contains_key(module) {
            search.visit(module);
        }
    }
    search.components
}

/// Returns a shortest cycle through the first module of `component`, inside it (breadth first).
fn shortest_cycle(
    graph: &BTreeMap<ModulePath, BTreeSet<ModulePath>>,
    component: &[ModulePath],
) -> Vec<ModulePath> {
    let start = &component[0];
    let members: BTreeSet<&ModulePath> = component.iter().collect();
    let mut came_from: BTreeMap<&ModulePath, &ModulePath> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(module) = queue.pop_front() {
        for next in &graph[module] {
            if !members.contains(next) {
                continue;
            }
            if next == start {
                let mut cycle = vec![module.clone()];
                let mut at = module;
                while at != start {
                    at = came_from[at];
                    cycle.push(at.clone());
                }
                cycle.reverse();
                return cycle;
            }
            if !came_from.contains_key(next) {
                came_from.insert(next, module);
                queue.push_back(next);
            }
        }
    }
    component.to_vec()
}
