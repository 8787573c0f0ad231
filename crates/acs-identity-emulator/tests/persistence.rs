//! State survives a restart on the same data directory; an in-use directory is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use acs_identity_emulator::{Emulator, EmulatorError};
use common::Client;
use reqwest::Method;

fn on(dir: &std::path::Path) -> acs_identity_emulator::EmulatorBuilder {
    Emulator::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .data_dir(dir)
}

#[tokio::test]
async fn identities_revocations_and_keys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = on(dir.path()).start().await.unwrap();
    assert!(dir.path().join("emulator.redb").exists());
    let c = Client::new(&first);
    let kept = c.create_id().await;
    let revoked_token = c.issue_token(&kept).await;
    assert_eq!(c.revoke(&kept).await.unwrap().status, 204);
    let valid_token = c.issue_token(&kept).await;
    let gone = c.create_id().await;
    let gone_token = c.issue_token(&gone).await;
    assert_eq!(c.delete(&gone).await.unwrap().status, 204);
    let key = first.access_key_base64().to_owned();
    let resource = first.resource_id().to_owned();
    let jwks = first.jwks();
    first.shutdown().await;

    let second = on(dir.path()).start().await.unwrap();
    assert_eq!(second.access_key_base64(), key, "generated key persisted");
    assert_eq!(
        second.resource_id(),
        resource,
        "generated resource id persisted"
    );
    assert_eq!(second.jwks(), jwks, "signing key persisted");
    assert!(
        second
            .connection_string()
            .ends_with(&format!(";accesskey={key}"))
    );
    let c = Client::new(&second);
    assert_eq!(c.validate(&revoked_token).await["reason"], "revoked");
    assert_eq!(c.validate(&valid_token).await["valid"], true);
    assert_eq!(c.validate(&gone_token).await["reason"], "identityDeleted");
    for (id, status) in [(&kept, 200), (&gone, 404)] {
        let answer = c.issue(id, r#"{"scopes":["chat"]}"#).await.unwrap();
        assert_eq!(answer.status, status, "{id}");
    }
    assert_eq!(c.delete(&gone).await.unwrap().status, 204);
    // A revocation after the restart still beats tokens issued before it.
    let after_restart = c.issue_token(&kept).await;
    assert_eq!(c.revoke(&kept).await.unwrap().status, 204);
    assert_eq!(c.validate(&after_restart).await["reason"], "revoked");
    assert_eq!(c.validate(&valid_token).await["reason"], "revoked");
    assert_eq!(second.health().identities, 2);
    second.shutdown().await;
}

#[tokio::test]
async fn a_new_access_key_rotates_and_invalidates_old_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let first = on(dir.path())
        .access_key(common::KEY)
        .start()
        .await
        .unwrap();
    let c = Client::new(&first);
    let id = c.create_id().await;
    let old = c.issue_token(&id).await;
    first.shutdown().await;

    let rotated = "bmV3a2V5bmV3a2V5bmV3a2V5bmV3a2V5bmV3a2V5";
    let second = on(dir.path()).access_key(rotated).start().await.unwrap();
    assert_eq!(second.access_key_base64(), rotated);
    let old_client = Client::with_key(&second, common::KEY);
    assert_eq!(
        old_client
            .send(Method::POST, "/identities?api-version=2023-10-01", None)
            .await
            .unwrap()
            .status,
        401
    );
    let c = Client::new(&second);
    assert_eq!(c.validate(&old).await["reason"], "accessKeyRotated");
    let fresh = c.issue_token(&id).await;
    assert_eq!(c.validate(&fresh).await["valid"], true);
    second.shutdown().await;

    // Restarting without a key keeps the rotated one; the fresh token stays valid.
    let third = on(dir.path()).start().await.unwrap();
    assert_eq!(third.access_key_base64(), rotated);
    assert!(third.validate_token(&fresh).valid);
    third.shutdown().await;
}

#[tokio::test]
async fn tokens_of_another_resource_id_are_not_owned_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = on(dir.path())
        .resource_id(common::RESOURCE)
        .start()
        .await
        .unwrap();
    let c = Client::new(&first);
    let id = c.create_id().await;
    let token = c.issue_token(&id).await;
    assert!(first.validate_token(&token).valid);
    first.shutdown().await;

    // Same signing key, another resource id: the token's identity is no longer this resource's.
    let second = on(dir.path())
        .resource_id(common::OTHER_RESOURCE)
        .start()
        .await
        .unwrap();
    let v = second.validate_token(&token);
    assert!(!v.valid);
    assert_eq!(v.reason.as_deref(), Some("identityNotOwned"));
    assert_eq!(v.identity.as_deref(), Some(id.as_str()));
    second.shutdown().await;

    // The same resource id written in upper case is the same resource (stored lower-case).
    let third = on(dir.path())
        .resource_id(common::RESOURCE.to_uppercase())
        .start()
        .await
        .unwrap();
    assert_eq!(third.resource_id(), common::RESOURCE);
    assert!(third.validate_token(&token).valid);
    third.shutdown().await;
}

#[tokio::test]
async fn a_directory_in_use_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let first = on(dir.path()).start().await.unwrap();
    let err = on(dir.path()).start().await.unwrap_err();
    assert!(matches!(err, EmulatorError::Storage(_)), "{err:?}");
    assert!(err.to_string().contains("already open"), "{err}");
    first.shutdown().await;
    // Released on shutdown.
    on(dir.path()).start().await.unwrap().shutdown().await;
}

#[tokio::test]
async fn bad_settings_are_refused_without_echoing_the_key() {
    let err = Emulator::builder()
        .in_memory()
        .access_key("not base64 !!secret")
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, EmulatorError::InvalidAccessKey(_)));
    assert!(!err.to_string().contains("secret"));
    let err = Emulator::builder()
        .in_memory()
        .resource_id("not-a-guid")
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, EmulatorError::InvalidResourceId));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = Emulator::builder()
        .in_memory()
        .listen(taken.local_addr().unwrap())
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, EmulatorError::Bind { .. }), "{err:?}");
}

#[tokio::test]
async fn in_memory_forgets_and_debug_hides_the_key() {
    let emu = Emulator::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .in_memory()
        .start()
        .await
        .unwrap();
    assert!(emu.data_dir().is_none());
    let key = emu.access_key_base64().to_owned();
    assert_eq!(base64_len(&key), 64);
    assert!(!format!("{emu:?}").contains(&key));
    let cs = acs_auth::ConnectionString::parse(&emu.connection_string()).unwrap();
    assert_eq!(cs.endpoint().as_str(), emu.endpoint().as_str());
    emu.shutdown().await;
}

fn base64_len(key: &str) -> usize {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .unwrap()
        .len()
}
