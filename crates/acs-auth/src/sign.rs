use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::date::format_http_date;
use crate::key::AccessKey;

/// Name of the header carrying the signing date.
pub const X_MS_DATE: &str = "x-ms-date";
/// Name of the header carrying the base64 SHA-256 of the body.
pub const X_MS_CONTENT_SHA256: &str = "x-ms-content-sha256";
/// What every `Authorization` value made by [`sign`] starts with; the signature follows it.
pub const AUTHORIZATION_PREFIX: &str =
    "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=";
/// The content hash of an empty body.
pub const EMPTY_CONTENT_HASH: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

/// The parts of a request that its signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestToSign<'a> {
    /// HTTP method, upper case as sent (`POST`).
    pub method: &'a str,
    /// The request target exactly as it goes on the wire: path, and `?query` when there is one.
    pub path_and_query: &'a str,
    /// The URL authority: host, plus `:port` when the port is not the scheme's default.
    pub host: &'a str,
    /// The body bytes exactly as sent (empty for no body).
    pub body: &'a [u8],
}

/// The three header values a signed request carries.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `x-ms-date`: the signing time as an IMF-fixdate.
    pub date: String,
    /// `x-ms-content-sha256`: base64 SHA-256 of the body.
    pub content_sha256: String,
    /// `Authorization`: `HMAC-SHA256 SignedHeaders=...&Signature=...`.
    pub authorization: String,
}

impl fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedHeaders")
            .field("date", &self.date)
            .field("content_sha256", &self.content_sha256)
            .field("authorization", &"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<redacted>")
            .finish()
    }
}

/// Base64 of the SHA-256 of `body`.
pub fn content_hash(body: &[u8]) -> String {
    if body.is_empty() {
        return EMPTY_CONTENT_HASH.to_owned();
    }
    STANDARD.encode(Sha256::digest(body))
}

/// The string an ACS HMAC signature is computed over:
/// `METHOD\npath_and_query\ndate;host;content_hash`.
///
/// Useful for debugging a signature mismatch; it contains no secret.
pub fn string_to_sign(request: &RequestToSign<'_>, date: &str, content_hash: &str) -> String {
    let mut out = String::with_capacity(
        request.method.len()
            + request.path_and_query.len()
            + date.len()
            + request.host.len()
            + content_hash.len()
            + 4,
    );
    out.push_str(request.method);
    out.push('\n');
    out.push_str(request.path_and_query);
    out.push('\n');
    out.push_str(date);
    out.push(';');
    out.push_str(request.host);
    out.push(';');
    out.push_str(content_hash);
    out
}

/// Signs `request` at time `at` with `key`, returning the header values to send.
///
/// Pure: the same inputs always give the same headers.
pub fn sign(key: &AccessKey, request: &RequestToSign<'_>, at: SystemTime) -> SignedHeaders {
    let date = format_http_date(at);
    let content_sha256 = content_hash(request.body);
    let to_sign = string_to_sign(request, &date, &content_sha256);
    let signature = key.hmac_sha256(to_sign.as_bytes());
    let mut authorization = String::with_capacity(AUTHORIZATION_PREFIX.len() + 44);
    authorization.push_str(AUTHORIZATION_PREFIX);
    STANDARD.encode_string(signature, &mut authorization);
    SignedHeaders {
        date,
        content_sha256,
        authorization,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn python_sdk_vector() {
        // Python SDK tests/test_hmac.py: GET https://contoso.communicationservices.azure.com/
        let key = AccessKey::from_base64("pw==").unwrap();
        let at = UNIX_EPOCH + Duration::from_secs(1_649_873_352);
        let signed = sign(
            &key,
            &RequestToSign {
                method: "GET",
                path_and_query: "/",
                host: "contoso.communicationservices.azure.com",
                body: b"",
            },
            at,
        );
        assert_eq!(signed.date, "Wed, 13 Apr 2022 18:09:12 GMT");
        assert_eq!(signed.content_sha256, EMPTY_CONTENT_HASH);
        assert_eq!(
            signed.authorization,
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=88MDmJhUR3m5QhFxb8ztShsSwlGrg7g/6XPnWf7QEO4="
        );
    }

    #[test]
    fn js_sdk_wire_vector() {
        // Captured from @azure/communication-identity 1.3.1: create user and token.
        let key =
            AccessKey::from_base64("c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5").unwrap();
        let at = crate::parse_http_date("Thu, 26 Nov 2026 15:51:52 GMT").unwrap();
        let signed = sign(
            &key,
            &RequestToSign {
                method: "POST",
                path_and_query: "/identities?api-version=2023-10-01",
                host: "127.0.0.1:18123",
                body: br#"{"createTokenWithScopes":["chat","voip"],"expiresInMinutes":60}"#,
            },
            at,
        );
        assert_eq!(
            signed.content_sha256,
            "jENEeifYNCidF9FcfXJ54WzhK3ED/2UrQyA4+oWOZKc="
        );
        assert_eq!(
            signed.authorization,
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=lmMdnmmxWLQ6p8B7qdVRVLNgLP4NBzEdbO2OcTINkX4="
        );
    }

    #[test]
    fn content_hashes() {
        assert_eq!(content_hash(b""), EMPTY_CONTENT_HASH);
        assert_eq!(
            content_hash(b"banana"),
            "tJPUg2Sv5E0RwBZc9HCkFk0eJgmRHvmYvoaNRq3j3k4="
        );
        assert_eq!(
            content_hash("\u{1F600}".as_bytes()),
            "8EQ6NCxe9UeDoRG1G6Vsk45HTDIyTZDDpgycjjo34tk="
        );
    }

    #[test]
    fn debug_hides_signature() {
        let key = AccessKey::from_base64("pw==").unwrap();
        let req = RequestToSign {
            method: "GET",
            path_and_query: "/",
            host: "h",
            body: b"",
        };
        let signed = sign(&key, &req, UNIX_EPOCH);
        let sig = signed
            .authorization
            .strip_prefix(AUTHORIZATION_PREFIX)
            .unwrap();
        assert_eq!(sig.len(), 44);
        let debug = format!("{signed:?}");
        assert!(!debug.contains(sig));
        assert!(debug.contains("<redacted>"));
    }
}
