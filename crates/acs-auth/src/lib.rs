#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod clock;
mod connection_string;
mod date;
mod key;
mod sign;
mod verify;

#[cfg(feature = "reqwest")]
mod reqwest_adapter;

pub use clock::{Clock, FixedClock, SystemClock};
pub use connection_string::{ConnectionString, ConnectionStringError};
pub use date::{HttpDateError, format_http_date, parse_http_date};
pub use key::{AccessKey, AccessKeyCredential, AccessKeyError};
pub use sign::{
    AUTHORIZATION_PREFIX, EMPTY_CONTENT_HASH, RequestToSign, SignedHeaders, X_MS_CONTENT_SHA256,
    X_MS_DATE, content_hash, sign, string_to_sign,
};
pub use verify::{DEFAULT_MAX_CLOCK_SKEW, ReceivedRequest, VerifyError, verify};

#[cfg(feature = "reqwest")]
pub use reqwest_adapter::{
    SignRequestError, insert_signed_headers, request_host, request_target, sign_request,
};
