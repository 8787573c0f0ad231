//! Request authentication as the service does it: HMAC-SHA256 over the request target exactly as
//! received and the `Host` header, or an Entra ID bearer token.
//!
//! Bearer tokens are decoded but their signatures are **not** checked: a JWT whose audience is
//! `https://communication.azure.com` (with or without a trailing `/`) and that has not expired
//! is accepted.

use std::time::SystemTime;

use acs_auth::{AccessKey, DEFAULT_MAX_CLOCK_SKEW, ReceivedRequest, RequestToSign, VerifyError};
use http::{HeaderMap, StatusCode, Uri};

use crate::entra;
use crate::errors::ApiError;

/// Why a request was not authenticated. Never contains a key, signature or token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// No `Authorization` header.
    #[error(
        "the request has no Authorization header; sign it with HMAC-SHA256 or send an Entra ID bearer token"
    )]
    MissingAuthorization,
    /// An `Authorization` header of another scheme than `HMAC-SHA256` or `Bearer`.
    #[error("the Authorization header is neither `HMAC-SHA256 ...` nor `Bearer ...`")]
    UnsupportedScheme,
    /// No usable `Host` header (and no authority in the request target).
    #[error("the request has no Host header")]
    MissingHost,
    /// The HMAC check failed.
    #[error("{}", hmac_message(.0))]
    Hmac(VerifyError),
    /// The bearer token is not a JWT for `https://communication.azure.com`, or has expired.
    #[error("the bearer token is not accepted: {0}")]
    InvalidBearer(&'static str),
}

/// What an HMAC failure says: `acs_auth`'s words, or, for the two a user most often meets, what
/// to check.
fn hmac_message(error: &VerifyError) -> String {
    match error {
        VerifyError::SignatureMismatch => "the HMAC signature does not match: check the access key, and that the signed method, path and query \
             (exactly as sent, same percent-encoding), Host (with the port) and x-ms-date are what was sent".into(),
        VerifyError::DateOutOfRange => "x-ms-date is more than 15 minutes away from the emulator's clock".into(),
        other => other.to_string(),
    }
}

impl AuthFailure {
    fn inner_code(&self) -> &'static str {
        match self {
            AuthFailure::MissingAuthorization => "MissingAuthorization",
            AuthFailure::UnsupportedScheme => "UnsupportedAuthorizationScheme",
            AuthFailure::MissingHost => "MissingHost",
            AuthFailure::Hmac(VerifyError::MissingHeader(_)) => "MissingHeader",
            AuthFailure::Hmac(VerifyError::MalformedAuthorization) => "MalformedAuthorization",
            AuthFailure::Hmac(VerifyError::UnsupportedSignedHeaders) => "UnsupportedSignedHeaders",
            AuthFailure::Hmac(VerifyError::BadDate) => "InvalidDate",
            AuthFailure::Hmac(VerifyError::DateOutOfRange) => "DateOutOfRange",
            AuthFailure::Hmac(VerifyError::ContentHashMismatch) => "ContentHashMismatch",
            AuthFailure::Hmac(VerifyError::SignatureMismatch) => "SignatureMismatch",
            AuthFailure::Hmac(_) => "HmacInvalid",
            AuthFailure::InvalidBearer(_) => "InvalidBearerToken",
        }
    }

    /// The 401 answer: code `Denied`; a content hash mismatch carries the service's own
    /// message, everything else `Denied by the resource provider.` with the precise reason in
    /// `innererror`.
    pub(crate) fn to_api_error(&self) -> ApiError {
        let message = match self {
            AuthFailure::Hmac(VerifyError::ContentHashMismatch) => {
                "Request 'x-ms-content-sha256' differs from generated content hash."
            }
            _ => "Denied by the resource provider.",
        };
        ApiError::new(StatusCode::UNAUTHORIZED, "Denied", message)
            .with_inner(self.inner_code(), self.to_string())
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The date a request was signed with: `x-ms-date`, else `Date`.
pub(crate) fn signed_date(headers: &HeaderMap) -> Option<&str> {
    header(headers, "x-ms-date").or_else(|| header(headers, "date"))
}

/// The `Host` a request was sent to: the `Host` header, else the target's authority (HTTP/2).
pub fn request_host<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Option<&'a str> {
    header(headers, "host").or_else(|| uri.authority().map(|a| a.as_str()))
}

