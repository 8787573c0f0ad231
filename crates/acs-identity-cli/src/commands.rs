//! What each command does: build the client, call the service, report the result.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use acs_identity::{
    CommunicationIdentityClient, CommunicationIdentityClientOptions, CommunicationUserDetails,
    CommunicationUserIdentifier, CreateOrReplaceTeamsExtensionAssignmentOptions,
    CreateUserAndTokenOptions, ErrorKind, GetTokenOptions, PREVIEW_API_VERSION,
    TeamsExtensionAssignment, TeamsExtensionPrincipalType, TokenScope,
};
use clap::CommandFactory;
use serde_json::json;

use crate::cli::{
    AssignmentCommand, AssignmentKey, AssignmentWriteArgs, CONNECTION_STRING_ENV, Cli, Command,
    ConnectionArgs, EmulatorArgs, IssueArgs, OutputFormat, TeamsArgs, TeamsExtensionCommand,
    TeamsExtensionUserArgs, TokenCommand, UserCommand,
};
use crate::output::{Report, format_time, terminal_safe};

/// Why a command failed, and so which exit status it ends with.
#[derive(Debug)]
pub enum Failure {
    /// The command line was wrong or incomplete (exit status 2).
    Usage(String),
    /// The service answered with an error, or could not be reached (exit status 1).
    Service(String),
    /// The client's deadline (`--timeout`) passed before the service answered (exit status 1):
    /// the client's own words, which [`within`] puts in the command's message.
    NoAnswer(String),
}

impl Failure {
    /// The message for stderr (never contains a key or a token).
    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(message) | Failure::Service(message) | Failure::NoAnswer(message) => {
                message
            }
        }
    }

    /// The process exit status.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Service(_) | Failure::NoAnswer(_) => 1,
        }
    }
}

impl From<acs_identity::Error> for Failure {
    fn from(error: acs_identity::Error) -> Self {
        // The facade's Display is `Code (status): message [target: T]` and holds no secret.
        match error.kind() {
            // What the command line gave cannot make a well-formed request: a usage error.
            ErrorKind::InvalidArgument | ErrorKind::Configuration => {
                Failure::Usage(error.to_string())
            }
            // The call's deadline passed with no answer; an answer (a 503 or 429 the deadline
            // did not leave time to wait out) is the service's error, with its status.
            ErrorKind::Transport if error.is_timeout() => Failure::NoAnswer(error.to_string()),
            // The service said no, or could not be reached or understood.
            _ => Failure::Service(error.to_string()),
        }
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let format = cli.output;
    let connection = &cli.connection;
    match cli.command {
        Command::User(command) => {
            let client = connect(connection)?;
            let report = within(connection.timeout, async {
                match command {
                    UserCommand::Create { custom_id } => user_create(&client, custom_id).await,
                    UserCommand::Show { user } => user_show(&client, user).await,
                    UserCommand::Delete { user } => user_delete(&client, user).await,
                }
            })
            .await?;
            emit(&report, format)
        }
        Command::Token(command) => {
            let client = connect(connection)?;
            let report = within(connection.timeout, async {
                match command {
                    TokenCommand::Issue(issue) => token_issue(&client, issue).await,
                    TokenCommand::Revoke { user } => token_revoke(&client, user).await,
                    TokenCommand::GetForTeamsUser(teams) => {
                        token_for_teams_user(&client, teams).await
                    }
                    TokenCommand::GetForTeamsExtensionUser(user) => {
                        token_for_teams_extension_user(&client, user).await
                    }
                }
            })
            .await?;
            emit(&report, format)
        }
        Command::TeamsExtension(command) => {
            let client = connect(connection)?;
            let report = within(connection.timeout, async {
                match command {
                    TeamsExtensionCommand::Assignment(AssignmentCommand::CreateOrReplace(
                        write,
                    )) => assignment_create_or_replace(&client, write).await,
                    TeamsExtensionCommand::Assignment(AssignmentCommand::Show(key)) => {
                        assignment_show(&client, key).await
                    }
                    TeamsExtensionCommand::Assignment(AssignmentCommand::Delete(key)) => {
                        assignment_delete(&client, key).await
                    }
                }
            })
            .await?;
            emit(&report, format)
        }
        Command::Emulator(args) => emulator(args, format).await,
        Command::Completions(args) => {
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "acs-identity", &mut script);
            write_stdout(|out| out.write_all(&script))
        }
    }
}

