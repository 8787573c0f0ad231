//! Exchanging an end user's Entra ID token for an ACS token: the Entra ID user exchange of the
//! preview ([`CommunicationIdentityClient::get_token_for_entra_user`]), and
//! [`EntraTokenExchange`], the credential that keeps an ACS token for an Entra ID user (a Teams
//! Phone extension user, or an Entra ID user under the preview) by exchanging that user's Entra
//! token whenever it changes or the ACS token expires.
//!
//! How one exchange reads: [`EntraTokenExchange::exchange`] gets the user's Entra token from the
//! app's `TokenCredential` (for the exchange's scopes), then, under its own lock, returns the ACS
//! token it holds when that was exchanged for the same Entra token and has not expired, and
//! otherwise exchanges ([`CommunicationIdentityClient::get_token_for_teams_extension_user`] or
//! [`CommunicationIdentityClient::get_token_for_entra_user`]) and keeps the result.

use std::fmt;
use std::sync::Arc;

use acs_common::{
    CommunicationIdentifier, CommunicationTokenCredential, CommunicationTokenRefreshOptions,
    CredentialError, RefreshError, TokenRefresher,
};
use async_trait::async_trait;
use azure_core::credentials::{Secret, TokenCredential, TokenRequestOptions};
use reqwest::header::HeaderValue;

use crate::api_version::{self, PREVIEW_API_VERSION, TEAMS_EXTENSION_API_VERSION};
use crate::call::Method;
use crate::client::CommunicationIdentityClient;
use crate::error::{Error, Result};
use crate::options::{CommunicationIdentityClientOptions, GetTokenForEntraUserOptions};
use crate::pipeline::{Authorization, require_bearer_allowed};
use crate::token::{AccessToken, CommunicationIdentifierAndToken};

/// The scope prefix of a Teams Phone extension user's token (public cloud).
pub const TEAMS_EXTENSION_SCOPE_PREFIX: &str = "https://auth.msft.communication.azure.com/";
/// The scope prefix of a Teams Phone extension user's token in the US government clouds.
pub const TEAMS_EXTENSION_US_GOV_SCOPE_PREFIX: &str = "https://auth.msft.communication.azure.us/";
/// The scope prefix of an Entra ID user's token for the preview's Entra ID user exchange.
pub const ENTRA_USER_SCOPE_PREFIX: &str = "https://communication.azure.com/clients/";
/// The scope of a Teams Phone extension user's token, as Microsoft's walkthroughs ask for it.
pub const TEAMS_EXTENSION_SCOPE: &str =
    "https://auth.msft.communication.azure.com/TeamsExtension.ManageCalls";
/// The scope asked for when none is given (an Entra ID user, preview).
pub const DEFAULT_ENTRA_USER_SCOPE: &str = "https://communication.azure.com/clients/.default";

/// Which exchange the scopes call for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeKind {
    /// A Teams Phone extension user (`POST /access/teamsExtension/:exchangeAccessToken`, sent
    /// with api-version 2025-06-30).
    TeamsExtension,
    /// An Entra ID user (`POST /access/entra/:exchangeAccessToken`, sent with the preview
    /// api-version 2025-03-02-preview).
    EntraUser,
}

impl ExchangeKind {
    /// The exchange the scopes call for: every scope under
    /// [`TEAMS_EXTENSION_SCOPE_PREFIX`] (or the US government one), or every scope under
    /// [`ENTRA_USER_SCOPE_PREFIX`]. Anything else is refused with the official SDKs' message.
    pub fn for_scopes(scopes: &[String]) -> Result<ExchangeKind> {
        let all = |prefixes: &[&str]| {
            !scopes.is_empty()
                && scopes
                    .iter()
                    .all(|scope| prefixes.iter().any(|prefix| scope.starts_with(prefix)))
        };
        if all(&[
            TEAMS_EXTENSION_SCOPE_PREFIX,
            TEAMS_EXTENSION_US_GOV_SCOPE_PREFIX,
        ]) {
            Ok(ExchangeKind::TeamsExtension)
        } else if all(&[ENTRA_USER_SCOPE_PREFIX]) {
            Ok(ExchangeKind::EntraUser)
        } else {
            Err(Error::invalid_argument(
                "scopes",
                format!(
                    "Scopes validation failed. Ensure all scopes start with one of \
                     {TEAMS_EXTENSION_SCOPE_PREFIX}, {TEAMS_EXTENSION_US_GOV_SCOPE_PREFIX}, \
                     {ENTRA_USER_SCOPE_PREFIX}."
                ),
            ))
        }
    }

