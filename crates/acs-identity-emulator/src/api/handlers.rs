//! The identity operations of the service (those of `/identities` and the Teams user exchange),
//! the emulator's own endpoints, and what the other operations (see `access`) share with them.

use axum::response::{IntoResponse as _, Response};
use http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::json;
use super::versions::{ApiVersion, Availability, SUPPORTED_API_VERSIONS};
use super::{App, percent_decode};
use crate::entra;
use crate::errors::ApiError;
use crate::store::{Profile, WriteOp};
use crate::tokens::{
    AccessTokenClaims, SCP_ACS_USER, SCP_TEAMS_USER, TokenProblem, format_expires_on,
    format_seconds, jti_to_stamp, stamp_to_jti, unix_nanos,
};

/// Scopes the service knows (2023-10-01 and later).
pub(crate) const KNOWN_SCOPES: [&str; 5] = [
    "chat",
    "voip",
    "chat.join",
    "chat.join.limited",
    "voip.join",
];
/// Token lifetime bounds and default, minutes.
const MIN_MINUTES: i64 = 60;
const MAX_MINUTES: i64 = 1440;
const DEFAULT_MINUTES: i64 = 1440;

/// The answer of `POST /emulator/tokens:validate` (and of `EmulatorHandle::validate_token`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenValidation {
    /// Whether the token is valid now: signed by this emulator, not expired, not revoked, its
    /// identity not deleted.
    pub valid: bool,
    /// Why not, when not: `malformed`, `unknownSigningKey`, `badSignature`, `expired`,
    /// `revoked`, `accessKeyRotated`, `identityDeleted`, `identityNotFound`, `identityNotOwned`.
    pub reason: Option<String>,
    /// The identity the token is for (`8:acs:...` or `8:orgid:...`), once its signature checks.
    pub identity: Option<String>,
    /// The token's scopes (`acsScope` split at commas), once its signature checks.
    pub scopes: Vec<String>,
    /// The token's expiry like the service formats `expiresOn`, once its signature checks.
    pub expires_on: Option<String>,
}

/// The answer of `GET /emulator/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok`, or `failing` while writes to the database fail (the answer is then 503).
    pub status: String,
    /// While writes fail: why (e.g. the disk is full). They are retried; `ok` returns once one
    /// succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_problem: Option<String>,
    /// The emulated resource's id.
    pub resource_id: String,
    /// Number of identities ever created (deleted ones included).
    pub identities: usize,
    /// The api-versions accepted.
    pub api_versions: Vec<String>,
}

pub(crate) fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let content_type = [(header::CONTENT_TYPE, "application/json; charset=utf-8")];
    (status, content_type, bytes).into_response()
}

pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Maps a failed store write to 503, logging what failed.
pub(super) fn write_failed(what: &'static str) -> impl FnOnce(String) -> ApiError {
    move |e| {
        tracing::error!(error = %e, "{what}: write failed");
        ApiError::storage()
    }
}

/// 404 unless `id` was created and not deleted.
pub(super) fn require_live(app: &App, id: &str) -> Result<(), ApiError> {
    match app.store.get(id) {
        Some(record) if !record.deleted => Ok(()),
        _ => Err(ApiError::identity_not_found()),
    }
}

pub(super) fn internal(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        format!("The emulator failed to {what}; see its log."),
    )
}

/// Decodes and checks an `{id}` path segment: 401 `IdentityNotOwned` unless it is
/// `8:acs:<this resource>_<suffix>`. Returns the id in canonical form (lower-case resource id).
fn owned_identity(app: &App, raw: &str) -> Result<String, ApiError> {
    let id = percent_decode(raw).ok_or_else(ApiError::identity_not_owned)?;
    let rest = id
        .strip_prefix("8:acs:")
        .ok_or_else(ApiError::identity_not_owned)?;
    let (resource, suffix) = rest
        .split_once('_')
        .ok_or_else(ApiError::identity_not_owned)?;
    if !resource.eq_ignore_ascii_case(&app.resource_id) || suffix.is_empty() {
        return Err(ApiError::identity_not_owned());
    }
    if resource == app.resource_id {
        // Already canonical (as every id the emulator hands out): no second copy.
        return Ok(id.into_owned());
    }
    Ok(format!("8:acs:{}_{suffix}", app.resource_id))
}

