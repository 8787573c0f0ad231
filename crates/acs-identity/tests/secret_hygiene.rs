//! No key, token or signature in Debug output or in anything `tracing` emits at TRACE level.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use acs_identity::credentials::{AccessKey, AccessKeyCredential};
use acs_identity::{CommunicationIdentityClient, CommunicationUserIdentifier, TokenScope};
use common::*;
use httpmock::prelude::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const BEARER: &str = "entra-bearer-secret-0123456789abcdef";

#[derive(Debug)]
struct Bearer;

#[async_trait::async_trait]
impl acs_identity::credentials::TokenCredential for Bearer {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        Ok(azure_core::credentials::AccessToken::new(
            BEARER,
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

#[tokio::test]
async fn nothing_secret_in_debug_or_traces() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        // Everything at TRACE except the mock server's own logs (it prints the requests it receives).
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace,httpmock=off"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .unwrap();

    let server = MockServer::start_async().await;
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = recording(
        &server,
        |when| when.any_request(),
        move |req| {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path = target(req);
            if n == 0 {
                respond(
                    503,
                    Some("application/json"),
                    r#"{"error":{"code":"Busy","message":"busy"}}"#,
                )
            } else if path.starts_with("/identities?") {
                respond(
                    201,
                    Some(JSON_UTF8),
                    &format!(
                        r#"{{"identity":{{"id":"{USER}"}},"accessToken":{}}}"#,
                        token_body()
                    ),
                )
            } else if path.contains("issueAccessToken") || path.contains("exchangeAccessToken") {
                respond(200, Some(JSON_UTF8), &token_body())
            } else {
                respond(204, None, "")
            }
        },
    )
    .await;
    let credential = AccessKeyCredential::from_base64(KEY).unwrap();
    let c = CommunicationIdentityClient::with_access_key(
        &server.base_url(),
        credential.clone(),
        Some(fast_options()),
    )
    .unwrap();
    let user = CommunicationUserIdentifier::new(USER);
    let created = c
        .create_user_and_token(&[TokenScope::Chat], None)
        .await
        .unwrap();
    c.create_user(None).await.unwrap();
    let token = c.get_token(&user, &[TokenScope::Voip], None).await.unwrap();
    let teams = c
        .get_token_for_teams_user("aad-secret-token-value", "appid", "userid", None)
        .await
        .unwrap();
    c.revoke_tokens(&user, None).await.unwrap();
    c.delete_user(&user, None).await.unwrap();
    let error = c
        .get_token(&CommunicationUserIdentifier::new(""), &[], None)
        .await
        .unwrap_err();
    let bearer = CommunicationIdentityClient::with_token_credential(
        &server.base_url(),
        Arc::new(Bearer),
        Some(fast_options()),
    )
    .unwrap();
    bearer.revoke_tokens(&user, None).await.unwrap();

    let mut secrets: Vec<String> = vec![
        KEY.to_owned(),
        jwt(),
        "aad-secret-token-value".to_owned(),
        BEARER.to_owned(),
    ];
    for req in seen.all() {
        let auth = header_of(&req, "authorization");
        if auth.starts_with("Bearer ") {
            assert_eq!(auth, format!("Bearer {BEARER}"));
            continue;
        }
        secrets.push(
            auth.rsplit('=')
                .nth(1)
                .map(|_| auth.split("Signature=").nth(1).unwrap().to_owned())
                .unwrap(),
        );
    }
    let debug_texts = [
        format!("{c:?}"),
        format!("{credential:?}"),
        format!("{:?}", AccessKey::from_base64(KEY).unwrap()),
        format!("{created:?}"),
        format!("{token:?}"),
        format!("{teams:?}"),
        format!("{error:?} {error}"),
        format!("{:?}", fast_options()),
        format!("{bearer:?}"),
    ];
    let traces = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture works: spans of every method are there, with attempt counts and statuses.
    for name in [
        "CommunicationIdentity-createUserAndToken",
        "CommunicationIdentity-createUser",
        "CommunicationIdentity-issueToken",
        "CommunicationIdentity-getTokenForTeamsUser",
        "CommunicationIdentity-revokeTokens",
        "CommunicationIdentity-deleteUser",
    ] {
        assert!(traces.contains(name), "span {name} missing");
    }
    assert!(traces.contains("retrying"), "retry event missing");
    assert!(traces.contains("api_version=2023-10-01"));
    for secret in &secrets {
        assert!(
            secret.len() >= 20,
            "secret too short to be meaningful: {secret}"
        );
        if let Some(i) = traces.find(secret.as_str()) {
            let line_start = traces[..i].rfind('\n').map_or(0, |p| p + 1);
            panic!(
                "a secret appears in the traces, in a line starting: {}",
                &traces[line_start..(line_start + 160).min(i)]
            );
        }
        for text in &debug_texts {
            assert!(
                !text.contains(secret.as_str()),
                "a secret appears in Debug: {text}"
            );
        }
    }
}

/// A body that does not decode: the decoder's message quotes the value it failed on, here the
/// token where an object belongs; neither the error's Debug nor its source may show it.
#[tokio::test]
async fn a_token_quoted_by_a_decode_error_is_masked() {
    let server = MockServer::start_async().await;
    let token = jwt();
    let body = format!(r#"{{"identity":{{"id":"{USER}"}},"accessToken":"{token}"}}"#);
    server
        .mock_async(move |when, then| {
            when.any_request();
            then.status(201)
                .header("content-type", JSON_UTF8)
                .body(body.clone());
        })
        .await;
    let error = client(&server)
        .create_user_and_token(&[TokenScope::Chat], None)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), acs_identity::ErrorKind::Decode);
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(source.contains("invalid type: string"), "{source}");
    for shown in [format!("{error:?}"), error.to_string(), source] {
        assert!(!shown.contains(&token), "{shown}");
        assert!(!shown.contains(&token[..20]), "{shown}");
    }
}
