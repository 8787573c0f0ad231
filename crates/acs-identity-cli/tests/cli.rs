//! The `acs-identity` binary against an in-process emulator: output (JSON and table), help texts,
//! error messages and exit statuses. Ids, tokens and times are redacted before snapshotting,
//! after their shape has been checked.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use acs_test_support::jwt_payload;
use common::{TestEmulator, acs, minutes_from_now, redact, run, table_field};

// ---------------------------------------------------------------------------------------------
// --help everywhere

#[test]
fn help_texts() {
    let commands: [&[&str]; 17] = [
        &[],
        &["user"],
        &["user", "create"],
        &["user", "show"],
        &["user", "delete"],
        &["token"],
        &["token", "issue"],
        &["token", "revoke"],
        &["token", "get-for-teams-user"],
        &["token", "get-for-teams-extension-user"],
        &["teams-extension"],
        &["teams-extension", "assignment"],
        &["teams-extension", "assignment", "create-or-replace"],
        &["teams-extension", "assignment", "show"],
        &["teams-extension", "assignment", "delete"],
        &["emulator"],
        &["completions"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let result = run(acs(&args));
        let shown = result.ok();
        let name = if command.is_empty() {
            "help".to_string()
        } else {
            format!("help_{}", command.join("_"))
        };
        insta::assert_snapshot!(name, shown);
    }
}

#[test]
fn short_help_and_version_exit_0() {
    let result = run(acs(&["-h"]));
    assert!(result.ok().contains("Usage: acs-identity"));
    let result = run(acs(&["--version"]));
    assert_eq!(
        result.ok().trim(),
        format!("acs-identity {}", env!("CARGO_PKG_VERSION"))
    );
}

// ---------------------------------------------------------------------------------------------
// user

#[test]
fn user_create_json_and_table() {
    let emulator = TestEmulator::start();

    let created = run(emulator.acs(&["user", "create"]));
    let json = created.json();
    let id = json["id"].as_str().unwrap();
    assert!(id.starts_with("8:acs:"), "{id}");
    assert_eq!(json.as_object().unwrap().len(), 1, "only the id: {json}");
    insta::assert_snapshot!(
        "user_create_json",
        redact(&created.stdout, &[(id, "[user id]")])
    );

    let table = run(emulator.acs(&["user", "create", "--output", "table"]));
    let text = table.ok();
    let id = text.trim().strip_prefix("User id").unwrap().trim();
    assert!(id.starts_with("8:acs:"), "{text}");
    insta::assert_snapshot!("user_create_table", redact(text, &[(id, "[user id]")]));

    // Two creations give two different users.
    let another = run(emulator.acs(&["user", "create"])).json();
    assert_ne!(another["id"], json["id"]);
}

#[test]
fn user_delete_json_and_table_and_the_user_is_gone() {
    let emulator = TestEmulator::start();
    for format in ["json", "table"] {
        let id = run(emulator.acs(&["user", "create"])).json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let deleted = run(emulator.acs(&["user", "delete", "--user", &id, "-o", format]));
        let text = deleted.ok();
        if format == "json" {
            let json: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(json, serde_json::json!({ "id": id, "deleted": true }));
        }
        insta::assert_snapshot!(
            format!("user_delete_{format}"),
            redact(text, &[(&id, "[user id]")])
        );

        // A deleted user gets no new token: a service error, exit status 1.
        let refused = run(emulator.acs(&["token", "issue", "--user", &id, "--scope", "chat"]));
        assert_eq!(refused.code, 1, "{}", refused.stderr);
        assert_eq!(refused.stdout, "");
        assert!(refused.stderr.starts_with("error: "), "{}", refused.stderr);
    }
}

// ---------------------------------------------------------------------------------------------
// token

#[test]
fn token_issue_without_user_creates_one_json_and_table() {
    let emulator = TestEmulator::start();

    let issued = run(emulator.acs(&["token", "issue", "--scope", "chat", "--scope", "voip"]));
    let json = issued.json();
    let id = json["user"]["id"].as_str().unwrap();
    let token = json["token"].as_str().unwrap();
    let expires_on = json["expiresOn"].as_str().unwrap();
    assert!(id.starts_with("8:acs:"), "{id}");
    assert_eq!(token.split('.').count(), 3, "a JWT");
    let claims = jwt_payload(token);
    assert_eq!(claims["acsScope"], "chat,voip");
    assert_eq!(
        claims["skypeid"].as_str().unwrap(),
        id.trim_start_matches("8:")
    );
    // The service's default lifetime is 24 hours.
    assert_eq!(minutes_from_now(expires_on), 24 * 60);
    insta::assert_snapshot!(
        "token_issue_new_user_json",
        redact(
            &issued.stdout,
            &[
                (id, "[user id]"),
                (token, "[token]"),
                (expires_on, "[expiresOn]")
            ]
        )
    );

    let table = run(emulator.acs(&[
        "token",
        "issue",
        "--scope",
        "chat,voip",
        "--output",
        "table",
    ]));
    let text = table.ok();
    let field = |label| table_field(text, label);
    let (id, token, expires_on) = (field("User id"), field("Token"), field("Expires on"));
    assert_eq!(jwt_payload(&token)["acsScope"], "chat,voip");
    assert_eq!(minutes_from_now(&expires_on), 24 * 60);
    insta::assert_snapshot!(
        "token_issue_new_user_table",
        redact(
            text,
            &[
                (&id, "[user id]"),
                (&token, "[token]"),
                (&expires_on, "[expiresOn]")
            ]
        )
    );
}

#[test]
fn token_issue_for_a_user_with_a_lifetime() {
    let emulator = TestEmulator::start();
    let id = run(emulator.acs(&["user", "create"])).json()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let issued = run(emulator.acs(&[
        "token",
        "issue",
        "--user",
        &id,
        "--scope",
        "chat.join",
        "--scope",
        "voip.join",
        "--expires-in-minutes",
        "60",
    ]));
    let json = issued.json();
    assert_eq!(json["user"]["id"], id.as_str());
    let token = json["token"].as_str().unwrap();
    let expires_on = json["expiresOn"].as_str().unwrap();
    assert_eq!(jwt_payload(token)["acsScope"], "chat.join,voip.join");
    assert_eq!(minutes_from_now(expires_on), 60);
    insta::assert_snapshot!(
        "token_issue_user_json",
        redact(
            &issued.stdout,
            &[
                (&id, "[user id]"),
                (token, "[token]"),
                (expires_on, "[expiresOn]")
            ]
        )
    );
}

#[test]
fn token_revoke_json_and_table_and_the_old_token_is_invalid() {
    let emulator = TestEmulator::start();
    for format in ["json", "table"] {
        let issued = run(emulator.acs(&["token", "issue", "--scope", "chat"])).json();
        let id = issued["user"]["id"].as_str().unwrap();
        let token = issued["token"].as_str().unwrap();
        assert!(emulator.token_is_valid(token));

        let revoked = run(emulator.acs(&["token", "revoke", "--user", id, "-o", format]));
        let text = revoked.ok();
        if format == "json" {
            let json: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(json, serde_json::json!({ "id": id, "tokensRevoked": true }));
        }
        assert!(!text.contains(token), "revoke never prints a token");
        insta::assert_snapshot!(
            format!("token_revoke_{format}"),
            redact(text, &[(id, "[user id]")])
        );
        assert!(!emulator.token_is_valid(token), "revoked token still valid");
    }
}

/// The Entra application and Teams user of the Teams token exchanges.
const TEAMS_APP_ID: &str = "6f1a3c52-0d7e-4b8a-9c21-5e4f3a2b1c0d";
const TEAMS_USER_OBJECT_ID: &str = "0c9b8a7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d";

/// An Entra token for the Teams user that the emulator accepts, expiring in `minutes` (whole
/// seconds), and that expiry.
fn entra_token(minutes: i64) -> (String, time::OffsetDateTime) {
    let expiry = (time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes))
        .replace_nanosecond(0)
        .unwrap();
    let token =
        acs_identity_emulator::entra::test_token(TEAMS_APP_ID, TEAMS_USER_OBJECT_ID, expiry.into());
    (token, expiry)
}

