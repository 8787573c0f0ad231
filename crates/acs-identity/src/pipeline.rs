//! The request pipeline: user agent, request id, authorization per try, retries, timeouts.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use acs_auth::{AccessKeyCredential, Clock};
use azure_core::credentials::TokenCredential;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use time::OffsetDateTime;

use crate::error::{Error, ErrorResponseBody, Result};
use crate::options::RetryOptions;

/// The scope of Entra ID tokens for Communication Services (double slash, as every SDK sends it).
pub const COMMUNICATION_SCOPE: &str = "https://communication.azure.com//.default";

pub(crate) const X_MS_CLIENT_REQUEST_ID: HeaderName =
    HeaderName::from_static("x-ms-client-request-id");
const X_MS_RETURN_CLIENT_REQUEST_ID: HeaderName =
    HeaderName::from_static("x-ms-return-client-request-id");
const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");
const X_MS_RETRY_AFTER_MS: HeaderName = HeaderName::from_static("x-ms-retry-after-ms");

/// Refresh a cached bearer token this long before it expires.
const TOKEN_REFRESH_MARGIN: time::Duration = time::Duration::minutes(5);

/// How requests are authorized.
#[derive(Clone)]
pub(crate) enum Auth {
    /// HMAC-SHA256 with a (rotatable) access key, signed afresh for every try.
    Key(AccessKeyCredential),
    /// Bearer tokens from an Entra ID credential, cached until shortly before they expire.
    Token {
        credential: Arc<dyn TokenCredential>,
        cache: Arc<Mutex<Option<azure_core::credentials::AccessToken>>>,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Key(key) => write!(f, "{key:?}"),
            Auth::Token { credential, .. } => write!(f, "TokenCredential({credential:?})"),
        }
    }
}

impl Auth {
    pub(crate) fn token(credential: Arc<dyn TokenCredential>) -> Self {
        Auth::Token {
            credential,
            cache: Arc::new(Mutex::new(None)),
        }
    }
}

/// A random (version 4) UUID for `x-ms-client-request-id`. The ids need to be unique, not secret:
/// they come from a per-thread generator seeded once from the OS, which avoids a system call per
/// request.
fn new_request_id() -> [u8; uuid::fmt::Hyphenated::LENGTH] {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<(u64, u64)> = Cell::new({
            let seed = uuid::Uuid::new_v4().as_u64_pair();
            (seed.0 | 1, seed.1 | 1)
        });
    }
    // xorshift128+, two steps for 128 bits.
    fn step(state: &mut (u64, u64)) -> u64 {
        let (mut s1, s0) = *state;
        s1 ^= s1 << 23;
        s1 ^= s1 >> 17 ^ s0 ^ (s0 >> 26);
        *state = (s0, s1);
        s0.wrapping_add(s1)
    }
    let bytes = STATE.with(|cell| {
        let mut state = cell.get();
        let hi = step(&mut state);
        let lo = step(&mut state);
        cell.set(state);
        ((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes()
    });
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut text);
    text
}

/// State of one logical call, shared by all of its tries.
#[derive(Debug)]
pub(crate) struct CallState {
    /// The `x-ms-client-request-id` of every try; [`CallState::request_id`] reads it as text.
    request_id_header: HeaderValue,
    attempts: AtomicU32,
    last_status: AtomicU32,
    /// An error of the pipeline itself (credential, transport, ...), for callers that can only
    /// pass a `reqwest` result through (the generated client).
    pub(crate) failure: Mutex<Option<Error>>,
    /// Content type and echoed request id of the final response.
    response_meta: Mutex<(Option<HeaderValue>, Option<HeaderValue>)>,
}