/// Runs a command within `--timeout` seconds (retries included). Each of its client calls has the
/// same deadline from its start: the Entra ID sign-in for `--endpoint`, its tries and its waits
/// (so a 503 or 429 whose `Retry-After` does not fit ends the command with that answer, status
/// named). This backstop bounds the command as a whole and ends a second later, so that the
/// client's own deadline, which knows what it was waiting for, speaks first.
async fn within(
    seconds: u64,
    command: impl Future<Output = Result<Report, Failure>>,
) -> Result<Report, Failure> {
    let no_answer = |detail: &str| {
        Failure::Service(format!(
            "no answer from the service within {seconds} s (--timeout {seconds}){detail}; \
             check the endpoint, or allow longer with --timeout"
        ))
    };
    let backstop = Duration::from_secs(seconds) + Duration::from_secs(1);
    match tokio::time::timeout(backstop, command).await {
        Ok(Err(Failure::NoAnswer(detail))) => Err(no_answer(&format!(": {detail}"))),
        Ok(result) => result,
        Err(_) => Err(no_answer("")),
    }
}

fn emit(report: &Report, format: OutputFormat) -> Result<(), Failure> {
    write_stdout(|out| report.write(format, out))
}

/// Writes to stdout and flushes. A closed pipe (`acs-identity ... | head`) is not an error: the
/// reader has what it wanted.
fn write_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match write(&mut stdout).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Failure::Service(format!(
            "cannot write the result to stdout: {error}"
        ))),
    }
}

/// Builds the client from `--connection-string`, the environment, or `--endpoint` with Entra ID.
fn connect(args: &ConnectionArgs) -> Result<CommunicationIdentityClient, Failure> {
    let options = client_options(args)?;
    if let Some(endpoint) = &args.endpoint {
        return connect_with_entra_id(endpoint, options);
    }
    let connection_string = match &args.connection_string {
        Some(text) => text.clone(),
        None => match std::env::var(CONNECTION_STRING_ENV) {
            Ok(text) if !text.trim().is_empty() => text,
            _ => {
                return Err(Failure::Usage(format!(
                    "no connection string: pass --connection-string, set {CONNECTION_STRING_ENV}, \
                     or pass --endpoint to sign in with Entra ID"
                )));
            }
        },
    };
    // Parsed here (once) so that a malformed string is a usage error with the parser's own
    // message, which never repeats the key.
    let (endpoint, key) = acs_auth::ConnectionString::parse(&connection_string)
        .map_err(|error| Failure::Usage(format!("invalid connection string: {error}")))?
        .into_parts();
    if let Some(warning) = plain_http_warning(&endpoint) {
        eprintln!("warning: {}", terminal_safe(&warning));
    }
    CommunicationIdentityClient::with_access_key(endpoint.as_str(), key, Some(options))
        .map_err(|error| Failure::Usage(format!("invalid connection string: {error}")))
}

/// Connecting may take this long (as in the Azure SDK's HTTP client).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Waiting for the next bytes of an answer may take this long (as in the Azure SDK).
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest `--api-version` accepted: real ones are like `2025-03-02-preview`.
const MAX_API_VERSION_LEN: usize = 64;

/// Why an HMAC-signed call to `endpoint` deserves a warning: plain http to a host that is not
/// this machine, so the signed request and the tokens answered cross the network unencrypted.
fn plain_http_warning(endpoint: &url::Url) -> Option<String> {
    if endpoint.scheme() != "http" {
        return None;
    }
    let local = match endpoint.host()? {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.to_canonical().is_loopback(),
    };
    (!local).then(|| {
        format!(
            "the endpoint {endpoint} is plain http to another machine: the signed requests and \
             the access tokens in the answers travel unencrypted; use https"
        )
    })
}

/// Checks `--api-version` is something the service could name: short, letters, digits, `-`, `.`.
fn check_api_version(text: &str) -> Result<&str, Failure> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Failure::Usage("--api-version must not be empty".into()));
    }
    let well_formed = text.len() <= MAX_API_VERSION_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if !well_formed {
        let shown: String = text.chars().take(32).collect();
        let more = if text.chars().count() > 32 { "..." } else { "" };
        return Err(Failure::Usage(format!(
            "invalid --api-version '{shown}{more}': expected a version such as {} \
             (at most {MAX_API_VERSION_LEN} letters, digits, '-', '.' or '_')",
            acs_identity::DEFAULT_API_VERSION
        )));
    }
    Ok(text)
}

