//! [`DateTime`]: the type the generator maps every `format: date-time` string of the spec to.
//!
//! A thin wrapper around [`time::OffsetDateTime`] that (de)serializes as an RFC 3339 string, the
//! format the service uses (`2022-08-26T20:03:35.4402106+00:00`: up to seven fractional digits,
//! a numeric offset). The offset is kept as received; [`DateTime::into_inner`] gives the
//! `OffsetDateTime`, whose comparisons are by instant.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An instant with its UTC offset, written and read as an RFC 3339 date-time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(OffsetDateTime);

impl DateTime {
    /// Wraps `at`.
    pub const fn new(at: OffsetDateTime) -> Self {
        Self(at)
    }

    /// The wrapped `OffsetDateTime`.
    pub const fn into_inner(self) -> OffsetDateTime {
        self.0
    }

    /// Parses an RFC 3339 date-time (`2022-08-26T20:03:35.4402106+00:00`, `...Z`); the error
    /// names what was wrong and quotes at most 40 characters of the input.
    pub fn parse_rfc3339(text: &str) -> Result<Self, DateTimeParseError> {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(Self)
            .map_err(|e| DateTimeParseError {
                excerpt: text.chars().take(40).collect(),
                reason: e.to_string(),
            })
    }
}

impl From<OffsetDateTime> for DateTime {
    fn from(at: OffsetDateTime) -> Self {
        Self(at)
    }
}

impl From<DateTime> for OffsetDateTime {
    fn from(at: DateTime) -> Self {
        at.0
    }
}

impl std::ops::Deref for DateTime {
    type Target = OffsetDateTime;

    fn deref(&self) -> &OffsetDateTime {
        &self.0
    }
}

/// RFC 3339, as sent on the wire (the `Debug` form too, so it reads like the JSON).
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            // Years outside 0..=9999 have no RFC 3339 form; fall back to `time`'s own.
            Err(_) => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for DateTime {
    type Err = DateTimeParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse_rfc3339(text)
    }
}

/// A text that is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTimeParseError {
    excerpt: String,
    reason: String,
}

impl fmt::Display for DateTimeParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an RFC 3339 date-time: {}",
            self.excerpt, self.reason
        )
    }
}

impl std::error::Error for DateTimeParseError {}

impl serde::Serialize for DateTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.0.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de> serde::Deserialize<'de> for DateTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = DateTime;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 date-time string")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<DateTime, E> {
                DateTime::parse_rfc3339(text).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_services_seven_digit_form_and_keeps_every_digit_time_can_hold() {
        let at: DateTime = serde_json::from_str(r#""2022-08-26T20:03:35.4402106+00:00""#).unwrap();
        assert_eq!(at.unix_timestamp(), 1_661_544_215);
        assert_eq!(at.nanosecond(), 440_210_600);
        assert_eq!(at.offset(), time::UtcOffset::UTC);
        assert_eq!(
            serde_json::to_string(&at).unwrap(),
            r#""2022-08-26T20:03:35.4402106Z""#
        );
    }

    #[test]
    fn keeps_a_non_utc_offset_and_compares_by_instant() {
        let a = DateTime::parse_rfc3339("2022-08-26T22:03:35+02:00").unwrap();
        let b = DateTime::parse_rfc3339("2022-08-26T20:03:35Z").unwrap();
        assert_eq!(a.offset().whole_hours(), 2);
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "2022-08-26T22:03:35+02:00");
        // RFC 3339 (section 5.6, note) lets a space stand for the `T`, as chrono also did.
        assert_eq!(DateTime::parse_rfc3339("2022-08-26 20:03:35Z").unwrap(), b);
    }

    #[test]
    fn rejects_what_is_not_rfc_3339_with_a_clear_error() {
        for bad in [
            "",
            "2022-08-26",
            "2022-08-26T20:03:35",
            "2022-13-26T20:03:35Z",
            "yesterday",
        ] {
            let error = DateTime::parse_rfc3339(bad).unwrap_err().to_string();
            assert!(error.contains("is not an RFC 3339 date-time"), "{error}");
            assert!(error.contains(&format!("`{bad}`")), "{error}");
            assert!(serde_json::from_value::<DateTime>(serde_json::json!(bad)).is_err());
        }
        let long = "x".repeat(500);
        let error = DateTime::parse_rfc3339(&long).unwrap_err().to_string();
        assert!(error.len() < 200, "{error}");
        assert!(serde_json::from_str::<DateTime>("1661544215").is_err());
    }
}
