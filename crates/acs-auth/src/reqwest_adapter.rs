use std::fmt;
use std::time::SystemTime;

use reqwest::header::{AUTHORIZATION, HOST, HeaderName, HeaderValue};

use crate::key::AccessKey;
use crate::sign::{RequestToSign, SignedHeaders, X_MS_CONTENT_SHA256, X_MS_DATE, sign};

/// Why a `reqwest::Request` could not be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignRequestError {
    /// The body is a stream, so its bytes (which the signature must cover) are not known up front.
    StreamingBody,
    /// The URL has no host to sign.
    NoHost,
    /// The request carries a `Host` header that is not visible ASCII text.
    InvalidHostHeader,
}

impl fmt::Display for SignRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignRequestError::StreamingBody => f.write_str(
                "cannot sign a request with a streaming body: HMAC signing needs the exact body bytes; use a buffered body",
            ),
            SignRequestError::NoHost => f.write_str("cannot sign a request whose URL has no host"),
            SignRequestError::InvalidHostHeader => {
                f.write_str("cannot sign a request whose `Host` header is not visible ASCII text")
            }
        }
    }
}

impl std::error::Error for SignRequestError {}

/// The request target as it goes on the wire: the path as encoded in the URL, then `?query` only
/// when the query is non-empty.
pub fn request_target(url: &reqwest::Url) -> &str {
    let start = url.as_str().len() - url[url::Position::BeforePath..].len();
    let end = match url.query() {
        Some("") => url[..url::Position::AfterPath].len(),
        _ => url[..url::Position::AfterQuery].len(),
    };
    &url.as_str()[start..end]
}

/// The URL authority as sent in `Host`: the host, plus `:port` when it is not the scheme's default.
pub fn request_host(url: &reqwest::Url) -> Option<String> {
    url_authority(url).map(str::to_owned)
}

/// [`request_host`] without a copy: the URL's serialization already holds the host (IPv6 in
/// brackets) and the port only when it is not the scheme's default.
fn url_authority(url: &reqwest::Url) -> Option<&str> {
    url.host_str()?;
    Some(&url[url::Position::BeforeHost..url::Position::AfterPort])
}

/// A header value from a string `sign` made (ASCII: a date, base64), moved without a copy.
fn header_value(text: String) -> Option<HeaderValue> {
    HeaderValue::try_from(text).ok()
}

/// Signs a built request in place at time `at`: sets `x-ms-date`, `x-ms-content-sha256` and
/// `Authorization` (marked sensitive, so `reqwest` does not print it).
///
/// An empty query (`...?`) is removed from the URL first, so the target signed is the target sent.
/// The host signed is the request's own `Host` header when it has one (the HTTP/1 client sends that
/// header instead of deriving one from the URL), else [`request_host`] of the URL.
pub fn sign_request(
    request: &mut reqwest::Request,
    key: &AccessKey,
    at: SystemTime,
) -> Result<(), SignRequestError> {
    if request.url().query() == Some("") {
        request.url_mut().set_query(None);
    }
    let body: &[u8] = match request.body() {
        None => b"",
        Some(body) => body.as_bytes().ok_or(SignRequestError::StreamingBody)?,
    };
    let url_host = url_authority(request.url()).ok_or(SignRequestError::NoHost)?;
    let host = match request.headers().get(HOST) {
        Some(value) => value
            .to_str()
            .map_err(|_| SignRequestError::InvalidHostHeader)?,
        None => url_host,
    };
    let signed = sign(
        key,
        &RequestToSign {
            method: request.method().as_str(),
            path_and_query: request_target(request.url()),
            host,
            body,
        },
        at,
    );
    insert_signed_headers(request.headers_mut(), signed);
    Ok(())
}

