//! The HTTP API: routing, body reading, common headers, request logging.
//!
//! Paths are matched by hand (not by axum's router) because identity ids contain `:` and arrive
//! percent-encoded or raw, and action segments start with `:`: against one list of the service's
//! operations ([`endpoint`]: method, path, api-versions), which also gives `Allow` on a 405.

mod access;
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
use percent_encoding::percent_decode_str;

use crate::errors::ApiError;
use crate::operation::Operation;
use crate::store::Store;
use crate::tokens::TokenSigner;
use versions::Availability;

pub use handlers::{Health, TokenValidation};
pub(crate) use handlers::{
    health, health_value, json_response, no_content, validate_token, validate_token_http,
};

/// Everything a request handler needs.
pub(crate) struct App {
    pub(crate) access_key: AccessKey,
    pub(crate) resource_id: String,
    pub(crate) store: Store,
    pub(crate) signer: TokenSigner,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) max_body_bytes: usize,
    /// The test controls: faults, throttling, revocation delay.
    pub(crate) controls: crate::controls::ControlState,
    /// The port a `Host` may omit: 443 with TLS, else 80.
    pub(crate) default_port: u16,
}

/// The axum router: one handler that routes by hand.
pub(crate) fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(dispatch).with_state(app)
}

/// A route; the `{}` segments of a service path borrow the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route<'a> {
    /// An `/emulator/{name}` endpoint (see `crate::controls`).
    Emulator(&'a str),
    /// A path of the service's operations (see [`endpoint`]), with its `{}` segments, raw.
    Service(&'static str, [&'a str; 2]),
    NotFound,
}

/// The method, path (`{}`: one segment, captured raw) and api-versions of each operation: the
/// one list the router reads.
fn endpoint(operation: Operation) -> (http::Method, &'static str, Availability) {
    use Availability::{All, PreviewOnly, TeamsExtension};
    use Operation::*;
    use http::Method;
    const TEAMS_EXTENSION_ASSIGNMENT: &str = "access/teamsExtension/tenants/{}/assignments/{}";
    match operation {
        CreateIdentity | CreateIdentityAndToken => (Method::POST, "identities", All),
        GetIdentity => (Method::GET, "identities/{}", PreviewOnly),
        DeleteIdentity => (Method::DELETE, "identities/{}", All),
        IssueToken => (Method::POST, "identities/{}/:issueAccessToken", All),
        RevokeTokens => (Method::POST, "identities/{}/:revokeAccessTokens", All),
        ExchangeTeamsToken => (Method::POST, "teamsUser/:exchangeAccessToken", All),
        GetTeamsExtensionAssignment => (Method::GET, TEAMS_EXTENSION_ASSIGNMENT, TeamsExtension),
        UpsertTeamsExtensionAssignment => (Method::PUT, TEAMS_EXTENSION_ASSIGNMENT, TeamsExtension),
        DeleteTeamsExtensionAssignment => {
            (Method::DELETE, TEAMS_EXTENSION_ASSIGNMENT, TeamsExtension)
        }
        ExchangeTeamsExtensionToken => (
            Method::POST,
            "access/teamsExtension/:exchangeAccessToken",
            TeamsExtension,
        ),
        ListEntraAssignments => (Method::GET, "access/entra/assignments", PreviewOnly),
        UpdateEntraAssignments => (Method::PATCH, "access/entra/assignments", PreviewOnly),
        GetEntraAssignment => (Method::GET, "access/entra/assignments/{}", PreviewOnly),
        UpsertEntraAssignment => (Method::PUT, "access/entra/assignments/{}", PreviewOnly),
        DeleteEntraAssignment => (Method::DELETE, "access/entra/assignments/{}", PreviewOnly),
        ExchangeEntraToken => (
            Method::POST,
            "access/entra/:exchangeAccessToken",
            PreviewOnly,
        ),
    }
}

