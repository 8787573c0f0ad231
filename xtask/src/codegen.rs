//! `cargo xtask codegen [--check]`: generates the `acs-identity-rest` client from the OpenAPI
//! document with progenitor (pinned in the workspace) and prettyplease.
//!
//! Generator settings (the only customisation; the output is never edited by hand):
//!
//! - every operation the facade calls gets the operationId `crate::operations` assigns to its
//!   method and path, so the methods the facade calls keep their names in every published version
//!   (the documents rename them), and a document lacking one fails here, naming it; any other
//!   operation keeps the document's operationId (its method is the snake case of it);
//! - every `api-version` query parameter is a plain string (the TypeSpec-emitted documents say
//!   `minLength: 1`, from which typify makes a newtype per operation): any version is accepted;
//! - builder interface, operations merged (`client.<operation>().<param>(..).send()`);
//! - inner type `crate::hooks::Transport` and `HooksMode::Expected`: the hand-written
//!   `src/hooks.rs` implements `progenitor_client::ClientHooks` for `Client` and so owns the step
//!   where the final `reqwest::Request` is sent;
//! - `default` values are removed from the schemas handed to progenitor (the document in `spec/`
//!   keeps them): an optional field the caller did not set stays `None` and is left out of the JSON
//!   body, and the service applies its own default, as the official SDKs do;
//! - a property of a request body schema that is an array and not required is made `nullable`
//!   for typify, so it becomes `Option<Vec<_>>`, left out only when `None`: typify would otherwise
//!   make it a `Vec` skipped when empty, and an empty list (`"createTokenWithScopes":[]`, which the
//!   official SDKs send) could not be told from an absent one;
//! - the fields of each generated struct are put back in the order the document lists the
//!   schema's properties (typify sorts them by name), so a body is serialized with its keys in the
//!   published order, as the official SDKs send it (`{"scopes":[..],"expiresInMinutes":60}`);
//! - a `format: date-time` string becomes the hand-written `crate::DateTime` (a `time::OffsetDateTime`
//!   read and written as RFC 3339) instead of typify's `chrono::DateTime<Utc>`: the facade works in
//!   `time`, and parsing with `time` directly costs a quarter of chrono's parse plus a conversion;
//!   the generation fails if `chrono` is left anywhere in the output;
//! - the `api-version` *header* progenitor adds to every request (with the document's
//!   `info.version`, whatever version the caller puts in the query) is not rewritten here: the
//!   request hook (`crates/acs-identity-rest/src/hooks.rs`), which sees every request, removes it;
//! - an operation whose JSON request body is optional (`required: false`: create) sends it as the
//!   official SDKs do: progenitor's `.json(&body)` becomes
//!   `crate::hooks::optional_json_body(<builder>, &body)`, which sends an empty body (with
//!   `content-type: application/json`) when the body serializes to `{}` (nothing set) instead of
//!   `{}`; generation fails unless exactly those operations are rewritten;
//! - every call progenitor emits to `encode_path(..)` (its percent-encoding of a path parameter,
//!   which leaves `:` and other reserved characters raw) becomes a call to the hand-written
//!   `crate::hooks::encode_path_parameter(..)` with the same argument (`&str`), which encodes
//!   everything but the RFC 3986 unreserved characters like the official SDKs
//!   (`8:acs:...` → `8%3Aacs%3A...`). The rewrite walks progenitor's token stream, macro arguments
//!   included (the calls sit inside `format!`); the generation fails if the number of rewritten
//!   calls differs from the number of `{parameter}`s in the document's paths, if a call is
//!   path-qualified (`progenitor_client::encode_path(..)`) or if any `encode_path(` is left.
//!
//! The output is a pure function of the document text: same input, same bytes.

use std::path::Path;

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use serde_json::{Value, json};

use crate::operations::{operations, operations_mut};
use crate::{Channel, DOCUMENTS, Document, Error, Result};

/// Generates the client code (the whole text of `generated.rs`, or of `preview.rs` for a document
/// of a preview api-version) from the text of an OpenAPI document of this API. `spec_label` is
/// the document's path as written in the header comment.
pub fn generate(spec_text: &str, spec_label: &str) -> Result<String> {
    generate_with(spec_text, spec_label, Naming::Stable)
}

