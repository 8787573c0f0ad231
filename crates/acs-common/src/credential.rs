//! `CommunicationTokenCredential`: holds an ACS access token and refreshes it before it expires.
//!
//! How one call reads, top to bottom: [`CommunicationTokenCredential::get_token`] asks
//! [`Core::token_or_refresh`] (under the lock, no waiting) for either the cached token or the one
//! refresh in flight; it awaits that refresh outside the lock; the refresh itself
//! ([`State::join_or_start_refresh`]) calls the app's refresher when first polled, that is after
//! the lock is released, and [`Core::finish_refresh`] checks and installs what it returned.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use acs_auth::{Clock, SystemClock};
use async_trait::async_trait;
use azure_core::credentials::{Secret, TokenCredential, TokenRequestOptions};
use futures::FutureExt as _;
use futures::future::{AbortHandle, Aborted, BoxFuture, Shared};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::token::{AccessToken, ClaimsError, TokenClaims};

/// `get_token` refreshes a token this long before it expires (as the .NET and Python SDKs do;
/// JS and Java wait until it has expired). A token handed out always has at least this long to
/// live, unless refreshing failed and the token has not expired yet (then it is still handed out).
pub const ON_DEMAND_REFRESH_WINDOW: Duration = Duration::from_secs(2 * 60);

/// With proactive refresh, the background refresh happens this long before the token expires.
pub const PROACTIVE_REFRESH_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Inside a refresh window the next refresh waits half of the token's remaining lifetime
/// ("fractional backoff"), but never less than this.
pub const MIN_REFRESH_DELAY: Duration = Duration::from_secs(1);

/// What a [`TokenRefresher`] returns when it cannot get a token: any error, kept as the
/// [`source`](std::error::Error::source) of [`CredentialError::Refresher`] (downcast it to get
/// the refresher's own error type back).
pub type RefreshError = Box<dyn std::error::Error + Send + Sync>;

/// Gets a new ACS access token: typically a call to the app's own backend, which calls the
/// identity service's `get_token`.
///
/// Any `Fn() -> impl Future<Output = Result<T, E>>` closure is a refresher, with `T` a
/// `String` or a [`Secret`] and `E` any error; a type can implement the trait itself (with
/// `#[async_trait]`), for example a credential that exchanges an Entra ID token.
///
/// The credential calls the refresher at most once at a time, never while it holds a lock, and
/// drops (cancels) the call when it is disposed. The refresher must return a token that has not
/// expired; the credential reads its expiry from the JWT's `exp` claim.
#[async_trait]
pub trait TokenRefresher: Send + Sync {
    /// Returns a new token.
    async fn refresh(&self) -> Result<Secret, RefreshError>;
}

#[async_trait]
impl<F, Fut, T, E> TokenRefresher for F
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<T, E>> + Send,
    T: Into<Secret>,
    E: Into<RefreshError>,
{
    async fn refresh(&self) -> Result<Secret, RefreshError> {
        self().await.map(Into::into).map_err(Into::into)
    }
}

/// How a [`CommunicationTokenCredential`] with a refresher behaves.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct CommunicationTokenRefreshOptions {
    /// A token to start with; without one the first `get_token` (or, with proactive refresh,
    /// the background task at once) calls the refresher.
    pub initial_token: Option<Secret>,
    /// Refresh in a background task [`PROACTIVE_REFRESH_WINDOW`] before the token expires, so
    /// that `get_token` rarely waits. Needs a Tokio runtime when the credential is created.
    pub refresh_proactively: bool,
    /// The clock the token's expiry is compared with. `None`: the system clock. Tests replace it.
    pub clock: Option<Arc<dyn Clock>>,
    /// How long one refresher call may take before it counts as failed
    /// ([`CredentialError::RefreshTimedOut`]) and the next caller starts a new one. `None` (the
    /// default): as long as it takes, so a refresher that never returns holds every caller.
    /// Needs a Tokio runtime where `get_token` is awaited.
    pub refresh_timeout: Option<Duration>,
}

impl CommunicationTokenRefreshOptions {
    /// Sets the token to start with.
    pub fn with_initial_token(mut self, token: impl Into<Secret>) -> Self {
        self.initial_token = Some(token.into());
        self
    }

    /// Turns proactive refresh on or off.
    pub fn with_refresh_proactively(mut self, refresh_proactively: bool) -> Self {
        self.refresh_proactively = refresh_proactively;
        self
    }