/// The api-version, and the HTTP client: connect and read timeouts, no redirects (as the Azure
/// SDK's), also trusting `--ca-certificate` when given.
fn client_options(args: &ConnectionArgs) -> Result<CommunicationIdentityClientOptions, Failure> {
    let api_version = check_api_version(&args.api_version)?;
    let timeout = Duration::from_secs(args.timeout);
    let mut http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .read_timeout(READ_TIMEOUT.min(timeout))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = &args.ca_certificate {
        let shown = path.display();
        let pem = std::fs::read(path).map_err(|error| {
            Failure::Usage(format!("cannot read --ca-certificate {shown}: {error}"))
        })?;
        let not_pem =
            || Failure::Usage(format!("--ca-certificate {shown} holds no PEM certificate"));
        let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| not_pem())?;
        if certificates.is_empty() {
            return Err(not_pem());
        }
        http = http.tls_certs_merge(certificates);
    }
    let http = http
        .build()
        .map_err(|error| Failure::Usage(format!("cannot set up the HTTP client: {error}")))?;
    Ok(CommunicationIdentityClientOptions::default()
        .with_api_version(api_version)
        .with_http_client(http)
        .with_timeout(timeout))
}

fn connect_with_entra_id(
    endpoint: &str,
    options: CommunicationIdentityClientOptions,
) -> Result<CommunicationIdentityClient, Failure> {
    let credential = azure_identity::DeveloperToolsCredential::new(None).map_err(|error| {
        Failure::Service(format!(
            "cannot set up the developer tools credential: {error}"
        ))
    })?;
    let credential: Arc<dyn azure_core::credentials::TokenCredential> = credential;
    CommunicationIdentityClient::with_token_credential(endpoint, credential, Some(options))
        .map_err(|error| Failure::Usage(format!("invalid --endpoint: {error}")))
}

fn user_id(id: String) -> Result<CommunicationUserIdentifier, Failure> {
    if id.trim().is_empty() {
        return Err(Failure::Usage("--user needs a user id (8:acs:...)".into()));
    }
    Ok(CommunicationUserIdentifier::new(id))
}

fn parse_scopes(texts: &[String]) -> Result<Vec<TokenScope>, Failure> {
    texts
        .iter()
        .map(|text| {
            let text = text.trim();
            if text.is_empty() {
                return Err(Failure::Usage(
                    "--scope needs a value: chat, voip, chat.join, chat.join.limited or voip.join"
                        .into(),
                ));
            }
            text.parse::<TokenScope>()
                .map_err(|error| Failure::Usage(format!("invalid --scope '{text}': {error}")))
        })
        .collect()
}

fn minutes(value: Option<u32>) -> Option<Duration> {
    value.map(|minutes| Duration::from_secs(u64::from(minutes) * 60))
}

/// A preview feature on a client of a stable api-version fails in the facade with a
/// configuration error that names the version it needs; on the command line, the way to choose
/// it is `--api-version`.
fn preview_hint(error: acs_identity::Error) -> Failure {
    if error.kind() == ErrorKind::Configuration {
        Failure::Usage(format!(
            "{error} (on the command line: --api-version {PREVIEW_API_VERSION})"
        ))
    } else {
        error.into()
    }
}

async fn user_create(
    client: &CommunicationIdentityClient,
    custom_id: Option<String>,
) -> Result<Report, Failure> {
    let Some(custom_id) = custom_id else {
        let user = client.create_user(None).await?;
        let id = user.id().to_string();
        return Ok(Report::new(json!({ "id": id })).row("User id", id));
    };
    let details = client
        .create_user_with_custom_id(&custom_id, None)
        .await
        .map_err(preview_hint)?;
    Ok(details_report(details))
}

async fn user_show(client: &CommunicationIdentityClient, id: String) -> Result<Report, Failure> {
    let user = user_id(id)?;
    let details = client.get_user(&user, None).await.map_err(preview_hint)?;
    Ok(details_report(details))
}

