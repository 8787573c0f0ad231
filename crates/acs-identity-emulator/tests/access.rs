//! What 2025-06-30 and 2025-03-02-preview add, over HTTP: api-version gating, custom ids and
//! `GET /identities/{id}`, Teams Phone extension (TPE) assignments and their exchange, Entra ID
//! assignments and the Entra ID user exchange, and their persistence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime};

use acs_identity_emulator::entra;
use common::{Answer, Client, RESOURCE, encode, jwt_payload, start};
use reqwest::Method;
use serde_json::{Value, json};

const PREVIEW: &str = "2025-03-02-preview";
const TENANT: &str = "c70d068c-2f32-484d-9455-73070cd5aadd";
const OBJECT: &str = "b27b64b9-39d2-44a3-869d-67700b74e805";
const APP: &str = "617d08b5-f35b-4270-87d6-56833d2dee1b";
const OTHER_APP: &str = "00000000-0000-0000-0000-0000000000aa";
const GROUP: &str = "fd63f3cb-3731-4d15-8e47-9d062aba58c5";

fn in_an_hour() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A Teams user's token for the TPE exchange.
fn tpe_token(object: &str, app: &str, expires: SystemTime) -> String {
    entra::test_user_token(
        entra::TEAMS_EXCHANGE_AUDIENCE,
        "TeamsExtension.ManageCalls",
        TENANT,
        object,
        app,
        expires,
    )
}

/// An Entra user's token for the Entra ID exchange.
fn entra_token(object: &str, app: &str, expires: SystemTime) -> String {
    entra::test_user_token(
        entra::ENTRA_EXCHANGE_AUDIENCE,
        "VoIP",
        TENANT,
        object,
        app,
        expires,
    )
}

fn tpe_path(tenant: &str, object: &str, version: &str) -> String {
    format!("/access/teamsExtension/tenants/{tenant}/assignments/{object}?api-version={version}")
}

fn entra_path(object: &str) -> String {
    format!("/access/entra/assignments/{object}?api-version={PREVIEW}")
}

