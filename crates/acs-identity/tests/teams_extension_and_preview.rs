//! The operations of the newer api-versions: the Teams Phone extension assignments and token
//! exchange (2025-06-30 and later) and the preview's custom id and get user
//! (2025-03-02-preview), with the api-version each is sent with.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use acs_identity::{
    CommunicationIdentifier, CommunicationIdentityClient, CommunicationIdentityClientOptions,
    CommunicationUserIdentifier, CreateOrReplaceTeamsExtensionAssignmentOptions,
    CreateUserAndTokenOptions, ErrorKind, PREVIEW_API_VERSION, TeamsExtensionPrincipalType,
    TokenScope, Upserted,
};
use common::*;
use httpmock::prelude::*;
use time::macros::datetime;

const TENANT: &str = "00000000-aaaa-bbbb-cccc-000000000001";
const OBJECT: &str = "00000000-aaaa-bbbb-cccc-000000000002";
const ASSIGNMENT_PATH: &str = "/access/teamsExtension/tenants/00000000-aaaa-bbbb-cccc-000000000001/assignments/00000000-aaaa-bbbb-cccc-000000000002";

fn client_on(server: &MockServer, api_version: &str) -> CommunicationIdentityClient {
    let options = fast_options().with_api_version(api_version);
    client_with(server, options)
}

fn assignment_body(principal_type: &str) -> String {
    format!(
        r#"{{"objectId":"{OBJECT}","tenantId":"{TENANT}","principalType":"{principal_type}","clientIds":["app-1"]}}"#
    )
}

#[tokio::test]
async fn create_or_replace_says_which_and_a_default_client_sends_2025_06_30() {
    let server = MockServer::start_async().await;
    let answers = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = recording(
        &server,
        |when| when.method(PUT).path(ASSIGNMENT_PATH),
        move |_| {
            let first = answers.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
            respond(
                if first { 201 } else { 200 },
                Some(JSON_UTF8),
                &assignment_body("user"),
            )
        },
    )
    .await;
    let client = client(&server);
    let options =
        CreateOrReplaceTeamsExtensionAssignmentOptions::default().with_client_ids(["app-1"]);
    let first = client
        .create_or_replace_teams_extension_assignment(
            TENANT,
            OBJECT,
            TeamsExtensionPrincipalType::User,
            Some(options.clone()),
        )
        .await
        .unwrap();
    let second = client
        .create_or_replace_teams_extension_assignment(
            TENANT,
            OBJECT,
            TeamsExtensionPrincipalType::User,
            Some(options),
        )
        .await
        .unwrap();
    assert!(first.is_created());
    assert!(!second.is_created());
    let Upserted::Replaced(assignment) = second else {
        panic!("not replaced")
    };
    assert_eq!(assignment.tenant_id, TENANT);
    assert_eq!(assignment.object_id, OBJECT);
    assert_eq!(assignment.principal_type, TeamsExtensionPrincipalType::User);
    assert_eq!(assignment.client_ids, ["app-1"]);
    let reqs = seen.all();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        target(&reqs[0]),
        format!("{ASSIGNMENT_PATH}?api-version=2025-06-30"),
        "a client on 2023-10-01 sends the oldest version that has the operation"
    );
    assert_eq!(
        reqs[0].body_string(),
        r#"{"principalType":"user","clientIds":["app-1"]}"#
    );
    assert_signed(&reqs[0], KEY);
    insta::assert_snapshot!(
        "wire_create_or_replace_teams_extension_assignment",
        wire_text(&reqs[0])
    );
}

