//! `cargo xtask spec-matrix [<case>...]`: proves that a spec update is the two commands
//! (`import-spec`, then `codegen`) and nothing else, by running them in a scratch copy of the
//! workspace and building every crate against the result.
//!
//! The cases are the published documents the facade can use (each stable one with the Teams Phone
//! extension operations, and the preview), and documents made here from the published source of
//! the checked-in stable document, each with one kind of change a new api-version brings (every
//! operationId renamed, a new pageable list operation the facade does not call, an optional field
//! added to a request and to a response model, a new value of each open enum, `customId` and
//! `GET /identities/{id}` going GA from the preview) and one with all of them at once.
//!
//! For each case: `import-spec` of the document, `codegen`, `codegen --check` clean, then
//! `cargo check --workspace --all-targets` (the facade, the CLI, the end-to-end suites, the fuzz
//! targets, their tests, benches and examples), unless the two commands gave back the checked-in
//! documents and code byte for byte (the published sources of the checked-in documents): the copy
//! is then the workspace itself, which clippy checks. The case with every change also runs the
//! facade's tests (`cargo test -p acs-identity`), unchanged. The scratch copy is built offline
//! and locked, in the workspace's target directory, where the dependencies are already built; its
//! own crates get build names of their own (see [`fresh_copy`]). It takes a minute or more, so it
//! is not part of `cargo test`; `.ci/run` runs it.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::codegen::{self, CheckOutcome};
use crate::{DOCUMENTS, Result, import_spec, order};

/// The published documents (folders of `<upstream>/`) the facade must build against. 2023-10-01
/// lacks the Teams Phone extension operations, and fails at generation naming them (a test of
/// `xtask/tests/codegen.rs`).
pub const PUBLISHED: &[&str] = &["2025-06-30", "2026-09-23", "2025-03-02-preview"];

/// A change made to a published stable document (the second argument is the preview document).
pub type Change = fn(&mut Value, &Value);

/// The made-up documents: a name and the change made to the published stable document.
pub const MADE_UP: &[(&str, Change)] = &[
    ("rename", rename_every_operation),
    ("added-operation", add_list_operation),
    ("request-field", add_optional_request_field),
    ("response-field", add_optional_response_field),
    ("enum-value", add_enum_values),
    ("preview-to-ga", promote_from_preview),
    ("all", all_changes),
];

/// Every operationId gets another name (the TypeSpec-era updates renamed them all).
pub fn rename_every_operation(swagger: &mut Value, _: &Value) {
    for (_, _, operation) in crate::operations::operations_mut(swagger) {
        if let Some(id) = operation["operationId"].as_str() {
            operation["operationId"] = json!(format!("Next{}", id.replace('_', "Ops_")));
        }
    }
}

/// A pageable `GET /identities` that the facade does not call.
pub fn add_list_operation(swagger: &mut Value, _: &Value) {
    let error = error_response(swagger);
    swagger["definitions"]["PagedCommunicationIdentity"] = json!({
        "type": "object",
        "properties": {
            "value": { "type": "array", "items": { "$ref": "#/definitions/CommunicationIdentity" } },
            "nextLink": { "type": "string" },
        },
        "required": ["value"],
    });
    swagger["paths"]["/identities"]["get"] = json!({
        "operationId": "IdentityOperations_List",
        "parameters": [
            api_version_parameter(swagger),
            { "name": "maxpagesize", "in": "query", "required": false, "type": "integer",
              "format": "int32" },
        ],
        "responses": {
            "200": { "description": "The page.",
                     "schema": { "$ref": "#/definitions/PagedCommunicationIdentity" } },
            "default": error,
        },
        "x-ms-pageable": { "nextLinkName": "nextLink" },
    });
}

/// An optional field in the body of issue-token (which the facade builds).
pub fn add_optional_request_field(swagger: &mut Value, _: &Value) {
    swagger["definitions"]["CommunicationIdentityAccessTokenRequest"]["properties"]["tag"] =
        json!({ "type": "string" });
}

/// An optional field in the token the service answers with (which the facade reads).
pub fn add_optional_response_field(swagger: &mut Value, _: &Value) {
    swagger["definitions"]["CommunicationIdentityAccessToken"]["properties"]["refreshAfter"] =
        json!({ "type": "string", "format": "date-time" });
}

