//! The workspace as `cargo metadata` describes it: which crates are published, their versions,
//! library targets and dependencies. Read from cargo, not from a list kept here, so that a crate
//! added to the workspace (or one made `publish = false`) is picked up by every release task.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::Result;

/// One workspace crate that is published (its manifest does not say `publish = false`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedCrate {
    /// Package name, e.g. `acs-identity`.
    pub name: String,
    /// Version from its `Cargo.toml`.
    pub version: semver::Version,
    /// Directory of its `Cargo.toml`.
    pub dir: PathBuf,
    /// Name of its library target (`acs_identity`), if it has one.
    pub lib: Option<String>,
    /// Its `rust-version`, if declared.
    pub rust_version: Option<String>,
    /// Its `readme` field, if declared.
    pub readme: Option<String>,
    /// Its `license` (SPDX expression), if declared.
    pub license: Option<String>,
    /// Its normal and build dependencies given by `path` (dev-dependencies are not packaged).
    pub path_dependencies: Vec<PathDependency>,
}

/// A normal or build dependency given by `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathDependency {
    /// Package name of the dependency.
    pub name: String,
    /// Its version requirement; `*` when the manifest gives none.
    pub req: String,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct TargetDirectory {
    target_directory: PathBuf,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    manifest_path: PathBuf,
    /// `None`: publish anywhere; `Some([])`: `publish = false`.
    publish: Option<Vec<String>>,
    rust_version: Option<String>,
    readme: Option<String>,
    license: Option<String>,
    targets: Vec<Target>,
    dependencies: Vec<Dependency>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct Dependency {
    name: String,
    req: String,
    kind: Option<String>,
    path: Option<PathBuf>,
}

/// The `cargo` to run: the one that built xtask, without the variables cargo set for running
/// xtask itself (see [`acs_test_support::cargo`]: with them, a nested build re-ran ring's build
/// script and rebuilt everything above it, and so did the next plain `cargo` command).
pub use acs_test_support::cargo;

/// Runs a command, returning its stdout; the error names the command and carries its stderr.
pub fn run(command: &mut Command) -> Result<String> {
    let output = command
        .output()
        .map_err(|e| error!("cannot run {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(error!(
            "{command:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout)
        .map_err(|e| error!("{command:?} printed non-UTF-8 output: {e}"))
}

/// `cargo metadata --format-version 1 --no-deps --locked` of the workspace at `root`, as printed.
pub fn metadata(root: &Path) -> Result<String> {
    run(cargo().current_dir(root).args([
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--locked",
    ]))
}

/// The part of `cargo metadata`'s output that `T` describes.
fn parse_metadata<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| error!("cannot read cargo metadata: {e}"))
}

/// The workspace's target directory (where `cargo package` writes the `.crate` files).
pub fn target_directory(root: &Path) -> Result<PathBuf> {
    let metadata: TargetDirectory = parse_metadata(&metadata(root)?)?;
    Ok(metadata.target_directory)
}

/// Every published crate of the workspace at `root`, in `cargo metadata`'s (member) order.
pub fn published_crates(root: &Path) -> Result<Vec<PublishedCrate>> {
    parse_published_crates(&metadata(root)?)
}

/// The published crates listed in `cargo metadata --format-version 1` output.
pub fn parse_published_crates(metadata_json: &str) -> Result<Vec<PublishedCrate>> {
    let metadata: Metadata = parse_metadata(metadata_json)?;
    metadata
        .packages
        .into_iter()
        .filter(|p| {
            p.publish
                .as_ref()
                .is_none_or(|registries| !registries.is_empty())
        })
        .map(|p| {
            let version = semver::Version::parse(&p.version)
                .map_err(|e| error!("{}: version {:?} is not semver: {e}", p.name, p.version))?;
            let dir = p
                .manifest_path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let lib = p
                .targets
                .iter()
                .find(|t| t.kind.iter().any(|k| k == "lib"))
                .map(|t| t.name.clone());
            let path_dependencies = p
                .dependencies
                .into_iter()
                .filter(|d| d.path.is_some() && d.kind.as_deref() != Some("dev"))
                .map(|d| PathDependency {
                    name: d.name,
                    req: d.req,
                })
                .collect();
            Ok(PublishedCrate {
                name: p.name,
                version,
                dir,
                lib,
                rust_version: p.rust_version,
                readme: p.readme,
                license: p.license,
                path_dependencies,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpublished_crates_and_dev_path_dependencies_are_left_out() {
        let json = r#"{"packages": [
          {"name": "a", "version": "0.2.1", "manifest_path": "/w/crates/a/Cargo.toml",
           "publish": null, "rust_version": "1.88", "readme": "README.md", "license": "MIT",
           "targets": [{"name": "a", "kind": ["lib"]}, {"name": "a-bin", "kind": ["bin"]}],
           "dependencies": [
             {"name": "b", "req": "^0.1.0", "kind": null, "path": "/w/crates/b"},
             {"name": "c", "req": "*", "kind": "dev", "path": "/w/crates/c"},
             {"name": "serde", "req": "^1", "kind": null}]},
          {"name": "tool", "version": "0.0.0", "manifest_path": "/w/tool/Cargo.toml",
           "publish": [], "rust_version": null, "readme": null, "license": null,
           "targets": [{"name": "tool", "kind": ["bin"]}], "dependencies": []}
        ]}"#;
        let crates = parse_published_crates(json).unwrap();
        assert_eq!(crates.len(), 1);
        let a = &crates[0];
        assert_eq!(a.name, "a");
        assert_eq!(a.version, semver::Version::new(0, 2, 1));
        assert_eq!(a.dir, Path::new("/w/crates/a"));
        assert_eq!(a.lib.as_deref(), Some("a"));
        assert_eq!(
            a.path_dependencies,
            vec![PathDependency {
                name: "b".into(),
                req: "^0.1.0".into()
            }]
        );
    }
}
