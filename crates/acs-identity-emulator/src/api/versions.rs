//! The `api-version` query parameter.

use super::query_value;
use crate::errors::ApiError;

/// Every published api-version of the identity operations in date order: the stable ones and
/// `2025-03-02-preview` (the only preview the emulator serves).
pub const SUPPORTED_API_VERSIONS: [&str; 7] = [
    "2021-03-07",
    "2022-06-01",
    "2022-10-01",
    "2023-10-01",
    PREVIEW,
    TEAMS_EXTENSION_SINCE,
    "2026-09-23",
];

/// The preview with custom ids, `GET /identities/{id}` and the Entra ID user exchange.
const PREVIEW: &str = "2025-03-02-preview";
/// The first stable version with the Teams Phone extension operations.
const TEAMS_EXTENSION_SINCE: &str = "2025-06-30";

/// The `api-supported-versions` response header value: every version, in date order, as Azure
/// services list them.
pub(crate) const SUPPORTED_HEADER: &str = "2021-03-07, 2022-06-01, 2022-10-01, 2023-10-01, \
     2025-03-02-preview, 2025-06-30, 2026-09-23";

/// A supported api-version (index into [`SUPPORTED_API_VERSIONS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ApiVersion(usize);

/// Which versions have an operation or field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Availability {
    /// Every version.
    All,
    /// 2025-03-02-preview only (custom ids, `GET /identities/{id}`, the Entra ID operations).
    PreviewOnly,
    /// The Teams Phone extension operations: 2025-03-02-preview, 2025-06-30 and later.
    TeamsExtension,
}

impl Availability {
    /// The versions that have it, as an error message lists them.
    fn versions(self) -> &'static str {
        match self {
            Availability::All => SUPPORTED_HEADER,
            Availability::PreviewOnly => PREVIEW,
            Availability::TeamsExtension => "2025-03-02-preview, 2025-06-30, 2026-09-23",
        }
    }
}

impl ApiVersion {
    pub(crate) fn name(self) -> &'static str {
        SUPPORTED_API_VERSIONS[self.0]
    }

    /// Whether `expiresInMinutes` exists in this version (2022-10-01 and later); older versions
    /// ignore it.
    pub(crate) fn has_custom_expiry(self) -> bool {
        self.name() >= "2022-10-01"
    }

    /// Whether this version has what is available in `availability`.
    pub(crate) fn has(self, availability: Availability) -> bool {
        let name = self.name();
        match availability {
            Availability::All => true,
            Availability::PreviewOnly => name == PREVIEW,
            Availability::TeamsExtension => name == PREVIEW || name >= TEAMS_EXTENSION_SINCE,
        }
    }

    /// 400 unless this version has the operation at `path`: the answer of the service's
    /// ASP.NET API versioning for a route that exists in other versions only (code
    /// `UnsupportedApiVersion`, target `api-version`).
    pub(crate) fn require(self, availability: Availability, path: &str) -> Result<(), ApiError> {
        if self.has(availability) {
            return Ok(());
        }
        Err(ApiError::new(
            http::StatusCode::BAD_REQUEST,
            "UnsupportedApiVersion",
            format!(
                "The HTTP resource that matches the request URI '{}' does not support the API version '{}'. Supported versions: {}.",
                path.chars().take(256).collect::<String>(),
                self.name(),
                availability.versions()
            ),
        )
        .with_target("api-version"))
    }

    /// 400 for a body field this version does not have (code `ValidationError`, target the
    /// field).
    pub(crate) fn require_field(
        self,
        availability: Availability,
        field: &str,
    ) -> Result<(), ApiError> {
        if self.has(availability) {
            return Ok(());
        }
        Err(ApiError::validation(
            format!(
                "The {field} field is not part of api-version {}; it needs api-version {}.",
                self.name(),
                availability.versions()
            ),
            field,
        ))
    }
}

