//! Reproduces every signing vector the official SDKs left behind, checked in under `tests/data/`
//! (see `tests/data/README.md`): `hmac_test_vectors.json` (the SDKs' unit-test vectors) and
//! `peer-wire-*.jsonl` (requests captured from the Python and JS SDKs, each a complete vector).
//!
//! Each request is checked three ways: the pure [`sign`] function, the reqwest adapter
//! [`sign_request`] on a `reqwest::Request` built from the captured URL, and [`verify`] with a clock
//! at the capture date. The data is compiled in, so every clone runs every vector.

// Test code: a failed unwrap or panic is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use acs_auth::{
    AccessKey, Clock, DEFAULT_MAX_CLOCK_SKEW, FixedClock, ReceivedRequest, RequestToSign,
    content_hash, parse_http_date, request_host, request_target, sign, sign_request,
    string_to_sign, verify,
};
use common::{received, signed_headers_of};
use serde_json::Value;

/// The key every peer-wire capture was made with (see `tests/data/README.md`).
const PEER_WIRE_KEY: &str = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5";

/// The SDKs' unit-test vectors.
const HMAC_VECTORS: &str = include_str!("data/hmac_test_vectors.json");

/// The captured requests, by file name.
const PEER_WIRE: [(&str, &str); 2] = [
    (
        "peer-wire-js-communication-identity-1.3.1.jsonl",
        include_str!("data/peer-wire-js-communication-identity-1.3.1.jsonl"),
    ),
    (
        "peer-wire-python-azure-communication-identity-1.5.0.jsonl",
        include_str!("data/peer-wire-python-azure-communication-identity-1.5.0.jsonl"),
    ),
];

fn str_field<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("vector has no string field `{name}`: {v}"))
}

/// Looks a header up by name, ignoring letter case as HTTP does.
fn header<'a>(headers: &'a Value, name: &str) -> &'a str {
    headers
        .as_object()
        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .and_then(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("captured request has no `{name}` header: {headers}"))
}

/// One complete vector: a request, its key and date, and the headers the SDK sent.
struct Vector<'a> {
    label: String,
    key: AccessKey,
    method: &'a str,
    /// `scheme://authority` the request went to.
    origin: String,
    path_and_query: &'a str,
    host: &'a str,
    body: &'a str,
    date: &'a str,
    content_sha256: &'a str,
    authorization: &'a str,
}

/// Checks one vector with `sign`, with `sign_request` and with `verify`.
fn check_vector(v: &Vector<'_>) {
    let label = &v.label;
    let at = parse_http_date(v.date).unwrap_or_else(|e| panic!("{label}: {e}"));
    let request = RequestToSign {
        method: v.method,
        path_and_query: v.path_and_query,
        host: v.host,
        body: v.body.as_bytes(),
    };

    // 1. The pure signing function.
    let signed = sign(&v.key, &request, at);
    assert_eq!(signed.date, v.date, "{label}: x-ms-date");
    assert_eq!(
        signed.content_sha256, v.content_sha256,
        "{label}: x-ms-content-sha256"
    );
    assert_eq!(
        signed.authorization, v.authorization,
        "{label}: Authorization"
    );

    // 2. The reqwest adapter, on a request built from the URL the SDK called.
    let url: reqwest::Url = format!("{}{}", v.origin, v.path_and_query)
        .parse()
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(
        request_target(&url),
        v.path_and_query,
        "{label}: target changed by parsing"
    );
    assert_eq!(request_host(&url).as_deref(), Some(v.host), "{label}: host");
    let method: reqwest::Method = v.method.parse().unwrap();
    let mut built = reqwest::Request::new(method, url);
    if !v.body.is_empty() {
        *built.body_mut() = Some(reqwest::Body::from(v.body.to_owned()));
    }
    sign_request(&mut built, &v.key, at).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(
        request_target(built.url()),
        v.path_and_query,
        "{label}: target changed by signing"
    );
    let h = built.headers();
    assert_eq!(h["x-ms-date"], v.date, "{label}: adapter x-ms-date");
    assert_eq!(
        h["x-ms-content-sha256"], v.content_sha256,
        "{label}: adapter x-ms-content-sha256"
    );
    assert_eq!(
        h["authorization"], v.authorization,
        "{label}: adapter Authorization"
    );
    assert!(
        h["authorization"].is_sensitive(),
        "{label}: Authorization not marked sensitive"
    );

    // 3. Verification of the SDK's own headers, with a clock at the capture date.
    let now = FixedClock(at).now();
    let received = ReceivedRequest {
        request,
        date: Some(v.date),
        content_sha256: Some(v.content_sha256),
        authorization: Some(v.authorization),
    };
    assert_eq!(
        verify(&v.key, &received, now, DEFAULT_MAX_CLOCK_SKEW),
        Ok(()),
        "{label}: verify rejected the SDK's signature"
    );
}

