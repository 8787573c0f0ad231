//! The facade against the emulator (in-process, loopback, in-memory): the whole lifecycle of a
//! user and its tokens, the service's error rows, the Teams exchange, bearer authentication, key
//! rotation and api-versions.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use acs_identity::credentials::{AccessKey, AccessKeyCredential, TokenCredential};
use acs_identity::{
    CommunicationIdentifier, CommunicationIdentityClient, CommunicationIdentityClientOptions,
    CommunicationUserIdentifier, CreateUserAndTokenOptions, ErrorKind, GetTokenOptions,
    RetryOptions, TokenScope,
};
use acs_identity_emulator::{EmulatorHandle, entra};
use azure_core::credentials::{AccessToken as AzToken, TokenRequestOptions};
use time::OffsetDateTime;

async fn emulator() -> EmulatorHandle {
    acs_test_support::emulator::start().await
}

fn options() -> CommunicationIdentityClientOptions {
    CommunicationIdentityClientOptions::default().with_retry(RetryOptions::none())
}

fn client(emulator: &EmulatorHandle) -> CommunicationIdentityClient {
    support::client_with(emulator, options())
}

#[tokio::test]
async fn user_and_token_lifecycle() {
    let emulator = emulator().await;
    let c = client(&emulator);

    let user = c.create_user(None).await.unwrap();
    assert!(
        user.id()
            .starts_with(&format!("8:acs:{}_", emulator.resource_id())),
        "{}",
        user.id()
    );
    assert!(matches!(
        CommunicationIdentifier::from_raw_id(user.id()),
        CommunicationIdentifier::CommunicationUser(_)
    ));

    let created = c
        .create_user_and_token(
            &[TokenScope::Chat, TokenScope::Voip],
            Some(
                CreateUserAndTokenOptions::default()
                    .with_token_expires_in(Duration::from_secs(3600)),
            ),
        )
        .await
        .unwrap();
    let until = created.access_token.expires_on - OffsetDateTime::now_utc();
    assert!(
        until > time::Duration::minutes(58) && until <= time::Duration::minutes(61),
        "{until}"
    );
    let check = emulator.validate_token(created.access_token.token.secret());
    assert!(check.valid, "{:?}", check.reason);
    assert_eq!(check.identity.as_deref(), Some(created.user.id()));
    let claims = created.access_token.claims().unwrap();
    assert_eq!(claims.scopes, ["chat", "voip"]);
    assert_eq!(claims.resource_id.as_deref(), Some(emulator.resource_id()));

    let before = c
        .get_token(&user, &[TokenScope::ChatJoin], None)
        .await
        .unwrap();
    assert!(emulator.validate_token(before.token.secret()).valid);
    assert_eq!(before.claims().unwrap().scopes, ["chat.join"]);

    c.revoke_tokens(&user, None).await.unwrap();
    let revoked = emulator.validate_token(before.token.secret());
    assert!(!revoked.valid);
    assert_eq!(revoked.reason.as_deref(), Some("revoked"));
    let after = c
        .get_token(&user, &[TokenScope::VoipJoin], None)
        .await
        .unwrap();
    assert!(emulator.validate_token(after.token.secret()).valid);

    c.delete_user(&user, None).await.unwrap();
    assert!(!emulator.validate_token(after.token.secret()).valid);
    let e = c
        .get_token(&user, &[TokenScope::Chat], None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Service);
    assert!(e.status().is_some_and(|s| s.is_client_error()), "{e}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn service_rules_are_the_services() {
    let emulator = emulator().await;
    let c = client(&emulator);
    let user = c.create_user(None).await.unwrap();

    let e = c
        .get_token(
            &user,
            &[TokenScope::Chat],
            Some(GetTokenOptions::default().with_token_expires_in(Duration::from_secs(1441 * 60))),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.target()),
        (Some("ValidationError"), Some("ExpiresInMinutes"))
    );
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400));
    assert!(
        e.to_string()
            .starts_with("ValidationError (400): ExpiresInMinutes value 1441 is invalid."),
        "{e}"
    );

    let e = c.get_token(&user, &[], None).await.unwrap_err();
    assert_eq!(
        (e.code(), e.target()),
        (Some("ValidationError"), Some("scopes"))
    );

    let stranger = CommunicationUserIdentifier::new(
        "8:acs:00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444",
    );
    for e in [
        c.get_token(&stranger, &[TokenScope::Chat], None)
            .await
            .unwrap_err(),
        c.revoke_tokens(&stranger, None).await.unwrap_err(),
        c.delete_user(&stranger, None).await.unwrap_err(),
    ] {
        assert_eq!(e.code(), Some("IdentityNotOwned"), "{e}");
        assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
        assert!(e.request_id().is_some());
    }
    emulator.shutdown().await;
}

