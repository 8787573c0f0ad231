//! The HTTP API: routing, body reading, common headers, request logging.
//!
//! Paths are matched by hand (not by axum's router) because identity ids contain `:` and arrive
//! percent-encoded or raw, and action segments start with `:`.

mod access;
mod control;
mod handlers;
mod json;
pub(crate) mod versions;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use acs_auth::{AccessKey, Clock};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};

use crate::errors::ApiError;
use crate::operation::Operation;
use crate::store::Store;
use crate::tokens::TokenSigner;
use versions::Availability;

pub use handlers::{Health, TokenValidation};
pub(crate) use handlers::{health_value, validate_token};

/// Everything a request handler needs.
pub(crate) struct App {
    pub(crate) access_key: AccessKey,
    pub(crate) resource_id: String,
    pub(crate) store: Store,
    pub(crate) signer: TokenSigner,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) max_body_bytes: usize,
    /// Emulator-only controls: faults, throttling, revocation delay.
    pub(crate) controls: crate::controls::Controls,
}

impl App {
    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }
}

/// The axum router: one handler that routes by hand.
pub(crate) fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(dispatch).with_state(app)
}

/// A route; an `{id}` segment borrows the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route<'a> {
    Health,
    Jwks,
    ValidateToken,
    Identities,
    /// `GET` (2025-03-02-preview) or `DELETE /identities/{id}`.
    Identity(&'a str),
    IssueToken(&'a str),
    RevokeTokens(&'a str),
    TeamsExchange,
    /// `/access/teamsExtension/tenants/{tenantId}/assignments/{objectId}`.
    TeamsExtensionAssignment(&'a str, &'a str),
    TeamsExtensionExchange,
    /// `/access/entra/assignments`: list (`GET`) and bulk update (`PATCH`).
    EntraAssignments,
    /// `/access/entra/assignments/{objectId}`.
    EntraAssignment(&'a str),
    EntraExchange,
    /// Another `/emulator/{name}[/{id}]` endpoint (see `control`).
    Control(&'a str, Option<&'a str>),
    NotFound,
}

impl Route<'_> {
    /// The methods of the route, as the `Allow` header lists them.
    fn allowed(&self) -> &'static str {
        match self {
            Route::Health | Route::Jwks => "GET",
            Route::Identity(_) => "GET, DELETE",
            Route::TeamsExtensionAssignment(..) | Route::EntraAssignment(_) => "GET, PUT, DELETE",
            Route::EntraAssignments => "GET, PATCH",
            Route::NotFound | Route::Control(..) => "",
            _ => "POST",
        }
    }

    /// Which api-versions have the operation of this route and method.
    fn availability(&self, method: &http::Method) -> Availability {
        match self {
            Route::Identity(_) if method == http::Method::GET => Availability::PreviewOnly,
            Route::TeamsExtensionAssignment(..) | Route::TeamsExtensionExchange => {
                Availability::TeamsExtension
            }
            Route::EntraAssignments | Route::EntraAssignment(_) | Route::EntraExchange => {
                Availability::PreviewOnly
            }
            _ => Availability::All,
        }
    }

    /// Whether the route is an exchange, authorised by the end user's Entra token alone rather
    /// than by the resource's credentials.
    fn is_user_exchange(&self) -> bool {
        matches!(self, Route::TeamsExtensionExchange | Route::EntraExchange)
    }
}

/// Classifies a raw path (`id` segments kept raw: still percent-encoded if sent so).
fn classify(path: &str) -> Route<'_> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    // No route has more than six segments: collect at most that many, without allocating.
    let mut segments = [""; 6];
    let mut count = 0;
    for segment in path.split('/').skip(1) {
        let Some(slot) = segments.get_mut(count) else {
            return Route::NotFound;
        };
        *slot = segment;
        count += 1;
    }
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match &segments[..count] {
        [e, "health"] if eq(e, "emulator") => Route::Health,
        [e, "jwks"] if eq(e, "emulator") => Route::Jwks,
        [e, v] if eq(e, "emulator") && eq(v, "tokens:validate") => Route::ValidateToken,
        [e, name] if eq(e, "emulator") => Route::Control(name, None),
        [e, name, id] if eq(e, "emulator") => Route::Control(name, Some(id)),
        [i] if eq(i, "identities") => Route::Identities,
        [i, id] if eq(i, "identities") && !id.is_empty() => Route::Identity(id),
        [i, id, a] if eq(i, "identities") && !id.is_empty() && eq(a, ":issueAccessToken") => {
            Route::IssueToken(id)
        }
        [i, id, a] if eq(i, "identities") && !id.is_empty() && eq(a, ":revokeAccessTokens") => {
            Route::RevokeTokens(id)
        }
        [t, a] if eq(t, "teamsUser") && eq(a, ":exchangeAccessToken") => Route::TeamsExchange,
        [a, t, x]
            if eq(a, "access") && eq(t, "teamsExtension") && eq(x, ":exchangeAccessToken") =>
        {
            Route::TeamsExtensionExchange
        }
        [a, t, ts, tenant, s, object]
            if eq(a, "access")
                && eq(t, "teamsExtension")
                && eq(ts, "tenants")
                && eq(s, "assignments")
                && !tenant.is_empty()
                && !object.is_empty() =>
        {
            Route::TeamsExtensionAssignment(tenant, object)
        }
        [a, e, x] if eq(a, "access") && eq(e, "entra") && eq(x, ":exchangeAccessToken") => {
            Route::EntraExchange
        }
        [a, e, s] if eq(a, "access") && eq(e, "entra") && eq(s, "assignments") => {
            Route::EntraAssignments
        }
        [a, e, s, object]
            if eq(a, "access") && eq(e, "entra") && eq(s, "assignments") && !object.is_empty() =>
        {
            Route::EntraAssignment(object)
        }
        _ => Route::NotFound,
    }
}

