//! `EntraTokenExchange` and `get_token_for_entra_user` against httpmock: which exchange the
//! scopes choose, the bearer token and api-version each sends, when the held ACS token is reused
//! and when it is exchanged again, and the errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use acs_identity::credentials::{Secret, TokenCredential};
use acs_identity::{
    CommunicationIdentityClientOptions, DEFAULT_ENTRA_USER_SCOPE, EntraTokenExchange,
    EntraTokenExchangeOptions, ErrorKind, ExchangeKind, TEAMS_EXTENSION_SCOPE,
};
use async_trait::async_trait;
use azure_core::credentials::{AccessToken as AzToken, TokenRequestOptions};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use httpmock::prelude::*;

/// An app's credential for the end user: returns the token set last, counts the calls and
/// records the scopes asked for.
#[derive(Debug, Default)]
struct UserCredential {
    token: Mutex<String>,
    scopes: Mutex<Vec<String>>,
    calls: AtomicUsize,
}

impl UserCredential {
    fn new(token: &str) -> Arc<Self> {
        let credential = Arc::new(Self::default());
        credential.set(token);
        credential
    }
    fn set(&self, token: &str) {
        *self.token.lock().unwrap() = token.to_owned();
    }
}

#[async_trait]
impl TokenCredential for UserCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzToken> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        *self.scopes.lock().unwrap() = scopes.iter().map(|s| s.to_string()).collect();
        Ok(AzToken::new(
            Secret::new(self.token.lock().unwrap().clone()),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

/// An ACS-shaped JWT that expires `minutes` from now.
fn acs_jwt(minutes: i64) -> (String, time::OffsetDateTime) {
    let expires = time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"skypeid":"acs:r_t_o","exp":{},"acsScope":"voip"}}"#,
        expires.unix_timestamp()
    ));
    let expires = time::OffsetDateTime::from_unix_timestamp(expires.unix_timestamp()).unwrap();
    (format!("{header}.{payload}.c2ln"), expires)
}

fn exchange_body(jwt: &str, expires: time::OffsetDateTime) -> String {
    let expires = expires
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    format!(
        r#"{{"identity":{{"id":"8:acs:00000000-0000-0000-0000-000000000000_t_o"}},"accessToken":{{"token":"{jwt}","expiresOn":"{expires}"}}}}"#
    )
}

/// A server whose exchange endpoint at `path` answers a token living `minutes`.
async fn exchange_server(path: &'static str, minutes: i64) -> (MockServer, Seen) {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        move |when| when.method(POST).path(path),
        move |_| {
            let (jwt, expires) = acs_jwt(minutes);
            respond(200, Some(JSON_UTF8), &exchange_body(&jwt, expires))
        },
    )
    .await;
    (server, seen)
}

fn exchange(
    server: &MockServer,
    credential: Arc<UserCredential>,
    scopes: &[&str],
) -> EntraTokenExchange {
    EntraTokenExchange::new(
        &server.base_url(),
        credential,
        Some(
            EntraTokenExchangeOptions::default()
                .with_scopes(scopes.iter().copied())
                .with_client_options(fast_options()),
        ),
    )
    .unwrap()
}

#[tokio::test]
async fn a_teams_extension_scope_exchanges_with_2025_06_30_and_reuses_until_the_entra_token_changes()
 {
    let (server, seen) = exchange_server("/access/teamsExtension/:exchangeAccessToken", 60).await;
    let user = UserCredential::new("entra-1");
    let exchange = exchange(&server, Arc::clone(&user), &[TEAMS_EXTENSION_SCOPE]);
    assert_eq!(exchange.kind(), ExchangeKind::TeamsExtension);

    let first = exchange.exchange().await.unwrap();
    let again = exchange.exchange().await.unwrap();
    assert_eq!(first.token.secret(), again.token.secret());
    assert_eq!(seen.all().len(), 1, "the held token is reused");
    assert_eq!(
        user.calls.load(Ordering::SeqCst),
        2,
        "the Entra token is asked for each time"
    );
    assert_eq!(*user.scopes.lock().unwrap(), [TEAMS_EXTENSION_SCOPE]);

    user.set("entra-2");
    exchange.exchange().await.unwrap();
    let reqs = seen.all();
    assert_eq!(reqs.len(), 2, "a new Entra token is exchanged again");
    assert_eq!(header_of(&reqs[0], "authorization"), "Bearer entra-1");
    assert_eq!(header_of(&reqs[1], "authorization"), "Bearer entra-2");
    for req in &reqs {
        assert_eq!(
            target(req),
            "/access/teamsExtension/:exchangeAccessToken?api-version=2025-06-30"
        );
        assert_eq!(req.body_string(), "{}");
    }
}

