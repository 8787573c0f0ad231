//! `cargo xtask import-spec <swagger-2.0 file>`: converts a published Swagger 2.0 document of the
//! Communication Identity API into the OpenAPI 3.0.3 document the client is generated from.
//!
//! The conversion is mechanical, plus the adaptations listed in `spec/README.md` (each has an id
//! that the conformance test knows, see [`ADAPTATIONS`]):
//!
//! - `external-error-model`: `$ref`s into another file (the 2023-10-01 error model lives in
//!   `Common/.../common.json`) are resolved and the referenced schemas copied into
//!   `components/schemas` under their own names.
//! - `default-response`: a `default` response becomes `4XX` and `5XX` (progenitor 0.15 cannot
//!   take `default`).
//! - `open-enum`: an enum marked `x-ms-enum.modelAsString: true` (the token scope) becomes a plain
//!   string whose description lists the known values, so a new value from the service decodes.
//! - `no-prose`: no summary or description is carried over (prose from other repositories is not
//!   copied into the project); a response gets the empty description OpenAPI requires, an open
//!   enum a generated list of its known values.
//! - `ref-siblings`: keywords next to a `$ref` are dropped (OpenAPI 3.0 ignores them).
//! - `extensions-dropped`: `x-ms-*` extensions, examples and `security` are not carried over; the
//!   parameterized host becomes the server variable `{endpoint}`.
//!
//! Output is deterministic: object keys are sorted, except the properties of a schema, which keep
//! the published order (the order the official SDKs send them in, see [`crate::order`]); the text
//! ends with a newline.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::Result;
use crate::order::{self, PropertyOrders, escape};

/// The document's `info.title` (progenitor puts it in the `Client` docs): the API's name.
const TITLE: &str = "Azure Communication Services Identity";

/// The OpenAPI version written.
pub const OPENAPI_VERSION: &str = "3.0.3";

/// Ids of the adaptations `import-spec` makes; `spec/README.md` explains each one.
pub const ADAPTATIONS: &[&str] = &[
    "external-error-model",
    "default-response",
    "open-enum",
    "no-prose",
    "ref-siblings",
    "extensions-dropped",
];

/// The result of a conversion.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The OpenAPI 3.0 document.
    pub document: Value,
    /// The published order of each schema's properties, by JSON pointer into `document`
    /// (`/components/schemas/<name>/properties`); `document` itself sorts keys.
    pub property_orders: PropertyOrders,
}

impl Converted {
    /// The document as the text written to `spec/`: pretty JSON, sorted keys except properties
    /// (published order), final newline.
    pub fn to_text(&self) -> String {
        order::to_pretty_text(&self.document, &self.property_orders)
    }

    /// The checked-in document this one replaces: the stable one for a stable api-version, the
    /// preview for a preview.
    pub fn place(&self) -> crate::Document {
        crate::Document::of(crate::Channel::of_document(&self.document))
    }
}

/// Fails, naming each operation the facade calls and what changed, when `converted` would
/// replace the document at `out` (if there is one) with one that breaks those operations
/// ([`crate::operations::breaking_changes`]): a spec update that needs the facade changed stops
/// here, before anything is written or generated.
pub fn refuse_breaking_changes(converted: &Converted, out: &Path) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(out) else {
        return Ok(()); // nothing to replace
    };
    let old: Value = crate::parse_json(&text, out.display())?;
    let channel = converted.place().channel;
    let changes = crate::operations::breaking_changes(&old, &converted.document, channel);
    if changes.is_empty() {
        return Ok(());
    }
    Err(error!(
        "{} would change operation(s) the acs-identity facade calls incompatibly:\n  {}\n\
         (change the facade along with it, and pass --allow-breaking)",
        out.display(),
        changes.join("\n  ")
    ))
}

/// Reads and converts the Swagger 2.0 file at `path`; external references are resolved relative
/// to its directory (see [`convert`]).
pub fn convert_file(path: &Path) -> Result<Converted> {
    let text = crate::read_to_string(path)?;
    let swagger: Value = crate::parse_json(&text, path.display())?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let orders = order::property_orders(&text, &path.display().to_string())?;
    convert_ordered(swagger, dir, orders)
}