/// A user with its custom id and last token time, as `user show` and `user create --custom-id`
/// report it.
fn details_report(details: CommunicationUserDetails) -> Report {
    let id = details.user.id().to_string();
    let last_issued = details.last_token_issued_at.map(format_time);
    let mut json = json!({ "id": id });
    if let Some(custom_id) = &details.custom_id {
        json["customId"] = json!(custom_id);
    }
    if let Some(time) = &last_issued {
        json["lastTokenIssuedAt"] = json!(time);
    }
    Report::new(json)
        .row("User id", id)
        .row("Custom id", details.custom_id.unwrap_or_else(|| "-".into()))
        .row(
            "Last token issued at",
            last_issued.unwrap_or_else(|| "never".into()),
        )
}

async fn user_delete(client: &CommunicationIdentityClient, id: String) -> Result<Report, Failure> {
    let user = user_id(id)?;
    client.delete_user(&user, None).await?;
    Ok(done_for_user(&user, "deleted", "Deleted"))
}

/// The report of an operation on one user that answers nothing: the user's id, and that it was
/// done (`field: true` in JSON, `label  yes` in the table).
fn done_for_user(user: &CommunicationUserIdentifier, field: &str, label: &'static str) -> Report {
    let id = user.id().to_string();
    Report::new(json!({ "id": id, field: true }))
        .row("User id", id)
        .row(label, "yes")
}

async fn token_issue(
    client: &CommunicationIdentityClient,
    args: IssueArgs,
) -> Result<Report, Failure> {
    let scopes = parse_scopes(&args.scopes)?;
    let expires_in = minutes(args.expires_in_minutes);
    let (user, token) = match args.user {
        Some(id) => {
            let user = user_id(id)?;
            let mut options = GetTokenOptions::default();
            options.token_expires_in = expires_in;
            let token = client.get_token(&user, &scopes, Some(options)).await?;
            (user, token)
        }
        None => {
            let mut options = CreateUserAndTokenOptions::default();
            options.token_expires_in = expires_in;
            let created = client.create_user_and_token(&scopes, Some(options)).await?;
            (created.user, created.access_token)
        }
    };
    let id = user.id().to_string();
    let expires_on = format_time(token.expires_on);
    let secret = token.token.secret().to_string();
    Ok(Report::new(json!({
        "user": { "id": id },
        "token": secret,
        "expiresOn": expires_on,
    }))
    .row("User id", id)
    .row("Expires on", expires_on)
    .row("Token", secret))
}

async fn token_revoke(client: &CommunicationIdentityClient, id: String) -> Result<Report, Failure> {
    let user = user_id(id)?;
    client.revoke_tokens(&user, None).await?;
    Ok(done_for_user(&user, "tokensRevoked", "Tokens revoked"))
}

/// A token option's value: as given, or one line of stdin for `-`.
fn token_argument(name: &str, value: String) -> Result<String, Failure> {
    if value != "-" {
        return Ok(value);
    }
    let mut text = String::new();
    io::stdin()
        .read_line(&mut text)
        .map_err(|error| Failure::Usage(format!("cannot read {name} from stdin: {error}")))?;
    Ok(text.trim().to_string())
}

async fn token_for_teams_user(
    client: &CommunicationIdentityClient,
    args: TeamsArgs,
) -> Result<Report, Failure> {
    let aad_token = token_argument("--aad-token", args.aad_token)?;
    for (name, value) in [
        ("--aad-token", &aad_token),
        ("--client-id", &args.client_id),
        ("--user-object-id", &args.user_object_id),
    ] {
        if value.trim().is_empty() {
            return Err(Failure::Usage(format!("{name} must not be empty")));
        }
    }
    let token = client
        .get_token_for_teams_user(&aad_token, &args.client_id, &args.user_object_id, None)
        .await?;
    let expires_on = format_time(token.expires_on);
    let secret = token.token.secret().to_string();
    Ok(
        Report::new(json!({ "token": secret, "expiresOn": expires_on }))
            .row("Expires on", expires_on)
            .row("Token", secret),
    )
}

