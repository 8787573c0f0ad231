//! The acs-identity facade's retry policy against faults the emulator injects on demand and against
//! its throttling (in-process emulator, loopback, in memory): injected 503s and 429s, a dropped
//! connection and a slow answer are retried until success; a fault that never clears surfaces as
//! the service error.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions

mod support;

use std::time::{Duration, Instant};

use acs_identity::{
    CommunicationIdentityClient, CommunicationIdentityClientOptions, ErrorKind, RetryOptions,
    TokenScope,
};
use acs_identity_emulator::{Controls, EmulatorHandle};
use serde_json::json;

async fn emulator() -> EmulatorHandle {
    acs_test_support::emulator::start().await
}

/// Sets the emulator's test controls (the JSON of `PUT /emulator/controls`).
fn set_controls(emulator: &EmulatorHandle, controls: serde_json::Value) {
    let controls: Controls = serde_json::from_value(controls).unwrap();
    emulator.set_controls(controls).unwrap();
}

/// The facade's default policy (3 retries, Retry-After honoured), with a short first backoff so
/// the suite stays quick.
fn client_with_retry(
    emulator: &EmulatorHandle,
    retry: RetryOptions,
) -> CommunicationIdentityClient {
    support::client_with(
        emulator,
        CommunicationIdentityClientOptions::default().with_retry(retry),
    )
}

fn client(emulator: &EmulatorHandle) -> CommunicationIdentityClient {
    client_with_retry(
        emulator,
        RetryOptions::default().with_initial_delay(Duration::from_millis(50)),
    )
}

#[tokio::test]
async fn two_injected_503s_then_success_on_the_third_try() {
    let emulator = emulator().await;
    let c = client(&emulator);
    set_controls(
        &emulator,
        json!({"faults": [{"operation": "createIdentity", "status": 503, "count": 2}]}),
    );
    let user = c.create_user(None).await.unwrap();
    assert!(
        emulator.controls().faults.is_empty(),
        "both 503s were answered: three tries"
    );
    let listed: Vec<String> = emulator
        .identities(false)
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        listed,
        [user.id().to_string()],
        "one identity created, not three"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn two_injected_429s_with_retry_after_then_success() {
    let emulator = emulator().await;
    let c = client(&emulator);
    let user = c.create_user(None).await.unwrap();
    set_controls(
        &emulator,
        json!({"faults": [{"operation": "issueToken", "status": 429, "count": 2, "retryAfter": 1}]}),
    );
    let started = Instant::now();
    let token = c.get_token(&user, &[TokenScope::Chat], None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited Retry-After twice"
    );
    assert!(emulator.validate_token(token.token.secret()).valid);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_and_a_slow_answer_are_retried() {
    let emulator = emulator().await;
    set_controls(
        &emulator,
        json!({"faults": [
            {"operation": "createIdentity", "drop": true, "count": 1},
            {"operation": "revokeTokens", "delayMs": 2000, "count": 1},
        ]}),
    );
    let options = CommunicationIdentityClientOptions::default()
        .with_retry(RetryOptions::default().with_initial_delay(Duration::from_millis(50)))
        .with_per_try_timeout(Duration::from_millis(500));
    let c = support::client_with(&emulator, options);
    let user = c.create_user(None).await.unwrap();
    // The slow first answer times out on the client; the retry is answered at once.
    c.revoke_tokens(&user, None).await.unwrap();
    assert!(emulator.controls().faults.is_empty());
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_fault_that_never_clears_surfaces_the_service_error() {
    let emulator = emulator().await;
    let c = client_with_retry(
        &emulator,
        RetryOptions::default()
            .with_max_retries(2)
            .with_initial_delay(Duration::from_millis(20)),
    );
    let user = c.create_user(None).await.unwrap();
    set_controls(
        &emulator,
        json!({"faults": [{"operation": "deleteIdentity", "status": 503}]}),
    );
    let error = c.delete_user(&user, None).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Service);
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(error.code(), Some("ServiceUnavailable"));
    assert!(
        error
            .message()
            .starts_with("Fault injected by the emulator (rule 1, operation deleteIdentity)"),
        "{}",
        error.message()
    );

    set_controls(
        &emulator,
        json!({"faults": [{"operation": "createIdentityAndToken", "status": 429, "retryAfter": 1}]}),
    );
    let error = c
        .create_user_and_token(&[TokenScope::Chat], None)
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(error.code(), Some("TooManyRequests"));
    // The fault is for one operation only; the identity still exists.
    c.delete_user(&user, None).await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn throttling_at_scaled_limits_is_retried_after_retry_after() {
    let emulator = emulator().await;
    set_controls(
        &emulator,
        json!({"throttling": {"scale": 0.001, "windowSeconds": 1}}),
    );
    let c = client(&emulator);
    let first = c.create_user(None).await.unwrap();
    let started = Instant::now();
    let second = c.create_user(None).await.unwrap();
    assert_ne!(first.id(), second.id());
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "the second create waited for the window to free"
    );
    assert_eq!(emulator.identities(false).len(), 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_error_helpers_on_the_emulators_faults() {
    let emulator = emulator().await;
    // Retries off: the 429's Retry-After reaches the app, which decides how long to wait.
    let c = client_with_retry(&emulator, RetryOptions::none());
    set_controls(
        &emulator,
        json!({"faults": [{"operation": "createIdentity", "status": 429, "count": 1, "retryAfter": 9}]}),
    );
    let e = c.create_user(None).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(9)), "{e:?}");
    assert!(e.is_retryable() && !e.is_timeout() && !e.is_connect());

    // A dropped connection is neither a timeout nor a refused connection, but worth a retry.
    set_controls(
        &emulator,
        json!({"faults": [{"operation": "createIdentity", "drop": true, "count": 1}]}),
    );
    let e = c.create_user(None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert!(e.is_retryable() && !e.is_timeout(), "{e:?}");

    // A slow answer past the per-try timeout is a timeout.
    set_controls(
        &emulator,
        json!({"faults": [{"operation": "createIdentity", "delayMs": 2000, "count": 1}]}),
    );
    let options = CommunicationIdentityClientOptions::default()
        .with_retry(RetryOptions::none())
        .with_per_try_timeout(Duration::from_millis(200));
    let slow = support::client_with(&emulator, options);
    let e = slow.create_user(None).await.unwrap_err();
    assert!(e.is_timeout() && !e.is_connect(), "{e:?}");

    // Once the emulator is gone, the connection is refused.
    let endpoint = emulator.connection_string();
    emulator.shutdown().await;
    let gone = CommunicationIdentityClient::from_connection_string(
        &endpoint,
        Some(CommunicationIdentityClientOptions::default().with_retry(RetryOptions::none())),
    )
    .unwrap();
    let e = gone.create_user(None).await.unwrap_err();
    assert!(e.is_connect() && !e.is_timeout(), "{e:?}");
}