/// The known scopes named (case-insensitively), each once, in the order first given.
fn check_scopes(scopes: &[&str], target: &str) -> Result<Vec<&'static str>, ApiError> {
    if scopes.is_empty() {
        return Err(ApiError::validation(
            "Invalid scopes - Scopes field is required.",
            target,
        ));
    }
    let mut out: Vec<&'static str> = Vec::with_capacity(scopes.len());
    for s in scopes {
        let Some(&known) = KNOWN_SCOPES.iter().find(|k| k.eq_ignore_ascii_case(s)) else {
            return Err(ApiError::validation(
                format!(
                    "Invalid scopes - '{}' is not a scope. Valid scopes: {}.",
                    s.chars().take(64).collect::<String>(),
                    KNOWN_SCOPES.join(", ")
                ),
                target,
            ));
        };
        if !out.contains(&known) {
            out.push(known);
        }
    }
    Ok(out)
}

fn expires_in_minutes(
    version: ApiVersion,
    map: &serde_json::Map<String, Value>,
) -> Result<i64, ApiError> {
    if !version.has_custom_expiry() {
        return Ok(DEFAULT_MINUTES);
    }
    match json::optional_i32(map, "expiresInMinutes")? {
        None => Ok(DEFAULT_MINUTES),
        Some(m) if (MIN_MINUTES..=MAX_MINUTES).contains(&m) => Ok(m),
        Some(m) => Err(ApiError::validation(
            format!(
                "ExpiresInMinutes value {m} is invalid. Value must be within the [60, 1440] interval."
            ),
            "ExpiresInMinutes",
        )),
    }
}

/// An issued token as the service returns it: `{"expiresOn": ..., "token": ...}` (the key order
/// of a `serde_json` map, so the bytes are those the emulator always sent).
#[derive(Debug, Serialize)]
pub(super) struct IssuedToken {
    #[serde(rename = "expiresOn")]
    expires_on: String,
    token: String,
}

/// Signs a token for `id` expiring at `expires_nanos`.
pub(super) fn sign_token(
    app: &App,
    id: &str,
    scopes: &str,
    scp: u32,
    now_nanos: i128,
    expires_nanos: i128,
) -> Result<IssuedToken, ApiError> {
    let expires_on =
        format_expires_on(expires_nanos).ok_or_else(|| internal("format an expiry"))?;
    let iat = seconds(now_nanos);
    let csi = iat.to_string();
    let jti = stamp_to_jti(app.store.next_stamp());
    let claims = AccessTokenClaims {
        skypeid: id.strip_prefix("8:").unwrap_or(id),
        scp,
        csi: &csi,
        exp: seconds(expires_nanos),
        acs_scope: scopes,
        resource_id: &app.resource_id,
        iat,
        jti: &jti,
    };
    let token = app.signer.sign(&claims).map_err(|e| {
        tracing::error!(error = %e, "token signing failed");
        internal("sign a token")
    })?;
    Ok(IssuedToken { expires_on, token })
}

/// Records the new identity `id`, created at `now` (nanoseconds); returns once durable.
pub(super) async fn create(
    app: &App,
    id: &str,
    now: i128,
    profile: Profile,
) -> Result<(), ApiError> {
    let op = WriteOp::Create {
        id: id.to_owned(),
        created_ms: (now / 1_000_000).max(0) as u64,
        profile,
    };
    app.store
        .write(op)
        .await
        .map_err(write_failed("create an identity"))
}

/// Now, in nanoseconds rounded down to the 100 ns the service's timestamps carry.
pub(super) fn now_nanos(app: &App) -> i128 {
    let n = unix_nanos(app.clock.now());
    n - n.rem_euclid(100)
}

/// Whole seconds of a time in nanoseconds.
pub(super) fn seconds(nanos: i128) -> i64 {
    nanos.div_euclid(1_000_000_000) as i64
}

/// A token for the ACS user `id` issued at `now` (nanoseconds).
fn acs_token(
    app: &App,
    id: &str,
    scopes: &[&str],
    minutes: i64,
    now: i128,
) -> Result<IssuedToken, ApiError> {
    let expires = now + i128::from(minutes) * 60 * 1_000_000_000;
    sign_token(app, id, &scopes.join(","), SCP_ACS_USER, now, expires)
}

