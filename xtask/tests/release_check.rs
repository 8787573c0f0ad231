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
