//! The hand-written part of the client: how the generated `Client` sends its final request.
//!
//! The generator is told (see `xtask/src/codegen.rs`) that `Client` carries a [`Transport`] and
//! that this file implements `progenitor_client::ClientHooks` for it. The generated code builds
//! the `reqwest::Request` (URL, query, JSON body) and calls `exec` here, which:
//!
//! 1. removes the `api-version` *header* progenitor adds (the api-version travels in the query
//!    string, and the official SDKs send no such header);
//! 2. percent-encodes the path parameters the way the official SDKs do (`8:acs:...` becomes
//!    `8%3Aacs%3A...`; progenitor's own encoding leaves `:` raw);
//! 3. sends the request through the installed [`RequestExecutor`], or straight through the
//!    client's `reqwest::Client` when there is none.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use progenitor_client::{ClientHooks, Error, OperationInfo};

use crate::generated::{Client, OPERATION_PATHS};

/// A boxed, `Send` future, as returned by [`RequestExecutor::execute`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends the final request of an operation: the place to add headers, sign, retry and trace.
///
/// The request it receives is exactly what goes on the wire apart from what the executor adds:
/// method, URL (path parameters already percent-encoded, `api-version` in the query), headers
/// (`accept`, and `content-type` when there is a body) and body bytes. It may modify the request,
/// and it may send it more than once (clone it with `reqwest::Request::try_clone`, which succeeds
/// for every request of this API since all bodies are in memory), signing every attempt afresh.
///
/// `operation_id` is the operation's name as progenitor spells it, for example
/// `communication_identity_create` (the spec's `CommunicationIdentity_Create`); the list is
/// [`operation_paths`](crate::operation_paths).
pub trait RequestExecutor: Send + Sync + 'static {
    /// Sends `request` (with `http`, the `Client`'s `reqwest::Client`, or any other) and returns
    /// the response that the generated code then decodes.
    fn execute<'a>(
        &'a self,
        http: &'a reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> BoxFuture<'a, Result<reqwest::Response, ExecuteError>>;
}

/// Why a [`RequestExecutor`] produced no response.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExecuteError {
    /// Sending failed; the operation returns [`Error::CommunicationError`](crate::Error) with it.
    Http(reqwest::Error),
    /// The executor gave up for a reason of its own (for example, no bearer token could be
    /// obtained); the operation returns [`Error::Custom`](crate::Error) with this message. The
    /// message must not contain secrets.
    Other(String),
}

impl ExecuteError {
    /// An [`ExecuteError::Other`] with this message.
    pub fn other(message: impl Into<String>) -> Self {
        Self::Other(message.into())
    }
}

impl From<reqwest::Error> for ExecuteError {
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e)
    }
}

impl fmt::Display for ExecuteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(e) => write!(f, "sending the request failed: {e}"),
            Self::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ExecuteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Http(e) => Some(e),
            Self::Other(_) => None,
        }
    }
}

/// How a [`Client`](crate::Client) sends requests: directly, or through a [`RequestExecutor`].
/// Clones of a `Client` share it.
#[derive(Clone, Default)]
pub struct Transport {
    executor: Option<Arc<dyn RequestExecutor>>,
}

impl Transport {
    /// Send each request as it is with the client's `reqwest::Client` (no auth, no retries).
    pub fn direct() -> Self {
        Self { executor: None }
    }

    /// Send each request through `executor`.
    pub fn with_executor(executor: impl RequestExecutor) -> Self {
        Self {
            executor: Some(Arc::new(executor)),
        }
    }

    /// Send each request through a shared `executor`.
    pub fn with_shared_executor(executor: Arc<dyn RequestExecutor>) -> Self {
        Self {
            executor: Some(executor),
        }
    }

    /// Whether an executor is installed.
    pub fn has_executor(&self) -> bool {
        self.executor.is_some()
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field(
                "executor",
                &if self.executor.is_some() {
                    "installed"
                } else {
                    "none"
                },
            )
            .finish()
    }
}

/// Marks the stand-in response `exec` returns for an [`ExecuteError::Other`]; `post` turns it
/// into `Error::Custom` before the generated code looks at the status.
#[derive(Clone, Debug)]
struct ExecutorFailure(String);

