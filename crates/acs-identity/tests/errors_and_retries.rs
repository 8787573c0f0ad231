//! Every error row of service.md mapped with code, message and target; undecodable bodies; retries.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use acs_identity::credentials::Clock;
use acs_identity::{
    CommunicationIdentityClient, CommunicationUserIdentifier, ErrorKind, GetTokenOptions,
    RetryOptions, TokenScope,
};
use common::*;
use httpmock::prelude::*;

fn err_body(code: &str, message: &str, target: Option<&str>) -> String {
    match target {
        Some(t) => {
            format!(r#"{{"error":{{"code":"{code}","message":"{message}","target":"{t}"}}}}"#)
        }
        None => format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#),
    }
}

fn user() -> CommunicationUserIdentifier {
    CommunicationUserIdentifier::new(USER)
}

#[tokio::test]
async fn every_service_error_row_is_mapped() {
    // (operation, status, code, message, target)
    let rows: [(&str, u16, &str, &str, Option<&str>); 10] = [
        (
            "issue",
            400,
            "ValidationError",
            "ExpiresInMinutes value 1441 is invalid.",
            Some("ExpiresInMinutes"),
        ),
        (
            "issue",
            400,
            "ValidationError",
            "ExpiresInMinutes value 59 is invalid. Value must be within the [60, 1440] interval.",
            Some("ExpiresInMinutes"),
        ),
        (
            "issue",
            400,
            "ValidationError",
            "Scopes: The Scopes field is required.",
            Some("Scopes"),
        ),
        (
            "issue",
            400,
            "ValidationError",
            "Invalid scopes - Scopes field is required.",
            Some("scopes"),
        ),
        (
            "create",
            400,
            "ValidationError",
            "CreateTokenWithScopes value is missing.",
            Some("CreateTokenWithScopes"),
        ),
        (
            "revoke",
            401,
            "IdentityNotOwned",
            "Provided identity doesn't belong to the resource.",
            None,
        ),
        (
            "teams",
            401,
            "InvalidAccessToken",
            "Provided access token is not valid.",
            None,
        ),
        (
            "teams",
            400,
            "ValidationError",
            "AAD application is not the expected one.",
            Some("appId"),
        ),
        (
            "teams",
            400,
            "ValidationError",
            "Provided AAD token issued for unexpected user.",
            Some("userId"),
        ),
        (
            "delete",
            401,
            "Denied",
            "Request 'x-ms-content-sha256' differs from generated content hash.",
            None,
        ),
    ];
    let mut displays = Vec::new();
    for (op, status, code, message, target) in rows {
        let server = MockServer::start_async().await;
        let body = err_body(code, message, target);
        let mock = server
            .mock_async(|when, then| {
                when.any_request();
                then.status(status)
                    .header("content-type", "application/json")
                    .header("x-ms-client-request-id", "echoed-request-id")
                    .body(body);
            })
            .await;
        let c = client(&server);
        let e = match op {
            "issue" => c
                .get_token(
                    &user(),
                    &[TokenScope::Chat],
                    Some(
                        GetTokenOptions::default()
                            .with_token_expires_in(Duration::from_secs(1441 * 60)),
                    ),
                )
                .await
                .map(|_| ()),
            "create" => c
                .create_user_and_token(&[TokenScope::Chat], None)
                .await
                .map(|_| ()),
            "revoke" => c.revoke_tokens(&user(), None).await,
            "delete" => c.delete_user(&user(), None).await,
            _ => c
                .get_token_for_teams_user("aadtoken", "appid", "userid", None)
                .await
                .map(|_| ()),
        }
        .unwrap_err();
        assert_eq!(mock.calls_async().await, 1, "{code} is not retried");
        assert_eq!(e.kind(), ErrorKind::Service);
        assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(e.code(), Some(code));
        assert_eq!(e.message(), message);
        assert_eq!(e.target(), target);
        assert_eq!(e.request_id(), Some("echoed-request-id"));
        displays.push(e.to_string());
    }
    assert_eq!(
        displays[0],
        "ValidationError (400): ExpiresInMinutes value 1441 is invalid. [target: ExpiresInMinutes]"
    );
    insta::assert_snapshot!("service_error_displays", displays.join("\n"));
}

#[tokio::test]
async fn nested_details_are_kept() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(400).header("content-type", "application/json").body(
                r#"{"error":{"code":"BadRequest","message":"outer","details":[{"code":"Inner","message":"inner","target":"x"}],"innererror":{"code":"Deep","message":"deep"}}}"#,
            );
        })
        .await;
    let e = client(&server)
        .delete_user(&user(), None)
        .await
        .unwrap_err();
    assert_eq!(e.details().len(), 1);
    assert_eq!(e.details()[0].code, "Inner");
    assert_eq!(e.details()[0].target.as_deref(), Some("x"));
    let inner = e.service_error().unwrap().inner_error.as_ref().unwrap();
    assert_eq!(inner.code, "Deep");
}

