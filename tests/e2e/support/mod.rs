//! Shared by the end-to-end suites and the load driver: spawning the `acs-identity-emulator`
//! binary and talking to it with HMAC-signed requests (`acs_auth::sign_request`), loopback only,
//! and starting the emulator in process.

#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use acs_auth::{AccessKey, ConnectionString, sign_request};
use reqwest::{Method, Url};
use serde_json::Value;

/// The API version every released SDK sends.
pub const API_VERSION: &str = "2023-10-01";
/// The preview with custom ids and `GET /identities/{id}`, and the first stable version with the
/// Teams Phone extension (TPE) operations, as the client names them.
pub use acs_identity::{PREVIEW_API_VERSION, TEAMS_EXTENSION_API_VERSION as TPE_API_VERSION};
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// An emulator for this process, in memory, on a free loopback port; tests add what they need.
pub fn in_process_builder() -> acs_identity_emulator::EmulatorBuilder {
    acs_identity_emulator::Emulator::builder()
        .listen(([127, 0, 0, 1], 0).into())
        .in_memory()
}

/// [`in_process_builder`], started.
#[allow(clippy::expect_used)] // a test that cannot start it has nothing to test
pub async fn in_process_emulator() -> acs_identity_emulator::EmulatorHandle {
    in_process_builder()
        .start()
        .await
        .expect("the in-process emulator starts")
}

/// A client of `emulator` (its connection string) with these options.
#[allow(clippy::expect_used)] // the emulator's connection string is well formed
pub fn client_with(
    emulator: &acs_identity_emulator::EmulatorHandle,
    options: acs_identity::CommunicationIdentityClientOptions,
) -> acs_identity::CommunicationIdentityClient {
    acs_identity::CommunicationIdentityClient::from_connection_string(
        &emulator.connection_string(),
        Some(options),
    )
    .expect("a client of the emulator")
}

/// The workspace root (the parent of this crate's manifest directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Newest modification time of the files under `dir` (recursively).
fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let mut newest: Option<SystemTime> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::metadata(&path).ok()?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).ok()?.flatten() {
                stack.push(entry.path());
            }
        } else if let Ok(modified) = meta.modified() {
            newest = Some(newest.map_or(modified, |n| n.max(modified)));
        }
    }
    newest
}

/// Whether `binary` exists and is newer than the emulator's and acs-auth's sources and Cargo.lock.
fn binary_is_fresh(binary: &Path) -> bool {
    let root = workspace_root();
    let Some(built) = std::fs::metadata(binary).and_then(|m| m.modified()).ok() else {
        return false;
    };
    [
        root.join("crates/acs-identity-emulator"),
        root.join("crates/acs-auth"),
        root.join("Cargo.lock"),
    ]
    .iter()
    .all(|path| newest_mtime(path).is_some_and(|newest| newest <= built))
}

/// The emulator binary: `ACS_EMULATOR_BIN`, else `target/<profile>/acs-identity-emulator` of this
/// executable's profile, (re)built with cargo first when it is missing or older than its sources
/// (so a stale binary is never tested; `cargo test --workspace` has built it already).
pub fn emulator_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("ACS_EMULATOR_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the current executable: {e}"))?;
    // target/<profile>/deps/<test> or target/<profile>/examples/<example>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("unexpected executable location {}", exe.display()))?;
    let candidate = profile_dir.join("acs-identity-emulator");
    if binary_is_fresh(&candidate) {
        return Ok(candidate);
    }
    let release = profile_dir
        .file_name()
        .is_some_and(|name| name == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    build.current_dir(workspace_root()).args([
        "build",
        "--quiet",
        "-p",
        "acs-identity-emulator",
        "--bin",
        "acs-identity-emulator",
    ]);
    if release {
        build.arg("--release");
    }
    let status = build
        .status()
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    if !status.success() || !candidate.is_file() {
        return Err(format!(
            "building the emulator binary failed ({status}); expected {}",
            candidate.display()
        ));
    }
    Ok(candidate)
}

