//! One call of the client, read top to bottom: [`Call::start`] gets the call's authorization and
//! a generated client that sends through this call's [`CallExecutor`]; the public method builds
//! the operation with it and hands [`Call::value`] (or `answer`, `unit`) a closure that sends it
//! (`|| operation.clone().send()`). [`Call::run`] is the retry loop: each try calls the generated
//! `send()`, which builds the request and passes it through the `exec` hook of
//! `acs-identity-rest` to `CallExecutor::send` (headers, signature, one send), then decodes the
//! response; the loop decides on a retry from what `send()` returned, and `Call::map_error` maps
//! the last outcome to this crate's error. Tries and deadline are values of the loop.
//!
//! Nothing generated leaves this module and the method files. Every failure before the request
//! is built (arguments, the bearer token) is returned by `?` before the generated client is
//! called. One value travels beside the generated code, because progenitor drops it: the head
//! of the latest response (`CallExecutor::last_head`), read only for the two generated errors that
//! keep no response (`InvalidResponsePayload`, `ResponseBodyError`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use acs_identity_rest::{BoxFuture, RequestExecutor, ResponseValue, Transport, types};
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::time::Instant;
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

/// What one try of a generated operation returned.
type Outcome<T> = std::result::Result<ResponseValue<T>, RestError>;

/// One logical call: its generated client (sending through its executor), span, retry policy
/// and deadline.
pub(crate) struct Call {
    rest: acs_identity_rest::Client,
    executor: Arc<CallExecutor>,
    span: Span,
    retry: RetryOptions,
    deadline: Option<Deadline>,
}

/// When a call must have ended, and the limit it was given (named in the error).
#[derive(Clone, Copy)]
struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    /// The deadline `limit` from now: none without a limit, or for one past what the clock can
    /// hold (`Duration::MAX` means no deadline, not a panic).
    fn after(limit: Option<Duration>) -> Option<Deadline> {
        let limit = limit?;
        let at = Instant::now().checked_add(limit)?;
        Some(Deadline { at, limit })
    }

    /// Whether a wait of `delay` from now would end at or past it.
    fn cuts_short(&self, delay: Duration) -> bool {
        Instant::now()
            .checked_add(delay)
            .is_none_or(|end| end >= self.at)
    }
}

/// The error of a call whose deadline of `limit` passed with `tries` started (none: while it was
/// getting its authorization).
fn deadline_passed(limit: Duration, tries: u32, request_id: &HeaderValue) -> Error {
    let progress = match tries {
        0 => "while getting its authorization".to_owned(),
        1 => "1 try started".to_owned(),
        tries => format!("{tries} tries started"),
    };
    Error::transport(
        TransportFailure::Timeout,
        format!("the call did not finish within its deadline of {limit:?} ({progress})"),
        Some(request_id.to_str().unwrap_or_default().to_owned()),
        None,
    )
}

/// Sends one try of the call's operation: the headers every try carries, its authorization.
struct CallExecutor {
    pipeline: Arc<Pipeline>,
    authorization: Authorization,
    /// The `x-ms-client-request-id` of every try.
    request_id: HeaderValue,
    /// The head of the latest response, written by [`CallExecutor::send`]. The one value read
    /// beside the generated code: its `InvalidResponsePayload` keeps only the body, and its
    /// `ResponseBodyError` only the `reqwest` error, and the retry decision and the error need
    /// the status (and `Retry-After`, echoed request id, content type) they came with.
    last_head: Mutex<Option<ResponseHead>>,
}

/// What the call's retry decision and errors need of a response.
#[derive(Clone)]
struct ResponseHead {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    /// The `x-ms-client-request-id` the service echoed.
    request_id: Option<HeaderValue>,
    /// The delay the service asked for (`Retry-After` and its variants); read only for an error
    /// status, so a success pays no parse.
    retry_after: Option<Duration>,
}