    /// Sets the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Sets how long one refresher call may take.
    pub fn with_refresh_timeout(mut self, timeout: Duration) -> Self {
        self.refresh_timeout = Some(timeout);
        self
    }
}

impl fmt::Debug for CommunicationTokenRefreshOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommunicationTokenRefreshOptions")
            .field("initial_token", &self.initial_token)
            .field("refresh_proactively", &self.refresh_proactively)
            .field("clock", &self.clock)
            .field("refresh_timeout", &self.refresh_timeout)
            .finish()
    }
}

/// Why a [`CommunicationTokenCredential`] has no token to give. Never contains a token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CredentialError {
    /// A token is not a JWT with a base64url JSON payload.
    MalformedToken {
        /// Whether the refresher returned it (else it was given to the constructor).
        from_refresher: bool,
        /// What is wrong with it.
        reason: ClaimsError,
    },
    /// A token's payload has no numeric `exp` claim, so its expiry is unknown.
    MissingExpiry {
        /// Whether the refresher returned it (else it was given to the constructor).
        from_refresher: bool,
    },
    /// The refresher returned a token that had already expired.
    RefreshedTokenExpired {
        /// The token's `exp`.
        expired_at: OffsetDateTime,
    },
    /// The credential holds a single token (no refresher), and it has expired.
    StaticTokenExpired {
        /// The token's `exp`.
        expired_at: OffsetDateTime,
    },
    /// The refresher failed; its error is the source of this one.
    Refresher(Arc<dyn std::error::Error + Send + Sync>),
    /// The refresher did not return within
    /// [`refresh_timeout`](CommunicationTokenRefreshOptions::refresh_timeout).
    RefreshTimedOut {
        /// The timeout.
        after: Duration,
    },
    /// [`CommunicationTokenCredential::dispose`] was called.
    Disposed,
    /// Proactive refresh was asked for outside a Tokio runtime.
    NoRuntime,
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = |from_refresher: bool| {
            if from_refresher {
                "the token returned from the token refresher"
            } else {
                "the token given to the credential"
            }
        };
        match self {
            Self::MalformedToken {
                from_refresher,
                reason,
            } => write!(
                f,
                "{} is not formatted correctly: {reason}",
                origin(*from_refresher)
            ),
            Self::MissingExpiry { from_refresher } => write!(
                f,
                "{} has no numeric `exp` claim, so its expiry is unknown",
                origin(*from_refresher)
            ),
            Self::RefreshedTokenExpired { expired_at } => write!(
                f,
                "the token returned from the token refresher is expired (it expired at \
                 {expired_at}); the refresher must return a token that is still valid"
            ),
            Self::StaticTokenExpired { expired_at } => write!(
                f,
                "the credential's token expired at {expired_at} and the credential has no \
                 refresher; create it with a refresher to get new tokens"
            ),
            Self::Refresher(error) => write!(f, "the token refresher failed: {error}"),
            Self::RefreshTimedOut { after } => write!(
                f,
                "the token refresher did not return within {after:?}; the next call tries again"
            ),
            Self::Disposed => {
                f.write_str("the credential is disposed; create a new CommunicationTokenCredential")
            }
            Self::NoRuntime => f.write_str(
                "proactive refresh needs a Tokio runtime: create the credential inside one",
            ),
        }
    }
}

impl std::error::Error for CredentialError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::MalformedToken { reason, .. } => Some(reason),
            Self::Refresher(error) => Some(&**error),
            _ => None,
        }
    }
}

/// Holds an ACS access token for a chat, calling or other client, and refreshes it.
///
/// Made from a single token ([`from_token`](Self::from_token)) or from a refresher
/// ([`with_refresher`](Self::with_refresher)). [`get_token`](Self::get_token) returns the cached
/// token while it has more than [`ON_DEMAND_REFRESH_WINDOW`] to live; otherwise it refreshes,
/// and every caller that arrives meanwhile waits for that same refresh (one refresher call).
/// With proactive refresh a background task refreshes [`PROACTIVE_REFRESH_WINDOW`] before
/// expiry; inside a window, the next attempt waits half the remaining lifetime, so a refresher
/// that keeps returning the same token causes a few calls, not a storm. A refreshed token that
/// has already expired is an error. The expiry is the JWT's `exp` (read without verification).
///
/// Clones share the token and the refresh. [`dispose`](Self::dispose) stops the background task
/// and makes later calls fail; dropping the last clone stops it as well. `Debug` never shows the
/// token.
///
/// It is also an `azure_core` [`TokenCredential`], for anything that takes one; the scopes
/// asked for there are ignored (an ACS token has the scopes it was issued with).
#[derive(Clone)]
pub struct CommunicationTokenCredential {
    handle: Arc<Handle>,
}