/// A new value in each open (`modelAsString`) enum.
pub fn add_enum_values(swagger: &mut Value, _: &Value) {
    for name in [
        "CommunicationIdentityTokenScope",
        "TeamsExtensionPrincipalType",
    ] {
        let schema = &mut swagger["definitions"][name];
        if let Some(values) = schema["enum"].as_array_mut() {
            values.push(json!("next.value"));
        }
        if let Some(values) = schema["x-ms-enum"]["values"].as_array_mut() {
            values.push(json!({ "name": "nextValue", "value": "next.value" }));
        }
    }
}

/// `customId` on create and `GET /identities/{id}` (with the preview's `CommunicationIdentity`)
/// go GA: taken from the preview document, with the stable document's parameters and error.
pub fn promote_from_preview(swagger: &mut Value, preview: &Value) {
    let custom_id =
        preview["definitions"]["CommunicationIdentityCreateRequest"]["properties"]["customId"]
            .clone();
    swagger["definitions"]["CommunicationIdentityCreateRequest"]["properties"]["customId"] =
        custom_id;
    swagger["definitions"]["CommunicationIdentity"] =
        preview["definitions"]["CommunicationIdentity"].clone();
    let mut get = preview["paths"]["/identities/{id}"]["get"].clone();
    get["operationId"] = json!("IdentityOperations_Get");
    get["parameters"] = swagger["paths"]["/identities/{id}"]["delete"]["parameters"].clone();
    get["responses"]["default"] = error_response(swagger);
    swagger["paths"]["/identities/{id}"]["get"] = get;
}

/// Every change above, in one document (the renaming last, so it renames the new operations too).
pub fn all_changes(swagger: &mut Value, preview: &Value) {
    for (name, change) in MADE_UP {
        if !matches!(*name, "all" | "rename") {
            change(swagger, preview);
        }
    }
    rename_every_operation(swagger, preview);
}

/// The `default` response of the document's delete (the error model).
fn error_response(swagger: &Value) -> Value {
    swagger["paths"]["/identities/{id}"]["delete"]["responses"]["default"].clone()
}

/// The document's `api-version` parameter (a `$ref`), as its delete lists it.
fn api_version_parameter(swagger: &Value) -> Value {
    swagger["paths"]["/identities/{id}"]["delete"]["parameters"]
        .as_array()
        .and_then(|list| {
            list.iter()
                .find(|p| p["$ref"].as_str().is_some_and(|r| r.contains("ApiVersion")))
        })
        .cloned()
        .unwrap_or(Value::Null)
}

/// Runs the cases named in `only` (every case when empty), printing each; `upstream` is the folder
/// of the published documents (`<version>/CommunicationIdentity.json`). Stops at the first case
/// that fails, with what failed.
pub fn run(root: &Path, upstream: &Path, only: &[String]) -> Result<()> {
    let known: Vec<&str> = PUBLISHED
        .iter()
        .copied()
        .chain(MADE_UP.iter().map(|(name, _)| *name))
        .collect();
    if let Some(unknown) = only.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(error!(
            "unknown case {unknown:?}; the cases are {}",
            known.join(", ")
        ));
    }
    if !upstream.is_dir() {
        // A clean clone without ../shared: nothing to import (as the tests that need it, skip).
        println!("skipping: {} not found", upstream.display());
        return Ok(());
    }
    let chosen = |name: &str| only.is_empty() || only.iter().any(|n| n == name);
    // One scratch copy, made afresh for each case: the artifacts of its crates take one place in
    // its target directory, and a failed case is left there to look at.
    let target = crate::workspace::target_directory(root)?;
    let scratch = target.join("spec-matrix");
    let published = |version: &str| upstream.join(version).join("CommunicationIdentity.json");
    for version in PUBLISHED.iter().filter(|v| chosen(v)) {
        let copy = fresh_copy(root, &scratch)?;
        update(&copy, &published(version))?;
        if same_as_workspace(root, &copy)? {
            // The copy is then the workspace itself, whose build `cargo clippy --workspace
            // --all-targets` checks (in CI, the step before this one).
            println!(
                "{version}: imported and generated: the checked-in documents and code, byte for \
                 byte (the workspace itself, not built again)"
            );
            continue;
        }
        build(&copy, &published(version), &target, false)?;
        println!("{version}: imported, generated, and the workspace builds against it");
    }
    let made_up: Vec<_> = MADE_UP.iter().filter(|(name, _)| chosen(name)).collect();
    if made_up.is_empty() {
        return Ok(());
    }
    // The published source of the checked-in stable document, and the preview it promotes from.
    let checked_in: Value = read_json(&root.join(crate::SPEC_PATH))?;
    let version = checked_in["info"]["version"].as_str().unwrap_or_default();
    let stable_path = published(version);
    let stable_text = crate::read_to_string(&stable_path)?;
    let stable: Value = crate::parse_json(&stable_text, stable_path.display())?;
    let preview: Value = read_json(&published("2025-03-02-preview"))?;
    let orders = order::property_orders(&stable_text, &stable_path.display().to_string())?;
    for (name, change) in made_up {
        let copy = fresh_copy(root, &scratch)?;
        let mut document = stable.clone();
        change(&mut document, &preview);
        let dir = copy.join("next").join(version);
        crate::create_dir_all(&dir)?;
        let file = dir.join("CommunicationIdentity.json");
        crate::write(&file, &order::to_pretty_text(&document, &orders))?;
        update(&copy, &file)?;
        build(&copy, &file, &target, *name == "all")?;
        check_generated(name, &copy)?;
        println!("{name}: imported, generated, and the workspace builds against it");
    }
    Ok(())
}

