//! Checks every request passes before it reaches the API: the `Host` it names is one this
//! emulator serves (against DNS rebinding), no security header is repeated, and a web page cannot
//! reach a control endpoint or change state (cross-site requests).
//!
//! DNS rebinding: a web page on `evil.example` whose name the attacker re-points at 127.0.0.1 can
//! make a browser send requests to the emulator, and the emulator accepts unsigned bearer JWTs.
//! Such requests carry `Host: evil.example`, so the emulator serves only loopback addresses,
//! `localhost` and the names the user allows explicitly (`--allow-host`).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use http::{HeaderMap, Method, StatusCode, header};

use crate::errors::ApiError;

/// The host names (beside loopback addresses and `localhost`) requests may name.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostPolicy {
    /// Lower-case names without a trailing dot.
    allowed: Vec<String>,
}

/// Headers a request may carry at most once: a second copy could make the signature checked
/// differ from what a proxy or the handler reads (RFC 9112 requires 400 for a repeated `Host`).
const SINGLE_HEADERS: [&str; 4] = ["host", "authorization", "x-ms-date", "x-ms-content-sha256"];

/// A name without the port, brackets, trailing dot and case: `[::1]:80` -> `::1`.
fn bare_host(authority: &str) -> Option<String> {
    if authority.contains('@') {
        return None;
    }
    let authority: http::uri::Authority = authority.parse().ok()?;
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let host = host.strip_suffix('.').unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

impl HostPolicy {
    /// Loopback and `localhost`, plus `names` (a name may carry a port, which is ignored). A name
    /// that is not a host name (a wildcard such as `*`, a URL, an empty name) is an error naming it.
    pub(crate) fn new(names: &[String]) -> Result<Self, String> {
        let allowed = names
            .iter()
            .map(|name| {
                bare_host(name.trim())
                    .filter(|host| !host.contains(['*', '/']))
                    .ok_or_else(|| {
                        format!(
                            "--allow-host `{name}` is not a host name (wildcards are not \
                             supported: name each host)"
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { allowed })
    }

    /// Whether `authority` (a `Host` value, `name[:port]`) is served.
    pub(crate) fn allows(&self, authority: &str) -> bool {
        let Some(host) = bare_host(authority) else {
            return false;
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return ip.to_canonical().is_loopback() || self.allowed.contains(&host);
        }
        host == "localhost" || self.allowed.contains(&host)
    }
}

fn bad_request(message: String) -> Response {
    tracing::warn!(reason = %message, "request refused");
    ApiError::new(StatusCode::BAD_REQUEST, "InvalidRequest", message).into_response()
}

/// Why `headers` and `authority` (the target's, HTTP/2's `:authority`) are refused, if they are.
pub(crate) fn check(
    policy: &HostPolicy,
    authority: Option<&str>,
    headers: &HeaderMap,
) -> Option<Response> {
    for name in SINGLE_HEADERS {
        if headers.get_all(name).iter().nth(1).is_some() {
            return Some(bad_request(format!(
                "The request has more than one `{name}` header."
            )));
        }
    }
    let host_header = headers.get(header::HOST).map(|v| v.to_str());
    let host = match (host_header, authority) {
        (Some(Err(_)), _) => {
            return Some(bad_request(
                "The `Host` header is not readable text.".into(),
            ));
        }
        (Some(Ok(h)), Some(a)) if !h.eq_ignore_ascii_case(a) => {
            return Some(bad_request(format!(
                "The `Host` header ({h}) differs from the request target's authority ({a})."
            )));
        }
        (Some(Ok(h)), _) => h,
        (None, Some(a)) => a,
        (None, None) => return Some(bad_request("The request has no `Host` header.".into())),
    };
    if policy.allows(host) {
        return None;
    }
    let message = format!(
        "The host `{host}` is not served by this emulator: it answers requests for loopback \
         addresses and `localhost` only, against DNS rebinding. To serve this name, start the \
         emulator with `--allow-host {}`.",
        bare_host(host).unwrap_or_else(|| "<name>".into())
    );
    tracing::warn!(host = ?host, "request refused: host not allowed");
    Some(ApiError::new(StatusCode::FORBIDDEN, "HostNotAllowed", message).into_response())
}

/// Why a request that a web page could have sent is refused, if it is.
///
/// A page on any site can make a browser send a "simple" request (no preflight) to loopback:
/// a `POST` with a form's or text's `Content-Type`. Such a request carries `Origin` (and, in
/// current browsers, `Sec-Fetch-Site: cross-site`), which no SDK or test client sends. So a
/// request to an `/emulator/` endpoint, or one that may change state (any method but `GET` and
/// `HEAD`), is refused with 403 when it carries `Origin` or a `Sec-Fetch-Site` other than
/// `same-origin` or `none`; and a `POST` or `PUT` to an `/emulator/` endpoint must say
/// `Content-Type: application/json`, which a page cannot send without a preflight (415).
pub(crate) fn cross_site(method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
    let control = path
        .get(..10)
        .is_some_and(|p| p.eq_ignore_ascii_case("/emulator/"));
    if !control && (method == Method::GET || method == Method::HEAD) {
        return None;
    }
    let fetch_site = headers.get("sec-fetch-site").map(|v| v.as_bytes());
    let foreign_site = fetch_site.is_some_and(|v| v != b"same-origin" && v != b"none");
    if headers.contains_key(header::ORIGIN) || foreign_site {
        tracing::warn!(path = ?path, "request refused: sent by a web page (Origin or Sec-Fetch-Site)");
        return Some(
            ApiError::new(
                StatusCode::FORBIDDEN,
                "CrossSiteRequest",
                "The request carries `Origin` or a cross-site `Sec-Fetch-Site`: the emulator \
                 refuses requests from web pages for its own endpoints and for anything that \
                 changes state.",
            )
            .into_response(),
        );
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if control && (method == Method::POST || method == Method::PUT) && !json {
        return Some(
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                "A POST or PUT to an /emulator/ endpoint must carry `Content-Type: application/json`.",
            )
            .into_response(),
        );
    }
    None
}

/// The middleware applying [`check`] and [`cross_site`] to every request.
pub(crate) async fn guard(
    State(policy): State<Arc<HostPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let authority = request.uri().authority().map(|a| a.as_str());
    let refusal = check(&policy, authority, request.headers())
        .or_else(|| cross_site(request.method(), request.uri().path(), request.headers()));
    match refusal {
        Some(refusal) => refusal,
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn loopback_localhost_and_allowed_names_only() {
        let policy = HostPolicy::new(&["Emulator.Docker:8642".into(), "10.0.0.5".into()]).unwrap();
        for bad in ["*", "*.example", "", "http://x/", "user@host"] {
            let error = HostPolicy::new(&[bad.into()]).unwrap_err();
            assert!(
                error.contains(&format!("`{bad}` is not a host name")),
                "{error}"
            );
        }
        for ok in [
            "127.0.0.1:8642",
            "127.1.2.3",
            "[::1]:8642",
            "[::ffff:127.0.0.1]:1",
            "localhost",
            "LOCALHOST.:8642",
            "emulator.docker",
            "emulator.docker.:9",
            "10.0.0.5:8642",
        ] {
            assert!(policy.allows(ok), "{ok} should be served");
        }
        for refused in [
            "evil.example",
            "evil.example:8642",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.6",
            "user@127.0.0.1",
            "",
            ":8642",
            "[::2]",
        ] {
            assert!(!policy.allows(refused), "{refused} should be refused");
        }
    }

    #[test]
    fn web_pages_cannot_reach_controls_or_change_state() {
        let json = ("content-type", "application/json");
        let status = |method: Method, path: &str, pairs: &[(&'static str, &'static str)]| {
            cross_site(&method, path, &headers(pairs)).map(|r| r.status().as_u16())
        };
        // What a page can send without a preflight: refused.
        for page in [
            &[
                ("origin", "https://evil.example"),
                ("content-type", "text/plain"),
            ][..],
            &[("origin", "null"), json][..],
            &[("sec-fetch-site", "cross-site"), json][..],
            &[("sec-fetch-site", "same-site"), json][..],
        ] {
            assert_eq!(
                status(Method::POST, "/emulator/reset", page),
                Some(403),
                "{page:?}"
            );
            assert_eq!(
                status(Method::PUT, "/Emulator/controls", page),
                Some(403),
                "{page:?}"
            );
            assert_eq!(
                status(Method::DELETE, "/emulator/controls", page),
                Some(403),
                "{page:?}"
            );
            assert_eq!(
                status(Method::GET, "/emulator/identities", page),
                Some(403),
                "{page:?}"
            );
            assert_eq!(
                status(Method::POST, "/identities", page),
                Some(403),
                "{page:?}"
            );
        }
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ] {
            let h = [("content-type", content_type)];
            assert_eq!(
                status(Method::POST, "/emulator/reset", &h),
                Some(415),
                "{content_type}"
            );
            assert_eq!(
                status(Method::PUT, "/emulator/controls", &h),
                Some(415),
                "{content_type}"
            );
        }
        assert_eq!(status(Method::POST, "/emulator/reset", &[]), Some(415));
        // What SDKs, tests and a browser's own address bar send: served.
        assert_eq!(status(Method::POST, "/emulator/reset", &[json]), None);
        assert_eq!(
            status(
                Method::POST,
                "/emulator/reset",
                &[("content-type", "Application/JSON; charset=utf-8")]
            ),
            None
        );
        assert_eq!(
            status(
                Method::PUT,
                "/emulator/controls",
                &[json, ("sec-fetch-site", "same-origin")]
            ),
            None
        );
        assert_eq!(
            status(
                Method::GET,
                "/emulator/health",
                &[("sec-fetch-site", "none")]
            ),
            None
        );
        assert_eq!(status(Method::DELETE, "/emulator/controls", &[]), None);
        assert_eq!(status(Method::POST, "/identities", &[]), None);
        assert_eq!(
            status(
                Method::GET,
                "/identities/x",
                &[("origin", "https://a.example")]
            ),
            None
        );
    }

    #[test]
    fn repeated_security_headers_and_conflicting_hosts_are_400() {
        let policy = HostPolicy::default();
        for name in SINGLE_HEADERS {
            let mut h = HeaderMap::new();
            h.append(name, HeaderValue::from_static("127.0.0.1"));
            h.append(name, HeaderValue::from_static("127.0.0.1"));
            let r = check(&policy, None, &h).expect("refused");
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{name}");
        }
        let h = headers(&[("host", "127.0.0.1")]);
        assert!(check(&policy, None, &h).is_none());
        assert!(check(&policy, Some("127.0.0.1"), &h).is_none());
        let r = check(&policy, Some("localhost"), &h).expect("refused");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = check(&policy, None, &HeaderMap::new()).expect("refused");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = check(&policy, Some("evil.example"), &HeaderMap::new()).expect("refused");
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
}