/// The `{}` segments of `segments` when they match `pattern` (segments compared
/// case-insensitively, a `{}` segment non-empty).
fn match_path<'a>(
    pattern: &str,
    mut segments: impl Iterator<Item = &'a str>,
) -> Option<[&'a str; 2]> {
    let mut params = [""; 2];
    let mut captured = params.iter_mut();
    for want in pattern.split('/') {
        let got = segments.next()?;
        if want == "{}" && !got.is_empty() {
            *captured.next()? = got;
        } else if !want.eq_ignore_ascii_case(got) {
            return None;
        }
    }
    segments.next().is_none().then_some(params)
}

/// Classifies a raw path (`{}` segments kept raw: still percent-encoded if sent so).
fn classify(path: &str) -> Route<'_> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let segments = || path.split('/').skip(1);
    let mut emulator = segments();
    if let (Some(e), Some(name), None) = (emulator.next(), emulator.next(), emulator.next())
        && e.eq_ignore_ascii_case("emulator")
    {
        return Route::Emulator(name);
    }
    Operation::ALL
        .into_iter()
        .find_map(|op| {
            let pattern = endpoint(op).1;
            match_path(pattern, segments()).map(|params| Route::Service(pattern, params))
        })
        .unwrap_or(Route::NotFound)
}

/// The value of the query parameter `name` (compared case-insensitively; `+` and escapes
/// decoded, a bad escape kept as sent). Borrows `query` when there is nothing to decode (the
/// common case of `api-version=...`).
pub(crate) fn query_value<'a>(query: Option<&'a str>, name: &str) -> Option<Cow<'a, str>> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Decodes the `%XX` escapes of a path segment. `None` for a bad escape (a `%` not followed by
/// two hex digits, which `percent_encoding` would keep as it is) or a non-UTF-8 result. Borrows
/// `text` when it has nothing to decode.
pub(crate) fn percent_decode(text: &str) -> Option<Cow<'_, str>> {
    let escapes_ok = text.split('%').skip(1).all(|after| {
        after
            .as_bytes()
            .get(..2)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    escapes_ok
        .then(|| percent_decode_str(text).decode_utf8().ok())
        .flatten()
}

/// Reads the whole body, refusing more than `limit` bytes with 413.
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
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
    // 16 bytes are 22 base64 characters without padding, then `.0`.
    let id = base64::engine::general_purpose::STANDARD_NO_PAD.encode(uuid::Uuid::new_v4());
    format!("{id}.0")
}

