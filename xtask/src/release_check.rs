//! `cargo xtask release-check`: what must hold before any crate of the workspace is published,
//! checked for every published crate (found with `cargo metadata`, see [`crate::workspace`]).
//!
//! Each check returns the problems it found, as lines that name the crate and the file; the task
//! runs them all and fails if any found one:
//! - [`manifests`]: each crate has a description, license, repository and README, its
//!   `rust-version` is the workspace's, that one agrees with `msrv` in `clippy.toml`, and every
//!   path dependency also gives a version and is itself published;
//! - [`changelogs`]: each crate's `CHANGELOG.md` is in the Keep a Changelog format and has an
//!   entry for the version in its `Cargo.toml`;
//! - [`generated_code`]: the generated client is marked `linguist-generated` in `.gitattributes`
//!   and says it is generated in its first line;
//! - [`docs`]: `cargo doc` of every library with warnings denied;
//! - [`packages`]: `cargo package` of all of them, which builds each from its `.crate` file with
//!   its workspace dependencies resolved from those `.crate` files too (as a registry would give
//!   them), and the README and license are inside each `.crate`;
//! - the semver check ([`crate::semver_check`]) of every library against its release baseline.

use std::path::Path;

use crate::Result;
use crate::workspace::{PublishedCrate, cargo, run};

