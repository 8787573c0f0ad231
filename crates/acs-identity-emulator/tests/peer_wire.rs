//! Signatures made by other implementations: requests the official Python 1.5.0 and JS 1.3.1 SDKs
//! put on the wire (checked in with acs-auth's signing vectors, `crates/acs-auth/tests/data/`) verify with the emulator's checks,
//! both through `auth::verify_hmac_request` and replayed byte for byte to a running emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use acs_auth::{AccessKey, FixedClock, VerifyError};
use acs_identity_emulator::Emulator;
use acs_identity_emulator::auth::{AuthFailure, verify_hmac_request};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const CAPTURE_KEY: &str = acs_test_support::KEY;

struct Captured {
    file: String,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn captures() -> Vec<Captured> {
    let mut out = Vec::new();
    for (file, text) in acs_test_support::peer_wire_captures() {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).unwrap();
            out.push(Captured {
                file: file.to_owned(),
                method: v["method"].as_str().unwrap().to_owned(),
                path: v["path"].as_str().unwrap().to_owned(),
                headers: v["headers"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect(),
                body: v["body"].as_str().unwrap_or("").to_owned(),
            });
        }
    }
    assert_eq!(out.len(), 12, "each SDK's capture holds six requests");
    out
}

fn header_map(c: &Captured) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in &c.headers {
        h.append(
            HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn date_of(c: &Captured) -> std::time::SystemTime {
    let date = &c
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-ms-date"))
        .unwrap()
        .1;
    acs_auth::parse_http_date(date).unwrap()
}

#[test]
fn every_captured_sdk_request_verifies() {
    let captures = captures();
    assert_eq!(captures.len(), 12, "six calls from each SDK");
    let key = AccessKey::from_base64(CAPTURE_KEY).unwrap();
    let wrong = AccessKey::from_base64("b3RoZXI=").unwrap();
    for c in &captures {
        let h = header_map(c);
        let verify = |key: &AccessKey, body: &str| {
            verify_hmac_request(key, &c.method, &c.path, &h, body.as_bytes(), date_of(c))
        };
        assert_eq!(
            verify(&key, &c.body),
            Ok(()),
            "{} {} {}",
            c.file,
            c.method,
            c.path
        );
        // And each is sensitive to the key and to the body.
        assert_eq!(
            verify(&wrong, &c.body),
            Err(AuthFailure::Hmac(VerifyError::SignatureMismatch))
        );
        assert_eq!(
            verify(&key, &format!("{} ", c.body)),
            Err(AuthFailure::Hmac(VerifyError::ContentHashMismatch))
        );
    }
}

async fn raw_exchange(addr: std::net::SocketAddr, c: &Captured) -> (u16, Value) {
    let mut request = format!("{} {} HTTP/1.1\r\n", c.method, c.path);
    for (k, v) in &c.headers {
        if k.eq_ignore_ascii_case("connection") {
            continue;
        }
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    request.push_str(&c.body);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, json)
}

#[tokio::test]
async fn captured_requests_replayed_to_the_emulator_pass_authentication() {
    let captures = captures();
    for file in [
        "peer-wire-python-azure-communication-identity-1.5.0.jsonl",
        "peer-wire-js-communication-identity-1.3.1.jsonl",
    ] {
        let lines: Vec<&Captured> = captures.iter().filter(|c| c.file == file).collect();
        // The emulator's clock is set to the capture's date; the Host header says 127.0.0.1:18123
        // whatever port the emulator really listens on, and the signature covers that header.
        let emu = Emulator::builder()
            .listen("127.0.0.1:0".parse().unwrap())
            .access_key(CAPTURE_KEY)
            .resource_id("00000000-0000-0000-0000-000000000000")
            .clock(Arc::new(FixedClock(date_of(lines[0]))))
            .in_memory()
            .start()
            .await
            .unwrap();
        let mut statuses = Vec::new();
        for c in &lines {
            let (status, body) = raw_exchange(emu.local_addr(), c).await;
            assert_ne!(
                body["error"]["code"], "Denied",
                "{file} {} {}: {body}",
                c.method, c.path
            );
            statuses.push((
                status,
                body["error"]["code"].as_str().unwrap_or("").to_owned(),
            ));
        }
        // create, create+token, issue/revoke/delete for an id never created here, Teams
        // exchange with the non-JWT "aadtoken".
        let expected: Vec<(u16, String)> = [
            (201, ""),
            (201, ""),
            (404, "IdentityNotFound"),
            (404, "IdentityNotFound"),
            (404, "IdentityNotFound"),
            (401, "InvalidAccessToken"),
        ]
        .iter()
        .map(|(s, c)| (*s, (*c).to_owned()))
        .collect();
        assert_eq!(statuses, expected, "{file}");
        emu.shutdown().await;
    }
}
