//! Teams Phone extension (TPE): the assignments that let a Teams user's Entra token be exchanged
//! for an ACS token, and that exchange. The operations exist since api-version 2025-06-30; a
//! client on an older version sends them with 2025-06-30 (see `api_version.rs`).

use std::fmt;

use acs_common::CommunicationIdentifier;
use acs_identity_rest::types;
use reqwest::StatusCode;

use crate::api_version;
use crate::call::Method;
use crate::client::{CommunicationIdentityClient, access_token};
use crate::error::{Error, Result};
use crate::options::{
    CreateOrReplaceTeamsExtensionAssignmentOptions, DeleteTeamsExtensionAssignmentOptions,
    GetTeamsExtensionAssignmentOptions, GetTokenForTeamsExtensionUserOptions,
};
use crate::token::CommunicationIdentifierAndToken;

/// The kind of principal a Teams Phone extension assignment is for. The set is open: a kind this
/// version does not know is kept in [`TeamsExtensionPrincipalType::UnknownValue`] and sent as
/// written.
///
/// ```
/// use acs_identity::TeamsExtensionPrincipalType;
///
/// assert_eq!(TeamsExtensionPrincipalType::from_wire("user"), TeamsExtensionPrincipalType::User);
/// assert_eq!(TeamsExtensionPrincipalType::ResourceAccount.as_str(), "resourceAccount");
/// assert_eq!(TeamsExtensionPrincipalType::from_wire("bot").as_str(), "bot");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TeamsExtensionPrincipalType {
    /// `user`: a Teams user.
    User,
    /// `resourceAccount`: a Teams resource account (an auto attendant or call queue).
    ResourceAccount,
    /// `teamsResourceAccount`: the spelling of a resource account that Microsoft's walkthroughs
    /// send; the service accepts it.
    TeamsResourceAccount,
    /// A kind this version does not know, sent as written.
    UnknownValue(String),
}

impl TeamsExtensionPrincipalType {
    /// The wire form (`user`, `resourceAccount`, `teamsResourceAccount`, or the unknown value).
    pub fn as_str(&self) -> &str {
        match self {
            TeamsExtensionPrincipalType::User => "user",
            TeamsExtensionPrincipalType::ResourceAccount => "resourceAccount",
            TeamsExtensionPrincipalType::TeamsResourceAccount => "teamsResourceAccount",
            TeamsExtensionPrincipalType::UnknownValue(text) => text,
        }
    }

    /// Maps a wire string to a principal type; never fails.
    pub fn from_wire(text: &str) -> Self {
        match text {
            "user" => TeamsExtensionPrincipalType::User,
            "resourceAccount" => TeamsExtensionPrincipalType::ResourceAccount,
            "teamsResourceAccount" => TeamsExtensionPrincipalType::TeamsResourceAccount,
            other => TeamsExtensionPrincipalType::UnknownValue(other.to_owned()),
        }
    }
}

impl fmt::Display for TeamsExtensionPrincipalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Teams Phone extension assignment: which Teams user (or resource account) of which tenant may
/// exchange its Entra token for an ACS token, and through which applications.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TeamsExtensionAssignment {
    /// The Entra ID tenant.
    pub tenant_id: String,
    /// The Entra ID object id of the user or resource account.
    pub object_id: String,
    /// What the principal is.
    pub principal_type: TeamsExtensionPrincipalType,
    /// Client ids of the Entra applications whose tokens may be exchanged; empty: any.
    pub client_ids: Vec<String>,
}

/// What a create-or-replace did: created a new resource (the service answered 201) or replaced
/// the one there was (200). Either way it holds the resource as the service returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upserted<T> {
    /// There was none; it was created.
    Created(T),
    /// There was one; it was replaced.
    Replaced(T),
}

impl<T> Upserted<T> {
    /// Whether the resource was created (not replaced).
    pub fn is_created(&self) -> bool {
        matches!(self, Upserted::Created(_))
    }

    /// The resource, created or replaced.
    pub fn into_inner(self) -> T {
        match self {
            Upserted::Created(value) | Upserted::Replaced(value) => value,
        }
    }
}

fn check_id(argument: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid_argument(
            argument,
            format!("the {argument} is empty; pass the Entra ID object or tenant id (a GUID)"),
        ));
    }
    Ok(())
}

fn assignment(response: types::TeamsExtensionAssignmentResponse) -> TeamsExtensionAssignment {
    TeamsExtensionAssignment {
        tenant_id: response.tenant_id,
        object_id: response.object_id,
        principal_type: TeamsExtensionPrincipalType::from_wire(&response.principal_type.0),
        client_ids: response.client_ids,
    }
}