/// `msrv` from `clippy.toml`'s text, if it sets one.
pub fn clippy_msrv(clippy_toml: &str) -> Option<String> {
    clippy_toml.lines().find_map(|line| {
        let (key, value) = line.split('#').next()?.split_once('=')?;
        (key.trim() == "msrv").then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// Problems with the crates' manifests, `clippy_toml` being the text of `clippy.toml`.
pub fn manifests(crates: &[PublishedCrate], clippy_toml: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let msrv = clippy_msrv(clippy_toml);
    if msrv.is_none() {
        problems.push(
            "clippy.toml sets no `msrv`: set it to the workspace's rust-version so that clippy \
             flags what that version lacks"
                .to_owned(),
        );
    }
    for krate in crates {
        let name = &krate.name;
        if krate.readme.is_none() {
            problems.push(format!("{name}: Cargo.toml has no `readme`"));
        }
        if krate.license.is_none() {
            problems.push(format!("{name}: Cargo.toml has no `license`"));
        }
        match (&krate.rust_version, &msrv) {
            (None, _) => problems.push(format!(
                "{name}: Cargo.toml has no rust-version (use `rust-version.workspace = true`)"
            )),
            (Some(declared), Some(msrv)) if declared != msrv => problems.push(format!(
                "{name}: rust-version {declared} differs from msrv {msrv} in clippy.toml: the \
                 minimum supported Rust version is declared once, in the root Cargo.toml's \
                 [workspace.package], and clippy.toml's msrv must say the same"
            )),
            _ => {}
        }
        for dependency in &krate.path_dependencies {
            if dependency.req == "*" {
                problems.push(format!(
                    "{name}: path dependency {} has no version (a registry would not know which \
                     one to use)",
                    dependency.name
                ));
            }
            if !crates.iter().any(|c| c.name == dependency.name) {
                problems.push(format!(
                    "{name}: depends on {}, which is not published (publish = false)",
                    dependency.name
                ));
            }
        }
    }
    problems
}

/// Problems with one crate's changelog text: not Keep a Changelog's layout, or no entry for
/// `version`.
///
/// The layout: `# Changelog`, a line that points to Keep a Changelog, then release headings `##
/// [Unreleased]` or `## [x.y.z] - YYYY-MM-DD` (or `- Unreleased` for a version not yet
/// published), each with `###` sections among Added, Changed, Deprecated, Removed, Fixed and
/// Security.
pub fn changelog(crate_name: &str, version: &semver::Version, text: &str) -> Vec<String> {
    const SECTIONS: [&str; 6] = [
        "Added",
        "Changed",
        "Deprecated",
        "Removed",
        "Fixed",
        "Security",
    ];
    let file = format!("{crate_name}: CHANGELOG.md");
    let mut problems = Vec::new();
    if text.lines().next() != Some("# Changelog") {
        problems.push(format!("{file} does not start with `# Changelog`"));
    }
    if !text.contains("https://keepachangelog.com/") {
        problems.push(format!(
            "{file} does not say it follows Keep a Changelog (link https://keepachangelog.com/)"
        ));
    }
    let mut has_version = false;
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        if let Some(heading) = line.strip_prefix("## ") {
            if heading == "[Unreleased]" {
                continue;
            }
            match release_heading(heading) {
                Some(release) => has_version |= release == version.to_string(),
                None => problems.push(format!(
                    "{file}:{number}: `{line}` is not `## [Unreleased]` or `## [x.y.z] - \
                     YYYY-MM-DD` (or `- Unreleased`)"
                )),
            }
        } else if let Some(section) = line.strip_prefix("### ")
            && !SECTIONS.contains(&section)
        {
            problems.push(format!(
                "{file}:{number}: section `{section}` is not one of {}",
                SECTIONS.join(", ")
            ));
        }
    }
    if !has_version {
        problems.push(format!(
            "{file} has no entry `## [{version}] - ...` for the version in Cargo.toml"
        ));
    }
    problems
}

/// The version of a release heading `[x.y.z] - YYYY-MM-DD` or `[x.y.z] - Unreleased`.
fn release_heading(heading: &str) -> Option<&str> {
    let (version, date) = heading.strip_prefix('[')?.split_once("] - ")?;
    semver::Version::parse(version).ok()?;
    let is_date = date.len() == 10
        && date.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    (is_date || date == "Unreleased").then_some(version)
}

/// Problems with every published crate's `CHANGELOG.md`.
pub fn changelogs(crates: &[PublishedCrate]) -> Vec<String> {
    let mut problems = Vec::new();
    for krate in crates {
        let path = krate.dir.join("CHANGELOG.md");
        match std::fs::read_to_string(&path) {
            Ok(text) => problems.extend(changelog(&krate.name, &krate.version, &text)),
            Err(e) => problems.push(format!(
                "{}: cannot read {}: {e}",
                krate.name,
                path.display()
            )),
        }
    }
    problems
}

/// Problems with the marking of the generated code under `root`: every file generated from a
/// checked-in document (`DOCUMENTS`).
pub fn generated_code(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for document in crate::DOCUMENTS {
        let path = document.generated_path;
        let attribute = run(git(root).args(["check-attr", "linguist-generated", "--", path]))?;
        if !attribute.trim_end().ends_with(": set") && !attribute.trim_end().ends_with(": true") {
            problems.push(format!(
                ".gitattributes does not mark {path} as generated (add \
                 `{path} linguist-generated=true`); git says: {}",
                attribute.trim_end()
            ));
        }
        let text = crate::read_to_string(&root.join(path))?;
        if !text.lines().next().unwrap_or("").contains("@generated") {
            problems.push(format!(
                "{path} does not say `@generated` in its first line"
            ));
        }
    }
    Ok(problems)
}

fn git(root: &Path) -> std::process::Command {
    let mut git = std::process::Command::new("git");
    git.current_dir(root);
    git
}

/// Builds the docs of every library with warnings denied; the problem is rustdoc's output.
pub fn docs(root: &Path, crates: &[PublishedCrate]) -> Vec<String> {
    let mut command = cargo();
    command
        .current_dir(root)
        .env("RUSTDOCFLAGS", "-D warnings")
        .args(["doc", "--locked", "--no-deps", "--lib"]);
    for krate in crates.iter().filter(|c| c.lib.is_some()) {
        command.args(["-p", &krate.name]);
    }
    match run(&mut command) {
        Ok(_) => Vec::new(),
        Err(e) => vec![format!("docs with warnings denied: {e}")],
    }
}

/// Packages and verifies every crate, then looks inside each `.crate` file for its README and
/// license. `target_dir` is the workspace's target directory.
pub fn packages(root: &Path, target_dir: &Path, crates: &[PublishedCrate]) -> Vec<String> {
    if let Some(cargo_home) = cargo_home() {
        forget_unpacked_copies(&cargo_home, crates);
    }
    forget_registry_builds(target_dir, crates);
    let mut command = cargo();
    command.current_dir(root).args(["package", "--locked"]);
    for krate in crates {
        command.args(["-p", &krate.name]);
    }
    if let Err(e) = run(&mut command) {
        return vec![format!("cargo package: {e}")];
    }
    let mut problems = Vec::new();
    for krate in crates {
        let stem = format!("{}-{}", krate.name, krate.version);
        let file = target_dir.join("package").join(format!("{stem}.crate"));
        let listing = match run(std::process::Command::new("tar").arg("-tzf").arg(&file)) {
            Ok(listing) => listing,
            Err(e) => {
                problems.push(format!("{}: {e}", krate.name));
                continue;
            }
        };
        problems.extend(package_contents(krate, &stem, &listing));
    }
    problems
}

/// `$CARGO_HOME`, or `~/.cargo`.
fn cargo_home() -> Option<std::path::PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
}

/// Removes the copies of the workspace's crates that an earlier `cargo package` unpacked from
/// its temporary local registry into `<cargo_home>/registry/src/-<hash>/<name>-<version>/`.
///
/// Why: to verify a crate that depends on another workspace crate, `cargo package` puts the
/// packed dependencies in a local registry under `target/package/tmp-registry` and unpacks them
/// into a source directory named after that registry's path. When a directory is already there
/// (an earlier run in the same checkout, or an earlier CI run in the same folder) cargo reuses
/// it, even when the crate changed without a version bump, and then verifies against stale code
/// (it failed with "could not find `preview` in `acs_identity_rest`" once the preview module was
/// added). Only those local-registry directories (`-<hash>`) are touched, never crates.io's, and
/// in them only this workspace's crates at their current versions.
pub fn forget_unpacked_copies(cargo_home: &Path, crates: &[PublishedCrate]) {
    let Ok(sources) = std::fs::read_dir(cargo_home.join("registry").join("src")) else {
        return;
    };
    for source in sources.flatten() {
        if !source.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for krate in crates {
            let copy = source
                .path()
                .join(format!("{}-{}", krate.name, krate.version));
            if copy.is_dir() {
                // A copy that cannot be removed is verified against as before: no worse.
                let _ = std::fs::remove_dir_all(&copy);
            }
        }
    }
}

/// Removes the fingerprints of the builds an earlier `cargo package` made of the workspace's
/// crates as registry dependencies (from the unpacked copies of [`forget_unpacked_copies`]), so
/// that they are built again from the new copies.
///
/// Why: cargo decides such a build is fresh from the modification times of the files its dep-info
/// lists, and the files unpacked from a `.crate` keep the times cargo wrote into it, which need
/// not be newer than the last build; a file the crate gained (`src/preview.rs`) is not listed at
/// all. Such a build is told apart from the workspace's own builds of the crate by its dep-info
/// (`deps/<lib>-<hash>.d`), which names a source under `registry/src/-<hash>/`.
pub fn forget_registry_builds(target_dir: &Path, crates: &[PublishedCrate]) {
    let debug = target_dir.join("debug");
    let Ok(fingerprints) = std::fs::read_dir(debug.join(".fingerprint")) else {
        return;
    };
    for fingerprint in fingerprints.flatten() {
        let name = fingerprint.file_name().to_string_lossy().into_owned();
        let Some((package, hash)) = name.rsplit_once('-') else {
            continue;
        };
        if !crates.iter().any(|krate| krate.name == package) {
            continue;
        }
        let dep_info = debug
            .join("deps")
            .join(format!("{}-{hash}.d", package.replace('-', "_")));
        let from_a_registry =
            std::fs::read_to_string(&dep_info).is_ok_and(|text| text.contains("/registry/src/-"));
        if from_a_registry {
            let _ = std::fs::remove_dir_all(fingerprint.path());
        }
    }
}

/// Problems with a `.crate` file's contents (`listing`: one path per line, under `stem/`).
pub fn package_contents(krate: &PublishedCrate, stem: &str, listing: &str) -> Vec<String> {
    let files: Vec<&str> = listing
        .lines()
        .filter_map(|path| path.strip_prefix(stem)?.strip_prefix('/'))
        .collect();
    let mut problems = Vec::new();
    let readme = krate.readme.as_deref().unwrap_or("README.md");
    if !files.contains(&readme) {
        problems.push(format!("{}: {stem}.crate has no {readme}", krate.name));
    }
    if !files
        .iter()
        .any(|f| f.starts_with("LICENSE") || f.starts_with("LICENCE"))
    {
        problems.push(format!(
            "{}: {stem}.crate has no LICENSE file (link the workspace's: `ln -s ../../LICENSE \
             {}/LICENSE`)",
            krate.name,
            krate.dir.display()
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::PathDependency;

    fn krate(name: &str) -> PublishedCrate {
        PublishedCrate {
            name: name.into(),
            version: semver::Version::new(0, 2, 0),
            dir: format!("/w/crates/{name}").into(),
            lib: Some(name.replace('-', "_")),
            rust_version: Some("1.88".into()),
            readme: Some("README.md".into()),
            license: Some("MIT".into()),
            path_dependencies: Vec::new(),
        }
    }

    #[test]
    fn msrv_is_read_from_clippy_toml() {
        assert_eq!(
            clippy_msrv("allow-unwrap-in-tests = true\nmsrv = \"1.88\"\n").as_deref(),
            Some("1.88")
        );
        assert_eq!(
            clippy_msrv("msrv = \"1.88\"  # = rust-version in Cargo.toml\n").as_deref(),
            Some("1.88")
        );
        assert_eq!(clippy_msrv("# msrv = \"1.80\"\nother = 1\n"), None);
    }

    #[test]
    fn consistent_manifests_have_no_problem() {
        let mut b = krate("b");
        b.path_dependencies.push(PathDependency {
            name: "a".into(),
            req: "^0.2.0".into(),
        });
        assert_eq!(
            manifests(&[krate("a"), b], "msrv = \"1.88\"\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_msrv_that_disagrees_or_is_missing_is_a_problem() {
        let problems = manifests(&[krate("a")], "msrv = \"1.85\"\n");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("rust-version 1.88 differs from msrv 1.85"));
        let problems = manifests(&[krate("a")], "");
        assert!(
            problems[0].contains("clippy.toml sets no `msrv`"),
            "{problems:?}"
        );
        let mut no_version = krate("a");
        no_version.rust_version = None;
        assert!(manifests(&[no_version], "msrv = \"1.88\"\n")[0].contains("no rust-version"));
    }

    #[test]
    fn path_dependencies_need_a_version_and_a_published_crate() {
        let mut b = krate("b");
        b.path_dependencies.push(PathDependency {
            name: "a".into(),
            req: "*".into(),
        });
        b.path_dependencies.push(PathDependency {
            name: "internal".into(),
            req: "^0.1".into(),
        });
        let problems = manifests(&[krate("a"), b], "msrv = \"1.88\"\n");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("path dependency a has no version"));
        assert!(problems[1].contains("internal, which is not published"));
    }

    const CHANGELOG: &str = "# Changelog\n\nThe format follows \
        [Keep a Changelog](https://keepachangelog.com/en/1.1.0/).\n\n## [Unreleased]\n\n\
        ### Fixed\n- a fix\n\n## [0.2.0] - 2026-11-30\n\n### Added\n- a thing\n\n\
        ## [0.1.0] - 2026-10-01\n\n### Removed\n- b\n";

    #[test]
    fn a_keep_a_changelog_file_with_the_version_passes() {
        let v = semver::Version::new(0, 2, 0);
        assert_eq!(changelog("k", &v, CHANGELOG), Vec::<String>::new());
        let pending = CHANGELOG.replace("[0.2.0] - 2026-11-30", "[0.2.0] - Unreleased");
        assert_eq!(changelog("k", &v, &pending), Vec::<String>::new());
    }

    #[test]
    fn a_missing_version_entry_or_another_format_is_named() {
        let problems = changelog("k", &semver::Version::new(0, 3, 0), CHANGELOG);
        assert_eq!(
            problems,
            vec!["k: CHANGELOG.md has no entry `## [0.3.0] - ...` for the version in Cargo.toml"]
        );
        let other = "# Changelog\n\n## 0.2.0 (unreleased)\n- a thing\n### Notes\n";
        let problems = changelog("k", &semver::Version::new(0, 2, 0), other);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("Keep a Changelog"));
        assert!(problems[1].contains(":3: `## 0.2.0 (unreleased)`"));
        assert!(problems[2].contains(":5: section `Notes`"));
        assert!(problems[3].contains("no entry `## [0.2.0]"));
        let bad_date = CHANGELOG.replace("2026-11-30", "30.11.2026");
        assert_eq!(
            changelog("k", &semver::Version::new(0, 1, 0), &bad_date).len(),
            1
        );
    }

    #[test]
    fn a_package_without_readme_or_license_is_named() {
        let k = krate("k");
        let full = "k-0.2.0/Cargo.toml\nk-0.2.0/README.md\nk-0.2.0/LICENSE\nk-0.2.0/src/lib.rs\n";
        assert_eq!(package_contents(&k, "k-0.2.0", full), Vec::<String>::new());
        let bare = "k-0.2.0/Cargo.toml\nk-0.2.0/src/lib.rs\nk-0.2.0/src/README.md\n";
        let problems = package_contents(&k, "k-0.2.0", bare);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("has no README.md"));
        assert!(problems[1].contains("has no LICENSE"));
    }

    #[test]
    fn stale_unpacked_copies_of_workspace_crates_are_forgotten_and_nothing_else() {
        let home = tempfile::tempdir().unwrap();
        let src = home.path().join("registry").join("src");
        let k = krate("k");
        let ours = format!("k-{}", k.version);
        for dir in [
            src.join("-0123abcd").join(&ours),
            src.join("-0123abcd").join("other-1.0.0"),
            src.join("index.crates.io-1949cf8c6b5b557f").join(&ours),
        ] {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(".cargo-ok"), "{\"v\":1}").unwrap();
        }
        forget_unpacked_copies(home.path(), &[k]);
        assert!(!src.join("-0123abcd").join(&ours).exists());
        assert!(src.join("-0123abcd").join("other-1.0.0").exists());
        assert!(
            src.join("index.crates.io-1949cf8c6b5b557f")
                .join(&ours)
                .exists(),
            "crates.io's sources are never touched"
        );
        // No registry at all: nothing to do, no error.
        forget_unpacked_copies(&home.path().join("none"), &[]);
    }

    #[test]
    fn only_registry_builds_of_workspace_crates_lose_their_fingerprints() {
        let target = tempfile::tempdir().unwrap();
        let debug = target.path().join("debug");
        let build = |package: &str, hash: &str, source: &str| {
            let fingerprint = debug.join(".fingerprint").join(format!("{package}-{hash}"));
            std::fs::create_dir_all(&fingerprint).unwrap();
            std::fs::create_dir_all(debug.join("deps")).unwrap();
            std::fs::write(
                debug
                    .join("deps")
                    .join(format!("{}-{hash}.d", package.replace('-', "_"))),
                format!("x.rmeta: {source}/src/lib.rs\n"),
            )
            .unwrap();
            fingerprint
        };
        let registry = build(
            "k-rest",
            "aa",
            "/root/.cargo/registry/src/-14cd/k-rest-0.2.0",
        );
        let workspace = build("k-rest", "bb", "/w/crates/k-rest");
        let other = build("tokio", "cc", "/root/.cargo/registry/src/-14cd/tokio-1.0.0");
        forget_registry_builds(target.path(), &[krate("k-rest")]);
        assert!(!registry.exists());
        assert!(workspace.exists());
        assert!(other.exists(), "not a workspace crate");
        forget_registry_builds(&target.path().join("none"), &[]);
    }
}
