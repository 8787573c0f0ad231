//! Client and per-method options.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use acs_auth::Clock;

/// The api-version sent when none is chosen: the one every released SDK uses.
pub const DEFAULT_API_VERSION: &str = "2023-10-01";

/// Options of a [`CommunicationIdentityClient`](crate::CommunicationIdentityClient).
///
/// Start from [`Default::default()`] and change what you need:
///
/// ```
/// use std::time::Duration;
/// use acs_identity::CommunicationIdentityClientOptions;
///
/// let mut options = CommunicationIdentityClientOptions::default();
/// options.application_id = Some("my-app".into());
/// options.per_try_timeout = Some(Duration::from_secs(10));
/// options.retry.max_retries = 5;
/// assert_eq!(options.api_version, "2023-10-01");
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct CommunicationIdentityClientOptions {
    /// The `api-version` query parameter; default `2023-10-01`. Any string is accepted and sent as is.
    pub api_version: String,
    /// How failed tries are retried.
    pub retry: RetryOptions,
    /// The HTTP client to send requests with (for proxies, TLS settings, connection pool tuning).
    /// When `None`, one is built; every clone of the identity client shares it.
    pub http_client: Option<reqwest::Client>,
    /// Put first in the `User-Agent` header (printable ASCII, no spaces).
    pub application_id: Option<String>,
    /// A limit on each try (connect, send, and read the whole response). `None`: no limit beyond
    /// the HTTP client's own.
    pub per_try_timeout: Option<Duration>,
    /// A limit on each whole call: getting a bearer token, every try and every wait between
    /// tries. `None` (or `Duration::MAX`): no limit beyond the tries' own. A call can set its own ([`CallOptions::timeout`]). A wait that
    /// would end past the limit is not started: the call ends with the last try's answer (a 503
    /// or 429 with its status and `Retry-After`) rather than a timeout that hides it.
    ///
    /// When it passes, the call's future is dropped, which is always safe: a request in flight
    /// is abandoned. For a create, the service may still have created the user; its id is lost.
    pub timeout: Option<Duration>,
    /// The clock used for the `x-ms-date` of HMAC-signed requests and for HTTP-date `Retry-After`
    /// values. `None`: the system clock. Tests replace it.
    pub clock: Option<Arc<dyn Clock>>,
}

impl Default for CommunicationIdentityClientOptions {
    fn default() -> Self {
        Self {
            api_version: DEFAULT_API_VERSION.to_owned(),
            retry: RetryOptions::default(),
            http_client: None,
            application_id: None,
            per_try_timeout: None,
            timeout: None,
            clock: None,
        }
    }
}

impl fmt::Debug for CommunicationIdentityClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommunicationIdentityClientOptions")
            .field("api_version", &self.api_version)
            .field("retry", &self.retry)
            .field("http_client", &self.http_client.as_ref().map(|_| "custom"))
            .field("application_id", &self.application_id)
            .field("per_try_timeout", &self.per_try_timeout)
            .field("timeout", &self.timeout)
            .field("clock", &self.clock)
            .finish()
    }
}

impl CommunicationIdentityClientOptions {
    /// Sets the api-version.
    pub fn with_api_version(mut self, api_version: impl Into<String>) -> Self {
        self.api_version = api_version.into();
        self
    }

    /// Sets the retry options.
    pub fn with_retry(mut self, retry: RetryOptions) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the HTTP client.
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Sets the application id put first in the `User-Agent`.
    pub fn with_application_id(mut self, application_id: impl Into<String>) -> Self {
        self.application_id = Some(application_id.into());
        self
    }

    /// Sets the per-try timeout.
    pub fn with_per_try_timeout(mut self, timeout: Duration) -> Self {
        self.per_try_timeout = Some(timeout);
        self
    }

    /// Sets the limit on each whole call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }
}

