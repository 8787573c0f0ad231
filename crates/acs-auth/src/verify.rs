use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::date::parse_http_date;
use crate::key::AccessKey;
use crate::sign::{RequestToSign, content_hash, string_to_sign};

/// How far a request's date may be from the verifier's clock: 15 minutes, as the service allows.
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// A received request, as a verifier sees it.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedRequest<'a> {
    /// The parts the signature covers: method, target as received, `Host` header, body bytes.
    pub request: RequestToSign<'a>,
    /// The `x-ms-date` header (or, if absent, the `Date` header).
    pub date: Option<&'a str>,
    /// The `x-ms-content-sha256` header.
    pub content_sha256: Option<&'a str>,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
}

/// Which part of a request failed verification. Never contains a key or a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required header is absent; names it.
    MissingHeader(&'static str),
    /// The `Authorization` header is not `HMAC-SHA256 SignedHeaders=...&Signature=...`.
    MalformedAuthorization,
    /// `SignedHeaders` lists other headers than `x-ms-date;host;x-ms-content-sha256`.
    UnsupportedSignedHeaders,
    /// The date header is not an IMF-fixdate.
    BadDate,
    /// The date is further from the verifier's clock than allowed.
    DateOutOfRange,
    /// `x-ms-content-sha256` does not match the body received.
    ContentHashMismatch,
    /// The signature does not match (wrong key, or method, target, host or date changed).
    SignatureMismatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::MissingHeader(name) => write!(f, "the request has no `{name}` header"),
            VerifyError::MalformedAuthorization => f.write_str(
                "the Authorization header is not `HMAC-SHA256 SignedHeaders=...&Signature=...`",
            ),
            VerifyError::UnsupportedSignedHeaders => f.write_str(
                "SignedHeaders must be `x-ms-date;host;x-ms-content-sha256`",
            ),
            VerifyError::BadDate => f.write_str("the x-ms-date header is not an IMF-fixdate"),
            VerifyError::DateOutOfRange => {
                f.write_str("the x-ms-date header is too far from the current time")
            }
            VerifyError::ContentHashMismatch => f.write_str(
                "Request 'x-ms-content-sha256' differs from generated content hash.",
            ),
            VerifyError::SignatureMismatch => {
                f.write_str("the request signature does not match")
            }
        }
    }
}

impl std::error::Error for VerifyError {}

/// Checks a received request's HMAC-SHA256 signature and content hash.
///
/// Checks, in order: headers present, `Authorization` shape, date format, date within
/// `max_skew` of `now`, content hash of the body, signature (compared in constant time).
pub fn verify(
    key: &AccessKey,
    received: &ReceivedRequest<'_>,
    now: SystemTime,
    max_skew: Duration,
) -> Result<(), VerifyError> {
    let authorization = received
        .authorization
        .ok_or(VerifyError::MissingHeader("authorization"))?;
    let date = received.date.ok_or(VerifyError::MissingHeader("x-ms-date"))?;
    let claimed_hash = received
        .content_sha256
        .ok_or(VerifyError::MissingHeader("x-ms-content-sha256"))?;

    let rest = authorization
        .trim()
        .strip_prefix("HMAC-SHA256")
        .ok_or(VerifyError::MalformedAuthorization)?
        .trim_start();
    let (signed_headers, signature) = rest
        .strip_prefix("SignedHeaders=")
        .and_then(|r| r.split_once("&Signature="))
        .ok_or(VerifyError::MalformedAuthorization)?;
    let headers_ok = signed_headers.split(';').map(str::trim).map(str::to_ascii_lowercase).eq([
        "x-ms-date",
        "host",
        "x-ms-content-sha256",
    ]);
    if !headers_ok {
        return Err(VerifyError::UnsupportedSignedHeaders);
    }
    let signature = STANDARD
        .decode(signature.trim())
        .map_err(|_| VerifyError::MalformedAuthorization)?;

    let signed_at = parse_http_date(date.trim()).map_err(|_| VerifyError::BadDate)?;
    let skew = match now.duration_since(signed_at) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > max_skew {
        return Err(VerifyError::DateOutOfRange);
    }

    if content_hash(received.request.body) != claimed_hash.trim() {
        return Err(VerifyError::ContentHashMismatch);
    }

    let to_sign = string_to_sign(&received.request, date, claimed_hash);
    if key.verify_hmac_sha256(to_sign.as_bytes(), &signature) {
        Ok(())
    } else {
        Err(VerifyError::SignatureMismatch)
    }
}
