//! Token refresh: a `CommunicationTokenCredential` (from `acs-common`) whose refresher asks the
//! identity service for a new chat token, as an app's backend would, kept fresh across expiries.
//!
//! ```text
//! cargo run --example token_refresh            # from the workspace root
//! cargo run -p acs-identity-cli --example token_refresh
//! ```
//!
//! Without `AZURE_COMMUNICATION_CONNECTION_STRING` it starts the ACS Identity emulator in this
//! process (in memory, on a free loopback port) on a clock the example moves forward, so that an
//! hour-long token expires in an instant. With the variable set it runs against that resource,
//! on the real clock, and skips the step that needs time to pass.
//!
//! Every step checks what it got back; the program exits with status 0 only if all of them did
//! what they should. Tokens are secrets: they are never printed.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use acs_common::credentials::TokenCredential;
use acs_common::{
    CommunicationTokenCredential, CommunicationTokenRefreshOptions, CredentialError, ShiftedClock,
};
use acs_identity::{
    CommunicationIdentityClient, CommunicationIdentityClientOptions, CommunicationUserIdentifier,
    GetTokenOptions, TokenScope,
};
use acs_identity_emulator::{Emulator, EmulatorHandle};

const CONNECTION_STRING_ENV: &str = "AZURE_COMMUNICATION_CONNECTION_STRING";
const HOUR: Duration = Duration::from_secs(3600);

/// What went wrong in a step, in words.
type StepResult<T = ()> = Result<T, String>;

#[tokio::main]
async fn main() -> ExitCode {
    let clock = Arc::new(ShiftedClock::default());
    let (client, emulator) = match connect(&clock).await {
        Ok(connected) => connected,
        Err(message) => {
            eprintln!("FAILED to start: {message}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match client.create_user(None).await {
        Ok(user) => {
            println!("Created the user {}.", user.id());
            let outcome = walk(&client, &user, &clock, emulator.as_ref()).await;
            let _ = client.delete_user(&user, None).await;
            outcome
        }
        Err(e) => Err(format!("create_user: {e}")),
    };
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    match outcome {
        Ok(()) => {
            println!("\nDone: every step did what it should.");
            ExitCode::SUCCESS
        }
        Err(message) => {
            println!("\nFAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The client, and the emulator it talks to when there is no connection string.
async fn connect(
    clock: &Arc<ShiftedClock>,
) -> StepResult<(CommunicationIdentityClient, Option<EmulatorHandle>)> {
    if let Ok(connection_string) = std::env::var(CONNECTION_STRING_ENV)
        && !connection_string.trim().is_empty()
    {
        let client = CommunicationIdentityClient::from_connection_string(&connection_string, None)
            .map_err(|e| format!("{CONNECTION_STRING_ENV}: {e}"))?;
        println!(
            "Using the resource at {} ({CONNECTION_STRING_ENV} is set).",
            client.endpoint()
        );
        return Ok((client, None));
    }
    let emulator = Emulator::builder()
        .listen(([127, 0, 0, 1], 0).into())
        .in_memory()
        .clock(clock.clone())
        .start()
        .await
        .map_err(|e| format!("cannot start the emulator: {e}"))?;
    println!(
        "Using the ACS Identity emulator at {}, started in this process ({CONNECTION_STRING_ENV} \
         is not set).",
        emulator.endpoint()
    );
    let client = CommunicationIdentityClient::from_connection_string(
        &emulator.connection_string(),
        Some(CommunicationIdentityClientOptions::default().with_clock(clock.clone())),
    )
    .map_err(|e| format!("cannot build the client: {e}"))?;
    Ok((client, Some(emulator)))
}

async fn walk(
    client: &CommunicationIdentityClient,
    user: &CommunicationUserIdentifier,
    clock: &Arc<ShiftedClock>,
    emulator: Option<&EmulatorHandle>,
) -> StepResult {
    // The refresher: what an app's backend does for its signed-in user. Here it calls the
    // identity service directly; a browser or phone app would call its own backend instead.
    let calls = Arc::new(AtomicUsize::new(0));
    let refresher = {
        let (client, user, calls) = (client.clone(), user.clone(), Arc::clone(&calls));
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
    let options = CommunicationTokenRefreshOptions::default()
        .with_refresh_proactively(true)
        .with_clock(clock.clone());
    let credential = CommunicationTokenCredential::with_refresher(refresher, Some(options))
        .map_err(|e| format!("cannot create the credential: {e}"))?;
    let refreshes = || calls.load(Ordering::SeqCst);

    println!("\n1. The first get_token (or the background task, at once) calls the refresher");
    let first = credential
        .get_token()
        .await
        .map_err(|e| format!("get_token: {e}"))?;
    println!("   a chat token, expiring at {}", first.expires_on);
    check(refreshes() == 1, || {
        format!("{} refresher calls, not 1", refreshes())
    })?;

    println!("\n2. While the token has more than two minutes to live, it comes from the cache");
    for _ in 0..1000 {
        credential
            .get_token()
            .await
            .map_err(|e| format!("get_token: {e}"))?;
    }
    check(refreshes() == 1, || {
        format!("1000 calls made {} refresher calls", refreshes())
    })?;
    println!("   1000 calls, still 1 refresher call");

    println!("\n3. It is an azure_core TokenCredential too (the scopes asked for are ignored)");
    let as_azure: Arc<dyn TokenCredential> = Arc::new(credential.clone());
    let same = as_azure
        .get_token(&["https://communication.azure.com//.default"], None)
        .await
        .map_err(|e| format!("TokenCredential::get_token: {e}"))?;
    check(same.token == first.token, || "a different token".to_owned())?;
    println!("   the same token");

    if let Some(emulator) = emulator {
        println!("\n4. An hour and a minute later the token has expired: the next call refreshes");
        clock.advance(HOUR + Duration::from_secs(60));
        let second = credential
            .get_token()
            .await
            .map_err(|e| format!("get_token after the expiry: {e}"))?;
        check(second.token != first.token, || {
            "the token was not refreshed".to_owned()
        })?;
        check(refreshes() == 2, || {
            format!("{} refresher calls, not 2", refreshes())
        })?;
        let old = emulator.validate_token(first.token.secret());
        let new = emulator.validate_token(second.token.secret());
        check(!old.valid && new.valid, || {
            format!(
                "the emulator says old {:?}, new {:?}",
                old.reason, new.reason
            )
        })?;
        println!(
            "   a new token, expiring at {}; the emulator: old one {}, new one valid",
            second.expires_on,
            old.reason.as_deref().unwrap_or("invalid")
        );
        println!(
            "   (clock moved {} min ahead)",
            clock.offset().as_secs() / 60
        );
    } else {
        println!("\n4. (skipped against a real resource: it needs an hour to pass)");
    }

    println!("\n5. dispose stops the background task; later calls fail clearly");
    credential.dispose();
    match credential.get_token().await {
        Err(error @ CredentialError::Disposed) => println!("   get_token: {error}"),
        other => return Err(format!("after dispose, get_token gave {other:?}")),
    }
    Ok(())
}

fn check(ok: bool, why: impl FnOnce() -> String) -> StepResult {
    if ok { Ok(()) } else { Err(why()) }
}
