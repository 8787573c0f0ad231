//! The project's own descriptions for the items of the OpenAPI document.
//!
//! `import-spec` never copies prose from the published document: every `summary` and `description`
//! it writes comes from this table, looked up by a key that names the item:
//!
//! | item | key |
//! |---|---|
//! | the API (`info.description`) | `info` |
//! | the `{endpoint}` server variable | `server endpoint` |
//! | an operation's summary | `operation <method> <path>` |
//! | a parameter | `parameter <in> <name>` |
//! | a request body | `body <method> <path>` |
//! | a response | `response <status>` (after `default` became `4XX`/`5XX`) |
//! | a schema | `schema <name>` |
//! | a schema's property | `property <schema>.<property>` |
//!
//! An item without an entry gets a placeholder naming its key, and `import-spec` lists the missing
//! keys so that a maintainer adds them here before committing a new api-version.

/// The title of the document (progenitor puts it in the `Client` docs).
pub(crate) const TITLE: &str = "Azure Communication Services Identity";

const TABLE: &[(&str, &str)] = &[
    (
        "info",
        "Manages the identities of an Azure Communication Services resource and the access tokens \
         that let those identities use chat and calling.",
    ),
    (
        "server endpoint",
        "Base URL of the Communication Services resource (scheme and host, no trailing slash).",
    ),
    // Operations of 2023-10-01 (and later versions).
    (
        "operation post /identities",
        "Creates an identity; when the body asks for scopes, also issues a first access token for it.",
    ),
    (
        "operation delete /identities/{id}",
        "Deletes an identity with its data; all its access tokens stop working.",
    ),
    (
        "operation post /identities/{id}/:revokeAccessTokens",
        "Invalidates every access token issued to an identity so far.",
    ),
    (
        "operation post /identities/{id}/:issueAccessToken",
        "Issues a new access token with the given scopes to an existing identity.",
    ),
    (
        "operation post /teamsUser/:exchangeAccessToken",
        "Trades a Teams user's Entra ID access token for a Communication Services access token that \
         expires at the same time.",
    ),
    // Operations added by 2025-06-30 / 2026-09-23.
    (
        "operation post /access/teamsExtension/:exchangeAccessToken",
        "Trades a token of a Teams Phone extension user for a Communication Services access token.",
    ),
    (
        "operation get /access/teamsExtension/tenants/{tenantId}/assignments/{objectId}",
        "Reads the Teams Phone extension assignment of a principal in a tenant.",
    ),
    (
        "operation put /access/teamsExtension/tenants/{tenantId}/assignments/{objectId}",
        "Creates the Teams Phone extension assignment of a principal in a tenant, or replaces it.",
    ),
    (
        "operation delete /access/teamsExtension/tenants/{tenantId}/assignments/{objectId}",
        "Removes the Teams Phone extension assignment of a principal in a tenant.",
    ),
    // Parameters.
    (
        "parameter query api-version",
        "Version of the REST API the request is written against, for example `2023-10-01`.",
    ),
    (
        "parameter path id",
        "Raw identifier of the identity, for example `8:acs:<resource id>_<suffix>`.",
    ),
    (
        "parameter path tenantId",
        "Entra ID tenant the assignment belongs to.",
    ),
    (
        "parameter path objectId",
        "Entra ID object id of the principal the assignment is for.",
    ),
    // Request bodies.
    (
        "body post /identities",
        "Optional: the scopes and lifetime of an access token to issue with the new identity.",
    ),
    (
        "body post /identities/{id}/:issueAccessToken",
        "Scopes and lifetime of the access token to issue.",
    ),
    (
        "body post /teamsUser/:exchangeAccessToken",
        "The Teams user's Entra ID token and the ids it is checked against.",
    ),
    (
        "body post /access/teamsExtension/:exchangeAccessToken",
        "The token to exchange.",
    ),
    (
        "body put /access/teamsExtension/tenants/{tenantId}/assignments/{objectId}",
        "The assignment to store.",
    ),
    // Responses.
    ("response 200", "Success; the body holds the result."),
    (
        "response 201",
        "Created; the body describes what was created.",
    ),
    ("response 204", "Success; the response has no body."),
    (
        "response 4XX",
        "The request was refused; the body carries an error code and message.",
    ),
    (
        "response 5XX",
        "The service failed to handle the request; the body carries an error code and message.",
    ),
    // Schemas of 2023-10-01.
    (
        "schema CommunicationIdentity",
        "An identity of the resource.",
    ),
    (
        "property CommunicationIdentity.id",
        "Raw identifier of the identity (`8:acs:...`).",
    ),
    (
        "schema CommunicationIdentityAccessToken",
        "An access token and the instant it stops being valid.",
    ),
    (
        "property CommunicationIdentityAccessToken.token",
        "The access token (a JWT). It is a secret: do not log it.",
    ),
    (
        "property CommunicationIdentityAccessToken.expiresOn",
        "Instant the token expires, as an RFC 3339 date-time with offset (the service sends up \
         to seven fractional digits).",
    ),
    (
        "schema CommunicationIdentityAccessTokenRequest",
        "What to put in a new access token.",
    ),
    (
        "property CommunicationIdentityAccessTokenRequest.scopes",
        "Scopes the token grants; the service wants at least one.",
    ),
    (
        "property CommunicationIdentityAccessTokenRequest.expiresInMinutes",
        "Lifetime of the token in whole minutes, 60 to 1440; the service applies 1440 (one day) \
         when it is absent.",
    ),
    (
        "schema CommunicationIdentityAccessTokenResult",
        "A new identity, with its first access token when one was asked for.",
    ),
    (
        "property CommunicationIdentityAccessTokenResult.identity",
        "The new identity.",
    ),
    (
        "property CommunicationIdentityAccessTokenResult.accessToken",
        "The first access token; absent when no scopes were asked for.",
    ),
    (
        "schema CommunicationIdentityCreateRequest",
        "Options for creating an identity.",
    ),
    (
        "property CommunicationIdentityCreateRequest.createTokenWithScopes",
        "When present, scopes of an access token to issue together with the identity.",
    ),
    (
        "property CommunicationIdentityCreateRequest.expiresInMinutes",
        "Lifetime of that token in whole minutes, 60 to 1440; the service applies 1440 (one day) \
         when it is absent.",
    ),
    (
        "schema CommunicationIdentityTokenScope",
        "A permission carried by an access token.",
    ),
    (
        "schema TeamsUserExchangeTokenRequest",
        "A Teams user's Entra ID token, with the application and user it must have been issued to \
         and for.",
    ),
    (
        "property TeamsUserExchangeTokenRequest.token",
        "The Entra ID access token of the Teams user. It is a secret: do not log it.",
    ),
    (
        "property TeamsUserExchangeTokenRequest.appId",
        "Client id of the Entra ID application; must equal the token's `appid` claim.",
    ),
    (
        "property TeamsUserExchangeTokenRequest.userId",
        "Object id of the Teams user; must equal the token's `oid` claim.",
    ),
    // Error model (common.json in 2023-10-01, inline in later versions).
    (
        "schema CommunicationErrorResponse",
        "Body of an error response.",
    ),
    (
        "property CommunicationErrorResponse.error",
        "What went wrong.",
    ),
    (
        "schema CommunicationError",
        "An error reported by the service, possibly with nested errors.",
    ),
    (
        "property CommunicationError.code",
        "Machine-readable error code, for example `ValidationError` or `IdentityNotOwned`.",
    ),
    (
        "property CommunicationError.message",
        "Human-readable explanation of the error.",
    ),
    (
        "property CommunicationError.target",
        "The request field the error is about, when there is one.",
    ),
    (
        "property CommunicationError.details",
        "Further errors behind this one.",
    ),
    (
        "property CommunicationError.innererror",
        "A more specific error behind this one.",
    ),
    // Schemas added by 2025-06-30 / 2026-09-23.
    (
        "schema TeamsExtensionAssignmentCreateOrUpdateRequest",
        "The content of a Teams Phone extension assignment to store.",
    ),
    (
        "property TeamsExtensionAssignmentCreateOrUpdateRequest.principalType",
        "Kind of principal the assignment is for.",
    ),
    (
        "property TeamsExtensionAssignmentCreateOrUpdateRequest.clientIds",
        "Client ids of the applications the assignment allows.",
    ),
    (
        "schema TeamsExtensionAssignmentResponse",
        "A stored Teams Phone extension assignment.",
    ),
    (
        "property TeamsExtensionAssignmentResponse.objectId",
        "Object id of the principal.",
    ),
    (
        "property TeamsExtensionAssignmentResponse.tenantId",
        "Tenant of the principal.",
    ),
    (
        "property TeamsExtensionAssignmentResponse.principalType",
        "Kind of principal the assignment is for.",
    ),
    (
        "property TeamsExtensionAssignmentResponse.clientIds",
        "Client ids of the applications the assignment allows.",
    ),
    (
        "schema TeamsExtensionExchangeTokenRequest",
        "The token of a Teams Phone extension user to exchange.",
    ),
    (
        "schema TeamsExtensionPrincipalType",
        "Kind of principal a Teams Phone extension assignment is for.",
    ),
    // 2025-03-02-preview only.
    (
        "operation get /identities/{id}",
        "Reads an identity: its id, its custom id and when a token was last issued for it.",
    ),
    (
        "operation post /access/entra/:exchangeAccessToken",
        "Exchanges the Entra ID access token of an Entra user (the bearer token of the request) \
         for an ACS access token of the identity assigned to that user.",
    ),
    (
        "operation get /access/entra/assignments",
        "Lists the Entra ID assignments of the resource, a page at a time.",
    ),
    (
        "operation patch /access/entra/assignments",
        "Adds, replaces or removes several Entra ID assignments at once (JSON merge patch).",
    ),
    (
        "operation get /access/entra/assignments/{objectId}",
        "Reads the Entra ID assignment of one user, group or tenant.",
    ),
    (
        "operation put /access/entra/assignments/{objectId}",
        "Creates the Entra ID assignment of a user, group or tenant, or replaces it.",
    ),
    (
        "operation delete /access/entra/assignments/{objectId}",
        "Deletes the Entra ID assignment of a user, group or tenant.",
    ),
    (
        "body post /access/entra/:exchangeAccessToken",
        "An empty object.",
    ),
    (
        "body put /access/entra/assignments/{objectId}",
        "The assignment to create or put in place of the current one.",
    ),
    (
        "body patch /access/entra/assignments",
        "Assignments by object id; `null` removes the assignment of that object id.",
    ),
    (
        "property CommunicationIdentity.customId",
        "The application's own id for the identity, when it was created with one.",
    ),
    (
        "property CommunicationIdentity.lastTokenIssuedAt",
        "When an access token was last issued for the identity.",
    ),
    (
        "property CommunicationIdentityCreateRequest.customId",
        "The application's own id for the identity (1 to 256 characters): creating again with \
         the same custom id returns the same identity.",
    ),
    (
        "schema EntraAssignment",
        "Which Entra ID user, group or tenant may exchange tokens, through which applications.",
    ),
    (
        "property EntraAssignment.objectId",
        "Object id of the user, group or tenant.",
    ),
    ("property EntraAssignment.tenantId", "The Entra ID tenant."),
    (
        "property EntraAssignment.clientIds",
        "Client ids of the applications the assignment allows.",
    ),
    (
        "schema EntraAssignmentCreateOrUpdateRequest",
        "An Entra ID assignment to create or put in place of the current one.",
    ),
    (
        "property EntraAssignmentCreateOrUpdateRequest.tenantId",
        "The Entra ID tenant.",
    ),
    (
        "property EntraAssignmentCreateOrUpdateRequest.clientIds",
        "Client ids of the applications the assignment allows.",
    ),
    (
        "schema EntraAssignmentUpdateBulkRequest",
        "Assignments by object id; `null` removes the assignment of that object id.",
    ),
    (
        "schema EntraAssignmentsResponse",
        "A page of Entra ID assignments.",
    ),
    (
        "property EntraAssignmentsResponse.value",
        "The assignments of this page.",
    ),
    (
        "property EntraAssignmentsResponse.nextLink",
        "The URL of the next page, when there is one.",
    ),
    ("schema EntraExchangeTokenRequest", "An empty object."),
    (
        "schema EntraPrincipalType",
        "Kind of principal an Entra ID assignment is for (`user`, `group`, `tenant`).",
    ),
];

/// The description for `key`, if the table has one.
pub(crate) fn lookup(key: &str) -> Option<&'static str> {
    TABLE.iter().find(|(k, _)| *k == key).map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<&str> = TABLE.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "duplicate key in the description table");
    }

    #[test]
    fn lookup_finds_entries_and_only_them() {
        assert_eq!(
            lookup("parameter path id"),
            Some("Raw identifier of the identity, for example `8:acs:<resource id>_<suffix>`.")
        );
        assert_eq!(lookup("parameter path nope"), None);
    }
}
