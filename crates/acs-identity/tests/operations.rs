//! Every operation and constructor against httpmock: exact method, target, query, body bytes,
//! headers and signature; each response shape decoded; snapshots of the wire form.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use acs_identity::credentials::{AccessKey, AccessKeyCredential, Clock as _, TokenCredential};
use acs_identity::{
    COMMUNICATION_SCOPE, CommunicationIdentityClient, CommunicationIdentityClientOptions,
    CommunicationUserIdentifier, CreateUserAndTokenOptions, ErrorKind, GetTokenOptions, TokenScope,
};
use azure_core::credentials::{AccessToken as AzToken, TokenRequestOptions};
use common::*;
use httpmock::prelude::*;
use time::macros::datetime;

fn check_common_headers(req: &httpmock::HttpMockRequest) {
    assert_eq!(header_of(req, "accept"), "application/json");
    assert_eq!(header_of(req, "x-ms-return-client-request-id"), "true");
    let ua = header_of(req, "user-agent");
    assert!(
        ua.starts_with(&format!(
            "azsdk-rust-communication-identity/{} (",
            env!("CARGO_PKG_VERSION")
        )),
        "{ua}"
    );
    let id = header_of(req, "x-ms-client-request-id");
    assert_eq!(id.len(), 36, "{id}");
    assert!(
        !req.headers_vec()
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("api-version")),
        "api-version travels in the query only"
    );
}

#[tokio::test]
async fn create_user_sends_no_body_and_decodes_the_id() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| {
            when.method(POST)
                .path("/identities")
                .query_param("api-version", "2023-10-01")
        },
        move |_| {
            respond(
                201,
                Some(JSON_UTF8),
                &format!(r#"{{"identity":{{"id":"{USER}"}}}}"#),
            )
        },
    )
    .await;
    let user = client(&server).create_user(None).await.unwrap();
    assert_eq!(user.id(), USER);
    let req = seen.one();
    assert_eq!(target(&req), "/identities?api-version=2023-10-01");
    assert!(req.body_ref().is_empty());
    assert_eq!(header_of(&req, "content-type"), "application/json");
    check_common_headers(&req);
    assert_signed(&req, KEY);
    assert_eq!(
        header_of(&req, "x-ms-content-sha256"),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
    insta::assert_snapshot!("wire_create_user", wire_text(&req));
}

#[tokio::test]
async fn create_user_and_token_sends_compact_json_and_decodes_both() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.method(POST).path("/identities"),
        move |_| {
            respond(
                201,
                Some(JSON_UTF8),
                &format!(
                    r#"{{"identity":{{"id":"{USER}"}},"accessToken":{}}}"#,
                    token_body()
                ),
            )
        },
    )
    .await;
    let out = client(&server)
        .create_user_and_token(
            &[TokenScope::Chat, TokenScope::Voip],
            Some(
                CreateUserAndTokenOptions::default()
                    .with_token_expires_in(Duration::from_secs(3600)),
            ),
        )
        .await
        .unwrap();
    assert_eq!(out.user.id(), USER);
    assert_eq!(out.access_token.token.secret(), jwt());
    assert_eq!(
        out.access_token.expires_on,
        datetime!(2022-08-26 20:03:35.4402106 UTC)
    );
    let claims = out.access_token.claims().unwrap();
    assert_eq!(claims.scopes, ["chat", "voip"]);
    let req = seen.one();
    assert_eq!(target(&req), "/identities?api-version=2023-10-01");
    assert_eq!(
        req.body_string(),
        r#"{"createTokenWithScopes":["chat","voip"],"expiresInMinutes":60}"#
    );
    assert_eq!(header_of(&req, "content-type"), "application/json");
    check_common_headers(&req);
    assert_signed(&req, KEY);
    insta::assert_snapshot!("wire_create_user_and_token", wire_text(&req));
}

