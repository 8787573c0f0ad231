//! Proactive refresh tested against the in-process emulator, exactly as the acs-common README
//! shows it ("Testing proactive refresh"): one `TokioClock` shared by the emulator, the client
//! and the credential, and Tokio's time moved forward (paused only around the jump, since the
//! test does real I/O). `the_readme_shows_this_test` keeps the README's code and this test the
//! same.

// Test code: a failed unwrap or panic is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// README: begin
use std::sync::Arc;
use std::time::Duration;

use acs_common::{CommunicationTokenCredential, CommunicationTokenRefreshOptions, TokioClock};
use acs_identity::{
    CommunicationIdentityClient, CommunicationIdentityClientOptions, GetTokenOptions, TokenScope,
};
use acs_identity_emulator::Emulator;

#[tokio::test] // a current-thread runtime; not `start_paused`: the test does real I/O
async fn proactive_refresh_against_the_emulator() {
    let clock = Arc::new(TokioClock::new());
    let emulator = Emulator::builder()
        .listen(([127, 0, 0, 1], 0).into())
        .in_memory()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let client = CommunicationIdentityClient::from_connection_string(
        &emulator.connection_string(),
        Some(CommunicationIdentityClientOptions::default().with_clock(clock.clone())),
    )
    .unwrap();
    let user = client.create_user(None).await.unwrap();

    // The refresher asks for one-hour chat tokens and reports each one it got.
    let (refreshed, mut refreshes) = tokio::sync::mpsc::unbounded_channel();
    let refresher = move || {
        let (client, user, refreshed) = (client.clone(), user.clone(), refreshed.clone());
        async move {
            let options =
                GetTokenOptions::default().with_token_expires_in(Duration::from_secs(3600));
            let token = client
                .get_token(&user, &[TokenScope::Chat], Some(options))
                .await?;
            let _ = refreshed.send(token.token.clone());
            Ok::<_, acs_identity::Error>(token.token)
        }
    };
    let options = CommunicationTokenRefreshOptions::default()
        .with_refresh_proactively(true)
        .with_clock(clock.clone());
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();
    let first = credential.get_token().await.unwrap();
    refreshes.recv().await.unwrap();

    // 51 minutes later the token is inside the proactive window (10 minutes before expiry):
    // the background task refreshes it without anyone calling get_token.
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(51 * 60)).await;
    tokio::time::resume();
    let refreshed = tokio::time::timeout(Duration::from_secs(30), refreshes.recv())
        .await
        .expect("no proactive refresh within 30 s")
        .unwrap();
    let second = credential.get_token().await.unwrap();
    assert_eq!(
        second.token, refreshed,
        "get_token hands out the refreshed token"
    );
    assert!(second.expires_on > first.expires_on);
    assert!(emulator.validate_token(second.token.secret()).valid);
    assert!(
        emulator.validate_token(first.token.secret()).valid,
        "refreshed before the first token expired"
    );
    assert!(
        refreshes.try_recv().is_err(),
        "no on-demand refresh was needed"
    );

    // 10 minutes more: the wall clock moved with Tokio's time, so the first token has expired
    // for the emulator, and the credential still hands out the second without a refresh.
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(10 * 60)).await;
    tokio::time::resume();
    let old = emulator.validate_token(first.token.secret());
    assert_eq!(old.reason.as_deref(), Some("expired"));
    assert_eq!(credential.get_token().await.unwrap().token, second.token);
    assert!(refreshes.try_recv().is_err());
    emulator.shutdown().await;
}
// README: end

/// The README's "Testing proactive refresh" block is this file's code between the markers.
#[test]
fn the_readme_shows_this_test() {
    let test = include_str!("proactive_refresh.rs");
    let readme = include_str!("../../acs-common/README.md");
    let between = |text: &'static str, begin: &str, end: &str| {
        let start = text.find(begin).unwrap() + begin.len();
        let stop = start + text[start..].find(end).unwrap();
        text[start..stop].trim().to_owned()
    };
    let code = between(test, "// README: begin", "// README: end");
    let shown = between(
        readme,
        "<!-- tests/proactive_refresh.rs -->\n```rust,ignore",
        "```",
    );
    assert_eq!(
        shown, code,
        "copy the test's code into the README (or back)"
    );
}
