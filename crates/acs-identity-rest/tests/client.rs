//! The generated client against a loopback mock server (httpmock) and against a stand-in
//! executor: what goes on the wire for each operation, and how responses decode.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use acs_identity_rest::{
    BoxFuture, Client, Error, OperationError, RequestExecutor, Transport, spec_api_version, types,
};
use httpmock::Method::{DELETE, POST};
use httpmock::MockServer;
use serde_json::{Value, json};
use time::macros::datetime;

const ID: &str = "8:acs:00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444";
const ID_IN_PATH: &str =
    "8%3Aacs%3A00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444";
const EXPIRES_7_DIGITS: &str = "2022-08-26T20:03:35.4402106+00:00";

fn direct(server: &MockServer) -> Client {
    Client::new_with_client(
        &server.base_url(),
        reqwest::Client::new(),
        Transport::direct(),
    )
}

fn scope(s: &str) -> types::CommunicationIdentityTokenScope {
    types::CommunicationIdentityTokenScope(s.to_string())
}

fn error_body() -> Value {
    json!({
        "error": {
            "code": "ValidationError",
            "message": "ExpiresInMinutes value 1441 is invalid.",
            "target": "ExpiresInMinutes",
            "details": [
                { "code": "OutOfRange", "message": "Value must be within the [60, 1440] interval.",
                  "details": [ { "code": "Deeper", "message": "nested twice" } ] }
            ],
            "innererror": { "code": "InnerCode", "message": "inner message",
                            "innererror": { "code": "InnerInner", "message": "deepest" } }
        }
    })
}

/// The api-version these tests send: the one every official SDK sends (and the captures and
/// recordings have), whatever version the checked-in spec describes.
const SENT_API_VERSION: &str = "2023-10-01";

#[test]
fn spec_api_version_is_the_checked_in_documents() {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../spec/CommunicationIdentity.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        spec_api_version(),
        spec["info"]["version"].as_str().unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// The five operations on the wire (direct transport: no executor installed).

#[tokio::test]
async fn create_with_scopes_sends_json_and_decodes_201_with_seven_digit_expiry() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/identities")
                .query_param("api-version", "2023-10-01")
                .header_missing("api-version")
                .header("content-type", "application/json")
                .body(r#"{"createTokenWithScopes":["chat","voip"],"expiresInMinutes":60}"#);
            then.status(201)
                .header("content-type", "application/json; charset=utf-8")
                .json_body(json!({
                    "identity": { "id": ID },
                    "accessToken": { "token": "eyJ0.eyJ1.sig", "expiresOn": EXPIRES_7_DIGITS }
                }));
        })
        .await;
    let response = direct(&server)
        .communication_identity_create()
        .api_version("2023-10-01")
        .body_map(|b| {
            b.create_token_with_scopes(Some(vec![scope("chat"), scope("voip")]))
                .expires_in_minutes(Some(60))
        })
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(response.status().as_u16(), 201);
    let result = response.into_inner();
    assert_eq!(result.identity.id, ID);
    let token = result.access_token.unwrap();
    assert_eq!(token.token, "eyJ0.eyJ1.sig");
    assert_eq!(
        token.expires_on.into_inner(),
        datetime!(2022-08-26 20:03:35.4402106 UTC)
    );
    assert_eq!(token.expires_on.nanosecond(), 440_210_600);
}

#[tokio::test]
async fn create_without_options_sends_an_empty_body_and_decodes_201_without_token() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/identities")
                .query_param("api-version", "2023-10-01")
                .header_missing("api-version")
                // As the official SDKs send it: no `{}`, a JSON content type, a zero length.
                .header("content-type", "application/json")
                .header("content-length", "0")
                .body("");
            then.status(201)
                .json_body(json!({ "identity": { "id": ID } }));
        })
        .await;
    let result = direct(&server)
        .communication_identity_create()
        .api_version("2023-10-01")
        .send()
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(result.identity.id, ID);
    assert!(result.access_token.is_none());
}

