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

/// A user as [`get_user`](crate::CommunicationIdentityClient::get_user) reads it and
/// [`create_user_with_custom_id`](crate::CommunicationIdentityClient::create_user_with_custom_id)
/// returns it.
///
/// With the `serde` feature it serializes in the service's shape, `{"id", "customId"?,
/// "lastTokenIssuedAt"?}` (RFC 3339; absent fields left out), and deserializes from it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct CommunicationUserDetails {
    /// The user.
    #[cfg_attr(feature = "serde", serde(rename = "id"))]
    pub user: CommunicationUserIdentifier,
    /// The custom id it was created with, if any.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub custom_id: Option<String>,
    /// When an access token was last issued for it, if ever.
    #[cfg_attr(
        feature = "serde",
        serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "time::serde::rfc3339::option"
        )
    )]
    pub last_token_issued_at: Option<time::OffsetDateTime>,
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn user_details_serialize_in_the_services_shape() {
        let details = CommunicationUserDetails {
            user: CommunicationUserIdentifier::new("8:acs:r_u"),
            custom_id: Some("alice".into()),
            last_token_issued_at: Some(datetime!(2025-04-14 15:32:35 UTC)),
        };
        let json = serde_json::to_string(&details).unwrap();
        assert_eq!(
            json,
            r#"{"id":"8:acs:r_u","customId":"alice","lastTokenIssuedAt":"2025-04-14T15:32:35Z"}"#
        );
        assert_eq!(
            serde_json::from_str::<CommunicationUserDetails>(&json).unwrap(),
            details
        );
        let bare: CommunicationUserDetails = serde_json::from_str(r#"{"id":"8:acs:r_u"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&bare).unwrap(),
            r#"{"id":"8:acs:r_u"}"#
        );
    }

    /// The path the crate docs give for fields of an app's own types.
    #[test]
    fn times_serde_helpers_are_reachable_through_the_reexport() {
        #[derive(serde::Serialize)]
        struct Mine {
            #[serde(with = "crate::time::serde::rfc3339")]
            at: time::OffsetDateTime,
        }
        let mine = Mine {
            at: datetime!(2025-04-14 15:32:35 UTC),
        };
        assert_eq!(
            serde_json::to_string(&mine).unwrap(),
            r#"{"at":"2025-04-14T15:32:35Z"}"#
        );
    }
}
