//! Durability: SIGKILL the emulator binary in the middle of a concurrent load of creates, token
//! issues, revokes and deletes, restart it on the same data directory, and check that everything it
//! acknowledged survived: every identity answered 201 still gets tokens, every revoke answered 204
//! still invalidates the tokens issued before it, every delete answered 204 stays deleted, and tokens
//! nobody revoked are still valid (so the signing key survived too). Some identities are created
//! with a custom id (2025-03-02-preview): creating again with it after the restart gives the same
//! identity (a new one once its delete was acknowledged), and `GET /identities/{id}` shows it.
//! Teams Phone extension assignments answered 201/200 are there after the restart.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use acs_test_support::Rng;
use acs_test_support::emulator::{Client, EmulatorProcess};
use tokio::sync::Mutex;

const CLIENTS: usize = 16;
/// Load runs at least this long and until the minimum counts below are acknowledged.
const MIN_LOAD: Duration = Duration::from_millis(1500);
/// ... but never longer than this before the kill.
const MAX_LOAD: Duration = Duration::from_secs(12);
const MIN_CREATES: usize = 150;
const MIN_REVOKES: usize = 20;
const MIN_DELETES: usize = 10;
const MIN_CUSTOM_IDS: usize = 20;
const MIN_ASSIGNMENTS: usize = 20;
const SCOPES: &[&str] = &["chat", "voip"];
const CREATE_WITH_TOKEN: &str = r#"{"createTokenWithScopes":["chat","voip"]}"#;
const ISSUE_BODY: &str = r#"{"scopes":["chat","voip"]}"#;
/// The tenant of the TPE assignments the load makes.
const TENANT: &str = "c70d068c-2f32-484d-9455-73070cd5aadd";

#[derive(Debug, Clone)]
enum Event {
    /// A token the emulator handed out (200/201 received).
    Token(String),
    /// A revoke sent; `acked` once its 204 arrived.
    Revoke { acked: bool },
    /// A delete sent; `acked` once its 204 arrived.
    Delete { acked: bool },
}

#[derive(Debug, Clone)]
struct IdentityLog {
    id: String,
    /// The custom id it was created with (answered 201).
    custom_id: Option<String>,
    events: Vec<Event>,
}

/// A TPE assignment whose PUT was answered 201 or 200.
#[derive(Debug, Clone)]
struct AssignmentLog {
    object_id: String,
    principal_type: &'static str,
}

#[derive(Default)]
struct Counters {
    creates: AtomicUsize,
    custom_ids: AtomicUsize,
    assignments: AtomicUsize,
    tokens: AtomicUsize,
    revokes: AtomicUsize,
    deletes: AtomicUsize,
}

