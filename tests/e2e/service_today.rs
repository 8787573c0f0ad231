//! The facade against the in-process emulator for the operations of the newer api-versions: Teams
//! Phone extension assignments and their exchange, custom ids and get user under the preview,
//! and `EntraTokenExchange` (both exchanges) with a credential that returns the user's Entra
//! tokens (unsigned, as the emulator decodes them without checking a signature).

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use acs_identity::credentials::{Secret, TokenCredential};
use acs_identity::{
    CommunicationIdentifier, CommunicationIdentityClient, CommunicationIdentityClientOptions,
    CreateOrReplaceTeamsExtensionAssignmentOptions, CreateUserAndTokenOptions, EntraTokenExchange,
    EntraTokenExchangeOptions, ErrorKind, PREVIEW_API_VERSION, RetryOptions, TEAMS_EXTENSION_SCOPE,
    TeamsExtensionPrincipalType, TokenScope,
};
use acs_identity_emulator::{EmulatorHandle, entra};
use azure_core::credentials::{AccessToken as AzToken, TokenRequestOptions};

const TENANT: &str = "5a7e4f7c-0d3e-4d7b-9f5e-2b1c3a4d5e6f";
const USER: &str = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
const APP: &str = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b";

async fn emulator() -> EmulatorHandle {
    acs_test_support::emulator::start().await
}

fn client_on(emulator: &EmulatorHandle, api_version: &str) -> CommunicationIdentityClient {
    support::client_with(
        emulator,
        CommunicationIdentityClientOptions::default()
            .with_retry(RetryOptions::none())
            .with_api_version(api_version),
    )
}

fn in_an_hour() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}

fn teams_extension_token() -> String {
    entra::test_user_token(
        entra::TEAMS_EXCHANGE_AUDIENCE,
        entra::TEAMS_EXTENSION_SCOPE,
        TENANT,
        USER,
        APP,
        in_an_hour(),
    )
}

#[tokio::test]
async fn teams_extension_assignment_lifecycle_and_exchange_from_a_default_client() {
    let emulator = emulator().await;
    // The default client speaks 2023-10-01; the assignment operations go with 2025-06-30.
    let client = client_on(&emulator, "2023-10-01");
    let options = CreateOrReplaceTeamsExtensionAssignmentOptions::default().with_client_ids([APP]);
    let created = client
        .create_or_replace_teams_extension_assignment(
            TENANT,
            USER,
            TeamsExtensionPrincipalType::User,
            Some(options.clone()),
        )
        .await
        .unwrap();
    assert!(created.is_created());
    let replaced = client
        .create_or_replace_teams_extension_assignment(
            TENANT,
            USER,
            TeamsExtensionPrincipalType::User,
            Some(options),
        )
        .await
        .unwrap();
    assert!(!replaced.is_created());
    let read = client
        .get_teams_extension_assignment(TENANT, USER, None)
        .await
        .unwrap();
    assert_eq!(read, replaced.into_inner());
    assert_eq!(read.client_ids, [APP]);

    let exchanged = client
        .get_token_for_teams_extension_user(&teams_extension_token(), None)
        .await
        .unwrap();
    let CommunicationIdentifier::TeamsExtensionUser(user) = &exchanged.identifier else {
        panic!("{:?}", exchanged.identifier)
    };
    assert_eq!(user.tenant_id, TENANT);
    assert_eq!(user.user_id, USER);
    assert_eq!(user.resource_id, emulator.resource_id());
    let token = exchanged.access_token.token.secret().to_owned();
    assert!(emulator.validate_token(&token).valid);

    // Deleting the assignment revokes the user's tokens; a get then is a 404.
    client
        .delete_teams_extension_assignment(TENANT, USER, None)
        .await
        .unwrap();
    assert!(!emulator.validate_token(&token).valid);
    let error = client
        .get_teams_extension_assignment(TENANT, USER, None)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Service);
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
    let error = client
        .get_token_for_teams_extension_user(&teams_extension_token(), None)
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(403), "{error}");
}

#[tokio::test]
async fn custom_ids_and_get_user_under_the_preview() {
    let emulator = emulator().await;
    let client = client_on(&emulator, PREVIEW_API_VERSION);
    let created = client
        .create_user_with_custom_id("alice@contoso.com", None)
        .await
        .unwrap();
    let first = created.user.clone();
    let details = client.get_user(&first, None).await.unwrap();
    assert_eq!(details, created, "the create answers what get_user reads");
    assert_eq!(details.custom_id.as_deref(), Some("alice@contoso.com"));
    assert_eq!(details.last_token_issued_at, None);

    let again = client
        .create_user_and_token(
            &[TokenScope::Chat],
            Some(CreateUserAndTokenOptions::default().with_custom_id("alice@contoso.com")),
        )
        .await
        .unwrap();
    assert_eq!(again.user, first, "the same custom id is the same user");
    assert!(
        emulator
            .validate_token(again.access_token.token.secret())
            .valid
    );
    let details = client.get_user(&first, None).await.unwrap();
    let issued = details.last_token_issued_at.unwrap();
    let now = time::OffsetDateTime::now_utc();
    assert!(
        (now - issued).abs() < time::Duration::minutes(1),
        "{issued}"
    );
    // A returning user: the create's answer carries when its last token was issued.
    let returning = client
        .create_user_with_custom_id("alice@contoso.com", None)
        .await
        .unwrap();
    assert_eq!(returning, details, "no get_user needed");

    client.delete_user(&first, None).await.unwrap();
    let error = client.get_user(&first, None).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404));

    // The same calls on a stable client send nothing and say what they need.
    let stable = client_on(&emulator, "2026-09-23");
    let error = stable.get_user(&first, None).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
}

