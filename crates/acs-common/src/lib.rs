#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod credential;
mod identifier;
#[cfg(feature = "serde")]
mod serde_impls;
mod token;

pub use clock::{ShiftedClock, TokioClock};
pub use credential::{
    CommunicationTokenCredential, CommunicationTokenRefreshOptions, CredentialError,
    MIN_REFRESH_DELAY, ON_DEMAND_REFRESH_WINDOW, PROACTIVE_REFRESH_WINDOW, RefreshError,
    TokenRefresher,
};
pub use identifier::{
    CommunicationCloudEnvironment, CommunicationIdentifier, CommunicationUserIdentifier,
    MicrosoftTeamsAppIdentifier, MicrosoftTeamsUserIdentifier, PhoneNumberIdentifier,
    TeamsExtensionUserIdentifier,
};
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub use serde_impls::RevealedAccessToken;
pub use token::{AccessToken, ClaimsError, TokenClaims};

/// Re-exports of the types the credential's API takes, so that users need no direct dependency
/// on `acs-auth` or `azure_core` for them.
pub mod credentials {
    pub use acs_auth::{Clock, FixedClock, SystemClock};
    pub use azure_core::credentials::{Secret, TokenCredential};
}