async fn token_for_teams_extension_user(
    client: &CommunicationIdentityClient,
    args: TeamsExtensionUserArgs,
) -> Result<Report, Failure> {
    let entra_token = token_argument("--entra-token", args.entra_token)?;
    if entra_token.trim().is_empty() {
        return Err(Failure::Usage("--entra-token must not be empty".into()));
    }
    let exchanged = client
        .get_token_for_teams_extension_user(&entra_token, None)
        .await?;
    let id = exchanged.identifier.raw_id().to_string();
    let expires_on = format_time(exchanged.access_token.expires_on);
    let secret = exchanged.access_token.token.secret().to_string();
    Ok(Report::new(json!({
        "user": { "id": id },
        "token": secret,
        "expiresOn": expires_on,
    }))
    .row("User id", id)
    .row("Expires on", expires_on)
    .row("Token", secret))
}

/// What a create-or-replace did, for its report.
#[derive(Clone, Copy)]
enum Written {
    Created,
    Replaced,
}

/// The report of an assignment, with what was written, if anything (`"created": true` or
/// `"replaced": true` in JSON, a `Created` or `Replaced` row in the table).
fn assignment_report(assignment: TeamsExtensionAssignment, written: Option<Written>) -> Report {
    let client_ids = if assignment.client_ids.is_empty() {
        "any".to_string()
    } else {
        assignment.client_ids.join(", ")
    };
    let mut json = json!({
        "tenantId": assignment.tenant_id,
        "objectId": assignment.object_id,
        "principalType": assignment.principal_type.as_str(),
        "clientIds": assignment.client_ids,
    });
    let written = written.map(|written| match written {
        Written::Created => ("created", "Created"),
        Written::Replaced => ("replaced", "Replaced"),
    });
    if let Some((field, _)) = written {
        json[field] = json!(true);
    }
    let report = Report::new(json)
        .row("Tenant id", assignment.tenant_id)
        .row("Object id", assignment.object_id)
        .row("Principal type", assignment.principal_type.as_str())
        .row("Client ids", client_ids);
    match written {
        Some((_, label)) => report.row(label, "yes"),
        None => report,
    }
}

fn check_assignment_key(key: &AssignmentKey) -> Result<(), Failure> {
    for (name, value) in [
        ("--tenant-id", &key.tenant_id),
        ("--object-id", &key.object_id),
    ] {
        if value.trim().is_empty() {
            return Err(Failure::Usage(format!("{name} must not be empty")));
        }
    }
    Ok(())
}

async fn assignment_create_or_replace(
    client: &CommunicationIdentityClient,
    args: AssignmentWriteArgs,
) -> Result<Report, Failure> {
    check_assignment_key(&args.key)?;
    if args.principal_type.trim().is_empty() {
        return Err(Failure::Usage(
            "--principal-type needs a value: user or resourceAccount".into(),
        ));
    }
    let mut options = CreateOrReplaceTeamsExtensionAssignmentOptions::default();
    if !args.client_ids.is_empty() {
        options = options.with_client_ids(args.client_ids);
    }
    let upserted = client
        .create_or_replace_teams_extension_assignment(
            &args.key.tenant_id,
            &args.key.object_id,
            TeamsExtensionPrincipalType::from_wire(args.principal_type.trim()),
            Some(options),
        )
        .await?;
    let written = if upserted.is_created() {
        Written::Created
    } else {
        Written::Replaced
    };
    Ok(assignment_report(upserted.into_inner(), Some(written)))
}

async fn assignment_show(
    client: &CommunicationIdentityClient,
    key: AssignmentKey,
) -> Result<Report, Failure> {
    check_assignment_key(&key)?;
    let assignment = client
        .get_teams_extension_assignment(&key.tenant_id, &key.object_id, None)
        .await?;
    Ok(assignment_report(assignment, None))
}

async fn assignment_delete(
    client: &CommunicationIdentityClient,
    key: AssignmentKey,
) -> Result<Report, Failure> {
    check_assignment_key(&key)?;
    client
        .delete_teams_extension_assignment(&key.tenant_id, &key.object_id, None)
        .await?;
    Ok(Report::new(json!({
        "tenantId": key.tenant_id,
        "objectId": key.object_id,
        "deleted": true,
    }))
    .row("Tenant id", key.tenant_id)
    .row("Object id", key.object_id)
    .row("Deleted", "yes"))
}

