//! Maintainer tasks for the acs-identity workspace, run as `cargo xtask <task>`.
//!
//! - `import-spec <swagger-2.0 file> [--out <file>]`: converts a published Swagger 2.0 document of the
//!   Communication Identity API into the OpenAPI 3.0 document under `spec/` (see [`import_spec`]).
//! - `codegen [--check]`: generates `crates/acs-identity-rest/src/generated.rs` from that document
//!   with progenitor (see [`codegen`]); `--check` only compares and prints a diff.
//! - `public-api [--bless]`: the public API of every published library against its snapshot, its
//!   types nameable from the crate root, and the semver check (see [`public_api`],
//!   [`semver_check`]).
//! - `release-check`: everything that must hold before a crate is published (see
//!   [`release_check`]): packages verified from their `.crate` files, docs without warnings,
//!   CHANGELOG entries, MSRV declared once, generated code marked, and `public-api`.
//! - `release-baseline [<crate>...]`: records the public API of the named (default: every)
//!   published library as its release baseline, when that version is released (see
//!   [`semver_check`]).
//!
//! The tasks are also library functions so that the workspace's tests can run them. The spec
//! matrix (the two commands and a build of the workspace, in a scratch copy, for every published
//! document the facade can use and for documents made with each kind of change a new api-version
//! brings) is such a test: `xtask/tests/spec_matrix.rs`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

/// An [`Error`] with a message formatted as by `format!`: `error!("cannot read {}: {e}", ..)`.
macro_rules! error {
    ($($message:tt)+) => {
        $crate::Error::new(format!($($message)+))
    };
}

pub mod codegen;
pub mod import_spec;
pub mod operations;
pub mod order;
pub mod public_api;
pub mod release_check;
pub mod semver_check;
pub mod workspace;

use std::fmt;
use std::path::{Path, PathBuf};

/// Path of the OpenAPI document of the stable api-version, relative to the workspace root.
pub const SPEC_PATH: &str = "spec/CommunicationIdentity.json";

/// Path of the client code generated from [`SPEC_PATH`], relative to the workspace root.
pub const GENERATED_PATH: &str = "crates/acs-identity-rest/src/generated.rs";

/// Path of the OpenAPI document of the preview api-version, relative to the workspace root.
pub const PREVIEW_SPEC_PATH: &str = "spec/preview/CommunicationIdentity.json";

/// Path of the client code generated from [`PREVIEW_SPEC_PATH`] (the module
/// `acs_identity_rest::preview`), relative to the workspace root.
pub const PREVIEW_GENERATED_PATH: &str = "crates/acs-identity-rest/src/preview.rs";

/// Whether an api-version is a stable one (`2026-09-23`) or a preview (`2025-03-02-preview`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A stable api-version: generated into the crate root of `acs-identity-rest`.
    Stable,
    /// A preview api-version (ends in `-preview`): generated into `acs_identity_rest::preview`.
    Preview,
}

impl Channel {
    /// The channel of an OpenAPI document: that of its api-version (`info.version`), stable when
    /// it has none.
    pub fn of_document(document: &serde_json::Value) -> Channel {
        let version = document.pointer("/info/version").and_then(|v| v.as_str());
        if version.is_some_and(|v| v.ends_with("-preview")) {
            Channel::Preview
        } else {
            Channel::Stable
        }
    }
}

/// A checked-in OpenAPI document and the file of `acs-identity-rest` generated from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document {
    /// The kind of api-version the document must describe.
    pub channel: Channel,
    /// The document, relative to the workspace root.
    pub spec_path: &'static str,
    /// The generated code, relative to the workspace root.
    pub generated_path: &'static str,
}

/// The checked-in documents: one stable api-version and one preview.
pub const DOCUMENTS: [Document; 2] = [
    Document {
        channel: Channel::Stable,
        spec_path: SPEC_PATH,
        generated_path: GENERATED_PATH,
    },
    Document {
        channel: Channel::Preview,
        spec_path: PREVIEW_SPEC_PATH,
        generated_path: PREVIEW_GENERATED_PATH,
    },
];

impl Document {
    /// The checked-in document of `channel`.
    pub fn of(channel: Channel) -> Document {
        match channel {
            Channel::Stable => DOCUMENTS[0],
            Channel::Preview => DOCUMENTS[1],
        }
    }
}

/// An error of an xtask: a message that says what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Result of an xtask step.
pub type Result<T> = std::result::Result<T, Error>;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}

/// Reads a file to a string, with the path in the error.
pub fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| error!("cannot read {}: {e}", path.display()))
}

/// Writes a file, with the path in the error.
pub fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).map_err(|e| error!("cannot write {}: {e}", path.display()))
}

/// Creates a directory and its parents, with the path in the error.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| error!("cannot create {}: {e}", dir.display()))
}

/// Parses a JSON text; the error names it by `label` (its path).
pub fn parse_json<T: serde::de::DeserializeOwned>(
    text: &str,
    label: impl fmt::Display,
) -> Result<T> {
    serde_json::from_str(text).map_err(|e| error!("{label} is not JSON: {e}"))
}
