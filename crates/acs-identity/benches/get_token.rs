//! `get_token` throughput at concurrency 16 against a local fixed-response server: the facade vs a
//! bare reqwest loop that signs and decodes the same call by hand; and the facade's RSS before and
//! after N calls.
//!
//! Run: `cargo bench -p acs-identity --bench get_token` (N = `ACS_BENCH_CALLS`, default 200000).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

use acs_identity::{CommunicationIdentityClient, CommunicationUserIdentifier, TokenScope};

const KEY: &str = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5";
const USER: &str =
    "8:acs:00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444";
const BODY: &str = r#"{"token":"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDB9.c2ln","expiresOn":"2022-08-26T20:03:35.4402106+00:00"}"#;
const CONCURRENCY: usize = 16;

fn concurrency() -> usize {
    std::env::var("ACS_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CONCURRENCY)
}

/// User + system CPU time of this process, in clock ticks (1/100 s).
fn cpu_ticks() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            let utime: u64 = after.get(11)?.parse().ok()?;
            let stime: u64 = after.get(12)?.parse().ok()?;
            Some(utime + stime)
        })
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[derive(serde::Serialize)]
struct IssueBody<'a> {
    scopes: &'a [&'a str],
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Token {
    token: String,
    expires_on: String,
}

/// Runs `calls` calls of `one` at the configured concurrency; returns (calls/s, CPU µs per call,
/// counting the whole process: client and server).
async fn run<F, Fut>(calls: usize, one: F) -> (f64, f64)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let left = Arc::new(AtomicUsize::new(calls));
    let cpu_before = cpu_ticks();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency() {
        let left = left.clone();
        let one = one.clone();
        tasks.push(tokio::spawn(async move {
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                one().await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let rate = calls as f64 / started.elapsed().as_secs_f64();
    let cpu_us = (cpu_ticks() - cpu_before) as f64 * 10_000.0 / calls as f64;
    (rate, cpu_us)
}

/// Starts the fixed-response server on its own OS thread with a single-threaded runtime, so the
/// server and the clients each keep one core: with one shared runtime, rounds flip between two
/// speeds depending on how the scheduler happens to spread client and server tasks.
fn start_server() -> Option<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                eprintln!("cannot start the server's tokio runtime: {e}");
                return;
            }
        };
        runtime.block_on(async move {
            let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("cannot bind: {e}");
                    return;
                }
            };
            let addr = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            let _ = tx.send(addr);
            let app = axum::Router::new().fallback(|| async {
                ([("content-type", "application/json; charset=utf-8")], BODY)
            });
            let _ = axum::serve(listener, app).await;
        });
    });
    rx.recv().ok()
}