/// A running emulator process, killed on drop.
pub struct EmulatorProcess {
    child: Child,
    /// The connection string from the emulator's first stdout line.
    pub connection_string: String,
    /// The endpoint, ending in `/`.
    pub endpoint: Url,
    /// The access key of the connection string.
    pub key: AccessKey,
}

impl EmulatorProcess {
    /// Starts `binary args...`, waits (bounded) for its first stdout line and parses the connection
    /// string from it. Stderr (the request log) goes to `log`.
    pub fn spawn(binary: &Path, args: &[String], log: &Path) -> Result<Self, String> {
        let log_file =
            File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut child = Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            // Keep draining so the emulator never blocks on a full pipe.
            for _ in lines {}
        });
        let first = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let tail = std::fs::read_to_string(log).unwrap_or_default();
                let tail = &tail[tail.len().saturating_sub(3000)..];
                return Err(format!(
                    "emulator printed no first line within {START_TIMEOUT:?}; log tail:\n{tail}"
                ));
            }
        };
        let Some(at) = first.find("connection string:") else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("unexpected first line from emulator: {first:?}"));
        };
        let connection_string = first[at + "connection string:".len()..].trim().to_owned();
        let parsed = ConnectionString::parse(&connection_string)
            .map_err(|e| format!("the printed connection string does not parse: {e}"))?;
        let (mut endpoint, key) = parsed.into_parts();
        if !endpoint.path().ends_with('/') {
            let path = format!("{}/", endpoint.path());
            endpoint.set_path(&path);
        }
        Ok(Self {
            child,
            connection_string,
            endpoint,
            key,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port the emulator listens on.
    pub fn port(&self) -> Option<u16> {
        self.endpoint.port_or_known_default()
    }

    /// Peak resident set size (`VmHWM`) in KiB, from `/proc/<pid>/status`.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// SIGKILL (no chance to flush anything) and reap.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// A signed client for this emulator.
    pub fn client(&self) -> Client {
        Client::new(self.endpoint.clone(), self.key.clone())
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// Status and JSON body (or `Null`) of a reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed JSON body, `Null` when empty or not JSON.
    pub body: Value,
}

impl Reply {
    /// `body.error.code`, when present.
    pub fn error_code(&self) -> Option<&str> {
        self.body.pointer("/error/code").and_then(Value::as_str)
    }
}

/// A minimal ACS Identity client: every request signed with `acs_auth::sign_request`.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: Url,
    key: AccessKey,
}

fn encode_id(id: &str) -> String {
    id.replace(':', "%3A")
}

impl Client {
    /// A client for `endpoint` (ending in `/`) signing with `key`.
    pub fn new(endpoint: Url, key: AccessKey) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(4)
            .build()
            .unwrap_or_default();
        Self {
            http,
            endpoint,
            key,
        }
    }

    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Reply, String> {
        let url = self
            .endpoint
            .join(path_and_query)
            .map_err(|e| format!("bad path {path_and_query}: {e}"))?;
        let mut builder = self.http.request(method, url);
        if let Some(body) = body {
            builder = builder
                .header("content-type", "application/json")
                .body(serde_json::to_vec(body).map_err(|e| e.to_string())?);
        }
        let mut request = builder
            .build()
            .map_err(|e| format!("cannot build request: {e}"))?;
        sign_request(&mut request, &self.key, SystemTime::now()).map_err(|e| e.to_string())?;
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("reading the reply failed: {e}"))?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply { status, body })
    }

    /// `POST /identities`, with a token of `scopes` when given.
    pub async fn create(&self, scopes: Option<&[&str]>) -> Result<Reply, String> {
        let body = match scopes {
            Some(scopes) => serde_json::json!({ "createTokenWithScopes": scopes }),
            None => serde_json::json!({}),
        };
        self.send(
            Method::POST,
            &format!("identities?api-version={API_VERSION}"),
            Some(&body),
        )
        .await
    }

    /// `POST /identities` of 2025-03-02-preview with `customId`, and a token of `scopes`.
    pub async fn create_with_custom_id(
        &self,
        custom_id: &str,
        scopes: &[&str],
    ) -> Result<Reply, String> {
        let body = serde_json::json!({ "customId": custom_id, "createTokenWithScopes": scopes });
        self.send(
            Method::POST,
            &format!("identities?api-version={PREVIEW_API_VERSION}"),
            Some(&body),
        )
        .await
    }

    /// `GET /identities/{id}` (2025-03-02-preview).
    pub async fn get_identity(&self, id: &str) -> Result<Reply, String> {
        let path = format!(
            "identities/{}?api-version={PREVIEW_API_VERSION}",
            encode_id(id)
        );
        self.send(Method::GET, &path, None).await
    }

    fn tpe_path(tenant: &str, object: &str) -> String {
        format!(
            "access/teamsExtension/tenants/{tenant}/assignments/{object}?api-version={TPE_API_VERSION}"
        )
    }

    /// `PUT /access/teamsExtension/tenants/{tenant}/assignments/{object}`.
    pub async fn put_tpe_assignment(
        &self,
        tenant: &str,
        object: &str,
        principal_type: &str,
    ) -> Result<Reply, String> {
        let body = serde_json::json!({ "principalType": principal_type });
        self.send(Method::PUT, &Self::tpe_path(tenant, object), Some(&body))
            .await
    }

    /// `GET /access/teamsExtension/tenants/{tenant}/assignments/{object}`.
    pub async fn get_tpe_assignment(&self, tenant: &str, object: &str) -> Result<Reply, String> {
        self.send(Method::GET, &Self::tpe_path(tenant, object), None)
            .await
    }

    /// `POST /identities/{id}/:issueAccessToken`.
    pub async fn issue(&self, id: &str, scopes: &[&str]) -> Result<Reply, String> {
        let body = serde_json::json!({ "scopes": scopes });
        let path = format!(
            "identities/{}/:issueAccessToken?api-version={API_VERSION}",
            encode_id(id)
        );
        self.send(Method::POST, &path, Some(&body)).await
    }

    /// `POST /identities/{id}/:revokeAccessTokens`.
    pub async fn revoke(&self, id: &str) -> Result<Reply, String> {
        let path = format!(
            "identities/{}/:revokeAccessTokens?api-version={API_VERSION}",
            encode_id(id)
        );
        self.send(Method::POST, &path, None).await
    }

    /// `DELETE /identities/{id}`.
    pub async fn delete(&self, id: &str) -> Result<Reply, String> {
        let path = format!("identities/{}?api-version={API_VERSION}", encode_id(id));
        self.send(Method::DELETE, &path, None).await
    }

    /// Emulator-only: `POST /emulator/tokens:validate` -> `Some(valid)`.
    pub async fn token_is_valid(&self, token: &str) -> Result<bool, String> {
        let body = serde_json::json!({ "token": token });
        let reply = self
            .send(Method::POST, "emulator/tokens:validate", Some(&body))
            .await?;
        if reply.status != 200 {
            return Err(format!(
                "validate answered {}: {}",
                reply.status, reply.body
            ));
        }
        reply
            .body
            .get("valid")
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("validate reply has no boolean `valid`: {}", reply.body))
    }
}

/// `identity.id` of a create reply.
pub fn identity_id(reply: &Reply) -> Option<String> {
    reply
        .body
        .pointer("/identity/id")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// `accessToken.token` of a create reply, or `token` of an issue reply.
pub fn token_of(reply: &Reply) -> Option<String> {
    reply
        .body
        .pointer("/accessToken/token")
        .or_else(|| reply.body.get("token"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A tiny deterministic PRNG (xorshift64*) so runs are reproducible without extra dependencies.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator (a zero seed is replaced).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}
