//! Starting, running and stopping the emulator.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use acs_auth::AccessKey;
use base64::Engine as _;
use tokio::sync::oneshot;
use url::Url;

use crate::api::{self, App, Health, TokenValidation};
use crate::config::{
    DEVELOPMENT_ACCESS_KEY, DEVELOPMENT_SIGNING_KEY, EmulatorBuilder, SecretText, Storage,
};
use crate::connections;
use crate::controls::ControlState;
use crate::data_dir;
use crate::errors::EmulatorError;
use crate::guard::{self, HostPolicy};
use crate::store::{self, Meta, Store};
use crate::tls;
use crate::tokens::{Jwks, TokenSigner, generate_signing_key};

/// A running emulator. Stop it with [`EmulatorHandle::shutdown`]; dropping the handle also
/// stops it (without waiting).
pub struct EmulatorHandle {
    endpoint: Url,
    local_addr: SocketAddr,
    access_key: SecretText,
    ca_cert_pem: Option<String>,
    ca_cert_path: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    /// The running emulator's state (also for the control methods in `controls`).
    pub(crate) app: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("endpoint", &self.endpoint.as_str())
            .field("resource_id", &self.app.resource_id)
            .field("access_key", &"<redacted>")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl EmulatorHandle {
    /// The base URL, e.g. `http://127.0.0.1:8642/` (`https://` with TLS).
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// A ready-to-use connection string: `endpoint=http://127.0.0.1:PORT/;accesskey=...`.
    pub fn connection_string(&self) -> String {
        format!("endpoint={};accesskey={}", self.endpoint, self.access_key.0)
    }

    /// The access key (base64) requests must be signed with.
    pub fn access_key_base64(&self) -> &str {
        &self.access_key.0
    }

    /// The emulated resource's id (a lower-case GUID).
    pub fn resource_id(&self) -> &str {
        &self.app.resource_id
    }

    /// The address bound (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// With TLS: the PEM of the certificate authority clients should trust.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.ca_cert_pem.as_deref()
    }

    /// With TLS and a data directory: the file holding [`EmulatorHandle::certificate_pem`].
    pub fn certificate_path(&self) -> Option<&Path> {
        self.ca_cert_path.as_deref()
    }

    /// The data directory, unless in memory.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// What `POST /emulator/tokens:validate` would answer for `token`, without HTTP.
    pub fn validate_token(&self, token: &str) -> TokenValidation {
        api::validate_token(&self.app, token)
    }

    /// What `GET /emulator/jwks` answers, without HTTP.
    pub fn jwks(&self) -> Jwks {
        self.app.signer.jwks()
    }

    /// What `GET /emulator/health` answers, without HTTP.
    pub fn health(&self) -> Health {
        api::health_value(&self.app)
    }