#[tokio::test]
async fn create_with_an_empty_scope_list_sends_it_and_without_one_omits_it() {
    // `[]` and "absent" differ: the service answers an empty list itself (the JS SDK sends
    // `"createTokenWithScopes":[]`), and creates a user without a token when the key is absent.
    let server = MockServer::start_async().await;
    let empty = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/identities")
                .body(r#"{"createTokenWithScopes":[],"expiresInMinutes":60}"#);
            then.status(400).json_body(error_body());
        })
        .await;
    let absent = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/identities")
                .body(r#"{"expiresInMinutes":60}"#);
            then.status(201)
                .json_body(json!({ "identity": { "id": ID } }));
        })
        .await;
    let client = direct(&server);
    let err = client
        .communication_identity_create()
        .api_version("2023-10-01")
        .body_map(|b| {
            b.create_token_with_scopes(Some(Vec::new()))
                .expires_in_minutes(Some(60))
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    let result = client
        .communication_identity_create()
        .api_version("2023-10-01")
        .body_map(|b| {
            b.create_token_with_scopes(None)
                .expires_in_minutes(Some(60))
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(result.access_token.is_none());
    empty.assert_async().await;
    absent.assert_async().await;
}

#[test]
fn request_bodies_serialize_in_the_published_property_order() {
    // Literal values, so this holds on a fresh clone without ../shared.
    let create = types::CommunicationIdentityCreateRequest::try_from(
        types::CommunicationIdentityCreateRequest::builder()
            .create_token_with_scopes(Some(vec![scope("chat")]))
            .expires_in_minutes(Some(60)),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&create).unwrap(),
        r#"{"createTokenWithScopes":["chat"],"expiresInMinutes":60}"#
    );
    let empty = types::CommunicationIdentityCreateRequest::try_from(
        types::CommunicationIdentityCreateRequest::builder()
            .create_token_with_scopes(Some(Vec::new()))
            .expires_in_minutes(None),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&empty).unwrap(),
        r#"{"createTokenWithScopes":[]}"#
    );
    let issue = types::CommunicationIdentityAccessTokenRequest::try_from(
        types::CommunicationIdentityAccessTokenRequest::builder()
            .scopes(vec![scope("voip"), scope("chat")])
            .expires_in_minutes(Some(60)),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&issue).unwrap(),
        r#"{"scopes":["voip","chat"],"expiresInMinutes":60}"#
    );
    let teams = types::TeamsUserExchangeTokenRequest::try_from(
        types::TeamsUserExchangeTokenRequest::builder()
            .token("aadtoken")
            .app_id("appid")
            .user_id("userid"),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&teams).unwrap(),
        r#"{"token":"aadtoken","appId":"appid","userId":"userid"}"#
    );
    // Absent and empty also stay apart when decoding.
    let absent: types::CommunicationIdentityCreateRequest =
        serde_json::from_str(r#"{"expiresInMinutes":60}"#).unwrap();
    assert!(absent.create_token_with_scopes.is_none());
    let empty: types::CommunicationIdentityCreateRequest =
        serde_json::from_str(r#"{"createTokenWithScopes":[]}"#).unwrap();
    assert_eq!(empty.create_token_with_scopes, Some(Vec::new()));
}

#[tokio::test]
async fn delete_encodes_the_id_and_decodes_204() {
    let server = MockServer::start_async().await;
    let encoded = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path(format!("/identities/{ID_IN_PATH}"))
                .query_param("api-version", "2023-10-01")
                .header_missing("api-version");
            then.status(204);
        })
        .await;
    // A request with the raw `:` would land here instead.
    let raw = server
        .mock_async(|when, then| {
            when.method(DELETE).path(format!("/identities/{ID}"));
            then.status(418);
        })
        .await;
    let response = direct(&server)
        .communication_identity_delete()
        .id(ID)
        .api_version("2023-10-01")
        .send()
        .await
        .unwrap();
    encoded.assert_async().await;
    assert_eq!(raw.calls_async().await, 0);
    assert_eq!(response.status().as_u16(), 204);
}

#[tokio::test]
async fn revoke_encodes_the_id_sends_no_body_and_decodes_204() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/identities/{ID_IN_PATH}/:revokeAccessTokens"))
                .query_param("api-version", "2023-10-01")
                .header_missing("api-version")
                .header_missing("content-type")
                .body("");
            then.status(204);
        })
        .await;
    let response = direct(&server)
        .communication_identity_revoke_access_tokens()
        .id(ID)
        .api_version("2023-10-01")
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(response.status().as_u16(), 204);
}

