//! The public API of a library crate as text, one item per line: every public item with its
//! signature, and every trait it implements, the auto traits (`Send`, `Sync`, `Unpin`,
//! `UnwindSafe`, ...) and derived ones (`Clone`, `Debug`, ...) included.
//!
//! How it is produced, and why so:
//! - The compiler's own view is needed: auto-trait impls are inferred by rustc and invisible in
//!   the source, and re-exports (`pub use other_crate::Item`) must show the item itself. So the
//!   listing is read from rustdoc's JSON output (`--output-format json`), rendered by the
//!   `public-api` crate (the library behind `cargo public-api`), blanket impls left out (`impl<T>
//!   From<T> for T` and the like follow from the other lines and would triple the listing).
//! - rustdoc's JSON output is an unstable option. The installed stable toolchain has it, behind
//!   `RUSTC_BOOTSTRAP=1`, which is set for that one `cargo rustdoc` run only (no nightly toolchain
//!   can be installed here). The format is versioned: [`RUSTDOC_FORMAT_VERSION`] is the version
//!   the pinned `public-api` (through `rustdoc-types`) reads, and any other version is refused
//!   with a message saying what to update, rather than read wrongly.
//! - The JSON is built in its own target directory ([`target_dir`]), not in the workspace's
//!   `target/`: proc-macro2's build script reads `RUSTC_BOOTSTRAP` (`rerun-if-env-changed`), so
//!   switching it rebuilds proc-macro2 and everything above it (63 units for the facade and the
//!   emulator, 28 s here), which in a shared directory would happen on every switch between a
//!   normal build and a listing. Its own directory also keeps the listing, run from a test,
//!   clear of the lock of the `target/` that the outer `cargo test` builds in.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::workspace::{PublishedCrate, cargo, run};
use crate::{Error, Result};

/// The rustdoc JSON format version `public-api` 0.52.1 (`rustdoc-types` 0.57) reads: the one
/// rustdoc 1.95 writes.
pub const RUSTDOC_FORMAT_VERSION: u32 = 57;

/// The target directory the rustdoc JSON is built in: `target/public-api` under `root`.
pub fn target_dir(root: &Path) -> PathBuf {
    root.join("target").join("public-api")
}

/// The public API of `krate`'s library, one item per line, sorted; `None` for a crate without a
/// library (a binary's interface is its command line, pinned by its own snapshots).
pub fn listing(root: &Path, krate: &PublishedCrate) -> Result<Option<String>> {
    let Some(lib) = &krate.lib else {
        return Ok(None);
    };
    let json = rustdoc_json(root, &krate.name, lib)?;
    listing_from_json(&json).map(Some)
}

/// Builds the rustdoc JSON of `package`'s library (`lib` is its target name) and returns its path.
pub fn rustdoc_json(root: &Path, package: &str, lib: &str) -> Result<PathBuf> {
    let target_dir = target_dir(root);
    run(cargo()
        .current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["rustdoc", "--locked", "--quiet", "--lib", "-p", package])
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"]))?;
    Ok(target_dir.join("doc").join(format!("{lib}.json")))
}

#[derive(Deserialize)]
struct FormatVersion {
    format_version: u32,
}

/// The listing of a rustdoc JSON file.
pub fn listing_from_json(json: &Path) -> Result<String> {
    let text = crate::read_to_string(json)?;
    let found: FormatVersion = serde_json::from_str(&text)
        .map_err(|e| Error::new(format!("{}: not rustdoc JSON: {e}", json.display())))?;
    if found.format_version != RUSTDOC_FORMAT_VERSION {
        return Err(Error::new(format!(
            "{} has rustdoc JSON format {}, but the public-api crate pinned in Cargo.toml reads \
             format {RUSTDOC_FORMAT_VERSION}: the toolchain changed. Pin the public-api version \
             whose rustdoc-types reads format {} and update RUSTDOC_FORMAT_VERSION in \
             xtask/src/public_api.rs, then re-accept the snapshots.",
            json.display(),
            found.format_version,
            found.format_version
        )));
    }
    let api = public_api::Builder::from_rustdoc_json(json)
        .omit_blanket_impls(true)
        .build()
        .map_err(|e| Error::new(format!("{}: {e}", json.display())))?;
    let mut text: String = api.items().map(|item| format!("{item}\n")).collect();
    if text.is_empty() {
        text.push('\n');
    }
    Ok(text)
}
