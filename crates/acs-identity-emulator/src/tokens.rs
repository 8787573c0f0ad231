//! ACS access tokens: RS256 JWTs signed with the emulator's RSA key, their validation, and the
//! public key as a JWKS.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::macros::format_description;

use crate::errors::EmulatorError;

/// `scp` claim of ACS user tokens.
pub(crate) const SCP_ACS_USER: u32 = 1792;
/// `scp` claim the emulator gives Teams user tokens (emulator's choice).
pub(crate) const SCP_TEAMS_USER: u32 = 1024;

/// The claims of a token the emulator issues: `S` is `String` for a decoded token, `&str` for one
/// being signed (borrowing what the request already holds; the payload bytes are the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccessTokenClaims<S = String> {
    /// The identity without its `8:` prefix, e.g. `acs:<resource>_<suffix>`.
    pub(crate) skypeid: S,
    pub(crate) scp: u32,
    /// Issue time in seconds, as a string.
    pub(crate) csi: S,
    pub(crate) exp: i64,
    #[serde(rename = "acsScope")]
    pub(crate) acs_scope: S,
    #[serde(rename = "resourceId")]
    pub(crate) resource_id: S,
    pub(crate) iat: i64,
    /// Emulator only: the token's issue stamp (16 hex digits); revocation compares it.
    pub(crate) jti: S,
}

/// The base64url decoder used for JWT parts: padding optional.
pub(crate) const B64URL_LENIENT: base64::engine::GeneralPurpose =
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );

/// The public signing key as a JSON Web Key Set (`GET /emulator/jwks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys (one: the emulator's RS256 key).
    pub keys: Vec<Jwk>,
}

/// One RSA public key of a [`Jwks`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `RSA`.
    pub kty: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// `RS256`.
    pub alg: String,
    /// The key id, equal to the `kid` header of every token the emulator signs.
    pub kid: String,
    /// The key's thumbprint, equal to the `x5t` header of tokens.
    pub x5t: String,
    /// Modulus, base64url.
    pub n: String,
    /// Public exponent, base64url.
    pub e: String,
}

/// The emulator's RS256 signing key.
///
/// Tokens are signed with ring, which blinds the RSA operation with the operating system's RNG:
/// aws-lc's RNG seeds itself from CPU jitter on its first use in a process (about 30 ms of CPU,
/// measured with `perf`), which the first token of every run waited for. aws-lc reads the key
/// (its public half, the `kid`) and verifies tokens, which needs no randomness.
pub(crate) struct TokenSigner {
    key: ring::signature::RsaKeyPair,
    public_key_der: Vec<u8>,
    header_b64: String,
    /// The public key; its `kid` is the `kid` of every token header.
    jwk: Jwk,
}

/// A fresh RSA-2048 key as PKCS#8 DER.
pub(crate) fn generate_signing_key() -> Result<Vec<u8>, EmulatorError> {
    use aws_lc_rs::encoding::AsDer as _;
    let key = RsaKeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| EmulatorError::Crypto("RSA key generation failed".into()))?;
    let der = key
        .as_der()
        .map_err(|_| EmulatorError::Crypto("RSA key encoding failed".into()))?;
    Ok(der.as_ref().to_vec())
}

/// Why a token is not valid (the `reason` of `POST /emulator/tokens:validate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Malformed,
    UnknownSigningKey,
    BadSignature,
}

