//! Communication identifiers: ACS users and the other kinds of raw ids the Communication Services
//! hand out, classified from and formatted to their raw id.
//!
//! The raw id is what identifies: two identifiers with the same raw id are equal (and hash alike)
//! whatever their other fields say, as in the official SDKs.

use std::fmt;
use std::hash::{Hash, Hasher};

/// The prefix of every phone number raw id.
const PHONE_NUMBER_PREFIX: &str = "4:";
/// The prefix of an anonymous Teams visitor's raw id.
const TEAMS_VISITOR_PREFIX: &str = "8:teamsvisitor:";
/// The prefix of legacy ACS user ids.
const SPOOL_PREFIX: &str = "8:spool:";
/// What a phone number raw id says for a caller who hides their number.
const ANONYMOUS_PHONE_NUMBER: &str = "anonymous";

/// An Azure Communication Services user, identified by its raw id (`8:acs:<resource>_<suffix>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommunicationUserIdentifier {
    id: String,
}

impl CommunicationUserIdentifier {
    /// Wraps a raw user id as returned by the identity service's `create_user`.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CommunicationCloudEnvironment {
    /// The public Azure cloud.
    #[default]
    Public,
    /// US Government (GCC High).
    Gcch,
    /// US Department of Defense.
    Dod,
}

impl CommunicationCloudEnvironment {
    /// Every cloud, for classifying raw ids.
    const ALL: [Self; 3] = [Self::Public, Self::Gcch, Self::Dod];

    /// The raw id prefix of ACS users (and Teams Phone extension users) of this cloud.
    pub const fn acs_user_prefix(self) -> &'static str {
        match self {
            Self::Public => "8:acs:",
            Self::Gcch => "8:gcch-acs:",
            Self::Dod => "8:dod-acs:",
        }
    }

    /// The raw id prefix of (non-anonymous) Microsoft Teams users of this cloud.
    pub const fn teams_user_prefix(self) -> &'static str {
        match self {
            Self::Public => "8:orgid:",
            Self::Gcch => "8:gcch:",
            Self::Dod => "8:dod:",
        }
    }

    /// The raw id prefix of Microsoft Teams applications of this cloud.
    pub const fn teams_app_prefix(self) -> &'static str {
        match self {
            Self::Public => "28:orgid:",
            Self::Gcch => "28:gcch:",
            Self::Dod => "28:dod:",
        }
    }
}

/// A Microsoft Teams user (`8:orgid:`, `8:gcch:`, `8:dod:`, or an anonymous `8:teamsvisitor:`).
#[derive(Debug, Clone)]
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

impl MicrosoftTeamsUserIdentifier {
    /// A Teams user; the raw id is `8:teamsvisitor:<id>` for an anonymous visitor, else the
    /// cloud's Teams user prefix and the id (`8:orgid:<id>` in the public cloud).
    pub fn new(
        user_id: impl Into<String>,
        is_anonymous: bool,
        cloud: CommunicationCloudEnvironment,
    ) -> Self {
        let user_id = user_id.into();
        let prefix = if is_anonymous {
            TEAMS_VISITOR_PREFIX
        } else {
            cloud.teams_user_prefix()
        };
        Self {
            raw_id: format!("{prefix}{user_id}"),
            user_id,
            is_anonymous,
            cloud,
        }
    }

    /// Replaces the raw id (for ids of a legacy or future format); it decides equality.
    pub fn with_raw_id(mut self, raw_id: impl Into<String>) -> Self {
        self.raw_id = raw_id.into();
        self
    }
}

/// A phone number (`4:+<digits>`; also `4:anonymous`, and `4:<number>_<asserted id>`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PhoneNumberIdentifier {
    /// The phone number as written after `4:`, normally in E.164 form (`+14255550123`).
    pub phone_number: String,
    /// Whether the number is hidden (`4:anonymous`).
    pub is_anonymous: bool,
    /// What follows the last `_` of the number, when there is one and it is not empty: the id
    /// that tells apart several participants calling from the same number.
    pub asserted_id: Option<String>,
    /// The full raw id.
    pub raw_id: String,
}