/// Converts a Swagger 2.0 document whose file sits in `source_dir`.
///
/// An external `$ref` such as `../../../Common/stable/2022-07-13/common.json#/definitions/X` is
/// looked up relative to `source_dir` first; when that file does not exist (the published layout
/// is not kept locally), `<source_dir>/../common/2022-07-13/common.json` is tried: the folder name
/// before `stable`/`preview`, lower-cased, then the version folder and the file name.
///
/// `swagger` carries no key order, so properties come out sorted; [`convert_file`] keeps the
/// published order.
pub fn convert(swagger: &Value, source_dir: &Path) -> Result<Converted> {
    convert_ordered(swagger.clone(), source_dir, PropertyOrders::new())
}

/// [`convert`], with the property order of the main document (see [`order::property_orders`]).
/// The schemas of other files that the document references are copied into its `definitions`
/// first ([`copy_external_definitions`]), so the conversion sees one self-contained document.
fn convert_ordered(
    mut swagger: Value,
    source_dir: &Path,
    mut orders: PropertyOrders,
) -> Result<Converted> {
    let root = as_object(&swagger, "document")?;
    let version = root.get("swagger").and_then(Value::as_str);
    if version != Some("2.0") {
        return Err(error!(
            "expected a Swagger 2.0 document (`\"swagger\": \"2.0\"`), found {version:?}"
        ));
    }
    copy_external_definitions(&mut swagger, &mut orders, source_dir)?;
    let root = as_object(&swagger, "document")?;
    let converter = Converter {
        main: &swagger,
        consumes: media_types(root.get("consumes")),
        produces: media_types(root.get("produces")),
        global_parameters: root.get("parameters").cloned().unwrap_or(json!({})),
    };
    // A component schema has the structure of its definition, so its property orders are those
    // of the definition under the component's pointer.
    let property_orders = orders
        .into_iter()
        .filter_map(|(pointer, order)| {
            let rest = pointer.strip_prefix("/definitions/")?;
            Some((format!("/components/schemas/{rest}"), order))
        })
        .collect();
    Ok(Converted {
        document: converter.document()?,
        property_orders,
    })
}

/// Copies each schema that `swagger` references in another file
/// (`<file>#/definitions/<name>`), and each schema those reference in turn, into `swagger`'s
/// `definitions` under its own name, and makes the references local (`#/definitions/<name>`). The
/// property orders of the copies go into `orders`. A name defined by two files is an error.
fn copy_external_definitions(
    swagger: &mut Value,
    orders: &mut PropertyOrders,
    source_dir: &Path,
) -> Result<()> {
    if !swagger.get("definitions").is_none_or(Value::is_object) {
        return Err(error!("definitions: expected a JSON object"));
    }
    let mut pending = Vec::new();
    localize_references(swagger, None, source_dir, &mut pending)?;
    let mut files: BTreeMap<PathBuf, (Value, PropertyOrders)> = BTreeMap::new();
    let mut copied: BTreeMap<String, PathBuf> = BTreeMap::new();
    while let Some((file, name)) = pending.pop() {
        match copied.get(&name) {
            Some(from) if *from == file => continue,
            Some(from) => {
                return Err(error!(
                    "schema name `{name}` is defined both in {} and in {}",
                    from.display(),
                    file.display()
                ));
            }
            None if swagger["definitions"].get(&name).is_some() => {
                return Err(error!(
                    "schema name `{name}` is defined both in the document and in {}",
                    file.display()
                ));
            }
            None => {}
        }
        if !files.contains_key(&file) {
            let text = crate::read_to_string(&file)?;
            let value: Value = crate::parse_json(&text, file.display())?;
            let file_orders = order::property_orders(&text, &file.display().to_string())?;
            files.insert(file.clone(), (value, file_orders));
        }
        let (document, file_orders) = &files[&file];
        let mut schema = document["definitions"].get(&name).cloned().ok_or_else(|| {
            error!(
                "schema `{name}` is referenced but not defined in {}",
                file.display()
            )
        })?;
        localize_references(&mut schema, Some(&file), source_dir, &mut pending)?;
        let prefix = format!("/definitions/{}/", escape(&name));
        for (pointer, order) in file_orders {
            if pointer.starts_with(&prefix) {
                orders.insert(pointer.clone(), order.clone());
            }
        }
        swagger["definitions"][&name] = schema;
        copied.insert(name, file);
    }
    Ok(())
}

