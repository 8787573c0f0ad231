//! `CommunicationTokenCredential` against a controlled clock: Tokio's paused time drives both the
//! timers and the wall clock the credential compares expiries with, so every refresh instant is
//! exact. One test per row of the behaviour table in `../shared/docs/service.md` ("Token
//! credentials"), and then some.

// Test code: a failed unwrap or panic is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use acs_common::credentials::{Clock, Secret, TokenCredential};
use acs_common::{
    ClaimsError, CommunicationTokenCredential, CommunicationTokenRefreshOptions, CredentialError,
    TokenRefresher,
};
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use time::OffsetDateTime;
use tokio::time::{Instant, sleep};

/// The wall-clock time (Unix seconds) at which each test starts.
const START: i64 = 1_790_000_000;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// A wall clock that moves with Tokio's clock: `START` plus the Tokio time elapsed since the
/// clock was made (paused in these tests, so it moves only when every task waits on a timer).
#[derive(Debug)]
struct TokioClock {
    started: Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + secs(START as u64) + self.started.elapsed()
    }
}

/// A JWT whose payload says it expires `exp` seconds after `START` (unsigned: the credential
/// only reads `exp`).
fn jwt(exp: i64) -> String {
    let payload = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"skypeid":"acs:r_u","acsScope":"chat","exp":{}}}"#,
        START + exp
    ));
    format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln")
}

fn at(offset: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(START + offset).unwrap()
}

/// The clock of one test, and a record of when its refresher was called.
struct Setup {
    clock: Arc<TokioClock>,
    calls: Arc<Mutex<Vec<Duration>>>,
}

impl Setup {
    /// Must run inside the (paused) runtime.
    fn new() -> Self {
        Self {
            clock: Arc::new(TokioClock {
                started: Instant::now(),
            }),
            calls: Arc::default(),
        }
    }

    fn options(&self) -> CommunicationTokenRefreshOptions {
        CommunicationTokenRefreshOptions::default().with_clock(self.clock.clone())
    }

    /// When the refresher was called, as time since the start.
    fn calls(&self) -> Vec<Duration> {
        self.calls.lock().unwrap().clone()
    }

