//! The `/access/...` operations: Teams Phone extension (TPE) assignments and their token
//! exchange (2025-06-30 and later, and 2025-03-02-preview), and the Entra ID assignments and
//! user exchange (2025-03-02-preview).
//!
//! Assignments are managed with the resource's credentials (checked before these handlers run);
//! an exchange is authorised by the end user's Entra token alone (`Authorization: Bearer ...`),
//! decoded by [`crate::entra`] without checking its signature.

use axum::response::Response;
use http::{HeaderMap, StatusCode, header};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::handlers::{
    create, json_response, no_content, now_nanos, seconds, sign_token, user_token, write_failed,
};
use super::{App, json, percent_decode, query_value};
use crate::entra::{self, DecodedJwt};
use crate::errors::ApiError;
use crate::store::{
    EntraAssignment, Profile, TeamsExtensionAssignment, TeamsExtensionKey, WriteOp,
};
use crate::tokens::SCP_ACS_USER;

/// An assignment as the service returns it: its object id (and Teams extension tenant id)
/// first, then its stored fields.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AssignmentJson<'a, T> {
    object_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_id: Option<&'a str>,
    #[serde(flatten)]
    assignment: &'a T,
}

fn entra_json<'a>(
    object_id: &'a str,
    assignment: &'a EntraAssignment,
) -> AssignmentJson<'a, EntraAssignment> {
    AssignmentJson {
        object_id,
        tenant_id: None,
        assignment,
    }
}

/// The scopes (`acsScope`) of the tokens both exchanges issue (emulator's choice).
const EXCHANGED_SCOPES: &str = "chat,voip";
/// The most client ids an assignment may list (emulator's choice).
const MAX_CLIENT_IDS: usize = 100;
/// The longest client id, in characters (emulator's choice).
const MAX_CLIENT_ID_CHARS: usize = 128;
/// The longest principal type (emulator's choice).
const MAX_PRINCIPAL_TYPE_CHARS: usize = 64;
/// Entra assignments per page of `GET /access/entra/assignments` (emulator's choice).
pub(crate) const ENTRA_PAGE_SIZE: usize = 100;

/// A path segment or body field that must be a GUID (an Entra tenant or object id), in its
/// canonical lower-case form: 400 `ValidationError` naming `field` otherwise.
fn guid(text: &str, field: &str) -> Result<String, ApiError> {
    uuid::Uuid::try_parse(text)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| {
            ApiError::validation(
                format!(
                    "{} '{}' is invalid: it must be a GUID.",
                    json::capitalize(field),
                    text.chars().take(64).collect::<String>()
                ),
                field,
            )
        })
}

/// A GUID path segment, percent-decoded first.
fn guid_segment(raw: &str, field: &str) -> Result<String, ApiError> {
    let decoded = percent_decode(raw).unwrap_or_default();
    guid(&decoded, field)
}

/// `principalType`: required; an open set, so any name of 1..=64 ASCII letters and digits
/// (every documented type is one camelCase word) is kept as sent.
fn principal_type(map: &Map<String, Value>) -> Result<String, ApiError> {
    let value = json::required_string(map, "principalType")?;
    let well_formed = !value.is_empty()
        && value.len() <= MAX_PRINCIPAL_TYPE_CHARS
        && value.bytes().all(|b| b.is_ascii_alphanumeric());
    if !well_formed {
        return Err(ApiError::validation(
            format!(
                "PrincipalType '{}' is invalid: it must be 1 to {MAX_PRINCIPAL_TYPE_CHARS} ASCII letters or digits, such as user or resourceAccount.",
                value.chars().take(64).collect::<String>()
            ),
            "principalType",
        ));
    }
    Ok(value.to_owned())
}

