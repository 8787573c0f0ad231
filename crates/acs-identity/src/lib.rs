#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod call;
mod client;
mod error;
mod identifier;
mod options;
mod pipeline;
mod scope;
mod token;

pub use client::CommunicationIdentityClient;
pub use error::{Error, ErrorKind, Result, ServiceErrorDetail};
pub use identifier::{
    CommunicationCloudEnvironment, CommunicationIdentifier, CommunicationUserIdentifier,
    MicrosoftTeamsAppIdentifier, MicrosoftTeamsUserIdentifier, PhoneNumberIdentifier,
    TeamsExtensionUserIdentifier,
};
pub use options::{
    CallOptions, CommunicationIdentityClientOptions, CreateUserAndTokenOptions, CreateUserOptions,
    DEFAULT_API_VERSION, DeleteUserOptions, GetTokenForTeamsUserOptions, GetTokenOptions,
    RetryOptions, RevokeTokensOptions,
};
pub use pipeline::COMMUNICATION_SCOPE;
pub use scope::TokenScope;
pub use token::{AccessToken, ClaimsError, CommunicationUserIdentifierAndToken, TokenClaims};

/// Re-exports of the credential types the constructors take, so that users need no direct
/// dependency on `acs-auth` or `azure_core` for them.
pub mod credentials {
    pub use acs_auth::{AccessKey, AccessKeyCredential, Clock, FixedClock, SystemClock};
    pub use azure_core::credentials::{Secret, TokenCredential};
}