/// The value of the query parameter `name` (compared case-insensitively, escapes decoded):
/// `None` when absent, `Some(None)` when its value does not decode.
pub(crate) fn query_value<'a>(query: Option<&'a str>, name: &str) -> Option<Option<Cow<'a, str>>> {
    query.unwrap_or("").split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        percent_decode(k, true)
            .filter(|k| k.eq_ignore_ascii_case(name))
            .map(|_| percent_decode(v, true))
    })
}

/// Decodes the `%XX` escapes of a path segment or, with `plus_as_space`, of a query component
/// (`+` is then a space). `None` for a bad escape or a non-UTF-8 result. Borrows `text` when it
/// has nothing to decode (the common case of `api-version=...`), so most requests allocate
/// nothing here.
pub(crate) fn percent_decode(text: &str, plus_as_space: bool) -> Option<Cow<'_, str>> {
    let b = text.as_bytes();
    if !b.iter().any(|&c| c == b'%' || (plus_as_space && c == b'+')) {
        return Some(Cow::Borrowed(text));
    }
    let hex = |c: u8| char::from(c).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let (hi, lo) = (hex(*b.get(i + 1)?)?, hex(*b.get(i + 2)?)?);
                // Two hex digits: at most 0xFF.
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// Reads the whole body, refusing more than `limit` bytes with 413.
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("The request body is larger than {limit} bytes."),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut out = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidRequestBody",
                "The request body could not be read completely.",
            )
        })?;
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

// Response header names made once: inserting by `&str` copies a custom name into a new
// allocation on every response.
const API_SUPPORTED_VERSIONS: HeaderName = HeaderName::from_static("api-supported-versions");
const MS_CV: HeaderName = HeaderName::from_static("ms-cv");
const X_PROCESSING_TIME: HeaderName = HeaderName::from_static("x-processing-time");
const X_MS_CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");