impl CommunicationIdentityClient {
    /// Creates the Teams Phone extension assignment of the user `object_id` of tenant
    /// `tenant_id`, or replaces the one there is; says which it did.
    ///
    /// Sent with the client's api-version when that has the Teams Phone extension operations
    /// (2025-06-30 and later), otherwise with [`TEAMS_EXTENSION_API_VERSION`](crate::TEAMS_EXTENSION_API_VERSION).
    pub async fn create_or_replace_teams_extension_assignment(
        &self,
        tenant_id: &str,
        object_id: &str,
        principal_type: TeamsExtensionPrincipalType,
        options: Option<CreateOrReplaceTeamsExtensionAssignmentOptions>,
    ) -> Result<Upserted<TeamsExtensionAssignment>> {
        let options = options.unwrap_or_default();
        check_id("tenant_id", tenant_id)?;
        check_id("object_id", object_id)?;
        let principal_type = types::TeamsExtensionPrincipalType(principal_type.as_str().to_owned());
        let api_version = api_version::for_teams_extension(self.api_version());
        let call = self
            .start_with_version(
                Method::CreateOrReplaceTeamsExtensionAssignment,
                api_version,
                options.call,
            )
            .await?;
        let operation = call
            .rest()
            .teams_extension_create_or_replace_assignment()
            .tenant_id(tenant_id)
            .object_id(object_id)
            .api_version(api_version)
            .body_map(|body| {
                body.principal_type(principal_type)
                    .client_ids(options.client_ids)
            });
        let answer = call.answer(|| operation.clone().send()).await?;
        let assignment = assignment(answer.value);
        Ok(if answer.status == StatusCode::CREATED {
            Upserted::Created(assignment)
        } else {
            Upserted::Replaced(assignment)
        })
    }

    /// Reads the Teams Phone extension assignment of the user `object_id` of tenant `tenant_id`.
    /// When there is none, the error's status is 404.
    pub async fn get_teams_extension_assignment(
        &self,
        tenant_id: &str,
        object_id: &str,
        options: Option<GetTeamsExtensionAssignmentOptions>,
    ) -> Result<TeamsExtensionAssignment> {
        let options = options.unwrap_or_default();
        check_id("tenant_id", tenant_id)?;
        check_id("object_id", object_id)?;
        let api_version = api_version::for_teams_extension(self.api_version());
        let call = self
            .start_with_version(
                Method::GetTeamsExtensionAssignment,
                api_version,
                options.call,
            )
            .await?;
        let operation = call
            .rest()
            .teams_extension_get_assignment()
            .tenant_id(tenant_id)
            .object_id(object_id)
            .api_version(api_version);
        Ok(assignment(call.value(|| operation.clone().send()).await?))
    }

    /// Deletes the Teams Phone extension assignment of the user `object_id` of tenant
    /// `tenant_id`; the service revokes that user's ACS tokens.
    pub async fn delete_teams_extension_assignment(
        &self,
        tenant_id: &str,
        object_id: &str,
        options: Option<DeleteTeamsExtensionAssignmentOptions>,
    ) -> Result<()> {
        let options = options.unwrap_or_default();
        check_id("tenant_id", tenant_id)?;
        check_id("object_id", object_id)?;
        let api_version = api_version::for_teams_extension(self.api_version());
        let call = self
            .start_with_version(
                Method::DeleteTeamsExtensionAssignment,
                api_version,
                options.call,
            )
            .await?;
        let operation = call
            .rest()
            .teams_extension_delete_assignment()
            .tenant_id(tenant_id)
            .object_id(object_id)
            .api_version(api_version);
        call.unit(|| operation.clone().send()).await
    }

    /// Exchanges the Entra ID access token of a Teams Phone extension user (for the scope
    /// `https://auth.msft.communication.azure.com/TeamsExtension.ManageCalls`) for an ACS access
    /// token of that user's identity (`8:acs:<resource id>_<tenant id>_<object id>`, a
    /// [`CommunicationIdentifier::TeamsExtensionUser`]).
    ///
    /// The request is authorized by `entra_token` alone (as a bearer token), not by the client's
    /// credential; the service checks that an assignment exists for the token's user. Over plain
    /// http the token is sent only to a loopback host (a local emulator).
    pub async fn get_token_for_teams_extension_user(
        &self,
        entra_token: &str,
        options: Option<GetTokenForTeamsExtensionUserOptions>,
    ) -> Result<CommunicationIdentifierAndToken> {
        let options = options.unwrap_or_default();
        let authorization = crate::entra_exchange::bearer(self, entra_token)?;
        let api_version = api_version::for_teams_extension(self.api_version());
        let call = self.start_as(
            Method::GetTokenForTeamsExtensionUser,
            api_version,
            options.call,
            authorization,
        );
        let operation = call
            .rest()
            .teams_extension_exchange_access_token()
            .api_version(api_version)
            .body(types::TeamsExtensionExchangeTokenRequest(Default::default()));
        let exchanged = call.answer(|| operation.clone().send()).await?;
        let Some(token) = exchanged.value.access_token else {
            return Err(
                exchanged.missing("the service exchanged the token but returned no accessToken")
            );
        };
        Ok(CommunicationIdentifierAndToken {
            identifier: CommunicationIdentifier::from_raw_id(&exchanged.value.identity.id),
            access_token: access_token(token),
        })
    }
}
