//! What the facade suites share beyond `acs-test-support`: a facade client of an in-process
//! emulator.

#![allow(dead_code)]

/// A client of `emulator` (its connection string) with these options.
#[allow(clippy::expect_used)] // the emulator's connection string is well formed
pub fn client_with(
    emulator: &acs_identity_emulator::EmulatorHandle,
    options: acs_identity::CommunicationIdentityClientOptions,
) -> acs_identity::CommunicationIdentityClient {
    acs_identity::CommunicationIdentityClient::from_connection_string(
        &emulator.connection_string(),
        Some(options),
    )
    .expect("a client of the emulator")
}