impl TokenSigner {
    /// Loads the key from PKCS#8 DER.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Self, EmulatorError> {
        let invalid =
            || EmulatorError::Crypto("the stored RSA signing key is not valid PKCS#8".into());
        let key = RsaKeyPair::from_pkcs8(der).map_err(|_| invalid())?;
        let public_key_der = key.public_key().as_ref().to_vec();
        let thumb = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            &public_key_der,
        );
        let kid: String = thumb.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        let x5t = URL_SAFE_NO_PAD.encode(thumb.as_ref());
        let components: PublicKeyComponents<Vec<u8>> = key.public_key().into();
        let header = serde_json::json!({"alg": "RS256", "kid": kid, "x5t": x5t, "typ": "JWT"});
        let header_b64 = URL_SAFE_NO_PAD.encode(header.to_string());
        let jwk = Jwk {
            kty: "RSA".into(),
            use_: "sig".into(),
            alg: "RS256".into(),
            kid,
            x5t,
            n: URL_SAFE_NO_PAD.encode(strip_leading_zeros(&components.n)),
            e: URL_SAFE_NO_PAD.encode(strip_leading_zeros(&components.e)),
        };
        Ok(Self {
            key: ring::signature::RsaKeyPair::from_pkcs8(der).map_err(|_| invalid())?,
            public_key_der,
            header_b64,
            jwk,
        })
    }

    /// The public key set.
    pub(crate) fn jwks(&self) -> Jwks {
        Jwks {
            keys: vec![self.jwk.clone()],
        }
    }

    /// Signs `claims` into a compact JWT.
    pub(crate) fn sign(&self, claims: &impl Serialize) -> Result<String, EmulatorError> {
        let payload = serde_json::to_vec(claims)
            .map_err(|e| EmulatorError::Crypto(format!("claims encoding failed: {e}")))?;
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 350);
        token.push_str(&self.header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|_| EmulatorError::Crypto("RS256 signing failed".into()))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    /// Checks the structure, `kid` and signature of `token` and returns its claims. The parts
    /// must be canonical unpadded base64url, as issued: a signature with `==` appended (same
    /// bytes, other text) is not the token that was signed.
    pub(crate) fn verify(&self, token: &str) -> Result<AccessTokenClaims, TokenProblem> {
        // `header.payload` is what was signed.
        let (signed, s) = token
            .trim()
            .rsplit_once('.')
            .ok_or(TokenProblem::Malformed)?;
        let (h, p) = signed
            .split_once('.')
            .filter(|(_, p)| !p.contains('.'))
            .ok_or(TokenProblem::Malformed)?;
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenProblem::Malformed)?;
        if header.get("alg").and_then(|v| v.as_str()) != Some("RS256")
            || header.get("kid").and_then(|v| v.as_str()) != Some(self.jwk.kid.as_str())
        {
            return Err(TokenProblem::UnknownSigningKey);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| TokenProblem::Malformed)?;
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.public_key_der)
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| TokenProblem::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|_| TokenProblem::Malformed)?;
        serde_json::from_slice(&payload).map_err(|_| TokenProblem::Malformed)
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    &bytes[first..]
}

/// Nanoseconds since the Unix epoch (0 for times before it).
pub(crate) fn unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// Formats a time like the service formats `expiresOn`: RFC 3339 with 7 fractional digits and
/// `+00:00`, e.g. `2022-08-26T20:03:35.4402106+00:00`. `None` when out of range.
pub(crate) fn format_expires_on(unix_nanos: i128) -> Option<String> {
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]+00:00"
    );
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(unix_nanos).ok()?;
    (0..=9999)
        .contains(&t.year())
        .then(|| t.format(format).ok())?
}

/// A time in whole seconds as the service writes `lastTokenIssuedAt`:
/// `2025-04-14T15:32:27+00:00` (no fractional digits).
pub(crate) fn format_seconds(unix_seconds: i64) -> Option<String> {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00");
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds).ok()?;
    (0..=9999)
        .contains(&t.year())
        .then(|| t.format(format).ok())?
}

/// A stamp as the `jti` claim.
pub(crate) fn stamp_to_jti(stamp: u64) -> String {
    format!("{stamp:016x}")
}