#[test]
fn token_get_for_teams_user_json_and_table() {
    let emulator = TestEmulator::start();
    let (app_id, user_object_id) = (TEAMS_APP_ID, TEAMS_USER_OBJECT_ID);
    let (aad_token, expiry) = entra_token(90);

    for format in ["json", "table"] {
        let exchanged = run(emulator.acs(&[
            "token",
            "get-for-teams-user",
            "--aad-token",
            &aad_token,
            "--client-id",
            app_id,
            "--user-object-id",
            user_object_id,
            "--output",
            format,
        ]));
        let text = exchanged.ok().to_string();
        let (token, expires_on) = if format == "json" {
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(json.as_object().unwrap().len(), 2, "{json}");
            (
                json["token"].as_str().unwrap().to_string(),
                json["expiresOn"].as_str().unwrap().to_string(),
            )
        } else {
            (
                table_field(&text, "Token"),
                table_field(&text, "Expires on"),
            )
        };
        // The exchanged token expires with the Entra token and names the Teams user.
        assert_eq!(common::parse_time(&expires_on), expiry);
        assert!(
            jwt_payload(&token)["skypeid"]
                .as_str()
                .unwrap()
                .contains(user_object_id)
        );
        assert!(
            !text.contains(&aad_token),
            "the Entra token is never echoed"
        );
        insta::assert_snapshot!(
            format!("token_get_for_teams_user_{format}"),
            redact(&text, &[(&token, "[token]"), (&expires_on, "[expiresOn]")])
        );
    }
}

