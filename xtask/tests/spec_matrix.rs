//! The spec matrix: a spec update is the two commands (`import-spec`, then `codegen`) and nothing
//! else, proven by running them in a scratch copy of the workspace and building every crate
//! against the result.
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
//! own crates get build names of their own (see [`fresh_copy`]).
//!
//! Each case takes from seconds to a minute or more, so the cases are ignored by a plain `cargo
//! test`; `.ci/run` runs them all, and a maintainer runs them (or some, by name) with
//!
//!     cargo test --workspace --test spec_matrix -- --ignored [<case>...]

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use common::{converted_with, upstream_spec as upstream};
use serde_json::{Value, json};
use xtask::codegen::{self, CheckOutcome};
use xtask::{DOCUMENTS, GENERATED_PATH, PREVIEW_GENERATED_PATH, SPEC_PATH};
use xtask::{import_spec, order, workspace_root};

/// The published documents (folders of `../shared/upstream/spec/`) the facade must build against.
/// 2023-10-01 lacks the Teams Phone extension operations, and fails at generation naming them
/// (a test of `codegen.rs`).
const PUBLISHED: &[&str] = &["2025-06-30", "2026-09-23", "2025-03-02-preview"];

#[test]
#[ignore = "builds the workspace against a document: .ci/run runs it with --ignored"]
fn published_2025_06_30() {
    published("2025-06-30");
}

#[test]
#[ignore = "builds the workspace against a document: .ci/run runs it with --ignored"]
fn published_2026_09_23() {
    published("2026-09-23");
}

#[test]
#[ignore = "builds the workspace against a document: .ci/run runs it with --ignored"]
fn published_2025_03_02_preview() {
    published("2025-03-02-preview");
}

#[test]
#[ignore = "builds the workspace against a document: .ci/run runs it with --ignored"]
fn rename() {
    made_up(rename_every_operation, &[], false);
}

#[test]
#[ignore = "builds the workspace against a document: .ci/run runs it with --ignored"]
fn added_operation() {
    made_up(
        add_list_operation,
        &["pub fn identity_operations_list("],
        false,
    );
}

#[test]
#[ignore = "builds the workspace against a document: .ci/run runs it with --ignored"]
fn request_field() {
    made_up(
        add_optional_request_field,
        &["pub tag: ::std::option::Option<::std::string::String>"],
        false,
    );
}

#[test]
#[ignore = "builds the workspace against a document: .ci/run runs it with --ignored"]
fn response_field() {
    made_up(
        add_optional_response_field,
        &["pub refresh_after: ::std::option::Option<crate::DateTime>"],
        false,
    );
}

#[test]
#[ignore = "builds the workspace against a document: .ci/run runs it with --ignored"]
fn enum_value() {
    // Open enums stay strings: a new value decodes as an unknown value, never an error.
    made_up(
        add_enum_values,
        &["pub struct CommunicationIdentityTokenScope(pub ::std::string::String)"],
        false,
    );
}

#[test]
#[ignore = "builds the workspace against a document: .ci/run runs it with --ignored"]
fn preview_to_ga() {
    made_up(
        promote_from_preview,
        &[
            "pub fn communication_identity_get(",
            "pub custom_id: ::std::option::Option<",
        ],
        false,
    );
}

#[test]
#[ignore = "builds the workspace against a document and runs the facade's tests: .ci/run runs it with --ignored"]
fn all() {
    made_up(
        all_changes,
        &[
            "pub fn next_identity_operations_ops_list(",
            "pub fn communication_identity_get(",
            "pub tag: ::std::option::Option<::std::string::String>",
            "pub fn communication_identity_issue_access_token(",
        ],
        true,
    );
}

/// A change made to a published stable document (the second argument is the preview document).
type Change = fn(&mut Value, &Value);

/// Each change alone (`all` is every one of them).
const CHANGES: &[(&str, Change)] = &[
    ("rename", rename_every_operation),
    ("added_operation", add_list_operation),
    ("request_field", add_optional_request_field),
    ("response_field", add_optional_response_field),
    ("enum_value", add_enum_values),
    ("preview_to_ga", promote_from_preview),
];

