//! The `acs-identity-emulator` binary.

use std::io::Write;
use std::process::ExitCode;

use acs_identity_emulator::options::EmulatorOptions;
use acs_identity_emulator::ready_line;
use clap::Parser;

/// A local Azure Communication Services Identity service: persistent, verifies HMAC signatures,
/// issues RS256 tokens, honours revocation.
#[derive(Parser)]
#[command(name = "acs-identity-emulator", version, about)]
struct Args {
    #[command(flatten)]
    options: EmulatorOptions,
}

/// Waits for Ctrl-C or, on Unix, SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term.recv() => {} }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
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

    let handle = match args.options.builder().start().await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };

    // Before the ready line: a script reading it may read the port file next.
    if let Err(e) = args.options.write_port_file(&handle) {
        eprintln!("error: cannot write the port file: {e}");
        handle.shutdown().await;
        return ExitCode::FAILURE;
    }

    let mut out = std::io::stdout().lock();
    if args.options.print_connection_string {
        let _ = writeln!(out, "{}", handle.connection_string());
        // The rest of the banner, on stderr: clients of a TLS emulator must trust its certificate.
        print_banner(&mut std::io::stderr(), &handle);
    } else {
        print_banner(&mut out, &handle);
    }
    let _ = out.flush();
    drop(out);

    stop_signal().await;
    tracing::info!("stopping");
    handle.shutdown().await;
    ExitCode::SUCCESS
}

/// The start banner on stdout: the ready line (the connection string), the resource id, where
/// the data is kept, and the TLS certificate.
fn print_banner(out: &mut impl Write, handle: &acs_identity_emulator::EmulatorHandle) {
    let data_dir = handle.data_dir().map_or_else(
        || "none (in memory)".into(),
        |dir| dir.display().to_string(),
    );
    let _ = writeln!(out, "{}", ready_line(&handle.connection_string()));
    let _ = writeln!(out, "resource id: {}", handle.resource_id());
    let _ = writeln!(out, "data directory: {data_dir}");
    if let Some(pem) = handle.certificate_pem() {
        let place = handle
            .certificate_path()
            .map_or_else(|| format!("\n{pem}"), |path| format!(" {}", path.display()));
        let _ = writeln!(out, "TLS CA certificate (trust it in clients):{place}");
    }
}
