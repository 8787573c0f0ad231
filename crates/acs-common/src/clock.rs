//! A clock that can be moved forward, for trying out token expiry without waiting.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use acs_auth::Clock;

/// The system time plus an offset that [`advance`](Self::advance) moves forward.
///
/// Share one (as `Arc<dyn Clock>`) between a [`CommunicationTokenCredential`], an identity
/// client and the emulator to see an hour-long token expire in an instant:
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use acs_common::credentials::Clock;
/// use acs_common::ShiftedClock;
///
/// let clock = ShiftedClock::default();
/// clock.advance(Duration::from_secs(3600));
/// assert!(clock.now() >= SystemTime::now() + Duration::from_secs(3599));
/// ```
///
/// [`CommunicationTokenCredential`]: crate::CommunicationTokenCredential
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset: Mutex<Duration>,
}

impl ShiftedClock {
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }

    /// How far the clock is ahead of the system time.
    pub fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + self.offset()
    }
}
