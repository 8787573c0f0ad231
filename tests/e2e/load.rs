//! Load driver for `scripts/load.sh`: N concurrent clients send a bounded number of mixed requests
//! (creates, creates with a token, token issues, revokes, deletes) to a freshly started emulator
//! binary, then a pure issue-token phase; prints throughput, latency, the emulator's peak memory and,
//! in the same run (just before and just after the issue-token phase, with the emulator idle), the
//! RS256 signing rate that ring, the library the emulator signs its tokens with, reaches on two
//! threads on this machine with the emulator's development key, and the ratio of the two.
//!
//! Options: `--requests N` (100000), `--clients N` (16), `--issue-requests N` (20000, split into
//! `--rounds N` (5) rounds interleaved with baseline slices of `--sign-seconds S` (1)),
//! `--mode memory|disk|both` (both). Both phases send with the signing client of `acs-test-support`
//! (reqwest). The emulator binary is `ACS_EMULATOR_BIN` (scripts/load.sh builds it in release).
//! Exits 1 on any unexpected status.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use acs_test_support::emulator::{Client, EmulatorProcess};
use acs_test_support::{Rng, cpu_seconds};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

/// The RSA-2048 key an in-memory emulator signs its tokens with (PKCS#8 DER); an emulator on a
/// data directory signs with a key of the same size generated for it, at the same cost.
const SIGNING_KEY: &[u8] =
    include_bytes!("../../crates/acs-identity-emulator/src/development-signing-key.pk8");

const KINDS: [&str; 5] = ["create", "create+token", "issue-token", "revoke", "delete"];
const CREATE: usize = 0;
const CREATE_TOKEN: usize = 1;
const ISSUE: usize = 2;
const REVOKE: usize = 3;
const DELETE: usize = 4;
const CREATE_WITH_TOKEN: &str = r#"{"createTokenWithScopes":["chat","voip"]}"#;
const ISSUE_BODY: &str = r#"{"scopes":["chat","voip"]}"#;

struct Options {
    requests: i64,
    clients: usize,
    issue_requests: i64,
    modes: Vec<&'static str>,
    sign_seconds: f64,
    rounds: usize,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        requests: 100_000,
        clients: 16,
        issue_requests: 20_000,
        modes: vec!["memory", "disk"],
        sign_seconds: 1.0,
        rounds: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--requests" => {
                options.requests = value()?.parse().map_err(|e| format!("--requests: {e}"))?
            }
            "--clients" => {
                options.clients = value()?.parse().map_err(|e| format!("--clients: {e}"))?
            }
            "--rounds" => {
                options.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?
            }
            "--issue-requests" => {
                options.issue_requests = value()?
                    .parse()
                    .map_err(|e| format!("--issue-requests: {e}"))?
            }
            "--sign-seconds" => {
                options.sign_seconds = value()?
                    .parse()
                    .map_err(|e| format!("--sign-seconds: {e}"))?
            }
            "--mode" => {
                options.modes = match value()?.as_str() {
                    "memory" => vec!["memory"],
                    "disk" => vec!["disk"],
                    "both" => vec!["memory", "disk"],
                    other => {
                        return Err(format!(
                            "--mode: expected memory, disk or both, got {other}"
                        ));
                    }
                }
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if options.clients == 0 || options.requests < 0 || options.issue_requests < 0 {
        return Err("--clients must be positive and counts non-negative".to_owned());
    }
    Ok(options)
}

