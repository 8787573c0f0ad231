//! Replays data from `../shared/upstream/` (read in place; skipped with a message when absent):
//! the official SDKs' recorded sessions against the live service, and the requests the official
//! SDKs put on the wire (peer-wire), compared with what this client sends.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use acs_identity::credentials::FixedClock;
use acs_identity::{
    CommunicationIdentityClient, CommunicationIdentityClientOptions, CommunicationUserIdentifier,
    CreateUserAndTokenOptions, ErrorKind, GetTokenOptions, RetryOptions, TokenScope,
};
use common::*;
use httpmock::prelude::*;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// The body as the service would read it: JSON with `null` members dropped.
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn scopes_of(v: Option<&Value>) -> Vec<TokenScope> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(TokenScope::from_wire)
                .collect()
        })
        .unwrap_or_default()
}

fn minutes(v: &Value) -> Option<Duration> {
    v.get("expiresInMinutes")
        .and_then(Value::as_u64)
        .map(|m| Duration::from_secs(m * 60))
}

enum Outcome {
    User(String),
    UserAndToken(String, String, OffsetDateTime),
    Token(String, OffsetDateTime),
    /// What `get_user` read: id, custom id, last token issue time.
    Details(String, Option<String>, Option<OffsetDateTime>),
    /// What `create_user_with_custom_id` returned, the same three.
    Created(String, Option<String>, Option<OffsetDateTime>),
    Unit,
}

