//! The emulator for tests: started in this process ([`builder`], [`start`]) or as its binary
//! ([`EmulatorProcess`], given the binary's path: `env!("CARGO_BIN_EXE_acs-identity-emulator")` in
//! the emulator's own tests, where cargo builds it first, or `ACS_EMULATOR_BIN`), and the ACS
//! Identity [`Client`] every suite sends with, signing each request with `acs_auth::sign_request`
//! (reqwest), and its [`Answer`]s.
//! Loopback only.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use acs_auth::{AccessKey, ConnectionString, sign_request};
use acs_identity_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Request, StatusCode, Url};
use serde_json::{Value, json};

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
        crate::proc_status_kib(Some(self.pid()), "VmHWM")
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
        Client::at(&self.endpoint, self.key.clone())
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// A response: status, headers, the body parsed as JSON (`Null` when empty, a JSON string of the
/// text when it is not JSON) and its bytes.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body as JSON.
    pub body: Value,
    /// The body as received.
    pub raw: Vec<u8>,
}

impl Answer {
    /// The `content-type` header, when present and text.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
    }

    /// `body.error.code`, when present.
    pub fn error_code(&self) -> Option<&str> {
        self.body.pointer("/error/code").and_then(Value::as_str)
    }

    /// `identity.id` of a create answer.
    pub fn identity_id(&self) -> Option<String> {
        self.body
            .pointer("/identity/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// `accessToken.token` of a create answer, or `token` of an issue answer.
    pub fn token(&self) -> Option<String> {
        self.body
            .pointer("/accessToken/token")
            .or_else(|| self.body.get("token"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// Asserts a CommunicationErrorResponse with this status, code and message (and target, or
    /// none), as `application/json`.
    pub fn assert_error(&self, status: u16, code: &str, message: &str, target: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "body: {}", self.body);
        assert_eq!(
            self.body["error"]["message"], message,
            "body: {}",
            self.body
        );
        match target {
            Some(t) => assert_eq!(self.body["error"]["target"], t, "body: {}", self.body),
            None => assert!(
                self.body["error"].get("target").is_none(),
                "body: {}",
                self.body
            ),
        }
        assert_eq!(self.content_type(), Some("application/json"));
    }
}

/// An ACS Identity client for tests: requests built as given (paths appended to the endpoint as
/// is, bodies as text), signed with `acs_auth::sign_request`. Transport failures (which the load
/// and durability runs expect) are `Err`; a request the test cannot even build is a test bug and
/// panics, as do the asserting helpers ([`Client::create_id`], [`Client::issue_token`],
/// [`Client::validate`]) on any failure.
#[derive(Clone)]
pub struct Client {
    /// The HTTP client (a test may replace it, e.g. to trust the emulator's certificate).
    pub http: reqwest::Client,
    /// The endpoint without its trailing `/`.
    base: String,
    /// The key requests are signed with.
    pub key: AccessKey,
}

/// Percent-encodes `:` in an identity id as the SDKs do.
pub fn encode(id: &str) -> String {
    id.replace(':', "%3A")
}

#[allow(clippy::expect_used)] // a malformed test request is a test bug
impl Client {
    /// A client for `endpoint` signing with `key`.
    pub fn at(endpoint: &Url, key: AccessKey) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(4)
            .build()
            .unwrap_or_default();
        Self {
            http,
            base: endpoint.as_str().trim_end_matches('/').to_owned(),
            key,
        }
    }

    /// A client for the in-process emulator, signing with its key.
    pub fn new(handle: &EmulatorHandle) -> Self {
        Self::with_key(handle, handle.access_key_base64())
    }

    /// A client for the in-process emulator, signing with `key` (base64).
    pub fn with_key(handle: &EmulatorHandle, key: &str) -> Self {
        let key = AccessKey::from_base64(key).expect("the test key is base64");
        Self::at(handle.endpoint(), key)
    }

    /// A request to `path_and_query` (appended to the endpoint as is), not yet signed.
    pub fn request(&self, method: Method, path_and_query: &str, body: Option<&str>) -> Request {
        let url = format!("{}{path_and_query}", self.base);
        let mut request = Request::new(method, url.parse().expect("a test URL parses"));
        if let Some(body) = body {
            *request.body_mut() = Some(reqwest::Body::from(body.to_owned()));
            request
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
        }
        request
    }

    /// The request, signed now.
    pub fn signed(&self, method: Method, path_and_query: &str, body: Option<&str>) -> Request {
        self.signed_at(method, path_and_query, body, SystemTime::now())
    }

    /// The request, signed as of `at`.
    pub fn signed_at(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&str>,
        at: SystemTime,
    ) -> Request {
        let mut request = self.request(method, path_and_query, body);
        sign_request(&mut request, &self.key, at).expect("a test request signs");
        request
    }

    /// Sends `request` and reads the whole answer.
    pub async fn execute(&self, request: Request) -> Result<Answer, String> {
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let raw = response
            .bytes()
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?
            .to_vec();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw).into_owned()))
        };
        Ok(Answer {
            status,
            headers,
            body,
            raw,
        })
    }

    /// Sends the request, signed now.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&str>,
    ) -> Result<Answer, String> {
        self.execute(self.signed(method, path_and_query, body))
            .await
    }

    // The operations, api-version 2023-10-01 unless named, ids percent-encoded as the SDKs send them.

    /// `POST /identities` with `body` (none: no body).
    pub async fn create(&self, body: Option<&str>) -> Result<Answer, String> {
        let path = format!("/identities?api-version={API_VERSION}");
        self.send(Method::POST, &path, body).await
    }

    /// A new identity's id (asserts the create).
    pub async fn create_id(&self) -> String {
        let answer = self.create(None).await.expect("create answers");
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.identity_id().expect("a created identity has an id")
    }

    /// `POST /identities` of 2025-03-02-preview with `customId`, and a token of `scopes`.
    pub async fn create_with_custom_id(
        &self,
        custom_id: &str,
        scopes: &[&str],
    ) -> Result<Answer, String> {
        let body = json!({ "customId": custom_id, "createTokenWithScopes": scopes }).to_string();
        let path = format!("/identities?api-version={PREVIEW_API_VERSION}");
        self.send(Method::POST, &path, Some(&body)).await
    }

    /// `GET /identities/{id}` (2025-03-02-preview).
    pub async fn get_identity(&self, id: &str) -> Result<Answer, String> {
        let path = format!(
            "/identities/{}?api-version={PREVIEW_API_VERSION}",
            encode(id)
        );
        self.send(Method::GET, &path, None).await
    }

    /// `POST /identities/{id}/:issueAccessToken` with `body`.
    pub async fn issue(&self, id: &str, body: &str) -> Result<Answer, String> {
        let path = format!(
            "/identities/{}/:issueAccessToken?api-version={API_VERSION}",
            encode(id)
        );
        self.send(Method::POST, &path, Some(body)).await
    }

    /// A new `chat` token of `id` (asserts the issue).
    pub async fn issue_token(&self, id: &str) -> String {
        let answer = self
            .issue(id, r#"{"scopes":["chat"]}"#)
            .await
            .expect("issue answers");
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.token().expect("an issue answer has a token")
    }

    /// `POST /identities/{id}/:revokeAccessTokens`.
    pub async fn revoke(&self, id: &str) -> Result<Answer, String> {
        let path = format!(
            "/identities/{}/:revokeAccessTokens?api-version={API_VERSION}",
            encode(id)
        );
        self.send(Method::POST, &path, None).await
    }

    /// `DELETE /identities/{id}`.
    pub async fn delete(&self, id: &str) -> Result<Answer, String> {
        let path = format!("/identities/{}?api-version={API_VERSION}", encode(id));
        self.send(Method::DELETE, &path, None).await
    }

    /// `POST /teamsUser/:exchangeAccessToken` with `body`.
    pub async fn exchange(&self, body: &str) -> Result<Answer, String> {
        let path = format!("/teamsUser/:exchangeAccessToken?api-version={API_VERSION}");
        self.send(Method::POST, &path, Some(body)).await
    }

    fn tpe_path(tenant: &str, object: &str) -> String {
        format!(
            "/access/teamsExtension/tenants/{tenant}/assignments/{object}?api-version={TPE_API_VERSION}"
        )
    }

    /// `PUT /access/teamsExtension/tenants/{tenant}/assignments/{object}`.
    pub async fn put_tpe_assignment(
        &self,
        tenant: &str,
        object: &str,
        principal_type: &str,
    ) -> Result<Answer, String> {
        let body = json!({ "principalType": principal_type }).to_string();
        self.send(Method::PUT, &Self::tpe_path(tenant, object), Some(&body))
            .await
    }

    /// `GET /access/teamsExtension/tenants/{tenant}/assignments/{object}`.
    pub async fn get_tpe_assignment(&self, tenant: &str, object: &str) -> Result<Answer, String> {
        self.send(Method::GET, &Self::tpe_path(tenant, object), None)
            .await
    }

    /// Emulator-only: `POST /emulator/tokens:validate`, unsigned; the answer's body (asserts 200).
    pub async fn validate(&self, token: &str) -> Value {
        let body = json!({ "token": token }).to_string();
        let request = self.request(Method::POST, "/emulator/tokens:validate", Some(&body));
        let answer = self.execute(request).await.expect("validate answers");
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }
}
