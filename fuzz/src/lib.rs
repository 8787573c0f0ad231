//! Fuzz targets of the workspace, each a function of the input bytes that panics when a property
//! breaks (a panic in the code under test counts too). `fuzz_targets/*.rs` run them under
//! libFuzzer (`--features libfuzzer`, see `scripts/fuzz.sh`) or, by default, replay files.
//!
//! There is no target for the client's error-body decoder: it is private to `acs-identity`
//! (reached only through a response), and no public function decodes a body.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use acs_auth::{
    AccessKey, ConnectionString, DEFAULT_MAX_CLOCK_SKEW, FixedClock, ReceivedRequest, RequestToSign,
};
use acs_identity::{CommunicationIdentifier, TokenClaims};
use acs_identity_emulator::{ConnectionLimits, Emulator, EmulatorHandle};

/// The access key the targets sign and verify with (base64 of 32 bytes).
pub const KEY: &str = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5";

/// The fixed time of the fuzzed emulator and of HMAC signing: Thu, 26 Nov 2026 15:51:52 GMT,
/// so that signed seeds in the corpus stay valid.
pub fn fixed_now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_708_312)
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Connection strings: parsing never panics; an accepted endpoint is a bare http(s) base URL;
/// neither `Debug`, `Display` nor an error message shows the access key.
pub fn connection_string(data: &[u8]) {
    let text = text(data);
    let key = text
        .split(';')
        .filter_map(|part| part.split_once('='))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("accesskey"))
        .map(|(_, value)| value.trim())
        .next_back()
        .unwrap_or("");
    // A key also found elsewhere in the string may be shown as that other part.
    let elsewhere = text.replacen(key, "", 1).contains(key);
    let shown = match ConnectionString::parse(&text) {
        Ok(cs) => {
            let endpoint = cs.endpoint();
            assert!(matches!(endpoint.scheme(), "http" | "https"), "{endpoint}");
            assert!(matches!(endpoint.path(), "" | "/"), "{endpoint}");
            assert!(endpoint.query().is_none() && endpoint.fragment().is_none());
            format!("{cs:?} {cs}")
        }
        Err(e) => format!("{e:?} {e}"),
    };
    // A key-like value (long, with a digit, so no word of the fixed messages) is never shown.
    let key_like = key.len() >= 20 && key.bytes().any(|b| b.is_ascii_digit());
    if key_like && !elsewhere {
        assert!(!shown.contains(key), "the key shows in {shown:?}");
    }
}

/// Raw ids: classifying never fails or panics, keeps the raw id as given, and is stable.
pub fn raw_id(data: &[u8]) {
    let text = text(data);
    let id = CommunicationIdentifier::from_raw_id(&text);
    assert_eq!(id.raw_id(), text);
    assert_eq!(CommunicationIdentifier::from_raw_id(id.raw_id()), id);
}

/// The decoder of the service's error bodies (the generated `CommunicationErrorResponse`, which
/// the facade converts to `ServiceErrorDetail`): any bytes decode to an error or a value, never a
/// panic or a stack overflow (nested `details` and `innererror` stay within serde_json's depth
/// limit); a decoded body re-encodes and decodes back to the same value.
pub fn error_body(data: &[u8]) {
    type Body = acs_identity_rest::types::CommunicationErrorResponse;
    if let Ok(parsed) = serde_json::from_slice::<Body>(data)
        && let Ok(again) = serde_json::to_vec(&parsed)
    {
        let back = serde_json::from_slice::<Body>(&again);
        assert!(
            back.is_ok(),
            "a re-encoded error body does not decode: {back:?}"
        );
        if let Ok(back) = back {
            assert_eq!(back.error.code, parsed.error.code);
            assert_eq!(back.error.message, parsed.error.message);
            assert_eq!(back.error.details.len(), parsed.error.details.len());
        }
    }
}

/// JWT claim decoding, in the client (`TokenClaims`) and in the emulator (bearer tokens): never a
/// panic, whatever the text.
pub fn jwt_claims(data: &[u8]) {
    let text = text(data);
    let _ = TokenClaims::decode_unverified(&text);
    let _ = acs_identity_emulator::auth::verify_bearer(&text, fixed_now());
}