#[tokio::test]
async fn create_user_and_token_omits_absent_lifetime_and_sends_unknown_scopes() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.method(POST).path("/identities"),
        move |_| {
            respond(
                201,
                Some(JSON_UTF8),
                &format!(
                    r#"{{"identity":{{"id":"{USER}"}},"accessToken":{}}}"#,
                    token_body()
                ),
            )
        },
    )
    .await;
    client(&server)
        .create_user_and_token(&[TokenScope::UnknownValue("future.scope".into())], None)
        .await
        .unwrap();
    assert_eq!(
        seen.one().body_string(),
        r#"{"createTokenWithScopes":["future.scope"]}"#
    );
}

#[tokio::test]
async fn create_user_and_token_sends_an_empty_scope_list_as_is() {
    let server = MockServer::start_async().await;
    let seen = recording(&server, |when| when.method(POST).path("/identities"), move |_| respond(
                    400,
                    Some("application/json"),
                    r#"{"error":{"code":"ValidationError","message":"CreateTokenWithScopes value is missing.","target":"CreateTokenWithScopes"}}"#,
                )).await;
    let e = client(&server)
        .create_user_and_token(&[], None)
        .await
        .unwrap_err();
    assert_eq!(seen.one().body_string(), r#"{"createTokenWithScopes":[]}"#);
    assert_eq!(e.target(), Some("CreateTokenWithScopes"));
}

#[tokio::test]
async fn get_token_percent_encodes_the_id_and_decodes_the_token() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| {
            when.method(POST)
                .path(format!("/identities/{USER_PATH}/:issueAccessToken"))
                .query_param("api-version", "2023-10-01")
        },
        move |_| respond(200, Some(JSON_UTF8), &token_body()),
    )
    .await;
    let user = CommunicationUserIdentifier::new(USER);
    let token = client(&server)
        .get_token(&user, &[TokenScope::ChatJoin], None)
        .await
        .unwrap();
    assert_eq!(token.token.secret(), jwt());
    assert_eq!(token.expires_on, datetime!(2022-08-26 20:03:35.4402106 UTC));
    let req = seen.one();
    assert_eq!(
        target(&req),
        format!("/identities/{USER_PATH}/:issueAccessToken?api-version=2023-10-01")
    );
    assert_eq!(req.body_string(), r#"{"scopes":["chat.join"]}"#);
    check_common_headers(&req);
    assert_signed(&req, KEY);
    insta::assert_snapshot!("wire_get_token", wire_text(&req));
}

#[tokio::test]
async fn get_token_sends_whole_minutes_and_every_scope() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.method(POST).path_suffix("/:issueAccessToken"),
        move |_| respond(200, Some(JSON_UTF8), &token_body()),
    )
    .await;
    let user = CommunicationUserIdentifier::new(USER);
    client(&server)
        .get_token(
            &user,
            &TokenScope::KNOWN,
            Some(
                GetTokenOptions::default()
                    .with_token_expires_in(Duration::from_secs(1441 * 60 + 59)),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        seen.one().body_string(),
        r#"{"scopes":["chat","voip","chat.join","chat.join.limited","voip.join"],"expiresInMinutes":1441}"#
    );
}

#[tokio::test]
async fn get_token_for_teams_user_sends_the_three_fields() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| {
            when.method(POST)
                .path("/teamsUser/:exchangeAccessToken")
                .query_param("api-version", "2023-10-01")
        },
        move |_| respond(200, Some(JSON_UTF8), &token_body()),
    )
    .await;
    let token = client(&server)
        .get_token_for_teams_user("aadtoken", "appid", "userid", None)
        .await
        .unwrap();
    assert_eq!(token.token.secret(), jwt());
    let req = seen.one();
    assert_eq!(
        target(&req),
        "/teamsUser/:exchangeAccessToken?api-version=2023-10-01"
    );
    assert_eq!(
        req.body_string(),
        r#"{"token":"aadtoken","appId":"appid","userId":"userid"}"#
    );
    assert_eq!(header_of(&req, "content-type"), "application/json");
    check_common_headers(&req);
    assert_signed(&req, KEY);
    insta::assert_snapshot!("wire_get_token_for_teams_user", wire_text(&req));
}

