//! The public API of every published library crate of the workspace, pinned by a snapshot, and
//! checked against its last release (the semver check of `xtask/src/semver_check.rs`).
//!
//! The crates are found with `cargo metadata` (every member not `publish = false`), so a new crate
//! gets a snapshot as soon as it exists. The listing comes from rustdoc JSON (see
//! `xtask/src/public_api.rs` for how and why), built in `target/public-api`.
//!
//! A change to the public API fails here with the diff. To accept every snapshot at once after a
//! deliberate change (or a merge):
//!
//!     INSTA_UPDATE=always cargo test -p xtask --test public_api
//!
//! and review the `xtask/tests/snapshots/public_api__*.snap` diffs before committing them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use xtask::semver_check::{self, Baseline, CurrentApi, Verdict};
use xtask::workspace::published_crates;
use xtask::workspace_root;

#[test]
fn public_api_of_every_published_library_is_pinned_and_follows_semver() {
    let root = workspace_root();
    let crates = published_crates(&root).unwrap();
    let apis = semver_check::current_apis(&root, &crates).unwrap();
    for api in &apis {
        let lib = &api.lib;
        // Sanity: the listing is the crate's, and the compiler's impls (auto traits) are in it.
        assert!(api.listing.contains(&format!("pub mod {lib}\n")), "{lib}");
        assert!(
            api.listing.contains("impl core::marker::Send for "),
            "{lib}: no auto-trait impls listed"
        );
        insta::assert_snapshot!(api.name.as_str(), api.listing);
    }
    for facade in ["acs-identity", "acs-auth", "acs-identity-emulator"] {
        assert!(
            apis.iter().any(|api| api.name == facade),
            "{facade} not found"
        );
    }

    let verdicts = semver_check::check(&root, &apis).unwrap();
    for verdict in &verdicts {
        println!("{verdict}");
    }
    let failures: Vec<String> = verdicts.iter().filter_map(Verdict::failure).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The check fails on real data: acs-auth's listing, against a release baseline of the same
/// version that had one more method and one line changed.
#[test]
fn an_item_gone_since_the_release_without_a_bump_fails_the_check() {
    let root = workspace_root();
    let crates = published_crates(&root).unwrap();
    let auth: Vec<_> = crates
        .into_iter()
        .filter(|c| c.name == "acs-auth")
        .collect();
    let api = semver_check::current_apis(&root, &auth).unwrap().remove(0);
    let send = "impl core::marker::Send for acs_auth::AccessKey\n";
    assert!(api.listing.contains(send));
    let released = Baseline {
        version: api.version.clone(),
        listing: format!(
            "{}pub fn acs_auth::AccessKey::len(&self) -> usize\n",
            api.listing.replace(
                send,
                "impl core::marker::Send for acs_auth::AccessKey<'_>\n"
            )
        ),
    };
    let verdicts = semver_check::verdicts(&[(&api, released.clone())]);
    let failure = verdicts[0].failure().expect("a breaking change must fail");
    assert!(
        failure.contains("acs-auth: 2 breaking change(s)"),
        "{failure}"
    );
    let report = verdicts[0].to_string();
    assert!(
        report.contains("removed or changed: pub fn acs_auth::AccessKey::len"),
        "{report}"
    );

    // The same changes with an incompatible bump pass.
    let bumped = CurrentApi {
        version: semver_check::next_incompatible(&api.version),
        ..api.clone()
    };
    assert_eq!(
        semver_check::verdicts(&[(&bumped, released)])[0].failure(),
        None
    );
}
