//! HTTPS with the generated certificate: a client trusting the emulator's CA gets through.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use acs_identity_emulator::{Emulator, EmulatorHandle};
use common::Client;
use reqwest::Method;

/// An emulator serving HTTPS from the data directory `dir`, on a free port.
async fn start_tls_in(dir: &Path) -> EmulatorHandle {
    Emulator::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .data_dir(dir)
        .tls(true)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn https_with_the_generated_ca_works_and_the_certificate_persists() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_tls_in(dir.path()).await;
    assert_eq!(emu.endpoint().scheme(), "https");
    assert!(
        emu.connection_string()
            .starts_with("endpoint=https://127.0.0.1:")
    );
    let pem = emu.certificate_pem().unwrap().to_owned();
    let path = emu.certificate_path().unwrap().to_owned();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), pem);

    let mut c = Client::new(&emu);
    c.http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let a = c
        .send(
            Method::POST,
            "/identities?api-version=2023-10-01",
            Some(r#"{"createTokenWithScopes":["chat"]}"#),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 201, "{}", a.body);
    let token = a.body["accessToken"]["token"].as_str().unwrap().to_owned();
    assert_eq!(c.validate(&token).await["valid"], true);

    // A client that does not trust the CA is refused at the TLS layer.
    let untrusting = reqwest::Client::new();
    assert!(
        untrusting
            .get(emu.endpoint().join("emulator/health").unwrap())
            .send()
            .await
            .is_err()
    );
    emu.shutdown().await;

    // Same certificate after a restart.
    let again = start_tls_in(dir.path()).await;
    assert_eq!(again.certificate_pem(), Some(pem.as_str()));
    again.shutdown().await;
}

#[tokio::test]
async fn in_memory_tls_has_a_certificate_but_no_file() {
    let emu = common::builder().tls(true).start().await.unwrap();
    assert!(emu.certificate_pem().is_some());
    assert!(emu.certificate_path().is_none());
    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(emu.certificate_pem().unwrap().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let r = http
        .get(emu.endpoint().join("emulator/health").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn http2_requests_sign_over_the_authority() {
    // Over HTTP/2 there is no Host header; the emulator uses :authority, as clients sign it.
    let emu = common::start().await;
    let mut c = Client::new(&emu);
    c.http = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = c.signed(Method::POST, "/identities?api-version=2023-10-01", None);
    let resp = c.http.execute(r).await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 201);
    emu.shutdown().await;
}