/// `clientIds`: absent or null (`None`), or up to 100 non-empty strings of at most 128
/// characters.
fn client_ids(map: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiError> {
    let ids = match json::field(map, "clientIds") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => json::string_array(v, "clientIds")?,
    };
    let bad = ids
        .iter()
        .find(|id| id.is_empty() || id.chars().count() > MAX_CLIENT_ID_CHARS);
    if ids.len() > MAX_CLIENT_IDS || bad.is_some() {
        return Err(ApiError::validation(
            format!(
                "ClientIds is invalid: at most {MAX_CLIENT_IDS} application ids, each 1 to {MAX_CLIENT_ID_CHARS} characters."
            ),
            "clientIds",
        ));
    }
    Ok(Some(ids.into_iter().map(str::to_owned).collect()))
}

/// Whether an assignment's client ids let the token's application in: any application when
/// the list is absent or empty, else only those listed (compared case-insensitively).
fn client_allowed(client_ids: Option<&[String]>, jwt: &DecodedJwt) -> bool {
    match client_ids {
        None | Some([]) => true,
        Some(ids) => jwt
            .app_id()
            .is_some_and(|app| ids.iter().any(|id| id.eq_ignore_ascii_case(app))),
    }
}

/// 403 `Forbidden` for an exchange the resource's assignments do not allow; `inner` says why.
fn forbidden(inner_code: &str, inner_message: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "Forbidden",
        "The user is not allowed to exchange tokens for this resource.",
    )
    .with_inner(inner_code, inner_message)
}

fn no_assignment(what: &str) -> ApiError {
    forbidden("AssignmentNotFound", what)
}

fn client_not_allowed() -> ApiError {
    forbidden(
        "ClientNotAllowed",
        "The application the token was issued to (appid or azp) is not among the assignment's clientIds.",
    )
}

/// 404 for an assignment that does not exist (emulator's choice of code).
fn assignment_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "AssignmentNotFound",
        "The assignment doesn't exist.",
    )
}

/// The Entra token of `Authorization: Bearer <token>`: 401 `InvalidAccessToken` when there is
/// none.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("Bearer") || token.trim().is_empty() {
        return Err(ApiError::invalid_access_token().with_inner(
            "MissingBearerToken",
            "The exchange needs the user's Entra ID token as Authorization: Bearer <token>.",
        ));
    }
    Ok(token.trim())
}

/// The token's `tid` and `oid` as canonical GUIDs: 401 `InvalidAccessToken` without them.
fn tenant_and_object(jwt: &DecodedJwt) -> Result<(String, String), ApiError> {
    let claim = |name: &str| {
        jwt.str_claim(name)
            .and_then(|v| uuid::Uuid::try_parse(v).ok())
            .map(|u| u.hyphenated().to_string())
            .ok_or_else(|| {
                ApiError::invalid_access_token().with_inner(
                    "InvalidClaims",
                    "The token needs the user's tenant (tid) and object id (oid), both GUIDs.",
                )
            })
    };
    Ok((claim("tid")?, claim("oid")?))
}

/// Issues a token for the ACS identity `id` that expires with the Entra token, recording the
/// identity first when it is new: `{"identity":{"id"},"accessToken":{...}}`.
async fn exchanged(app: &App, id: String, expires: i128) -> Result<Response, ApiError> {
    let now = now_nanos(app);
    match app.store.get(&id) {
        Some(record) if record.deleted => return Err(ApiError::identity_not_found()),
        Some(_) => {}
        None => {
            let profile = Profile {
                custom_id: None,
                last_token_issued_s: Some(seconds(now)),
            };
            create(app, &id, now, profile).await?;
        }
    }
    let token = sign_token(app, &id, EXCHANGED_SCOPES, SCP_ACS_USER, now, expires)?;
    app.store.token_issued(&id, seconds(now));
    Ok(json_response(
        StatusCode::OK,
        &json!({ "identity": { "id": id }, "accessToken": token }),
    ))
}

// ---- Teams Phone extension --------------------------------------------------------------