/// One client: works only on identities it created itself, one request at a time, so the order of
/// its log is the order the emulator saw its requests.
async fn worker(
    client: Client,
    seed: u64,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    log: Arc<Mutex<Vec<IdentityLog>>>,
    assignments: Arc<Mutex<Vec<AssignmentLog>>>,
    unexpected: Arc<Mutex<Vec<String>>>,
) {
    let mut rng = Rng::new(seed);
    let mut mine: Vec<IdentityLog> = Vec::new();
    let mut live: Vec<usize> = Vec::new();
    let mut assigned: Vec<AssignmentLog> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if rng.below(100) < 8 {
            // A TPE assignment of a new object id (the GUID's last part from the seed and a count).
            let object_id = format!(
                "00000000-0000-4000-8000-{:06x}{:06x}",
                seed & 0xff_ffff,
                assigned.len()
            );
            let principal_type = ["user", "resourceAccount", "teamsResourceAccount"][rng.below(3)];
            let Ok(reply) = client
                .put_tpe_assignment(TENANT, &object_id, principal_type)
                .await
            else {
                break;
            };
            if reply.status == 201 {
                assigned.push(AssignmentLog {
                    object_id,
                    principal_type,
                });
                counters.assignments.fetch_add(1, Ordering::Relaxed);
            } else {
                unexpected
                    .lock()
                    .await
                    .push(format!("put assignment: {} {}", reply.status, reply.body));
            }
            continue;
        }
        if live.len() < 3 || rng.below(100) < 25 {
            let custom_id = (rng.below(100) < 30).then(|| format!("user-{seed:x}-{}", mine.len()));
            let reply = match &custom_id {
                Some(custom_id) => client.create_with_custom_id(custom_id, SCOPES).await,
                None => client.create(Some(CREATE_WITH_TOKEN)).await,
            };
            let Ok(reply) = reply else {
                break;
            };
            match (reply.status.as_u16(), reply.identity_id(), reply.token()) {
                (201, Some(id), Some(token)) => {
                    if custom_id.is_some() {
                        counters.custom_ids.fetch_add(1, Ordering::Relaxed);
                    }
                    mine.push(IdentityLog {
                        id,
                        custom_id,
                        events: vec![Event::Token(token)],
                    });
                    live.push(mine.len() - 1);
                    counters.creates.fetch_add(1, Ordering::Relaxed);
                    counters.tokens.fetch_add(1, Ordering::Relaxed);
                }
                _ => unexpected
                    .lock()
                    .await
                    .push(format!("create: {} {}", reply.status, reply.body)),
            }
            continue;
        }
        let slot = rng.below(live.len());
        let index = live[slot];
        let id = mine[index].id.clone();
        let roll = rng.below(100);
        if roll < 60 {
            let Ok(reply) = client.issue(&id, ISSUE_BODY).await else {
                break;
            };
            match (reply.status.as_u16(), reply.token()) {
                (200, Some(token)) => {
                    mine[index].events.push(Event::Token(token));
                    counters.tokens.fetch_add(1, Ordering::Relaxed);
                }
                _ => unexpected
                    .lock()
                    .await
                    .push(format!("issue: {} {}", reply.status, reply.body)),
            }
        } else if roll < 85 {
            mine[index].events.push(Event::Revoke { acked: false });
            let Ok(reply) = client.revoke(&id).await else {
                break;
            };
            if reply.status == 204 {
                if let Some(Event::Revoke { acked }) = mine[index].events.last_mut() {
                    *acked = true;
                }
                counters.revokes.fetch_add(1, Ordering::Relaxed);
            } else {
                unexpected
                    .lock()
                    .await
                    .push(format!("revoke: {} {}", reply.status, reply.body));
            }
        } else {
            mine[index].events.push(Event::Delete { acked: false });
            live.swap_remove(slot);
            let Ok(reply) = client.delete(&id).await else {
                break;
            };
            if reply.status == 204 {
                if let Some(Event::Delete { acked }) = mine[index].events.last_mut() {
                    *acked = true;
                }
                counters.deletes.fetch_add(1, Ordering::Relaxed);
            } else {
                unexpected
                    .lock()
                    .await
                    .push(format!("delete: {} {}", reply.status, reply.body));
            }
        }
    }
    log.lock().await.extend(mine);
    assignments.lock().await.extend(assigned);
}

/// Whether the emulator's `POST /emulator/tokens:validate` calls `token` valid.
async fn is_valid(client: &Client, token: &str) -> bool {
    let answer = client.validate(token).await;
    assert!(
        answer["valid"].is_boolean(),
        "validate answers no boolean `valid`: {answer}"
    );
    answer["valid"] == true
}

/// What must hold after the restart for one acknowledged token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Valid,
    Invalid,
    Unknown,
}

fn token_expectations(events: &[Event]) -> Vec<(String, Expect)> {
    let mut out = Vec::new();
    for (i, event) in events.iter().enumerate() {
        if let Event::Token(token) = event {
            let later = &events[i + 1..];
            let acked_revocation = later.iter().any(|e| {
                matches!(
                    e,
                    Event::Revoke { acked: true } | Event::Delete { acked: true }
                )
            });
            let pending = later
                .iter()
                .any(|e| matches!(e, Event::Revoke { .. } | Event::Delete { .. }));
            let expect = if acked_revocation {
                Expect::Invalid
            } else if pending {
                Expect::Unknown
            } else {
                Expect::Valid
            };
            out.push((token.clone(), expect));
        }
    }
    out
}

