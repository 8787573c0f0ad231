//! Persistent state in a redb database (a file in the data directory, or memory).
//!
//! Everything the API reads is also held in memory; the database is written through. Writes go
//! to one writer thread that commits each batch of waiting writes in one durable transaction
//! (group commit) and answers each writer only after the commit, so an acknowledged write (201,
//! 204) survives a crash.
//!
//! Token issue order is tracked with *stamps*: `boot << 40 | sequence`, where `boot` counts the
//! starts of this data directory (persisted) and `sequence` increases by one for every token and
//! every revocation in this run. A revocation records the stamp it was given; a token is revoked
//! when its stamp is below the identity's recorded one. Stamps are exact even when many tokens
//! are issued within the same second, and need no write per issued token.
//!
//! The tables hold JSON values: the identities (`identities`: creation time, revocation stamp,
//! deleted flag, custom id, when a token was last issued), the Teams Phone extension assignments
//! (`teams_extension_assignments`, key `<tenant id>/<object id>`) and the Entra ID assignments
//! (`entra_assignments`, key the object id); `meta` holds one JSON value under the key `meta`:
//! the keys, the TLS material and the counters ([`Meta`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::errors::EmulatorError;

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const IDENTITIES: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("identities");
const TEAMS_EXTENSION_ASSIGNMENTS: TableDefinition<'_, &str, &[u8]> =
    TableDefinition::new("teams_extension_assignments");
const ENTRA_ASSIGNMENTS: TableDefinition<'_, &str, &[u8]> =
    TableDefinition::new("entra_assignments");

/// Name of the database file inside the data directory.
pub(crate) const DB_FILE: &str = "emulator.redb";

const SEQUENCE_BITS: u32 = 40;

/// What is known about one identity: a JSON value of the `identities` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IdentityRecord {
    /// Creation time, milliseconds since the Unix epoch.
    pub(crate) created_ms: u64,
    /// Tokens with a stamp below this are revoked (0: none).
    #[serde(default)]
    pub(crate) revoked_before: u64,
    /// Deleted: no new tokens, every token invalid.
    #[serde(default)]
    pub(crate) deleted: bool,
    /// Its custom id and last token time.
    #[serde(flatten)]
    pub(crate) profile: Profile,
}

/// What 2025-03-02-preview adds to an identity: its custom id and when a token was last issued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Profile {
    /// The app's own id for the user, given at creation (1..=256 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) custom_id: Option<String>,
    /// When a token was last issued for the identity, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_token_issued_s: Option<i64>,
}

/// A Teams Phone extension assignment (its tenant and object id are its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TeamsExtensionAssignment {
    /// `user`, `resourceAccount`, `teamsResourceAccount` or another type (an open set).
    pub(crate) principal_type: String,
    /// The applications allowed to exchange tokens for it; `None`: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_ids: Option<Vec<String>>,
}

/// The key of a Teams Phone extension assignment: tenant id and object id (lower-case GUIDs).
pub(crate) type TeamsExtensionKey = (String, String);

/// An Entra ID assignment (its object id is its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntraAssignment {
    /// The tenant of the principal.
    pub(crate) tenant_id: String,
    /// `user`, `group`, `tenant` (others are kept but never match an exchange).
    pub(crate) principal_type: String,
    /// The applications allowed to exchange tokens under it; empty: any.
    pub(crate) client_ids: Vec<String>,
}

/// Everything the API reads, in memory (the database written through).
#[derive(Debug, Default)]
struct State {
    identities: HashMap<String, IdentityRecord>,
    /// Custom id -> the identity that holds it now.
    custom_ids: HashMap<String, String>,
    teams_extension: BTreeMap<TeamsExtensionKey, TeamsExtensionAssignment>,
    entra: BTreeMap<String, EntraAssignment>,
}

impl State {
    /// Keeps `record` of `id`; its custom id maps to `id` only while `id` is live. A deleted
    /// identity keeps its custom id (GET answers 404 for it anyway), which may have passed to a
    /// newer identity: neither loading identities in key order at start nor a late token time of
    /// the deleted one may take it back.
    fn set_identity(&mut self, id: String, record: IdentityRecord) {
        if let Some(custom_id) = &record.profile.custom_id
            && !record.deleted
        {
            self.custom_ids.insert(custom_id.clone(), id.clone());
        }
        self.identities.insert(id, record);
    }

    fn apply(&mut self, change: Change) {
        match change {
            Change::Reset => *self = State::default(),
            Change::Identity(id, mut record) => {
                // A token time written behind may be older than what memory holds already.
                if let Some(now) = self.identities.get(&id) {
                    let newest = record.profile.last_token_issued_s;
                    record.profile.last_token_issued_s =
                        newest.max(now.profile.last_token_issued_s);
                }
                self.set_identity(id, record);
            }
            Change::TeamsExtension(key, a) => set(&mut self.teams_extension, key, a),
            Change::Entra(key, a) => set(&mut self.entra, key, a),
        }
    }
}

/// Sets (`Some`) or removes (`None`) the value of `key`.
fn set<K: Ord, V>(map: &mut BTreeMap<K, V>, key: K, value: Option<V>) {
    match value {
        Some(v) => map.insert(key, v),
        None => map.remove(&key),
    };
}

/// One committed change, applied to [`State`] in commit order.
enum Change {
    Reset,
    Identity(String, IdentityRecord),
    TeamsExtension(TeamsExtensionKey, Option<TeamsExtensionAssignment>),
    Entra(String, Option<EntraAssignment>),
}

