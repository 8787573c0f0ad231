//! Faults on demand (emulator only): rules that make chosen operations answer an error status,
//! answer late, or drop the connection, for every request, the next N, or a fraction of them.
//!
//! A rule is set at start ([`crate::EmulatorBuilder::fault`], `--fault`), at run time with
//! `POST /emulator/faults` or [`crate::EmulatorHandle::add_fault`], and cleared with
//! `DELETE /emulator/faults` (or `/emulator/faults/{id}`) or [`crate::EmulatorHandle::clear_faults`].

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse as _, Response};
use http::{HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use crate::errors::ApiError;
use crate::operation::Operation;

/// The longest delay a rule may ask for: below the default request timeout (30 s, then 408),
/// which a request waiting for its answer also runs into, so that a delay is a delay and not a
/// timeout. (For a call that never gets an answer, use `drop`, or a client timeout
/// shorter than the delay.)
pub const MAX_FAULT_DELAY: Duration = Duration::from_secs(25);
/// The most rules active at once (more are refused).
pub const MAX_FAULT_RULES: usize = 100;

/// What a matching request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// An error answer with this status (400..=599) and a CommunicationErrorResponse.
    Respond(u16),
    /// The connection is closed without an answer.
    DropConnection,
    /// The request is served normally (after the rule's delay).
    Proceed,
}

/// One fault rule. Build with [`FaultRule::respond`], [`FaultRule::drop_connection`] or
/// [`FaultRule::delay_only`], then narrow it with the other methods; or parse the text form
/// `operation=issueToken,status=503,count=2` (the keys of the JSON form, comma-separated).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    operation: Option<Operation>,
    action: FaultAction,
    delay: Duration,
    count: Option<u32>,
    probability: Option<f64>,
    retry_after_seconds: Option<u32>,
}

/// Why a fault rule is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault rule: {0}")]
pub struct InvalidFaultRule(String);

fn invalid(message: impl Into<String>) -> InvalidFaultRule {
    InvalidFaultRule(message.into())
}

impl FaultRule {
    /// Every matching request is answered with `status` (e.g. 429, 500, 503).
    pub fn respond(status: u16) -> Self {
        Self::new(FaultAction::Respond(status))
    }

    /// Every matching request has its connection closed without an answer.
    pub fn drop_connection() -> Self {
        Self::new(FaultAction::DropConnection)
    }

    /// Every matching request is served normally, `delay` late.
    pub fn delay_only(delay: Duration) -> Self {
        Self::new(FaultAction::Proceed).delay(delay)
    }

    fn new(action: FaultAction) -> Self {
        Self {
            operation: None,
            action,
            delay: Duration::ZERO,
            count: None,
            probability: None,
            retry_after_seconds: None,
        }
    }

    /// Only requests of `operation` match (default: every operation of the service; the
    /// emulator-only endpoints never match).
    pub fn on(mut self, operation: Operation) -> Self {
        self.operation = Some(operation);
        self
    }

