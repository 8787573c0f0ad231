//! The emulator-only controls over HTTP and through the handle: faults, throttling, revocation
//! delay, identity listing and reset, HMAC diagnostics and `Host` with the default port.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use acs_auth::{AccessKey, RequestToSign};
use acs_identity_emulator::hmac_diagnostics::STRING_TO_SIGN_HEADER;
use acs_identity_emulator::{Controls, FaultRule, Operation, Throttling};
use acs_test_support::ManualClock;
use base64::Engine as _;
use common::{Answer, Client, KEY, builder, start};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// An unsigned request to an emulator-only endpoint, as JSON (which a POST there must say).
async fn control(client: &Client, method: Method, path: &str, body: Option<Value>) -> Answer {
    let text = body.map(|b| b.to_string());
    let mut request = client.request(method, path, text.as_deref());
    request
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    client.execute(request).await.unwrap()
}

#[tokio::test]
async fn two_injected_503s_then_success_on_the_third_try() {
    let emulator = start().await;
    let client = Client::new(&emulator);
    let id = client.create_id().await;
    let set = control(
        &client,
        Method::PUT,
        "/emulator/controls",
        Some(json!({"faults": [{"operation": "issueToken", "status": 503, "count": 2, "retryAfter": 1}]})),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["faults"][0]["count"], 2);

    // Other operations are not hit.
    assert_eq!(client.create(None).await.unwrap().status, 201);
    for attempt in 1..=2 {
        let refused = client.issue(&id, r#"{"scopes":["chat"]}"#).await.unwrap();
        refused.assert_error(
            503,
            "ServiceUnavailable",
            "Fault injected by the emulator (rule 1, operation issueToken).",
            None,
        );
        assert_eq!(refused.headers["retry-after"], "1", "attempt {attempt}");
        // The service's headers are there as on any answer.
        assert!(refused.headers.contains_key("ms-cv"));
    }
    let third = client.issue(&id, r#"{"scopes":["chat"]}"#).await.unwrap();
    assert_eq!(third.status, 200, "{}", third.body);
    let listed = control(&client, Method::GET, "/emulator/controls", None).await;
    assert_eq!(
        listed.body,
        json!({"faults": [], "revocationDelaySeconds": 0}),
        "the rule is used up"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn faults_are_listed_and_cleared_over_http_and_the_handle() {
    let emulator = start().await;
    let client = Client::new(&emulator);
    let rules = json!({"faults": [
        {"operation": "createIdentity", "status": 500},
        {"status": 429, "probability": 1.0, "retryAfter": 2},
        {"operation": "revokeTokens", "status": 503},
    ]});
    let a = control(
        &client,
        Method::PUT,
        "/emulator/controls",
        Some(rules.clone()),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let listed = control(&client, Method::GET, "/emulator/controls", None).await;
    assert_eq!(listed.body["faults"], rules["faults"]);
    assert_eq!(emulator.controls().faults.len(), 3);
    // The first matching rule answers.
    client.create(None).await.unwrap().assert_error(
        500,
        "InternalServerError",
        "Fault injected by the emulator (rule 1, operation createIdentity).",
        None,
    );
    let throttled = client
        .create(Some(r#"{"createTokenWithScopes":["chat"]}"#))
        .await
        .unwrap();
    throttled.assert_error(
        429,
        "TooManyRequests",
        "Fault injected by the emulator (rule 2, operation createIdentityAndToken).",
        None,
    );
    assert_eq!(throttled.headers["retry-after"], "2");

    // The handle sets the same value (here: the last rule only).
    let mut controls = emulator.controls();
    controls.faults.drain(..2);
    emulator.set_controls(controls).unwrap();
    assert_eq!(
        emulator.controls().faults,
        [FaultRule {
            operation: Some(Operation::RevokeTokens),
            status: Some(503),
            ..FaultRule::default()
        }]
    );
    assert_eq!(client.create(None).await.unwrap().status, 201);
    let cleared = control(&client, Method::PUT, "/emulator/controls", Some(json!({}))).await;
    assert_eq!(cleared.status, 200);
    assert!(emulator.controls().faults.is_empty());

    // The emulator-only endpoints are never hit by faults.
    let all = FaultRule {
        status: Some(503),
        ..FaultRule::default()
    };
    emulator
        .set_controls(Controls {
            faults: vec![all],
            ..Controls::default()
        })
        .unwrap();
    let health = control(&client, Method::GET, "/emulator/health", None).await;
    assert_eq!(health.status, 200);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_bad_rule_is_refused_with_what_is_wrong() {
    let emulator = start().await;
    let client = Client::new(&emulator);
    let cases = [
        (
            json!({"status": 200}),
            "invalid fault rule: status 200 is not an error status (400..=599)",
        ),
        (
            json!({"status": 503, "drop": true}),
            "invalid fault rule: give either status or drop=true, not both",
        ),
        (
            json!({"operation": "listUsers", "status": 503}),
            "unknown operation `listUsers`; known: createIdentity, deleteIdentity, issueToken, revokeTokens, createIdentityAndToken, exchangeTeamsToken, getIdentity, getTeamsExtensionAssignment, upsertTeamsExtensionAssignment, deleteTeamsExtensionAssignment, exchangeTeamsExtensionToken, getEntraAssignment, upsertEntraAssignment, deleteEntraAssignment, listEntraAssignments, updateEntraAssignments, exchangeEntraToken",
        ),
    ];
    for (rule, message) in cases {
        let body = json!({ "faults": [rule] });
        let a = control(&client, Method::PUT, "/emulator/controls", Some(body)).await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert_eq!(a.body["error"]["code"], "ValidationError");
        assert_eq!(a.body["error"]["target"], "body");
        let text = a.body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{text}");
    }
    let a = control(
        &client,
        Method::PUT,
        "/emulator/controls",
        Some(json!({"faults": [{"colour": 1}]})),
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{}",
        a.body
    );
    let a = control(&client, Method::POST, "/emulator/controls", None).await;
    assert_eq!(a.status, 405);
    let bad = FaultRule {
        status: Some(42),
        ..FaultRule::default()
    };
    let refused = emulator.set_controls(Controls {
        faults: vec![bad],
        ..Controls::default()
    });
    assert!(refused.is_err());
    assert!(emulator.controls().faults.is_empty());
    emulator.shutdown().await;
}

#[tokio::test]
async fn dropped_connections_and_delays() {
    let emulator = start().await;
    let controls = json!({"faults": [
        {"operation": "createIdentity", "drop": true, "count": 1},
        {"operation": "deleteIdentity", "delayMs": 300},
    ]});
    emulator
        .set_controls(serde_json::from_value(controls).unwrap())
        .unwrap();
    let client = Client::new(&emulator);
    let request = client.signed(Method::POST, "/identities?api-version=2023-10-01", None);
    let error = client.http.execute(request).await.unwrap_err();
    assert!(
        !error.is_status() && error.status().is_none(),
        "no answer, the connection was closed: {error:?}"
    );
    let id = client.create_id().await;
    let started = Instant::now();
    assert_eq!(
        client.delete(&id).await.unwrap().status,
        204,
        "served, late"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    emulator.shutdown().await;
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_until_the_window_frees() {
    // 0.001 of the service's limits: one request of each operation per (here 2-second) window.
    let emulator = start().await;
    let throttling = Throttling {
        scale: 0.001,
        window_seconds: 2,
    };
    emulator
        .set_controls(Controls {
            throttling: Some(throttling),
            ..Controls::default()
        })
        .unwrap();
    let client = Client::new(&emulator);
    let id = client.create_id().await;
    let refused = client.create(None).await.unwrap();
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "TooManyRequests");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Too many createIdentity requests: the limit is 1 per 2 seconds (emulator throttling). Retry after "
        ),
        "{message}"
    );
    let retry_after: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    // Each operation has its own limit; unauthenticated requests are not counted.
    let wrong = Client::with_key(&emulator, "d3Jvbmc=");
    for (sender, status) in [(&wrong, 401), (&client, 200), (&client, 429)] {
        let answer = sender.issue(&id, r#"{"scopes":["chat"]}"#).await.unwrap();
        assert_eq!(answer.status, status);
    }

    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(
        client.create(None).await.unwrap().status,
        201,
        "the window freed up"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_invalid_setting_is_refused() {
    let emulator = start().await;
    let throttling = Throttling {
        scale: -1.0,
        ..Throttling::default()
    };
    let error = emulator
        .set_controls(Controls {
            throttling: Some(throttling),
            ..Controls::default()
        })
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid throttling: the scale -1 must be above 0 and at most 1000"
    );
    let error = emulator
        .set_controls(Controls {
            revocation_delay_seconds: 2 * 24 * 3600,
            ..Controls::default()
        })
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the revocation delay of 172800 s is above the maximum of 86400 s"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn revoked_tokens_stay_valid_for_the_revocation_delay() {
    let clock = Arc::new(ManualClock::now());
    let emulator = builder().clock(clock.clone()).start().await.unwrap();
    emulator
        .set_controls(Controls {
            revocation_delay_seconds: 60,
            ..Controls::default()
        })
        .unwrap();
    let client = Client::new(&emulator);
    let id = client.create_id().await;
    let token = client.issue_token(&id).await;
    assert_eq!(client.revoke(&id).await.unwrap().status, 204);
    assert_eq!(
        client.validate(&token).await["valid"],
        true,
        "still propagating"
    );
    clock.advance(Duration::from_secs(59));
    assert!(emulator.validate_token(&token).valid);
    // A token issued after the revoke is not affected by it.
    let later = client.issue_token(&id).await;
    clock.advance(Duration::from_secs(1));
    let report = client.validate(&token).await;
    assert_eq!(report["valid"], false);
    assert_eq!(report["reason"], "revoked");
    assert!(emulator.validate_token(&later).valid);
    // Deletion stays immediate.
    assert_eq!(client.delete(&id).await.unwrap().status, 204);
    assert_eq!(client.validate(&later).await["reason"], "identityDeleted");
    emulator.shutdown().await;
}

#[tokio::test]
async fn without_a_delay_revocation_is_immediate() {
    let emulator = start().await;
    let client = Client::new(&emulator);
    let id = client.create_id().await;
    let token = client.issue_token(&id).await;
    assert_eq!(client.revoke(&id).await.unwrap().status, 204);
    assert_eq!(client.validate(&token).await["reason"], "revoked");
    emulator.shutdown().await;
}

#[tokio::test]
async fn identities_are_listed_and_reset_forgets_them() {
    let emulator = start().await;
    let client = Client::new(&emulator);
    let first = client.create_id().await;
    let second = client.create_id().await;
    let token = client.issue_token(&second).await;
    assert_eq!(client.revoke(&second).await.unwrap().status, 204);
    assert_eq!(client.delete(&first).await.unwrap().status, 204);

    let live = control(&client, Method::GET, "/emulator/identities", None).await;
    assert_eq!(live.status, 200);
    let entries = live.body["value"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", live.body);
    assert_eq!(entries[0]["id"], second.as_str());
    assert_eq!(entries[0]["deleted"], false);
    assert_eq!(entries[0]["tokensRevoked"], true);
    let created_on = entries[0]["createdOn"].as_str().unwrap();
    assert!(created_on.ends_with("+00:00"), "{created_on}");
    let all = control(
        &client,
        Method::GET,
        "/emulator/identities?includeDeleted=true",
        None,
    )
    .await;
    let ids: Vec<(&str, bool)> = all.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["deleted"].as_bool().unwrap()))
        .collect();
    assert!(ids.contains(&(first.as_str(), true)) && ids.contains(&(second.as_str(), false)));
    let from_handle = emulator.identities(false);
    assert_eq!(from_handle.len(), 1);
    assert_eq!(from_handle[0].id, second);
    assert_eq!(
        serde_json::to_value(&from_handle).unwrap(),
        live.body["value"]
    );

    let rule = FaultRule {
        operation: Some(Operation::IssueToken),
        status: Some(503),
        ..FaultRule::default()
    };
    emulator
        .set_controls(Controls {
            faults: vec![rule],
            ..Controls::default()
        })
        .unwrap();
    let reset = control(&client, Method::POST, "/emulator/reset", None).await;
    assert_eq!(reset.status, 204);
    assert!(emulator.identities(true).is_empty());
    assert_eq!(
        emulator.controls(),
        Controls::default(),
        "reset clears the controls"
    );
    assert_eq!(emulator.health().identities, 0);
    assert_eq!(client.validate(&token).await["reason"], "identityNotFound");
    client
        .issue(&second, r#"{"scopes":["chat"]}"#)
        .await
        .unwrap()
        .assert_error(
            404,
            "IdentityNotFound",
            "Provided identity doesn't exist.",
            None,
        );
    // The resource stays the same: new identities work at once.
    let third = client.create_id().await;
    client.issue_token(&third).await;
    emulator.reset().await.unwrap();
    assert!(emulator.identities(true).is_empty());
    emulator.shutdown().await;
}

#[tokio::test]
async fn reset_survives_a_restart_of_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = builder().data_dir(dir.path()).start().await.unwrap();
    let client = Client::new(&emulator);
    client.create_id().await;
    emulator.reset().await.unwrap();
    let kept = client.create_id().await;
    emulator.shutdown().await;
    let emulator = builder().data_dir(dir.path()).start().await.unwrap();
    let ids: Vec<String> = emulator
        .identities(true)
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, [kept]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_hmac_failure_returns_the_string_to_sign_the_emulator_computed() {
    let emulator = start().await;
    let wrong = Client::with_key(&emulator, "d3Jvbmc=");
    let path = "/identities?api-version=2023-10-01";
    let request = wrong.signed(Method::POST, path, Some("{}"));
    let date = request.headers()["x-ms-date"].to_str().unwrap().to_owned();
    let answer = wrong.execute(request).await.unwrap();
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.body["error"]["innererror"]["code"],
        "SignatureMismatch"
    );
    let encoded = answer.headers[STRING_TO_SIGN_HEADER].to_str().unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let host = format!("127.0.0.1:{}", emulator.local_addr().port());
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!(
            "POST\n{path}\n{date};{host};{}",
            acs_auth::content_hash(b"{}")
        )
    );
    // A good request gets no such header; nor does an error that is not an HMAC one.
    let client = Client::new(&emulator);
    let ok = client.create(None).await.unwrap();
    assert!(!ok.headers.contains_key(STRING_TO_SIGN_HEADER));
    let unsigned = client.request(Method::POST, path, None);
    let missing = client.execute(unsigned).await.unwrap();
    assert_eq!(missing.status, 401);
    assert!(!missing.headers.contains_key(STRING_TO_SIGN_HEADER));
    emulator.shutdown().await;
}

/// Sends one HTTP/1.1 request by hand with `Host: host`, signed for `signed_host`; the status.
async fn status_with_host(port: u16, host: &str, signed_host: &str) -> u16 {
    let key = AccessKey::from_base64(KEY).unwrap();
    let target = "/identities?api-version=2023-10-01";
    let signed = acs_auth::sign(
        &key,
        &RequestToSign {
            method: "POST",
            path_and_query: target,
            host: signed_host,
            body: b"",
        },
        SystemTime::now(),
    );
    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: {host}\r\nx-ms-date: {}\r\nx-ms-content-sha256: {}\r\nAuthorization: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        signed.date, signed.content_sha256, signed.authorization
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_host_with_or_without_the_default_port_is_accepted() {
    let emulator = start().await;
    let port = emulator.local_addr().port();
    // Signed without the default port, sent with it (and the other way round).
    assert_eq!(
        status_with_host(port, "localhost:80", "localhost").await,
        201
    );
    assert_eq!(
        status_with_host(port, "localhost", "localhost:80").await,
        201
    );
    assert_eq!(status_with_host(port, "localhost", "localhost").await, 201);
    // Any other port is part of what is signed.
    assert_eq!(
        status_with_host(port, "localhost:81", "localhost").await,
        401
    );
    assert_eq!(
        status_with_host(port, "localhost", "localhost:81").await,
        401
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn in_memory_serves_the_development_keys_and_a_data_dir_keeps_its_own() {
    use acs_identity_emulator::{DEVELOPMENT_ACCESS_KEY, DEVELOPMENT_CONNECTION_STRING, Emulator};
    let start = |b: acs_identity_emulator::EmulatorBuilder| {
        b.listen("127.0.0.1:0".parse().unwrap()).start()
    };
    // In memory, no key given: the documented development key and signing key, every run.
    let first = start(Emulator::builder().in_memory()).await.unwrap();
    assert_eq!(first.access_key_base64(), DEVELOPMENT_ACCESS_KEY);
    let port = first.local_addr().port();
    assert_eq!(
        first.connection_string(),
        DEVELOPMENT_CONNECTION_STRING.replace(":8642/", &format!(":{port}/"))
    );
    let dev_kid = first.jwks().keys[0].kid.clone();
    let client = Client::new(&first);
    let id = client.create_id().await;
    let token = client.issue_token(&id).await;
    assert!(first.validate_token(&token).valid);
    first.shutdown().await;
    let second = start(Emulator::builder().in_memory()).await.unwrap();
    assert_eq!(
        second.jwks().keys[0].kid,
        dev_kid,
        "the development signing key"
    );
    second.shutdown().await;

    // A data directory generates its keys once and keeps them.
    let dir = tempfile::tempdir().unwrap();
    let stored = start(Emulator::builder().data_dir(dir.path()))
        .await
        .unwrap();
    let (key, kid) = (
        stored.access_key_base64().to_owned(),
        stored.jwks().keys[0].kid.clone(),
    );
    assert_ne!(key, DEVELOPMENT_ACCESS_KEY);
    assert_ne!(kid, dev_kid);
    stored.shutdown().await;
    let again = start(Emulator::builder().data_dir(dir.path()))
        .await
        .unwrap();
    assert_eq!(again.access_key_base64(), key);
    assert_eq!(again.jwks().keys[0].kid, kid);
    again.shutdown().await;
}
