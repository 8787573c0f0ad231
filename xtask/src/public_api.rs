//! The public API of a library crate as text, one item per line: every public item with its
//! signature, and every trait it implements, the auto traits (`Send`, `Sync`, `Unpin`,
//! `UnwindSafe`, ...) and derived ones (`Clone`, `Debug`, ...) included. `cargo xtask public-api`
//! compares it with the snapshot checked in under [`SNAPSHOT_DIR`], checks that every type it
//! names can be named by users ([`unnameable`]), and runs the semver check.
//!
//! How it is produced, and why so:
//! - The compiler's own view is needed: auto-trait impls are inferred by rustc and invisible in
//!   the source, and re-exports (`pub use other_crate::Item`) must show the item itself. So the
//!   listing is read from rustdoc's JSON output (`--output-format json`), rendered by the
//!   `public-api` crate (the library behind `cargo public-api`), blanket impls left out (`impl<T>
//!   From<T> for T` and the like follow from the other lines and would triple the listing).
//! - rustdoc's JSON output is an unstable option. The installed stable toolchain has it behind
//!   `RUSTC_BOOTSTRAP=1`, given to rustdoc alone: cargo runs this very program as its `RUSTDOC`
//!   ([`RUSTDOC_ENV`] names the real one), which adds the variable and runs rustdoc. Set for cargo
//!   itself, it would reach proc-macro2's build script (`rerun-if-env-changed`) and rebuild
//!   everything above proc-macro2; given to rustdoc alone, it leaves the dependencies' checked
//!   builds as they are. One `cargo doc` writes the JSON of every published library (see
//!   [`listings`]), with the dependencies the docs check (`release_check::docs`) uses too.
//! - The format is versioned: [`RUSTDOC_FORMAT_VERSION`] is the version the pinned `public-api`
//!   (through `rustdoc-types`) reads, and any other version is refused with a message saying what
//!   to update, rather than read wrongly.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Result;
use crate::workspace::{PublishedCrate, cargo, run};

/// The rustdoc JSON format version `public-api` 0.52.1 (`rustdoc-types` 0.57) reads: the one
/// rustdoc 1.95 writes.
pub const RUSTDOC_FORMAT_VERSION: u32 = 57;

/// Directory of the public-API snapshots, relative to the workspace root: `<crate>.txt` each.
pub const SNAPSHOT_DIR: &str = "xtask/public-api";

/// Set by [`listings`] for the rustdoc that cargo runs: the real rustdoc, run by this program
/// (cargo's `RUSTDOC`) with `RUSTC_BOOTSTRAP=1` (see `main.rs`).
pub const RUSTDOC_ENV: &str = "XTASK_REAL_RUSTDOC";

/// Path of `crate_name`'s public-API snapshot under the workspace `root`.
pub fn snapshot_path(root: &Path, crate_name: &str) -> PathBuf {
    root.join(SNAPSHOT_DIR).join(format!("{crate_name}.txt"))
}

/// The public API of each library of `crates` (in their order; crates without a library, whose
/// interface is their command line, are left out): the crate, its library's name and its listing,
/// one item per line, sorted. One `cargo doc` of all of them writes their rustdoc JSON in the
/// workspace's target directory: the features are those the published crates enable together
/// (each crate's own defaults; dev-dependencies play no part), the resolution of
/// `release_check::docs`, so the dependencies are checked once for both.
pub fn listings<'a>(
    root: &Path,
    crates: &'a [PublishedCrate],
) -> Result<Vec<(&'a PublishedCrate, &'a str, String)>> {
    let libs: Vec<(&PublishedCrate, &str)> = crates
        .iter()
        .filter_map(|krate| Some((krate, krate.lib.as_deref()?)))
        .collect();
    if libs.is_empty() {
        return Ok(Vec::new());
    }
    let this = std::env::current_exe().map_err(|e| error!("cannot find the xtask binary: {e}"))?;
    let real = std::env::var_os("RUSTDOC").unwrap_or_else(|| "rustdoc".into());
    let mut command = cargo();
    command
        .current_dir(root)
        .env("RUSTDOC", this)
        .env(RUSTDOC_ENV, real)
        .env("RUSTDOCFLAGS", "-Z unstable-options --output-format json")
        .args(["doc", "--locked", "--quiet", "--no-deps", "--lib"]);
    for (krate, _) in &libs {
        command.args(["-p", &krate.name]);
    }
    run(&mut command)?;
    let doc = crate::workspace::target_directory(root)?.join("doc");
    libs.into_iter()
        .map(|(krate, lib)| {
            Ok((
                krate,
                lib,
                listing_from_json(&doc.join(format!("{lib}.json")))?,
            ))
        })
        .collect()
}