/// How [`generate_with`] names the operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// The stable names of `crate::operations` for the operations the facade calls (what
    /// `cargo xtask codegen` uses): a document lacking one of them fails the generation.
    Stable,
    /// The document's own operationIds: for documents that are not of this API (the tests of
    /// the generator's other settings).
    AsPublished,
}

/// [`generate`], with the operation naming chosen.
pub fn generate_with(spec_text: &str, spec_label: &str, naming: Naming) -> Result<String> {
    let mut document: Value = crate::parse_json(spec_text, spec_label)?;
    let channel = Channel::of_document(&document);
    if naming == Naming::Stable {
        crate::operations::apply_stable_names(&mut document, spec_label, channel)?;
    }
    crate::operations::open_api_version(&mut document);
    leave_out_unsupported_operations(&mut document);
    remove_defaults(&mut document);
    nullable_optional_request_arrays(&mut document);
    let mut property_orders = crate::order::property_orders(spec_text, spec_label)?;
    let path_parameters = path_parameter_count(&document);
    let optional_bodies = optional_json_body_operations(&document);
    let spec: openapiv3::OpenAPI = serde_json::from_value(document)
        .map_err(|e| error!("{spec_label} is not an OpenAPI 3.0 document: {e}"))?;

    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_hooks(progenitor::HooksMode::Expected)
        .with_inner_type(quote::quote!(crate::hooks::Transport))
        .with_conversion(
            date_time_schema(),
            DATE_TIME_TYPE,
            [progenitor::TypeImpl::Display, progenitor::TypeImpl::FromStr].into_iter(),
        );
    if channel == Channel::Preview {
        // Not generated here: taken from the stable module (see SHARED_ERROR_MODEL).
        for name in SHARED_ERROR_MODEL {
            settings.with_replacement(name, format!("crate::types::{name}"), std::iter::empty());
            property_orders.remove(&format!("/components/schemas/{name}/properties"));
        }
    }
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .map_err(|e| error!("progenitor failed on {spec_label}: {e}"))?;
    let mut rewritten = 0;
    let tokens = rewrite_encode_path(tokens, &mut rewritten)?;
    if rewritten != path_parameters {
        return Err(error!(
            "{spec_label} has {path_parameters} path parameter(s) but {rewritten} call(s) to \
             progenitor's encode_path were rewritten to crate::hooks::encode_path_parameter; \
             update rewrite_encode_path()"
        ));
    }
    let mut file: syn::File = syn::parse2(tokens)
        .map_err(|e| error!("progenitor produced code that does not parse: {e}"))?;
    order_struct_fields(&mut file, &property_orders)?;
    let rewritten_bodies = optional_bodies_as_sdks_send_them(&mut file, &optional_bodies)?;
    if rewritten_bodies != optional_bodies.len() {
        return Err(error!(
            "{spec_label} has {} operation(s) with an optional JSON request body but \
             {rewritten_bodies} `.json(&body)` call(s) were rewritten; update \
             optional_bodies_as_sdks_send_them()",
            optional_bodies.len()
        ));
    }

    let body = prettyplease::unparse(&file);
    if body.contains("chrono") {
        return Err(error!(
            "`chrono` is left in the generated code: a date-time schema did not match \
             date_time_schema(); update it",
        ));
    }
    if body.contains(&format!("{ENCODE_PATH}(")) || body.contains(&format!("{ENCODE_PATH} (")) {
        return Err(error!(
            "a call to progenitor's `{ENCODE_PATH}(` is left in the generated code; update \
             rewrite_encode_path()"
        ));
    }
    Ok(format!(
        "// @generated by `cargo xtask codegen` from `{spec_label}` with progenitor 0.15.1.\n\
         // Do not edit by hand: change the spec (or the generator settings in xtask/src/codegen.rs)\n\
         // and run `cargo xtask codegen`; CI runs `cargo xtask codegen --check`.\n\n{body}"
    ))
}