/// The ACS identity a Teams Phone extension assignment's user gets.
fn teams_extension_identity(app: &App, (tenant, object): &TeamsExtensionKey) -> String {
    format!("8:acs:{}_{tenant}_{object}", app.resource_id)
}

fn teams_extension_key(tenant: &str, object: &str) -> Result<TeamsExtensionKey, ApiError> {
    Ok((
        guid_segment(tenant, "tenantId")?,
        guid_segment(object, "objectId")?,
    ))
}

/// `GET /access/teamsExtension/tenants/{tenantId}/assignments/{objectId}`.
pub(crate) fn get_teams_extension_assignment(
    app: &App,
    tenant: &str,
    object: &str,
) -> Result<Response, ApiError> {
    let key = teams_extension_key(tenant, object)?;
    let assignment = app
        .store
        .teams_extension_assignment(&key)
        .ok_or_else(assignment_not_found)?;
    let answer = AssignmentJson {
        object_id: &key.1,
        tenant_id: Some(&key.0),
        assignment: &assignment,
    };
    Ok(json_response(StatusCode::OK, &answer))
}

/// `PUT /access/teamsExtension/tenants/{tenantId}/assignments/{objectId}`, body
/// `{"principalType","clientIds"?}`: 201 when new, 200 when replaced.
pub(crate) async fn put_teams_extension_assignment(
    app: &App,
    tenant: &str,
    object: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let key = teams_extension_key(tenant, object)?;
    let map = json::object(body)?.unwrap_or_default();
    let assignment = TeamsExtensionAssignment {
        principal_type: principal_type(&map)?,
        client_ids: client_ids(&map)?,
    };
    let _serial = app.store.serial.lock().await;
    let status = match app.store.teams_extension_assignment(&key) {
        Some(_) => StatusCode::OK,
        None => StatusCode::CREATED,
    };
    app.store
        .write(WriteOp::PutTeamsExtensionAssignment {
            key: key.clone(),
            assignment: assignment.clone(),
        })
        .await
        .map_err(write_failed("put a Teams extension assignment"))?;
    let answer = AssignmentJson {
        object_id: &key.1,
        tenant_id: Some(&key.0),
        assignment: &assignment,
    };
    Ok(json_response(status, &answer))
}

/// `DELETE /access/teamsExtension/tenants/{tenantId}/assignments/{objectId}`: 204 (also when
/// there was none: retry-safe), and the user's ACS tokens are revoked.
pub(crate) async fn delete_teams_extension_assignment(
    app: &App,
    tenant: &str,
    object: &str,
) -> Result<Response, ApiError> {
    let key = teams_extension_key(tenant, object)?;
    let identity = teams_extension_identity(app, &key);
    let stored_before = app.store.get(&identity).map_or(0, |r| r.revoked_before);
    let stamp = app.store.next_stamp();
    app.store
        .write(WriteOp::DeleteTeamsExtensionAssignment {
            key,
            identity: identity.clone(),
            stamp,
        })
        .await
        .map_err(write_failed("delete a Teams extension assignment"))?;
    if app.store.get(&identity).is_some() {
        app.controls
            .record_revocation(&identity, stored_before, stamp, app.clock.now());
    }
    Ok(no_content())
}

/// `POST /access/teamsExtension/:exchangeAccessToken`, body `{}`, the Teams user's Entra token
/// as the bearer token.
pub(crate) async fn exchange_teams_extension_token(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    json::object(body)?; // `{}` or empty; extra fields are ignored
    let (jwt, expires) = user_token(app, bearer(headers)?, &entra::TEAMS_EXTENSION_AUDIENCES)?;
    if !jwt.has_scope(entra::TEAMS_EXTENSION_SCOPE) {
        return Err(ApiError::invalid_access_token().with_inner(
            "MissingScope",
            "The token's scp must include TeamsExtension.ManageCalls.",
        ));
    }
    let key = tenant_and_object(&jwt)?;
    let assignment = app.store.teams_extension_assignment(&key).ok_or_else(|| {
        no_assignment("There is no Teams Phone extension assignment for the token's tid and oid.")
    })?;
    if !client_allowed(assignment.client_ids.as_deref(), &jwt) {
        return Err(client_not_allowed());
    }
    exchanged(app, teams_extension_identity(app, &key), expires).await
}