impl PhoneNumberIdentifier {
    /// A phone number; the raw id is `4:` and the number as given (no `+` is added).
    pub fn new(phone_number: impl Into<String>) -> Self {
        let phone_number = phone_number.into();
        let raw_id = format!("{PHONE_NUMBER_PREFIX}{phone_number}");
        Self::from_parts(phone_number, raw_id)
    }

    /// Replaces the raw id (for ids of a legacy or future format); it decides equality.
    pub fn with_raw_id(mut self, raw_id: impl Into<String>) -> Self {
        self.raw_id = raw_id.into();
        self
    }

    fn from_parts(phone_number: String, raw_id: String) -> Self {
        let asserted_id = phone_number
            .rsplit_once('_')
            .map(|(_, asserted)| asserted)
            .filter(|asserted| !asserted.is_empty())
            .map(str::to_owned);
        Self {
            is_anonymous: phone_number == ANONYMOUS_PHONE_NUMBER,
            asserted_id,
            phone_number,
            raw_id,
        }
    }
}

/// A Microsoft Teams application (bot) (`28:orgid:`, `28:gcch:`, `28:dod:`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MicrosoftTeamsAppIdentifier {
    /// The application id.
    pub app_id: String,
    /// The cloud the application belongs to.
    pub cloud: CommunicationCloudEnvironment,
    /// The full raw id.
    pub raw_id: String,
}

impl MicrosoftTeamsAppIdentifier {
    /// A Teams application; the raw id is the cloud's Teams app prefix and the id
    /// (`28:orgid:<id>` in the public cloud).
    pub fn new(app_id: impl Into<String>, cloud: CommunicationCloudEnvironment) -> Self {
        let app_id = app_id.into();
        Self {
            raw_id: format!("{}{app_id}", cloud.teams_app_prefix()),
            app_id,
            cloud,
        }
    }

    /// Replaces the raw id (for ids of a legacy or future format); it decides equality.
    pub fn with_raw_id(mut self, raw_id: impl Into<String>) -> Self {
        self.raw_id = raw_id.into();
        self
    }
}

/// A Teams Phone extension user: an `8:acs:` id whose suffix is `<resource>_<tenant>_<user>`.
#[derive(Debug, Clone)]
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

impl TeamsExtensionUserIdentifier {
    /// A Teams Phone extension user; the raw id is the cloud's ACS prefix and
    /// `<resource>_<tenant>_<user>` (`8:acs:<resource>_<tenant>_<user>` in the public cloud).
    pub fn new(
        user_id: impl Into<String>,
        tenant_id: impl Into<String>,
        resource_id: impl Into<String>,
        cloud: CommunicationCloudEnvironment,
    ) -> Self {
        let (user_id, tenant_id, resource_id) =
            (user_id.into(), tenant_id.into(), resource_id.into());
        Self {
            raw_id: format!(
                "{}{resource_id}_{tenant_id}_{user_id}",
                cloud.acs_user_prefix()
            ),
            user_id,
            tenant_id,
            resource_id,
            cloud,
        }
    }

    /// Replaces the raw id (for ids of a legacy or future format); it decides equality.
    pub fn with_raw_id(mut self, raw_id: impl Into<String>) -> Self {
        self.raw_id = raw_id.into();
        self
    }
}

/// Equality and hashing by raw id, for the identifiers that carry one beside their parts.
macro_rules! identified_by_raw_id {
    ($($kind:ty),+) => {$(
        impl PartialEq for $kind {
            fn eq(&self, other: &Self) -> bool {
                self.raw_id == other.raw_id
            }
        }
        impl Eq for $kind {}
        impl Hash for $kind {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.raw_id.hash(state);
            }
        }
    )+};
}

identified_by_raw_id!(
    MicrosoftTeamsUserIdentifier,
    PhoneNumberIdentifier,
    MicrosoftTeamsAppIdentifier,
    TeamsExtensionUserIdentifier
);