#[tokio::test]
async fn issue_encodes_the_id_omits_unset_expiry_and_decodes_200() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/identities/{ID_IN_PATH}/:issueAccessToken"))
                .query_param("api-version", "2023-10-01")
                .header_missing("api-version")
                .body(r#"{"scopes":["chat.join","some.future.scope"]}"#);
            then.status(200).json_body(json!({
                "token": "t", "expiresOn": "2025-04-14T15:32:35+00:00"
            }));
        })
        .await;
    let token = direct(&server)
        .communication_identity_issue_access_token()
        .id(ID)
        .api_version("2023-10-01")
        .body_map(|b| {
            b.scopes(vec![scope("chat.join"), scope("some.future.scope")])
                .expires_in_minutes(None)
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(token.token, "t");
    assert_eq!(
        token.expires_on.into_inner(),
        datetime!(2025-04-14 15:32:35 UTC)
    );
}

#[tokio::test]
async fn issue_sends_expiry_when_set_even_out_of_range() {
    // The service owns the 60..=1440 range: the client does not validate it.
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/identities/{ID_IN_PATH}/:issueAccessToken"))
                // The published property order, as the official SDKs send it.
                .body(r#"{"scopes":["chat"],"expiresInMinutes":1441}"#);
            then.status(400).json_body(error_body());
        })
        .await;
    let err = direct(&server)
        .communication_identity_issue_access_token()
        .id(ID)
        .api_version("2023-10-01")
        .body_map(|b| b.scopes(vec![scope("chat")]).expires_in_minutes(Some(1441)))
        .send()
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
}

#[tokio::test]
async fn teams_exchange_sends_all_three_fields_and_decodes_200() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/teamsUser/:exchangeAccessToken")
                .query_param("api-version", "2023-10-01")
                .header_missing("api-version")
                .body(r#"{"token":"aadtoken","appId":"appid","userId":"userid"}"#);
            then.status(200).json_body(json!({
                "token": "acs-token", "expiresOn": EXPIRES_7_DIGITS
            }));
        })
        .await;
    let token = direct(&server)
        .communication_identity_exchange_teams_user_access_token()
        .api_version("2023-10-01")
        .body_map(|b| b.token("aadtoken").app_id("appid").user_id("userid"))
        .send()
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    assert_eq!(token.token, "acs-token");
    assert_eq!(token.expires_on.nanosecond(), 440_210_600);
}

#[tokio::test]
async fn another_api_version_goes_in_the_query_only() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path(format!("/identities/{ID_IN_PATH}"))
                .query_param("api-version", "2026-09-23")
                .header_missing("api-version");
            then.status(204);
        })
        .await;
    direct(&server)
        .communication_identity_delete()
        .id(ID)
        .api_version("2026-09-23")
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
}

// ---------------------------------------------------------------------------------------------
// Errors.

#[tokio::test]
async fn error_body_with_nested_details_and_innererror_decodes() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/identities");
            then.status(400)
                .header("content-type", "application/json")
                .json_body(error_body());
        })
        .await;
    let err = direct(&server)
        .communication_identity_create()
        .api_version("2023-10-01")
        .send()
        .await
        .unwrap_err();
    let Error::ErrorResponse(response) = err else {
        panic!("expected an error response, got {err}");
    };
    assert_eq!(response.status().as_u16(), 400);
    let error = &response.error;
    assert_eq!(error.code, "ValidationError");
    assert_eq!(error.message, "ExpiresInMinutes value 1441 is invalid.");
    assert_eq!(error.target.as_deref(), Some("ExpiresInMinutes"));
    assert_eq!(error.details.len(), 1);
    assert_eq!(error.details[0].code, "OutOfRange");
    assert_eq!(error.details[0].details[0].code, "Deeper");
    let inner = error.innererror.as_ref().unwrap();
    assert_eq!(inner.code, "InnerCode");
    assert_eq!(inner.innererror.as_ref().unwrap().message, "deepest");
}

#[tokio::test]
async fn error_on_every_operation_is_an_error_response() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(401).json_body(json!({ "error": {
                "code": "IdentityNotOwned",
                "message": "Provided identity doesn't belong to the resource."
            } }));
        })
        .await;
    let errors: Vec<OperationError> = send_all(&direct(&server))
        .await
        .into_iter()
        .map(Result::unwrap_err)
        .collect();
    assert_eq!(errors.len(), 5);
    for err in errors {
        match err {
            Error::ErrorResponse(r) => {
                assert_eq!(r.status().as_u16(), 401);
                assert_eq!(r.error.code, "IdentityNotOwned");
            }
            other => panic!("expected an error response, got {other}"),
        }
    }
}