#[tokio::test]
async fn an_acs_token_about_to_expire_is_exchanged_again() {
    let (server, seen) = exchange_server("/access/teamsExtension/:exchangeAccessToken", 1).await;
    let exchange = exchange(
        &server,
        UserCredential::new("entra"),
        &[TEAMS_EXTENSION_SCOPE],
    );
    exchange.exchange().await.unwrap();
    exchange.exchange().await.unwrap();
    assert_eq!(
        seen.all().len(),
        2,
        "a token with a minute left is not handed out again"
    );
}

#[tokio::test]
async fn whether_the_held_token_is_about_to_expire_is_read_on_the_clients_clock() {
    let (server, seen) = exchange_server("/access/teamsExtension/:exchangeAccessToken", 60).await;
    // The client's clock is 59 minutes ahead: the hour-long token has a minute left.
    let ahead = std::time::SystemTime::now() + std::time::Duration::from_secs(59 * 60);
    let exchange = EntraTokenExchange::new(
        &server.base_url(),
        UserCredential::new("entra"),
        Some(
            EntraTokenExchangeOptions::default()
                .with_scopes([TEAMS_EXTENSION_SCOPE])
                .with_client_options(
                    fast_options()
                        .with_clock(Arc::new(acs_identity::credentials::FixedClock(ahead))),
                ),
        ),
    )
    .unwrap();
    exchange.exchange().await.unwrap();
    exchange.exchange().await.unwrap();
    assert_eq!(seen.all().len(), 2);
}

#[tokio::test]
async fn entra_user_scopes_use_the_preview_exchange_and_the_default_scope_is_one() {
    let (server, seen) = exchange_server("/access/entra/:exchangeAccessToken", 60).await;
    let user = UserCredential::new("entra-user");
    let exchange = EntraTokenExchange::new(
        &server.base_url(),
        Arc::clone(&user) as Arc<dyn TokenCredential>,
        Some(EntraTokenExchangeOptions::default().with_client_options(fast_options())),
    )
    .unwrap();
    assert_eq!(exchange.kind(), ExchangeKind::EntraUser);
    exchange.exchange().await.unwrap();
    assert_eq!(*user.scopes.lock().unwrap(), [DEFAULT_ENTRA_USER_SCOPE]);
    let req = seen.one();
    assert_eq!(
        target(&req),
        "/access/entra/:exchangeAccessToken?api-version=2025-03-02-preview"
    );
    assert_eq!(header_of(&req, "authorization"), "Bearer entra-user");
}

#[tokio::test]
async fn concurrent_callers_share_one_exchange() {
    let (server, seen) = exchange_server("/access/teamsExtension/:exchangeAccessToken", 60).await;
    let exchange = Arc::new(exchange(
        &server,
        UserCredential::new("entra"),
        &[TEAMS_EXTENSION_SCOPE],
    ));
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let exchange = Arc::clone(&exchange);
            tokio::spawn(async move { exchange.exchange().await.unwrap() })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
    }
    assert_eq!(seen.all().len(), 1);
}

