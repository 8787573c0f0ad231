//! Random bytes on the wire (request lines, headers, bodies, chunked encodings, truncations):
//! whatever comes back is never a 5xx, and the emulator keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn request_bytes() -> impl Strategy<Value = Vec<u8>> {
    let method = prop_oneof![
        Just(b"POST".to_vec()),
        Just(b"DELETE".to_vec()),
        Just(b"GET".to_vec()),
        Just(b"PUT".to_vec()),
        Just(b"PATCH".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
    ];
    let target = prop_oneof![
        Just(b"/identities?api-version=2023-10-01".to_vec()),
        Just(b"/identities/8%3Aacs%3Ax/:issueAccessToken?api-version=2023-10-01".to_vec()),
        Just(b"/teamsUser/:exchangeAccessToken?api-version=2023-10-01".to_vec()),
        Just(b"/identities/8%3Aacs%3Ax?api-version=2025-03-02-preview".to_vec()),
        Just(b"/access/teamsExtension/tenants/c70d068c-2f32-484d-9455-73070cd5aadd/assignments/b27b64b9-39d2-44a3-869d-67700b74e805?api-version=2025-06-30".to_vec()),
        Just(b"/access/teamsExtension/:exchangeAccessToken?api-version=2025-06-30".to_vec()),
        Just(b"/access/entra/assignments?api-version=2025-03-02-preview".to_vec()),
        Just(b"/access/entra/assignments/%ZZ?api-version=2025-03-02-preview".to_vec()),
        Just(b"/access/entra/:exchangeAccessToken?api-version=2025-03-02-preview".to_vec()),
        Just(b"/emulator/tokens:validate".to_vec()),
        Just(b"http://127.0.0.1/identities?api-version=2023-10-01".to_vec()),
        Just(b"*".to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
    ];
    let header = prop_oneof![
        Just(b"Host: 127.0.0.1\r\n".to_vec()),
        Just(b"Content-Length: 5\r\n".to_vec()),
        Just(b"Content-Length: 999999999\r\n".to_vec()),
        Just(b"Content-Length: -1\r\n".to_vec()),
        Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
        Just(b"Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=\xff\r\n".to_vec()),
        Just(b"x-ms-date: Thu, 26 Nov 2026 15:51:52 GMT\r\n".to_vec()),
        Just(b"Authorization: Bearer e30.e30.\r\n".to_vec()),
        Just(b"Authorization: Bearer \xff.\r\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..30).prop_map(|mut v| {
            v.extend_from_slice(b"\r\n");
            v
        }),
    ];
    let body = prop_oneof![
        Just(Vec::new()),
        Just(b"{\"token\":\"x\"}".to_vec()),
        Just(b"{\"principalType\":\"user\",\"clientIds\":[1]}".to_vec()),
        Just(b"{\"x\":null}".to_vec()),
        Just(b"5\r\nhello\r\n0\r\n\r\n".to_vec()),
        Just(b"zz\r\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..100),
    ];
    (method, target, prop::collection::vec(header, 0..4), body).prop_map(|(m, t, hs, b)| {
        let mut out = m;
        out.push(b' ');
        out.extend(t);
        out.extend_from_slice(b" HTTP/1.1\r\n");
        for h in hs {
            out.extend(h);
        }
        out.extend_from_slice(b"Connection: close\r\n\r\n");
        out.extend(b);
        out
    })
}

#[test]
fn random_wire_bytes_never_get_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(common::start());
    let addr = emu.local_addr();
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&request_bytes(), |bytes| {
            let response = rt.block_on(async {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                let _ = s.write_all(&bytes).await;
                let _ = s.shutdown().await;
                let mut out = Vec::new();
                // A bounded wait: a request the server is still waiting to complete simply times out.
                let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut out)).await;
                out
            });
            if let Some(status) = response
                .strip_prefix(b"HTTP/1.1 ")
                .and_then(|r| r.get(..3))
                .and_then(|s| std::str::from_utf8(s).ok())
                .and_then(|s| s.parse::<u16>().ok())
            {
                prop_assert!(
                    status < 500,
                    "{status} for {:?}",
                    String::from_utf8_lossy(&bytes)
                );
            }
            Ok(())
        })
        .unwrap();
    // Still healthy.
    let ok = rt.block_on(async {
        reqwest::get(emu.endpoint().join("emulator/health").unwrap())
            .await
            .unwrap()
            .status()
    });
    assert_eq!(ok, 200);
    rt.block_on(emu.shutdown());
}