#[tokio::test]
async fn undecodable_bodies_are_decode_errors() {
    let cases: [(&str, u16, &str, &str); 5] = [
        (
            "html_502",
            502,
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        ),
        (
            "truncated_json",
            200,
            JSON_UTF8,
            r#"{"token":"eyJhbGciOiJSUzI1NiJ9.eyJza3lw"#,
        ),
        (
            "wrong_type",
            200,
            JSON_UTF8,
            r#"{"token":5,"expiresOn":"2022-08-26T20:03:35+00:00"}"#,
        ),
        ("array", 200, JSON_UTF8, "[]"),
        (
            "bad_date",
            200,
            JSON_UTF8,
            r#"{"token":"t","expiresOn":"yesterday"}"#,
        ),
    ];
    let mut displays = Vec::new();
    for (name, status, ct, body) in cases {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.any_request();
                then.status(status).header("content-type", ct).body(body);
            })
            .await;
        let mut options = fast_options();
        options.retry = RetryOptions::none();
        let c = client_with(&server, options);
        let e = c
            .get_token(&user(), &[TokenScope::Chat], None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{name}: {e}");
        assert_eq!(e.status().map(|s| s.as_u16()), Some(status), "{name}");
        assert_eq!(e.content_type(), Some(ct), "{name}");
        assert!(e.body_excerpt().is_some(), "{name}");
        assert!(
            !e.to_string().contains("eyJ"),
            "{name}: token-like text masked: {e}"
        );
        displays.push(format!("{name}: {e}"));
    }
    assert!(
        displays[0].contains("<html><body><h1>502 Bad Gateway</h1>"),
        "{}",
        displays[0]
    );
    insta::assert_snapshot!("decode_error_displays", displays.join("\n"));
}

#[tokio::test]
async fn error_status_without_body_is_a_service_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(404);
        })
        .await;
    let e = client(&server)
        .delete_user(&user(), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Service);
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(e.code(), None);
    assert!(e.request_id().is_some());
}

/// Serves `failures` with `status` (+ headers), then a token.
async fn flaky(
    server: &MockServer,
    failures: usize,
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
) -> Seen {
    let count = Arc::new(AtomicUsize::new(0));
    recording(
        server,
        |when| when.any_request(),
        move |_| {
            let n = count.fetch_add(1, Ordering::SeqCst);
            if n < failures {
                let mut b = httpmock::HttpMockResponse::builder()
                    .status(status)
                    .header("content-type", "application/json");
                for (k, v) in &headers {
                    b = b.header(*k, *v);
                }
                b.body(err_body("ServiceUnavailable", &format!("try {n}"), None))
                    .build()
            } else {
                respond(200, Some(JSON_UTF8), &token_body())
            }
        },
    )
    .await
}

#[tokio::test]
async fn retries_503_then_succeeds_keeping_the_request_id() {
    let server = MockServer::start_async().await;
    let seen = flaky(&server, 1, 503, vec![]).await;
    let token = client(&server)
        .get_token(&user(), &[TokenScope::Chat], None)
        .await
        .unwrap();
    assert_eq!(token.token.secret(), jwt());
    let reqs = seen.all();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        header_of(&reqs[0], "x-ms-client-request-id"),
        header_of(&reqs[1], "x-ms-client-request-id")
    );
    for r in &reqs {
        assert_signed(r, KEY);
    }
}

