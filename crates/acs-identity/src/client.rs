//! [`CommunicationIdentityClient`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use acs_auth::{AccessKeyCredential, ConnectionString, SystemClock};
use acs_identity_rest::preview::types as preview;
use acs_identity_rest::types;
use azure_core::credentials::TokenCredential;
use url::Url;

use crate::api_version;
use crate::call::{Answer, Call, Method};
use crate::error::{Error, Result};
use crate::options::{
    CallOptions, CommunicationIdentityClientOptions, CreateUserAndTokenOptions, CreateUserOptions,
    DeleteUserOptions, GetTokenForTeamsUserOptions, GetTokenOptions, GetUserOptions,
    RevokeTokensOptions,
};
use crate::pipeline::{Auth, Authorization, Pipeline, require_bearer_allowed};
use crate::scope::TokenScope;
use crate::token::{AccessToken, CommunicationUserDetails, CommunicationUserIdentifierAndToken};
use acs_common::CommunicationUserIdentifier;

/// The client of the ACS Identity service: creates and deletes users, issues and revokes their
/// access tokens, and exchanges Teams users' Entra ID tokens.
///
/// Cheap to clone (`Arc` inside); clones share one connection pool. `Send + Sync`.
///
/// ```no_run
/// # async fn example() -> acs_identity::Result<()> {
/// use acs_identity::{CommunicationIdentityClient, TokenScope};
///
/// let client = CommunicationIdentityClient::from_connection_string(
///     "endpoint=https://contoso.communication.azure.com/;accesskey=c2VjcmV0",
///     None,
/// )?;
/// let user = client.create_user(None).await?;
/// let token = client.get_token(&user, &[TokenScope::Chat], None).await?;
/// println!("{} expires on {}", user.id(), token.expires_on);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CommunicationIdentityClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    endpoint: Url,
    /// The endpoint without its trailing `/`, as the generated client takes it.
    base_url: String,
    api_version: String,
    pipeline: Arc<Pipeline>,
}

impl fmt::Debug for CommunicationIdentityClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommunicationIdentityClient")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("api_version", &self.inner.api_version)
            .field("pipeline", &self.inner.pipeline)
            .finish()
    }
}