#[tokio::test]
async fn teams_extension_operations_go_with_the_clients_version_when_it_has_them() {
    for (client_version, sent) in [
        ("2023-10-01", "2025-06-30"),
        ("2025-06-30", "2025-06-30"),
        ("2026-09-23", "2026-09-23"),
        (PREVIEW_API_VERSION, PREVIEW_API_VERSION),
    ] {
        let server = MockServer::start_async().await;
        let seen = recording(
            &server,
            |when| when.method(GET).path(ASSIGNMENT_PATH),
            |_| respond(200, Some(JSON_UTF8), &assignment_body("resourceAccount")),
        )
        .await;
        let assignment = client_on(&server, client_version)
            .get_teams_extension_assignment(TENANT, OBJECT, None)
            .await
            .unwrap();
        assert_eq!(
            assignment.principal_type,
            TeamsExtensionPrincipalType::ResourceAccount
        );
        assert_eq!(
            target(&seen.one()),
            format!("{ASSIGNMENT_PATH}?api-version={sent}"),
            "client on {client_version}"
        );
    }
}

#[tokio::test]
async fn an_unknown_principal_type_is_kept_and_sent_as_written() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.method(PUT).path(ASSIGNMENT_PATH),
        |_| respond(201, Some(JSON_UTF8), &assignment_body("botAccount")),
    )
    .await;
    let created = client(&server)
        .create_or_replace_teams_extension_assignment(
            TENANT,
            OBJECT,
            TeamsExtensionPrincipalType::from_wire("botAccount"),
            None,
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        created.principal_type,
        TeamsExtensionPrincipalType::UnknownValue("botAccount".into())
    );
    assert_eq!(
        seen.one().body_string(),
        r#"{"principalType":"botAccount"}"#
    );
}

#[tokio::test]
async fn get_after_delete_is_a_404_service_error_and_delete_sends_delete() {
    let server = MockServer::start_async().await;
    let deleted = recording(
        &server,
        |when| when.method(DELETE).path(ASSIGNMENT_PATH),
        |_| respond(204, None, ""),
    )
    .await;
    recording(
        &server,
        |when| when.method(GET).path(ASSIGNMENT_PATH),
        |_| {
            respond(
                404,
                Some(JSON_UTF8),
                r#"{"error":{"code":"NotFound","message":"The assignment was not found."}}"#,
            )
        },
    )
    .await;
    let client = client(&server);
    client
        .delete_teams_extension_assignment(TENANT, OBJECT, None)
        .await
        .unwrap();
    let error = client
        .get_teams_extension_assignment(TENANT, OBJECT, None)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Service);
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(error.code(), Some("NotFound"));
    insta::assert_snapshot!(
        "wire_delete_teams_extension_assignment",
        wire_text(&deleted.one())
    );
}

#[tokio::test]
async fn empty_tenant_or_object_ids_are_refused_before_sending() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.any_request(),
        |_| respond(500, None, ""),
    )
    .await;
    let client = client(&server);
    let error = client
        .get_teams_extension_assignment(" ", OBJECT, None)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(error.argument(), Some("tenant_id"));
    let error = client
        .delete_teams_extension_assignment(TENANT, "", None)
        .await
        .unwrap_err();
    assert_eq!(error.argument(), Some("object_id"));
    assert!(seen.all().is_empty());
}

#[tokio::test]
async fn the_exchange_is_authorized_by_the_users_entra_token_alone() {
    let server = MockServer::start_async().await;
    let identity = format!("8:acs:00000000-0000-0000-0000-000000000000_{TENANT}_{OBJECT}");
    let body = format!(
        r#"{{"identity":{{"id":"{identity}"}},"accessToken":{}}}"#,
        token_body()
    );
    let seen = recording(
        &server,
        |when| {
            when.method(POST)
                .path("/access/teamsExtension/:exchangeAccessToken")
        },
        move |_| respond(200, Some(JSON_UTF8), &body),
    )
    .await;
    let exchanged = client(&server)
        .get_token_for_teams_extension_user("entra.user.token", None)
        .await
        .unwrap();
    let CommunicationIdentifier::TeamsExtensionUser(user) = &exchanged.identifier else {
        panic!("not a Teams extension user: {:?}", exchanged.identifier)
    };
    assert_eq!(user.tenant_id, TENANT);
    assert_eq!(user.user_id, OBJECT);
    assert_eq!(exchanged.access_token.token.secret(), jwt());
    let req = seen.one();
    assert_eq!(
        target(&req),
        "/access/teamsExtension/:exchangeAccessToken?api-version=2025-06-30"
    );
    assert_eq!(header_of(&req, "authorization"), "Bearer entra.user.token");
    assert!(
        !req.headers_vec()
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("x-ms-content-sha256")),
        "no HMAC signature with the user's token"
    );
    insta::assert_snapshot!("wire_get_token_for_teams_extension_user", wire_text(&req));
}