    /// The api-version the exchange is sent with (whatever the identity client's version is, as
    /// the official credential does).
    pub fn api_version(self) -> &'static str {
        match self {
            ExchangeKind::TeamsExtension => TEAMS_EXTENSION_API_VERSION,
            ExchangeKind::EntraUser => PREVIEW_API_VERSION,
        }
    }
}

/// The `Authorization` of an exchange: the end user's Entra token, marked sensitive.
pub(crate) fn bearer(
    client: &CommunicationIdentityClient,
    entra_token: &str,
) -> Result<Authorization> {
    require_bearer_allowed(client.endpoint())?;
    if entra_token.trim().is_empty() {
        return Err(Error::invalid_argument(
            "entra_token",
            "the Entra ID token is empty",
        ));
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {entra_token}")).map_err(|_| {
        Error::invalid_argument(
            "entra_token",
            "the Entra ID token has characters a header cannot carry",
        )
    })?;
    value.set_sensitive(true);
    Ok(Authorization::Bearer(value))
}

impl CommunicationIdentityClient {
    /// Exchanges the Entra ID access token of an Entra ID user (scopes under
    /// `https://communication.azure.com/clients/`) for an ACS access token of the identity
    /// assigned to that user. Preview only: the client's api-version must be
    /// [`PREVIEW_API_VERSION`] (or a later preview); otherwise this fails before sending.
    ///
    /// Authorized by `entra_token` alone, as the Teams Phone extension exchange.
    pub async fn get_token_for_entra_user(
        &self,
        entra_token: &str,
        options: Option<GetTokenForEntraUserOptions>,
    ) -> Result<CommunicationIdentifierAndToken> {
        let options = options.unwrap_or_default();
        api_version::require_preview(self.api_version(), "get_token_for_entra_user")?;
        let authorization = bearer(self, entra_token)?;
        let call = self.start_as(
            Method::GetTokenForEntraUser,
            self.api_version(),
            options.call,
            authorization,
        );
        let preview_rest = call.preview_rest();
        let operation = preview_rest
            .entra_exchange_access_token()
            .api_version(self.api_version())
            .body(acs_identity_rest::preview::types::EntraExchangeTokenRequest(Default::default()));
        let exchanged = call.answer(|| operation.clone().send()).await?;
        let Some(token) = exchanged.value.access_token else {
            return Err(
                exchanged.missing("the service exchanged the token but returned no accessToken")
            );
        };
        Ok(CommunicationIdentifierAndToken {
            identifier: CommunicationIdentifier::from_raw_id(&exchanged.value.identity.id),
            access_token: AccessToken::new(token.token, token.expires_on.into_inner()),
        })
    }
}

/// Options of [`EntraTokenExchange::new`].
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct EntraTokenExchangeOptions {
    /// The scopes of the Entra token to exchange. Default: [`DEFAULT_ENTRA_USER_SCOPE`]. All
    /// under [`TEAMS_EXTENSION_SCOPE_PREFIX`] (or the US government one): the Teams Phone
    /// extension exchange; all under [`ENTRA_USER_SCOPE_PREFIX`]: the Entra ID user exchange of
    /// the preview.
    pub scopes: Vec<String>,
    /// The options of the identity client that sends the exchanges (retries, timeouts, HTTP
    /// client, application id). Its `api_version` is not used: the exchange is sent with the one
    /// of its kind ([`ExchangeKind::api_version`]).
    pub client_options: Option<CommunicationIdentityClientOptions>,
}

