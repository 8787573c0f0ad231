#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[allow(
    missing_docs,
    unused_imports,
    rust_2018_idioms,
    clippy::all,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
#[rustfmt::skip]
mod generated;
mod datetime;
mod hooks;

pub use datetime::{DateTime, DateTimeParseError};
pub use generated::{ByteStream, Client, ClientInfo, Error, ResponseValue, builder, types};
pub use hooks::{BoxFuture, RequestExecutor, Transport};

/// The error every operation's `send()` returns.
pub type OperationError = Error<types::CommunicationErrorResponse>;

/// The api-version of the spec the client was generated from (`info.version`), for example
/// `2023-10-01`. Pass it, or another version the service accepts, to `.api_version(..)`.
pub fn spec_api_version() -> &'static str {
    <Client as ClientInfo<Transport>>::api_version()
}