/// Makes every schema reference in `value` (a document, or a schema of the file `within`) that
/// points into another file local, queueing the schema it names in `pending` as (file, name); in
/// a schema of another file, a local reference names a schema of that file, queued too.
/// Extensions (`x-ms-examples` and the like, which refer to example files) are left alone.
fn localize_references(
    value: &mut Value,
    within: Option<&Path>,
    source_dir: &Path,
    pending: &mut Vec<(PathBuf, String)>,
) -> Result<()> {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get_mut("$ref")
                && let Some(text) = reference.as_str()
            {
                let (file, pointer) = text.split_once('#').unwrap_or((text, ""));
                // A local reference of the document itself stays as it is.
                let target = match (file, within) {
                    ("", None) => None,
                    ("", Some(within)) => Some(within.to_path_buf()),
                    (file, within) => Some(locate(file, within, source_dir)?),
                };
                if let Some(target) = target {
                    let name = definition_name(pointer, text)?;
                    pending.push((target, name.to_owned()));
                    *reference = json!(format!("#/definitions/{name}"));
                }
            }
            for (key, child) in map.iter_mut() {
                if !key.starts_with("x-") {
                    localize_references(child, within, source_dir, pending)?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                localize_references(item, within, source_dir, pending)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The schema name in the fragment of `reference` (`/definitions/<name>`, after the `#`), the
/// only kind of schema reference these documents use.
fn definition_name<'a>(fragment: &'a str, reference: &str) -> Result<&'a str> {
    fragment
        .strip_prefix("/definitions/")
        .filter(|name| !name.is_empty() && !name.contains('/'))
        .ok_or_else(|| {
            error!("unsupported reference `{reference}` (only `#/definitions/<name>` is supported)")
        })
}

/// Finds the local copy of the file an external `$ref` names, relative to the file it appears in
/// (`within`, else the main document in `source_dir`).
fn locate(file: &str, within: Option<&Path>, source_dir: &Path) -> Result<PathBuf> {
    let base = within.and_then(Path::parent).unwrap_or(source_dir);
    let direct = base.join(file);
    if direct.is_file() {
        return Ok(direct);
    }
    let mut tried = vec![direct.display().to_string()];
    // `<...>/<Name>/stable/<version>/<file>` -> `<source_dir>/../<name>/<version>/<file>`.
    let parts: Vec<&str> = Path::new(file)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    if let [.., name, stage, version, file_name] = parts.as_slice()
        && (*stage == "stable" || *stage == "preview")
    {
        let candidate = source_dir
            .join("..")
            .join(name.to_lowercase())
            .join(version)
            .join(file_name);
        if candidate.is_file() {
            return Ok(candidate);
        }
        tried.push(candidate.display().to_string());
    }
    Err(error!(
        "cannot find the file of the external reference `{file}`; tried: {}",
        tried.join(", ")
    ))
}

struct Converter<'a> {
    /// The document, its external schemas copied in.
    main: &'a Value,
    /// The main document's media types, for an operation without its own.
    consumes: Vec<String>,
    produces: Vec<String>,
    /// The main document's `parameters`, which operations reference.
    global_parameters: Value,
}

