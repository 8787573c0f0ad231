//! The service operations, as faults and throttling name them.

use std::fmt;
use std::str::FromStr;

/// One operation of the service, as the documented limits count them: creating an identity with
/// a token (`createTokenWithScopes` in the body) is its own operation, as in the service's
/// limits table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `POST /identities` without `createTokenWithScopes`.
    CreateIdentity,
    /// `POST /identities` with `createTokenWithScopes`.
    CreateIdentityAndToken,
    /// `DELETE /identities/{id}`.
    DeleteIdentity,
    /// `POST /identities/{id}/:issueAccessToken`.
    IssueToken,
    /// `POST /identities/{id}/:revokeAccessTokens`.
    RevokeTokens,
    /// `POST /teamsUser/:exchangeAccessToken`.
    ExchangeTeamsToken,
}

impl Operation {
    /// Every operation, in the order of the service's limits table.
    pub const ALL: [Operation; 6] = [
        Operation::CreateIdentity,
        Operation::DeleteIdentity,
        Operation::IssueToken,
        Operation::RevokeTokens,
        Operation::CreateIdentityAndToken,
        Operation::ExchangeTeamsToken,
    ];

    /// The name used in fault rules, flags and error messages (`createIdentity`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateIdentity => "createIdentity",
            Operation::CreateIdentityAndToken => "createIdentityAndToken",
            Operation::DeleteIdentity => "deleteIdentity",
            Operation::IssueToken => "issueToken",
            Operation::RevokeTokens => "revokeTokens",
            Operation::ExchangeTeamsToken => "exchangeTeamsToken",
        }
    }

    /// The service's documented limit: requests per resource per 30 seconds.
    pub fn service_limit(self) -> u32 {
        match self {
            Operation::CreateIdentity
            | Operation::CreateIdentityAndToken
            | Operation::IssueToken => 1000,
            Operation::DeleteIdentity | Operation::RevokeTokens | Operation::ExchangeTeamsToken => {
                500
            }
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An operation name that is not one of [`Operation::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown operation `{0}`; known: createIdentity, createIdentityAndToken, deleteIdentity, issueToken, revokeTokens, exchangeTeamsToken"
)]
pub struct UnknownOperation(pub String);

impl FromStr for Operation {
    type Err = UnknownOperation;

    /// Parses a name of [`Operation::name`] (case-insensitively).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        Operation::ALL
            .into_iter()
            .find(|op| op.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| UnknownOperation(text.chars().take(64).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_limits_are_the_documented_ones() {
        for op in Operation::ALL {
            assert_eq!(op.name().parse::<Operation>(), Ok(op));
            assert_eq!(op.name().to_uppercase().parse::<Operation>(), Ok(op));
        }
        let limits: Vec<u32> = Operation::ALL.iter().map(|o| o.service_limit()).collect();
        assert_eq!(limits, [1000, 500, 1000, 500, 1000, 500]);
        assert!("listIdentities".parse::<Operation>().is_err());
    }
}
