//! The `acs-identity-emulator` binary: first stdout line, port file, env vars, graceful stop.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use acs_auth::{AccessKey, ConnectionString};
use acs_identity_emulator::READY_LINE_PREFIX;
use common::{Client, KEY, OTHER_RESOURCE, RESOURCE};
use reqwest::Method;

const BIN: &str = env!("CARGO_BIN_EXE_acs-identity-emulator");

struct Running {
    child: Child,
    first_line: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// The connection string the first stdout line carries (fails naming the line otherwise).
    fn connection_string_text(&self) -> &str {
        let line = self.first_line.trim_end();
        assert!(
            line.starts_with(READY_LINE_PREFIX),
            "not a ready line: {line}"
        );
        line.strip_prefix(READY_LINE_PREFIX).unwrap()
    }

    /// Sends SIGTERM and waits (10 s at most) for the process to exit.
    fn stop_with_sigterm(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        wait_exit(&mut self.child, Duration::from_secs(10)).expect("stops on SIGTERM")
    }
}

fn spawn(cmd: &mut Command) -> Running {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    Running { child, first_line }
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

async fn create(endpoint: &url::Url, key: &AccessKey) -> u16 {
    let client = Client::at(endpoint, key.clone());
    client.create(None).await.unwrap().status.as_u16()
}

#[tokio::test]
async fn prints_connection_string_writes_port_file_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let mut run = spawn(
        Command::new(BIN)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--access-key",
                KEY,
                "--resource-id",
            ])
            .arg(RESOURCE)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--port-file")
            .arg(&port_file),
    );
    let cs_text = run.connection_string_text().to_owned();
    assert!(
        cs_text.starts_with("endpoint=http://127.0.0.1:"),
        "{cs_text}"
    );
    assert!(cs_text.ends_with(&format!(";accesskey={KEY}")), "{cs_text}");
    let cs = ConnectionString::parse(&cs_text).unwrap();
    let port = cs.endpoint().port().unwrap();
    // The port file is written right after the line is printed.
    let deadline = Instant::now() + Duration::from_secs(10);
    let written = loop {
        if let Ok(text) = std::fs::read_to_string(&port_file) {
            break text;
        }
        assert!(Instant::now() < deadline, "no port file");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(written.trim(), port.to_string());
    assert_eq!(create(cs.endpoint(), cs.access_key()).await, 201);

    let status = run.stop_with_sigterm();
    assert!(status.success(), "{status:?}");
    assert!(dir.path().join("data/emulator.redb").exists());
}

#[tokio::test]
async fn environment_variables_configure_it() {
    let mut run = spawn(
        Command::new(BIN)
            .env("ACS_EMULATOR_LISTEN", "127.0.0.1:0")
            .env("ACS_EMULATOR_ACCESS_KEY", KEY)
            .env("ACS_EMULATOR_RESOURCE_ID", OTHER_RESOURCE)
            .env("ACS_EMULATOR_IN_MEMORY", "true"),
    );
    let cs_text = run.connection_string_text();
    let cs = ConnectionString::parse(cs_text).unwrap();
    assert!(cs_text.contains(KEY));
    let health: serde_json::Value = reqwest::get(cs.endpoint().join("emulator/health").unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["resourceId"], OTHER_RESOURCE);
    assert_eq!(create(cs.endpoint(), cs.access_key()).await, 201);
    let _ = run.child.kill();
}

#[tokio::test]
async fn test_controls_are_configured_by_environment_variables() {
    let mut run = spawn(
        Command::new(BIN)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--in-memory",
                "--access-key",
                KEY,
            ])
            .env(
                "ACS_EMULATOR_CONTROLS",
                r#"{"faults":[{"operation":"createIdentity","status":500,"count":1},
                    {"operation":"issueToken","delayMs":10}],
                    "throttling":{"scale":0.001},"revocationDelaySeconds":900}"#,
            ),
    );
    let cs = ConnectionString::parse(run.connection_string_text()).unwrap();
    let controls: serde_json::Value =
        reqwest::get(cs.endpoint().join("emulator/controls").unwrap())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        controls,
        serde_json::json!({"faults": [
            {"operation": "createIdentity", "status": 500, "count": 1},
            {"operation": "issueToken", "delayMs": 10},
        ], "throttling": {"scale": 0.001, "windowSeconds": 30}, "revocationDelaySeconds": 900})
    );
    // The first create hits the fault, the second succeeds, the third is throttled (one per 30 s).
    assert_eq!(create(cs.endpoint(), cs.access_key()).await, 500);
    assert_eq!(create(cs.endpoint(), cs.access_key()).await, 201);
    assert_eq!(create(cs.endpoint(), cs.access_key()).await, 429);
    let _ = run.child.kill();

    let out = Command::new(BIN)
        .args(["--in-memory", "--listen", "127.0.0.1:0"])
        .env("ACS_EMULATOR_CONTROLS", r#"{"faults":[{"status":200}]}"#)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid fault rule: status 200 is not an error status (400..=599)"),
        "{stderr}"
    );
}