/// Sets `x-ms-date`, `x-ms-content-sha256` and `Authorization` (marked sensitive, so `reqwest`
/// does not print it) from what [`sign`] made, replacing any earlier values: for a caller that
/// signs the parts of a request it holds itself (its target, host and body bytes).
pub fn insert_signed_headers(headers: &mut reqwest::header::HeaderMap, signed: SignedHeaders) {
    // Values made by `sign` are ASCII (date, base64), so conversion cannot fail.
    if let Some(v) = header_value(signed.date) {
        headers.insert(HeaderName::from_static(X_MS_DATE), v);
    }
    if let Some(v) = header_value(signed.content_sha256) {
        headers.insert(HeaderName::from_static(X_MS_CONTENT_SHA256), v);
    }
    if let Some(mut v) = header_value(signed.authorization) {
        v.set_sensitive(true);
        headers.insert(AUTHORIZATION, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn req(method: reqwest::Method, url: &str, body: Option<&'static str>) -> reqwest::Request {
        let mut r = reqwest::Request::new(method, url.parse().unwrap());
        if let Some(b) = body {
            *r.body_mut() = Some(reqwest::Body::from(b));
        }
        r
    }

    #[test]
    fn target_keeps_encoding_and_drops_empty_query() {
        let url: reqwest::Url = "https://x.communication.azure.com/identities/8%3Aacs%3Aabc/:issueAccessToken?api-version=2023-10-01".parse().unwrap();
        assert_eq!(
            request_target(&url),
            "/identities/8%3Aacs%3Aabc/:issueAccessToken?api-version=2023-10-01"
        );
        let url: reqwest::Url = "https://x.example/a?".parse().unwrap();
        assert_eq!(request_target(&url), "/a");
        let url: reqwest::Url = "https://x.example".parse().unwrap();
        assert_eq!(request_target(&url), "/");
    }

    #[test]
    fn host_includes_non_default_port_only() {
        let h = |u: &str| request_host(&u.parse().unwrap()).unwrap();
        assert_eq!(h("https://a.example/"), "a.example");
        assert_eq!(h("https://a.example:443/"), "a.example");
        assert_eq!(h("http://a.example:80/"), "a.example");
        assert_eq!(h("http://127.0.0.1:18123/"), "127.0.0.1:18123");
        assert_eq!(h("https://[::1]:8443/"), "[::1]:8443");
        assert_eq!(h("https://u:p@a.example:8443/x?y"), "a.example:8443");
        assert_eq!(h("HTTPS://A.Example:443"), "a.example");
    }

    #[test]
    fn signs_like_the_js_sdk() {
        let key =
            AccessKey::from_base64("c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5").unwrap();
        let at = crate::parse_http_date("Thu, 26 Nov 2026 15:51:52 GMT").unwrap();
        let mut r = req(
            reqwest::Method::POST,
            "http://127.0.0.1:18123/identities?api-version=2023-10-01",
            None,
        );
        sign_request(&mut r, &key, at).unwrap();
        let h = r.headers();
        assert_eq!(h["x-ms-date"], "Thu, 26 Nov 2026 15:51:52 GMT");
        assert_eq!(h["x-ms-content-sha256"], crate::EMPTY_CONTENT_HASH);
        assert_eq!(
            h["authorization"],
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=0FTsJcpqCfRTm8/f4/oRvfdQMIasKdxgwI7Zt17SWWI="
        );
        assert!(h["authorization"].is_sensitive());
    }

    #[test]
    fn empty_query_is_removed_before_signing() {
        let key = AccessKey::from_base64("pw==").unwrap();
        let mut r = req(reqwest::Method::GET, "https://a.example/x?", None);
        sign_request(&mut r, &key, UNIX_EPOCH + Duration::from_secs(1)).unwrap();
        assert_eq!(r.url().as_str(), "https://a.example/x");
    }

    #[test]
    fn streaming_body_is_an_error() {
        let key = AccessKey::from_base64("pw==").unwrap();
        let mut r = req(reqwest::Method::POST, "https://a.example/x", None);
        // A `String` wrapped as an `http_body::Body` is a streaming body to reqwest.
        *r.body_mut() = Some(reqwest::Body::wrap(String::from("{}")));
        assert_eq!(
            sign_request(&mut r, &key, UNIX_EPOCH),
            Err(SignRequestError::StreamingBody)
        );
        assert!(r.headers().get("authorization").is_none());
        assert!(r.headers().get("x-ms-date").is_none());
    }

    #[test]
    fn explicit_host_header_is_what_gets_signed() {
        let key = AccessKey::from_base64("pw==").unwrap();
        let at = UNIX_EPOCH + Duration::from_secs(1_649_873_352);
        let mut r = req(reqwest::Method::GET, "http://127.0.0.1:8080/testPath", None);
        r.headers_mut().insert(
            HOST,
            HeaderValue::from_static("contoso.communicationservices.azure.com"),
        );
        sign_request(&mut r, &key, at).unwrap();
        let expected = sign(
            &key,
            &RequestToSign {
                method: "GET",
                path_and_query: "/testPath",
                host: "contoso.communicationservices.azure.com",
                body: b"",
            },
            at,
        );
        assert_eq!(
            r.headers()["authorization"],
            expected.authorization.as_str()
        );

        let mut r = req(reqwest::Method::GET, "http://127.0.0.1:8080/", None);
        r.headers_mut()
            .insert(HOST, HeaderValue::from_bytes(b"caf\xe9").unwrap());
        assert_eq!(
            sign_request(&mut r, &key, at),
            Err(SignRequestError::InvalidHostHeader)
        );
    }

    #[test]
    fn body_bytes_are_hashed_as_sent() {
        let key = AccessKey::from_base64("pw==").unwrap();
        let mut r = req(reqwest::Method::POST, "https://a.example/x", Some("banana"));
        sign_request(&mut r, &key, UNIX_EPOCH).unwrap();
        assert_eq!(
            r.headers()["x-ms-content-sha256"],
            "tJPUg2Sv5E0RwBZc9HCkFk0eJgmRHvmYvoaNRq3j3k4="
        );
    }
}
