//! Communication identifiers: ACS users and the other kinds of raw ids the service hands out.

use std::fmt;

/// An Azure Communication Services user, identified by its raw id (`8:acs:<resource>_<suffix>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommunicationUserIdentifier {
    id: String,
}

impl CommunicationUserIdentifier {
    /// Wraps a raw user id as returned by [`create_user`](crate::CommunicationIdentityClient::create_user).
    ///
    /// No check is made here; an empty id is refused when it is used in a call.
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into() }
    }

    /// The raw id, for example `8:acs:<resource id>_<suffix>`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Consumes the identifier and returns the raw id.
    pub fn into_id(self) -> String {
        self.id
    }
}

impl fmt::Display for CommunicationUserIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl From<String> for CommunicationUserIdentifier {
    fn from(id: String) -> Self {
        Self::new(id)
    }
}

impl From<&str> for CommunicationUserIdentifier {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

/// The national cloud an identifier belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommunicationCloudEnvironment {
    /// The public Azure cloud.
    Public,
    /// US Government (GCC High).
    Gcch,
    /// US Department of Defense.
    Dod,
}

/// A Microsoft Teams user (`8:orgid:`, `8:gcch:`, `8:dod:`, or an anonymous `8:teamsvisitor:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MicrosoftTeamsUserIdentifier {
    /// The Entra ID object id of the user (or the visitor id).
    pub user_id: String,
    /// Whether this is an anonymous Teams visitor.
    pub is_anonymous: bool,
    /// The cloud the user belongs to.
    pub cloud: CommunicationCloudEnvironment,
    /// The full raw id.
    pub raw_id: String,
}

/// A phone number (`4:+<digits>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PhoneNumberIdentifier {
    /// The phone number as written after `4:`, normally in E.164 form (`+14255550123`).
    pub phone_number: String,
    /// The full raw id.
    pub raw_id: String,
}

/// A Microsoft Teams application (bot) (`28:orgid:`, `28:gcch:`, `28:dod:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MicrosoftTeamsAppIdentifier {
    /// The application id.
    pub app_id: String,
    /// The cloud the application belongs to.
    pub cloud: CommunicationCloudEnvironment,
    /// The full raw id.
    pub raw_id: String,
}

/// A Teams Phone extension user: an `8:acs:` id whose suffix is `<resource>_<tenant>_<user>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TeamsExtensionUserIdentifier {
    /// The Entra ID object id of the user.
    pub user_id: String,
    /// The Entra ID tenant id.
    pub tenant_id: String,
    /// The ACS resource id.
    pub resource_id: String,
    /// The cloud of the resource.
    pub cloud: CommunicationCloudEnvironment,
    /// The full raw id.
    pub raw_id: String,
}

/// Any identifier the Communication Services may use, classified from its raw id.
///
/// ```
/// use acs_identity::CommunicationIdentifier;
///
/// let id = CommunicationIdentifier::from_raw_id("4:+14255550123");
/// assert!(matches!(id, CommunicationIdentifier::PhoneNumber(ref p) if p.phone_number == "+14255550123"));
/// assert_eq!(id.raw_id(), "4:+14255550123");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommunicationIdentifier {
    /// An ACS user (`8:acs:`, `8:gcch-acs:`, `8:dod-acs:`, legacy `8:spool:`).
    CommunicationUser(CommunicationUserIdentifier),
    /// A Teams user.
    MicrosoftTeamsUser(MicrosoftTeamsUserIdentifier),
    /// A phone number.
    PhoneNumber(PhoneNumberIdentifier),
    /// A Teams application.
    MicrosoftTeamsApp(MicrosoftTeamsAppIdentifier),
    /// A Teams Phone extension user.
    TeamsExtensionUser(TeamsExtensionUserIdentifier),
    /// A raw id of a kind this version does not know, kept as is.
    Unknown(String),
}