#[derive(Deserialize)]
struct FormatVersion {
    format_version: u32,
}

/// The listing of a rustdoc JSON file.
pub fn listing_from_json(json: &Path) -> Result<String> {
    let text = crate::read_to_string(json)?;
    let found: FormatVersion = serde_json::from_str(&text)
        .map_err(|e| error!("{}: not rustdoc JSON: {e}", json.display()))?;
    if found.format_version != RUSTDOC_FORMAT_VERSION {
        return Err(error!(
            "{} has rustdoc JSON format {}, but the public-api crate pinned in Cargo.toml reads \
             format {RUSTDOC_FORMAT_VERSION}: the toolchain changed. Pin the public-api version \
             whose rustdoc-types reads format {} and update RUSTDOC_FORMAT_VERSION in \
             xtask/src/public_api.rs, then re-record the snapshots (`cargo xtask public-api --bless`).",
            json.display(),
            found.format_version,
            found.format_version
        ));
    }
    let api = public_api::Builder::from_rustdoc_json(json)
        .omit_blanket_impls(true)
        .build()
        .map_err(|e| error!("{}: {e}", json.display()))?;
    let mut text: String = api.items().map(|item| format!("{item}\n")).collect();
    if text.is_empty() {
        text.push('\n');
    }
    Ok(text)
}

/// The types `listing` (of library `lib`) names that users of `lib` cannot name: a path into `lib`
/// that the listing does not declare (a public type in a private module), and a type of another
/// workspace library (`others`) that `lib` does not re-export. (A type reachable only through
/// another crate's re-exported item, e.g. the return type of a method of a re-exported type, is
/// not in the listing and not seen here.)
pub fn unnameable(lib: &str, others: &[&str], listing: &str) -> Vec<String> {
    // Every item path the listing declares, e.g. `acs_identity::CommunicationIdentityClient`.
    let declared: BTreeSet<&str> = listing
        .lines()
        .filter_map(|line| {
            let line = line.trim_start_matches("#[non_exhaustive] ");
            let keywords = [
                "struct ", "enum ", "trait ", "type ", "union ", "use ", "const ", "static ",
            ];
            let line = line.strip_prefix("pub ")?;
            keywords
                .iter()
                .find_map(|keyword| line.strip_prefix(keyword))
        })
        .map(|rest| rest.split(['<', ' ', '(', '{']).next().unwrap_or(rest))
        .map(|path| path.trim_end_matches(':'))
        .collect();
    let names: BTreeSet<&str> = declared
        .iter()
        .filter_map(|p| p.rsplit("::").next())
        .collect();
    let mut found = BTreeSet::new();
    let words = listing.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'));
    for path in words.map(|w| w.trim_end_matches(':')) {
        let (Some((krate, _)), Some((parent, name))) =
            (path.split_once("::"), path.rsplit_once("::"))
        else {
            continue;
        };
        // Types only (a capitalised last segment): a function or module is reached through one.
        let nameable = !name.starts_with(|c: char| c.is_ascii_uppercase())
            || if krate == lib {
                // A variant or associated type is named through its declared parent.
                declared.contains(path) || declared.contains(parent)
            } else {
                !others.contains(&krate) || names.contains(name)
            };
        if !nameable {
            found.insert(path.to_owned());
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_in_private_modules_and_foreign_types_not_re_exported_are_found() {
        let listing = "\
pub mod k
pub struct k::Client
pub use k::Token
pub trait k::Hook: core::marker::Send
pub enum k::Kind
pub k::Kind::A(dep::Token)
pub fn k::Client::get(&self, core::option::Option<k::options::GetOptions>) -> k::Kind
pub fn k::Client::credential(&self) -> dep::credential::Credential
pub fn k::Client::hook(&self) -> &dyn k::Hook
";
        assert_eq!(
            unnameable("k", &["dep"], listing),
            ["dep::credential::Credential", "k::options::GetOptions"]
        );
        let fixed = format!("{listing}pub use k::Credential\npub use k::GetOptions\n")
            .replace("k::options::GetOptions", "k::GetOptions");
        assert_eq!(unnameable("k", &["dep"], &fixed), Vec::<String>::new());
    }
}