/// Signatures per second of RS256 (RSA-2048, PKCS#1 v1.5, SHA-256) over a JWT-sized signing input,
/// with `threads` threads signing in a loop for `seconds`; also signatures per CPU-second used.
/// The library (ring), the key and the call are the emulator's (`tokens.rs`).
fn rs256_rate(threads: usize, seconds: f64) -> Result<(f64, f64), String> {
    let key =
        Arc::new(RsaKeyPair::from_pkcs8(SIGNING_KEY).map_err(|e| format!("the signing key: {e}"))?);
    // A signing input the size of an emulator access token's header.payload (about 600 bytes).
    let header = r#"{"alg":"RS256","kid":"0123456789abcdef0123456789abcdef","typ":"JWT"}"#;
    let payload = r#"{"skypeid":"acs:3fa85f64-5717-4562-b3fc-2c963f66afa6_00000025-1b2c-3d4e-5f60-718293a4b5c6","scp":1792,"csi":"1764172800","exp":1764259200,"acsScope":"chat,voip","resourceId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","resourceLocation":"unitedstates","iat":1764172800}"#;
    let input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(payload.as_bytes())
    );
    let deadline = Duration::from_secs_f64(seconds);
    let cpu_before = cpu_seconds(None);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let key = key.clone();
            let input = input.clone();
            std::thread::spawn(move || {
                let rng = SystemRandom::new();
                let mut signature = vec![0u8; key.public().modulus_len()];
                let mut count = 0u64;
                let started = Instant::now();
                while started.elapsed() < deadline {
                    if key
                        .sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut signature)
                        .is_err()
                    {
                        return Err("RSA signing failed".to_owned());
                    }
                    count += 1;
                }
                Ok(count)
            })
        })
        .collect();
    let mut total = 0u64;
    for handle in handles {
        total += handle
            .join()
            .map_err(|_| "signing thread panicked".to_owned())??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(None)
        .zip(cpu_before)
        .map_or(f64::NAN, |(b, a)| b - a);
    Ok((total as f64 / elapsed, total as f64 / cpu))
}

fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 3);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

async fn baseline(seconds: f64) -> Result<(f64, f64), String> {
    tokio::task::spawn_blocking(move || rs256_rate(2, seconds))
        .await
        .map_err(|e| format!("baseline task failed: {e}"))?
}

#[derive(Default)]
struct Stats {
    latencies_us: [Vec<u32>; 5],
    unexpected: u64,
    samples: Vec<String>,
}

impl Stats {
    fn record(&mut self, kind: usize, started: Instant, ok: bool, what: impl FnOnce() -> String) {
        self.latencies_us[kind]
            .push(started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        if !ok {
            self.unexpected += 1;
            if self.samples.len() < 10 {
                self.samples.push(format!("{}: {}", KINDS[kind], what()));
            }
        }
    }

    fn merge(&mut self, other: Stats) {
        for (mine, theirs) in self.latencies_us.iter_mut().zip(other.latencies_us) {
            mine.extend(theirs);
        }
        self.unexpected += other.unexpected;
        self.samples.extend(other.samples.into_iter().take(10));
    }
}

fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[index]) / 1000.0
}

/// One client of the mixed phase: keeps its own pool of identities.
async fn mixed_client(client: Client, seed: u64, budget: Arc<AtomicI64>) -> Stats {
    let mut rng = Rng::new(seed);
    let mut stats = Stats::default();
    let mut pool: Vec<String> = Vec::new();
    while budget.fetch_sub(1, Ordering::Relaxed) > 0 {
        let roll = rng.below(100);
        let started = Instant::now();
        if pool.len() < 4 || roll < 10 {
            let with_token = roll.is_multiple_of(2);
            let kind = if with_token { CREATE_TOKEN } else { CREATE };
            match client
                .create(Some(if with_token { CREATE_WITH_TOKEN } else { "{}" }))
                .await
            {
                Ok(reply) => {
                    let id = reply.identity_id();
                    let ok = reply.status == 201
                        && id.is_some()
                        && (reply.token().is_some() == with_token);
                    stats.record(kind, started, ok, || {
                        format!("{} {}", reply.status, reply.body)
                    });
                    if let (true, Some(id)) = (ok, id) {
                        pool.push(id);
                    }
                }
                Err(e) => stats.record(kind, started, false, || e),
            }
            continue;
        }
        let slot = rng.below(pool.len());
        if roll < 75 {
            match client.issue(&pool[slot], ISSUE_BODY).await {
                Ok(reply) => {
                    let ok = reply.status == 200 && reply.token().is_some();
                    stats.record(ISSUE, started, ok, || {
                        format!("{} {}", reply.status, reply.body)
                    });
                }
                Err(e) => stats.record(ISSUE, started, false, || e),
            }
        } else if roll < 90 {
            match client.revoke(&pool[slot]).await {
                Ok(reply) => stats.record(REVOKE, started, reply.status == 204, || {
                    format!("{} {}", reply.status, reply.body)
                }),
                Err(e) => stats.record(REVOKE, started, false, || e),
            }
        } else {
            let id = pool.swap_remove(slot);
            match client.delete(&id).await {
                Ok(reply) => stats.record(DELETE, started, reply.status == 204, || {
                    format!("{} {}", reply.status, reply.body)
                }),
                Err(e) => stats.record(DELETE, started, false, || e),
            }
        }
    }
    stats
}