#[tokio::test]
async fn every_retryable_status_is_retried() {
    for status in [408, 429, 500, 502, 503, 504] {
        let server = MockServer::start_async().await;
        let seen = flaky(&server, 2, status, vec![]).await;
        client(&server)
            .get_token(&user(), &[TokenScope::Chat], None)
            .await
            .unwrap();
        assert_eq!(seen.all().len(), 3, "{status}");
    }
}

#[tokio::test]
async fn honours_retry_after_seconds_on_429() {
    let server = MockServer::start_async().await;
    let seen = flaky(&server, 1, 429, vec![("retry-after", "1")]).await;
    // Backoff alone would wait ~5 ms: the wait must come from the header.
    let mut options = fast_options();
    options.retry = options.retry.with_max_delay(Duration::from_secs(60));
    let c = client_with(&server, options);
    let started = Instant::now();
    c.get_token(&user(), &[TokenScope::Chat], None)
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(seen.all().len(), 2);
}

#[tokio::test]
async fn honours_retry_after_http_date() {
    // The client's clock is fixed; the server asks to wait until one second after it.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    let later: &'static str =
        Box::leak(acs_auth::format_http_date(now + Duration::from_secs(1)).into_boxed_str());
    let server = MockServer::start_async().await;
    let seen = flaky(&server, 1, 503, vec![("retry-after", later)]).await;
    let mut options =
        fast_options().with_clock(Arc::new(acs_identity::credentials::FixedClock(now)));
    options.retry = options.retry.with_max_delay(Duration::from_secs(60));
    let c = client_with(&server, options);
    let started = Instant::now();
    c.get_token(&user(), &[TokenScope::Chat], None)
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    assert_eq!(seen.all().len(), 2);
    // Both tries carry the fixed clock's date.
    assert!(
        seen.all()
            .iter()
            .all(|r| header_of(r, "x-ms-date") == acs_auth::format_http_date(now))
    );
}

#[tokio::test]
async fn honours_retry_after_ms_headers() {
    for header in ["retry-after-ms", "x-ms-retry-after-ms"] {
        let server = MockServer::start_async().await;
        let seen = flaky(&server, 1, 503, vec![(header, "300")]).await;
        let mut options = fast_options();
        options.retry = options.retry.with_max_delay(Duration::from_secs(5));
        let c = client_with(&server, options);
        let started = Instant::now();
        c.get_token(&user(), &[TokenScope::Chat], None)
            .await
            .unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(290),
            "{header}: {:?}",
            started.elapsed()
        );
        assert_eq!(seen.all().len(), 2);
    }
}

/// A clock that moves 10 s forward each time it is read.
#[derive(Debug)]
struct SteppingClock(AtomicU64);

impl Clock for SteppingClock {
    fn now(&self) -> SystemTime {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000 + n * 10)
    }
}

#[tokio::test]
async fn each_retry_is_signed_afresh_with_a_new_date() {
    let server = MockServer::start_async().await;
    let seen = flaky(&server, 2, 500, vec![]).await;
    let options = fast_options().with_clock(Arc::new(SteppingClock(AtomicU64::new(0))));
    let c = client_with(&server, options);
    c.get_token(&user(), &[TokenScope::Chat], None)
        .await
        .unwrap();
    let reqs = seen.all();
    assert_eq!(reqs.len(), 3);
    let dates: Vec<String> = reqs.iter().map(|r| header_of(r, "x-ms-date")).collect();
    assert_ne!(dates[0], dates[1]);
    assert_ne!(dates[1], dates[2]);
    let sigs: Vec<String> = reqs.iter().map(|r| header_of(r, "authorization")).collect();
    assert_ne!(sigs[0], sigs[1]);
    let ids: Vec<String> = reqs
        .iter()
        .map(|r| header_of(r, "x-ms-client-request-id"))
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
    for r in &reqs {
        assert_signed(r, KEY);
    }
}

