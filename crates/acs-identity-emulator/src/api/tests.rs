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
use crate::store::{MetaUpdate, Store, open_database};
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
    let store = Store::start_with_reopen(
        db,
        &MetaUpdate {
            access_key: KEY.into(),
            resource_id: RESOURCE.into(),
            signing_key_pkcs8: der.clone(),
            tls: None,
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
        controls: crate::controls::Controls::new(Default::default(), false),
    })
}

#[test]
fn classify_paths() {
    assert_eq!(classify("/identities"), Route::Identities);
    assert_eq!(classify("/identities/"), Route::Identities);
    assert_eq!(classify("/Identities"), Route::Identities);
    assert_eq!(
        classify("/identities/8%3Aacs%3Ax_y"),
        Route::Identity("8%3Aacs%3Ax_y")
    );
    assert_eq!(
        classify("/identities/8:acs:x_y/:issueAccessToken"),
        Route::IssueToken("8:acs:x_y")
    );
    assert_eq!(
        classify("/identities/a/:revokeAccessTokens"),
        Route::RevokeTokens("a")
    );
    assert_eq!(
        classify("/teamsUser/:exchangeAccessToken"),
        Route::TeamsExchange
    );
    assert_eq!(
        classify("/access/teamsExtension/tenants/t/assignments/o"),
        Route::TeamsExtensionAssignment("t", "o")
    );
    assert_eq!(
        classify("/access/TeamsExtension/:exchangeAccessToken"),
        Route::TeamsExtensionExchange
    );
    assert_eq!(
        classify("/access/entra/assignments"),
        Route::EntraAssignments
    );
    assert_eq!(
        classify("/access/entra/assignments/o"),
        Route::EntraAssignment("o")
    );
    assert_eq!(
        classify("/access/entra/:exchangeAccessToken"),
        Route::EntraExchange
    );
    assert_eq!(classify("/emulator/tokens:validate"), Route::ValidateToken);
    assert_eq!(classify("/emulator/jwks"), Route::Jwks);
    assert_eq!(classify("/emulator/health"), Route::Health);
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
    assert_eq!(
        percent_decode("8%3Aacs%3Ax", false).as_deref(),
        Some("8:acs:x")
    );
    assert_eq!(percent_decode("8%3aacs", false).as_deref(), Some("8:acs"));
    assert_eq!(percent_decode("%", false), None);
    assert_eq!(percent_decode("%zz", false), None);
    assert_eq!(percent_decode("%ff", false), None);
    assert_eq!(percent_decode("%C3%A9", false).as_deref(), Some("\u{e9}"));
    // A sign is not a hex digit (`u8::from_str_radix` would have taken `%+5` as 0x05).
    assert_eq!(percent_decode("%+5", false), None);
    assert_eq!(percent_decode("%5", false), None);
    // Nothing to decode: borrowed, no copy.
    assert!(matches!(
        percent_decode("api-version", true),
        Some(std::borrow::Cow::Borrowed("api-version"))
    ));
    // `+` is a space only in query components.
    assert_eq!(percent_decode("a+b%2B", true).as_deref(), Some("a b+"));
    assert_eq!(percent_decode("a+b%2B", false).as_deref(), Some("a+b+"));
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
    let structured = (0usize..14, id(), guid, query()).prop_map(|(which, id, g, q)| match which {
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
            b"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=AAAA".to_vec()
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
    rt.block_on(app.store.create(own_id, 1)).unwrap();
    // Assignments, so that exchanges and GETs of them succeed too.
    let user = "6c1e9b3a-5d2f-4a7e-8b0c-4d6f8a2b1c3e";
    let tpe = crate::store::TeamsExtensionAssignment {
        principal_type: "user".into(),
        client_ids: None,
    };
    rt.block_on(
        app.store
            .put_teams_extension_assignment((GUID.into(), user.into()), tpe.clone()),
    )
    .unwrap();
    rt.block_on(
        app.store
            .put_teams_extension_assignment((GUID.into(), GUID.into()), tpe),
    )
    .unwrap();
    let entra = crate::store::EntraAssignment {
        tenant_id: GUID.into(),
        principal_type: "tenant".into(),
        client_ids: Vec::new(),
    };
    rt.block_on(
        app.store
            .update_entra_assignments(vec![(GUID.into(), Some(entra))]),
    )
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
    assert!(app.store.create("x".into(), 1).await.is_err());
    let (status, value) = health(&app);
    assert_eq!(status, 503);
    assert_eq!(value.status, "failing");
    assert!(
        value
            .storage_problem
            .is_some_and(|p| p.contains("No space left on device")),
    );
    disk.full.store(false, Ordering::SeqCst);
    app.store.create("y".into(), 2).await.unwrap();
    let (status, value) = health(&app);
    assert_eq!((status, value.status.as_str()), (200, "ok"));
    assert_eq!(value.storage_problem, None);
}
