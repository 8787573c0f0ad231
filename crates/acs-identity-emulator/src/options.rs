//! The emulator's command-line options, defined once: the `acs-identity-emulator` binary and the
//! `acs-identity emulator` subcommand both flatten [`EmulatorOptions`] into their clap parsers.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::config::{DEFAULT_DATA_DIR, EmulatorBuilder, SecretText, Storage, default_listen};
use crate::controls::Controls;
use crate::errors::EmulatorError;
use crate::server::EmulatorHandle;

/// Options of a local ACS Identity emulator.
#[derive(Clone, Args)]
pub struct EmulatorOptions {
    /// Address to listen on (port 0: any free port)
    #[arg(long, value_name = "ADDR", env = "ACS_EMULATOR_LISTEN", default_value_t = default_listen())]
    pub listen: SocketAddr,

    /// Access key (base64) clients sign with; default: the stored one, or a new one (with
    /// --in-memory: the well-known development key)
    #[arg(
        long,
        value_name = "BASE64",
        env = "ACS_EMULATOR_ACCESS_KEY",
        hide_env_values = true
    )]
    pub access_key: Option<String>,

    /// Resource id (a GUID) in identity ids; default: the stored one, or a new one
    #[arg(long, value_name = "GUID", env = "ACS_EMULATOR_RESOURCE_ID")]
    pub resource_id: Option<String>,

    /// Directory for the database and TLS files, kept across restarts
    #[arg(
        long,
        value_name = "DIR",
        env = "ACS_EMULATOR_DATA_DIR",
        default_value = DEFAULT_DATA_DIR,
        conflicts_with = "in_memory"
    )]
    pub data_dir: PathBuf,

    /// Keep everything in memory instead (lost on exit)
    #[arg(long, env = "ACS_EMULATOR_IN_MEMORY")]
    pub in_memory: bool,

    /// Serve HTTPS with a locally generated certificate (its CA is written to the data directory)
    #[arg(long, env = "ACS_EMULATOR_TLS")]
    pub tls: bool,

    /// Write the bound port number to this file once listening (for scripts)
    #[arg(long, value_name = "FILE", env = "ACS_EMULATOR_PORT_FILE")]
    pub port_file: Option<PathBuf>,

    /// Print only the connection string (one line on stdout) once listening, then keep serving:
    /// for scripts, e.g. `read -r CS < <(acs-identity-emulator --print-connection-string)`
    #[arg(long, env = "ACS_EMULATOR_PRINT_CONNECTION_STRING")]
    pub print_connection_string: bool,

    /// Also serve requests for this host name (repeatable; comma-separated in the variable).
    /// Only loopback addresses and `localhost` are served otherwise, against DNS rebinding
    #[arg(
        long = "allow-host",
        env = "ACS_EMULATOR_ALLOW_HOSTS",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub allow_hosts: Vec<String>,

    /// Test controls in force from the start, as JSON: the value `PUT /emulator/controls`
    /// takes, e.g. `{"faults":[{"operation":"issueToken","status":503,"count":2}],
    /// "throttling":{"scale":0.001},"revocationDelaySeconds":900}`
    #[arg(long, value_name = "JSON", env = "ACS_EMULATOR_CONTROLS", value_parser = parse_controls)]
    pub controls: Option<Controls>,
}

/// Parses and checks `--controls`.
fn parse_controls(text: &str) -> Result<Controls, String> {
    let controls: Controls = serde_json::from_str(text).map_err(|e| e.to_string())?;
    controls.validate()?;
    Ok(controls)
}

impl EmulatorOptions {
    /// The builder these options describe (checked by [`EmulatorBuilder::start`]).
    pub fn builder(&self) -> EmulatorBuilder {
        EmulatorBuilder {
            listen: self.listen,
            access_key: self.access_key.clone().map(SecretText),
            resource_id: self.resource_id.clone(),
            storage: match self.in_memory {
                true => Storage::InMemory,
                false => Storage::Directory(self.data_dir.clone()),
            },
            tls: self.tls,
            controls: self.controls.clone().unwrap_or_default(),
            allowed_hosts: self.allow_hosts.clone(),
            ..EmulatorBuilder::default()
        }
    }

    /// With `--port-file`: writes the bound port and a newline to it, atomically (a new file of
    /// its own renamed into place, never written through a link), so a reader never sees a
    /// partial number.
    pub fn write_port_file(&self, handle: &EmulatorHandle) -> Result<(), EmulatorError> {
        match &self.port_file {
            Some(path) => crate::data_dir::write_private(
                path,
                format!("{}\n", handle.local_addr().port()).as_bytes(),
            ),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        options: EmulatorOptions,
    }

    #[test]
    fn controls_parse_into_the_builder_settings() {
        let cli = Cli::try_parse_from([
            "x",
            "--in-memory",
            "--controls",
            r#"{"throttling":{"scale":0.01,"windowSeconds":2},"revocationDelaySeconds":900,
                "faults":[{"operation":"issueToken","status":503,"count":2},{"drop":true,"probability":0.1}]}"#,
        ])
        .unwrap();
        let builder = cli.options.builder();
        assert_eq!(
            builder.controls.throttling,
            Some(crate::Throttling {
                scale: 0.01,
                window_seconds: 2
            })
        );
        assert_eq!(builder.controls.faults.len(), 2);
        assert_eq!(builder.controls.revocation_delay_seconds, 900);

        let bad = Cli::try_parse_from(["x", "--controls", r#"{"faults":[{"status":200}]}"#])
            .err()
            .unwrap()
            .to_string();
        assert!(bad.contains("status 200 is not an error status"), "{bad}");
        assert!(Cli::try_parse_from(["x", "--controls", "{\"throttle\":1}"]).is_err());
    }
}
