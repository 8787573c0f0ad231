//! Shared by the integration tests: a started emulator with a known resource id, and
//! acs-test-support's signing client, its answers and JWT decoding.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use acs_identity_emulator::{EmulatorBuilder, EmulatorHandle};

pub use acs_test_support::emulator::{Answer, Client, encode};
pub use acs_test_support::{KEY, jwt_header, jwt_payload};

pub const RESOURCE: &str = "2dee53b4-368b-45b4-ab52-8493fb117652";
pub const OTHER_RESOURCE: &str = "11111111-2222-3333-4444-555555555555";

/// An in-memory emulator on a free loopback port with the test key and a known resource id.
pub fn builder() -> EmulatorBuilder {
    acs_test_support::emulator::builder().resource_id(RESOURCE)
}

pub async fn start() -> EmulatorHandle {
    builder().start().await.unwrap()
}