#[test]
fn token_get_for_teams_user_reads_the_entra_token_from_stdin() {
    use std::io::Write as _;

    let emulator = TestEmulator::start();
    let (app_id, user_object_id) = (TEAMS_APP_ID, TEAMS_USER_OBJECT_ID);
    let (aad_token, expiry) = entra_token(75);

    let mut child = emulator
        .acs(&[
            "token",
            "get-for-teams-user",
            "--aad-token",
            "-",
            "--client-id",
            app_id,
            "--user-object-id",
            user_object_id,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{aad_token}").unwrap();
    let result = common::Run::of(child.wait_with_output().unwrap());
    let json = result.json();
    assert_eq!(
        common::parse_time(json["expiresOn"].as_str().unwrap()),
        expiry
    );

    // Nothing on stdin: an empty token is a usage error.
    let empty = run(emulator.acs(&[
        "token",
        "get-for-teams-user",
        "--aad-token",
        "-",
        "--client-id",
        app_id,
        "--user-object-id",
        user_object_id,
    ]));
    assert_eq!(empty.code, 2, "{}", empty.stderr);
    assert!(empty.stderr.contains("--aad-token"), "{}", empty.stderr);
}

// ---------------------------------------------------------------------------------------------
// errors and exit statuses

#[test]
fn service_errors_exit_1_with_code_and_message() {
    let emulator = TestEmulator::start();

    // The service owns the 60..=1440 range; the CLI sends what it was given.
    let too_short = run(emulator.acs(&[
        "token",
        "issue",
        "--scope",
        "chat",
        "--expires-in-minutes",
        "59",
    ]));
    assert_eq!(too_short.code, 1);
    assert_eq!(too_short.stdout, "");
    insta::assert_snapshot!("error_expires_in_59", too_short.stderr);

    let not_a_token = run(emulator.acs(&[
        "token",
        "get-for-teams-user",
        "--aad-token",
        "not-a-jwt",
        "--client-id",
        TEAMS_APP_ID,
        "--user-object-id",
        TEAMS_USER_OBJECT_ID,
    ]));
    assert_eq!(not_a_token.code, 1);
    assert!(!not_a_token.stderr.contains("not-a-jwt"));
    insta::assert_snapshot!("error_teams_invalid_token", not_a_token.stderr);
}

#[test]
fn api_version_is_sent_as_chosen() {
    let emulator = TestEmulator::start();
    let newer = run(emulator.acs(&["user", "create", "--api-version", "2025-06-30"])).json();
    assert!(newer["id"].as_str().unwrap().starts_with("8:acs:"));

    let unknown = run(emulator.acs(&["user", "create", "--api-version", "1999-01-01"]));
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert_eq!(unknown.stdout, "");
    insta::assert_snapshot!("error_unknown_api_version", unknown.stderr);
}

#[test]
fn rust_log_traces_requests_on_stderr_without_secrets() {
    let emulator = TestEmulator::start();
    let mut command = emulator.acs(&["token", "issue", "--scope", "chat"]);
    command.env("RUST_LOG", "trace");
    let result = run(command);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let json: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    let token = json["token"].as_str().unwrap();
    assert!(
        result
            .stderr
            .contains("CommunicationIdentity-createUserAndToken"),
        "{}",
        result.stderr
    );
    let key = emulator
        .connection_string
        .split_once("accesskey=")
        .unwrap()
        .1;
    for secret in [key, token, "Signature="] {
        assert!(!result.stderr.contains(secret), "stderr shows a secret");
    }
}

#[test]
fn a_wrong_key_is_a_service_error_and_the_key_is_never_printed() {
    let emulator = TestEmulator::start();
    let parsed = acs_auth::ConnectionString::parse(&emulator.connection_string).unwrap();
    let wrong_key = "d3JvbmctYnV0LXdlbGwtZm9ybWVkLWtleS0wMTIzNDU2Nzg5";
    let connection_string = format!("endpoint={};accesskey={wrong_key}", parsed.endpoint());

    let denied = run(acs(&[
        "user",
        "create",
        "--connection-string",
        &connection_string,
    ]));
    assert_eq!(denied.code, 1);
    assert_eq!(denied.stdout, "");
    assert!(denied.stderr.starts_with("error: "), "{}", denied.stderr);
    assert!(denied.stderr.contains("401"), "{}", denied.stderr);
    assert!(!denied.stderr.contains(wrong_key));
    insta::assert_snapshot!("error_wrong_key", denied.stderr);
}

#[test]
fn an_unreachable_service_is_exit_1() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let connection_string = format!("endpoint=http://127.0.0.1:{port}/;accesskey=c2VjcmV0LWtleQ==");
    let failed = run(acs(&[
        "user",
        "create",
        "--connection-string",
        &connection_string,
    ]));
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert_eq!(failed.stdout, "");
    assert!(failed.stderr.starts_with("error: "), "{}", failed.stderr);
    assert!(!failed.stderr.contains("c2VjcmV0LWtleQ=="));
}

#[test]
fn a_missing_connection_string_is_a_usage_error() {
    let missing = run(acs(&["user", "create"]));
    assert_eq!(missing.code, 2);
    assert_eq!(missing.stdout, "");
    insta::assert_snapshot!("error_no_connection_string", missing.stderr);
}

#[test]
fn a_malformed_connection_string_is_a_usage_error_without_the_key() {
    let secret = "c3VwZXItc2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWs=";
    for text in [
        format!("accesskey={secret}"),
        format!("endpoint=not a url;accesskey={secret}"),
        "endpoint=https://example.communication.azure.com/".to_string(),
    ] {
        let bad = run(acs(&[
            "token",
            "revoke",
            "--user",
            "8:acs:x",
            "--connection-string",
            &text,
        ]));
        assert_eq!(bad.code, 2, "{text}: {}", bad.stderr);
        assert_eq!(bad.stdout, "");
        assert!(
            bad.stderr.starts_with("error: invalid connection string: "),
            "{}",
            bad.stderr
        );
        assert!(!bad.stderr.contains(secret), "{}", bad.stderr);
    }
}

#[test]
fn bad_usage_exits_2() {
    // Each with, where given, a text its message must contain.
    let cases: [(&[&str], Option<&str>); 10] = [
        (&["frobnicate"], None),
        (&["user"], None),
        (&["user", "delete"], None),
        (&["token", "issue"], None),
        (
            &[
                "token",
                "issue",
                "--scope",
                "chat",
                "--expires-in-minutes",
                "sixty",
            ],
            None,
        ),
        (&["token", "get-for-teams-user", "--aad-token", "t"], None),
        (&["emulator", "--in-memory", "--data-dir", "x"], None),
        (&["completions", "tcsh"], None),
        // Both ways to authenticate at once.
        (
            &[
                "user",
                "create",
                "--connection-string",
                "endpoint=http://127.0.0.1:1/;accesskey=a2V5",
                "--endpoint",
                "https://127.0.0.1:1/",
            ],
            Some("cannot be used with"),
        ),
        // Empty values the service would reject anyway are caught before any request.
        (
            &[
                "token",
                "issue",
                "--scope",
                "",
                "--connection-string",
                "endpoint=http://127.0.0.1:1/;accesskey=a2V5",
            ],
            Some("--scope"),
        ),
    ];
    for (args, expected) in cases {
        let result = run(acs(args));
        assert_eq!(result.code, 2, "{args:?}: {}", result.stderr);
        assert_eq!(result.stdout, "", "{args:?}");
        assert!(
            result.stderr.starts_with("error:") || result.stderr.contains("\nUsage: "),
            "{args:?}: {}",
            result.stderr
        );
        if let Some(expected) = expected {
            assert!(
                result.stderr.contains(expected),
                "{args:?}: {}",
                result.stderr
            );
        }
    }
}

#[test]
fn entra_id_without_developer_tools_is_exit_1() {
    // With an empty PATH neither `az` nor `azd` can be found: the credential fails, and no
    // request leaves (the port is closed anyway).
    let empty = tempfile::tempdir().unwrap();
    let mut command = acs(&["user", "create", "--endpoint", "https://127.0.0.1:1/"]);
    command.env("PATH", empty.path());
    let failed = run(command);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert_eq!(failed.stdout, "");
    assert!(failed.stderr.starts_with("error: "), "{}", failed.stderr);
}

#[cfg(unix)]
#[test]
fn entra_id_through_the_azure_cli_sign_in() {
    // A stand-in `az` on PATH answers with a bearer token the emulator accepts.
    let emulator = TestEmulator::start();
    let expires = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    let bin = common::fake_az(&acs_identity_emulator::entra::test_bearer_token(expires), 0);

    let mut command = acs(&[
        "token",
        "issue",
        "--scope",
        "voip",
        "--endpoint",
        &emulator.endpoint,
    ]);
    command.env("PATH", bin.path());
    let issued = run(command).json();
    assert!(issued["user"]["id"].as_str().unwrap().starts_with("8:acs:"));
    assert_eq!(
        jwt_payload(issued["token"].as_str().unwrap())["acsScope"],
        "voip"
    );
}

// ---------------------------------------------------------------------------------------------
// completions

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let result = run(acs(&["completions", shell]));
        let script = result.ok();
        for word in ["acs-identity", "get-for-teams-user", "expires-in-minutes"] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    // `acs-identity completions bash | head -1`: the reader goes away early. Here it is gone
    // before the binary starts, so the write surely fails (the script, ~29 KB, would fit in a
    // pipe's buffer if the reader were still there when it is written).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = acs(&["completions", "bash"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn preview_features_on_a_stable_api_version_are_usage_errors_naming_the_option() {
    let emulator = TestEmulator::start();
    for args in [
        &["user", "create", "--custom-id", "alice"][..],
        &["user", "show", "--user", "8:acs:x_y"][..],
    ] {
        let refused = run(emulator.acs(args));
        assert_eq!(refused.code, 2, "{}", refused.stderr);
        assert_eq!(refused.stdout, "");
        assert!(
            refused
                .stderr
                .contains("(on the command line: --api-version 2025-03-02-preview)"),
            "{}",
            refused.stderr
        );
    }
    let refused = run(emulator.acs(&["user", "create", "--custom-id", "alice"]));
    insta::assert_snapshot!("error_custom_id_on_a_stable_version", refused.stderr);
}
