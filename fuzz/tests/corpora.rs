//! Every checked-in corpus input replays through its target without a failure (what CI runs
//! when no fuzzing engine does; `scripts/fuzz.sh` fuzzes for real).

use acs_identity_fuzz::{corpus_dir, replay};

fn replays(name: &str, target: fn(&[u8])) {
    let count = replay(&[corpus_dir(name)], target).unwrap_or_else(|e| {
        unreachable!("cannot read the corpus of {name}: {e}");
    });
    assert!(count > 0, "the corpus of {name} is empty");
}

#[test]
fn connection_string_corpus() {
    replays("connection_string", acs_identity_fuzz::connection_string);
}

#[test]
fn raw_id_corpus() {
    replays("raw_id", acs_identity_fuzz::raw_id);
}

#[test]
fn error_body_corpus() {
    replays("error_body", acs_identity_fuzz::error_body);
}

#[test]
fn jwt_claims_corpus() {
    replays("jwt_claims", acs_identity_fuzz::jwt_claims);
}

#[test]
fn hmac_verify_corpus() {
    replays("hmac_verify", acs_identity_fuzz::hmac_verify);
}

#[test]
fn emulator_request_corpus() {
    replays("emulator_request", acs_identity_fuzz::emulator_request);
}