/// The app's credential for its signed-in user: returns the Entra token set last.
#[derive(Debug)]
struct UserCredential(Mutex<String>);

#[async_trait::async_trait]
impl TokenCredential for UserCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzToken> {
        let token = self.0.lock().unwrap().clone();
        Ok(AzToken::new(
            Secret::new(token),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

#[tokio::test]
async fn entra_token_exchange_for_a_teams_extension_user_against_the_emulator() {
    let emulator = emulator().await;
    client_on(&emulator, "2026-09-23")
        .create_or_replace_teams_extension_assignment(
            TENANT,
            USER,
            TeamsExtensionPrincipalType::User,
            None,
        )
        .await
        .unwrap();
    let user = Arc::new(UserCredential(Mutex::new(teams_extension_token())));
    let exchange = EntraTokenExchange::new(
        emulator.endpoint().as_str(),
        Arc::clone(&user) as Arc<dyn TokenCredential>,
        Some(EntraTokenExchangeOptions::default().with_scopes([TEAMS_EXTENSION_SCOPE])),
    )
    .unwrap();
    let credential = exchange.into_communication_token_credential(None).unwrap();
    let first = credential.get_token().await.unwrap();
    assert!(emulator.validate_token(first.token.secret()).valid);
    let claims = first.claims().unwrap();
    let skype_id = claims.skype_id.unwrap_or_default();
    assert!(
        skype_id.ends_with(&format!("_{TENANT}_{USER}")),
        "{skype_id}"
    );
    // The credential hands out the token it holds.
    let again = credential.get_token().await.unwrap();
    assert_eq!(again.token.secret(), first.token.secret());
}

#[tokio::test]
async fn entra_token_exchange_for_an_entra_user_against_the_emulator() {
    let emulator = emulator().await;
    // An Entra ID assignment of the user (preview), made with the resource's key over HTTP.
    let http = reqwest::Client::new();
    let key =
        acs_identity::credentials::AccessKey::from_base64(emulator.access_key_base64()).unwrap();
    let url = emulator
        .endpoint()
        .join(&format!(
            "access/entra/assignments/{USER}?api-version={PREVIEW_API_VERSION}"
        ))
        .unwrap();
    let body = format!(r#"{{"tenantId":"{TENANT}","principalType":"user","clientIds":[]}}"#);
    let mut request = http
        .put(url.clone())
        .header("content-type", "application/json")
        .body(body.clone())
        .build()
        .unwrap();
    let signed = acs_auth::sign(
        &key,
        &acs_auth::RequestToSign {
            method: "PUT",
            path_and_query: acs_auth::request_target(&url),
            host: &acs_auth::request_host(&url).unwrap(),
            body: body.as_bytes(),
        },
        SystemTime::now(),
    );
    acs_auth::insert_signed_headers(request.headers_mut(), signed);
    let answer = http.execute(request).await.unwrap();
    assert_eq!(answer.status().as_u16(), 201, "{:?}", answer.text().await);

    let entra_token = entra::test_user_token(
        entra::ENTRA_EXCHANGE_AUDIENCE,
        "VoIP",
        TENANT,
        USER,
        APP,
        in_an_hour(),
    );
    let exchange = EntraTokenExchange::new(
        emulator.endpoint().as_str(),
        Arc::new(UserCredential(Mutex::new(entra_token))),
        None,
    )
    .unwrap();
    let token = exchange.exchange().await.unwrap();
    assert!(emulator.validate_token(token.token.secret()).valid);
}

/// The resource's Entra ID credential (an identity with a role on the resource), for the
/// management calls: the emulator accepts its unsigned bearer token.
#[derive(Debug)]
struct ResourceCredential;

#[async_trait::async_trait]
impl TokenCredential for ResourceCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzToken> {
        let expires = SystemTime::now() + Duration::from_secs(3600);
        Ok(AzToken::new(
            entra::test_bearer_token(expires),
            time::OffsetDateTime::from(expires),
        ))
    }
}

#[tokio::test]
async fn teams_extension_assignments_with_an_entra_id_credential_of_the_resource() {
    let emulator = emulator().await;
    let client = CommunicationIdentityClient::with_token_credential(
        emulator.endpoint().as_str(),
        Arc::new(ResourceCredential),
        Some(CommunicationIdentityClientOptions::default().with_retry(RetryOptions::none())),
    )
    .unwrap();
    let created = client
        .create_or_replace_teams_extension_assignment(
            TENANT,
            USER,
            TeamsExtensionPrincipalType::ResourceAccount,
            None,
        )
        .await
        .unwrap();
    assert!(created.is_created());
    let read = client
        .get_teams_extension_assignment(TENANT, USER, None)
        .await
        .unwrap();
    assert_eq!(
        read.principal_type,
        TeamsExtensionPrincipalType::ResourceAccount
    );
    client
        .delete_teams_extension_assignment(TENANT, USER, None)
        .await
        .unwrap();
}
