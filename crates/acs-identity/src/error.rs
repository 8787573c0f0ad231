//! The one error type of this crate.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What kind of failure an [`Error`] is. Branch on this (and on [`Error::status`] /
/// [`Error::code`]) rather than on the message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The service answered with an error status (4xx/5xx) and, usually, an error body.
    Service,
    /// The credential could not produce an authorization (token credential failure, unusable key).
    Credential,
    /// The request could not be sent or its response not received (connection, TLS, timeout).
    Transport,
    /// The service answered, but its body was not what the API describes.
    Decode,
    /// An argument would have produced a malformed request (for example an empty user id).
    InvalidArgument,
    /// The client was configured in a way that cannot work (bad endpoint, bearer token over http, ...).
    Configuration,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Service => "service error",
            ErrorKind::Credential => "credential error",
            ErrorKind::Transport => "transport error",
            ErrorKind::Decode => "decode error",
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Configuration => "configuration error",
        })
    }
}

/// One entry of the service's error model (`CommunicationError`): the top-level error, or one of its
/// nested `details` / `innererror` entries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[non_exhaustive]
pub struct ServiceErrorDetail {
    /// The error code, for example `ValidationError` or `IdentityNotOwned`.
    #[serde(default)]
    pub code: String,
    /// The human-readable message from the service.
    #[serde(default)]
    pub message: String,
    /// The part of the request the error is about, for example `ExpiresInMinutes`.
    #[serde(default)]
    pub target: Option<String>,
    /// Further errors that led to this one.
    #[serde(default)]
    pub details: Vec<ServiceErrorDetail>,
    /// A more specific error, when the service gives one.
    #[serde(default, rename = "innererror")]
    pub inner_error: Option<Box<ServiceErrorDetail>>,
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong with a request that got no usable response ([`ErrorKind::Transport`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportFailure {
    /// A try's timeout or the call's deadline passed.
    Timeout,
    /// No connection could be made (refused, unreachable, DNS, TLS handshake).
    Connect,
    /// The request could not be sent or the response not read, for another reason.
    Io,
    /// The response body passed the client's size limit.
    TooLarge,
}

/// The error returned by every fallible operation of this crate.
///
/// It never contains an access key, an access token or a request signature.
#[non_exhaustive]
pub struct Error {
    kind: ErrorKind,
    inner: Box<Inner>,
}

#[derive(Default)]
struct Inner {
    message: String,
    status: Option<StatusCode>,
    service: Option<ServiceErrorDetail>,
    request_id: Option<String>,
    content_type: Option<String>,
    body_excerpt: Option<String>,
    argument: Option<&'static str>,
    /// For transport errors: what failed.
    failure: Option<TransportFailure>,
    /// The delay the service asked for in the response that ended the call.
    retry_after: Option<Duration>,
    source: Option<Source>,
}

impl Error {
    fn with(kind: ErrorKind, inner: Inner) -> Self {
        Self {
            kind,
            inner: Box::new(inner),
        }
    }

    /// An error from the service: `status` and the decoded error body (if any).
    pub(crate) fn service(
        status: StatusCode,
        detail: Option<ServiceErrorDetail>,
        request_id: Option<String>,
    ) -> Self {
        let message = match &detail {
            Some(d) => d.message.clone(),
            None => format!(
                "the service answered {} without an error body",
                status_text(status)
            ),
        };
        Self::with(
            ErrorKind::Service,
            Inner {
                message,
                status: Some(status),
                service: detail,
                request_id,
                ..Inner::default()
            },
        )
    }

    /// A response body that does not have the documented shape.
    pub(crate) fn decode(
        status: StatusCode,
        content_type: Option<String>,
        body: &[u8],
        what: &str,
        request_id: Option<String>,
        source: Option<Source>,
    ) -> Self {
        Self::with(
            ErrorKind::Decode,
            Inner {
                message: what.to_owned(),
                status: Some(status),
                content_type,
                body_excerpt: Some(excerpt(body)),
                request_id,
                // A decoder's message quotes the value it failed on, which may be a token.
                source: source.map(|source| {
                    Box::new(MaskedSource(mask_secrets(&source.to_string()))) as Source
                }),
                ..Inner::default()
            },
        )
    }

    /// A request that could not be sent or whose response could not be read: `failure` says why.
    pub(crate) fn transport(
        failure: TransportFailure,
        message: impl Into<String>,
        request_id: Option<String>,
        source: Option<Source>,
    ) -> Self {
        Self::with(
            ErrorKind::Transport,
            Inner {
                message: message.into(),
                request_id,
                failure: Some(failure),
                source,
                ..Inner::default()
            },
        )
    }

    /// The credential failed.
    pub(crate) fn credential(message: impl Into<String>, source: Option<Source>) -> Self {
        Self::with(
            ErrorKind::Credential,
            Inner {
                message: message.into(),
                source,
                ..Inner::default()
            },
        )
    }

    /// An argument that would make a malformed request.
    pub(crate) fn invalid_argument(argument: &'static str, why: impl Into<String>) -> Self {
        Self::with(
            ErrorKind::InvalidArgument,
            Inner {
                message: why.into(),
                argument: Some(argument),
                ..Inner::default()
            },
        )
    }

    /// A configuration that cannot work.
    pub(crate) fn configuration(message: impl Into<String>, source: Option<Source>) -> Self {
        Self::with(
            ErrorKind::Configuration,
            Inner {
                message: message.into(),
                source,
                ..Inner::default()
            },
        )
    }

    /// The same error, with the delay the service asked for (`Retry-After` and its variants).
    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.inner.retry_after = retry_after;
        self
    }

    pub(crate) fn set_request_id(&mut self, request_id: &str) {
        if self.inner.request_id.is_none() {
            self.inner.request_id = Some(request_id.to_owned());
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status of the response, for service and decode errors.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The service's error code (`ValidationError`, `IdentityNotOwned`, `InvalidAccessToken`, ...),
    /// when the service sent an error body.
    pub fn code(&self) -> Option<&str> {
        self.inner
            .service
            .as_ref()
            .map(|d| d.code.as_str())
            .filter(|c| !c.is_empty())
    }

    /// The error message: the service's message for service errors, otherwise a description of
    /// what went wrong.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The service's `target` (the request part the error is about), when it sent one.
    pub fn target(&self) -> Option<&str> {
        self.inner.service.as_ref()?.target.as_deref()
    }

    /// The nested `details` of a service error (empty when there are none).
    pub fn details(&self) -> &[ServiceErrorDetail] {
        self.inner
            .service
            .as_ref()
            .map(|d| d.details.as_slice())
            .unwrap_or(&[])
    }

    /// The whole error body the service sent, when it sent one.
    pub fn service_error(&self) -> Option<&ServiceErrorDetail> {
        self.inner.service.as_ref()
    }

    /// The `x-ms-client-request-id` of the call (the id the client sent, or the one the service
    /// echoed). Quote it when asking Azure support about a failed call.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// The `Content-Type` of a response that could not be decoded.
    pub fn content_type(&self) -> Option<&str> {
        self.inner.content_type.as_deref()
    }

    /// The beginning of a response body that could not be decoded (at most 200 characters, with
    /// anything that looks like a token masked).
    pub fn body_excerpt(&self) -> Option<&str> {
        self.inner.body_excerpt.as_deref()
    }

    /// For [`ErrorKind::InvalidArgument`]: the name of the offending argument.
    pub fn argument(&self) -> Option<&str> {
        self.inner.argument
    }

    /// The delay the service asked for before the next try (`retry-after-ms`,
    /// `x-ms-retry-after-ms` or `Retry-After`, in seconds or as an HTTP date), as sent with the
    /// response that ended the call: typically a 429 or 503 the client's retries gave up on.
    /// Not capped by [`RetryOptions::max_delay`](crate::RetryOptions::max_delay). `None` when the
    /// response named no delay, and for errors without a response.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Whether the call failed because time ran out: a try's timeout
    /// ([`per_try_timeout`](crate::CommunicationIdentityClientOptions::per_try_timeout)) or the
    /// whole call's deadline ([`CallOptions::timeout`](crate::CallOptions::timeout)). The server
    /// may still have carried out the request.
    pub fn is_timeout(&self) -> bool {
        self.inner.failure == Some(TransportFailure::Timeout)
    }

    /// Whether the call failed because no connection could be made (refused, unreachable, name
    /// resolution, TLS handshake): the request never reached the service.
    pub fn is_connect(&self) -> bool {
        self.inner.failure == Some(TransportFailure::Connect)
    }

    /// Whether trying the same call again later may succeed: the statuses the client retries
    /// (408, 429, 500, 502, 503, 504), timeouts, and requests that could not be sent or whose
    /// response could not be read. The client's own retries (see
    /// [`RetryOptions`](crate::RetryOptions)) have already been spent when the error is returned;
    /// wait at least [`retry_after`](Self::retry_after) when it is given.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            ErrorKind::Service | ErrorKind::Decode => self
                .inner
                .status
                .is_some_and(crate::pipeline::is_retryable_status),
            ErrorKind::Transport => self.inner.failure != Some(TransportFailure::TooLarge),
            ErrorKind::Credential | ErrorKind::InvalidArgument | ErrorKind::Configuration => false,
        }
    }
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        match self.kind {
            ErrorKind::Service => {
                let status = inner.status.map(|s| s.as_u16()).unwrap_or_default();
                match &inner.service {
                    Some(d) if !d.code.is_empty() => {
                        write!(f, "{} ({status}): {}", d.code, Shown(&d.message))?
                    }
                    Some(d) => write!(f, "service error ({status}): {}", Shown(&d.message))?,
                    None => write!(f, "service error ({status}): {}", inner.message)?,
                }
                if let Some(target) = self.target() {
                    write!(f, " [target: {target}]")?;
                }
                // The service's more specific errors, e.g. `Denied` caused by `SignatureMismatch`.
                let mut inner_error = inner
                    .service
                    .as_ref()
                    .and_then(|d| d.inner_error.as_deref());
                for _ in 0..SHOWN_INNER_ERRORS {
                    let Some(detail) = inner_error else { break };
                    match detail.code.as_str() {
                        "" => write!(f, " [inner error: {}]", Shown(&detail.message))?,
                        code => write!(f, " [inner error {code}: {}]", Shown(&detail.message))?,
                    }
                    inner_error = detail.inner_error.as_deref();
                }
                Ok(())
            }
            ErrorKind::Decode => {
                write!(
                    f,
                    "could not decode the service response: {}",
                    inner.message
                )?;
                if let Some(status) = inner.status {
                    write!(f, " (status {}", status.as_u16())?;
                    match &inner.content_type {
                        Some(ct) => write!(f, ", content-type {ct}")?,
                        None => f.write_str(", no content-type")?,
                    }
                    f.write_str(")")?;
                }
                match inner.body_excerpt.as_deref() {
                    Some("") | None => f.write_str("; the body is empty"),
                    Some(body) => write!(f, "; body starts with: {body}"),
                }
            }
            ErrorKind::InvalidArgument => match inner.argument {
                Some(arg) => write!(f, "invalid argument `{arg}`: {}", inner.message),
                None => write!(f, "invalid argument: {}", inner.message),
            },
            ErrorKind::Transport => {
                write!(f, "transport error: {}", inner.message)?;
                if let Some(source) = &inner.source {
                    write!(f, ": {source}")?;
                }
                Ok(())
            }
            ErrorKind::Credential => {
                write!(f, "credential error: {}", inner.message)?;
                if let Some(source) = &inner.source {
                    write!(f, ": {source}")?;
                }
                Ok(())
            }
            ErrorKind::Configuration => write!(f, "configuration error: {}", inner.message),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &inner.message);
        if let Some(status) = inner.status {
            d.field("status", &status.as_u16());
        }
        if let Some(service) = &inner.service {
            d.field("service", service);
        }
        if let Some(id) = &inner.request_id {
            d.field("request_id", id);
        }
        if let Some(ct) = &inner.content_type {
            d.field("content_type", ct);
        }
        if let Some(body) = &inner.body_excerpt {
            d.field("body_excerpt", body);
        }
        if let Some(arg) = inner.argument {
            d.field("argument", &arg);
        }
        if let Some(failure) = inner.failure {
            d.field("failure", &failure);
        }
        if let Some(delay) = inner.retry_after {
            d.field("retry_after", &delay);
        }
        if let Some(source) = &inner.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// For `?` in code that mixes this client with other Azure clients: the same message (this
/// error's `Display`), with the error itself as the source. A service error, and a response that
/// could not be decoded, become [`azure_core::error::ErrorKind::HttpResponse`] with the status
/// and the service's error code (no raw response: it may hold a token); a transport error
/// becomes `Io` (or `Connection` when the connection could not be made), a credential error
/// `Credential`, and an invalid argument or configuration `Other`.
impl From<Error> for azure_core::Error {
    fn from(error: Error) -> Self {
        use azure_core::error::ErrorKind as AzureKind;
        let kind = match (error.kind, error.inner.status) {
            (ErrorKind::Service | ErrorKind::Decode, Some(status)) => AzureKind::HttpResponse {
                status: azure_core::http::StatusCode::from(status.as_u16()),
                error_code: error.code().map(str::to_owned),
                raw_response: None,
            },
            (ErrorKind::Transport, _) if error.is_connect() => AzureKind::Connection,
            (ErrorKind::Transport, _) => AzureKind::Io,
            (ErrorKind::Credential, _) => AzureKind::Credential,
            _ => AzureKind::Other,
        };
        let message = error.to_string();
        azure_core::Error::with_error(kind, error, message)
    }
}

/// The most nested `innererror` entries `Display` prints.
const SHOWN_INNER_ERRORS: usize = 4;

/// The most characters of a service message `Display` prints (the whole message stays in
/// [`Error::message`]): a server that sends a huge message cannot flood a log or a terminal.
const SHOWN_MESSAGE_CHARS: usize = 1000;

/// A service message as `Display` prints it: at most [`SHOWN_MESSAGE_CHARS`] characters, then
/// how many more there are.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(SHOWN_MESSAGE_CHARS) {
            None => f.write_str(self.0),
            Some((cut, _)) => {
                let more = self.0[cut..].chars().count();
                write!(f, "{}… ({more} more characters)", &self.0[..cut])
            }
        }
    }
}