/// The schemas of the error model that the code generated from a preview document takes from the
/// stable one (`crate::types::...`) instead of generating its own copies: both documents define
/// the same `CommunicationErrorResponse` (the preview through `common/2023-11-15`), and one error
/// type for every operation keeps the facade's one decoder of error bodies. A test
/// (`the_preview_error_model_is_the_stable_one`) checks that the two documents define them alike.
pub const SHARED_ERROR_MODEL: [&str; 2] = ["CommunicationErrorResponse", "CommunicationError"];

/// Operations that are not handed to progenitor (method, path, why). The facade calls none of
/// them (`crate::operations::OPERATIONS` says so, and a test checks it).
pub const NOT_GENERATED: &[(&str, &str, &str)] = &[(
    "patch",
    "/access/entra/assignments",
    "its request body is `application/merge-patch+json`, a media type progenitor 0.15 refuses \
     (\"unexpected content type\")",
)];

/// Removes the operations of [`NOT_GENERATED`] from the document handed to progenitor.
fn leave_out_unsupported_operations(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (method, path, _) in NOT_GENERATED {
        if let Some(item) = paths.get_mut(*path).and_then(Value::as_object_mut) {
            item.remove(*method);
            if !item.keys().any(|k| crate::operations::is_method(k)) {
                paths.remove(*path);
            }
        }
    }
}

/// The Rust type of every `{"type": "string", "format": "date-time"}` schema (descriptions do not
/// matter to the match): the hand-written `acs_identity_rest::DateTime`.
const DATE_TIME_TYPE: &str = "crate::DateTime";

fn date_time_schema() -> schemars::schema::SchemaObject {
    schemars::schema::SchemaObject {
        instance_type: Some(schemars::schema::InstanceType::String.into()),
        format: Some("date-time".to_owned()),
        ..Default::default()
    }
}

/// Removes `default` from the component schemas and request bodies (see module docs).
fn remove_defaults(document: &mut Value) {
    if let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.values_mut().for_each(strip_schema_defaults);
    }
    for_each_request_body_schema(document, strip_schema_defaults);
}

/// Calls `f` on the schema of every media type of every operation's `requestBody`.
fn for_each_request_body_schema(document: &mut Value, mut f: impl FnMut(&mut Value)) {
    for (_, _, operation) in operations_mut(document) {
        if let Some(content) = operation
            .pointer_mut("/requestBody/content")
            .and_then(Value::as_object_mut)
        {
            content
                .values_mut()
                .filter_map(|media| media.get_mut("schema"))
                .for_each(&mut f);
        }
    }
}

/// Marks as `nullable` every array property that a request body schema (inline or a component
/// it references directly) does not require (see module docs).
fn nullable_optional_request_arrays(document: &mut Value) {
    let mut targets = std::collections::BTreeSet::new();
    // Inline body schemas are edited in place; referenced components afterwards, once each.
    for_each_request_body_schema(document, |schema| {
        if let Some(name) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            targets.insert(format!(
                "/components/schemas/{}",
                crate::order::escape(name)
            ));
        }
        nullable_optional_arrays(schema);
    });
    for target in targets {
        if let Some(schema) = document.pointer_mut(&target) {
            nullable_optional_arrays(schema);
        }
    }
}

/// Adds `nullable: true` to the array properties of `schema` that are not in its `required`.
fn nullable_optional_arrays(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    let required = map.get("required").cloned().unwrap_or_default();
    let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, prop) in props.iter_mut() {
        let is_required = required
            .as_array()
            .is_some_and(|r| r.contains(&json!(name)));
        if !is_required
            && let Some(prop) = prop.as_object_mut()
            && prop.get("type").and_then(Value::as_str) == Some("array")
        {
            prop.insert("nullable".into(), Value::Bool(true));
        }
    }
}