#[tokio::test]
async fn recorded_sessions_replay() {
    let Some(upstream) = upstream() else {
        eprintln!("skipping: ../shared not found");
        return;
    };
    let mut files = Vec::new();
    json_files(&upstream.join("recordings"), &mut files);
    files.sort();
    let mut replayed = 0;
    // Entries of the preview's features: a create with a custom id, a get user.
    let mut preview_replayed = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let recording: Value = serde_json::from_str(&text).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for entry in recording["Entries"].as_array().unwrap() {
            let method = entry["RequestMethod"].as_str().unwrap();
            let uri = url::Url::parse(entry["RequestUri"].as_str().unwrap()).unwrap();
            let body = without_nulls(&entry["RequestBody"]);
            let host = uri.host_str().unwrap_or("");
            // Not this API: the Entra discovery document.
            if !(host.contains("communication") || host == "endpoint")
                || (uri.path().ends_with(":issueAccessToken") && body.get("scopes").is_none())
            {
                continue;
            }
            let api_version = uri
                .query_pairs()
                .find(|(k, _)| k == "api-version")
                .map(|(_, v)| v.into_owned())
                .unwrap();
            let status = entry["StatusCode"].as_u64().unwrap() as u16;
            let response_body = match &entry["ResponseBody"] {
                Value::Null => String::new(),
                v => v.to_string(),
            };
            let content_type = entry["ResponseHeaders"]
                .as_object()
                .and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                })
                .and_then(|(_, v)| v.as_str())
                .map(str::to_owned);

            let server = MockServer::start_async().await;
            let path = uri.path().to_owned();
            let seen = common::recording(
                &server,
                |when| {
                    when.method(method)
                        .path(path.clone())
                        .query_param("api-version", api_version.clone())
                },
                move |_| respond(status, content_type.as_deref(), &response_body),
            )
            .await;
            let mut options =
                CommunicationIdentityClientOptions::default().with_api_version(api_version.clone());
            options.retry = RetryOptions::none();
            let c = client_with(&server, options);
            let user = CommunicationUserIdentifier::new("sanitized");
            let custom_id = body["customId"].as_str().map(str::to_owned);
            if custom_id.is_some() || method == "GET" {
                preview_replayed += 1;
            }
            let result: acs_identity::Result<Outcome> = if path == "/identities" {
                match body.get("createTokenWithScopes") {
                    Some(scopes) => {
                        let mut o = CreateUserAndTokenOptions::default();
                        o.token_expires_in = minutes(&body);
                        o.custom_id = custom_id;
                        c.create_user_and_token(&scopes_of(Some(scopes)), Some(o))
                            .await
                            .map(|r| {
                                Outcome::UserAndToken(
                                    r.user.id().to_owned(),
                                    r.access_token.token.secret().to_owned(),
                                    r.access_token.expires_on,
                                )
                            })
                    }
                    None => match custom_id {
                        Some(custom_id) => c
                            .create_user_with_custom_id(&custom_id, None)
                            .await
                            .map(|d| {
                                Outcome::Created(
                                    d.user.id().to_owned(),
                                    d.custom_id,
                                    d.last_token_issued_at,
                                )
                            }),
                        None => c
                            .create_user(None)
                            .await
                            .map(|u| Outcome::User(u.id().to_owned())),
                    },
                }
            } else if method == "GET" && path.starts_with("/identities/") {
                c.get_user(&user, None).await.map(|d| {
                    Outcome::Details(d.user.id().to_owned(), d.custom_id, d.last_token_issued_at)
                })
            } else if path.ends_with("/:issueAccessToken") {
                let mut o = GetTokenOptions::default();
                o.token_expires_in = minutes(&body);
                c.get_token(&user, &scopes_of(body.get("scopes")), Some(o))
                    .await
                    .map(|t| Outcome::Token(t.token.secret().to_owned(), t.expires_on))
            } else if path.ends_with("/:revokeAccessTokens") {
                c.revoke_tokens(&user, None).await.map(|_| Outcome::Unit)
            } else if path == "/teamsUser/:exchangeAccessToken" {
                let field = |k: &str| body[k].as_str().unwrap_or("").to_owned();
                c.get_token_for_teams_user(&field("token"), &field("appId"), &field("userId"), None)
                    .await
                    .map(|t| Outcome::Token(t.token.secret().to_owned(), t.expires_on))
            } else if method == "DELETE" {
                c.delete_user(&user, None).await.map(|_| Outcome::Unit)
            } else {
                panic!("{name}: unmapped {method} {path}");
            };

            // The request is the equivalent of the recorded one.
            let req = seen.one();
            assert_eq!(req.method_str(), method, "{name}");
            assert_eq!(
                target(&req),
                format!("{path}?api-version={api_version}"),
                "{name}"
            );
            if body.is_null() {
                assert!(req.body_ref().is_empty(), "{name}: {}", req.body_string());
            } else {
                let sent: Value = serde_json::from_slice(req.body_ref()).unwrap();
                assert_eq!(sent, body, "{name}");
            }
            assert_signed(&req, KEY);

            // The response is decoded.
            let recorded = &entry["ResponseBody"];
            let expires = |v: &Value| {
                OffsetDateTime::parse(v["expiresOn"].as_str().unwrap(), &Rfc3339).unwrap()
            };
            match result {
                Ok(Outcome::User(id)) => assert_eq!(id, recorded["identity"]["id"], "{name}"),
                Ok(Outcome::UserAndToken(id, token, at)) => {
                    assert_eq!(id, recorded["identity"]["id"], "{name}");
                    assert_eq!(token, recorded["accessToken"]["token"], "{name}");
                    assert_eq!(at, expires(&recorded["accessToken"]), "{name}");
                }
                Ok(Outcome::Token(token, at)) => {
                    assert_eq!(token, recorded["token"], "{name}");
                    assert_eq!(at, expires(recorded), "{name}");
                }
                Ok(
                    Outcome::Details(id, custom_id, last_token_issued_at)
                    | Outcome::Created(id, custom_id, last_token_issued_at),
                ) => {
                    // A get answers the identity, a create `{"identity": ...}`.
                    let recorded = recorded.get("identity").unwrap_or(recorded);
                    assert_eq!(id, recorded["id"], "{name}");
                    assert_eq!(
                        custom_id.as_deref(),
                        recorded["customId"].as_str(),
                        "{name}"
                    );
                    let recorded_at = recorded["lastTokenIssuedAt"]
                        .as_str()
                        .map(|t| OffsetDateTime::parse(t, &Rfc3339).unwrap());
                    assert_eq!(last_token_issued_at, recorded_at, "{name}");
                }
                Ok(Outcome::Unit) => assert_eq!(status, 204, "{name}"),
                Err(e) => {
                    assert!(status >= 400, "{name}: {e}");
                    assert_eq!(e.kind(), ErrorKind::Service, "{name}");
                    assert_eq!(e.status().map(|s| s.as_u16()), Some(status), "{name}");
                    let err = &recorded["error"];
                    assert_eq!(e.code(), err["code"].as_str(), "{name}");
                    assert_eq!(e.message(), err["message"].as_str().unwrap(), "{name}");
                    assert_eq!(e.target(), err["target"].as_str(), "{name}");
                }
            }
            replayed += 1;
        }
    }
    assert!(replayed >= 20, "only {replayed} entries replayed");
    assert!(
        preview_replayed >= 2,
        "only {preview_replayed} custom-id / get-user entries replayed"
    );
    eprintln!("replayed {replayed} recorded calls");
}