/// What the clones of one credential share: the core, and the background task, which the last
/// clone's drop stops.
struct Handle {
    core: Arc<Core>,
    background: Option<tokio::task::AbortHandle>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(task) = &self.background {
            task.abort();
        }
    }
}

/// The token, the refresh in flight and how to refresh; shared with the background task.
struct Core {
    /// `None`: a credential made from a single token.
    refresher: Option<Arc<dyn TokenRefresher>>,
    clock: Arc<dyn Clock>,
    refresh_timeout: Option<Duration>,
    state: Mutex<State>,
    /// Wakes the background task when a refresh installed a token.
    token_changed: Notify,
}

#[derive(Default)]
struct State {
    current: Option<CachedToken>,
    in_flight: Option<InFlightRefresh>,
    disposed: bool,
}

struct CachedToken {
    token: AccessToken,
    /// From this time on `get_token` refreshes (the token is handed out until then). Never
    /// after the token's expiry.
    refresh_due: OffsetDateTime,
}

/// The one refresh in flight: every caller awaits a clone of `outcome`.
struct InFlightRefresh {
    outcome: SharedRefresh,
    /// Cancels the refresher call (on dispose).
    cancel: AbortHandle,
}

type SharedRefresh = Shared<BoxFuture<'static, Result<AccessToken, CredentialError>>>;

/// What `get_token` does next, decided under the lock.
enum Next {
    Ready(AccessToken),
    Await(SharedRefresh),
}

impl CommunicationTokenCredential {
    /// A credential holding a single token, compared with the system clock. `get_token` returns
    /// it until it expires, then fails with [`CredentialError::StaticTokenExpired`].
    ///
    /// Fails when the token is not a JWT with an `exp` claim.
    pub fn from_token(token: impl Into<Secret>) -> Result<Self, CredentialError> {
        Self::from_token_with_clock(token, Arc::new(SystemClock))
    }

    /// [`from_token`](Self::from_token) with another clock (for tests).
    pub fn from_token_with_clock(
        token: impl Into<Secret>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CredentialError> {
        let token = read_token(token.into(), false)?;
        let core = Core::new(None, clock, None, Some(token));
        Ok(Self {
            handle: Arc::new(Handle {
                core,
                background: None,
            }),
        })
    }

    /// A credential that gets its tokens from `refresher` (a closure or a [`TokenRefresher`]).
    ///
    /// Fails when the initial token is not a JWT with an `exp` claim, or when proactive refresh
    /// is asked for outside a Tokio runtime. The background task of proactive refresh runs on
    /// the runtime the credential is created in.
    pub fn with_refresher<R>(
        refresher: R,
        options: Option<CommunicationTokenRefreshOptions>,
    ) -> Result<Self, CredentialError>
    where
        R: TokenRefresher + 'static,
    {
        let options = options.unwrap_or_default();
        let initial = options
            .initial_token
            .map(|token| read_token(token, false))
            .transpose()?;
        let clock = options.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let core = Core::new(
            Some(Arc::new(refresher)),
            clock,
            options.refresh_timeout,
            initial,
        );
        let background = if options.refresh_proactively {
            let runtime =
                tokio::runtime::Handle::try_current().map_err(|_| CredentialError::NoRuntime)?;
            Some(
                runtime
                    .spawn(refresh_proactively(Arc::clone(&core)))
                    .abort_handle(),
            )
        } else {
            None
        };
        Ok(Self {
            handle: Arc::new(Handle { core, background }),
        })
    }

    /// A token that has not expired: the cached one while it has more than
    /// [`ON_DEMAND_REFRESH_WINDOW`] to live, else a refreshed one.
    ///
    /// When a refresh is needed, concurrent callers share one refresher call. When that refresh
    /// fails but the cached token has not expired yet, the cached token is returned (and the
    /// failure logged as a warning); the next attempt then waits half its remaining lifetime.
    /// Errors: the refresher's error (as [`CredentialError::Refresher`]), a refreshed token that
    /// is malformed or already expired, an expired single token, or [`CredentialError::Disposed`].
    pub async fn get_token(&self) -> Result<AccessToken, CredentialError> {
        let core = &self.handle.core;
        let refresh = match core.token_or_refresh()? {
            Next::Ready(token) => return Ok(token),
            Next::Await(refresh) => refresh,
        };
        match refresh.await {
            Ok(token) => Ok(token),
            Err(error) => core.unexpired_token_after(error),
        }
    }

    /// Stops the background task, cancels a refresh in flight and forgets the token. Every
    /// `get_token` after this (and one waiting for the cancelled refresh) fails with
    /// [`CredentialError::Disposed`]. Disposing twice is harmless.
    pub fn dispose(&self) {
        if let Some(task) = &self.handle.background {
            task.abort();
        }
        let mut state = self.handle.core.lock();
        state.disposed = true;
        state.current = None;
        if let Some(in_flight) = state.in_flight.take() {
            in_flight.cancel.abort();
        }
    }

    /// Whether [`dispose`](Self::dispose) was called.
    pub fn is_disposed(&self) -> bool {
        self.handle.core.lock().disposed
    }
}

impl fmt::Debug for CommunicationTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let core = &self.handle.core;
        let state = core.lock();
        f.debug_struct("CommunicationTokenCredential")
            .field(
                "expires_on",
                &state.current.as_ref().map(|cached| cached.token.expires_on),
            )
            .field("has_refresher", &core.refresher.is_some())
            .field("refresh_proactively", &self.handle.background.is_some())
            .field("refreshing", &state.in_flight.is_some())
            .field("disposed", &state.disposed)
            .finish_non_exhaustive()
    }
}

