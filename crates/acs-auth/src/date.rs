//! IMF-fixdate (RFC 9110 §5.6.7) formatting and parsing, independent of locale.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY_NAMES: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Why a text is not an IMF-fixdate such as `Wed, 13 Apr 2022 18:09:12 GMT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpDateError {
    reason: &'static str,
}

impl fmt::Display for HttpDateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not an IMF-fixdate like `Wed, 13 Apr 2022 18:09:12 GMT`: {}",
            self.reason
        )
    }
}

impl std::error::Error for HttpDateError {}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month 1..=12, day 1..=31) to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn push_two_digits(out: &mut String, n: u32) {
    out.push(char::from(b'0' + (n / 10 % 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// Formats a time as an IMF-fixdate, e.g. `Wed, 13 Apr 2022 18:09:12 GMT`.
///
/// Names are always English and the day always has two digits, whatever the process locale.
/// Times before 1970 are formatted as 1970-01-01T00:00:00Z (the service rejects them anyway).
pub fn format_http_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Clamp to year 9999 so the year always has four digits.
    let secs = secs.min(253_402_300_799) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(29);
    out.push_str(DAY_NAMES[days.rem_euclid(7) as usize]);
    out.push_str(", ");
    push_two_digits(&mut out, day);
    out.push(' ');
    out.push_str(MONTH_NAMES[(month - 1) as usize]);
    out.push(' ');
    let year = year as u32;
    push_two_digits(&mut out, year / 100);
    push_two_digits(&mut out, year % 100);
    out.push(' ');
    push_two_digits(&mut out, rem / 3600);
    out.push(':');
    push_two_digits(&mut out, rem / 60 % 60);
    out.push(':');
    push_two_digits(&mut out, rem % 60);
    out.push_str(" GMT");
    out
}

fn digits(s: &[u8], reason: &'static str) -> Result<u32, HttpDateError> {
    s.iter().try_fold(0u32, |acc, b| {
        if b.is_ascii_digit() {
            Ok(acc * 10 + u32::from(b - b'0'))
        } else {
            Err(HttpDateError { reason })
        }
    })
}

/// Parses an IMF-fixdate such as `Wed, 13 Apr 2022 18:09:12 GMT`.
///
/// The day name must match the date. Only the fixed-length IMF-fixdate form is accepted.
pub fn parse_http_date(text: &str) -> Result<SystemTime, HttpDateError> {
    let err = |reason| HttpDateError { reason };
    let b = text.as_bytes();
    if b.len() != 29 {
        return Err(err("expected exactly 29 characters"));
    }
    if &b[3..5] != b", " || b[7] != b' ' || b[11] != b' ' || b[16] != b' ' {
        return Err(err("separators are not where IMF-fixdate puts them"));
    }
    if b[19] != b':' || b[22] != b':' || &b[25..] != b" GMT" {
        return Err(err("time must be HH:MM:SS followed by ` GMT`"));
    }
    let day_name = &text[0..3];
    let day = digits(&b[5..7], "day is not two digits")?;
    let month = MONTH_NAMES
        .iter()
        .position(|m| *m == &text[8..11])
        .ok_or(err("unknown month name"))? as u32
        + 1;
    let year = digits(&b[12..16], "year is not four digits")?;
    let hour = digits(&b[17..19], "hour is not two digits")?;
    let minute = digits(&b[20..22], "minute is not two digits")?;
    let second = digits(&b[23..25], "second is not two digits")?;
    if hour > 23 || minute > 59 || second > 60 {
        return Err(err("time of day out of range"));
    }
    let days_in_month = match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > days_in_month {
        return Err(err("day out of range for the month"));
    }
    if year < 1970 {
        return Err(err("year before 1970"));
    }
    let days = days_from_civil(i64::from(year), month, day);
    if DAY_NAMES[days.rem_euclid(7) as usize] != day_name {
        return Err(err("day name does not match the date"));
    }
    let secs = days as u64 * 86_400
        + u64::from(hour) * 3600
        + u64::from(minute) * 60
        + u64::from(second.min(59));
    Ok(UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_649_873_352);
        assert_eq!(format_http_date(t), "Wed, 13 Apr 2022 18:09:12 GMT");
        assert_eq!(
            format_http_date(UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        // 2024-02-29 (leap day), single-digit day padded.
        let t = UNIX_EPOCH + Duration::from_secs(1_709_164_800);
        assert_eq!(format_http_date(t), "Thu, 29 Feb 2024 00:00:00 GMT");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_053_912);
        assert_eq!(format_http_date(t), "Mon, 30 Nov 2026 15:51:52 GMT");
    }

    #[test]
    fn round_trips() {
        for secs in [
            0u64,
            59,
            86_399,
            951_782_400,
            1_649_873_352,
            4_102_444_799,
            253_402_300_799,
        ] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_http_date(&format_http_date(t)), Ok(t), "secs {secs}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "Wed, 13 Apr 2022 18:09:12 UTC",
            "Thu, 13 Apr 2022 18:09:12 GMT",
            "Wed, 13 Foo 2022 18:09:12 GMT",
            "Wed, 3 Apr 2022 18:09:12 GMT",
            "Wed, 13 Apr 2022 24:09:12 GMT",
            "Fri, 30 Feb 2022 18:09:12 GMT",
            "Wed,13 Apr 2022 18:09:12 GMT ",
            "Wed, 1x Apr 2022 18:09:12 GMT",
            "2022-04-13T18:09:12Z",
        ] {
            assert!(parse_http_date(bad).is_err(), "{bad:?} accepted");
        }
    }
}
