//! A token service: the backend a chat or calling app needs. Each of the app's users gets an ACS
//! identity, created once and remembered, and asks this service for chat + VoIP tokens.
//!
//! ```text
//! cargo run --example token_service            # from the workspace root
//! curl -s -X POST localhost:3000/token -H 'content-type: application/json' -d '{"user":"alice"}'
//! curl -s -X POST localhost:3000/revoke/alice -o /dev/null -w '%{http_code}\n'
//! ```
//!
//! - `POST /token` with `{"user": "<the app's user name>"}`: `200 {"user", "acsUserId", "token",
//!   "expiresOn"}`. The first call for a user creates its ACS identity (with its first token, in
//!   one call); later calls issue a token for the same identity.
//! - `POST /revoke/{user}`: revokes every token of that user's identity: `204`, or `404` for a
//!   user that never got one.
//! - Errors of the identity service become HTTP statuses through the error's helpers
//!   ([`service_failure`]): a throttled or unavailable service `503` with its `Retry-After`, a
//!   timeout `504`, an unreachable service `502`, anything else `500`. The body never carries the
//!   service's message (it is logged instead), nor any key.
//!
//! With `AZURE_COMMUNICATION_CONNECTION_STRING` set it runs against that resource, otherwise
//! against an ACS Identity emulator started in this process (in memory). `PORT` chooses the port
//! (default 3000). In production, authenticate the caller before handing out a token, and keep
//! the user-to-identity map in the app's database (here it is in memory, so it is lost on exit).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acs_identity::{
    CommunicationIdentityClient, CommunicationIdentityClientOptions, CommunicationUserIdentifier,
    CreateUserAndTokenOptions, Error, GetTokenOptions, TokenScope,
};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OnceCell;

/// The scopes of every token this service hands out.
const SCOPES: [TokenScope; 2] = [TokenScope::Chat, TokenScope::Voip];

/// How long a token lives: one day, the service's maximum.
const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// How long one call to the identity service may take, retries included (the client's default
/// deadline): the app's own clients get an answer (`504`) instead of waiting as long as the
/// retries would.
const CALL_DEADLINE: Duration = Duration::from_secs(10);

/// The state every request shares: the identity client (cheap to clone, one connection pool)
/// and the ACS identity of each of the app's users.
#[derive(Clone)]
pub struct TokenService {
    client: CommunicationIdentityClient,
    /// The app's user name to its ACS identity. A user's cell is filled once: concurrent first
    /// requests for one user wait for a single create instead of making an identity each.
    identities: Arc<Mutex<HashMap<String, Arc<OnceCell<CommunicationUserIdentifier>>>>>,
}

/// The body of `POST /token`.
#[derive(Deserialize)]
struct TokenRequest {
    /// The app's name for the user (in production: taken from the caller's authenticated session).
    user: String,
}

/// The app's routes over `client`.
pub fn app(client: CommunicationIdentityClient) -> Router {
    let service = TokenService {
        client,
        identities: Arc::default(),
    };
    Router::new()
        .route("/token", post(issue_token))
        .route("/revoke/{user}", post(revoke))
        .with_state(service)
}

impl TokenService {
    /// The cell of `user`'s identity (made empty on first sight).
    fn identity_cell(&self, user: &str) -> Arc<OnceCell<CommunicationUserIdentifier>> {
        let mut identities = self
            .identities
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(identities.entry(user.to_owned()).or_default())
    }

    /// `user`'s identity, if it has one.
    fn known_identity(&self, user: &str) -> Option<CommunicationUserIdentifier> {
        let identities = self
            .identities
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        identities.get(user).and_then(|cell| cell.get().cloned())
    }
}

