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
            VerifyError::UnsupportedSignedHeaders => {
                f.write_str("SignedHeaders must be `x-ms-date;host;x-ms-content-sha256`")
            }
            VerifyError::BadDate => f.write_str("the x-ms-date header is not an IMF-fixdate"),
            VerifyError::DateOutOfRange => {
                f.write_str("the x-ms-date header is too far from the current time")
            }
            VerifyError::ContentHashMismatch => {
                f.write_str("Request 'x-ms-content-sha256' differs from generated content hash.")
            }
            VerifyError::SignatureMismatch => f.write_str("the request signature does not match"),
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
    let date = received
        .date
        .ok_or(VerifyError::MissingHeader("x-ms-date"))?;
    let claimed_hash = received
        .content_sha256
        .ok_or(VerifyError::MissingHeader("x-ms-content-sha256"))?;

    let rest = authorization
        .trim()
        .strip_prefix("HMAC-SHA256")
        .filter(|rest| rest.starts_with([' ', '\t']))
        .ok_or(VerifyError::MalformedAuthorization)?
        .trim_start();
    let (signed_headers, signature) = rest
        .strip_prefix("SignedHeaders=")
        .and_then(|r| r.split_once("&Signature="))
        .ok_or(VerifyError::MalformedAuthorization)?;
    let mut names = signed_headers.split(';').map(str::trim);
    let headers_ok = ["x-ms-date", "host", "x-ms-content-sha256"]
        .iter()
        .all(|expected| {
            names
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case(expected))
        })
        && names.next().is_none();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::{AUTHORIZATION_PREFIX, SignedHeaders, sign};
    use std::time::UNIX_EPOCH;

    const BODY: &[u8] = br#"{"scopes":["chat"]}"#;

    fn at() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_649_873_352)
    }

    fn request() -> RequestToSign<'static> {
        RequestToSign {
            method: "POST",
            path_and_query: "/identities/8%3Aacs%3Ax/:issueAccessToken?api-version=2023-10-01",
            host: "contoso.communication.azure.com",
            body: BODY,
        }
    }

    fn key() -> AccessKey {
        AccessKey::from_base64("c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5").unwrap()
    }

    fn received<'a>(request: RequestToSign<'a>, h: &'a SignedHeaders) -> ReceivedRequest<'a> {
        ReceivedRequest {
            request,
            date: Some(&h.date),
            content_sha256: Some(&h.content_sha256),
            authorization: Some(&h.authorization),
        }
    }

    fn check(r: &ReceivedRequest<'_>) -> Result<(), VerifyError> {
        verify(&key(), r, at(), DEFAULT_MAX_CLOCK_SKEW)
    }

    #[test]
    fn accepts_a_signed_request() {
        let h = sign(&key(), &request(), at());
        assert_eq!(check(&received(request(), &h)), Ok(()));
    }

    #[test]
    fn names_each_missing_header() {
        let h = sign(&key(), &request(), at());
        let mut r = received(request(), &h);
        r.authorization = None;
        assert_eq!(check(&r), Err(VerifyError::MissingHeader("authorization")));
        let mut r = received(request(), &h);
        r.date = None;
        assert_eq!(check(&r), Err(VerifyError::MissingHeader("x-ms-date")));
        let mut r = received(request(), &h);
        r.content_sha256 = None;
        assert_eq!(
            check(&r),
            Err(VerifyError::MissingHeader("x-ms-content-sha256"))
        );
    }

    #[test]
    fn bad_date_and_date_out_of_range() {
        let h = sign(&key(), &request(), at());
        let mut r = received(request(), &h);
        r.date = Some("2022-04-13T18:09:12Z");
        assert_eq!(check(&r), Err(VerifyError::BadDate));
        r.date = Some("Wed, 13 Apr 2022 18:09:12 UTC");
        assert_eq!(check(&r), Err(VerifyError::BadDate));
        let r = received(request(), &h);
        let skew = DEFAULT_MAX_CLOCK_SKEW + Duration::from_secs(1);
        assert_eq!(
            verify(&key(), &r, at() + skew, DEFAULT_MAX_CLOCK_SKEW),
            Err(VerifyError::DateOutOfRange)
        );
        assert_eq!(
            verify(&key(), &r, at() - skew, DEFAULT_MAX_CLOCK_SKEW),
            Err(VerifyError::DateOutOfRange)
        );
        // Exactly at the edge of the window is still accepted, on both sides.
        assert_eq!(
            verify(
                &key(),
                &r,
                at() + DEFAULT_MAX_CLOCK_SKEW,
                DEFAULT_MAX_CLOCK_SKEW
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                &key(),
                &r,
                at() - DEFAULT_MAX_CLOCK_SKEW,
                DEFAULT_MAX_CLOCK_SKEW
            ),
            Ok(())
        );
    }

    #[test]
    fn hash_mismatch_for_another_body_or_claimed_hash() {
        let h = sign(&key(), &request(), at());
        let other = RequestToSign {
            body: br#"{"scopes":["voip"]}"#,
            ..request()
        };
        assert_eq!(
            check(&received(other, &h)),
            Err(VerifyError::ContentHashMismatch)
        );
        let mut r = received(request(), &h);
        r.content_sha256 = Some(crate::EMPTY_CONTENT_HASH);
        assert_eq!(check(&r), Err(VerifyError::ContentHashMismatch));
    }

    #[test]
    fn signature_mismatch_for_each_signed_part_and_wrong_key() {
        let h = sign(&key(), &request(), at());
        for other in [
            RequestToSign {
                method: "PUT",
                ..request()
            },
            RequestToSign {
                path_and_query: "/identities?api-version=2023-10-01",
                ..request()
            },
            RequestToSign {
                host: "contoso.communication.azure.com:444",
                ..request()
            },
        ] {
            assert_eq!(
                check(&received(other, &h)),
                Err(VerifyError::SignatureMismatch),
                "{other:?}"
            );
        }
        // A date that still parses and is within the window, but is not the one signed.
        let mut r = received(request(), &h);
        r.date = Some("Wed, 13 Apr 2022 18:09:13 GMT");
        assert_eq!(check(&r), Err(VerifyError::SignatureMismatch));
        let other_key = AccessKey::from_base64("pw==").unwrap();
        assert_eq!(
            verify(
                &other_key,
                &received(request(), &h),
                at(),
                DEFAULT_MAX_CLOCK_SKEW
            ),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn malformed_or_unsupported_authorization() {
        let h = sign(&key(), &request(), at());
        let sig = h.authorization.strip_prefix(AUTHORIZATION_PREFIX).unwrap();
        let cases = [
            (format!("Bearer {sig}"), VerifyError::MalformedAuthorization),
            (
                format!(
                    "HMAC-SHA256SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={sig}"
                ),
                VerifyError::MalformedAuthorization,
            ),
            (
                "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=***"
                    .to_owned(),
                VerifyError::MalformedAuthorization,
            ),
            (
                format!("HMAC-SHA256 SignedHeaders=x-ms-date;host&Signature={sig}"),
                VerifyError::UnsupportedSignedHeaders,
            ),
            (
                format!(
                    "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256;date&Signature={sig}"
                ),
                VerifyError::UnsupportedSignedHeaders,
            ),
            (
                format!(
                    "HMAC-SHA256 SignedHeaders=host;x-ms-date;x-ms-content-sha256&Signature={sig}"
                ),
                VerifyError::UnsupportedSignedHeaders,
            ),
        ];
        for (authorization, expected) in cases {
            let mut r = received(request(), &h);
            r.authorization = Some(&authorization);
            assert_eq!(check(&r), Err(expected), "{authorization}");
        }
        // Letter case of the signed header names does not matter.
        let relaxed =
            format!("HMAC-SHA256 SignedHeaders=X-MS-Date;Host;X-MS-Content-SHA256&Signature={sig}");
        let mut r = received(request(), &h);
        r.authorization = Some(&relaxed);
        assert_eq!(check(&r), Ok(()));
    }
}