    /// Waits `delay` before acting (with [`FaultRule::delay_only`]: before serving).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Only the next `n` matching requests (then the rule is gone); default: all of them.
    pub fn times(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// Only this fraction (0 < p <= 1) of the matching requests, chosen at random.
    pub fn fraction(mut self, probability: f64) -> Self {
        self.probability = Some(probability);
        self
    }

    /// Error answers carry `Retry-After: <seconds>`.
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// The operation the rule is for (`None`: all).
    pub fn operation(&self) -> Option<Operation> {
        self.operation
    }

    /// What a matching request gets.
    pub fn action(&self) -> FaultAction {
        self.action
    }

    /// Checks the ranges: status 400..=599, delay at most [`MAX_FAULT_DELAY`], count at least 1,
    /// probability in (0, 1], `Retry-After` only on an error answer.
    pub fn validate(&self) -> Result<(), InvalidFaultRule> {
        if let FaultAction::Respond(status) = self.action
            && !(400..=599).contains(&status)
        {
            return Err(invalid(format!(
                "status {status} is not an error status (400..=599)"
            )));
        }
        if self.action == FaultAction::Proceed && self.delay.is_zero() {
            return Err(invalid(
                "a rule needs a status, drop=true or a delay (delayMs)",
            ));
        }
        if self.delay > MAX_FAULT_DELAY {
            return Err(invalid(format!(
                "delayMs {} is above the maximum of {}",
                self.delay.as_millis(),
                MAX_FAULT_DELAY.as_millis()
            )));
        }
        if self.count == Some(0) {
            return Err(invalid("count must be at least 1"));
        }
        if let Some(p) = self.probability
            && !(p > 0.0 && p <= 1.0)
        {
            return Err(invalid(format!("probability {p} is not in (0, 1]")));
        }
        if self.retry_after_seconds.is_some() && !matches!(self.action, FaultAction::Respond(_)) {
            return Err(invalid("retryAfter needs a status"));
        }
        Ok(())
    }

    /// The JSON form of `POST /emulator/faults` and `GET /emulator/faults`.
    pub fn to_json(&self) -> FaultRuleJson {
        FaultRuleJson {
            id: None,
            operation: Some(
                self.operation
                    .map_or_else(|| "*".to_owned(), |o| o.name().to_owned()),
            ),
            status: match self.action {
                FaultAction::Respond(s) => Some(s),
                _ => None,
            },
            drop: (self.action == FaultAction::DropConnection).then_some(true),
            delay_ms: (!self.delay.is_zero())
                .then(|| u64::try_from(self.delay.as_millis()).unwrap_or(u64::MAX)),
            count: self.count,
            probability: self.probability,
            retry_after: self.retry_after_seconds,
        }
    }
}

/// A fault rule as JSON: every field optional; `operation` absent or `*` means every operation.
/// Exactly one of `status` and `drop: true` may be given; `delayMs` alone delays and then serves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRuleJson {
    /// The rule's id (in answers only; for `DELETE /emulator/faults/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// An [`Operation::name`] (`createIdentity`, `issueToken`, `exchangeTeamsExtensionToken`,
    /// ...), or `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The status to answer with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Close the connection without answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<bool>,
    /// Milliseconds to wait first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Only the next N matching requests (in answers: how many are left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Only this fraction of the matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// `Retry-After` seconds on the error answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
}

impl TryFrom<FaultRuleJson> for FaultRule {
    type Error = InvalidFaultRule;

    fn try_from(json: FaultRuleJson) -> Result<Self, Self::Error> {
        let action = match (json.status, json.drop.unwrap_or(false)) {
            (Some(_), true) => return Err(invalid("give either status or drop=true, not both")),
            (Some(status), false) => FaultAction::Respond(status),
            (None, true) => FaultAction::DropConnection,
            (None, false) => FaultAction::Proceed,
        };
        let operation = match json.operation.as_deref().map(str::trim) {
            None | Some("*") => None,
            Some(name) => Some(
                name.parse::<Operation>()
                    .map_err(|e| invalid(e.to_string()))?,
            ),
        };
        let rule = FaultRule {
            operation,
            action,
            delay: Duration::from_millis(json.delay_ms.unwrap_or(0)),
            count: json.count,
            probability: json.probability,
            retry_after_seconds: json.retry_after,
        };
        rule.validate()?;
        Ok(rule)
    }
}

impl FromStr for FaultRule {
    type Err = InvalidFaultRule;

    /// `key=value` pairs separated by commas, keys as in [`FaultRuleJson`]:
    /// `operation=issueToken,status=503,count=2`, `drop=true,probability=0.1`, `delayMs=2000`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        fn number<T: FromStr>(key: &str, value: &str) -> Result<T, InvalidFaultRule> {
            value
                .parse()
                .map_err(|_| invalid(format!("{key}={value} is not a number")))
        }
        let mut json = FaultRuleJson::default();
        let mut seen = Vec::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| invalid(format!("`{pair}` is not key=value")))?;
            let (key, value) = (key.trim(), value.trim());
            let lower = key.to_ascii_lowercase();
            if seen.contains(&lower) {
                return Err(invalid(format!("`{key}` is given twice")));
            }
            match lower.as_str() {
                "operation" => json.operation = Some(value.to_owned()),
                "status" => json.status = Some(number(key, value)?),
                "drop" => {
                    json.drop = Some(
                        value
                            .parse()
                            .map_err(|_| invalid(format!("drop={value}: give true or false")))?,
                    )
                }
                "delayms" => json.delay_ms = Some(number(key, value)?),
                "count" => json.count = Some(number(key, value)?),
                "probability" => json.probability = Some(number(key, value)?),
                "retryafter" => json.retry_after = Some(number(key, value)?),
                _ => {
                    return Err(invalid(format!(
                        "unknown key `{key}`; known: operation, status, drop, delayMs, count, probability, retryAfter"
                    )));
                }
            }
            seen.push(lower);
        }
        FaultRule::try_from(json)
    }
}

impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = self.to_json();
        let mut parts = vec![format!("operation={}", json.operation.unwrap_or_default())];
        if let Some(s) = json.status {
            parts.push(format!("status={s}"));
        }
        if json.drop == Some(true) {
            parts.push("drop=true".into());
        }
        if let Some(d) = json.delay_ms {
            parts.push(format!("delayMs={d}"));
        }
        if let Some(c) = json.count {
            parts.push(format!("count={c}"));
        }
        if let Some(p) = json.probability {
            parts.push(format!("probability={p}"));
        }
        if let Some(r) = json.retry_after {
            parts.push(format!("retryAfter={r}"));
        }
        f.write_str(&parts.join(","))
    }
}

/// A rule in force, with its id and, for a counted rule, how many requests it still hits.
struct ActiveRule {
    id: u64,
    rule: FaultRule,
    remaining: Option<u32>,
}

/// The rules in force.
pub(crate) struct Faults {
    rules: Mutex<(u64, Vec<ActiveRule>)>,
}

/// Too many rules at once.
#[derive(Debug)]
pub(crate) struct TooManyRules;

/// What a request hit: the rule's id and what to do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    id: u64,
    action: FaultAction,
    delay: Duration,
    retry_after_seconds: Option<u32>,
}

/// A uniform random number in [0, 1).
fn random_fraction() -> f64 {
    // Without randomness the fraction is 0: the rule applies (never a crash).
    let bits = getrandom::u64().unwrap_or(0);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

impl Faults {
    pub(crate) fn new(rules: Vec<FaultRule>) -> Self {
        let faults = Faults {
            rules: Mutex::new((1, Vec::new())),
        };
        for rule in rules {
            // The builder's rules are checked by `start`; beyond the cap they are dropped there.
            let _ = faults.add(rule);
        }
        faults
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<ActiveRule>)> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a rule; returns its id.
    pub(crate) fn add(&self, rule: FaultRule) -> Result<u64, TooManyRules> {
        let mut guard = self.lock();
        let (next_id, rules) = &mut *guard;
        if rules.len() >= MAX_FAULT_RULES {
            return Err(TooManyRules);
        }
        let id = *next_id;
        *next_id += 1;
        rules.push(ActiveRule {
            id,
            remaining: rule.count,
            rule,
        });
        Ok(id)
    }

    /// Removes one rule; whether it was there.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut guard = self.lock();
        let before = guard.1.len();
        guard.1.retain(|r| r.id != id);
        guard.1.len() != before
    }

    /// Removes every rule.
    pub(crate) fn clear(&self) {
        self.lock().1.clear();
    }

    /// The rules in force (a counted rule's `count` is what is left of it).
    pub(crate) fn list(&self) -> Vec<FaultRuleJson> {
        self.lock()
            .1
            .iter()
            .map(|active| FaultRuleJson {
                id: Some(active.id),
                count: active.remaining,
                ..active.rule.to_json()
            })
            .collect()
    }

    /// The first rule in force that matches a request of `operation` and, for a fraction rule,
    /// is chosen this time; a counted rule uses up one of its requests (and is gone after the
    /// last).
    pub(crate) fn hit(&self, operation: Operation) -> Option<Hit> {
        let mut guard = self.lock();
        let rules = &mut guard.1;
        let index = rules.iter().position(|active| {
            active.rule.operation.is_none_or(|o| o == operation)
                && active
                    .rule
                    .probability
                    .is_none_or(|p| random_fraction() < p)
        })?;
        let active = &mut rules[index];
        let hit = Hit {
            id: active.id,
            action: active.rule.action,
            delay: active.rule.delay,
            retry_after_seconds: active.rule.retry_after_seconds,
        };
        if let Some(left) = &mut active.remaining {
            *left = left.saturating_sub(1);
            if *left == 0 {
                rules.remove(index);
            }
        }
        Some(hit)
    }
}

/// The error code an injected status answers with.
fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "InjectedFault",
    }
}

/// A body whose stream fails at once: hyper then closes the connection without sending the
/// response (HTTP/1.1) or resets the stream (HTTP/2).
fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<Vec<u8>, std::io::Error>(std::io::Error::other(
            "connection dropped by an emulator fault rule",
        ))
    });
    Response::new(Body::from_stream(failing))
}

