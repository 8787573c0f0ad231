//! A per-user pool of ready RSA signing keys, so that a start does not wait for RSA key
//! generation (about 50–500 ms for RSA-2048, the bulk of an in-memory start before).
//!
//! Every key is used by **one** start only: a start claims a key file (an atomic rename), reads
//! it and deletes it, so no two runs ever sign with the same key. After the start, a background
//! thread generates keys until the pool holds [`POOL_SIZE`] again, for the next starts; a
//! graceful shutdown waits for it (at most one key generation). When the pool is empty (first
//! start, many starts at once, or a run killed before its refill finished) the start generates
//! its key itself, as before.
//!
//! Trade-off: private keys of future runs sit in the user's cache directory (directory mode
//! 0700, files 0600) until a start takes them; they sign only emulator test tokens. Opt out
//! with `--no-key-cache` (or the builder's `signing_key_cache(None)`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::errors::EmulatorError;
use crate::tokens::generate_signing_key;

/// How many keys the pool is refilled to.
pub const POOL_SIZE: usize = 2;

const KEY_PREFIX: &str = "key-";
const KEY_SUFFIX: &str = ".pk8";
const TEMP_PREFIX: &str = ".tmp-";
/// Temporary files older than this are left over from a killed refill and removed.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// The default pool directory: `$XDG_CACHE_HOME/acs-identity-emulator/signing-keys`, else
/// `$HOME/.cache/acs-identity-emulator/signing-keys` (`%LOCALAPPDATA%` on Windows); `None`
/// when none of these is set.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })
        .or_else(|| {
            std::env::var_os("LOCALAPPDATA")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })?;
    Some(base.join("acs-identity-emulator").join("signing-keys"))
}

/// A name no other process or thread uses at the same time.
fn unique_name(prefix: &str, suffix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}-{nanos}-{n}{suffix}", std::process::id())
}

fn key_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(KEY_PREFIX) && n.ends_with(KEY_SUFFIX))
        })
        .collect()
}

/// Claims one key of the pool (removing it), if there is a usable one.
fn take(dir: &Path) -> Option<Vec<u8>> {
    for path in key_files(dir) {
        let claimed = dir.join(unique_name(TEMP_PREFIX, ".claimed"));
        // Only one process wins the rename of a given file.
        if std::fs::rename(&path, &claimed).is_err() {
            continue;
        }
        let bytes = std::fs::read(&claimed);
        let _ = std::fs::remove_file(&claimed);
        match bytes {
            Ok(der) if aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).is_ok() => return Some(der),
            _ => {
                tracing::warn!(path = %path.display(), "unusable key in the signing key cache; skipped")
            }
        }
    }
    None
}

/// A signing key for a new data directory or in-memory run: one of the pool's if any, else a
/// new one. Says whether it came from the pool.
pub(crate) fn obtain(cache: Option<&Path>) -> Result<(Vec<u8>, bool), EmulatorError> {
    if let Some(der) = cache.and_then(take) {
        return Ok((der, true));
    }
    Ok((generate_signing_key()?, false))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let stale = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX))
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMP);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Generates keys into the pool until it holds [`POOL_SIZE`]. Failures are logged, never fatal.
pub(crate) fn refill(dir: &Path) {
    if let Err(e) = create_private_dir(dir) {
        tracing::debug!(dir = %dir.display(), error = %e, "signing key cache not writable; not refilled");
        return;
    }
    remove_stale_temporaries(dir);
    while key_files(dir).len() < POOL_SIZE {
        let der = match generate_signing_key() {
            Ok(der) => der,
            Err(e) => {
                tracing::debug!(error = %e, "signing key cache: key generation failed");
                return;
            }
        };
        let temp = dir.join(unique_name(TEMP_PREFIX, ".writing"));
        let done = write_private(&temp, &der)
            .and_then(|()| std::fs::rename(&temp, dir.join(unique_name(KEY_PREFIX, KEY_SUFFIX))));
        if let Err(e) = done {
            let _ = std::fs::remove_file(&temp);
            tracing::debug!(dir = %dir.display(), error = %e, "signing key cache: write failed");
            return;
        }
    }
}

/// On a thread of its own, after a start: seeds aws-lc's RNG (its first use in a process costs
/// ~20 ms of CPU here, measured; token signing uses it, so a first token arriving after this is
/// done does not pay it, and one arriving sooner waits only for the rest), then [`refill`]s the
/// pool in `cache`, if any.
pub(crate) fn prepare_in_background(cache: Option<PathBuf>) -> Option<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("acs-emulator-key-cache".into())
        .spawn(move || {
            let mut seed_probe = [0u8; 1];
            let _ = aws_lc_rs::rand::fill(&mut seed_probe);
            if let Some(dir) = cache {
                refill(&dir);
            }
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_is_taken_once_and_the_pool_refills() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("keys");
        let (first, from_pool) = obtain(Some(&dir)).unwrap();
        assert!(!from_pool, "empty pool: generated");
        refill(&dir);
        assert_eq!(key_files(&dir).len(), POOL_SIZE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
            let file = &key_files(&dir)[0];
            let mode = std::fs::metadata(file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (a, from_pool_a) = obtain(Some(&dir)).unwrap();
        let (b, from_pool_b) = obtain(Some(&dir)).unwrap();
        assert!(from_pool_a && from_pool_b);
        assert_ne!(a, b, "two starts never share a key");
        assert_ne!(a, first);
        assert!(key_files(&dir).is_empty(), "taken keys are removed");
        assert!(!obtain(Some(&dir)).unwrap().1);
    }

    #[test]
    fn a_broken_key_file_is_skipped() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("key-broken.pk8"), b"not a key").unwrap();
        let (der, from_pool) = obtain(Some(root.path())).unwrap();
        assert!(!from_pool);
        assert!(aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).is_ok());
        assert!(key_files(root.path()).is_empty());
    }
}
