//! Token scopes.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// What an access token lets its holder do. The set is open: a scope this version does not know is
/// kept in [`TokenScope::UnknownValue`] and sent as written.
///
/// ```
/// use acs_identity::TokenScope;
///
/// let scope: TokenScope = "chat.join".parse().unwrap();
/// assert_eq!(scope, TokenScope::ChatJoin);
/// assert_eq!(scope.as_str(), "chat.join");
/// assert_eq!("future.scope".parse::<TokenScope>().unwrap().as_str(), "future.scope");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TokenScope {
    /// `chat`: full chat access.
    Chat,
    /// `voip`: full VoIP (calling) access.
    Voip,
    /// `chat.join`: join existing chats only.
    ChatJoin,
    /// `chat.join.limited`: join existing chats, without adding or removing participants.
    ChatJoinLimited,
    /// `voip.join`: join existing calls only.
    VoipJoin,
    /// A scope this version does not know, sent as written.
    UnknownValue(String),
}

impl TokenScope {
    /// The five scopes known to this version.
    pub const KNOWN: [TokenScope; 5] = [
        TokenScope::Chat,
        TokenScope::Voip,
        TokenScope::ChatJoin,
        TokenScope::ChatJoinLimited,
        TokenScope::VoipJoin,
    ];

    /// The wire form of the scope (`chat`, `voip`, `chat.join`, `chat.join.limited`, `voip.join`).
    pub fn as_str(&self) -> &str {
        match self {
            TokenScope::Chat => "chat",
            TokenScope::Voip => "voip",
            TokenScope::ChatJoin => "chat.join",
            TokenScope::ChatJoinLimited => "chat.join.limited",
            TokenScope::VoipJoin => "voip.join",
            TokenScope::UnknownValue(s) => s,
        }
    }

    /// Maps a wire string to a scope; never fails.
    pub fn from_wire(text: &str) -> Self {
        match text {
            "chat" => TokenScope::Chat,
            "voip" => TokenScope::Voip,
            "chat.join" => TokenScope::ChatJoin,
            "chat.join.limited" => TokenScope::ChatJoinLimited,
            "voip.join" => TokenScope::VoipJoin,
            other => TokenScope::UnknownValue(other.to_owned()),
        }
    }
}

impl FromStr for TokenScope {
    type Err = Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::from_wire(s))
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for TokenScope {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl serde::Serialize for TokenScope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// From the wire string, as [`TokenScope::from_wire`]: any string is a scope.
impl<'de> serde::Deserialize<'de> for TokenScope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::from_wire(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_known_scope() {
        let wire = [
            "chat",
            "voip",
            "chat.join",
            "chat.join.limited",
            "voip.join",
        ];
        for (scope, text) in TokenScope::KNOWN.iter().zip(wire) {
            assert_eq!(scope.as_str(), text);
            assert_eq!(&text.parse::<TokenScope>().unwrap(), scope);
            assert_eq!(scope.to_string(), text);
        }
    }

    #[test]
    fn unknown_is_kept_verbatim_and_case_sensitive() {
        assert_eq!(
            "Chat".parse::<TokenScope>().unwrap(),
            TokenScope::UnknownValue("Chat".into())
        );
        assert_eq!(
            serde_json::to_string(&[TokenScope::Chat, TokenScope::UnknownValue("x.y".into())])
                .unwrap(),
            r#"["chat","x.y"]"#
        );
        let back: Vec<TokenScope> = serde_json::from_str(r#"["chat.join","x.y"]"#).unwrap();
        assert_eq!(
            back,
            [TokenScope::ChatJoin, TokenScope::UnknownValue("x.y".into())]
        );
    }
}
