//! Access tokens and their claims (read without verification).

use std::fmt;

use azure_core::credentials::Secret;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use time::OffsetDateTime;

/// An ACS access token and the time it expires.
///
/// The token is held in a [`Secret`]: `Debug` prints `Secret`, and the token is read with
/// `token.secret()`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccessToken {
    /// The token (a JWT). Read it with [`Secret::secret`].
    pub token: Secret,
    /// When the token expires.
    pub expires_on: OffsetDateTime,
}

impl AccessToken {
    /// Makes an access token from its parts.
    pub fn new(token: impl Into<Secret>, expires_on: OffsetDateTime) -> Self {
        Self {
            token: token.into(),
            expires_on,
        }
    }

    /// Decodes the token's payload **without verifying its signature**, for display and
    /// diagnostics only. Never base an authorization decision on the result.
    pub fn claims(&self) -> Result<TokenClaims, ClaimsError> {
        TokenClaims::decode_unverified(self.token.secret())
    }
}

impl From<AccessToken> for azure_core::credentials::AccessToken {
    fn from(token: AccessToken) -> Self {
        Self::new(token.token, token.expires_on)
    }
}

/// Some claims of an ACS access token payload, decoded without verification.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TokenClaims {
    /// `exp`: when the token expires.
    pub expires_at: Option<OffsetDateTime>,
    /// `iat`: when the token was issued.
    pub issued_at: Option<OffsetDateTime>,
    /// `acsScope`, split at commas (for example `["chat", "voip"]`).
    pub scopes: Vec<String>,
    /// `skypeid`: the user, `acs:<id without "8:">`.
    pub skype_id: Option<String>,
    /// `resourceId`: the ACS resource the token belongs to.
    pub resource_id: Option<String>,
}

/// Why [`AccessToken::claims`] could not read a token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The token does not have three dot-separated parts.
    NotAJwt,
    /// The payload is not base64url.
    NotBase64,
    /// The payload is not a JSON object.
    NotJson,
}

impl fmt::Display for ClaimsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClaimsError::NotAJwt => "the token is not a JWT (expected three dot-separated parts)",
            ClaimsError::NotBase64 => "the token's payload is not base64url",
            ClaimsError::NotJson => "the token's payload is not a JSON object",
        })
    }
}

impl std::error::Error for ClaimsError {}

const URL_SAFE_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl TokenClaims {
    /// Decodes a JWT's payload without verifying anything.
    pub fn decode_unverified(jwt: &str) -> Result<Self, ClaimsError> {
        let mut parts = jwt.split('.');
        let (Some(_), Some(payload), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ClaimsError::NotAJwt);
        };
        let bytes = URL_SAFE_ANY_PADDING
            .decode(payload)
            .map_err(|_| ClaimsError::NotBase64)?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| ClaimsError::NotJson)?;
        let object = value.as_object().ok_or(ClaimsError::NotJson)?;
        let time = |name: &str| object.get(name).and_then(numeric_date);
        let text = |name: &str| {
            object
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        Ok(Self {
            expires_at: time("exp"),
            issued_at: time("iat"),
            scopes: text("acsScope")
                .map(|s| {
                    s.split(',')
                        .map(|p| p.trim().to_owned())
                        .filter(|p| !p.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            skype_id: text("skypeid"),
            resource_id: text("resourceId"),
        })
    }
}

/// A JWT NumericDate (RFC 7519: seconds since the epoch, an integer or not): a fraction is
/// dropped, so a token is never taken to live longer than it does.
fn numeric_date(value: &serde_json::Value) -> Option<OffsetDateTime> {
    let secs = match value.as_i64() {
        Some(secs) => secs,
        // `as` saturates: a number out of range stays out of range and is refused below.
        None => value.as_f64()?.floor() as i64,
    };
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn decodes_claims_without_verification() {
        let payload = URL_SAFE_ANY_PADDING.encode(
            br#"{"skypeid":"acs:r_u","scp":1792,"csi":"1700000000","exp":1700086400,"acsScope":"chat,voip","resourceId":"r","iat":1700000000}"#,
        );
        let jwt = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln");
        let token = AccessToken::new(jwt, datetime!(2023-11-15 22:13:20 UTC));
        let claims = token.claims().unwrap();
        assert_eq!(claims.scopes, ["chat", "voip"]);
        assert_eq!(claims.skype_id.as_deref(), Some("acs:r_u"));
        assert_eq!(claims.resource_id.as_deref(), Some("r"));
        assert_eq!(claims.expires_at, Some(datetime!(2023-11-15 22:13:20 UTC)));
        assert_eq!(claims.issued_at, Some(datetime!(2023-11-14 22:13:20 UTC)));
    }

    #[test]
    fn a_fractional_exp_is_read_rounded_down() {
        let claims = |payload: &str| {
            let jwt = format!("e30.{}.c2ln", URL_SAFE_ANY_PADDING.encode(payload));
            TokenClaims::decode_unverified(&jwt).unwrap()
        };
        assert_eq!(
            claims(r#"{"exp":1700003600.5,"iat":1700000000.0}"#).expires_at,
            Some(datetime!(2023-11-14 23:13:20 UTC))
        );
        assert_eq!(
            claims(r#"{"exp":1700003600.5,"iat":1700000000.0}"#).issued_at,
            Some(datetime!(2023-11-14 22:13:20 UTC))
        );
        assert_eq!(claims(r#"{"exp":1e300}"#).expires_at, None);
        assert_eq!(claims(r#"{"exp":"1700003600"}"#).expires_at, None);
    }

    #[test]
    fn claims_errors() {
        let t = |s: &'static str| AccessToken::new(s, OffsetDateTime::UNIX_EPOCH).claims();
        assert_eq!(t("abc"), Err(ClaimsError::NotAJwt));
        assert_eq!(t("a.b.c.d"), Err(ClaimsError::NotAJwt));
        assert_eq!(t("a.!!!.c"), Err(ClaimsError::NotBase64));
        assert_eq!(t("a.WzFd.c"), Err(ClaimsError::NotJson));
    }

    #[test]
    fn debug_hides_the_token() {
        let token = AccessToken::new("eyJsecret.part.sig", OffsetDateTime::UNIX_EPOCH);
        let text = format!("{token:?}");
        assert!(!text.contains("eyJsecret"), "{text}");
        assert!(text.contains("Secret"), "{text}");
    }
}
