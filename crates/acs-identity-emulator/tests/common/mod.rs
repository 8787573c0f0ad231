//! Shared by the integration tests: a started emulator and an HMAC-signing reqwest client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::SystemTime;

use acs_auth::AccessKey;
use acs_identity_emulator::{EmulatorBuilder, EmulatorHandle};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The test access key (acs-test-support's).
pub const KEY: &str = acs_test_support::KEY;
pub const RESOURCE: &str = "2dee53b4-368b-45b4-ab52-8493fb117652";
pub const OTHER_RESOURCE: &str = "11111111-2222-3333-4444-555555555555";

/// An in-memory emulator on a free loopback port with the test key and a known resource id.
pub fn builder() -> EmulatorBuilder {
    acs_test_support::emulator::builder().resource_id(RESOURCE)
}

pub async fn start() -> EmulatorHandle {
    builder().start().await.unwrap()
}

/// A response, body parsed as JSON (Null when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Answer {
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
    }

    /// Asserts a CommunicationErrorResponse with this status, code and message (and target).
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

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub key: AccessKey,
}

impl Client {
    pub fn new(handle: &EmulatorHandle) -> Self {
        Self::with_key(handle, handle.access_key_base64())
    }

    pub fn with_key(handle: &EmulatorHandle, key: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: handle.endpoint().as_str().trim_end_matches('/').to_owned(),
            key: AccessKey::from_base64(key).unwrap(),
        }
    }

    /// A request to `path_and_query` (appended to the endpoint as is), not yet signed.
    pub fn request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&str>,
    ) -> reqwest::Request {
        let url = format!("{}{}", self.base, path_and_query);
        let mut r = reqwest::Request::new(method, url.parse().unwrap());
        if let Some(b) = body {
            *r.body_mut() = Some(reqwest::Body::from(b.to_owned()));
            r.headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
        }
        r
    }

    /// The request, HMAC-signed now.
    pub fn signed(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&str>,
    ) -> reqwest::Request {
        self.signed_at(method, path_and_query, body, SystemTime::now())
    }

    pub fn signed_at(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&str>,
        at: SystemTime,
    ) -> reqwest::Request {
        let mut r = self.request(method, path_and_query, body);
        acs_auth::sign_request(&mut r, &self.key, at).unwrap();
        r
    }

    pub async fn execute(&self, r: reqwest::Request) -> Answer {
        let resp = self.http.execute(r).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let raw = resp.bytes().await.unwrap().to_vec();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw)
                .unwrap_or(Value::String(String::from_utf8_lossy(&raw).into_owned()))
        };
        Answer {
            status,
            headers,
            body,
            raw,
        }
    }

    pub async fn send(&self, method: Method, path_and_query: &str, body: Option<&str>) -> Answer {
        let r = self.signed(method, path_and_query, body);
        self.execute(r).await
    }

    // The five operations, api-version 2023-10-01, ids percent-encoded as the SDKs send them.

    pub async fn create(&self, body: Option<&str>) -> Answer {
        self.send(Method::POST, "/identities?api-version=2023-10-01", body)
            .await
    }

    pub async fn create_id(&self) -> String {
        let a = self.create(None).await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["identity"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn issue(&self, id: &str, body: &str) -> Answer {
        let path = format!(
            "/identities/{}/:issueAccessToken?api-version=2023-10-01",
            encode(id)
        );
        self.send(Method::POST, &path, Some(body)).await
    }

    pub async fn issue_token(&self, id: &str) -> String {
        let a = self.issue(id, r#"{"scopes":["chat"]}"#).await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["token"].as_str().unwrap().to_owned()
    }

    pub async fn revoke(&self, id: &str) -> Answer {
        let path = format!(
            "/identities/{}/:revokeAccessTokens?api-version=2023-10-01",
            encode(id)
        );
        self.send(Method::POST, &path, None).await
    }

    pub async fn delete(&self, id: &str) -> Answer {
        let path = format!("/identities/{}?api-version=2023-10-01", encode(id));
        self.send(Method::DELETE, &path, None).await
    }

    pub async fn exchange(&self, body: &str) -> Answer {
        self.send(
            Method::POST,
            "/teamsUser/:exchangeAccessToken?api-version=2023-10-01",
            Some(body),
        )
        .await
    }

    /// `POST /emulator/tokens:validate` over HTTP (no signing).
    pub async fn validate(&self, token: &str) -> Value {
        let body = serde_json::json!({ "token": token }).to_string();
        let r = self.request(Method::POST, "/emulator/tokens:validate", Some(&body));
        let a = self.execute(r).await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body
    }
}

/// Percent-encodes `:` as the SDKs do.
pub fn encode(id: &str) -> String {
    id.replace(':', "%3A")
}

/// Part `index` of a compact JWT (0: header, 1: payload), decoded as JSON.
fn jwt_part(token: &str, index: usize) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

/// The JSON payload of a JWT.
pub fn jwt_payload(token: &str) -> Value {
    jwt_part(token, 1)
}

/// The JSON header of a JWT.
pub fn jwt_header(token: &str) -> Value {
    jwt_part(token, 0)
}
