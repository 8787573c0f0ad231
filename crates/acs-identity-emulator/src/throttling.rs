//! Throttling as the service documents it (off by default): per operation, at most its limit of
//! requests per 30-second window (or a scaled limit, or another window, so tests hit it
//! quickly); beyond it 429 with a CommunicationErrorResponse and `Retry-After`.
//!
//! Emulator's choices where the service documents none: a fixed window per operation that opens
//! with the first request counted in it; `Retry-After` is the number of whole seconds, rounded
//! up and at least one, until that window closes; only authenticated requests are counted, and a
//! throttled request is not counted.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, StatusCode};

use crate::errors::ApiError;
use crate::operation::Operation;

/// The service's window.
pub const SERVICE_WINDOW: Duration = Duration::from_secs(30);

/// Throttling settings: the service's limits times `scale`, per `window`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttling {
    scale: f64,
    window: Duration,
}

/// Throttling settings out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid throttling: {0}")]
pub struct InvalidThrottling(String);

impl Default for Throttling {
    fn default() -> Self {
        Self::service_limits()
    }
}

impl Throttling {
    /// The documented limits per 30 seconds: create identity 1000, delete identity 500, issue
    /// token 1000, revoke tokens 500, create identity and token 1000, exchange tokens 500.
    pub fn service_limits() -> Self {
        Self {
            scale: 1.0,
            window: SERVICE_WINDOW,
        }
    }

    /// Each limit times `scale` (rounded, at least 1): `0.001` allows one request of each
    /// operation per window.
    pub fn scaled(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }

    /// Another window than the service's 30 seconds (emulator only, for quick tests).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The limit of `operation` per window.
    pub fn limit(&self, operation: Operation) -> u32 {
        let scaled = (f64::from(operation.service_limit()) * self.scale).round();
        // `as` saturates; the scale is checked to be positive and finite.
        (scaled as u32).max(1)
    }

    /// The window length.
    pub fn window_length(&self) -> Duration {
        self.window
    }

    /// Checks the ranges: scale above 0 and at most 1000, window 1 s ..= 1 h.
    pub fn validate(&self) -> Result<(), InvalidThrottling> {
        if !(self.scale.is_finite() && self.scale > 0.0 && self.scale <= 1000.0) {
            return Err(InvalidThrottling(format!(
                "the scale {} must be above 0 and at most 1000",
                self.scale
            )));
        }
        if self.window < Duration::from_secs(1) || self.window > Duration::from_secs(3600) {
            return Err(InvalidThrottling(format!(
                "the window of {} ms must be 1 second to 1 hour",
                self.window.as_millis()
            )));
        }
        Ok(())
    }
}

/// Counters of the current window, one per operation.
#[derive(Debug, Clone, Copy)]
struct Window {
    opened: Instant,
    count: u32,
}

/// The throttle in force (none when throttling is off).
pub(crate) struct Throttle {
    settings: Option<Throttling>,
    windows: Mutex<[Option<Window>; Operation::ALL.len()]>,
}

fn index(operation: Operation) -> usize {
    Operation::ALL
        .iter()
        .position(|o| *o == operation)
        .unwrap_or(0)
}

impl Throttle {
    pub(crate) fn new(settings: Option<Throttling>) -> Self {
        Self {
            settings,
            windows: Mutex::new([None; Operation::ALL.len()]),
        }
    }

    /// Counts a request of `operation` at `now`, or refuses it with 429 when its window is full.
    pub(crate) fn admit(&self, operation: Operation, now: Instant) -> Result<(), ApiError> {
        let Some(settings) = self.settings else {
            return Ok(());
        };
        let limit = settings.limit(operation);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut windows[index(operation)];
        let window = match slot {
            Some(w) if now.duration_since(w.opened) < settings.window => w,
            _ => slot.insert(Window {
                opened: now,
                count: 0,
            }),
        };
        if window.count < limit {
            window.count += 1;
            return Ok(());
        }
        let left = settings
            .window
            .saturating_sub(now.duration_since(window.opened));
        let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        let seconds = seconds.max(1);
        tracing::info!(operation = %operation, limit, retry_after = seconds, "throttled");
        Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!(
                "Too many {operation} requests: the limit is {limit} per {} seconds (emulator throttling). Retry after {seconds} seconds.",
                settings.window.as_secs()
            ),
        )
        .with_header(
            HeaderName::from_static("retry-after"),
            HeaderValue::from(seconds),
        ))
    }

    /// Forgets every window (state reset).
    pub(crate) fn reset(&self) {
        *self.windows.lock().unwrap_or_else(|p| p.into_inner()) = [None; Operation::ALL.len()];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_scale_and_never_reach_zero() {
        let t = Throttling::service_limits();
        assert_eq!(t.limit(Operation::IssueToken), 1000);
        assert_eq!(t.limit(Operation::RevokeTokens), 500);
        let t = t.scaled(0.01);
        assert_eq!(t.limit(Operation::IssueToken), 10);
        assert_eq!(t.limit(Operation::ExchangeTeamsToken), 5);
        assert_eq!(t.scaled(0.0001).limit(Operation::DeleteIdentity), 1);
        assert!(t.scaled(0.0).validate().is_err());
        assert!(t.scaled(f64::NAN).validate().is_err());
        assert!(t.window(Duration::from_millis(10)).validate().is_err());
        assert!(t.validate().is_ok());
    }

    #[test]
    fn a_full_window_answers_429_until_it_closes() {
        let throttle = Throttle::new(Some(
            Throttling::service_limits()
                .scaled(0.002)
                .window(Duration::from_secs(30)),
        ));
        let start = Instant::now();
        assert!(throttle.admit(Operation::IssueToken, start).is_ok());
        assert!(throttle.admit(Operation::IssueToken, start).is_ok());
        let refused = throttle
            .admit(Operation::IssueToken, start + Duration::from_millis(10_500))
            .unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.body.code, "TooManyRequests");
        assert_eq!(
            refused.body.message,
            "Too many issueToken requests: the limit is 2 per 30 seconds (emulator throttling). Retry after 20 seconds."
        );
        assert_eq!(refused.headers[0].1, HeaderValue::from(20u64));
        // Other operations have windows of their own.
        assert!(throttle.admit(Operation::RevokeTokens, start).is_ok());
        // The window closes 30 s after it opened.
        assert!(
            throttle
                .admit(Operation::IssueToken, start + Duration::from_secs(30))
                .is_ok()
        );
        throttle.reset();
        assert!(throttle.admit(Operation::IssueToken, start).is_ok());
    }

    #[test]
    fn off_admits_everything() {
        let throttle = Throttle::new(None);
        let now = Instant::now();
        for _ in 0..2000 {
            assert!(throttle.admit(Operation::IssueToken, now).is_ok());
        }
    }
}
