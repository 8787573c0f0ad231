//! Conformance of `spec/CommunicationIdentity.json` with the published Swagger 2.0 document it was
//! imported from (the one of its `info.version`) and the `common.json` that document refers to,
//! if any (read in place from `../shared/upstream/spec/`).
//!
//! Both documents are reduced, independently of the converter in `xtask/src/import_spec.rs`, to
//! the facts that matter on the wire: paths, methods, operationIds, parameters, request bodies,
//! response statuses and schemas, and every schema's type, format, bounds, default, enum,
//! required list, properties and items. The published side is reduced with exactly the
//! adaptations in [`ALLOWED_ADAPTATIONS`] applied; the two reductions must be equal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use xtask::{Channel, DOCUMENTS, Document, workspace_root};

mod common;

/// The adaptations `spec/README.md` documents; nothing else may differ.
const ALLOWED_ADAPTATIONS: &[&str] = &[
    "external-error-model",
    "default-response",
    "open-enum",
    "no-prose",
    "ref-siblings",
    "extensions-dropped",
];

/// Schema keywords compared (descriptions and extensions are not: `no-prose`,
/// `extensions-dropped`).
const SCHEMA_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "default",
    "enum",
    "readOnly",
    "nullable",
];

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The checked-in stable document.
fn ours() -> Value {
    ours_of(&DOCUMENTS[0])
}

/// A checked-in document.
fn ours_of(document: &Document) -> Value {
    serde_json::from_str(&common::spec_text_of(document)).unwrap()
}

/// `../shared/upstream/spec`, or `None` (with a message) when it is not there.
fn upstream_dir() -> Option<PathBuf> {
    let main = common::upstream_source()?;
    main.parent()?.parent().map(Path::to_path_buf)
}

/// The published document a checked-in one was imported from, relative to [`upstream_dir`].
fn source_file(document: &Document) -> String {
    format!(
        "{}/CommunicationIdentity.json",
        common::spec_version_of(document)
    )
}

/// The published files whose schemas `spec/` holds: the source document, and each `common.json`
/// it refers to (`.../Common/stable/<version>/common.json#...`, laid out in
/// `../shared/upstream/spec/` as `common/<version>/common.json`), relative to [`upstream_dir`].
fn published_files(dir: &Path, document: &Document) -> Vec<String> {
    let source = source_file(document);
    let text = std::fs::read_to_string(dir.join(&source)).unwrap();
    let mut files = vec![source];
    for piece in text.split("Common/stable/").skip(1) {
        if let Some(version) = piece.split("/common.json").next() {
            let file = format!("common/{version}/common.json");
            if !files.contains(&file) {
                files.push(file);
            }
        }
    }
    files
}