/// HMAC verification: the input is split at newlines into method, target, host, `x-ms-date`,
/// `x-ms-content-sha256`, `Authorization` and body. Verifying it never panics (and almost never
/// succeeds); the same request signed for real always verifies, and fails once its signature has
/// anything appended.
pub fn hmac_verify(data: &[u8]) {
    let mut fields = data.splitn(7, |&b| b == b'\n');
    let mut next = || text(fields.next().unwrap_or_default());
    let (method, target, host, date, hash, authorization) =
        (next(), next(), next(), next(), next(), next());
    let body_start = data
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(5)
        .map_or(data.len(), |(i, _)| i + 1);
    let body = &data[body_start..];
    let Ok(key) = AccessKey::from_base64(KEY) else {
        unreachable!("KEY is valid base64")
    };
    let now = fixed_now();
    let request = RequestToSign {
        method: &method,
        path_and_query: &target,
        host: &host,
        body,
    };
    let received = ReceivedRequest {
        request,
        date: Some(date.as_str()),
        content_sha256: Some(hash.as_str()),
        authorization: Some(authorization.as_str()),
    };
    let _ = acs_auth::verify(&key, &received, now, DEFAULT_MAX_CLOCK_SKEW);

    let signed = acs_auth::sign(&key, &request, now);
    let genuine = ReceivedRequest {
        request,
        date: Some(signed.date.as_str()),
        content_sha256: Some(signed.content_sha256.as_str()),
        authorization: Some(signed.authorization.as_str()),
    };
    assert!(
        acs_auth::verify(&key, &genuine, now, DEFAULT_MAX_CLOCK_SKEW).is_ok(),
        "a genuine signature was refused"
    );
    let padded = format!("{}==", signed.authorization);
    let tampered = ReceivedRequest {
        authorization: Some(padded.as_str()),
        ..genuine
    };
    assert!(
        acs_auth::verify(&key, &tampered, now, DEFAULT_MAX_CLOCK_SKEW).is_err(),
        "a signature with `==` appended was accepted"
    );
}

/// The emulator under fuzzing (in memory, fixed key and clock, short timeouts), started once.
struct FuzzedEmulator {
    _runtime: tokio::runtime::Runtime,
    handle: EmulatorHandle,
}

fn emulator() -> SocketAddr {
    static EMULATOR: OnceLock<FuzzedEmulator> = OnceLock::new();
    let emulator = EMULATOR.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| unreachable!("no runtime: {e}"));
        let start = Emulator::builder()
            .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
            .in_memory()
            .access_key(KEY)
            .resource_id("2dee53b4-368b-45b4-ab52-8493fb117652")
            .clock(Arc::new(FixedClock(fixed_now())))
            .connection_limits(
                ConnectionLimits::default()
                    .with_header_timeout(Duration::from_secs(2))
                    .with_request_timeout(Duration::from_secs(2))
                    .with_idle_timeout(Duration::from_secs(2)),
            )
            .start();
        let handle = runtime
            .block_on(start)
            .unwrap_or_else(|e| unreachable!("the emulator did not start: {e}"));
        FuzzedEmulator {
            _runtime: runtime,
            handle,
        }
    });
    emulator.handle.local_addr()
}

/// The emulator's request handling: raw bytes sent on a connection (then its write side shut)
/// never get a 5xx, and never panic the server (a panic hook aborts the fuzzing process).
pub fn emulator_request(data: &[u8]) {
    let addr = emulator();
    let Ok(mut stream) = TcpStream::connect(addr) else {
        unreachable!("the emulator at {addr} refused a connection")
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    // The server may close before reading everything (e.g. after a 400): not a finding.
    let _ = stream.write_all(data);
    let _ = stream.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.take(1 << 20).read_to_end(&mut answer);
    if let Some(status) = answer
        .strip_prefix(b"HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse::<u16>().ok())
    {
        assert!(status < 500, "{status} for {:?}", text(data));
    }
}

/// The files of `path`: itself if a file, its (non-hidden) files if a directory.
fn inputs(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?.path();
        let hidden = entry
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if entry.is_file() && !hidden {
            files.push(entry);
        }
    }
    files.sort();
    Ok(files)
}

/// The checked-in corpus of a target.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// Runs `target` on every file of `paths`; the number of inputs run.
pub fn replay(paths: &[PathBuf], target: fn(&[u8])) -> std::io::Result<usize> {
    let mut count = 0;
    for path in paths {
        for file in inputs(path)? {
            target(&std::fs::read(&file)?);
            count += 1;
        }
    }
    Ok(count)
}

/// `main` of a target built without libFuzzer: replays the files and directories named on the
/// command line (default: the target's corpus). A panic anywhere aborts, as under libFuzzer.
pub fn replay_main(name: &str, target: fn(&[u8])) -> ExitCode {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::abort();
    }));
    let mut paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        paths.push(corpus_dir(name));
    }
    match replay(&paths, target) {
        Ok(count) => {
            println!("{name}: {count} inputs replayed, no failure");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: cannot read the inputs: {e}");
            ExitCode::FAILURE
        }
    }
}
