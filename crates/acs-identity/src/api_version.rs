//! Which api-version each operation is sent with.
//!
//! A client has one api-version ([`CommunicationIdentityClientOptions::api_version`], default
//! [`DEFAULT_API_VERSION`]), as in the official SDKs, and sends every operation with it, except:
//!
//! - an operation that exists only in newer versions (the Teams Phone extension operations,
//!   since [`TEAMS_EXTENSION_API_VERSION`]) goes with the client's version when that has it, and
//!   otherwise with the oldest version that has it ([`TEAMS_EXTENSION_API_VERSION`]), so a client
//!   on the default 2023-10-01 can manage assignments without switching its other calls;
//! - a preview feature (a custom id, [`get_user`]) is never switched on silently: on a client whose
//!   version is not a preview that has it, the call fails before anything is sent, with an error
//!   that names the version it needs ([`PREVIEW_API_VERSION`]) and how to choose it.
//!
//! A version is read as `YYYY-MM-DD` with an optional `-preview`. A string of another shape is
//! sent as it is for the operations every version has and for the Teams Phone extension ones (the
//! caller chose it; the service decides), and is not a preview.
//!
//! [`CommunicationIdentityClientOptions::api_version`]: crate::CommunicationIdentityClientOptions::api_version
//! [`DEFAULT_API_VERSION`]: crate::DEFAULT_API_VERSION
//! [`get_user`]: crate::CommunicationIdentityClient::get_user

use crate::error::{Error, Result};

/// The preview api-version this client knows: custom ids on create, [`get_user`], and the Entra
/// ID user exchange. Choose it with
/// `CommunicationIdentityClientOptions::default().with_api_version(PREVIEW_API_VERSION)`.
///
/// [`get_user`]: crate::CommunicationIdentityClient::get_user
pub const PREVIEW_API_VERSION: &str = "2025-03-02-preview";

/// The oldest stable api-version with the Teams Phone extension operations: they are sent with it
/// when the client's own version is older.
pub const TEAMS_EXTENSION_API_VERSION: &str = "2025-06-30";

/// The date of the first preview with the preview features and the Teams Phone extension
/// operations of today's shape (the date of [`PREVIEW_API_VERSION`]).
const FIRST_PREVIEW_DATE: &str = "2025-03-02";

/// The date part of a version (`2025-03-02` of `2025-03-02-preview`) and whether it is a preview,
/// or `None` for a string of another shape.
fn parse(version: &str) -> Option<(&str, bool)> {
    let (date, preview) = match version.strip_suffix("-preview") {
        Some(date) => (date, true),
        None => (version, false),
    };
    let bytes = date.as_bytes();
    let is_date = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    is_date.then_some((date, preview))
}

/// The version a Teams Phone extension operation is sent with on a client of `client_version`.
pub(crate) fn for_teams_extension(client_version: &str) -> &str {
    match parse(client_version) {
        // The 2025-03-02 preview has them, with the shapes of 2025-06-30; earlier previews
        // had an older Teams Phone surface under other paths.
        Some((date, true)) if date >= FIRST_PREVIEW_DATE => client_version,
        Some((date, false)) if date >= TEAMS_EXTENSION_API_VERSION => client_version,
        Some(_) => TEAMS_EXTENSION_API_VERSION,
        None => client_version,
    }
}

/// Succeeds when `client_version` is a preview that has the preview features of
/// [`PREVIEW_API_VERSION`]; otherwise the error says that `feature` needs it.
pub(crate) fn require_preview(client_version: &str, feature: &str) -> Result<()> {
    match parse(client_version) {
        Some((date, true)) if date >= FIRST_PREVIEW_DATE => Ok(()),
        _ => Err(Error::configuration(
            format!(
                "{feature} needs the preview api-version {PREVIEW_API_VERSION}, but this client \
                 sends {client_version}; nothing was sent. Build the client with \
                 CommunicationIdentityClientOptions::default().with_api_version(\
                 acs_identity::PREVIEW_API_VERSION)"
            ),
            None,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teams_extension_operations_go_with_a_version_that_has_them() {
        for (client, sent) in [
            ("2021-03-07", "2025-06-30"),
            ("2023-10-01", "2025-06-30"),
            ("2025-06-30", "2025-06-30"),
            ("2026-09-23", "2026-09-23"),
            ("2027-01-01", "2027-01-01"),
            ("2025-03-02-preview", "2025-03-02-preview"),
            ("2026-01-01-preview", "2026-01-01-preview"),
            ("2024-04-01-preview", "2025-06-30"),
            ("not-a-version", "not-a-version"),
        ] {
            assert_eq!(for_teams_extension(client), sent, "{client}");
        }
    }

    #[test]
    fn preview_features_need_a_preview_that_has_them() {
        assert!(require_preview("2025-03-02-preview", "a custom id").is_ok());
        assert!(require_preview("2026-05-01-preview", "a custom id").is_ok());
        for client in [
            "2023-10-01",
            "2026-09-23",
            "2024-04-01-preview",
            "preview",
            "",
        ] {
            let error = require_preview(client, "a custom id").unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Configuration, "{client}");
            let text = error.to_string();
            assert!(
                text.contains(
                    "a custom id needs the preview api-version 2025-03-02-preview, but this \
                     client sends"
                ),
                "{text}"
            );
            assert!(text.contains("nothing was sent"), "{text}");
            assert!(text.contains("with_api_version("), "{text}");
        }
    }
}
