//! `get_token` throughput at concurrency 16 against a local fixed-response server: the facade, a
//! bare reqwest loop that signs and decodes the same call by hand, and the same call on
//! azure_core's `Pipeline` (its retry, client request id and user agent policies, an HMAC policy
//! per try, a transport over the same reqwest client); and the facade's RSS before and after N
//! calls.
//!
//! Run: `cargo bench -p acs-identity-tests --bench get_token` (N = `ACS_BENCH_CALLS`, default 200000;
//! `ACS_BENCH_PROFILE=facade|bare|azure_core` runs only that side, for a profiler).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

use acs_identity::{CommunicationIdentityClient, CommunicationUserIdentifier, TokenScope};
use azure_core::error::ErrorKind;
use azure_core::http::headers;
use azure_core::http::policies::{Policy, PolicyResult};

use acs_test_support::{KEY, cpu_seconds, rss_kib};
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

/// The request URL of one `get_token` call for [`USER`], as every client builds it per call.
fn token_url(endpoint: &str) -> String {
    format!(
        "{endpoint}/identities/{}/:issueAccessToken?api-version=2023-10-01",
        USER.replace(':', "%3A")
    )
}

/// The JSON request body of one call: `{"scopes":["chat"]}`.
fn issue_body() -> Vec<u8> {
    serde_json::to_vec(&IssueBody { scopes: &["chat"] }).unwrap_or_default()
}

/// Decodes a response body to what the facade returns: the token and its expiry as a date-time.
fn decode_token(body: &[u8]) -> Option<(String, time::OffsetDateTime)> {
    let t = serde_json::from_slice::<Token>(body).ok()?;
    let at = time::OffsetDateTime::parse(
        &t.expires_on,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()?;
    Some((t.token, at))
}

/// Signs every try of a request on an azure_core pipeline with the ACS HMAC scheme, over the
/// method, target, host and body as sent, at the time of the try.
#[derive(Debug)]
struct HmacPolicy {
    key: acs_auth::AccessKey,
}

// `Context` without `<'_>` as in the trait: async_trait needs the lifetime late-bound, as there.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl Policy for HmacPolicy {
    async fn send(
        &self,
        ctx: &azure_core::http::Context,
        request: &mut azure_core::http::Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let signed = {
            let azure_core::http::Body::Bytes(body) = request.body() else {
                return Err(azure_core::Error::with_message(
                    ErrorKind::Other,
                    "cannot sign a streaming body",
                ));
            };
            let url = request.url();
            let Some(host) = acs_auth::request_host(url) else {
                return Err(azure_core::Error::with_message(
                    ErrorKind::Other,
                    "cannot sign a request whose URL has no host",
                ));
            };
            acs_auth::sign(
                &self.key,
                &acs_auth::RequestToSign {
                    method: request.method().as_str(),
                    path_and_query: acs_auth::request_target(url),
                    host: &host,
                    body,
                },
                SystemTime::now(),
            )
        };
        request.insert_header(acs_auth::X_MS_DATE, signed.date);
        request.insert_header(acs_auth::X_MS_CONTENT_SHA256, signed.content_sha256);
        request.insert_header(headers::AUTHORIZATION, signed.authorization);
        next[0].send(ctx, request, &next[1..]).await
    }
}

/// azure_core's `HttpClient` over a `reqwest::Client` (azure_core's own is behind its `reqwest`
/// feature, which the workspace leaves off): sends the request as built, returns the whole body.
#[derive(Debug)]
struct ReqwestTransport(reqwest::Client);

#[async_trait::async_trait]
impl azure_core::http::HttpClient for ReqwestTransport {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        let io = |e: reqwest::Error| azure_core::Error::new(ErrorKind::Io, e);
        let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes())
            .map_err(|e| azure_core::Error::new(ErrorKind::Other, e))?;
        let mut builder = self.0.request(method, request.url().clone());
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body = match request.body() {
            azure_core::http::Body::Bytes(bytes) => bytes.clone(),
            azure_core::http::Body::SeekableStream(_) => {
                return Err(azure_core::Error::with_message(
                    ErrorKind::Other,
                    "streaming bodies are not used by this bench",
                ));
            }
        };
        let response = self
            .0
            .execute(builder.body(body).build().map_err(io)?)
            .await
            .map_err(io)?;
        let status = azure_core::http::StatusCode::from(response.status().as_u16());
        let mut response_headers = azure_core::http::headers::Headers::new();
        for (name, value) in response.headers() {
            if let Ok(value) = value.to_str() {
                response_headers.insert(name.as_str().to_owned(), value.to_owned());
            }
        }
        let body = response.bytes().await.map_err(io)?;
        Ok(azure_core::http::AsyncRawResponse::from_bytes(
            status,
            response_headers,
            body,
        ))
    }
}

