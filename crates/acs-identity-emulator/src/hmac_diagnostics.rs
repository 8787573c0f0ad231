//! Authentication with the emulator's diagnostics: a `Host` with or without the scheme's default
//! port is accepted (the service's clients sign the URL authority, which omits a default port,
//! while some HTTP stacks send the port in `Host`), and an HMAC failure answer carries the
//! string-to-sign the emulator computed, base64, in [`STRING_TO_SIGN_HEADER`] (emulator only;
//! it holds no key, token or signature), also logged at DEBUG.

use acs_auth::{RequestToSign, VerifyError};
use base64::Engine as _;
use http::{HeaderName, HeaderValue, request::Parts};

use crate::api::App;
use crate::auth::{self, AuthFailure, request_host, request_target};
use crate::errors::ApiError;

/// The response header of an HMAC failure holding the string-to-sign the emulator computed.
pub const STRING_TO_SIGN_HEADER: &str = "x-acs-emulator-string-to-sign";

/// `host` with the default port removed, or added when it has no port; `None` when it has
/// another port.
fn other_form_of_host(host: &str, default_port: u16) -> Option<String> {
    let has_port = match host.strip_prefix('[') {
        Some(rest) => rest.contains("]:"),
        None => host.contains(':'),
    };
    if has_port {
        let (name, port) = host.rsplit_once(':')?;
        (port == default_port.to_string()).then(|| name.to_owned())
    } else {
        Some(format!("{host}:{default_port}"))
    }
}

/// The string-to-sign of the request as received, over the hash of the body received.
fn computed_string_to_sign(parts: &Parts, body: &[u8]) -> Option<String> {
    let date = auth::signed_date(&parts.headers)?;
    let request = RequestToSign {
        method: parts.method.as_str(),
        path_and_query: request_target(&parts.uri),
        host: request_host(&parts.uri, &parts.headers)?,
        body,
    };
    Some(acs_auth::string_to_sign(
        &request,
        date,
        &acs_auth::content_hash(body),
    ))
}

/// Authenticates a request as [`auth::authenticate`] does, with the `Host` leniency and the
/// diagnostics header described in the module docs.
pub(crate) fn authenticate(app: &App, parts: &Parts, body: &[u8]) -> Result<(), ApiError> {
    let now = app.clock.now();
    let (method, uri, headers) = (parts.method.as_str(), &parts.uri, &parts.headers);
    let failure = match auth::authenticate(&app.access_key, method, uri, headers, body, now) {
        Ok(()) => return Ok(()),
        Err(failure) => failure,
    };
    if failure == AuthFailure::Hmac(VerifyError::SignatureMismatch)
        && let Some(host) = request_host(uri, headers)
        && let Some(other) = other_form_of_host(host, app.default_port)
        && let Ok(value) = HeaderValue::try_from(other)
    {
        let mut with_other_host = headers.clone();
        with_other_host.insert(http::header::HOST, value);
        let target = request_target(uri);
        if auth::verify_hmac_request(&app.access_key, method, target, &with_other_host, body, now)
            .is_ok()
        {
            return Ok(());
        }
    }
    let mut error = failure.to_api_error();
    if let AuthFailure::Hmac(
        VerifyError::SignatureMismatch
        | VerifyError::ContentHashMismatch
        | VerifyError::DateOutOfRange,
    ) = failure
        && let Some(to_sign) = computed_string_to_sign(parts, body)
    {
        tracing::debug!(string_to_sign = ?to_sign, failure = %failure, "HMAC check failed");
        let encoded = base64::engine::general_purpose::STANDARD.encode(to_sign.as_bytes());
        if let Ok(value) = HeaderValue::try_from(encoded) {
            error = error.with_header(HeaderName::from_static(STRING_TO_SIGN_HEADER), value);
        }
    }
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::other_form_of_host;

    #[test]
    fn the_default_port_is_added_or_removed() {
        assert_eq!(
            other_form_of_host("localhost", 443).as_deref(),
            Some("localhost:443")
        );
        assert_eq!(
            other_form_of_host("localhost:443", 443).as_deref(),
            Some("localhost")
        );
        assert_eq!(other_form_of_host("localhost:8642", 443), None);
        assert_eq!(other_form_of_host("[::1]", 80).as_deref(), Some("[::1]:80"));
        assert_eq!(other_form_of_host("[::1]:80", 80).as_deref(), Some("[::1]"));
        assert_eq!(other_form_of_host("[::1]:81", 80), None);
    }
}
