//! The `api-version` query parameter.

use super::percent_decode;
use crate::errors::ApiError;

/// Every published stable api-version of the identity operations, oldest first.
pub const SUPPORTED_API_VERSIONS: [&str; 6] = [
    "2021-03-07",
    "2022-06-01",
    "2022-10-01",
    "2023-10-01",
    "2025-06-30",
    "2026-09-23",
];

/// The `api-supported-versions` response header value.
pub(crate) const SUPPORTED_HEADER: &str =
    "2021-03-07, 2022-06-01, 2022-10-01, 2023-10-01, 2025-06-30, 2026-09-23";

/// A supported api-version (index into [`SUPPORTED_API_VERSIONS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ApiVersion(usize);

impl ApiVersion {
    /// Whether `expiresInMinutes` exists in this version (2022-10-01 and later); older versions
    /// ignore it.
    pub(crate) fn has_custom_expiry(self) -> bool {
        SUPPORTED_API_VERSIONS[self.0] >= "2022-10-01"
    }
}

/// Reads `api-version` from a query string: 400 when it is missing or not supported.
pub(crate) fn api_version(query: Option<&str>) -> Result<ApiVersion, ApiError> {
    let supported = SUPPORTED_HEADER;
    let value = query.unwrap_or("").split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        percent_decode(k, true)
            .filter(|k| k.eq_ignore_ascii_case("api-version"))
            .map(|_| percent_decode(v, true))
    });
    match value {
        None => Err(ApiError::new(
            http::StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            format!("The api-version query parameter (?api-version=) is required for all requests. Supported versions: {supported}."),
        )
        .with_target("api-version")),
        Some(Some(v)) if !v.is_empty() => match SUPPORTED_API_VERSIONS.iter().position(|s| *s == v.as_ref()) {
            Some(i) => Ok(ApiVersion(i)),
            None => Err(ApiError::new(
                http::StatusCode::BAD_REQUEST,
                "UnsupportedApiVersion",
                format!(
                    "The api-version '{}' is not supported. Supported versions: {supported}.",
                    v.chars().take(64).collect::<String>()
                ),
            )
            .with_target("api-version")),
        },
        Some(_) => Err(ApiError::new(
            http::StatusCode::BAD_REQUEST,
            "UnsupportedApiVersion",
            format!("The api-version '' is not supported. Supported versions: {supported}."),
        )
        .with_target("api-version")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_stable_version() {
        for v in SUPPORTED_API_VERSIONS {
            let parsed = api_version(Some(&format!("api-version={v}"))).unwrap();
            assert_eq!(parsed.has_custom_expiry(), v >= "2022-10-01", "{v}");
        }
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
        let e = api_version(Some("api-version=2025-03-02-preview")).unwrap_err();
        assert_eq!(e.body.code, "UnsupportedApiVersion");
        assert!(
            e.body.message.contains("'2025-03-02-preview'"),
            "{}",
            e.body.message
        );
        let e = api_version(Some("api-version=")).unwrap_err();
        assert_eq!(e.body.code, "UnsupportedApiVersion");
        let e = api_version(Some("api-version=%ZZ")).unwrap_err();
        assert_eq!(e.body.code, "UnsupportedApiVersion");
    }
}
