//! Runs the quickstart exactly as the README says, `cargo run --example quickstart` from the
//! workspace root, and checks its exit status and what it printed. The workspace has no
//! `default-members`, so this command resolves features as `cargo test --workspace` does and
//! runs the example that the test build made (nothing is compiled again).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::process::Command;

use acs_test_support::workspace_root;
use common::{AMBIENT_VARS, Run, TestEmulator};

/// `cargo run --quiet --example quickstart` from the workspace root, with a clean environment.
fn quickstart() -> Command {
    let mut command = acs_test_support::cargo();
    command
        .args(["run", "--quiet", "--example", "quickstart"])
        .current_dir(workspace_root());
    for var in AMBIENT_VARS {
        command.env_remove(var);
    }
    command
}

/// No line shows more of a token than a short prefix.
fn assert_no_whole_token(stdout: &str) {
    for word in stdout.split_whitespace() {
        if word.starts_with("eyJ") {
            assert!(word.len() <= 15, "a token is printed in full: {word}");
        }
        assert!(
            word.matches('.').count() < 2 || word.len() < 40,
            "looks like a JWT: {word}"
        );
    }
}

/// Runs the quickstart and asserts that it went through to the end ("Done", exit status 0) without
/// printing a whole token.
fn run_to_the_end(mut command: Command) -> Run {
    let result = Run::of(command.output().unwrap());
    assert_eq!(
        result.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        result.stdout, result.stderr
    );
    assert_eq!(
        result.stdout.lines().last().unwrap(),
        "Done: every step did what it should."
    );
    assert_no_whole_token(&result.stdout);
    result
}

fn step_titles(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|line| line.starts_with("Step "))
        .collect()
}

#[test]
fn runs_every_step_on_the_in_process_emulator() {
    let result = run_to_the_end(quickstart());
    let first = result.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("Using the ACS Identity emulator, started in this process (in memory) at http://127.0.0.1:"),
        "{first}"
    );
    assert_eq!(
        step_titles(&result.stdout),
        [
            "Step 1: Create a user",
            "Step 2: Issue a token for chat and voip",
            "Step 3: Create a user and a token together, valid for 60 minutes",
            "Step 4: Decode the 60-minute token's claims",
            "Step 5: Exchange a Teams user's Entra ID token",
            "Step 6: Revoke the first user's tokens",
            "Step 7: Delete the users",
        ]
    );
    for expected in [
        "scopes chat and voip are in the token",
        "the token expires in about 60 minutes",
        "skypeid names the user, acsScope is chat, exp matches expiresOn",
        "the token names the Teams user and expires with the Entra token",
        "the emulator reports the token valid",
        "the emulator reports the token invalid",
        "the old token became invalid; a new one works",
        "a deleted user gets no token",
    ] {
        assert!(
            result.stdout.contains(expected),
            "missing '{expected}' in:\n{}",
            result.stdout
        );
    }
}

#[test]
fn runs_against_the_resource_named_by_the_connection_string() {
    // An emulator started by the test stands in for a real resource: the quickstart must take
    // the "real resource" path (no in-process emulator, Teams step skipped, no validity check).
    let resource = TestEmulator::start();
    let mut command = quickstart();
    command.env(
        "AZURE_COMMUNICATION_CONNECTION_STRING",
        &resource.connection_string,
    );
    let result = run_to_the_end(command);
    let first = result.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("Using the Communication Services resource at http://127.0.0.1:"),
        "{first}"
    );
    assert!(first.ends_with("(AZURE_COMMUNICATION_CONNECTION_STRING is set)."));
    assert!(
        result.stdout.contains(
            "skipped        set AZURE_COMMUNICATION_TEAMS_TOKEN, AZURE_COMMUNICATION_TEAMS_APP_ID and AZURE_COMMUNICATION_TEAMS_USER_ID"
        ),
        "{}",
        result.stdout
    );
    assert!(
        result
            .stdout
            .contains("the validity check runs on the emulator only"),
        "{}",
        result.stdout
    );
    assert_eq!(step_titles(&result.stdout).len(), 7);
    // The key never shows.
    let key_text = resource
        .connection_string
        .split(';')
        .find(|part| part.to_ascii_lowercase().starts_with("accesskey="))
        .and_then(|part| part.split_once('=').map(|(_, key)| key))
        .unwrap();
    assert!(!result.stdout.contains(key_text));
    assert!(!result.stderr.contains(key_text));
}

#[test]
fn exits_non_zero_when_a_step_fails() {
    // A resource that refuses every request (wrong key): the first step fails.
    let resource = TestEmulator::start();
    let parsed = acs_auth::ConnectionString::parse(&resource.connection_string).unwrap();
    let connection_string = format!(
        "endpoint={};accesskey=d3Jvbmcta2V5LWZvci10aGUtcXVpY2tzdGFydA==",
        parsed.endpoint()
    );
    let mut command = quickstart();
    command.env("AZURE_COMMUNICATION_CONNECTION_STRING", &connection_string);
    let result = Run::of(command.output().unwrap());
    assert_eq!(result.code, 1, "{}", result.stdout);
    let last = result.stdout.lines().last().unwrap();
    assert!(last.starts_with("FAILED: create_user: "), "{last}");
    assert!(!result.stdout.contains("Done:"));
}
