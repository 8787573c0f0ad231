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

/// A server that answers every request with `status` and the JSON `body`, then closes the
/// connection. Returns its connection string.
fn answering(status: u16, body: &'static str) -> String {
    answering_with(status, "", body)
}

/// [`answering`] with `headers` (each ending in CRLF) added to every answer.
fn answering_with(status: u16, headers: &'static str, body: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            // The request: headers, and a body of at most a few hundred bytes.
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let mut request = [0u8; 65536];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 {headers}connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("endpoint=http://127.0.0.1:{port}/;accesskey={KEY}")
}

/// Whether `text` holds a C0 control other than the line ends the CLI writes, DEL or a C1 control.
fn has_controls(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

#[test]
fn controls_from_the_service_never_reach_the_terminal_raw() {
    // An error whose code, message and target set the window title, clear the screen and fake
    // a line; on stderr they come out escaped.
    let connection_string = answering(
        400,
        r#"{"error":{"code":"Bad\u001b]0;pwned\u0007","message":"line\r\nerror: fake\u009b2J","target":"x\u007f"}}"#,
    );
    let failed = run(acs(&[
        "user",
        "delete",
        "--user",
        "8:acs:x",
        "--connection-string",
        &connection_string,
    ]));
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(!has_controls(&failed.stderr), "{:?}", failed.stderr);
    assert_eq!(failed.stderr.lines().count(), 1, "{:?}", failed.stderr);
    assert!(
        failed.stderr.contains(r"Bad\u{1b}]0;pwned\u{7}"),
        "{}",
        failed.stderr
    );
    assert!(failed.stderr.contains(r"line\u{d}\u{a}error: fake\u{9b}2J"));
    assert!(failed.stderr.contains(r"x\u{7f}"));

    // A custom id in table output, and in JSON output, where serde_json escapes only C0: DEL
    // and the C1 controls (U+009B is CSI) are escaped as well.
    let connection_string = answering(
        200,
        r#"{"id":"8:acs:x","customId":"a\u001b[2J\rUser id  8:acs:fake\u007f\u009b2J"}"#,
    );
    let args = |output: &'static str| {
        [
            "user",
            "show",
            "--user",
            "8:acs:x",
            "--api-version",
            acs_identity::PREVIEW_API_VERSION,
            "--output",
            output,
            "--connection-string",
        ]
    };
    let mut table = args("table").to_vec();
    table.push(&connection_string);
    let shown = run(acs(&table));
    let out = shown.ok();
    assert!(!has_controls(out), "{out:?}");
    assert!(
        out.contains(r"a\u{1b}[2J\u{d}User id  8:acs:fake\u{7f}\u{9b}2J"),
        "{out}"
    );
    let mut json = args("json").to_vec();
    json.push(&connection_string);
    let shown = run(acs(&json));
    assert!(!has_controls(shown.ok()), "{:?}", shown.ok());
    assert_eq!(
        shown.json()["customId"],
        "a\u{1b}[2J\rUser id  8:acs:fake\u{7f}\u{9b}2J",
        "JSON carries the value itself"
    );
}

#[test]
fn the_connection_options_and_timeout_go_before_or_after_the_subcommand() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let connection_string = format!("endpoint=http://127.0.0.1:{port}/;accesskey={KEY}");
    let before = run(acs(&[
        "--timeout",
        "1",
        "--connection-string",
        &connection_string,
        "user",
        "create",
    ]));
    assert_eq!(before.code, 1, "{}", before.stderr);
    assert!(before.stderr.contains("(--timeout 1)"), "{}", before.stderr);
    let between = run(acs(&[
        "token",
        "--timeout",
        "1",
        "revoke",
        "--user",
        "8:acs:x",
        "--connection-string",
        &connection_string,
    ]));
    assert_eq!(between.code, 1, "{}", between.stderr);
    assert!(
        between.stderr.contains("(--timeout 1)"),
        "{}",
        between.stderr
    );
    drop(silent);
}

#[test]
fn a_throttled_answer_that_outlasts_the_timeout_is_named_not_called_no_answer() {
    // The service answers 503 and asks for 30 s; the command may take 2 s. Before, the CLI
    // waited out its timeout and said "no answer from the service".
    let connection_string = answering_with(
        503,
        "retry-after: 30\r\n",
        r#"{"error":{"code":"ServiceUnavailable","message":"try later"}}"#,
    );
    let failed = run(acs(&[
        "user",
        "create",
        "--timeout",
        "2",
        "--connection-string",
        &connection_string,
    ]));
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.contains("503"), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("ServiceUnavailable"),
        "{}",
        failed.stderr
    );
    assert!(!failed.stderr.contains("no answer"), "{}", failed.stderr);
}

#[cfg(unix)]
#[test]
fn a_throttled_answer_is_named_with_entra_id_too_when_the_sign_in_is_slow() {
    // With `--endpoint`, the Azure CLI sign-in takes 3 s of the 5; the service then answers 503
    // and asks for 2 s. The call's deadline covers the sign-in, so the client ends with the 503
    // before the CLI's backstop (a second later) could call it "no answer".
    let connection_string = answering_with(
        503,
        "retry-after: 2\r\n",
        r#"{"error":{"code":"ServiceUnavailable","message":"try later"}}"#,
    );
    let endpoint = connection_string
        .trim_start_matches("endpoint=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // `az account get-access-token` as the Azure CLI answers it, after 3 s.
    let bin = common::fake_az("fake", 3);
    let mut command = acs(&["user", "create", "--timeout", "5", "--endpoint", &endpoint]);
    command.env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()));
    let failed = run(command);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.contains("503"), "{}", failed.stderr);
    assert!(!failed.stderr.contains("no answer"), "{}", failed.stderr);
}
