//! Test controls (emulator only, all off by default): fault rules, throttling and a revocation
//! delay, as one JSON value, [`Controls`]. It is set one way: `PUT /emulator/controls` replaces
//! it (`--controls <JSON>` gives the same value at start, [`EmulatorHandle::set_controls`] in
//! process), `GET /emulator/controls` reads it. Also here: `GET /emulator/identities[?includeDeleted=true]`
//! and `POST /emulator/reset`.
//!
//! Throttling, where the service documents no detail: a fixed window per operation that opens
//! with the first request counted in it; `Retry-After` is the whole seconds, rounded up and at
//! least one, until it closes; only authenticated requests count, a throttled one does not.
//! Revocation delay: per identity with a revocation still propagating, the stamp in force and the
//! revocations waiting (stamp, time); a token is revoked once a revocation with a stamp above
//! its own has waited the delay.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse as _, Response};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{
    App, health, json_response, no_content, query_value, read_body, validate_token_http,
};
use crate::errors::{ApiError, EmulatorError};
use crate::operation::Operation;
use crate::server::EmulatorHandle;
use crate::tokens::{format_expires_on, format_seconds};

/// The longest delay a fault rule may ask for: below the default request timeout (30 s, then
/// 408), so that a delay is a delay and not a timeout (for no answer at all, use `drop`).
pub const MAX_FAULT_DELAY: Duration = Duration::from_secs(25);
/// The most fault rules at once.
pub const MAX_FAULT_RULES: usize = 100;
/// The longest revocation delay accepted (the service documents up to 15 minutes).
pub const MAX_REVOCATION_DELAY: Duration = Duration::from_secs(24 * 3600);
/// At most this many revocations of one identity wait at once; a further one makes the oldest
/// take effect early (memory stays bounded however often a client revokes).
const MAX_WAITING_PER_IDENTITY: usize = 16;

/// The test controls, as `PUT`/`GET /emulator/controls` carry them; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Controls {
    /// Fault rules; the first that matches a request acts (as read back, a counted rule's
    /// `count` is what is left of it, and a used-up rule is gone).
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// Throttling as the service does (absent: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttling: Option<Throttling>,
    /// Revoked tokens stay valid for `POST /emulator/tokens:validate` this many seconds after
    /// the revoke (0: revoked at once). Deletion stays immediate.
    #[serde(default)]
    pub revocation_delay_seconds: u64,
}

/// One fault rule: requests of `operation` (absent: every operation of the service) answer
/// `status`, or have their connection dropped (`drop`), after `delay_ms`; with neither, they are
/// served `delay_ms` late.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// The operation matched (absent: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// The error status to answer (400..=599), with a CommunicationErrorResponse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Close the connection without an answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop: bool,
    /// Milliseconds to wait first (at most [`MAX_FAULT_DELAY`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_ms: u64,
    /// Only the next N matching requests (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Only this fraction (0 < p <= 1) of the matching requests, chosen at random.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// `Retry-After: <seconds>` on the error answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
}

/// Throttling: per operation, at most [`Operation::service_limit`] times `scale` requests
/// (rounded, at least 1) per window of `window_seconds`; beyond it 429 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Throttling {
    /// 1 (default) is the service; 0.001 allows one request of each operation per window.
    #[serde(default = "one")]
    pub scale: f64,
    /// The window, 1..=3600 seconds (default 30, the service's).
    #[serde(default = "service_window")]
    pub window_seconds: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
fn one() -> f64 {
    1.0
}
fn service_window() -> u64 {
    30
}

impl Default for Throttling {
    fn default() -> Self {
        Self {
            scale: one(),
            window_seconds: service_window(),
        }
    }
}

impl Throttling {
    /// The limit of `operation` per window.
    pub fn limit(&self, operation: Operation) -> u32 {
        // `as` saturates; the scale is checked to be positive and finite.
        ((f64::from(operation.service_limit()) * self.scale).round() as u32).max(1)
    }
}

