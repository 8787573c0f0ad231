//! The data directory and its database file: private permissions, and a file that is checked
//! before anything is written to it.
//!
//! The database holds the access key, the RSA signing key and the TLS CA's private key, so the
//! file is created `0600` and a directory other users can read is warned about. A file altered
//! outside the emulator (a corrupt page) or emptied (a lost file) is refused with an error naming
//! it, and left as it was.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use redb::Database;

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

/// Makes an existing file private (`0600`), saying so when it was not.
fn restrict(path: &Path) -> Result<(), EmulatorError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(|e| data_dir_error(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "{} could be read by other users (mode {:o}); made it private (600)",
                path.display(),
                mode & 0o777
            );
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| data_dir_error(path, e))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Where the database of `dir` is.
pub(crate) fn database_path(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

/// Opens the database of `dir`, creating it (`0600`) when absent. An existing file must be a
/// sound database: it is checked in full before the first write, and refused, untouched, when it
/// is empty or corrupt.
pub(crate) fn open_database(dir: &Path) -> Result<Database, EmulatorError> {
    let path = database_path(dir);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.len() == 0 => return Err(EmulatorError::EmptyDatabase { path }),
        Ok(_) => restrict(&path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => create(&path)?,
        Err(e) => return Err(data_dir_error(&path, e)),
    }
    open_checked(&path)
}

/// Makes a new, empty database at `path`, private (`0600`). It is made under another name and
/// renamed into place, so that a crash never leaves an empty file (which the next start refuses).
fn create(path: &Path) -> Result<(), EmulatorError> {
    let fresh = path.with_extension("redb.new");
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
        .open(&fresh)
        .map_err(|e| data_dir_error(&fresh, e))?;
    let db = Database::create(&fresh)
        .map_err(|e| EmulatorError::Storage(format!("{}: {e}", fresh.display())))?;
    drop(db);
    std::fs::rename(&fresh, path).map_err(|e| data_dir_error(path, e))
}

/// Opens the database file at `path` (which exists) with redb's full check on open: a file
/// altered outside redb is an error instead of a panic later.
pub(crate) fn open_checked(path: &Path) -> Result<Database, EmulatorError> {
    Database::builder()
        .set_check_integrity_on_open(true)
        .create(path)
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
