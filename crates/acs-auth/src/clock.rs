use std::fmt;
use std::time::SystemTime;

/// A source of the current time for signing and verification.
///
/// Signing is a pure function of the time it is given; a `Clock` is how callers supply that time.
/// [`SystemClock`] is the only place in this crate that reads the system time, and tests replace it
/// with a [`FixedClock`].
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that always answers the same time (for tests and reproducible signatures).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub SystemTime);

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}