/// Every operationId gets another name (the TypeSpec-era updates renamed them all).
fn rename_every_operation(swagger: &mut Value, _: &Value) {
    for (_, _, operation) in xtask::operations::operations_mut(swagger) {
        if let Some(id) = operation["operationId"].as_str() {
            operation["operationId"] = json!(format!("Next{}", id.replace('_', "Ops_")));
        }
    }
}

/// A pageable `GET /identities` that the facade does not call.
fn add_list_operation(swagger: &mut Value, _: &Value) {
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
fn add_optional_request_field(swagger: &mut Value, _: &Value) {
    swagger["definitions"]["CommunicationIdentityAccessTokenRequest"]["properties"]["tag"] =
        json!({ "type": "string" });
}

/// An optional field in the token the service answers with (which the facade reads).
fn add_optional_response_field(swagger: &mut Value, _: &Value) {
    swagger["definitions"]["CommunicationIdentityAccessToken"]["properties"]["refreshAfter"] =
        json!({ "type": "string", "format": "date-time" });
}

/// A new value in each open (`modelAsString`) enum.
fn add_enum_values(swagger: &mut Value, _: &Value) {
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
fn promote_from_preview(swagger: &mut Value, preview: &Value) {
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
fn all_changes(swagger: &mut Value, preview: &Value) {
    for (name, change) in CHANGES {
        if *name != "rename" {
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

/// The cases share one scratch copy (`<target>/spec-matrix`, made afresh for each case, where a
/// failed case is left to look at): one at a time.
static SCRATCH: Mutex<()> = Mutex::new(());

/// The scratch copy's place in the workspace's target directory, held for the case.
fn scratch() -> (std::sync::MutexGuard<'static, ()>, PathBuf, PathBuf) {
    let guard = SCRATCH
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let target = xtask::workspace::target_directory(&workspace_root()).unwrap();
    let scratch = target.join("spec-matrix");
    (guard, target, scratch)
}

/// A published document: the two commands give back the checked-in files byte for byte (the copy
/// is then the workspace itself, which clippy checks), or the workspace builds against it.
fn published(version: &str) {
    let Some(document) = upstream(&format!("{version}/CommunicationIdentity.json")) else {
        return;
    };
    let (_guard, target, scratch) = scratch();
    let root = workspace_root();
    let copy = fresh_copy(&root, &scratch).unwrap();
    update(&copy, &document);
    if same_as_workspace(&root, &copy).unwrap() {
        println!("{version}: the checked-in documents and code, byte for byte (not built again)");
        return;
    }
    build(&copy, &document, &target, false);
}

/// The published source of the checked-in stable document with `change`: the two commands, a
/// build of the workspace against it (and the facade's tests when `test_facade`), and each of
/// `expected` in the generated stable module.
fn made_up(change: Change, expected: &[&str], test_facade: bool) {
    let (Some(source), Some(preview)) = (
        common::upstream_source(),
        upstream("2025-03-02-preview/CommunicationIdentity.json"),
    ) else {
        return;
    };
    let (_guard, target, scratch) = scratch();
    let preview: Value = serde_json::from_str(&std::fs::read_to_string(preview).unwrap()).unwrap();
    let text = std::fs::read_to_string(&source).unwrap();
    let mut document: Value = serde_json::from_str(&text).unwrap();
    change(&mut document, &preview);
    let copy = fresh_copy(&workspace_root(), &scratch).unwrap();
    let version = document["info"]["version"].as_str().unwrap().to_owned();
    let file = copy
        .join("next")
        .join(version)
        .join("CommunicationIdentity.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let orders = order::property_orders(&text, "source").unwrap();
    std::fs::write(&file, order::to_pretty_text(&document, &orders)).unwrap();
    update(&copy, &file);
    build(&copy, &file, &target, test_facade);
    let code = std::fs::read_to_string(copy.join(GENERATED_PATH)).unwrap();
    for text in expected {
        assert!(code.contains(text), "the generated code lacks `{text}`");
    }
}

/// The two commands in `root` (a copy of the workspace), and `codegen --check` clean after them.
fn update(root: &Path, document: &Path) {
    let converted = import_spec::convert_file(document).unwrap();
    std::fs::write(root.join(converted.place().spec_path), converted.to_text()).unwrap();
    codegen::write(root).unwrap();
    if let CheckOutcome::Differs(diff) = codegen::check(root).unwrap() {
        panic!("codegen --check is not clean after codegen:\n{diff}");
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
fn same_as_workspace(root: &Path, copy: &Path) -> std::io::Result<bool> {
    for path in written_files() {
        if std::fs::read(root.join(path))? != std::fs::read(copy.join(path))? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The build of the copy at `root` against `document` (and the facade's tests when
/// `test_facade`).
fn build(root: &Path, document: &Path, target: &Path, test_facade: bool) {
    let label = document.display();
    if let Err(e) = cargo(root, target, &["check", "--workspace", "--all-targets"]) {
        panic!("the workspace does not build against {label}: {e}");
    }
    if test_facade && let Err(e) = cargo(root, target, &["test", "-p", "acs-identity"]) {
        panic!("the facade's tests fail against {label}: {e}");
    }
}

fn cargo(root: &Path, target: &Path, args: &[&str]) -> xtask::Result<String> {
    let mut command = xtask::workspace::cargo();
    command
        .args(args)
        .args(["--quiet", "--offline", "--locked"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS");
    xtask::workspace::run(&mut command)
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
fn fresh_copy(from: &Path, to: &Path) -> std::io::Result<PathBuf> {
    if to.exists() {
        std::fs::remove_dir_all(to)?;
    }
    copy_dir(from, to)?;
    let manifest = to.join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest)?;
    let metadata: Value = serde_json::from_str(&xtask::workspace::metadata(from).unwrap()).unwrap();
    for member in metadata["packages"].as_array().unwrap() {
        let name = member["name"].as_str().unwrap();
        text.push_str(&format!("\n[profile.dev.package.{name}]\ndebug = false\n"));
    }
    std::fs::write(&manifest, text)?;
    for document in DOCUMENTS {
        std::fs::File::options()
            .write(true)
            .open(to.join(document.generated_path))?
            .set_modified(std::time::SystemTime::now())?;
    }
    Ok(to.to_path_buf())
}

/// Copies a directory, each file with its modification time: cargo judges a workspace crate fresh
/// by the times of its files, so the crates a case leaves unchanged are not checked again in the
/// next case.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
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
            std::fs::copy(&path, &dest)?;
            let modified = std::fs::metadata(&path)?.modified()?;
            std::fs::File::options()
                .write(true)
                .open(&dest)?
                .set_modified(modified)?;
        }
    }
    Ok(())
}

// The machinery of the matrix, tested quickly (these run in every `cargo test`).

#[test]
fn the_documents_of_the_matrix_change_nothing_the_facade_calls() {
    let Some(preview) = upstream("2025-03-02-preview/CommunicationIdentity.json") else {
        return;
    };
    let preview: Value = serde_json::from_str(&std::fs::read_to_string(preview).unwrap()).unwrap();
    let stable = workspace_root().join(SPEC_PATH);
    let changes = CHANGES.iter().chain([&("all", all_changes as Change)]);
    for (name, change) in changes {
        let converted = converted_with(|swagger| change(swagger, &preview)).unwrap();
        let result = import_spec::refuse_breaking_changes(&converted, &stable);
        assert!(result.is_ok(), "{name}: {result:?}");
    }
    for version in PUBLISHED {
        let file = upstream(&format!("{version}/CommunicationIdentity.json")).unwrap();
        let converted = import_spec::convert_file(&file).unwrap();
        let place = workspace_root().join(converted.place().spec_path);
        let result = import_spec::refuse_breaking_changes(&converted, &place);
        assert!(result.is_ok(), "{version}: {result:?}");
    }
}

#[test]
fn a_copy_is_the_workspace_only_while_every_document_and_generated_file_is_the_same() {
    let write_documents = |root: &Path| {
        for path in written_files() {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, path).unwrap();
        }
    };
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
    std::fs::remove_file(copy.path().join(SPEC_PATH)).unwrap();
    assert!(same_as_workspace(root.path(), copy.path()).is_err());
}

/// A workspace of one crate, `other` (at `crates/other`), under `root`, with the generated files
/// the matrix stamps, every file dated `old`, and this workspace's cargo configuration (where its
/// profiles are).
fn small_workspace(root: &Path, old: std::time::SystemTime) {
    let config = std::fs::read_to_string(workspace_root().join(".cargo/config.toml")).unwrap();
    assert!(config.contains("[profile.dev]"), "{config}");
    let files = [
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"crates/other\"]\nresolver = \"3\"\n".to_owned(),
        ),
        (".cargo/config.toml", config),
        (
            "crates/other/Cargo.toml",
            "[package]\nname = \"other\"\nversion = \"0.1.0\"\nedition = \"2024\"\n".to_owned(),
        ),
        ("crates/other/src/lib.rs", "pub fn f() {}\n".to_owned()),
        (GENERATED_PATH, GENERATED_PATH.to_owned()),
        (PREVIEW_GENERATED_PATH, PREVIEW_GENERATED_PATH.to_owned()),
    ];
    for (path, text) in files {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        let file = std::fs::File::options().write(true).open(&file).unwrap();
        file.set_modified(old).unwrap();
    }
}

#[test]
fn the_copy_keeps_file_times_but_stamps_the_generated_files_new() {
    let dir = tempfile::tempdir().unwrap();
    let (root, copy) = (dir.path().join("root"), dir.path().join("copy"));
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    small_workspace(&root, old);
    let unchanged = "crates/other/src/lib.rs";
    std::fs::create_dir_all(root.join("target/debug")).unwrap();

    fresh_copy(&root, &copy).unwrap();

    let modified = |path: &str| {
        std::fs::metadata(copy.join(path))
            .unwrap()
            .modified()
            .unwrap()
    };
    // A crate no case changes stays fresh for cargo from one case to the next.
    assert_eq!(modified(unchanged), old);
    assert_eq!(
        std::fs::read_to_string(copy.join(unchanged)).unwrap(),
        "pub fn f() {}\n"
    );
    // codegen leaves a file alone when its content would not change, so the copy's generated
    // files must be newer than any earlier case's build of them.
    for path in [GENERATED_PATH, PREVIEW_GENERATED_PATH] {
        assert!(
            modified(path) > old + std::time::Duration::from_secs(1),
            "{path}"
        );
    }
    assert!(!copy.join("target").exists());
}

#[test]
fn the_copy_builds_apart_from_the_workspace_in_its_target_directory() {
    // Builds of the copy's crates carried the same names as the workspace's; in one target
    // directory they replaced the workspace's builds (and `cargo test` ran stale binaries). The
    // copy shares the workspace's target directory (its dependencies are built there already),
    // so its crates must get builds of their own: a small workspace with this one's profiles and
    // its copy, checked into one target directory, must leave two builds of the crate.
    let dir = tempfile::tempdir().unwrap();
    let (root, copy, target) = (
        dir.path().join("root"),
        dir.path().join("copy"),
        dir.path().join("target"),
    );
    small_workspace(&root, std::time::SystemTime::now());
    fresh_copy(&root, &copy).unwrap();
    for workspace in [&root, &copy] {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["check", "--quiet", "--offline"])
            .current_dir(workspace)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .status()
            .unwrap();
        assert!(status.success(), "cargo check in {}", workspace.display());
    }
    let builds: Vec<_> = std::fs::read_dir(target.join("debug/.fingerprint"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("other-"))
        .collect();
    assert_eq!(builds.len(), 2, "{builds:?}");
}