/// The `identity` of an answer: `{"id"}`, and under 2025-03-02-preview its `customId` and
/// `lastTokenIssuedAt` when it has them.
pub(super) fn identity_json(app: &App, version: ApiVersion, id: &str) -> Value {
    let mut identity = json!({ "id": id });
    if version.has(Availability::PreviewOnly) {
        let profile = app.store.get(id).map(|r| r.profile).unwrap_or_default();
        if let Some(custom_id) = profile.custom_id {
            identity["customId"] = Value::String(custom_id);
        }
        if let Some(at) = profile.last_token_issued_s.and_then(format_seconds) {
            identity["lastTokenIssuedAt"] = Value::String(at);
        }
    }
    identity
}

/// The longest custom id, in characters.
const MAX_CUSTOM_ID_CHARS: usize = 256;

/// `customId` of a create body (2025-03-02-preview): absent or null, or 1..=256 characters.
fn custom_id(
    version: ApiVersion,
    map: &serde_json::Map<String, Value>,
) -> Result<Option<&str>, ApiError> {
    let Some(value) = json::field(map, "customId").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    version.require_field(Availability::PreviewOnly, "customId")?;
    let custom_id = value
        .as_str()
        .ok_or_else(|| json::type_error("customId", "System.String"))?;
    let chars = custom_id.chars().count();
    if chars == 0 || chars > MAX_CUSTOM_ID_CHARS {
        return Err(ApiError::validation(
            format!(
                "CustomId value is invalid: its length {chars} must be within the [1, {MAX_CUSTOM_ID_CHARS}] interval."
            ),
            "customId",
        ));
    }
    Ok(Some(custom_id))
}

/// `POST /identities`.
pub(crate) async fn create_identity(
    app: &App,
    version: ApiVersion,
    body: &[u8],
) -> Result<Response, ApiError> {
    let map = json::object(body)?.unwrap_or_default();
    let scopes = match json::field(&map, "createTokenWithScopes") {
        None => None,
        Some(Value::Null) => {
            return Err(ApiError::validation(
                "CreateTokenWithScopes value is missing.",
                "CreateTokenWithScopes",
            ));
        }
        Some(v) => Some(check_scopes(
            &json::string_array(v, "createTokenWithScopes")?,
            "createTokenWithScopes",
        )?),
    };
    let minutes = expires_in_minutes(version, &map)?;
    let custom_id = custom_id(version, &map)?;

    let now = now_nanos(app);
    // A create with a custom id reads the mapping, then writes it: one at a time.
    let _serial = match custom_id {
        Some(_) => Some(app.store.serial.lock().await),
        None => None,
    };
    let existing = custom_id.and_then(|c| app.store.identity_for_custom_id(c));
    let id = match existing {
        Some(id) => id,
        None => {
            let id = format!("8:acs:{}_{}", app.resource_id, uuid::Uuid::new_v4());
            let profile = Profile {
                custom_id: custom_id.map(str::to_owned),
                last_token_issued_s: scopes.as_ref().map(|_| seconds(now)),
            };
            create(app, &id, now, profile).await?;
            id
        }
    };
    let token = match scopes {
        Some(scopes) => {
            let token = acs_token(app, &id, &scopes, minutes, now)?;
            app.store.token_issued(&id, seconds(now));
            Some(token)
        }
        None => None,
    };
    let mut result = json!({ "identity": identity_json(app, version, &id) });
    if let Some(token) = token {
        result["accessToken"] = json!(token);
    }
    Ok(json_response(StatusCode::CREATED, &result))
}

/// `GET /identities/{id}` (2025-03-02-preview): 200 `{"id","customId"?,"lastTokenIssuedAt"?}`.
pub(crate) fn get_identity(
    app: &App,
    version: ApiVersion,
    raw_id: &str,
) -> Result<Response, ApiError> {
    let id = owned_identity(app, raw_id)?;
    require_live(app, &id)?;
    Ok(json_response(
        StatusCode::OK,
        &identity_json(app, version, &id),
    ))
}

