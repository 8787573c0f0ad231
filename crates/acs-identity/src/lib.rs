#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod api_version;
mod call;
mod client;
mod entra_exchange;
mod error;
mod options;
mod pipeline;
mod scope;
mod teams_extension;
mod token;

pub use api_version::{PREVIEW_API_VERSION, TEAMS_EXTENSION_API_VERSION};
pub use call::MAX_RESPONSE_BODY;
pub use client::CommunicationIdentityClient;
pub use entra_exchange::{
    DEFAULT_ENTRA_USER_SCOPE, ENTRA_USER_SCOPE_PREFIX, EntraTokenExchange,
    EntraTokenExchangeOptions, ExchangeKind, TEAMS_EXTENSION_SCOPE, TEAMS_EXTENSION_SCOPE_PREFIX,
    TEAMS_EXTENSION_US_GOV_SCOPE_PREFIX,
};
pub use error::{Error, ErrorKind, Result, ServiceErrorDetail};
// The identifiers, access tokens and the token credential live in `acs-common`; every
// `acs_identity::...` path stays, and every acs-common type the API names is here.
/// What [`AccessToken::revealed`] returns: the token serialized with its secret (feature `serde`).
#[cfg(feature = "serde")]
pub use acs_common::RevealedAccessToken;
pub use acs_common::{
    AccessToken, ClaimsError, CommunicationCloudEnvironment, CommunicationIdentifier,
    CommunicationTokenCredential, CommunicationTokenRefreshOptions, CommunicationUserIdentifier,
    CredentialError, MicrosoftTeamsAppIdentifier, MicrosoftTeamsUserIdentifier,
    PhoneNumberIdentifier, RefreshError, TeamsExtensionUserIdentifier, TokenClaims, TokenRefresher,
};
pub use options::{
    CallOptions, CommunicationIdentityClientOptions,
    CreateOrReplaceTeamsExtensionAssignmentOptions, CreateUserAndTokenOptions, CreateUserOptions,
    DEFAULT_API_VERSION, DeleteTeamsExtensionAssignmentOptions, DeleteUserOptions,
    GetTeamsExtensionAssignmentOptions, GetTokenForEntraUserOptions,
    GetTokenForTeamsExtensionUserOptions, GetTokenForTeamsUserOptions, GetTokenOptions,
    GetUserOptions, RetryOptions, RevokeTokensOptions,
};
pub use pipeline::COMMUNICATION_SCOPE;
pub use scope::TokenScope;
pub use teams_extension::{TeamsExtensionAssignment, TeamsExtensionPrincipalType, Upserted};
pub use token::{
    CommunicationIdentifierAndToken, CommunicationUserDetails, CommunicationUserIdentifierAndToken,
};

/// The `time` crate, whose `OffsetDateTime` is [`AccessToken::expires_on`]: no direct dependency
/// (or version match) needed to work with it.
///
/// With the `serde` feature its serde helpers come along, for the times in your own types:
/// `#[serde(with = "acs_identity::time::serde::rfc3339")]` (and `...::rfc3339::option` for an
/// `Option<OffsetDateTime>`), the format `AccessToken` and `CommunicationUserDetails` use.
pub use time;

/// The `reqwest` crate, whose `Client`
/// [`CommunicationIdentityClientOptions::http_client`] takes: build yours with this very version.
pub use reqwest;

/// Re-exports of the credential types the constructors take, so that users need no direct
/// dependency on `acs-auth` or `azure_core` for them.
///
/// A connection string parsed into its endpoint and key, for a client whose key can be rotated
/// later:
///
/// ```
/// use acs_identity::CommunicationIdentityClient;
/// use acs_identity::credentials::{AccessKey, AccessKeyCredential, ConnectionString};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let parsed: ConnectionString =
///     "endpoint=https://contoso.communication.azure.com/;accesskey=c2VjcmV0".parse()?;
/// let credential = AccessKeyCredential::new(parsed.access_key().clone());
/// let client = CommunicationIdentityClient::with_access_key(
///     parsed.endpoint().as_str(),
///     credential.clone(), // keep one to rotate the key
///     None,
/// )?;
/// // Later, after regenerating the key in the portal: the next request signs with the new one.
/// credential.update(AccessKey::from_base64("bmV3c2VjcmV0")?);
/// # let _ = client; Ok(()) }
/// ```
pub mod credentials {
    pub use acs_auth::{
        AccessKey, AccessKeyCredential, AccessKeyError, Clock, ConnectionString,
        ConnectionStringError, FixedClock, SystemClock,
    };
    pub use azure_core::credentials::{Secret, TokenCredential};
}