/// Puts the fields of the structs generated for component schemas (in `mod types`) in the order
/// of the schema's properties in the document text (see module docs). A field's JSON name is its
/// `#[serde(rename = "..")]` or its identifier.
fn order_struct_fields(file: &mut syn::File, orders: &crate::order::PropertyOrders) -> Result<()> {
    let mut wanted: std::collections::BTreeMap<String, &Vec<String>> = orders
        .iter()
        .filter_map(|(pointer, order)| {
            let name = pointer
                .strip_prefix("/components/schemas/")?
                .strip_suffix("/properties")?;
            // A schema without properties (`{"properties": {}}`) has nothing to order.
            (!name.contains('/') && !order.is_empty())
                .then(|| (name.replace("~1", "/").replace("~0", "~"), order))
        })
        .collect();
    let types = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut(),
            _ => None,
        })
        .ok_or_else(|| error!("progenitor produced no `mod types`"))?;
    for item in types.1.iter_mut() {
        let syn::Item::Struct(s) = item else {
            continue;
        };
        let Some(order) = wanted.remove(&s.ident.to_string()) else {
            continue;
        };
        let syn::Fields::Named(fields) = &mut s.fields else {
            return Err(error!(
                "schema `{}` has properties but its struct has no named fields",
                s.ident
            ));
        };
        let mut keyed = Vec::new();
        for field in std::mem::take(&mut fields.named) {
            let json = json_name(&field)?;
            let position = order.iter().position(|p| *p == json).ok_or_else(|| {
                error!(
                    "struct `{}`: field for `{json}` is not a property of the schema",
                    s.ident
                )
            })?;
            keyed.push((position, field));
        }
        keyed.sort_by_key(|(position, _)| *position);
        fields.named = keyed.into_iter().map(|(_, field)| field).collect();
    }
    if let Some(name) = wanted.keys().next() {
        return Err(error!(
            "schema `{name}` has properties but progenitor generated no struct of that name; \
             cannot keep its property order"
        ));
    }
    Ok(())
}

/// The JSON name of a generated struct field: `#[serde(rename = "..")]`, else the identifier.
fn json_name(field: &syn::Field) -> Result<String> {
    let mut rename = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                rename = Some(value.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        })
        .map_err(|e| error!("cannot read a #[serde] attribute: {e}"))?;
    }
    match rename {
        Some(name) => Ok(name),
        None => field
            .ident
            .as_ref()
            .map(|i| i.to_string().trim_start_matches("r#").to_string())
            .ok_or_else(|| error!("a generated struct field has no name")),
    }
}

/// Removes `default` from a schema and the schemas nested in it (not from property names).
fn strip_schema_defaults(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    map.remove("default");
    if let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) {
        props.values_mut().for_each(strip_schema_defaults);
    }
    // `import-spec` refuses `allOf`, `anyOf`, `oneOf` and `not`: nothing else nests a schema.
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = map.get_mut(key) {
            strip_schema_defaults(inner);
        }
    }
}

/// How many `{parameter}` segments the document's paths have, counted once per operation (with
/// an `operationId`: progenitor encodes each one once in each operation that uses the path).
fn path_parameter_count(document: &Value) -> usize {
    operations(document)
        .filter(|(_, _, operation)| operation.get("operationId").is_some())
        .map(|(path, ..)| {
            path.split('/')
                .filter(|segment| segment.starts_with('{') && segment.ends_with('}'))
                .count()
        })
        .sum()
}

/// progenitor's `operation_id` (snake case) of each operation whose `requestBody` is JSON and not
/// `required`.
fn optional_json_body_operations(document: &Value) -> Vec<String> {
    operations(document)
        .filter_map(|(_, _, operation)| {
            let id = operation.get("operationId")?.as_str()?;
            let body = operation.get("requestBody")?;
            let json = body.pointer("/content/application~1json").is_some();
            (json && body["required"] != true).then(|| snake_case(id))
        })
        .collect()
}

/// `CommunicationIdentity_Create` -> `communication_identity_create`, as progenitor names the
/// operation (a mismatch makes the rewrite count check fail, never a silent skip).
fn snake_case(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + 8);
    let mut previous: Option<char> = None;
    for c in id.chars() {
        if c.is_uppercase() && previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) {
            out.push('_');
        }
        out.extend(c.to_lowercase());
        previous = Some(c);
    }
    out
}

/// In the `send` of each operation of `operations`, replaces `<builder>.json(&body)` by
/// `crate::hooks::optional_json_body(<builder>, &body)`. Returns how many were rewritten; an
/// operation with more than one `.json(..)` is an error.
fn optional_bodies_as_sdks_send_them(file: &mut syn::File, operations: &[String]) -> Result<usize> {
    let mut rewriter = OptionalBodyRewriter {
        operations,
        count: 0,
        error: None,
    };
    syn::visit_mut::VisitMut::visit_file_mut(&mut rewriter, file);
    rewriter.error.map_or(Ok(rewriter.count), Err)
}

