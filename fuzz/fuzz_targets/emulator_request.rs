//! Fuzz target `emulator_request`: see [`acs_identity_fuzz::emulator_request`].
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| acs_identity_fuzz::emulator_request(data));

#[cfg(not(feature = "libfuzzer"))]
fn main() -> std::process::ExitCode {
    acs_identity_fuzz::replay_main("emulator_request", acs_identity_fuzz::emulator_request)
}
