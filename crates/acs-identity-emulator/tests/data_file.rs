//! The database file under attack: corrupt pages, an emptied file, loose permissions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use acs_identity_emulator::EmulatorError;
use common::Client;
use reqwest::Method;

/// A data directory holding a database with a few users, the emulator stopped.
async fn populated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let emu = common::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    let c = Client::new(&emu);
    for _ in 0..30 {
        let r = c
            .http
            .execute(c.signed(Method::POST, "/identities?api-version=2023-10-01", None))
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    emu.shutdown().await;
    dir
}

#[tokio::test]
async fn a_corrupt_database_is_refused_by_name_untouched_and_never_panics() {
    let dir = populated().await;
    let path = dir.path().join("emulator.redb");
    let good = std::fs::read(&path).unwrap();
    let mut corrupt_reports = 0;
    // 64 flipped bytes at offsets all over the file: pages in use and free space alike.
    for offset in (0..good.len()).step_by(509) {
        let mut bad = good.clone();
        for b in &mut bad[offset..(offset + 64).min(good.len())] {
            *b ^= 0x5a;
        }
        std::fs::write(&path, &bad).unwrap();
        match common::builder().data_dir(dir.path()).start().await {
            // Free space, or a spot redb's crash recovery covers: a usable emulator that lost
            // none of the acknowledged users.
            Ok(emu) => {
                assert_eq!(
                    emu.identities(true).len(),
                    30,
                    "offset {offset}: started, but without every acknowledged user"
                );
                emu.shutdown().await
            }
            Err(e) => {
                let text = e.to_string();
                assert!(!text.contains("panicked"), "offset {offset}: {text}");
                assert!(
                    text.contains(&path.display().to_string()),
                    "offset {offset}: the error names no file: {text}"
                );
                assert_eq!(
                    std::fs::read(&path).unwrap(),
                    bad,
                    "offset {offset}: a refused file was written to ({text})"
                );
                if matches!(e, EmulatorError::CorruptDatabase { .. }) {
                    assert!(text.contains("nothing was written to it"), "{text}");
                    corrupt_reports += 1;
                }
            }
        }
    }
    assert!(corrupt_reports > 0, "no corruption was ever detected");
}

#[tokio::test]
async fn an_empty_database_is_refused_not_reinitialised() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emulator.redb");
    std::fs::write(&path, b"").unwrap();
    let e = common::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap_err();
    assert!(matches!(e, EmulatorError::EmptyDatabase { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("is empty (0 bytes)"), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    // A missing file is a new resource, as before.
    std::fs::remove_file(&path).unwrap();
    let emu = common::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    emu.shutdown().await;
    assert!(std::fs::metadata(&path).unwrap().len() > 0);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["emulator.redb"], "a temporary file was left behind");
}

#[tokio::test]
async fn two_starts_on_one_new_data_dir_never_corrupt_it() {
    for round in 0..12 {
        let dir = tempfile::tempdir().unwrap();
        let start = || {
            let path = dir.path().to_owned();
            tokio::spawn(async move { common::builder().data_dir(path).start().await })
        };
        let (a, b) = (start(), start());
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let mut served = 0;
        for outcome in [a, b] {
            match outcome {
                Ok(emu) => {
                    served += 1;
                    let c = Client::new(&emu);
                    assert_eq!(c.create(None).await.unwrap().status, 201, "round {round}");
                    emu.shutdown().await;
                }
                Err(e) => assert!(
                    e.to_string().contains("already open in another emulator"),
                    "round {round}: {e}"
                ),
            }
        }
        assert!(served >= 1, "round {round}: neither start served");
        // The database left is sound and holds what was acknowledged.
        let emu = common::builder()
            .data_dir(dir.path())
            .start()
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(emu.identities(false).len(), served, "round {round}");
        emu.shutdown().await;
    }
}

#[cfg(unix)]
#[tokio::test]
async fn links_planted_in_a_shared_data_dir_are_not_followed() {
    use std::os::unix::fs::{PermissionsExt as _, symlink};
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let victim = tempfile::tempdir().unwrap();
    let target = |name: &str| {
        let path = victim.path().join(name);
        std::fs::write(&path, b"the victim's file").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        path
    };
    // The names a start writes: the old fixed temporary name of a new database, and the CA file.
    let targets = [target("db-new"), target("ca")];
    symlink(&targets[0], dir.path().join("emulator.redb.new")).unwrap();
    symlink(&targets[1], dir.path().join("tls-ca-cert.pem")).unwrap();
    let emu = common::builder()
        .data_dir(dir.path())
        .tls(true)
        .start()
        .await
        .unwrap();
    emu.shutdown().await;
    for t in &targets {
        assert_eq!(
            std::fs::read(t).unwrap(),
            b"the victim's file",
            "{}",
            t.display()
        );
    }
    let cert = dir.path().join("tls-ca-cert.pem");
    let meta = std::fs::symlink_metadata(&cert).unwrap();
    assert!(
        meta.file_type().is_file(),
        "the planted link was written through"
    );
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let db = std::fs::symlink_metadata(dir.path().join("emulator.redb")).unwrap();
    assert!(db.file_type().is_file());
    assert_eq!(db.permissions().mode() & 0o777, 0o600);

    // A database that is a link is refused, its target untouched.
    let other = tempfile::tempdir().unwrap();
    let linked_db = target("db");
    std::fs::write(&linked_db, b"").unwrap();
    symlink(&linked_db, other.path().join("emulator.redb")).unwrap();
    let e = common::builder()
        .data_dir(other.path())
        .start()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
    assert_eq!(std::fs::read(&linked_db).unwrap(), b"");
    assert_eq!(
        std::fs::metadata(&linked_db).unwrap().permissions().mode() & 0o777,
        0o644
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_is_private_even_in_an_existing_readable_directory() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let emu = common::builder()
        .data_dir(dir.path())
        .tls(true)
        .start()
        .await
        .unwrap();
    emu.shutdown().await;
    let db = dir.path().join("emulator.redb");
    assert_eq!(mode(&db), 0o600);
    // A file left readable by an older version is made private on the next start.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let emu = common::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    emu.shutdown().await;
    assert_eq!(mode(&db), 0o600);
}