#[test]
fn bad_options_fail_with_a_message_and_no_key_echo() {
    let out = Command::new(BIN)
        .args([
            "--in-memory",
            "--listen",
            "127.0.0.1:0",
            "--access-key",
            "%%%secretish%%%",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("access key"), "{stderr}");
    assert!(!stderr.contains("secretish"), "{stderr}");
    let out = Command::new(BIN)
        .args(["--in-memory", "--data-dir", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn request_log_lines_carry_no_key_token_or_signature() {
    use std::io::Read as _;
    let mut run = spawn(
        Command::new(BIN)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--in-memory",
                "--access-key",
                KEY,
            ])
            .env("RUST_LOG", "info"),
    );
    let cs = ConnectionString::parse(run.connection_string_text()).unwrap();
    let c = Client::at(cs.endpoint(), cs.access_key().clone());
    // A signed create with a token, a Teams exchange carrying an Entra token, a bearer call.
    let mut r = c.request(
        Method::POST,
        "/identities?api-version=2023-10-01",
        Some(r#"{"createTokenWithScopes":["chat"]}"#),
    );
    r.headers_mut()
        .insert("x-ms-client-request-id", "req-id-123".parse().unwrap());
    acs_auth::sign_request(&mut r, &c.key, SystemTime::now()).unwrap();
    let signature = r.headers()["authorization"]
        .to_str()
        .unwrap()
        .rsplit('=')
        .nth(1)
        .unwrap()
        .to_owned();
    let acs_token = c.execute(r).await.unwrap().token().unwrap();
    let user_object_id = "6c1e9b3a-5d2f-4a7e-8b0c-4d6f8a2b1c3e";
    let entra = acs_identity_emulator::entra::test_token(
        "a",
        user_object_id,
        SystemTime::now() + Duration::from_secs(600),
    );
    let exchange = serde_json::json!({"token": entra, "appId": "a", "userId": user_object_id});
    assert_eq!(c.exchange(&exchange.to_string()).await.unwrap().status, 200);
    let bearer = acs_identity_emulator::entra::test_bearer_token(
        SystemTime::now() + Duration::from_secs(600),
    );
    let mut r = c.request(Method::POST, "/identities?api-version=2023-10-01", None);
    r.headers_mut()
        .insert("authorization", format!("Bearer {bearer}").parse().unwrap());
    assert_eq!(c.execute(r).await.unwrap().status, 201);

    run.stop_with_sigterm();
    let mut log = String::new();
    run.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let request_lines = log
        .lines()
        .filter(|l| l.contains(" request ") && l.contains("status="))
        .count();
    assert_eq!(request_lines, 3, "one line per request: {log}");
    assert!(log.contains("req-id-123"), "request id logged: {log}");
    // Requests without a client request id are logged under their ms-cv.
    assert!(
        !log.contains("request_id=\"\""),
        "every request line has a request id: {log}"
    );
    assert!(
        log.contains("status=201") && log.contains("/teamsUser/:exchangeAccessToken"),
        "{log}"
    );
    for secret in [
        KEY,
        signature.as_str(),
        acs_token.as_str(),
        entra.as_str(),
        bearer.as_str(),
    ] {
        assert!(!log.contains(secret), "log leaks a secret: {log}");
    }
    // Token pieces (payload/signature segments) do not appear either.
    assert!(!log.contains(acs_token.split('.').nth(2).unwrap()));
}

#[tokio::test]
async fn print_connection_string_prints_only_it_and_keeps_serving() {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--in-memory",
            "--access-key",
            KEY,
            "--print-connection-string",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let mut run = Running {
        child,
        first_line: line.clone(),
    };
    // The first line is the bare connection string, ready for a script's variable.
    let line = line.trim_end();
    assert!(line.starts_with("endpoint=http://127.0.0.1:"), "{line}");
    assert!(line.ends_with(&format!(";accesskey={KEY}")), "{line}");
    let cs = ConnectionString::parse(line).unwrap();
    // Still serving after printing it.
    assert_eq!(create(cs.endpoint(), cs.access_key()).await, 201);
    let status = run.stop_with_sigterm();
    assert!(status.success(), "{status}");
    // Nothing else on stdout: the rest of the banner goes to stderr.
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "", "stdout after the connection string");
}

#[tokio::test]
async fn slow_header_sockets_do_not_take_the_service_offline() {
    use tokio::io::AsyncWriteExt as _;
    let run = spawn(Command::new(BIN).args([
        "--in-memory",
        "--listen",
        "127.0.0.1:0",
        "--access-key",
        KEY,
    ]));
    let cs = ConnectionString::parse(run.connection_string_text()).unwrap();
    let addr = format!("127.0.0.1:{}", cs.endpoint().port().unwrap());
    // More sockets dripping their headers than the connection cap that used to be (512) held.
    let mut slow = Vec::new();
    for _ in 0..600 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(s);
    }
    let drip = tokio::spawn(async move {
        loop {
            for s in &mut slow {
                let _ = s.write_all(b"a").await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let key = AccessKey::from_base64(KEY).unwrap();
    for i in 0..32 {
        let status = tokio::time::timeout(Duration::from_secs(5), create(cs.endpoint(), &key))
            .await
            .unwrap_or_else(|_| panic!("request {i} not served within 5 s"));
        assert_eq!(status, 201, "request {i}");
    }
    drip.abort();
}

#[tokio::test]
async fn a_port_file_that_cannot_be_written_stops_the_start_before_the_ready_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = spawn(
        Command::new(BIN)
            .args(["--in-memory", "--listen", "127.0.0.1:0", "--port-file"])
            .arg(dir.path().join("no-such-dir/port")),
    );
    assert_eq!(run.first_line, "", "a ready line was printed");
    let status = wait_exit(&mut run.child, Duration::from_secs(10)).expect("it stops");
    assert!(!status.success());
}