#[tokio::test]
async fn revoke_tokens_posts_without_body() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| {
            when.method(POST)
                .path(format!("/identities/{USER_PATH}/:revokeAccessTokens"))
        },
        move |_| respond(204, None, ""),
    )
    .await;
    client(&server)
        .revoke_tokens(&CommunicationUserIdentifier::new(USER), None)
        .await
        .unwrap();
    let req = seen.one();
    assert_eq!(
        target(&req),
        format!("/identities/{USER_PATH}/:revokeAccessTokens?api-version=2023-10-01")
    );
    assert!(req.body_ref().is_empty());
    check_common_headers(&req);
    assert_signed(&req, KEY);
    insta::assert_snapshot!("wire_revoke_tokens", wire_text(&req));
}

#[tokio::test]
async fn delete_user_sends_delete() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.method(DELETE).path(format!("/identities/{USER_PATH}")),
        move |_| respond(204, None, ""),
    )
    .await;
    client(&server)
        .delete_user(&CommunicationUserIdentifier::new(USER), None)
        .await
        .unwrap();
    let req = seen.one();
    assert_eq!(
        target(&req),
        format!("/identities/{USER_PATH}?api-version=2023-10-01")
    );
    assert!(req.body_ref().is_empty());
    check_common_headers(&req);
    assert_signed(&req, KEY);
    insta::assert_snapshot!("wire_delete_user", wire_text(&req));
}

#[tokio::test]
async fn empty_user_id_is_refused_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let c = client(&server);
    let empty = CommunicationUserIdentifier::new("");
    for e in [
        c.get_token(&empty, &[TokenScope::Chat], None)
            .await
            .unwrap_err(),
        c.revoke_tokens(&empty, None).await.unwrap_err(),
        c.delete_user(&empty, None).await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.argument(), Some("user"));
    }
    let e = c
        .get_token(
            &CommunicationUserIdentifier::new(USER),
            &[TokenScope::Chat],
            Some(GetTokenOptions::default().with_token_expires_in(Duration::MAX)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.argument(), Some("token_expires_in"));
    assert_eq!(any.calls_async().await, 0);
}

#[tokio::test]
async fn empty_scope_list_is_sent_for_the_service_to_judge() {
    let server = MockServer::start_async().await;
    let seen = recording(&server, |when| when.method(POST).path_suffix("/:issueAccessToken"), move |_| respond(
                    400,
                    Some("application/json"),
                    r#"{"error":{"code":"ValidationError","message":"Invalid scopes - Scopes field is required.","target":"scopes"}}"#,
                )).await;
    let e = client(&server)
        .get_token(&CommunicationUserIdentifier::new(USER), &[], None)
        .await
        .unwrap_err();
    assert_eq!(seen.one().body_string(), r#"{"scopes":[]}"#);
    assert_eq!(e.code(), Some("ValidationError"));
    assert_eq!(e.target(), Some("scopes"));
}

#[tokio::test]
async fn options_api_version_application_id_and_http_client() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| {
            when.method(POST)
                .path("/identities")
                .query_param("api-version", "2026-09-23")
        },
        move |_| respond(201, Some(JSON_UTF8), r#"{"identity":{"id":"8:acs:x_y"}}"#),
    )
    .await;
    let options = CommunicationIdentityClientOptions::default()
        .with_api_version("2026-09-23")
        .with_application_id("contoso-app")
        .with_http_client(reqwest::Client::builder().build().unwrap());
    let c = client_with(&server, options);
    assert_eq!(c.api_version(), "2026-09-23");
    assert_eq!(c.endpoint().as_str(), format!("{}/", server.base_url()));
    c.create_user(None).await.unwrap();
    let req = seen.one();
    assert_eq!(target(&req), "/identities?api-version=2026-09-23");
    assert!(
        header_of(&req, "user-agent").starts_with("contoso-app azsdk-rust-communication-identity/")
    );
}

#[tokio::test]
async fn endpoint_with_a_path_prefix_is_kept() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| {
            when.method(DELETE)
                .path(format!("/prefix/identities/{USER_PATH}"))
        },
        move |_| respond(204, None, ""),
    )
    .await;
    let c = CommunicationIdentityClient::with_access_key(
        &format!("{}/prefix/", server.base_url()),
        AccessKey::from_base64(KEY).unwrap(),
        Some(fast_options()),
    )
    .unwrap();
    c.delete_user(&CommunicationUserIdentifier::new(USER), None)
        .await
        .unwrap();
    assert_signed(&seen.one(), KEY);
}

