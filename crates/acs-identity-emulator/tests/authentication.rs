//! HMAC and bearer authentication over HTTP: every way a request can fail to authenticate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use acs_auth::FixedClock;
use acs_identity_emulator::entra;
use common::{Client, builder, start};
use reqwest::Method;

const CREATE: &str = "/identities?api-version=2023-10-01";

fn assert_denied(a: &common::Answer, inner: &str) {
    a.assert_error(401, "Denied", "Denied by the resource provider.", None);
    assert_eq!(a.body["error"]["innererror"]["code"], inner, "{}", a.body);
}

#[tokio::test]
async fn a_correctly_signed_request_passes() {
    let emu = start().await;
    let c = Client::new(&emu);
    assert_eq!(
        c.send(Method::POST, CREATE, None).await.unwrap().status,
        201
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn wrong_key_is_denied() {
    let emu = start().await;
    let c = Client::with_key(&emu, "d3Jvbmcga2V5IHdyb25nIGtleQ==");
    assert_denied(
        &c.send(Method::POST, CREATE, None).await.unwrap(),
        "SignatureMismatch",
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn tampered_body_gets_the_content_hash_message() {
    let emu = start().await;
    let c = Client::new(&emu);
    let mut r = c.signed(
        Method::POST,
        CREATE,
        Some(r#"{"createTokenWithScopes":["chat"]}"#),
    );
    *r.body_mut() = Some(reqwest::Body::from(r#"{"createTokenWithScopes":["voip"]}"#));
    let a = c.execute(r).await.unwrap();
    a.assert_error(
        401,
        "Denied",
        "Request 'x-ms-content-sha256' differs from generated content hash.",
        None,
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn tampered_target_host_date_method_are_denied() {
    let emu = start().await;
    let c = Client::new(&emu);
    // Target: signed one api-version, sent another.
    let mut r = c.signed(Method::POST, CREATE, None);
    r.url_mut().set_query(Some("api-version=2022-10-01"));
    assert_denied(&c.execute(r).await.unwrap(), "SignatureMismatch");
    // Target: signed encoded, sent raw (the server must use the target exactly as received).
    let id = c.create_id().await;
    let encoded = format!(
        "/identities/{}/:revokeAccessTokens?api-version=2023-10-01",
        common::encode(&id)
    );
    let raw = format!("/identities/{id}/:revokeAccessTokens?api-version=2023-10-01");
    let signed = c.signed(Method::POST, &encoded, None);
    let mut r = c.request(Method::POST, &raw, None);
    *r.headers_mut() = signed.headers().clone();
    assert_denied(&c.execute(r).await.unwrap(), "SignatureMismatch");
    // Host: a different Host header than the one signed.
    let mut r = c.signed(Method::POST, CREATE, None);
    r.headers_mut()
        .insert("host", "localhost:1".parse().unwrap());
    assert_denied(&c.execute(r).await.unwrap(), "SignatureMismatch");
    // Date: another (valid, recent) date than the one signed.
    let mut r = c.signed(Method::POST, CREATE, None);
    let other = acs_auth::format_http_date(SystemTime::now() - Duration::from_secs(60));
    r.headers_mut().insert("x-ms-date", other.parse().unwrap());
    assert_denied(&c.execute(r).await.unwrap(), "SignatureMismatch");
    // Method: signed DELETE, sent POST.
    let signed = c.signed(Method::DELETE, &encoded, None);
    let mut r = c.request(Method::POST, &encoded, None);
    *r.headers_mut() = signed.headers().clone();
    assert_denied(&c.execute(r).await.unwrap(), "SignatureMismatch");
    emu.shutdown().await;
}

#[tokio::test]
async fn missing_headers_are_denied_naming_them() {
    let emu = start().await;
    let c = Client::new(&emu);
    for (header, inner) in [
        ("authorization", "MissingAuthorization"),
        ("x-ms-date", "MissingHeader"),
        ("x-ms-content-sha256", "MissingHeader"),
    ] {
        let mut r = c.signed(Method::POST, CREATE, None);
        r.headers_mut().remove(header);
        let a = c.execute(r).await.unwrap();
        assert_denied(&a, inner);
        let msg = a.body["error"]["innererror"]["message"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(msg.contains(header), "{header}: {msg}");
    }
    // A header replaced by an unusable value.
    for (header, value, inner) in [
        (
            "authorization",
            "HMAC-SHA256 Signature=abc",
            "MalformedAuthorization",
        ),
        (
            "authorization",
            "Basic dXNlcjpwYXNz",
            "UnsupportedAuthorizationScheme",
        ),
        ("x-ms-date", "yesterday", "InvalidDate"),
    ] {
        let mut r = c.signed(Method::POST, CREATE, None);
        r.headers_mut().insert(header, value.parse().unwrap());
        assert_denied(&c.execute(r).await.unwrap(), inner);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn date_header_is_used_when_x_ms_date_is_absent() {
    let emu = start().await;
    let c = Client::new(&emu);
    let mut r = c.signed(Method::POST, CREATE, None);
    let date = r.headers_mut().remove("x-ms-date").unwrap();
    r.headers_mut().insert("date", date);
    assert_eq!(c.execute(r).await.unwrap().status, 201);
    emu.shutdown().await;
}

#[tokio::test]
async fn skew_beyond_15_minutes_is_denied_within_is_accepted() {
    let now = SystemTime::now();
    let emu = builder()
        .clock(Arc::new(FixedClock(now)))
        .start()
        .await
        .unwrap();
    let c = Client::new(&emu);
    for (offset, ok) in [
        (-14 * 60i64, true),
        (14 * 60, true),
        (-16 * 60, false),
        (16 * 60, false),
        (-3600, false),
    ] {
        let at = if offset < 0 {
            now - Duration::from_secs(offset.unsigned_abs())
        } else {
            now + Duration::from_secs(offset as u64)
        };
        let a = c
            .execute(c.signed_at(Method::POST, CREATE, None, at))
            .await
            .unwrap();
        if ok {
            assert_eq!(a.status, 201, "{offset}: {}", a.body);
        } else {
            assert_denied(&a, "DateOutOfRange");
        }
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn bearer_tokens_for_acs_are_accepted_others_denied() {
    let emu = start().await;
    let c = Client::new(&emu);
    let soon = SystemTime::now() + Duration::from_secs(600);
    let send = |token: String| {
        let mut r = c.request(Method::POST, CREATE, None);
        r.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        c.execute(r)
    };
    assert_eq!(
        send(entra::test_bearer_token(soon)).await.unwrap().status,
        201
    );
    // Audience with a trailing slash.
    let with_slash = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let t = entra::test_bearer_token(soon);
        let mut p = common::jwt_payload(&t);
        p["aud"] = "https://communication.azure.com/".into();
        format!(
            "{}.{}.",
            t.split('.').next().unwrap(),
            b64.encode(p.to_string())
        )
    };
    assert_eq!(send(with_slash).await.unwrap().status, 201);
    for bad in [
        entra::test_bearer_token(SystemTime::now() - Duration::from_secs(1)),
        entra::test_token("app", "user", soon),
        "not-a-jwt".to_owned(),
    ] {
        assert_denied(&send(bad).await.unwrap(), "InvalidBearerToken");
    }
    emu.shutdown().await;
}
