use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::key::{AccessKey, AccessKeyError};

/// Why a connection string was refused. Names the rule that broke; never contains the key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionStringError {
    /// The whole string is empty.
    Empty,
    /// The `index`-th `;`-separated part (counting from 1) has no `=`.
    PairWithoutEquals {
        /// Position of the part, from 1.
        index: usize,
    },
    /// A required key (`endpoint` or `accesskey`) is absent.
    MissingKey(&'static str),
    /// A required key is present with an empty value.
    EmptyValue(&'static str),
    /// A required key appears more than once.
    DuplicateKey(&'static str),
    /// The endpoint is not an absolute `http`/`https` URL with a host and no query or fragment.
    InvalidEndpoint(&'static str),
    /// The access key is not valid.
    InvalidAccessKey(AccessKeyError),
}

impl fmt::Display for ConnectionStringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHAPE: &str = "expected `endpoint=https://<resource>.communication.azure.com/;accesskey=<base64 key>`";
        match self {
            Self::Empty => write!(f, "the connection string is empty; {SHAPE}"),
            Self::PairWithoutEquals { index } => write!(
                f,
                "part {index} of the connection string has no `=`; {SHAPE}"
            ),
            Self::MissingKey(name) => {
                write!(f, "the connection string has no `{name}`; {SHAPE}")
            }
            Self::EmptyValue(name) => {
                write!(f, "`{name}` in the connection string is empty; {SHAPE}")
            }
            Self::DuplicateKey(name) => {
                write!(
                    f,
                    "`{name}` appears more than once in the connection string"
                )
            }
            Self::InvalidEndpoint(why) => {
                write!(f, "the connection string's endpoint is invalid: {why}")
            }
            Self::InvalidAccessKey(e) => {
                write!(f, "the connection string's accesskey is invalid: {e}")
            }
        }
    }
}

impl std::error::Error for ConnectionStringError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidAccessKey(e) => Some(e),
            _ => None,
        }
    }
}

/// A parsed ACS connection string: `endpoint=https://<resource>.communication.azure.com/;accesskey=<key>`.
///
/// `Display` and `Debug` print the endpoint and redact the key.
#[derive(Clone)]
pub struct ConnectionString {
    endpoint: Url,
    access_key: AccessKey,
}