/// `POST /identities/{id}/:issueAccessToken`.
pub(crate) fn issue_token(
    app: &App,
    version: ApiVersion,
    raw_id: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let id = owned_identity(app, raw_id)?;
    let map = json::object(body)?.unwrap_or_default();
    let scopes = json::string_array(json::required(&map, "scopes")?, "scopes")?;
    let scopes = check_scopes(&scopes, "scopes")?;
    let minutes = expires_in_minutes(version, &map)?;
    require_live(app, &id)?;
    let now = now_nanos(app);
    let token = acs_token(app, &id, &scopes, minutes, now)?;
    app.store.token_issued(&id, seconds(now));
    Ok(json_response(StatusCode::OK, &token))
}

/// `POST /identities/{id}/:revokeAccessTokens`.
pub(crate) async fn revoke_tokens(app: &App, raw_id: &str) -> Result<Response, ApiError> {
    let id = owned_identity(app, raw_id)?;
    require_live(app, &id)?;
    let stored_before = app.store.get(&id).map_or(0, |r| r.revoked_before);
    let stamp = app.store.next_stamp();
    app.store
        .write(WriteOp::Revoke {
            id: id.clone(),
            stamp,
        })
        .await
        .map_err(write_failed("revoke"))?;
    app.controls
        .record_revocation(&id, stored_before, stamp, app.clock.now());
    Ok(no_content())
}

/// `DELETE /identities/{id}`: 204; again 204 for an identity already deleted; 404 for one never
/// created.
pub(crate) async fn delete_identity(app: &App, raw_id: &str) -> Result<Response, ApiError> {
    let id = owned_identity(app, raw_id)?;
    match app.store.get(&id) {
        None => return Err(ApiError::identity_not_found()),
        Some(record) if record.deleted => return Ok(no_content()),
        Some(_) => {}
    }
    let stamp = app.store.next_stamp();
    app.store
        .write(WriteOp::Delete { id, stamp })
        .await
        .map_err(write_failed("delete"))?;
    Ok(no_content())
}

/// An Entra user's token presented to an exchange, decoded (its signature is not checked):
/// 401 `InvalidAccessToken` unless it is a JWT for one of `audiences` in force now (not expired,
/// no `nbf` or `iat` in the future). Returns it with the expiry (nanoseconds) of the exchanged
/// token: the Entra token's, at most 1440 minutes away (the longest an ACS token lives; an
/// unsigned token could say year 9999).
pub(super) fn user_token(
    app: &App,
    token: &str,
    audiences: &[&str],
) -> Result<(entra::DecodedJwt, i128), ApiError> {
    let jwt = entra::decode_unverified(token).ok_or_else(ApiError::invalid_access_token)?;
    let now = app.clock.now();
    if !audiences.iter().any(|a| jwt.has_audience(a)) || !jwt.in_force_at(now) {
        return Err(ApiError::invalid_access_token());
    }
    let exp = jwt
        .seconds("exp")
        .ok_or_else(ApiError::invalid_access_token)?;
    let longest = unix_nanos(now) + i128::from(MAX_MINUTES) * 60 * 1_000_000_000;
    let expires = (i128::from(exp) * 1_000_000_000).min(longest);
    if format_expires_on(expires).is_none() {
        return Err(ApiError::invalid_access_token());
    }
    Ok((jwt, expires))
}

/// `POST /teamsUser/:exchangeAccessToken`.
pub(crate) fn exchange_teams_token(app: &App, body: &[u8]) -> Result<Response, ApiError> {
    let map = json::object(body)?.unwrap_or_default();
    let token = json::required_string(&map, "token")?;
    let app_id = json::required_string(&map, "appId")?;
    let user_id = json::required_string(&map, "userId")?;

    let (jwt, expires) = user_token(app, token, &[entra::TEAMS_EXCHANGE_AUDIENCE])?;
    if !jwt.app_id().is_some_and(|a| a.eq_ignore_ascii_case(app_id)) {
        return Err(ApiError::validation(
            "AAD application is not the expected one.",
            "appId",
        ));
    }
    // The service compares userId with the token's `oid`, an Entra object id: always a GUID.
    if uuid::Uuid::try_parse(user_id).is_err() {
        return Err(ApiError::validation(
            "Provided AAD token issued for unexpected user.",
            "userId",
        )
        .with_inner(
            "InvalidUserId",
            "userId must be the Teams user's Entra ID object id, a GUID.",
        ));
    }
    if !jwt
        .str_claim("oid")
        .is_some_and(|o| o.eq_ignore_ascii_case(user_id))
    {
        return Err(ApiError::validation(
            "Provided AAD token issued for unexpected user.",
            "userId",
        ));
    }
    let id = format!("8:orgid:{user_id}");
    let token = sign_token(
        app,
        &id,
        "chat,voip",
        SCP_TEAMS_USER,
        now_nanos(app),
        expires,
    )?;
    Ok(json_response(StatusCode::OK, &token))
}

