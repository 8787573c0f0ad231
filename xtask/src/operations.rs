//! Stable names for the operations the `acs-identity` facade calls.
//!
//! The published documents name the same operation differently from one version to the next
//! (`CommunicationIdentity_IssueAccessToken` in 2023-10-01, `IdentityOperations_IssueAccessToken`
//! in the TypeSpec-emitted 2025-06-30 and 2026-09-23). progenitor names the generated method after
//! the `operationId`, so a spec update would rename the methods the facade calls. Before
//! generation, `cargo xtask codegen` therefore gives each operation of this table the operationId
//! the table assigns to its method and path, which do not change between versions.
//!
//! Every other operation keeps the document's own operationId (progenitor's method is its snake
//! case): a new operation nobody calls yet needs no row. A document that lacks an operation the
//! facade calls is an error naming it (the facade could not be built against that document).

use std::fmt;

use serde_json::Value;

use crate::order::escape;
use crate::{Channel, Result};

/// One row of [`OPERATIONS`].
#[derive(Debug, Clone, Copy)]
pub struct StableOperation {
    /// The HTTP method, lower case as in an OpenAPI path item.
    pub method: &'static str,
    /// The path as the documents write it.
    pub path: &'static str,
    /// The operationId progenitor is given; the generated method is its snake case
    /// (`CommunicationIdentity_Create` -> `communication_identity_create`).
    pub operation_id: &'static str,
    /// The modules through which the `acs-identity` facade calls it: the generated code of the
    /// stable document (the crate root), of the preview (`acs_identity_rest::preview`), or both.
    /// A document of such a channel that lacks it cannot be used; in a document of another
    /// channel the operation still gets this name.
    pub used_by_facade: &'static [Channel],
}

impl fmt::Display for StableOperation {
    /// How errors name it: `` `CommunicationIdentity_Create` (POST /identities) ``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = self.method.to_uppercase();
        write!(f, "`{}` ({method} {})", self.operation_id, self.path)
    }
}

/// Called through the stable module.
const STABLE: &[Channel] = &[Channel::Stable];
/// Called through the preview module.
const PREVIEW: &[Channel] = &[Channel::Preview];
/// Called through both (create: without and with a custom id).
const BOTH: &[Channel] = &[Channel::Stable, Channel::Preview];

const fn op(
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    used_by_facade: &'static [Channel],
) -> StableOperation {
    StableOperation {
        method,
        path,
        operation_id,
        used_by_facade,
    }
}

const TEAMS_EXTENSION_ASSIGNMENT: &str =
    "/access/teamsExtension/tenants/{tenantId}/assignments/{objectId}";

/// Every operation the facade calls, in the published versions 2021-03-07 to 2026-09-23 and
/// 2025-03-02-preview. The identity operations keep the names of 2023-10-01, the version the
/// client was first generated from. Only these names are chosen by hand.
pub const OPERATIONS: &[StableOperation] = &[
    op("post", "/identities", "CommunicationIdentity_Create", BOTH),
    op(
        "delete",
        "/identities/{id}",
        "CommunicationIdentity_Delete",
        STABLE,
    ),
    op(
        "get",
        "/identities/{id}",
        "CommunicationIdentity_Get",
        PREVIEW,
    ),
    op(
        "post",
        "/identities/{id}/:revokeAccessTokens",
        "CommunicationIdentity_RevokeAccessTokens",
        STABLE,
    ),
    op(
        "post",
        "/identities/{id}/:issueAccessToken",
        "CommunicationIdentity_IssueAccessToken",
        STABLE,
    ),
    op(
        "post",
        "/teamsUser/:exchangeAccessToken",
        "CommunicationIdentity_ExchangeTeamsUserAccessToken",
        STABLE,
    ),
    op(
        "put",
        TEAMS_EXTENSION_ASSIGNMENT,
        "TeamsExtension_CreateOrReplaceAssignment",
        STABLE,
    ),
    op(
        "get",
        TEAMS_EXTENSION_ASSIGNMENT,
        "TeamsExtension_GetAssignment",
        STABLE,
    ),
    op(
        "delete",
        TEAMS_EXTENSION_ASSIGNMENT,
        "TeamsExtension_DeleteAssignment",
        STABLE,
    ),
    op(
        "post",
        "/access/teamsExtension/:exchangeAccessToken",
        "TeamsExtension_ExchangeAccessToken",
        STABLE,
    ),
    op(
        "post",
        "/access/entra/:exchangeAccessToken",
        "Entra_ExchangeAccessToken",
        PREVIEW,
    ),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Whether a key of an OpenAPI path item is an HTTP method (an operation).
pub fn is_method(key: &str) -> bool {
    METHODS.contains(&key)
}

/// Every operation of `document` (OpenAPI 3.0, or Swagger 2.0): its path, method and value.
pub fn operations(document: &Value) -> impl Iterator<Item = (&String, &String, &Value)> {
    document["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .filter(|(method, _)| is_method(method))
                .map(move |(method, operation)| (path, method, operation))
        })
}

