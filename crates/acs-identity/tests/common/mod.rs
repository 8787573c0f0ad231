//! Shared helpers of the facade's integration tests. The HMAC check is written here from the
//! service's description, independently of `acs-auth`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acs_identity::{CommunicationIdentityClient, CommunicationIdentityClientOptions, RetryOptions};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse};
use sha2::{Digest, Sha256};

/// The test access key (acs-test-support's).
pub const KEY: &str = acs_test_support::KEY;
pub const USER: &str =
    "8:acs:00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444";
pub const USER_PATH: &str =
    "8%3Aacs%3A00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444";
pub const EXPIRES_ON: &str = "2022-08-26T20:03:35.4402106+00:00";
pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// A JWT shaped like an ACS token (unsigned; the client never verifies it).
pub fn jwt() -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k","x5t":"x","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(
        br#"{"skypeid":"acs:00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444","scp":1792,"csi":"1661544215","exp":1661630615,"acsScope":"chat,voip","resourceId":"00000000-0000-0000-0000-000000000000","iat":1661544215}"#,
    );
    format!("{header}.{payload}.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl")
}

pub fn token_body() -> String {
    format!(r#"{{"token":"{}","expiresOn":"{EXPIRES_ON}"}}"#, jwt())
}

pub fn connection_string(server: &MockServer) -> String {
    format!("endpoint={}/;accesskey={KEY}", server.base_url())
}

/// Options with fast retries, so tests about something else do not wait.
pub fn fast_options() -> CommunicationIdentityClientOptions {
    let mut options = CommunicationIdentityClientOptions::default();
    options.retry = RetryOptions::default()
        .with_initial_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(50));
    options
}

pub fn client(server: &MockServer) -> CommunicationIdentityClient {
    client_with(server, fast_options())
}

/// A client of `server` (HMAC-signed with [`KEY`]) with these options.
pub fn client_with(
    server: &MockServer,
    options: CommunicationIdentityClientOptions,
) -> CommunicationIdentityClient {
    CommunicationIdentityClient::from_connection_string(&connection_string(server), Some(options))
        .unwrap()
}

fn header<'a>(req: &'a HttpMockRequest, name: &str) -> Option<&'a str> {
    req.headers_vec()
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub fn header_of(req: &HttpMockRequest, name: &str) -> String {
    header(req, name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_owned()
}

/// The request target (path and query) as it came on the wire.
pub fn target(req: &HttpMockRequest) -> String {
    let uri = req.uri_str();
    match uri.find("://") {
        Some(i) => match uri[i + 3..].find('/') {
            Some(j) => uri[i + 3 + j..].to_owned(),
            None => "/".to_owned(),
        },
        None => uri.to_owned(),
    }
}

/// The signature the service expects for `req`, computed from scratch.
pub fn expected_signature(req: &HttpMockRequest, key_b64: &str) -> String {
    let key = STANDARD.decode(key_b64).unwrap();
    let date = header_of(req, "x-ms-date");
    let host = header_of(req, "host");
    let hash = STANDARD.encode(Sha256::digest(req.body_ref()));
    let string_to_sign = format!(
        "{}\n{}\n{date};{host};{hash}",
        req.method_str(),
        target(req)
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Panics unless `req` carries a valid HMAC-SHA256 authorization for `key_b64`.
pub fn assert_signed(req: &HttpMockRequest, key_b64: &str) {
    let hash = STANDARD.encode(Sha256::digest(req.body_ref()));
    assert_eq!(header_of(req, "x-ms-content-sha256"), hash, "content hash");
    let date = header_of(req, "x-ms-date");
    assert!(
        date.ends_with(" GMT") && date.len() == 29,
        "IMF-fixdate: {date}"
    );
    assert_eq!(
        header_of(req, "authorization"),
        format!(
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={}",
            expected_signature(req, key_b64)
        )
    );
}

/// Requests seen by a mock, in order.
#[derive(Clone, Default)]
pub struct Seen(pub Arc<Mutex<Vec<HttpMockRequest>>>);

impl Seen {
    pub fn push(&self, req: &HttpMockRequest) {
        self.0.lock().unwrap().push(req.clone());
    }
    pub fn all(&self) -> Vec<HttpMockRequest> {
        self.0.lock().unwrap().clone()
    }
    pub fn one(&self) -> HttpMockRequest {
        let all = self.all();
        assert_eq!(all.len(), 1, "expected exactly one request");
        all.into_iter().next().unwrap()
    }
}

/// A mock for the requests `matches` describes that records each one (in the returned `Seen`)
/// and answers it with `reply(request)`.
pub async fn recording(
    server: &MockServer,
    matches: impl FnOnce(httpmock::When) -> httpmock::When,
    reply: impl Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static,
) -> Seen {
    let seen = Seen::default();
    let s = seen.clone();
    server
        .mock_async(|when, then| {
            matches(when);
            then.respond_with(move |req| {
                s.push(req);
                reply(req)
            });
        })
        .await;
    seen
}

pub fn respond(status: u16, content_type: Option<&str>, body: &str) -> HttpMockResponse {
    let mut b = HttpMockResponse::builder().status(status);
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    b.body(body.to_owned()).build()
}

/// The request as text with the values that change per run redacted: for snapshots.
pub fn wire_text(req: &HttpMockRequest) -> String {
    let mut headers: Vec<(String, String)> = req
        .headers_vec()
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    headers.sort();
    let mut out = format!("{} {}\n", req.method_str(), target(req));
    for (k, v) in headers {
        let v = match k.as_str() {
            "x-ms-date" => "[date]".to_owned(),
            "x-ms-client-request-id" => {
                assert!(uuid_like(&v), "request id {v}");
                "[uuid]".to_owned()
            }
            "authorization" if v.starts_with("HMAC-SHA256 ") => {
                let (prefix, _) = v.split_once("Signature=").unwrap();
                format!("{prefix}Signature=[signature]")
            }
            "authorization" => "Bearer [token]".to_owned(),
            "host" => "127.0.0.1:[port]".to_owned(),
            "user-agent" => {
                let (product, _) = v.split_once(" (").unwrap();
                format!("{product} ([rustc]; [os])")
            }
            _ => v,
        };
        out.push_str(&format!("{k}: {v}\n"));
    }
    out.push('\n');
    out.push_str(&req.body_string());
    out
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

/// `<workspace root>/../shared/upstream`, if present.
pub fn upstream() -> Option<PathBuf> {
    acs_test_support::upstream("")
}
