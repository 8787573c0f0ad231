//! Rendering of command results as JSON or as a table.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::OutputFormat;

/// The result of one command: a JSON document for scripts and labelled rows for people.
pub struct Report {
    json: Value,
    rows: Vec<(&'static str, String)>,
}

impl Report {
    /// A report with this JSON form and no table rows yet.
    pub fn new(json: Value) -> Self {
        Self {
            json,
            rows: Vec::new(),
        }
    }

    /// Adds a row to the table form.
    pub fn row(mut self, label: &'static str, value: impl Into<String>) -> Self {
        self.rows.push((label, value.into()));
        self
    }

    /// Writes the report in `format`, followed by a newline.
    pub fn write(&self, format: OutputFormat, out: &mut dyn Write) -> io::Result<()> {
        match format {
            OutputFormat::Json => {
                let text = serde_json::to_string_pretty(&self.json).map_err(io::Error::other)?;
                writeln!(out, "{}", json_terminal_safe(&text))
            }
            OutputFormat::Table => {
                let width = self
                    .rows
                    .iter()
                    .map(|(label, _)| label.chars().count())
                    .max()
                    .unwrap_or(0);
                for (label, value) in &self.rows {
                    writeln!(out, "{label:<width$}  {}", terminal_safe(value))?;
                }
                Ok(())
            }
        }
    }
}

/// `text` fit for a terminal: every C0 control (CR and LF included), DEL and C1 control is
/// written as `\u{..}`, so that text from the service or the command line can neither move the
/// cursor, fake rows, set the window title nor clear the screen. Everything else is kept.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            // Writing to a String cannot fail.
            let _ = write!(safe, "\\u{{{:x}}}", u32::from(c));
        } else {
            safe.push(c);
        }
    }
    Cow::Owned(safe)
}

/// JSON text with DEL and the C1 controls escaped as well (`\u007f`): serde_json escapes only the
/// C0 controls, and the others drive a terminal as much. They can only stand inside strings, so
/// the text keeps its JSON value.
fn json_terminal_safe(text: &str) -> Cow<'_, str> {
    let escaped = |c: char| c.is_control() && c != '\n';
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            // Writing to a String cannot fail.
            let _ = write!(safe, "\\u{:04x}", u32::from(c));
        } else {
            safe.push(c);
        }
    }
    Cow::Owned(safe)
}

/// Formats an expiry time as RFC 3339 (UTC offset kept as the service sent it).
pub fn format_time(time: OffsetDateTime) -> String {
    // Formatting RFC 3339 fails only for years outside 0..=9999 or odd offsets; fall back to Display.
    time.format(&Rfc3339).unwrap_or_else(|_| time.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(report: &Report, format: OutputFormat) -> String {
        let mut out = Vec::new();
        report.write(format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table_aligns_values_after_the_longest_label() {
        let report = Report::new(json!({}))
            .row("User id", "8:acs:x")
            .row("Expires on", "2026-01-01T00:00:00Z");
        assert_eq!(
            render(&report, OutputFormat::Table),
            "User id     8:acs:x\nExpires on  2026-01-01T00:00:00Z\n"
        );
    }

    #[test]
    fn json_output_escapes_del_and_the_c1_controls_too() {
        let value = "a\u{1b}b\u{7f}c\u{9b}2J\u{9d}0;pwned\u{9c}\r\n";
        let out = render(
            &Report::new(json!({ "customId": value })),
            OutputFormat::Json,
        );
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(
            out.contains(r"b\u007fc\u009b2J\u009d0;pwned\u009c"),
            "{out}"
        );
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["customId"], value, "the same JSON value");
    }

    #[test]
    fn json_is_pretty_printed_with_a_trailing_newline() {
        let report = Report::new(json!({"id": "8:acs:x"})).row("User id", "ignored");
        assert_eq!(
            render(&report, OutputFormat::Json),
            "{\n  \"id\": \"8:acs:x\"\n}\n"
        );
    }

    #[test]
    fn controls_are_escaped_for_the_terminal() {
        // `char::is_control` is exactly C0, DEL and C1.
        for c in (0u32..=0x10ffff).filter_map(char::from_u32) {
            let expected = matches!(u32::from(c), 0..=0x1f | 0x7f..=0x9f);
            assert_eq!(c.is_control(), expected, "{:x}", u32::from(c));
        }
        assert_eq!(
            terminal_safe("\u{1b}]0;pwned\u{7}a\r\nb\u{7f}\u{9b}2J"),
            "\\u{1b}]0;pwned\\u{7}a\\u{d}\\u{a}b\\u{7f}\\u{9b}2J"
        );
        assert_eq!(
            terminal_safe("alice@contoso.com é 中"),
            "alice@contoso.com é 中"
        );
        let report = Report::new(json!({})).row("Custom id", "x\u{1b}[2J\ny");
        assert_eq!(
            render(&report, OutputFormat::Table),
            "Custom id  x\\u{1b}[2J\\u{a}y\n"
        );
    }

    #[test]
    fn times_are_rfc3339() {
        let time = time::macros::datetime!(2022-08-26 20:03:35.4402106 +00:00);
        assert_eq!(format_time(time), "2022-08-26T20:03:35.4402106Z");
    }
}
