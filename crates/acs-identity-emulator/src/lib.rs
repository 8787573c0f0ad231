#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod api;
pub mod auth;
mod config;
mod connections;
mod controls;
mod data_dir;
pub mod entra;
mod errors;
mod guard;
pub mod hmac_diagnostics;
mod operation;
pub mod options;
mod server;
mod store;
pub mod tls;
mod tokens;

/// The acs-auth types the emulator's API takes and returns, so that users need no direct
/// dependency on acs-auth to name them.
pub use acs_auth::{AccessKey, AccessKeyError, Clock, VerifyError};
pub use api::versions::SUPPORTED_API_VERSIONS;
pub use api::{Health, TokenValidation};
pub use config::{
    DEFAULT_DATA_DIR, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, DEVELOPMENT_ACCESS_KEY,
    DEVELOPMENT_CONNECTION_STRING, Emulator, EmulatorBuilder, Storage, default_listen,
};
pub use connections::ConnectionLimits;
pub use controls::{
    Controls, FaultRule, IdentityEntry, MAX_FAULT_DELAY, MAX_FAULT_RULES, MAX_REVOCATION_DELAY,
    Throttling,
};
pub use errors::{CommunicationError, CommunicationErrorResponse, EmulatorError};
pub use operation::{Operation, UnknownOperation};
pub use server::EmulatorHandle;
pub use tokens::{Jwk, Jwks};

/// The first line the `acs-identity-emulator` binary prints on stdout, for `connection_string`.
///
/// Scripts find the emulator by reading stdout up to the first newline and taking what follows
/// [`READY_LINE_PREFIX`].
pub fn ready_line(connection_string: &str) -> String {
    format!("{READY_LINE_PREFIX}{connection_string}")
}

/// What the binary's first stdout line starts with; the connection string follows.
pub const READY_LINE_PREFIX: &str = "ACS Identity emulator listening; connection string: ";