fn ref_name(reference: &str) -> String {
    reference
        .rsplit('/')
        .next()
        .unwrap_or(reference)
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Reduction of the published Swagger 2.0 document.

struct Published {
    main: Value,
    /// The `common.json` the main document refers to, with the reference's file part.
    common: Option<(String, Value)>,
}

impl Published {
    fn definition(&self, file: &str, name: &str) -> &Value {
        let doc = if file.is_empty() {
            &self.main
        } else {
            match &self.common {
                Some((common_file, doc)) if file.ends_with(common_file.as_str()) => doc,
                _ => panic!("unexpected external file {file}"),
            }
        };
        doc["definitions"]
            .get(name)
            .unwrap_or_else(|| panic!("{name} not defined in {file:?}"))
    }

    fn reduce(&self) -> Value {
        let mut refs = BTreeMap::new();
        let mut operations = Map::new();
        let params = &self.main["parameters"];
        for (path, item) in self.main["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let mut parameters = BTreeMap::new();
                let mut body = Value::Null;
                for p in op["parameters"].as_array().unwrap() {
                    let p = match p.get("$ref").and_then(Value::as_str) {
                        Some(r) => &params[ref_name(r)],
                        None => p,
                    };
                    let name = p["name"].as_str().unwrap();
                    let location = p["in"].as_str().unwrap();
                    if location == "body" {
                        body = json!({
                            "required": p.get("required").cloned().unwrap_or(json!(false)),
                            "schema": reduce_published_schema(&p["schema"], false, &mut refs),
                        });
                        continue;
                    }
                    let mut schema = Map::new();
                    for key in SCHEMA_KEYWORDS {
                        if let Some(v) = p.get(*key) {
                            schema.insert(key.to_string(), v.clone());
                        }
                    }
                    parameters.insert(
                        format!("{location} {name}"),
                        json!({
                            "required": p.get("required").cloned().unwrap_or(json!(false)),
                            "schema": schema,
                        }),
                    );
                }
                let mut responses = Map::new();
                for (status, response) in op["responses"].as_object().unwrap() {
                    let schema = response
                        .get("schema")
                        .map(|s| reduce_published_schema(s, false, &mut refs))
                        .unwrap_or(Value::Null);
                    if status == "default" {
                        // `default-response`
                        responses.insert("4XX".into(), schema.clone());
                        responses.insert("5XX".into(), schema);
                    } else {
                        responses.insert(status.clone(), schema);
                    }
                }
                operations.insert(
                    format!("{method} {path}"),
                    json!({
                        "operationId": op["operationId"],
                        "parameters": parameters,
                        "body": body,
                        "responses": responses,
                    }),
                );
            }
        }
        // Every definition of the main document, plus the closure of what is referenced in
        // common.json.
        let mut schemas = Map::new();
        for name in self.main["definitions"].as_object().unwrap().keys() {
            refs.entry(name.clone()).or_insert(false);
        }
        let mut done = BTreeSet::new();
        while let Some((name, in_common)) = refs
            .iter()
            .find(|(n, _)| !done.contains(*n))
            .map(|(n, c)| (n.clone(), *c))
        {
            done.insert(name.clone());
            let file = match &self.common {
                Some((common_file, _)) if in_common => common_file.as_str(),
                _ => "",
            };
            let def = self.definition(file, &name).clone();
            let reduced = reduce_published_schema(&def, in_common, &mut refs);
            schemas.insert(name, reduced);
        }
        json!({ "operations": operations, "schemas": schemas })
    }
}

// ---------------------------------------------------------------------------------------------
// Reduction of our OpenAPI 3.0 document.

/// Which document a schema being reduced belongs to.
enum Side<'a> {
    /// The published Swagger 2.0 documents: `in_common` tells which file a local
    /// `#/definitions/..` refers to; referenced schema names (and whether they live in
    /// common.json) are collected into `refs`.
    Published {
        in_common: bool,
        refs: &'a mut BTreeMap<String, bool>,
    },
    /// Our OpenAPI 3.0 document.
    Ours,
}

/// Reduces a schema of either document to the compared facts.
fn reduce_schema(s: &Value, side: &mut Side<'_>) -> Value {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        match side {
            Side::Published { in_common, refs } => {
                // `ref-siblings`: only the reference counts.
                let (file, pointer) = r.split_once('#').unwrap();
                // `external-error-model`: a reference into common.json names a schema copied in.
                refs.insert(ref_name(pointer), *in_common || !file.is_empty());
                return json!({ "$ref": ref_name(pointer) });
            }
            Side::Ours => {
                assert!(
                    r.starts_with("#/components/schemas/"),
                    "reference {r} is not a component"
                );
                assert_eq!(
                    s.as_object().unwrap().len(),
                    1,
                    "a $ref must stand alone in OpenAPI 3.0: {s}"
                );
                return json!({ "$ref": ref_name(r) });
            }
        }
    }
    // `open-enum` applies to the published side only.
    let open_enum =
        matches!(side, Side::Published { .. }) && s["x-ms-enum"]["modelAsString"] == json!(true);
    let mut out = Map::new();
    for key in SCHEMA_KEYWORDS {
        if let Some(v) = s.get(*key) {
            if *key == "enum" && open_enum {
                continue; // `open-enum`
            }
            out.insert(key.to_string(), v.clone());
        }
    }
    if let Some(req) = s.get("required").and_then(Value::as_array) {
        let set: BTreeSet<String> = req
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        out.insert("required".into(), json!(set));
    }
    if let Some(items) = s.get("items") {
        out.insert("items".into(), reduce_schema(items, side));
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        let mut p = Map::new();
        for (name, prop) in props {
            p.insert(name.clone(), reduce_schema(prop, side));
        }
        out.insert("properties".into(), Value::Object(p));
    }
    if let Some(ap) = s.get("additionalProperties") {
        let v = if ap.is_object() {
            reduce_schema(ap, side)
        } else {
            ap.clone()
        };
        out.insert("additionalProperties".into(), v);
    }
    Value::Object(out)
}

