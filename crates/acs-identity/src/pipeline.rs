//! What every call of a client shares: the HTTP client, the authorization (and its bearer token
//! cache), the user agent, the retry policy and its timing rules, request ids. One call's sending
//! is in `call.rs`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use acs_auth::{AccessKeyCredential, Clock};
use azure_core::credentials::TokenCredential;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::options::RetryOptions;

/// The scope of Entra ID tokens for Communication Services.
///
/// The double slash is deliberate: it is the resource `https://communication.azure.com/` followed
/// by `/.default`, and it is what every official SDK requests (Entra ID issues the token for the
/// resource either way). Do not "fix" it to a single slash.
pub const COMMUNICATION_SCOPE: &str = "https://communication.azure.com//.default";

pub(crate) const X_MS_CLIENT_REQUEST_ID: HeaderName =
    HeaderName::from_static("x-ms-client-request-id");
pub(crate) const X_MS_RETURN_CLIENT_REQUEST_ID: HeaderName =
    HeaderName::from_static("x-ms-return-client-request-id");
const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");
const X_MS_RETRY_AFTER_MS: HeaderName = HeaderName::from_static("x-ms-retry-after-ms");

/// Refresh a cached bearer token this long before it expires.
const TOKEN_REFRESH_MARGIN: time::Duration = time::Duration::minutes(5);

/// How the requests of a client are authorized.
#[derive(Clone)]
pub(crate) enum Auth {
    /// HMAC-SHA256 with a (rotatable) access key, signed afresh for every try.
    Key(AccessKeyCredential),
    /// Bearer tokens from an Entra ID credential, cached until shortly before they expire.
    Token {
        credential: Arc<dyn TokenCredential>,
        /// The last token. An async lock, held while a new token is fetched, so that concurrent
        /// calls that find the token stale wait for one refresh instead of starting one each.
        cache: Arc<tokio::sync::Mutex<Option<azure_core::credentials::AccessToken>>>,
    },
    /// No credential of the resource: a client made by `EntraTokenExchange` for the exchanges,
    /// each authorized by the end user's Entra token (`Call::start_as`). Any other operation
    /// fails before sending.
    ExchangesOnly,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Key(key) => write!(f, "{key:?}"),
            Auth::Token { credential, .. } => write!(f, "TokenCredential({credential:?})"),
            Auth::ExchangesOnly => f.write_str("ExchangesOnly"),
        }
    }
}

impl Auth {
    pub(crate) fn token(credential: Arc<dyn TokenCredential>) -> Self {
        Auth::Token {
            credential,
            cache: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }
}

/// How the tries of one call are authorized: signed with the key (afresh for every try, so a
/// rotated key takes effect at the next try), or with this bearer token.
pub(crate) enum Authorization {
    Key(AccessKeyCredential),
    /// The whole `Authorization` value (`Bearer <token>`), marked sensitive.
    Bearer(HeaderValue),
}

/// A random (version 4) UUID for `x-ms-client-request-id`. The ids need to be unique, not secret:
/// they come from a per-thread generator seeded once from the OS, which avoids a system call per
/// request.
fn new_request_id_text() -> [u8; uuid::fmt::Hyphenated::LENGTH] {
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

/// A new `x-ms-client-request-id` value. The header owns the id's bytes: one allocation, shared
/// by every clone of the header (one per try) without further copies.
pub(crate) fn new_request_id() -> HeaderValue {
    HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(new_request_id_text()))
        .unwrap_or_else(|_| HeaderValue::from_static("00000000-0000-0000-0000-000000000000"))
}

/// Everything a call needs, shared by all clones of a client.
pub(crate) struct Pipeline {
    pub(crate) http: reqwest::Client,
    pub(crate) auth: Auth,
    /// The endpoint's authority as signed (`host[:port]`); every request goes to the endpoint.
    pub(crate) host: String,
    pub(crate) user_agent: HeaderValue,
    pub(crate) retry: RetryOptions,
    pub(crate) per_try_timeout: Option<Duration>,
    /// The default limit on a whole call (every try and wait).
    pub(crate) timeout: Option<Duration>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("auth", &self.auth)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("per_try_timeout", &self.per_try_timeout)
            .field("timeout", &self.timeout)
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

/// Fails with a configuration error unless a bearer token may be sent to `url`
/// ([`bearer_allowed`]).
pub(crate) fn require_bearer_allowed(url: &url::Url) -> Result<()> {
    if bearer_allowed(url) {
        return Ok(());
    }
    Err(Error::configuration(
        format!(
            "refusing to send an Entra ID bearer token over plain http to `{}`: it would travel \
             unencrypted; use an https endpoint (plain http is allowed only to a loopback host \
             such as 127.0.0.1 or localhost)",
            url.host_str().unwrap_or("")
        ),
        None,
    ))
}

pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

pub(crate) fn is_retryable_error(error: &reqwest::Error) -> bool {
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
    // A product past what a Duration holds (delays set near `Duration::MAX`) is the cap.
    Duration::try_from_secs_f64(base.as_secs_f64() * factor)
        .unwrap_or(retry.max_delay)
        .min(retry.max_delay)
}

impl Pipeline {
    /// The authorization of a new call: the access key, or a bearer token (cached; fetched
    /// when there is none or it expires within five minutes, by one caller while the others
    /// wait for it).
    pub(crate) async fn authorization(&self) -> Result<Authorization> {
        match &self.auth {
            Auth::Key(credential) => Ok(Authorization::Key(credential.clone())),
            Auth::ExchangesOnly => Err(Error::configuration(
                "this client has no credential of the resource: it only exchanges end users' \
                 Entra ID tokens",
                None,
            )),
            Auth::Token { credential, cache } => {
                let token = self.bearer_token(credential, cache).await?;
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                        Error::credential(
                            "the credential returned a token that is not a valid header value",
                            None,
                        )
                    })?;
                value.set_sensitive(true);
                Ok(Authorization::Bearer(value))
            }
        }
    }

    async fn bearer_token(
        &self,
        credential: &Arc<dyn TokenCredential>,
        cache: &tokio::sync::Mutex<Option<azure_core::credentials::AccessToken>>,
    ) -> Result<String> {
        let mut cached = cache.lock().await;
        let now = OffsetDateTime::from(self.clock.now());
        if let Some(token) = cached.as_ref()
            && token.expires_on - TOKEN_REFRESH_MARGIN > now
        {
            return Ok(token.token.secret().to_owned());
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
        *cached = Some(token);
        Ok(text)
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
            .map(|_| String::from_utf8(new_request_id_text().to_vec()).unwrap())
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
    fn backoff_of_delays_near_the_largest_duration_is_the_cap_not_a_panic() {
        let retry = RetryOptions::default()
            .with_initial_delay(Duration::MAX)
            .with_max_delay(Duration::MAX);
        for n in [1, 2, 40] {
            assert!(
                backoff(&retry, n) >= Duration::from_secs(u64::MAX / 2),
                "{n}"
            );
        }
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
