//! Fuzz target `connection_string`: see [`acs_identity_fuzz::connection_string`].
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| acs_identity_fuzz::connection_string(data));

#[cfg(not(feature = "libfuzzer"))]
fn main() -> std::process::ExitCode {
    acs_identity_fuzz::replay_main("connection_string", acs_identity_fuzz::connection_string)
}