impl CallState {
    pub(crate) fn new() -> Self {
        // The header owns the id's bytes (one allocation, shared by every clone of the header
        // without further copies); the text is read back from it.
        let request_id_header =
            HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(new_request_id()))
                .unwrap_or_else(|_| {
                    HeaderValue::from_static("00000000-0000-0000-0000-000000000000")
                });
        Self {
            request_id_header,
            attempts: AtomicU32::new(0),
            last_status: AtomicU32::new(0),
            failure: Mutex::new(None),
            response_meta: Mutex::new((None, None)),
        }
    }

    /// The request id sent with every try of this call.
    pub(crate) fn request_id(&self) -> &str {
        // A hyphenated UUID is visible ASCII, so `to_str` cannot fail.
        self.request_id_header.to_str().unwrap_or_default()
    }

    /// How many tries were made.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// Remembers what the error mapping needs from the final response.
    pub(crate) fn record_response(&self, response: &reqwest::Response) {
        let headers = response.headers();
        let meta = (
            headers.get(header::CONTENT_TYPE).cloned(),
            headers.get(X_MS_CLIENT_REQUEST_ID).cloned(),
        );
        *self.response_meta.lock().unwrap_or_else(|p| p.into_inner()) = meta;
    }

    /// The status of the last response received, if any.
    pub(crate) fn last_status(&self) -> Option<StatusCode> {
        let raw = self.last_status.load(Ordering::Relaxed);
        u16::try_from(raw)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
    }

    /// The content type of the final response.
    pub(crate) fn last_content_type(&self) -> Option<String> {
        self.response_meta
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The request id echoed by the service, else the one sent.
    pub(crate) fn response_request_id(&self) -> String {
        self.response_meta
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| self.request_id().to_owned())
    }

    /// Stores a pipeline failure.
    pub(crate) fn set_failure(&self, error: Error) {
        let mut slot = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        *slot = Some(error);
    }

    /// Takes a stored pipeline failure.
    pub(crate) fn take_failure(&self) -> Option<Error> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// Everything a try needs, shared by all clones of a client.
pub(crate) struct Pipeline {
    pub(crate) http: reqwest::Client,
    pub(crate) auth: Auth,
    pub(crate) user_agent: HeaderValue,
    pub(crate) retry: RetryOptions,
    pub(crate) per_try_timeout: Option<Duration>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("auth", &self.auth)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("per_try_timeout", &self.per_try_timeout)
            .finish()
    }
}

/// The `User-Agent` of this crate, with an optional application id first.
pub(crate) fn user_agent(application_id: Option<&str>) -> Result<HeaderValue> {
    let base = format!(
        "azsdk-rust-communication-identity/{} ({}; {})",
        env!("CARGO_PKG_VERSION"),
        env!("ACS_IDENTITY_RUSTC_VERSION"),
        std::env::consts::OS
    );
    let text = match application_id {
        None => base,
        Some(app) => {
            if app.is_empty() || !app.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::configuration(
                    "the application id must be non-empty printable ASCII without spaces",
                    None,
                ));
            }
            format!("{app} {base}")
        }
    };
    HeaderValue::from_str(&text)
        .map_err(|_| Error::configuration("the User-Agent is not a valid header value", None))
}

