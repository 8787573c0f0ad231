//! `acs-identity emulator`: starts, prints where it listens, serves the other commands, stops on
//! SIGTERM, and keeps its data with `--data-dir`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Stdio};

use common::{acs, redact, run, table_field};

/// A running `acs-identity emulator` process and what it printed on start.
struct Running {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    banner: String,
}

impl Running {
    fn start(args: &[&str]) -> Self {
        Self::start_in(args, None)
    }

    fn start_in(args: &[&str], dir: Option<&std::path::Path>) -> Self {
        let mut full = vec!["emulator", "--listen", "127.0.0.1:0"];
        full.extend_from_slice(args);
        let mut command = acs(&full);
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        // Read until the banner is complete: pretty JSON ends with "}" alone on a line; the table
        // with its last row, "Storage".
        let mut banner = String::new();
        loop {
            let mut line = String::new();
            let read = stdout.read_line(&mut line).unwrap();
            assert!(
                read > 0,
                "the emulator exited before printing; banner so far: {banner}"
            );
            banner.push_str(&line);
            if line == "}\n" || line.starts_with("Storage") {
                break;
            }
        }
        Self {
            child,
            _stdout: stdout,
            banner,
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.banner).unwrap()
    }

    /// The connection string of the JSON banner.
    fn connection_string(&self) -> String {
        self.json()["connectionString"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// SIGTERM, then wait: the emulator shuts down gracefully and exits 0.
    #[cfg(unix)]
    fn terminate(mut self) -> i32 {
        let pid = self.child.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap().code().unwrap_or(-1)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Stops the process this test started (by its handle) if it is still running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serves_the_other_commands_and_prints_json() {
    let resource_id = "5d0c2f4e-7b1a-4c3d-9e8f-0a1b2c3d4e5f";
    let emulator = Running::start(&["--in-memory", "--resource-id", resource_id]);
    let json = emulator.json();
    assert_eq!(json["resourceId"], resource_id);
    let endpoint = json["endpoint"].as_str().unwrap().to_string();
    let connection_string = emulator.connection_string();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    assert_eq!(json["storage"], "in-memory");
    let parsed = acs_auth::ConnectionString::parse(&connection_string).unwrap();
    assert_eq!(
        parsed.endpoint().as_str().trim_end_matches('/'),
        endpoint.trim_end_matches('/')
    );

    let created = run(acs(&[
        "user",
        "create",
        "--connection-string",
        &connection_string,
    ]))
    .json();
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with(&format!("8:acs:{resource_id}_")), "{id}");

    let port = endpoint.rsplit(':').next().unwrap().trim_end_matches('/');
    insta::assert_snapshot!(
        "emulator_banner_json",
        redact(
            &emulator.banner,
            &[
                (&connection_string, "[connection string]"),
                (port, "[port]")
            ]
        )
    );
}

#[test]
fn prints_a_table_for_people_and_keeps_data_in_the_default_dir() {
    // Without --in-memory or --data-dir the data goes to ./.acs-emulator, as with the
    // acs-identity-emulator binary.
    let cwd = tempfile::tempdir().unwrap();
    let emulator = Running::start_in(&["--output", "table"], Some(cwd.path()));
    let field = |label| table_field(&emulator.banner, label);
    let endpoint = field("Endpoint");
    let connection_string = field("Connection string");
    let resource_id = field("Resource id");
    assert_eq!(resource_id.len(), 36, "a GUID: {resource_id}");
    assert_eq!(field("Storage"), ".acs-emulator");
    assert!(cwd.path().join(".acs-emulator").is_dir());
    acs_auth::ConnectionString::parse(&connection_string).unwrap();
    let port = endpoint.rsplit(':').next().unwrap().trim_end_matches('/');
    insta::assert_snapshot!(
        "emulator_banner_table",
        redact(
            &emulator.banner,
            &[
                (&connection_string, "[connection string]"),
                (port, "[port]"),
                (&resource_id, "[resource id]")
            ]
        )
    );
}

#[test]
fn takes_the_options_of_the_emulator_binary_port_file_and_faults() {
    // The option set is the emulator crate's `EmulatorOptions`: --port-file and --controls work
    // here as they do on acs-identity-emulator.
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let emulator = Running::start(&[
        "--in-memory",
        "--port-file",
        port_file.to_str().unwrap(),
        "--controls",
        r#"{"faults":[{"operation":"createIdentity","status":400,"count":1}]}"#,
    ]);
    let endpoint = emulator.json()["endpoint"].as_str().unwrap().to_string();
    // The port file is written right after the banner; wait for it (bounded).
    let mut port = String::new();
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(&port_file) {
            port = text;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(port.ends_with('\n'), "port file: {port:?}");
    assert_eq!(endpoint, format!("http://127.0.0.1:{}/", port.trim()));

    let connection_string = emulator.connection_string();
    let create = || {
        run(acs(&[
            "user",
            "create",
            "--connection-string",
            &connection_string,
        ]))
    };
    let refused = create();
    assert_eq!(refused.code, 1, "stderr: {}", refused.stderr);
    assert!(
        refused.stderr.contains("InjectedFault"),
        "stderr: {}",
        refused.stderr
    );
    // The rule was for one request only.
    assert!(
        create().json()["id"]
            .as_str()
            .unwrap()
            .starts_with("8:acs:")
    );
}

#[cfg(unix)]
#[test]
fn keeps_users_in_a_data_dir_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();

    let first = Running::start(&["--data-dir", data_dir]);
    assert_eq!(first.json()["storage"], data_dir);
    let connection_string = first.connection_string();
    let id = run(acs(&[
        "user",
        "create",
        "--connection-string",
        &connection_string,
    ]))
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(first.terminate(), 0, "graceful stop on SIGTERM");

    // Same directory, new process (and port): the user is still there and gets a token.
    let second = Running::start(&["--data-dir", data_dir]);
    let connection_string = second.connection_string();
    let issued = run(acs(&[
        "token",
        "issue",
        "--user",
        &id,
        "--scope",
        "voip",
        "--connection-string",
        &connection_string,
    ]))
    .json();
    assert_eq!(issued["user"]["id"], id.as_str());
    assert_eq!(second.terminate(), 0);
}

#[test]
fn tls_serves_https_to_clients_that_trust_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let emulator = Running::start(&["--data-dir", data_dir, "--tls"]);
    let json = emulator.json();
    let endpoint = json["endpoint"].as_str().unwrap();
    assert!(endpoint.starts_with("https://"), "{endpoint}");
    let connection_string = json["connectionString"].as_str().unwrap();
    let parsed = acs_auth::ConnectionString::parse(connection_string).unwrap();
    assert_eq!(parsed.endpoint().scheme(), "https");
    let ca_file = json["caCertificateFile"].as_str().unwrap();
    assert!(
        std::path::Path::new(ca_file).starts_with(dir.path()),
        "{ca_file}"
    );

    // Trusting the emulator's CA: the request goes through.
    let created = run(acs(&[
        "user",
        "create",
        "--connection-string",
        connection_string,
        "--ca-certificate",
        ca_file,
    ]))
    .json();
    assert!(created["id"].as_str().unwrap().starts_with("8:acs:"));

    // Without it the certificate is unknown: a network error, exit status 1.
    let refused = run(acs(&[
        "user",
        "create",
        "--connection-string",
        connection_string,
    ]));
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.starts_with("error: "), "{}", refused.stderr);

    // A file that is not a certificate is a usage error.
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let bad = run(acs(&[
        "user",
        "create",
        "--connection-string",
        connection_string,
        "--ca-certificate",
        not_pem.to_str().unwrap(),
    ]));
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--ca-certificate"), "{}", bad.stderr);
}

#[test]
fn a_busy_port_is_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let failed = run(acs(&["emulator", "--listen", &address, "--in-memory"]));
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert_eq!(failed.stdout, "");
    assert!(
        failed
            .stderr
            .starts_with("error: cannot start the emulator"),
        "{}",
        failed.stderr
    );
}

