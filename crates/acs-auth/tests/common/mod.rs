//! Helpers shared by the integration tests: pairing a request with the headers it was signed with.

use acs_auth::{ReceivedRequest, RequestToSign, SignedHeaders};

/// `request` as a verifier receives it, carrying the three headers in `h`.
pub fn received<'a>(request: RequestToSign<'a>, h: &'a SignedHeaders) -> ReceivedRequest<'a> {
    ReceivedRequest {
        request,
        date: Some(&h.date),
        content_sha256: Some(&h.content_sha256),
        authorization: Some(&h.authorization),
    }
}

/// The three headers `sign_request` set on `r`.
pub fn signed_headers_of(r: &reqwest::Request) -> SignedHeaders {
    let get = |name: &str| r.headers()[name].to_str().unwrap().to_owned();
    SignedHeaders {
        date: get("x-ms-date"),
        content_sha256: get("x-ms-content-sha256"),
        authorization: get("authorization"),
    }
}
