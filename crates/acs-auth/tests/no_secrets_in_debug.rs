//! `Debug` (plain and pretty) of every type that holds a key or a signature shows neither.

// Test code: a failed unwrap or panic is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, UNIX_EPOCH};

use acs_auth::{
    AUTHORIZATION_PREFIX, AccessKey, AccessKeyCredential, ConnectionString, RequestToSign, sign,
    sign_request,
};

/// base64 of "secretkeysecretkeysecretkeysecretkey".
const KEY: &str = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5";

/// Texts none of which may appear in any `Debug` output: the key text, a prefix of it long enough
/// to be recognised, the decoded key, and (added per case) the signature.
fn forbidden(signature: Option<&str>) -> Vec<String> {
    let mut texts = vec![KEY.to_owned(), KEY[..12].to_owned(), "secretkey".to_owned()];
    texts.extend(signature.map(str::to_owned));
    texts
}

fn assert_clean(what: &str, text: &str, signature: Option<&str>) {
    assert!(!text.is_empty(), "{what}: empty Debug output");
    for secret in forbidden(signature) {
        assert!(!text.contains(&secret), "{what} shows {secret:?}: {text}");
    }
    // Also no decoded key bytes printed as a list (`[115, 101, 99, ...]` for "sec").
    assert!(
        !text.contains("115, 101, 99"),
        "{what} shows key bytes: {text}"
    );
}

fn both(value: &impl std::fmt::Debug) -> [String; 2] {
    [format!("{value:?}"), format!("{value:#?}")]
}

#[test]
fn debug_of_secret_holding_types_shows_no_secret() {
    let key = AccessKey::from_base64(KEY).unwrap();
    let credential = AccessKeyCredential::new(key.clone());
    let connection_string = ConnectionString::parse(&format!(
        "endpoint=https://contoso.communication.azure.com/;accesskey={KEY}"
    ))
    .unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(1_796_053_912);
    let request = RequestToSign {
        method: "POST",
        path_and_query: "/identities?api-version=2023-10-01",
        host: "contoso.communication.azure.com",
        body: br#"{"createTokenWithScopes":["chat"]}"#,
    };
    let signed = sign(&key, &request, at);
    let signature = signed
        .authorization
        .strip_prefix(AUTHORIZATION_PREFIX)
        .unwrap()
        .to_owned();
    assert_eq!(signature.len(), 44);

    let mut reqwest_request = reqwest::Request::new(
        reqwest::Method::POST,
        "https://contoso.communication.azure.com/identities?api-version=2023-10-01"
            .parse()
            .unwrap(),
    );
    *reqwest_request.body_mut() =
        Some(reqwest::Body::from(r#"{"createTokenWithScopes":["chat"]}"#));
    sign_request(&mut reqwest_request, &key, at).unwrap();
    let wire_signature = reqwest_request.headers()["authorization"]
        .to_str()
        .unwrap()
        .strip_prefix(AUTHORIZATION_PREFIX)
        .unwrap()
        .to_owned();
    // Same request, same time, same key: the adapter made the same signature.
    assert_eq!(wire_signature, signature);

    let cases: Vec<(&str, [String; 2])> = vec![
        ("AccessKey", both(&key)),
        ("AccessKeyCredential", both(&credential)),
        ("ConnectionString", both(&connection_string)),
        ("SignedHeaders", both(&signed)),
        ("reqwest::Request headers", both(reqwest_request.headers())),
        ("reqwest::Request", both(&reqwest_request)),
    ];
    for (what, texts) in &cases {
        for text in texts {
            assert_clean(what, text, Some(&signature));
        }
    }

    // The non-secret parts stay visible, so the output is still useful.
    assert!(format!("{connection_string:?}").contains("https://contoso.communication.azure.com/"));
    let signed_debug = format!("{signed:?}");
    assert!(signed_debug.contains(&signed.date));
    assert!(signed_debug.contains(&signed.content_sha256));
    assert!(format!("{:?}", reqwest_request.headers()).contains("x-ms-date"));
}

#[test]
fn display_of_connection_string_shows_no_key() {
    let cs =
        ConnectionString::parse(&format!("endpoint=https://a.example/;accesskey={KEY}")).unwrap();
    let text = cs.to_string();
    assert_clean("ConnectionString Display", &text, None);
    assert!(text.starts_with("endpoint=https://a.example/;accesskey="));
}

#[test]
fn rotated_credential_debug_shows_neither_key() {
    let credential = AccessKeyCredential::from_base64("pw==").unwrap();
    credential.update(AccessKey::from_base64(KEY).unwrap());
    for text in both(&credential) {
        assert_clean("rotated AccessKeyCredential", &text, None);
        assert!(!text.contains("pw=="), "{text}");
    }
}