/// Reads `api-version` from a query string: 400 when it is missing or not supported.
pub(crate) fn api_version(query: Option<&str>) -> Result<ApiVersion, ApiError> {
    let supported = SUPPORTED_HEADER;
    let Some(value) = query_value(query, "api-version") else {
        return Err(ApiError::new(
            http::StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            format!("The api-version query parameter (?api-version=) is required for all requests. Supported versions: {supported}."),
        )
        .with_target("api-version"));
    };
    let known = SUPPORTED_API_VERSIONS.iter().position(|s| *s == value);
    known.map(ApiVersion).ok_or_else(|| {
        ApiError::new(
            http::StatusCode::BAD_REQUEST,
            "UnsupportedApiVersion",
            format!(
                "The api-version '{}' is not supported. Supported versions: {supported}.",
                value.chars().take(64).collect::<String>()
            ),
        )
        .with_target("api-version")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_version_and_the_header_lists_them() {
        for v in SUPPORTED_API_VERSIONS {
            let parsed = api_version(Some(&format!("api-version={v}"))).unwrap();
            assert_eq!(parsed.has_custom_expiry(), v >= "2022-10-01", "{v}");
            assert_eq!(parsed.has(Availability::PreviewOnly), v == PREVIEW, "{v}");
            let tpe = ["2025-03-02-preview", "2025-06-30", "2026-09-23"].contains(&v);
            assert_eq!(parsed.has(Availability::TeamsExtension), tpe, "{v}");
            assert!(parsed.has(Availability::All));
        }
        assert_eq!(SUPPORTED_HEADER, SUPPORTED_API_VERSIONS.join(", "));
        assert!(api_version(Some("x=1&api-version=2023-10-01&y")).is_ok());
        // Escapes in the name and the value are decoded.
        assert!(api_version(Some("API%2dversion=2023%2D10%2D01")).is_ok());
    }

    #[test]
    fn missing_and_unknown_are_400_naming_it() {
        let e = api_version(None).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.body.code, "MissingApiVersionParameter");
        assert_eq!(e.body.target.as_deref(), Some("api-version"));
        let e = api_version(Some("api-version=2024-01-01-preview")).unwrap_err();
        assert_eq!(e.body.code, "UnsupportedApiVersion");
        assert!(
            e.body.message.contains("'2024-01-01-preview'"),
            "{}",
            e.body.message
        );
        let e = api_version(Some("api-version=")).unwrap_err();
        assert_eq!(e.body.code, "UnsupportedApiVersion");
        let e = api_version(Some("api-version=%ZZ")).unwrap_err();
        assert_eq!(e.body.code, "UnsupportedApiVersion");
    }

    #[test]
    fn operations_and_fields_outside_their_versions_are_400() {
        let stable = api_version(Some("api-version=2025-06-30")).unwrap();
        let e = stable
            .require(Availability::PreviewOnly, "/identities/x")
            .unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.body.code.as_str()),
            (400, "UnsupportedApiVersion")
        );
        assert_eq!(
            e.body.message,
            "The HTTP resource that matches the request URI '/identities/x' does not support the API version '2025-06-30'. Supported versions: 2025-03-02-preview."
        );
        assert_eq!(e.body.target.as_deref(), Some("api-version"));
        assert!(stable.require(Availability::TeamsExtension, "/").is_ok());
        let old = api_version(Some("api-version=2023-10-01")).unwrap();
        let e = old
            .require(Availability::TeamsExtension, "/access")
            .unwrap_err();
        assert!(
            e.body
                .message
                .ends_with("Supported versions: 2025-03-02-preview, 2025-06-30, 2026-09-23.")
        );
        let e = stable
            .require_field(Availability::PreviewOnly, "customId")
            .unwrap_err();
        assert_eq!(e.body.code, "ValidationError");
        assert_eq!(e.body.target.as_deref(), Some("customId"));
        assert_eq!(
            e.body.message,
            "The customId field is not part of api-version 2025-06-30; it needs api-version 2025-03-02-preview."
        );
        let preview = api_version(Some("api-version=2025-03-02-preview")).unwrap();
        assert!(
            preview
                .require_field(Availability::PreviewOnly, "customId")
                .is_ok()
        );
    }
}
