//! Properties of signing and verification over arbitrary requests, times and keys.

// Test code: a failed unwrap or panic is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod common;

use acs_auth::{
    AccessKey, DEFAULT_MAX_CLOCK_SKEW, RequestToSign, SignedHeaders, VerifyError, format_http_date,
    parse_http_date, request_host, request_target, sign, sign_request, verify,
};
use common::{received, signed_headers_of};
use proptest::prelude::*;
use proptest::sample::Index;

/// 9999-12-31T23:59:59Z, the last second an IMF-fixdate can show.
const LAST_SECOND: u64 = 253_402_300_799;

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET".to_owned()),
        Just("POST".to_owned()),
        Just("DELETE".to_owned()),
        "[A-Z]{1,12}",
    ]
}

/// Request targets: `/` then visible ASCII (percent-escapes, `:`, `?`, `&`, ... all included).
fn target() -> impl Strategy<Value = String> {
    "/[!-~]{0,160}"
}

fn host() -> impl Strategy<Value = String> {
    "[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,20}){0,3}(:[0-9]{1,5})?"
}

/// Arbitrary bytes, most of them not UTF-8.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..600)
}

fn time() -> impl Strategy<Value = SystemTime> {
    (0..=LAST_SECOND).prop_map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

/// Raw key bytes. HMAC zero-pads keys up to 64 bytes, so lengths stay within one block here and
/// "different key" below means different after trailing zeros are dropped.
fn key_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..=64)
}

/// Replaces the byte at `at` with another visible ASCII byte (keeps the text valid UTF-8).
fn change_ascii_byte(text: &str, at: Index, step: u8) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let i = at.index(bytes.len());
    // `step` in 1..=93 moves within the 94 visible characters and never lands on the original.
    let visible = |b: u8| b.wrapping_sub(b'!') % 94;
    bytes[i] = b'!' + (visible(bytes[i]) + step) % 94;
    String::from_utf8(bytes).unwrap()
}