#[tokio::test]
async fn server_error_5xx_with_error_body_decodes() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(DELETE);
            then.status(503)
                .json_body(json!({ "error": { "code": "ServiceUnavailable", "message": "busy" } }));
        })
        .await;
    let err = direct(&server)
        .communication_identity_delete()
        .id(ID)
        .api_version("2023-10-01")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    let Error::ErrorResponse(r) = err else {
        panic!("expected an error response");
    };
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.error.code, "ServiceUnavailable");
}

#[tokio::test]
async fn undecodable_bodies_are_errors_not_panics() {
    let server = MockServer::start_async().await;
    // 502 from a proxy with an HTML body.
    server
        .mock_async(|when, then| {
            when.method(DELETE);
            then.status(502).body("<html>bad gateway</html>");
        })
        .await;
    // A success body missing a required field.
    server
        .mock_async(|when, then| {
            when.method(POST).path("/identities");
            then.status(201).json_body(json!({ "identity": {} }));
        })
        .await;
    // A date that is not a date.
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/identities/{ID_IN_PATH}/:issueAccessToken"));
            then.status(200)
                .json_body(json!({ "token": "t", "expiresOn": "tomorrow" }));
        })
        .await;
    // A status the spec does not list for this operation (revoke answers 204).
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/identities/{ID_IN_PATH}/:revokeAccessTokens"));
            then.status(200).json_body(json!({}));
        })
        .await;
    let client = direct(&server);
    let e = client
        .communication_identity_delete()
        .id(ID)
        .api_version("2023-10-01")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidResponsePayload(ref body, _) if body.starts_with(b"<html>")),
        "{e}"
    );
    let e = client
        .communication_identity_create()
        .api_version("2023-10-01")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidResponsePayload(..)), "{e}");
    let e = client
        .communication_identity_issue_access_token()
        .id(ID)
        .api_version("2023-10-01")
        .body_map(|b| b.scopes(vec![scope("chat")]).expires_in_minutes(None))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidResponsePayload(..)), "{e}");
    let e = client
        .communication_identity_revoke_access_tokens()
        .id(ID)
        .api_version("2023-10-01")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::UnexpectedResponse(ref r) if r.status().as_u16() == 200),
        "{e}"
    );
}

#[tokio::test]
async fn missing_required_builder_parameter_is_an_invalid_request() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(204);
        })
        .await;
    let e = direct(&server)
        .communication_identity_delete()
        .api_version("2023-10-01")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidRequest(ref m) if m.contains("id")),
        "{e}"
    );
    assert_eq!(any.calls_async().await, 0);
}

/// `http://127.0.0.1:<port>` of a loopback port that was just free (bound, then closed).
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test]
async fn connection_failure_is_a_communication_error() {
    let client = Client::new_with_client(
        &closed_port_url(),
        reqwest::Client::new(),
        Transport::direct(),
    );
    let e = client
        .communication_identity_delete()
        .id(ID)
        .api_version("2023-10-01")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::CommunicationError(_)), "{e}");
    assert!(e.is_retryable());
}

#[test]
fn unknown_scopes_decode() {
    let request: types::CommunicationIdentityCreateRequest = serde_json::from_value(json!({
        "createTokenWithScopes": ["chat", "brand.new.scope"], "expiresInMinutes": null
    }))
    .unwrap();
    assert_eq!(
        request.create_token_with_scopes.as_ref().unwrap()[1].0,
        "brand.new.scope"
    );
    assert_eq!(request.expires_in_minutes, None);
    let issue: types::CommunicationIdentityAccessTokenRequest =
        serde_json::from_value(json!({ "scopes": ["voip.join", "x.y"] })).unwrap();
    assert_eq!(*issue.scopes[1], "x.y");
    // Unknown response fields are ignored too.
    let token: types::CommunicationIdentityAccessToken = serde_json::from_value(json!({
        "token": "t", "expiresOn": EXPIRES_7_DIGITS, "somethingNew": 1
    }))
    .unwrap();
    assert_eq!(token.expires_on.nanosecond(), 440_210_600);
}

// ---------------------------------------------------------------------------------------------
// The executor hook.

