//! Fuzz target `raw_id`: see [`acs_identity_fuzz::raw_id`].
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| acs_identity_fuzz::raw_id(data));

#[cfg(not(feature = "libfuzzer"))]
fn main() -> std::process::ExitCode {
    acs_identity_fuzz::replay_main("raw_id", acs_identity_fuzz::raw_id)
}