    /// A refresher that records its call, waits `delay`, then returns `make(seconds since the
    /// start at the call)`.
    fn refresher<F>(&self, delay: Duration, make: F) -> impl TokenRefresher + 'static
    where
        F: Fn(i64) -> Result<String, std::io::Error> + Send + Sync + 'static,
    {
        let calls = Arc::clone(&self.calls);
        let started = self.clock.started;
        let make = Arc::new(make);
        move || {
            let elapsed = started.elapsed();
            calls.lock().unwrap().push(elapsed);
            let make = Arc::clone(&make);
            async move {
                sleep(delay).await;
                make(elapsed.as_secs() as i64)
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn single_token_is_returned_until_it_expires_then_a_clear_error() {
    let setup = Setup::new();
    let credential =
        CommunicationTokenCredential::from_token_with_clock(jwt(3600), setup.clock.clone())
            .unwrap();
    let token = credential.get_token().await.unwrap();
    assert_eq!(token.token.secret(), jwt(3600));
    assert_eq!(token.expires_on, at(3600));

    sleep(secs(3599)).await;
    assert_eq!(credential.get_token().await.unwrap().expires_on, at(3600));

    sleep(secs(1)).await;
    let error = credential.get_token().await.unwrap_err();
    assert!(
        matches!(error, CredentialError::StaticTokenExpired { expired_at } if expired_at == at(3600)),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("expired") && message.contains("refresher"),
        "{message}"
    );
}

#[test]
fn malformed_tokens_are_clear_errors_and_padding_is_tolerated() {
    let malformed = |token: &str| CommunicationTokenCredential::from_token(token.to_owned());
    assert!(matches!(
        malformed("abc"),
        Err(CredentialError::MalformedToken {
            from_refresher: false,
            reason: ClaimsError::NotAJwt
        })
    ));
    assert!(matches!(
        malformed("a.!!!.c"),
        Err(CredentialError::MalformedToken {
            reason: ClaimsError::NotBase64,
            ..
        })
    ));
    let no_exp = format!("h.{}.s", URL_SAFE_NO_PAD.encode(r#"{"acsScope":"chat"}"#));
    let error = malformed(&no_exp).unwrap_err();
    assert!(
        matches!(
            error,
            CredentialError::MissingExpiry {
                from_refresher: false
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("`exp`"), "{error}");
    let error = malformed("a.b.c.d").unwrap_err();
    assert_eq!(
        error.to_string(),
        "the token given to the credential is not formatted correctly: the token is not a JWT \
         (expected three dot-separated parts)"
    );

    // base64url with `=` padding, as some encoders write it, is read the same.
    let padded_payload = URL_SAFE.encode(r#"{"exp":1790003600 }"#);
    assert!(padded_payload.ends_with('='), "{padded_payload}");
    let padded = CommunicationTokenCredential::from_token(format!("h.{padded_payload}.s"));
    assert!(padded.is_ok(), "{padded:?}");

    // The initial token of a refreshing credential is checked as well.
    let refresher = || async { Ok::<_, std::io::Error>(jwt(3600)) };
    let options = CommunicationTokenRefreshOptions::default().with_initial_token("abc");
    assert!(matches!(
        CommunicationTokenCredential::with_refresher(refresher, Some(options)),
        Err(CredentialError::MalformedToken { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn without_a_token_the_first_call_refreshes() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |now| Ok(jwt(now + 3600)));
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(setup.options())).unwrap();
    sleep(secs(5)).await;
    assert_eq!(setup.calls(), [] as [Duration; 0]);

    let token = credential.get_token().await.unwrap();
    assert_eq!(token.expires_on, at(5 + 3600));
    assert_eq!(credential.get_token().await.unwrap().token, token.token);
    assert_eq!(setup.calls(), [secs(5)]);
}

#[tokio::test(start_paused = true)]
async fn on_demand_refresh_starts_two_minutes_before_expiry() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |now| Ok(jwt(now + 3600)));
    let options = setup.options().with_initial_token(jwt(3600));
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();

    sleep(secs(3600 - 120 - 1)).await;
    assert_eq!(credential.get_token().await.unwrap().expires_on, at(3600));
    assert!(setup.calls().is_empty());

    sleep(secs(1)).await;
    let token = credential.get_token().await.unwrap();
    assert_eq!(token.expires_on, at(3480 + 3600));
    assert_eq!(setup.calls(), [secs(3480)]);
}

#[tokio::test(start_paused = true)]
async fn proactive_refresh_ten_minutes_before_each_expiry() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |now| Ok(jwt(now + 3600)));
    let options = setup
        .options()
        .with_initial_token(jwt(3600))
        .with_refresh_proactively(true);
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();

    sleep(secs(3 * 3600)).await;
    assert_eq!(setup.calls(), [secs(3000), secs(6000), secs(9000)]);
    // The token the last refresh brought, without another call.
    assert_eq!(
        credential.get_token().await.unwrap().expires_on,
        at(9000 + 3600)
    );
    assert_eq!(setup.calls().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn proactive_refresh_without_a_token_fetches_one_at_once() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |now| Ok(jwt(now + 3600)));
    let options = setup.options().with_refresh_proactively(true);
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();
    sleep(ms(1)).await;
    assert_eq!(setup.calls(), [Duration::ZERO]);
    assert_eq!(credential.get_token().await.unwrap().expires_on, at(3600));
    assert_eq!(setup.calls().len(), 1);
    // Then scheduled from the token it fetched.
    sleep(secs(3000)).await;
    assert_eq!(setup.calls(), [Duration::ZERO, secs(3000)]);
}

/// A backend that is down: the background task retries at half the remaining lifetime each time
/// (not in a loop), and `get_token` keeps returning the valid token meanwhile.
#[tokio::test(start_paused = true)]
async fn proactive_refresh_failures_back_off_the_same_way() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |_| {
        Err(std::io::Error::other("backend is down"))
    });
    let options = setup
        .options()
        .with_initial_token(jwt(1200))
        .with_refresh_proactively(true);
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();

    sleep(secs(901)).await;
    assert_eq!(setup.calls(), [secs(600), secs(900)]);
    assert_eq!(credential.get_token().await.unwrap().expires_on, at(1200));
    sleep(secs(3600)).await;
    let calls = setup.calls();
    assert_eq!(calls.len(), 11, "{calls:?}");
    assert!(calls.iter().all(|call| *call < secs(1200)), "{calls:?}");
}

/// Azure/azure-sdk#3712: a backend that caches tokens hands back the same token on every
/// refresh. Inside the window each attempt waits half of what remains: 9 calls over the last
/// 8 minutes of the token's life, none after it expired.
#[tokio::test(start_paused = true)]
async fn fractional_backoff_when_the_refresher_keeps_returning_the_same_token() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |_| Ok(jwt(480)));
    let options = setup
        .options()
        .with_initial_token(jwt(480))
        .with_refresh_proactively(true);
    let _credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();

    sleep(secs(2 * 3600)).await;
    assert_eq!(
        setup.calls(),
        [
            secs(240),
            secs(360),
            secs(420),
            secs(450),
            secs(465),
            ms(472_500),
            ms(476_250),
            ms(478_125),
            ms(479_125),
        ]
    );
}

/// The same backend, without proactive refresh, and an app that asks for the token every
/// 100 ms: inside the two-minute window the on-demand refreshes back off the same way (8 calls
/// for 1200 `get_token`s), and every call gets the still valid token.
#[tokio::test(start_paused = true)]
async fn on_demand_backoff_when_the_refresher_keeps_returning_the_same_token() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |_| Ok(jwt(600)));
    let options = setup.options().with_initial_token(jwt(600));
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();

    for _ in 0..6000 {
        assert_eq!(credential.get_token().await.unwrap().expires_on, at(600));
        sleep(ms(100)).await;
    }
    assert_eq!(
        setup.calls(),
        [
            secs(480),
            secs(540),
            secs(570),
            secs(585),
            ms(592_500),
            ms(596_300),
            ms(598_200),
            ms(599_200),
        ]
    );
    // Expired now: the refresh is tried, and its expired token is an error.
    let error = credential.get_token().await.unwrap_err();
    assert!(
        matches!(error, CredentialError::RefreshedTokenExpired { .. }),
        "{error:?}"
    );
    assert_eq!(setup.calls().len(), 9);
}

#[tokio::test(start_paused = true)]
async fn a_refreshed_token_that_already_expired_is_an_error_not_a_loop() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |now| Ok(jwt(now - 1)));
    let options = setup.options().with_refresh_proactively(true);
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();
    sleep(ms(1)).await;
    assert_eq!(
        setup.calls(),
        [Duration::ZERO],
        "the background task's first fetch"
    );

    let error = credential.get_token().await.unwrap_err();
    assert!(
        matches!(error, CredentialError::RefreshedTokenExpired { expired_at } if expired_at == at(-1)),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("the token returned from the token refresher is expired"),
        "{error}"
    );
    assert_eq!(setup.calls().len(), 2);

    // No retry loop in the background: it waits for a token that has not expired.
    sleep(secs(3600)).await;
    assert_eq!(setup.calls().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_malformed_refreshed_token_is_an_error() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |_| Ok("not-a-jwt".to_owned()));
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(setup.options())).unwrap();
    let error = credential.get_token().await.unwrap_err();
    assert!(
        matches!(
            error,
            CredentialError::MalformedToken {
                from_refresher: true,
                reason: ClaimsError::NotAJwt
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("the token returned from the token refresher is not formatted correctly"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn one_hundred_concurrent_callers_share_one_refresher_call() {
    let setup = Setup::new();
    let refresher = setup.refresher(secs(1), |now| Ok(jwt(now + 3600)));
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(setup.options())).unwrap();

    let callers: Vec<_> = (0..100)
        .map(|_| {
            let credential = credential.clone();
            tokio::spawn(async move { credential.get_token().await })
        })
        .collect();
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(caller.await.unwrap().unwrap());
    }
    assert_eq!(setup.calls(), [Duration::ZERO]);
    assert!(tokens.iter().all(|t| t.token == tokens[0].token));
    assert_eq!(tokens[0].expires_on, at(3600));
    // Done: later callers get the cached token.
    credential.get_token().await.unwrap();
    assert_eq!(setup.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_initial_token_already_inside_the_on_demand_window_is_refreshed_at_once() {
    // No refresh returned the initial token, so no backoff applies to it: with 60 s or 1 s left,
    // the first callers share one refresher call at once and all get the new token.
    for left in [60, 1] {
        let setup = Setup::new();
        let refresher = setup.refresher(secs(1), |now| Ok(jwt(now + 3600)));
        let options = setup.options().with_initial_token(jwt(left));
        let credential =
            CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();
        let callers: Vec<_> = (0..100)
            .map(|_| {
                let credential = credential.clone();
                tokio::spawn(async move { credential.get_token().await })
            })
            .collect();
        for caller in callers {
            let token = caller.await.unwrap().unwrap();
            assert_eq!(token.expires_on, at(3600), "{left} s left");
        }
        assert_eq!(setup.calls(), [Duration::ZERO], "{left} s left");
    }
}

#[tokio::test(start_paused = true)]
async fn an_initial_token_with_a_fractional_exp_is_accepted() {
    let setup = Setup::new();
    let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{}.5}}"#, START + 3600));
    let token = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln");
    let refresher = setup.refresher(Duration::ZERO, |now| Ok(jwt(now + 3600)));
    let options = setup.options().with_initial_token(token.clone());
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();
    let got = credential.get_token().await.unwrap();
    assert_eq!(got.token.secret(), token);
    assert_eq!(got.expires_on, at(3600), "the fraction is dropped");
    assert!(setup.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn callers_keep_using_a_valid_token_while_a_refresh_runs() {
    let setup = Setup::new();
    let refresher = setup.refresher(secs(30), |now| Ok(jwt(now + 3600)));
    let options = setup
        .options()
        .with_initial_token(jwt(3600))
        .with_refresh_proactively(true);
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();

    sleep(secs(3010)).await;
    assert_eq!(setup.calls(), [secs(3000)]);
    assert!(format!("{credential:?}").contains("refreshing: true"));
    let asked = Instant::now();
    let token = credential.get_token().await.unwrap();
    assert_eq!(asked.elapsed(), Duration::ZERO, "get_token waited");
    assert_eq!(token.expires_on, at(3600));

    sleep(secs(21)).await; // the refresher returned at 3030
    assert_eq!(
        credential.get_token().await.unwrap().expires_on,
        at(3000 + 3600)
    );
    assert_eq!(setup.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failing_refresher_leaves_the_valid_token_in_use_then_its_error_surfaces() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |_| {
        Err(std::io::Error::other("backend is down"))
    });
    let options = setup.options().with_initial_token(jwt(600));
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();

    sleep(secs(480)).await;
    assert_eq!(credential.get_token().await.unwrap().expires_on, at(600));
    assert_eq!(setup.calls(), [secs(480)]);
    // Backed off: not retried on every call.
    assert_eq!(credential.get_token().await.unwrap().expires_on, at(600));
    assert_eq!(setup.calls().len(), 1);

    sleep(secs(121)).await;
    let error = credential.get_token().await.unwrap_err();
    let CredentialError::Refresher(source) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        source.downcast_ref::<std::io::Error>().unwrap().to_string(),
        "backend is down"
    );
    assert_eq!(
        error.to_string(),
        "the token refresher failed: backend is down"
    );
    assert!(std::error::Error::source(&error).is_some());
}

#[tokio::test(start_paused = true)]
async fn a_refresher_that_hangs_times_out_and_the_next_call_tries_again() {
    let setup = Setup::new();
    let refresher = setup.refresher(secs(86_400), |now| Ok(jwt(now + 3600)));
    let options = setup.options().with_refresh_timeout(secs(30));
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();

    let asked = Instant::now();
    let error = credential.get_token().await.unwrap_err();
    assert_eq!(asked.elapsed(), secs(30));
    assert!(
        matches!(error, CredentialError::RefreshTimedOut { after } if after == secs(30)),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("did not return within 30s"),
        "{error}"
    );
    assert_eq!(setup.calls(), [Duration::ZERO]);

    let _ = credential.get_token().await;
    assert_eq!(setup.calls(), [Duration::ZERO, secs(30)]);
}

/// The refresher formats the credential, which takes its lock: were the lock held around the
/// refresher call, this would deadlock. The runtime runs on its own thread so that a deadlock
/// fails the test instead of hanging it.
#[test]
fn the_refresher_is_not_called_under_a_lock() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let outcome = runtime.block_on(async {
            let setup = Setup::new();
            let slot: Arc<Mutex<Option<CommunicationTokenCredential>>> = Arc::default();
            let seen = Arc::clone(&slot);
            let refresher = move || {
                let seen = Arc::clone(&seen);
                async move {
                    let described = format!("{:?}", seen.lock().unwrap().as_ref().unwrap());
                    assert!(described.contains("refreshing: true"), "{described}");
                    Ok::<_, std::io::Error>(jwt(3600))
                }
            };
            let credential =
                CommunicationTokenCredential::with_refresher(refresher, Some(setup.options()))
                    .unwrap();
            *slot.lock().unwrap() = Some(credential.clone());
            let token = credential.get_token().await;
            slot.lock().unwrap().take();
            token.map(|t| t.expires_on)
        });
        let _ = done.send(outcome);
    });
    let outcome = finished
        .recv_timeout(Duration::from_secs(30))
        .expect("get_token deadlocked: the refresher was called under a lock");
    assert_eq!(outcome.unwrap(), at(3600));
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Lets the runtime drop aborted tasks.
async fn settle() {
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn dispose_stops_the_background_task_and_later_calls_fail() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |now| Ok(jwt(now + 3600)));
    let options = setup
        .options()
        .with_initial_token(jwt(3600))
        .with_refresh_proactively(true);
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();
    settle().await;
    assert_eq!(alive_tasks(), 1, "the background task");

    credential.dispose();
    settle().await;
    assert_eq!(alive_tasks(), 0);
    assert!(credential.is_disposed());
    sleep(secs(2 * 3600)).await;
    assert!(setup.calls().is_empty(), "{:?}", setup.calls());

    let error = credential.get_token().await.unwrap_err();
    assert!(matches!(error, CredentialError::Disposed), "{error:?}");
    assert!(error.to_string().contains("disposed"), "{error}");
    credential.dispose(); // twice is harmless
    assert!(!format!("{credential:?}").contains("eyJ"));
}