impl FaultRule {
    fn check(&self) -> Result<(), String> {
        match (self.status, self.drop) {
            (Some(s), _) if !(400..=599).contains(&s) => {
                Err(format!("status {s} is not an error status (400..=599)"))
            }
            (Some(_), true) => Err("give either status or drop=true, not both".into()),
            (None, false) if self.delay_ms == 0 => {
                Err("a rule needs a status, drop=true or a delay (delayMs)".into())
            }
            _ if self.delay_ms > MAX_FAULT_DELAY.as_millis() as u64 => Err(format!(
                "delayMs {} is above the maximum of {}",
                self.delay_ms,
                MAX_FAULT_DELAY.as_millis()
            )),
            _ if self.count == Some(0) => Err("count must be at least 1".into()),
            _ if self.probability.is_some_and(|p| !(p > 0.0 && p <= 1.0)) => Err(format!(
                "probability {} is not in (0, 1]",
                self.probability.unwrap_or_default()
            )),
            (None, _) if self.retry_after.is_some() => Err("retryAfter needs a status".into()),
            _ => Ok(()),
        }
    }
}

impl Controls {
    /// Checks every setting; the message names the first one out of range.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for rule in &self.faults {
            rule.check()
                .map_err(|e| format!("invalid fault rule: {e}"))?;
        }
        if self.faults.len() > MAX_FAULT_RULES {
            return Err(format!(
                "at most {MAX_FAULT_RULES} fault rules, {} given",
                self.faults.len()
            ));
        }
        if let Some(t) = self.throttling {
            if !(t.scale.is_finite() && t.scale > 0.0 && t.scale <= 1000.0) {
                return Err(format!(
                    "invalid throttling: the scale {} must be above 0 and at most 1000",
                    t.scale
                ));
            }
            if !(1..=3600).contains(&t.window_seconds) {
                return Err(format!(
                    "invalid throttling: the window of {} s must be 1 second to 1 hour",
                    t.window_seconds
                ));
            }
        }
        if self.revocation_delay_seconds > MAX_REVOCATION_DELAY.as_secs() {
            return Err(format!(
                "the revocation delay of {} s is above the maximum of {} s",
                self.revocation_delay_seconds,
                MAX_REVOCATION_DELAY.as_secs()
            ));
        }
        Ok(())
    }
}

/// Revocations of one identity still propagating.
#[derive(Debug, Default)]
struct Propagating {
    /// Tokens with a stamp below this are revoked now.
    in_force: u64,
    /// Revocations not in force yet: (stamp, when revoked), oldest first.
    waiting: VecDeque<(u64, SystemTime)>,
}

/// The controls in force and what they count.
#[derive(Default)]
struct Active {
    controls: Controls,
    /// Per operation (index in [`Operation::ALL`]): when its throttling window opened, and how
    /// many requests it counted.
    windows: [Option<(Instant, u32)>; Operation::ALL.len()],
    propagating: HashMap<String, Propagating>,
}

/// The controls' state in a running emulator.
pub(crate) struct ControlState(Mutex<Active>);