/// Checks that `text` is a resource endpoint: an absolute http(s) URL with a host and no path,
/// query, fragment or credentials.
pub(crate) fn parse_endpoint(text: &str) -> Result<Url, ConnectionStringError> {
    let url = Url::parse(text).map_err(|_| {
        ConnectionStringError::InvalidEndpoint(
            "not an absolute URL such as https://<resource>.communication.azure.com/",
        )
    })?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(ConnectionStringError::InvalidEndpoint(
            "the scheme must be https (or http for a local emulator)",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConnectionStringError::InvalidEndpoint(
            "the URL has no host",
        ));
    }
    if !matches!(url.path(), "" | "/") {
        return Err(ConnectionStringError::InvalidEndpoint(
            "the URL must not have a path: the endpoint is the resource's base URL, such as \
             https://<resource>.communication.azure.com/",
        ));
    }
    if url.query().is_some() {
        return Err(ConnectionStringError::InvalidEndpoint(
            "the URL must not have a query (`?...`)",
        ));
    }
    if url.fragment().is_some() {
        return Err(ConnectionStringError::InvalidEndpoint(
            "the URL must not have a fragment (`#...`)",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConnectionStringError::InvalidEndpoint(
            "the URL must not contain a user name or password",
        ));
    }
    Ok(url)
}

impl ConnectionString {
    /// Parses a connection string.
    ///
    /// Parts are separated by `;` and split at their first `=` (so keys ending in `=` work); names
    /// are matched without regard to letter case; whitespace around parts, names and values and
    /// empty parts (such as a trailing `;`) are ignored; unknown names are ignored.
    pub fn parse(text: &str) -> Result<Self, ConnectionStringError> {
        if text.trim().is_empty() {
            return Err(ConnectionStringError::Empty);
        }
        let mut endpoint: Option<&str> = None;
        let mut access_key: Option<&str> = None;
        for (i, part) in text.split(';').enumerate() {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (name, value) = part
                .split_once('=')
                .ok_or(ConnectionStringError::PairWithoutEquals { index: i + 1 })?;
            let (slot, label) = if name.trim().eq_ignore_ascii_case("endpoint") {
                (&mut endpoint, "endpoint")
            } else if name.trim().eq_ignore_ascii_case("accesskey") {
                (&mut access_key, "accesskey")
            } else {
                continue;
            };
            if slot.is_some() {
                return Err(ConnectionStringError::DuplicateKey(label));
            }
            *slot = Some(value.trim());
        }
        let endpoint = endpoint.ok_or(ConnectionStringError::MissingKey("endpoint"))?;
        let access_key = access_key.ok_or(ConnectionStringError::MissingKey("accesskey"))?;
        if endpoint.is_empty() {
            return Err(ConnectionStringError::EmptyValue("endpoint"));
        }
        if access_key.is_empty() {
            return Err(ConnectionStringError::EmptyValue("accesskey"));
        }
        Ok(Self {
            endpoint: parse_endpoint(endpoint)?,
            access_key: AccessKey::from_base64(access_key)
                .map_err(ConnectionStringError::InvalidAccessKey)?,
        })
    }

    /// Builds a connection string from its parts.
    pub fn new(endpoint: Url, access_key: AccessKey) -> Self {
        Self {
            endpoint,
            access_key,
        }
    }

    /// The resource endpoint, e.g. `https://contoso.communication.azure.com/`.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The access key.
    pub fn access_key(&self) -> &AccessKey {
        &self.access_key
    }

    /// Splits into endpoint and key.
    pub fn into_parts(self) -> (Url, AccessKey) {
        (self.endpoint, self.access_key)
    }
}

impl FromStr for ConnectionString {
    type Err = ConnectionStringError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "endpoint={};accesskey=<redacted>", self.endpoint)
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("endpoint", &self.endpoint.as_str())
            .field("access_key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectionStringError as E;

    const KEY: &str = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5";

    fn err(s: &str) -> ConnectionStringError {
        ConnectionString::parse(s).unwrap_err()
    }

    #[test]
    fn parses_canonical_form() {
        let cs = ConnectionString::parse(&format!(
            "endpoint=https://contoso.communication.azure.com/;accesskey={KEY}"
        ))
        .unwrap();
        assert_eq!(
            cs.endpoint().as_str(),
            "https://contoso.communication.azure.com/"
        );
    }

    #[test]
    fn any_order_case_whitespace_and_trailing_semicolon() {
        for s in [
            format!("accesskey={KEY};endpoint=https://a.example/"),
            format!("ENDPOINT=https://a.example/;AccessKey={KEY};"),
            format!("  Endpoint = https://a.example/ ; accessKEY = {KEY} ;  "),
            format!("endpoint=https://a.example/;;accesskey={KEY};;"),
            format!("endpoint=https://a.example/;accesskey={KEY};other=ignored"),
        ] {
            let cs = ConnectionString::parse(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(cs.endpoint().as_str(), "https://a.example/");
        }
    }

    #[test]
    fn value_split_at_first_equals_keeps_padding() {
        let padded = ConnectionString::parse("endpoint=https://a.example/;accesskey=pw==").unwrap();
        let reference = AccessKey::from_base64("pw==").unwrap();
        assert_eq!(
            padded.access_key().hmac_sha256(b"m"),
            reference.hmac_sha256(b"m")
        );
        // An endpoint containing `=` (in its path) is split at the first `=` only: the value
        // reaches the endpoint check, which names the path (split at the last `=`, the name
        // would be unknown and `endpoint` missing).
        assert!(matches!(
            ConnectionString::parse(&format!("endpoint=https://a.example/p=q;accesskey={KEY}")),
            Err(ConnectionStringError::InvalidEndpoint(why)) if why.contains("path")
        ));
    }

    #[test]
    fn each_rule_is_reported() {
        assert_eq!(err(""), E::Empty);
        assert_eq!(err("   "), E::Empty);
        assert_eq!(
            err(&format!("endpoint=https://a.example/;{KEY}")),
            E::PairWithoutEquals { index: 2 }
        );
        assert_eq!(err(&format!("accesskey={KEY}")), E::MissingKey("endpoint"));
        assert_eq!(
            err("endpoint=https://a.example/"),
            E::MissingKey("accesskey")
        );
        assert_eq!(
            err(&format!("endpoint=;accesskey={KEY}")),
            E::EmptyValue("endpoint")
        );
        assert_eq!(
            err("endpoint=https://a.example/;accesskey="),
            E::EmptyValue("accesskey")
        );
        assert_eq!(
            err(&format!(
                "endpoint=https://a.example/;endpoint=https://b.example/;accesskey={KEY}"
            )),
            E::DuplicateKey("endpoint")
        );
        assert_eq!(
            err(&format!(
                "endpoint=https://a.example/;accesskey={KEY};AccessKey={KEY}"
            )),
            E::DuplicateKey("accesskey")
        );
        for bad in [
            "a.example",
            "/relative",
            "ftp://a.example/",
            "mailto:a@example.com",
            "https://",
            "https://a.example/?x=1",
            // An empty query or fragment marker is still a query or fragment.
            "https://a.example/?",
            "https://a.example/#f",
            "https://a.example/#",
            "https://u:p@a.example/",
            // A path would be prefixed to every operation's and answered 404.
            "https://a.example/identities",
            "https://a.example/api/",
            "https://a.example//",
        ] {
            assert!(
                matches!(
                    err(&format!("endpoint={bad};accesskey={KEY}")),
                    E::InvalidEndpoint(_)
                ),
                "{bad}"
            );
        }
        assert_eq!(
            err("endpoint=https://a.example/;accesskey=%%%notbase64"),
            E::InvalidAccessKey(AccessKeyError::NotBase64)
        );
    }

    #[test]
    fn errors_never_echo_the_key() {
        let secret = "c2VjcmV0a2V5c2VjcmV0!!!";
        for s in [
            format!("endpoint=https://a.example/;accesskey={secret}"),
            format!("endpoint=https://a.example/;{secret}"),
            format!("endpoint=nope;accesskey={secret}"),
            format!("accesskey={secret};accesskey={secret}"),
        ] {
            let e = err(&s);
            assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
            assert!(!format!("{e:?}").contains("c2VjcmV0"), "{e:?}");
        }
    }

    #[test]
    fn accepted_endpoint_edge_cases() {
        // Plain http (a local emulator) with a port is accepted, and the port kept.
        let cs =
            ConnectionString::parse(&format!("endpoint=http://127.0.0.1:8080;accesskey={KEY}"))
                .unwrap();
        assert_eq!(cs.endpoint().as_str(), "http://127.0.0.1:8080/");
        // Odd letter case in the scheme and host is normalised by URL parsing.
        let cs = ConnectionString::parse(&format!(
            "EndPoint=HTTPS://Contoso.Communication.Azure.com/;ACCESSKEY={KEY}"
        ))
        .unwrap();
        assert_eq!(
            cs.endpoint().as_str(),
            "https://contoso.communication.azure.com/"
        );
    }

    #[test]
    fn display_and_debug_redact_the_key() {
        let cs = ConnectionString::parse(&format!("endpoint=https://a.example/;accesskey={KEY}"))
            .unwrap();
        for text in [cs.to_string(), format!("{cs:?}"), format!("{cs:#?}")] {
            assert!(!text.contains(KEY), "{text}");
            assert!(text.contains("https://a.example/"), "{text}");
            assert!(text.contains("<redacted>"), "{text}");
        }
    }
}
