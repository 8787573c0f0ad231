//! Command line definitions (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The heading of the global connection options in every command's help: they are accepted
/// everywhere (before or after the subcommand) and used by the commands that call the service.
const CONNECTION_HEADING: &str = "Connection (user, token, teams-extension)";

/// Environment variable read when `--connection-string` is not given.
pub const CONNECTION_STRING_ENV: &str = "AZURE_COMMUNICATION_CONNECTION_STRING";

/// Manage Azure Communication Services identities and access tokens, or run the local emulator.
#[derive(Parser)]
#[command(
    name = "acs-identity",
    version,
    propagate_version = true,
    after_help = "Authentication: pass --connection-string (or set AZURE_COMMUNICATION_CONNECTION_STRING), \
                  or --endpoint to sign in with Entra ID through the Azure CLI or Azure Developer CLI.\n\
                  Exit status: 0 success, 1 service or network error, 2 usage error."
)]
pub struct Cli {
    /// Output format: JSON for scripts, a table for people
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Json, global = true)]
    pub output: OutputFormat,

    /// The options every command that calls the service shares: global, so they go before or
    /// after the subcommand.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Output format of a command's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    // JSON on stdout, stable field names.
    Json,
    // Aligned name and value rows.
    Table,
}

/// The top-level commands.
#[derive(Subcommand)]
pub enum Command {
    /// Create and delete communication users (identities)
    #[command(subcommand)]
    User(UserCommand),
    /// Issue, revoke and exchange access tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage Teams Phone extension assignments (api-version 2025-06-30 and later)
    #[command(subcommand)]
    TeamsExtension(TeamsExtensionCommand),
    /// Run the local ACS Identity emulator until Ctrl-C
    Emulator(EmulatorArgs),
    /// Print a shell completion script to stdout
    Completions(CompletionsArgs),
}

/// How to reach and authenticate to the Communication Services resource, and how long to wait
/// for it: global options (the emulator and completions commands ignore them).
#[derive(Args)]
pub struct ConnectionArgs {
    /// Connection string of the resource (endpoint=...;accesskey=...). Defaults to the
    /// AZURE_COMMUNICATION_CONNECTION_STRING environment variable
    #[arg(
        long,
        global = true,
        value_name = "CONNECTION_STRING",
        conflicts_with = "endpoint",
        help_heading = CONNECTION_HEADING
    )]
    pub connection_string: Option<String>,

    /// Endpoint of the resource (https://<name>.communication.azure.com); authenticates with
    /// Entra ID through the Azure CLI or Azure Developer CLI sign-in
    #[arg(long, global = true, value_name = "URL", help_heading = CONNECTION_HEADING)]
    pub endpoint: Option<String>,

    /// Service api-version to call
    #[arg(
        long,
        global = true,
        value_name = "VERSION",
        default_value = acs_identity::DEFAULT_API_VERSION,
        help_heading = CONNECTION_HEADING
    )]
    pub api_version: String,

    /// Also trust this CA certificate (PEM), e.g. the caCertificateFile of `emulator --tls`
    #[arg(long, global = true, value_name = "FILE", help_heading = CONNECTION_HEADING)]
    pub ca_certificate: Option<PathBuf>,

    /// Give up after this many seconds in all (retries included); connecting may take up to 20 s
    /// and each read up to 60 s, like the Azure SDK's defaults
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        default_value_t = DEFAULT_TIMEOUT_SECONDS,
        value_parser = clap::value_parser!(u64).range(1..=3600),
        help_heading = CONNECTION_HEADING
    )]
    pub timeout: u64,
}

/// The default of `--timeout`: how long a command may take in all.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 60;

/// The `user` subcommands.
#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user and print its id
    Create {
        /// Your own id for the user (1 to 256 characters): creating again with it returns the
        /// same user. Preview only: needs --api-version 2025-03-02-preview
        #[arg(long, value_name = "ID")]
        custom_id: Option<String>,
    },
    /// Show a user: its custom id and when a token was last issued. Preview only: needs
    /// --api-version 2025-03-02-preview
    Show {
        /// Id of the user (8:acs:...)
        #[arg(long, value_name = "ID")]
        user: String,
    },
    /// Delete a user, revoking all of its tokens
    Delete {
        /// Id of the user (8:acs:...)
        #[arg(long, value_name = "ID")]
        user: String,
    },
}