fn random_ms_cv() -> String {
    use base64::Engine as _;
    let id = uuid::Uuid::new_v4();
    // 16 bytes are 22 base64 characters without padding, then `.0`.
    let mut out = String::with_capacity(24);
    base64::engine::general_purpose::STANDARD_NO_PAD.encode_string(id.as_bytes(), &mut out);
    out.push_str(".0");
    out
}

async fn dispatch(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // A clone of the `Uri` shares its bytes (no copy of the path).
    let uri = request.uri().clone();
    let path = uri.path();
    let client_request_id = request.headers().get(&X_MS_CLIENT_REQUEST_ID).cloned();
    let route = classify(path);
    let is_emulator_route = matches!(
        route,
        Route::Health | Route::Jwks | Route::ValidateToken | Route::Control(..)
    );

    let mut response = match handle(&app, route, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };

    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let headers = response.headers_mut();
    if !is_emulator_route {
        headers.insert(
            API_SUPPORTED_VERSIONS,
            HeaderValue::from_static(versions::SUPPORTED_HEADER),
        );
    }
    // Each value takes its String's buffer (`try_from`), not a copy of it (`from_str`).
    if let Ok(v) = HeaderValue::try_from(random_ms_cv()) {
        headers.insert(MS_CV, v);
    }
    let mut processing_time = elapsed.as_millis().to_string();
    processing_time.push_str("ms");
    if let Ok(v) = HeaderValue::try_from(processing_time) {
        headers.insert(X_PROCESSING_TIME, v);
    }
    if let Ok(v) = HeaderValue::try_from(acs_auth::format_http_date(SystemTime::now())) {
        headers.insert(header::DATE, v);
    }
    if let Some(id) = client_request_id {
        headers.insert(X_MS_CLIENT_REQUEST_ID, id);
    }
    // The client's request id when it sent a readable one, else the ms-cv just made.
    let request_id = [&X_MS_CLIENT_REQUEST_ID, &MS_CV]
        .into_iter()
        .find_map(|name| headers.get(name).and_then(|v| v.to_str().ok()))
        .unwrap_or("");
    tracing::info!(
        method = %method,
        path = ?path,
        status,
        latency_us = elapsed.as_micros() as u64,
        request_id = ?request_id,
        "request"
    );
    response
}

async fn handle(app: &App, route: Route<'_>, request: Request) -> Result<Response, ApiError> {
    if route == Route::NotFound {
        return Err(ApiError::not_found());
    }
    if let Route::Control(name, id) = route {
        return control::handle(app, name, id, request).await;
    }
    let allowed = route.allowed();
    if !allowed.split(", ").any(|m| m == request.method().as_str()) {
        return Err(ApiError::method_not_allowed(allowed));
    }
    let (parts, body) = request.into_parts();
    match route {
        Route::Health => return Ok(handlers::health(app)),
        Route::Jwks => return Ok(handlers::jwks(app)),
        _ => {}
    }
    let body = read_body(body, &parts.headers, app.max_body_bytes).await?;
    if route == Route::ValidateToken {
        return handlers::validate_token_http(app, &body);
    }
    let method = parts.method.clone();
    let operation = operation(&route, &method, &body);
    if let Some(op) = operation
        && let Some(hit) = app.controls.faults.hit(op)
        && let Some(answer) = crate::faults::apply(hit, op).await
    {
        return Ok(answer);
    }
    if !route.is_user_exchange() {
        crate::hmac_diagnostics::authenticate(app, &parts, &body)?;
    }
    if let Some(op) = operation {
        app.controls.throttle.admit(op, Instant::now())?;
    }
    let version = versions::api_version(parts.uri.query())?;
    version.require(route.availability(&method), parts.uri.path())?;
    use http::Method;
    match (route, method) {
        (Route::Identities, _) => handlers::create_identity(app, version, &body).await,
        (Route::Identity(id), Method::GET) => handlers::get_identity(app, version, id),
        (Route::Identity(id), _) => handlers::delete_identity(app, id).await,
        (Route::IssueToken(id), _) => handlers::issue_token(app, version, id, &body),
        (Route::RevokeTokens(id), _) => handlers::revoke_tokens(app, id).await,
        (Route::TeamsExchange, _) => handlers::exchange_teams_token(app, &body),
        (Route::TeamsExtensionAssignment(t, o), Method::GET) => {
            access::get_teams_extension_assignment(app, t, o)
        }
        (Route::TeamsExtensionAssignment(t, o), Method::PUT) => {
            access::put_teams_extension_assignment(app, t, o, &body).await
        }
        (Route::TeamsExtensionAssignment(t, o), _) => {
            access::delete_teams_extension_assignment(app, t, o).await
        }
        (Route::TeamsExtensionExchange, _) => {
            access::exchange_teams_extension_token(app, &parts.headers, &body).await
        }
        (Route::EntraAssignments, Method::GET) => access::list_entra_assignments(
            app,
            version.name(),
            &endpoint(app, &parts),
            parts.uri.query(),
        ),
        (Route::EntraAssignments, _) => access::update_entra_assignments(app, &body).await,
        (Route::EntraAssignment(o), Method::GET) => access::get_entra_assignment(app, o),
        (Route::EntraAssignment(o), Method::PUT) => {
            access::put_entra_assignment(app, o, &body).await
        }
        (Route::EntraAssignment(o), _) => access::delete_entra_assignment(app, o).await,
        (Route::EntraExchange, _) => access::exchange_entra_token(app, &parts.headers, &body).await,
        _ => Err(ApiError::not_found()),
    }
}