/// `POST /token`: the user's identity (created on first use) and a new chat + VoIP token.
async fn issue_token(
    State(service): State<TokenService>,
    Json(request): Json<TokenRequest>,
) -> Result<Response, Response> {
    let user = request.user.trim();
    if user.is_empty() {
        return Err(client_error(StatusCode::BAD_REQUEST, "`user` is empty"));
    }
    let cell = service.identity_cell(user);
    // The first request for a user creates its identity together with its first token. (A
    // create that times out may still have made an identity on the service: it is then
    // orphaned, and the next request makes another. Retries of the create can do the same.)
    let mut first_token = None;
    let identity = cell
        .get_or_try_init(|| async {
            let options =
                CreateUserAndTokenOptions::default().with_token_expires_in(TOKEN_LIFETIME);
            let created = service
                .client
                .create_user_and_token(&SCOPES, Some(options))
                .await?;
            first_token = Some(created.access_token);
            Ok::<_, Error>(created.user)
        })
        .await
        .map_err(|error| service_failure("create the user's identity", &error))?;
    let token = match first_token {
        Some(token) => token,
        None => {
            let options = GetTokenOptions::default().with_token_expires_in(TOKEN_LIFETIME);
            service
                .client
                .get_token(identity, &SCOPES, Some(options))
                .await
                .map_err(|error| service_failure("issue a token", &error))?
        }
    };
    // `revealed()`: a serialized AccessToken leaves its token out unless asked; handing it to
    // its user is the point of this endpoint.
    let revealed = serde_json::to_value(token.revealed()).map_err(|_| {
        client_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not encode the token",
        )
    })?;
    let mut body = json!({ "user": user, "acsUserId": identity });
    if let (Some(body), Some(token)) = (body.as_object_mut(), revealed.as_object()) {
        body.extend(token.clone());
    }
    Ok(Json(body).into_response())
}