impl EntraTokenExchangeOptions {
    /// Sets the scopes.
    pub fn with_scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the options of the identity client that sends the exchanges.
    pub fn with_client_options(mut self, options: CommunicationIdentityClientOptions) -> Self {
        self.client_options = Some(options);
        self
    }
}

impl fmt::Debug for EntraTokenExchangeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraTokenExchangeOptions")
            .field("scopes", &self.scopes)
            .field("client_options", &self.client_options)
            .finish()
    }
}

/// An ACS token for an end user, got by exchanging that user's Entra ID token: the Rust
/// counterpart of the official `AzureCommunicationTokenCredential` with Entra options.
///
/// [`exchange`](Self::exchange) returns the ACS token it holds while the app's credential returns
/// the same Entra token and the ACS token has more than two minutes to live, and exchanges again
/// otherwise. It is a [`TokenRefresher`] (so
/// [`into_communication_token_credential`](Self::into_communication_token_credential) gives a
/// [`CommunicationTokenCredential`] with its refresh schedule) and an azure_core
/// [`TokenCredential`] itself (the scopes asked for are ignored: it has one kind of token).
///
/// ```no_run
/// # use std::sync::Arc;
/// # use acs_identity::credentials::TokenCredential;
/// # async fn example(user_credential: Arc<dyn TokenCredential>) -> Result<(), Box<dyn std::error::Error>> {
/// use acs_identity::{EntraTokenExchange, EntraTokenExchangeOptions, TEAMS_EXTENSION_SCOPE};
///
/// let exchange = EntraTokenExchange::new(
///     "https://contoso.communication.azure.com/",
///     user_credential,
///     Some(EntraTokenExchangeOptions::default().with_scopes([TEAMS_EXTENSION_SCOPE])),
/// )?;
/// let credential = exchange.into_communication_token_credential(None)?;
/// let token = credential.get_token().await?;
/// # let _ = token; Ok(()) }
/// ```
pub struct EntraTokenExchange {
    client: CommunicationIdentityClient,
    credential: Arc<dyn TokenCredential>,
    scopes: Vec<String>,
    kind: ExchangeKind,
    /// The last exchange: the Entra token given and the ACS token got. An async lock, held while
    /// an exchange is in flight, so concurrent callers share one exchange.
    held: tokio::sync::Mutex<Option<Exchanged>>,
}

struct Exchanged {
    entra_token: Secret,
    access_token: AccessToken,
}

impl fmt::Debug for EntraTokenExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraTokenExchange")
            .field("endpoint", &self.client.endpoint().as_str())
            .field("kind", &self.kind)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl EntraTokenExchange {
    /// An exchange against the resource at `resource_endpoint`, of the Entra tokens that
    /// `credential` returns for the user. Fails when the scopes fit neither exchange (with the
    /// official SDKs' message), or the endpoint is not https (plain http only to a loopback host).
    pub fn new(
        resource_endpoint: &str,
        credential: Arc<dyn TokenCredential>,
        options: Option<EntraTokenExchangeOptions>,
    ) -> Result<Self> {
        let options = options.unwrap_or_default();
        let scopes = if options.scopes.is_empty() {
            vec![DEFAULT_ENTRA_USER_SCOPE.to_owned()]
        } else {
            options.scopes
        };
        let kind = ExchangeKind::for_scopes(&scopes)?;
        let client_options = options
            .client_options
            .unwrap_or_default()
            .with_api_version(kind.api_version());
        let client = CommunicationIdentityClient::for_exchanges(resource_endpoint, client_options)?;
        require_bearer_allowed(client.endpoint())?;
        Ok(Self {
            client,
            credential,
            scopes,
            kind,
            held: tokio::sync::Mutex::new(None),
        })
    }

    /// Which exchange this is.
    pub fn kind(&self) -> ExchangeKind {
        self.kind
    }

    /// An ACS token for the user: the one held, when it was exchanged for the Entra token the
    /// app's credential returns now and expires in more than two minutes; otherwise a new
    /// exchange of that Entra token.
    pub async fn exchange(&self) -> Result<AccessToken> {
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let entra = self
            .credential
            .get_token(&scopes, None)
            .await
            .map_err(|e| {
                Error::credential(
                    "the Entra ID credential could not get the user's token",
                    Some(Box::new(e)),
                )
            })?;
        let mut held = self.held.lock().await;
        // Exchanged again when it expires within the window in which a
        // CommunicationTokenCredential refreshes on demand, by the client's clock.
        let now = time::OffsetDateTime::from(self.client.now());
        if let Some(last) = &*held
            && last.entra_token.secret() == entra.token.secret()
            && last.access_token.expires_on > now + acs_common::ON_DEMAND_REFRESH_WINDOW
        {
            return Ok(last.access_token.clone());
        }
        let exchanged = match self.kind {
            ExchangeKind::TeamsExtension => {
                self.client
                    .get_token_for_teams_extension_user(entra.token.secret(), None)
                    .await?
            }
            ExchangeKind::EntraUser => {
                self.client
                    .get_token_for_entra_user(entra.token.secret(), None)
                    .await?
            }
        };
        *held = Some(Exchanged {
            entra_token: entra.token,
            access_token: exchanged.access_token.clone(),
        });
        Ok(exchanged.access_token)
    }

    /// A [`CommunicationTokenCredential`] that gets its tokens from this exchange, with the
    /// credential's refresh schedule (on demand, or proactively with
    /// [`CommunicationTokenRefreshOptions::refresh_proactively`]).
    pub fn into_communication_token_credential(
        self,
        options: Option<CommunicationTokenRefreshOptions>,
    ) -> std::result::Result<CommunicationTokenCredential, CredentialError> {
        CommunicationTokenCredential::with_refresher(self, options)
    }
}

