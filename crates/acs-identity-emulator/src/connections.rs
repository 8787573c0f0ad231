//! Accepting and serving connections, with the HTTP stack's own limits against slow, idle and
//! greedy clients, and a log line when a connection cannot be accepted.
//!
//! HTTP/1.1: hyper's header read timeout closes a connection whose request head (or, between
//! requests, whose next head) does not arrive in time, however slowly it drips, and its buffer
//! and header count limits bound what one connection holds (16 KiB, 64 headers; more is 431).
//! HTTP/2: hyper's stream and header list limits. Both: a connection passing no byte either way
//! for the idle timeout is closed (this covers a client that stops in the middle of choosing its
//! protocol, and idle HTTP/2 connections), and a request must be answered within the request
//! timeout (a body that never arrives gets 408). There is no cap on open connections: a cap let
//! the first few hundred slow sockets take the whole service; each slow socket is closed by the
//! timeouts instead, and holds a few KiB until then.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use http::StatusCode;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;

use crate::errors::ApiError;

/// The most bytes of a request head (and of buffered input) one HTTP/1.1 connection holds, and
/// the largest HTTP/2 header list.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The most header fields of an HTTP/1.1 request.
const MAX_HEADERS: usize = 64;

/// Timeouts of the emulator's server.
///
/// The defaults: 30 s for a request's head (request line and headers) to arrive, also between
/// the requests of a keep-alive connection; 30 s from the head to the response (reading the body
/// included); 60 s without a byte either way on any connection; 10 s for a TLS handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    header_timeout: Duration,
    request_timeout: Duration,
    idle_timeout: Duration,
    handshake_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl ConnectionLimits {
    /// How long an HTTP/1.1 request head (request line and headers) may take to arrive.
    pub fn with_header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// How long a request may take from its head to its response, reading its body included
    /// (the client then gets 408).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long a connection may pass no byte in either direction before it is closed.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long a TLS handshake may take.
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }
}

/// A stream that fails with `TimedOut` once no byte was read or written for `idle`.
struct IdleTimeout<T> {
    inner: T,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<T> IdleTimeout<T> {
    fn new(inner: T, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    /// The outcome of a poll of the stream: a ready one restarts the deadline if bytes passed
    /// (`progressed`); `Pending` becomes `TimedOut` once the deadline passed.
    fn outcome<R>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<R>>,
        progressed: bool,
    ) -> Poll<io::Result<R>> {
        if poll.is_pending() && self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle for too long",
            )));
        }
        if progressed {
            self.deadline.as_mut().reset(Instant::now() + self.idle);
        }
        poll
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        let progressed = buf.filled().len() > before;
        this.outcome(cx, poll, progressed)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        let progressed = matches!(poll, Poll::Ready(Ok(n)) if n > 0);
        this.outcome(cx, poll, progressed)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.outcome(cx, poll, false)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The middleware answering 408 when a request (its body included) takes longer than `timeout`.
pub(crate) async fn request_deadline(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                timeout_s = timeout.as_secs_f64(),
                "request timed out (body too slow?)"
            );
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeout",
                format!(
                    "The request was not received and answered within {} s.",
                    timeout.as_secs_f64()
                ),
            )
            .into_response()
        }
    }
}

/// Serves `router` on `listener` (TLS when `tls` is given) until `signal`; then lets open
/// connections finish their requests and returns once all are closed.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: axum::Router,
    limits: ConnectionLimits,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let router = router.layer(axum::middleware::from_fn_with_state(
        limits.request_timeout,
        request_deadline,
    ));
    // Every connection (from its accept on, TLS handshake included) holds a watcher.
    let graceful = GracefulShutdown::new();
    let mut last_accept_error: Option<Instant> = None;
    let mut signal = std::pin::pin!(signal);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors, typically: say so, wait a little, go on.
                    if last_accept_error.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
                        tracing::warn!(error = %e, "cannot accept a connection");
                        last_accept_error = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(tcp, router, limits, watcher).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)).await
                    {
                        Ok(Ok(stream)) => serve_connection(stream, router, limits, watcher).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn serve_connection<T>(
    stream: T,
    router: axum::Router,
    limits: ConnectionLimits,
    watcher: Watcher,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(IdleTimeout::new(stream, limits.idle_timeout));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(100)
        .max_header_list_size(MAX_HEAD_BYTES as u32);
    let connection = builder.serve_connection(io, TowerToHyperService::new(router));
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(error = %e, "connection closed with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_body_gets_408_before_the_idle_timeout_cuts_its_connection() {
        let limits = ConnectionLimits::default();
        assert!(limits.request_timeout < limits.idle_timeout, "{limits:?}");
        assert!(crate::controls::MAX_FAULT_DELAY < limits.request_timeout);
    }
}
