//! One call of the client, read top to bottom: [`Call::start`] gets the call's authorization and
//! a generated client that sends through this call's [`CallExecutor`]; the public method builds
//! the operation with it and hands the future to [`Call::value`] or [`Call::unit`]; the
//! generated code builds the request and passes it to `CallExecutor::send` (through the
//! `exec` hook of `acs-identity-rest`), which sends every try; the generated code decodes the
//! response, and [`Call::finish`] maps the result to this crate's types.
//!
//! Nothing generated leaves this module and `client.rs`. Every failure before the request is
//! built (arguments, the bearer token) is returned by `?` before the generated client is called;
//! the executor returns what `reqwest` returned for the last try, and nothing else.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use acs_identity_rest::{BoxFuture, RequestExecutor, ResponseValue, Transport, types};
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tracing::{Instrument as _, Span};

use crate::error::{Error, Result, ServiceErrorDetail, TransportFailure};
use crate::options::{CallOptions, RetryOptions};
use crate::pipeline::{
    Authorization, Pipeline, X_MS_CLIENT_REQUEST_ID, X_MS_RETURN_CLIENT_REQUEST_ID, backoff,
    is_retryable_error, is_retryable_status, new_request_id, server_delay,
};

/// The error of every generated operation.
pub(crate) type RestError = acs_identity_rest::Error<types::CommunicationErrorResponse>;

/// The public methods, for their tracing spans (named as the JS SDK names its spans).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Method {
    CreateUser,
    CreateUserAndToken,
    GetToken,
    GetTokenForTeamsUser,
    RevokeTokens,
    DeleteUser,
    GetUser,
    CreateOrReplaceTeamsExtensionAssignment,
    GetTeamsExtensionAssignment,
    DeleteTeamsExtensionAssignment,
    GetTokenForTeamsExtensionUser,
    GetTokenForEntraUser,
}

impl Method {
    /// A new span for a call of this method, with the fields the call records. (tracing needs
    /// each span name as a literal, hence one line per method.)
    fn span(self) -> Span {
        use tracing::field::Empty;
        match self {
            Method::CreateUser => tracing::info_span!(
                "CommunicationIdentity-createUser",
                api_version = Empty,
                client_request_id = Empty,
                status = Empty,
                attempts = Empty
            ),
            Method::CreateUserAndToken => tracing::info_span!(
                "CommunicationIdentity-createUserAndToken",
                api_version = Empty,
                client_request_id = Empty,
                status = Empty,
                attempts = Empty
            ),
            Method::GetToken => tracing::info_span!(
                "CommunicationIdentity-issueToken",
                api_version = Empty,
                client_request_id = Empty,
                status = Empty,
                attempts = Empty
            ),
            Method::GetTokenForTeamsUser => tracing::info_span!(
                "CommunicationIdentity-getTokenForTeamsUser",
                api_version = Empty,
                client_request_id = Empty,
                status = Empty,
                attempts = Empty
            ),
            Method::RevokeTokens => tracing::info_span!(
                "CommunicationIdentity-revokeTokens",
                api_version = Empty,
                client_request_id = Empty,
                status = Empty,
                attempts = Empty
            ),
            Method::DeleteUser => tracing::info_span!(
                "CommunicationIdentity-deleteUser",
                api_version = Empty,
                client_request_id = Empty,
                status = Empty,
                attempts = Empty
            ),
            Method::GetUser => tracing::info_span!(
                "CommunicationIdentity-getUser",
                api_version = Empty,
                client_request_id = Empty,
                status = Empty,
                attempts = Empty
            ),
            Method::CreateOrReplaceTeamsExtensionAssignment => tracing::info_span!(
                "CommunicationIdentity-createOrReplaceTeamsExtensionAssignment",
                api_version = Empty,
                client_request_id = Empty,
                status = Empty,
                attempts = Empty
            ),
            Method::GetTeamsExtensionAssignment => tracing::info_span!(
                "CommunicationIdentity-getTeamsExtensionAssignment",
                api_version = Empty,
                client_request_id = Empty,
                status = Empty,
                attempts = Empty
            ),
            Method::DeleteTeamsExtensionAssignment => tracing::info_span!(
                "CommunicationIdentity-deleteTeamsExtensionAssignment",
                api_version = Empty,
                client_request_id = Empty,
                status = Empty,
                attempts = Empty
            ),
            Method::GetTokenForTeamsExtensionUser => tracing::info_span!(
                "CommunicationIdentity-getTokenForTeamsExtensionUser",
                api_version = Empty,
                client_request_id = Empty,
                status = Empty,
                attempts = Empty
            ),
            Method::GetTokenForEntraUser => tracing::info_span!(
                "CommunicationIdentity-getTokenForEntraUser",
                api_version = Empty,
                client_request_id = Empty,
                status = Empty,
                attempts = Empty
            ),
        }
    }
}

