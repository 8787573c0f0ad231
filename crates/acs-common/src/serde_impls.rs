//! `serde` support (the `serde` feature): every identifier is its raw id, a JSON string, as the
//! raw id is what identifies; an [`AccessToken`] is `{"expiresOn": <RFC 3339>}` without its
//! token unless [`AccessToken::revealed`] asks for it.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeStruct as _, Serializer};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::identifier::{
    CommunicationIdentifier, CommunicationUserIdentifier, MicrosoftTeamsAppIdentifier,
    MicrosoftTeamsUserIdentifier, PhoneNumberIdentifier, TeamsExtensionUserIdentifier,
};
use crate::token::AccessToken;

#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for CommunicationUserIdentifier {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> Deserialize<'de> for CommunicationUserIdentifier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for CommunicationIdentifier {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.raw_id())
    }
}

/// Classified with [`CommunicationIdentifier::from_raw_id`]: never fails for a string.
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> Deserialize<'de> for CommunicationIdentifier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Ok(Self::from_raw_id(&raw))
    }
}

/// The identifier kinds other than the ACS user: serialized as their raw id, deserialized from a
/// raw id of that kind (another kind is an error naming the kind expected).
macro_rules! raw_id_serde {
    ($($kind:ident => $variant:ident, $what:literal;)+) => {$(
        #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
        impl Serialize for $kind {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.raw_id)
            }
        }

        #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
        impl<'de> Deserialize<'de> for $kind {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                match CommunicationIdentifier::from_raw_id(&raw) {
                    CommunicationIdentifier::$variant(id) => Ok(id),
                    _ => Err(de::Error::custom(format_args!(
                        "`{raw}` is not the raw id of {}", $what
                    ))),
                }
            }
        }
    )+};
}

raw_id_serde! {
    MicrosoftTeamsUserIdentifier => MicrosoftTeamsUser, "a Teams user";
    PhoneNumberIdentifier => PhoneNumber, "a phone number (`4:...`)";
    MicrosoftTeamsAppIdentifier => MicrosoftTeamsApp, "a Teams application";
    TeamsExtensionUserIdentifier => TeamsExtensionUser, "a Teams Phone extension user";
}

fn rfc3339<E: serde::ser::Error>(at: OffsetDateTime) -> Result<String, E> {
    at.format(&Rfc3339).map_err(E::custom)
}

/// `{"expiresOn": "<RFC 3339>"}`: the token itself is left out, so that a token serialized by
/// accident (into a log, a debug dump) is not disclosed. Serialize
/// [`AccessToken::revealed`] to include it.
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for AccessToken {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("AccessToken", 1)?;
        s.serialize_field("expiresOn", &rfc3339::<S::Error>(self.expires_on)?)?;
        s.end()
    }
}

/// An [`AccessToken`] that serializes with its token in clear: `{"token": "<JWT>", "expiresOn":
/// "<RFC 3339>"}`, the service's own shape. Made by [`AccessToken::revealed`].
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
#[derive(Clone, Copy)]
pub struct RevealedAccessToken<'a>(&'a AccessToken);

impl fmt::Debug for RevealedAccessToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RevealedAccessToken").field(self.0).finish()
    }
}

impl AccessToken {
    /// This token, to serialize **with the token in clear** (`{"token", "expiresOn"}`): for
    /// handing a token to its user, e.g. in the JSON body of an app's token endpoint. A plain
    /// `AccessToken` serializes without its token. `Debug` still hides it.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    pub fn revealed(&self) -> RevealedAccessToken<'_> {
        RevealedAccessToken(self)
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for RevealedAccessToken<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("AccessToken", 2)?;
        s.serialize_field("token", self.0.token.secret())?;
        s.serialize_field("expiresOn", &rfc3339::<S::Error>(self.0.expires_on)?)?;
        s.end()
    }
}

/// From `{"token": "<JWT>", "expiresOn": "<RFC 3339>"}` (what [`AccessToken::revealed`] writes and
/// the service sends); both fields are required.
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> Deserialize<'de> for AccessToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TokenVisitor;

        impl<'de> Visitor<'de> for TokenVisitor {
            type Value = AccessToken;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"an access token {"token": "...", "expiresOn": "<RFC 3339>"}"#)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AccessToken, A::Error> {
                let mut token: Option<String> = None;
                let mut expires_on: Option<OffsetDateTime> = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "token" => token = Some(map.next_value()?),
                        "expiresOn" => {
                            let text: String = map.next_value()?;
                            let at = OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| {
                                de::Error::custom(format_args!(
                                    "expiresOn `{text}` is not an RFC 3339 date-time"
                                ))
                            })?;
                            expires_on = Some(at);
                        }
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                let token = token.ok_or_else(|| {
                    de::Error::custom(
                        "missing field `token` (a serialized AccessToken leaves its token out; \
                         serialize AccessToken::revealed to keep it)",
                    )
                })?;
                let expires_on = expires_on.ok_or_else(|| de::Error::missing_field("expiresOn"))?;
                Ok(AccessToken::new(token, expires_on))
            }
        }

        deserializer.deserialize_struct("AccessToken", &["token", "expiresOn"], TokenVisitor)
    }
}