/// [`operations`], to change them.
pub fn operations_mut(
    document: &mut Value,
) -> impl Iterator<Item = (&String, &String, &mut Value)> {
    document
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            item.as_object_mut()
                .into_iter()
                .flatten()
                .filter(|(method, _)| is_method(method))
                .map(move |(method, operation)| (path, method, operation))
        })
}

/// Gives every operation of `document` (an OpenAPI 3.0 document of an api-version of `channel`)
/// that the table knows its stable operationId; the others keep theirs. Fails, naming the
/// operation, when the document lacks one the facade calls through the module of `channel`.
pub fn apply_stable_names(document: &mut Value, spec_label: &str, channel: Channel) -> Result<()> {
    if !document["paths"].is_object() {
        return Err(error!("{spec_label} has no `paths`"));
    }
    let mut found = vec![false; OPERATIONS.len()];
    for (path, method, operation) in operations_mut(document) {
        let row = OPERATIONS
            .iter()
            .position(|row| row.method == method && row.path == path);
        if let Some(index) = row
            && operation.is_object()
        {
            operation["operationId"] = Value::from(OPERATIONS[index].operation_id);
            found[index] = true;
        }
    }
    let missing: Vec<String> = OPERATIONS
        .iter()
        .zip(&found)
        .filter(|(row, found)| row.used_by_facade.contains(&channel) && !**found)
        .map(|(row, _)| row.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(error!(
            "{spec_label} lacks operation(s) the acs-identity facade calls: {}; the client cannot \
             be generated from it",
            missing.join(", ")
        ));
    }
    Ok(())
}