fn reduce_published_schema(s: &Value, in_common: bool, refs: &mut BTreeMap<String, bool>) -> Value {
    reduce_schema(s, &mut Side::Published { in_common, refs })
}

fn reduce_schema_of_ours(s: &Value) -> Value {
    reduce_schema(s, &mut Side::Ours)
}

fn json_schema_of(content: &Value) -> Value {
    let content = content.as_object().unwrap();
    assert_eq!(content.len(), 1, "one media type expected: {content:?}");
    let (media, value) = content.iter().next().unwrap();
    assert!(
        media == "application/json" || media == "application/merge-patch+json",
        "{media}"
    );
    reduce_schema_of_ours(&value["schema"])
}

fn reduce_ours(doc: &Value) -> Value {
    let mut operations = Map::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut parameters = BTreeMap::new();
            for p in op["parameters"].as_array().unwrap() {
                assert!(p.get("$ref").is_none(), "parameters are written out");
                parameters.insert(
                    format!("{} {}", p["in"].as_str().unwrap(), p["name"].as_str().unwrap()),
                    json!({ "required": p["required"], "schema": reduce_schema_of_ours(&p["schema"]) }),
                );
            }
            let body = match op.get("requestBody") {
                Some(b) => json!({
                    "required": b.get("required").cloned().unwrap_or(json!(false)),
                    "schema": json_schema_of(&b["content"]),
                }),
                None => Value::Null,
            };
            let mut responses = Map::new();
            for (status, response) in op["responses"].as_object().unwrap() {
                let schema = response
                    .get("content")
                    .map(json_schema_of)
                    .unwrap_or(Value::Null);
                responses.insert(status.clone(), schema);
            }
            operations.insert(
                format!("{method} {path}"),
                json!({
                    "operationId": op["operationId"],
                    "parameters": parameters,
                    "body": body,
                    "responses": responses,
                }),
            );
        }
    }
    let schemas: Map<String, Value> = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), reduce_schema_of_ours(v)))
        .collect();
    json!({ "operations": operations, "schemas": schemas })
}

/// Every `description`/`summary`/`title` string in a document.
fn prose(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if matches!(k.as_str(), "description" | "summary" | "title")
                    && let Some(s) = v.as_str()
                {
                    out.insert(s.to_string());
                }
                prose(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| prose(v, out)),
        _ => {}
    }
}

fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_difference(p, q, &format!("{at}/{k}")) {
                            return Some(d);
                        }
                    }
                    (p, q) => {
                        return Some(format!("{at}/{k}: published {p:?}, spec/ {q:?}"));
                    }
                }
            }
            None
        }
        _ if a == b => None,
        _ => Some(format!("{at}: published {a}, spec/ {b}")),
    }
}

#[test]
fn spec_matches_the_published_document_up_to_documented_adaptations() {
    let Some(dir) = upstream_dir() else {
        return;
    };
    for document in &DOCUMENTS {
        matches_the_published_document(&dir, document);
    }
}

