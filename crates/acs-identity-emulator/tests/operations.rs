//! Every operation and every error row of the service's table, over HTTP with HMAC signing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime};

use acs_identity_emulator::entra;
use common::{Client, OTHER_RESOURCE, RESOURCE, encode, jwt_header, jwt_payload, start};
use reqwest::Method;

fn parse_expires_on(s: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
}

fn assert_expires_on_shape(s: &str) {
    // 2022-08-26T20:03:35.4402106+00:00
    assert_eq!(s.len(), 33, "{s}");
    assert_eq!(&s[19..20], ".", "{s}");
    assert!(s[20..27].bytes().all(|b| b.is_ascii_digit()), "{s}");
    assert!(s.ends_with("+00:00"), "{s}");
}

#[tokio::test]
async fn create_without_body_returns_identity_only() {
    let emu = start().await;
    let c = Client::new(&emu);
    for body in [None, Some("{}"), Some(r#"{"expiresInMinutes":null}"#)] {
        let a = c.create(body).await.unwrap();
        assert_eq!(a.status, 201, "{body:?}: {}", a.body);
        assert_eq!(a.content_type(), Some("application/json; charset=utf-8"));
        let id = a.body["identity"]["id"].as_str().unwrap();
        let prefix = format!("8:acs:{RESOURCE}_");
        assert!(id.starts_with(&prefix), "{id}");
        assert!(id.len() > prefix.len());
        assert!(a.body.get("accessToken").is_none(), "{}", a.body);
        assert_eq!(a.body.as_object().unwrap().len(), 1);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn created_ids_are_unique() {
    let emu = start().await;
    let c = Client::new(&emu);
    let a = c.create_id().await;
    let b = c.create_id().await;
    assert_ne!(a, b);
    emu.shutdown().await;
}

#[tokio::test]
async fn create_with_token_default_and_custom_expiry() {
    let emu = start().await;
    let c = Client::new(&emu);
    let before = SystemTime::now();
    // JS form (compact) with expiry, Python form (spaced, null expiry).
    let a = c
        .create(Some(
            r#"{"createTokenWithScopes":["chat","voip"],"expiresInMinutes":60}"#,
        ))
        .await
        .unwrap();
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["identity"]["id"].as_str().unwrap();
    let token = a.body["accessToken"]["token"].as_str().unwrap();
    let expires_on = a.body["accessToken"]["expiresOn"].as_str().unwrap();
    assert_expires_on_shape(expires_on);
    let exp = parse_expires_on(expires_on);
    let before_t = time::OffsetDateTime::from(before);
    let lifetime = exp - before_t;
    assert!(
        lifetime > time::Duration::minutes(59) && lifetime <= time::Duration::minutes(61),
        "{lifetime}"
    );
    let claims = jwt_payload(token);
    assert_eq!(claims["skypeid"], id.strip_prefix("8:").unwrap());
    assert_eq!(claims["acsScope"], "chat,voip");
    assert_eq!(claims["scp"], 1792);
    assert_eq!(claims["resourceId"], RESOURCE);
    assert_eq!(claims["exp"].as_i64().unwrap(), exp.unix_timestamp());
    assert_eq!(claims["csi"], claims["iat"].as_i64().unwrap().to_string());
    let header = jwt_header(token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], emu.jwks().keys[0].kid);
    assert_eq!(header["x5t"], emu.jwks().keys[0].x5t);

    let a = c
        .create(Some(
            r#"{"createTokenWithScopes": ["chat"], "expiresInMinutes": null}"#,
        ))
        .await
        .unwrap();
    assert_eq!(a.status, 201, "{}", a.body);
    let exp = parse_expires_on(a.body["accessToken"]["expiresOn"].as_str().unwrap());
    let lifetime = exp - before_t;
    assert!(
        lifetime > time::Duration::minutes(1439) && lifetime <= time::Duration::minutes(1441),
        "{lifetime}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn issue_token_for_every_scope_and_bounds() {
    let emu = start().await;
    let c = Client::new(&emu);
    let id = c.create_id().await;
    for scope in [
        "chat",
        "voip",
        "chat.join",
        "chat.join.limited",
        "voip.join",
    ] {
        let a = c
            .issue(&id, &format!(r#"{{"scopes":["{scope}"]}}"#))
            .await
            .unwrap();
        assert_eq!(a.status, 200, "{scope}: {}", a.body);
        assert_eq!(a.content_type(), Some("application/json; charset=utf-8"));
        assert_eq!(
            jwt_payload(a.body["token"].as_str().unwrap())["acsScope"],
            scope
        );
        assert_expires_on_shape(a.body["expiresOn"].as_str().unwrap());
        assert_eq!(a.body.as_object().unwrap().len(), 2);
    }
    for minutes in [60, 1440] {
        let a = c
            .issue(
                &id,
                &format!(r#"{{"scopes":["chat"],"expiresInMinutes":{minutes}}}"#),
            )
            .await
            .unwrap();
        assert_eq!(a.status, 200, "{minutes}: {}", a.body);
    }
    // The raw (unencoded) id works too.
    let path = format!("/identities/{id}/:issueAccessToken?api-version=2023-10-01");
    let a = c
        .send(Method::POST, &path, Some(r#"{"scopes":["voip"]}"#))
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    emu.shutdown().await;
}

#[tokio::test]
async fn expiry_out_of_bounds_is_validation_error() {
    let emu = start().await;
    let c = Client::new(&emu);
    let id = c.create_id().await;
    for minutes in [59, 1441, 0, -5] {
        let msg = format!(
            "ExpiresInMinutes value {minutes} is invalid. Value must be within the [60, 1440] interval."
        );
        c.issue(
            &id,
            &format!(r#"{{"scopes":["chat"],"expiresInMinutes":{minutes}}}"#),
        )
        .await
        .unwrap()
        .assert_error(400, "ValidationError", &msg, Some("ExpiresInMinutes"));
        c.create(Some(&format!(
            r#"{{"createTokenWithScopes":["chat"],"expiresInMinutes":{minutes}}}"#
        )))
        .await
        .unwrap()
        .assert_error(400, "ValidationError", &msg, Some("ExpiresInMinutes"));
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn scopes_null_missing_and_empty() {
    let emu = start().await;
    let c = Client::new(&emu);
    let id = c.create_id().await;
    for body in [
        r#"{"scopes":null,"expiresInMinutes":null}"#,
        "{}",
        r#"{"expiresInMinutes":60}"#,
    ] {
        c.issue(&id, body).await.unwrap().assert_error(
            400,
            "ValidationError",
            "Scopes: The Scopes field is required.",
            Some("Scopes"),
        );
    }
    c.issue(&id, r#"{"scopes":[]}"#)
        .await
        .unwrap()
        .assert_error(
            400,
            "ValidationError",
            "Invalid scopes - Scopes field is required.",
            Some("scopes"),
        );
    c.create(Some(r#"{"createTokenWithScopes":null}"#))
        .await
        .unwrap()
        .assert_error(
            400,
            "ValidationError",
            "CreateTokenWithScopes value is missing.",
            Some("CreateTokenWithScopes"),
        );
    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_scope_and_wrong_types_are_400() {
    let emu = start().await;
    let c = Client::new(&emu);
    let id = c.create_id().await;
    for body in [
        r#"{"scopes":["teleport"]}"#,
        r#"{"scopes":"chat"}"#,
        r#"{"scopes":[1]}"#,
        r#"{"scopes":["chat"],"expiresInMinutes":"60"}"#,
        r#"{"scopes":["chat"],"expiresInMinutes":60.5}"#,
        r#"{"scopes":["chat"],"expiresInMinutes":99999999999}"#,
        "[]",
        "\"x\"",
        "{",
        "{\"scopes\":[\"chat\"]} trailing",
    ] {
        let a = c.issue(&id, body).await.unwrap();
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        assert_eq!(a.body["error"]["code"], "ValidationError", "{body}");
        assert!(a.body["error"]["message"].as_str().unwrap().len() > 10);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn ids_of_another_resource_or_malformed_are_not_owned() {
    let emu = start().await;
    let c = Client::new(&emu);
    let foreign = format!("8:acs:{OTHER_RESOURCE}_00000000-1111-2222-3333-444444444444");
    for id in [
        foreign.as_str(),
        "fake_user_id",
        "8:orgid:abc",
        "4:+14255550123",
        "8:acs:",
        "8:acs:nounderscore",
    ] {
        let expect = |a: common::Answer| {
            a.assert_error(
                401,
                "IdentityNotOwned",
                "Provided identity doesn't belong to the resource.",
                None,
            )
        };
        expect(c.issue(id, r#"{"scopes":["chat"]}"#).await.unwrap());
        expect(c.revoke(id).await.unwrap());
        expect(c.delete(id).await.unwrap());
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_own_id_is_404_and_delete_is_idempotent() {
    let emu = start().await;
    let c = Client::new(&emu);
    let never = format!("8:acs:{RESOURCE}_00000000-0000-0000-0000-00000000abcd");
    let not_found = |a: common::Answer| {
        a.assert_error(
            404,
            "IdentityNotFound",
            "Provided identity doesn't exist.",
            None,
        )
    };
    not_found(c.issue(&never, r#"{"scopes":["chat"]}"#).await.unwrap());
    not_found(c.revoke(&never).await.unwrap());
    not_found(c.delete(&never).await.unwrap());

    let id = c.create_id().await;
    let a = c.delete(&id).await.unwrap();
    assert_eq!(a.status, 204);
    assert!(a.raw.is_empty());
    assert!(a.headers.get("content-type").is_none());
    // Deleting again: 204 (retry-safe); issuing or revoking: 404.
    assert_eq!(c.delete(&id).await.unwrap().status, 204);
    not_found(c.issue(&id, r#"{"scopes":["chat"]}"#).await.unwrap());
    not_found(c.revoke(&id).await.unwrap());
    // The resource id part of an id is matched case-insensitively.
    let upper = id.replace(RESOURCE, &RESOURCE.to_uppercase());
    not_found(c.revoke(&upper).await.unwrap());
    emu.shutdown().await;
}

#[tokio::test]
async fn revoke_invalidates_earlier_tokens_only() {
    let emu = start().await;
    let c = Client::new(&emu);
    let id = c.create_id().await;
    let other = c.create_id().await;
    let old: Vec<String> = issue_tokens(&c, &id, 5).await;
    let other_token = c.issue_token(&other).await;
    for t in &old {
        let v = c.validate(t).await;
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["identity"], id.as_str());
        assert_eq!(v["scopes"], serde_json::json!(["chat"]));
    }
    let a = c.revoke(&id).await.unwrap();
    assert_eq!(a.status, 204, "{}", a.body);
    assert!(a.raw.is_empty());
    // Issued in the same second as the revoke: still exact.
    let fresh = c.issue_token(&id).await;
    for t in &old {
        let v = c.validate(t).await;
        assert_eq!(v["valid"], false);
        assert_eq!(v["reason"], "revoked");
        assert_eq!(v["identity"], id.as_str());
    }
    assert_eq!(c.validate(&fresh).await["valid"], true);
    assert_eq!(
        c.validate(&other_token).await["valid"],
        true,
        "other identities are untouched"
    );
    // Revoke twice: the newer revocation wins.
    assert_eq!(c.revoke(&id).await.unwrap().status, 204);
    assert_eq!(c.validate(&fresh).await["reason"], "revoked");
    let newest = c.issue_token(&id).await;
    assert!(emu.validate_token(&newest).valid);
    emu.shutdown().await;
}

/// `n` tokens for `id`, issued one after the other.
async fn issue_tokens(c: &Client, id: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(c.issue_token(id).await);
    }
    out
}

#[tokio::test]
async fn delete_invalidates_all_tokens() {
    let emu = start().await;
    let c = Client::new(&emu);
    let a = c
        .create(Some(r#"{"createTokenWithScopes":["voip"]}"#))
        .await
        .unwrap();
    let id = a.body["identity"]["id"].as_str().unwrap().to_owned();
    let t1 = a.body["accessToken"]["token"].as_str().unwrap().to_owned();
    let t2 = c.issue_token(&id).await;
    assert_eq!(c.validate(&t1).await["valid"], true);
    assert_eq!(c.delete(&id).await.unwrap().status, 204);
    for t in [&t1, &t2] {
        let v = c.validate(t).await;
        assert_eq!(v["valid"], false);
        assert_eq!(v["reason"], "identityDeleted");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn validate_endpoint_shapes_and_reasons() {
    let emu = start().await;
    let c = Client::new(&emu);
    let id = c.create_id().await;
    let a = c
        .issue(&id, r#"{"scopes":["chat","voip"],"expiresInMinutes":90}"#)
        .await
        .unwrap();
    let token = a.body["token"].as_str().unwrap();
    let v = c.validate(token).await;
    assert_eq!(
        v,
        serde_json::json!({
            "valid": true, "reason": null, "identity": id, "scopes": ["chat", "voip"],
            "expiresOn": v["expiresOn"].clone(),
        })
    );
    let exp = jwt_payload(token)["exp"].as_i64().unwrap();
    assert_eq!(
        parse_expires_on(v["expiresOn"].as_str().unwrap()).unix_timestamp(),
        exp
    );
    assert_expires_on_shape(v["expiresOn"].as_str().unwrap());

    // Tampered payload: bad signature. Garbage: malformed. Other emulator: unknown key.
    let mut parts: Vec<&str> = token.split('.').collect();
    let other_payload = {
        use base64::Engine as _;
        let mut p = jwt_payload(token);
        p["acsScope"] = "chat,voip,voip.join".into();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(p.to_string())
    };
    parts[1] = &other_payload;
    assert_eq!(c.validate(&parts.join(".")).await["reason"], "badSignature");
    let v = c.validate("not a token").await;
    assert_eq!(v["reason"], "malformed");
    assert_eq!(v["identity"], serde_json::Value::Null);
    // Another key: one generated for a data directory (in memory, every emulator shares the
    // development signing key).
    let other_dir = tempfile::tempdir().unwrap();
    let other_emu = common::builder()
        .data_dir(other_dir.path())
        .start()
        .await
        .unwrap();
    let foreign = Client::new(&other_emu);
    let fid = foreign.create_id().await;
    let ftoken = foreign.issue_token(&fid).await;
    assert_eq!(c.validate(&ftoken).await["reason"], "unknownSigningKey");
    other_emu.shutdown().await;

    // Body errors.
    let r = c.request(Method::POST, "/emulator/tokens:validate", Some("{}"));
    c.execute(r).await.unwrap().assert_error(
        400,
        "ValidationError",
        "Token: The Token field is required.",
        Some("token"),
    );
    // JWKS serves the key whose kid the tokens carry.
    let r = c.request(Method::GET, "/emulator/jwks", None);
    let jwks = c.execute(r).await.unwrap();
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.body["keys"][0]["kid"], jwt_header(token)["kid"]);
    assert_eq!(jwks.body["keys"][0]["kty"], "RSA");
    assert_eq!(jwks.body["keys"][0]["alg"], "RS256");
    assert_eq!(jwks.body["keys"][0]["e"], "AQAB");
    let parsed: acs_identity_emulator::Jwks = serde_json::from_value(jwks.body.clone()).unwrap();
    assert_eq!(parsed, emu.jwks());
    emu.shutdown().await;
}

#[tokio::test]
async fn tokens_verify_with_the_served_jwk() {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
    use base64::Engine as _;
    let emu = start().await;
    let c = Client::new(&emu);
    let id = c.create_id().await;
    let token = c.issue_token(&id).await;
    let jwk = &emu.jwks().keys[0];
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let n = b64.decode(&jwk.n).unwrap();
    let e = b64.decode(&jwk.e).unwrap();
    let (signed, sig) = token.rsplit_once('.').unwrap();
    let key = RsaPublicKeyComponents { n: &n, e: &e };
    key.verify(
        &RSA_PKCS1_2048_8192_SHA256,
        signed.as_bytes(),
        &b64.decode(sig).unwrap(),
    )
    .unwrap();
    emu.shutdown().await;
}

/// Entra object ids of two Teams users.
const USER_1: &str = "7f3c9a51-2b4d-4e8f-9a6b-1c2d3e4f5a6b";
const USER_2: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

#[tokio::test]
async fn an_exchanged_token_lives_at_most_1440_minutes_and_only_from_the_entra_tokens_start() {
    let emu = start().await;
    let c = Client::new(&emu);
    let now = SystemTime::now();
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    // An unsigned token that says it expires in year 9999.
    let forever = SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799);
    let token = entra::test_token("app-1", USER_1, forever);
    let body = serde_json::json!({"token": token, "appId": "app-1", "userId": USER_1}).to_string();
    let a = c.exchange(&body).await.unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    let expires = parse_expires_on(a.body["expiresOn"].as_str().unwrap()).unix_timestamp();
    let longest = secs(now) + 1440 * 60;
    assert!(
        (longest - 5..=longest + 60).contains(&expires),
        "expires at {expires}, not within 1440 minutes ({longest})"
    );
    // A token valid only from tomorrow (nbf, iat) is not valid now.
    for claim in ["nbf", "iat"] {
        let mut claims = serde_json::json!({
            "aud": entra::TEAMS_EXCHANGE_AUDIENCE, "appid": "app-1", "oid": USER_1,
            "tid": entra::TEST_TENANT_ID, "exp": secs(now) + 2 * 86_400,
        });
        claims[claim] = serde_json::json!(secs(now) + 86_400);
        let early = entra::unsigned_token(&claims.to_string());
        let body =
            serde_json::json!({"token": early, "appId": "app-1", "userId": USER_1}).to_string();
        c.exchange(&body).await.unwrap().assert_error(
            401,
            "InvalidAccessToken",
            "Provided access token is not valid.",
            None,
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn teams_exchange_success_and_every_error() {
    let emu = start().await;
    let c = Client::new(&emu);
    let exp = SystemTime::now() + Duration::from_secs(3600);
    let token = entra::test_token("app-1", USER_1, exp);
    let body = serde_json::json!({"token": token, "appId": "app-1", "userId": USER_1}).to_string();
    let a = c.exchange(&body).await.unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.content_type(), Some("application/json; charset=utf-8"));
    let expires_on = a.body["expiresOn"].as_str().unwrap();
    assert_expires_on_shape(expires_on);
    let exp_secs = exp
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(
        parse_expires_on(expires_on).unix_timestamp(),
        exp_secs,
        "expires when the Entra token does"
    );
    let acs = a.body["token"].as_str().unwrap();
    assert_eq!(jwt_payload(acs)["skypeid"], format!("orgid:{USER_1}"));
    let v = c.validate(acs).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["identity"], format!("8:orgid:{USER_1}"));

    let invalid = |a: common::Answer| {
        a.assert_error(
            401,
            "InvalidAccessToken",
            "Provided access token is not valid.",
            None,
        )
    };
    for bad in [
        String::new(),
        "aadtoken".to_owned(),
        "a.b.c".to_owned(),
        entra::test_token("app-1", USER_1, SystemTime::now() - Duration::from_secs(10)),
        entra::test_bearer_token(exp), // wrong audience
    ] {
        let body =
            serde_json::json!({"token": bad, "appId": "app-1", "userId": USER_1}).to_string();
        invalid(c.exchange(&body).await.unwrap());
    }
    let body = serde_json::json!({"token": token, "appId": "app-2", "userId": USER_1}).to_string();
    c.exchange(&body).await.unwrap().assert_error(
        400,
        "ValidationError",
        "AAD application is not the expected one.",
        Some("appId"),
    );
    let body = serde_json::json!({"token": token, "appId": "app-1", "userId": USER_2}).to_string();
    c.exchange(&body).await.unwrap().assert_error(
        400,
        "ValidationError",
        "Provided AAD token issued for unexpected user.",
        Some("userId"),
    );
    // A userId that is not a GUID is never an Entra object id, even when the token says so.
    let not_guid = entra::test_token("app-1", "user-1", exp);
    let body = serde_json::json!({"token": not_guid, "appId": "app-1", "userId": "user-1"});
    let a = c.exchange(&body.to_string()).await.unwrap();
    a.assert_error(
        400,
        "ValidationError",
        "Provided AAD token issued for unexpected user.",
        Some("userId"),
    );
    assert_eq!(a.body["error"]["innererror"]["code"], "InvalidUserId");
    for (body, field) in [
        (serde_json::json!({"appId": "a", "userId": "u"}), "Token"),
        (serde_json::json!({"token": token, "userId": "u"}), "AppId"),
        (
            serde_json::json!({"token": token, "appId": "a", "userId": null}),
            "UserId",
        ),
    ] {
        c.exchange(&body.to_string()).await.unwrap().assert_error(
            400,
            "ValidationError",
            &format!("{field}: The {field} field is required."),
            Some(field),
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn every_api_version_is_accepted_and_old_ones_ignore_expiry() {
    let emu = start().await;
    let c = Client::new(&emu);
    let id = c.create_id().await;
    for v in acs_identity_emulator::SUPPORTED_API_VERSIONS {
        let a = c
            .send(Method::POST, &format!("/identities?api-version={v}"), None)
            .await
            .unwrap();
        assert_eq!(a.status, 201, "{v}: {}", a.body);
        let path = format!(
            "/identities/{}/:issueAccessToken?api-version={v}",
            encode(&id)
        );
        let a = c
            .send(
                Method::POST,
                &path,
                Some(r#"{"scopes":["chat"],"expiresInMinutes":61}"#),
            )
            .await
            .unwrap();
        assert_eq!(a.status, 200, "{v}: {}", a.body);
        let lifetime = parse_expires_on(a.body["expiresOn"].as_str().unwrap())
            - time::OffsetDateTime::now_utc();
        let expect = if v < "2022-10-01" { 1440 } else { 61 };
        assert!(
            (lifetime - time::Duration::minutes(expect)).abs() < time::Duration::minutes(1),
            "{v}: {lifetime}"
        );
        // Older versions ignore even an out-of-range expiry.
        let a = c
            .send(
                Method::POST,
                &path,
                Some(r#"{"scopes":["chat"],"expiresInMinutes":5}"#),
            )
            .await
            .unwrap();
        assert_eq!(
            a.status.as_u16(),
            if v < "2022-10-01" { 200 } else { 400 },
            "{v}"
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn missing_or_unknown_api_version_is_400_naming_it() {
    let emu = start().await;
    let c = Client::new(&emu);
    let a = c.send(Method::POST, "/identities", None).await.unwrap();
    assert_eq!(a.status, 400);
    assert_eq!(a.body["error"]["code"], "MissingApiVersionParameter");
    assert_eq!(a.body["error"]["target"], "api-version");
    for v in ["2020-01-01", "2024-01-01-preview", "latest"] {
        let a = c
            .send(Method::POST, &format!("/identities?api-version={v}"), None)
            .await
            .unwrap();
        assert_eq!(a.status, 400, "{v}");
        assert_eq!(a.body["error"]["code"], "UnsupportedApiVersion");
        assert!(
            a.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("'{v}'")),
            "{}",
            a.body
        );
        assert!(
            a.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("2023-10-01")
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn service_headers_are_present_and_request_id_echoed() {
    let emu = start().await;
    let c = Client::new(&emu);
    let mut r = c.signed(Method::POST, "/identities?api-version=2023-10-01", None);
    r.headers_mut().insert(
        "x-ms-client-request-id",
        "d5fc2598-9804-4ccd-900e-f0a53b2c24ac".parse().unwrap(),
    );
    let a = c.execute(r).await.unwrap();
    assert_eq!(a.status, 201);
    assert_eq!(
        a.headers["x-ms-client-request-id"],
        "d5fc2598-9804-4ccd-900e-f0a53b2c24ac"
    );
    assert_eq!(
        a.headers["api-supported-versions"],
        "2021-03-07, 2022-06-01, 2022-10-01, 2023-10-01, 2025-03-02-preview, 2025-06-30, 2026-09-23"
    );
    assert!(a.headers.contains_key("ms-cv"));
    assert!(
        a.headers["x-processing-time"]
            .to_str()
            .unwrap()
            .ends_with("ms")
    );
    let date = a.headers["date"].to_str().unwrap();
    assert!(acs_auth::parse_http_date(date).is_ok(), "{date}");
    // Errors carry them too.
    let a = c
        .send(
            Method::POST,
            "/identities/fake/:issueAccessToken?api-version=2023-10-01",
            Some("{}"),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 401);
    assert!(a.headers.contains_key("ms-cv"));
    assert!(a.headers.contains_key("api-supported-versions"));
    emu.shutdown().await;
}

#[tokio::test]
async fn odd_paths_methods_and_bodies_get_4xx() {
    let emu = start().await;
    let c = Client::new(&emu);
    let a = c
        .send(Method::GET, "/nothing/here?api-version=2023-10-01", None)
        .await
        .unwrap();
    assert_eq!(a.status, 404);
    assert_eq!(a.body["error"]["code"], "NotFound");
    let a = c
        .send(Method::GET, "/identities?api-version=2023-10-01", None)
        .await
        .unwrap();
    assert_eq!(a.status, 405);
    assert_eq!(a.headers["allow"], "POST");
    assert_eq!(a.body["error"]["code"], "MethodNotAllowed");
    let a = c
        .send(Method::PUT, "/identities/x?api-version=2023-10-01", None)
        .await
        .unwrap();
    assert_eq!(a.status, 405);
    assert_eq!(a.headers["allow"], "GET, DELETE");
    // Body over the cap: 413 before anything else.
    let huge = format!(r#"{{"scopes":["chat"],"pad":"{}"}}"#, "x".repeat(70 * 1024));
    let id = c.create_id().await;
    let a = c.issue(&id, &huge).await.unwrap();
    assert_eq!(a.status, 413, "{}", a.body);
    assert_eq!(a.body["error"]["code"], "RequestEntityTooLarge");
    // Invalid UTF-8 body, correctly signed.
    let mut r = c.request(
        Method::POST,
        &format!(
            "/identities/{}/:issueAccessToken?api-version=2023-10-01",
            encode(&id)
        ),
        None,
    );
    *r.body_mut() = Some(reqwest::Body::from(vec![0xffu8, 0xfe, b'{']));
    acs_auth::sign_request(&mut r, &c.key, SystemTime::now()).unwrap();
    let a = c.execute(r).await.unwrap();
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.body["error"]["code"], "ValidationError");
    emu.shutdown().await;
}

#[tokio::test]
async fn health_reports_resource_and_count() {
    let emu = start().await;
    let c = Client::new(&emu);
    c.create_id().await;
    let a = c
        .execute(c.request(Method::GET, "/emulator/health", None))
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.body["status"], "ok");
    assert_eq!(a.body["resourceId"], RESOURCE);
    assert_eq!(a.body["identities"], 1);
    assert_eq!(emu.health().identities, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn create_with_empty_or_unknown_scopes_is_400_and_expiry_is_checked_without_scopes() {
    let emu = start().await;
    let c = Client::new(&emu);
    c.create(Some(r#"{"createTokenWithScopes":[]}"#))
        .await
        .unwrap()
        .assert_error(
            400,
            "ValidationError",
            "Invalid scopes - Scopes field is required.",
            Some("createTokenWithScopes"),
        );
    let a = c
        .create(Some(r#"{"createTokenWithScopes":["chat","teleport"]}"#))
        .await
        .unwrap();
    assert_eq!(a.status, 400);
    assert_eq!(a.body["error"]["target"], "createTokenWithScopes");
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'teleport'")
    );
    c.create(Some(r#"{"expiresInMinutes":10}"#))
        .await
        .unwrap()
        .assert_error(
            400,
            "ValidationError",
            "ExpiresInMinutes value 10 is invalid. Value must be within the [60, 1440] interval.",
            Some("ExpiresInMinutes"),
        );
    assert_eq!(
        emu.health().identities,
        0,
        "nothing is created by a refused request"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn revoke_is_exact_under_concurrent_issuing() {
    use std::sync::Arc;
    use std::time::Instant;
    let emu = start().await;
    let c = Arc::new(Client::new(&emu));
    let id = Arc::new(c.create_id().await);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..6 {
        let (c, id, stop) = (Arc::clone(&c), Arc::clone(&id), Arc::clone(&stop));
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let sent = Instant::now();
                let token = c.issue_token(&id).await;
                out.push((sent, Instant::now(), token));
            }
            out
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let revoke_sent = Instant::now();
    assert_eq!(c.revoke(&id).await.unwrap().status, 204);
    let revoke_done = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut before = 0;
    let mut after = 0;
    for w in workers {
        for (sent, received, token) in w.await.unwrap() {
            let valid = emu.validate_token(&token).valid;
            if received < revoke_sent {
                assert!(
                    !valid,
                    "a token answered before the revoke was sent must be revoked"
                );
                before += 1;
            } else if sent > revoke_done {
                assert!(
                    valid,
                    "a token requested after the revoke was acknowledged must be valid"
                );
                after += 1;
            }
        }
    }
    assert!(before > 0 && after > 0, "before {before}, after {after}");
    emu.shutdown().await;
}