impl ControlState {
    pub(crate) fn new(controls: Controls) -> Self {
        Self(Mutex::new(Active {
            controls,
            ..Active::default()
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Active> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the controls (checked by the caller); throttling windows and revocations in
    /// propagation start afresh.
    fn set(&self, controls: Controls) {
        *self.lock() = Active {
            controls,
            ..Active::default()
        };
    }

    /// The first fault rule that matches a request of `operation` (and, for a fraction, is
    /// chosen this time), with its number (1-based); a counted rule uses up one request.
    fn hit(&self, operation: Operation) -> Option<(usize, FaultRule)> {
        let faults = &mut self.lock().controls.faults;
        let index = faults.iter().position(|rule| {
            rule.operation.is_none_or(|o| o == operation)
                && rule.probability.is_none_or(|p| random_fraction() < p)
        })?;
        let rule = faults[index].clone();
        if let Some(left) = &mut faults[index].count {
            *left = left.saturating_sub(1);
            if *left == 0 {
                faults.remove(index);
            }
        }
        Some((index + 1, rule))
    }

    /// Counts a request of `operation` at `now`, or refuses it with 429 when its window is full.
    pub(crate) fn throttle(&self, operation: Operation, now: Instant) -> Result<(), ApiError> {
        let mut active = self.lock();
        let Some(settings) = active.controls.throttling else {
            return Ok(());
        };
        let (limit, window) = (
            settings.limit(operation),
            Duration::from_secs(settings.window_seconds),
        );
        let index = Operation::ALL.iter().position(|o| *o == operation);
        let slot = &mut active.windows[index.unwrap_or(0)];
        let (opened, count) = match *slot {
            Some((opened, count)) if now.duration_since(opened) < window => (opened, count),
            _ => (now, 0),
        };
        if count < limit {
            *slot = Some((opened, count + 1));
            return Ok(());
        }
        let left = window.saturating_sub(now.duration_since(opened));
        let seconds = (left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1);
        tracing::info!(operation = %operation, limit, retry_after = seconds, "throttled");
        Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!(
                "Too many {operation} requests: the limit is {limit} per {} seconds (emulator throttling). Retry after {seconds} seconds.",
                settings.window_seconds
            ),
        )
        .with_header(HeaderName::from_static("retry-after"), HeaderValue::from(seconds)))
    }

    /// Notes a revocation of `id` with `stamp` at `at`; `stored_before` is what the store held
    /// before it (in force at once).
    pub(crate) fn record_revocation(
        &self,
        id: &str,
        stored_before: u64,
        stamp: u64,
        at: SystemTime,
    ) {
        let mut active = self.lock();
        if active.controls.revocation_delay_seconds == 0 {
            return;
        }
        let entry = active
            .propagating
            .entry(id.to_owned())
            .or_insert_with(|| Propagating {
                in_force: stored_before,
                waiting: VecDeque::new(),
            });
        if entry.waiting.len() >= MAX_WAITING_PER_IDENTITY
            && let Some((oldest, _)) = entry.waiting.pop_front()
        {
            entry.in_force = entry.in_force.max(oldest);
        }
        entry.waiting.push_back((stamp, at));
    }

    /// The stamp below which tokens of `id` count as revoked at `now`, given the store's
    /// `stored` one (which already includes every revocation).
    pub(crate) fn revoked_before(&self, id: &str, stored: u64, now: SystemTime) -> u64 {
        let mut active = self.lock();
        let delay = Duration::from_secs(active.controls.revocation_delay_seconds);
        let Some(entry) = active.propagating.get_mut(id) else {
            return stored;
        };
        while let Some(&(stamp, at)) = entry.waiting.front()
            && at + delay <= now
        {
            entry.in_force = entry.in_force.max(stamp);
            entry.waiting.pop_front();
        }
        if entry.waiting.is_empty() {
            active.propagating.remove(id);
            return stored;
        }
        entry.in_force
    }
}

/// A uniform random number in [0, 1) (without randomness 0: the rule applies, never a crash).
fn random_fraction() -> f64 {
    (getrandom::u64().unwrap_or(0) >> 11) as f64 / (1u64 << 53) as f64
}

/// Applies the fault rule a request of `operation` hits, if any: waits its delay, then answers
/// (an error status or a dropped connection), or returns `None` to let the request be served.
pub(crate) async fn fault(app: &App, operation: Operation) -> Option<Response> {
    let (number, rule) = app.controls.hit(operation)?;
    tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
    tracing::info!(rule = number, operation = %operation, "fault injected");
    if rule.drop {
        // A body whose stream fails at once: hyper closes the connection without the response
        // (HTTP/1.1) or resets the stream (HTTP/2).
        let failing = futures::stream::once(async {
            Err::<Vec<u8>, _>(std::io::Error::other("connection dropped by a fault rule"))
        });
        return Some(Response::new(Body::from_stream(failing)));
    }
    let status = StatusCode::from_u16(rule.status?).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let code = match status.as_u16() {
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "InjectedFault",
    };
    let message = format!("Fault injected by the emulator (rule {number}, operation {operation}).");
    let mut error = ApiError::new(status, code, message);
    if let Some(seconds) = rule.retry_after {
        error = error.with_header(HeaderName::from_static("retry-after"), seconds.into());
    }
    Some(error.into_response())
}

/// One identity as `GET /emulator/identities` lists it. New fields may be added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IdentityEntry {
    /// `8:acs:<resource id>_<suffix>`.
    pub id: String,
    /// When it was created, RFC 3339 like the service's timestamps.
    pub created_on: String,
    /// Deleted (listed only with `includeDeleted=true`).
    pub deleted: bool,
    /// Whether its tokens were ever revoked.
    pub tokens_revoked: bool,
    /// Its custom id (2025-03-02-preview), when it was created with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
    /// When a token was last issued for it, as `lastTokenIssuedAt` of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_token_issued_at: Option<String>,
}

/// Every identity, oldest first; deleted ones only with `include_deleted`.
fn identities(app: &App, include_deleted: bool) -> Vec<IdentityEntry> {
    let mut records = app.store.identities();
    records.retain(|(_, r)| include_deleted || !r.deleted);
    records.sort_by(|(a_id, a), (b_id, b)| a.created_ms.cmp(&b.created_ms).then(a_id.cmp(b_id)));
    records
        .into_iter()
        .map(|(id, record)| IdentityEntry {
            id,
            created_on: format_expires_on(i128::from(record.created_ms) * 1_000_000)
                .unwrap_or_default(),
            deleted: record.deleted,
            tokens_revoked: record.revoked_before != 0,
            last_token_issued_at: record.profile.last_token_issued_s.and_then(format_seconds),
            custom_id: record.profile.custom_id,
        })
        .collect()
}

/// Forgets every identity and assignment (durably) and every control. Keeps the access key,
/// resource id and signing key.
async fn reset(app: &App) -> Result<(), String> {
    app.store.reset().await?;
    app.controls.set(Controls::default());
    tracing::info!("state reset");
    Ok(())
}

/// Whether `query` has `includeDeleted=true` (or `includeDeleted` alone; case-insensitive).
fn include_deleted(query: Option<&str>) -> bool {
    query_value(query, "includeDeleted")
        .is_some_and(|v| v.is_empty() || v.eq_ignore_ascii_case("true"))
}

/// Serves the `/emulator/{name}` endpoints: `health`, `jwks` and `tokens:validate` (see
/// `crate::api::handlers`), and the controls, identities and reset of this module.
pub(crate) async fn handle(app: &App, name: &str, request: Request) -> Result<Response, ApiError> {
    let method = request.method().clone();
    match name.to_ascii_lowercase().as_str() {
        "health" if method == Method::GET => Ok(health(app)),
        "jwks" if method == Method::GET => Ok(json_response(StatusCode::OK, &app.signer.jwks())),
        "tokens:validate" if method == Method::POST => {
            let (parts, body) = request.into_parts();
            let body = read_body(body, &parts.headers, app.max_body_bytes).await?;
            validate_token_http(app, &body)
        }
        "controls" if method == Method::GET => {
            Ok(json_response(StatusCode::OK, &app.controls.lock().controls))
        }
        "controls" if method == Method::PUT => {
            let (parts, body) = request.into_parts();
            let body = read_body(body, &parts.headers, app.max_body_bytes).await?;
            let controls: Controls = serde_json::from_slice(&body).map_err(|e| {
                ApiError::validation(format!("The body is not test controls: {e}."), "body")
            })?;
            controls
                .validate()
                .map_err(|e| ApiError::validation(e, "body"))?;
            tracing::info!(controls = %serde_json::to_string(&controls).unwrap_or_default(), "controls set");
            app.controls.set(controls.clone());
            Ok(json_response(StatusCode::OK, &controls))
        }
        "controls" => Err(ApiError::method_not_allowed("GET, PUT")),
        "identities" if method == Method::GET => {
            let include_deleted = include_deleted(request.uri().query());
            Ok(json_response(
                StatusCode::OK,
                &json!({ "value": identities(app, include_deleted) }),
            ))
        }
        "health" | "jwks" | "identities" => Err(ApiError::method_not_allowed("GET")),
        "reset" if method == Method::POST => {
            reset(app).await.map_err(|e| {
                tracing::error!(error = %e, "reset: write failed");
                ApiError::storage()
            })?;
            Ok(no_content())
        }
        "tokens:validate" | "reset" => Err(ApiError::method_not_allowed("POST")),
        _ => Err(ApiError::not_found()),
    }
}

impl EmulatorHandle {
    /// What `PUT /emulator/controls` does: replaces the test controls (refused, naming what is
    /// out of range, when invalid).
    pub fn set_controls(&self, controls: Controls) -> Result<(), EmulatorError> {
        controls.validate().map_err(EmulatorError::InvalidSetting)?;
        self.app.controls.set(controls);
        Ok(())
    }

