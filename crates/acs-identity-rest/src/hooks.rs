//! The hand-written part of the client: how the generated `Client` encodes path parameters and
//! sends its final request.
//!
//! The generator (`cargo xtask codegen`, see `xtask/src/codegen.rs` and `spec/README.md`) is told
//! that `Client` carries a [`Transport`] and that this file implements
//! `progenitor_client::ClientHooks` for it. It also rewrites progenitor's path-parameter
//! encoding into calls to `encode_path_parameter` here, which percent-encodes the way the
//! official SDKs do (`8:acs:...` becomes `8%3Aacs%3A...`; progenitor's own encoding leaves `:`
//! raw). So the `reqwest::Request` the generated code builds (URL, query, `accept`, JSON body) is
//! final apart from two details `exec` sees to: it removes the `api-version` *header* progenitor
//! adds to every request (the api-version travels in the query string only, as the official SDKs
//! send it), and frames a body-less `POST` with `Content-Length: 0`, as the SDKs send it; `exec` then
//! sends it through the installed [`RequestExecutor`], or straight through the client's
//! `reqwest::Client` when there is none. An optional body left empty (create without options)
//! goes out empty, not as `{}`: the generator routes it through `optional_json_body` here.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use progenitor_client::{ClientHooks, OperationInfo};

use crate::generated::Client;

/// A boxed, `Send` future, as returned by [`RequestExecutor::execute`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends the final request of an operation: the place to add headers, sign, retry and trace.
///
/// The request it receives is exactly what goes on the wire apart from what the executor adds:
/// method, URL (path parameters already percent-encoded, `api-version` in the query), headers
/// (`accept`; `content-type` with a JSON body and on a create without options, which has an
/// empty body as the official SDKs send it; `Content-Length: 0` on a body-less `POST`) and body
/// bytes (always in memory: no operation of this API streams a body). It may modify the
/// request, and it may send it more than once, signing every attempt afresh. (The facade's
/// executor sends it once: its retry loop calls the generated `send()` again for each try.)
///
/// What it returns is what the generated code decodes: the response that ends the operation, or
/// the `reqwest` error of the last attempt. Anything that can fail for another reason (getting a
/// bearer token, say) belongs before the operation is started, where its error can be returned
/// as it is.
///
/// `operation_id` is the operation's name as progenitor spells it, for example
/// `communication_identity_issue_access_token` (see `xtask/src/operations.rs` for all of them).
pub trait RequestExecutor: Send + Sync + 'static {
    /// Sends `request` and returns the response that the generated code then decodes.
    fn execute<'a>(
        &'a self,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>>;
}

/// How a [`Client`](crate::Client) sends requests: directly, or through a [`RequestExecutor`].
/// Clones of a `Client` share it.
#[derive(Clone, Default)]
pub struct Transport {
    executor: Option<Arc<dyn RequestExecutor>>,
}

impl Transport {
    /// Send each request as it is with the client's `reqwest::Client` (no auth, no retries).
    pub fn direct() -> Self {
        Self { executor: None }
    }

    /// Send each request through `executor`.
    pub fn with_executor(executor: impl RequestExecutor) -> Self {
        Self {
            executor: Some(Arc::new(executor)),
        }
    }

    /// Send each request through a shared `executor`.
    pub fn with_shared_executor(executor: Arc<dyn RequestExecutor>) -> Self {
        Self {
            executor: Some(executor),
        }
    }

    /// Whether an executor is installed.
    pub fn has_executor(&self) -> bool {
        self.executor.is_some()
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field(
                "executor",
                &if self.executor.is_some() {
                    "installed"
                } else {
                    "none"
                },
            )
            .finish()
    }
}

impl ClientHooks<Transport> for Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        send(&self.client, &self.inner, request, info).await
    }
}

impl ClientHooks<Transport> for crate::preview::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        send(&self.client, &self.inner, request, info).await
    }
}

/// The header progenitor adds and [`send`] removes (built at compile time: a `&str` key would be
/// parsed and validated on every request).
const API_VERSION_HEADER: reqwest::header::HeaderName =
    reqwest::header::HeaderName::from_static("api-version");

/// Sends a request as the generated code of either module built it: through the transport's
/// executor when it has one, else directly with `client`.
async fn send(
    client: &reqwest::Client,
    transport: &Transport,
    request: reqwest::Request,
    info: &OperationInfo,
) -> reqwest::Result<reqwest::Response> {
    let mut request = request;
    // progenitor adds an `api-version` header (the document's `info.version`) to every request;
    // the api-version travels in the query only, with the version the caller chose, as the
    // official SDKs send it.
    request.headers_mut().remove(&API_VERSION_HEADER);
    frame_empty_post(&mut request);
    match &transport.executor {
        None => client.execute(request).await,
        Some(executor) => executor.execute(request, info.operation_id).await,
    }
}

