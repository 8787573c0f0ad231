//! The wire form of each operation (api-version 2023-10-01 shapes).

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use crate::client::encode_segment;
use crate::error::{Error, Result};
use crate::pipeline::{CallState, read_json, response_request_id};
use crate::scope::TokenScope;
use crate::token::{AccessToken, parse_expires_on};

pub(crate) const CREATE_RESULT: &str =
    "expected a CommunicationIdentityAccessTokenResult ({\"identity\":{\"id\":...}})";
pub(crate) const TOKEN_RESULT: &str =
    "expected a CommunicationIdentityAccessToken ({\"token\":...,\"expiresOn\":...})";

/// Where requests go.
#[derive(Clone, Copy)]
pub(crate) struct Target<'a> {
    pub(crate) base: &'a str,
    pub(crate) api_version: &'a str,
}

impl Target<'_> {
    fn request(&self, method: Method, path: &str) -> Result<reqwest::Request> {
        let mut url = url::Url::parse(&format!("{}{path}", self.base)).map_err(|e| {
            Error::configuration(format!("cannot build the request URL: {e}"), None)
        })?;
        url.query_pairs_mut()
            .append_pair("api-version", self.api_version);
        Ok(reqwest::Request::new(method, url))
    }
}

fn with_json<T: Serialize>(mut request: reqwest::Request, body: &T) -> Result<reqwest::Request> {
    let bytes = serde_json::to_vec(body).map_err(|e| {
        Error::invalid_argument("body", format!("cannot serialize the request body: {e}"))
    })?;
    request
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    *request.body_mut() = Some(bytes.into());
    Ok(request)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    create_token_with_scopes: Option<&'a [TokenScope]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in_minutes: Option<i32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IssueRequest<'a> {
    scopes: &'a [TokenScope],
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in_minutes: Option<i32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExchangeRequest<'a> {
    token: &'a str,
    app_id: &'a str,
    user_id: &'a str,
}

/// `POST /identities`. Without scopes the request has no body (as the official SDKs send it).
pub(crate) fn create(
    target: Target<'_>,
    scopes: Option<&[TokenScope]>,
    expires_in_minutes: Option<i32>,
) -> Result<reqwest::Request> {
    let request = target.request(Method::POST, "/identities")?;
    if scopes.is_none() && expires_in_minutes.is_none() {
        let mut request = request;
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Ok(request);
    }
    with_json(
        request,
        &CreateRequest {
            create_token_with_scopes: scopes,
            expires_in_minutes,
        },
    )
}

/// `POST /identities/{id}/:issueAccessToken`.
pub(crate) fn issue(
    target: Target<'_>,
    user_id: &str,
    scopes: &[TokenScope],
    expires_in_minutes: Option<i32>,
) -> Result<reqwest::Request> {
    let path = format!("/identities/{}/:issueAccessToken", encode_segment(user_id));
    with_json(
        target.request(Method::POST, &path)?,
        &IssueRequest {
            scopes,
            expires_in_minutes,
        },
    )
}

/// `POST /identities/{id}/:revokeAccessTokens`, no body.
pub(crate) fn revoke(target: Target<'_>, user_id: &str) -> Result<reqwest::Request> {
    let path = format!(
        "/identities/{}/:revokeAccessTokens",
        encode_segment(user_id)
    );
    target.request(Method::POST, &path)
}

/// `DELETE /identities/{id}`.
pub(crate) fn delete(target: Target<'_>, user_id: &str) -> Result<reqwest::Request> {
    let path = format!("/identities/{}", encode_segment(user_id));
    target.request(Method::DELETE, &path)
}

/// `POST /teamsUser/:exchangeAccessToken`.
pub(crate) fn exchange(
    target: Target<'_>,
    token: &str,
    app_id: &str,
    user_id: &str,
) -> Result<reqwest::Request> {
    with_json(
        target.request(Method::POST, "/teamsUser/:exchangeAccessToken")?,
        &ExchangeRequest {
            token,
            app_id,
            user_id,
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct Identity {
    pub(crate) id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateResult {
    pub(crate) identity: Identity,
    #[serde(default)]
    pub(crate) access_token: Option<TokenResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenResult {
    token: String,
    expires_on: String,
}

impl TokenResult {
    pub(crate) fn into_access_token(
        self,
        status: StatusCode,
        headers: &HeaderMap,
        call: &CallState,
    ) -> Result<AccessToken> {
        match parse_expires_on(&self.expires_on) {
            Some(expires_on) => Ok(AccessToken::new(self.token, expires_on)),
            None => Err(Error::decode(
                status,
                headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                self.expires_on.as_bytes(),
                "expiresOn is not an RFC 3339 date-time",
                Some(response_request_id(headers, call)),
                None,
            )),
        }
    }
}

/// Reads a `{"token","expiresOn"}` response.
pub(crate) async fn read_token(
    response: reqwest::Response,
    call: &CallState,
) -> Result<AccessToken> {
    let status = response.status();
    let headers = response.headers().clone();
    let token: TokenResult = read_json(response, call, TOKEN_RESULT).await?;
    token.into_access_token(status, &headers, call)
}
