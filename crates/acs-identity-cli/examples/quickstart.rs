//! Quickstart: the whole life of an Azure Communication Services identity, step by step.
//!
//! ```text
//! cargo run --example quickstart            # from the workspace root
//! cargo run -p acs-identity-cli --example quickstart
//! ```
//!
//! Without `AZURE_COMMUNICATION_CONNECTION_STRING` it starts the ACS Identity emulator in this
//! process (in memory, on a free loopback port) and runs against it; with the variable set it runs
//! against that Communication Services resource instead. The Teams token exchange runs against a
//! real resource only when `AZURE_COMMUNICATION_TEAMS_TOKEN`, `AZURE_COMMUNICATION_TEAMS_APP_ID` and
//! `AZURE_COMMUNICATION_TEAMS_USER_ID` are set.
//!
//! Every step checks what it got back; the program exits with status 0 only if all of them did
//! what they should. Tokens are secrets: only a short prefix is ever printed.

use std::process::ExitCode;
use std::time::Duration;

use acs_identity::{
    AccessToken, CommunicationIdentityClient, CommunicationUserIdentifier,
    CreateUserAndTokenOptions, ErrorKind, TokenScope,
};
use acs_identity_emulator::{Emulator, EmulatorHandle, TokenValidation};
use time::OffsetDateTime;

const CONNECTION_STRING_ENV: &str = "AZURE_COMMUNICATION_CONNECTION_STRING";
const TEAMS_TOKEN_ENV: &str = "AZURE_COMMUNICATION_TEAMS_TOKEN";
const TEAMS_APP_ID_ENV: &str = "AZURE_COMMUNICATION_TEAMS_APP_ID";
const TEAMS_USER_ID_ENV: &str = "AZURE_COMMUNICATION_TEAMS_USER_ID";

/// What went wrong in a step, in words.
type StepResult<T = ()> = Result<T, String>;

/// Where the quickstart runs: an emulator it started, or the resource the user named.
enum Target {
    Emulator(Box<EmulatorHandle>),
    Resource,
}