/// The request target exactly as received: path and query, as sent on the wire.
pub fn request_target(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |pq| pq.as_str())
}

/// Verifies an HMAC-SHA256 signed request against `key` at time `now`, as the emulator does for
/// every request: over `method`, the `target` exactly as received, the `Host` header (given in
/// `headers`), `x-ms-date` (or `Date`), and the body bytes; 15 minutes of clock skew allowed.
pub fn verify_hmac_request(
    key: &AccessKey,
    method: &str,
    target: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<(), AuthFailure> {
    let host = header(headers, "host").ok_or(AuthFailure::MissingHost)?;
    let request = RequestToSign {
        method,
        path_and_query: target,
        host,
        body,
    };
    verify_hmac_parts(key, request, header(headers, "authorization"), headers, now)
}

/// The HMAC check once `Host` and `Authorization` are known (each looked up once per request).
fn verify_hmac_parts(
    key: &AccessKey,
    request: RequestToSign<'_>,
    authorization: Option<&str>,
    headers: &HeaderMap,
    now: SystemTime,
) -> Result<(), AuthFailure> {
    let received = ReceivedRequest {
        request,
        date: signed_date(headers),
        content_sha256: header(headers, "x-ms-content-sha256"),
        authorization,
    };
    acs_auth::verify(key, &received, now, DEFAULT_MAX_CLOCK_SKEW).map_err(AuthFailure::Hmac)
}

/// Checks a bearer token as the emulator does: a JWT (signature not checked) whose audience is
/// `https://communication.azure.com` and that is in force at `now` (not expired, not valid only
/// later).
pub fn verify_bearer(token: &str, now: SystemTime) -> Result<(), AuthFailure> {
    let jwt =
        entra::decode_unverified(token).ok_or(AuthFailure::InvalidBearer("it is not a JWT"))?;
    if !jwt.has_audience(entra::ACS_AUDIENCE) {
        return Err(AuthFailure::InvalidBearer(
            "its audience (aud) is not https://communication.azure.com",
        ));
    }
    if !jwt.in_force_at(now) {
        return Err(AuthFailure::InvalidBearer(
            "it has expired, has no exp claim, or is not valid yet (nbf or iat in the future)",
        ));
    }
    Ok(())
}

/// Authenticates a received request by whichever scheme its `Authorization` header uses.
pub fn authenticate(
    key: &AccessKey,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<(), AuthFailure> {
    let authorization = match headers.get("authorization") {
        None => return Err(AuthFailure::MissingAuthorization),
        Some(v) => v
            .to_str()
            .map_err(|_| AuthFailure::UnsupportedScheme)?
            .trim(),
    };
    let scheme = authorization.split_ascii_whitespace().next().unwrap_or("");
    if scheme.eq_ignore_ascii_case("Bearer") {
        let token = authorization[scheme.len()..].trim();
        return verify_bearer(token, now);
    }
    if !scheme.starts_with("HMAC-SHA256") {
        return Err(AuthFailure::UnsupportedScheme);
    }
    let host = request_host(uri, headers).ok_or(AuthFailure::MissingHost)?;
    let request = RequestToSign {
        method,
        path_and_query: request_target(uri),
        host,
        body,
    };
    verify_hmac_parts(key, request, Some(authorization), headers, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use std::time::Duration;

    const KEY: &str = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5";

    fn js_create_headers() -> HeaderMap {
        // One line of the JS SDK 1.3.1 capture (create user), kept literally so this runs on a
        // fresh clone.
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:18123"));
        h.insert(
            "x-ms-date",
            HeaderValue::from_static("Thu, 26 Nov 2026 15:51:52 GMT"),
        );
        h.insert(
            "x-ms-content-sha256",
            HeaderValue::from_static("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        );
        h.insert(
            "authorization",
            HeaderValue::from_static(
                "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=0FTsJcpqCfRTm8/f4/oRvfdQMIasKdxgwI7Zt17SWWI=",
            ),
        );
        h
    }

    fn capture_time() -> SystemTime {
        acs_auth::parse_http_date("Thu, 26 Nov 2026 15:51:52 GMT").unwrap()
    }

    #[test]
    fn verifies_a_captured_js_request() {
        let key = AccessKey::from_base64(KEY).unwrap();
        let h = js_create_headers();
        let target = "/identities?api-version=2023-10-01";
        assert_eq!(
            verify_hmac_request(&key, "POST", target, &h, b"", capture_time()),
            Ok(())
        );
        let uri: Uri = target.parse().unwrap();
        assert_eq!(
            authenticate(&key, "POST", &uri, &h, b"", capture_time()),
            Ok(())
        );
    }

    #[test]
    fn rejects_each_tampered_part() {
        let key = AccessKey::from_base64(KEY).unwrap();
        let h = js_create_headers();
        let t = "/identities?api-version=2023-10-01";
        let now = capture_time();
        let sig = Err(AuthFailure::Hmac(VerifyError::SignatureMismatch));
        assert_eq!(verify_hmac_request(&key, "PUT", t, &h, b"", now), sig);
        assert_eq!(
            verify_hmac_request(
                &key,
                "POST",
                "/identities?api-version=2022-10-01",
                &h,
                b"",
                now
            ),
            sig
        );
        let mut other_host = h.clone();
        other_host.insert("host", HeaderValue::from_static("127.0.0.1:18124"));
        assert_eq!(
            verify_hmac_request(&key, "POST", t, &other_host, b"", now),
            sig
        );
        let wrong = AccessKey::from_base64("d3Jvbmc=").unwrap();
        assert_eq!(verify_hmac_request(&wrong, "POST", t, &h, b"", now), sig);
        assert_eq!(
            verify_hmac_request(&key, "POST", t, &h, b"{}", now),
            Err(AuthFailure::Hmac(VerifyError::ContentHashMismatch))
        );
        assert_eq!(
            verify_hmac_request(
                &key,
                "POST",
                t,
                &h,
                b"",
                now + Duration::from_secs(15 * 60 + 1)
            ),
            Err(AuthFailure::Hmac(VerifyError::DateOutOfRange))
        );
        assert_eq!(
            verify_hmac_request(&key, "POST", t, &h, b"", now - Duration::from_secs(15 * 60)),
            Ok(())
        );
        let mut no_host = h.clone();
        no_host.remove("host");
        assert_eq!(
            verify_hmac_request(&key, "POST", t, &no_host, b"", now),
            Err(AuthFailure::MissingHost)
        );
    }

    #[test]
    fn error_bodies_name_no_secret() {
        let e = AuthFailure::Hmac(VerifyError::ContentHashMismatch).to_api_error();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        assert_eq!(e.body.code, "Denied");
        assert_eq!(
            e.body.message,
            "Request 'x-ms-content-sha256' differs from generated content hash."
        );
        let e = AuthFailure::Hmac(VerifyError::SignatureMismatch).to_api_error();
        assert_eq!(e.body.message, "Denied by the resource provider.");
        assert_eq!(
            e.body.innererror.as_ref().unwrap().code,
            "SignatureMismatch"
        );
    }

    #[test]
    fn bearer_rules() {
        let now = SystemTime::now();
        let good = entra::test_bearer_token(now + Duration::from_secs(600));
        assert_eq!(verify_bearer(&good, now), Ok(()));
        let expired = entra::test_bearer_token(now - Duration::from_secs(5));
        assert_eq!(
            verify_bearer(&expired, now),
            Err(AuthFailure::InvalidBearer(
                "it has expired, has no exp claim, or is not valid yet (nbf or iat in the future)"
            ))
        );
        let teams = entra::test_token("a", "u", now + Duration::from_secs(600));
        assert_eq!(
            verify_bearer(&teams, now),
            Err(AuthFailure::InvalidBearer(
                "its audience (aud) is not https://communication.azure.com"
            )),
            "wrong audience"
        );
        assert_eq!(
            verify_bearer("nope", now),
            Err(AuthFailure::InvalidBearer("it is not a JWT"))
        );
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {good}")).unwrap(),
        );
        let uri: Uri = "/identities?api-version=2023-10-01".parse().unwrap();
        let key = AccessKey::from_base64(KEY).unwrap();
        assert_eq!(authenticate(&key, "POST", &uri, &h, b"", now), Ok(()));
        h.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert_eq!(
            authenticate(&key, "POST", &uri, &h, b"", now),
            Err(AuthFailure::UnsupportedScheme)
        );
    }
}