fn load_hmac_vectors() -> Value {
    serde_json::from_str(HMAC_VECTORS).unwrap_or_else(|e| panic!("hmac_test_vectors.json: {e}"))
}

fn section<'a>(doc: &'a Value, name: &str) -> &'a [Value] {
    let items = doc[name]
        .as_array()
        .unwrap_or_else(|| panic!("hmac_test_vectors.json has no `{name}` array"));
    assert!(!items.is_empty(), "`{name}` is empty");
    items
}

#[test]
fn content_hash_vectors() {
    let doc = load_hmac_vectors();
    let vectors = section(&doc, "content_hash");
    for v in vectors {
        let body = str_field(v, "body_utf8");
        assert_eq!(
            content_hash(body.as_bytes()),
            str_field(v, "sha256_b64"),
            "body {body:?}"
        );
    }
    println!("checked {} content_hash vectors", vectors.len());
}

#[test]
fn hmac_vectors() {
    let doc = load_hmac_vectors();
    let vectors = section(&doc, "hmac");
    for v in vectors {
        let key = AccessKey::from_base64(str_field(v, "key_b64")).unwrap();
        let message = str_field(v, "message_utf8").as_bytes();
        let expected = str_field(v, "hmac_b64");
        let tag = key.hmac_sha256(message);
        assert_eq!(base64_encode(&tag), expected, "message {message:?}");
        assert!(key.verify_hmac_sha256(message, &tag));
    }
    println!("checked {} hmac vectors", vectors.len());
}

#[test]
fn signature_vectors() {
    let doc = load_hmac_vectors();
    let vectors = section(&doc, "signature");
    for v in vectors {
        let url: reqwest::Url = str_field(v, "url").parse().unwrap();
        let vector = Vector {
            label: format!("signature {}", str_field(v, "source")),
            key: AccessKey::from_base64(str_field(v, "key_b64")).unwrap(),
            method: str_field(v, "method"),
            origin: url.origin().ascii_serialization(),
            path_and_query: str_field(v, "path_and_query"),
            host: str_field(v, "host"),
            body: str_field(v, "body"),
            date: str_field(v, "x_ms_date"),
            content_sha256: str_field(v, "content_hash"),
            authorization: str_field(v, "authorization"),
        };
        // The URL as the SDK test wrote it gives the same target and host.
        assert_eq!(
            request_target(&url),
            vector.path_and_query,
            "{}",
            vector.label
        );
        assert_eq!(
            request_host(&url).as_deref(),
            Some(vector.host),
            "{}",
            vector.label
        );
        check_vector(&vector);
    }
    println!("checked {} signature vectors", vectors.len());
}