fn matches_the_published_document(dir: &Path, document: &Document) {
    let files = published_files(dir, document);
    let common = files.get(1).map(|file| {
        // `common/<version>/common.json` is referred to as `.../Common/stable/<version>/common.json`.
        let version = file.split('/').nth(1).unwrap();
        (
            format!("Common/stable/{version}/common.json"),
            read_json(&dir.join(file)),
        )
    });
    assert!(files.len() <= 2, "more than one common.json: {files:?}");
    let published = Published {
        main: read_json(&dir.join(&files[0])),
        common,
    };
    let expected = published.reduce();
    let actual = reduce_ours(&ours_of(document));
    if let Some(diff) = first_difference(&expected, &actual, "") {
        panic!(
            "{} differs from the published document beyond the adaptations: {diff}",
            document.spec_path
        );
    }
    // The reduction really covers the API: every operation the facade calls, the error model.
    let operations = expected["operations"].as_object().unwrap();
    for row in xtask::operations::OPERATIONS
        .iter()
        .filter(|r| r.used_by_facade.contains(&document.channel))
    {
        assert!(
            operations.contains_key(&format!("{} {}", row.method, row.path)),
            "{row:?} not in {:?}",
            operations.keys()
        );
    }
    let schemas = expected["schemas"].as_object().unwrap();
    assert!(schemas.contains_key("CommunicationErrorResponse"));
    assert!(schemas.contains_key("CommunicationError"));
    assert!(
        !schemas.contains_key("CommunicationIdentifierModel"),
        "only what is referenced is copied"
    );
}

#[test]
fn open_enum_lists_every_published_value() {
    let Some(dir) = upstream_dir() else {
        return;
    };
    for document in &DOCUMENTS {
        let main = read_json(&dir.join(source_file(document)));
        let values = main["definitions"]["CommunicationIdentityTokenScope"]["enum"]
            .as_array()
            .unwrap();
        assert_eq!(values.len(), 5);
        let doc = ours_of(document);
        let scope = &doc["components"]["schemas"]["CommunicationIdentityTokenScope"];
        assert!(scope.get("enum").is_none(), "the scope must be an open set");
        let text = scope["description"].as_str().unwrap();
        for v in values {
            let v = v.as_str().unwrap();
            assert!(
                text.contains(&format!("`{v}`")),
                "{v} not listed in: {text}"
            );
        }
    }
}

#[test]
fn no_prose_is_carried_over_from_the_published_documents() {
    let Some(dir) = upstream_dir() else {
        return;
    };
    let mut published = BTreeSet::new();
    let mut mine = BTreeSet::new();
    for document in &DOCUMENTS {
        for file in published_files(&dir, document) {
            prose(&read_json(&dir.join(file)), &mut published);
        }
        prose(&ours_of(document), &mut mine);
    }
    // Only the API's name, the empty description OpenAPI requires of a response, and the
    // generated list of an open enum's values.
    let other: Vec<&String> = mine
        .iter()
        .filter(|text| {
            !(text.is_empty()
                || *text == "Azure Communication Services Identity"
                || text.starts_with("Known values: "))
        })
        .collect();
    assert!(other.is_empty(), "prose in spec/: {other:?}");
    assert!(mine.iter().any(|text| text.starts_with("Known values: ")));
    let copied: Vec<&String> = mine.intersection(&published).collect();
    assert!(copied.is_empty(), "published prose copied: {copied:?}");
}

