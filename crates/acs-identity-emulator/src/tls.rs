//! Optional TLS: a local certificate authority and a server certificate for `localhost`,
//! `127.0.0.1` and `::1`, made on first start and kept in the data directory. Clients trust the
//! CA certificate (written to `<data dir>/tls-ca-cert.pem`).
//!
//! Users are told to trust that CA, so it can vouch for nothing else: its name constraints
//! permit only `localhost`, 127.0.0.0/8 and `::1`, it signs no further CA (path length 0), and it
//! is valid for [`VALIDITY`] (3 years); a new one is made when fewer than [`RENEW_BEFORE`] remain.

use std::sync::Arc;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, GeneralSubtree, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, NameConstraints,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::errors::EmulatorError;
use crate::store::TlsMaterial;

/// File name of the CA certificate clients should trust.
pub const CA_CERT_FILE: &str = "tls-ca-cert.pem";

fn crypto(e: impl std::fmt::Display) -> EmulatorError {
    EmulatorError::Crypto(format!("TLS certificate: {e}"))
}

/// How long the CA and the server certificate are valid.
pub const VALIDITY: Duration = Duration::from_secs(3 * 365 * 24 * 3600);
/// A stored CA with less than this left is replaced on start.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The names the server certificate carries, and the only ones the CA may vouch for.
const SERVED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Whether stored material (valid until `not_after`, Unix seconds) can still be used.
pub(crate) fn still_usable(not_after: u64, now: SystemTime) -> bool {
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    (now + RENEW_BEFORE).as_secs() < not_after
}

/// Makes a new CA and a server certificate signed by it, valid from a day before `now` for
/// [`VALIDITY`].
pub(crate) fn generate(now: SystemTime) -> Result<TlsMaterial, EmulatorError> {
    let not_before = time::OffsetDateTime::from(now - Duration::from_secs(24 * 3600));
    let not_after_time = now + VALIDITY;
    let not_after = time::OffsetDateTime::from(not_after_time);

    let ca_key = KeyPair::generate().map_err(crypto)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(crypto)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ACS Identity emulator local CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".to_owned()),
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
                8,
            )),
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                128,
            )),
        ],
        excluded_subtrees: Vec::new(),
    });
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(crypto)?;
    let ca_cert_pem = ca_cert.pem();
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().map_err(crypto)?;
    let mut params =
        CertificateParams::new(SERVED_NAMES.map(str::to_owned).to_vec()).map_err(crypto)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "ACS Identity emulator");
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.signed_by(&key, &issuer).map_err(crypto)?;
    Ok(TlsMaterial {
        ca_cert_pem,
        ca_key_pem,
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        not_after: not_after_time
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    })
}

/// A rustls server configuration (HTTP/2 and HTTP/1.1 by ALPN) for `material`.
pub(crate) fn server_config(
    material: &TlsMaterial,
) -> Result<Arc<rustls::ServerConfig>, EmulatorError> {
    let key = PrivatePkcs8KeyDer::from_pem_slice(material.key_pem.as_bytes())
        .map_err(|_| crypto("the stored server key is not a PKCS#8 PEM"))?;
    let certs = CertificateDer::pem_slice_iter(material.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .filter(|certs| !certs.is_empty())
        .ok_or_else(|| crypto("the stored server certificate is not a PEM"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(crypto)?
        .with_no_client_auth()
        .with_single_cert(certs, PrivateKeyDer::Pkcs8(key))
        .map_err(crypto)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    use rustls::client::danger::ServerCertVerifier as _;
    use rustls::pki_types::{ServerName, UnixTime};

    /// Whether a client trusting only the CA of `m` accepts `leaf_pem` for `name` at `at`.
    fn verify(m: &TlsMaterial, leaf_pem: &str, name: &str, at: SystemTime) -> Result<(), String> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(m.ca_cert_pem.as_bytes()).unwrap())
            .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        let leaf = CertificateDer::from_pem_slice(leaf_pem.as_bytes()).unwrap();
        let name = ServerName::try_from(name.to_owned()).unwrap();
        let at = UnixTime::since_unix_epoch(at.duration_since(SystemTime::UNIX_EPOCH).unwrap());
        verifier
            .verify_server_cert(&leaf, &[], &name, &[], at)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// A certificate for `name` signed with the CA key of `m` (what a thief of the key could make).
    fn forged(m: &TlsMaterial, name: &str) -> String {
        let ca_key = KeyPair::from_pem(&m.ca_key_pem).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ACS Identity emulator local CA");
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap()
            .pem()
    }

    #[test]
    fn the_ca_vouches_only_for_the_served_names_and_for_three_years() {
        let now = SystemTime::now();
        let m = generate(now).unwrap();
        for name in SERVED_NAMES {
            verify(&m, &m.cert_pem, name, now).unwrap();
        }
        let expired = verify(&m, &m.cert_pem, "localhost", now + VALIDITY + RENEW_BEFORE);
        assert!(expired.is_err_and(|e| e.contains("xpired")));
        // The key of the CA (kept in the data directory) signs nothing a browser would take
        // for another site.
        for name in ["evil.example", "10.0.0.1", "localhost.evil.example"] {
            let refused = verify(&m, &forged(&m, name), name, now);
            assert!(refused.is_err(), "{name} was trusted");
        }
        verify(&m, &forged(&m, "localhost"), "localhost", now).unwrap();
    }

    #[test]
    fn stored_material_is_renewed_before_it_expires_or_when_unconstrained() {
        let now = SystemTime::now();
        let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        assert!(still_usable(secs(now + VALIDITY), now));
        assert!(!still_usable(secs(now + RENEW_BEFORE / 2), now));
    }

    #[test]
    fn generated_material_loads() {
        let m = generate(SystemTime::now()).unwrap();
        assert!(m.ca_cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(
            CertificateDer::pem_slice_iter(m.cert_pem.as_bytes()).count(),
            1
        );
        assert!(PrivatePkcs8KeyDer::from_pem_slice(m.key_pem.as_bytes()).is_ok());
        server_config(&m).unwrap();
        let broken = TlsMaterial {
            key_pem: "nope".into(),
            ..m.clone()
        };
        assert!(server_config(&broken).is_err());
        let broken = TlsMaterial {
            cert_pem: "nope".into(),
            ..m
        };
        assert!(server_config(&broken).is_err());
    }
}