/// Rewrites the optional bodies: how many, or why it could not.
struct OptionalBodyRewriter<'a> {
    operations: &'a [String],
    count: usize,
    error: Option<Error>,
}

impl syn::visit_mut::VisitMut for OptionalBodyRewriter<'_> {
    fn visit_impl_item_fn_mut(&mut self, function: &mut syn::ImplItemFn) {
        let mut finder = OperationIdFinder(None);
        syn::visit::Visit::visit_block(&mut finder, &function.block);
        let Some(id) = finder.0.filter(|id| self.operations.contains(id)) else {
            return;
        };
        let mut json = JsonCallRewriter(0);
        syn::visit_mut::VisitMut::visit_block_mut(&mut json, &mut function.block);
        match json.0 {
            1 => self.count += 1,
            n => {
                self.error = Some(error!(
                    "`{id}` has an optional JSON body but {n} `.json(&body)` call(s)"
                ));
            }
        }
    }
}

/// The string of `operation_id: "<id>"` (progenitor's `OperationInfo`) in a function body.
struct OperationIdFinder(Option<String>);

impl<'ast> syn::visit::Visit<'ast> for OperationIdFinder {
    fn visit_field_value(&mut self, field: &'ast syn::FieldValue) {
        if let syn::Member::Named(name) = &field.member
            && name == "operation_id"
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(id),
                ..
            }) = &field.expr
        {
            self.0 = Some(id.value());
        }
        syn::visit::visit_field_value(self, field);
    }
}

/// Replaces `<receiver>.json(<arg>)` by `crate::hooks::optional_json_body(<receiver>, <arg>)`.
struct JsonCallRewriter(usize);

impl syn::visit_mut::VisitMut for JsonCallRewriter {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        if let syn::Expr::MethodCall(call) = expr
            && call.method == "json"
            && call.args.len() == 1
        {
            let receiver = std::mem::replace(&mut *call.receiver, syn::Expr::PLACEHOLDER);
            let argument = call.args[0].clone();
            *expr = syn::parse_quote!(crate::hooks::optional_json_body(#receiver, #argument));
            self.0 += 1;
        }
    }
}

/// The function progenitor calls to percent-encode a path parameter.
const ENCODE_PATH: &str = "encode_path";

/// Rewrites every call `encode_path(..)` in `tokens`, at any depth (macro arguments included),
/// into `crate::hooks::encode_path_parameter(..)` with the same arguments, adding the number of
/// calls rewritten to `rewritten`. Other uses of the name (its `use` imports) are left alone.
/// A path-qualified call (`a::encode_path(..)`) is an error: it would need the qualification
/// removed, which this rule does not guess.
fn rewrite_encode_path(tokens: TokenStream, rewritten: &mut usize) -> Result<TokenStream> {
    let mut out: Vec<TokenTree> = Vec::new();
    let mut input = tokens.into_iter().peekable();
    while let Some(tree) = input.next() {
        match tree {
            TokenTree::Group(group) => {
                let inner = rewrite_encode_path(group.stream(), rewritten)?;
                let mut new = Group::new(group.delimiter(), inner);
                new.set_span(group.span());
                out.push(TokenTree::Group(new));
            }
            TokenTree::Ident(ident)
                if ident == ENCODE_PATH
                    && matches!(input.peek(), Some(TokenTree::Group(g))
                        if g.delimiter() == Delimiter::Parenthesis) =>
            {
                if matches!(out.last(), Some(TokenTree::Punct(p)) if p.as_char() == ':') {
                    return Err(error!(
                        "progenitor calls a path-qualified `{ENCODE_PATH}(..)`; update \
                         rewrite_encode_path()"
                    ));
                }
                out.extend(quote::quote!(crate::hooks::encode_path_parameter));
                *rewritten += 1;
            }
            other => out.push(other),
        }
    }
    Ok(out.into_iter().collect())
}

/// Outcome of [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The checked-in file is what the spec generates.
    UpToDate,
    /// It differs; the unified diff (checked-in → generated).
    Differs(String),
}

