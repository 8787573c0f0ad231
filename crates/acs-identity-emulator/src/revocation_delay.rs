//! Revocation delay (emulator only, off by default): a revoke answers 204 at once, but the tokens
//! it revokes stay valid for `POST /emulator/tokens:validate` for a set time, as the service
//! takes up to 15 minutes to propagate a revocation. Deletion and key rotation stay immediate.
//!
//! The store keeps, per identity, the stamp below which tokens are revoked. Here, per identity
//! with a revocation still propagating: the stamp already in force and the revocations still
//! waiting (stamp, time). A token is revoked once a revocation with a stamp above its own has
//! waited the delay.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// At most this many revocations of one identity wait at once; a further one makes the oldest
/// take effect early (memory stays bounded however often a client revokes).
const MAX_WAITING_PER_IDENTITY: usize = 16;

#[derive(Debug, Default)]
struct Propagating {
    /// Tokens with a stamp below this are revoked now.
    in_force: u64,
    /// Revocations not in force yet: (stamp, when revoked), oldest first.
    waiting: VecDeque<(u64, SystemTime)>,
}

impl Propagating {
    /// Puts in force every revocation that has waited `delay` at `now`.
    fn settle(&mut self, delay: Duration, now: SystemTime) {
        while let Some(&(stamp, at)) = self.waiting.front() {
            if at + delay > now {
                break;
            }
            self.in_force = self.in_force.max(stamp);
            self.waiting.pop_front();
        }
    }
}

/// Revocations still propagating.
pub(crate) struct RevocationDelay {
    delay: Duration,
    propagating: Mutex<HashMap<String, Propagating>>,
}

impl RevocationDelay {
    pub(crate) fn new(delay: Duration) -> Self {
        Self {
            delay,
            propagating: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Propagating>> {
        self.propagating.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes a revocation of `id` with `stamp` at `at`; `stored_before` is what the store held
    /// before it (in force at once).
    pub(crate) fn record(&self, id: &str, stored_before: u64, stamp: u64, at: SystemTime) {
        if self.delay.is_zero() {
            return;
        }
        let mut map = self.lock();
        let entry = map.entry(id.to_owned()).or_insert_with(|| Propagating {
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
        if self.delay.is_zero() {
            return stored;
        }
        let mut map = self.lock();
        let Some(entry) = map.get_mut(id) else {
            return stored;
        };
        entry.settle(self.delay, now);
        let in_force = entry.in_force;
        if entry.waiting.is_empty() {
            map.remove(id);
            return stored;
        }
        in_force
    }

    /// Forgets every revocation in propagation (state reset).
    pub(crate) fn reset(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_takes_effect_after_the_delay() {
        let delay = RevocationDelay::new(Duration::from_secs(60));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        // A token with stamp 10; revoked with stamp 20 at t0.
        delay.record("a", 0, 20, t0);
        assert_eq!(delay.revoked_before("a", 20, t0), 0, "still valid at once");
        assert_eq!(
            delay.revoked_before("a", 20, t0 + Duration::from_secs(59)),
            0
        );
        // A second revoke at t0 + 30 s (stamp 30): the first still lands at t0 + 60 s.
        delay.record("a", 20, 30, t0 + Duration::from_secs(30));
        assert_eq!(
            delay.revoked_before("a", 30, t0 + Duration::from_secs(60)),
            20
        );
        assert_eq!(
            delay.revoked_before("a", 30, t0 + Duration::from_secs(90)),
            30
        );
        // Other identities: the store's value.
        assert_eq!(delay.revoked_before("b", 7, t0), 7);
    }

    #[test]
    fn off_means_immediate_and_waiting_is_bounded() {
        let off = RevocationDelay::new(Duration::ZERO);
        let t0 = SystemTime::UNIX_EPOCH;
        off.record("a", 0, 5, t0);
        assert_eq!(off.revoked_before("a", 5, t0), 5);

        let on = RevocationDelay::new(Duration::from_secs(600));
        for stamp in 1..=(MAX_WAITING_PER_IDENTITY as u64 + 4) {
            on.record("a", 0, stamp, t0);
        }
        // The four oldest took effect early to keep the queue bounded.
        assert_eq!(on.revoked_before("a", 20, t0), 4);
        on.reset();
        assert_eq!(on.revoked_before("a", 20, t0), 20);
    }
}