/// The `token` subcommands.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issue an access token; without --user, create a user and its token in one call
    Issue(IssueArgs),
    /// Revoke every access token issued to a user so far
    Revoke {
        /// Id of the user (8:acs:...)
        #[arg(long, value_name = "ID")]
        user: String,
    },
    /// Exchange a Teams user's Entra ID token for a Communication Services access token
    GetForTeamsUser(TeamsArgs),
    /// Exchange a Teams Phone extension user's Entra ID token for a Communication Services
    /// access token (sent with api-version 2025-06-30 when --api-version is older)
    GetForTeamsExtensionUser(TeamsExtensionUserArgs),
}

/// `token get-for-teams-extension-user`
#[derive(Args)]
pub struct TeamsExtensionUserArgs {
    /// The user's Entra ID access token for
    /// https://auth.msft.communication.azure.com/TeamsExtension.ManageCalls; `-` reads it from
    /// stdin (keeps it out of the process list and shell history)
    #[arg(long, value_name = "TOKEN")]
    pub entra_token: String,
}

/// The `teams-extension` subcommands.
#[derive(Subcommand)]
pub enum TeamsExtensionCommand {
    /// Create, show and delete the assignments that let Teams users exchange their tokens
    #[command(subcommand)]
    Assignment(AssignmentCommand),
}

/// The `teams-extension assignment` subcommands.
#[derive(Subcommand)]
pub enum AssignmentCommand {
    /// Create the assignment of a Teams user, or replace the one there is
    CreateOrReplace(AssignmentWriteArgs),
    /// Show the assignment of a Teams user (exit status 1 when there is none)
    Show(AssignmentKey),
    /// Delete the assignment of a Teams user; the service revokes the user's tokens
    Delete(AssignmentKey),
}

/// Which assignment: the user's tenant and object id.
#[derive(Args)]
pub struct AssignmentKey {
    /// The Entra ID tenant id
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant_id: String,

    /// The Entra ID object id of the user or resource account
    #[arg(long, value_name = "OBJECT_ID")]
    pub object_id: String,
}

/// `teams-extension assignment create-or-replace`
#[derive(Args)]
pub struct AssignmentWriteArgs {
    #[command(flatten)]
    pub key: AssignmentKey,

    /// What the principal is: user, resourceAccount (or another kind the service knows)
    #[arg(long, value_name = "TYPE")]
    pub principal_type: String,

    /// Client id of an Entra application whose tokens the user may exchange (repeat the option
    /// or separate with commas for several); without it, any
    #[arg(long = "client-id", value_name = "CLIENT_ID", value_delimiter = ',')]
    pub client_ids: Vec<String>,
}

/// `token issue`
#[derive(Args)]
pub struct IssueArgs {
    /// Id of an existing user (8:acs:...); without it a new user is created
    #[arg(long, value_name = "ID")]
    pub user: Option<String>,

    /// Scope of the token: chat, voip, chat.join, chat.join.limited, voip.join (repeat the
    /// option or separate with commas for several)
    #[arg(
        long = "scope",
        alias = "scopes",
        value_name = "SCOPE",
        required = true,
        value_delimiter = ','
    )]
    pub scopes: Vec<String>,

    /// Lifetime of the token in minutes (the service accepts 60 to 1440; default 1440)
    #[arg(long, value_name = "N")]
    pub expires_in_minutes: Option<u32>,
}

/// `token get-for-teams-user`
#[derive(Args)]
pub struct TeamsArgs {
    /// The Teams user's Entra ID access token; `-` reads it from stdin (keeps it out of the
    /// process list and shell history)
    #[arg(long, value_name = "TOKEN")]
    pub aad_token: String,

    /// Application (client) id of the Entra application the token was issued to
    #[arg(long, value_name = "CLIENT_ID")]
    pub client_id: String,

    /// Object id of the Teams user in Entra ID
    #[arg(long, value_name = "OBJECT_ID")]
    pub user_object_id: String,
}

/// `emulator`: the options of the `acs-identity-emulator` binary, defined once in the emulator
/// crate.
#[derive(Args)]
pub struct EmulatorArgs {
    #[command(flatten)]
    pub options: acs_identity_emulator::options::EmulatorOptions,
}

/// `completions`
#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to generate the script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