    /// What `GET /emulator/controls` answers: the controls in force.
    pub fn controls(&self) -> Controls {
        self.app.controls.lock().controls.clone()
    }

    /// What `GET /emulator/identities` lists: live identities, oldest first (with
    /// `include_deleted`, deleted ones too).
    pub fn identities(&self, include_deleted: bool) -> Vec<IdentityEntry> {
        identities(&self.app, include_deleted)
    }

    /// What `POST /emulator/reset` does: forgets every identity and control; tokens issued
    /// before are then invalid (`identityNotFound`).
    pub async fn reset(&self) -> Result<(), EmulatorError> {
        reset(&self.app).await.map_err(EmulatorError::Storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: serde_json::Value) -> FaultRule {
        serde_json::from_value(json).unwrap()
    }

    fn state(controls: serde_json::Value) -> ControlState {
        ControlState::new(serde_json::from_value(controls).unwrap())
    }

    #[test]
    fn include_deleted_flag() {
        assert!(include_deleted(Some("includeDeleted=true")));
        assert!(include_deleted(Some("a=1&includedeleted=TRUE")));
        assert!(include_deleted(Some("includeDeleted")));
        assert!(!include_deleted(Some("includeDeleted=false")));
        assert!(!include_deleted(None));
    }

    #[test]
    fn bad_controls_are_refused_with_the_reason() {
        let cases = [
            (
                json!({"faults": [{"status": 200}]}),
                "status 200 is not an error status (400..=599)",
            ),
            (
                json!({"faults": [{}]}),
                "a rule needs a status, drop=true or a delay (delayMs)",
            ),
            (
                json!({"faults": [{"status": 503, "drop": true}]}),
                "give either status or drop=true, not both",
            ),
            (
                json!({"faults": [{"status": 503, "count": 0}]}),
                "count must be at least 1",
            ),
            (
                json!({"faults": [{"status": 503, "probability": 1.5}]}),
                "probability 1.5 is not in (0, 1]",
            ),
            (
                json!({"faults": [{"status": 503, "probability": 0.0}]}),
                "probability 0 is not in (0, 1]",
            ),
            (
                json!({"faults": [{"delayMs": 400000}]}),
                "delayMs 400000 is above the maximum of 25000",
            ),
            (
                json!({"faults": [{"delayMs": 30000}]}),
                "delayMs 30000 is above the maximum of 25000",
            ),
            (
                json!({"faults": [{"drop": true, "retryAfter": 1}]}),
                "retryAfter needs a status",
            ),
            (
                json!({"throttling": {"scale": 0.0}}),
                "the scale 0 must be above 0",
            ),
            (
                json!({"throttling": {"windowSeconds": 0}}),
                "the window of 0 s must be 1 second to 1 hour",
            ),
            (
                json!({"revocationDelaySeconds": 86401}),
                "the revocation delay of 86401 s is above the maximum of 86400 s",
            ),
        ];
        for (controls, expected) in cases {
            let controls: Controls = serde_json::from_value(controls.clone()).unwrap();
            let error = controls.validate().unwrap_err();
            assert!(error.contains(expected), "{controls:?}: {error}");
        }
        let many = Controls {
            faults: vec![rule(json!({"status": 500})); MAX_FAULT_RULES + 1],
            ..Controls::default()
        };
        assert_eq!(
            many.validate().unwrap_err(),
            "at most 100 fault rules, 101 given"
        );
        for bad in [
            json!({"faults": [{"operation": "listUsers", "status": 500}]}),
            json!({"colour": 1}),
        ] {
            assert!(serde_json::from_value::<Controls>(bad).is_err());
        }
    }

    #[test]
    fn counted_rules_run_out_and_operations_are_matched() {
        let faults = state(json!({"faults": [
            {"operation": "issueToken", "status": 503, "count": 2},
            {"operation": "createIdentity", "status": 500},
        ]}));
        assert!(faults.hit(Operation::RevokeTokens).is_none());
        let (number, first) = faults.hit(Operation::IssueToken).unwrap();
        assert_eq!((number, first.status), (1, Some(503)));
        assert_eq!(faults.lock().controls.faults[0].count, Some(1), "one left");
        assert!(faults.hit(Operation::IssueToken).is_some());
        assert!(faults.hit(Operation::IssueToken).is_none(), "used up");
        assert_eq!(faults.lock().controls.faults.len(), 1);
        for _ in 0..3 {
            let (number, rule) = faults.hit(Operation::CreateIdentity).unwrap();
            assert_eq!((number, rule.status), (1, Some(500)));
        }
    }

    #[test]
    fn a_fraction_hits_about_that_share() {
        let faults = state(json!({"faults": [{"status": 500, "probability": 0.5}]}));
        let hits = (0..400)
            .filter(|_| faults.hit(Operation::IssueToken).is_some())
            .count();
        // Binomial(400, 0.5): outside 120..=280 has a probability far below 1e-15.
        assert!((120..=280).contains(&hits), "{hits} of 400");
    }

    #[test]
    fn throttling_limits_scale_and_never_reach_zero() {
        let t = Throttling::default();
        assert_eq!(t.limit(Operation::IssueToken), 1000);
        assert_eq!(t.limit(Operation::RevokeTokens), 500);
        let t = Throttling { scale: 0.01, ..t };
        assert_eq!(t.limit(Operation::IssueToken), 10);
        assert_eq!(t.limit(Operation::ExchangeTeamsToken), 5);
        assert_eq!(
            Throttling { scale: 0.0001, ..t }.limit(Operation::DeleteIdentity),
            1
        );
    }

    #[test]
    fn a_full_window_answers_429_until_it_closes() {
        let throttle = state(json!({"throttling": {"scale": 0.002}}));
        let start = Instant::now();
        assert!(throttle.throttle(Operation::IssueToken, start).is_ok());
        assert!(throttle.throttle(Operation::IssueToken, start).is_ok());
        let refused = throttle
            .throttle(Operation::IssueToken, start + Duration::from_millis(10_500))
            .unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.body.code, "TooManyRequests");
        assert_eq!(
            refused.body.message,
            "Too many issueToken requests: the limit is 2 per 30 seconds (emulator throttling). Retry after 20 seconds."
        );
        assert_eq!(refused.headers[0].1, HeaderValue::from(20u64));
        // Other operations have windows of their own.
        assert!(throttle.throttle(Operation::RevokeTokens, start).is_ok());
        // The window closes 30 s after it opened.
        let later = start + Duration::from_secs(30);
        assert!(throttle.throttle(Operation::IssueToken, later).is_ok());
        throttle.set(Controls::default());
        for _ in 0..2000 {
            assert!(
                throttle.throttle(Operation::IssueToken, start).is_ok(),
                "off admits all"
            );
        }
    }