/// Generates from every checked-in document (`DOCUMENTS`) in memory and compares with the
/// checked-in files; the diff covers every file that differs.
pub fn check(root: &Path) -> Result<CheckOutcome> {
    let mut diffs = String::new();
    for document in DOCUMENTS {
        let generated = generate_document(root, document)?;
        let path = document.generated_path;
        let current = match std::fs::read_to_string(root.join(path)) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(error!("cannot read {path}: {e}")),
        };
        if current != generated {
            let diff = similar::TextDiff::from_lines(&current, &generated)
                .unified_diff()
                .context_radius(3)
                .header(
                    &format!("{path} (checked in)"),
                    &format!("{path} (generated from {})", document.spec_path),
                )
                .to_string();
            diffs.push_str(&diff);
        }
    }
    if diffs.is_empty() {
        Ok(CheckOutcome::UpToDate)
    } else {
        Ok(CheckOutcome::Differs(diffs))
    }
}

/// Generates from every checked-in document (`DOCUMENTS`) and writes the files that changed.
/// Returns the paths written (relative to the root), empty when nothing changed.
pub fn write(root: &Path) -> Result<Vec<&'static str>> {
    let mut written = Vec::new();
    for document in DOCUMENTS {
        let generated = generate_document(root, document)?;
        let path = root.join(document.generated_path);
        let unchanged = std::fs::read_to_string(&path).is_ok_and(|current| current == generated);
        if !unchanged {
            crate::write(&path, &generated)?;
            written.push(document.generated_path);
        }
    }
    Ok(written)
}

/// Generates the code of one checked-in document, which must describe an api-version of its
/// channel (a stable document in the preview's place, or the reverse, is an error).
fn generate_document(root: &Path, document: Document) -> Result<String> {
    let spec_text = crate::read_to_string(&root.join(document.spec_path))?;
    let parsed: Value = crate::parse_json(&spec_text, document.spec_path)?;
    if Channel::of_document(&parsed) != document.channel {
        return Err(error!(
            "{} must describe a {} api-version, but its info.version is {:?}; import it with \
             `cargo xtask import-spec <file>`, which puts each document in its place",
            document.spec_path,
            match document.channel {
                Channel::Stable => "stable",
                Channel::Preview => "preview",
            },
            parsed
                .pointer("/info/version")
                .and_then(Value::as_str)
                .unwrap_or("(none)")
        ));
    }
    generate(&spec_text, document.spec_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(code: &str) -> Result<(String, usize)> {
        let mut n = 0;
        let tokens: TokenStream = code.parse().unwrap();
        rewrite_encode_path(tokens, &mut n).map(|t| (t.to_string(), n))
    }

    #[test]
    fn rewrites_calls_inside_macros_and_leaves_imports() {
        let (out, n) = rewrite(
            "use progenitor_client::{encode_path, Error}; \
             fn f(id: &str, b: &str) -> String { \
                 format!(\"{}/identities/{}/x/{}\", b, encode_path(&id.to_string()), encode_path(b)) \
             }",
        )
        .unwrap();
        assert_eq!(n, 2);
        assert!(
            out.contains("use progenitor_client :: { encode_path , Error }"),
            "{out}"
        );
        assert!(
            out.contains("crate :: hooks :: encode_path_parameter (& id . to_string ())"),
            "{out}"
        );
        assert!(
            out.contains("crate :: hooks :: encode_path_parameter (b)"),
            "{out}"
        );
        assert!(!out.contains("encode_path ("), "{out}");
    }

    #[test]
    fn a_qualified_call_is_an_error_not_a_silent_skip() {
        let err =
            rewrite("fn f(x: &str) -> String { progenitor_client::encode_path(x) }").unwrap_err();
        assert!(err.to_string().contains("path-qualified"), "{err}");
    }

    #[test]
    fn counts_path_parameters_per_operation() {
        let document = serde_json::json!({ "paths": {
            "/a/{x}/b/{y}": { "get": { "operationId": "G" }, "post": { "operationId": "P" },
                              "parameters": [] },
            "/c": { "get": { "operationId": "C" } },
        }});
        assert_eq!(path_parameter_count(&document), 4);
    }
}