/// One logical call: its deadline, and the generated client that sends through its executor
/// (which holds the call's span).
pub(crate) struct Call {
    rest: acs_identity_rest::Client,
    executor: Arc<CallExecutor>,
    timeout: Option<Duration>,
}

/// Sends the requests of one call (every try of its one operation).
struct CallExecutor {
    pipeline: Arc<Pipeline>,
    authorization: Authorization,
    /// The `x-ms-client-request-id` of every try.
    request_id: HeaderValue,
    retry: RetryOptions,
    span: Span,
    /// How many tries were started so far.
    attempts: AtomicU32,
    /// What the call's errors need of the response that ended the call, set once by
    /// [`CallExecutor::send`]: the generated client keeps only the body of a response it cannot
    /// decode, and the error then names the status and content type it came with.
    final_response: OnceLock<FinalResponse>,
}

/// The parts of the response that ended a call that its error reports.
struct FinalResponse {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    /// The `x-ms-client-request-id` the service echoed.
    request_id: Option<HeaderValue>,
    /// The delay the service asked for (`Retry-After` and its variants).
    retry_after: Option<Duration>,
}

impl Call {
    /// Starts a call of `method` on `pipeline` with api-version `api_version` (for the span):
    /// gets its authorization (a cached or new bearer token, or the access key) and a generated
    /// client for `base_url` that sends through this call.
    pub(crate) async fn start(
        pipeline: &Arc<Pipeline>,
        base_url: &str,
        api_version: &str,
        method: Method,
        options: CallOptions,
    ) -> Result<Call> {
        let request_id = new_request_id();
        let span = method.span();
        let authorization = pipeline
            .authorization()
            .instrument(span.clone())
            .await
            .map_err(|mut error| {
                error.set_request_id(request_id.to_str().unwrap_or_default());
                error
            })?;
        Ok(Self::authorized(
            pipeline,
            base_url,
            api_version,
            span,
            request_id,
            authorization,
            options,
        ))
    }

    /// Starts a call of `method` that is authorized with `authorization` instead of the client's
    /// credential (the Teams Phone extension exchange sends the end user's Entra token).
    pub(crate) fn start_as(
        pipeline: &Arc<Pipeline>,
        base_url: &str,
        api_version: &str,
        method: Method,
        options: CallOptions,
        authorization: Authorization,
    ) -> Call {
        Self::authorized(
            pipeline,
            base_url,
            api_version,
            method.span(),
            new_request_id(),
            authorization,
            options,
        )
    }

    /// The call, once its authorization is known.
    fn authorized(
        pipeline: &Arc<Pipeline>,
        base_url: &str,
        api_version: &str,
        span: Span,
        request_id: HeaderValue,
        authorization: Authorization,
        options: CallOptions,
    ) -> Call {
        span.record("api_version", tracing::field::display(api_version));
        span.record(
            "client_request_id",
            tracing::field::display(request_id.to_str().unwrap_or_default()),
        );
        let executor = Arc::new(CallExecutor {
            pipeline: Arc::clone(pipeline),
            authorization,
            request_id,
            retry: options.retry.unwrap_or_else(|| pipeline.retry.clone()),
            span,
            attempts: AtomicU32::new(0),
            final_response: OnceLock::new(),
        });
        let rest = acs_identity_rest::Client::new_with_client(
            base_url,
            pipeline.http.clone(),
            Transport::with_shared_executor(Arc::clone(&executor) as Arc<dyn RequestExecutor>),
        );
        Call {
            rest,
            executor,
            timeout: options.timeout.or(pipeline.timeout),
        }
    }