#[derive(Debug, Clone)]
struct Seen {
    operation_id: &'static str,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Seen {
    /// What an executor received for `operation_id`.
    fn of(request: &reqwest::Request, operation_id: &'static str) -> Self {
        let url = request.url();
        Seen {
            operation_id,
            method: request.method().to_string(),
            target: format!(
                "{}{}",
                url.path(),
                url.query().map(|q| format!("?{q}")).unwrap_or_default()
            ),
            headers: request
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
                .collect(),
            body: request
                .body()
                .and_then(|b| b.as_bytes())
                .map(<[u8]>::to_vec),
        }
    }
}

/// Records each request, adds `x-test-hook: <operation id>`, and sends it `attempts` times
/// (returning the last response), as a retrying executor would.
struct Recorder {
    http: reqwest::Client,
    seen: Arc<Mutex<Vec<Seen>>>,
    attempts: usize,
}

impl RequestExecutor for Recorder {
    fn execute<'a>(
        &'a self,
        mut request: reqwest::Request,
        operation_id: &'static str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        Box::pin(async move {
            self.seen
                .lock()
                .unwrap()
                .push(Seen::of(&request, operation_id));
            request.headers_mut().insert(
                "x-test-hook",
                reqwest::header::HeaderValue::from_static(operation_id),
            );
            let mut last = None;
            for _ in 0..self.attempts {
                let attempt = request.try_clone().expect("bodies are in memory");
                last = Some(self.http.execute(attempt).await?);
            }
            Ok(last.expect("at least one attempt"))
        })
    }
}

fn recording_client(server: &MockServer, attempts: usize) -> (Client, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let transport = Transport::with_executor(Recorder {
        http: reqwest::Client::new(),
        seen: seen.clone(),
        attempts,
    });
    assert!(transport.has_executor());
    let client = Client::new_with_client(&server.base_url(), reqwest::Client::new(), transport);
    (client, seen)
}

/// Runs the five operations once each (create with scopes, issue, revoke, delete, exchange)
/// and returns their outcomes in that order.
async fn send_all(client: &Client) -> Vec<Result<(), OperationError>> {
    let v = SENT_API_VERSION;
    vec![
        client
            .communication_identity_create()
            .api_version(v)
            .body_map(|b| {
                b.create_token_with_scopes(Some(vec![scope("chat"), scope("voip")]))
                    .expires_in_minutes(Some(60))
            })
            .send()
            .await
            .map(drop),
        client
            .communication_identity_issue_access_token()
            .id(ID)
            .api_version(v)
            .body_map(|b| b.scopes(vec![scope("chat.join")]).expires_in_minutes(None))
            .send()
            .await
            .map(drop),
        client
            .communication_identity_revoke_access_tokens()
            .id(ID)
            .api_version(v)
            .send()
            .await
            .map(drop),
        client
            .communication_identity_delete()
            .id(ID)
            .api_version(v)
            .send()
            .await
            .map(drop),
        client
            .communication_identity_exchange_teams_user_access_token()
            .api_version(v)
            .body_map(|b| b.token("aadtoken").app_id("appid").user_id("userid"))
            .send()
            .await
            .map(drop),
    ]
}

/// [`send_all`], each operation expected to succeed.
async fn run_all(client: &Client) {
    for outcome in send_all(client).await {
        outcome.unwrap();
    }
}

async fn mock_all(server: &MockServer) -> Vec<httpmock::Mock<'_>> {
    let token = json!({ "token": "t", "expiresOn": EXPIRES_7_DIGITS });
    let mut mocks = Vec::new();
    for (method, path, op, status, body) in [
        (
            POST,
            "/identities".to_string(),
            "communication_identity_create",
            201,
            Some(json!({ "identity": { "id": ID }, "accessToken": token })),
        ),
        (
            POST,
            format!("/identities/{ID_IN_PATH}/:issueAccessToken"),
            "communication_identity_issue_access_token",
            200,
            Some(token.clone()),
        ),
        (
            POST,
            format!("/identities/{ID_IN_PATH}/:revokeAccessTokens"),
            "communication_identity_revoke_access_tokens",
            204,
            None,
        ),
        (
            DELETE,
            format!("/identities/{ID_IN_PATH}"),
            "communication_identity_delete",
            204,
            None,
        ),
        (
            POST,
            "/teamsUser/:exchangeAccessToken".to_string(),
            "communication_identity_exchange_teams_user_access_token",
            200,
            Some(token.clone()),
        ),
    ] {
        let mock = server
            .mock_async(move |when, then| {
                when.method(method)
                    .path(path)
                    .query_param("api-version", "2023-10-01")
                    .header("x-test-hook", op)
                    .header_missing("api-version");
                let then = then.status(status);
                if let Some(body) = body {
                    then.json_body(body);
                }
            })
            .await;
        mocks.push(mock);
    }
    mocks
}

