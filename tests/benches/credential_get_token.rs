//! The cost of `CommunicationTokenCredential::get_token` on a cached token (the path every chat
//! or calling request takes), and how many allocations it makes: one, the returned token's copy.
//!
//! Run: `cargo bench -p acs-identity-tests --bench credential_get_token`

// Bench code: a failed unwrap is a failed bench.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::System;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use acs_common::{AccessToken, CommunicationTokenCredential, CommunicationTokenRefreshOptions};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// A token shaped like the service's: RS256 header, the usual claims, a 256-byte signature;
/// valid for a day from now.
fn token() -> String {
    let exp = (SystemTime::now() + Duration::from_secs(86_400))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = URL_SAFE_NO_PAD
        .encode(r#"{"alg":"RS256","kid":"5B3F9A8C1B2D3E4F","x5t":"oP1Ry1ulHt0iKZc2k3AsgtV2P9s","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"skypeid":"acs:00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444","scp":1792,"csi":"{}","exp":{exp},"rgn":"amer","acsScope":"chat,voip","resourceId":"00000000-0000-0000-0000-000000000000","resourceLocation":"unitedstates","iat":{}}}"#,
        exp - 86_400,
        exp - 86_400
    ));
    let signature = URL_SAFE_NO_PAD.encode([7u8; 256]);
    format!("{header}.{payload}.{signature}")
}

/// Polls `get_token` once: on a cached token it completes without waiting.
fn cached_token(credential: &CommunicationTokenCredential) -> AccessToken {
    let mut call = pin!(credential.get_token());
    match call.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(token) => token.unwrap(),
        Poll::Pending => panic!("get_token waited: the token was not cached"),
    }
}

fn credentials() -> [(&'static str, CommunicationTokenCredential); 2] {
    let refresher = || async { Ok::<_, std::io::Error>(token()) };
    let options = CommunicationTokenRefreshOptions::default().with_initial_token(token());
    [
        (
            "single token",
            CommunicationTokenCredential::from_token(token()).unwrap(),
        ),
        (
            "refresher, cached token",
            CommunicationTokenCredential::with_refresher(refresher, Some(options)).unwrap(),
        ),
    ]
}

fn bench_get_token(c: &mut Criterion) {
    for (name, credential) in credentials() {
        c.bench_function(&format!("get_token ({name})"), |b| {
            b.iter(|| black_box(cached_token(&credential)))
        });
    }
}

/// Allocations per call, counted by the global allocator over many calls.
fn report_allocations() {
    const CALLS: usize = 100_000;
    for (name, credential) in credentials() {
        let token_len = cached_token(&credential).token.secret().len();
        let region = Region::new(GLOBAL);
        for _ in 0..CALLS {
            black_box(cached_token(&credential));
        }
        let change = region.change();
        println!(
            "get_token ({name}): {:.2} allocations and {:.0} bytes per call \
             (the token is {token_len} bytes)",
            change.allocations as f64 / CALLS as f64,
            change.bytes_allocated as f64 / CALLS as f64,
        );
    }
}

criterion_group!(benches, bench_get_token);

fn main() {
    report_allocations();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