/// The scopes are ignored: an ACS token carries the scopes it was issued with (`chat`, `voip`,
/// ...), and the credential has one token. Errors come as `azure_core` errors of kind
/// [`Credential`](azure_core::error::ErrorKind::Credential) with the [`CredentialError`] as source.
#[async_trait]
impl TokenCredential for CommunicationTokenCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        CommunicationTokenCredential::get_token(self)
            .await
            .map(Into::into)
            .map_err(|error| {
                azure_core::Error::new(azure_core::error::ErrorKind::Credential, error)
            })
    }
}

impl Core {
    fn new(
        refresher: Option<Arc<dyn TokenRefresher>>,
        clock: Arc<dyn Clock>,
        refresh_timeout: Option<Duration>,
        initial: Option<AccessToken>,
    ) -> Arc<Self> {
        let current = initial.map(CachedToken::initial);
        Arc::new(Self {
            refresher,
            clock,
            refresh_timeout,
            state: Mutex::new(State {
                current,
                ..State::default()
            }),
            token_changed: Notify::new(),
        })
    }

    /// The state, for a short decision: no code of the app (refresher, clock) runs while it is
    /// held, and nothing awaits.
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; should something, the state is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from(self.clock.now())
    }

    /// The cached token if it is not due for refresh, else the refresh to await (joined or
    /// started). Holds the lock only for this decision; nothing here waits or calls the app.
    fn token_or_refresh(self: &Arc<Self>) -> Result<Next, CredentialError> {
        let now = self.now();
        let mut state = self.lock();
        if state.disposed {
            return Err(CredentialError::Disposed);
        }
        let Some(refresher) = &self.refresher else {
            let Some(cached) = &state.current else {
                return Err(CredentialError::Disposed);
            };
            return if now < cached.token.expires_on {
                Ok(Next::Ready(cached.token.clone()))
            } else {
                Err(CredentialError::StaticTokenExpired {
                    expired_at: cached.token.expires_on,
                })
            };
        };
        if let Some(cached) = &state.current
            && now < cached.refresh_due
        {
            return Ok(Next::Ready(cached.token.clone()));
        }
        Ok(Next::Await(state.join_or_start_refresh(self, refresher)))
    }

    /// The refresh for the background task to await, or `None` once disposed.
    fn refresh(self: &Arc<Self>) -> Option<SharedRefresh> {
        let refresher = self.refresher.as_ref()?;
        let mut state = self.lock();
        if state.disposed {
            return None;
        }
        Some(state.join_or_start_refresh(self, refresher))
    }

    /// Checks what the refresher returned and, if it is a token that has not expired, installs
    /// it. Runs once per refresh, inside the shared refresh future.
    fn finish_refresh(
        &self,
        returned: Result<Result<Secret, CredentialError>, Aborted>,
    ) -> Result<AccessToken, CredentialError> {
        let now = self.now();
        let checked = match returned {
            Err(Aborted) => Err(CredentialError::Disposed),
            Ok(Err(error)) => Err(error),
            Ok(Ok(token)) => read_token(token, true).and_then(|token| {
                if token.expires_on <= now {
                    Err(CredentialError::RefreshedTokenExpired {
                        expired_at: token.expires_on,
                    })
                } else {
                    Ok(token)
                }
            }),
        };
        let mut state = self.lock();
        state.in_flight = None;
        if state.disposed {
            return Err(CredentialError::Disposed);
        }
        match checked {
            Ok(token) => {
                state.current = Some(CachedToken::new(token.clone(), now));
                drop(state);
                self.token_changed.notify_one();
                Ok(token)
            }
            Err(error) => {
                // Back off before the next on-demand attempt, as after a refresh that succeeded.
                if let Some(cached) = &mut state.current {
                    cached.refresh_due = refresh_due(cached.token.expires_on, now);
                }
                Err(error)
            }
        }
    }

    /// After a failed refresh: the cached token if it has not expired yet, else the error.
    fn unexpired_token_after(
        &self,
        error: CredentialError,
    ) -> Result<AccessToken, CredentialError> {
        let now = self.now();
        let state = self.lock();
        if state.disposed {
            return Err(CredentialError::Disposed);
        }
        match &state.current {
            Some(cached) if now < cached.token.expires_on => {
                tracing::warn!(
                    %error,
                    expires_on = %cached.token.expires_on,
                    "refreshing the ACS token failed; using the current token until it expires"
                );
                Ok(cached.token.clone())
            }
            _ => Err(error),
        }
    }

    /// How long the background task waits before its next refresh: `None` when there is no
    /// token that would still be valid by then (then an on-demand refresh brings the next one).
    fn proactive_delay(&self) -> Option<Duration> {
        let now = self.now();
        let state = self.lock();
        let cached = state.current.as_ref()?;
        let remaining = Duration::try_from(cached.token.expires_on - now).ok()?;
        Some(refresh_delay(remaining, PROACTIVE_REFRESH_WINDOW)).filter(|delay| *delay < remaining)
    }

    /// Whether there is no token that has not expired.
    fn lacks_token(&self) -> bool {
        let now = self.now();
        let state = self.lock();
        state
            .current
            .as_ref()
            .is_none_or(|cached| cached.token.expires_on <= now)
    }
}

