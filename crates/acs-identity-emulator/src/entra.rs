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
/// Audiences of the Teams user tokens the Teams Phone extension exchange accepts: the scope
/// `https://auth.msft.communication.azure.com/TeamsExtension.ManageCalls` (`.azure.us` in US
/// government clouds) gives a token with this `aud` and [`TEAMS_EXTENSION_SCOPE`] in `scp`.
pub const TEAMS_EXTENSION_AUDIENCES: [&str; 2] = [
    TEAMS_EXCHANGE_AUDIENCE,
    "https://auth.msft.communication.azure.us",
];
/// The delegated permission (`scp`) the Teams Phone extension exchange needs.
pub const TEAMS_EXTENSION_SCOPE: &str = "TeamsExtension.ManageCalls";
/// Audience of the Entra user tokens the Entra ID exchange accepts: scopes under
/// `https://communication.azure.com/clients/` (default `.../clients/.default`).
pub const ENTRA_EXCHANGE_AUDIENCE: &str = "https://communication.azure.com/clients";
/// Tenant id put in test tokens.
pub const TEST_TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// How far in the future a token's `nbf` or `iat` may be (clocks differ): 5 minutes, as Entra's
/// token validators allow by default.
const CLOCK_SKEW_S: i64 = 300;

fn unix_seconds(t: SystemTime) -> i64 {
    (unix_nanos(t).div_euclid(1_000_000_000)) as i64
}

/// An unsigned JWT (`alg: none`, empty signature part) whose payload is `claims_json` (a JSON
/// object, as text), which the emulator decodes like any Entra token.
pub fn unsigned_token(claims_json: &str) -> String {
    let header = json!({"alg": "none", "typ": "JWT"});
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims_json)
    )
}

/// An unsigned Entra-ID-like access token of a Teams user, for the emulator's Teams exchange
/// (`POST /teamsUser/:exchangeAccessToken`).
///
/// Claims: `aud` ([`TEAMS_EXCHANGE_AUDIENCE`]), `appid` and `azp` (`app_id`), `oid`
/// (`user_object_id`), `tid`, `iat` (now), `nbf`, `exp` (`expires_at`, whole seconds). The
/// exchange answers with a token that expires at `expires_at`.
pub fn test_token(app_id: &str, user_object_id: &str, expires_at: SystemTime) -> String {
    test_user_token(
        TEAMS_EXCHANGE_AUDIENCE,
        "Teams.ManageCalls Teams.ManageChats",
        TEST_TENANT_ID,
        user_object_id,
        app_id,
        expires_at,
    )
}

/// An unsigned Entra-ID-like bearer token for the ACS data plane (audience
/// [`ACS_AUDIENCE`]), which the emulator accepts in `Authorization: Bearer ...` until
/// `expires_at`: a [`test_user_token`] of the test tenant with an empty `scp`.
pub fn test_bearer_token(expires_at: SystemTime) -> String {
    test_user_token(
        ACS_AUDIENCE,
        "",
        TEST_TENANT_ID,
        "00000000-0000-0000-0000-00000000e2e1",
        "00000000-0000-0000-0000-00000000e2e0",
        expires_at,
    )
}

/// An unsigned Entra-ID-like access token of a user of tenant `tenant_id` with object id
/// `object_id`, obtained by application `app_id`, for `audience` with the delegated permissions
/// `scp` (space-separated), expiring at `expires_at`: for the Teams Phone extension exchange
/// use [`TEAMS_EXCHANGE_AUDIENCE`] and [`TEAMS_EXTENSION_SCOPE`], for the Entra ID exchange
/// [`ENTRA_EXCHANGE_AUDIENCE`] (any `scp`). Add claims such as `groups` with
/// [`unsigned_token`].
pub fn test_user_token(
    audience: &str,
    scp: &str,
    tenant_id: &str,
    object_id: &str,
    app_id: &str,
    expires_at: SystemTime,
) -> String {
    let now = unix_seconds(SystemTime::now());
    let claims = json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{tenant_id}/"),
        "iat": now,
        "nbf": now,
        "exp": unix_seconds(expires_at),
        "appid": app_id,
        "azp": app_id,
        "oid": object_id,
        "tid": tenant_id,
        "scp": scp,
        "ver": "1.0",
    });
    unsigned_token(&claims.to_string())
}