/// The value of the `meta` table (key `meta`).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Meta {
    pub(crate) access_key: Option<String>,
    pub(crate) resource_id: Option<String>,
    /// The token-signing key, PKCS#8 DER.
    pub(crate) signing_key_pkcs8: Option<Vec<u8>>,
    pub(crate) tls: Option<TlsMaterial>,
    /// How many times this data directory was started.
    pub(crate) boot: u64,
    /// Tokens with a stamp below this are invalid (access key rotated).
    pub(crate) tokens_valid_from: u64,
    /// Tokens with a stamp below this were issued before the last reset.
    pub(crate) reset_stamp: u64,
}

/// One write to the database (through [`Store::write`]; a token time through
/// [`Store::token_issued`], a reset through [`Store::reset`]).
pub(crate) enum WriteOp {
    Create {
        id: String,
        created_ms: u64,
        /// Written beside the record unless empty.
        profile: Profile,
    },
    /// A token was issued for `id` at `at_s` (written behind: nobody waits for it).
    TokenIssued {
        id: String,
        at_s: i64,
    },
    PutTeamsExtensionAssignment {
        key: TeamsExtensionKey,
        assignment: TeamsExtensionAssignment,
    },
    /// Removes the assignment and revokes the tokens of `identity` (when it exists) with a
    /// stamp below `stamp`.
    DeleteTeamsExtensionAssignment {
        key: TeamsExtensionKey,
        identity: String,
        stamp: u64,
    },
    /// Sets (`Some`) or removes (`None`) Entra assignments by object id, in one commit.
    UpdateEntraAssignments {
        changes: Vec<(String, Option<EntraAssignment>)>,
    },
    Revoke {
        id: String,
        stamp: u64,
    },
    Delete {
        id: String,
        stamp: u64,
    },
    /// Forget every identity and assignment (emulator-only state reset); tokens with a stamp
    /// below `stamp` are then invalid (kept in `meta` as `reset_stamp`).
    Reset {
        stamp: u64,
    },
}

struct Job {
    op: WriteOp,
    reply: oneshot::Sender<Result<(), String>>,
}

/// The emulator's state: in memory, written through to the database.
pub(crate) struct Store {
    state: Arc<RwLock<State>>,
    /// Held by the operations that read, then write what they read (a create with a custom id,
    /// an assignment's PUT or PATCH), so that two of them never interleave: hold the guard across
    /// the check and the write.
    pub(crate) serial: tokio::sync::Mutex<()>,
    /// The channel to the writer thread, and the thread; `None` once closed.
    writer: std::sync::Mutex<Option<(mpsc::Sender<Job>, JoinHandle<()>)>>,
    boot: u64,
    sequence: AtomicU64,
    /// Tokens with a stamp below this are invalid (access key rotated).
    pub(crate) tokens_valid_from: u64,
    /// Tokens with a stamp below this were issued before the last reset: their identities are
    /// forgotten, even one whose id is derived (an exchange's) and made again after the reset.
    reset_stamp: AtomicU64,
    /// Why writes fail at the moment, set and cleared by the writer thread.
    problem: Arc<RwLock<Option<String>>>,
}

/// PEM texts of the emulator's TLS certificate authority and server certificate.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TlsMaterial {
    pub(crate) ca_cert_pem: String,
    pub(crate) ca_key_pem: String,
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
    /// When the certificates expire, Unix seconds.
    pub(crate) not_after: u64,
}

fn storage_error(e: impl std::fmt::Display) -> EmulatorError {
    EmulatorError::Storage(e.to_string())
}

/// The `meta` value as `table` holds it (the default before the first start).
fn get_meta(table: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Meta, String> {
    match table.get("meta").map_err(text)? {
        Some(v) => {
            serde_json::from_slice(v.value()).map_err(|_| "the meta value is corrupt".into())
        }
        None if table.len().map_err(text)? > 0 => {
            Err("written by an earlier build of the emulator: remove the data directory".into())
        }
        None => Ok(Meta::default()),
    }
}

/// Opens (or creates) the database: a file under `dir` (checked before any write, see
/// [`crate::data_dir`]), or memory when `dir` is `None`.
pub(crate) fn open_database(dir: Option<&Path>) -> Result<Database, EmulatorError> {
    match dir {
        Some(dir) => crate::data_dir::open_database(dir),
        None => Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(storage_error),
    }
}

/// Reads the persisted settings.
pub(crate) fn read_meta(db: &Database) -> Result<Meta, EmulatorError> {
    let txn = db.begin_read().map_err(storage_error)?;
    match txn.open_table(META) {
        Ok(table) => get_meta(&table).map_err(EmulatorError::Storage),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(Meta::default()),
        Err(e) => Err(storage_error(e)),
    }
}

/// Every `(key, value)` of `table` in `txn`, each value decoded from JSON (none before the first
/// start made the tables); a value that does not decode is an error naming `what` and its key.
fn table_entries<T: serde::de::DeserializeOwned>(
    txn: &redb::ReadTransaction,
    table: TableDefinition<'_, &str, &[u8]>,
    what: &str,
) -> Result<Vec<(String, T)>, EmulatorError> {
    let table = match txn.open_table(table) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(storage_error(e)),
    };
    let mut out = Vec::new();
    for entry in table.iter().map_err(storage_error)? {
        let (k, v) = entry.map_err(storage_error)?;
        let key = k.value().to_owned();
        let value = serde_json::from_slice(v.value())
            .map_err(|_| EmulatorError::Storage(format!("{what} {key} is corrupt")))?;
        out.push((key, value));
    }
    Ok(out)
}

fn encode_json(value: &impl Serialize) -> Result<Vec<u8>, String> {
    serde_json::to_vec(value).map_err(|e| e.to_string())
}