/// Facts checked on a fresh clone too (no ../shared needed).
#[test]
fn spec_literal_facts() {
    let doc = ours();
    assert_eq!(doc["openapi"], "3.0.3");
    // A stable version (the stable-name table and the facade are for those).
    let version = doc["info"]["version"].as_str().unwrap();
    assert!(
        ["2023-10-01", "2025-06-30", "2026-09-23"].contains(&version),
        "{version}"
    );
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["operationId"].is_string(), "{method} {path}");
            ops.insert(format!("{method} {path}"));
            // api-version: a required query string parameter everywhere.
            let api = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "api-version")
                .unwrap();
            assert_eq!(api["in"], "query");
            assert_eq!(api["required"], true);
            // Errors: 4XX and 5XX with the error model, never `default`.
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.contains_key("default"));
            for range in ["4XX", "5XX"] {
                assert_eq!(
                    responses[range]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/CommunicationErrorResponse"
                );
            }
        }
    }
    // Every operation the facade calls is there (its name in the generated client comes from
    // xtask/src/operations.rs, whatever the document calls it).
    for row in xtask::operations::OPERATIONS
        .iter()
        .filter(|r| r.used_by_facade.contains(&Channel::Stable))
    {
        assert!(
            ops.contains(&format!("{} {}", row.method, row.path)),
            "{row:?}"
        );
    }

    let schemas = &doc["components"]["schemas"];
    // A `required` list as a set (its order differs between the published versions).
    let required = |name: &str| -> BTreeSet<String> {
        schemas[name]["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let names =
        |list: &[&str]| -> BTreeSet<String> { list.iter().map(|s| s.to_string()).collect() };
    for name in [
        "CommunicationIdentityAccessTokenRequest",
        "CommunicationIdentityCreateRequest",
    ] {
        let e = &schemas[name]["properties"]["expiresInMinutes"];
        assert_eq!(e["type"], "integer", "{name}");
        assert_eq!(e["format"], "int32", "{name}");
        assert_eq!(e["minimum"], 60, "{name}");
        assert_eq!(e["maximum"], 1440, "{name}");
        assert_eq!(e["default"], 1440, "{name}");
    }
    assert_eq!(
        required("CommunicationIdentityAccessTokenRequest"),
        names(&["scopes"])
    );
    assert!(
        schemas["CommunicationIdentityCreateRequest"]
            .get("required")
            .is_none()
    );
    assert_eq!(
        required("TeamsUserExchangeTokenRequest"),
        names(&["appId", "token", "userId"])
    );
    assert_eq!(
        required("CommunicationIdentityAccessToken"),
        names(&["expiresOn", "token"])
    );
    assert_eq!(
        schemas["CommunicationIdentityAccessToken"]["properties"]["expiresOn"]["format"],
        "date-time"
    );
    assert_eq!(
        required("CommunicationIdentityAccessTokenResult"),
        names(&["identity"])
    );
    assert_eq!(required("CommunicationError"), names(&["code", "message"]));
    assert_eq!(
        schemas["CommunicationError"]["properties"]["innererror"]["$ref"],
        "#/components/schemas/CommunicationError"
    );
    assert_eq!(
        schemas["CommunicationError"]["properties"]["details"]["items"]["$ref"],
        "#/components/schemas/CommunicationError"
    );
    assert_eq!(
        doc["paths"]["/identities"]["post"]["requestBody"]["required"],
        false
    );
}

/// The adaptation list of this test, of `import-spec` and of `spec/README.md` agree.
#[test]
fn allowed_adaptations_are_the_documented_ones() {
    let readme = std::fs::read_to_string(workspace_root().join("spec/README.md")).unwrap();
    let section = readme
        .split("## Adaptations")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let documented: BTreeSet<&str> = section
        .split("- **`")
        .skip(1)
        .map(|rest| rest.split('`').next().unwrap())
        .collect();
    let allowed: BTreeSet<&str> = ALLOWED_ADAPTATIONS.iter().copied().collect();
    assert_eq!(documented, allowed);
    let converter: BTreeSet<&str> = xtask::import_spec::ADAPTATIONS.iter().copied().collect();
    assert_eq!(converter, allowed);
}

/// `/components/schemas/<name>/properties` of our stable document -> property names in text
/// order.
fn our_property_orders() -> BTreeMap<String, Vec<String>> {
    our_property_orders_of(&DOCUMENTS[0])
}

/// The same for a checked-in document.
fn our_property_orders_of(document: &Document) -> BTreeMap<String, Vec<String>> {
    xtask::order::property_orders(&common::spec_text_of(document), "spec").unwrap()
}

#[test]
fn properties_keep_the_published_order() {
    // The official SDKs serialize request bodies in this order; the generated structs follow it.
    let Some(dir) = upstream_dir() else {
        return;
    };
    for document in &DOCUMENTS {
        keeps_the_published_order(&dir, document);
    }
}

fn keeps_the_published_order(dir: &Path, document: &Document) {
    let ours = our_property_orders_of(document);
    let mut checked = BTreeSet::new();
    for file in published_files(dir, document) {
        let file = file.as_str();
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let published = xtask::order::property_orders(&text, file).unwrap();
        for (pointer, order) in &published {
            let Some(rest) = pointer.strip_prefix("/definitions/") else {
                continue;
            };
            let ours_pointer = format!("/components/schemas/{rest}");
            // common.json defines schemas no operation uses; those are not copied.
            let Some(our_order) = ours.get(&ours_pointer) else {
                assert!(
                    file.starts_with("common/"),
                    "{file}: {pointer} has no counterpart in spec/"
                );
                continue;
            };
            assert_eq!(our_order, order, "{file}: {pointer}");
            checked.insert(ours_pointer);
        }
    }
    let all: BTreeSet<String> = ours.keys().cloned().collect();
    assert_eq!(checked, all, "every properties map of spec/ was compared");
    assert!(checked.len() >= 7, "{checked:?}");
}

#[test]
fn request_body_property_order_literal() {
    let ours = our_property_orders();
    let order = |name: &str| ours[&format!("/components/schemas/{name}/properties")].clone();
    assert_eq!(
        order("CommunicationIdentityCreateRequest"),
        ["createTokenWithScopes", "expiresInMinutes"]
    );
    assert_eq!(
        order("CommunicationIdentityAccessTokenRequest"),
        ["scopes", "expiresInMinutes"]
    );
    assert_eq!(
        order("TeamsUserExchangeTokenRequest"),
        ["token", "appId", "userId"]
    );
    assert_eq!(
        order("CommunicationIdentityAccessToken"),
        ["token", "expiresOn"]
    );
}

/// The preview's generated code takes the error model from the stable module
/// (`codegen::SHARED_ERROR_MODEL`): that is right only while both documents define it alike.
#[test]
fn the_preview_error_model_is_the_stable_one() {
    let stable = ours_of(&DOCUMENTS[0]);
    let preview = ours_of(&DOCUMENTS[1]);
    assert_eq!(DOCUMENTS[1].channel, Channel::Preview);
    for name in xtask::codegen::SHARED_ERROR_MODEL {
        let schema = |doc: &Value| {
            let mut schema = doc["components"]["schemas"][name].clone();
            // Descriptions are prose, not shape.
            strip_descriptions(&mut schema);
            schema
        };
        assert!(stable["components"]["schemas"][name].is_object(), "{name}");
        assert_eq!(schema(&stable), schema(&preview), "{name} differs");
    }
}

fn strip_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("description");
            map.values_mut().for_each(strip_descriptions);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

/// What progenitor is not given (`codegen::NOT_GENERATED`) is nothing the facade calls, and is in
/// the preview document (else the entry is stale).
#[test]
fn operations_left_out_of_generation_are_not_called_by_the_facade() {
    let preview = ours_of(&DOCUMENTS[1]);
    for (method, path, why) in xtask::codegen::NOT_GENERATED {
        assert!(!why.is_empty());
        // Only operations the facade calls have a row.
        assert!(
            !xtask::operations::OPERATIONS
                .iter()
                .any(|r| r.method == *method && r.path == *path),
            "{method} {path} is called by the facade"
        );
        assert!(
            preview["paths"][*path][*method].is_object(),
            "{method} {path} is not in the preview document"
        );
    }
}

/// Facts of the checked-in preview document (no ../shared needed).
#[test]
fn preview_literal_facts() {
    let doc = ours_of(&DOCUMENTS[1]);
    assert!(
        doc["info"]["version"]
            .as_str()
            .unwrap()
            .ends_with("-preview")
    );
    let schemas = &doc["components"]["schemas"];
    let create = &schemas["CommunicationIdentityCreateRequest"]["properties"];
    assert_eq!(create["customId"]["type"], "string");
    assert_eq!(create["customId"]["minLength"], 1);
    let identity = &schemas["CommunicationIdentity"]["properties"];
    assert_eq!(identity["lastTokenIssuedAt"]["format"], "date-time");
    for row in xtask::operations::OPERATIONS
        .iter()
        .filter(|r| r.used_by_facade.contains(&Channel::Preview))
    {
        assert!(doc["paths"][row.path][row.method].is_object(), "{row:?}");
    }
}