/// Applies what `hit` says: waits its delay, then answers (an error status or a dropped
/// connection), or returns `None` to let the request be served.
pub(crate) async fn apply(hit: Hit, operation: Operation) -> Option<Response> {
    if !hit.delay.is_zero() {
        tokio::time::sleep(hit.delay).await;
    }
    tracing::info!(rule = hit.id, operation = %operation, action = ?hit.action, "fault injected");
    match hit.action {
        FaultAction::Proceed => None,
        FaultAction::DropConnection => Some(dropped_connection()),
        FaultAction::Respond(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut error = ApiError::new(
                status,
                code_for(status),
                format!(
                    "Fault injected by the emulator (rule {}, operation {operation}).",
                    hit.id
                ),
            );
            if let Some(seconds) = hit.retry_after_seconds {
                error = error.with_header(
                    HeaderName::from_static("retry-after"),
                    HeaderValue::from(seconds),
                );
            }
            Some(error.into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_forms_agree() {
        let rule: FaultRule = "operation=issueToken,status=503,count=2,retryAfter=1"
            .parse()
            .unwrap();
        assert_eq!(
            rule,
            FaultRule::respond(503)
                .on(Operation::IssueToken)
                .times(2)
                .retry_after(1)
        );
        assert_eq!(
            rule.to_string(),
            "operation=issueToken,status=503,count=2,retryAfter=1"
        );
        let json: FaultRuleJson = serde_json::from_str(
            r#"{"operation":"issueToken","status":503,"count":2,"retryAfter":1}"#,
        )
        .unwrap();
        assert_eq!(FaultRule::try_from(json).unwrap(), rule);
        assert_eq!(
            "drop=true,probability=0.5".parse::<FaultRule>().unwrap(),
            FaultRule::drop_connection().fraction(0.5)
        );
        assert_eq!(
            "delayMs=250".parse::<FaultRule>().unwrap(),
            FaultRule::delay_only(Duration::from_millis(250))
        );
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        let cases = [
            (
                "status=200",
                "status 200 is not an error status (400..=599)",
            ),
            ("", "a rule needs a status, drop=true or a delay (delayMs)"),
            (
                "status=503,drop=true",
                "give either status or drop=true, not both",
            ),
            ("status=503,count=0", "count must be at least 1"),
            (
                "status=503,probability=1.5",
                "probability 1.5 is not in (0, 1]",
            ),
            ("status=503,probability=0", "probability 0 is not in (0, 1]"),
            (
                "delayMs=400000",
                "delayMs 400000 is above the maximum of 25000",
            ),
            (
                "delayMs=30000",
                "delayMs 30000 is above the maximum of 25000",
            ),
            ("drop=true,retryAfter=1", "retryAfter needs a status"),
            (
                "operation=listUsers,status=500",
                "unknown operation `listUsers`",
            ),
            ("status=abc", "status=abc is not a number"),
            ("colour=red", "unknown key `colour`"),
            ("status", "`status` is not key=value"),
            ("status=503,Status=500", "`Status` is given twice"),
            ("status=503,count=1,count=5", "`count` is given twice"),
        ];
        for (text, expected) in cases {
            let error = text.parse::<FaultRule>().unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn counted_rules_run_out_and_operations_are_matched() {
        let faults = Faults::new(vec![
            FaultRule::respond(503).on(Operation::IssueToken).times(2),
            FaultRule::respond(500).on(Operation::CreateIdentity),
        ]);
        assert!(faults.hit(Operation::RevokeTokens).is_none());
        let first = faults.hit(Operation::IssueToken).unwrap();
        assert_eq!(first.action, FaultAction::Respond(503));
        assert_eq!(faults.list()[0].count, Some(1), "one left");
        assert!(faults.hit(Operation::IssueToken).is_some());
        assert!(faults.hit(Operation::IssueToken).is_none(), "used up");
        assert_eq!(faults.list().len(), 1);
        for _ in 0..3 {
            assert_eq!(
                faults.hit(Operation::CreateIdentity).unwrap().action,
                FaultAction::Respond(500)
            );
        }
        let id = faults.list()[0].id.unwrap();
        assert!(faults.remove(id));
        assert!(!faults.remove(id));
        assert!(faults.hit(Operation::CreateIdentity).is_none());
    }

    #[test]
    fn a_fraction_hits_about_that_share() {
        let faults = Faults::new(vec![FaultRule::respond(500).fraction(0.5)]);
        let hits = (0..400)
            .filter(|_| faults.hit(Operation::IssueToken).is_some())
            .count();
        // Binomial(400, 0.5): outside 120..=280 has a probability far below 1e-15.
        assert!((120..=280).contains(&hits), "{hits} of 400");
    }

    #[test]
    fn the_number_of_rules_is_bounded() {
        let faults = Faults::new(Vec::new());
        for _ in 0..MAX_FAULT_RULES {
            faults.add(FaultRule::respond(500)).unwrap();
        }
        assert!(faults.add(FaultRule::respond(500)).is_err());
        faults.clear();
        assert!(faults.list().is_empty());
    }
}