#[tokio::test]
async fn executor_sees_each_final_request_once_with_its_operation_id() {
    let server = MockServer::start_async().await;
    let mocks = mock_all(&server).await;
    let (client, seen) = recording_client(&server, 1);
    run_all(&client).await;
    for mock in &mocks {
        mock.assert_calls_async(1).await; // the header the executor added arrived
    }
    let seen = seen.lock().unwrap().clone();
    let ops: Vec<&str> = seen.iter().map(|s| s.operation_id).collect();
    assert_eq!(
        ops,
        [
            "communication_identity_create",
            "communication_identity_issue_access_token",
            "communication_identity_revoke_access_tokens",
            "communication_identity_delete",
            "communication_identity_exchange_teams_user_access_token",
        ]
    );
    // The executor gets the request as it goes on the wire: encoded id, api-version in the
    // query only, the exact body bytes.
    assert_eq!(seen[1].method, "POST");
    assert_eq!(
        seen[1].target,
        format!("/identities/{ID_IN_PATH}/:issueAccessToken?api-version=2023-10-01")
    );
    assert_eq!(
        seen[1].body.as_deref(),
        Some(br#"{"scopes":["chat.join"]}"#.as_slice())
    );
    assert_eq!(seen[3].method, "DELETE");
    assert_eq!(seen[3].body, None);
    for s in &seen {
        assert!(
            !s.headers.iter().any(|(k, _)| k == "api-version"),
            "{}: api-version header reached the executor",
            s.operation_id
        );
        assert!(
            s.headers
                .contains(&("accept".into(), "application/json".into()))
        );
    }
}

#[tokio::test]
async fn executor_may_send_a_request_several_times() {
    let server = MockServer::start_async().await;
    let mocks = mock_all(&server).await;
    let (client, seen) = recording_client(&server, 3);
    run_all(&client).await;
    for mock in &mocks {
        mock.assert_calls_async(3).await;
    }
    assert_eq!(seen.lock().unwrap().len(), 5);
}

/// Sends to a port nobody listens on.
struct Unreachable(String);

impl RequestExecutor for Unreachable {
    fn execute<'a>(
        &'a self,
        mut request: reqwest::Request,
        _operation_id: &'static str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        Box::pin(async move {
            *request.url_mut() = reqwest::Url::parse(&self.0).unwrap();
            reqwest::Client::new().execute(request).await
        })
    }
}

#[tokio::test]
async fn executor_http_failure_becomes_a_communication_error() {
    let client = Client::new_with_client(
        "http://127.0.0.1:9",
        reqwest::Client::new(),
        Transport::with_executor(Unreachable(format!("{}/", closed_port_url()))),
    );
    let e = client
        .communication_identity_revoke_access_tokens()
        .id(ID)
        .api_version("2023-10-01")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::CommunicationError(_)), "{e}");
    assert!(!Transport::default().has_executor());
}

#[test]
fn send_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let client = Client::new_with_client(
        "http://127.0.0.1:9",
        reqwest::Client::new(),
        Transport::direct(),
    );
    let future = client
        .communication_identity_delete()
        .id(ID)
        .api_version("x")
        .send();
    assert_send(&future);
    drop(future);
}

// ---------------------------------------------------------------------------------------------
// Same request targets and bodies as the official SDKs (captured in ../shared/upstream/peer-wire).

fn peer_wire() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/upstream/peer-wire/js-communication-identity-1.3.1.jsonl");
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipping: ../shared not found ({} is absent)",
            path.display()
        );
        None
    }
}

/// Answers every request itself (no network), so the client can be driven without a server.
struct Canned {
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl RequestExecutor for Canned {
    fn execute<'a>(
        &'a self,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        Box::pin(async move {
            self.seen
                .lock()
                .unwrap()
                .push(Seen::of(&request, operation_id));
            let (status, body) = match operation_id {
                "communication_identity_create" => (201, json!({ "identity": { "id": ID } })),
                "communication_identity_delete" | "communication_identity_revoke_access_tokens" => {
                    (204, Value::Null)
                }
                _ => (200, json!({ "token": "t", "expiresOn": EXPIRES_7_DIGITS })),
            };
            let bytes = if body.is_null() {
                Vec::new()
            } else {
                body.to_string().into_bytes()
            };
            let mut response = http::Response::new(bytes);
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok(reqwest::Response::from(response))
        })
    }
}