fn spawn_on(
    binary: &Path,
    listen: &str,
    data_dir: &Path,
    log: &Path,
) -> Result<EmulatorProcess, String> {
    let args = vec![
        "--listen".to_owned(),
        listen.to_owned(),
        "--data-dir".to_owned(),
        data_dir.display().to_string(),
    ];
    EmulatorProcess::spawn(binary, &args, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_and_restart() {
    let started = Instant::now();
    // Built by cargo before this test (a binary of this package).
    let binary = Path::new(env!("CARGO_BIN_EXE_acs-identity-emulator"));
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();

    // First life: no key or resource id given, so the emulator generates and stores them.
    let mut first = spawn_on(
        binary,
        "127.0.0.1:0",
        &data_dir,
        &temp.path().join("first.log"),
    )
    .unwrap();
    let port = first.port().unwrap();
    let connection_string = first.connection_string.clone();
    let client = first.client();

    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(Counters::default());
    let log = Arc::new(Mutex::new(Vec::new()));
    let assignment_log = Arc::new(Mutex::new(Vec::new()));
    let unexpected = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for n in 0..CLIENTS {
        workers.push(tokio::spawn(worker(
            client.clone(),
            0xD0_0000 + n as u64,
            stop.clone(),
            counters.clone(),
            log.clone(),
            assignment_log.clone(),
            unexpected.clone(),
        )));
    }

    let load_started = Instant::now();
    loop {
        let elapsed = load_started.elapsed();
        let enough = counters.creates.load(Ordering::Relaxed) >= MIN_CREATES
            && counters.revokes.load(Ordering::Relaxed) >= MIN_REVOKES
            && counters.deletes.load(Ordering::Relaxed) >= MIN_DELETES
            && counters.custom_ids.load(Ordering::Relaxed) >= MIN_CUSTOM_IDS
            && counters.assignments.load(Ordering::Relaxed) >= MIN_ASSIGNMENTS;
        if (enough && elapsed >= MIN_LOAD) || elapsed >= MAX_LOAD {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Kill while the 16 clients still have requests in flight.
    assert!(
        first.is_running(),
        "the emulator died on its own during the load"
    );
    first.kill_hard();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        tokio::time::timeout(Duration::from_secs(15), worker)
            .await
            .unwrap()
            .unwrap();
    }
    let unexpected = unexpected.lock().await.clone();
    assert!(
        unexpected.is_empty(),
        "unexpected statuses during the load: {unexpected:#?}"
    );
    let identities = log.lock().await.clone();
    let creates = counters.creates.load(Ordering::Relaxed);
    let revokes = counters.revokes.load(Ordering::Relaxed);
    let deletes = counters.deletes.load(Ordering::Relaxed);
    let custom_ids = counters.custom_ids.load(Ordering::Relaxed);
    let assignments = assignment_log.lock().await.clone();
    assert!(
        creates >= 20 && revokes >= 1 && deletes >= 1 && custom_ids >= 1 && !assignments.is_empty(),
        "too little load was acknowledged before the kill to prove anything: {creates} creates \
         ({custom_ids} with a custom id), {revokes} revokes, {deletes} deletes, {} assignments",
        assignments.len()
    );

    // Second life: same data directory, same port, no key given: the same connection string works.
    let mut second = None;
    let restart_deadline = Instant::now() + Duration::from_secs(10);
    while second.is_none() {
        match spawn_on(
            binary,
            &format!("127.0.0.1:{port}"),
            &data_dir,
            &temp.path().join("second.log"),
        ) {
            Ok(process) => second = Some(process),
            Err(e) if Instant::now() < restart_deadline => {
                eprintln!("restart failed, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot restart the emulator on the same data directory: {e}"),
        }
    }
    let second = second.unwrap();
    assert_eq!(
        second.connection_string, connection_string,
        "the restarted emulator must print the same connection string (stored key, same endpoint)"
    );
    // The old client (built from the first connection string) keeps working.
    let checks = Arc::new(tokio::sync::Semaphore::new(CLIENTS));
    let mut tasks = tokio::task::JoinSet::new();
    let (mut must_exist, mut must_be_gone, mut must_be_valid, mut must_be_invalid) = (0, 0, 0, 0);
    for identity in identities {
        let last = identity
            .events
            .iter()
            .rev()
            .find(|e| matches!(e, Event::Delete { .. }))
            .cloned();
        let exists = match last {
            Some(Event::Delete { acked: true }) => Some(false),
            Some(_) => None,
            None => Some(true),
        };
        match exists {
            Some(true) => must_exist += 1,
            Some(false) => must_be_gone += 1,
            None => {}
        }
        let tokens = token_expectations(&identity.events);
        must_be_valid += tokens.iter().filter(|(_, e)| *e == Expect::Valid).count();
        must_be_invalid += tokens.iter().filter(|(_, e)| *e == Expect::Invalid).count();
        let client = client.clone();
        let permits = checks.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            let mut failures = Vec::new();
            for (token, expect) in tokens {
                let valid = is_valid(&client, &token).await;
                match expect {
                    Expect::Valid if !valid => failures.push(format!(
                        "{}: an unrevoked token became invalid",
                        identity.id
                    )),
                    Expect::Invalid if valid => failures.push(format!(
                        "{}: a token issued before an acknowledged revoke/delete is valid again",
                        identity.id
                    )),
                    _ => {}
                }
            }
            if let (Some(exists), Some(custom_id)) = (exists, &identity.custom_id) {
                // Created again with its custom id: the same identity while it lives, a new one
                // once its delete was acknowledged.
                let reply = client
                    .create_with_custom_id(custom_id, SCOPES)
                    .await
                    .unwrap();
                let again = reply.identity_id();
                if reply.status != 201 || (again.as_deref() == Some(identity.id.as_str())) != exists
                {
                    failures.push(format!(
                        "{}: custom id {custom_id} lost ({} {})",
                        identity.id, reply.status, reply.body
                    ));
                }
                let got = client.get_identity(&identity.id).await.unwrap();
                let shown = got.body.get("customId").and_then(|v| v.as_str());
                if exists && (got.status != 200 || shown != Some(custom_id.as_str())) {
                    failures.push(format!(
                        "{}: GET lost the custom id ({} {})",
                        identity.id, got.status, got.body
                    ));
                }
            }
            if let Some(exists) = exists {
                let reply = client.issue(&identity.id, ISSUE_BODY).await.unwrap();
                if exists && reply.status != 200 {
                    failures.push(format!(
                        "{}: acknowledged identity lost ({} {})",
                        identity.id, reply.status, reply.body
                    ));
                }
                if !exists && !reply.status.is_client_error() {
                    failures.push(format!(
                        "{}: acknowledged delete undone ({} {})",
                        identity.id, reply.status, reply.body
                    ));
                }
                if exists && reply.status == 200 {
                    // A token issued after the restart is valid: the revocations did not leak onto it.
                    let fresh = reply.token().unwrap_or_default();
                    if !is_valid(&client, &fresh).await {
                        failures.push(format!(
                            "{}: a token issued after the restart is invalid",
                            identity.id
                        ));
                    }
                }
            }
            failures
        });
    }
    let mut failures = Vec::new();
    while let Some(result) = tasks.join_next().await {
        failures.extend(result.unwrap());
    }
    for assignment in &assignments {
        let reply = client
            .get_tpe_assignment(TENANT, &assignment.object_id)
            .await
            .unwrap();
        let principal_type = reply.body.get("principalType").and_then(|v| v.as_str());
        if reply.status != 200 || principal_type != Some(assignment.principal_type) {
            failures.push(format!(
                "TPE assignment {} lost ({} {})",
                assignment.object_id, reply.status, reply.body
            ));
        }
    }
    println!(
        "durability: acknowledged before SIGKILL: {creates} creates ({custom_ids} with a custom id), {revokes} revokes, \
         {deletes} deletes, {} TPE assignments, {} tokens; \
         checked after restart: {must_exist} identities present, {must_be_gone} deleted, {must_be_valid} tokens valid, \
         {must_be_invalid} tokens revoked, every custom id and assignment; total {:.1}s",
        assignments.len(),
        counters.tokens.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} durability violations: {failures:#?}",
        failures.len()
    );
    assert!(must_exist > 0 && must_be_gone > 0 && must_be_invalid > 0 && must_be_valid > 0);
    drop(second);
    for log in ["first.log", "second.log"] {
        let text = std::fs::read_to_string(temp.path().join(log)).unwrap();
        let bad: Vec<&str> = text
            .lines()
            .filter(|line| line.contains("status=5") || line.contains("panicked"))
            .take(5)
            .collect();
        assert!(
            bad.is_empty(),
            "{log}: the emulator answered 5xx or panicked: {bad:#?}"
        );
        assert!(
            text.contains("status=2"),
            "{log}: no request was logged at all"
        );
    }
}

#[test]
fn expectations_follow_the_order_of_acknowledgements() {
    let t = |s: &str| Event::Token(s.to_owned());
    let events = vec![
        t("a"),
        Event::Revoke { acked: true },
        t("b"),
        Event::Revoke { acked: false },
        t("c"),
    ];
    let got = token_expectations(&events);
    assert_eq!(
        got,
        vec![
            ("a".to_owned(), Expect::Invalid),
            ("b".to_owned(), Expect::Unknown),
            ("c".to_owned(), Expect::Valid),
        ]
    );
    let deleted = vec![t("x"), Event::Delete { acked: true }];
    assert_eq!(
        token_expectations(&deleted),
        vec![("x".to_owned(), Expect::Invalid)]
    );
}