impl Converter<'_> {
    fn document(&self) -> Result<Value> {
        let root = as_object(self.main, "document")?;
        let info = as_object(root.get("info").unwrap_or(&Value::Null), "info")?;
        let version = info
            .get("version")
            .and_then(Value::as_str)
            .ok_or_else(|| error!("info.version (the api-version) is missing"))?;
        let mut paths = Map::new();
        let in_paths = root
            .get("paths")
            .map(|p| as_object(p, "paths"))
            .transpose()?;
        for (path, item) in in_paths.into_iter().flatten() {
            let item = as_object(item, &format!("paths.{path}"))?;
            let path_params = item
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut out_item = Map::new();
            for (key, operation) in item {
                if key == "parameters" || key.starts_with("x-") {
                    continue;
                }
                if !crate::operations::is_method(key) {
                    return Err(error!(
                        "paths.{path}: unsupported key `{key}` in a path item"
                    ));
                }
                let converted = self.operation(operation, key, path, &path_params)?;
                out_item.insert(key.clone(), converted);
            }
            paths.insert(path.clone(), Value::Object(out_item));
        }
        // Every schema of the document is kept (like the published document), with the external
        // ones it references.
        let mut schemas = Map::new();
        let definitions = root.get("definitions").and_then(Value::as_object);
        for (name, schema) in definitions.into_iter().flatten() {
            let converted = self.schema(schema, &format!("schema {name}"), Some(name))?;
            schemas.insert(name.clone(), converted);
        }
        let mut out = json!({
            "openapi": OPENAPI_VERSION,
            "info": { "title": TITLE, "version": version },
            "servers": [{
                "url": "{endpoint}",
                "variables": { "endpoint": { "default": "https://example.communication.azure.com" } },
            }],
            "paths": paths,
            "components": { "schemas": schemas },
        });
        if let Some(tags) = root.get("tags").and_then(Value::as_array) {
            let names = tags.iter().filter_map(|t| t.get("name"));
            out["tags"] = names.map(|name| json!({ "name": name })).collect();
        }
        Ok(out)
    }

    /// A local `$ref` (`#/definitions/<name>`) as a component reference.
    fn reference(&self, reference: &str) -> Result<Value> {
        let name = definition_name(reference.strip_prefix('#').unwrap_or(""), reference)?;
        if self.main["definitions"].get(name).is_none() {
            return Err(error!("schema `{name}` is referenced but not defined"));
        }
        Ok(json!({ "$ref": format!("#/components/schemas/{name}") }))
    }

    /// Converts a Swagger 2.0 schema. `desc_key` names it in errors; `name` is the component name
    /// for a top-level schema.
    fn schema(&self, schema: &Value, desc_key: &str, name: Option<&str>) -> Result<Value> {
        let obj = as_object(schema, desc_key)?;
        if let Some(reference) = obj.get("$ref") {
            let reference = reference
                .as_str()
                .ok_or_else(|| error!("{desc_key}: `$ref` is not a string"))?;
            return self.reference(reference);
        }
        let open_enum = schema["x-ms-enum"]["modelAsString"] == true;

        let mut out = Map::new();
        for (key, value) in obj {
            match key.as_str() {
                "type" | "format" | "minimum" | "maximum" | "exclusiveMinimum"
                | "exclusiveMaximum" | "minLength" | "maxLength" | "pattern" | "minItems"
                | "maxItems" | "uniqueItems" | "multipleOf" | "default" | "readOnly"
                | "required" | "minProperties" | "maxProperties" => {
                    out.insert(key.clone(), value.clone());
                }
                "enum" => {
                    if !open_enum {
                        out.insert(key.clone(), value.clone());
                    }
                }
                "items" => {
                    let items = self.schema(value, &format!("{desc_key} items"), None)?;
                    out.insert(key.clone(), items);
                }
                "additionalProperties" => {
                    let converted = match value {
                        Value::Bool(_) => value.clone(),
                        Value::Object(m) if m.is_empty() => json!({}),
                        _ => {
                            self.schema(value, &format!("{desc_key} additionalProperties"), None)?
                        }
                    };
                    out.insert(key.clone(), converted);
                }
                "properties" => {
                    let props = as_object(value, &format!("{desc_key} properties"))?;
                    let mut converted = Map::new();
                    for (prop, prop_schema) in props {
                        let key = match name {
                            Some(owner) => format!("property {owner}.{prop}"),
                            None => format!("{desc_key} property {prop}"),
                        };
                        let c = self.schema(prop_schema, &key, None)?;
                        converted.insert(prop.clone(), c);
                    }
                    out.insert(key.clone(), Value::Object(converted));
                }
                // Prose, examples and extensions are not carried over; any other keyword (`allOf`,
                // `discriminator`, `x-nullable`: none of these documents uses one) is refused.
                "description" | "title" | "example" | "externalDocs" => {}
                k if k.starts_with("x-") => {}
                other => {
                    return Err(error!("{desc_key}: unsupported schema keyword `{other}`"));
                }
            }
        }
        if open_enum && let Some(values) = obj.get("enum").and_then(Value::as_array) {
            let known: Vec<String> = values
                .iter()
                .map(|v| match v.as_str() {
                    Some(s) => format!("`{s}`"),
                    None => format!("`{v}`"),
                })
                .collect();
            let text = format!(
                "Known values: {}. The set is open: the service may return others.",
                known.join(", ")
            );
            out.insert("description".into(), Value::String(text));
        }
        Ok(Value::Object(out))
    }

    /// Converts the operation at `method` `path`; `path_parameters` are its path item's.
    fn operation(
        &self,
        operation: &Value,
        method: &str,
        path: &str,
        path_parameters: &[Value],
    ) -> Result<Value> {
        let at = format!("{method} {path}");
        let op = as_object(operation, &at)?;
        let mut out = Map::new();
        let operation_id = op
            .get("operationId")
            .and_then(Value::as_str)
            .ok_or_else(|| error!("{at}: operationId is missing"))?;
        out.insert("operationId".into(), json!(operation_id));
        if let Some(tags) = op.get("tags") {
            out.insert("tags".into(), tags.clone());
        }
        if operation["deprecated"] == true {
            out.insert("deprecated".into(), Value::Bool(true));
        }

        let consumes = op
            .get("consumes")
            .map(|c| media_types(Some(c)))
            .unwrap_or_else(|| self.consumes.clone());
        let produces = op
            .get("produces")
            .map(|p| media_types(Some(p)))
            .unwrap_or_else(|| self.produces.clone());

        // Path-level parameters first, then the operation's (an operation's parameter replaces a
        // path-level one with the same name and location).
        let mut params: Vec<Value> = Vec::new();
        let op_params = operation["parameters"].as_array().into_iter().flatten();
        for raw in path_parameters.iter().chain(op_params) {
            let resolved = resolve_parameter(raw, &self.global_parameters, &at)?;
            let key = |p: &Value| (p["name"].clone(), p["in"].clone());
            params.retain(|p| key(p) != key(&resolved));
            params.push(resolved);
        }

        let mut parameters = Vec::new();
        for param in &params {
            let name = param
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| error!("{at}: a parameter has no name"))?;
            let location = param
                .get("in")
                .and_then(Value::as_str)
                .ok_or_else(|| error!("{at}: parameter `{name}` has no `in`"))?;
            match location {
                "body" => {
                    let schema = param
                        .get("schema")
                        .ok_or_else(|| error!("{at}: body parameter `{name}` has no schema"))?;
                    let schema = self.schema(schema, &format!("{at} body"), None)?;
                    let media = json_media(&consumes);
                    out.insert(
                        "requestBody".into(),
                        json!({
                            "required": param["required"] == true,
                            "content": { media: { "schema": schema } },
                        }),
                    );
                }
                "query" | "path" | "header" => {
                    let schema = parameter_schema(param, &at)?;
                    parameters.push(json!({
                        "name": name,
                        "in": location,
                        "required": location == "path" || param["required"] == true,
                        "schema": schema,
                    }));
                }
                other => {
                    return Err(error!(
                        "{at}: parameter `{name}` is in `{other}`, which is not supported"
                    ));
                }
            }
        }
        out.insert("parameters".into(), Value::Array(parameters));

        let responses = op
            .get("responses")
            .and_then(Value::as_object)
            .ok_or_else(|| error!("{at}: responses are missing"))?;
        let mut out_responses = Map::new();
        for (status, response) in responses {
            if status.starts_with("x-") {
                continue;
            }
            let statuses = match status.as_str() {
                "default" => vec!["4XX", "5XX"],
                status => vec![status],
            };
            for code in statuses {
                let converted = self.response(response, code, &produces, &at)?;
                out_responses.insert(code.to_string(), converted);
            }
        }
        out.insert("responses".into(), Value::Object(out_responses));
        Ok(Value::Object(out))
    }

    fn response(
        &self,
        response: &Value,
        code: &str,
        produces: &[String],
        at: &str,
    ) -> Result<Value> {
        let response = as_object(response, &format!("{at} response {code}"))?;
        if response.contains_key("$ref") {
            return Err(error!(
                "{at} response {code}: response references are not supported"
            ));
        }
        let mut out = Map::new();
        // OpenAPI requires a response's description; no prose is carried over.
        out.insert("description".into(), json!(""));
        if let Some(schema) = response.get("schema") {
            let schema = self.schema(schema, &format!("{at} response {code}"), None)?;
            let media = json_media(produces);
            out.insert("content".into(), json!({ media: { "schema": schema } }));
        }
        if let Some(headers) = response.get("headers").and_then(Value::as_object) {
            let mut out_headers = Map::new();
            for (name, header) in headers {
                out_headers.insert(
                    name.clone(),
                    json!({ "schema": parameter_schema(header, at)? }),
                );
            }
            out.insert("headers".into(), Value::Object(out_headers));
        }
        Ok(Value::Object(out))
    }
}

