//! Maintainer tasks for the acs-identity workspace, run as `cargo xtask <task>`.
//!
//! - `import-spec <swagger-2.0 file> [--out <file>]`: converts a published Swagger 2.0 document of the
//!   Communication Identity API into the OpenAPI 3.0 document under `spec/` (see [`import_spec`]).
//! - `codegen [--check]`: generates `crates/acs-identity-rest/src/generated.rs` from that document
//!   with progenitor (see [`codegen`]); `--check` only compares and prints a diff.
//! - `release-check`: everything that must hold before a crate is published (see
//!   [`release_check`]): packages verified from their `.crate` files, docs without warnings,
//!   CHANGELOG entries, MSRV declared once, generated code marked, the semver check.
//! - `release-baseline [<crate>...]`: records the public API of the named (default: every)
//!   published library as its release baseline, when that version is released (see
//!   [`semver_check`]).
//!
//! The tasks are also library functions so that the workspace's tests can run them.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod codegen;
mod descriptions;
pub mod import_spec;
pub mod operations;
pub mod order;
pub mod public_api;
pub mod release_check;
pub mod semver_check;
pub mod workspace;

use std::fmt;
use std::path::{Path, PathBuf};

/// Path of the OpenAPI document, relative to the workspace root.
pub const SPEC_PATH: &str = "spec/CommunicationIdentity.json";

/// Path of the generated client code, relative to the workspace root.
pub const GENERATED_PATH: &str = "crates/acs-identity-rest/src/generated.rs";

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
    std::fs::read_to_string(path)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))
}

/// Writes a file, with the path in the error.
pub fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
}
