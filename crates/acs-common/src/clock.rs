//! Clocks for trying out token expiry without waiting.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use acs_auth::Clock;

/// The system time plus an offset that [`advance`](Self::advance) moves forward.
///
/// Share one (as `Arc<dyn Clock>`) between a [`CommunicationTokenCredential`], an identity
/// client and the emulator to see an hour-long token expire in an instant, on demand: moving it
/// does not wake a timer, so a credential's proactive refresh (a Tokio timer) does not see it.
/// For that, use a [`TokioClock`] and move Tokio's time.
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

/// A wall clock that moves with Tokio's time: the system time when it was made plus the Tokio
/// time elapsed since (`tokio::time::Instant`).
///
/// While Tokio's time runs normally this is the system time. When a test moves Tokio's time
/// forward (Tokio's `test-util` feature: `tokio::time::advance`, on a current-thread runtime),
/// this clock moves by as much, and every Tokio timer that comes due fires: a credential's
/// proactive refresh, an identity client's deadlines and the emulator's token expiry all see the
/// same jump. Share one (as `Arc<dyn Clock>`) between them.
///
/// With real I/O in the test (the emulator, an HTTP client) don't start the runtime paused
/// (Tokio would skip ahead to the next timer whenever every task waits for I/O, for instance
/// into a request's deadline): pause only around the jump.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::{Duration, SystemTime};
/// use acs_common::TokioClock;
/// use acs_common::credentials::Clock;
///
/// let clock = TokioClock::new();
/// tokio::time::pause();
/// tokio::time::advance(Duration::from_secs(3600)).await;
/// tokio::time::resume();
/// assert!(clock.now() >= SystemTime::now() + Duration::from_secs(3599));
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    wall: SystemTime,
    tokio: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads the system time now and moves with Tokio's time from here on.
    pub fn new() -> Self {
        Self {
            wall: SystemTime::now(),
            tokio: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        self.wall + self.tokio.elapsed()
    }
}