#[tokio::test]
async fn the_exchange_refuses_plain_http_to_a_remote_host_and_an_empty_token() {
    let client = CommunicationIdentityClient::with_access_key(
        "http://identity.example.com/",
        acs_identity::credentials::AccessKeyCredential::new(
            acs_identity::credentials::AccessKey::from_base64(KEY).unwrap(),
        ),
        None,
    )
    .unwrap();
    let error = client
        .get_token_for_teams_extension_user("entra.user.token", None)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(error.to_string().contains("plain http"), "{error}");
    assert!(!error.to_string().contains("entra.user.token"), "{error}");

    let server = MockServer::start_async().await;
    let error = client_on(&server, "2023-10-01")
        .get_token_for_teams_extension_user("", None)
        .await
        .unwrap_err();
    assert_eq!(error.argument(), Some("entra_token"));
}

#[tokio::test]
async fn preview_features_on_a_stable_client_fail_before_sending() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.any_request(),
        |_| respond(500, None, ""),
    )
    .await;
    for version in ["2023-10-01", "2026-09-23"] {
        let client = client_on(&server, version);
        let user = CommunicationUserIdentifier::new(USER);
        let errors = [
            client
                .create_user_with_custom_id("alice", None)
                .await
                .unwrap_err(),
            client
                .create_user_and_token(
                    &[TokenScope::Chat],
                    Some(CreateUserAndTokenOptions::default().with_custom_id("alice")),
                )
                .await
                .unwrap_err(),
            client.get_user(&user, None).await.unwrap_err(),
        ];
        for error in errors {
            assert_eq!(error.kind(), ErrorKind::Configuration, "{error}");
            let text = error.to_string();
            assert!(
                text.contains(&format!(
                    "needs the preview api-version 2025-03-02-preview, but this client sends {version}"
                )),
                "{text}"
            );
            assert!(text.contains("with_api_version"), "{text}");
        }
    }
    assert!(seen.all().is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn a_custom_id_is_sent_under_the_preview_and_the_answer_returned() {
    let server = MockServer::start_async().await;
    let body = format!(
        r#"{{"identity":{{"customId":"alice@contoso.com","lastTokenIssuedAt":"2025-04-14T15:32:35+00:00","id":"{USER}"}},"accessToken":{}}}"#,
        token_body()
    );
    let seen = recording(
        &server,
        |when| {
            when.method(POST)
                .path("/identities")
                .query_param("api-version", PREVIEW_API_VERSION)
        },
        move |_| respond(201, Some(JSON_UTF8), &body),
    )
    .await;
    let client = client_on(&server, PREVIEW_API_VERSION);
    let details = client
        .create_user_with_custom_id("alice@contoso.com", None)
        .await
        .unwrap();
    assert_eq!(details.user.id(), USER);
    assert_eq!(details.custom_id.as_deref(), Some("alice@contoso.com"));
    assert_eq!(
        details.last_token_issued_at,
        Some(datetime!(2025-04-14 15:32:35 UTC)),
        "what the answer carries, without a get_user"
    );
    let created = client
        .create_user_and_token(
            &[TokenScope::Chat],
            Some(
                CreateUserAndTokenOptions::default()
                    .with_custom_id("alice@contoso.com")
                    .with_token_expires_in(std::time::Duration::from_secs(3600)),
            ),
        )
        .await
        .unwrap();
    assert_eq!(created.user.id(), USER);
    assert_eq!(created.access_token.token.secret(), jwt());
    let reqs = seen.all();
    assert_eq!(reqs[0].body_string(), r#"{"customId":"alice@contoso.com"}"#);
    assert_eq!(
        reqs[1].body_string(),
        r#"{"customId":"alice@contoso.com","createTokenWithScopes":["chat"],"expiresInMinutes":60}"#
    );
    assert_signed(&reqs[1], KEY);
    insta::assert_snapshot!(
        "wire_create_user_and_token_with_custom_id",
        wire_text(&reqs[1])
    );

    // An empty custom id has no request: refused before sending.
    let error = client
        .create_user_with_custom_id("", None)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(error.argument(), Some("custom_id"));
    assert_eq!(seen.all().len(), 2, "the empty id was not sent");
}

/// The service's 1..=256 rule is the service's: a longer custom id is sent, and the service's
/// `ValidationError` comes back as it answered it (README: "The client does not validate
/// service rules").
#[tokio::test]
async fn a_custom_id_longer_than_the_service_takes_is_the_services_to_refuse() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.method(POST).path("/identities"),
        |_| {
            respond(
                400,
                Some("application/json"),
                r#"{"error":{"code":"ValidationError","message":"CustomId value is invalid: its length 257 must be within the [1, 256] interval.","target":"customId"}}"#,
            )
        },
    )
    .await;
    let client = client_on(&server, PREVIEW_API_VERSION);
    let long = "x".repeat(257);
    let error = client
        .create_user_with_custom_id(&long, None)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Service, "{error}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(error.code(), Some("ValidationError"));
    assert_eq!(error.target(), Some("customId"));
    let error = client
        .create_user_and_token(
            &[TokenScope::Chat],
            Some(CreateUserAndTokenOptions::default().with_custom_id(long.clone())),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("ValidationError"));
    let bodies: Vec<_> = seen.all().iter().map(|r| r.body_string()).collect();
    assert_eq!(bodies.len(), 2, "both were sent");
    assert!(bodies.iter().all(|b| b.contains(&long)), "{bodies:?}");
}

