//! Entra ID (Azure AD) tokens as the emulator reads them, and makers of test tokens.
//!
//! The emulator decodes Entra tokens but does **not** check their signatures (it has no access
//! to Entra's keys). The tokens made here are unsigned (`alg: none`, empty signature part) but
//! otherwise shaped like real ones, so they work with the emulator and nowhere else.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::tokens::{B64URL_LENIENT, unix_nanos};

/// Audience of the Entra tokens the Teams exchange accepts (`https://auth.msft.communication.azure.com`).
pub const TEAMS_EXCHANGE_AUDIENCE: &str = "https://auth.msft.communication.azure.com";
/// Audience of Entra bearer tokens for the ACS data plane (`https://communication.azure.com`).
pub const ACS_AUDIENCE: &str = "https://communication.azure.com";
/// Tenant id put in test tokens.
pub const TEST_TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn unix_seconds(t: SystemTime) -> i64 {
    (unix_nanos(t).div_euclid(1_000_000_000)) as i64
}

fn unsigned_jwt(claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT"});
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// An unsigned Entra-ID-like access token of a Teams user, for the emulator's Teams exchange
/// (`POST /teamsUser/:exchangeAccessToken`).
///
/// Claims: `aud` ([`TEAMS_EXCHANGE_AUDIENCE`]), `appid` and `azp` (`app_id`), `oid`
/// (`user_object_id`), `tid`, `iat` (now), `nbf`, `exp` (`expires_at`, whole seconds). The
/// exchange answers with a token that expires at `expires_at`.
pub fn test_token(app_id: &str, user_object_id: &str, expires_at: SystemTime) -> String {
    let now = unix_seconds(SystemTime::now());
    unsigned_jwt(&json!({
        "aud": TEAMS_EXCHANGE_AUDIENCE,
        "iss": format!("https://sts.windows.net/{TEST_TENANT_ID}/"),
        "iat": now,
        "nbf": now,
        "exp": unix_seconds(expires_at),
        "appid": app_id,
        "azp": app_id,
        "oid": user_object_id,
        "tid": TEST_TENANT_ID,
        "scp": "Teams.ManageCalls Teams.ManageChats",
        "ver": "1.0",
    }))
}

/// An unsigned Entra-ID-like bearer token for the ACS data plane (audience
/// [`ACS_AUDIENCE`]), which the emulator accepts in `Authorization: Bearer ...` until
/// `expires_at`.
pub fn test_bearer_token(expires_at: SystemTime) -> String {
    let now = unix_seconds(SystemTime::now());
    unsigned_jwt(&json!({
        "aud": ACS_AUDIENCE,
        "iss": format!("https://sts.windows.net/{TEST_TENANT_ID}/"),
        "iat": now,
        "nbf": now,
        "exp": unix_seconds(expires_at),
        "appid": "00000000-0000-0000-0000-00000000e2e0",
        "oid": "00000000-0000-0000-0000-00000000e2e1",
        "tid": TEST_TENANT_ID,
        "ver": "1.0",
    }))
}

/// The claims of a decoded (not verified) JWT.
#[derive(Debug, Clone)]
pub(crate) struct DecodedJwt {
    pub(crate) claims: Map<String, Value>,
}

impl DecodedJwt {
    /// `exp` in whole seconds, when present and a number.
    pub(crate) fn exp(&self) -> Option<i64> {
        match self.claims.get("exp")? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            _ => None,
        }
    }

    pub(crate) fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// Whether `aud` (a string or an array) names `audience`, with or without a trailing `/`.
    pub(crate) fn has_audience(&self, audience: &str) -> bool {
        let matches = |v: &Value| {
            v.as_str()
                .is_some_and(|a| a.trim_end_matches('/').eq_ignore_ascii_case(audience))
        };
        match self.claims.get("aud") {
            Some(Value::Array(items)) => items.iter().any(matches),
            Some(v) => matches(v),
            None => false,
        }
    }

    /// Whether the token has expired at `now` (a token without `exp` counts as expired).
    pub(crate) fn expired_at(&self, now: SystemTime) -> bool {
        match self.exp() {
            Some(exp) => exp <= unix_seconds(now),
            None => true,
        }
    }
}

/// Decodes a compact JWT's payload without checking its signature. `None` for anything that is
/// not three dot-separated parts with a JSON-object header and payload.
pub(crate) fn decode_unverified(token: &str) -> Option<DecodedJwt> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let header: Value = serde_json::from_slice(&B64URL_LENIENT.decode(h).ok()?).ok()?;
    if !header.is_object() {
        return None;
    }
    match serde_json::from_slice(&B64URL_LENIENT.decode(p).ok()?).ok()? {
        Value::Object(claims) => Some(DecodedJwt { claims }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn test_token_decodes_with_expected_claims() {
        let exp = SystemTime::UNIX_EPOCH + Duration::from_secs(4_000_000_000);
        let token = test_token("app", "user", exp);
        assert_eq!(token.matches('.').count(), 2);
        assert!(token.ends_with('.'));
        let decoded = decode_unverified(&token).unwrap();
        assert_eq!(decoded.exp(), Some(4_000_000_000));
        assert_eq!(decoded.str_claim("appid"), Some("app"));
        assert_eq!(decoded.str_claim("azp"), Some("app"));
        assert_eq!(decoded.str_claim("oid"), Some("user"));
        assert!(decoded.str_claim("tid").is_some());
        assert!(decoded.claims.contains_key("iat"));
        assert!(decoded.has_audience(TEAMS_EXCHANGE_AUDIENCE));
        assert!(!decoded.has_audience(ACS_AUDIENCE));
        assert!(!decoded.expired_at(SystemTime::UNIX_EPOCH + Duration::from_secs(3_999_999_999)));
        assert!(decoded.expired_at(exp));
    }

    #[test]
    fn audience_accepts_trailing_slash_and_arrays() {
        let mk = |aud: Value| DecodedJwt {
            claims: json!({ "aud": aud }).as_object().unwrap().clone(),
        };
        assert!(mk(json!("https://communication.azure.com/")).has_audience(ACS_AUDIENCE));
        assert!(mk(json!(["x", "https://communication.azure.com"])).has_audience(ACS_AUDIENCE));
        assert!(!mk(json!("https://communication.azure.com.evil")).has_audience(ACS_AUDIENCE));
        assert!(!mk(json!(5)).has_audience(ACS_AUDIENCE));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "aadtoken",
            "a.b",
            "a.b.c.d",
            "e30.W10.",
            "bm90IGpzb24.e30.",
            "e30.e30",
        ] {
            assert!(decode_unverified(bad).is_none(), "{bad:?}");
        }
        assert!(decode_unverified("e30.e30.").is_some());
    }
}
