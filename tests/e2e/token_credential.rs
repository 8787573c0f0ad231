//! `CommunicationTokenCredential` in use: its refresher calls the facade's `get_token` against
//! the in-process emulator. The emulator, the client (for `x-ms-date`) and the credential share
//! one clock, which the test moves forward an hour at a time: across several expiries the
//! credential keeps handing out a chat token the emulator says is valid.

// Test code: a failed unwrap or panic is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use acs_common::{CommunicationTokenCredential, CommunicationTokenRefreshOptions, ShiftedClock};
use acs_identity::{CommunicationIdentityClientOptions, GetTokenOptions, RetryOptions, TokenScope};

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_refreshing_credential_keeps_a_chat_token_valid_across_expiries() {
    let clock = Arc::new(ShiftedClock::default());
    let emulator = acs_test_support::emulator::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let client = support::client_with(
        &emulator,
        CommunicationIdentityClientOptions::default()
            .with_retry(RetryOptions::none())
            .with_clock(clock.clone()),
    );
    let user = client.create_user(None).await.unwrap();

    // What an app's backend does for its signed-in user: a one-hour chat token.
    let calls = Arc::new(AtomicUsize::new(0));
    let refresher = {
        let calls = Arc::clone(&calls);
        move || {
            calls.fetch_add(1, Ordering::SeqCst);
            let (client, user) = (client.clone(), user.clone());
            async move {
                let options = GetTokenOptions::default().with_token_expires_in(HOUR);
                let token = client
                    .get_token(&user, &[TokenScope::Chat], Some(options))
                    .await?;
                Ok::<_, acs_identity::Error>(token.token)
            }
        }
    };
    let credential = CommunicationTokenCredential::with_refresher(
        refresher,
        Some(CommunicationTokenRefreshOptions::default().with_clock(clock.clone())),
    )
    .unwrap();

    let mut previous: Option<String> = None;
    for round in 1..=4 {
        let token = credential.get_token().await.unwrap();
        let check = emulator.validate_token(token.token.secret());
        assert!(check.valid, "round {round}: {:?}", check.reason);
        assert_eq!(check.scopes, ["chat"]);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            round,
            "one refresh per expiry"
        );
        // A second call within the hour is served from the cache.
        credential.get_token().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), round);

        if let Some(previous) = &previous {
            assert_ne!(
                previous,
                token.token.secret(),
                "round {round}: not refreshed"
            );
            let old = emulator.validate_token(previous);
            assert_eq!(old.reason.as_deref(), Some("expired"), "round {round}");
        }
        previous = Some(token.token.secret().to_owned());
        // Past this token's expiry (an hour and a minute later).
        clock.advance(HOUR + Duration::from_secs(60));
    }
    emulator.shutdown().await;
}