#[test]
fn string_to_sign_from_real_traffic() {
    let doc = load_hmac_vectors();
    let vectors = section(&doc, "string_to_sign_from_real_traffic");
    for v in vectors {
        let method = str_field(v, "method");
        let date = str_field(v, "x_ms_date");
        let body = str_field(v, "body");
        let expected = str_field(v, "string_to_sign");
        let source = str_field(v, "source");

        // Take the recorded target, host and hash apart; the method and date must match the fields.
        let mut lines = expected.splitn(3, '\n');
        let (Some(line_method), Some(target), Some(tail)) =
            (lines.next(), lines.next(), lines.next())
        else {
            panic!("{source}: string_to_sign is not three lines");
        };
        assert_eq!(line_method, method, "{source}");
        let tail = tail.strip_prefix(date).and_then(|t| t.strip_prefix(';'));
        let Some((host, recorded_hash)) = tail.and_then(|t| t.rsplit_once(';')) else {
            panic!("{source}: third line is not `date;host;hash` with the vector's date");
        };

        // The body is redacted in one recording; only there is the recorded hash taken as given.
        let hash = if body.starts_with("(redacted") {
            assert!(
                body.contains(recorded_hash),
                "{source}: redacted body names another hash"
            );
            recorded_hash.to_owned()
        } else {
            content_hash(body.as_bytes())
        };
        assert_eq!(hash, recorded_hash, "{source}: content hash");
        let request = RequestToSign {
            method,
            path_and_query: target,
            host,
            body: body.as_bytes(),
        };
        assert_eq!(string_to_sign(&request, date, &hash), expected, "{source}");

        // The adapter signs these targets (raw `:` in the identity id) byte for byte.
        let url: reqwest::Url = format!("https://{host}{target}").parse().unwrap();
        assert_eq!(request_target(&url), target, "{source}");
        assert_eq!(request_host(&url).as_deref(), Some(host), "{source}");
    }
    println!("checked {} string_to_sign vectors", vectors.len());
}

#[test]
fn peer_wire_captures() {
    let key = AccessKey::from_base64(PEER_WIRE_KEY).unwrap();
    let mut checked = 0;
    for (name, text) in PEER_WIRE {
        let mut in_file = 0;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let captured: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", n + 1));
            let headers = &captured["headers"];
            let host = header(headers, "Host");
            check_vector(&Vector {
                label: format!("{name}:{}", n + 1),
                key: key.clone(),
                method: str_field(&captured, "method"),
                origin: format!("http://{host}"),
                path_and_query: str_field(&captured, "path"),
                host,
                body: str_field(&captured, "body"),
                date: header(headers, "x-ms-date"),
                content_sha256: header(headers, "x-ms-content-sha256"),
                authorization: header(headers, "Authorization"),
            });
            in_file += 1;
        }
        assert!(in_file > 0, "{name} holds no request");
        checked += in_file;
    }
    assert_eq!(checked, 12, "each SDK's capture holds six requests");
    println!("checked {checked} peer-wire requests");
}

/// A signed request re-signed later (a retry) carries the new date, and the old headers stop
/// verifying once the clock has moved past the window.
#[test]
fn resigning_replaces_the_headers() {
    let key = AccessKey::from_base64(PEER_WIRE_KEY).unwrap();
    let first = parse_http_date("Thu, 26 Nov 2026 15:51:52 GMT").unwrap();
    let later = parse_http_date("Thu, 26 Nov 2026 16:51:52 GMT").unwrap();
    let mut r = reqwest::Request::new(
        reqwest::Method::POST,
        "http://127.0.0.1:18123/identities?api-version=2023-10-01"
            .parse()
            .unwrap(),
    );
    sign_request(&mut r, &key, first).unwrap();
    let old = signed_headers_of(&r);
    sign_request(&mut r, &key, later).unwrap();
    let new = signed_headers_of(&r);
    assert_eq!(new.date, "Thu, 26 Nov 2026 16:51:52 GMT");
    assert_ne!(new.authorization, old.authorization);
    assert_eq!(r.headers().get_all("authorization").iter().count(), 1);
    let request = RequestToSign {
        method: "POST",
        path_and_query: "/identities?api-version=2023-10-01",
        host: "127.0.0.1:18123",
        body: b"",
    };
    assert_eq!(
        verify(
            &key,
            &received(request, &new),
            later,
            DEFAULT_MAX_CLOCK_SKEW
        ),
        Ok(())
    );
    assert_eq!(
        verify(
            &key,
            &received(request, &old),
            later,
            DEFAULT_MAX_CLOCK_SKEW
        ),
        Err(acs_auth::VerifyError::DateOutOfRange)
    );
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