/// `GET /emulator/health`.
pub(crate) fn health(app: &App) -> Response {
    let health = health_value(app);
    let status = match health.storage_problem {
        None => StatusCode::OK,
        Some(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    json_response(status, &health)
}

/// The health report of `GET /emulator/health`.
pub(crate) fn health_value(app: &App) -> Health {
    let storage_problem = app.store.problem();
    Health {
        status: storage_problem.as_ref().map_or("ok", |_| "failing").into(),
        storage_problem,
        resource_id: app.resource_id.clone(),
        identities: app.store.identity_count(),
        api_versions: SUPPORTED_API_VERSIONS.map(String::from).to_vec(),
    }
}

/// `POST /emulator/tokens:validate` with `{"token": "..."}`.
pub(crate) fn validate_token_http(app: &App, body: &[u8]) -> Result<Response, ApiError> {
    let map = json::object(body)?.unwrap_or_default();
    // The target is the field as sent (`token`), also when it is missing.
    let token = json::required_string(&map, "token").map_err(|e| e.with_target("token"))?;
    Ok(json_response(StatusCode::OK, &validate_token(app, token)))
}

/// Whether `token` is valid now, and why not.
pub(crate) fn validate_token(app: &App, token: &str) -> TokenValidation {
    let claims = match app.signer.verify(token) {
        Ok(c) => c,
        Err(problem) => {
            let reason = match problem {
                TokenProblem::Malformed => "malformed",
                TokenProblem::UnknownSigningKey => "unknownSigningKey",
                TokenProblem::BadSignature => "badSignature",
            };
            return TokenValidation {
                reason: Some(reason.into()),
                ..TokenValidation::default()
            };
        }
    };
    let identity = format!("8:{}", claims.skypeid);
    let reason = (|| {
        let stamp = jti_to_stamp(&claims.jti).ok_or("malformed")?;
        if claims.exp <= seconds(unix_nanos(app.clock.now())) {
            return Err("expired");
        }
        if stamp < app.store.tokens_valid_from {
            return Err("accessKeyRotated");
        }
        if identity.starts_with("8:orgid:") {
            return Ok(());
        }
        let own = identity
            .strip_prefix("8:acs:")
            .and_then(|rest| rest.strip_prefix(app.resource_id.as_str()))
            .is_some_and(|rest| rest.starts_with('_'));
        if !own {
            return Err("identityNotOwned");
        }
        // A reset forgot the identity the token was issued to, even if an exchange made an
        // identity of the same (derived) id again since.
        if stamp < app.store.reset_stamp() {
            return Err("identityNotFound");
        }
        match app.store.get(&identity) {
            None => Err("identityNotFound"),
            Some(r) if r.deleted => Err("identityDeleted"),
            Some(r)
                if stamp
                    < app
                        .controls
                        .revoked_before(&identity, r.revoked_before, app.clock.now()) =>
            {
                Err("revoked")
            }
            Some(_) => Ok(()),
        }
    })()
    .err();
    TokenValidation {
        valid: reason.is_none(),
        reason: reason.map(String::from),
        scopes: claims
            .acs_scope
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        expires_on: format_expires_on(i128::from(claims.exp) * 1_000_000_000),
        identity: Some(identity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_encodes_like_the_json_map_it_replaced() {
        let t = IssuedToken {
            expires_on: "2022-08-26T20:03:35.4402106+00:00".into(),
            token: "a.b.c".into(),
        };
        let map = json!({ "token": "a.b.c", "expiresOn": "2022-08-26T20:03:35.4402106+00:00" });
        assert_eq!(
            serde_json::to_vec(&t).unwrap(),
            serde_json::to_vec(&map).unwrap()
        );
        assert_eq!(serde_json::to_value(&t).unwrap(), map);
    }
}