#[tokio::test]
async fn exhaustion_returns_the_last_service_error() {
    let server = MockServer::start_async().await;
    let seen = flaky(&server, 100, 503, vec![]).await;
    let e = client(&server)
        .get_token(&user(), &[TokenScope::Chat], None)
        .await
        .unwrap_err();
    let reqs = seen.all();
    assert_eq!(reqs.len(), 4, "1 try + 3 retries");
    // The first try, the retries rebuilt from what was kept, and the last (the kept request
    // itself) are the same request apart from date and signature (redacted by wire_text).
    let first = wire_text(&reqs[0]);
    assert!(first.contains("content-type: application/json"), "{first}");
    assert!(first.ends_with(r#"{"scopes":["chat"]}"#), "{first}");
    for r in &reqs[1..] {
        assert_eq!(wire_text(r), first);
    }
    assert_eq!(e.kind(), ErrorKind::Service);
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(e.message(), "try 3");
}

#[tokio::test]
async fn retries_can_be_disabled() {
    let server = MockServer::start_async().await;
    let seen = flaky(&server, 100, 503, vec![]).await;
    let mut options = fast_options();
    options.retry = RetryOptions::none();
    let c = client_with(&server, options);
    let e = c
        .get_token(&user(), &[TokenScope::Chat], None)
        .await
        .unwrap_err();
    assert_eq!(seen.all().len(), 1);
    assert_eq!(e.message(), "try 0");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for status in [400, 401, 403, 404, 409] {
        let server = MockServer::start_async().await;
        let seen = flaky(&server, 100, status, vec![("retry-after", "0")]).await;
        let e = client(&server)
            .get_token(&user(), &[TokenScope::Chat], None)
            .await
            .unwrap_err();
        assert_eq!(seen.all().len(), 1, "{status}");
        assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
    }
}

#[tokio::test]
async fn connection_failures_are_retried_then_reported() {
    // A listener that accepts and immediately closes every connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            a.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let c = CommunicationIdentityClient::from_connection_string(
        &format!("endpoint=http://127.0.0.1:{port}/;accesskey={KEY}"),
        Some(fast_options()),
    )
    .unwrap();
    let e = c.delete_user(&user(), None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert!(e.to_string().contains("(after 4 tries)"), "{e}");
    assert!(e.request_id().is_some());
    assert_eq!(accepted.load(Ordering::SeqCst), 4, "1 try + 3 retries");
}

#[tokio::test]
async fn per_try_timeout_is_a_retried_transport_error() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(204).delay(Duration::from_millis(400));
        })
        .await;
    let mut options = fast_options().with_per_try_timeout(Duration::from_millis(50));
    options.retry = options.retry.with_max_retries(1);
    let c = client_with(&server, options);
    let e = c.delete_user(&user(), None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(e.to_string().contains("timed out"), "{e}");
    assert_eq!(mock.calls_async().await, 2);
}

#[derive(Debug)]
struct FailingCredential;

#[async_trait::async_trait]
impl acs_identity::credentials::TokenCredential for FailingCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            "no managed identity endpoint",
        ))
    }
}