const EXCERPT_CHARS: usize = 200;

/// The first characters of a body, printable, with token-like runs masked.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut truncated = false;
    for (count, ch) in text.chars().enumerate() {
        if count == EXCERPT_CHARS {
            truncated = true;
            break;
        }
        match ch {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    let mut masked = mask_secrets(&out);
    if truncated {
        masked.push('…');
    }
    masked
}

/// Masks runs that look like JWTs (`eyJ...`) or long opaque strings (keys, signatures).
/// The message of an error about what the service sent (a decoder's), with anything that looks
/// like a token masked ([`mask_secrets`]): the source of a decode error.
#[derive(Debug)]
struct MaskedSource(String);

impl fmt::Display for MaskedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MaskedSource {}

pub(crate) fn mask_secrets(text: &str) -> String {
    fn is_token_char(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '/' | '=')
    }
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.starts_with("eyJ") || run.len() >= 40 {
            out.push_str("<redacted>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_token_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validation() -> Error {
        Error::service(
            StatusCode::BAD_REQUEST,
            Some(ServiceErrorDetail {
                code: "ValidationError".into(),
                message: "ExpiresInMinutes value 1441 is invalid.".into(),
                target: Some("ExpiresInMinutes".into()),
                ..Default::default()
            }),
            Some("rid".into()),
        )
    }

    #[test]
    fn service_display_reads_like_the_brief() {
        assert_eq!(
            validation().to_string(),
            "ValidationError (400): ExpiresInMinutes value 1441 is invalid. [target: ExpiresInMinutes]"
        );
        let e = validation();
        assert_eq!(e.kind(), ErrorKind::Service);
        assert_eq!(e.code(), Some("ValidationError"));
        assert_eq!(e.status(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(e.target(), Some("ExpiresInMinutes"));
        assert_eq!(e.request_id(), Some("rid"));
    }

    #[test]
    fn a_huge_service_message_is_shortened_when_displayed() {
        let e = Error::service(
            StatusCode::BAD_REQUEST,
            Some(ServiceErrorDetail {
                code: "ValidationError".into(),
                message: "é".repeat(5000),
                ..Default::default()
            }),
            None,
        );
        let shown = e.to_string();
        assert!(
            shown.ends_with("… (4000 more characters)"),
            "{}",
            &shown[shown.len() - 40..]
        );
        assert_eq!(shown.chars().filter(|c| *c == 'é').count(), 1000);
        assert_eq!(
            e.message().chars().count(),
            5000,
            "the whole message is kept"
        );
    }

    #[test]
    fn nested_inner_errors_are_displayed_bounded() {
        let mut detail = ServiceErrorDetail {
            code: "Denied".into(),
            message: "Denied by the resource provider.".into(),
            ..Default::default()
        };
        // Six levels deep, the first without a code: four are shown.
        let mut innermost: Option<Box<ServiceErrorDetail>> = None;
        for level in (1..=6).rev() {
            innermost = Some(Box::new(ServiceErrorDetail {
                code: if level == 1 {
                    String::new()
                } else {
                    format!("L{level}")
                },
                message: format!("m{level}"),
                inner_error: innermost,
                ..Default::default()
            }));
        }
        detail.inner_error = innermost;
        let e = Error::service(StatusCode::UNAUTHORIZED, Some(detail), None);
        assert_eq!(
            e.to_string(),
            "Denied (401): Denied by the resource provider. [inner error: m1] [inner error L2: m2] \
             [inner error L3: m3] [inner error L4: m4]"
        );
    }

    #[test]
    fn service_without_body() {
        let e = Error::service(StatusCode::BAD_GATEWAY, None, None);
        assert_eq!(
            e.to_string(),
            "service error (502): the service answered 502 Bad Gateway without an error body"
        );
        assert_eq!(e.code(), None);
    }

    #[test]
    fn excerpt_is_bounded_and_masks_tokens() {
        let long = "x ".repeat(300);
        let e = excerpt(long.as_bytes());
        assert_eq!(e.chars().count(), 201);
        assert!(e.ends_with('…'));
        let jwt = br#"{"token":"eyJhbGciOiJSUzI1NiJ9.eyJza3lwZWlkIjoiYWNzIn0.c2ln","expiresOn":"#;
        let e = excerpt(jwt);
        assert!(!e.contains("eyJ"), "{e}");
        assert!(e.contains("<redacted>"), "{e}");
        assert!(e.contains("expiresOn"), "{e}");
        assert_eq!(excerpt(b"<html>\r\n<b>502</b>"), "<html>  <b>502</b>");
    }

    #[test]
    fn debug_has_no_source_secrets_and_fields() {
        let text = format!("{:?}", validation());
        assert!(text.contains("ValidationError"), "{text}");
        assert!(text.contains("status: 400"), "{text}");
    }

    #[test]
    fn converts_into_an_azure_core_error_keeping_status_and_code() {
        let azure: azure_core::Error = validation().into();
        match azure.kind() {
            azure_core::error::ErrorKind::HttpResponse {
                status, error_code, ..
            } => {
                assert_eq!(u16::from(*status), 400);
                assert_eq!(error_code.as_deref(), Some("ValidationError"));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            azure.to_string().contains("ExpiresInMinutes value 1441"),
            "{azure}"
        );
        let mixed = || -> azure_core::Result<()> { Err(validation())? };
        assert!(mixed().is_err());
        let credential: azure_core::Error = Error::credential("no token", None).into();
        assert_eq!(*credential.kind(), azure_core::error::ErrorKind::Credential);
        let other: azure_core::Error = Error::invalid_argument("user", "empty").into();
        assert_eq!(*other.kind(), azure_core::error::ErrorKind::Other);
        let transport: azure_core::Error =
            Error::transport(TransportFailure::Io, "cut", None, None).into();
        assert_eq!(*transport.kind(), azure_core::error::ErrorKind::Io);
    }

    #[test]
    fn invalid_argument_names_the_argument() {
        let e = Error::invalid_argument("user", "the user id is empty");
        assert_eq!(
            e.to_string(),
            "invalid argument `user`: the user id is empty"
        );
        assert_eq!(e.argument(), Some("user"));
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
}
