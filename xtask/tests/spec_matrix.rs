//! A spec update is two commands: for every published document the facade can use (the stable
//! ones with the Teams Phone extension operations, and the preview), `import-spec` then `codegen`
//! in a scratch copy of the workspace leaves a facade that builds.
//!
//! The two commands are run as `cargo xtask` runs them (`import_spec::convert_file` then
//! `codegen::write`, the functions `xtask/src/main.rs` calls), in a copy of the workspace
//! without `target/`; then `cargo check --workspace --all-targets` builds every crate (the
//! facade, the CLI, the end-to-end suites, the fuzz targets, their tests, benches and examples)
//! against the generated code. The check shares this workspace's
//! target directory (its dependencies are built already; only the scratch copy's own crates are
//! compiled), offline and locked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::{codegen, import_spec, workspace_root};

/// The published documents the facade must build against: each stable one that has every
/// operation the facade calls through the stable module (2025-06-30 and later: the Teams Phone
/// extension operations), and the preview. 2023-10-01 lacks the Teams Phone extension operations
/// (`the_2023_document_fails_at_generation_naming_what_it_lacks`).
const VERSIONS: &[&str] = &["2025-06-30", "2026-09-23", "2025-03-02-preview"];

/// Copies the workspace's files (not `target/`, `.git/` or other generated folders) to `to`.
fn copy_workspace(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if matches!(
            name.as_ref(),
            "target" | ".git" | ".acs-emulator" | "node_modules"
        ) {
            continue;
        }
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_workspace(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

/// The target directory of this workspace (`CARGO_TARGET_TMPDIR` is `<target>/tmp`).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The two commands of a spec update, in `root`; returns the checked-in document it replaced.
fn update_spec(root: &Path, published: &Path) -> xtask::Document {
    let converted = import_spec::convert_file(published).unwrap();
    assert!(
        converted.missing_descriptions.is_empty(),
        "{}: no description for {:?}",
        published.display(),
        converted.missing_descriptions
    );
    // Where `cargo xtask import-spec` puts it: the stable or the preview document.
    let place = converted.place();
    xtask::write(&root.join(place.spec_path), &converted.to_text()).unwrap();
    codegen::write(root).unwrap();
    place
}

#[test]
fn the_workspace_builds_against_every_usable_document() {
    let Some(dir) = common::upstream_spec("2026-09-23/CommunicationIdentity.json")
        .and_then(|p| p.parent()?.parent().map(Path::to_path_buf))
    else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    copy_workspace(&workspace_root(), root);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    for version in VERSIONS {
        let published = dir.join(version).join("CommunicationIdentity.json");
        let place = update_spec(root, &published);
        let generated = std::fs::read_to_string(root.join(place.generated_path)).unwrap();
        assert!(
            generated.contains("pub fn communication_identity_issue_access_token("),
            "{version}: stable names"
        );
        let output = Command::new(&cargo)
            .args([
                "check",
                "--quiet",
                "--offline",
                "--locked",
                "--workspace",
                "--all-targets",
            ])
            .current_dir(root)
            .env("CARGO_TARGET_DIR", target_dir())
            .env_remove("RUSTFLAGS")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "the workspace does not build against {version}:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("{version}: generated, and the workspace builds against it");
    }
}

#[test]
fn a_document_without_an_operation_the_facade_calls_fails_at_generation_naming_it() {
    let Some(published) = common::upstream_spec("2026-09-23/CommunicationIdentity.json") else {
        return;
    };
    let mut swagger: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&published).unwrap()).unwrap();
    swagger["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/identities/{id}/:revokeAccessTokens")
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("CommunicationIdentity.json");
    std::fs::write(&file, serde_json::to_string_pretty(&swagger).unwrap()).unwrap();
    let converted = import_spec::convert_file(&file).unwrap();
    let error = codegen::generate(&converted.to_text(), "trimmed.json")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "trimmed.json lacks operation(s) the acs-identity facade calls: \
             `CommunicationIdentity_RevokeAccessTokens` (POST /identities/{id}/:revokeAccessTokens)"
        ),
        "{error}"
    );
}

#[test]
fn the_2023_document_fails_at_generation_naming_what_it_lacks() {
    let Some(published) = common::upstream_spec("2023-10-01/CommunicationIdentity.json") else {
        return;
    };
    let converted = import_spec::convert_file(&published).unwrap();
    let error = codegen::generate(&converted.to_text(), "2023-10-01.json")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("2023-10-01.json lacks operation(s) the acs-identity facade calls: "),
        "{error}"
    );
    for name in [
        "TeamsExtension_CreateOrReplaceAssignment",
        "TeamsExtension_GetAssignment",
        "TeamsExtension_DeleteAssignment",
        "TeamsExtension_ExchangeAccessToken",
    ] {
        assert!(error.contains(&format!("`{name}`")), "{error}");
    }
}