/// Retry policy: exponential backoff with jitter, honouring the service's `Retry-After`,
/// `retry-after-ms` and `x-ms-retry-after-ms` headers.
///
/// Retried: 408, 429, 500, 502, 503, 504, connection failures and timeouts. Never retried: any
/// other status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryOptions {
    /// Retries after the first try (so `max_retries + 1` tries at most). Default 3; 0 disables.
    pub max_retries: u32,
    /// The delay before the first retry when the service names none; doubles each retry, with
    /// ±20 % jitter. Default 800 ms.
    pub initial_delay: Duration,
    /// The longest wait between two tries, including a delay the service asks for. Default 60 s.
    pub max_delay: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryOptions {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets the number of retries.
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets the initial delay.
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets the maximum delay.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }
}

/// What every method's options can change for that one call: its deadline and its retries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallOptions {
    /// A limit on the whole call (getting a bearer token, every try and wait), instead of the
    /// client's [`timeout`](CommunicationIdentityClientOptions::timeout); `Duration::MAX`: no
    /// limit for this call. Dropping a call's future is always safe as well.
    pub timeout: Option<Duration>,
    /// The retry policy of this call, instead of the client's. Use [`RetryOptions::none`] for a
    /// create that must not be sent twice: a create whose response was lost (a timeout, a
    /// dropped connection) is retried by default, as the official SDKs do, and a retry then
    /// makes a second user.
    pub retry: Option<RetryOptions>,
}

impl CallOptions {
    /// Sets the limit on the whole call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the retry policy of the call.
    pub fn with_retry(mut self, retry: RetryOptions) -> Self {
        self.retry = Some(retry);
        self
    }
}

/// Options of [`create_user`](crate::CommunicationIdentityClient::create_user) and
/// [`create_user_with_custom_id`](crate::CommunicationIdentityClient::create_user_with_custom_id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateUserOptions {
    /// The call's deadline and retries.
    pub call: CallOptions,
}

impl CreateUserOptions {
    /// Sets the call's deadline and retries.
    pub fn with_call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }
}

/// Options of [`create_user_and_token`](crate::CommunicationIdentityClient::create_user_and_token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateUserAndTokenOptions {
    /// The token's lifetime, sent as whole minutes (rounded down). The service accepts 60..=1440
    /// minutes and defaults to 1440; the client does not check the range.
    pub token_expires_in: Option<Duration>,
    /// The application's own id for the user: creating again with the same custom id returns the
    /// same user, with a new token (as
    /// [`create_user_with_custom_id`](crate::CommunicationIdentityClient::create_user_with_custom_id)
    /// does without one). Preview only: the client's api-version must be
    /// [`PREVIEW_API_VERSION`](crate::PREVIEW_API_VERSION) (or a later preview); otherwise the
    /// call fails before sending anything.
    ///
    /// The service takes 1 to 256 characters and answers a longer id with a `ValidationError`
    /// (400); the client leaves that rule to it. An empty id is refused before sending
    /// ([`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument), argument
    /// `custom_id`): the preview's request schema has no empty custom id.
    pub custom_id: Option<String>,
    /// The call's deadline and retries.
    pub call: CallOptions,
}

impl CreateUserAndTokenOptions {
    /// Sets the custom id (preview api-version only).
    pub fn with_custom_id(mut self, custom_id: impl Into<String>) -> Self {
        self.custom_id = Some(custom_id.into());
        self
    }

    /// Sets the call's deadline and retries.
    pub fn with_call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }

    /// Sets the token lifetime.
    pub fn with_token_expires_in(mut self, lifetime: Duration) -> Self {
        self.token_expires_in = Some(lifetime);
        self
    }
}

/// Options of [`get_token`](crate::CommunicationIdentityClient::get_token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetTokenOptions {
    /// The token's lifetime, sent as whole minutes (rounded down). The service accepts 60..=1440
    /// minutes and defaults to 1440; the client does not check the range.
    pub token_expires_in: Option<Duration>,
    /// The call's deadline and retries.
    pub call: CallOptions,
}

