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
/// The client generated from the checked-in document of the preview api-version
/// (`spec/preview/CommunicationIdentity.json`, 2025-03-02-preview): every operation of the stable
/// client plus the preview's own (get identity, `customId` on create, the Entra ID exchange and
/// assignments). It sends through the same [`Transport`], and its operations fail with the same
/// error type as the stable client's ([`OperationError`]): the error model is taken from the
/// stable module. `spec_api_version()` of its `Client` is the preview's version.
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
pub mod preview;
mod datetime;
mod hooks;

pub use datetime::{DateTime, DateTimeParseError};
pub use generated::{ByteStream, Client, ClientInfo, Error, ResponseValue, builder, types};
pub use hooks::{BoxFuture, RequestExecutor, Transport};

/// The error every operation's `send()` returns.
pub type OperationError = Error<types::CommunicationErrorResponse>;

/// The api-version of the spec the client was generated from (`info.version`), for example
/// `2026-09-23`. Pass it, or another version the service accepts, to `.api_version(..)`.
pub fn spec_api_version() -> &'static str {
    <Client as ClientInfo<Transport>>::api_version()
}

/// The api-version of the preview spec [`preview::Client`] was generated from, for example
/// `2025-03-02-preview`.
pub fn preview_spec_api_version() -> &'static str {
    <preview::Client as ClientInfo<Transport>>::api_version()
}