impl ClientHooks<Transport> for Client {
    async fn exec(
        &self,
        mut request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        prepare_request(&mut request, info.operation_id);
        let Some(executor) = &self.inner.executor else {
            return self.client.execute(request).await;
        };
        match executor
            .execute(&self.client, request, info.operation_id)
            .await
        {
            Ok(response) => Ok(response),
            Err(ExecuteError::Http(e)) => Err(e),
            Err(ExecuteError::Other(message)) => {
                let mut marker = http::Response::new(Vec::<u8>::new());
                *marker.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                marker.extensions_mut().insert(ExecutorFailure(message));
                Ok(reqwest::Response::from(marker))
            }
        }
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        if let Ok(response) = result
            && let Some(ExecutorFailure(message)) = response.extensions().get::<ExecutorFailure>()
        {
            return Err(Error::Custom(message.clone()));
        }
        Ok(())
    }
}

/// Characters kept raw in a path parameter: RFC 3986 "unreserved" (what .NET's
/// `Uri.EscapeDataString` and Python's `quote(safe="")` keep). Everything else is encoded.
const PATH_PARAMETER: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Makes the request what goes on the wire: no `api-version` header, path parameters encoded.
pub(crate) fn prepare_request(request: &mut reqwest::Request, operation_id: &str) {
    request.headers_mut().remove("api-version");
    if let Some((_, template)) = OPERATION_PATHS.iter().find(|(id, _)| *id == operation_id) {
        encode_path_parameters(request.url_mut(), template);
    }
}

/// Re-encodes the segments of `url`'s path that stand for a `{parameter}` of `template`. The
/// template is matched against the end of the path (the base URL may have a path stem); when
/// its literal segments do not match, the URL is left alone.
fn encode_path_parameters(url: &mut reqwest::Url, template: &str) {
    let template: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let path = url.path().to_string();
    let segments: Vec<&str> = path.split('/').collect();
    let Some(offset) = segments.len().checked_sub(template.len()) else {
        return;
    };
    let mut out: Vec<Cow<'_, str>> = segments.iter().map(|s| Cow::Borrowed(*s)).collect();
    let mut changed = false;
    for (i, pattern) in template.iter().enumerate() {
        let segment = segments[offset + i];
        if pattern.len() > 2 && pattern.starts_with('{') && pattern.ends_with('}') {
            let encoded = encode_segment(segment);
            changed |= encoded != segment;
            out[offset + i] = encoded;
        } else if *pattern != segment {
            return;
        }
    }
    if changed {
        url.set_path(&out.join("/"));
    }
}

/// Decodes what progenitor encoded, then encodes everything but the unreserved characters.
fn encode_segment(segment: &str) -> Cow<'_, str> {
    match percent_decode_str(segment).decode_utf8() {
        Ok(raw) => Cow::Owned(utf8_percent_encode(&raw, PATH_PARAMETER).to_string()),
        Err(_) => Cow::Borrowed(segment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap()
    }

    #[test]
    fn encodes_colon_in_the_id_segment_only() {
        let mut u = url("http://127.0.0.1:1/identities/8:acs:r_1/:issueAccessToken?api-version=x");
        encode_path_parameters(&mut u, "/identities/{id}/:issueAccessToken");
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:1/identities/8%3Aacs%3Ar_1/:issueAccessToken?api-version=x"
        );
    }

    #[test]
    fn keeps_a_base_path_stem_and_encodes_plus_and_reencodes_once() {
        // progenitor already turned ' ' into %20 and '/' into %2F; they must not be doubled.
        let mut u = url("https://h.example/stem/identities/4:+1%20x%2Fy");
        encode_path_parameters(&mut u, "/identities/{id}");
        assert_eq!(
            u.as_str(),
            "https://h.example/stem/identities/4%3A%2B1%20x%2Fy"
        );
    }

    #[test]
    fn leaves_a_path_that_does_not_match_the_template() {
        let mut u = url("http://h/other/8:acs:x");
        encode_path_parameters(&mut u, "/identities/{id}");
        assert_eq!(u.as_str(), "http://h/other/8:acs:x");
        let mut short = url("http://h/8:acs:x");
        encode_path_parameters(&mut short, "/identities/{id}/:revokeAccessTokens");
        assert_eq!(short.as_str(), "http://h/8:acs:x");
    }

    #[test]
    fn transport_debug_shows_no_internals() {
        assert_eq!(
            format!("{:?}", Transport::direct()),
            "Transport { executor: \"none\" }"
        );
    }
}