fn main() {
    let calls: usize = std::env::var("ACS_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let Some(addr) = start_server() else {
        eprintln!("the benchmark server did not start");
        return;
    };
    // The clients (facade or bare loop) all run on this one thread.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            return;
        }
    };
    runtime.block_on(async move {
        let endpoint = format!("http://{addr}");

        // The facade.
        let client = match CommunicationIdentityClient::from_connection_string(
            &format!("endpoint={endpoint}/;accesskey={KEY}"),
            None,
        ) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{e}");
                return;
            }
        };
        let user = CommunicationUserIdentifier::new(USER);
        let facade_one = {
            let client = client.clone();
            let user = user.clone();
            move || {
                let client = client.clone();
                let user = user.clone();
                async move {
                    if let Err(e) = client.get_token(&user, &[TokenScope::Chat], None).await {
                        eprintln!("facade call failed: {e}");
                    }
                }
            }
        };

        // The bare loop: build, sign, send and decode by hand.
        let http = reqwest::Client::new();
        let key = match acs_auth::AccessKey::from_base64(KEY) {
            Ok(k) => k,
            Err(e) => {
                eprintln!("{e}");
                return;
            }
        };
        let endpoint_for_bare = endpoint.clone();
        let bare_one = {
            move || {
                let http = http.clone();
                let key = key.clone();
                let endpoint = endpoint_for_bare.clone();
                async move {
                    // Per call, as any client must: the URL for this user, the JSON body.
                    let url = format!(
                        "{endpoint}/identities/{}/:issueAccessToken?api-version=2023-10-01",
                        USER.replace(':', "%3A")
                    );
                    let Ok(url) = reqwest::Url::parse(&url) else {
                        return;
                    };
                    let Ok(body) = serde_json::to_vec(&IssueBody {
                        scopes: &["chat"],
                    }) else {
                        return;
                    };
                    let mut request = reqwest::Request::new(reqwest::Method::POST, url);
                    request.headers_mut().insert(
                        "content-type",
                        reqwest::header::HeaderValue::from_static("application/json"),
                    );
                    // The same headers as the facade's call: user agent, request id, accept.
                    let h = request.headers_mut();
                    h.insert("accept", reqwest::header::HeaderValue::from_static("application/json"));
                    h.insert(
                        "user-agent",
                        reqwest::header::HeaderValue::from_static(
                            "azsdk-rust-communication-identity/0.1.0 (1.95.0; linux)",
                        ),
                    );
                    if let Ok(id) =
                        reqwest::header::HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                    {
                        h.insert("x-ms-client-request-id", id);
                    }
                    h.insert(
                        "x-ms-return-client-request-id",
                        reqwest::header::HeaderValue::from_static("true"),
                    );
                    *request.body_mut() = Some(reqwest::Body::from(body));
                    if acs_auth::sign_request(&mut request, &key, SystemTime::now()).is_err() {
                        return;
                    }
                    match http.execute(request).await {
                        Ok(response) => match response.bytes().await {
                            Ok(body) => {
                                // Decode to the same result the facade returns: token + date-time.
                                let decoded = serde_json::from_slice::<Token>(&body).ok().and_then(|t| {
                                    time::OffsetDateTime::parse(
                                        &t.expires_on,
                                        &time::format_description::well_known::Rfc3339,
                                    )
                                    .ok()
                                    .map(|at| (t.token, at))
                                });
                                if decoded.is_none() {
                                    eprintln!("bare decode failed");
                                }
                            }
                            Err(e) => eprintln!("bare body failed: {e}"),
                        },
                        Err(e) => eprintln!("bare call failed: {e}"),
                    }
                }
            }
        };

        // For profiling one side alone: ACS_BENCH_PROFILE=facade|bare runs only that loop.
        if let Ok(side) = std::env::var("ACS_BENCH_PROFILE") {
            let (rate, cpu) = if side == "bare" {
                run(calls, bare_one).await
            } else {
                run(calls, facade_one).await
            };
            println!(
                "{side}: {rate:.0} calls/s, {cpu:.1} CPU µs/call at concurrency {}",
                concurrency()
            );
            return;
        }

        // Warm up both, then measure alternately.
        run(2_000, facade_one.clone()).await;
        run(2_000, bare_one.clone()).await;
        let quick = (calls / 4).max(1_000);
        let rounds: usize = std::env::var("ACS_BENCH_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3);
        let mut bare = Vec::new();
        let mut facade = Vec::new();
        // Pairs of rounds, the order alternating (bare first, then facade first, ...) so a drift
        // in the machine's speed does not favour one side.
        for round in 0..rounds {
            if round % 2 == 0 {
                bare.push(run(quick, bare_one.clone()).await);
                facade.push(run(quick, facade_one.clone()).await);
            } else {
                facade.push(run(quick, facade_one.clone()).await);
                bare.push(run(quick, bare_one.clone()).await);
            }
        }
        let median = |v: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| {
            let mut xs: Vec<f64> = v.iter().map(pick).collect();
            xs.sort_by(f64::total_cmp);
            xs[xs.len() / 2]
        };
        let (bare_rate, facade_rate) = (median(&bare, |r| r.0), median(&facade, |r| r.0));
        let (bare_cpu, facade_cpu) = (median(&bare, |r| r.1), median(&facade, |r| r.1));
        println!(
            "get_token, concurrency {}, {quick} calls per round, {rounds} interleaved rounds (medians):",
            concurrency()
        );
        println!(
            "  bare reqwest loop (sign + decode by hand): {bare_rate:>9.0} calls/s  {bare_cpu:>6.1} CPU µs/call"
        );
        println!(
            "  acs-identity facade:                       {facade_rate:>9.0} calls/s  {facade_cpu:>6.1} CPU µs/call"
        );
        println!(
            "  ratio facade / bare, calls/s:              {:>9.3}",
            facade_rate / bare_rate
        );
        println!(
            "  ratio bare / facade, CPU per call:         {:>9.3}  (load-independent)",
            bare_cpu / facade_cpu
        );
        // Each pair ran back to back, so its ratio sees nearly the same machine: the median of
        // the pair ratios is the figure least moved by other load on a shared machine.
        let mut pairs: Vec<f64> = bare.iter().zip(&facade).map(|(b, f)| f.0 / b.0).collect();
        pairs.sort_by(f64::total_cmp);
        println!(
            "  ratio facade / bare, median of {} back-to-back pairs: {:>5.3}  (min {:.3}, max {:.3})",
            pairs.len(),
            pairs[pairs.len() / 2],
            pairs[0],
            pairs[pairs.len() - 1]
        );
        println!(
            "  rounds calls/s: bare {:.0?}, facade {:.0?}",
            bare.iter().map(|r| r.0).collect::<Vec<_>>(),
            facade.iter().map(|r| r.0).collect::<Vec<_>>()
        );

        let before = rss_kib();
        let (rate, _) = run(calls, facade_one.clone()).await;
        let after = rss_kib();
        let (rate2, _) = run(calls, facade_one).await;
        let after2 = rss_kib();
        println!("memory over facade calls ({calls} calls per leg):");
        println!("  RSS before:              {before} KiB");
        println!("  RSS after {calls:>9} calls: {after} KiB  ({rate:.0} calls/s)");
        println!(
            "  RSS after {:>9} calls: {after2} KiB  ({rate2:.0} calls/s)",
            calls * 2
        );
        println!(
            "  growth during the 2nd leg: {} KiB",
            after2 as i64 - after as i64
        );
    });
}