/// Every `acs-identity ...` line in the crate README's `sh` blocks runs and succeeds (comments
/// and redirections dropped; the emulator on a free port; the others against an emulator).
#[test]
fn readme_commands_run() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut in_sh_block = false;
    let mut commands = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh_block = line == "```sh";
            continue;
        }
        if !in_sh_block {
            continue;
        }
        if let Some(rest) = line.strip_prefix("acs-identity ") {
            let rest = rest.split(" #").next().unwrap();
            let rest = rest.split(" >").next().unwrap();
            assert!(
                !rest.contains(['\'', '"']),
                "quoting is not handled: {line}"
            );
            commands.push(
                rest.split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            );
        }
    }
    assert!(commands.len() >= 6, "found only {commands:?}");

    let service = common::TestEmulator::start();
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if args[0] == "emulator" {
            assert!(!args.contains(&"--listen"), "the test picks the port");
            let cwd = tempfile::tempdir().unwrap();
            let emulator = Running::start_in(&args[1..], Some(cwd.path()));
            assert!(emulator.banner.contains("connectionString"), "{args:?}");
        } else {
            let result = run(service.acs(&args));
            assert_eq!(result.code, 0, "{args:?}: {}", result.stderr);
            assert!(!result.stdout.is_empty(), "{args:?}");
        }
    }
}

#[cfg(unix)]
#[test]
fn print_connection_string_prints_only_it_for_scripts() {
    // The emulator binary's option, through the shared option set.
    let mut child = acs(&[
        "emulator",
        "--listen",
        "127.0.0.1:0",
        "--in-memory",
        "--print-connection-string",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let emulator = Running {
        child,
        _stdout: stdout,
        banner: line.clone(),
    };
    let connection_string = line.trim_end();
    assert!(
        connection_string.starts_with("endpoint=http://127.0.0.1:")
            && connection_string.contains(";accesskey="),
        "{line}"
    );
    let mut create = acs(&["user", "create"]);
    create.env("AZURE_COMMUNICATION_CONNECTION_STRING", connection_string);
    let created = run(create);
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert_eq!(emulator.terminate(), 0);
}