/// Sets the JSON body of an operation whose request body is optional (`required: false` in the
/// spec), as the official SDKs send it: when the body serializes to `{}` (no option set), the
/// request goes with `content-type: application/json` and an empty body (`exec` then frames it
/// with `Content-Length: 0`), not `{}`. `cargo xtask codegen` puts a call to this function where
/// progenitor writes `.json(&body)` for such an operation (the service accepts both forms).
pub(crate) fn optional_json_body<T: serde::Serialize>(
    builder: reqwest::RequestBuilder,
    body: &T,
) -> reqwest::RequestBuilder {
    let json = reqwest::header::HeaderValue::from_static("application/json");
    match serde_json::to_vec(body) {
        Ok(bytes) if bytes == b"{}" => builder.header(reqwest::header::CONTENT_TYPE, json),
        Ok(bytes) => builder
            .header(reqwest::header::CONTENT_TYPE, json)
            .body(bytes),
        // reqwest records the same serialization error in the builder.
        Err(_) => builder.json(body),
    }
}

/// A `POST` without a body says `Content-Length: 0`, as the official SDKs send it (hyper would
/// send no length at all for an empty body).
fn frame_empty_post(request: &mut reqwest::Request) {
    let empty = request
        .body()
        .is_none_or(|b| b.as_bytes().is_some_and(<[u8]>::is_empty));
    if request.method() == reqwest::Method::POST && empty {
        *request.body_mut() = Some(reqwest::Body::from(""));
        request.headers_mut().insert(
            reqwest::header::CONTENT_LENGTH,
            reqwest::header::HeaderValue::from_static("0"),
        );
    }
}

/// Percent-encodes one path parameter as the official SDKs do (what .NET's
/// `Uri.EscapeDataString` and Python's `quote(safe="")` produce): every byte of the UTF-8 text
/// except the RFC 3986 unreserved characters `A-Z a-z 0-9 - . _ ~` becomes `%XX` with upper-case
/// hex digits, so `8:acs:...` is `8%3Aacs%3A...`.
///
/// `cargo xtask codegen` rewrites progenitor's calls to `progenitor_client::encode_path` (which
/// leaves `:` and other characters raw) into calls to this function, so the URL the generated
/// code formats is final. The input is the raw value, never already encoded: a `%` is encoded
/// like any other reserved character. Text with nothing to encode is returned as it is.
pub(crate) fn encode_path_parameter(value: &str) -> Cow<'_, str> {
    let keep = &UNRESERVED;
    let bytes = value.as_bytes();
    let Some(first) = bytes.iter().position(|b| !keep[usize::from(*b)]) else {
        return Cow::Borrowed(value);
    };
    // Room for the worst case (every byte from `first` on encoded), so the String never grows;
    // cheaper than counting first, and the String lives only until the URL is formatted.
    let mut out =
        String::with_capacity(first.saturating_add((bytes.len() - first).saturating_mul(3)));
    out.push_str(value.get(..first).unwrap_or_default());
    // `bytes[i]` is to be encoded; after it comes a run of kept bytes (found with a tight
    // `position` scan), copied as it is. A run starts and ends on a character boundary: kept
    // bytes are ASCII, and the other bytes of a multi-byte character are never kept.
    let mut i = first;
    while let Some(&b) = bytes.get(i) {
        out.push_str(escape(b));
        i += 1;
        let rest = bytes.get(i..).unwrap_or_default();
        let run = rest
            .iter()
            .position(|b| !keep[usize::from(*b)])
            .unwrap_or(rest.len());
        if run > 0 {
            out.push_str(value.get(i..i + run).unwrap_or_default());
        }
        i += run;
    }
    Cow::Owned(out)
}

/// `%XX` (upper-case hex) of every byte value, `XX` being the value: `%00%01..%FF`.
const ESCAPES: &str = {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    const BYTES: [u8; 768] = {
        let mut table = [0u8; 768];
        let mut b = 0;
        while b < 256 {
            table[3 * b] = b'%';
            table[3 * b + 1] = HEX[b >> 4];
            table[3 * b + 2] = HEX[b & 0x0f];
            b += 1;
        }
        table
    };
    match std::str::from_utf8(&BYTES) {
        Ok(text) => text,
        Err(_) => "",
    }
};

/// `%XX` for byte `b`.
fn escape(b: u8) -> &'static str {
    let at = 3 * usize::from(b);
    ESCAPES.get(at..at + 3).unwrap_or_default()
}

/// Which byte values are RFC 3986 "unreserved" (`A-Z a-z 0-9 - . _ ~`): kept raw in a path
/// parameter.
const UNRESERVED: [bool; 256] = kept_bytes(b"-._~");

#[cfg(test)]
fn is_unreserved(b: u8) -> bool {
    UNRESERVED[usize::from(b)]
}

