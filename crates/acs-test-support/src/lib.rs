//! What the workspace's test suites share, in one place: the test access key, the workspace root
//! and the upstream data beside it, a clock the test moves, a seeded generator, JWT decoding, and (feature
//! `emulator`) the emulator started in process or as its binary with a client that signs every
//! request with `acs-auth`; and cargo started for a nested build as a user's terminal starts it
//! ([`cargo`], which xtask's cargo commands use too). Not published (`publish = false`).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "emulator")]
pub mod emulator;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use acs_auth::Clock;

/// The access key the tests sign with: base64 of `secretkey` four times (the key of the peer-wire
/// captures of the official SDKs).
pub const KEY: &str = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5";

/// [`KEY`] as an [`acs_auth::AccessKey`].
pub fn access_key() -> acs_auth::AccessKey {
    match acs_auth::AccessKey::from_base64(KEY) {
        Ok(key) => key,
        Err(e) => unreachable!("the test key is base64: {e}"),
    }
}

/// The workspace root (this crate lives in `<root>/crates/acs-test-support`).
pub fn workspace_root() -> &'static Path {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().nth(2).unwrap_or(manifest)
}

/// `cargo` (the one running the tests) as a user's terminal runs it: without the variables cargo
/// sets for the test process (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*` and the like). Build scripts of
/// dependencies track some of them (ring's reads `CARGO_MANIFEST_DIR` and `CARGO_PKG_*`): a nested
/// build with the test's values re-ran ring's and rebuilt every crate above it, and the next
/// `cargo test` did the same again. xtask starts its cargo commands with this too.
pub fn cargo() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO"));
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || matches!(
                &*name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            )
        {
            command.env_remove(&key);
        }
    }
    command
}

/// `<workspace root>/../shared/upstream/<rel>` (data from the official SDKs and the service's
/// published documents, beside the repository), or `None` after printing why when it is absent:
/// a suite that needs it skips. The signing vectors do not need it (acs-auth checks them in).
pub fn upstream(rel: &str) -> Option<PathBuf> {
    let path = workspace_root().join("../shared/upstream").join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: {} is absent", path.display());
        None
    }
}

/// `/proc/<pid>/<file>`, or `/proc/self/<file>` for `None`.
fn proc_file(pid: Option<u32>, file: &str) -> String {
    match pid {
        Some(pid) => format!("/proc/{pid}/{file}"),
        None => format!("/proc/self/{file}"),
    }
}

/// A `kB` field of a process's `/proc/<pid>/status` (`None`: this process), e.g. `VmRSS` or
/// `VmHWM`, in KiB; `None` where it is not readable.
pub fn proc_status_kib(pid: Option<u32>, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(proc_file(pid, "status")).ok()?;
    let value = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?;
    value.trim().trim_end_matches("kB").trim().parse().ok()
}

/// This process's resident memory in KiB (`VmRSS`), or 0 where that is not readable.
pub fn rss_kib() -> u64 {
    proc_status_kib(None, "VmRSS").unwrap_or(0)
}

/// User + system CPU seconds of a process (`None`: this one), from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(proc_file(pid, "stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks / 100.0)
}

/// The requests the official Python 1.5.0 and JS 1.3.1 SDKs put on the wire, checked in with
/// acs-auth's signing vectors: `(file name, its text)`, one captured request (method, path,
/// headers, body) per line, signed with [`KEY`] (see `crates/acs-auth/tests/data/README.md`).
#[allow(clippy::panic)] // a test without its checked-in data fails, naming the file
pub fn peer_wire_captures() -> Vec<(&'static str, String)> {
    let dir = workspace_root().join("crates/acs-auth/tests/data");
    [
        "peer-wire-python-azure-communication-identity-1.5.0.jsonl",
        "peer-wire-js-communication-identity-1.3.1.jsonl",
    ]
    .into_iter()
    .map(|file| match std::fs::read_to_string(dir.join(file)) {
        Ok(text) => (file, text),
        Err(e) => panic!("{}: {e}", dir.join(file).display()),
    })
    .collect()
}

/// Part `index` of a compact JWT (0: header, 1: payload), decoded as JSON (no verification), or
/// `None` when it is missing, not base64url or not JSON.
fn jwt_part(token: &str, index: usize) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let part = token.split('.').nth(index)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The JSON payload (claims) of a JWT.
#[allow(clippy::panic)] // a test handed no JWT fails, naming it
pub fn jwt_payload(token: &str) -> serde_json::Value {
    jwt_part(token, 1).unwrap_or_else(|| panic!("the token has no JSON payload"))
}

/// The JSON header of a JWT.
#[allow(clippy::panic)] // a test handed no JWT fails, naming it
pub fn jwt_header(token: &str) -> serde_json::Value {
    jwt_part(token, 0).unwrap_or_else(|| panic!("the token has no JSON header"))
}

/// A clock that stands still until the test moves it.
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    /// A clock that reads `at`.
    pub fn at(at: SystemTime) -> Self {
        Self(Mutex::new(at))
    }

    /// A clock that reads the current system time, until moved.
    pub fn now() -> Self {
        Self::at(SystemTime::now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A small deterministic generator (xorshift64*), so that load and durability runs are
/// reproducible from their seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (a zero seed, which xorshift cannot leave, is replaced).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_figures_name_the_whole_field_and_read_this_process() {
        let rss = proc_status_kib(None, "VmRSS").unwrap();
        assert!(rss > 0);
        assert!(proc_status_kib(Some(std::process::id()), "VmRSS").is_some());
        // A prefix of a field's name is not that field.
        assert_eq!(proc_status_kib(None, "VmRS"), None);
        assert_eq!(proc_status_kib(None, "NoSuchField"), None);
        // Spinning adds CPU time, so the figure must rise (a field that does not count CPU time
        // stays put, and the 10 s bound ends the wait).
        let before = cpu_seconds(None).unwrap();
        let spin = std::time::Instant::now();
        let mut after = before;
        while after <= before && spin.elapsed() < std::time::Duration::from_secs(10) {
            std::hint::black_box(spin.elapsed());
            after = cpu_seconds(Some(std::process::id())).unwrap();
        }
        assert!(
            after > before,
            "CPU seconds stayed at {before} while spinning"
        );
    }

    #[test]
    fn the_root_holds_the_workspace_manifest_and_the_key_decodes() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
        let secret = acs_auth::AccessKey::from_bytes(b"secretkeysecretkeysecretkeysecretkey");
        assert_eq!(access_key().hmac_sha256(b"m"), secret.hmac_sha256(b"m"));
    }

    #[test]
    fn cargo_runs_without_the_variables_cargo_set_for_the_test() {
        let command = cargo();
        let removed: Vec<_> = command
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(key, _)| key.to_string_lossy().into_owned())
            .collect();
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
        ] {
            assert!(std::env::var_os(name).is_some(), "{name} is not set here");
            assert!(removed.iter().any(|key| key == name), "{name}: {removed:?}");
        }
    }

    #[test]
    fn a_jwt_decodes_to_its_header_and_payload() {
        // {"alg":"none"} . {"sub":"x"} . (no signature), the payload with its padding kept
        let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0=.";
        assert_eq!(jwt_header(token), serde_json::json!({"alg": "none"}));
        assert_eq!(jwt_payload(token), serde_json::json!({"sub": "x"}));
        assert_eq!(jwt_part("not-a-jwt", 1), None);
    }

    #[test]
    fn the_manual_clock_moves_only_when_told() {
        let clock = ManualClock::at(SystemTime::UNIX_EPOCH);
        assert_eq!(clock.now(), SystemTime::UNIX_EPOCH);
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(5));
    }
}