// ---- Entra ID (2025-03-02-preview) ------------------------------------------------------

/// A page (or the set part of an update) of Entra assignments as the service returns it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntraAssignmentsJson<'a> {
    value: Vec<AssignmentJson<'a, EntraAssignment>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_link: Option<String>,
}

/// An Entra assignment body `{"tenantId","principalType","clientIds"}` (all required).
fn entra_assignment(map: &Map<String, Value>) -> Result<EntraAssignment, ApiError> {
    let tenant_id = guid(json::required_string(map, "tenantId")?, "tenantId")?;
    let principal_type = principal_type(map)?;
    let client_ids = client_ids(map)?.ok_or_else(|| json::missing("clientIds"))?;
    Ok(EntraAssignment {
        tenant_id,
        principal_type,
        client_ids,
    })
}

/// `GET /access/entra/assignments/{objectId}`.
pub(crate) fn get_entra_assignment(app: &App, object: &str) -> Result<Response, ApiError> {
    let object_id = guid_segment(object, "objectId")?;
    let assignment = app
        .store
        .entra_assignment(&object_id)
        .ok_or_else(assignment_not_found)?;
    Ok(json_response(
        StatusCode::OK,
        &entra_json(&object_id, &assignment),
    ))
}

/// `PUT /access/entra/assignments/{objectId}`: 201 when new, 200 when replaced.
pub(crate) async fn put_entra_assignment(
    app: &App,
    object: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let object_id = guid_segment(object, "objectId")?;
    let assignment = entra_assignment(&json::object(body)?.unwrap_or_default())?;
    let _serial = app.store.serial.lock().await;
    let status = match app.store.entra_assignment(&object_id) {
        Some(_) => StatusCode::OK,
        None => StatusCode::CREATED,
    };
    app.store
        .write(WriteOp::UpdateEntraAssignments {
            changes: vec![(object_id.clone(), Some(assignment.clone()))],
        })
        .await
        .map_err(write_failed("put an Entra assignment"))?;
    Ok(json_response(status, &entra_json(&object_id, &assignment)))
}

/// `DELETE /access/entra/assignments/{objectId}`: 204 (also when there was none).
pub(crate) async fn delete_entra_assignment(app: &App, object: &str) -> Result<Response, ApiError> {
    let object_id = guid_segment(object, "objectId")?;
    app.store
        .write(WriteOp::UpdateEntraAssignments {
            changes: vec![(object_id, None)],
        })
        .await
        .map_err(write_failed("delete an Entra assignment"))?;
    Ok(no_content())
}

/// `GET /access/entra/assignments[?continuationToken=<object id>]`: `{"value":[...],
/// "nextLink"?}`, 100 a page in object id order; `nextLink` is the same URL with the
/// continuation token of the next page.
pub(crate) fn list_entra_assignments(
    app: &App,
    version: &str,
    endpoint: &str,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let after = match query_value(query, "continuationToken") {
        None => None,
        Some(token) => Some(guid(&token, "continuationToken")?),
    };
    let mut page = app
        .store
        .entra_assignments(after.as_deref(), ENTRA_PAGE_SIZE + 1);
    let more = page.len() > ENTRA_PAGE_SIZE;
    page.truncate(ENTRA_PAGE_SIZE);
    let next_link = match page.last() {
        Some((last, _)) if more => Some(format!(
            "{endpoint}/access/entra/assignments?api-version={version}&continuationToken={last}"
        )),
        _ => None,
    };
    let answer = EntraAssignmentsJson {
        value: page.iter().map(|(k, a)| entra_json(k, a)).collect(),
        next_link,
    };
    Ok(json_response(StatusCode::OK, &answer))
}