const OTHER_KEY: &str = "b3RoZXJrZXlvdGhlcmtleW90aGVya2V5b3RoZXJrZXk=";

#[tokio::test]
async fn with_access_key_signs_and_follows_key_rotation() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.method(POST).path("/identities"),
        move |_| respond(201, Some(JSON_UTF8), r#"{"identity":{"id":"8:acs:x_y"}}"#),
    )
    .await;
    let credential = AccessKeyCredential::from_base64(KEY).unwrap();
    let c = CommunicationIdentityClient::with_access_key(
        &server.base_url(),
        credential.clone(),
        Some(fast_options()),
    )
    .unwrap();
    let clone = c.clone();
    c.create_user(None).await.unwrap();
    credential.update(AccessKey::from_base64(OTHER_KEY).unwrap());
    clone.create_user(None).await.unwrap();
    let reqs = seen.all();
    assert_eq!(reqs.len(), 2);
    assert_signed(&reqs[0], KEY);
    assert_signed(&reqs[1], OTHER_KEY);
    assert_ne!(
        header_of(&reqs[0], "x-ms-client-request-id"),
        header_of(&reqs[1], "x-ms-client-request-id"),
        "a new request id per logical call"
    );
}

#[derive(Debug)]
struct FakeCredential {
    calls: AtomicUsize,
    fail: bool,
}

#[async_trait::async_trait]
impl TokenCredential for FakeCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzToken> {
        assert_eq!(scopes, [COMMUNICATION_SCOPE]);
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                "no identity available",
            ));
        }
        Ok(AzToken::new(
            "entra-bearer-token-value",
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

#[tokio::test]
async fn with_token_credential_sends_a_cached_bearer_token() {
    assert_eq!(
        COMMUNICATION_SCOPE,
        "https://communication.azure.com//.default"
    );
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.method(POST).path_suffix("/:revokeAccessTokens"),
        move |_| respond(204, None, ""),
    )
    .await;
    let credential = Arc::new(FakeCredential {
        calls: AtomicUsize::new(0),
        fail: false,
    });
    let c = CommunicationIdentityClient::with_token_credential(
        &server.base_url(),
        credential.clone(),
        Some(fast_options()),
    )
    .unwrap();
    let user = CommunicationUserIdentifier::new(USER);
    c.revoke_tokens(&user, None).await.unwrap();
    c.revoke_tokens(&user, None).await.unwrap();
    assert_eq!(credential.calls.load(Ordering::SeqCst), 1, "token cached");
    let reqs = seen.all();
    assert_eq!(reqs.len(), 2);
    for req in &reqs {
        assert_eq!(
            header_of(req, "authorization"),
            "Bearer entra-bearer-token-value"
        );
        assert!(
            !req.headers_vec()
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("x-ms-date"))
        );
        check_common_headers(req);
    }
    insta::assert_snapshot!("wire_revoke_tokens_bearer", wire_text(&reqs[0]));
}

#[tokio::test]
async fn token_credential_failure_is_a_credential_error() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(204);
        })
        .await;
    let credential = Arc::new(FakeCredential {
        calls: AtomicUsize::new(0),
        fail: true,
    });
    let c =
        CommunicationIdentityClient::with_token_credential(&server.base_url(), credential, None)
            .unwrap();
    let e = c
        .delete_user(&CommunicationUserIdentifier::new(USER), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Credential);
    assert!(e.to_string().contains("no identity available"), "{e}");
    assert_eq!(any.calls_async().await, 0);
}

#[test]
fn bearer_over_plain_http_is_refused_except_loopback() {
    let credential = Arc::new(FakeCredential {
        calls: AtomicUsize::new(0),
        fail: false,
    });
    let e = CommunicationIdentityClient::with_token_credential(
        "http://contoso.communication.azure.com/",
        credential.clone(),
        None,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.to_string().contains("plain http"), "{e}");
    for ok in [
        "https://contoso.communication.azure.com/",
        "http://127.0.0.1:1/",
        "http://localhost/",
        "http://[::1]:8/",
    ] {
        CommunicationIdentityClient::with_token_credential(ok, credential.clone(), None).unwrap();
    }
}