fn teams_extension_table_key((tenant, object): &TeamsExtensionKey) -> String {
    format!("{tenant}/{object}")
}

/// Everything stored in `db`.
fn load_state(db: &Database) -> Result<State, EmulatorError> {
    let txn = db.begin_read().map_err(storage_error)?;
    let mut state = State::default();
    for (id, record) in table_entries(&txn, IDENTITIES, "identity record")? {
        state.set_identity(id, record);
    }
    for (key, assignment) in table_entries(
        &txn,
        TEAMS_EXTENSION_ASSIGNMENTS,
        "Teams extension assignment",
    )? {
        let (tenant, object) = key.split_once('/').ok_or_else(|| {
            EmulatorError::Storage(format!("Teams extension assignment key {key} is corrupt"))
        })?;
        state
            .teams_extension
            .insert((tenant.to_owned(), object.to_owned()), assignment);
    }
    state.entra = table_entries(&txn, ENTRA_ASSIGNMENTS, "Entra assignment")?
        .into_iter()
        .collect();
    Ok(state)
}

impl Store {
    /// Persists the keys and TLS material of `update` (stored TLS material stays when it has
    /// none), starts a new boot, loads identities and starts the writer thread. With `reopen`
    /// (a file on a full disk), the next write after a failed one reopens `db`, and so succeeds
    /// once space returns; without it `db` is not reopened.
    pub(crate) fn start(
        db: Database,
        update: Meta,
        reopen: Option<Reopen>,
    ) -> Result<Store, EmulatorError> {
        // Everything is read and decoded before the first write: a bad record stops the start
        // with the file as it was.
        let state = load_state(&db)?;
        let txn = db.begin_write().map_err(storage_error)?;
        let (boot, tokens_valid_from, reset_stamp);
        {
            let mut table = txn.open_table(META).map_err(storage_error)?;
            let previous = get_meta(&table).map_err(EmulatorError::Storage)?;
            boot = previous.boot + 1;
            reset_stamp = previous.reset_stamp;
            // Rotating the access key revokes every token issued under the old one.
            let rotated = previous.access_key.is_some() && previous.access_key != update.access_key;
            tokens_valid_from = if rotated {
                boot << SEQUENCE_BITS
            } else {
                previous.tokens_valid_from
            };
            let meta = Meta {
                tls: update.tls.or(previous.tls),
                boot,
                tokens_valid_from,
                reset_stamp,
                ..update
            };
            table
                .insert(
                    "meta",
                    encode_json(&meta).map_err(storage_error)?.as_slice(),
                )
                .map_err(storage_error)?;
            // Make sure every table exists so reads never miss one.
            for table in [IDENTITIES, TEAMS_EXTENSION_ASSIGNMENTS, ENTRA_ASSIGNMENTS] {
                txn.open_table(table).map_err(storage_error)?;
            }
        }
        txn.commit().map_err(storage_error)?;
        if boot >= (1 << (64 - SEQUENCE_BITS)) {
            return Err(EmulatorError::Storage(
                "the data directory has been started too many times".into(),
            ));
        }

        let state = Arc::new(RwLock::new(state));
        let (tx, rx) = mpsc::channel();
        let cache = Arc::clone(&state);
        let problem = Arc::new(RwLock::new(None));
        let writer = Writer {
            db: Some(db),
            reopen,
            problem: Arc::clone(&problem),
            unsynced: false,
        };
        let thread = std::thread::Builder::new()
            .name("acs-emulator-writer".into())
            .spawn(move || writer_loop(writer, rx, cache))
            .map_err(|e| EmulatorError::Storage(format!("cannot start the writer thread: {e}")))?;
        Ok(Store {
            state,
            serial: tokio::sync::Mutex::new(()),
            writer: std::sync::Mutex::new(Some((tx, thread))),
            boot,
            sequence: AtomicU64::new(1),
            tokens_valid_from,
            reset_stamp: AtomicU64::new(reset_stamp),
            problem,
        })
    }

    /// Why writes fail at the moment (`None` when the last one succeeded).
    pub(crate) fn problem(&self) -> Option<String> {
        self.problem
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A new stamp, greater than every stamp handed out before (in any run).
    pub(crate) fn next_stamp(&self) -> u64 {
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed) & ((1 << SEQUENCE_BITS) - 1);
        (self.boot << SEQUENCE_BITS) | seq
    }