#[tokio::test]
async fn ids_with_reserved_and_non_ascii_characters_are_encoded_exactly_once() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let client = Client::new_with_client(
        "http://127.0.0.1:18123/stem",
        reqwest::Client::new(),
        Transport::with_executor(Canned { seen: seen.clone() }),
    );
    let cases = [
        (ID, ID_IN_PATH.to_string()),
        ("4:+1 x/y", "4%3A%2B1%20x%2Fy".to_string()),
        ("a%20b?c#d", "a%2520b%3Fc%23d".to_string()),
        ("8:acs:é日~-._", "8%3Aacs%3A%C3%A9%E6%97%A5~-._".to_string()),
        ("plain-ID_0.~", "plain-ID_0.~".to_string()),
    ];
    for (id, _) in &cases {
        client
            .communication_identity_delete()
            .id(*id)
            .api_version("2023-10-01")
            .send()
            .await
            .unwrap();
        client
            .communication_identity_revoke_access_tokens()
            .id(*id)
            .api_version("2023-10-01")
            .send()
            .await
            .unwrap();
        client
            .communication_identity_issue_access_token()
            .id(*id)
            .api_version("2023-10-01")
            .body_map(|b| b.scopes(vec![scope("chat")]).expires_in_minutes(None))
            .send()
            .await
            .unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3 * cases.len());
    for (calls, (id, encoded)) in seen.chunks(3).zip(&cases) {
        assert_eq!(
            calls[0].target,
            format!("/stem/identities/{encoded}?api-version=2023-10-01"),
            "{id}"
        );
        assert_eq!(
            calls[1].target,
            format!("/stem/identities/{encoded}/:revokeAccessTokens?api-version=2023-10-01"),
            "{id}"
        );
        assert_eq!(
            calls[2].target,
            format!("/stem/identities/{encoded}/:issueAccessToken?api-version=2023-10-01"),
            "{id}"
        );
    }
}

#[tokio::test]
async fn requests_match_what_the_official_js_sdk_sends() {
    let Some(path) = peer_wire() else {
        return;
    };
    let captured: Vec<Value> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(captured.len(), 6);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let client = Client::new_with_client(
        "http://127.0.0.1:18123",
        reqwest::Client::new(),
        Transport::with_executor(Canned { seen: seen.clone() }),
    );
    // The same calls, in the same order, as the capture (see its README).
    let v = SENT_API_VERSION;
    client
        .communication_identity_create()
        .api_version(v)
        .send()
        .await
        .unwrap();
    run_all(&client).await;
    let seen = seen.lock().unwrap().clone();
    // run_all does create(scopes), issue, revoke, delete, exchange: the capture's order.
    assert_eq!(seen.len(), 6);
    for (ours, theirs) in seen.iter().zip(&captured) {
        assert_eq!(ours.method, theirs["method"].as_str().unwrap());
        assert_eq!(
            ours.target,
            theirs["path"].as_str().unwrap(),
            "{}",
            ours.operation_id
        );
        let their_body = theirs["body"].as_str().unwrap();
        let our_body = ours.body.clone().unwrap_or_default();
        // Byte for byte: same keys, same order, compact; empty where the SDK sends no body
        // (create without options included: not `{}`).
        assert_eq!(
            String::from_utf8(our_body).unwrap(),
            their_body,
            "{}",
            ours.operation_id
        );
        // The framing headers the SDK sends: content-type with a JSON body or an optional one
        // left out, `Content-Length: 0` on a body-less POST.
        let theirs_header = |name: &str| {
            theirs["headers"]
                .as_object()
                .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .and_then(|(_, v)| v.as_str())
                .map(str::to_owned)
        };
        let ours_header = |name: &str| {
            ours.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            ours_header("content-type"),
            theirs_header("content-type"),
            "{}",
            ours.operation_id
        );
        if ours.method == "POST" && their_body.is_empty() {
            assert_eq!(ours_header("content-length").as_deref(), Some("0"));
            assert_eq!(theirs_header("content-length").as_deref(), Some("0"));
        }
    }
}
