#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod call;
mod client;
mod error;
mod options;
mod pipeline;
mod scope;
mod token;

pub use call::MAX_RESPONSE_BODY;
pub use client::CommunicationIdentityClient;
pub use error::{Error, ErrorKind, Result, ServiceErrorDetail};
// The identifiers and access tokens live in `acs-common`; every `acs_identity::...` path stays.
pub use acs_common::{
    AccessToken, ClaimsError, CommunicationCloudEnvironment, CommunicationIdentifier,
    CommunicationUserIdentifier, MicrosoftTeamsAppIdentifier, MicrosoftTeamsUserIdentifier,
    PhoneNumberIdentifier, TeamsExtensionUserIdentifier, TokenClaims,
};
pub use options::{
    CallOptions, CommunicationIdentityClientOptions, CreateUserAndTokenOptions, CreateUserOptions,
    DEFAULT_API_VERSION, DeleteUserOptions, GetTokenForTeamsUserOptions, GetTokenOptions,
    RetryOptions, RevokeTokensOptions,
};
pub use pipeline::COMMUNICATION_SCOPE;
pub use scope::TokenScope;
pub use token::CommunicationUserIdentifierAndToken;

/// The `time` crate, whose `OffsetDateTime` is [`AccessToken::expires_on`]: no direct dependency
/// (or version match) needed to work with it.
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