/// A table marking `A-Z a-z 0-9` and the bytes of `also`.
const fn kept_bytes(also: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < also.len() {
        table[also[i] as usize] = true;
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        encode_path_parameter(s).into_owned()
    }

    /// The reference encoding of a path parameter, by the percent-encoding crate (an
    /// independent implementation): everything but `A-Z a-z 0-9 - . _ ~` encoded.
    fn reference(s: &str) -> String {
        const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
    }

    #[test]
    fn encodes_colons_of_an_acs_id_with_upper_case_hex() {
        assert_eq!(
            enc("8:acs:00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444"),
            "8%3Aacs%3A00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444"
        );
        assert_eq!(enc("\u{00ff}\u{00ab}"), "%C3%BF%C2%AB");
    }

    #[test]
    fn keeps_exactly_the_unreserved_characters() {
        let unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
        assert!(matches!(
            encode_path_parameter(unreserved),
            Cow::Borrowed(s) if s == unreserved
        ));
        assert!(matches!(encode_path_parameter(""), Cow::Borrowed("")));
        // Every other ASCII byte is encoded, each as %XX with upper-case hex.
        for b in 0u8..0x80 {
            let c = char::from(b);
            let out = enc(&c.to_string());
            if unreserved.contains(c) {
                assert_eq!(out, c.to_string());
            } else {
                assert_eq!(out, format!("%{b:02X}"), "byte {b:#04x}");
            }
        }
    }

    #[test]
    fn encodes_reserved_characters_spaces_percent_and_utf8_once() {
        // The input is the raw id: nothing was encoded before, so `%` itself is encoded (no
        // double encoding, no decoding of something that only looks encoded).
        assert_eq!(enc("4:+1 x/y"), "4%3A%2B1%20x%2Fy");
        assert_eq!(enc("a%20b"), "a%2520b");
        assert_eq!(enc("100%"), "100%25");
        assert_eq!(
            enc("é/ü?#[]@!$&'()*,;="),
            "%C3%A9%2F%C3%BC%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2C%3B%3D"
        );
        assert_eq!(enc("8:acs:r_1 日本"), "8%3Aacs%3Ar_1%20%E6%97%A5%E6%9C%AC");
        assert_eq!(enc("~ok-._"), "~ok-._");
        assert_eq!(enc("x\u{1F600}"), "x%F0%9F%98%80");
    }

    #[test]
    fn agrees_with_a_reference_encoder_and_decodes_back() {
        // A reference with the percent-encoding crate (the encoding this replaces), over every
        // character class: ASCII, 2-, 3- and 4-byte UTF-8.
        let samples = [
            "plain",
            "8:acs:abc_def",
            " a+b/c%d ",
            "\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}",
            "mixé:日本/\u{1F600}-~",
        ];
        for s in samples {
            let ours = enc(s);
            assert_eq!(ours, reference(s), "{s:?}");
            let decoded = percent_encoding::percent_decode_str(&ours)
                .decode_utf8()
                .unwrap();
            assert_eq!(decoded, s);
        }
    }

    #[test]
    fn every_byte_value_has_its_upper_case_escape() {
        for b in 0..=255u8 {
            assert_eq!(escape(b), format!("%{b:02X}"));
            assert_eq!(
                is_unreserved(b),
                b.is_ascii_alphanumeric() || b"-._~".contains(&b),
                "{b:#04x}"
            );
        }
    }

    #[test]
    fn every_character_is_encoded_like_the_reference() {
        // Each character alone and between unreserved runs, so every run boundary is exercised.
        let mut text = String::new();
        for c in (0..=0x10FFFF).step_by(7).filter_map(char::from_u32) {
            text.clear();
            text.push(c);
            assert_eq!(enc(&text), reference(&text));
            text.insert_str(0, "ab");
            text.push_str("-z");
            text.push(c);
            assert_eq!(enc(&text), reference(&text));
        }
    }

    #[test]
    fn transport_debug_shows_no_internals() {
        assert_eq!(
            format!("{:?}", Transport::direct()),
            "Transport { executor: \"none\" }"
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::encode_path_parameter;

    proptest! {
        #[test]
        fn any_text_is_encoded_once_and_decodes_back(raw in "\\PC{0,40}|[ -~]{0,40}") {
            let out = encode_path_parameter(&raw);
            // Only unreserved characters and %XX (upper-case hex) in the output.
            let bytes = out.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%' {
                    prop_assert!(i + 2 < bytes.len(), "truncated escape in {out}");
                    let hex = &out[i + 1..i + 3];
                    prop_assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)), "{hex}");
                    i += 3;
                } else {
                    prop_assert!(super::is_unreserved(bytes[i]), "raw byte {:#04x}", bytes[i]);
                    i += 1;
                }
            }
            let decoded = percent_encoding::percent_decode_str(&out).decode_utf8().unwrap();
            prop_assert_eq!(decoded.as_ref(), raw.as_str());
            // Borrowed exactly when nothing needed encoding (then the output is the input).
            let all_unreserved = raw.bytes().all(super::is_unreserved);
            prop_assert_eq!(matches!(out, std::borrow::Cow::Borrowed(_)), all_unreserved);
        }
    }
}