    #[test]
    fn a_revocation_takes_effect_after_the_delay() {
        let delay = state(json!({"revocationDelaySeconds": 60}));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let s = Duration::from_secs;
        // A token with stamp 10; revoked with stamp 20 at t0.
        delay.record_revocation("a", 0, 20, t0);
        assert_eq!(delay.revoked_before("a", 20, t0), 0, "still valid at once");
        assert_eq!(delay.revoked_before("a", 20, t0 + s(59)), 0);
        // A second revoke at t0 + 30 s (stamp 30): the first still lands at t0 + 60 s.
        delay.record_revocation("a", 20, 30, t0 + s(30));
        assert_eq!(delay.revoked_before("a", 30, t0 + s(60)), 20);
        assert_eq!(delay.revoked_before("a", 30, t0 + s(90)), 30);
        // Other identities: the store's value.
        assert_eq!(delay.revoked_before("b", 7, t0), 7);
    }

    #[test]
    fn no_delay_means_immediate_and_waiting_is_bounded() {
        let off = state(json!({}));
        let t0 = SystemTime::UNIX_EPOCH;
        off.record_revocation("a", 0, 5, t0);
        assert_eq!(off.revoked_before("a", 5, t0), 5);

        let on = state(json!({"revocationDelaySeconds": 600}));
        for stamp in 1..=(MAX_WAITING_PER_IDENTITY as u64 + 4) {
            on.record_revocation("a", 0, stamp, t0);
        }
        // The four oldest took effect early to keep the queue bounded.
        assert_eq!(on.revoked_before("a", 20, t0), 4);
        on.set(Controls::default());
        assert_eq!(on.revoked_before("a", 20, t0), 20);
    }
}