    /// The generated client to build this call's operation with.
    pub(crate) fn rest(&self) -> &acs_identity_rest::Client {
        &self.rest
    }

    /// The client generated from the preview document, sending through this call, for an
    /// operation or field that only the preview has (`api_version::require_preview` checked).
    pub(crate) fn preview_rest(&self) -> acs_identity_rest::preview::Client {
        use acs_identity_rest::ClientInfo as _;
        acs_identity_rest::preview::Client::new_with_client(
            self.rest.baseurl(),
            self.rest.client().clone(),
            Transport::with_shared_executor(Arc::clone(&self.executor) as Arc<dyn RequestExecutor>),
        )
    }

    /// Runs the operation `sent` and returns its decoded value with the success status it came
    /// with (a create-or-replace answers 201 or 200).
    pub(crate) async fn value_and_status<T>(
        &self,
        sent: impl Future<Output = std::result::Result<ResponseValue<T>, RestError>>,
    ) -> Result<(T, StatusCode)> {
        match self.run(sent).await? {
            Ok(value) => {
                let status = value.status();
                Ok((value.into_inner(), status))
            }
            Err(error) => Err(self.failed(self.map_error(error).await)),
        }
    }

    /// Runs the operation `sent` (the generated `send()` future) and returns its decoded value.
    pub(crate) async fn value<T>(
        &self,
        sent: impl Future<Output = std::result::Result<ResponseValue<T>, RestError>>,
    ) -> Result<T> {
        let (value, _status) = self.value_and_status(sent).await?;
        Ok(value)
    }

    /// Runs the operation `sent`, which has no response body: any success status is success.
    pub(crate) async fn unit(
        &self,
        sent: impl Future<Output = std::result::Result<ResponseValue<()>, RestError>>,
    ) -> Result<()> {
        match self.run(sent).await? {
            Ok(_) => Ok(()),
            Err(acs_identity_rest::Error::UnexpectedResponse(response))
                if response.status().is_success() =>
            {
                Ok(())
            }
            Err(error) => Err(self.failed(self.map_error(error).await)),
        }
    }

    /// Awaits `sent` inside the call's span, within the call's deadline.
    async fn run<R>(&self, sent: impl Future<Output = R>) -> Result<R> {
        let sent = sent.instrument(self.executor.span.clone());
        let Some(limit) = self.timeout else {
            return Ok(sent.await);
        };
        match tokio::time::timeout(limit, sent).await {
            Ok(outcome) => Ok(outcome),
            Err(_) => {
                let tries = self.executor.attempts_so_far();
                Err(self.failed(Error::transport(
                    TransportFailure::Timeout,
                    format!(
                        "the call did not finish within its deadline of {limit:?} ({tries} \
                         {} started)",
                        if tries == 1 { "try" } else { "tries" }
                    ),
                    Some(self.request_id().to_owned()),
                    None,
                )))
            }
        }
    }

    /// Logs the failure of the call in its span, and returns it.
    fn failed(&self, error: Error) -> Error {
        let _entered = self.executor.span.enter();
        tracing::debug!(
            kind = %error.kind(),
            status = error.status().map(|s| s.as_u16()),
            code = error.code(),
            timeout = error.is_timeout(),
            connect = error.is_connect(),
            "call failed"
        );
        error
    }

    /// The error for a decoded response that lacks what the method returns.
    pub(crate) fn missing_field(&self, what: &str) -> Error {
        let (status, content_type) = self.final_status();
        Error::decode(
            status.unwrap_or(StatusCode::OK),
            content_type,
            b"",
            what,
            Some(self.response_request_id()),
            None,
        )
    }

    /// The request id sent with every try.
    fn request_id(&self) -> &str {
        // A hyphenated UUID is visible ASCII.
        self.executor.request_id.to_str().unwrap_or_default()
    }

