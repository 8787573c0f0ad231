//! Errors: [`EmulatorError`] for starting the emulator, and the service's error bodies
//! (CommunicationErrorResponse) for answering requests.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};

/// Why the emulator could not start. Never contains a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The listen address could not be bound.
    #[error(
        "cannot listen on {addr}: {source}; pick another address with --listen (port 0 = any free port)"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A file of the emulator (in the data directory, or the port file) could not be created,
    /// read or written.
    #[error("cannot use {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The database in the data directory could not be opened or written.
    #[error("emulator storage error: {0}")]
    Storage(String),
    /// The database file is empty: it was probably lost or truncated, so it is not silently
    /// replaced by a new resource with a new key.
    #[error(
        "the database {path} is empty (0 bytes): its users, keys and revocations are gone, so it \
         is not re-initialised with a new access key and resource id; restore it from a backup, \
         or delete it to start afresh"
    )]
    EmptyDatabase {
        /// The database file.
        path: PathBuf,
    },
    /// The database file fails redb's integrity check (altered outside the emulator). It was
    /// left as it was.
    #[error(
        "the database {path} is corrupt ({reason}); nothing was written to it: restore it from a \
         backup, or move it away to start afresh"
    )]
    CorruptDatabase {
        /// The database file.
        path: PathBuf,
        /// What redb found.
        reason: String,
    },
    /// The access key given is not usable.
    #[error("the access key is invalid: {0}")]
    InvalidAccessKey(acs_auth::AccessKeyError),
    /// The resource id given is not a GUID.
    #[error("the resource id must be a GUID such as 2dee53b4-368b-45b4-ab52-8493fb117652")]
    InvalidResourceId,
    /// A setting (throttling, fault rule, revocation delay) is out of range; says which.
    #[error("{0}")]
    InvalidSetting(String),
    /// The signing key or the TLS certificate could not be made or loaded.
    #[error("emulator key material error: {0}")]
    Crypto(String),
}

/// A CommunicationErrorResponse body: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunicationErrorResponse {
    /// The error.
    pub error: CommunicationError,
}

/// One error of a CommunicationErrorResponse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunicationError {
    /// The error code, e.g. `ValidationError`.
    pub code: String,
    /// A human-readable message.
    pub message: String,
    /// What the error is about (a field name), when the service names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Further errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<CommunicationError>>,
    /// A more specific error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub innererror: Option<Box<CommunicationError>>,
}

/// An error answer of the emulator's HTTP API.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) body: Box<CommunicationError>,
    /// Further response headers (`Retry-After`, emulator diagnostics).
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
}

impl CommunicationError {
    /// An error with just a code and a message.
    fn plain(code: &str, message: String) -> Self {
        Self {
            code: code.to_owned(),
            message,
            target: None,
            details: None,
            innererror: None,
        }
    }
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(CommunicationError::plain(code, message.into())),
            headers: Vec::new(),
        }
    }

    /// Adds a response header.
    pub(crate) fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub(crate) fn with_target(mut self, target: &str) -> Self {
        self.body.target = Some(target.to_owned());
        self
    }

    pub(crate) fn with_inner(mut self, code: &str, message: impl Into<String>) -> Self {
        self.body.innererror = Some(Box::new(CommunicationError::plain(code, message.into())));
        self
    }

    /// 400 `ValidationError` with a target.
    pub(crate) fn validation(message: impl Into<String>, target: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationError", message).with_target(target)
    }

    /// 401 `IdentityNotOwned`.
    pub(crate) fn identity_not_owned() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "IdentityNotOwned",
            "Provided identity doesn't belong to the resource.",
        )
    }

    /// 404 `IdentityNotFound` (emulator's choice; see the README).
    pub(crate) fn identity_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "IdentityNotFound",
            "Provided identity doesn't exist.",
        )
    }

    /// 401 `InvalidAccessToken` (Teams exchange).
    pub(crate) fn invalid_access_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAccessToken",
            "Provided access token is not valid.",
        )
    }

    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "The requested resource does not exist. Operations: POST /identities, GET|DELETE /identities/{id}, \
             POST /identities/{id}/:issueAccessToken, POST /identities/{id}/:revokeAccessTokens, \
             POST /teamsUser/:exchangeAccessToken, \
             GET|PUT|DELETE /access/teamsExtension/tenants/{tenantId}/assignments/{objectId}, \
             POST /access/teamsExtension/:exchangeAccessToken, GET|PATCH /access/entra/assignments, \
             GET|PUT|DELETE /access/entra/assignments/{objectId}, POST /access/entra/:exchangeAccessToken; emulator only: GET /emulator/health, GET /emulator/jwks, \
             POST /emulator/tokens:validate, GET|PUT /emulator/controls, \
             GET /emulator/identities, POST /emulator/reset.",
        )
    }

    /// 405 with `Allow: <allow>` (a list of methods, always a valid header value).
    pub(crate) fn method_not_allowed(allow: &str) -> Self {
        let error = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The requested resource supports only {allow}."),
        );
        match HeaderValue::from_str(allow) {
            Ok(value) => error.with_header(header::ALLOW, value),
            Err(_) => error,
        }
    }

    pub(crate) fn storage() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The emulator could not write to its data directory; see its log.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = CommunicationErrorResponse { error: *self.body };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}