/// Any identifier the Communication Services may use, classified from its raw id.
///
/// ```
/// use acs_common::CommunicationIdentifier;
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
    ///
    /// The rules: `4:` is a phone number; `8:teamsvisitor:` an anonymous Teams user; per cloud,
    /// `8:acs:` (`8:gcch-acs:`, `8:dod-acs:`) an ACS user, or a Teams Phone extension user when
    /// the rest has exactly three non-empty `_`-separated parts, `8:orgid:` (`8:gcch:`,
    /// `8:dod:`) a Teams user and `28:orgid:` (`28:gcch:`, `28:dod:`) a Teams application;
    /// `8:spool:` a legacy ACS user. A known prefix with nothing after it is unknown.
    pub fn from_raw_id(raw_id: &str) -> Self {
        let after = |prefix: &str| raw_id.strip_prefix(prefix).filter(|rest| !rest.is_empty());
        if let Some(number) = raw_id.strip_prefix(PHONE_NUMBER_PREFIX) {
            return Self::PhoneNumber(PhoneNumberIdentifier::from_parts(
                number.to_owned(),
                raw_id.to_owned(),
            ));
        }
        if let Some(visitor) = after(TEAMS_VISITOR_PREFIX) {
            return Self::teams_user(visitor, true, CommunicationCloudEnvironment::Public, raw_id);
        }
        for cloud in CommunicationCloudEnvironment::ALL {
            if let Some(suffix) = after(cloud.acs_user_prefix()) {
                return Self::acs_user(suffix, cloud, raw_id);
            }
            if let Some(user) = after(cloud.teams_user_prefix()) {
                return Self::teams_user(user, false, cloud, raw_id);
            }
            if let Some(app) = after(cloud.teams_app_prefix()) {
                return Self::MicrosoftTeamsApp(MicrosoftTeamsAppIdentifier {
                    app_id: app.to_owned(),
                    cloud,
                    raw_id: raw_id.to_owned(),
                });
            }
        }
        if after(SPOOL_PREFIX).is_some() {
            return Self::CommunicationUser(CommunicationUserIdentifier::new(raw_id));
        }
        Self::Unknown(raw_id.to_owned())
    }

    fn teams_user(
        user_id: &str,
        is_anonymous: bool,
        cloud: CommunicationCloudEnvironment,
        raw_id: &str,
    ) -> Self {
        Self::MicrosoftTeamsUser(MicrosoftTeamsUserIdentifier {
            user_id: user_id.to_owned(),
            is_anonymous,
            cloud,
            raw_id: raw_id.to_owned(),
        })
    }

    /// An `8:acs:`-family id: a Teams Phone extension user when `suffix` is exactly
    /// `<resource>_<tenant>_<user>` with no part empty, else an ACS user.
    fn acs_user(suffix: &str, cloud: CommunicationCloudEnvironment, raw_id: &str) -> Self {
        let mut parts = suffix.split('_');
        if let (Some(resource), Some(tenant), Some(user), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
            && ![resource, tenant, user].contains(&"")
        {
            return Self::TeamsExtensionUser(TeamsExtensionUserIdentifier {
                user_id: user.to_owned(),
                tenant_id: tenant.to_owned(),
                resource_id: resource.to_owned(),
                cloud,
                raw_id: raw_id.to_owned(),
            });
        }
        Self::CommunicationUser(CommunicationUserIdentifier::new(raw_id))
    }

    /// The raw id of this identifier.
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

impl From<MicrosoftTeamsUserIdentifier> for CommunicationIdentifier {
    fn from(user: MicrosoftTeamsUserIdentifier) -> Self {
        Self::MicrosoftTeamsUser(user)
    }
}

impl From<PhoneNumberIdentifier> for CommunicationIdentifier {
    fn from(phone: PhoneNumberIdentifier) -> Self {
        Self::PhoneNumber(phone)
    }
}

impl From<MicrosoftTeamsAppIdentifier> for CommunicationIdentifier {
    fn from(app: MicrosoftTeamsAppIdentifier) -> Self {
        Self::MicrosoftTeamsApp(app)
    }
}

impl From<TeamsExtensionUserIdentifier> for CommunicationIdentifier {
    fn from(user: TeamsExtensionUserIdentifier) -> Self {
        Self::TeamsExtensionUser(user)
    }
}