/// azure_core's pipeline for the call: its client request id and user agent policies per call,
/// its exponential retry with the facade's limits (3 retries, 800 ms first delay, 60 s cap),
/// [`HmacPolicy`] per try, and [`ReqwestTransport`] over `http`.
fn azure_pipeline(http: reqwest::Client, key: acs_auth::AccessKey) -> azure_core::http::Pipeline {
    let options = azure_core::http::ClientOptions {
        retry: azure_core::http::RetryOptions::exponential(
            azure_core::http::ExponentialRetryOptions {
                max_retries: 3,
                initial_delay: time::Duration::milliseconds(800),
                max_delay: time::Duration::seconds(60),
                ..Default::default()
            },
        ),
        transport: Some(azure_core::http::Transport::new(Arc::new(
            ReqwestTransport(http),
        ))),
        ..Default::default()
    };
    azure_core::http::Pipeline::new(
        Some("azure_communication_identity"),
        Some(env!("CARGO_PKG_VERSION")),
        options,
        Vec::new(),
        vec![Arc::new(HmacPolicy { key })],
        None,
    )
}

/// Runs `calls` calls of `one` at the configured concurrency; returns (calls/s, CPU µs per call,
/// counting the whole process: client and server).
async fn run<F, Fut>(calls: usize, one: F) -> (f64, f64)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let left = Arc::new(AtomicUsize::new(calls));
    let cpu_before = cpu_seconds(None).unwrap_or(0.0);
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
    let cpu_us = (cpu_seconds(None).unwrap_or(0.0) - cpu_before) * 1e6 / calls as f64;
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
        let bare_one = {
            let http = http.clone();
            let key = key.clone();
            let endpoint = endpoint.clone();
            move || {
                let http = http.clone();
                let key = key.clone();
                let endpoint = endpoint.clone();
                async move {
                    let Ok(url) = reqwest::Url::parse(&token_url(&endpoint)) else {
                        return;
                    };
                    let mut request = reqwest::Request::new(reqwest::Method::POST, url);
                    // The same headers as the facade's call: user agent, request id, accept.
                    let h = request.headers_mut();
                    h.insert("content-type", reqwest::header::HeaderValue::from_static("application/json"));
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
                    *request.body_mut() = Some(reqwest::Body::from(issue_body()));
                    if acs_auth::sign_request(&mut request, &key, SystemTime::now()).is_err() {
                        return;
                    }
                    match http.execute(request).await {
                        Ok(response) if response.status() != reqwest::StatusCode::OK => {
                            eprintln!("bare call: status {}", response.status());
                        }
                        Ok(response) => match response.bytes().await {
                            Ok(body) => {
                                if decode_token(&body).is_none() {
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

        // The same call on azure_core's pipeline: its client request id, user agent, retry and
        // logging policies, our HMAC policy per try, and a transport over the same reqwest client.
        let pipeline = Arc::new(azure_pipeline(http, key));
        let azure_core_one = {
            move || {
                let pipeline = pipeline.clone();
                let endpoint = endpoint.clone();
                async move {
                    let Ok(url) = azure_core::http::Url::parse(&token_url(&endpoint)) else {
                        return;
                    };
                    let mut request = azure_core::http::Request::new(url, azure_core::http::Method::Post);
                    request.insert_header(headers::CONTENT_TYPE, "application/json");
                    request.insert_header(headers::ACCEPT, "application/json");
                    request.insert_header("x-ms-return-client-request-id", "true");
                    request.set_body(issue_body());
                    // `send` runs `check_success`: a status other than 2xx is an error.
                    match pipeline.send(&azure_core::http::Context::new(), &mut request, None).await {
                        Ok(response) if response.status() != azure_core::http::StatusCode::Ok => {
                            eprintln!("azure_core call: status {}", response.status());
                        }
                        Ok(response) => {
                            if decode_token(response.body()).is_none() {
                                eprintln!("azure_core decode failed");
                            }
                        }
                        Err(e) => eprintln!("azure_core call failed: {e}"),
                    }
                }
            }
        };

        // For profiling one side alone: ACS_BENCH_PROFILE=facade|bare|azure_core runs only that
        // loop.
        if let Ok(side) = std::env::var("ACS_BENCH_PROFILE") {
            let (rate, cpu) = match side.as_str() {
                "bare" => run(calls, bare_one).await,
                "azure_core" => run(calls, azure_core_one).await,
                _ => run(calls, facade_one).await,
            };
            println!(
                "{side}: {rate:.0} calls/s, {cpu:.1} CPU µs/call at concurrency {}",
                concurrency()
            );
            return;
        }

        // Warm up all three, then measure them in turn.
        run(2_000, facade_one.clone()).await;
        run(2_000, bare_one.clone()).await;
        run(2_000, azure_core_one.clone()).await;
        let quick = (calls / 4).max(1_000);
        let rounds: usize = std::env::var("ACS_BENCH_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3);
        let mut bare = Vec::new();
        let mut facade = Vec::new();
        let mut azure = Vec::new();
        // Each round runs the three back to back, the order rotating from round to round (bare
        // first, then facade first, then azure_core first, ...) so a drift in the machine's speed
        // does not favour one side.
        for round in 0..rounds {
            for turn in 0..3 {
                match (round + turn) % 3 {
                    0 => bare.push(run(quick, bare_one.clone()).await),
                    1 => facade.push(run(quick, facade_one.clone()).await),
                    _ => azure.push(run(quick, azure_core_one.clone()).await),
                }
            }
        }
        let median = |v: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| {
            let mut xs: Vec<f64> = v.iter().map(pick).collect();
            xs.sort_by(f64::total_cmp);
            xs[xs.len() / 2]
        };
        let (bare_rate, bare_cpu) = (median(&bare, |r| r.0), median(&bare, |r| r.1));
        let (facade_rate, facade_cpu) = (median(&facade, |r| r.0), median(&facade, |r| r.1));
        let (azure_rate, azure_cpu) = (median(&azure, |r| r.0), median(&azure, |r| r.1));
        // azure_core's errors capture a backtrace when RUST_BACKTRACE (or RUST_LIB_BACKTRACE)
        // asks for one, and its client request id policy makes one per call (a header lookup that
        // misses): its figures depend on that setting, so the run names it.
        let backtrace = ["RUST_LIB_BACKTRACE", "RUST_BACKTRACE"]
            .iter()
            .find_map(|name| std::env::var(name).ok().map(|v| format!("{name}={v}")))
            .unwrap_or_else(|| "RUST_BACKTRACE unset".to_owned());
        println!(
            "get_token, concurrency {}, {quick} calls per round, {rounds} rotated rounds (medians), {backtrace}:",
            concurrency()
        );
        println!(
            "  bare reqwest loop (sign + decode by hand): {bare_rate:>9.0} calls/s  {bare_cpu:>6.1} CPU µs/call"
        );
        println!(
            "  acs-identity facade:                       {facade_rate:>9.0} calls/s  {facade_cpu:>6.1} CPU µs/call"
        );
        println!(
            "  azure_core Pipeline + HMAC policy:         {azure_rate:>9.0} calls/s  {azure_cpu:>6.1} CPU µs/call"
        );
        // Each round ran the three back to back, so its ratios see nearly the same machine: the
        // median of the per-round ratios is the figure least moved by other load.
        for (name, side, rate, cpu) in [
            ("facade", &facade, facade_rate, facade_cpu),
            ("azure_core", &azure, azure_rate, azure_cpu),
        ] {
            println!(
                "  ratio {name} / bare, calls/s: {:>6.3};  bare / {name}, CPU per call: {:>6.3}",
                rate / bare_rate,
                bare_cpu / cpu
            );
            let mut per_round: Vec<f64> = bare.iter().zip(side).map(|(b, s)| s.0 / b.0).collect();
            per_round.sort_by(f64::total_cmp);
            println!(
                "  ratio {name} / bare, calls/s, median of {} rounds: {:>5.3}  (min {:.3}, max {:.3})",
                per_round.len(),
                per_round[per_round.len() / 2],
                per_round[0],
                per_round[per_round.len() - 1]
            );
        }
        println!(
            "  rounds calls/s: bare {:.0?}, facade {:.0?}, azure_core {:.0?}",
            bare.iter().map(|r| r.0).collect::<Vec<_>>(),
            facade.iter().map(|r| r.0).collect::<Vec<_>>(),
            azure.iter().map(|r| r.0).collect::<Vec<_>>()
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