impl CommunicationIdentifier {
    /// Classifies a raw id. Never fails: an id of an unknown shape becomes [`Self::Unknown`].
    pub fn from_raw_id(raw_id: &str) -> Self {
        use CommunicationCloudEnvironment as Cloud;
        let owned = || raw_id.to_owned();
        if let Some(number) = raw_id.strip_prefix("4:") {
            return Self::PhoneNumber(PhoneNumberIdentifier {
                phone_number: number.to_owned(),
                raw_id: owned(),
            });
        }
        let mut parts = raw_id.splitn(3, ':');
        let (Some(kind), Some(space), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            return Self::Unknown(owned());
        };
        if rest.is_empty() {
            return Self::Unknown(owned());
        }
        let teams_user = |cloud, is_anonymous| {
            Self::MicrosoftTeamsUser(MicrosoftTeamsUserIdentifier {
                user_id: rest.to_owned(),
                is_anonymous,
                cloud,
                raw_id: owned(),
            })
        };
        let teams_app = |cloud| {
            Self::MicrosoftTeamsApp(MicrosoftTeamsAppIdentifier {
                app_id: rest.to_owned(),
                cloud,
                raw_id: owned(),
            })
        };
        let acs = |cloud: Option<Cloud>| {
            if let Some(cloud) = cloud {
                let pieces: Vec<&str> = rest.split('_').collect();
                if let [resource, tenant, user] = pieces.as_slice()
                    && !resource.is_empty()
                    && !tenant.is_empty()
                    && !user.is_empty()
                {
                    return Self::TeamsExtensionUser(TeamsExtensionUserIdentifier {
                        user_id: (*user).to_owned(),
                        tenant_id: (*tenant).to_owned(),
                        resource_id: (*resource).to_owned(),
                        cloud,
                        raw_id: owned(),
                    });
                }
            }
            Self::CommunicationUser(CommunicationUserIdentifier::new(owned()))
        };
        match (kind, space) {
            ("8", "acs") => acs(Some(Cloud::Public)),
            ("8", "gcch-acs") => acs(Some(Cloud::Gcch)),
            ("8", "dod-acs") => acs(Some(Cloud::Dod)),
            ("8", "spool") => acs(None),
            ("8", "orgid") => teams_user(Cloud::Public, false),
            ("8", "gcch") => teams_user(Cloud::Gcch, false),
            ("8", "dod") => teams_user(Cloud::Dod, false),
            ("8", "teamsvisitor") => teams_user(Cloud::Public, true),
            ("28", "orgid") => teams_app(Cloud::Public),
            ("28", "gcch") => teams_app(Cloud::Gcch),
            ("28", "dod") => teams_app(Cloud::Dod),
            _ => Self::Unknown(owned()),
        }
    }

    /// The raw id this identifier was made from.
    pub fn raw_id(&self) -> &str {
        match self {
            Self::CommunicationUser(u) => u.id(),
            Self::MicrosoftTeamsUser(u) => &u.raw_id,
            Self::PhoneNumber(p) => &p.raw_id,
            Self::MicrosoftTeamsApp(a) => &a.raw_id,
            Self::TeamsExtensionUser(u) => &u.raw_id,
            Self::Unknown(raw) => raw,
        }
    }
}

impl fmt::Display for CommunicationIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw_id())
    }
}

impl From<CommunicationUserIdentifier> for CommunicationIdentifier {
    fn from(user: CommunicationUserIdentifier) -> Self {
        Self::CommunicationUser(user)
    }
}

#[cfg(test)]
mod tests {
    use super::CommunicationCloudEnvironment as Cloud;
    use super::*;

    #[test]
    fn acs_users_in_every_cloud() {
        for raw in [
            "8:acs:00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444",
            "8:gcch-acs:abc_def",
            "8:dod-acs:abc",
            "8:spool:a_b_c",
        ] {
            match CommunicationIdentifier::from_raw_id(raw) {
                CommunicationIdentifier::CommunicationUser(u) => assert_eq!(u.id(), raw),
                other => panic!("{raw}: {other:?}"),
            }
        }
    }

    #[test]
    fn teams_extension_user_needs_exactly_three_parts() {
        let id = CommunicationIdentifier::from_raw_id("8:gcch-acs:res_ten_usr");
        assert_eq!(
            id,
            CommunicationIdentifier::TeamsExtensionUser(TeamsExtensionUserIdentifier {
                user_id: "usr".into(),
                tenant_id: "ten".into(),
                resource_id: "res".into(),
                cloud: Cloud::Gcch,
                raw_id: "8:gcch-acs:res_ten_usr".into(),
            })
        );
        assert!(matches!(
            CommunicationIdentifier::from_raw_id("8:acs:a_b_c_d"),
            CommunicationIdentifier::CommunicationUser(_)
        ));
        assert!(matches!(
            CommunicationIdentifier::from_raw_id("8:acs:a__c"),
            CommunicationIdentifier::CommunicationUser(_)
        ));
    }

    #[test]
    fn teams_users_apps_and_phones() {
        let t = CommunicationIdentifier::from_raw_id("8:teamsvisitor:visitor");
        assert!(
            matches!(&t, CommunicationIdentifier::MicrosoftTeamsUser(u) if u.is_anonymous && u.user_id == "visitor")
        );
        let t = CommunicationIdentifier::from_raw_id("8:dod:oid");
        assert!(
            matches!(&t, CommunicationIdentifier::MicrosoftTeamsUser(u) if u.cloud == Cloud::Dod && !u.is_anonymous)
        );
        let a = CommunicationIdentifier::from_raw_id("28:orgid:app");
        assert!(
            matches!(&a, CommunicationIdentifier::MicrosoftTeamsApp(x) if x.app_id == "app" && x.cloud == Cloud::Public)
        );
        let p = CommunicationIdentifier::from_raw_id("4:+112345556789");
        assert!(
            matches!(&p, CommunicationIdentifier::PhoneNumber(x) if x.phone_number == "+112345556789")
        );
        assert_eq!(p.to_string(), "4:+112345556789");
    }

    #[test]
    fn unknown_ids_are_kept() {
        for raw in ["", "abc", "8:", "8:acs:", "9:x:y", "28:orgid"] {
            assert_eq!(
                CommunicationIdentifier::from_raw_id(raw),
                CommunicationIdentifier::Unknown(raw.to_owned()),
                "{raw}"
            );
        }
    }
}
