use std::fmt;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Standard base64 alphabet; padding optional on input (keys copied without `=` still work).
const KEY_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a text is not a usable access key. Never contains the text itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessKeyError {
    /// The key text is empty (or only whitespace).
    Empty,
    /// The key text is not valid base64.
    NotBase64,
}

impl fmt::Display for AccessKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessKeyError::Empty => f.write_str(
                "the access key is empty; copy a key from the resource's \"Keys\" page in the Azure portal",
            ),
            AccessKeyError::NotBase64 => f.write_str(
                "the access key is not valid base64; copy it exactly as the Azure portal shows it",
            ),
        }
    }
}

impl std::error::Error for AccessKeyError {}

/// An ACS access key: the secret behind HMAC-SHA256 request signing.
///
/// Built from the base64 text the Azure portal shows. The decoded bytes are kept only as a keyed
/// HMAC state, so signing does not re-derive the key each time. `Debug` prints nothing secret.
#[derive(Clone)]
pub struct AccessKey {
    mac: Hmac<Sha256>,
}

impl AccessKey {
    /// Builds a key from its base64 text (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, AccessKeyError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AccessKeyError::Empty);
        }
        let bytes = KEY_ENGINE
            .decode(text)
            .map_err(|_| AccessKeyError::NotBase64)?;
        if bytes.is_empty() {
            return Err(AccessKeyError::Empty);
        }
        Ok(Self::from_bytes(&bytes))
    }

    /// Builds a key from raw (already decoded) bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(bytes) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac(),
        };
        Self { mac }
    }

    /// HMAC-SHA256 of `message` under this key.
    pub fn hmac_sha256(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Checks in constant time that `tag` is the HMAC-SHA256 of `message` under this key.
    pub fn verify_hmac_sha256(&self, message: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.mac.clone();
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    }
}

#[cold]
fn unreachable_hmac() -> ! {
    // `Hmac` takes keys of every length; reaching this would be a bug in the hmac crate.
    unreachable!("HMAC-SHA256 accepts keys of any length")
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessKey(<redacted>)")
    }
}

/// A shared, rotatable access key (what other SDKs call `AzureKeyCredential`).
///
/// Clones share the same key: [`AccessKeyCredential::update`] on one of them changes the key every
/// client holding a clone signs with from its next request on, without rebuilding the clients.
#[derive(Clone)]
pub struct AccessKeyCredential {
    key: Arc<RwLock<AccessKey>>,
}

impl AccessKeyCredential {
    /// A credential holding `key`.
    pub fn new(key: AccessKey) -> Self {
        Self {
            key: Arc::new(RwLock::new(key)),
        }
    }

    /// A credential from the base64 text of a key.
    pub fn from_base64(text: &str) -> Result<Self, AccessKeyError> {
        AccessKey::from_base64(text).map(Self::new)
    }

    /// Replaces the key for every holder of this credential.
    pub fn update(&self, key: AccessKey) {
        let mut guard = self
            .key
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard = key;
    }

    /// The key in force now.
    pub fn key(&self) -> AccessKey {
        self.key
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl From<AccessKey> for AccessKeyCredential {
    fn from(key: AccessKey) -> Self {
        Self::new(key)
    }
}

impl fmt::Debug for AccessKeyCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessKeyCredential(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5";

    #[test]
    fn rejects_empty_and_non_base64_without_echoing() {
        assert_eq!(
            AccessKey::from_base64("").unwrap_err(),
            AccessKeyError::Empty
        );
        assert_eq!(
            AccessKey::from_base64("   ").unwrap_err(),
            AccessKeyError::Empty
        );
        let err = AccessKey::from_base64("not*base64!secretish").unwrap_err();
        assert_eq!(err, AccessKeyError::NotBase64);
        assert!(!err.to_string().contains("secretish"));
        assert!(!format!("{err:?}").contains("secretish"));
    }

    #[test]
    fn accepts_padded_and_unpadded() {
        let a = AccessKey::from_base64("pw==").unwrap();
        let b = AccessKey::from_base64("pw").unwrap();
        assert_eq!(a.hmac_sha256(b"banana"), b.hmac_sha256(b"banana"));
    }

    #[test]
    fn hmac_matches_sdk_vector() {
        // From the Python and JS SDK unit tests: key "pw==", message "banana".
        use base64::engine::general_purpose::STANDARD;
        let key = AccessKey::from_base64("pw==").unwrap();
        assert_eq!(
            STANDARD.encode(key.hmac_sha256(b"banana")),
            "88EC05aAS9iXnaimtNO78JLjiPtfWryQB/5QYEzEsu8="
        );
        let tag = key.hmac_sha256(b"banana");
        assert!(key.verify_hmac_sha256(b"banana", &tag));
        assert!(!key.verify_hmac_sha256(b"bananb", &tag));
    }

    #[test]
    fn debug_prints_no_key_material() {
        let key = AccessKey::from_base64(KEY).unwrap();
        let cred = AccessKeyCredential::new(key.clone());
        for text in [format!("{key:?}"), format!("{cred:?}"), format!("{key:#?}")] {
            assert!(!text.contains("c2VjcmV0"), "{text}");
            assert!(!text.contains("secret"), "{text}");
            assert!(text.contains("redacted"));
        }
    }

    #[test]
    fn update_rotates_for_every_clone() {
        let cred = AccessKeyCredential::from_base64("pw==").unwrap();
        let clone = cred.clone();
        let before = clone.key().hmac_sha256(b"x");
        cred.update(AccessKey::from_base64(KEY).unwrap());
        let after = clone.key().hmac_sha256(b"x");
        assert_ne!(before, after);
        assert_eq!(
            after,
            AccessKey::from_base64(KEY).unwrap().hmac_sha256(b"x")
        );
    }
}