/// The Teams user's Entra object id (a GUID, as the service requires).
const USER_OID: &str = "3e5d7c9b-1a2f-4b6d-8e0c-2f4a6b8d0e1c";

#[tokio::test]
async fn teams_exchange() {
    let emulator = emulator().await;
    let c = client(&emulator);
    let expires = SystemTime::now() + Duration::from_secs(3600);
    let aad = entra::test_token("app-id", USER_OID, expires);
    let token = c
        .get_token_for_teams_user(&aad, "app-id", USER_OID, None)
        .await
        .unwrap();
    let check = emulator.validate_token(token.token.secret());
    assert!(check.valid, "{:?}", check.reason);
    assert_eq!(
        check.identity.as_deref(),
        Some(format!("8:orgid:{USER_OID}").as_str())
    );

    let e = c
        .get_token_for_teams_user(&aad, "other-app", USER_OID, None)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.target()),
        (Some("ValidationError"), Some("appId"))
    );
    let e = c
        .get_token_for_teams_user(&aad, "app-id", "other-user", None)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.target()),
        (Some("ValidationError"), Some("userId"))
    );
    let e = c
        .get_token_for_teams_user("not-a-token", "app-id", USER_OID, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidAccessToken"));
    emulator.shutdown().await;
}

#[derive(Debug)]
struct EmulatorBearer;

#[async_trait::async_trait]
impl TokenCredential for EmulatorBearer {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzToken> {
        assert_eq!(scopes, ["https://communication.azure.com//.default"]);
        let expires = SystemTime::now() + Duration::from_secs(3600);
        Ok(AzToken::new(
            entra::test_bearer_token(expires),
            OffsetDateTime::from(expires),
        ))
    }
}

#[tokio::test]
async fn bearer_credential_over_loopback() {
    let emulator = emulator().await;
    let c = CommunicationIdentityClient::with_token_credential(
        emulator.endpoint().as_str(),
        Arc::new(EmulatorBearer),
        Some(options()),
    )
    .unwrap();
    let created = c
        .create_user_and_token(&[TokenScope::Chat], None)
        .await
        .unwrap();
    assert!(
        emulator
            .validate_token(created.access_token.token.secret())
            .valid
    );
    c.delete_user(&created.user, None).await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn key_rotation_takes_effect_on_the_next_call() {
    let emulator = emulator().await;
    let credential = AccessKeyCredential::from_base64(emulator.access_key_base64()).unwrap();
    let c = CommunicationIdentityClient::with_access_key(
        emulator.endpoint().as_str(),
        credential.clone(),
        Some(options()),
    )
    .unwrap();
    c.create_user(None).await.unwrap();
    credential.update(AccessKey::from_base64("d3JvbmdrZXl3cm9uZ2tleXdyb25na2V5").unwrap());
    let e = c.create_user(None).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(e.code(), Some("Denied"));
    credential.update(AccessKey::from_base64(emulator.access_key_base64()).unwrap());
    c.create_user(None).await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_client_from_a_parsed_connection_string_rotates_its_key() {
    use acs_identity::credentials::ConnectionString;
    let emulator = emulator().await;
    let parsed: ConnectionString = emulator.connection_string().parse().unwrap();
    let credential = AccessKeyCredential::new(parsed.access_key().clone());
    let c = CommunicationIdentityClient::with_access_key(
        parsed.endpoint().as_str(),
        credential.clone(),
        Some(options()),
    )
    .unwrap();
    c.create_user(None).await.unwrap();
    // A key the emulator does not know: the service says exactly what failed.
    credential.update(AccessKey::from_base64("d3JvbmdrZXl3cm9uZ2tleXdyb25na2V5").unwrap());
    let e = c.create_user(None).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert!(
        e.to_string().starts_with(
            "Denied (401): Denied by the resource provider. [inner error SignatureMismatch: "
        ),
        "{e}"
    );
    assert!(!e.is_retryable());
    // Rotated back: the next call signs with it.
    credential.update(parsed.access_key().clone());
    c.create_user(None).await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn api_versions() {
    let emulator = emulator().await;
    for version in ["2023-10-01", "2025-06-30", "2026-09-23"] {
        let c = support::client_with(&emulator, options().with_api_version(version));
        let created = c
            .create_user_and_token(&[TokenScope::Chat], None)
            .await
            .unwrap();
        assert!(
            emulator
                .validate_token(created.access_token.token.secret())
                .valid,
            "{version}"
        );
    }
    let c = support::client_with(&emulator, options().with_api_version("1999-01-01"));
    let e = c.create_user(None).await.unwrap_err();
    assert_eq!(e.code(), Some("UnsupportedApiVersion"), "{e}");
    assert_eq!(e.target(), Some("api-version"));
    emulator.shutdown().await;
}
