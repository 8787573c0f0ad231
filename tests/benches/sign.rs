//! Cost of signing a typical issue-token request.
//!
//! `cargo bench -p acs-identity-tests --bench sign` runs the benchmarks and then prints the median of each,
//! read back from criterion's `estimates.json`.

// Test code: a failed unwrap or panic is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use acs_auth::{AccessKey, RequestToSign, sign, sign_request};
use acs_test_support::KEY;
use criterion::Criterion;

const HOST: &str = "contoso.communication.azure.com";
/// 136 bytes: the issue-token target for an identity id percent-encoded as the SDKs send it.
const TARGET: &str = "/identities/8%3Aacs%3A1b5b4a2c-7d3e-4f6a-9b8c-0d1e2f3a4b5c_00000019-5465-d21b-aefa-4e3a0d00252f/:issueAccessToken?api-version=2023-10-01";
/// 32 bytes: a compact issue-token body.
const BODY: &str = r#"{"scopes":["chat.join.limited"]}"#;

const BENCHES: [(&str, &str); 2] = [("sign", "issue_token"), ("sign_request", "issue_token")];

fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_796_053_912)
}

fn bench_sign(c: &mut Criterion) {
    let key = AccessKey::from_base64(KEY).unwrap();
    let request = RequestToSign {
        method: "POST",
        path_and_query: TARGET,
        host: HOST,
        body: BODY.as_bytes(),
    };
    let at = at();
    let mut group = c.benchmark_group(BENCHES[0].0);
    group.bench_function(BENCHES[0].1, |b| {
        b.iter(|| sign(black_box(&key), black_box(&request), black_box(at)));
    });
    group.finish();
}

fn bench_sign_request(c: &mut Criterion) {
    let key = AccessKey::from_base64(KEY).unwrap();
    let url: reqwest::Url = format!("https://{HOST}{TARGET}").parse().unwrap();
    let mut request = reqwest::Request::new(reqwest::Method::POST, url);
    *request.body_mut() = Some(reqwest::Body::from(BODY));
    let at = at();
    let mut group = c.benchmark_group(BENCHES[1].0);
    // Re-signing the same request replaces its three headers, as a retry does.
    group.bench_function(BENCHES[1].1, |b| {
        b.iter(|| sign_request(black_box(&mut request), black_box(&key), black_box(at)).unwrap());
    });
    group.finish();
}

/// Where criterion writes its results: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else
/// the workspace `target/criterion`.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    acs_test_support::workspace_root().join("target/criterion")
}

fn print_medians() {
    for (group, id) in BENCHES {
        let path = criterion_dir()
            .join(group)
            .join(id)
            .join("new/estimates.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let median = &json["median"];
        if let (Some(point), Some(lo), Some(hi)) = (
            median["point_estimate"].as_f64(),
            median["confidence_interval"]["lower_bound"].as_f64(),
            median["confidence_interval"]["upper_bound"].as_f64(),
        ) {
            println!("median {group}/{id}: {point:.1} ns (95% CI {lo:.1} .. {hi:.1} ns)");
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_sign(&mut c);
    bench_sign_request(&mut c);
    c.final_summary();
    // `cargo test --benches` runs this binary in test mode: nothing was measured, so print nothing.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        print_medians();
    }
}
