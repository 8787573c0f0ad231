//! The dependency rules of `docs/ARCHITECTURE.md`, checked on the workspace's manifests
//! (`cargo metadata`), and the document's crate table kept complete.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use serde_json::Value;
use xtask::workspace_root;

/// Each workspace crate and the project crates it may depend on (normal, dev and build
/// dependencies alike). `None`: any.
const RULES: &[(&str, Option<&[&str]>)] = &[
    ("acs-auth", Some(&[])),
    ("acs-common", Some(&["acs-auth"])),
    ("acs-identity-rest", Some(&[])),
    (
        "acs-identity",
        Some(&["acs-auth", "acs-common", "acs-identity-rest"]),
    ),
    ("acs-identity-emulator", Some(&["acs-auth", "acs-common"])),
    (
        "acs-identity-cli",
        Some(&[
            "acs-auth",
            "acs-common",
            "acs-identity",
            "acs-identity-emulator",
        ]),
    ),
    ("xtask", Some(&[])),
    ("acs-identity-tests", None),
    ("acs-identity-fuzz", None),
];

/// Workspace package name → (manifest directory relative to the root, project dependencies).
fn workspace() -> BTreeMap<String, (String, Vec<String>)> {
    let text = xtask::workspace::metadata(&workspace_root()).unwrap();
    let metadata: Value = serde_json::from_str(&text).unwrap();
    let root = workspace_root();
    let packages = metadata["packages"].as_array().unwrap();
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    packages
        .iter()
        .map(|p| {
            let manifest = std::path::Path::new(p["manifest_path"].as_str().unwrap());
            let dir = manifest
                .parent()
                .unwrap()
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let mut deps: Vec<String> = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .filter(|d| names.contains(&d.as_str()))
                .collect();
            deps.sort();
            deps.dedup();
            (p["name"].as_str().unwrap().to_owned(), (dir, deps))
        })
        .collect()
}

#[test]
fn crates_depend_only_on_what_the_architecture_allows() {
    let workspace = workspace();
    for (name, (_, deps)) in &workspace {
        let Some((_, allowed)) = RULES.iter().find(|(crate_name, _)| crate_name == name) else {
            panic!("{name} has no dependency rule: add it to docs/ARCHITECTURE.md and RULES");
        };
        let Some(allowed) = allowed else {
            continue;
        };
        for dep in deps {
            assert!(
                allowed.contains(&dep.as_str()),
                "{name} depends on {dep}, which docs/ARCHITECTURE.md does not allow"
            );
        }
    }
    // The rules that matter most hold by name, whatever the table says.
    let emulator = &workspace["acs-identity-emulator"].1;
    assert!(
        !emulator
            .iter()
            .any(|d| d == "acs-identity" || d == "acs-identity-rest")
    );
    assert!(workspace["acs-auth"].1.is_empty());
}

#[test]
fn the_architecture_document_lists_every_crate() {
    let text = std::fs::read_to_string(workspace_root().join("docs/ARCHITECTURE.md")).unwrap();
    for (name, (dir, _)) in workspace() {
        assert!(
            text.contains(&format!("| `{dir}` |")),
            "docs/ARCHITECTURE.md has no row for {name} (`{dir}`)"
        );
    }
}
