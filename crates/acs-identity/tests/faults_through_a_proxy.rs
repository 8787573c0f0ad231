//! The client through a TCP proxy of this test's own, which forwards each request to a mock of
//! the service and spoils the answer on its way back: a connection reset before the answer (the
//! call is retried), a reset mid-body, a truncated body, a stall past the call's deadline, a slow
//! drip, and an endless body. Each ends in the right typed error or retry, within its deadline,
//! and reading stops at `MAX_RESPONSE_BODY` (bounded memory).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use acs_identity::{
    CallOptions, CommunicationIdentityClient, CommunicationUserIdentifier, ErrorKind,
    GetTokenOptions, MAX_RESPONSE_BODY, TokenScope,
};
use acs_test_support::rss_kib;
use common::*;
use httpmock::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to the answer.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Forwards the answer as it is (the control).
    Forward,
    /// Closes the connection with a reset before answering the first request, then forwards.
    ResetBeforeTheFirstAnswer,
    /// Sends the head and half the body, then resets the connection.
    ResetMidBody,
    /// Sends the head and half the body, then closes the connection normally.
    TruncateTheBody,
    /// Reads the request and never answers.
    Stall,
    /// Sends the answer one byte every 100 ms.
    Drip,
    /// Answers 200 with a chunked body that never ends (until the client goes away).
    EndlessBody,
}

/// Reads one HTTP/1.1 message (head, then a `Content-Length` body) from `stream`.
async fn read_message(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                data.truncate(end + 4 + length);
                return Some(data);
            }
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
}

/// Starts the proxy in front of `upstream`; returns its address and how many connections came.
async fn proxy(upstream: String, fault: Fault) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let upstream = upstream.clone();
            tokio::spawn(async move {
                while let Some(request) = read_message(&mut client).await {
                    if matches!(fault, Fault::ResetBeforeTheFirstAnswer) && n == 0 {
                        let _ = client.set_zero_linger();
                        return;
                    }
                    if matches!(fault, Fault::Stall) {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                    if matches!(fault, Fault::EndlessBody) {
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                    transfer-encoding: chunked\r\n\r\n";
                        if client.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
                        // At most 1 GiB, far past the client's limit: it stops reading first.
                        for _ in 0..16_384 {
                            if client.write_all(chunk.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        return;
                    }
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    if server.write_all(&request).await.is_err() {
                        return;
                    }
                    let Some(answer) = read_message(&mut server).await else {
                        return;
                    };
                    let body_start = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    let half = body_start + (answer.len() - body_start) / 2;
                    match fault {
                        Fault::ResetMidBody => {
                            let _ = client.write_all(&answer[..half]).await;
                            let _ = client.flush().await;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            let _ = client.set_zero_linger();
                            return;
                        }
                        Fault::TruncateTheBody => {
                            let _ = client.write_all(&answer[..half]).await;
                            let _ = client.shutdown().await;
                            return;
                        }
                        Fault::Drip => {
                            for byte in &answer {
                                if client.write_all(std::slice::from_ref(byte)).await.is_err() {
                                    return;
                                }
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                        _ => {
                            if client.write_all(&answer).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (addr, connections)
}

/// A mock of the service answering every issue-token request, behind a proxy with `fault`.
async fn client_through(
    fault: Fault,
) -> (CommunicationIdentityClient, Arc<AtomicUsize>, MockServer) {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path_suffix("/:issueAccessToken");
            then.status(200)
                .header("content-type", "application/json; charset=utf-8")
                .body(token_body());
        })
        .await;
    let (addr, connections) = proxy(server.address().to_string(), fault).await;
    let client = CommunicationIdentityClient::from_connection_string(
        &format!("endpoint=http://{addr}/;accesskey={KEY}"),
        Some(fast_options()),
    )
    .unwrap();
    (client, connections, server)
}

fn within(deadline: Duration) -> Option<GetTokenOptions> {
    Some(GetTokenOptions::default().with_call(CallOptions::default().with_timeout(deadline)))
}

async fn get_token(
    client: &CommunicationIdentityClient,
    options: Option<GetTokenOptions>,
) -> acs_identity::Result<acs_identity::AccessToken> {
    client
        .get_token(
            &CommunicationUserIdentifier::new(USER),
            &[TokenScope::Chat],
            options,
        )
        .await
}

#[tokio::test]
async fn the_proxy_forwards_an_unspoiled_answer() {
    // The control: without a fault the call goes through the proxy and succeeds.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(200)
                .header("content-type", "application/json; charset=utf-8")
                .body(token_body());
        })
        .await;
    let (addr, connections) = proxy(server.address().to_string(), Fault::Forward).await;
    let client = CommunicationIdentityClient::from_connection_string(
        &format!("endpoint=http://{addr}/;accesskey={KEY}"),
        None,
    )
    .unwrap();
    let token = get_token(&client, within(Duration::from_secs(10))).await;
    assert!(token.is_ok(), "{token:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_reset_before_the_answer_is_retried_and_the_call_succeeds() {
    let (client, connections, _server) = client_through(Fault::ResetBeforeTheFirstAnswer).await;
    let token = get_token(&client, within(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(!token.token.secret().is_empty());
    assert_eq!(
        connections.load(Ordering::SeqCst),
        2,
        "one reset, one retry"
    );
}

#[tokio::test]
async fn a_reset_or_a_cut_mid_body_is_a_transport_error() {
    for fault in [Fault::ResetMidBody, Fault::TruncateTheBody] {
        let (client, _, _server) = client_through(fault).await;
        let started = Instant::now();
        let e = get_token(&client, within(Duration::from_secs(10)))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transport, "{fault:?}: {e}");
        assert!(
            e.to_string().contains("could not read the response body"),
            "{fault:?}: {e}"
        );
        assert!(e.request_id().is_some(), "{fault:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{fault:?}");
    }
}

#[tokio::test]
async fn a_stall_or_a_slow_drip_ends_at_the_calls_deadline() {
    for fault in [Fault::Stall, Fault::Drip] {
        let (client, _, _server) = client_through(fault).await;
        let started = Instant::now();
        let e = get_token(&client, within(Duration::from_millis(700)))
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert_eq!(e.kind(), ErrorKind::Transport, "{fault:?}: {e}");
        assert!(
            e.to_string().contains("deadline of 700ms"),
            "{fault:?}: {e}"
        );
        assert!(took >= Duration::from_millis(700), "{fault:?}: {took:?}");
        assert!(took < Duration::from_secs(3), "{fault:?}: {took:?}");
    }
}

#[tokio::test]
async fn an_endless_body_stops_at_the_limit() {
    let (client, _, _server) = client_through(Fault::EndlessBody).await;
    let before = rss_kib();
    let started = Instant::now();
    let e = get_token(&client, within(Duration::from_secs(30)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert!(
        e.to_string().contains(&format!(
            "longer than the {MAX_RESPONSE_BODY} bytes this client reads"
        )),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // Read and dropped, nowhere near the 1 GiB the proxy would send.
    let grown = rss_kib().saturating_sub(before);
    assert!(grown < 64 * 1024, "RSS grew by {grown} KiB");
}