#[test]
fn constructor_errors_are_configuration_errors_without_the_key() {
    for cs in [
        "",
        "endpoint=https://a.example/",
        "endpoint=ftp://a.example/;accesskey=c2VjcmV0a2V5c2VjcmV0!!",
        "endpoint=https://a.example/;accesskey=c2VjcmV0a2V5c2VjcmV0!!",
    ] {
        let e = CommunicationIdentityClient::from_connection_string(cs, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Configuration, "{cs}");
        assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
        assert!(!format!("{e:?}").contains("c2VjcmV0"), "{e:?}");
    }
    let e = CommunicationIdentityClient::with_access_key(
        "not a url",
        AccessKey::from_base64(KEY).unwrap(),
        None,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    let mut bad_app = CommunicationIdentityClientOptions::default();
    bad_app.application_id = Some("has space".into());
    let e = CommunicationIdentityClient::from_connection_string(
        &format!("endpoint=https://a.example/;accesskey={KEY}"),
        Some(bad_app),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clones_work_concurrently_with_distinct_request_ids() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.method(POST).path_suffix("/:issueAccessToken"),
        move |_| respond(200, Some(JSON_UTF8), &token_body()),
    )
    .await;
    let c = client(&server);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.get_token(
                &CommunicationUserIdentifier::new(USER),
                &[TokenScope::Chat],
                None,
            )
            .await
            .map(|t| t.token.secret().to_owned())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), jwt());
    }
    let reqs = seen.all();
    assert_eq!(reqs.len(), 32);
    let ids: std::collections::HashSet<String> = reqs
        .iter()
        .map(|r| header_of(r, "x-ms-client-request-id"))
        .collect();
    assert_eq!(ids.len(), 32);
    for r in &reqs {
        assert_signed(r, KEY);
    }
}

#[test]
fn client_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<CommunicationIdentityClient>();
    fn send_sync<T: Send + Sync + std::error::Error + 'static>() {}
    send_sync::<acs_identity::Error>();
}

/// A credential whose tokens live one hour from the test clock's time, and that takes a while to
/// answer (so that concurrent callers overlap while it works).
#[derive(Debug)]
struct SlowCredential {
    calls: AtomicUsize,
    clock: Arc<acs_test_support::ManualClock>,
}

#[async_trait::async_trait]
impl TokenCredential for SlowCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(AzToken::new(
            format!("entra-token-{n}"),
            time::OffsetDateTime::from(self.clock.now()) + time::Duration::hours(1),
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_at_a_bearer_tokens_expiry_cause_one_refresh() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.method(POST).path_suffix("/:revokeAccessTokens"),
        move |_| respond(204, None, ""),
    )
    .await;
    let clock = Arc::new(acs_test_support::ManualClock::now());
    let credential = Arc::new(SlowCredential {
        calls: AtomicUsize::new(0),
        clock: clock.clone(),
    });
    let options = fast_options().with_clock(clock.clone());
    let c = CommunicationIdentityClient::with_token_credential(
        &server.base_url(),
        credential.clone(),
        Some(options),
    )
    .unwrap();
    let hundred_calls = || {
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let c = c.clone();
            calls.spawn(async move {
                c.revoke_tokens(&CommunicationUserIdentifier::new(USER), None)
                    .await
            });
        }
        calls.join_all()
    };
    // No token yet: 100 calls at once, one get_token.
    for result in hundred_calls().await {
        result.unwrap();
    }
    assert_eq!(credential.calls.load(Ordering::SeqCst), 1);
    // The token is now within the refresh margin (5 minutes before it expires): again one.
    clock.advance(Duration::from_secs(56 * 60));
    for result in hundred_calls().await {
        result.unwrap();
    }
    assert_eq!(credential.calls.load(Ordering::SeqCst), 2);
    let reqs = seen.all();
    assert_eq!(reqs.len(), 200);
    let with = |token: &str| {
        reqs.iter()
            .filter(|r| header_of(r, "authorization") == format!("Bearer {token}"))
            .count()
    };
    assert_eq!((with("entra-token-0"), with("entra-token-1")), (100, 100));
}