fn resolve_parameter(raw: &Value, global: &Value, at: &str) -> Result<Value> {
    match raw.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/parameters/")
                .ok_or_else(|| error!("{at}: unsupported parameter reference `{reference}`"))?;
            global
                .get(name)
                .cloned()
                .ok_or_else(|| error!("{at}: parameter `{name}` is referenced but not defined"))
        }
        None => Ok(raw.clone()),
    }
}

/// The OpenAPI 3.0 `schema` of a non-body Swagger 2.0 parameter (or response header).
fn parameter_schema(param: &Value, at: &str) -> Result<Value> {
    let obj = as_object(param, at)?;
    let mut schema = Map::new();
    for (key, value) in obj {
        match key.as_str() {
            "type" | "format" | "enum" | "minimum" | "maximum" | "exclusiveMinimum"
            | "exclusiveMaximum" | "minLength" | "maxLength" | "pattern" | "minItems"
            | "maxItems" | "uniqueItems" | "multipleOf" | "default" => {
                schema.insert(key.clone(), value.clone());
            }
            "items" => {
                schema.insert(key.clone(), parameter_schema(value, at)?);
            }
            "collectionFormat" => {
                if value.as_str() != Some("csv") {
                    return Err(error!("{at}: collectionFormat {value} is not supported"));
                }
            }
            "name" | "in" | "required" | "description" => {}
            k if k.starts_with("x-") => {}
            other => {
                return Err(error!("{at}: unsupported parameter keyword `{other}`"));
            }
        }
    }
    Ok(Value::Object(schema))
}