    /// Stops accepting connections, lets requests in flight finish, flushes and closes the
    /// database (so another emulator can open the same data directory once this returns).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            // Requests in flight get 10 seconds to finish; then connections are dropped.
            if tokio::time::timeout(std::time::Duration::from_secs(10), &mut task)
                .await
                .is_err()
            {
                task.abort();
                let _ = task.await;
            }
        }
        let app = Arc::clone(&self.app);
        let _ = tokio::task::spawn_blocking(move || app.store.close()).await;
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A new random 64-byte access key, from the operating system's RNG (aws-lc's would cost ~20 ms
/// of seeding on the start's path).
fn generate_access_key() -> Result<String, EmulatorError> {
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes)
        .map_err(|_| EmulatorError::Crypto("no randomness for a new access key".into()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn loopback_for(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

pub(crate) async fn start(settings: EmulatorBuilder) -> Result<EmulatorHandle, EmulatorError> {
    let given_key = settings
        .access_key
        .as_ref()
        .map(|key| key.0.trim().to_owned());
    if let Some(key) = &given_key {
        AccessKey::from_base64(key).map_err(EmulatorError::InvalidAccessKey)?;
    }
    let given_resource = match &settings.resource_id {
        Some(r) => {
            Some(uuid::Uuid::parse_str(r.trim()).map_err(|_| EmulatorError::InvalidResourceId)?)
        }
        None => None,
    };
    let data_dir = match &settings.storage {
        Storage::Directory(dir) => {
            data_dir::prepare(dir)?;
            Some(dir.clone())
        }
        Storage::InMemory => None,
    };
    settings
        .controls
        .validate()
        .map_err(EmulatorError::InvalidSetting)?;
    let policy =
        Arc::new(HostPolicy::new(&settings.allowed_hosts).map_err(EmulatorError::InvalidSetting)?);
    let want_tls = settings.tls;
    let dir_for_db = data_dir.clone();
    // Opening the database and making an RSA key are blocking work.
    let (store, access_key, resource_id, signer, tls_material) =
        tokio::task::spawn_blocking(move || -> Result<_, EmulatorError> {
            let db = store::open_database(dir_for_db.as_deref())?;
            let meta = store::read_meta(&db)?;
            let in_memory = dir_for_db.is_none();
            let access_key = match given_key.or(meta.access_key) {
                Some(k) => k,
                None if in_memory => DEVELOPMENT_ACCESS_KEY.to_owned(),
                None => generate_access_key()?,
            };
            let resource_id = given_resource
                .map(|r| r.hyphenated().to_string())
                .or(meta.resource_id)
                .unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().to_string());
            let signing_key = match meta.signing_key_pkcs8 {
                Some(k) => k,
                None if in_memory => DEVELOPMENT_SIGNING_KEY.to_vec(),
                None => generate_signing_key()?,
            };
            let signer = TokenSigner::from_pkcs8(&signing_key)?;
            // Certificates are checked by clients against the real time, not the emulator's clock.
            let now = std::time::SystemTime::now();
            let tls_material = match meta.tls {
                _ if !want_tls => None,
                Some(m) if tls::still_usable(m.not_after, now) => Some(m),
                stored => {
                    if stored.is_some() {
                        tracing::warn!(
                            "replacing the stored TLS certificate authority (expiring): trust the new {}",
                            tls::CA_CERT_FILE
                        );
                    }
                    Some(tls::generate(now)?)
                }
            };
            let update = Meta {
                access_key: Some(access_key.clone()),
                resource_id: Some(resource_id.clone()),
                signing_key_pkcs8: Some(signing_key),
                tls: tls_material.clone(),
                ..Meta::default()
            };
            let reopen = dir_for_db.map(|dir| -> store::Reopen {
                let path = dir.join(store::DB_FILE);
                Box::new(move || data_dir::open_checked(&path))
            });
            let store = Store::start(db, update, reopen)?;
            Ok((store, access_key, resource_id, signer, tls_material))
        })
        .await
        .map_err(|e| EmulatorError::Storage(format!("start-up task failed: {e}")))??;

    let access = AccessKey::from_base64(&access_key).map_err(EmulatorError::InvalidAccessKey)?;

    let mut ca_cert_path = None;
    if let (Some(material), Some(dir)) = (&tls_material, &data_dir) {
        let path = dir.join(tls::CA_CERT_FILE);
        data_dir::write_private(&path, material.ca_cert_pem.as_bytes())?;
        ca_cert_path = Some(path);
    }

    let bind_error = |source| EmulatorError::Bind {
        addr: settings.listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(bind_error)?;
    let local_addr = listener.local_addr().map_err(bind_error)?;
    let scheme = if tls_material.is_some() {
        "https"
    } else {
        "http"
    };
    let host = SocketAddr::new(loopback_for(local_addr.ip()), local_addr.port());
    let endpoint = Url::parse(&format!("{scheme}://{host}/"))
        .map_err(|e| EmulatorError::Storage(format!("cannot form the endpoint URL: {e}")))?;

    let app = Arc::new(App {
        access_key: access,
        resource_id,
        store,
        signer,
        clock: Arc::clone(&settings.clock),
        max_body_bytes: settings.max_body_bytes,
        controls: ControlState::new(settings.controls.clone()),
        default_port: if want_tls { 443 } else { 80 },
    });
    let router = api::router(Arc::clone(&app))
        .layer(axum::middleware::from_fn_with_state(policy, guard::guard));
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let signal = async move {
        let _ = shutdown_rx.await;
    };
    let acceptor = tls_material
        .as_ref()
        .map(|material| tls::server_config(material).map(tokio_rustls::TlsAcceptor::from))
        .transpose()?;
    let task = tokio::spawn(connections::serve(
        listener,
        acceptor,
        router,
        settings.limits,
        signal,
    ));

    tracing::info!(endpoint = %endpoint, resource_id = %app.resource_id, "ACS Identity emulator started");
    Ok(EmulatorHandle {
        endpoint,
        local_addr,
        access_key: SecretText(access_key),
        ca_cert_pem: tls_material.map(|m| m.ca_cert_pem),
        ca_cert_path,
        data_dir,
        app,
        shutdown: Some(shutdown_tx),
        task: Some(task),
    })
}