/// The incompatible changes between `old` and `new` (two OpenAPI 3.0 documents of `channel`, as
/// `import-spec` writes them) to the operations the facade calls through the module of `channel`:
/// an operation removed, a parameter removed, added as required or of another type, a property of
/// a request or success response body removed or of another type, a request property that became
/// required, a response property that is no longer required. Each names the operation (by its
/// stable name, method and path) and what changed. Additions that are optional are not listed.
pub fn breaking_changes(old: &Value, new: &Value, channel: Channel) -> Vec<String> {
    let mut out = Vec::new();
    for row in OPERATIONS
        .iter()
        .filter(|r| r.used_by_facade.contains(&channel))
    {
        let at = |doc: &Value| {
            doc.pointer(&format!("/paths/{}/{}", escape(row.path), row.method))
                .cloned()
        };
        let Some(before) = at(old) else { continue };
        let Some(after) = at(new) else {
            out.push(format!("{row}: removed"));
            continue;
        };
        let mut changes = Vec::new();
        let parameters = |op: &Value| -> Vec<(String, bool, Value)> {
            op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    (
                        format!(
                            "{} parameter `{}`",
                            p["in"].as_str().unwrap_or(""),
                            p["name"].as_str().unwrap_or("")
                        ),
                        p["required"] == true,
                        p["schema"]["type"].clone(),
                    )
                })
                .collect()
        };
        let (was, is) = (parameters(&before), parameters(&after));
        for (what, _, kind) in &was {
            match is.iter().find(|(w, ..)| w == what) {
                None => changes.push(format!("{what} removed")),
                Some((_, _, new_kind)) if new_kind != kind => {
                    changes.push(format!("{what}: type {kind} -> {new_kind}"))
                }
                Some(_) => {}
            }
        }
        for (what, required, _) in &is {
            if *required && !was.iter().any(|(w, ..)| w == what) {
                changes.push(format!("new required {what}"));
            }
        }
        // A request body (the client sends it) or a success response (the client reads it).
        let mut compare = |request: bool, pointer: &str, at: &str| {
            if let Some(schema) = before.pointer(pointer) {
                let mut diff = SchemaDiff {
                    old,
                    new,
                    request,
                    changes: &mut changes,
                    depth: 0,
                };
                diff.compare(schema, after.pointer(pointer).unwrap_or(&Value::Null), at);
            }
        };
        compare(
            true,
            "/requestBody/content/application~1json/schema",
            "request body",
        );
        let statuses = before["responses"]
            .as_object()
            .into_iter()
            .flat_map(|r| r.keys());
        for status in statuses.filter(|status| status.starts_with('2')) {
            let pointer = format!("/responses/{status}/content/application~1json/schema");
            compare(false, &pointer, &format!("{status} response"));
        }
        out.extend(changes.into_iter().map(|change| format!("{row}: {change}")));
    }
    out
}

/// Compares a schema of an old document with the one of a new document at the same place.
struct SchemaDiff<'a> {
    old: &'a Value,
    new: &'a Value,
    /// A request body (the client sends it) or a response (the client reads it).
    request: bool,
    changes: &'a mut Vec<String>,
    depth: usize,
}

impl SchemaDiff<'_> {
    fn compare(&mut self, old: &Value, new: &Value, at: &str) {
        let (old, new) = (resolve(self.old, old), resolve(self.new, new));
        if new.is_null() {
            self.changes.push(format!("{at} removed"));
            return;
        }
        if old["type"] != new["type"] || old["format"] != new["format"] {
            let kind = |s: &Value| {
                format!(
                    "{}{}",
                    s["type"].as_str().unwrap_or("any"),
                    s["format"]
                        .as_str()
                        .map(|f| format!(" ({f})"))
                        .unwrap_or_default()
                )
            };
            self.changes
                .push(format!("{at}: type {} -> {}", kind(old), kind(new)));
            return;
        }
        // Deep enough for every model of this API; stops the recursive error model.
        if self.depth > 3 {
            return;
        }
        self.depth += 1;
        let required = |s: &Value, p: &str| {
            s["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|n| n == p))
        };
        for (property, schema) in old["properties"].as_object().into_iter().flatten() {
            let here = format!("{at} property `{property}`");
            self.compare(schema, &new["properties"][property], &here);
            let (was, is) = (required(old, property), required(new, property));
            if self.request && is && !was {
                self.changes.push(format!("{here} became required"));
            } else if !self.request && was && !is && !new["properties"][property].is_null() {
                self.changes.push(format!("{here} is no longer required"));
            }
        }
        if self.request {
            for property in new["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if old["properties"][property].is_null() {
                    self.changes
                        .push(format!("{at}: new required property `{property}`"));
                }
            }
        }
        if old.get("items").is_some() {
            self.compare(&old["items"], &new["items"], &format!("{at} items"));
        }
        self.depth -= 1;
    }
}

/// The schema `schema` refers to in `document` (`#/components/schemas/..`), or itself.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => document.pointer(pointer).unwrap_or(&Value::Null),
        None => schema,
    }
}

