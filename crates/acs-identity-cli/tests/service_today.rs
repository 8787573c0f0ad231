//! The commands of the newer api-versions against an in-process emulator: `user create
//! --custom-id` and `user show` (preview), `teams-extension assignment ...` and `token
//! get-for-teams-extension-user`; JSON and table output, exit statuses, snapshots (ids, tokens
//! and times redacted after their shape is checked).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::time::{Duration, SystemTime};

use acs_test_support::jwt_payload;
use common::{TestEmulator, redact, run, table_field};

const PREVIEW: &str = acs_identity::PREVIEW_API_VERSION;
const TENANT: &str = "5a7e4f7c-0d3e-4d7b-9f5e-2b1c3a4d5e6f";
const OBJECT: &str = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
const APP: &str = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b";

#[test]
fn user_create_with_a_custom_id_and_user_show() {
    let emulator = TestEmulator::start();
    let created = run(emulator.acs(&[
        "user",
        "create",
        "--custom-id",
        "alice@contoso.com",
        "--api-version",
        PREVIEW,
    ]));
    let json = created.json();
    let id = json["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("8:acs:"), "{id}");
    assert_eq!(json["customId"], "alice@contoso.com");
    insta::assert_snapshot!(
        "user_create_custom_id_json",
        redact(&created.stdout, &[(&id, "[user id]")])
    );
    // The same custom id gives the same user.
    let again = run(emulator.acs(&[
        "user",
        "create",
        "--custom-id",
        "alice@contoso.com",
        "--api-version",
        PREVIEW,
    ]));
    assert_eq!(again.json()["id"], id.as_str());

    let shown = run(emulator.acs(&["user", "show", "--user", &id, "--api-version", PREVIEW]));
    assert_eq!(
        shown.json(),
        serde_json::json!({ "id": id, "customId": "alice@contoso.com" }),
        "no token issued yet"
    );
    run(emulator.acs(&["token", "issue", "--user", &id, "--scope", "chat"])).ok();
    let table = run(emulator.acs(&[
        "user",
        "show",
        "--user",
        &id,
        "--api-version",
        PREVIEW,
        "-o",
        "table",
    ]));
    let text = table.ok().to_string();
    let issued = table_field(&text, "Last token issued at");
    let issued_at = common::parse_time(&issued);
    assert!(
        (time::OffsetDateTime::now_utc() - issued_at).abs() < time::Duration::minutes(1),
        "{issued}"
    );
    insta::assert_snapshot!(
        "user_show_table",
        redact(&text, &[(&id, "[user id]"), (&issued, "[time]")])
    );

    // A user the service does not know: exit status 1.
    let missing = run(emulator.acs(&[
        "user",
        "show",
        "--user",
        "8:acs:00000000-0000-0000-0000-000000000000_nobody",
        "--api-version",
        PREVIEW,
    ]));
    assert_eq!(missing.code, 1, "{}", missing.stderr);
}

#[test]
fn teams_extension_assignments_json_and_table() {
    let emulator = TestEmulator::start();
    let key = ["--tenant-id", TENANT, "--object-id", OBJECT];
    let write = |extra: &[&str]| {
        let mut args = vec!["teams-extension", "assignment", "create-or-replace"];
        args.extend_from_slice(&key);
        args.extend_from_slice(&["--principal-type", "user", "--client-id", APP]);
        args.extend_from_slice(extra);
        run(emulator.acs(&args))
    };
    let created = write(&[]);
    assert_eq!(
        created.json(),
        serde_json::json!({
            "tenantId": TENANT,
            "objectId": OBJECT,
            "principalType": "user",
            "clientIds": [APP],
            "created": true,
        })
    );
    insta::assert_snapshot!("assignment_created_json", created.stdout);
    let replaced = write(&["-o", "table"]);
    insta::assert_snapshot!("assignment_replaced_table", replaced.ok());

    let mut show = vec!["teams-extension", "assignment", "show"];
    show.extend_from_slice(&key);
    let shown = run(emulator.acs(&show));
    assert_eq!(shown.json()["principalType"], "user");
    assert!(shown.json().get("created").is_none());

    let mut delete = vec!["teams-extension", "assignment", "delete"];
    delete.extend_from_slice(&key);
    let deleted = run(emulator.acs(&delete));
    assert_eq!(
        deleted.json(),
        serde_json::json!({ "tenantId": TENANT, "objectId": OBJECT, "deleted": true })
    );
    let gone = run(emulator.acs(&show));
    assert_eq!(gone.code, 1, "{}", gone.stderr);
    assert!(gone.stderr.starts_with("error: "), "{}", gone.stderr);
    assert!(gone.stderr.contains("(404)"), "{}", gone.stderr);

    // An empty id is a usage error; nothing is sent.
    let empty = run(emulator.acs(&[
        "teams-extension",
        "assignment",
        "show",
        "--tenant-id",
        " ",
        "--object-id",
        OBJECT,
    ]));
    assert_eq!(empty.code, 2, "{}", empty.stderr);
}

#[test]
fn token_get_for_teams_extension_user_json_and_table() {
    let emulator = TestEmulator::start();
    let mut args = vec!["teams-extension", "assignment", "create-or-replace"];
    args.extend_from_slice(&[
        "--tenant-id",
        TENANT,
        "--object-id",
        OBJECT,
        "--principal-type",
        "user",
    ]);
    run(emulator.acs(&args)).ok();
    let entra_token = acs_identity_emulator::entra::test_user_token(
        acs_identity_emulator::entra::TEAMS_EXCHANGE_AUDIENCE,
        acs_identity_emulator::entra::TEAMS_EXTENSION_SCOPE,
        TENANT,
        OBJECT,
        APP,
        SystemTime::now() + Duration::from_secs(3600),
    );
    for format in ["json", "table"] {
        let exchanged = run(emulator.acs(&[
            "token",
            "get-for-teams-extension-user",
            "--entra-token",
            &entra_token,
            "-o",
            format,
        ]));
        let text = exchanged.ok().to_string();
        let (id, token, expires_on) = if format == "json" {
            let json = exchanged.json();
            (
                json["user"]["id"].as_str().unwrap().to_string(),
                json["token"].as_str().unwrap().to_string(),
                json["expiresOn"].as_str().unwrap().to_string(),
            )
        } else {
            (
                table_field(&text, "User id"),
                table_field(&text, "Token"),
                table_field(&text, "Expires on"),
            )
        };
        assert!(id.ends_with(&format!("_{TENANT}_{OBJECT}")), "{id}");
        assert!(emulator.token_is_valid(&token));
        assert!(
            jwt_payload(&token)["skypeid"]
                .as_str()
                .unwrap()
                .ends_with(OBJECT)
        );
        assert!(
            !text.contains(&entra_token),
            "the Entra token is never echoed"
        );
        insta::assert_snapshot!(
            format!("token_get_for_teams_extension_user_{format}"),
            redact(
                &text,
                &[
                    (&token, "[token]"),
                    (&expires_on, "[expiresOn]"),
                    (&id, "[user id]")
                ]
            )
        );
    }
    let empty = run(emulator.acs(&["token", "get-for-teams-extension-user", "--entra-token", ""]));
    assert_eq!(empty.code, 2, "{}", empty.stderr);
}