#[tokio::main]
async fn main() -> ExitCode {
    let (client, target) = match connect().await {
        Ok(connected) => connected,
        Err(message) => {
            eprintln!("FAILED to start: {message}");
            return ExitCode::FAILURE;
        }
    };

    let mut created = Vec::new();
    let outcome = walk(&client, &target, &mut created).await;

    if outcome.is_err() {
        // Leave nothing behind on a real resource.
        for user in created.drain(..) {
            let _ = client.delete_user(&user, None).await;
        }
    }
    if let Target::Emulator(handle) = target {
        handle.shutdown().await;
    }
    match outcome {
        Ok(()) => {
            println!();
            println!("Done: every step did what it should.");
            ExitCode::SUCCESS
        }
        Err(message) => {
            println!();
            println!("FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the emulator, or connects to the resource in `AZURE_COMMUNICATION_CONNECTION_STRING`.
async fn connect() -> StepResult<(CommunicationIdentityClient, Target)> {
    match std::env::var(CONNECTION_STRING_ENV) {
        Ok(connection_string) if !connection_string.trim().is_empty() => {
            let client =
                CommunicationIdentityClient::from_connection_string(&connection_string, None)
                    .map_err(|e| format!("{CONNECTION_STRING_ENV}: {e}"))?;
            println!(
                "Using the Communication Services resource at {} ({CONNECTION_STRING_ENV} is set).",
                client.endpoint()
            );
            Ok((client, Target::Resource))
        }
        _ => {
            let handle = Emulator::builder()
                .listen(([127, 0, 0, 1], 0).into())
                .in_memory()
                .start()
                .await
                .map_err(|e| format!("cannot start the emulator: {e}"))?;
            println!(
                "Using the ACS Identity emulator, started in this process (in memory) at {} \
                 ({CONNECTION_STRING_ENV} is not set).",
                handle.endpoint()
            );
            let client = CommunicationIdentityClient::from_connection_string(
                &handle.connection_string(),
                None,
            )
            .map_err(|e| format!("cannot build the client: {e}"))?;
            Ok((client, Target::Emulator(Box::new(handle))))
        }
    }
}

async fn walk(
    client: &CommunicationIdentityClient,
    target: &Target,
    created: &mut Vec<CommunicationUserIdentifier>,
) -> StepResult {
    // 1. A user: an identity of this resource, with no data attached.
    step(1, "Create a user");
    let user = client
        .create_user(None)
        .await
        .map_err(|e| format!("create_user: {e}"))?;
    created.push(user.clone());
    check(user.id().starts_with("8:"), || {
        format!("the new id '{}' is not a communication user id", user.id())
    })?;
    detail("user id", user.id());

    // 2. A token for chat and calling, with the default lifetime (24 hours).
    step(2, "Issue a token for chat and voip");
    let token = client
        .get_token(&user, &[TokenScope::Chat, TokenScope::Voip], None)
        .await
        .map_err(|e| format!("get_token: {e}"))?;
    show_token(&token);
    let claims = token
        .claims()
        .map_err(|e| format!("cannot read the token: {e}"))?;
    check(
        claims.scopes.iter().any(|s| s == "chat") && claims.scopes.iter().any(|s| s == "voip"),
        || {
            format!(
                "the token's scopes are {:?}, not chat and voip",
                claims.scopes
            )
        },
    )?;
    let lifetime = token.expires_on - OffsetDateTime::now_utc();
    check(
        lifetime > time::Duration::minutes(1438) && lifetime <= time::Duration::minutes(1441),
        || format!("the default lifetime is {lifetime}, not 24 hours"),
    )?;
    detail(
        "check",
        "scopes chat and voip are in the token; it expires in about 24 hours",
    );

    // 3. A second user and its token in one call, valid for 60 minutes only.
    step(
        3,
        "Create a user and a token together, valid for 60 minutes",
    );
    let mut options = CreateUserAndTokenOptions::default();
    options.token_expires_in = Some(Duration::from_secs(60 * 60));
    let both = client
        .create_user_and_token(&[TokenScope::Chat], Some(options))
        .await
        .map_err(|e| format!("create_user_and_token: {e}"))?;
    created.push(both.user.clone());
    let second = both.user;
    let short = both.access_token;
    detail("user id", second.id());
    show_token(&short);
    let lifetime = short.expires_on - OffsetDateTime::now_utc();
    check(
        lifetime > time::Duration::minutes(58) && lifetime <= time::Duration::minutes(61),
        || format!("asked for 60 minutes, the token lives {lifetime}"),
    )?;
    detail("check", "the token expires in about 60 minutes");

    // 4. What is inside a token. Decoding does not verify the signature: for display only.
    step(4, "Decode the 60-minute token's claims");
    let claims = short
        .claims()
        .map_err(|e| format!("cannot read the token: {e}"))?;
    let skype_id = claims.skype_id.clone().unwrap_or_default();
    detail("skypeid", &skype_id);
    detail("acsScope", &claims.scopes.join(","));
    detail(
        "resourceId",
        claims.resource_id.as_deref().unwrap_or("(absent)"),
    );
    detail("iat (issued)", &optional_time(claims.issued_at));
    detail("exp (expires)", &optional_time(claims.expires_at));
    let expected_skype_id = second.id().trim_start_matches("8:").to_string();
    check(skype_id == expected_skype_id, || {
        format!("skypeid is '{skype_id}', expected '{expected_skype_id}'")
    })?;
    check(claims.scopes == ["chat"], || {
        format!("acsScope is {:?}, expected [\"chat\"]", claims.scopes)
    })?;
    let exp_matches = claims
        .expires_at
        .is_some_and(|exp| (exp - short.expires_on).abs() <= time::Duration::seconds(1));
    check(exp_matches, || {
        "the exp claim does not match the reported expiry".to_string()
    })?;
    detail(
        "check",
        "skypeid names the user, acsScope is chat, exp matches expiresOn",
    );

    // 5. A Teams user trades its Entra ID token for a Communication Services token.
    step(5, "Exchange a Teams user's Entra ID token");
    teams_exchange(client, target).await?;

    // 6. Revocation: every token issued so far stops working.
    step(6, "Revoke the first user's tokens");
    match target {
        Target::Emulator(handle) => {
            let before = validate(handle, &token);
            detail("before", &describe(&before));
            check(before.valid, || {
                "the emulator rejects the token before revocation".to_string()
            })?;
            client
                .revoke_tokens(&user, None)
                .await
                .map_err(|e| format!("revoke_tokens: {e}"))?;
            let after = validate(handle, &token);
            detail("after", &describe(&after));
            check(!after.valid, || {
                "the emulator still accepts the revoked token".to_string()
            })?;
            let fresh = client
                .get_token(&user, &[TokenScope::Chat], None)
                .await
                .map_err(|e| format!("get_token after revoke: {e}"))?;
            let renewed = validate(handle, &fresh);
            detail("new token", &describe(&renewed));
            check(renewed.valid, || {
                "a token issued after the revocation is rejected".to_string()
            })?;
            detail("check", "the old token became invalid; a new one works");
        }
        Target::Resource => {
            client
                .revoke_tokens(&user, None)
                .await
                .map_err(|e| format!("revoke_tokens: {e}"))?;
            detail(
                "revoked",
                "the live service takes up to 15 minutes to propagate; the validity check runs on the emulator only",
            );
        }
    }

    // 7. Deleting a user revokes its tokens and removes it for good.
    step(7, "Delete the users");
    for user in created.drain(..) {
        client
            .delete_user(&user, None)
            .await
            .map_err(|e| format!("delete_user {}: {e}", user.id()))?;
        detail("deleted", user.id());
    }
    if let Target::Emulator(_) = target {
        match client.get_token(&user, &[TokenScope::Chat], None).await {
            Ok(_) => return Err("a deleted user still gets tokens".to_string()),
            Err(e) if e.kind() == ErrorKind::Service => {
                detail("check", &format!("a deleted user gets no token: {e}"));
            }
            Err(e) => return Err(format!("get_token for a deleted user: {e}")),
        }
    }
    Ok(())
}

async fn teams_exchange(client: &CommunicationIdentityClient, target: &Target) -> StepResult {
    let (entra_token, app_id, user_object_id, entra_expiry) = match target {
        Target::Emulator(_) => {
            // A locally made, unsigned Entra-like token that only the emulator accepts.
            let app_id = "1fd68a1e-8f3b-4c6f-9a63-6f1c0e4b7d21".to_string();
            let user_object_id = "2b7c2d5e-0a4f-4e8e-b1c6-3e9d8a7f6b50".to_string();
            let expiry = OffsetDateTime::now_utc() + time::Duration::minutes(45);
            let expiry = expiry
                .replace_nanosecond(0)
                .map_err(|e| format!("cannot round the expiry: {e}"))?;
            let token =
                acs_identity_emulator::entra::test_token(&app_id, &user_object_id, expiry.into());
            detail(
                "Entra token",
                "made locally for the emulator, expires in 45 minutes",
            );
            (token, app_id, user_object_id, Some(expiry))
        }
        Target::Resource => {
            let vars = (
                std::env::var(TEAMS_TOKEN_ENV),
                std::env::var(TEAMS_APP_ID_ENV),
                std::env::var(TEAMS_USER_ID_ENV),
            );
            let (Ok(token), Ok(app_id), Ok(user_object_id)) = vars else {
                detail(
                    "skipped",
                    &format!(
                        "set {TEAMS_TOKEN_ENV}, {TEAMS_APP_ID_ENV} and {TEAMS_USER_ID_ENV} to try it against a real resource"
                    ),
                );
                return Ok(());
            };
            (token, app_id, user_object_id, None)
        }
    };
    let exchanged = client
        .get_token_for_teams_user(&entra_token, &app_id, &user_object_id, None)
        .await
        .map_err(|e| format!("get_token_for_teams_user: {e}"))?;
    show_token(&exchanged);
    let claims = exchanged
        .claims()
        .map_err(|e| format!("cannot read the exchanged token: {e}"))?;
    detail("skypeid", claims.skype_id.as_deref().unwrap_or("(absent)"));
    check(exchanged.expires_on > OffsetDateTime::now_utc(), || {
        "the exchanged token has already expired".to_string()
    })?;
    if let Some(expiry) = entra_expiry {
        check(
            (exchanged.expires_on - expiry).abs() <= time::Duration::seconds(1),
            || "the exchanged token does not expire with the Entra token".to_string(),
        )?;
        let names_user = claims
            .skype_id
            .as_deref()
            .is_some_and(|id| id.contains(&user_object_id));
        check(names_user, || {
            "the exchanged token does not name the Teams user".to_string()
        })?;
        detail(
            "check",
            "the token names the Teams user and expires with the Entra token",
        );
    }
    Ok(())
}

/// The emulator's verdict on a token (emulator only: the real service has no such query).
fn validate(handle: &EmulatorHandle, token: &AccessToken) -> TokenValidation {
    handle.validate_token(token.token.secret())
}

fn describe(verdict: &TokenValidation) -> String {
    match (verdict.valid, &verdict.reason) {
        (true, _) => "the emulator reports the token valid".to_string(),
        (false, Some(reason)) => format!("the emulator reports the token invalid ({reason})"),
        (false, None) => "the emulator reports the token invalid".to_string(),
    }
}

fn step(number: u32, title: &str) {
    println!();
    println!("Step {number}: {title}");
}

fn detail(label: &str, value: &str) {
    println!("  {label:<14} {value}");
}

fn check(ok: bool, why: impl FnOnce() -> String) -> StepResult {
    if ok { Ok(()) } else { Err(why()) }
}

/// A token is a secret: show only enough to recognise it, and when it expires.
fn show_token(token: &AccessToken) {
    let text = token.token.secret();
    let shown: String = text.chars().take(12).collect();
    detail(
        "token",
        &format!("{shown}... ({} characters, not shown)", text.len()),
    );
    detail("expires on", &describe_expiry(token.expires_on));
}

fn describe_expiry(at: OffsetDateTime) -> String {
    let minutes = ((at - OffsetDateTime::now_utc()).as_seconds_f64() / 60.0).round() as i64;
    let left = if minutes >= 60 {
        format!("{} h {:02} min", minutes / 60, minutes % 60)
    } else {
        format!("{minutes} min")
    };
    format!("{} (in {left})", show_time(at))
}

fn optional_time(at: Option<OffsetDateTime>) -> String {
    at.map_or_else(|| "(absent)".to_string(), show_time)
}

/// RFC 3339 in UTC, to the second.
fn show_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}