/// The stamp of a `jti` claim made by [`stamp_to_jti`].
pub(crate) fn jti_to_stamp(jti: &str) -> Option<u64> {
    if jti.len() != 16 {
        return None;
    }
    u64::from_str_radix(jti, 16).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_development_signing_key_loads() {
        let signer = TokenSigner::from_pkcs8(crate::config::DEVELOPMENT_SIGNING_KEY).unwrap();
        assert_eq!(signer.jwks().keys.len(), 1);
    }

    use super::*;

    fn signer() -> TokenSigner {
        TokenSigner::from_pkcs8(&generate_signing_key().unwrap()).unwrap()
    }

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            skypeid: "acs:r_s".into(),
            scp: SCP_ACS_USER,
            csi: "1700000000".into(),
            exp: 1_700_086_400,
            acs_scope: "chat,voip".into(),
            resource_id: "r".into(),
            iat: 1_700_000_000,
            jti: stamp_to_jti(42),
        }
    }

    #[test]
    fn expires_on_has_seven_fraction_digits() {
        assert_eq!(
            format_expires_on(1_661_544_215_440_210_600).as_deref(),
            Some("2022-08-26T20:03:35.4402106+00:00")
        );
        assert_eq!(
            format_expires_on(0).as_deref(),
            Some("1970-01-01T00:00:00.0000000+00:00")
        );
        assert_eq!(format_expires_on(i128::MAX), None);
    }

    #[test]
    fn borrowed_claims_encode_like_owned_ones() {
        let c = claims();
        let r = AccessTokenClaims::<&str> {
            skypeid: &c.skypeid,
            scp: c.scp,
            csi: &c.csi,
            exp: c.exp,
            acs_scope: &c.acs_scope,
            resource_id: &c.resource_id,
            iat: c.iat,
            jti: &c.jti,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            serde_json::to_string(&c).unwrap()
        );
        let s = signer();
        assert_eq!(s.verify(&s.sign(&r).unwrap()), Ok(c));
    }

    #[test]
    fn jti_round_trips() {
        for s in [0u64, 1, 42, u64::MAX] {
            assert_eq!(jti_to_stamp(&stamp_to_jti(s)), Some(s));
        }
        assert_eq!(jti_to_stamp("12"), None);
        assert_eq!(jti_to_stamp("zzzzzzzzzzzzzzzz"), None);
    }

    #[test]
    fn signs_verifiable_rs256_with_header_fields() {
        let s = signer();
        let token = s.sign(&claims()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], s.jwks().keys[0].kid);
        assert_eq!(header["x5t"], s.jwks().keys[0].x5t);
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 256);
        assert_eq!(s.verify(&token), Ok(claims()));
        let payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(payload["acsScope"], "chat,voip");
        assert_eq!(payload["scp"], 1792);
        assert_eq!(payload["resourceId"], "r");
    }

    #[test]
    fn rejects_tampering_and_foreign_keys() {
        let s = signer();
        let token = s.sign(&claims()).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut other = claims();
        other.exp += 1;
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
        assert_eq!(s.verify(&parts.join(".")), Err(TokenProblem::BadSignature));
        assert_eq!(
            signer().verify(&token),
            Err(TokenProblem::UnknownSigningKey)
        );
        assert_eq!(s.verify("a.b"), Err(TokenProblem::Malformed));
        assert_eq!(s.verify(""), Err(TokenProblem::Malformed));
        assert_eq!(s.verify("!!.??.**"), Err(TokenProblem::Malformed));
        assert_eq!(
            s.verify(&format!("{token}==")),
            Err(TokenProblem::Malformed)
        );
        assert_eq!(s.verify(&format!("{token}=")), Err(TokenProblem::Malformed));
        let padded_header = token.replacen('.', "=.", 1);
        assert_eq!(s.verify(&padded_header), Err(TokenProblem::Malformed));
        assert!(s.verify(&token).is_ok());
    }

    #[test]
    fn jwk_modulus_is_2048_bits() {
        let jwk = &signer().jwks().keys[0];
        assert_eq!(URL_SAFE_NO_PAD.decode(&jwk.n).unwrap().len(), 256);
        assert_eq!(jwk.e, "AQAB");
        assert_eq!(jwk.kid.len(), 40);
    }
}