/// Sends the peer-wire calls through a proxy (so the URL, and thus the signed host, is the
/// capture server's `127.0.0.1:18123`) at the captured date, and compares with the SDKs' requests.
#[tokio::test]
async fn peer_wire_requests_match() {
    let Some(upstream) = upstream() else {
        eprintln!("skipping: ../shared not found");
        return;
    };
    for file in [
        "js-communication-identity-1.3.1.jsonl",
        "python-azure-communication-identity-1.5.0.jsonl",
    ] {
        let text = std::fs::read_to_string(upstream.join("peer-wire").join(file)).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 6, "{file}");
        let mut exact_signatures = 0;
        for (i, line) in lines.iter().enumerate() {
            let headers = line["headers"].as_object().unwrap();
            let h = |name: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_owned)
            };
            let date = h("x-ms-date").unwrap();
            let server = MockServer::start_async().await;
            let seen = common::recording(
                &server,
                |when| when.any_request(),
                move |req| {
                    let path = target(req);
                    if path.starts_with("/identities?") {
                        respond(
                            201,
                            Some(JSON_UTF8),
                            &format!(
                                r#"{{"identity":{{"id":"{USER}"}},"accessToken":{}}}"#,
                                token_body()
                            ),
                        )
                    } else if path.contains("Token?") {
                        respond(200, Some(JSON_UTF8), &token_body())
                    } else {
                        respond(204, None, "")
                    }
                },
            )
            .await;
            let proxy = reqwest::Proxy::http(server.base_url()).unwrap();
            let http = reqwest::Client::builder().proxy(proxy).build().unwrap();
            let clock = FixedClock(acs_auth::parse_http_date(&date).unwrap());
            let options = CommunicationIdentityClientOptions::default()
                .with_http_client(http)
                .with_clock(Arc::new(clock));
            let c = CommunicationIdentityClient::from_connection_string(
                &format!("endpoint=http://127.0.0.1:18123;accesskey={KEY}"),
                Some(options),
            )
            .unwrap();
            let user = CommunicationUserIdentifier::new(USER);
            match i {
                0 => drop(c.create_user(None).await.unwrap()),
                1 => drop(
                    c.create_user_and_token(
                        &[TokenScope::Chat, TokenScope::Voip],
                        Some(
                            CreateUserAndTokenOptions::default()
                                .with_token_expires_in(Duration::from_secs(3600)),
                        ),
                    )
                    .await
                    .unwrap(),
                ),
                2 => drop(
                    c.get_token(&user, &[TokenScope::ChatJoin], None)
                        .await
                        .unwrap(),
                ),
                3 => c.revoke_tokens(&user, None).await.unwrap(),
                4 => c.delete_user(&user, None).await.unwrap(),
                _ => drop(
                    c.get_token_for_teams_user("aadtoken", "appid", "userid", None)
                        .await
                        .unwrap(),
                ),
            }
            let req = seen.one();
            assert_eq!(
                req.method_str(),
                line["method"].as_str().unwrap(),
                "{file} #{i}"
            );
            assert_eq!(target(&req), line["path"].as_str().unwrap(), "{file} #{i}");
            let peer_body = line["body"].as_str().unwrap();
            if peer_body.is_empty() {
                assert!(req.body_ref().is_empty(), "{file} #{i}");
            } else {
                let a: Value = serde_json::from_slice(req.body_ref()).unwrap();
                let b: Value = without_nulls(&serde_json::from_str(peer_body).unwrap());
                assert_eq!(a, b, "{file} #{i}");
            }
            assert_eq!(header_of(&req, "host"), "127.0.0.1:18123");
            assert_eq!(header_of(&req, "x-ms-date"), date);
            assert_signed(&req, KEY);
            if req.body_ref() == peer_body.as_bytes() {
                // Same bytes, same date, same host, same target: the very same signature.
                assert_eq!(
                    header_of(&req, "x-ms-content-sha256"),
                    h("x-ms-content-sha256").unwrap(),
                    "{file} #{i}"
                );
                assert_eq!(
                    header_of(&req, "authorization"),
                    h("authorization").unwrap(),
                    "{file} #{i}"
                );
                exact_signatures += 1;
            }
        }
        eprintln!(
            "{file}: {exact_signatures} of 6 requests byte-identical with identical signatures"
        );
        if file.starts_with("js") {
            assert_eq!(exact_signatures, 6, "{file}");
        }
    }
}