/// Whether a bearer token may be sent to this URL: https, or http to a loopback host.
pub(crate) fn bearer_allowed(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

pub(crate) fn bearer_refused_message(url: &url::Url) -> String {
    format!(
        "refusing to send an Entra ID bearer token over plain http to `{}`: it would travel \
         unencrypted; use an https endpoint (plain http is allowed only to a loopback host such as \
         127.0.0.1 or localhost)",
        url.host_str().unwrap_or("")
    )
}

fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

fn is_retryable_error(error: &reqwest::Error) -> bool {
    error.is_connect() || error.is_timeout() || error.is_request()
}

/// The delay the service asks for, if any: `retry-after-ms`, then `x-ms-retry-after-ms`, then
/// `Retry-After` (whole or decimal seconds, or an HTTP date relative to `now`).
pub(crate) fn server_delay(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    for name in [&RETRY_AFTER_MS, &X_MS_RETRY_AFTER_MS] {
        if let Some(ms) = text(name).and_then(|t| t.parse::<f64>().ok())
            && ms.is_finite()
            && ms >= 0.0
        {
            return Some(Duration::from_secs_f64(ms.min(1e12) / 1000.0));
        }
    }
    let value = text(&header::RETRY_AFTER)?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = acs_auth::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A cheap, non-cryptographic random number for jitter.
fn jitter_unit() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut z = STATE
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(seed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Exponential backoff with ±20 % jitter: `initial * 2^(retry-1)`, capped at `max_delay`.
pub(crate) fn backoff(retry: &RetryOptions, retry_number: u32) -> Duration {
    let exp = retry_number.saturating_sub(1).min(30);
    let base = retry
        .initial_delay
        .checked_mul(1u32 << exp)
        .unwrap_or(retry.max_delay)
        .min(retry.max_delay);
    let factor = 0.8 + 0.4 * jitter_unit();
    base.mul_f64(factor).min(retry.max_delay)
}

/// What a retry needs to rebuild the request after the first try consumed it: method, URL,
/// headers, body bytes, timeout and version (the requests of this API carry no other
/// extensions). Kept by hand rather than with `reqwest::Request::try_clone`, which every call
/// would pay although retries are rare, and which costs about twice as much (it also clones the
/// header map and builds an extensions map; callgrind).
struct Replay {
    method: reqwest::Method,
    url: reqwest::Url,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<bytes::Bytes>,
    timeout: Option<Duration>,
    version: reqwest::Version,
}

impl Replay {
    /// `None` when the body is a stream (cannot be sent twice).
    fn keep(request: &reqwest::Request) -> Option<Self> {
        let body = match request.body() {
            Some(body) => Some(bytes::Bytes::copy_from_slice(body.as_bytes()?)),
            None => None,
        };
        Some(Self {
            method: request.method().clone(),
            url: request.url().clone(),
            headers: request
                .headers()
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            body,
            timeout: request.timeout().copied(),
            version: request.version(),
        })
    }

    fn copy(&self) -> reqwest::Request {
        let mut request = reqwest::Request::new(self.method.clone(), self.url.clone());
        append_headers(&mut request, &self.headers);
        if let Some(body) = &self.body {
            *request.body_mut() = Some(reqwest::Body::from(body.clone()));
        }
        if self.timeout.is_some() {
            *request.timeout_mut() = self.timeout;
        }
        *request.version_mut() = self.version;
        request
    }
}

fn append_headers(request: &mut reqwest::Request, headers: &[(HeaderName, HeaderValue)]) {
    let map = request.headers_mut();
    for (name, value) in headers {
        map.append(name.clone(), value.clone());
    }
}

/// Reads the body of a response that will be retried (so the connection can be reused; its
/// content is irrelevant), then waits `delay`.
async fn drain_then_wait(response: reqwest::Response, delay: Duration) {
    let _ = response.bytes().await;
    tokio::time::sleep(delay).await;
}

/// Signs one try with the access key.
fn sign(
    credential: &AccessKeyCredential,
    clock: &dyn Clock,
    request: &mut reqwest::Request,
) -> Result<()> {
    let key = credential.key();
    acs_auth::sign_request(request, &key, clock.now())
        .map_err(|e| Error::configuration(format!("cannot sign the request: {e}"), None))
}

/// The request of a retry, rebuilt from what the first try kept.
fn next_try(replay: Option<&Replay>) -> Result<reqwest::Request> {
    replay.map(Replay::copy).ok_or_else(stream_body_error)
}

fn stream_body_error() -> Error {
    Error::configuration("the request body is a stream and cannot be retried", None)
}

impl Pipeline {
    /// Sends `request` as one logical call: adds the common headers, then for each try
    /// authorizes it, sends it, and retries what may succeed later.
    ///
    /// The outcome (the final response, whatever its status, or the error that ended the call)
    /// goes through `finish`, whose result this returns: one future for the whole call, which
    /// the executor boxes on every call (a wrapping `async fn` would hold a second copy of the
    /// request; the smaller the box, the cheaper its allocation).
    pub(crate) async fn send<T>(
        &self,
        mut request: reqwest::Request,
        call: Arc<CallState>,
        finish: impl FnOnce(Result<reqwest::Response>, &CallState) -> T,
    ) -> T {
        /// `?` for the labeled block below.
        macro_rules! or_break {
            ($label:lifetime, $result:expr) => {
                match $result {
                    Ok(value) => value,
                    Err(error) => break $label Err(error),
                }
            };
        }
        let outcome = 'call: {
            // The generated request is final (URL with api-version, `accept`, body); the
            // pipeline adds what is the same for every try.
            let headers = request.headers_mut();
            headers.insert(header::USER_AGENT, self.user_agent.clone());
            headers.insert(X_MS_CLIENT_REQUEST_ID, call.request_id_header.clone());
            headers.insert(
                X_MS_RETURN_CLIENT_REQUEST_ID,
                HeaderValue::from_static("true"),
            );
            // The first try sends the request itself, after keeping what a retry needs; a retry
            // sends a request rebuilt from that. (One request slot in this future, which the
            // executor boxes on every call: the smaller it is, the cheaper that allocation.)
            let replay = if self.retry.max_retries > 0 {
                Some(Box::new(or_break!(
                    'call,
                    Replay::keep(&request).ok_or_else(stream_body_error)
                )))
            } else {
                None
            };
            let mut attempt: u32 = 0;
            loop {
                attempt += 1;
                call.attempts.store(attempt, Ordering::Relaxed);
                tracing::Span::current().record("attempts", attempt);
                let may_retry = attempt <= self.retry.max_retries;
                match &self.auth {
                    Auth::Key(credential) => {
                        or_break!('call, sign(credential, &*self.clock, &mut request));
                    }
                    // Boxed: this future stays small for key auth (it is boxed on every call).
                    Auth::Token { credential, cache } => {
                        or_break!(
                            'call,
                            Box::pin(self.authorize_bearer(credential, cache, &mut request)).await
                        );
                    }
                }
                if let Some(timeout) = self.per_try_timeout {
                    *request.timeout_mut() = Some(timeout);
                }
                tracing::debug!(
                    attempt,
                    method = %request.method(),
                    path = request.url().path(),
                    "sending request"
                );
                match self.http.execute(request).await {
                    Ok(response) => {
                        let status = response.status();
                        call.last_status
                            .store(u32::from(status.as_u16()), Ordering::Relaxed);
                        tracing::Span::current().record("status", status.as_u16());
                        tracing::debug!(attempt, status = status.as_u16(), "response received");
                        if may_retry && is_retryable_status(status) {
                            let delay = match server_delay(response.headers(), self.clock.now()) {
                                Some(asked) => asked.min(self.retry.max_delay),
                                None => backoff(&self.retry, attempt),
                            };
                            tracing::info!(
                                attempt,
                                status = status.as_u16(),
                                delay_ms = delay.as_millis() as u64,
                                "retrying after a retryable status"
                            );
                            // Boxed: a rare path, kept out of this future (boxed on every call).
                            Box::pin(drain_then_wait(response, delay)).await;
                            request = or_break!('call, next_try(replay.as_deref()));
                            continue;
                        }
                        break 'call Ok(response);
                    }
                    Err(error) => {
                        if may_retry && is_retryable_error(&error) {
                            let delay = backoff(&self.retry, attempt);
                            tracing::info!(
                                attempt,
                                delay_ms = delay.as_millis() as u64,
                                timeout = error.is_timeout(),
                                "retrying after a connection failure"
                            );
                            Box::pin(tokio::time::sleep(delay)).await;
                            request = or_break!('call, next_try(replay.as_deref()));
                            continue;
                        }
                        let what = if error.is_timeout() {
                            "the request timed out"
                        } else if error.is_connect() {
                            "could not connect to the service"
                        } else {
                            "the request could not be sent"
                        };
                        tracing::debug!(attempt, what, "request failed");
                        break 'call Err(Error::transport(
                            format!(
                                "{what} (after {attempt} {})",
                                if attempt == 1 { "try" } else { "tries" }
                            ),
                            Some(call.request_id().to_owned()),
                            Some(Box::new(error.without_url())),
                        ));
                    }
                }
            }
        };
        finish(outcome, &call)
    }

    /// Adds the bearer authorization of one try.
    async fn authorize_bearer(
        &self,
        credential: &Arc<dyn TokenCredential>,
        cache: &Mutex<Option<azure_core::credentials::AccessToken>>,
        request: &mut reqwest::Request,
    ) -> Result<()> {
        if !bearer_allowed(request.url()) {
            return Err(Error::configuration(
                bearer_refused_message(request.url()),
                None,
            ));
        }
        let token = self.bearer_token(credential, cache).await?;
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            Error::credential(
                "the credential returned a token that is not a valid header value",
                None,
            )
        })?;
        value.set_sensitive(true);
        request.headers_mut().insert(header::AUTHORIZATION, value);
        Ok(())
    }

    async fn bearer_token(
        &self,
        credential: &Arc<dyn TokenCredential>,
        cache: &Mutex<Option<azure_core::credentials::AccessToken>>,
    ) -> Result<String> {
        let now = OffsetDateTime::from(self.clock.now());
        {
            let cached = cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(token) = cached.as_ref()
                && token.expires_on - TOKEN_REFRESH_MARGIN > now
            {
                return Ok(token.token.secret().to_owned());
            }
        }
        let token = credential
            .get_token(&[COMMUNICATION_SCOPE], None)
            .await
            .map_err(|e| {
                Error::credential(
                    format!("the token credential could not get a token for {COMMUNICATION_SCOPE}"),
                    Some(Box::new(e)),
                )
            })?;
        let text = token.token.secret().to_owned();
        *cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
        Ok(text)
    }
}

/// The request id to report for a response: the echoed one, else the one sent.
pub(crate) fn response_request_id(headers: &HeaderMap, call: &CallState) -> String {
    headers
        .get(X_MS_CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| call.request_id().to_owned())
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Turns an error response into an [`Error`].
pub(crate) fn error_from_parts(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    call: &CallState,
) -> Error {
    let request_id = Some(response_request_id(headers, call));
    if body.iter().all(u8::is_ascii_whitespace) {
        return Error::service(status, None, request_id);
    }
    match serde_json::from_slice::<ErrorResponseBody>(body) {
        Ok(parsed) => Error::service(status, Some(parsed.error), request_id),
        Err(e) => Error::decode(
            status,
            content_type(headers),
            body,
            "the error response is not a CommunicationErrorResponse",
            request_id,
            Some(Box::new(e)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn request_ids_are_distinct_v4_uuids() {
        let ids: std::collections::HashSet<String> = (0..10_000)
            .map(|_| String::from_utf8(new_request_id().to_vec()).unwrap())
            .collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(20) {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 4, "{id}");
            assert_eq!(id.len(), 36);
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = acs_auth::parse_http_date("Thu, 26 Nov 2026 15:51:52 GMT").unwrap();
        let d = |pairs: &[(&'static str, &str)]| server_delay(&headers(pairs), now);
        assert_eq!(d(&[("retry-after", "2")]), Some(Duration::from_secs(2)));
        assert_eq!(
            d(&[("retry-after", "0.5")]),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            d(&[("retry-after", "Thu, 26 Nov 2026 15:52:02 GMT")]),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            d(&[("retry-after", "Thu, 26 Nov 2026 15:50:00 GMT")]),
            Some(Duration::ZERO)
        );
        assert_eq!(
            d(&[("retry-after-ms", "250")]),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            d(&[("x-ms-retry-after-ms", "40")]),
            Some(Duration::from_millis(40))
        );
        assert_eq!(
            d(&[("retry-after", "9"), ("retry-after-ms", "100")]),
            Some(Duration::from_millis(100))
        );
        assert_eq!(d(&[("retry-after", "soon")]), None);
        assert_eq!(d(&[("retry-after", "-1")]), None);
        assert_eq!(d(&[]), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let retry = RetryOptions::default();
        for n in 1..=4u32 {
            let nominal = 0.8 * f64::from(1u32 << (n - 1));
            for _ in 0..50 {
                let d = backoff(&retry, n).as_secs_f64();
                assert!(
                    d >= nominal * 0.8 - 1e-9 && d <= nominal * 1.2 + 1e-9,
                    "{n}: {d}"
                );
            }
        }
        assert!(backoff(&retry, 40) <= Duration::from_secs(60));
        assert!(backoff(&retry, 40) >= Duration::from_secs(48));
    }

    #[test]
    fn statuses_retried() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [200, 201, 204, 400, 401, 403, 404, 409, 501, 505] {
            assert!(
                !is_retryable_status(StatusCode::from_u16(s).unwrap()),
                "{s}"
            );
        }
    }

    #[test]
    fn bearer_only_over_https_or_loopback() {
        let ok = |u: &str| bearer_allowed(&u.parse().unwrap());
        assert!(ok("https://a.communication.azure.com/"));
        assert!(ok("http://127.0.0.1:8080/"));
        assert!(ok("http://127.8.0.1/"));
        assert!(ok("http://localhost:1/"));
        assert!(ok("http://[::1]:9/"));
        assert!(!ok("http://a.communication.azure.com/"));
        assert!(!ok("http://10.0.0.1/"));
    }

    #[test]
    fn user_agent_shape() {
        let ua = user_agent(None).unwrap();
        let ua = ua.to_str().unwrap();
        assert!(
            ua.starts_with(&format!(
                "azsdk-rust-communication-identity/{} (",
                env!("CARGO_PKG_VERSION")
            )),
            "{ua}"
        );
        assert!(
            ua.ends_with(&format!("; {})", std::env::consts::OS)),
            "{ua}"
        );
        let with_app = user_agent(Some("my-app")).unwrap();
        assert_eq!(with_app.to_str().unwrap(), format!("my-app {ua}"));
        assert!(user_agent(Some("has space")).is_err());
        assert!(user_agent(Some("")).is_err());
    }
}