    /// The request id echoed by the service in the final response, else the one sent.
    fn response_request_id(&self) -> String {
        self.executor
            .final_response
            .get()
            .and_then(|response| response.request_id.as_ref())
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| self.request_id())
            .to_owned()
    }

    /// Status and content type of the final response.
    fn final_status(&self) -> (Option<StatusCode>, Option<String>) {
        match self.executor.final_response.get() {
            Some(response) => (
                Some(response.status),
                response
                    .content_type
                    .as_ref()
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            ),
            None => (None, None),
        }
    }

    /// This crate's error for a generated error: the one decoder of the service's error bodies
    /// is the generated client's (`CommunicationErrorResponse`, `innererror` and `details`
    /// included), converted by `service_detail`. Any error that came with a response carries the
    /// delay that response asked for.
    async fn map_error(&self, error: RestError) -> Error {
        let retry_after = self
            .executor
            .final_response
            .get()
            .and_then(|response| response.retry_after);
        self.map_error_body(error)
            .await
            .with_retry_after(retry_after)
    }

    async fn map_error_body(&self, error: RestError) -> Error {
        let request_id = Some(self.response_request_id());
        let (status, content_type) = self.final_status();
        match error {
            acs_identity_rest::Error::ErrorResponse(value) => Error::service(
                value.status(),
                Some(service_detail(value.into_inner().error)),
                request_id,
            ),
            acs_identity_rest::Error::InvalidResponsePayload(body, source) => {
                let status = status.unwrap_or(StatusCode::OK);
                if !status.is_success() && body.iter().all(u8::is_ascii_whitespace) {
                    return Error::service(status, None, request_id);
                }
                let what = if status.is_success() {
                    "the response does not have the documented shape"
                } else {
                    "the error response is not a CommunicationErrorResponse"
                };
                Error::decode(
                    status,
                    content_type,
                    &body,
                    what,
                    request_id,
                    Some(Box::new(source)),
                )
            }
            acs_identity_rest::Error::UnexpectedResponse(response) => {
                // A status the spec does not list for the operation: an unlisted success, or a
                // 1xx/3xx (redirects are not followed: a signed request is for one URL).
                let status = response.status();
                let body = response.bytes().await.unwrap_or_default();
                if status.is_success() {
                    Error::decode(
                        status,
                        content_type,
                        &body,
                        "unexpected success status for this operation",
                        request_id,
                        None,
                    )
                } else if body.iter().all(u8::is_ascii_whitespace) {
                    Error::service(status, None, request_id)
                } else {
                    Error::decode(
                        status,
                        content_type,
                        &body,
                        "unexpected status for this operation",
                        request_id,
                        None,
                    )
                }
            }
            acs_identity_rest::Error::InvalidRequest(message) => {
                Error::invalid_argument("request", message)
            }
            acs_identity_rest::Error::CommunicationError(e)
            | acs_identity_rest::Error::InvalidUpgrade(e) => {
                // A connect timeout is both: it is reported as the timeout it is.
                let (failure, what) = if e.is_timeout() {
                    (TransportFailure::Timeout, "the request timed out")
                } else if e.is_connect() {
                    (
                        TransportFailure::Connect,
                        "could not connect to the service",
                    )
                } else {
                    (TransportFailure::Io, "the request could not be sent")
                };
                let tries = self.executor.attempts_so_far();
                Error::transport(
                    failure,
                    format!(
                        "{what} (after {tries} {})",
                        if tries == 1 { "try" } else { "tries" }
                    ),
                    request_id,
                    Some(Box::new(e.without_url())),
                )
            }
            acs_identity_rest::Error::ResponseBodyError(e) => {
                if is_too_large(&e) {
                    Error::transport(
                        TransportFailure::TooLarge,
                        ResponseTooLarge.to_string(),
                        request_id,
                        None,
                    )
                } else if e.is_timeout() {
                    Error::transport(
                        TransportFailure::Timeout,
                        "the response body did not arrive in time",
                        request_id,
                        Some(Box::new(e.without_url())),
                    )
                } else {
                    Error::transport(
                        TransportFailure::Io,
                        "could not read the response body",
                        request_id,
                        Some(Box::new(e.without_url())),
                    )
                }
            }
            // Only a hook returns it, and this crate's hooks return none.
            acs_identity_rest::Error::Custom(message) => {
                Error::transport(TransportFailure::Io, message, request_id, None)
            }
        }
    }
}

