//! The service operations, as faults and throttling name them.

use std::fmt;
use std::str::FromStr;

/// One operation of the service, as the documented limits count them: creating an identity with
/// a token (`createTokenWithScopes` in the body) is its own operation, as in the service's
/// limits table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
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
    /// `GET /identities/{id}` (2025-03-02-preview).
    GetIdentity,
    /// `GET /access/teamsExtension/tenants/{tenantId}/assignments/{objectId}`.
    GetTeamsExtensionAssignment,
    /// `PUT /access/teamsExtension/tenants/{tenantId}/assignments/{objectId}`.
    UpsertTeamsExtensionAssignment,
    /// `DELETE /access/teamsExtension/tenants/{tenantId}/assignments/{objectId}`.
    DeleteTeamsExtensionAssignment,
    /// `POST /access/teamsExtension/:exchangeAccessToken`.
    ExchangeTeamsExtensionToken,
    /// `GET /access/entra/assignments/{objectId}` (2025-03-02-preview).
    GetEntraAssignment,
    /// `PUT /access/entra/assignments/{objectId}` (2025-03-02-preview).
    UpsertEntraAssignment,
    /// `DELETE /access/entra/assignments/{objectId}` (2025-03-02-preview).
    DeleteEntraAssignment,
    /// `GET /access/entra/assignments` (2025-03-02-preview).
    ListEntraAssignments,
    /// `PATCH /access/entra/assignments` (2025-03-02-preview).
    UpdateEntraAssignments,
    /// `POST /access/entra/:exchangeAccessToken` (2025-03-02-preview).
    ExchangeEntraToken,
}

impl Operation {
    /// Every operation: those of the service's limits table in its order, then the later ones.
    pub const ALL: [Operation; 17] = [
        Operation::CreateIdentity,
        Operation::DeleteIdentity,
        Operation::IssueToken,
        Operation::RevokeTokens,
        Operation::CreateIdentityAndToken,
        Operation::ExchangeTeamsToken,
        Operation::GetIdentity,
        Operation::GetTeamsExtensionAssignment,
        Operation::UpsertTeamsExtensionAssignment,
        Operation::DeleteTeamsExtensionAssignment,
        Operation::ExchangeTeamsExtensionToken,
        Operation::GetEntraAssignment,
        Operation::UpsertEntraAssignment,
        Operation::DeleteEntraAssignment,
        Operation::ListEntraAssignments,
        Operation::UpdateEntraAssignments,
        Operation::ExchangeEntraToken,
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
            Operation::GetIdentity => "getIdentity",
            Operation::GetTeamsExtensionAssignment => "getTeamsExtensionAssignment",
            Operation::UpsertTeamsExtensionAssignment => "upsertTeamsExtensionAssignment",
            Operation::DeleteTeamsExtensionAssignment => "deleteTeamsExtensionAssignment",
            Operation::ExchangeTeamsExtensionToken => "exchangeTeamsExtensionToken",
            Operation::GetEntraAssignment => "getEntraAssignment",
            Operation::UpsertEntraAssignment => "upsertEntraAssignment",
            Operation::DeleteEntraAssignment => "deleteEntraAssignment",
            Operation::ListEntraAssignments => "listEntraAssignments",
            Operation::UpdateEntraAssignments => "updateEntraAssignments",
            Operation::ExchangeEntraToken => "exchangeEntraToken",
        }
    }

    /// Requests per resource per 30 seconds: the service's documented limit (exchanges: 500,
    /// the "exchange tokens" row); for operations the table does not name, the emulator's
    /// choice: reading an identity 1000 (as issuing a token), every assignment operation 500
    /// (as the other management writes, delete and revoke).
    pub fn service_limit(self) -> u32 {
        match self {
            Operation::CreateIdentity
            | Operation::CreateIdentityAndToken
            | Operation::IssueToken
            | Operation::GetIdentity => 1000,
            _ => 500,
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
#[error("unknown operation `{0}`; known: {known}", known = Operation::ALL.map(Operation::name).join(", "))]
pub struct UnknownOperation(pub String);

impl TryFrom<String> for Operation {
    type Error = UnknownOperation;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Operation> for &'static str {
    fn from(operation: Operation) -> Self {
        operation.name()
    }
}

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
        assert_eq!(
            limits,
            [
                1000, 500, 1000, 500, 1000, 500, 1000, 500, 500, 500, 500, 500, 500, 500, 500, 500,
                500
            ]
        );
        let unknown = "listIdentities"
            .parse::<Operation>()
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("exchangeTeamsExtensionToken, getEntraAssignment"),
            "{unknown}"
        );
    }
}