/// The claims of a decoded (not verified) JWT.
#[derive(Debug, Clone)]
pub(crate) struct DecodedJwt {
    pub(crate) claims: Map<String, Value>,
}

impl DecodedJwt {
    /// A time claim (`exp`, `nbf`, `iat`) in whole seconds, when present and a number.
    pub(crate) fn seconds(&self, name: &str) -> Option<i64> {
        match self.claims.get(name)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            _ => None,
        }
    }

    pub(crate) fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// The application the token was issued to: `appid` (v1 tokens), else `azp` (v2).
    pub(crate) fn app_id(&self) -> Option<&str> {
        self.str_claim("appid").or_else(|| self.str_claim("azp"))
    }

    /// Whether the space-separated `scp` names `scope` (case-insensitively).
    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.str_claim("scp")
            .is_some_and(|scp| scp.split(' ').any(|s| s.eq_ignore_ascii_case(scope)))
    }

    /// The string items of the `groups` claim (none when it is absent, as in a token with too
    /// many groups, which names them elsewhere).
    pub(crate) fn groups(&self) -> impl Iterator<Item = &str> {
        self.claims
            .get("groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
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

    /// Whether the token is in force at `now`: it has an `exp` after `now`, and its `nbf` and
    /// `iat`, when present, are numbers not after `now` (beyond [`CLOCK_SKEW_S`]).
    pub(crate) fn in_force_at(&self, now: SystemTime) -> bool {
        let now = unix_seconds(now);
        let started = |name: &str| {
            !self.claims.contains_key(name)
                || self
                    .seconds(name)
                    .is_some_and(|t| t <= now.saturating_add(CLOCK_SKEW_S))
        };
        self.seconds("exp").is_some_and(|exp| exp > now) && started("nbf") && started("iat")
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
        assert_eq!(decoded.seconds("exp"), Some(4_000_000_000));
        assert_eq!(decoded.str_claim("appid"), Some("app"));
        assert_eq!(decoded.str_claim("azp"), Some("app"));
        assert_eq!(decoded.str_claim("oid"), Some("user"));
        assert!(decoded.str_claim("tid").is_some());
        assert!(decoded.claims.contains_key("iat"));
        assert!(decoded.has_audience(TEAMS_EXCHANGE_AUDIENCE));
        assert!(!decoded.has_audience(ACS_AUDIENCE));
        assert!(decoded.in_force_at(SystemTime::UNIX_EPOCH + Duration::from_secs(3_999_999_999)));
        assert!(!decoded.in_force_at(exp));
    }

    #[test]
    fn a_token_not_yet_valid_is_not_in_force() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |claims: Value| {
            DecodedJwt {
                claims: claims.as_object().unwrap().clone(),
            }
            .in_force_at(now)
        };
        assert!(at(
            json!({"exp": 1_003_600, "nbf": 1_000_000, "iat": 1_000_000})
        ));
        assert!(
            at(json!({"exp": 1_003_600, "nbf": 1_000_300, "iat": 999_000})),
            "skew"
        );
        assert!(!at(json!({"exp": 1_003_600, "nbf": 1_000_301})));
        assert!(!at(json!({"exp": 1_003_600, "iat": 2_000_000})));
        assert!(!at(json!({"exp": 1_003_600, "nbf": "soon"})));
        assert!(!at(json!({"nbf": 1_000_000})), "no exp");
        assert!(!at(json!({"exp": 1_000_000})), "expired");
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
    fn user_tokens_carry_scope_app_and_groups() {
        let exp = SystemTime::now() + Duration::from_secs(600);
        let t = test_user_token(
            TEAMS_EXCHANGE_AUDIENCE,
            "x TeamsExtension.ManageCalls",
            "t",
            "o",
            "a",
            exp,
        );
        let d = decode_unverified(&t).unwrap();
        assert!(d.has_scope(TEAMS_EXTENSION_SCOPE));
        assert!(!d.has_scope("TeamsExtension"));
        assert_eq!(d.app_id(), Some("a"));
        assert_eq!(d.groups().count(), 0);
        let g = unsigned_token(r#"{"azp": "b", "groups": ["g1", 5, "g2"]}"#);
        let d = decode_unverified(&g).unwrap();
        assert_eq!(d.app_id(), Some("b"));
        assert_eq!(d.groups().collect::<Vec<_>>(), ["g1", "g2"]);
        assert!(!d.has_scope(TEAMS_EXTENSION_SCOPE));
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