#[tokio::test(start_paused = true)]
async fn dispose_cancels_a_refresh_in_flight_and_its_waiters_fail() {
    let setup = Setup::new();
    let refresher = setup.refresher(secs(60), |now| Ok(jwt(now + 3600)));
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(setup.options())).unwrap();
    let waiter = {
        let credential = credential.clone();
        tokio::spawn(async move { credential.get_token().await })
    };
    sleep(secs(1)).await;
    assert_eq!(setup.calls(), [Duration::ZERO]);

    let disposed_at = Instant::now();
    credential.dispose();
    let outcome = waiter.await.unwrap();
    assert!(
        matches!(outcome, Err(CredentialError::Disposed)),
        "{outcome:?}"
    );
    assert_eq!(
        disposed_at.elapsed(),
        Duration::ZERO,
        "the waiter waited for the refresher"
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_clone_stops_the_background_task() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |now| Ok(jwt(now + 3600)));
    let options = setup
        .options()
        .with_initial_token(jwt(3600))
        .with_refresh_proactively(true);
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();
    let clone = credential.clone();
    settle().await;
    assert_eq!(alive_tasks(), 1);

    drop(credential);
    settle().await;
    assert_eq!(alive_tasks(), 1, "a clone is still alive");

    drop(clone);
    settle().await;
    assert_eq!(alive_tasks(), 0);
    sleep(secs(2 * 3600)).await;
    assert!(setup.calls().is_empty(), "{:?}", setup.calls());
}