impl ResponseHead {
    fn of(status: StatusCode, headers: &HeaderMap, clock: &dyn acs_auth::Clock) -> Self {
        Self {
            status,
            content_type: headers.get(header::CONTENT_TYPE).cloned(),
            request_id: headers.get(X_MS_CLIENT_REQUEST_ID).cloned(),
            retry_after: (!status.is_success())
                .then(|| server_delay(headers, clock.now()))
                .flatten(),
        }
    }

    fn content_type(&self) -> Option<String> {
        let value = self.content_type.as_ref()?;
        value.to_str().ok().map(str::to_owned)
    }
}

/// A decoded answer with what a method's own checks of it report.
pub(crate) struct Answer<T> {
    pub(crate) value: T,
    pub(crate) status: StatusCode,
    content_type: Option<String>,
    request_id: String,
}

impl<T> Answer<T> {
    /// The error for an answer that lacks what the method returns.
    pub(crate) fn missing(&self, what: &str) -> Error {
        Error::decode(
            self.status,
            self.content_type.clone(),
            b"",
            what,
            Some(self.request_id.clone()),
            None,
        )
    }
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
        // The deadline runs from here: a slow sign-in (a bearer token) counts against it.
        let deadline = Deadline::after(options.timeout.or(pipeline.timeout));
        let authorize = pipeline.authorization().instrument(span.clone());
        let authorization = match deadline {
            Some(Deadline { at, limit }) => tokio::time::timeout_at(at, authorize)
                .await
                .map_err(|_| deadline_passed(limit, 0, &request_id))?,
            None => authorize.await,
        }
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
            options.retry,
            deadline,
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
            options.retry,
            Deadline::after(options.timeout.or(pipeline.timeout)),
        )
    }

    /// The call, once its authorization is known (`retry`: the call's own policy, if any).
    #[allow(clippy::too_many_arguments)]
    fn authorized(
        pipeline: &Arc<Pipeline>,
        base_url: &str,
        api_version: &str,
        span: Span,
        request_id: HeaderValue,
        authorization: Authorization,
        retry: Option<RetryOptions>,
        deadline: Option<Deadline>,
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
            last_head: Mutex::new(None),
        });
        let rest = acs_identity_rest::Client::new_with_client(
            base_url,
            pipeline.http.clone(),
            Transport::with_shared_executor(Arc::clone(&executor) as Arc<dyn RequestExecutor>),
        );
        Call {
            rest,
            executor,
            span,
            retry: retry.unwrap_or_else(|| pipeline.retry.clone()),
            deadline,
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

    /// Runs the operation that `send` sends (once per try) and returns its decoded value.
    pub(crate) async fn value<T, F>(&self, send: impl Fn() -> F) -> Result<T>
    where
        F: Future<Output = Outcome<T>>,
    {
        Ok(self.decoded(send).await?.into_inner())
    }

    /// Runs the operation that `send` sends and returns its decoded value with the success status
    /// it came with (a create-or-replace answers 201 or 200), for a method that checks it further.
    pub(crate) async fn answer<T, F>(&self, send: impl Fn() -> F) -> Result<Answer<T>>
    where
        F: Future<Output = Outcome<T>>,
    {
        let decoded = self.decoded(send).await?;
        let head = ResponseHead::of(
            decoded.status(),
            decoded.headers(),
            &*self.executor.pipeline.clock,
        );
        Ok(Answer {
            status: head.status,
            content_type: head.content_type(),
            request_id: self.request_id_of(Some(&head)),
            value: decoded.into_inner(),
        })
    }

    /// Runs the operation that `send` sends, which has no response body: any success status is
    /// success.
    pub(crate) async fn unit<F>(&self, send: impl Fn() -> F) -> Result<()>
    where
        F: Future<Output = Outcome<()>>,
    {
        match self.run(send).await? {
            (Ok(_), _) => Ok(()),
            (Err(acs_identity_rest::Error::UnexpectedResponse(response)), _)
                if response.status().is_success() =>
            {
                Ok(())
            }
            (Err(error), tries) => {
                // An unlisted status's body is read here, still within the deadline.
                let error = self.within(tries, self.map_error(error, tries)).await?;
                Err(self.failed(error))
            }
        }
    }

    /// The decoded response of the operation that `send` sends, or this crate's error.
    async fn decoded<T, F>(&self, send: impl Fn() -> F) -> Result<ResponseValue<T>>
    where
        F: Future<Output = Outcome<T>>,
    {
        match self.run(send).await? {
            (Ok(value), _) => Ok(value),
            (Err(error), tries) => {
                // An unlisted status's body is read here, still within the deadline.
                let error = self.within(tries, self.map_error(error, tries)).await?;
                Err(self.failed(error))
            }
        }
    }

    /// The retry loop, inside the call's span, within its deadline: each try calls `send` (the
    /// generated `send()`: it builds the request, `CallExecutor::send` signs and sends it, and it
    /// decodes the response); a retryable status (408 429 500 502 503 504) or connect/timeout
    /// error with tries left waits (`Retry-After` / `retry-after-ms` / backoff) and tries again.
    /// Returns the last try's outcome and the number of tries; the error is the deadline's.
    async fn run<T, F>(&self, send: impl Fn() -> F) -> Result<(Outcome<T>, u32)>
    where
        F: Future<Output = Outcome<T>>,
    {
        async {
            let mut attempt: u32 = 0;
            loop {
                attempt += 1;
                let outcome = self.within(attempt, send()).await?;
                match self.retry_delay(&outcome, attempt) {
                    // A wait that the deadline would cut short is not started: the call ends
                    // with this try's answer (a 503 or 429 names its status and Retry-After),
                    // not with a timeout that hides it.
                    Some(delay) if self.deadline.is_some_and(|d| d.cuts_short(delay)) => {
                        self.ended(&outcome, attempt);
                        return Ok((outcome, attempt));
                    }
                    Some(delay) => {
                        self.within(attempt, tokio::time::sleep(delay)).await?;
                    }
                    None => {
                        self.ended(&outcome, attempt);
                        return Ok((outcome, attempt));
                    }
                }
            }
        }
        .instrument(self.span.clone())
        .await
    }

    /// Awaits `future`, or fails when the call's deadline passes first (`tries` started).
    async fn within<R>(&self, tries: u32, future: impl Future<Output = R>) -> Result<R> {
        let Some(Deadline { at, limit }) = self.deadline else {
            return Ok(future.await);
        };
        tokio::time::timeout_at(at, future)
            .await
            .map_err(|_| self.failed(deadline_passed(limit, tries, &self.executor.request_id)))
    }

    /// How long to wait before another try after `outcome` of try `attempt`, if another try may
    /// succeed and the policy has one left (the decision is logged).
    fn retry_delay<T>(&self, outcome: &Outcome<T>, attempt: u32) -> Option<Duration> {
        let Err(error) = outcome else {
            return None;
        };
        if attempt > self.retry.max_retries {
            return None;
        }
        if let acs_identity_rest::Error::CommunicationError(error) = error {
            if !is_retryable_error(error) {
                return None;
            }
            let delay = backoff(&self.retry, attempt);
            // A try that got no response at INFO (as azure_core logs one), the retry decision
            // in the same event.
            tracing::info!(
                attempt,
                delay_ms = delay.as_millis() as u64,
                timeout = error.is_timeout(),
                connect = error.is_connect(),
                "request failed; retrying after a transport failure"
            );
            return Some(delay);
        }
        let head = self.head_of(error)?;
        if !is_retryable_status(head.status) {
            return None;
        }
        let delay = match head.retry_after {
            Some(asked) => asked.min(self.retry.max_delay),
            None => backoff(&self.retry, attempt),
        };
        tracing::debug!(
            attempt,
            status = head.status.as_u16(),
            delay_ms = delay.as_millis() as u64,
            "retrying after a retryable status"
        );
        Some(delay)
    }

    /// Records the end of the tries in the span: how many, and the status of the last response.
    fn ended<T>(&self, outcome: &Outcome<T>, attempt: u32) {
        self.span.record("attempts", attempt);
        let status = match outcome {
            Ok(value) => Some(value.status()),
            Err(error) => self.head_of(error).map(|head| head.status),
        };
        match (status, outcome) {
            (Some(status), _) => {
                self.span.record("status", status.as_u16());
                tracing::debug!(attempt, status = status.as_u16(), "response");
            }
            // As azure_core logs a try that got no response: at INFO.
            (None, Err(acs_identity_rest::Error::CommunicationError(error))) => tracing::info!(
                attempt,
                timeout = error.is_timeout(),
                connect = error.is_connect(),
                "request failed"
            ),
            (None, _) => {}
        }
    }

    /// The head of the response a generated error came with: from the error where it keeps the
    /// response, else the latest one the executor received (the error is of that response).
    fn head_of(&self, error: &RestError) -> Option<ResponseHead> {
        let clock = &*self.executor.pipeline.clock;
        match error {
            acs_identity_rest::Error::ErrorResponse(value) => {
                Some(ResponseHead::of(value.status(), value.headers(), clock))
            }
            acs_identity_rest::Error::UnexpectedResponse(response) => Some(ResponseHead::of(
                response.status(),
                response.headers(),
                clock,
            )),
            acs_identity_rest::Error::InvalidResponsePayload(..)
            | acs_identity_rest::Error::ResponseBodyError(_) => self
                .executor
                .last_head
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            _ => None,
        }
    }

    /// Logs the failure of the call in its span, and returns it.
    fn failed(&self, error: Error) -> Error {
        let _entered = self.span.enter();
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

    /// The request id sent with every try.
    fn request_id(&self) -> &str {
        // A hyphenated UUID is visible ASCII.
        self.executor.request_id.to_str().unwrap_or_default()
    }

    /// The request id the service echoed in `head`, else the one sent.
    fn request_id_of(&self, head: Option<&ResponseHead>) -> String {
        head.and_then(|head| head.request_id.as_ref())
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| self.request_id())
            .to_owned()
    }

    /// This crate's error for the generated error that ended the call after `tries` tries: the
    /// one decoder of the service's error bodies is the generated client's
    /// (`CommunicationErrorResponse`, `innererror` and `details` included), converted by
    /// `service_detail`. Any error that came with a response carries the delay that response
    /// asked for.
    async fn map_error(&self, error: RestError, tries: u32) -> Error {
        let head = self.head_of(&error);
        let request_id = Some(self.request_id_of(head.as_ref()));
        let retry_after = head.as_ref().and_then(|head| head.retry_after);
        let status = head.as_ref().map_or(StatusCode::OK, |head| head.status);
        let content_type = head.as_ref().and_then(ResponseHead::content_type);
        let error = match error {
            acs_identity_rest::Error::ErrorResponse(value) => Error::service(
                value.status(),
                Some(service_detail(value.into_inner().error)),
                request_id,
            ),
            acs_identity_rest::Error::InvalidResponsePayload(body, source) => {
                if body.len() > MAX_RESPONSE_BODY {
                    return too_large(request_id);
                }
                if !status.is_success() && body.iter().all(u8::is_ascii_whitespace) {
                    return Error::service(status, None, request_id).with_retry_after(retry_after);
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
                let body = response.bytes().await.unwrap_or_default();
                if body.len() > MAX_RESPONSE_BODY {
                    return too_large(request_id);
                }
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
                let (failure, what) = if e.is_timeout() {
                    (
                        TransportFailure::Timeout,
                        "the response body did not arrive in time",
                    )
                } else {
                    (TransportFailure::Io, "could not read the response body")
                };
                Error::transport(failure, what, request_id, Some(Box::new(e.without_url())))
            }
            // Only a hook returns it, and this crate's hooks return none.
            acs_identity_rest::Error::Custom(message) => {
                Error::transport(TransportFailure::Io, message, request_id, None)
            }
        };
        error.with_retry_after(retry_after)
    }
}

/// The error of a response whose body is longer than [`MAX_RESPONSE_BODY`].
fn too_large(request_id: Option<String>) -> Error {
    Error::transport(
        TransportFailure::TooLarge,
        format!(
            "the response body is longer than the {MAX_RESPONSE_BODY} bytes this client reads \
             (responses of this API are a few hundred bytes)"
        ),
        request_id,
        None,
    )
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
    /// Sends one try of the operation, as the generated code built it, with the headers every
    /// try carries, the per-try timeout and its authorization (signed afresh: each try is built
    /// afresh). Returns the response with its body limited (see [`limit_body`]).
    async fn send(&self, mut request: reqwest::Request) -> reqwest::Result<reqwest::Response> {
        let headers = request.headers_mut();
        headers.insert(header::USER_AGENT, self.pipeline.user_agent.clone());
        headers.insert(X_MS_CLIENT_REQUEST_ID, self.request_id.clone());
        headers.insert(
            X_MS_RETURN_CLIENT_REQUEST_ID,
            HeaderValue::from_static("true"),
        );
        match &self.authorization {
            Authorization::Key(credential) => {
                let signed = acs_auth::sign(
                    &credential.key(),
                    &acs_auth::RequestToSign {
                        method: request.method().as_str(),
                        path_and_query: acs_auth::request_target(request.url()),
                        host: &self.pipeline.host,
                        // Every request of the generated client has its body in memory.
                        body: request
                            .body()
                            .and_then(reqwest::Body::as_bytes)
                            .unwrap_or_default(),
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
        *request.timeout_mut() = self.pipeline.per_try_timeout;
        tracing::debug!(
            method = %request.method(),
            path = request.url().path(),
            "sending request"
        );
        let response = self.pipeline.http.execute(request).await?;
        let head = ResponseHead::of(response.status(), response.headers(), &*self.pipeline.clock);
        *self
            .last_head
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(head);
        Ok(limit_body(response))
    }
}

/// The most bytes of a response body the client reads: far above any response of this API (a
/// few hundred bytes; an error body a few KiB), so that a server that sends an endless or huge
/// body cannot exhaust the client's memory. A longer body stops being read, and the call fails
/// with a transport error that says so.
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// The response with a body that ends after [`MAX_RESPONSE_BODY`]` + 1` bytes, whatever the
/// server sends after them (the rest is never read; the connection is not reused). The generated
/// code reads it as any body, and `Call::map_error` knows a body of that length as too long.
/// A response whose `Content-Length` is within the limit is left as it is: hyper reads no more
/// than that length.
fn limit_body(response: reqwest::Response) -> reqwest::Response {
    if response
        .content_length()
        .is_some_and(|length| length <= MAX_RESPONSE_BODY as u64)
    {
        return response;
    }
    let (parts, body) = http::Response::from(response).into_parts();
    let limited = LimitedBody {
        inner: body,
        left: MAX_RESPONSE_BODY + 1,
    };
    reqwest::Response::from(http::Response::from_parts(
        parts,
        reqwest::Body::wrap(limited),
    ))
}

/// A body that ends once `left` bytes came.
struct LimitedBody {
    inner: reqwest::Body,
    left: usize,
}

impl http_body::Body for LimitedBody {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<http_body::Frame<Bytes>, Self::Error>>> {
        use std::task::Poll;
        let this = self.get_mut();
        if this.left == 0 {
            return Poll::Ready(None);
        }
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(mut data) => {
                    data.truncate(this.left);
                    this.left -= data.len();
                    Poll::Ready(Some(Ok(http_body::Frame::data(data))))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0 || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let inner = self.inner.size_hint();
        let left = self.left as u64;
        let mut hint = http_body::SizeHint::new();
        hint.set_upper(inner.upper().map_or(left, |upper| upper.min(left)));
        hint.set_lower(inner.lower().min(left));
        hint
    }
}
