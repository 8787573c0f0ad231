//! Shared helpers: run the `acs-identity` binary, host an in-process emulator, redact output.

#![allow(dead_code)] // each test file uses its own subset

use std::process::{Command, Output};

use acs_identity_emulator::EmulatorHandle;

/// Environment variables the binary or the quickstart example reads; removed so the host's
/// settings never leak in.
pub const AMBIENT_VARS: [&str; 5] = [
    "RUST_LOG",
    "AZURE_COMMUNICATION_CONNECTION_STRING",
    "AZURE_COMMUNICATION_TEAMS_TOKEN",
    "AZURE_COMMUNICATION_TEAMS_APP_ID",
    "AZURE_COMMUNICATION_TEAMS_USER_ID",
];

/// A command for the `acs-identity` binary with a clean environment.
pub fn acs(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_acs-identity"));
    command.args(args);
    for var in AMBIENT_VARS {
        command.env_remove(var);
    }
    command.env("NO_COLOR", "1");
    command
}

/// What a finished run printed, and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    /// Asserts success and returns stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        assert_eq!(self.stderr, "", "a successful run prints nothing on stderr");
        serde_json::from_str(&self.stdout).unwrap()
    }

    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        assert_eq!(self.stderr, "", "a successful run prints nothing on stderr");
        &self.stdout
    }
}

/// Runs the binary to completion.
pub fn run(mut command: Command) -> Run {
    Run::of(command.output().unwrap())
}

/// An emulator served from its own runtime while the test thread runs the binary.
pub struct TestEmulator {
    runtime: tokio::runtime::Runtime,
    handle: Option<EmulatorHandle>,
    pub connection_string: String,
    pub endpoint: String,
}

impl TestEmulator {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = runtime
            .block_on(acs_test_support::emulator::builder().start())
            .unwrap();
        let connection_string = handle.connection_string().to_string();
        let endpoint = handle.endpoint().to_string();
        Self {
            runtime,
            handle: Some(handle),
            connection_string,
            endpoint,
        }
    }

    /// `acs-identity <args>` pointed at this emulator through the environment variable.
    pub fn acs(&self, args: &[&str]) -> Command {
        let mut command = acs(args);
        command.env(
            "AZURE_COMMUNICATION_CONNECTION_STRING",
            &self.connection_string,
        );
        command
    }

    /// Whether the emulator accepts `token` now (its emulator-only validation).
    pub fn token_is_valid(&self, token: &str) -> bool {
        self.handle.as_ref().unwrap().validate_token(token).valid
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.runtime.block_on(handle.shutdown());
        }
    }
}

/// Replaces each real value with its placeholder, so snapshots hold only stable text.
pub fn redact(text: &str, replacements: &[(&str, &str)]) -> String {
    let mut text = text.to_string();
    for (value, placeholder) in replacements {
        assert!(!value.is_empty(), "nothing to redact for {placeholder}");
        text = text.replace(value, placeholder);
    }
    text
}

/// The value of the table row `label` in `--output table` text (panics if there is none).
pub fn table_field(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|line| line.strip_prefix(label))
        .unwrap()
        .trim()
        .to_string()
}

/// Parses an RFC 3339 time.
pub fn parse_time(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

/// Minutes from now until `text` (an RFC 3339 time), rounded to the nearest minute.
pub fn minutes_from_now(text: &str) -> i64 {
    let left = parse_time(text) - time::OffsetDateTime::now_utc();
    (left.whole_seconds() as f64 / 60.0).round() as i64
}

/// A folder with a stand-in `az` that answers `az account get-access-token` as Azure CLI 2.54+
/// does (`token`, valid for an hour) after `delay_seconds` (which then needs `sleep` on PATH); put
/// it first on PATH.
#[cfg(unix)]
pub fn fake_az(token: &str, delay_seconds: u32) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let expires_on = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    // `sleep` only when asked for: a PATH of this folder alone has no `sleep`.
    let wait = match delay_seconds {
        0 => String::new(),
        seconds => format!("sleep {seconds}\n"),
    };
    let bin = tempfile::tempdir().unwrap();
    let az = bin.path().join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\n{wait}printf '%s' '{{\"accessToken\":\"{token}\",\"expires_on\":{expires_on},\"tokenType\":\"Bearer\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}