impl State {
    /// The refresh in flight, or a new one. The refresher is called when the returned future is
    /// first polled: after the caller has released the lock.
    fn join_or_start_refresh(
        &mut self,
        core: &Arc<Core>,
        refresher: &Arc<dyn TokenRefresher>,
    ) -> SharedRefresh {
        if let Some(in_flight) = &self.in_flight {
            return in_flight.outcome.clone();
        }
        let call = call_refresher(Arc::clone(refresher), core.refresh_timeout);
        let (call, cancel) = futures::future::abortable(call);
        // Weak: a refresh nobody awaits any more must not keep the credential alive.
        let core: Weak<Core> = Arc::downgrade(core);
        let outcome = async move {
            let returned = call.await;
            match core.upgrade() {
                Some(core) => core.finish_refresh(returned),
                None => Err(CredentialError::Disposed),
            }
        }
        .boxed()
        .shared();
        self.in_flight = Some(InFlightRefresh {
            outcome: outcome.clone(),
            cancel,
        });
        outcome
    }
}

impl CachedToken {
    /// A token a refresh returned at `now`: inside the on-demand window, the next refresh waits
    /// (fractional backoff).
    fn new(token: AccessToken, now: OffsetDateTime) -> Self {
        Self {
            refresh_due: refresh_due(token.expires_on, now),
            token,
        }
    }

    /// The token the credential was made with: no refresh returned it, so there is nothing to
    /// back off from, and it is due once it is inside the on-demand window (at once if it
    /// already is).
    fn initial(token: AccessToken) -> Self {
        Self {
            refresh_due: time::Duration::try_from(ON_DEMAND_REFRESH_WINDOW)
                .ok()
                .and_then(|window| token.expires_on.checked_sub(window))
                .unwrap_or(token.expires_on),
            token,
        }
    }
}