/// Whether reading a body failed because it passed [`MAX_RESPONSE_BODY`].
fn is_too_large(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<ResponseTooLarge>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// This crate's copy of one entry of the generated error model.
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

impl RequestExecutor for CallExecutor {
    fn execute<'a>(
        &'a self,
        request: reqwest::Request,
        _operation_id: &'static str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        Box::pin(self.send(request))
    }
}

impl CallExecutor {
    /// How many tries were started so far.
    fn attempts_so_far(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// Sends `request` (as the generated code built it) as one logical call: adds the headers
    /// every try carries, then for each try authorizes a fresh copy, sends it, and retries what
    /// may succeed later. Returns what the last try got.
    async fn send(&self, request: reqwest::Request) -> reqwest::Result<reqwest::Response> {
        let outgoing = Outgoing::new(request, &self.pipeline.user_agent, &self.request_id);
        let mut attempt: u32 = 0;
        let outcome = loop {
            attempt += 1;
            self.attempts.store(attempt, Ordering::Relaxed);
            let may_retry = attempt <= self.retry.max_retries;
            let request = self.prepare_try(&outgoing);
            tracing::debug!(
                attempt,
                method = %outgoing.method,
                path = outgoing.url.path(),
                "sending request"
            );
            match self.pipeline.http.execute(request).await {
                Ok(response) if may_retry && is_retryable_status(response.status()) => {
                    let status = response.status().as_u16();
                    let delay = match server_delay(response.headers(), self.pipeline.clock.now()) {
                        Some(asked) => asked.min(self.retry.max_delay),
                        None => backoff(&self.retry, attempt),
                    };
                    tracing::debug!(
                        attempt,
                        status,
                        delay_ms = delay.as_millis() as u64,
                        "retrying after a retryable status"
                    );
                    drain_then_wait(response, delay).await;
                }
                Err(error) if may_retry && is_retryable_error(&error) => {
                    let delay = backoff(&self.retry, attempt);
                    // A try that got no response at INFO (as azure_core logs one), the retry
                    // decision in the same event.
                    tracing::info!(
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        timeout = error.is_timeout(),
                        connect = error.is_connect(),
                        "request failed; retrying after a transport failure"
                    );
                    tokio::time::sleep(delay).await;
                }
                outcome => break outcome,
            }
        };
        self.span.record("attempts", attempt);
        let outcome = outcome.map(limit_body);
        match &outcome {
            Ok(response) => {
                let headers = response.headers();
                self.span.record("status", response.status().as_u16());
                tracing::debug!(attempt, status = response.status().as_u16(), "response");
                // Set once: a call's client sends one operation.
                let _ = self.final_response.set(FinalResponse {
                    status: response.status(),
                    content_type: headers.get(header::CONTENT_TYPE).cloned(),
                    request_id: headers.get(X_MS_CLIENT_REQUEST_ID).cloned(),
                    // Only an error reports it: a success pays no parse.
                    retry_after: (!response.status().is_success())
                        .then(|| server_delay(headers, self.pipeline.clock.now()))
                        .flatten(),
                });
            }
            // As azure_core logs a try that got no response: at INFO.
            Err(error) => tracing::info!(
                attempt,
                timeout = error.is_timeout(),
                connect = error.is_connect(),
                "request failed"
            ),
        }
        outcome
    }

    /// A copy of `outgoing` for one try, authorized, with the per-try timeout.
    fn prepare_try(&self, outgoing: &Outgoing) -> reqwest::Request {
        let mut request = reqwest::Request::new(outgoing.method.clone(), outgoing.url.clone());
        *request.headers_mut() = outgoing.headers.clone();
        if let Some(body) = &outgoing.body {
            *request.body_mut() = Some(reqwest::Body::from(body.clone()));
        }
        *request.version_mut() = outgoing.version;
        *request.timeout_mut() = self.pipeline.per_try_timeout;
        match &self.authorization {
            Authorization::Key(credential) => {
                let signed = acs_auth::sign(
                    &credential.key(),
                    &acs_auth::RequestToSign {
                        method: outgoing.method.as_str(),
                        path_and_query: acs_auth::request_target(&outgoing.url),
                        host: &self.pipeline.host,
                        body: outgoing.body.as_deref().unwrap_or_default(),
                    },
                    self.pipeline.clock.now(),
                );
                acs_auth::insert_signed_headers(request.headers_mut(), signed);
            }
            Authorization::Bearer(value) => {
                request
                    .headers_mut()
                    .insert(header::AUTHORIZATION, value.clone());
            }
        }
        request
    }
}

/// The request of a call as every try sends it: what the generated code built, plus the
/// headers that are the same for every try. Authorization is added per try.
struct Outgoing {
    method: reqwest::Method,
    url: reqwest::Url,
    headers: HeaderMap,
    /// The body bytes (every request of the generated client has its body in memory).
    body: Option<Bytes>,
    version: reqwest::Version,
}

impl Outgoing {
    fn new(
        mut request: reqwest::Request,
        user_agent: &HeaderValue,
        request_id: &HeaderValue,
    ) -> Self {
        let mut headers = std::mem::take(request.headers_mut());
        headers.insert(header::USER_AGENT, user_agent.clone());
        headers.insert(X_MS_CLIENT_REQUEST_ID, request_id.clone());
        headers.insert(
            X_MS_RETURN_CLIENT_REQUEST_ID,
            HeaderValue::from_static("true"),
        );
        let body = request
            .body()
            .map(|body| Bytes::copy_from_slice(body.as_bytes().unwrap_or_default()));
        Self {
            method: request.method().clone(),
            url: request.url().clone(),
            headers,
            body,
            version: request.version(),
        }
    }
}

/// Reads the body of a response that will be retried, at most [`MAX_RESPONSE_BODY`] bytes of it
/// (so the connection can be reused; its content is irrelevant), then waits `delay`.
async fn drain_then_wait(mut response: reqwest::Response, delay: Duration) {
    let mut left = MAX_RESPONSE_BODY;
    while let Ok(Some(chunk)) = response.chunk().await {
        if chunk.len() >= left {
            break; // dropped with the rest unread: the connection is closed, not reused
        }
        left -= chunk.len();
    }
    tokio::time::sleep(delay).await;
}

/// The most bytes of a response body the client reads: far above any response of this API (a
/// few hundred bytes; an error body a few KiB), so that a server that sends an endless or huge
/// body cannot exhaust the client's memory. A longer body stops being read, and the call fails
/// with a transport error that says so.
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// The error a response body longer than [`MAX_RESPONSE_BODY`] fails with, as its reading stops.
#[derive(Debug)]
pub(crate) struct ResponseTooLarge;

impl std::fmt::Display for ResponseTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the response body is longer than the {MAX_RESPONSE_BODY} bytes this client reads \
             (responses of this API are a few hundred bytes)"
        )
    }
}

impl std::error::Error for ResponseTooLarge {}

/// The final response, with a body that fails with [`ResponseTooLarge`] past
/// [`MAX_RESPONSE_BODY`] bytes (the generated code then reads it as it would any body).
fn limit_body(response: reqwest::Response) -> reqwest::Response {
    let (parts, body) = http::Response::from(response).into_parts();
    let limited = LimitedBody {
        inner: body,
        left: MAX_RESPONSE_BODY,
    };
    reqwest::Response::from(http::Response::from_parts(
        parts,
        reqwest::Body::wrap(limited),
    ))
}

/// A body that ends in [`ResponseTooLarge`] once more than `left` bytes came.
struct LimitedBody {
    inner: reqwest::Body,
    left: usize,
}

impl http_body::Body for LimitedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<http_body::Frame<Bytes>, Self::Error>>> {
        use std::task::Poll;
        let this = self.get_mut();
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map_or(0, Bytes::len);
                if len > this.left {
                    this.left = 0;
                    return Poll::Ready(Some(Err(Box::new(ResponseTooLarge))));
                }
                this.left -= len;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(Box::new(error)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