/// Checks an endpoint the way connection strings are checked, except that a path is kept: an
/// explicit endpoint may be a gateway in front of the service (`https://gateway/acs/`), and every
/// operation's path goes after it (signed as sent). A connection string's endpoint is always the
/// resource itself, so `acs_auth::ConnectionString` refuses a path.
fn parse_endpoint(endpoint: &str) -> Result<Url> {
    let bad = |why: &str| {
        Error::configuration(
            format!(
                "invalid endpoint `{endpoint}`: {why}; expected https://<resource>.communication.azure.com/"
            ),
            None,
        )
    };
    let url = Url::parse(endpoint.trim()).map_err(|_| bad("not an absolute URL"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(bad(
            "the scheme must be https (or http for a local emulator)",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("the URL has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("the URL must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("the URL must not contain a user name or password"));
    }
    Ok(url)
}

/// Whether the default HTTP client can speak https (a TLS feature is on).
const TLS_BUILT_IN: bool = cfg!(any(feature = "rustls", feature = "native-tls"));

/// A lifetime as whole minutes (rounded down), as the service's int32 `expiresInMinutes`.
pub(crate) fn whole_minutes(lifetime: Option<Duration>) -> Result<Option<i32>> {
    lifetime
        .map(|d| {
            i32::try_from(d.as_secs() / 60).map_err(|_| {
                Error::invalid_argument(
                    "token_expires_in",
                    format!(
                        "{} minutes does not fit the service's 32-bit expiresInMinutes",
                        d.as_secs() / 60
                    ),
                )
            })
        })
        .transpose()
}

fn check_user(user: &CommunicationUserIdentifier) -> Result<()> {
    if user.id().trim().is_empty() {
        return Err(Error::invalid_argument(
            "user",
            "the user id is empty; pass the id returned by create_user",
        ));
    }
    Ok(())
}

impl CommunicationIdentityClient {
    /// Builds a client from a connection string
    /// (`endpoint=https://<resource>.communication.azure.com/;accesskey=<base64 key>`), signing
    /// requests with HMAC-SHA256.
    ///
    /// To rotate the key later, parse the string into a
    /// [`ConnectionString`](crate::credentials::ConnectionString) instead and pass its endpoint
    /// and an [`AccessKeyCredential`] of its key to [`with_access_key`](Self::with_access_key)
    /// (see [`credentials`](crate::credentials)).
    pub fn from_connection_string(
        connection_string: &str,
        options: Option<CommunicationIdentityClientOptions>,
    ) -> Result<Self> {
        let parsed = ConnectionString::parse(connection_string).map_err(|e| {
            Error::configuration(format!("invalid connection string: {e}"), Some(Box::new(e)))
        })?;
        let (endpoint, key) = parsed.into_parts();
        Self::build(endpoint, Auth::Key(AccessKeyCredential::new(key)), options)
    }

    /// Builds a client for `endpoint` that signs requests with an access key. Pass an
    /// [`AccessKeyCredential`] (and keep a clone) to rotate the key later with
    /// [`AccessKeyCredential::update`]: the next request uses the new key.
    pub fn with_access_key(
        endpoint: &str,
        credential: impl Into<AccessKeyCredential>,
        options: Option<CommunicationIdentityClientOptions>,
    ) -> Result<Self> {
        Self::build(
            parse_endpoint(endpoint)?,
            Auth::Key(credential.into()),
            options,
        )
    }

    /// Builds a client for `endpoint` that authorizes with Entra ID bearer tokens for the scope
    /// `https://communication.azure.com//.default` ([`COMMUNICATION_SCOPE`](crate::COMMUNICATION_SCOPE):
    /// the double slash is deliberate, as every official SDK sends it).
    ///
    /// The endpoint must be https; plain http is accepted only for a loopback host (a local
    /// emulator), since the token would otherwise travel unencrypted.
    pub fn with_token_credential(
        endpoint: &str,
        credential: Arc<dyn TokenCredential>,
        options: Option<CommunicationIdentityClientOptions>,
    ) -> Result<Self> {
        let endpoint = parse_endpoint(endpoint)?;
        require_bearer_allowed(&endpoint)?;
        Self::build(endpoint, Auth::token(credential), options)
    }

    /// A client with no credential of the resource, for the token exchanges of an
    /// `EntraTokenExchange` (each authorized by the end user's Entra token).
    pub(crate) fn for_exchanges(
        endpoint: &str,
        options: CommunicationIdentityClientOptions,
    ) -> Result<Self> {
        Self::build(
            parse_endpoint(endpoint)?,
            Auth::ExchangesOnly,
            Some(options),
        )
    }

    fn build(
        endpoint: Url,
        auth: Auth,
        options: Option<CommunicationIdentityClientOptions>,
    ) -> Result<Self> {
        let options = options.unwrap_or_default();
        let user_agent = crate::pipeline::user_agent(options.application_id.as_deref())?;
        let http = match options.http_client {
            Some(client) => client,
            None if endpoint.scheme() == "https" && !TLS_BUILT_IN => {
                return Err(Error::configuration(
                    format!(
                        "`{endpoint}` is https, but acs-identity was built without a TLS backend: \
                         enable its `rustls` (default) or `native-tls` feature, or pass an \
                         http_client that has one"
                    ),
                    None,
                ));
            }
            None => reqwest::Client::builder()
                // A signed request is for one URL: a redirect is an answer, not a hop.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| {
                    Error::configuration("could not build the HTTP client", Some(Box::new(e)))
                })?,
        };
        let host = acs_auth::request_host(&endpoint)
            .ok_or_else(|| Error::configuration("the endpoint has no host", None))?;
        let pipeline = Arc::new(Pipeline {
            http,
            auth,
            host,
            user_agent,
            retry: options.retry,
            per_try_timeout: options.per_try_timeout,
            timeout: options.timeout,
            clock: options.clock.unwrap_or_else(|| Arc::new(SystemClock)),
        });
        Ok(Self {
            inner: Arc::new(ClientInner {
                base_url: endpoint.as_str().trim_end_matches('/').to_owned(),
                endpoint,
                api_version: options.api_version,
                pipeline,
            }),
        })
    }

    /// The service endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// Now, by the client's clock (`CommunicationIdentityClientOptions::clock`).
    pub(crate) fn now(&self) -> std::time::SystemTime {
        self.inner.pipeline.clock.now()
    }

    /// The api-version sent with every request.
    pub fn api_version(&self) -> &str {
        &self.inner.api_version
    }

    /// Creates a new user (no token).
    pub async fn create_user(
        &self,
        options: Option<CreateUserOptions>,
    ) -> Result<CommunicationUserIdentifier> {
        let options = options.unwrap_or_default();
        let call = self.start(Method::CreateUser, options.call).await?;
        let operation = call
            .rest()
            .communication_identity_create()
            .api_version(self.api_version());
        let created = call.value(|| operation.clone().send()).await?;
        Ok(CommunicationUserIdentifier::new(created.identity.id))
    }

    /// Creates a user with the application's own id for it, or returns the user created with that
    /// id before: creating again with the same custom id returns the same user, so this create
    /// is safe to retry. Returns the user as the service answers: its id, the custom id and, for
    /// a user created before, when a token was last issued to it (no `get_user` needed).
    ///
    /// Preview only: the client's api-version must be
    /// [`PREVIEW_API_VERSION`](crate::PREVIEW_API_VERSION) (or a later preview); otherwise this
    /// fails before sending anything. The service takes 1 to 256 characters and answers a longer
    /// id with a `ValidationError` (400); the client leaves that rule to it. An empty id is
    /// refused before sending ([`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument),
    /// argument `custom_id`): the preview's request schema has no empty custom id.
    pub async fn create_user_with_custom_id(
        &self,
        custom_id: &str,
        options: Option<CreateUserOptions>,
    ) -> Result<CommunicationUserDetails> {
        let options = options.unwrap_or_default();
        let created = self
            .create_with_custom_id(
                Method::CreateUser,
                custom_id.to_owned(),
                None,
                None,
                options.call,
            )
            .await?;
        Ok(user_details(created.value.identity))
    }

    /// Creates a new user and an access token for it with the given scopes.
    ///
    /// Scopes are sent as given; the service checks them.
    pub async fn create_user_and_token(
        &self,
        scopes: &[TokenScope],
        options: Option<CreateUserAndTokenOptions>,
    ) -> Result<CommunicationUserIdentifierAndToken> {
        let options = options.unwrap_or_default();
        if let Some(custom_id) = options.custom_id {
            let created = self
                .create_with_custom_id(
                    Method::CreateUserAndToken,
                    custom_id,
                    Some(scopes),
                    options.token_expires_in,
                    options.call,
                )
                .await?;
            let Some(token) = created.value.access_token else {
                return Err(
                    created.missing("the service created the user but returned no accessToken")
                );
            };
            return Ok(CommunicationUserIdentifierAndToken {
                user: CommunicationUserIdentifier::new(created.value.identity.id),
                access_token: AccessToken::new(token.token, token.expires_on.into_inner()),
            });
        }
        let expires_in_minutes = whole_minutes(options.token_expires_in)?;
        let call = self.start(Method::CreateUserAndToken, options.call).await?;
        let operation = call
            .rest()
            .communication_identity_create()
            .api_version(self.api_version())
            .body_map(|body| {
                body.create_token_with_scopes(Some(rest_scopes(scopes)))
                    .expires_in_minutes(expires_in_minutes)
            });
        let created = call.answer(|| operation.clone().send()).await?;
        let Some(token) = created.value.access_token else {
            return Err(created.missing("the service created the user but returned no accessToken"));
        };
        let user = CommunicationUserIdentifier::new(created.value.identity.id);
        Ok(CommunicationUserIdentifierAndToken {
            user,
            access_token: access_token(token),
        })
    }

    /// Issues an access token with the given scopes for an existing user.
    pub async fn get_token(
        &self,
        user: &CommunicationUserIdentifier,
        scopes: &[TokenScope],
        options: Option<GetTokenOptions>,
    ) -> Result<AccessToken> {
        let options = options.unwrap_or_default();
        check_user(user)?;
        let expires_in_minutes = whole_minutes(options.token_expires_in)?;
        let call = self.start(Method::GetToken, options.call).await?;
        let operation = call
            .rest()
            .communication_identity_issue_access_token()
            .id(user.id())
            .api_version(self.api_version())
            .body_map(|body| {
                body.scopes(rest_scopes(scopes))
                    .expires_in_minutes(expires_in_minutes)
            });
        let token = call.value(|| operation.clone().send()).await?;
        Ok(access_token(token))
    }

    /// Exchanges the Entra ID access token of a Teams user for an ACS access token.
    ///
    /// `client_id` is the Entra application (client) id the token was issued to, and
    /// `user_object_id` the Teams user's object id; the service checks both against the token.
    pub async fn get_token_for_teams_user(
        &self,
        teams_user_aad_token: &str,
        client_id: &str,
        user_object_id: &str,
        options: Option<GetTokenForTeamsUserOptions>,
    ) -> Result<AccessToken> {
        let options = options.unwrap_or_default();
        let call = self
            .start(Method::GetTokenForTeamsUser, options.call)
            .await?;
        let operation = call
            .rest()
            .communication_identity_exchange_teams_user_access_token()
            .api_version(self.api_version())
            .body_map(|body| {
                body.token(teams_user_aad_token.to_owned())
                    .app_id(client_id.to_owned())
                    .user_id(user_object_id.to_owned())
            });
        let token = call.value(|| operation.clone().send()).await?;
        Ok(access_token(token))
    }

    /// Revokes every access token issued to the user so far.
    pub async fn revoke_tokens(
        &self,
        user: &CommunicationUserIdentifier,
        options: Option<RevokeTokensOptions>,
    ) -> Result<()> {
        let options = options.unwrap_or_default();
        check_user(user)?;
        let call = self.start(Method::RevokeTokens, options.call).await?;
        let operation = call
            .rest()
            .communication_identity_revoke_access_tokens()
            .id(user.id())
            .api_version(self.api_version());
        call.unit(|| operation.clone().send()).await
    }

    /// Deletes the user, revoking all of its tokens and removing its data.
    pub async fn delete_user(
        &self,
        user: &CommunicationUserIdentifier,
        options: Option<DeleteUserOptions>,
    ) -> Result<()> {
        let options = options.unwrap_or_default();
        check_user(user)?;
        let call = self.start(Method::DeleteUser, options.call).await?;
        let operation = call
            .rest()
            .communication_identity_delete()
            .id(user.id())
            .api_version(self.api_version());
        call.unit(|| operation.clone().send()).await
    }

    /// Reads a user: its custom id and when a token was last issued for it. Preview only: the
    /// client's api-version must be [`PREVIEW_API_VERSION`](crate::PREVIEW_API_VERSION) (or a
    /// later preview); otherwise this fails before sending anything.
    pub async fn get_user(
        &self,
        user: &CommunicationUserIdentifier,
        options: Option<GetUserOptions>,
    ) -> Result<CommunicationUserDetails> {
        let options = options.unwrap_or_default();
        api_version::require_preview(self.api_version(), "get_user")?;
        check_user(user)?;
        let call = self.start(Method::GetUser, options.call).await?;
        let preview_rest = call.preview_rest();
        let operation = preview_rest
            .communication_identity_get()
            .id(user.id())
            .api_version(self.api_version());
        let identity = call.value(|| operation.clone().send()).await?;
        Ok(user_details(identity))
    }

    /// A create with a custom id, through the preview's operation (its body has `customId`),
    /// with a token when `scopes` is given. Returns what the service answered.
    async fn create_with_custom_id(
        &self,
        method: Method,
        custom_id: String,
        scopes: Option<&[TokenScope]>,
        token_expires_in: Option<Duration>,
        options: CallOptions,
    ) -> Result<Answer<preview::CommunicationIdentityAccessTokenResult>> {
        api_version::require_preview(self.api_version(), "a custom id")?;
        // The schema's one rule (at least one character) is what the request type checks; the
        // service's 256-character limit is the service's to apply.
        let custom_id = preview::CommunicationIdentityCreateRequestCustomId::try_from(custom_id)
            .map_err(|_| {
                Error::invalid_argument(
                    "custom_id",
                    "the custom id is empty; pass the application's own id for the user",
                )
            })?;
        let scopes: Option<Vec<_>> = scopes.map(|scopes| {
            scopes
                .iter()
                .map(|s| preview::CommunicationIdentityTokenScope(s.as_str().to_owned()))
                .collect()
        });
        let expires_in_minutes = whole_minutes(token_expires_in)?;
        let call = self.start(method, options).await?;
        let preview_rest = call.preview_rest();
        let operation = preview_rest
            .communication_identity_create()
            .api_version(self.api_version())
            .body_map(|body| {
                body.custom_id(Some(custom_id))
                    .create_token_with_scopes(scopes)
                    .expires_in_minutes(expires_in_minutes)
            });
        call.answer(|| operation.clone().send()).await
    }

    /// Starts a call of `method` (see `call.rs`).
    async fn start(&self, method: Method, options: CallOptions) -> Result<Call> {
        self.start_with_version(method, &self.inner.api_version, options)
            .await
    }

    /// Starts a call of `method` sent with `api_version` (not always the client's: see
    /// `api_version.rs`).
    pub(crate) async fn start_with_version(
        &self,
        method: Method,
        api_version: &str,
        options: CallOptions,
    ) -> Result<Call> {
        let inner = &*self.inner;
        Call::start(
            &inner.pipeline,
            &inner.base_url,
            api_version,
            method,
            options,
        )
        .await
    }

    /// Starts a call of `method` sent with `api_version` and authorized by `authorization`
    /// instead of the client's credential.
    pub(crate) fn start_as(
        &self,
        method: Method,
        api_version: &str,
        options: CallOptions,
        authorization: Authorization,
    ) -> Call {
        let inner = &*self.inner;
        Call::start_as(
            &inner.pipeline,
            &inner.base_url,
            api_version,
            method,
            options,
            authorization,
        )
    }
}

/// The scopes as the generated model takes them (an open set: any string).
fn rest_scopes(scopes: &[TokenScope]) -> Vec<types::CommunicationIdentityTokenScope> {
    scopes
        .iter()
        .map(|s| types::CommunicationIdentityTokenScope(s.as_str().to_owned()))
        .collect()
}

/// A user as the preview's answers describe it (a create with a custom id, a get).
fn user_details(identity: preview::CommunicationIdentity) -> CommunicationUserDetails {
    CommunicationUserDetails {
        user: CommunicationUserIdentifier::new(identity.id),
        custom_id: identity.custom_id,
        last_token_issued_at: identity.last_token_issued_at.map(|t| t.into_inner()),
    }
}

pub(crate) fn access_token(token: types::CommunicationIdentityAccessToken) -> AccessToken {
    AccessToken::new(token.token, token.expires_on.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_round_down_and_overflow_is_an_argument_error() {
        assert_eq!(whole_minutes(None).unwrap(), None);
        assert_eq!(
            whole_minutes(Some(Duration::from_secs(3600))).unwrap(),
            Some(60)
        );
        assert_eq!(
            whole_minutes(Some(Duration::from_secs(3659))).unwrap(),
            Some(60)
        );
        assert_eq!(
            whole_minutes(Some(Duration::from_secs(59))).unwrap(),
            Some(0)
        );
        let e = whole_minutes(Some(Duration::MAX)).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        assert_eq!(e.argument(), Some("token_expires_in"));
    }

    /// Built without a TLS feature (`cargo test -p acs-identity --no-default-features --lib`):
    /// an https endpoint is a configuration error naming the features, http still works.
    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    #[test]
    fn https_without_a_tls_feature_says_which_features() {
        let e = CommunicationIdentityClient::from_connection_string(
            "endpoint=https://contoso.communication.azure.com/;accesskey=c2VjcmV0",
            None,
        )
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Configuration);
        assert!(
            e.to_string().contains("`rustls` (default) or `native-tls`"),
            "{e}"
        );
        assert!(
            CommunicationIdentityClient::from_connection_string(
                "endpoint=http://127.0.0.1:1/;accesskey=c2VjcmV0",
                None,
            )
            .is_ok()
        );
    }

    #[test]
    fn endpoint_rules() {
        assert!(parse_endpoint("https://a.communication.azure.com/").is_ok());
        assert!(parse_endpoint("http://127.0.0.1:1234").is_ok());
        assert!(
            parse_endpoint("https://gateway.example/acs/").is_ok(),
            "a prefix is kept"
        );
        for bad in ["", "a.com", "ftp://a/", "https://a/?x=1", "https://u:p@a/"] {
            let e = parse_endpoint(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Configuration, "{bad}");
        }
    }
}