/// The background task of proactive refresh: one refresh at once when there is no valid token,
/// then one [`PROACTIVE_REFRESH_WINDOW`] before each token expires (fractional backoff inside
/// the window). When there is no token that would still be valid at the next attempt, it waits
/// for an on-demand refresh to bring one, so a refresher that returns expired tokens is not
/// called in a loop. Stopped by abort (dispose, or the drop of the last clone).
async fn refresh_proactively(core: Arc<Core>) {
    if core.lacks_token()
        && let Some(refresh) = core.refresh()
    {
        // A failure is the on-demand caller's to see; this task only keeps the token fresh.
        let _ = refresh.await;
    }
    loop {
        match core.proactive_delay() {
            Some(delay) => {
                let changed = tokio::time::timeout(delay, core.token_changed.notified()).await;
                if changed.is_ok() {
                    continue; // A new token: schedule from it.
                }
                let Some(refresh) = core.refresh() else {
                    return;
                };
                let _ = refresh.await;
            }
            None => core.token_changed.notified().await,
        }
    }
}

/// One refresher call, within `timeout` if there is one.
async fn call_refresher(
    refresher: Arc<dyn TokenRefresher>,
    timeout: Option<Duration>,
) -> Result<Secret, CredentialError> {
    let returned = match timeout {
        None => refresher.refresh().await,
        Some(after) => match tokio::time::timeout(after, refresher.refresh()).await {
            Ok(returned) => returned,
            Err(_elapsed) => return Err(CredentialError::RefreshTimedOut { after }),
        },
    };
    returned.map_err(|error| CredentialError::Refresher(Arc::from(error)))
}

/// When `get_token` should next refresh a token expiring at `expires_on`, seen at `now`.
fn refresh_due(expires_on: OffsetDateTime, now: OffsetDateTime) -> OffsetDateTime {
    let Ok(remaining) = Duration::try_from(expires_on - now) else {
        return expires_on;
    };
    (now + refresh_delay(remaining, ON_DEMAND_REFRESH_WINDOW)).min(expires_on)
}

/// How long to wait before refreshing a token with `remaining` lifetime when refreshes are due
/// `window` before expiry: until the window opens; inside it, half of the remaining lifetime
/// ("fractional backoff"), at least [`MIN_REFRESH_DELAY`].
fn refresh_delay(remaining: Duration, window: Duration) -> Duration {
    match remaining.checked_sub(window) {
        Some(until_window) if !until_window.is_zero() => until_window,
        _ => (remaining / 2).max(MIN_REFRESH_DELAY),
    }
}

/// The token and its expiry (the JWT's `exp`), or why it cannot be used.
fn read_token(token: Secret, from_refresher: bool) -> Result<AccessToken, CredentialError> {
    let claims = TokenClaims::decode_unverified(token.secret()).map_err(|reason| {
        CredentialError::MalformedToken {
            from_refresher,
            reason,
        }
    })?;
    let expires_on = claims
        .expires_at
        .ok_or(CredentialError::MissingExpiry { from_refresher })?;
    Ok(AccessToken::new(token, expires_on))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn refresh_delay_waits_for_the_window_then_halves() {
        assert_eq!(refresh_delay(60 * MINUTE, 10 * MINUTE), 50 * MINUTE);
        assert_eq!(refresh_delay(10 * MINUTE, 10 * MINUTE), 5 * MINUTE);
        assert_eq!(refresh_delay(8 * MINUTE, 10 * MINUTE), 4 * MINUTE);
        assert_eq!(
            refresh_delay(Duration::from_millis(1500), 10 * MINUTE),
            MIN_REFRESH_DELAY
        );
        assert_eq!(refresh_delay(3 * MINUTE, 2 * MINUTE), MINUTE);
    }

    #[test]
    fn refresh_due_is_never_after_expiry() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let soon = now + time::Duration::milliseconds(500);
        assert_eq!(refresh_due(soon, now), soon);
        assert_eq!(refresh_due(now, now + time::Duration::SECOND), now);
        let later = now + time::Duration::minutes(60);
        assert_eq!(refresh_due(later, now), later - time::Duration::minutes(2));
    }
}