impl GetTokenOptions {
    /// Sets the call's deadline and retries.
    pub fn with_call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }

    /// Sets the token lifetime.
    pub fn with_token_expires_in(mut self, lifetime: Duration) -> Self {
        self.token_expires_in = Some(lifetime);
        self
    }
}

/// Options of [`get_token_for_teams_user`](crate::CommunicationIdentityClient::get_token_for_teams_user).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetTokenForTeamsUserOptions {
    /// The call's deadline and retries.
    pub call: CallOptions,
}

impl GetTokenForTeamsUserOptions {
    /// Sets the call's deadline and retries.
    pub fn with_call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }
}

/// Options of [`revoke_tokens`](crate::CommunicationIdentityClient::revoke_tokens).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevokeTokensOptions {
    /// The call's deadline and retries.
    pub call: CallOptions,
}

impl RevokeTokensOptions {
    /// Sets the call's deadline and retries.
    pub fn with_call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }
}

/// Options of [`delete_user`](crate::CommunicationIdentityClient::delete_user).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteUserOptions {
    /// The call's deadline and retries.
    pub call: CallOptions,
}

impl DeleteUserOptions {
    /// Sets the call's deadline and retries.
    pub fn with_call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }
}

/// Options of [`get_user`](crate::CommunicationIdentityClient::get_user).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetUserOptions {
    /// The call's deadline and retries.
    pub call: CallOptions,
}

impl GetUserOptions {
    /// Sets the call's deadline and retries.
    pub fn with_call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }
}

/// Options of
/// [`create_or_replace_teams_extension_assignment`](crate::CommunicationIdentityClient::create_or_replace_teams_extension_assignment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateOrReplaceTeamsExtensionAssignmentOptions {
    /// Client ids of the Entra applications whose tokens the user may exchange; `None`: any.
    pub client_ids: Option<Vec<String>>,
    /// The call's deadline and retries.
    pub call: CallOptions,
}

impl CreateOrReplaceTeamsExtensionAssignmentOptions {
    /// Sets the call's deadline and retries.
    pub fn with_call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }

    /// Sets the client ids the assignment allows.
    pub fn with_client_ids(
        mut self,
        client_ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.client_ids = Some(client_ids.into_iter().map(Into::into).collect());
        self
    }
}

/// Options of
/// [`get_teams_extension_assignment`](crate::CommunicationIdentityClient::get_teams_extension_assignment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetTeamsExtensionAssignmentOptions {
    /// The call's deadline and retries.
    pub call: CallOptions,
}

impl GetTeamsExtensionAssignmentOptions {
    /// Sets the call's deadline and retries.
    pub fn with_call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }
}

/// Options of
/// [`delete_teams_extension_assignment`](crate::CommunicationIdentityClient::delete_teams_extension_assignment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteTeamsExtensionAssignmentOptions {
    /// The call's deadline and retries.
    pub call: CallOptions,
}

impl DeleteTeamsExtensionAssignmentOptions {
    /// Sets the call's deadline and retries.
    pub fn with_call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }
}

/// Options of
/// [`get_token_for_teams_extension_user`](crate::CommunicationIdentityClient::get_token_for_teams_extension_user).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetTokenForTeamsExtensionUserOptions {
    /// The call's deadline and retries.
    pub call: CallOptions,
}

impl GetTokenForTeamsExtensionUserOptions {
    /// Sets the call's deadline and retries.
    pub fn with_call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }
}

/// Options of [`get_token_for_entra_user`](crate::CommunicationIdentityClient::get_token_for_entra_user).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetTokenForEntraUserOptions {
    /// The call's deadline and retries.
    pub call: CallOptions,
}

impl GetTokenForEntraUserOptions {
    /// Sets the call's deadline and retries.
    pub fn with_call(mut self, call: CallOptions) -> Self {
        self.call = call;
        self
    }
}
