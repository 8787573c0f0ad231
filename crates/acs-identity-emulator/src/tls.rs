//! Optional TLS: a local certificate authority and a server certificate for `localhost`,
//! `127.0.0.1` and `::1`, made on first start and kept in the data directory. Clients trust the
//! CA certificate (written to `<data dir>/tls-ca-cert.pem`).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::errors::EmulatorError;
use crate::store::TlsMaterial;

/// File name of the CA certificate clients should trust.
pub const CA_CERT_FILE: &str = "tls-ca-cert.pem";

fn crypto(e: impl std::fmt::Display) -> EmulatorError {
    EmulatorError::Crypto(format!("TLS certificate: {e}"))
}

/// Makes a new CA and a server certificate signed by it.
pub(crate) fn generate() -> Result<TlsMaterial, EmulatorError> {
    let ca_key = KeyPair::generate().map_err(crypto)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(crypto)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ACS Identity emulator local CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(crypto)?;
    let ca_cert_pem = ca_cert.pem();
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().map_err(crypto)?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])
    .map_err(crypto)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "ACS Identity emulator");
    let cert = params.signed_by(&key, &issuer).map_err(crypto)?;
    Ok(TlsMaterial {
        ca_cert_pem,
        ca_key_pem,
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
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

    #[test]
    fn generated_material_loads() {
        let m = generate().unwrap();
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
