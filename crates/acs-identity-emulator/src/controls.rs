//! Emulator-only controls for tests: throttling, faults, revocation delay, state listing and
//! reset. Their settings live on [`EmulatorBuilder`], their state in [`Controls`], and
//! [`EmulatorHandle`] offers in Rust what the `/emulator/...` endpoints offer over HTTP.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::App;
use crate::config::EmulatorBuilder;
use crate::errors::EmulatorError;
use crate::faults::{FaultRule, FaultRuleJson, Faults, MAX_FAULT_RULES};
use crate::revocation_delay::RevocationDelay;
use crate::server::EmulatorHandle;
use crate::throttling::{Throttle, Throttling};
use crate::tokens::{format_expires_on, format_seconds};

/// The longest revocation delay accepted (the service documents up to 15 minutes).
pub const MAX_REVOCATION_DELAY: Duration = Duration::from_secs(24 * 3600);

/// Settings of the controls, kept by the builder.
#[derive(Debug, Clone, Default)]
pub(crate) struct ControlSettings {
    pub(crate) throttling: Option<Throttling>,
    pub(crate) faults: Vec<FaultRule>,
    pub(crate) revocation_delay: Duration,
}

impl ControlSettings {
    /// Checks every setting, naming the first one out of range.
    pub(crate) fn validate(&self) -> Result<(), EmulatorError> {
        let bad = |e: String| EmulatorError::InvalidSetting(e);
        if let Some(t) = &self.throttling {
            t.validate().map_err(|e| bad(e.to_string()))?;
        }
        for rule in &self.faults {
            rule.validate().map_err(|e| bad(e.to_string()))?;
        }
        if self.faults.len() > MAX_FAULT_RULES {
            return Err(bad(format!(
                "at most {MAX_FAULT_RULES} fault rules, {} given",
                self.faults.len()
            )));
        }
        if self.revocation_delay > MAX_REVOCATION_DELAY {
            return Err(bad(format!(
                "the revocation delay of {} s is above the maximum of {} s",
                self.revocation_delay.as_secs(),
                MAX_REVOCATION_DELAY.as_secs()
            )));
        }
        Ok(())
    }
}

/// The controls' state in a running emulator.
pub(crate) struct Controls {
    pub(crate) faults: Faults,
    pub(crate) throttle: Throttle,
    pub(crate) revocations: RevocationDelay,
    /// The port a `Host` may omit: 443 with TLS, else 80.
    pub(crate) default_port: u16,
}

impl Controls {
    pub(crate) fn new(settings: ControlSettings, tls: bool) -> Self {
        Self {
            default_port: if tls { 443 } else { 80 },
            faults: Faults::new(settings.faults),
            throttle: Throttle::new(settings.throttling),
            revocations: RevocationDelay::new(settings.revocation_delay),
        }
    }
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
pub(crate) fn identities(app: &App, include_deleted: bool) -> Vec<IdentityEntry> {
    let mut records = app.store.identities();
    records.retain(|(_, r, _)| include_deleted || !r.deleted);
    records
        .sort_by(|(a_id, a, _), (b_id, b, _)| a.created_ms.cmp(&b.created_ms).then(a_id.cmp(b_id)));
    records
        .into_iter()
        .map(|(id, record, profile)| IdentityEntry {
            id,
            created_on: format_expires_on(i128::from(record.created_ms) * 1_000_000)
                .unwrap_or_default(),
            deleted: record.deleted,
            tokens_revoked: record.revoked_before != 0,
            custom_id: profile.custom_id,
            last_token_issued_at: profile.last_token_issued_s.and_then(format_seconds),
        })
        .collect()
}

/// Forgets every identity and assignment (durably), every fault rule, throttling window and revocation in
/// propagation. Keeps the access key, resource id and signing key.
pub(crate) async fn reset(app: &App) -> Result<(), String> {
    app.store.reset().await?;
    app.controls.faults.clear();
    app.controls.throttle.reset();
    app.controls.revocations.reset();
    tracing::info!("state reset");
    Ok(())
}

impl EmulatorBuilder {
    /// Throttles as the service does (off by default): see [`Throttling`].
    pub fn throttling(mut self, throttling: Throttling) -> Self {
        self.controls.throttling = Some(throttling);
        self
    }

    /// A fault rule in force from the start (may be given several times).
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.controls.faults.push(rule);
        self
    }

    /// Revoked tokens stay valid for `POST /emulator/tokens:validate` this long after the
    /// revoke (default 0: immediately revoked; the service may take up to 15 minutes).
    pub fn revocation_delay(mut self, delay: Duration) -> Self {
        self.controls.revocation_delay = delay;
        self
    }
}

impl EmulatorHandle {
    /// What `GET /emulator/identities` lists: live identities, oldest first (with
    /// `include_deleted`, deleted ones too).
    pub fn identities(&self, include_deleted: bool) -> Vec<IdentityEntry> {
        identities(self.app(), include_deleted)
    }

    /// What `POST /emulator/reset` does: forgets every identity, fault rule, throttling window
    /// and pending revocation; tokens issued before are then invalid (`identityNotFound`).
    pub async fn reset(&self) -> Result<(), EmulatorError> {
        reset(self.app()).await.map_err(EmulatorError::Storage)
    }

    /// Adds a fault rule (as `POST /emulator/faults`); returns its id.
    pub fn add_fault(&self, rule: FaultRule) -> Result<u64, EmulatorError> {
        rule.validate()
            .map_err(|e| EmulatorError::InvalidSetting(e.to_string()))?;
        self.app().controls.faults.add(rule).map_err(|_| {
            EmulatorError::InvalidSetting(format!("at most {MAX_FAULT_RULES} fault rules"))
        })
    }

    /// Removes one fault rule (as `DELETE /emulator/faults/{id}`); whether it was there.
    pub fn remove_fault(&self, id: u64) -> bool {
        self.app().controls.faults.remove(id)
    }

    /// Removes every fault rule (as `DELETE /emulator/faults`).
    pub fn clear_faults(&self) {
        self.app().controls.faults.clear();
    }

    /// The fault rules in force (as `GET /emulator/faults`).
    pub fn faults(&self) -> Vec<FaultRuleJson> {
        self.app().controls.faults.list()
    }
}