/// `POST /revoke/{user}`: revokes every token of the user's identity.
async fn revoke(
    State(service): State<TokenService>,
    Path(user): Path<String>,
) -> Result<StatusCode, Response> {
    let Some(identity) = service.known_identity(&user) else {
        return Err(client_error(
            StatusCode::NOT_FOUND,
            "this user has no identity yet",
        ));
    };
    service
        .client
        .revoke_tokens(&identity, None)
        .await
        .map_err(|error| service_failure("revoke the user's tokens", &error))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A JSON error answer.
fn client_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// The answer for a failed call to the identity service, chosen with the error's helpers. The
/// error itself (status, code, message, request id: never a key or token) goes to the log.
fn service_failure(what: &str, error: &Error) -> Response {
    eprintln!(
        "could not {what}: {error} (request id {})",
        error.request_id().unwrap_or("none")
    );
    if error.is_timeout() {
        return client_error(
            StatusCode::GATEWAY_TIMEOUT,
            "the identity service did not answer in time",
        );
    }
    if error.is_connect() {
        return client_error(
            StatusCode::BAD_GATEWAY,
            "the identity service cannot be reached",
        );
    }
    if error.is_retryable() {
        // Throttled (429) or unavailable (5xx) after the client's own retries: the caller may
        // try again, after the delay the service asked for when it named one.
        let mut response = client_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the identity service is busy; try again later",
        );
        if let Some(delay) = error.retry_after() {
            let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        return response;
    }
    // A wrong key (401), an identity deleted elsewhere (404), a rejected request (400): this
    // service's configuration or bug, nothing its caller can change.
    client_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the token service could not complete the request",
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A real resource when configured, else an emulator in this process (kept alive until exit).
    let (connection_string, _emulator) =
        match std::env::var("AZURE_COMMUNICATION_CONNECTION_STRING") {
            Ok(text) => (text, None),
            Err(_) => {
                let emulator = acs_identity_emulator::Emulator::builder()
                    .listen("127.0.0.1:0".parse()?)
                    .in_memory()
                    .start()
                    .await?;
                (emulator.connection_string(), Some(emulator))
            }
        };
    let options = CommunicationIdentityClientOptions::default().with_timeout(CALL_DEADLINE);
    let client =
        CommunicationIdentityClient::from_connection_string(&connection_string, Some(options))?;
    let port: u16 = match std::env::var("PORT") {
        Ok(text) => text
            .parse()
            .map_err(|_| format!("PORT `{text}` is not a port number"))?,
        Err(_) => 3000,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!(
        "token service on http://{} (identity service {})",
        listener.local_addr()?,
        client.endpoint()
    );
    axum::serve(listener, app(client)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The service against the in-process emulator, over loopback HTTP: `cargo test --workspace`
    //! runs these (the example is a test target, `test = true` in Cargo.toml).
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use acs_identity::RetryOptions;
    use acs_identity::credentials::{AccessKey, AccessKeyCredential};
    use acs_identity_emulator::{Controls, Emulator, EmulatorHandle, FaultRule, Operation};

    async fn emulator() -> EmulatorHandle {
        Emulator::builder()
            .listen("127.0.0.1:0".parse().unwrap())
            .in_memory()
            .start()
            .await
            .unwrap()
    }

    /// The service over `client`, served on a free loopback port; its base URL.
    async fn serve(client: CommunicationIdentityClient) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app(client)).await });
        format!("http://{address}")
    }

    /// A client of `emulator` whose retries wait at most 20 ms (the tests do not wait out the
    /// Retry-After the emulator sends).
    fn client(emulator: &EmulatorHandle) -> CommunicationIdentityClient {
        let options = CommunicationIdentityClientOptions::default().with_retry(
            RetryOptions::default()
                .with_initial_delay(Duration::from_millis(5))
                .with_max_delay(Duration::from_millis(20)),
        );
        CommunicationIdentityClient::from_connection_string(
            &emulator.connection_string(),
            Some(options),
        )
        .unwrap()
    }

    async fn post(url: String, body: Option<serde_json::Value>) -> reqwest::Response {
        let request = reqwest::Client::new().post(url);
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(body.to_string()),
            None => request,
        };
        request.send().await.unwrap()
    }

    async fn token_for(base: &str, user: &str) -> reqwest::Response {
        post(format!("{base}/token"), Some(json!({ "user": user }))).await
    }

    async fn json_of(response: reqwest::Response) -> serde_json::Value {
        serde_json::from_str(&response.text().await.unwrap()).unwrap()
    }

    #[tokio::test]
    async fn each_user_gets_one_identity_and_valid_tokens() {
        let emulator = emulator().await;
        let base = serve(client(&emulator)).await;

        let first = token_for(&base, "alice").await;
        assert_eq!(first.status(), 200);
        let first = json_of(first).await;
        let alice = first["acsUserId"].as_str().unwrap().to_owned();
        assert!(alice.starts_with("8:acs:"), "{first}");
        assert_eq!(first["user"], "alice");
        let token = first["token"].as_str().unwrap();
        assert!(emulator.validate_token(token).valid);
        let expires_on = first["expiresOn"].as_str().unwrap();
        assert!(
            time::OffsetDateTime::parse(expires_on, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{expires_on}"
        );

        // The same user again: the same identity, a new token.
        let again = json_of(token_for(&base, "alice").await).await;
        assert_eq!(again["acsUserId"], alice.as_str());
        assert!(
            emulator
                .validate_token(again["token"].as_str().unwrap())
                .valid
        );
        // Another user, concurrently with alice's third request: its own identity.
        let (bob, alice_third) = tokio::join!(token_for(&base, "bob"), token_for(&base, "alice"));
        let bob = json_of(bob).await;
        assert_ne!(bob["acsUserId"], alice.as_str());
        assert_eq!(json_of(alice_third).await["acsUserId"], alice.as_str());
        assert_eq!(emulator.identities(false).len(), 2, "one identity per user");

        // A bad request is the caller's error.
        let empty = token_for(&base, " ").await;
        assert_eq!(empty.status(), 400);
        let malformed = post(format!("{base}/token"), Some(json!({ "name": "x" }))).await;
        assert!(
            malformed.status().is_client_error(),
            "{}",
            malformed.status()
        );
        emulator.shutdown().await;
    }

    #[tokio::test]
    async fn concurrent_first_requests_create_one_identity() {
        let emulator = emulator().await;
        let base = serve(client(&emulator)).await;
        let answers = futures::future::join_all((0..8).map(|_| token_for(&base, "carol"))).await;
        let mut ids = Vec::new();
        for answer in answers {
            assert_eq!(answer.status(), 200);
            ids.push(json_of(answer).await["acsUserId"].clone());
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(emulator.identities(false).len(), 1);
        emulator.shutdown().await;
    }

    #[tokio::test]
    async fn revoke_invalidates_the_users_tokens() {
        let emulator = emulator().await;
        let base = serve(client(&emulator)).await;
        let before = json_of(token_for(&base, "dave").await).await;
        let old_token = before["token"].as_str().unwrap().to_owned();
        assert!(emulator.validate_token(&old_token).valid);

        let revoked = post(format!("{base}/revoke/dave"), None).await;
        assert_eq!(revoked.status(), 204);
        assert!(!emulator.validate_token(&old_token).valid, "revoked");
        // A new token for the same identity works again.
        let after = json_of(token_for(&base, "dave").await).await;
        assert_eq!(after["acsUserId"], before["acsUserId"]);
        assert!(
            emulator
                .validate_token(after["token"].as_str().unwrap())
                .valid
        );

        let unknown = post(format!("{base}/revoke/nobody"), None).await;
        assert_eq!(unknown.status(), 404);
        emulator.shutdown().await;
    }

    #[tokio::test]
    async fn service_errors_become_http_statuses() {
        let emulator = emulator().await;
        let base = serve(client(&emulator)).await;
        json_of(token_for(&base, "erin").await).await;

        // Throttled on every try: 503, with the service's Retry-After passed on.
        let throttled = FaultRule {
            operation: Some(Operation::IssueToken),
            status: Some(429),
            count: Some(4),
            retry_after: Some(9),
            ..FaultRule::default()
        };
        emulator
            .set_controls(Controls {
                faults: vec![throttled],
                ..Controls::default()
            })
            .unwrap();
        let throttled = token_for(&base, "erin").await;
        assert_eq!(throttled.status(), 503);
        assert_eq!(throttled.headers()["retry-after"], "9");
        assert!(emulator.controls().faults.is_empty(), "1 try + 3 retries");

        // A service that answers too late: 504.
        let slow_options = CommunicationIdentityClientOptions::default()
            .with_retry(RetryOptions::none())
            .with_timeout(Duration::from_millis(200));
        let slow_base = serve(
            CommunicationIdentityClient::from_connection_string(
                &emulator.connection_string(),
                Some(slow_options),
            )
            .unwrap(),
        )
        .await;
        let slow = FaultRule {
            operation: Some(Operation::CreateIdentityAndToken),
            delay_ms: 2000,
            count: Some(1),
            ..FaultRule::default()
        };
        emulator
            .set_controls(Controls {
                faults: vec![slow],
                ..Controls::default()
            })
            .unwrap();
        assert_eq!(token_for(&slow_base, "frank").await.status(), 504);

        // A wrong key: the service's 401 is this service's fault, 500, and the key stays out.
        let wrong = AccessKeyCredential::new(
            AccessKey::from_base64("d3JvbmdrZXl3cm9uZ2tleXdyb25na2V5").unwrap(),
        );
        let wrong_base = serve(
            CommunicationIdentityClient::with_access_key(emulator.endpoint().as_str(), wrong, None)
                .unwrap(),
        )
        .await;
        let denied = token_for(&wrong_base, "grace").await;
        assert_eq!(denied.status(), 500);
        let body = denied.text().await.unwrap();
        assert!(!body.contains("d3JvbmdrZXl3cm9uZ2tleXdyb25na2V5"), "{body}");
        assert!(!body.contains(emulator.access_key_base64()), "{body}");

        // The identity service gone: 502.
        let gone = emulator.endpoint().clone();
        emulator.shutdown().await;
        let unreachable = serve(
            CommunicationIdentityClient::with_access_key(
                gone.as_str(),
                AccessKeyCredential::new(
                    AccessKey::from_base64("d3JvbmdrZXl3cm9uZ2tleXdyb25na2V5").unwrap(),
                ),
                Some(
                    CommunicationIdentityClientOptions::default().with_retry(RetryOptions::none()),
                ),
            )
            .unwrap(),
        )
        .await;
        assert_eq!(token_for(&unreachable, "heidi").await.status(), 502);
    }
}
