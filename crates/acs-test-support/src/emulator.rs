//! The emulator for tests: started in this process ([`builder`], [`start`]) or as its binary
//! ([`EmulatorProcess`], given the binary's path: `env!("CARGO_BIN_EXE_acs-identity-emulator")` in
//! the emulator's own tests, where cargo builds it first, or `ACS_EMULATOR_BIN`), and a minimal
//! ACS Identity [`Client`] that signs every request with `acs_auth::sign_request` (reqwest).
//! Loopback only.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use acs_auth::{AccessKey, ConnectionString, sign_request};
use acs_identity_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};
use reqwest::{Method, Url};
use serde_json::Value;

use crate::KEY;

/// The API version every released SDK sends.
pub const API_VERSION: &str = "2023-10-01";
/// The preview with custom ids and `GET /identities/{id}`.
pub const PREVIEW_API_VERSION: &str = "2025-03-02-preview";
/// The first stable version with the Teams Phone extension (TPE) operations.
pub const TPE_API_VERSION: &str = "2025-06-30";
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// An emulator for this process: in memory, on a free loopback port, with [`KEY`] as its access
/// key; tests add what they need.
pub fn builder() -> EmulatorBuilder {
    Emulator::builder()
        .listen(([127, 0, 0, 1], 0).into())
        .access_key(KEY)
        .in_memory()
}

/// [`builder`], started.
#[allow(clippy::expect_used)] // a test that cannot start it has nothing to test
pub async fn start() -> EmulatorHandle {
    builder()
        .start()
        .await
        .expect("the in-process emulator starts")
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