async fn emulator(args: EmulatorArgs, format: OutputFormat) -> Result<(), Failure> {
    let handle = args
        .options
        .builder()
        .start()
        .await
        .map_err(|error| Failure::Service(format!("cannot start the emulator: {error}")))?;

    // The connection string carries the emulator's own local key: handing it out is the point
    // of this command, as handing out tokens is the point of `token issue`.
    let endpoint = handle.endpoint().to_string();
    let connection_string = handle.connection_string();
    let resource_id = handle.resource_id().to_string();
    let storage = match handle.data_dir() {
        Some(dir) => dir.display().to_string(),
        None => "in-memory".to_string(),
    };
    let certificate = handle
        .certificate_path()
        .map(|path| path.display().to_string());
    let mut report = Report::new(json!({
        "endpoint": endpoint,
        "connectionString": connection_string,
        "resourceId": resource_id,
        "storage": storage,
        "caCertificateFile": certificate,
    }))
    .row("Endpoint", endpoint)
    .row("Connection string", connection_string)
    .row("Resource id", resource_id);
    if let Some(path) = certificate {
        report = report.row("CA certificate", path);
    }
    report = report.row("Storage", storage);
    // Before the connection string: a script reading it may read the port file next.
    if let Err(error) = args.options.write_port_file(&handle) {
        handle.shutdown().await;
        return Err(Failure::Service(format!(
            "cannot write the port file: {error}"
        )));
    }
    if args.options.print_connection_string {
        // Only the connection string on stdout, for scripts.
        write_stdout(|out| writeln!(out, "{}", handle.connection_string()))?;
    } else {
        emit(&report, format)?;
    }
    if handle.certificate_pem().is_some() && handle.certificate_path().is_none() {
        eprintln!(
            "HTTPS uses a certificate made for this run only; clients must trust it to connect."
        );
    }
    eprintln!("The ACS Identity emulator is running; press Ctrl-C to stop it.");

    wait_for_shutdown_signal().await;
    handle.shutdown().await;
    eprintln!("The emulator stopped.");
    Ok(())
}

/// Returns on Ctrl-C, or on SIGTERM where there is one.
async fn wait_for_shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_failures_exit_2_and_service_failures_exit_1() {
        assert_eq!(Failure::Usage("x".into()).exit_code(), 2);
        assert_eq!(Failure::Service("x".into()).exit_code(), 1);
    }

    #[test]
    fn empty_scopes_are_usage_errors() {
        let failure = parse_scopes(&["chat".into(), " ".into()]).unwrap_err();
        assert_eq!(failure.exit_code(), 2);
    }

    #[test]
    fn known_and_new_scopes_parse() {
        let scopes =
            parse_scopes(&["chat".into(), " voip ".into(), "future.scope".into()]).unwrap();
        assert_eq!(
            scopes,
            [
                TokenScope::Chat,
                TokenScope::Voip,
                TokenScope::UnknownValue("future.scope".into())
            ]
        );
    }

    #[test]
    fn minutes_become_whole_durations() {
        assert_eq!(minutes(Some(60)), Some(Duration::from_secs(3600)));
        assert_eq!(minutes(None), None);
        assert_eq!(
            minutes(Some(u32::MAX)),
            Some(Duration::from_secs(u64::from(u32::MAX) * 60))
        );
    }
}

#[cfg(test)]
mod hardening_tests {
    use super::*;

    #[test]
    fn plain_http_to_another_machine_is_warned_about() {
        for remote in [
            "http://emulator.internal:8642/",
            "http://10.1.2.3/",
            "http://[2001:db8::1]/",
        ] {
            let warning = plain_http_warning(&url::Url::parse(remote).unwrap());
            assert!(
                warning.is_some_and(|w| w.contains("unencrypted")),
                "{remote}"
            );
        }
        for local in [
            "http://127.0.0.1:8642/",
            "http://localhost:1/",
            "http://[::1]/",
            "https://a.communication.azure.com/",
        ] {
            assert_eq!(plain_http_warning(&url::Url::parse(local).unwrap()), None);
        }
    }

    #[test]
    fn api_versions_must_be_short_version_names() {
        assert_eq!(
            check_api_version(" 2025-03-02-preview ").ok(),
            Some("2025-03-02-preview")
        );
        let huge = "9".repeat(100_000);
        for bad in ["", "2023-10-01&x=1", "2023 10 01", huge.as_str()] {
            let failure = check_api_version(bad).unwrap_err();
            assert_eq!(failure.exit_code(), 2, "{bad:.40}");
            assert!(failure.message().len() < 200, "{}", failure.message());
        }
    }
}
