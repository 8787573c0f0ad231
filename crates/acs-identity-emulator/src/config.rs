//! Emulator settings and their builder.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use acs_auth::{Clock, SystemClock};

use crate::connections::ConnectionLimits;
use crate::errors::EmulatorError;
use crate::server::EmulatorHandle;

/// The port the emulator listens on by default.
pub const DEFAULT_PORT: u16 = 8642;
/// The data directory used by default (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = ".acs-emulator";
/// The largest request body accepted by default (larger ones get 413).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// The well-known development access key (base64) of an in-memory emulator given no other, like
/// Azurite's development account key: public, documented, for local tests only. A data directory
/// keeps a key generated for it instead.
pub const DEVELOPMENT_ACCESS_KEY: &str =
    "vD4dWkM7A+pgunNpAg7DzhHIsVtTm66/wtip0rq0D7TZNDJAfNxvRyS1njncbOgFRH/UQHab/yIUTmAlrGdOJQ==";

/// The connection string of an in-memory emulator on the default port with the development key:
/// `acs-identity-emulator --in-memory` serves it, so tests can hard-code it.
pub const DEVELOPMENT_CONNECTION_STRING: &str = "endpoint=http://127.0.0.1:8642/;accesskey=\
    vD4dWkM7A+pgunNpAg7DzhHIsVtTm66/wtip0rq0D7TZNDJAfNxvRyS1njncbOgFRH/UQHab/yIUTmAlrGdOJQ==";

/// The well-known RSA token-signing key (PKCS#8 DER) of an in-memory emulator: public like
/// [`DEVELOPMENT_ACCESS_KEY`]. A data directory keeps a key generated for it instead.
pub(crate) const DEVELOPMENT_SIGNING_KEY: &[u8] = include_bytes!("development-signing-key.pk8");

/// The default listen address: `127.0.0.1:8642`.
pub fn default_listen() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT))
}

/// Where the emulator keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// A directory (created if absent) holding the database and TLS files.
    Directory(PathBuf),
    /// Memory only: everything is lost when the emulator stops.
    InMemory,
}

/// A text that must not be printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretText(pub(crate) String);

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Entry point: `Emulator::builder()...start().await`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults: `127.0.0.1:8642`, data directory `./.acs-emulator/`,
    /// generated (then persisted) access key and resource id, no TLS. In memory, the access key
    /// and token-signing key are the well-known development ones ([`DEVELOPMENT_ACCESS_KEY`]).
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Settings of an emulator to start.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    pub(crate) listen: SocketAddr,
    pub(crate) access_key: Option<SecretText>,
    pub(crate) resource_id: Option<String>,
    pub(crate) storage: Storage,
    pub(crate) tls: bool,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) max_body_bytes: usize,
    /// The test controls in force at start (`--controls`).
    pub(crate) controls: crate::controls::Controls,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) limits: ConnectionLimits,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            access_key: None,
            resource_id: None,
            storage: Storage::Directory(PathBuf::from(DEFAULT_DATA_DIR)),
            tls: false,
            clock: Arc::new(SystemClock),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            controls: crate::controls::Controls::default(),
            allowed_hosts: Vec::new(),
            limits: ConnectionLimits::default(),
        }
    }
}

impl EmulatorBuilder {
    /// The address to listen on (port 0: any free port; read it back from the handle).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The access key, as the base64 text a connection string carries. Without it the key
    /// stored in the data directory is used, or a new one is generated and stored; in memory,
    /// [`DEVELOPMENT_ACCESS_KEY`]. A key
    /// different from the stored one replaces it and invalidates every token issued before (as
    /// rotating a key does). Checked by [`EmulatorBuilder::start`].
    ///
    /// (An [`acs_auth::AccessKey`] cannot be passed: it does not reveal its bytes, and the
    /// emulator must print and persist the key.)
    pub fn access_key(mut self, base64_key: impl Into<String>) -> Self {
        self.access_key = Some(SecretText(base64_key.into()));
        self
    }

    /// The resource id (a GUID) in identity ids `8:acs:<resource id>_<suffix>`. Without it the
    /// stored one is used, or a new one is generated and stored.
    pub fn resource_id(mut self, resource_id: impl Into<String>) -> Self {
        self.resource_id = Some(resource_id.into());
        self
    }

    /// Keep state in `dir` (created if absent).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.storage = Storage::Directory(dir.into());
        self
    }

    /// Keep state in memory only.
    pub fn in_memory(mut self) -> Self {
        self.storage = Storage::InMemory;
        self
    }

    /// Where to keep state.
    pub fn storage(mut self, storage: Storage) -> Self {
        self.storage = storage;
        self
    }

    /// Serve HTTPS with a certificate made on first start (see [`crate::tls`]).
    pub fn tls(mut self, enabled: bool) -> Self {
        self.tls = enabled;
        self
    }

    /// The clock used to check `x-ms-date`, stamp and expire tokens (tests use a fixed one).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The largest request body accepted (default 64 KiB); larger ones get 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Also serve requests whose `Host` is `name` (a port, if given, is ignored). Without it only
    /// loopback addresses and `localhost` are served, against DNS rebinding; others get 403.
    pub fn allow_host(mut self, name: impl Into<String>) -> Self {
        self.allowed_hosts.push(name.into());
        self
    }

    /// Timeouts and the connection limit (see [`ConnectionLimits`]).
    pub fn connection_limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Opens the storage, binds the address and starts serving.
    pub async fn start(self) -> Result<EmulatorHandle, EmulatorError> {
        crate::server::start(self).await
    }
}