    /// Tokens with a stamp below this were issued before the last reset.
    pub(crate) fn reset_stamp(&self) -> u64 {
        self.reset_stamp.load(Ordering::Relaxed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The record of an identity, if it was ever created.
    pub(crate) fn get(&self, id: &str) -> Option<IdentityRecord> {
        self.read().identities.get(id).cloned()
    }

    /// The live (not deleted) identity that holds `custom_id`.
    pub(crate) fn identity_for_custom_id(&self, custom_id: &str) -> Option<String> {
        let state = self.read();
        let id = state.custom_ids.get(custom_id)?;
        state
            .identities
            .get(id)
            .is_some_and(|r| !r.deleted)
            .then(|| id.clone())
    }

    /// Number of identities ever created (deleted included).
    pub(crate) fn identity_count(&self) -> usize {
        self.read().identities.len()
    }

    fn send(&self, op: WriteOp) -> Result<oneshot::Receiver<Result<(), String>>, String> {
        let (reply, answer) = oneshot::channel();
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        match writer.as_ref().map(|(tx, _)| tx.send(Job { op, reply })) {
            Some(Ok(())) => Ok(answer),
            _ => Err("the emulator is shutting down".to_owned()),
        }
    }

    /// Commits `op` (with the other writes waiting, in one transaction); returns once durable.
    pub(crate) async fn write(&self, op: WriteOp) -> Result<(), String> {
        self.send(op)?
            .await
            .map_err(|_| "the storage writer stopped".to_owned())?
    }

    /// Records that a token was issued for `id` at `at_s` (Unix seconds): in memory at once,
    /// in the database behind (nobody waits for that write; a crash may lose the latest ones).
    pub(crate) fn token_issued(&self, id: &str, at_s: i64) {
        {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            if let Some(record) = state.identities.get_mut(id) {
                let last = &mut record.profile.last_token_issued_s;
                *last = (*last).max(Some(at_s));
            }
        }
        let op = WriteOp::TokenIssued {
            id: id.to_owned(),
            at_s,
        };
        if let Err(e) = self.send(op) {
            tracing::warn!(error = %e, "last token time not written");
        }
    }

    /// Every identity ever created (deleted included), with its record.
    pub(crate) fn identities(&self) -> Vec<(String, IdentityRecord)> {
        let state = self.read();
        state
            .identities
            .iter()
            .map(|(id, record)| (id.clone(), record.clone()))
            .collect()
    }

    /// The Teams Phone extension assignment of `key`.
    pub(crate) fn teams_extension_assignment(
        &self,
        key: &TeamsExtensionKey,
    ) -> Option<TeamsExtensionAssignment> {
        self.read().teams_extension.get(key).cloned()
    }

    /// The Entra assignment of `object_id`.
    pub(crate) fn entra_assignment(&self, object_id: &str) -> Option<EntraAssignment> {
        self.read().entra.get(object_id).cloned()
    }

    /// Up to `limit` Entra assignments with object ids after `after` (all: `None`), in object id
    /// order.
    pub(crate) fn entra_assignments(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Vec<(String, EntraAssignment)> {
        use std::ops::Bound;
        let lower = match after {
            Some(a) => Bound::Excluded(a.to_owned()),
            None => Bound::Unbounded,
        };
        self.read()
            .entra
            .range((lower, Bound::Unbounded))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Forgets every identity and assignment; returns once durable.
    pub(crate) async fn reset(&self) -> Result<(), String> {
        let stamp = self.next_stamp();
        self.write(WriteOp::Reset { stamp }).await?;
        self.reset_stamp.fetch_max(stamp, Ordering::Relaxed);
        Ok(())
    }

    /// Stops the writer thread after the writes already queued (closing its channel), and waits
    /// for it (the database file is closed when this returns).
    pub(crate) fn close(&self) {
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((channel, thread)) = writer {
            drop(channel);
            let _ = thread.join();
        }
    }
}

/// The tables of one write transaction and the changes written to them so far, in order.
struct Batch<'t> {
    identities: Table<'t, &'static str, &'static [u8]>,
    teams_extension: Table<'t, &'static str, &'static [u8]>,
    entra: Table<'t, &'static str, &'static [u8]>,
    /// For the rare writes of `meta` (a reset), opened only then.
    txn: &'t redb::WriteTransaction,
    changes: Vec<Change>,
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Batch<'_> {
    fn open(txn: &redb::WriteTransaction) -> Result<Batch<'_>, String> {
        Ok(Batch {
            identities: txn.open_table(IDENTITIES).map_err(text)?,
            teams_extension: txn.open_table(TEAMS_EXTENSION_ASSIGNMENTS).map_err(text)?,
            entra: txn.open_table(ENTRA_ASSIGNMENTS).map_err(text)?,
            txn,
            changes: Vec::new(),
        })
    }

    /// The record of `id` as this transaction sees it (its own writes included).
    fn identity(&self, id: &str) -> Result<Option<IdentityRecord>, String> {
        match self.identities.get(id).map_err(text)? {
            Some(v) => serde_json::from_slice(v.value()).map(Some).map_err(text),
            None => Ok(None),
        }
    }

    fn set_identity(&mut self, id: &str, record: IdentityRecord) -> Result<(), String> {
        self.identities
            .insert(id, encode_json(&record)?.as_slice())
            .map_err(text)?;
        self.changes.push(Change::Identity(id.to_owned(), record));
        Ok(())
    }

    /// Raises the revocation stamp of `id` to `stamp` (a record is made if there is none).
    fn revoke(&mut self, id: &str, stamp: u64, delete: bool) -> Result<(), String> {
        let mut record = self.identity(id)?.unwrap_or_default();
        record.revoked_before = record.revoked_before.max(stamp);
        record.deleted |= delete;
        self.set_identity(id, record)
    }

    fn apply(&mut self, op: &WriteOp) -> Result<(), String> {
        match op {
            WriteOp::Create {
                id,
                created_ms,
                profile,
            } => {
                // Creating again (a retried write) keeps the first record.
                let mut record = self.identity(id)?.unwrap_or(IdentityRecord {
                    created_ms: *created_ms,
                    ..IdentityRecord::default()
                });
                // A custom id given now is kept; the later token time.
                if profile.custom_id.is_some() {
                    record.profile.custom_id.clone_from(&profile.custom_id);
                }
                let last = &mut record.profile.last_token_issued_s;
                *last = (*last).max(profile.last_token_issued_s);
                self.set_identity(id, record)?;
            }
            WriteOp::TokenIssued { id, at_s } => {
                if let Some(mut record) = self.identity(id)? {
                    let last = &mut record.profile.last_token_issued_s;
                    *last = (*last).max(Some(*at_s));
                    self.set_identity(id, record)?;
                }
            }
            WriteOp::Revoke { id, stamp } => self.revoke(id, *stamp, false)?,
            WriteOp::Delete { id, stamp } => self.revoke(id, *stamp, true)?,
            WriteOp::PutTeamsExtensionAssignment { key, assignment } => {
                self.teams_extension
                    .insert(
                        teams_extension_table_key(key).as_str(),
                        encode_json(assignment)?.as_slice(),
                    )
                    .map_err(text)?;
                self.changes.push(Change::TeamsExtension(
                    key.clone(),
                    Some(assignment.clone()),
                ));
            }
            WriteOp::DeleteTeamsExtensionAssignment {
                key,
                identity,
                stamp,
            } => {
                self.teams_extension
                    .remove(teams_extension_table_key(key).as_str())
                    .map_err(text)?;
                self.changes.push(Change::TeamsExtension(key.clone(), None));
                if self.identity(identity)?.is_some() {
                    self.revoke(identity, *stamp, false)?;
                }
            }
            WriteOp::UpdateEntraAssignments { changes } => {
                for (object_id, assignment) in changes {
                    match assignment {
                        Some(a) => {
                            self.entra
                                .insert(object_id.as_str(), encode_json(a)?.as_slice())
                                .map_err(text)?;
                        }
                        None => {
                            self.entra.remove(object_id.as_str()).map_err(text)?;
                        }
                    }
                    self.changes
                        .push(Change::Entra(object_id.clone(), assignment.clone()));
                }
            }
            WriteOp::Reset { stamp } => {
                let mut table = self.txn.open_table(META).map_err(text)?;
                let meta = Meta {
                    reset_stamp: *stamp,
                    ..get_meta(&table)?
                };
                table
                    .insert("meta", encode_json(&meta)?.as_slice())
                    .map_err(text)?;
                for table in [
                    &mut self.identities,
                    &mut self.teams_extension,
                    &mut self.entra,
                ] {
                    table.retain(|_, _| false).map_err(text)?;
                }
                self.changes.clear();
                self.changes.push(Change::Reset);
            }
        }
        Ok(())
    }
}

const MAX_BATCH: usize = 512;

/// How the writer opens the database again after a failed write: redb refuses every write after
/// an I/O error (a full disk, say) until the file is closed and opened again.
pub(crate) type Reopen = Box<dyn FnMut() -> Result<Database, EmulatorError> + Send>;

/// While writes fail, the writer tries to reopen the database this often even when no write
/// comes, so that health turns back to `ok` once space returns.
const RETRY_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The database the writer thread commits to, and what it does when a commit fails.
struct Writer {
    /// `None` after a failed write, until reopened.
    db: Option<Database>,
    reopen: Option<Reopen>,
    problem: Arc<RwLock<Option<String>>>,
    /// Whether a commit of writes behind was made without syncing to disk since the last
    /// durable commit (made durable by the next one, or at the stop).
    unsynced: bool,
}

impl Writer {
    fn set_problem(&self, problem: Option<String>) {
        *self.problem.write().unwrap_or_else(|p| p.into_inner()) = problem;
    }

    /// The database, reopened first if a write failed before.
    fn database(&mut self) -> Result<&Database, String> {
        if self.db.is_none()
            && let Some(reopen) = self.reopen.as_mut()
        {
            match reopen() {
                Ok(db) => {
                    tracing::info!("storage writable again");
                    self.db = Some(db);
                }
                Err(e) => {
                    let problem = format!("the database cannot be reopened: {e}");
                    self.set_problem(Some(problem.clone()));
                    return Err(problem);
                }
            }
        }
        self.db
            .as_ref()
            .ok_or_else(|| "the database is closed".to_owned())
    }

    fn commit(&mut self, batch: &[Job]) -> Result<Vec<Change>, String> {
        // Nobody waits for writes behind: a batch of only those skips the sync to disk.
        let behind = batch
            .iter()
            .all(|job| matches!(job.op, WriteOp::TokenIssued { .. }));
        let outcome = commit_batch(self.database()?, batch, behind);
        match &outcome {
            Ok(_) => {
                self.set_problem(None);
                // A durable commit makes every earlier one durable too.
                self.unsynced = behind;
            }
            Err(e) => {
                tracing::error!(error = %e, "storage write failed; retrying on the next write");
                self.set_problem(Some(format!("the last write failed: {e}")));
                if self.reopen.is_some() {
                    // Closed now, reopened (and so repaired by redb) before the next write.
                    self.db = None;
                }
            }
        }
        outcome
    }

    /// At the stop: makes the writes behind durable (an empty durable commit).
    fn sync(&mut self) {
        if !self.unsynced {
            return;
        }
        let synced = self
            .database()
            .and_then(|db| db.begin_write().map_err(text))
            .and_then(|txn| txn.commit().map_err(text));
        if let Err(e) = synced {
            tracing::warn!(error = %e, "the last token times could not be made durable");
        }
    }

    /// After a failure, whether the database could be reopened (health turns `ok` again).
    fn retry(&mut self) {
        if self.db.is_none() && self.database().is_ok() {
            self.set_problem(None);
        }
    }
}

/// Commits the writes of `rx` in batches until its channel is closed and empty.
fn writer_loop(mut writer: Writer, rx: mpsc::Receiver<Job>, cache: Arc<RwLock<State>>) {
    loop {
        let next = if writer.db.is_some() {
            rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(RETRY_EVERY)
        };
        let first = match next {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                writer.retry();
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        // The writes waiting now join it.
        let mut batch = vec![first];
        batch.extend(rx.try_iter().take(MAX_BATCH - 1));
        let outcome = writer.commit(&batch).map(|changes| {
            let mut cache = cache.write().unwrap_or_else(|p| p.into_inner());
            // The committed changes move into the cache (no copy of their ids).
            for change in changes {
                cache.apply(change);
            }
        });
        for job in batch {
            let _ = job.reply.send(outcome.clone());
        }
    }
    writer.sync();
    drop(writer);
}

/// Commits `batch` in one transaction (synced to disk unless `behind`); returns what it changed,
/// in order.
fn commit_batch(db: &Database, batch: &[Job], behind: bool) -> Result<Vec<Change>, String> {
    let mut txn = db.begin_write().map_err(text)?;
    if behind {
        txn.set_durability(redb::Durability::None).map_err(text)?;
    }
    let changes = {
        let mut tables = Batch::open(&txn)?;
        for job in batch {
            tables.apply(&job.op)?;
        }
        tables.changes
    };
    txn.commit().map_err(text)?;
    Ok(changes)
}

/// A database in memory whose writes can be made to fail as on a full disk, and be reopened
/// (for tests of the recovery).
#[cfg(test)]
pub(crate) mod full_disk {
    use std::io;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use redb::backends::InMemoryBackend;
    use redb::{Database, StorageBackend};

    use super::Reopen;
    use crate::errors::EmulatorError;

    /// The bytes (shared across reopens) and the switch.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Disk {
        bytes: Arc<InMemoryBackend>,
        pub(crate) full: Arc<AtomicBool>,
    }

    #[derive(Debug)]
    struct Backend(Disk);

    fn full() -> io::Error {
        io::Error::new(
            io::ErrorKind::StorageFull,
            "No space left on device (os error 28)",
        )
    }

    impl StorageBackend for Backend {
        fn len(&self) -> io::Result<u64> {
            self.0.bytes.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
            self.0.bytes.read(offset, out)
        }
        fn set_len(&self, len: u64) -> io::Result<()> {
            if self.0.full.load(Ordering::SeqCst) {
                return Err(full());
            }
            self.0.bytes.set_len(len)
        }
        fn sync_data(&self) -> io::Result<()> {
            if self.0.full.load(Ordering::SeqCst) {
                return Err(full());
            }
            Ok(())
        }
        fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
            if self.0.full.load(Ordering::SeqCst) {
                return Err(full());
            }
            self.0.bytes.write(offset, data)
        }
    }

    impl Disk {
        /// Opens (or creates) the database on this disk.
        pub(crate) fn open(&self) -> Result<Database, EmulatorError> {
            Database::builder()
                .create_with_backend(Backend(self.clone()))
                .map_err(|e| EmulatorError::Storage(e.to_string()))
        }

        /// How the store reopens it.
        pub(crate) fn reopen(&self) -> Reopen {
            let disk = self.clone();
            Box::new(move || disk.open())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update() -> Meta {
        Meta {
            access_key: Some("a2V5".into()),
            resource_id: Some("00000000-0000-0000-0000-000000000001".into()),
            signing_key_pkcs8: Some(vec![1, 2, 3]),
            ..Meta::default()
        }
    }

    #[tokio::test]
    async fn stamps_increase_across_boots_and_writes_persist() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_database(Some(dir.path())).unwrap();
        let store = Store::start(db, update(), None).unwrap();
        let a = store.next_stamp();
        let b = store.next_stamp();
        assert!(b > a);
        store
            .write(WriteOp::Create {
                id: "x".into(),
                created_ms: 5,
                profile: Profile::default(),
            })
            .await
            .unwrap();
        let revoke_at = store.next_stamp();
        store
            .write(WriteOp::Revoke {
                id: "x".into(),
                stamp: revoke_at,
            })
            .await
            .unwrap();
        assert_eq!(store.get("x").unwrap().revoked_before, revoke_at);
        store.close();
        drop(store);

        let db = open_database(Some(dir.path())).unwrap();
        let meta = read_meta(&db).unwrap();
        assert_eq!(meta.access_key.as_deref(), Some("a2V5"));
        assert_eq!(meta.signing_key_pkcs8.as_deref(), Some(&[1u8, 2, 3][..]));
        let store = Store::start(db, update(), None).unwrap();
        let record = store.get("x").unwrap();
        assert_eq!(
            record,
            IdentityRecord {
                created_ms: 5,
                revoked_before: revoke_at,
                deleted: false,
                profile: Profile::default(),
            }
        );
        assert!(
            store.next_stamp() > revoke_at,
            "a new boot starts above every old stamp"
        );
        assert_eq!(store.tokens_valid_from, 0);
        store.close();
    }

    #[test]
    fn a_meta_table_of_an_earlier_build_is_refused_not_overwritten() {
        let db = open_database(None).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert("access_key", b"a2V5".as_slice())
            .unwrap();
        txn.commit().unwrap();
        let error = read_meta(&db).unwrap_err().to_string();
        assert!(
            error.contains("an earlier build of the emulator"),
            "{error}"
        );
        assert!(Store::start(db, update(), None).is_err());
    }

    #[tokio::test]
    async fn rotating_the_key_invalidates_older_stamps() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::start(open_database(Some(dir.path())).unwrap(), update(), None).unwrap();
        let old = store.next_stamp();
        store.close();
        drop(store);
        let mut rotated = update();
        rotated.access_key = Some("b3RoZXI=".into());
        let store = Store::start(open_database(Some(dir.path())).unwrap(), rotated, None).unwrap();
        assert!(store.tokens_valid_from > old);
        assert!(store.next_stamp() >= store.tokens_valid_from);
        store.close();
    }

    #[tokio::test]
    async fn reset_forgets_every_identity_durably() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::start(open_database(Some(dir.path())).unwrap(), update(), None).unwrap();
        store
            .write(WriteOp::Create {
                id: "x".into(),
                created_ms: 1,
                profile: Profile::default(),
            })
            .await
            .unwrap();
        store
            .write(WriteOp::Create {
                id: "y".into(),
                created_ms: 2,
                profile: Profile::default(),
            })
            .await
            .unwrap();
        assert_eq!(store.identities().len(), 2);
        store.reset().await.unwrap();
        assert!(store.identities().is_empty());
        store
            .write(WriteOp::Create {
                id: "z".into(),
                created_ms: 3,
                profile: Profile::default(),
            })
            .await
            .unwrap();
        store.close();
        drop(store);
        let store = Store::start(open_database(Some(dir.path())).unwrap(), update(), None).unwrap();
        let ids: Vec<String> = store.identities().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["z"]);
        store.close();
    }

    #[tokio::test]
    async fn writes_recover_once_a_full_disk_has_space_again() {
        use std::sync::atomic::Ordering;
        let disk = full_disk::Disk::default();
        let store = Store::start(disk.open().unwrap(), update(), Some(disk.reopen())).unwrap();
        store
            .write(WriteOp::Create {
                id: "before".into(),
                created_ms: 1,
                profile: Profile::default(),
            })
            .await
            .unwrap();
        assert_eq!(store.problem(), None);

        disk.full.store(true, Ordering::SeqCst);
        let failed = store
            .write(WriteOp::Create {
                id: "during".into(),
                created_ms: 2,
                profile: Profile::default(),
            })
            .await
            .unwrap_err();
        assert!(failed.contains("No space left"), "{failed}");
        assert!(store.problem().is_some_and(|p| p.contains("No space left")));
        assert!(
            store
                .write(WriteOp::Create {
                    id: "still".into(),
                    created_ms: 3,
                    profile: Profile::default()
                })
                .await
                .is_err()
        );
        assert_eq!(
            store.get("during"),
            None,
            "a failed write is not acknowledged"
        );

        disk.full.store(false, Ordering::SeqCst);
        store
            .write(WriteOp::Create {
                id: "after".into(),
                created_ms: 4,
                profile: Profile::default(),
            })
            .await
            .unwrap();
        assert_eq!(store.problem(), None);
        assert!(store.get("before").is_some() && store.get("after").is_some());
        store.close();
        drop(store);
        // What was acknowledged is in the file.
        let store = Store::start(disk.open().unwrap(), update(), None).unwrap();
        assert!(store.get("before").is_some() && store.get("after").is_some());
        assert_eq!(store.get("during"), None);
        store.close();
    }

    #[tokio::test]
    async fn health_turns_ok_again_without_a_write_once_space_returns() {
        use std::sync::atomic::Ordering;
        let disk = full_disk::Disk::default();
        let store = Store::start(disk.open().unwrap(), update(), Some(disk.reopen())).unwrap();
        disk.full.store(true, Ordering::SeqCst);
        assert!(
            store
                .write(WriteOp::Create {
                    id: "x".into(),
                    created_ms: 1,
                    profile: Profile::default()
                })
                .await
                .is_err()
        );
        disk.full.store(false, Ordering::SeqCst);
        let deadline = std::time::Instant::now() + RETRY_EVERY * 3;
        while store.problem().is_some() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(store.problem(), None);
        store.close();
    }

    #[tokio::test]
    async fn the_reset_stamp_is_kept_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::start(open_database(Some(dir.path())).unwrap(), update(), None).unwrap();
        assert_eq!(store.reset_stamp(), 0);
        let before = store.next_stamp();
        store.reset().await.unwrap();
        let reset = store.reset_stamp();
        assert!(reset > before);
        assert!(
            store.next_stamp() > reset,
            "tokens issued after it are not caught"
        );
        store.close();
        drop(store);
        let store = Store::start(open_database(Some(dir.path())).unwrap(), update(), None).unwrap();
        assert_eq!(store.reset_stamp(), reset);
    }

    #[tokio::test]
    async fn a_custom_id_passed_to_a_new_identity_stays_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::start(open_database(Some(dir.path())).unwrap(), update(), None).unwrap();
        let with = |custom_id: &str| Profile {
            custom_id: Some(custom_id.into()),
            last_token_issued_s: None,
        };
        // Many pairs, so that whichever order the identities load in, some deleted identity
        // sorts after its successor.
        for n in 0..16 {
            let (old, new, custom_id) = (format!("old{n}"), format!("a-new{n}"), format!("c{n}"));
            store
                .write(WriteOp::Create {
                    id: old.clone(),
                    created_ms: 1,
                    profile: with(&custom_id),
                })
                .await
                .unwrap();
            store
                .write(WriteOp::Delete {
                    id: old.clone(),
                    stamp: store.next_stamp(),
                })
                .await
                .unwrap();
            store
                .write(WriteOp::Create {
                    id: new.clone(),
                    created_ms: 2,
                    profile: with(&custom_id),
                })
                .await
                .unwrap();
            // A token time of the deleted identity, arriving late.
            store.token_issued(&old, 10);
            assert_eq!(store.identity_for_custom_id(&custom_id), Some(new.clone()));
        }
        store.close();
        drop(store);
        let store = Store::start(open_database(Some(dir.path())).unwrap(), update(), None).unwrap();
        for n in 0..16 {
            assert_eq!(
                store.identity_for_custom_id(&format!("c{n}")),
                Some(format!("a-new{n}")),
                "after the restart"
            );
        }
    }

    #[tokio::test]
    async fn profiles_and_assignments_persist_and_reset_forgets_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::start(open_database(Some(dir.path())).unwrap(), update(), None).unwrap();
        let profile = Profile {
            custom_id: Some("sally@contoso.com".into()),
            last_token_issued_s: Some(100),
        };
        store
            .write(WriteOp::Create {
                id: "x".into(),
                created_ms: 1,
                profile: profile.clone(),
            })
            .await
            .unwrap();
        store.token_issued("x", 50); // older: kept at 100
        store
            .write(WriteOp::Create {
                id: "y".into(),
                created_ms: 2,
                profile: Profile::default(),
            })
            .await
            .unwrap();
        store.token_issued("y", 7);
        let key = ("t".to_owned(), "o".to_owned());
        let tpe = TeamsExtensionAssignment {
            principal_type: "user".into(),
            client_ids: Some(vec!["app".into()]),
        };
        store
            .write(WriteOp::PutTeamsExtensionAssignment {
                key: key.clone(),
                assignment: tpe.clone(),
            })
            .await
            .unwrap();
        let gone = ("t".to_owned(), "gone".to_owned());
        store
            .write(WriteOp::PutTeamsExtensionAssignment {
                key: gone.clone(),
                assignment: tpe.clone(),
            })
            .await
            .unwrap();
        store
            .write(WriteOp::Create {
                id: "8:acs:r_t_gone".into(),
                created_ms: 3,
                profile: Profile::default(),
            })
            .await
            .unwrap();
        let stamp = store.next_stamp();
        store
            .write(WriteOp::DeleteTeamsExtensionAssignment {
                key: gone.clone(),
                identity: "8:acs:r_t_gone".into(),
                stamp,
            })
            .await
            .unwrap();
        let entra = EntraAssignment {
            tenant_id: "t".into(),
            principal_type: "group".into(),
            client_ids: vec![],
        };
        store
            .write(WriteOp::UpdateEntraAssignments {
                changes: vec![
                    ("b".into(), Some(entra.clone())),
                    ("a".into(), Some(entra.clone())),
                    ("c".into(), Some(entra.clone())),
                    ("c".into(), None),
                ],
            })
            .await
            .unwrap();
        store.close();
        drop(store);

        let store = Store::start(open_database(Some(dir.path())).unwrap(), update(), None).unwrap();
        assert_eq!(store.get("x").unwrap().profile, profile);
        assert_eq!(
            store.get("y").unwrap().profile.last_token_issued_s,
            Some(7),
            "written behind, then closed"
        );
        assert_eq!(
            store.identity_for_custom_id("sally@contoso.com").as_deref(),
            Some("x")
        );
        assert_eq!(store.teams_extension_assignment(&key), Some(tpe));
        assert_eq!(store.teams_extension_assignment(&gone), None);
        assert_eq!(store.get("8:acs:r_t_gone").unwrap().revoked_before, stamp);
        let listed: Vec<String> = store
            .entra_assignments(None, 10)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(listed, ["a", "b"]);
        assert_eq!(store.entra_assignments(Some("a"), 10).len(), 1);
        assert_eq!(store.entra_assignment("b"), Some(entra));

        store
            .write(WriteOp::Delete {
                id: "x".into(),
                stamp: store.next_stamp(),
            })
            .await
            .unwrap();
        assert_eq!(
            store.identity_for_custom_id("sally@contoso.com"),
            None,
            "deleted"
        );
        store.reset().await.unwrap();
        assert_eq!(store.teams_extension_assignment(&key), None);
        assert!(store.entra_assignments(None, 10).is_empty());
        assert_eq!(store.get("y"), None);
        store.close();
    }

    #[tokio::test]
    async fn token_times_written_behind_are_durable_after_a_graceful_stop() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::start(open_database(Some(dir.path())).unwrap(), update(), None).unwrap();
        store
            .write(WriteOp::Create {
                id: "x".into(),
                created_ms: 1,
                profile: Profile::default(),
            })
            .await
            .unwrap();
        // Alone in their batches: committed without a sync, made durable at the stop.
        for at in [10, 30, 20] {
            store.token_issued("x", at);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            store.get("x").unwrap().profile.last_token_issued_s,
            Some(30),
            "in memory at once"
        );
        store.close();
        drop(store);
        let store = Store::start(open_database(Some(dir.path())).unwrap(), update(), None).unwrap();
        assert_eq!(
            store.get("x").unwrap().profile.last_token_issued_s,
            Some(30)
        );
        store.close();
    }

    #[tokio::test]
    async fn concurrent_writes_are_all_acknowledged_and_merged() {
        let store = Arc::new(Store::start(open_database(None).unwrap(), update(), None).unwrap());
        let mut tasks = Vec::new();
        for i in 0..50u64 {
            let s = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let id = format!("id{i}");
                let profile = Profile::default();
                s.write(WriteOp::Create {
                    id,
                    created_ms: i,
                    profile,
                })
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(store.identity_count(), 50);
        let s1 = store.next_stamp();
        let s2 = store.next_stamp();
        // Revoke with the larger stamp first; the smaller one must not lower it.
        store
            .write(WriteOp::Revoke {
                id: "id1".into(),
                stamp: s2,
            })
            .await
            .unwrap();
        store
            .write(WriteOp::Delete {
                id: "id1".into(),
                stamp: s1,
            })
            .await
            .unwrap();
        let r = store.get("id1").unwrap();
        assert!(r.deleted);
        assert_eq!(r.revoked_before, s2);
        store.close();
    }
}
