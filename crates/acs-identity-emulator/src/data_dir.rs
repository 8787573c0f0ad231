//! The data directory and its files: private permissions, no symbolic link followed, a new
//! database made exclusively, and a database file checked before anything is written to it.
//!
//! The database holds the access key, the RSA signing key and the TLS CA's private key, so it is
//! created `0600` and a directory other users can read is warned about. In a directory others can
//! write to (`/tmp`, mode 1777) a planted link must not make the emulator write its keys wherever
//! it points: files are created with `create_new` under names no other start uses, then linked or
//! renamed into place, and an existing database that is a link is refused. Two starts on one new
//! directory make their databases apart; the first to link its file wins and the other opens that
//! one (and is refused while it is open). A file altered outside the emulator (a corrupt page) or
//! emptied (a lost file) is refused with an error naming it, and left as it was.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use redb::Database;
use redb::backends::FileBackend;

use crate::errors::EmulatorError;
use crate::store::DB_FILE;

fn data_dir_error(path: &Path, source: io::Error) -> EmulatorError {
    EmulatorError::DataDir {
        path: path.to_owned(),
        source,
    }
}

/// Creates `dir` (mode `0700`) when absent; warns when an existing one is open to other users.
pub(crate) fn prepare(dir: &Path) -> Result<(), EmulatorError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| data_dir_error(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir)
            .map_err(|e| data_dir_error(dir, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "the data directory {} can be read by other users (mode {:o}); it holds the \
                 access key and signing keys: `chmod 700 {}`",
                dir.display(),
                mode & 0o777,
                dir.display()
            );
        }
    }
    Ok(())
}

/// A name beside `path` that no other start (or thread) uses: `<name>.<pid>-<n>.<suffix>`.
fn unique_sibling(path: &Path, suffix: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    path.with_file_name(format!(
        "{name}.{}-{nanos}-{n}.{suffix}",
        std::process::id()
    ))
}

/// Creates `path`, which must not exist (a link there is not followed), private (`0600`).
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// Writes `bytes` to `path` (`0600`) through a new file renamed into place: a reader never sees
/// a partial file, and a link planted at `path` is replaced, not written through.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), EmulatorError> {
    let fresh = unique_sibling(path, "tmp");
    let written = create_private(&fresh)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| std::fs::rename(&fresh, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&fresh);
    }
    written.map_err(|e| data_dir_error(path, e))
}

/// Opens the database of `dir`, creating it (`0600`) when absent. An existing file must be a
/// sound database and not a link: it is checked in full before the first write, and refused,
/// untouched, when it is empty or corrupt.
pub(crate) fn open_database(dir: &Path) -> Result<Database, EmulatorError> {
    let path = dir.join(DB_FILE);
    match std::fs::symlink_metadata(&path) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => create(&path)?,
        Err(e) => return Err(data_dir_error(&path, e)),
    }
    open_checked(&path)
}

/// Makes a new database and links it at `path` unless another start linked its own first. It is
/// made under a name of its own, so that a crash never leaves an empty file at `path` (which the
/// next start refuses) and two starts never write one file.
fn create(path: &Path) -> Result<(), EmulatorError> {
    let fresh = unique_sibling(path, "new");
    let made = create_private(&fresh)
        .map_err(|e| data_dir_error(&fresh, e))
        .and_then(|file| open_file(file, &fresh))
        .and_then(|db| {
            drop(db);
            // Unlike a rename, a hard link never replaces what is at `path`.
            match std::fs::hard_link(&fresh, path) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(data_dir_error(path, e)),
                _ => Ok(()),
            }
        });
    let _ = std::fs::remove_file(&fresh);
    made
}

/// Opens the database file at `path` (which exists) with redb's full check on open, so that a
/// file altered outside redb is an error instead of a panic later. A link, a file swapped for
/// another while it was opened, and an empty file are refused; a file others can read is made
/// private.
pub(crate) fn open_checked(path: &Path) -> Result<Database, EmulatorError> {
    let error = |e| data_dir_error(path, e);
    let before = std::fs::symlink_metadata(path).map_err(error)?;
    if !before.file_type().is_file() {
        return Err(error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (the emulator follows no link in its data directory)",
        )));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(error)?;
    let opened = file.metadata().map_err(error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        if (opened.dev(), opened.ino()) != (before.dev(), before.ino()) {
            return Err(error(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the file was replaced while it was opened",
            )));
        }
        let mode = opened.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "{} could be read by other users (mode {:o}); made it private (600)",
                path.display(),
                mode & 0o777
            );
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(error)?;
        }
    }
    if opened.len() == 0 {
        return Err(EmulatorError::EmptyDatabase {
            path: path.to_owned(),
        });
    }
    open_file(file, path)
}

/// redb on `file` (named `path` in errors), checked in full on open.
fn open_file(file: File, path: &Path) -> Result<Database, EmulatorError> {
    let backend = FileBackend::new(file)
        .map_err(|e| EmulatorError::Storage(format!("{}: {e}", path.display())))?;
    Database::builder()
        .set_check_integrity_on_open(true)
        .create_with_backend(backend)
        .map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => EmulatorError::Storage(format!(
                "{} is already open in another emulator; stop it or use another --data-dir",
                path.display()
            )),
            redb::DatabaseError::Storage(redb::StorageError::Corrupted(reason)) => {
                EmulatorError::CorruptDatabase {
                    path: path.to_owned(),
                    reason,
                }
            }
            other => EmulatorError::Storage(format!("{}: {other}", path.display())),
        })
}