#[tokio::test]
async fn other_error_kinds_display() {
    let mut lines = Vec::new();
    let server = MockServer::start_async().await;
    let c = client(&server);
    let e = c
        .delete_user(&CommunicationUserIdentifier::new(" "), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    lines.push(e.to_string());
    let e = c
        .get_token(
            &user(),
            &[TokenScope::Chat],
            Some(GetTokenOptions::default().with_token_expires_in(Duration::from_secs(u64::MAX))),
        )
        .await
        .unwrap_err();
    lines.push(e.to_string());
    let e =
        CommunicationIdentityClient::from_connection_string("endpoint=https://a.example/", None)
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    lines.push(e.to_string());
    let e = CommunicationIdentityClient::with_token_credential(
        "http://contoso.communication.azure.com/",
        Arc::new(FailingCredential),
        None,
    )
    .unwrap_err();
    lines.push(e.to_string());
    let c = CommunicationIdentityClient::with_token_credential(
        &server.base_url(),
        Arc::new(FailingCredential),
        None,
    )
    .unwrap();
    let e = c.create_user(None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Credential);
    assert!(std::error::Error::source(&e).is_some());
    lines.push(e.to_string());
    insta::assert_snapshot!("other_error_displays", lines.join("\n"));

    // Transport errors name what failed and keep the cause as their source.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut options = fast_options();
    options.retry = RetryOptions::none();
    let c = CommunicationIdentityClient::from_connection_string(
        &format!("endpoint=http://127.0.0.1:{port}/;accesskey={KEY}"),
        Some(options),
    )
    .unwrap();
    let e = c.create_user(None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(
        e.to_string()
            .starts_with("transport error: could not connect to the service (after 1 try)"),
        "{e}"
    );
    assert!(std::error::Error::source(&e).is_some());
    assert!(!e.to_string().contains(KEY));
    // As an azure_core error: a connection failure.
    let azure: azure_core::Error = e.into();
    assert_eq!(*azure.kind(), azure_core::error::ErrorKind::Connection);
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    // A signed request is for one URL: the default HTTP client answers a 307 with the 307.
    let server = MockServer::start_async().await;
    let elsewhere = server
        .mock_async(|when, then| {
            when.path("/elsewhere");
            then.status(204);
        })
        .await;
    let redirect = server
        .mock_async(|when, then| {
            when.path_suffix("/:revokeAccessTokens");
            then.status(307)
                .header("location", server.url("/elsewhere"));
        })
        .await;
    let e = client(&server)
        .revoke_tokens(&user(), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Service, "{e}");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(307));
    assert_eq!(redirect.calls_async().await, 1);
    assert_eq!(elsewhere.calls_async().await, 0);
}

#[tokio::test]
async fn a_calls_deadline_covers_every_try_and_wait() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(503).delay(Duration::from_millis(100));
        })
        .await;
    // The client's own deadline.
    let mut options = fast_options().with_timeout(Duration::from_millis(250));
    options.retry = options.retry.with_max_retries(10);
    let c = client_with(&server, options);
    let started = Instant::now();
    let e = c.delete_user(&user(), None).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert!(e.to_string().contains("deadline of 250ms"), "{e}");
    assert!(e.request_id().is_some());
    let tries = mock.calls_async().await;
    assert!((2..=4).contains(&tries), "{tries} tries");
    // A call's own deadline wins over the client's.
    let options = acs_identity::DeleteUserOptions::default()
        .with_call(acs_identity::CallOptions::default().with_timeout(Duration::from_millis(60)));
    let e = c.delete_user(&user(), Some(options)).await.unwrap_err();
    assert!(
        e.to_string().contains("deadline of 60ms (1 try started)"),
        "{e}"
    );
}

#[tokio::test]
async fn a_call_can_turn_retries_off() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.method(POST).path("/identities"),
        |_| respond(503, None, ""),
    )
    .await;
    let c = client(&server);
    let no_retry = acs_identity::CreateUserOptions::default()
        .with_call(acs_identity::CallOptions::default().with_retry(RetryOptions::none()));
    let e = c.create_user(Some(no_retry)).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(seen.all().len(), 1, "the create was sent once");
    // The client's policy applies to the next call: 1 try + 3 retries.
    c.create_user(None).await.unwrap_err();
    assert_eq!(seen.all().len(), 5);
}