/// `PATCH /access/entra/assignments` (`application/merge-patch+json`): a map object id ->
/// assignment (set) or null (removed), checked whole before anything is written, then written
/// in one commit. 200 `{"value":[the assignments set]}`; 204 when it only removed.
pub(crate) async fn update_entra_assignments(app: &App, body: &[u8]) -> Result<Response, ApiError> {
    let map = json::object(body)?.unwrap_or_default();
    let mut changes = Vec::with_capacity(map.len());
    for (key, value) in &map {
        let object_id = guid(key, "objectId")?;
        if changes.iter().any(|(k, _)| *k == object_id) {
            return Err(ApiError::validation(
                format!("ObjectId {object_id} is given twice."),
                "objectId",
            ));
        }
        let assignment = match value {
            Value::Null => None,
            Value::Object(fields) => Some(entra_assignment(fields)?),
            _ => {
                return Err(json::type_error(
                    key,
                    "EntraAssignmentCreateOrUpdateRequest",
                ));
            }
        };
        changes.push((object_id, assignment));
    }
    if !changes.is_empty() {
        app.store
            .write(WriteOp::UpdateEntraAssignments {
                changes: changes.clone(),
            })
            .await
            .map_err(write_failed("update Entra assignments"))?;
    }
    let mut set: Vec<_> = changes
        .iter()
        .filter_map(|(k, a)| a.as_ref().map(|a| entra_json(k, a)))
        .collect();
    if set.is_empty() {
        return Ok(no_content());
    }
    set.sort_by(|a, b| a.object_id.cmp(b.object_id));
    let answer = EntraAssignmentsJson {
        value: set,
        next_link: None,
    };
    Ok(json_response(StatusCode::OK, &answer))
}

/// Whether an assignment lets the token's user in, and its client ids: a `user` assignment of
/// the token's `oid`, a `group` assignment of one of its `groups`, or the `tenant` assignment
/// of its `tid`, each of the token's tenant.
fn entra_assignments_for(
    app: &App,
    jwt: &DecodedJwt,
    tenant: &str,
    object: &str,
) -> Vec<EntraAssignment> {
    let mut candidates: Vec<(String, &str)> =
        vec![(object.to_owned(), "user"), (tenant.to_owned(), "tenant")];
    for group in jwt.groups() {
        if let Ok(g) = uuid::Uuid::try_parse(group) {
            candidates.push((g.hyphenated().to_string(), "group"));
        }
    }
    candidates
        .into_iter()
        .filter_map(|(object_id, kind)| {
            app.store.entra_assignment(&object_id).filter(|a| {
                a.principal_type.eq_ignore_ascii_case(kind)
                    && a.tenant_id.eq_ignore_ascii_case(tenant)
            })
        })
        .collect()
}

/// `POST /access/entra/:exchangeAccessToken` (2025-03-02-preview), body `{}`, the Entra user's
/// token (audience `https://communication.azure.com/clients`) as the bearer token: a token for
/// `8:acs:<resource id>_wf_<tenant id>_<object id>`.
pub(crate) async fn exchange_entra_token(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    json::object(body)?; // `{}` or empty; extra fields are ignored
    let (jwt, expires) = user_token(app, bearer(headers)?, &[entra::ENTRA_EXCHANGE_AUDIENCE])?;
    let (tenant, object) = tenant_and_object(&jwt)?;
    let assignments = entra_assignments_for(app, &jwt, &tenant, &object);
    if assignments.is_empty() {
        return Err(no_assignment(
            "There is no Entra assignment for the token's user (oid), groups or tenant (tid).",
        ));
    }
    if !assignments
        .iter()
        .any(|a| client_allowed(Some(&a.client_ids), &jwt))
    {
        return Err(client_not_allowed());
    }
    let id = format!("8:acs:{}_wf_{tenant}_{object}", app.resource_id);
    exchanged(app, id, expires).await
}
