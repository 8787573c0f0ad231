//! Fuzz target `jwt_claims`: see [`acs_identity_fuzz::jwt_claims`].
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| acs_identity_fuzz::jwt_claims(data));

#[cfg(not(feature = "libfuzzer"))]
fn main() -> std::process::ExitCode {
    acs_identity_fuzz::replay_main("jwt_claims", acs_identity_fuzz::jwt_claims)
}
