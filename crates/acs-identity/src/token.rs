//! The results of the identity operations that return a token.

pub(crate) use acs_common::AccessToken;
use acs_common::{CommunicationIdentifier, CommunicationUserIdentifier};

/// A user and an access token for it, as returned by
/// [`create_user_and_token`](crate::CommunicationIdentityClient::create_user_and_token).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CommunicationUserIdentifierAndToken {
    /// The new user.
    pub user: CommunicationUserIdentifier,
    /// The access token of the new user.
    pub access_token: AccessToken,
}

/// An identity and an access token for it, as returned by
/// [`get_token_for_teams_extension_user`](crate::CommunicationIdentityClient::get_token_for_teams_extension_user)
/// (the identity is then a [`CommunicationIdentifier::TeamsExtensionUser`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CommunicationIdentifierAndToken {
    /// The identity the token is for.
    pub identifier: CommunicationIdentifier,
    /// Its access token.
    pub access_token: AccessToken,
}

/// A user as [`get_user`](crate::CommunicationIdentityClient::get_user) reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommunicationUserDetails {
    /// The user.
    pub user: CommunicationUserIdentifier,
    /// The custom id it was created with, if any.
    pub custom_id: Option<String>,
    /// When an access token was last issued for it, if ever.
    pub last_token_issued_at: Option<time::OffsetDateTime>,
}