#[tokio::test]
async fn it_is_a_refresher_and_a_token_credential() {
    let (server, seen) = exchange_server("/access/teamsExtension/:exchangeAccessToken", 60).await;
    let exchange = exchange(
        &server,
        UserCredential::new("entra"),
        &[TEAMS_EXTENSION_SCOPE],
    );
    let via_trait = TokenCredential::get_token(&exchange, &["ignored"], None)
        .await
        .unwrap();
    let credential = exchange.into_communication_token_credential(None).unwrap();
    let via_credential = credential.get_token().await.unwrap();
    assert_eq!(via_trait.token.secret(), via_credential.token.secret());
    assert_eq!(via_credential.expires_on, via_trait.expires_on);
    // The credential's refresher call reused the exchange's held token.
    assert_eq!(seen.all().len(), 1);
}

#[tokio::test]
async fn a_refused_exchange_is_a_service_error_and_a_credential_error_through_the_trait() {
    let server = MockServer::start_async().await;
    recording(
        &server,
        |when| when.method(POST).path("/access/teamsExtension/:exchangeAccessToken"),
        |_| {
            respond(
                401,
                Some(JSON_UTF8),
                r#"{"error":{"code":"InvalidAccessToken","message":"Provided access token is not valid."}}"#,
            )
        },
    )
    .await;
    let exchange = exchange(
        &server,
        UserCredential::new("entra"),
        &[TEAMS_EXTENSION_SCOPE],
    );
    let error = exchange.exchange().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Service);
    assert_eq!(error.code(), Some("InvalidAccessToken"));
    assert!(!error.to_string().contains("entra"), "{error}");
    let error = TokenCredential::get_token(&exchange, &[], None)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), &azure_core::error::ErrorKind::Credential);
}

#[test]
fn scopes_that_fit_no_exchange_and_plain_http_are_refused() {
    let user = UserCredential::new("entra");
    let error = EntraTokenExchange::new(
        "https://contoso.communication.azure.com/",
        Arc::clone(&user) as Arc<dyn TokenCredential>,
        Some(
            EntraTokenExchangeOptions::default()
                .with_scopes(["https://graph.microsoft.com/.default"]),
        ),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(
        error
            .to_string()
            .contains("Scopes validation failed. Ensure all scopes start with one of"),
        "{error}"
    );
    let error = EntraTokenExchange::new(
        "http://contoso.example.com/",
        user,
        Some(EntraTokenExchangeOptions::default().with_scopes([TEAMS_EXTENSION_SCOPE])),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(error.to_string().contains("plain http"), "{error}");
}

#[tokio::test]
async fn get_token_for_entra_user_needs_the_preview_and_sends_nothing_otherwise() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.any_request(),
        |_| respond(500, None, ""),
    )
    .await;
    let error = client(&server)
        .get_token_for_entra_user("entra", None)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(
        error
            .to_string()
            .contains("get_token_for_entra_user needs the preview api-version 2025-03-02-preview"),
        "{error}"
    );
    assert!(seen.all().is_empty());

    let (server, seen) = exchange_server("/access/entra/:exchangeAccessToken", 60).await;
    let preview = client_with(
        &server,
        CommunicationIdentityClientOptions::default().with_api_version("2025-03-02-preview"),
    );
    let exchanged = preview
        .get_token_for_entra_user("entra", None)
        .await
        .unwrap();
    assert_eq!(
        exchanged.identifier.raw_id(),
        "8:acs:00000000-0000-0000-0000-000000000000_t_o"
    );
    let req = seen.one();
    assert_eq!(header_of(&req, "authorization"), "Bearer entra");
    insta::assert_snapshot!("wire_get_token_for_entra_user", wire_text(&req));
}

#[tokio::test]
async fn debug_shows_the_kind_and_neither_token() {
    let (server, _seen) = exchange_server("/access/teamsExtension/:exchangeAccessToken", 60).await;
    let exchange = exchange(
        &server,
        UserCredential::new("entra-secret-token"),
        &[TEAMS_EXTENSION_SCOPE],
    );
    let token = exchange.exchange().await.unwrap();
    let debug = format!("{exchange:?}");
    assert!(debug.contains("TeamsExtension"), "{debug}");
    assert!(!debug.contains("entra-secret-token"), "{debug}");
    assert!(!debug.contains(token.token.secret()), "{debug}");
}