fn media_types(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_else(|| vec!["application/json".to_string()])
}

/// The first JSON media type of `media_types`, else `application/json`.
fn json_media(media_types: &[String]) -> String {
    media_types
        .iter()
        .find(|m| is_json(m))
        .cloned()
        .unwrap_or_else(|| "application/json".to_string())
}

fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}

fn as_object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| error!("{at}: expected a JSON object"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(definitions: Value, paths: Value) -> Value {
        json!({
            "swagger": "2.0",
            "info": { "title": "t", "version": "2099-01-01" },
            "paths": paths,
            "definitions": definitions,
            "parameters": {
                "ApiVersionParameter": {
                    "in": "query", "name": "api-version", "required": true, "type": "string"
                }
            }
        })
    }

    #[test]
    fn default_response_becomes_4xx_and_5xx() {
        let doc = minimal(
            json!({ "E": { "type": "object", "properties": { "code": { "type": "string" } } } }),
            json!({ "/identities/{id}": { "delete": {
                "operationId": "Op",
                "parameters": [
                    { "in": "path", "name": "id", "required": true, "type": "string" },
                    { "$ref": "#/parameters/ApiVersionParameter" }
                ],
                "responses": {
                    "204": { "description": "x" },
                    "default": { "description": "e", "schema": { "$ref": "#/definitions/E" } }
                }
            } } }),
        );
        let out = convert(&doc, Path::new(".")).unwrap().document;
        let responses = &out["paths"]["/identities/{id}"]["delete"]["responses"];
        let codes: Vec<&String> = responses.as_object().unwrap().keys().collect();
        assert_eq!(codes, ["204", "4XX", "5XX"]);
        assert_eq!(
            responses["4XX"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/E"
        );
        assert!(responses.get("default").is_none());
        let params = out["paths"]["/identities/{id}"]["delete"]["parameters"]
            .as_array()
            .unwrap();
        assert_eq!(params[0]["name"], "id");
        assert_eq!(params[0]["schema"], json!({ "type": "string" }));
        assert_eq!(params[1]["name"], "api-version");
        assert_eq!(params[1]["in"], "query");
        assert_eq!(params[1]["required"], true);
    }

    #[test]
    fn model_as_string_enum_becomes_open_string_listing_values() {
        let doc = minimal(
            json!({ "CommunicationIdentityTokenScope": {
                "type": "string", "enum": ["chat", "voip"],
                "x-ms-enum": { "name": "S", "modelAsString": true }
            }, "Closed": { "type": "string", "enum": ["a"] } }),
            json!({}),
        );
        let out = convert(&doc, Path::new(".")).unwrap().document;
        let scope = &out["components"]["schemas"]["CommunicationIdentityTokenScope"];
        assert!(scope.get("enum").is_none());
        assert_eq!(scope["type"], "string");
        let text = scope["description"].as_str().unwrap();
        assert!(text.contains("`chat`") && text.contains("`voip`"), "{text}");
        assert!(scope.get("x-ms-enum").is_none());
        // Without modelAsString the enum stays closed.
        assert_eq!(out["components"]["schemas"]["Closed"]["enum"], json!(["a"]));
    }

    #[test]
    fn body_parameter_becomes_request_body_without_prose() {
        let doc = minimal(
            json!({ "Req": { "type": "object", "required": ["a"], "properties": {
                "a": { "type": "integer", "format": "int32", "minimum": 60, "maximum": 1440,
                       "default": 1440, "description": "upstream words" }
            } } }),
            json!({ "/things": { "post": {
                "operationId": "Make",
                "parameters": [{ "in": "body", "name": "body", "required": true,
                                 "schema": { "$ref": "#/definitions/Req" } }],
                "responses": { "200": { "description": "ok" } }
            } } }),
        );
        let converted = convert(&doc, Path::new(".")).unwrap();
        let out = &converted.document;
        let body = &out["paths"]["/things"]["post"]["requestBody"];
        assert_eq!(body["required"], true);
        assert_eq!(
            body["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Req"
        );
        let a = &out["components"]["schemas"]["Req"]["properties"]["a"];
        assert_eq!(a["minimum"], 60);
        assert_eq!(a["maximum"], 1440);
        assert_eq!(a["default"], 1440);
        assert!(a.get("description").is_none(), "{a}");
        let operation = &out["paths"]["/things"]["post"];
        assert!(operation.get("summary").is_none(), "{operation}");
        assert_eq!(operation["responses"]["200"]["description"], "");
    }

    #[test]
    fn unsupported_keyword_is_an_error_not_silently_dropped() {
        let doc = minimal(json!({ "X": { "type": "object", "oneOf": [] } }), json!({}));
        let err = convert(&doc, Path::new(".")).unwrap_err();
        assert!(err.to_string().contains("oneOf"), "{err}");
    }

    #[test]
    fn swagger_version_is_checked() {
        let err = convert(&json!({ "openapi": "3.0.0" }), Path::new(".")).unwrap_err();
        assert!(err.to_string().contains("Swagger 2.0"), "{err}");
    }

    #[test]
    fn referenced_external_schemas_are_copied_with_what_they_reference_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let common = dir.path().join("common.json");
        std::fs::write(
            &common,
            json!({ "definitions": {
                "E": { "type": "object", "properties": {
                    "inner": { "$ref": "#/definitions/Inner" },
                    "again": { "$ref": "#/definitions/E" } } },
                "Inner": { "type": "object", "properties": { "b": {}, "a": {} } },
                "Unused": { "type": "string" },
            } })
            .to_string(),
        )
        .unwrap();
        let doc = minimal(
            json!({ "X": { "type": "object", "properties": {
                "e": { "$ref": "common.json#/definitions/E" }
            } } }),
            json!({}),
        );
        let converted = convert(&doc, dir.path()).unwrap();
        let schemas = &converted.document["components"]["schemas"];
        let names: Vec<&String> = schemas.as_object().unwrap().keys().collect();
        assert_eq!(names, ["E", "Inner", "X"]);
        assert_eq!(
            schemas["X"]["properties"]["e"]["$ref"],
            "#/components/schemas/E"
        );
        assert_eq!(
            schemas["E"]["properties"]["inner"]["$ref"],
            "#/components/schemas/Inner"
        );
        // A property order read from the external file's text carries over to the component.
        let converted = convert_file(&{
            let main = dir.path().join("main.json");
            std::fs::write(&main, doc.to_string()).unwrap();
            std::fs::write(
                &common,
                r#"{"definitions": {"E": {"type": "object", "properties": {"z": {}, "y": {}}}}}"#,
            )
            .unwrap();
            main
        })
        .unwrap();
        assert_eq!(
            converted.property_orders["/components/schemas/E/properties"],
            ["z", "y"]
        );
    }

    #[test]
    fn a_schema_name_defined_in_the_document_and_another_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("common.json"),
            r#"{"definitions": {"X": {"type": "string"}}}"#,
        )
        .unwrap();
        let doc = minimal(
            json!({ "X": { "type": "object", "properties": {
                "e": { "$ref": "common.json#/definitions/X" }
            } } }),
            json!({}),
        );
        let err = convert(&doc, dir.path()).unwrap_err().to_string();
        assert!(err.contains("schema name `X` is defined both"), "{err}");
        // Not an object, with an external reference elsewhere (the copy would have nowhere to go).
        let doc = minimal(
            json!([]),
            json!({ "/a": { "get": { "operationId": "A", "responses": { "200": {
                "description": "", "schema": { "$ref": "common.json#/definitions/X" }
            } } } } }),
        );
        let err = convert(&doc, dir.path()).unwrap_err().to_string();
        assert!(err.contains("definitions: expected a JSON object"), "{err}");
    }

    #[test]
    fn a_reference_to_anything_but_a_definition_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("common.json"), r#"{"definitions": {}}"#).unwrap();
        for (reference, expected) in [
            ("#/parameters/X", "unsupported reference `#/parameters/X`"),
            (
                "common.json#/parameters/X",
                "unsupported reference `common.json#/parameters/X`",
            ),
            (
                "#/definitions/Missing",
                "schema `Missing` is referenced but not defined",
            ),
            (
                "common.json#/definitions/Missing",
                "schema `Missing` is referenced but not defined in",
            ),
        ] {
            let doc = minimal(
                json!({ "X": { "type": "object", "properties": { "e": { "$ref": reference } } } }),
                json!({}),
            );
            let err = convert(&doc, dir.path()).unwrap_err().to_string();
            assert!(err.contains(expected), "{reference}: {err}");
        }
    }

    #[test]
    fn missing_external_file_names_the_paths_tried() {
        let doc = minimal(
            json!({ "X": { "type": "object", "properties": {
                "e": { "$ref": "../Common/stable/2022-07-13/common.json#/definitions/E" }
            } } }),
            json!({}),
        );
        let dir = std::env::temp_dir().join("xtask-no-such-dir");
        let err = convert(&doc, &dir).unwrap_err().to_string();
        assert!(err.contains("common/2022-07-13/common.json"), "{err}");
    }
}