/// One client of the issue-token phase: issues tokens for its own identities, round-robin.
async fn issue_client(client: Client, ids: Vec<String>, budget: Arc<AtomicI64>) -> Stats {
    let mut stats = Stats::default();
    let mut next = 0usize;
    while budget.fetch_sub(1, Ordering::Relaxed) > 0 {
        let started = Instant::now();
        match client.issue(&ids[next % ids.len()], ISSUE_BODY).await {
            Ok(reply) => {
                let ok = reply.status == 200 && reply.token().is_some();
                stats.record(ISSUE, started, ok, || {
                    format!("{} {}", reply.status, reply.body)
                });
            }
            Err(e) => stats.record(ISSUE, started, false, || e),
        }
        next += 1;
    }
    stats
}

struct VariantResult {
    unexpected: u64,
}

async fn run_variant(mode: &str, options: &Options) -> Result<VariantResult, String> {
    let binary = std::env::var_os("ACS_EMULATOR_BIN")
        .map(std::path::PathBuf::from)
        .ok_or("set ACS_EMULATOR_BIN to the emulator binary (scripts/load.sh does)")?;
    let temp = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let mut args = vec!["--listen".to_owned(), "127.0.0.1:0".to_owned()];
    if mode == "memory" {
        args.push("--in-memory".to_owned());
    } else {
        args.push("--data-dir".to_owned());
        args.push(temp.path().join("data").display().to_string());
    }
    let emulator = EmulatorProcess::spawn(&binary, &args, &temp.path().join("emulator.log"))?;
    println!(
        "\n== {mode}: {} (pid {}) ==",
        binary.display(),
        emulator.pid()
    );
    let client = emulator.client();

    // Mixed phase.
    let budget = Arc::new(AtomicI64::new(options.requests));
    let started = Instant::now();
    let handles: Vec<_> = (0..options.clients)
        .map(|n| {
            tokio::spawn(mixed_client(
                client.clone(),
                0x10AD_0000 + n as u64,
                budget.clone(),
            ))
        })
        .collect();
    let mut mixed = Stats::default();
    for handle in handles {
        mixed.merge(
            handle
                .await
                .map_err(|e| format!("client task failed: {e}"))?,
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total: usize = mixed.latencies_us.iter().map(Vec::len).sum();
    println!(
        "mixed: {total} requests by {} clients in {elapsed:.2} s = {:.0} req/s; unexpected statuses: {}",
        options.clients,
        total as f64 / elapsed,
        mixed.unexpected
    );
    for (kind, latencies) in mixed.latencies_us.iter_mut().enumerate() {
        latencies.sort_unstable();
        println!(
            "  {:<13} {:>6} requests  p50 {:>6.2} ms  p99 {:>6.2} ms",
            KINDS[kind],
            latencies.len(),
            percentile_ms(latencies, 0.50),
            percentile_ms(latencies, 0.99)
        );
    }

    // Issue-token phase on fresh identities (4 per client).
    let mut ids_per_client = Vec::new();
    for _ in 0..options.clients {
        let mut ids = Vec::new();
        for _ in 0..4 {
            let reply = client.create(None).await?;
            ids.push(
                reply
                    .identity_id()
                    .ok_or_else(|| format!("create failed: {} {}", reply.status, reply.body))?,
            );
        }
        ids_per_client.push(ids);
    }
    println!("issue-token client: reqwest, as in the mixed phase");
    // Interleaved with the RS256 baseline (slice, round, slice, round, ..., slice) so both see the
    // same load from whatever else runs on the machine; each round is compared with the mean of the
    // slices on either side of it.
    let rounds = options.rounds.max(1);
    let per_round = (options.issue_requests / rounds as i64).max(1);
    let mut slices = vec![baseline(options.sign_seconds).await?];
    let mut issue = Stats::default();
    let (mut issue_elapsed, mut emulator_cpu, mut client_cpu) = (0.0, 0.0, 0.0);
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let emulator_before = cpu_seconds(Some(emulator.pid()));
        let client_before = cpu_seconds(None);
        let started = Instant::now();
        let before = issue.latencies_us[ISSUE].len();
        let budget = Arc::new(AtomicI64::new(per_round));
        let handles: Vec<_> = ids_per_client
            .iter()
            .map(|ids| tokio::spawn(issue_client(client.clone(), ids.clone(), budget.clone())))
            .collect();
        for handle in handles {
            issue.merge(
                handle
                    .await
                    .map_err(|e| format!("client task failed: {e}"))?,
            );
        }
        let elapsed = started.elapsed().as_secs_f64();
        issue_elapsed += elapsed;
        emulator_cpu += cpu_seconds(Some(emulator.pid()))
            .zip(emulator_before)
            .map_or(f64::NAN, |(b, a)| b - a);
        client_cpu += cpu_seconds(None)
            .zip(client_before)
            .map_or(f64::NAN, |(b, a)| b - a);
        slices.push(baseline(options.sign_seconds).await?);
        let rate = (issue.latencies_us[ISSUE].len() - before) as f64 / elapsed;
        let sign_rate = (slices[round].0 + slices[round + 1].0) / 2.0;
        ratios.push(rate / sign_rate);
        println!(
            "  issue-token round {}: {rate:.0} tokens/s; RS256 on 2 threads around it: {sign_rate:.0} signatures/s; ratio {:.2}",
            round + 1,
            rate / sign_rate
        );
    }
    let issued = &mut issue.latencies_us[ISSUE];
    issued.sort_unstable();
    let issue_rate = issued.len() as f64 / issue_elapsed;
    println!(
        "issue-token: {} requests by {} clients in {issue_elapsed:.2} s = {issue_rate:.0} tokens/s  p50 {:.2} ms  p99 {:.2} ms; unexpected statuses: {}",
        issued.len(),
        options.clients,
        percentile_ms(issued, 0.50),
        percentile_ms(issued, 0.99),
        issue.unexpected
    );
    let sign_rate = slices.iter().map(|s| s.0).sum::<f64>() / slices.len() as f64;
    let sign_per_cpu_second = slices.iter().map(|s| s.1).sum::<f64>() / slices.len() as f64;
    println!(
        "RS256 baseline (ring, the emulator's library, its in-memory key, RSA-2048 PKCS#1 SHA-256, 2 threads, JWT-sized input, emulator idle): \
         mean {sign_rate:.0} signatures/s over {} slices of {:.1} s",
        slices.len(),
        options.sign_seconds
    );
    ratios.sort_by(f64::total_cmp);
    println!(
        "ratio issue-token / RS256 on 2 threads: median {:.2} of {} rounds (min {:.2}, max {:.2}; goal >= 0.7)",
        ratios[ratios.len() / 2],
        ratios.len(),
        ratios[0],
        ratios[ratios.len() - 1]
    );
    let per_cpu_second = issued.len() as f64 / emulator_cpu;
    println!(
        "CPU during the issue-token rounds: emulator {emulator_cpu:.2} s, load client {client_cpu:.2} s \
         (of {:.2} s on 2 cores); {per_cpu_second:.0} tokens per emulator CPU-second vs \
         {sign_per_cpu_second:.0} signatures per baseline CPU-second ({:.2})",
        2.0 * issue_elapsed,
        per_cpu_second / sign_per_cpu_second
    );
    match emulator.peak_rss_kib() {
        Some(kib) => println!(
            "emulator peak memory (VmHWM): {:.1} MiB",
            kib as f64 / 1024.0
        ),
        None => println!("emulator peak memory (VmHWM): unavailable"),
    }
    for sample in mixed.samples.iter().chain(&issue.samples) {
        println!("  unexpected: {sample}");
    }
    Ok(VariantResult {
        unexpected: mixed.unexpected + issue.unexpected,
    })
}

#[tokio::main]
async fn main() {
    let options = match parse_options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(2);
        }
    };
    let mut failed = false;
    for mode in options.modes.clone() {
        match run_variant(mode, &options).await {
            Ok(result) => failed |= result.unexpected > 0,
            Err(e) => {
                eprintln!("load ({mode}): {e}");
                failed = true;
            }
        }
    }
    if failed {
        println!("load: FAILED (unexpected statuses or errors above)");
        std::process::exit(1);
    }
    println!("load: OK, zero unexpected statuses");
}
