//! The bridge to the generated `acs-identity-rest` client: a per-call executor that runs the
//! pipeline, and the mapping of generated results and errors to this crate's types. Nothing
//! generated leaves this module.

use std::sync::Arc;

use acs_identity_rest::{BoxFuture, ExecuteError, RequestExecutor, Transport, types};
use reqwest::StatusCode;

use crate::error::{Error, Result, ServiceErrorDetail};
use crate::pipeline::{CallState, Pipeline, error_from_parts};
use crate::scope::TokenScope;
use crate::token::AccessToken;

pub(crate) type RestError = acs_identity_rest::Error<types::CommunicationErrorResponse>;

tokio::task_local! {
    /// The logical call the generated client is sending a request for.
    static CALL: Arc<CallState>;
}

/// Runs `work` (which sends through the generated client) as part of `call`.
/// (A plain function returning the task-local future, not an `async fn`: one state machine
/// less to build and move per call.)
pub(crate) fn in_call<F: Future>(
    call: &Arc<CallState>,
    work: F,
) -> impl Future<Output = F::Output> {
    CALL.scope(Arc::clone(call), work)
}

/// Runs the pipeline for the requests of the current logical call.
struct PipelineExecutor {
    pipeline: Arc<Pipeline>,
}

impl RequestExecutor for PipelineExecutor {
    fn execute<'a>(
        &'a self,
        _http: &'a reqwest::Client,
        request: reqwest::Request,
        _operation_id: &'static str,
    ) -> BoxFuture<'a, std::result::Result<reqwest::Response, ExecuteError>> {
        // Called while the generated client's future is polled inside `in_call`, so the call's
        // state is at hand now; only the sending is boxed (a smaller box than an async block
        // that would also hold the request until its first poll).
        let Ok(call) = CALL.try_with(Arc::clone) else {
            return Box::pin(std::future::ready(Err(ExecuteError::other(
                "internal error: a request was sent outside of a client call",
            ))));
        };
        Box::pin(self.pipeline.send(request, call, record_outcome))
    }
}

/// Records the outcome of a call's sending in it, and hands the generated client what it takes.
fn record_outcome(
    outcome: Result<reqwest::Response>,
    call: &CallState,
) -> std::result::Result<reqwest::Response, ExecuteError> {
    match outcome {
        Ok(response) => {
            call.record_response(&response);
            Ok(response)
        }
        Err(error) => {
            let message = error.to_string();
            call.set_failure(error);
            Err(ExecuteError::other(message))
        }
    }
}

/// A generated client whose requests go through `pipeline`, as part of the call [`in_call`] runs.
pub(crate) fn client_for(base: &str, pipeline: &Arc<Pipeline>) -> acs_identity_rest::Client {
    acs_identity_rest::Client::new_with_client(
        base,
        pipeline.http.clone(),
        Transport::with_executor(PipelineExecutor {
            pipeline: Arc::clone(pipeline),
        }),
    )
}

pub(crate) fn scopes(scopes: &[TokenScope]) -> Vec<types::CommunicationIdentityTokenScope> {
    scopes
        .iter()
        .map(|s| types::CommunicationIdentityTokenScope(s.as_str().to_owned()))
        .collect()
}

pub(crate) fn access_token(token: types::CommunicationIdentityAccessToken) -> AccessToken {
    AccessToken::new(token.token, token.expires_on.into_inner())
}

fn service_detail(error: types::CommunicationError) -> ServiceErrorDetail {
    ServiceErrorDetail {
        code: error.code,
        message: error.message,
        target: error.target,
        details: error.details.into_iter().map(service_detail).collect(),
        inner_error: error
            .innererror
            .map(|inner| Box::new(service_detail(*inner))),
    }
}

/// Maps a generated error to this crate's error; a failure of the pipeline itself wins.
pub(crate) async fn map_error(error: RestError, call: &CallState) -> Error {
    if let Some(failure) = call.take_failure() {
        return failure;
    }
    let request_id = || Some(call.response_request_id());
    match error {
        acs_identity_rest::Error::ErrorResponse(value) => {
            let status = value.status();
            let echoed = value
                .headers()
                .get(crate::pipeline::X_MS_CLIENT_REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            Error::service(
                status,
                Some(service_detail(value.into_inner().error)),
                echoed.or_else(request_id),
            )
        }
        acs_identity_rest::Error::InvalidResponsePayload(body, source) => {
            let status = call.last_status().unwrap_or(StatusCode::OK);
            if !status.is_success() && body.iter().all(u8::is_ascii_whitespace) {
                return Error::service(status, None, request_id());
            }
            let what = if status.is_success() {
                "the response does not have the documented shape"
            } else {
                "the error response is not a CommunicationErrorResponse"
            };
            Error::decode(
                status,
                call.last_content_type(),
                &body,
                what,
                request_id(),
                Some(Box::new(source)),
            )
        }
        acs_identity_rest::Error::UnexpectedResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.unwrap_or_default();
            if status.is_success() {
                Error::decode(
                    status,
                    call.last_content_type(),
                    &body,
                    "unexpected success status for this operation",
                    request_id(),
                    None,
                )
            } else {
                error_from_parts(status, &headers, &body, call)
            }
        }
        acs_identity_rest::Error::InvalidRequest(message) => {
            Error::invalid_argument("request", message)
        }
        acs_identity_rest::Error::CommunicationError(e)
        | acs_identity_rest::Error::InvalidUpgrade(e) => Error::transport(
            "the request could not be sent",
            request_id(),
            Some(Box::new(e.without_url())),
        ),
        acs_identity_rest::Error::ResponseBodyError(e) => Error::transport(
            "could not read the response body",
            request_id(),
            Some(Box::new(e.without_url())),
        ),
        acs_identity_rest::Error::Custom(message) => Error::transport(message, request_id(), None),
    }
}

/// For operations with a result: the decoded value, through `map`.
pub(crate) async fn value_result<R, T>(
    result: std::result::Result<acs_identity_rest::ResponseValue<R>, RestError>,
    call: &CallState,
    map: impl FnOnce(R, &CallState) -> Result<T>,
) -> Result<T> {
    match result {
        Ok(value) => map(value.into_inner(), call),
        Err(e) => Err(map_error(e, call).await),
    }
}

/// For operations without a result: any success status is success.
pub(crate) async fn unit_result(
    result: std::result::Result<acs_identity_rest::ResponseValue<()>, RestError>,
    call: &CallState,
) -> Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(acs_identity_rest::Error::UnexpectedResponse(response))
            if response.status().is_success() && call.take_failure().is_none() =>
        {
            Ok(())
        }
        Err(e) => Err(map_error(e, call).await),
    }
}