#[tokio::test]
async fn get_user_reads_the_custom_id_and_last_issue_time() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        |when| when.method(GET).path(format!("/identities/{USER_PATH}")),
        |_| {
            respond(
                200,
                Some(JSON_UTF8),
                &format!(
                    r#"{{"customId":"alice","lastTokenIssuedAt":"2025-04-14T15:32:35+00:00","id":"{USER}"}}"#
                ),
            )
        },
    )
    .await;
    let client = client_on(&server, PREVIEW_API_VERSION);
    let details = client
        .get_user(&CommunicationUserIdentifier::new(USER), None)
        .await
        .unwrap();
    assert_eq!(details.user.id(), USER);
    assert_eq!(details.custom_id.as_deref(), Some("alice"));
    assert_eq!(
        details.last_token_issued_at,
        Some(datetime!(2025-04-14 15:32:35 UTC))
    );
    let req = seen.one();
    assert_eq!(
        target(&req),
        format!("/identities/{USER_PATH}?api-version=2025-03-02-preview")
    );
    insta::assert_snapshot!("wire_get_user", wire_text(&req));
}

#[tokio::test]
async fn get_user_of_a_user_without_custom_id_or_token() {
    let server = MockServer::start_async().await;
    recording(
        &server,
        |when| when.method(GET).path(format!("/identities/{USER_PATH}")),
        |_| respond(200, Some(JSON_UTF8), &format!(r#"{{"id":"{USER}"}}"#)),
    )
    .await;
    let details = client_on(&server, PREVIEW_API_VERSION)
        .get_user(&CommunicationUserIdentifier::new(USER), None)
        .await
        .unwrap();
    assert_eq!(details.custom_id, None);
    assert_eq!(details.last_token_issued_at, None);
}

#[test]
fn the_default_options_stay_on_the_released_sdks_version() {
    assert_eq!(
        CommunicationIdentityClientOptions::default().api_version,
        "2023-10-01"
    );
}