async fn dispatch(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // A clone of the `Uri` shares its bytes (no copy of the path).
    let uri = request.uri().clone();
    let path = uri.path();
    let client_request_id = request.headers().get(&X_MS_CLIENT_REQUEST_ID).cloned();
    let route = classify(path);
    let is_emulator_route = !matches!(route, Route::Service(..) | Route::NotFound);

    let answer = match route {
        Route::NotFound => Err(ApiError::not_found()),
        Route::Emulator(name) => crate::controls::handle(&app, name, request).await,
        Route::Service(path, params) => serve_operation(&app, path, params, request).await,
    };
    let mut response = answer.unwrap_or_else(IntoResponse::into_response);

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
    let stamps = [
        (MS_CV, random_ms_cv()),
        (X_PROCESSING_TIME, format!("{}ms", elapsed.as_millis())),
        (header::DATE, acs_auth::format_http_date(SystemTime::now())),
    ];
    for (name, value) in stamps {
        if let Ok(v) = HeaderValue::try_from(value) {
            headers.insert(name, v);
        }
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

/// Serves a request to `path` (a path of [`endpoint`]) whose `{}` segments are `first` (an
/// identity, object or tenant id) and `second` (the object id after a tenant id): the operation
/// of its method, after faults, authentication and throttling.
async fn serve_operation(
    app: &App,
    path: &str,
    [first, second]: [&str; 2],
    request: Request,
) -> Result<Response, ApiError> {
    use Operation::*;
    let at_path = || {
        Operation::ALL
            .into_iter()
            .filter(|op| endpoint(*op).1 == path)
    };
    let Some(mut operation) = at_path().find(|op| endpoint(*op).0 == request.method()) else {
        let allowed: Vec<&str> = ["GET", "PUT", "DELETE", "PATCH", "POST"]
            .into_iter()
            .filter(|method| at_path().any(|op| endpoint(op).0 == *method))
            .collect();
        return Err(ApiError::method_not_allowed(&allowed.join(", ")));
    };
    let (parts, body) = request.into_parts();
    let body = read_body(body, &parts.headers, app.max_body_bytes).await?;
    // A create that asks for a token is an operation of its own (for faults and throttling).
    if operation == CreateIdentity
        && let Ok(Some(map)) = json::object(&body)
        && json::field(&map, "createTokenWithScopes").is_some_and(|v| !v.is_null())
    {
        operation = CreateIdentityAndToken;
    }
    if let Some(answer) = crate::controls::fault(app, operation).await {
        return Ok(answer);
    }
    // An exchange is authorised by the end user's Entra token alone, not by the resource's
    // credentials.
    if !matches!(operation, ExchangeTeamsExtensionToken | ExchangeEntraToken) {
        crate::hmac_diagnostics::authenticate(app, &parts, &body)?;
    }
    app.controls.throttle(operation, Instant::now())?;
    let version = versions::api_version(parts.uri.query())?;
    version.require(endpoint(operation).2, parts.uri.path())?;
    match operation {
        CreateIdentity | CreateIdentityAndToken => {
            handlers::create_identity(app, version, &body).await
        }
        GetIdentity => handlers::get_identity(app, version, first),
        DeleteIdentity => handlers::delete_identity(app, first).await,
        IssueToken => handlers::issue_token(app, version, first, &body),
        RevokeTokens => handlers::revoke_tokens(app, first).await,
        ExchangeTeamsToken => handlers::exchange_teams_token(app, &body),
        GetTeamsExtensionAssignment => access::get_teams_extension_assignment(app, first, second),
        UpsertTeamsExtensionAssignment => {
            access::put_teams_extension_assignment(app, first, second, &body).await
        }
        DeleteTeamsExtensionAssignment => {
            access::delete_teams_extension_assignment(app, first, second).await
        }
        ExchangeTeamsExtensionToken => {
            access::exchange_teams_extension_token(app, &parts.headers, &body).await
        }
        ListEntraAssignments => access::list_entra_assignments(
            app,
            version.name(),
            &base_url(app, &parts),
            parts.uri.query(),
        ),
        UpdateEntraAssignments => access::update_entra_assignments(app, &body).await,
        GetEntraAssignment => access::get_entra_assignment(app, first),
        UpsertEntraAssignment => access::put_entra_assignment(app, first, &body).await,
        DeleteEntraAssignment => access::delete_entra_assignment(app, first).await,
        ExchangeEntraToken => access::exchange_entra_token(app, &parts.headers, &body).await,
    }
}

/// The endpoint the request was sent to (`http[s]://<Host>`), for links in answers.
fn base_url(app: &App, parts: &http::request::Parts) -> String {
    let scheme = if app.default_port == 443 {
        "https"
    } else {
        "http"
    };
    let host = crate::auth::request_host(&parts.uri, &parts.headers).unwrap_or("localhost");
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    //! Property test: random requests (signed or not, any method, odd paths, random headers and
    //! bodies, JSON of every type in every field) never get a 5xx, never panic, and every error is a
    //! CommunicationErrorResponse.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;
    use std::time::SystemTime;

    use acs_auth::{AccessKey, RequestToSign, SystemClock};
    use axum::body::Body;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::Value;
    use tower::Service as _;

    use super::{App, Route, classify, percent_decode, router};
    use crate::store::{Meta, Store, WriteOp, open_database};
    use crate::tokens::{TokenSigner, generate_signing_key};

    const KEY: &str = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5";
    const RESOURCE: &str = "2dee53b4-368b-45b4-ab52-8493fb117652";
    /// A tenant and object id the generated requests use (assigned before the run).
    const GUID: &str = "c70d068c-2f32-484d-9455-73070cd5aadd";

    fn app() -> Arc<App> {
        app_on(open_database(None).unwrap(), None)
    }

    fn app_on(db: redb::Database, reopen: Option<crate::store::Reopen>) -> Arc<App> {
        let der = generate_signing_key().unwrap();
        let store = Store::start(
            db,
            Meta {
                access_key: Some(KEY.into()),
                resource_id: Some(RESOURCE.into()),
                signing_key_pkcs8: Some(der.clone()),
                ..Meta::default()
            },
            reopen,
        )
        .unwrap();
        Arc::new(App {
            access_key: AccessKey::from_base64(KEY).unwrap(),
            resource_id: RESOURCE.into(),
            store,
            signer: TokenSigner::from_pkcs8(&der).unwrap(),
            clock: Arc::new(SystemClock),
            max_body_bytes: 4096,
            controls: crate::controls::ControlState::new(Default::default()),
            default_port: 80,
        })
    }

    #[test]
    fn classify_paths() {
        let service = |path, params| Route::Service(path, params);
        assert_eq!(classify("/identities"), service("identities", ["", ""]));
        assert_eq!(classify("/identities/"), service("identities", ["", ""]));
        assert_eq!(classify("/Identities"), service("identities", ["", ""]));
        assert_eq!(
            classify("/identities/8%3Aacs%3Ax_y"),
            service("identities/{}", ["8%3Aacs%3Ax_y", ""])
        );
        assert_eq!(
            classify("/identities/8:acs:x_y/:issueAccessToken"),
            service("identities/{}/:issueAccessToken", ["8:acs:x_y", ""])
        );
        assert_eq!(
            classify("/identities/a/:revokeAccessTokens"),
            service("identities/{}/:revokeAccessTokens", ["a", ""])
        );
        assert_eq!(
            classify("/teamsUser/:exchangeAccessToken"),
            service("teamsUser/:exchangeAccessToken", ["", ""])
        );
        assert_eq!(
            classify("/access/teamsExtension/tenants/t/assignments/o"),
            service(
                "access/teamsExtension/tenants/{}/assignments/{}",
                ["t", "o"]
            )
        );
        assert_eq!(
            classify("/access/TeamsExtension/:exchangeAccessToken"),
            service("access/teamsExtension/:exchangeAccessToken", ["", ""])
        );
        assert_eq!(
            classify("/access/entra/assignments"),
            service("access/entra/assignments", ["", ""])
        );
        assert_eq!(
            classify("/access/entra/assignments/o"),
            service("access/entra/assignments/{}", ["o", ""])
        );
        assert_eq!(
            classify("/access/entra/:exchangeAccessToken"),
            service("access/entra/:exchangeAccessToken", ["", ""])
        );
        for name in ["tokens:validate", "jwks", "health", "controls"] {
            let path = format!("/Emulator/{name}/");
            assert_eq!(classify(&path), Route::Emulator(name));
        }
        for odd in [
            "/",
            "",
            "//",
            "/identities//:issueAccessToken",
            "/identities/a/b",
            "/identities/a/:nope",
            "/identities/a/:issueAccessToken/x",
            "/access/teamsExtension/tenants//assignments/o",
            "/access/teamsExtension/tenants/t/assignments/o/x",
            "/access/entra/assignments/o/x",
            "/access/entra",
            "/x",
        ] {
            assert_eq!(classify(odd), Route::NotFound, "{odd:?}");
        }
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("8%3Aacs%3Ax").as_deref(), Some("8:acs:x"));
        assert_eq!(percent_decode("8%3aacs").as_deref(), Some("8:acs"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("\u{e9}"));
        // A sign is not a hex digit (`u8::from_str_radix` would have taken `%+5` as 0x05).
        assert_eq!(percent_decode("%+5"), None);
        assert_eq!(percent_decode("%5"), None);
        // Nothing to decode: borrowed, no copy.
        assert!(matches!(
            super::query_value(Some("API-Version=x&b"), "api-version"),
            Some(std::borrow::Cow::Borrowed("x"))
        ));
        // `+` is a space only in query components.
        let query = Some("a=a+b%2B");
        assert_eq!(super::query_value(query, "a").as_deref(), Some("a b+"));
        assert_eq!(percent_decode("a+b%2B").as_deref(), Some("a+b+"));
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-2000i64..3000).prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[a-z.]{0,12}".prop_map(Value::String),
            prop_oneof![
                Just("chat"),
                Just("voip"),
                Just("chat.join"),
                Just("voip.join"),
                Just("")
            ]
            .prop_map(|s| Value::String(s.into())),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-zA-Z]{0,8}", inner), 0..3)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        let field = prop_oneof![
            Just("scopes"),
            Just("createTokenWithScopes"),
            Just("expiresInMinutes"),
            Just("token"),
            Just("appId"),
            Just("userId"),
            Just("Scopes"),
            Just("customId"),
            Just("principalType"),
            Just("clientIds"),
            Just("tenantId"),
            Just(GUID),
            Just("other"),
        ];
        let user = "6c1e9b3a-5d2f-4a7e-8b0c-4d6f8a2b1c3e";
        let teams = crate::entra::test_token(
            "a",
            user,
            SystemTime::now() + std::time::Duration::from_secs(3600),
        );
        let good = prop_oneof![
            Just(br#"{"scopes":["chat"]}"#.to_vec()),
            Just(br#"{"customId":"a","createTokenWithScopes":["chat"]}"#.to_vec()),
            Just(br#"{"principalType":"user","clientIds":["a"]}"#.to_vec()),
            Just(br#"{"tenantId":"c70d068c-2f32-484d-9455-73070cd5aadd","principalType":"group","clientIds":[]}"#.to_vec()),
            Just(format!(r#"{{"{GUID}":{{"tenantId":"{GUID}","principalType":"user","clientIds":[]}}}}"#).into_bytes()),
            Just(br#"{"scopes": ["voip", "chat.join"], "expiresInMinutes": null}"#.to_vec()),
            Just(br#"{"createTokenWithScopes":["voip"],"expiresInMinutes":60}"#.to_vec()),
            Just(
                serde_json::json!({"token": teams, "appId": "a", "userId": user})
                    .to_string()
                    .into_bytes()
            ),
        ];
        prop_oneof![
            3 => good,
            1 => Just(Vec::new()),
            1 => prop::collection::vec(any::<u8>(), 0..64),
            1 => json_value().prop_map(|v| v.to_string().into_bytes()),
            2 => prop::collection::vec((field, json_value()), 0..4).prop_map(|kv| {
                let map: serde_json::Map<String, Value> =
                    kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                Value::Object(map).to_string().into_bytes()
            }),
            // Larger than the cap.
            1 => Just(vec![b' '; 5000]),
        ]
    }

    fn query() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => Just("?api-version=2023-10-01".to_owned()),
            2 => Just("?api-version=2025-03-02-preview".to_owned()),
            2 => Just("?api-version=2025-06-30".to_owned()),
            1 => Just("?api-version=2025-03-02-preview&continuationToken=%zz".to_owned()),
            1 => Just("?api-version=2021-03-07".to_owned()),
            1 => Just(String::new()),
            1 => Just("?api-version=nope".to_owned()),
            1 => Just("?api-version=%".to_owned()),
            1 => Just("?".to_owned()),
            1 => "\\?[a-z=&%-]{0,16}",
        ]
    }

    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => Just(format!("8%3Aacs%3A{RESOURCE}_00000000-0000-0000-0000-000000000001")),
            1 => Just(format!("8:acs:{RESOURCE}_00000000-0000-0000-0000-000000000001")),
            1 => Just(format!("8:acs:{RESOURCE}_x")),
            1 => Just("8%3Aacs%3A11111111-2222-3333-4444-555555555555_x".to_owned()),
            1 => Just("%".to_owned()),
            1 => Just("%ff%fe".to_owned()),
            1 => "[a-zA-Z0-9:_%.~-]{1,12}",
        ]
    }

    fn path() -> impl Strategy<Value = String> {
        let segment = prop_oneof![
            Just("identities".to_owned()),
            Just("teamsUser".to_owned()),
            Just(":issueAccessToken".to_owned()),
            Just(":revokeAccessTokens".to_owned()),
            Just(":exchangeAccessToken".to_owned()),
            Just("emulator".to_owned()),
            Just("tokens:validate".to_owned()),
            Just("%zz".to_owned()),
            Just("..".to_owned()),
            Just(String::new()),
            "[a-zA-Z0-9:_%.~-]{0,12}",
        ];
        let random = (prop::collection::vec(segment, 0..4), query())
            .prop_map(|(segs, q)| format!("/{}{}", segs.join("/"), q));
        let guid = prop_oneof![
            4 => Just(GUID.to_owned()),
            1 => Just(GUID.to_uppercase()),
            1 => "[a-zA-Z0-9:_%.~-]{1,12}",
        ];
        let structured =
            (0usize..14, id(), guid, query()).prop_map(|(which, id, g, q)| match which {
                0 => format!("/identities{q}"),
                1 => format!("/identities/{id}{q}"),
                2 | 3 => format!("/identities/{id}/:issueAccessToken{q}"),
                4 => format!("/identities/{id}/:revokeAccessTokens{q}"),
                5 => format!("/teamsUser/:exchangeAccessToken{q}"),
                6 => "/emulator/tokens:validate".to_owned(),
                7 | 8 => format!("/access/teamsExtension/tenants/{GUID}/assignments/{g}{q}"),
                9 => format!("/access/teamsExtension/:exchangeAccessToken{q}"),
                10 => format!("/access/entra/assignments{q}"),
                11 => format!("/access/entra/assignments/{g}{q}"),
                12 => format!("/access/entra/:exchangeAccessToken{q}"),
                _ => ["/emulator/jwks", "/emulator/health"][q.len() % 2].to_owned(),
            });
        prop_oneof![4 => structured, 1 => random]
    }

    fn method() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => Just("POST".to_owned()),
            2 => Just("DELETE".to_owned()),
            2 => Just("GET".to_owned()),
            2 => Just("PUT".to_owned()),
            1 => Just("PATCH".to_owned()),
            1 => Just("HEAD".to_owned()),
            1 => Just("OPTIONS".to_owned()),
            1 => "[A-Z]{1,8}",
        ]
    }

    /// An exchange with an Entra user token (path, token): of an assigned user (TPE, Entra), of
    /// an unassigned one (TPE), one without the TPE scope, one for the other exchange.
    fn user_bearer() -> impl Strategy<Value = (&'static str, String)> {
        let assigned = "6c1e9b3a-5d2f-4a7e-8b0c-4d6f8a2b1c3e";
        let stranger = "0d3a7f2e-1111-4222-8333-944455556666";
        let later = SystemTime::now() + std::time::Duration::from_secs(3600);
        let token = |audience: &str, scp: &str, user: &str| {
            crate::entra::test_user_token(audience, scp, GUID, user, "a", later)
        };
        let tpe = crate::entra::TEAMS_EXCHANGE_AUDIENCE;
        let scope = crate::entra::TEAMS_EXTENSION_SCOPE;
        let tpe_path = "/access/teamsExtension/:exchangeAccessToken?api-version=2025-06-30";
        let entra_path = "/access/entra/:exchangeAccessToken?api-version=2025-03-02-preview";
        let entra = token(crate::entra::ENTRA_EXCHANGE_AUDIENCE, "VoIP", stranger);
        prop_oneof![
            Just((tpe_path, token(tpe, scope, assigned))),
            Just((tpe_path, token(tpe, scope, stranger))),
            Just((tpe_path, token(tpe, "Teams.ManageCalls", assigned))),
            Just((tpe_path, entra.clone())),
            Just((entra_path, entra)),
        ]
    }

    fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
        let name = prop_oneof![
            Just("x-ms-date".to_owned()),
            Just("x-ms-content-sha256".to_owned()),
            Just("authorization".to_owned()),
            Just("content-length".to_owned()),
            Just("content-type".to_owned()),
            Just("x-ms-client-request-id".to_owned()),
            Just("host".to_owned()),
            "[a-z-]{1,10}",
        ];
        let value = prop_oneof![
            Just(b"Bearer x.y.z".to_vec()),
            Just(
                b"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=AAAA"
                    .to_vec()
            ),
            Just(b"99999999999999999999".to_vec()),
            prop::collection::vec(32u8..127, 0..24),
            prop::collection::vec(128u8..=255, 1..8),
        ];
        prop::collection::vec((name, value), 0..3)
    }

    #[test]
    fn random_requests_never_get_5xx_or_panic() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let app = app();
        let key = AccessKey::from_base64(KEY).unwrap();
        // A real identity so that signed requests reach the deeper code paths.
        let own_id = format!("8:acs:{RESOURCE}_00000000-0000-0000-0000-000000000001");
        rt.block_on(app.store.write(WriteOp::Create {
            id: own_id,
            created_ms: 1,
            profile: crate::store::Profile::default(),
        }))
        .unwrap();
        // Assignments, so that exchanges and GETs of them succeed too.
        let user = "6c1e9b3a-5d2f-4a7e-8b0c-4d6f8a2b1c3e";
        let tpe = crate::store::TeamsExtensionAssignment {
            principal_type: "user".into(),
            client_ids: None,
        };
        rt.block_on(app.store.write(WriteOp::PutTeamsExtensionAssignment {
            key: (GUID.into(), user.into()),
            assignment: tpe.clone(),
        }))
        .unwrap();
        rt.block_on(app.store.write(WriteOp::PutTeamsExtensionAssignment {
            key: (GUID.into(), GUID.into()),
            assignment: tpe,
        }))
        .unwrap();
        let entra = crate::store::EntraAssignment {
            tenant_id: GUID.into(),
            principal_type: "tenant".into(),
            client_ids: Vec::new(),
        };
        rt.block_on(app.store.write(WriteOp::UpdateEntraAssignments {
            changes: vec![(GUID.into(), Some(entra))],
        }))
        .unwrap();
        let svc = router(Arc::clone(&app));

        let mut runner = TestRunner::new(Config {
            cases: 1500,
            failure_persistence: None,
            ..Config::default()
        });
        let strategy = (
            method(),
            path(),
            headers(),
            body(),
            prop::bool::weighted(0.8),
            prop::option::weighted(0.1, user_bearer()),
        );
        let seen = std::sync::Mutex::new(std::collections::BTreeMap::<u16, usize>::new());
        runner
            .run(&strategy, |(method, path, extra, body, sign, bearer)| {
                // An exchange with a user token: POST to its path (the body stays random).
                let (method, path) = match &bearer {
                    Some((exchange, _)) => ("POST".to_owned(), (*exchange).to_owned()),
                    None => (method, path),
                };
                let Ok(method_v) = http::Method::from_bytes(method.as_bytes()) else {
                    return Ok(());
                };
                let Ok(uri) = path.parse::<http::Uri>() else {
                    return Ok(());
                };
                let mut builder = http::Request::builder().method(method_v).uri(uri);
                for (k, v) in &extra {
                    if let (Ok(k), Ok(v)) = (
                        http::HeaderName::from_bytes(k.as_bytes()),
                        http::HeaderValue::from_bytes(v),
                    ) {
                        builder = builder.header(k, v);
                    }
                }
                if let Some((_, token)) = &bearer {
                    builder = builder.header("authorization", format!("Bearer {token}"));
                } else if sign {
                    let signed = acs_auth::sign(
                        &key,
                        &RequestToSign {
                            method: &method,
                            path_and_query: &path,
                            host: "emulator.test",
                            body: &body,
                        },
                        SystemTime::now(),
                    );
                    builder = builder
                        .header("host", "emulator.test")
                        .header("x-ms-date", signed.date)
                        .header("x-ms-content-sha256", signed.content_sha256)
                        .header("authorization", signed.authorization);
                }
                let Ok(request) = builder.body(Body::from(body.clone())) else {
                    return Ok(());
                };
                let mut svc = svc.clone();
                let (status, content_type, bytes) = rt.block_on(async move {
                    let response = svc.call(request).await.unwrap();
                    let status = response.status();
                    let ct = response
                        .headers()
                        .get("content-type")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                        .await
                        .unwrap();
                    (status, ct, bytes)
                });
                prop_assert!(status.as_u16() < 500, "{method} {path} -> {status}");
                *seen.lock().unwrap().entry(status.as_u16()).or_default() += 1;
                // HEAD answers carry no body (HTTP semantics; axum strips it).
                if status.is_client_error() && method != "HEAD" {
                    prop_assert_eq!(content_type.as_deref(), Some("application/json"));
                    let parsed: crate::CommunicationErrorResponse = serde_json::from_slice(&bytes)
                        .map_err(|e| TestCaseError::fail(format!("{method} {path}: {e}")))?;
                    prop_assert!(!parsed.error.code.is_empty());
                    prop_assert!(!parsed.error.message.is_empty());
                    // Never echo a signature or the key.
                    let text = String::from_utf8_lossy(&bytes);
                    prop_assert!(!text.contains(KEY));
                }
                Ok(())
            })
            .unwrap();
        // The generator must reach past routing and authentication into the operations.
        let seen = seen.into_inner().unwrap();
        eprintln!("statuses seen: {seen:?}");
        for status in [200, 201, 204, 400, 401, 403, 404, 405, 413] {
            assert!(
                seen.get(&status).copied().unwrap_or(0) > 0,
                "no {status} in {seen:?}"
            );
        }
        app.store.close();
    }

    #[tokio::test]
    async fn health_reports_failing_writes_with_503_until_they_succeed() {
        use std::sync::atomic::Ordering;
        let disk = crate::store::full_disk::Disk::default();
        let app = app_on(disk.open().unwrap(), Some(disk.reopen()));
        let health = |app: &App| {
            let r = super::handlers::health(app);
            (r.status().as_u16(), super::handlers::health_value(app))
        };
        assert_eq!(health(&app).0, 200);
        disk.full.store(true, Ordering::SeqCst);
        assert!(
            app.store
                .write(WriteOp::Create {
                    id: "x".into(),
                    created_ms: 1,
                    profile: crate::store::Profile::default()
                })
                .await
                .is_err()
        );
        let (status, value) = health(&app);
        assert_eq!(status, 503);
        assert_eq!(value.status, "failing");
        assert!(
            value
                .storage_problem
                .is_some_and(|p| p.contains("No space left on device")),
        );
        disk.full.store(false, Ordering::SeqCst);
        app.store
            .write(WriteOp::Create {
                id: "y".into(),
                created_ms: 2,
                profile: crate::store::Profile::default(),
            })
            .await
            .unwrap();
        let (status, value) = health(&app);
        assert_eq!((status, value.status.as_str()), (200, "ok"));
        assert_eq!(value.storage_problem, None);
    }
}