#[test]
fn proactive_refresh_outside_a_runtime_is_a_clear_error() {
    let refresher = || async { Ok::<_, std::io::Error>(jwt(3600)) };
    let options = CommunicationTokenRefreshOptions::default().with_refresh_proactively(true);
    let error = CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap_err();
    assert!(matches!(error, CredentialError::NoRuntime), "{error:?}");
    assert!(error.to_string().contains("Tokio runtime"), "{error}");
    // Without proactive refresh no runtime is needed to create it.
    assert!(CommunicationTokenCredential::with_refresher(refresher, None).is_ok());
}

#[tokio::test(start_paused = true)]
async fn debug_never_shows_the_token() {
    let setup = Setup::new();
    let token = jwt(3600);
    let options = setup.options().with_initial_token(token.clone());
    let printed_options = format!("{options:?}");
    let refresher = setup.refresher(Duration::ZERO, |now| Ok(jwt(now + 3600)));
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap();
    let fetched = credential.get_token().await.unwrap();
    let payload = token.split('.').nth(1).unwrap();
    for printed in [
        printed_options,
        format!("{credential:?}"),
        format!("{fetched:?}"),
        format!(
            "{:?}",
            CommunicationTokenCredential::from_token(token.clone()).unwrap()
        ),
    ] {
        assert!(!printed.contains(payload), "{printed}");
        assert!(!printed.contains("eyJ"), "{printed}");
    }
    assert!(format!("{credential:?}").contains("expires_on"));
}

#[tokio::test(start_paused = true)]
async fn is_an_azure_core_token_credential_that_ignores_scopes() {
    let setup = Setup::new();
    let refresher = setup.refresher(Duration::ZERO, |now| Ok(jwt(now + 3600)));
    let credential =
        CommunicationTokenCredential::with_refresher(refresher, Some(setup.options())).unwrap();
    let shared: Arc<dyn TokenCredential> = Arc::new(credential.clone());

    let first = shared
        .get_token(&["https://communication.azure.com//.default"], None)
        .await
        .unwrap();
    let second = shared.get_token(&[], None).await.unwrap();
    assert_eq!(first.token, Secret::new(jwt(3600)));
    assert_eq!(first.token, second.token);
    assert_eq!(first.expires_on, at(3600));
    assert_eq!(setup.calls().len(), 1);

    credential.dispose();
    let error = shared.get_token(&[], None).await.unwrap_err();
    assert_eq!(*error.kind(), azure_core::error::ErrorKind::Credential);
    assert!(error.to_string().contains("disposed"), "{error}");
}
