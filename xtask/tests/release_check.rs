//! The cheap checks of `cargo xtask release-check` on the workspace itself, so that `cargo test`
//! already fails when the MSRV is declared twice with different values, a CHANGELOG lacks the
//! entry for its crate's version, or the generated code loses its mark. (Packaging, docs and the
//! semver report run in `cargo xtask release-check` itself, in CI.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use xtask::release_check;
use xtask::workspace::published_crates;
use xtask::workspace_root;

#[test]
fn msrv_manifests_changelogs_and_generated_marks_hold() {
    let root = workspace_root();
    let crates = published_crates(&root).unwrap();
    assert!(crates.iter().any(|c| c.name == "acs-identity"));
    assert!(!crates.iter().any(|c| c.name == "xtask"), "publish = false");
    let clippy_toml = std::fs::read_to_string(root.join("clippy.toml")).unwrap();
    assert!(release_check::clippy_msrv(&clippy_toml).is_some());
    let mut problems = release_check::manifests(&crates, &clippy_toml);
    problems.extend(release_check::changelogs(&crates));
    problems.extend(release_check::generated_code(&root).unwrap());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_build_profiles_are_where_package_verification_sees_them() {
    // `cargo package` verifies each crate in a workspace of its own, which reads no profile of
    // the root Cargo.toml: with the profiles there, every dependency was built a second time
    // (full debug info) for the verification. Cargo's configuration reaches those builds too.
    let root = workspace_root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let config = std::fs::read_to_string(root.join(".cargo/config.toml")).unwrap();
    assert!(
        !manifest.lines().any(|line| line.starts_with("[profile")),
        "Cargo.toml sets a profile; set it in .cargo/config.toml"
    );
    assert!(config.contains("[profile.dev]"), "{config}");
}