fn trailing_zeros_dropped(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

proptest! {
    #[test]
    fn sign_then_verify_succeeds(
        method in method(), target in target(), host in host(), body in body(),
        at in time(), key in key_bytes(), offset in -900i64..=900,
    ) {
        let key = AccessKey::from_bytes(&key);
        let request = RequestToSign { method: &method, path_and_query: &target, host: &host, body: &body };
        let signed = sign(&key, &request, at);
        prop_assert_eq!(signed.date.len(), 29);
        // Anywhere within the skew window around the signing time.
        let now = if offset >= 0 {
            at + Duration::from_secs(offset.unsigned_abs())
        } else {
            at.checked_sub(Duration::from_secs(offset.unsigned_abs())).unwrap_or(at)
        };
        prop_assert_eq!(verify(&key, &received(request, &signed), now, DEFAULT_MAX_CLOCK_SKEW), Ok(()));
    }

    #[test]
    fn a_changed_body_byte_is_a_hash_mismatch(
        target in target(), host in host(), body in body(), at in time(), key in key_bytes(),
        where_ in any::<Index>(), flip in 1u8..=255,
    ) {
        let key = AccessKey::from_bytes(&key);
        let request = RequestToSign { method: "POST", path_and_query: &target, host: &host, body: &body };
        let signed = sign(&key, &request, at);
        let mut changed = body.clone();
        if changed.is_empty() {
            changed.push(flip);
        } else {
            let i = where_.index(changed.len());
            changed[i] ^= flip;
        }
        let tampered = RequestToSign { body: &changed, ..request };
        prop_assert_eq!(
            verify(&key, &received(tampered, &signed), at, DEFAULT_MAX_CLOCK_SKEW),
            Err(VerifyError::ContentHashMismatch)
        );
    }

    #[test]
    fn a_changed_target_byte_is_a_signature_mismatch(
        method in method(), target in target(), host in host(), body in body(), at in time(),
        key in key_bytes(), where_ in any::<Index>(), step in 1u8..=93,
    ) {
        let key = AccessKey::from_bytes(&key);
        let request = RequestToSign { method: &method, path_and_query: &target, host: &host, body: &body };
        let signed = sign(&key, &request, at);
        let changed = change_ascii_byte(&target, where_, step);
        prop_assert_ne!(&changed, &target);
        let tampered = RequestToSign { path_and_query: &changed, ..request };
        prop_assert_eq!(
            verify(&key, &received(tampered, &signed), at, DEFAULT_MAX_CLOCK_SKEW),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn a_changed_host_byte_is_a_signature_mismatch(
        method in method(), target in target(), host in host(), body in body(), at in time(),
        key in key_bytes(), where_ in any::<Index>(), step in 1u8..=93,
    ) {
        let key = AccessKey::from_bytes(&key);
        let request = RequestToSign { method: &method, path_and_query: &target, host: &host, body: &body };
        let signed = sign(&key, &request, at);
        let changed = change_ascii_byte(&host, where_, step);
        prop_assert_ne!(&changed, &host);
        let tampered = RequestToSign { host: &changed, ..request };
        prop_assert_eq!(
            verify(&key, &received(tampered, &signed), at, DEFAULT_MAX_CLOCK_SKEW),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn a_changed_date_byte_fails(
        target in target(), host in host(), body in body(), at in time(), key in key_bytes(),
        where_ in any::<Index>(), step in 1u8..=93,
    ) {
        let key = AccessKey::from_bytes(&key);
        let request = RequestToSign { method: "POST", path_and_query: &target, host: &host, body: &body };
        let signed = sign(&key, &request, at);
        let changed = change_ascii_byte(&signed.date, where_, step);
        let tampered = SignedHeaders { date: changed, ..signed.clone() };
        let result = verify(&key, &received(request, &tampered), at, DEFAULT_MAX_CLOCK_SKEW);
        prop_assert!(
            matches!(
                result,
                Err(VerifyError::BadDate | VerifyError::SignatureMismatch | VerifyError::DateOutOfRange)
            ),
            "{:?} -> {:?}", tampered.date, result
        );
    }

    #[test]
    fn a_wrong_key_is_a_signature_mismatch(
        target in target(), host in host(), body in body(), at in time(),
        key in key_bytes(), other in key_bytes(),
    ) {
        prop_assume!(trailing_zeros_dropped(&key) != trailing_zeros_dropped(&other));
        let request = RequestToSign { method: "POST", path_and_query: &target, host: &host, body: &body };
        let signed = sign(&AccessKey::from_bytes(&key), &request, at);
        prop_assert_eq!(
            verify(&AccessKey::from_bytes(&other), &received(request, &signed), at, DEFAULT_MAX_CLOCK_SKEW),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn a_date_outside_the_window_is_out_of_range(
        target in target(), body in body(), at in time(), key in key_bytes(),
        beyond in 1u64..=10_000_000, late in any::<bool>(),
    ) {
        let key = AccessKey::from_bytes(&key);
        let request = RequestToSign { method: "GET", path_and_query: &target, host: "h.example", body: &body };
        let signed = sign(&key, &request, at);
        let distance = DEFAULT_MAX_CLOCK_SKEW + Duration::from_secs(beyond);
        let now = if late { Some(at + distance) } else { at.checked_sub(distance) };
        if let Some(now) = now {
            prop_assert_eq!(
                verify(&key, &received(request, &signed), now, DEFAULT_MAX_CLOCK_SKEW),
                Err(VerifyError::DateOutOfRange)
            );
        }
    }

    #[test]
    fn base64_and_raw_keys_agree(key in key_bytes(), message in body()) {
        use base64::Engine as _;
        let text = base64::engine::general_purpose::STANDARD.encode(&key);
        let from_text = AccessKey::from_base64(&text).unwrap();
        let unpadded = AccessKey::from_base64(text.trim_end_matches('=')).unwrap();
        let raw = AccessKey::from_bytes(&key);
        prop_assert_eq!(from_text.hmac_sha256(&message), raw.hmac_sha256(&message));
        prop_assert_eq!(unpadded.hmac_sha256(&message), raw.hmac_sha256(&message));
    }

    #[test]
    fn http_date_round_trips(secs in 0..=LAST_SECOND) {
        let t = UNIX_EPOCH + Duration::from_secs(secs);
        let text = format_http_date(t);
        prop_assert_eq!(text.len(), 29);
        prop_assert!(text.ends_with(" GMT"));
        prop_assert_eq!(parse_http_date(&text), Ok(t));
    }

    #[test]
    fn parse_http_date_never_panics(text in "\\PC{0,40}") {
        let _ = parse_http_date(&text);
    }

    /// A valid date with one character replaced by any character (multi-byte ones included) never
    /// panics the parser, and whatever it still accepts is the canonical text of the time it gives.
    #[test]
    fn parse_http_date_accepts_only_canonical_text(
        secs in 0..=LAST_SECOND, at in any::<Index>(), replacement in any::<char>(),
    ) {
        let valid = format_http_date(UNIX_EPOCH + Duration::from_secs(secs));
        let i = at.index(valid.len());
        let mut text = valid.clone();
        text.replace_range(i..=i, replacement.encode_utf8(&mut [0; 4]));
        if let Ok(t) = parse_http_date(&text) {
            // A leap second (`:60`) is the one accepted form that formats back differently.
            if !text.contains(":60 GMT") {
                prop_assert_eq!(format_http_date(t), text);
            }
        }
    }

    /// The adapter signs what `request_target`/`request_host` read from the URL, and the result
    /// verifies against those parts and the body bytes.
    #[test]
    fn signed_reqwest_requests_verify(
        segments in prop::collection::vec("[A-Za-z0-9._~%:-]{0,12}", 0..6),
        query in proptest::option::of("[A-Za-z0-9=&%-]{0,30}"),
        port in proptest::option::of(1u16..),
        body in body(), at in time(), key in key_bytes(),
    ) {
        let key = AccessKey::from_bytes(&key);
        let mut url = String::from("https://contoso.communication.azure.com");
        if let Some(port) = port {
            url.push_str(&format!(":{port}"));
        }
        url.push('/');
        url.push_str(&segments.join("/"));
        if let Some(query) = &query {
            url.push('?');
            url.push_str(query);
        }
        let Ok(url) = url.parse::<reqwest::Url>() else { return Ok(()) };
        let mut r = reqwest::Request::new(reqwest::Method::POST, url);
        *r.body_mut() = Some(reqwest::Body::from(body.clone()));
        sign_request(&mut r, &key, at).unwrap();
        prop_assert!(!request_target(r.url()).ends_with('?'));
        let host = request_host(r.url()).unwrap();
        let headers = signed_headers_of(&r);
        let request = RequestToSign {
            method: "POST",
            path_and_query: request_target(r.url()),
            host: &host,
            body: &body,
        };
        prop_assert_eq!(verify(&key, &received(request, &headers), at, DEFAULT_MAX_CLOCK_SKEW), Ok(()));
    }
}