#[tokio::test]
async fn retry_after_survives_the_retries_giving_up() {
    let server = MockServer::start_async().await;
    // Every try is throttled; the service asks for 7 s, the client waits at most 50 ms.
    let seen = flaky(&server, usize::MAX, 429, vec![("retry-after", "7")]).await;
    let e = client(&server)
        .get_token(&user(), &[TokenScope::Chat], None)
        .await
        .unwrap_err();
    assert_eq!(seen.all().len(), 4, "1 try + 3 retries");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)), "{e:?}");
    assert!(e.is_retryable());
    assert!(!e.is_timeout() && !e.is_connect());

    let server = MockServer::start_async().await;
    flaky(&server, usize::MAX, 503, vec![("retry-after-ms", "1500")]).await;
    let e = client(&server).create_user(None).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_millis(1500)));
    assert!(e.is_retryable());

    // Without a header there is no hint; a 400 is not worth retrying.
    let server = MockServer::start_async().await;
    flaky(&server, usize::MAX, 400, vec![]).await;
    let e = client(&server).create_user(None).await.unwrap_err();
    assert_eq!(e.retry_after(), None);
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn a_timeout_is_told_apart_from_a_refused_connection() {
    // A try that times out.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(204).delay(Duration::from_millis(400));
        })
        .await;
    let mut options = fast_options().with_per_try_timeout(Duration::from_millis(50));
    options.retry = RetryOptions::none();
    let c = client_with(&server, options);
    let e = c.delete_user(&user(), None).await.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(!e.is_connect(), "{e:?}");
    assert!(e.is_retryable());
    // The whole call's deadline.
    let options = acs_identity::DeleteUserOptions::default()
        .with_call(acs_identity::CallOptions::default().with_timeout(Duration::from_millis(30)));
    let e = client(&server)
        .delete_user(&user(), Some(options))
        .await
        .unwrap_err();
    assert!(e.is_timeout() && !e.is_connect(), "{e:?}");

    // A refused connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut options = fast_options();
    options.retry = RetryOptions::none();
    let c = CommunicationIdentityClient::from_connection_string(
        &format!("endpoint=http://127.0.0.1:{port}/;accesskey={KEY}"),
        Some(options),
    )
    .unwrap();
    let e = c.create_user(None).await.unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    assert!(!e.is_timeout(), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), None);
    // Neither for a service error or an argument error.
    let e = c
        .delete_user(&CommunicationUserIdentifier::new(""), None)
        .await
        .unwrap_err();
    assert!(!e.is_connect() && !e.is_timeout() && !e.is_retryable());
}

#[tokio::test]
async fn a_401_displays_the_services_inner_error() {
    // The emulator's (and the service's) shape of an authentication failure: `Denied`, with the
    // precise reason in `innererror`.
    let body = r#"{"error":{"code":"Denied","message":"Denied by the resource provider.","innererror":{"code":"SignatureMismatch","message":"the HMAC signature does not match"}}}"#;
    let server = MockServer::start_async().await;
    recording(
        &server,
        |when| when.any_request(),
        move |_| respond(401, Some("application/json"), body),
    )
    .await;
    let e = client(&server).create_user(None).await.unwrap_err();
    assert_eq!(e.code(), Some("Denied"));
    assert_eq!(
        e.service_error()
            .and_then(|d| d.inner_error.as_deref())
            .map(|inner| inner.code.as_str()),
        Some("SignatureMismatch")
    );
    assert_eq!(
        e.to_string(),
        "Denied (401): Denied by the resource provider. [inner error SignatureMismatch: the HMAC \
         signature does not match]"
    );
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn a_wait_the_deadline_would_cut_short_ends_the_call_with_the_services_answer() {
    // The service asks for 30 s; the call may take 2 s. Waiting would only end in a timeout
    // that hides the 503: the call ends at once with the service's answer instead.
    let server = MockServer::start_async().await;
    let seen = flaky(&server, usize::MAX, 503, vec![("retry-after", "30")]).await;
    let mut options = fast_options().with_timeout(Duration::from_secs(2));
    options.retry = options.retry.with_max_delay(Duration::from_secs(60));
    let e = client_with(&server, options)
        .get_token(&user(), &[TokenScope::Chat], None)
        .await
        .unwrap_err();
    assert_eq!(
        seen.all().len(),
        1,
        "no second try after a wait past the deadline"
    );
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503), "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(30)), "{e:?}");
    assert!(e.is_retryable() && !e.is_timeout(), "{e:?}");

    // A wait that fits is still made.
    let server = MockServer::start_async().await;
    let seen = flaky(&server, 1, 503, vec![("retry-after", "1")]).await;
    let mut options = fast_options().with_timeout(Duration::from_secs(20));
    options.retry = options.retry.with_max_delay(Duration::from_secs(60));
    client_with(&server, options)
        .get_token(&user(), &[TokenScope::Chat], None)
        .await
        .unwrap();
    assert_eq!(seen.all().len(), 2);
}