/// What each made-up case must show in the generated stable module.
fn check_generated(name: &str, root: &Path) -> Result<()> {
    let code = crate::read_to_string(&root.join(crate::GENERATED_PATH))?;
    let expected: &[&str] = match name {
        "added-operation" => &["pub fn identity_operations_list("],
        "request-field" => &["pub tag: ::std::option::Option<::std::string::String>"],
        "response-field" => &["pub refresh_after: ::std::option::Option<crate::DateTime>"],
        // Open enums stay strings: a new value decodes as an unknown value, never an error.
        "enum-value" => &["pub struct CommunicationIdentityTokenScope(pub ::std::string::String)"],
        "preview-to-ga" => &[
            "pub fn communication_identity_get(",
            "pub custom_id: ::std::option::Option<",
        ],
        "all" => &[
            "pub fn next_identity_operations_ops_list(",
            "pub fn communication_identity_get(",
            "pub tag: ::std::option::Option<::std::string::String>",
            "pub fn communication_identity_issue_access_token(",
        ],
        _ => &[],
    };
    match expected.iter().find(|text| !code.contains(*text)) {
        Some(missing) => Err(error!("{name}: the generated code lacks `{missing}`")),
        None => Ok(()),
    }
}

/// The two commands in `root` (a copy of the workspace), and `codegen --check` clean after them.
fn update(root: &Path, document: &Path) -> Result<()> {
    let converted = import_spec::convert_file(document)?;
    crate::write(
        &root.join(converted.place().spec_path),
        &converted.to_text(),
    )?;
    codegen::write(root)?;
    match codegen::check(root)? {
        CheckOutcome::UpToDate => Ok(()),
        CheckOutcome::Differs(diff) => Err(error!(
            "codegen --check is not clean after codegen:\n{diff}"
        )),
    }
}

/// The files the two commands write (relative to the workspace root): each checked-in document
/// and the code generated from it.
fn written_files() -> impl Iterator<Item = &'static str> {
    DOCUMENTS
        .iter()
        .flat_map(|d| [d.spec_path, d.generated_path])
}

