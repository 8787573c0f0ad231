//! Helpers shared by the xtask integration tests.

use std::path::PathBuf;
use std::sync::OnceLock;

use xtask::{Document, SPEC_PATH, codegen, workspace_root};

/// The text of the checked-in OpenAPI document of the stable api-version.
pub fn spec_text() -> String {
    std::fs::read_to_string(workspace_root().join(SPEC_PATH)).unwrap()
}

/// The text of a checked-in OpenAPI document.
#[allow(dead_code)] // not every test binary needs it
pub fn spec_text_of(document: &Document) -> String {
    std::fs::read_to_string(workspace_root().join(document.spec_path)).unwrap()
}

/// What the checked-in document generates, computed once per test binary (the generation is
/// deterministic: `codegen_is_deterministic` checks it with fresh runs).
#[allow(dead_code)] // not every test binary generates code
pub fn generated() -> &'static str {
    static GENERATED: OnceLock<String> = OnceLock::new();
    GENERATED.get_or_init(|| codegen::generate(&spec_text(), SPEC_PATH).unwrap())
}

/// `<workspace root>/../shared/upstream/spec/<file>`, or `None` (after printing why) when it is
/// absent.
pub fn upstream_spec(file: &str) -> Option<PathBuf> {
    acs_test_support::upstream(&format!("spec/{file}"))
}

/// The `info.version` of the checked-in stable document, for example `2026-09-23`.
#[allow(dead_code)] // not every test binary needs it
pub fn spec_version() -> String {
    spec_version_of(&xtask::DOCUMENTS[0])
}

/// The `info.version` of a checked-in document, for example `2025-03-02-preview`.
#[allow(dead_code)] // not every test binary needs it
pub fn spec_version_of(document: &Document) -> String {
    let document: serde_json::Value = serde_json::from_str(&spec_text_of(document)).unwrap();
    document["info"]["version"].as_str().unwrap().to_owned()
}

/// The published document the checked-in one was imported from
/// (`../shared/upstream/spec/<its version>/CommunicationIdentity.json`), or `None` when absent.
#[allow(dead_code)] // not every test binary needs it
pub fn upstream_source() -> Option<PathBuf> {
    upstream_spec(&format!("{}/CommunicationIdentity.json", spec_version()))
}

/// The published stable document the checked-in one comes from, changed by `change`, converted
/// by `import-spec` (in a scratch folder), or `None` when absent.
#[allow(dead_code)] // not every test binary needs it
pub fn converted_with(
    change: impl FnOnce(&mut serde_json::Value),
) -> Option<xtask::import_spec::Converted> {
    let published = upstream_source()?;
    let mut swagger: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&published).unwrap()).unwrap();
    change(&mut swagger);
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("CommunicationIdentity.json");
    std::fs::write(&file, serde_json::to_string_pretty(&swagger).unwrap()).unwrap();
    Some(xtask::import_spec::convert_file(&file).unwrap())
}
