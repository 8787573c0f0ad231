//! The `acs-identity-emulator` binary.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use acs_identity_emulator::{ConnectionLimits, DEFAULT_DATA_DIR, Emulator, ready_line};
use clap::Parser;

/// A local Azure Communication Services Identity service: persistent, verifies HMAC signatures,
/// issues RS256 tokens, honours revocation.
#[derive(Debug, Parser)]
#[command(name = "acs-identity-emulator", version, about)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, env = "ACS_EMULATOR_LISTEN", default_value = "127.0.0.1:8642")]
    listen: SocketAddr,

    /// Access key (base64) clients sign with; default: the stored one, or a new one.
    #[arg(long, env = "ACS_EMULATOR_ACCESS_KEY", hide_env_values = true)]
    access_key: Option<String>,

    /// Resource id (GUID) in identity ids; default: the stored one, or a new one.
    #[arg(long, env = "ACS_EMULATOR_RESOURCE_ID")]
    resource_id: Option<String>,

    /// Directory for the database and TLS files.
    #[arg(long, env = "ACS_EMULATOR_DATA_DIR", default_value = DEFAULT_DATA_DIR, conflicts_with = "in_memory")]
    data_dir: PathBuf,

    /// Keep everything in memory (lost on exit).
    #[arg(long, env = "ACS_EMULATOR_IN_MEMORY")]
    in_memory: bool,

    /// Serve HTTPS with a locally generated certificate (its CA is written to the data directory).
    #[arg(long, env = "ACS_EMULATOR_TLS")]
    tls: bool,

    /// Also serve requests for this host name (repeatable; comma-separated in the variable).
    /// Only loopback addresses and `localhost` are served otherwise, against DNS rebinding.
    #[arg(
        long = "allow-host",
        env = "ACS_EMULATOR_ALLOW_HOSTS",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    allow_hosts: Vec<String>,

    /// Most connections open at once; more are closed at once, with a warning in the log.
    #[arg(long, env = "ACS_EMULATOR_MAX_CONNECTIONS", default_value_t = ConnectionLimits::default().max_connections())]
    max_connections: usize,

    /// Write the bound port number to this file once listening (for scripts).
    #[arg(long, env = "ACS_EMULATOR_PORT_FILE")]
    port_file: Option<PathBuf>,
}

fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let mut builder = Emulator::builder()
        .listen(args.listen)
        .tls(args.tls)
        .connection_limits(ConnectionLimits::default().with_max_connections(args.max_connections));
    for host in &args.allow_hosts {
        builder = builder.allow_host(host.as_str());
    }
    builder = if args.in_memory {
        builder.in_memory()
    } else {
        builder.data_dir(&args.data_dir)
    };
    if let Some(key) = &args.access_key {
        builder = builder.access_key(key.as_str());
    }
    if let Some(id) = &args.resource_id {
        builder = builder.resource_id(id.as_str());
    }
    let handle = match builder.start().await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };

    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", ready_line(&handle.connection_string()));
    let _ = writeln!(out, "resource id: {}", handle.resource_id());
    match handle.data_dir() {
        Some(dir) => {
            let _ = writeln!(out, "data directory: {}", dir.display());
        }
        None => {
            let _ = writeln!(out, "data directory: none (in memory)");
        }
    }
    if let Some(pem) = handle.certificate_pem() {
        match handle.certificate_path() {
            Some(path) => {
                let _ = writeln!(
                    out,
                    "TLS CA certificate (trust it in clients): {}",
                    path.display()
                );
            }
            None => {
                let _ = writeln!(out, "TLS CA certificate (trust it in clients):\n{pem}");
            }
        }
    }
    let _ = out.flush();
    drop(out);

    if let Some(path) = &args.port_file
        && let Err(e) = write_atomically(path, &format!("{}\n", handle.local_addr().port()))
    {
        eprintln!("error: cannot write the port file {}: {e}", path.display());
        handle.shutdown().await;
        return ExitCode::FAILURE;
    }

    stop_signal().await;
    tracing::info!("stopping");
    handle.shutdown().await;
    ExitCode::SUCCESS
}