/// Whether the documents and the generated code in `copy` are the workspace's at `root`, byte for
/// byte: the only files the two commands write, so the copy is then the workspace itself.
fn same_as_workspace(root: &Path, copy: &Path) -> Result<bool> {
    for path in written_files() {
        if crate::read_to_string(&root.join(path))? != crate::read_to_string(&copy.join(path))? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The build of the copy at `root` against `document` (and the facade's tests when
/// `test_facade`).
fn build(root: &Path, document: &Path, target: &Path, test_facade: bool) -> Result<()> {
    let label = document.display();
    cargo(root, target, &["check", "--workspace", "--all-targets"])
        .map_err(|e| error!("the workspace does not build against {label}: {e}"))?;
    if test_facade {
        cargo(root, target, &["test", "-p", "acs-identity"])
            .map_err(|e| error!("the facade's tests fail against {label}: {e}"))?;
    }
    Ok(())
}

fn cargo(root: &Path, target: &Path, args: &[&str]) -> Result<()> {
    let mut command = crate::workspace::cargo();
    command
        .args(args)
        .args(["--quiet", "--offline", "--locked"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS");
    crate::workspace::run(&mut command).map(drop)
}

fn read_json(path: &Path) -> Result<Value> {
    crate::parse_json(&crate::read_to_string(path)?, path.display())
}

/// A copy of the workspace's files (not `target/`, `.git/` or other generated folders) at `to`,
/// replacing what was there, built in the workspace's target directory.
///
/// - The files keep their modification times, so that cargo finds the crates a case leaves
///   unchanged fresh from the previous case; the generated files are stamped now, because
///   `codegen` does not rewrite a file whose content it would not change, and the previous
///   case's build of the generated crate must not be taken for this case's.
/// - The copy's manifest gives each of its crates a `dev` profile of its own (no debug info: the
///   copy is checked and tested, never debugged; the workspace's crates have line tables). Cargo
///   names the build of a workspace crate after its path inside the workspace and its profile,
///   not after where the workspace is: with the same profile, the copy's builds took the place
///   of the workspace's, whose fingerprints then listed the copy's sources, so that an edit of the
///   workspace went unnoticed and `cargo test` ran test binaries built from the last case. The
///   dependencies keep the workspace's profile, so their builds are shared.
pub fn fresh_copy(from: &Path, to: &Path) -> Result<PathBuf> {
    if to.exists() {
        std::fs::remove_dir_all(to).map_err(|e| error!("cannot remove {}: {e}", to.display()))?;
    }
    copy_dir(from, to)?;
    let manifest = to.join("Cargo.toml");
    let mut text = crate::read_to_string(&manifest)?;
    for member in crate::workspace::member_names(from)? {
        text.push_str(&format!(
            "\n[profile.dev.package.{member}]\ndebug = false\n"
        ));
    }
    crate::write(&manifest, &text)?;
    for document in crate::DOCUMENTS {
        let path = to.join(document.generated_path);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|file| file.set_modified(std::time::SystemTime::now()))
            .map_err(|e| error!("cannot stamp {}: {e}", path.display()))?;
    }
    Ok(to.to_path_buf())
}

/// Copies a file with its modification time: cargo judges a workspace crate fresh by the times of
/// its files, so the crates a case leaves unchanged are not checked again in the next case.
fn copy_file(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::copy(from, to)?;
    let modified = std::fs::metadata(from)?.modified()?;
    std::fs::File::options()
        .write(true)
        .open(to)?
        .set_modified(modified)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    crate::create_dir_all(to)?;
    let cannot_read = |e: std::io::Error| error!("cannot read {}: {e}", from.display());
    for entry in std::fs::read_dir(from).map_err(cannot_read)? {
        let entry = entry.map_err(cannot_read)?;
        let name = entry.file_name();
        if matches!(
            name.to_str(),
            Some("target" | ".git" | ".acs-emulator" | "node_modules")
        ) {
            continue;
        }
        let (path, dest) = (entry.path(), to.join(&name));
        if path.is_dir() {
            copy_dir(&path, &dest)?;
        } else {
            copy_file(&path, &dest)
                .map_err(|e| error!("cannot copy {} to {}: {e}", path.display(), dest.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_documents(root: &Path) {
        for path in written_files() {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, path).unwrap();
        }
    }

    #[test]
    fn a_copy_is_the_workspace_only_while_every_document_and_generated_file_is_the_same() {
        let (root, copy) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_documents(root.path());
        write_documents(copy.path());
        assert!(same_as_workspace(root.path(), copy.path()).unwrap());
        for path in written_files() {
            std::fs::write(copy.path().join(path), "changed").unwrap();
            assert!(
                !same_as_workspace(root.path(), copy.path()).unwrap(),
                "{path}"
            );
            std::fs::write(copy.path().join(path), path).unwrap();
        }
        std::fs::remove_file(copy.path().join(crate::SPEC_PATH)).unwrap();
        assert!(same_as_workspace(root.path(), copy.path()).is_err());
    }
}