/// An exchange: unsigned, the user's token as the bearer token.
async fn exchange(c: &Client, path: &str, bearer: Option<&str>) -> Answer {
    let mut r = c.request(Method::POST, path, Some("{}"));
    if let Some(token) = bearer {
        r.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    c.execute(r).await.unwrap()
}

async fn exchange_tpe(c: &Client, bearer: Option<&str>) -> Answer {
    exchange(
        c,
        "/access/teamsExtension/:exchangeAccessToken?api-version=2025-06-30",
        bearer,
    )
    .await
}

async fn exchange_entra(c: &Client, bearer: Option<&str>) -> Answer {
    exchange(
        c,
        &format!("/access/entra/:exchangeAccessToken?api-version={PREVIEW}"),
        bearer,
    )
    .await
}

async fn create(c: &Client, version: &str, body: &Value) -> Answer {
    c.send(
        Method::POST,
        &format!("/identities?api-version={version}"),
        Some(&body.to_string()),
    )
    .await
    .unwrap()
}

async fn get_identity(c: &Client, id: &str) -> Answer {
    c.send(
        Method::GET,
        &format!("/identities/{}?api-version={PREVIEW}", encode(id)),
        None,
    )
    .await
    .unwrap()
}

fn assert_timestamp_without_fraction(s: &str) {
    // 2025-04-14T15:32:27+00:00
    assert_eq!(s.len(), 25, "{s}");
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(s.ends_with("+00:00") && !s.contains('.'), "{s}");
}

fn assert_forbidden(a: &Answer, inner: &str) {
    a.assert_error(
        403,
        "Forbidden",
        "The user is not allowed to exchange tokens for this resource.",
        None,
    );
    assert_eq!(a.body["error"]["innererror"]["code"], inner, "{}", a.body);
}

fn assert_invalid_token(a: &Answer) {
    a.assert_error(
        401,
        "InvalidAccessToken",
        "Provided access token is not valid.",
        None,
    );
}

#[tokio::test]
async fn preview_only_fields_and_operations_are_400_under_stable_versions() {
    let emu = start().await;
    let c = Client::new(&emu);
    let id = c.create_id().await;
    for v in ["2023-10-01", "2025-06-30", "2026-09-23"] {
        let a = create(&c, v, &json!({"customId": "alice"})).await;
        a.assert_error(
            400,
            "ValidationError",
            &format!(
                "The customId field is not part of api-version {v}; it needs api-version 2025-03-02-preview."
            ),
            Some("customId"),
        );
        let path = format!("/identities/{}?api-version={v}", encode(&id));
        let a = c.send(Method::GET, &path, None).await.unwrap();
        a.assert_error(
            400,
            "UnsupportedApiVersion",
            &format!(
                "The HTTP resource that matches the request URI '/identities/{}' does not support the API version '{v}'. Supported versions: 2025-03-02-preview.",
                encode(&id)
            ),
            Some("api-version"),
        );
        let a = c
            .send(
                Method::GET,
                &format!("/access/entra/assignments?api-version={v}"),
                None,
            )
            .await
            .unwrap();
        assert_eq!(a.body["error"]["code"], "UnsupportedApiVersion", "{v}");
        let a = exchange(
            &c,
            &format!("/access/entra/:exchangeAccessToken?api-version={v}"),
            Some(&entra_token(OBJECT, APP, in_an_hour())),
        )
        .await;
        assert_eq!(a.status, 400, "{v}: {}", a.body);
        assert_eq!(a.body["error"]["code"], "UnsupportedApiVersion", "{v}");
    }
    // A null customId is as good as none, in every version.
    assert_eq!(
        create(&c, "2023-10-01", &json!({"customId": null}))
            .await
            .status,
        201
    );
    // TPE exists from 2025-06-30 on, and in the preview; not before.
    for v in ["2021-03-07", "2023-10-01"] {
        let a = c
            .send(Method::GET, &tpe_path(TENANT, OBJECT, v), None)
            .await
            .unwrap();
        a.assert_error(
            400,
            "UnsupportedApiVersion",
            &format!(
                "The HTTP resource that matches the request URI '/access/teamsExtension/tenants/{TENANT}/assignments/{OBJECT}' does not support the API version '{v}'. Supported versions: 2025-03-02-preview, 2025-06-30, 2026-09-23."
            ),
            Some("api-version"),
        );
    }
    for v in [PREVIEW, "2025-06-30", "2026-09-23"] {
        let a = c
            .send(Method::GET, &tpe_path(TENANT, OBJECT, v), None)
            .await
            .unwrap();
        assert_eq!(a.status, 404, "{v}: {}", a.body);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn a_custom_id_maps_to_one_identity_and_get_shows_it() {
    let emu = start().await;
    let c = Client::new(&emu);
    let body = json!({"customId": "sally@contoso.com", "createTokenWithScopes": ["chat"], "expiresInMinutes": 60});
    let first = create(&c, PREVIEW, &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let id = first.body["identity"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with(&format!("8:acs:{RESOURCE}_")), "{id}");
    assert_eq!(first.body["identity"]["customId"], "sally@contoso.com");
    assert_timestamp_without_fraction(
        first.body["identity"]["lastTokenIssuedAt"]
            .as_str()
            .unwrap(),
    );
    let token_1 = first.body["accessToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let second = create(&c, PREVIEW, &body).await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_eq!(second.body["identity"]["id"], id.as_str(), "same identity");
    let token_2 = second.body["accessToken"]["token"].as_str().unwrap();
    assert_ne!(token_1, token_2, "a new token each time");
    for t in [token_1.as_str(), token_2] {
        assert_eq!(c.validate(t).await["identity"], id.as_str());
    }
    // Without a token: same identity, no accessToken.
    let third = create(&c, PREVIEW, &json!({"customId": "sally@contoso.com"})).await;
    assert_eq!(third.status, 201);
    assert_eq!(third.body["identity"]["id"], id.as_str());
    assert!(third.body.get("accessToken").is_none());
    // Another custom id is another identity.
    let other = create(&c, PREVIEW, &json!({"customId": "bob"})).await;
    let other_id = other.body["identity"]["id"].as_str().unwrap().to_owned();
    assert_ne!(other_id, id);
    assert!(
        other.body["identity"].get("lastTokenIssuedAt").is_none(),
        "{}",
        other.body
    );

    let got = get_identity(&c, &id).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.content_type(), Some("application/json; charset=utf-8"));
    assert_eq!(got.body["id"], id.as_str());
    assert_eq!(got.body["customId"], "sally@contoso.com");
    assert_timestamp_without_fraction(got.body["lastTokenIssuedAt"].as_str().unwrap());
    let got = get_identity(&c, &other_id).await;
    assert_eq!(got.body, json!({"id": other_id, "customId": "bob"}));
    // Issuing a token sets lastTokenIssuedAt.
    assert_eq!(
        c.issue(&other_id, r#"{"scopes":["voip"]}"#)
            .await
            .unwrap()
            .status,
        200
    );
    let got = get_identity(&c, &other_id).await;
    assert_timestamp_without_fraction(got.body["lastTokenIssuedAt"].as_str().unwrap());
    // Under a stable version the identity is just its id.
    let stable = create(
        &c,
        "2025-06-30",
        &json!({"createTokenWithScopes": ["chat"]}),
    )
    .await;
    assert_eq!(
        stable.body["identity"].as_object().unwrap().len(),
        1,
        "{}",
        stable.body
    );

    // The emulator's listing shows custom ids.
    let listed = emu.identities(false);
    let entry = listed.iter().find(|e| e.id == id).unwrap();
    assert_eq!(entry.custom_id.as_deref(), Some("sally@contoso.com"));
    assert!(entry.last_token_issued_at.is_some());
    let r = c.request(Method::GET, "/emulator/identities", None);
    let a = c.execute(r).await.unwrap();
    assert!(
        a.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["customId"] == "bob"),
        "{}",
        a.body
    );

    // Unknown and deleted ids are 404; another resource's is 401.
    let unknown = format!("8:acs:{RESOURCE}_00000000-0000-0000-0000-000000000009");
    get_identity(&c, &unknown).await.assert_error(
        404,
        "IdentityNotFound",
        "Provided identity doesn't exist.",
        None,
    );
    assert_eq!(c.delete(&id).await.unwrap().status, 204);
    assert_eq!(get_identity(&c, &id).await.status, 404);
    let foreign = "8:acs:11111111-2222-3333-4444-555555555555_x";
    assert_eq!(get_identity(&c, foreign).await.status, 401);
    // Once deleted, the custom id makes a new identity.
    let again = create(&c, PREVIEW, &json!({"customId": "sally@contoso.com"})).await;
    assert_eq!(again.status, 201);
    assert_ne!(again.body["identity"]["id"], id.as_str());
    emu.shutdown().await;
}

#[tokio::test]
async fn custom_ids_are_validated() {
    let emu = start().await;
    let c = Client::new(&emu);
    for (custom_id, chars) in [(String::new(), 0), ("é".repeat(257), 257)] {
        let a = create(&c, PREVIEW, &json!({ "customId": custom_id })).await;
        a.assert_error(
            400,
            "ValidationError",
            &format!("CustomId value is invalid: its length {chars} must be within the [1, 256] interval."),
            Some("customId"),
        );
    }
    assert_eq!(
        create(&c, PREVIEW, &json!({"customId": "é".repeat(256)}))
            .await
            .status,
        201
    );
    let a = create(&c, PREVIEW, &json!({"customId": 5})).await;
    assert_eq!(a.body["error"]["target"], "customId", "{}", a.body);
    emu.shutdown().await;
}

#[tokio::test]
async fn concurrent_creates_with_one_custom_id_get_one_identity() {
    let emu = start().await;
    let c = std::sync::Arc::new(Client::new(&emu));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let a = create(&c, PREVIEW, &json!({"customId": "race"})).await;
            assert_eq!(a.status, 201, "{}", a.body);
            a.body["identity"]["id"].as_str().unwrap().to_owned()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn teams_extension_assignments_and_exchange() {
    let emu = start().await;
    let c = Client::new(&emu);
    let path = tpe_path(TENANT, OBJECT, "2025-06-30");
    let a = c
        .send(
            Method::PUT,
            &path,
            Some(r#"{"principalType":"resourceAccount"}"#),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(
        a.body,
        json!({"objectId": OBJECT, "tenantId": TENANT, "principalType": "resourceAccount"})
    );
    assert_eq!(a.raw, br#"{"objectId":"b27b64b9-39d2-44a3-869d-67700b74e805","tenantId":"c70d068c-2f32-484d-9455-73070cd5aadd","principalType":"resourceAccount"}"#);
    let body = json!({"principalType": "user", "clientIds": [APP]}).to_string();
    let a = c.send(Method::PUT, &path, Some(&body)).await.unwrap();
    assert_eq!(a.status, 200, "replaced: {}", a.body);
    let a = c.send(Method::GET, &path, None).await.unwrap();
    assert_eq!(
        a.body,
        json!({"objectId": OBJECT, "tenantId": TENANT, "principalType": "user", "clientIds": [APP]})
    );

    // The exchange: the token expires with the Entra token, for 8:acs:<resource>_<tenant>_<object>.
    let expires = in_an_hour();
    let a = exchange_tpe(&c, Some(&tpe_token(OBJECT, APP, expires))).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let id = format!("8:acs:{RESOURCE}_{TENANT}_{OBJECT}");
    assert_eq!(a.body["identity"], json!({ "id": id }));
    let token = a.body["accessToken"]["token"].as_str().unwrap().to_owned();
    let expires_on = a.body["accessToken"]["expiresOn"].as_str().unwrap();
    let parsed =
        time::OffsetDateTime::parse(expires_on, &time::format_description::well_known::Rfc3339)
            .unwrap();
    assert_eq!(parsed.unix_timestamp(), unix(expires));
    assert_eq!(
        jwt_payload(&token)["skypeid"],
        id.strip_prefix("8:").unwrap()
    );
    let v = c.validate(&token).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["identity"], id.as_str());
    // The preview's GET shows when the exchange issued it.
    let got = get_identity(&c, &id).await;
    assert_timestamp_without_fraction(got.body["lastTokenIssuedAt"].as_str().unwrap());
    // The US government audience works too.
    let us = entra::test_user_token(
        "https://auth.msft.communication.azure.us",
        "TeamsExtension.ManageCalls",
        TENANT,
        OBJECT,
        APP,
        expires,
    );
    assert_eq!(exchange_tpe(&c, Some(&us)).await.status, 200);

    // Refusals.
    assert_forbidden(
        &exchange_tpe(&c, Some(&tpe_token(OBJECT, OTHER_APP, expires))).await,
        "ClientNotAllowed",
    );
    let stranger = "0d3a7f2e-1111-4222-8333-944455556666";
    assert_forbidden(
        &exchange_tpe(&c, Some(&tpe_token(stranger, APP, expires))).await,
        "AssignmentNotFound",
    );
    let no_scope = entra::test_user_token(
        entra::TEAMS_EXCHANGE_AUDIENCE,
        "Teams.ManageCalls",
        TENANT,
        OBJECT,
        APP,
        expires,
    );
    let a = exchange_tpe(&c, Some(&no_scope)).await;
    assert_invalid_token(&a);
    assert_eq!(a.body["error"]["innererror"]["code"], "MissingScope");
    assert_invalid_token(&exchange_tpe(&c, Some(&entra_token(OBJECT, APP, expires))).await);
    let expired = SystemTime::now() - Duration::from_secs(5);
    assert_invalid_token(&exchange_tpe(&c, Some(&tpe_token(OBJECT, APP, expired))).await);
    assert_invalid_token(&exchange_tpe(&c, Some("not-a-jwt")).await);
    let a = exchange_tpe(&c, None).await;
    assert_invalid_token(&a);
    assert_eq!(a.body["error"]["innererror"]["code"], "MissingBearerToken");
    // The resource's own HMAC is not a user token.
    let a = c
        .send(
            Method::POST,
            "/access/teamsExtension/:exchangeAccessToken?api-version=2025-06-30",
            Some("{}"),
        )
        .await
        .unwrap();
    assert_invalid_token(&a);

    // DELETE: 204, GET 404, the user's tokens revoked, no more exchanges.
    assert_eq!(
        c.send(Method::DELETE, &path, None).await.unwrap().status,
        204
    );
    c.send(Method::GET, &path, None)
        .await
        .unwrap()
        .assert_error(
            404,
            "AssignmentNotFound",
            "The assignment doesn't exist.",
            None,
        );
    assert_eq!(c.validate(&token).await["reason"], "revoked");
    assert_forbidden(
        &exchange_tpe(&c, Some(&tpe_token(OBJECT, APP, expires))).await,
        "AssignmentNotFound",
    );
    assert_eq!(
        c.send(Method::DELETE, &path, None).await.unwrap().status,
        204,
        "retry-safe"
    );
    // Assigned again: new tokens are valid, old ones stay revoked.
    c.send(Method::PUT, &path, Some(r#"{"principalType":"user"}"#))
        .await
        .unwrap();
    let a = exchange_tpe(&c, Some(&tpe_token(OBJECT, OTHER_APP, expires))).await;
    assert_eq!(a.status, 200, "no clientIds: any application");
    assert_eq!(
        c.validate(a.body["accessToken"]["token"].as_str().unwrap())
            .await["valid"],
        true
    );
    assert_eq!(c.validate(&token).await["reason"], "revoked");
    emu.shutdown().await;
}

#[tokio::test]
async fn after_a_reset_an_exchanged_identity_has_none_of_its_old_tokens() {
    let emu = start().await;
    let c = Client::new(&emu);
    let path = tpe_path(TENANT, OBJECT, "2025-06-30");
    let assign = || c.send(Method::PUT, &path, Some(r#"{"principalType":"user"}"#));
    assert_eq!(assign().await.unwrap().status, 201);
    let bearer = tpe_token(OBJECT, APP, in_an_hour());
    let before = exchange_tpe(&c, Some(&bearer)).await;
    let old = before.body["accessToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(c.validate(&old).await["valid"], true);

    emu.reset().await.unwrap();
    assert_eq!(assign().await.unwrap().status, 201);
    let after = exchange_tpe(&c, Some(&bearer)).await;
    assert_eq!(
        after.body["identity"], before.body["identity"],
        "the same derived id"
    );
    let new = after.body["accessToken"]["token"].as_str().unwrap();
    assert_eq!(c.validate(new).await["valid"], true);
    let v = c.validate(&old).await;
    assert_eq!(v["valid"], false, "a token from before the reset: {v}");
    assert_eq!(v["reason"], "identityNotFound", "{v}");
}

#[tokio::test]
async fn teams_extension_assignments_are_validated_and_need_the_resource_credentials() {
    let emu = start().await;
    let c = Client::new(&emu);
    let path = tpe_path(TENANT, OBJECT, "2026-09-23");
    for principal in [
        "user",
        "resourceAccount",
        "teamsResourceAccount",
        "somethingNew2",
    ] {
        let body = json!({ "principalType": principal }).to_string();
        let a = c.send(Method::PUT, &path, Some(&body)).await.unwrap();
        assert!(
            a.status == 200 || a.status == 201,
            "{principal}: {}",
            a.body
        );
        assert_eq!(a.body["principalType"], principal);
    }
    let required = |a: Answer| {
        a.assert_error(
            400,
            "ValidationError",
            "PrincipalType: The PrincipalType field is required.",
            Some("PrincipalType"),
        )
    };
    required(c.send(Method::PUT, &path, Some("{}")).await.unwrap());
    required(c.send(Method::PUT, &path, None).await.unwrap());
    required(
        c.send(Method::PUT, &path, Some(r#"{"principalType":null}"#))
            .await
            .unwrap(),
    );
    for bad in [
        r#""""#,
        r#""two words""#,
        &format!("\"{}\"", "a".repeat(65)),
    ] {
        let a = c
            .send(
                Method::PUT,
                &path,
                Some(&format!(r#"{{"principalType":{bad}}}"#)),
            )
            .await
            .unwrap();
        assert_eq!(a.status, 400, "{bad}");
        assert_eq!(a.body["error"]["target"], "principalType", "{}", a.body);
    }
    let a = c
        .send(Method::PUT, &path, Some(r#"{"principalType":5}"#))
        .await
        .unwrap();
    assert_eq!(a.body["error"]["target"], "principalType");
    for bad in [
        r#"{"principalType":"user","clientIds":"x"}"#,
        r#"{"principalType":"user","clientIds":[""]}"#,
    ] {
        let a = c.send(Method::PUT, &path, Some(bad)).await.unwrap();
        assert_eq!(a.status, 400, "{bad}");
        assert_eq!(a.body["error"]["target"], "clientIds", "{}", a.body);
    }
    let a = c
        .send(
            Method::GET,
            &tpe_path("not-a-guid", OBJECT, "2025-06-30"),
            None,
        )
        .await
        .unwrap();
    a.assert_error(
        400,
        "ValidationError",
        "TenantId 'not-a-guid' is invalid: it must be a GUID.",
        Some("tenantId"),
    );
    // Upper-case GUIDs name the same assignment.
    let upper = tpe_path(&TENANT.to_uppercase(), &OBJECT.to_uppercase(), "2025-06-30");
    assert_eq!(
        c.send(Method::GET, &upper, None).await.unwrap().body["tenantId"],
        TENANT
    );
    // Unsigned: 401; an Entra bearer token for the resource is fine.
    let r = c.request(Method::GET, &path, None);
    assert_eq!(c.execute(r).await.unwrap().status, 401);
    let mut r = c.request(Method::GET, &path, None);
    let bearer = entra::test_bearer_token(in_an_hour());
    r.headers_mut()
        .insert("authorization", format!("Bearer {bearer}").parse().unwrap());
    assert_eq!(c.execute(r).await.unwrap().status, 200);
    let a = c.send(Method::POST, &path, Some("{}")).await.unwrap();
    assert_eq!(a.status, 405);
    assert_eq!(a.headers["allow"], "GET, PUT, DELETE");
    emu.shutdown().await;
}

#[tokio::test]
async fn entra_assignments_and_exchange() {
    let emu = start().await;
    let c = Client::new(&emu);
    let user = json!({"tenantId": TENANT, "principalType": "user", "clientIds": [APP]}).to_string();
    let a = c
        .send(Method::PUT, &entra_path(OBJECT), Some(&user))
        .await
        .unwrap();
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(
        a.body,
        json!({"objectId": OBJECT, "tenantId": TENANT, "principalType": "user", "clientIds": [APP]})
    );
    assert_eq!(
        c.send(Method::PUT, &entra_path(OBJECT), Some(&user))
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        c.send(Method::GET, &entra_path(OBJECT), None)
            .await
            .unwrap()
            .body["objectId"],
        OBJECT
    );

    // The exchange: 8:acs:<resource>_wf_<tenant>_<object>, expiring with the Entra token.
    let expires = in_an_hour();
    let a = exchange_entra(&c, Some(&entra_token(OBJECT, APP, expires))).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let id = format!("8:acs:{RESOURCE}_wf_{TENANT}_{OBJECT}");
    assert_eq!(a.body["identity"]["id"], id.as_str());
    let token = a.body["accessToken"]["token"].as_str().unwrap().to_owned();
    assert_eq!(c.validate(&token).await["valid"], true);
    let parsed = time::OffsetDateTime::parse(
        a.body["accessToken"]["expiresOn"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(parsed.unix_timestamp(), unix(expires));
    assert_forbidden(
        &exchange_entra(&c, Some(&entra_token(OBJECT, OTHER_APP, expires))).await,
        "ClientNotAllowed",
    );
    assert_invalid_token(&exchange_entra(&c, Some(&tpe_token(OBJECT, APP, expires))).await);

    // A group member: matched by the token's `groups` claim.
    let member = "1a2b3c4d-0000-4000-8000-000000000001";
    let member_token = |groups: Value| {
        entra::unsigned_token(
            &json!({
                "aud": "https://communication.azure.com/clients/",
                "exp": unix(expires), "tid": TENANT, "oid": member, "azp": APP, "groups": groups,
            })
            .to_string(),
        )
    };
    assert_forbidden(
        &exchange_entra(&c, Some(&member_token(json!([GROUP])))).await,
        "AssignmentNotFound",
    );
    // PATCH: set the group, remove an absent one, in one call.
    let patch = json!({
        GROUP: {"tenantId": TENANT, "principalType": "group", "clientIds": []},
        "eaf4bdca-9343-492B-a5e2-9310fbe393b8": null,
    })
    .to_string();
    let a = c
        .send(
            Method::PATCH,
            &format!("/access/entra/assignments?api-version={PREVIEW}"),
            Some(&patch),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.body,
        json!({"value": [{"objectId": GROUP, "tenantId": TENANT, "principalType": "group", "clientIds": []}]})
    );
    let a = exchange_entra(&c, Some(&member_token(json!(["x", GROUP.to_uppercase()])))).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.body["identity"]["id"],
        format!("8:acs:{RESOURCE}_wf_{TENANT}_{member}")
    );
    // A group of another tenant does not count.
    let outsider = entra::unsigned_token(
        &json!({
            "aud": entra::ENTRA_EXCHANGE_AUDIENCE, "exp": unix(expires),
            "tid": "99999999-0000-4000-8000-000000000000", "oid": member, "azp": APP, "groups": [GROUP],
        })
        .to_string(),
    );
    assert_forbidden(
        &exchange_entra(&c, Some(&outsider)).await,
        "AssignmentNotFound",
    );
    // A tenant assignment lets every user of the tenant in.
    let tenant =
        json!({"tenantId": TENANT, "principalType": "tenant", "clientIds": [APP]}).to_string();
    assert_eq!(
        c.send(Method::PUT, &entra_path(TENANT), Some(&tenant))
            .await
            .unwrap()
            .status,
        201
    );
    let anyone = "2a2b3c4d-0000-4000-8000-000000000002";
    assert_eq!(
        exchange_entra(&c, Some(&entra_token(anyone, APP, expires)))
            .await
            .status,
        200
    );

    // The list, in object id order.
    let a = c
        .send(
            Method::GET,
            &format!("/access/entra/assignments?api-version={PREVIEW}"),
            None,
        )
        .await
        .unwrap();
    let ids: Vec<&str> = a.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["objectId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [OBJECT, TENANT, GROUP]);
    assert!(a.body.get("nextLink").is_none());
    // PATCH removing only: 204. DELETE: 204, GET 404.
    let a = c
        .send(
            Method::PATCH,
            &format!("/access/entra/assignments?api-version={PREVIEW}"),
            Some(&json!({ GROUP: null }).to_string()),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 204, "{}", a.body);
    assert_eq!(
        c.send(Method::DELETE, &entra_path(OBJECT), None)
            .await
            .unwrap()
            .status,
        204
    );
    assert_eq!(
        c.send(Method::GET, &entra_path(OBJECT), None)
            .await
            .unwrap()
            .status,
        404
    );
    // Bad bodies: nothing written.
    for bad in [
        json!({"principalType": "user", "clientIds": []}),
        json!({"tenantId": "x", "principalType": "user", "clientIds": []}),
        json!({"tenantId": TENANT, "principalType": "user"}),
    ] {
        let a = c
            .send(Method::PUT, &entra_path(OBJECT), Some(&bad.to_string()))
            .await
            .unwrap();
        assert_eq!(a.status, 400, "{bad}: {}", a.body);
    }
    let a = c
        .send(
            Method::PATCH,
            &format!("/access/entra/assignments?api-version={PREVIEW}"),
            Some(&json!({ OBJECT: {"tenantId": TENANT, "principalType": "user", "clientIds": []}, "bad": null }).to_string()),
        )
        .await.unwrap();
    assert_eq!(a.status, 400);
    assert_eq!(
        c.send(Method::GET, &entra_path(OBJECT), None)
            .await
            .unwrap()
            .status,
        404,
        "all or nothing"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn the_entra_list_pages_with_next_link() {
    let emu = start().await;
    let c = Client::new(&emu);
    let mut patch = serde_json::Map::new();
    for i in 0..150u32 {
        patch.insert(
            format!("00000000-0000-4000-8000-{i:012}"),
            json!({"tenantId": TENANT, "principalType": "user", "clientIds": []}),
        );
    }
    let list = format!("/access/entra/assignments?api-version={PREVIEW}");
    let a = c
        .send(
            Method::PATCH,
            &list,
            Some(&Value::Object(patch).to_string()),
        )
        .await
        .unwrap();
    assert_eq!(a.body["value"].as_array().unwrap().len(), 150);
    let first = c.send(Method::GET, &list, None).await.unwrap();
    assert_eq!(first.body["value"].as_array().unwrap().len(), 100);
    let next = first.body["nextLink"].as_str().unwrap();
    let base = emu.endpoint().as_str().trim_end_matches('/').to_owned();
    let rest = next.strip_prefix(&base).unwrap();
    assert_eq!(
        rest,
        format!(
            "/access/entra/assignments?api-version={PREVIEW}&continuationToken=00000000-0000-4000-8000-000000000099"
        )
    );
    let second = c.send(Method::GET, rest, None).await.unwrap();
    assert_eq!(second.body["value"].as_array().unwrap().len(), 50);
    assert_eq!(
        second.body["value"][0]["objectId"],
        "00000000-0000-4000-8000-000000000100"
    );
    assert!(second.body.get("nextLink").is_none());
    emu.shutdown().await;
}

#[tokio::test]
async fn custom_ids_and_assignments_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = common::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    let c = Client::new(&first);
    let a = create(
        &c,
        PREVIEW,
        &json!({"customId": "kept", "createTokenWithScopes": ["chat"]}),
    )
    .await;
    let id = a.body["identity"]["id"].as_str().unwrap().to_owned();
    let last = a.body["identity"]["lastTokenIssuedAt"].clone();
    let tpe = tpe_path(TENANT, OBJECT, "2025-06-30");
    c.send(
        Method::PUT,
        &tpe,
        Some(r#"{"principalType":"teamsResourceAccount","clientIds":["a"]}"#),
    )
    .await
    .unwrap();
    let user = json!({"tenantId": TENANT, "principalType": "user", "clientIds": [APP]}).to_string();
    c.send(Method::PUT, &entra_path(OBJECT), Some(&user))
        .await
        .unwrap();
    let exchanged = exchange_entra(&c, Some(&entra_token(OBJECT, APP, in_an_hour()))).await;
    let entra_acs_token = exchanged.body["accessToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    first.shutdown().await;

    let second = common::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    let c = Client::new(&second);
    let again = create(&c, PREVIEW, &json!({"customId": "kept"})).await;
    assert_eq!(again.body["identity"]["id"], id.as_str());
    assert_eq!(again.body["identity"]["lastTokenIssuedAt"], last);
    assert_eq!(
        c.send(Method::GET, &tpe, None).await.unwrap().body,
        json!({"objectId": OBJECT, "tenantId": TENANT, "principalType": "teamsResourceAccount", "clientIds": ["a"]})
    );
    assert_eq!(
        c.send(Method::GET, &entra_path(OBJECT), None)
            .await
            .unwrap()
            .body["clientIds"],
        json!([APP])
    );
    assert_eq!(c.validate(&entra_acs_token).await["valid"], true);
    second.shutdown().await;
}
