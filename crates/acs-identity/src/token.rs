//! The results of the identity operations that return a token.

pub(crate) use acs_common::AccessToken;
use acs_common::CommunicationUserIdentifier;

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
