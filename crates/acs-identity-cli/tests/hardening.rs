//! What an attack with hostile servers and odd arguments found in the CLI, kept found.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Run, acs, run};

const KEY: &str = "c2VjcmV0LWtleQ==";

#[test]
fn a_server_that_never_answers_is_given_up_on_after_the_timeout() {
    // Accepts connections (the kernel does, from the backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let connection_string = format!("endpoint=http://127.0.0.1:{port}/;accesskey={KEY}");
    let started = Instant::now();
    let mut child = acs(&[
        "user",
        "create",
        "--timeout",
        "2",
        "--connection-string",
        &connection_string,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Before the fix it hung forever: wait at most 30 s, then kill it and fail.
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            unreachable!("the CLI was still waiting after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = started.elapsed();
    let failed = Run::of(child.wait_with_output().unwrap());
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("within 2 s (--timeout 2)"),
        "{}",
        failed.stderr
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
    drop(silent);
}

#[test]
fn a_huge_api_version_is_a_usage_error() {
    let huge = "2".repeat(100_000);
    let connection_string = format!("endpoint=http://127.0.0.1:9/;accesskey={KEY}");
    let failed = run(acs(&[
        "user",
        "create",
        "--api-version",
        &huge,
        "--connection-string",
        &connection_string,
    ]));
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .starts_with("error: invalid --api-version '2222"),
        "{}",
        failed.stderr
    );
    assert!(failed.stderr.len() < 300, "{}", failed.stderr);
}

#[test]
fn an_endpoint_with_a_path_is_refused_up_front() {
    let connection_string = format!("endpoint=http://127.0.0.1:9/identities/;accesskey={KEY}");
    let failed = run(acs(&[
        "user",
        "create",
        "--connection-string",
        &connection_string,
    ]));
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("must not have a path"),
        "{}",
        failed.stderr
    );
    assert!(!failed.stderr.contains(KEY));
}

#[test]
fn the_timeout_option_is_on_every_command_that_calls_the_service() {
    for command in [
        &["user", "create"][..],
        &["user", "show"],
        &["user", "delete"],
        &["token", "issue"],
        &["token", "revoke"],
        &["token", "get-for-teams-user"],
        &["token", "get-for-teams-extension-user"],
        &["teams-extension", "assignment", "create-or-replace"],
        &["teams-extension", "assignment", "show"],
        &["teams-extension", "assignment", "delete"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let help = run(acs(&args));
        assert!(help.ok().contains("--timeout <SECONDS>"), "{command:?}");
    }
    let zero = run(acs(&["user", "create", "--timeout", "0"]));
    assert_eq!(zero.code, 2, "{}", zero.stderr);
}