/// The published examples of the newer operations (the Teams Phone extension ones of 2026-09-23,
/// and the preview's create with a custom id and get identity), each sent through the facade to a
/// server that answers with every response the example lists: the request carries the example's
/// body and api-version, and every response decodes to the example's values.
#[tokio::test]
async fn spec_examples_of_the_newer_operations_replay() {
    use acs_identity::{
        CommunicationIdentifier, CreateOrReplaceTeamsExtensionAssignmentOptions,
        CreateUserAndTokenOptions, TeamsExtensionPrincipalType,
    };
    let Some(upstream) = upstream() else {
        eprintln!("skipping: ../shared not found");
        return;
    };
    let read = |file: &str| -> Value {
        let path = upstream.join("spec").join(file);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    let mut replayed = 0;
    for file in [
        "2026-09-23/examples/TeamsExtensionOperations_UpsertAssignment.json",
        "2026-09-23/examples/TeamsExtensionOperations_GetAssignment.json",
        "2026-09-23/examples/TeamsExtensionOperations_DeleteAssignment.json",
        "2026-09-23/examples/TeamsExtensionOperations_ExchangeToken.json",
        "2025-03-02-preview/examples/CreateIdentity.json",
        "2025-03-02-preview/examples/GetIdentity.json",
    ] {
        let example = read(file);
        let parameters = &example["parameters"];
        let api_version = parameters["api-version"].as_str().unwrap().to_owned();
        let text = |key: &str| parameters[key].as_str().unwrap_or_default().to_owned();
        for (status, response) in example["responses"].as_object().unwrap() {
            let status: u16 = status.parse().unwrap();
            let body = match response.get("body") {
                Some(body) => body.to_string(),
                None => String::new(),
            };
            let server = MockServer::start_async().await;
            let seen = common::recording(
                &server,
                |when| when.any_request(),
                move |_| respond(status, Some(JSON_UTF8), &body),
            )
            .await;
            let mut options =
                CommunicationIdentityClientOptions::default().with_api_version(api_version.clone());
            options.retry = RetryOptions::none();
            let client = client_with(&server, options);
            let expected = &response["body"];
            let (tenant, object) = (text("tenantId"), text("objectId"));
            if file.ends_with("UpsertAssignment.json") {
                let request = &parameters["body"];
                let upserted = client
                    .create_or_replace_teams_extension_assignment(
                        &tenant,
                        &object,
                        TeamsExtensionPrincipalType::from_wire(
                            request["principalType"].as_str().unwrap(),
                        ),
                        Some(CreateOrReplaceTeamsExtensionAssignmentOptions::default()),
                    )
                    .await
                    .unwrap();
                assert_eq!(upserted.is_created(), status == 201, "{file} {status}");
                let assignment = upserted.into_inner();
                assert_eq!(assignment.object_id, expected["objectId"], "{file}");
                assert_eq!(
                    assignment.principal_type.as_str(),
                    expected["principalType"],
                    "{file}"
                );
                let sent: Value = serde_json::from_slice(seen.one().body_ref()).unwrap();
                assert_eq!(&sent, request, "{file}");
            } else if file.ends_with("GetAssignment.json") {
                let assignment = client
                    .get_teams_extension_assignment(&tenant, &object, None)
                    .await
                    .unwrap();
                assert_eq!(assignment.tenant_id, expected["tenantId"], "{file}");
                assert!(assignment.client_ids.is_empty(), "{file}");
            } else if file.ends_with("DeleteAssignment.json") {
                client
                    .delete_teams_extension_assignment(&tenant, &object, None)
                    .await
                    .unwrap();
            } else if file.ends_with("ExchangeToken.json") {
                let exchanged = client
                    .get_token_for_teams_extension_user("entra-token", None)
                    .await
                    .unwrap();
                assert!(
                    matches!(
                        exchanged.identifier,
                        CommunicationIdentifier::TeamsExtensionUser(_)
                    ),
                    "{file}: {:?}",
                    exchanged.identifier
                );
                assert_eq!(exchanged.identifier.raw_id(), expected["identity"]["id"]);
                let sent: Value = serde_json::from_slice(seen.one().body_ref()).unwrap();
                assert_eq!(sent, parameters["body"], "{file}");
            } else if file.ends_with("CreateIdentity.json") {
                let request = &parameters["body"];
                let mut o = CreateUserAndTokenOptions::default();
                o.custom_id = request["customId"].as_str().map(str::to_owned);
                o.token_expires_in = minutes(request);
                let created = client
                    .create_user_and_token(
                        &scopes_of(request.get("createTokenWithScopes")),
                        Some(o),
                    )
                    .await
                    .unwrap();
                assert_eq!(created.user.id(), expected["identity"]["id"], "{file}");
                let sent: Value = serde_json::from_slice(seen.one().body_ref()).unwrap();
                assert_eq!(&sent, request, "{file}");
            } else {
                let details = client
                    .get_user(&CommunicationUserIdentifier::new(text("id")), None)
                    .await
                    .unwrap();
                assert_eq!(details.custom_id.as_deref(), expected["customId"].as_str());
                assert_eq!(
                    details.last_token_issued_at,
                    Some(
                        OffsetDateTime::parse(
                            expected["lastTokenIssuedAt"].as_str().unwrap(),
                            &Rfc3339
                        )
                        .unwrap()
                    )
                );
            }
            let request = &seen.all()[0];
            let query = request.uri_str();
            assert!(
                query.ends_with(&format!("api-version={api_version}")),
                "{file}: {query}"
            );
            replayed += 1;
        }
    }
    assert_eq!(replayed, 7, "every response of every example");
}