/// A credential that takes `delay` to answer, as a cold `az` sign-in does.
#[derive(Debug)]
struct SlowSignIn {
    delay: Duration,
}

#[async_trait::async_trait]
impl acs_identity::credentials::TokenCredential for SlowSignIn {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        tokio::time::sleep(self.delay).await;
        Ok(azure_core::credentials::AccessToken::new(
            "entra-token",
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

#[tokio::test]
async fn a_calls_deadline_runs_from_its_start_so_a_slow_sign_in_counts_against_it() {
    // The sign-in takes 2 s of a 3 s call; the service then asks for 2 s more. That wait would
    // end past the deadline, so the call ends with the 503 after one try. (When the deadline ran
    // from the first try, the call waited and tried again, ending past its limit.)
    let server = MockServer::start_async().await;
    let seen = flaky(&server, usize::MAX, 503, vec![("retry-after", "2")]).await;
    let mut options = fast_options().with_timeout(Duration::from_secs(3));
    options.retry = options.retry.with_max_delay(Duration::from_secs(60));
    let client = CommunicationIdentityClient::with_token_credential(
        &server.base_url(),
        Arc::new(SlowSignIn {
            delay: Duration::from_secs(2),
        }),
        Some(options),
    )
    .unwrap();
    let e = client.revoke_tokens(&user(), None).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503), "{e}");
    assert_eq!(
        seen.all().len(),
        1,
        "no second try past the call's deadline"
    );

    // A sign-in that outlasts the deadline ends the call with a timeout that says so.
    let mut options = fast_options().with_timeout(Duration::from_millis(200));
    options.retry = options.retry.with_max_retries(0);
    let client = CommunicationIdentityClient::with_token_credential(
        &server.base_url(),
        Arc::new(SlowSignIn {
            delay: Duration::from_secs(30),
        }),
        Some(options),
    )
    .unwrap();
    let e = client.revoke_tokens(&user(), None).await.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(
        e.to_string().contains("while getting its authorization"),
        "{e}"
    );
    assert_eq!(seen.all().len(), 1, "nothing more was sent");
}

#[tokio::test]
async fn a_call_timeout_of_duration_max_means_no_deadline_not_a_panic() {
    // Nothing listens on port 9 of loopback: the one try fails at once, refused.
    let client = CommunicationIdentityClient::from_connection_string(
        "endpoint=http://127.0.0.1:9/;accesskey=c2VjcmV0LWtleQ==",
        Some(fast_options().with_timeout(Duration::MAX)),
    )
    .unwrap();
    let options = acs_identity::DeleteUserOptions::default().with_call(
        acs_identity::CallOptions::default()
            .with_timeout(Duration::MAX)
            .with_retry(RetryOptions::none()),
    );
    let e = tokio::spawn(async move { client.delete_user(&user(), Some(options)).await })
        .await
        .expect("the call must not panic on a limit past what the clock holds")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert!(e.is_connect(), "{e:?}");
}

#[tokio::test]
async fn the_body_of_an_unlisted_status_is_read_within_the_calls_deadline() {
    // A 302 (a status the operation does not list) that promises a body and never sends it:
    // its body is read for the error, and that read must end at the call's deadline.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await.unwrap();
        socket
            .write_all(b"HTTP/1.1 302 Found\r\nlocation: /\r\ncontent-length: 10\r\n\r\n")
            .await
            .unwrap();
        // Hold the connection open without the body.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let client = CommunicationIdentityClient::from_connection_string(
        &format!("endpoint={endpoint};accesskey=c2VjcmV0LWtleQ=="),
        Some(fast_options().with_timeout(Duration::from_millis(500))),
    )
    .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(20), client.create_user(None)).await;
    server.abort();
    let e = outcome
        .expect("the call must end at its deadline, not wait for the body")
        .unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
}