#[async_trait]
impl TokenRefresher for EntraTokenExchange {
    async fn refresh(&self) -> std::result::Result<Secret, RefreshError> {
        let token = self.exchange().await?;
        Ok(token.token)
    }
}

/// The scopes asked for are ignored: the exchange has one kind of token, for the scopes it was
/// made with. Errors come as azure_core errors of kind
/// [`Credential`](azure_core::error::ErrorKind::Credential) with this crate's [`Error`] as source.
#[async_trait]
impl TokenCredential for EntraTokenExchange {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        let token = self.exchange().await.map_err(|error| {
            azure_core::Error::new(azure_core::error::ErrorKind::Credential, error)
        })?;
        Ok(azure_core::credentials::AccessToken::new(
            token.token,
            token.expires_on,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scopes_choose_the_exchange_or_fail_with_the_official_message() {
        assert_eq!(
            ExchangeKind::for_scopes(&scopes(&[TEAMS_EXTENSION_SCOPE])).unwrap(),
            ExchangeKind::TeamsExtension
        );
        assert_eq!(
            ExchangeKind::for_scopes(&scopes(&[
                "https://auth.msft.communication.azure.us/TeamsExtension.ManageCalls"
            ]))
            .unwrap(),
            ExchangeKind::TeamsExtension
        );
        assert_eq!(
            ExchangeKind::for_scopes(&scopes(&[
                DEFAULT_ENTRA_USER_SCOPE,
                "https://communication.azure.com/clients/VoIP"
            ]))
            .unwrap(),
            ExchangeKind::EntraUser
        );
        for bad in [
            &["https://graph.microsoft.com/.default"][..],
            &[TEAMS_EXTENSION_SCOPE, DEFAULT_ENTRA_USER_SCOPE][..],
            &[][..],
        ] {
            let error = ExchangeKind::for_scopes(&scopes(bad)).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::InvalidArgument);
            assert!(
                error.to_string().contains(
                    "Scopes validation failed. Ensure all scopes start with one of \
                     https://auth.msft.communication.azure.com/, \
                     https://auth.msft.communication.azure.us/, \
                     https://communication.azure.com/clients/."
                ),
                "{error}"
            );
        }
        assert_eq!(ExchangeKind::TeamsExtension.api_version(), "2025-06-30");
        assert_eq!(ExchangeKind::EntraUser.api_version(), "2025-03-02-preview");
    }
}
