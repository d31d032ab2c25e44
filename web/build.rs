//! Builds the browser libraries heatpipe embeds: installs `package.json`'s pinned packages
//! from the npm registry with `npm ci` (the lockfile's integrity hashes are checked) into the
//! build's own folder, bundles each entry of `js/` with esbuild, copies the libraries' style
//! sheets, and writes the licence notices of every package a bundle holds. Nothing is written
//! into the source tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

/// Entries of `js/`, each bundled into `{name}.js`.
const ENTRIES: [&str; 3] = ["record", "replay", "charts"];
/// Style sheets copied as they are published: (file in `node_modules`, name in the output).
const STYLES: [(&str, &str); 2] = [
    ("@rrweb/replay/dist/style.css", "replay.css"),
    ("uplot/dist/uPlot.min.css", "charts.css"),
];

fn main() {
    let source =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets the manifest dir"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for watched in ["package.json", "package-lock.json", "js", "build.rs"] {
        println!("cargo:rerun-if-changed={}", source.join(watched).display());
    }
    let work = out.join("npm");
    let dist = out.join("dist");
    fs::create_dir_all(&work)
        .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", work.display())));
    fs::create_dir_all(&dist)
        .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", dist.display())));
    for file in ["package.json", "package-lock.json"] {
        copy(&source.join(file), &work.join(file));
    }
    install(&work);
    let mut packages = BTreeSet::new();
    for entry in ENTRIES {
        packages.extend(bundle(
            &work,
            &source.join("js").join(format!("{entry}.js")),
            &dist,
            entry,
        ));
    }
    for (published, name) in STYLES {
        copy(&work.join("node_modules").join(published), &dist.join(name));
        packages.insert(package_of(published));
    }
    let notices = licence_notices(&work.join("node_modules"), &packages);
    fs::write(dist.join("licenses.txt"), notices)
        .unwrap_or_else(|e| fail(&format!("cannot write the licence notices: {e}")));
}

/// Stops the build with `message`, as cargo shows a build script's panic.
fn fail(message: &str) -> ! {
    panic!("\n\nheatpipe-web: {message}\n\n");
}

fn copy(from: &Path, to: &Path) {
    fs::copy(from, to).unwrap_or_else(|e| {
        fail(&format!(
            "cannot copy {} to {}: {e}",
            from.display(),
            to.display()
        ))
    });
}

/// Runs `npm ci` in `work` unless its `node_modules` is already what the lockfile asks for.
fn install(work: &Path) {
    let lock = fs::read(work.join("package-lock.json")).unwrap_or_default();
    let installed = work.join("node_modules").join(".package-lock.json");
    let stamp = work.join("installed-lock.json");
    if installed.exists() && fs::read(&stamp).is_ok_and(|seen| seen == lock) {
        return;
    }
    let npm = env::var("NPM").unwrap_or_else(|_| "npm".into());
    let status = Command::new(&npm)
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(work)
        .status()
        .unwrap_or_else(|e| {
            fail(&format!(
                "`{npm} ci` could not be started ({e}). heatpipe builds rrweb and uPlot from the npm \
                 registry into its binary: install Node.js 18 or later with npm (for example \
                 Debian's `nodejs` and `npm` packages), or set NPM to npm's path, and build again."
            ))
        });
    if !status.success() {
        fail(&format!(
            "`{npm} ci` failed ({status}) in {}: the npm registry must be reachable for the first \
             build (later builds reuse what it installed).",
            work.display()
        ));
    }
    fs::write(&stamp, lock)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", stamp.display())));
}

/// Bundles `entry` into `{name}.js` of `dist` (minified, one script, no module loader) and
/// returns the npm packages the bundle holds.
fn bundle(work: &Path, entry: &Path, dist: &Path, name: &str) -> BTreeSet<String> {
    let esbuild = work.join("node_modules").join(".bin").join("esbuild");
    let meta = work.join(format!("{name}.meta.json"));
    let status = Command::new(&esbuild)
        .arg(entry)
        .args([
            "--bundle",
            "--minify",
            "--format=iife",
            "--target=es2019",
            "--log-level=warning",
        ])
        .arg(format!(
            "--outfile={}",
            dist.join(format!("{name}.js")).display()
        ))
        .arg(format!("--metafile={}", meta.display()))
        // Our sources import from the build's node_modules, not from one next to them.
        .env("NODE_PATH", work.join("node_modules"))
        .current_dir(work)
        .status()
        .unwrap_or_else(|e| fail(&format!("esbuild could not be started ({e})")));
    if !status.success() {
        fail(&format!(
            "esbuild failed to bundle {} ({status})",
            entry.display()
        ));
    }
    let meta = fs::read_to_string(&meta).unwrap_or_default();
    bundled_packages(&meta)
}

/// Returns the packages named by the `node_modules/…` inputs of an esbuild metafile.
fn bundled_packages(meta: &str) -> BTreeSet<String> {
    let meta: serde_json::Value = serde_json::from_str(meta)
        .unwrap_or_else(|e| fail(&format!("esbuild's metafile is not JSON: {e}")));
    meta["inputs"]
        .as_object()
        .into_iter()
        .flat_map(|inputs| inputs.keys())
        .filter_map(|path| path.split_once("node_modules/").map(|(_, rest)| rest))
        .map(package_of)
        .collect()
}

/// Returns the package a path inside `node_modules` belongs to (`@scope/name` or `name`).
fn package_of(path: &str) -> String {
    let mut parts = path.split('/');
    match (parts.next(), parts.next()) {
        (Some(scope), Some(name)) if scope.starts_with('@') => format!("{scope}/{name}"),
        (Some(name), _) => name.to_owned(),
        _ => path.to_owned(),
    }
}

/// Returns the notice of each package: its name, version, licence and author from its
/// `package.json`, and its licence file where it ships one.
fn licence_notices(modules: &Path, packages: &BTreeSet<String>) -> String {
    let mut text = String::from(
        "heatpipe embeds these packages from the npm registry, built unchanged with esbuild.\n",
    );
    for package in packages {
        let folder = modules.join(package);
        let manifest: serde_json::Value = fs::read_to_string(folder.join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        // A field is a string, or an object with a name or url (`author`, `repository`).
        let field = |name: &str| {
            let value = &manifest[name];
            value
                .as_str()
                .or_else(|| value["name"].as_str())
                .or_else(|| value["url"].as_str())
                .unwrap_or("unknown")
                .to_owned()
        };
        text.push_str(&format!(
            "\n==== {package} {} ({} licence; author {}; source {}) ====\n",
            field("version"),
            field("license"),
            field("author"),
            field("repository")
        ));
        let licence = ["LICENSE", "LICENSE.md", "LICENSE.txt", "license"]
            .iter()
            .find_map(|name| fs::read_to_string(folder.join(name)).ok());
        match licence {
            Some(licence) => text.push_str(&licence),
            None => text.push_str(&format!(
                "The package ships no licence file; its package.json declares the {} licence.\n",
                field("license")
            )),
        }
    }
    text
}
