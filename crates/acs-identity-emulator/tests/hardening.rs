//! What an attack on the emulator found, kept found: DNS rebinding (foreign `Host`), repeated
//! security headers, slow and idle connections, cross-site requests from web pages (slow-header
//! sockets by the hundred: `binary.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use acs_identity_emulator::ConnectionLimits;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Sends `request` on a new connection and reads until the server closes it (or 10 s pass).
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn status(response: &str) -> u16 {
    response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

fn health_with_host(host: &str) -> Vec<u8> {
    format!("GET /emulator/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
        .into_bytes()
}

#[tokio::test]
async fn a_foreign_host_is_refused_with_403_saying_why() {
    let emu = common::builder()
        .allow_host("emulator.internal")
        .start()
        .await
        .unwrap();
    let addr = emu.local_addr();
    let refused = exchange(addr, &health_with_host("rebind.evil.example:8642")).await;
    assert_eq!(status(&refused), 403, "{refused}");
    assert!(refused.contains("\"code\":\"HostNotAllowed\""), "{refused}");
    assert!(refused.contains("DNS rebinding"), "{refused}");
    assert!(
        refused.contains("--allow-host rebind.evil.example"),
        "{refused}"
    );
    // An unsigned bearer token used to be enough to create users from such a page.
    let create = exchange(
        addr,
        b"POST /identities?api-version=2023-10-01 HTTP/1.1\r\nHost: rebind.evil.example\r\n\
          Authorization: Bearer x.y.z\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status(&create), 403, "{create}");

    for host in [
        format!("127.0.0.1:{}", addr.port()),
        "localhost".to_owned(),
        "[::1]:1".to_owned(),
        "emulator.internal:8642".to_owned(),
    ] {
        let ok = exchange(addr, &health_with_host(&host)).await;
        assert_eq!(status(&ok), 200, "{host}: {ok}");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn repeated_security_headers_are_400() {
    let emu = common::start().await;
    let addr = emu.local_addr();
    for (name, value) in [
        ("Host", "127.0.0.1"),
        ("Authorization", "HMAC-SHA256 SignedHeaders=x&Signature=y"),
        ("x-ms-date", "Thu, 26 Nov 2026 15:51:52 GMT"),
        (
            "x-ms-content-sha256",
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        ),
    ] {
        let request = format!(
            "POST /identities?api-version=2023-10-01 HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Authorization: HMAC-SHA256 SignedHeaders=a&Signature=b\r\n\
             x-ms-date: Thu, 26 Nov 2026 15:51:52 GMT\r\n\
             x-ms-content-sha256: 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\r\n\
             {name}: {value}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let answer = exchange(addr, request.as_bytes()).await;
        assert_eq!(status(&answer), 400, "{name}: {answer}");
        assert!(
            answer.contains(&format!("more than one `{}`", name.to_ascii_lowercase())),
            "{answer}"
        );
    }
    emu.shutdown().await;
}

fn short_limits() -> ConnectionLimits {
    ConnectionLimits::default()
        .with_header_timeout(Duration::from_millis(500))
        .with_request_timeout(Duration::from_millis(800))
        .with_idle_timeout(Duration::from_secs(1))
}

/// Reads from `s` until it is closed; how long that took, or `None` after `limit`.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<(Duration, Vec<u8>)> {
    let started = Instant::now();
    let mut out = Vec::new();
    tokio::time::timeout(limit, s.read_to_end(&mut out))
        .await
        .ok()
        .map(|_| (started.elapsed(), out))
}

#[tokio::test]
async fn idle_slow_header_and_slow_body_connections_are_closed() {
    let emu = common::builder()
        .connection_limits(short_limits())
        .start()
        .await
        .unwrap();
    let addr = emu.local_addr();

    // Nothing at all.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(5))
            .await
            .is_some(),
        "an idle connection stayed open"
    );

    // Headers one byte at a time, every 100 ms: never complete within the header timeout.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let dripper = tokio::spawn(async move {
        for b in b"GET /emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*b]).await.is_err() {
                return Some(slow);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = slow.write_all(b"\r\n\r\n").await;
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(1), slow.read_to_end(&mut out))
            .await
            .ok()
            .map(|_| slow)
    });
    let outcome = tokio::time::timeout(Duration::from_secs(15), dripper)
        .await
        .unwrap()
        .unwrap();
    assert!(
        outcome.is_some(),
        "slow headers were served to the end instead of being cut"
    );

    // A body announced as 100 bytes, 10 sent, then nothing: 408 once the request timeout passes.
    let mut body = TcpStream::connect(addr).await.unwrap();
    body.write_all(
        b"POST /emulator/tokens:validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n0123456789",
    )
    .await
    .unwrap();
    let (_, answer) = closed_within(&mut body, Duration::from_secs(5))
        .await
        .expect("a stalled body kept its connection");
    let answer = String::from_utf8_lossy(&answer);
    assert_eq!(status(&answer), 408, "{answer}");
    assert!(answer.contains("RequestTimeout"), "{answer}");

    // The emulator still answers.
    let ok = exchange(addr, &health_with_host("127.0.0.1")).await;
    assert_eq!(status(&ok), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_web_page_cannot_reset_or_add_faults() {
    let emu = common::start().await;
    let addr = emu.local_addr();
    let c = common::Client::new(&emu);
    assert_eq!(c.create(None).await.unwrap().status, 201);
    // What a page's fetch() or form sends to loopback without a preflight.
    for (path, extra) in [
        (
            "/emulator/reset",
            "Origin: https://evil.example\r\nContent-Type: text/plain\r\n",
        ),
        (
            "/emulator/reset",
            "Sec-Fetch-Site: cross-site\r\nContent-Type: application/json\r\n",
        ),
        (
            "/emulator/controls",
            "Origin: null\r\nContent-Type: text/plain\r\n",
        ),
        (
            "/emulator/reset",
            "Content-Type: application/x-www-form-urlencoded\r\n",
        ),
        ("/emulator/controls", "Content-Type: text/plain\r\n"),
    ] {
        let body = r#"{"faults":[{"status":503}]}"#;
        let method = if path.ends_with("controls") {
            "PUT"
        } else {
            "POST"
        };
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Content-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let answer = exchange(addr, request.as_bytes()).await;
        let code = status(&answer);
        assert!(code == 403 || code == 415, "{path} {extra:?}: {answer}");
    }
    assert_eq!(emu.identities(false).len(), 1, "the identity was wiped");
    assert!(emu.controls().faults.is_empty(), "a fault rule was added");
    // The same calls as a test client sends them are served.
    let reset = exchange(
        addr,
        b"POST /emulator/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
          Content-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status(&reset), 204, "{reset}");
    assert!(emu.identities(false).is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn an_unfinished_head_holds_at_most_16_kib_and_65_headers_are_refused() {
    let emu = common::start().await;
    let addr = emu.local_addr();
    // 64 KiB of one header, never finished: refused (431) and closed, not buffered while it grows.
    let mut big = TcpStream::connect(addr).await.unwrap();
    big.write_all(b"GET /emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        .await
        .unwrap();
    let _ = big.write_all(&[b'a'; 64 * 1024]).await;
    let (_, answer) = closed_within(&mut big, Duration::from_secs(5))
        .await
        .expect("an unfinished 64 KiB head kept its connection");
    // The answer may be lost to the reset of a socket closed with unread bytes; closing is the point.
    let answer = String::from_utf8_lossy(&answer);
    if !answer.is_empty() {
        assert_eq!(status(&answer), 431, "{answer}");
    }
    // 65 header fields: 431 as well.
    let mut many = String::from("GET /emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for i in 0..64 {
        many.push_str(&format!("X-H{i}: 1\r\n"));
    }
    many.push_str("Connection: close\r\n\r\n");
    let answer = exchange(addr, many.as_bytes()).await;
    assert_eq!(status(&answer), 431, "{answer}");
    emu.shutdown().await;
}