/// Makes every `api-version` query parameter a plain string (`import-spec` writes each parameter
/// out in its operation: there are no shared or path-level ones). The TypeSpec-emitted documents
/// give it `minLength: 1`, from which typify makes a constrained newtype per operation
/// (`IdentityOperationsCreateApiVersion`); the client takes any version string the caller
/// chooses, as it is.
pub fn open_api_version(document: &mut Value) {
    for (_, _, operation) in operations_mut(document) {
        let parameters = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut);
        for parameter in parameters.into_iter().flatten() {
            // Only an object has an `in`: the index assigns, never panics.
            if parameter["in"] == "query" && parameter["name"] == "api-version" {
                parameter["schema"] = serde_json::json!({ "type": "string" });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document(paths: Value) -> Value {
        json!({ "openapi": "3.0.3", "paths": paths })
    }

    fn all_facade_operations() -> Value {
        let mut paths = serde_json::Map::new();
        for row in OPERATIONS
            .iter()
            .filter(|row| row.used_by_facade.contains(&Channel::Stable))
        {
            let item = paths.entry(row.path).or_insert_with(|| json!({}));
            item[row.method] = json!({ "operationId": format!("Renamed_{}", row.operation_id) });
        }
        Value::Object(paths)
    }

    #[test]
    fn every_operation_gets_its_stable_name() {
        let mut doc = document(all_facade_operations());
        apply_stable_names(&mut doc, "doc", Channel::Stable).unwrap();
        assert_eq!(
            doc.pointer("/paths/~1identities~1{id}~1:issueAccessToken/post/operationId"),
            Some(&json!("CommunicationIdentity_IssueAccessToken"))
        );
        assert_eq!(
            doc.pointer("/paths/~1identities/post/operationId"),
            Some(&json!("CommunicationIdentity_Create"))
        );
    }

    #[test]
    fn a_missing_facade_operation_is_named() {
        let mut paths = all_facade_operations();
        paths["/identities/{id}/:issueAccessToken"]
            .as_object_mut()
            .unwrap()
            .remove("post");
        let err =
            apply_stable_names(&mut document(paths), "old.json", Channel::Stable).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("old.json lacks"), "{text}");
        assert!(
            text.contains(
                "`CommunicationIdentity_IssueAccessToken` (POST /identities/{id}/:issueAccessToken)"
            ),
            "{text}"
        );
    }

    #[test]
    fn an_operation_the_table_does_not_know_keeps_its_published_name() {
        let mut paths = all_facade_operations();
        paths["/identities/{id}/:frobnicate"] = json!({ "post": { "operationId": "Frob_Do" } });
        let mut doc = document(paths);
        apply_stable_names(&mut doc, "new.json", Channel::Stable).unwrap();
        assert_eq!(
            doc.pointer("/paths/~1identities~1{id}~1:frobnicate/post/operationId"),
            Some(&json!("Frob_Do"))
        );
    }

    #[test]
    fn table_has_no_duplicate_names_or_routes() {
        for (i, a) in OPERATIONS.iter().enumerate() {
            for b in &OPERATIONS[i + 1..] {
                assert_ne!(a.operation_id, b.operation_id);
                assert!(a.method != b.method || a.path != b.path, "{a:?}");
            }
        }
    }

    #[test]
    fn api_version_becomes_a_plain_string_in_every_operation() {
        let constrained = json!({ "in": "query", "name": "api-version", "required": true,
                                  "schema": { "type": "string", "minLength": 1 } });
        let other = json!({ "in": "query", "name": "top", "schema": { "type": "integer" } });
        let mut doc = json!({ "paths": {
            "/a": { "get": { "parameters": [constrained.clone(), other.clone()] } },
            "/b": { "post": { "parameters": [constrained] }, "delete": { "parameters": 1 } },
        }});
        open_api_version(&mut doc);
        let plain = json!({ "type": "string" });
        assert_eq!(doc["paths"]["/a"]["get"]["parameters"][0]["schema"], plain);
        assert_eq!(doc["paths"]["/a"]["get"]["parameters"][1], other);
        assert_eq!(doc["paths"]["/b"]["post"]["parameters"][0]["schema"], plain);
        assert_eq!(doc["paths"]["/b"]["delete"]["parameters"], 1);
    }
}
