//! Fuzz target `hmac_verify`: see [`acs_identity_fuzz::hmac_verify`].
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| acs_identity_fuzz::hmac_verify(data));

#[cfg(not(feature = "libfuzzer"))]
fn main() -> std::process::ExitCode {
    acs_identity_fuzz::replay_main("hmac_verify", acs_identity_fuzz::hmac_verify)
}