/// The endpoint the request was sent to (`http[s]://<Host>`), for links in answers.
fn endpoint(app: &App, parts: &http::request::Parts) -> String {
    let scheme = if app.controls.default_port == 443 {
        "https"
    } else {
        "http"
    };
    let host = crate::auth::request_host(&parts.uri, &parts.headers).unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// The operation a request to `route` is, as faults and throttling count them.
fn operation(route: &Route<'_>, method: &http::Method, body: &[u8]) -> Option<Operation> {
    use http::Method;
    Some(match (route, method) {
        (Route::Identities, _) => {
            let with_token = json::object(body).ok().flatten().is_some_and(|map| {
                json::field(&map, "createTokenWithScopes").is_some_and(|v| !v.is_null())
            });
            if with_token {
                Operation::CreateIdentityAndToken
            } else {
                Operation::CreateIdentity
            }
        }
        (Route::Identity(_), &Method::GET) => Operation::GetIdentity,
        (Route::Identity(_), _) => Operation::DeleteIdentity,
        (Route::IssueToken(_), _) => Operation::IssueToken,
        (Route::RevokeTokens(_), _) => Operation::RevokeTokens,
        (Route::TeamsExchange, _) => Operation::ExchangeTeamsToken,
        (Route::TeamsExtensionAssignment(..), &Method::GET) => {
            Operation::GetTeamsExtensionAssignment
        }
        (Route::TeamsExtensionAssignment(..), &Method::PUT) => {
            Operation::UpsertTeamsExtensionAssignment
        }
        (Route::TeamsExtensionAssignment(..), _) => Operation::DeleteTeamsExtensionAssignment,
        (Route::TeamsExtensionExchange, _) => Operation::ExchangeTeamsExtensionToken,
        (Route::EntraAssignments, &Method::GET) => Operation::ListEntraAssignments,
        (Route::EntraAssignments, _) => Operation::UpdateEntraAssignments,
        (Route::EntraAssignment(_), &Method::GET) => Operation::GetEntraAssignment,
        (Route::EntraAssignment(_), &Method::PUT) => Operation::UpsertEntraAssignment,
        (Route::EntraAssignment(_), _) => Operation::DeleteEntraAssignment,
        (Route::EntraExchange, _) => Operation::ExchangeEntraToken,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
