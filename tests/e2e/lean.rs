//! A lean HTTP/1.1 keep-alive client for the issue-token phase of the load driver, so the load
//! generator takes little of the two cores it shares with the emulator (like wrk or h2load): one raw
//! TCP connection (`TCP_NODELAY`), the request written by hand into a reused buffer, the reply read
//! into another reused buffer. Every request is still signed freshly (`acs_auth::sign` at the current
//! time, over the target as sent and the `Host` header) and every reply is checked: status 200 and a
//! JSON body with a non-empty string `token`; anything else is returned as an error for the caller to
//! count as unexpected.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, SystemTime};

use acs_auth::{AccessKey, RequestToSign, sign};
use reqwest::Url;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one request (connect, write, complete reply) may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The issue-token body every request sends.
pub const BODY: &[u8] = br#"{"scopes":["chat","voip"]}"#;
/// Longest reply head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Longest reply body accepted.
const MAX_BODY: usize = 1024 * 1024;
/// Reply bytes quoted in an error.
const SAMPLE: usize = 300;

/// Where to connect and what to put in `Host`, from an `http://host:port/` endpoint.
#[derive(Debug, Clone)]
pub struct Target {
    addr: SocketAddr,
    host: String,
    base_path: String,
}

impl Target {
    /// The address, `Host` value and base path of `endpoint` (plain http only).
    pub fn from_endpoint(endpoint: &Url) -> Result<Self, String> {
        if endpoint.scheme() != "http" {
            return Err(format!(
                "the lean client speaks plain http only, not {}",
                endpoint.scheme()
            ));
        }
        let host = endpoint
            .host_str()
            .ok_or_else(|| format!("endpoint {endpoint} has no host"))?;
        let port = endpoint
            .port_or_known_default()
            .ok_or_else(|| format!("endpoint {endpoint} has no port"))?;
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host}:{port} resolves to no address"))?;
        // The authority as a client sends it: the port only when it is not http's default.
        let host = match endpoint.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let base_path = endpoint.path().trim_end_matches('/').to_owned();
        Ok(Self {
            addr,
            host,
            base_path,
        })
    }

    /// The request target of issue-token for `id` (':' sent as `%3A`, like the SDKs do).
    pub fn issue_path(&self, id: &str, api_version: &str) -> String {
        format!(
            "{}/identities/{}/:issueAccessToken?api-version={api_version}",
            self.base_path,
            id.replace(':', "%3A")
        )
    }
}

/// Why a round trip failed.
enum Failure {
    /// The connection was closed or reset before any byte of the reply: a stale keep-alive
    /// connection when it had been used before.
    Closed(String),
    /// Anything else.
    Other(String),
}

impl Failure {
    fn into_message(self) -> String {
        match self {
            Self::Closed(m) | Self::Other(m) => m,
        }
    }
}

/// A parsed reply: status and where the body lies in the response buffer.
struct Head {
    status: u16,
    body_start: usize,
    body_len: usize,
    close: bool,
}

/// One keep-alive connection issuing tokens.
pub struct Issuer {
    target: Target,
    key: AccessKey,
    stream: Option<TcpStream>,
    /// Whether the current connection has completed a round trip already.
    used: bool,
    request: Vec<u8>,
    response: Vec<u8>,
    /// Connections opened (the first one included).
    pub connects: u64,
    /// Requests re-sent on a fresh connection because a used one was closed before replying.
    pub retries: u64,
}

impl Issuer {
    /// An issuer for `target` signing with `key`; connects on the first request.
    pub fn new(target: Target, key: AccessKey) -> Self {
        Self {
            target,
            key,
            stream: None,
            used: false,
            request: Vec::with_capacity(1024),
            response: Vec::with_capacity(4096),
            connects: 0,
            retries: 0,
        }
    }

    /// Issues a token at `path` (from [`Target::issue_path`]): `Ok` when the reply is 200 with a
    /// non-empty string `token`, otherwise an error describing the reply or the failure (never a
    /// key or a signature). Bounded by [`TIMEOUT`].
    pub async fn issue(&mut self, path: &str) -> Result<(), String> {
        match tokio::time::timeout(TIMEOUT, self.exchange(path)).await {
            Ok(result) => result,
            Err(_) => {
                self.stream = None;
                Err(format!("no complete reply within {TIMEOUT:?}"))
            }
        }
    }

    async fn exchange(&mut self, path: &str) -> Result<(), String> {
        self.build(path);
        let reused = self.stream.is_some() && self.used;
        let head = match self.round_trip().await {
            Ok(head) => head,
            // A used keep-alive connection the server closed meanwhile: once more on a new one.
            Err(Failure::Closed(_)) if reused => {
                self.retries += 1;
                self.build(path);
                self.round_trip().await.map_err(Failure::into_message)?
            }
            Err(failure) => return Err(failure.into_message()),
        };
        self.used = true;
        if head.close {
            self.stream = None;
        }
        let body = &self.response[head.body_start..head.body_start + head.body_len];
        let has_token = head.status == 200
            && serde_json::from_slice::<Value>(body).is_ok_and(|reply| {
                reply
                    .get("token")
                    .and_then(Value::as_str)
                    .is_some_and(|token| !token.is_empty())
            });
        if has_token {
            Ok(())
        } else {
            let sample = String::from_utf8_lossy(&body[..body.len().min(SAMPLE)]);
            Err(format!("{} {sample}", head.status))
        }
    }

    /// Writes the signed request into the request buffer.
    fn build(&mut self, path: &str) {
        let signed = sign(
            &self.key,
            &RequestToSign {
                method: "POST",
                path_and_query: path,
                host: &self.target.host,
                body: BODY,
            },
            SystemTime::now(),
        );
        let out = &mut self.request;
        out.clear();
        for part in [
            "POST ",
            path,
            " HTTP/1.1\r\nhost: ",
            &self.target.host,
            "\r\ncontent-type: application/json\r\ncontent-length: ",
        ] {
            out.extend_from_slice(part.as_bytes());
        }
        push_decimal(out, BODY.len());
        for part in [
            "\r\nx-ms-date: ",
            &signed.date,
            "\r\nx-ms-content-sha256: ",
            &signed.content_sha256,
            "\r\nauthorization: ",
            &signed.authorization,
            "\r\n\r\n",
        ] {
            out.extend_from_slice(part.as_bytes());
        }
        out.extend_from_slice(BODY);
    }

    /// Sends the request buffer and reads one complete reply; drops the connection on failure.
    async fn round_trip(&mut self) -> Result<Head, Failure> {
        let result = self.round_trip_inner().await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn round_trip_inner(&mut self) -> Result<Head, Failure> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.target.addr)
                .await
                .map_err(|e| Failure::Other(format!("connect {}: {e}", self.target.addr)))?;
            stream
                .set_nodelay(true)
                .map_err(|e| Failure::Other(format!("TCP_NODELAY: {e}")))?;
            self.stream = Some(stream);
            self.used = false;
            self.connects += 1;
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Failure::Other("no connection".to_owned()));
        };
        stream
            .write_all(&self.request)
            .await
            .map_err(|e| Failure::Closed(format!("sending the request failed: {e}")))?;
        self.response.clear();
        // Read until the end of the head, which may arrive over several reads.
        let mut searched = 0;
        let head_end = loop {
            if let Some(at) = find(&self.response[searched..], b"\r\n\r\n") {
                break searched + at + 4;
            }
            searched = self.response.len().saturating_sub(3);
            if self.response.len() > MAX_HEAD {
                return Err(Failure::Other(format!(
                    "reply head longer than {MAX_HEAD} bytes"
                )));
            }
            self.response.reserve(4096);
            let read = stream.read_buf(&mut self.response).await;
            match read {
                Ok(0) if self.response.is_empty() => {
                    return Err(Failure::Closed(
                        "connection closed before a reply".to_owned(),
                    ));
                }
                Ok(0) => {
                    return Err(Failure::Other(
                        "connection closed in the middle of a reply head".to_owned(),
                    ));
                }
                Ok(_) => {}
                Err(e) if self.response.is_empty() => {
                    return Err(Failure::Closed(format!("reading the reply failed: {e}")));
                }
                Err(e) => return Err(Failure::Other(format!("reading the reply failed: {e}"))),
            }
        };
        let mut head = parse_head(&self.response[..head_end]).map_err(Failure::Other)?;
        head.body_start = head_end;
        if head.body_len > MAX_BODY {
            return Err(Failure::Other(format!(
                "reply body of {} bytes is over {MAX_BODY}",
                head.body_len
            )));
        }
        let total = head_end + head.body_len;
        while self.response.len() < total {
            self.response.reserve(total - self.response.len());
            match stream.read_buf(&mut self.response).await {
                Ok(0) => {
                    return Err(Failure::Other(format!(
                        "connection closed after {} of {} body bytes",
                        self.response.len() - head_end,
                        head.body_len
                    )));
                }
                Ok(_) => {}
                Err(e) => return Err(Failure::Other(format!("reading the reply failed: {e}"))),
            }
        }
        if self.response.len() > total {
            return Err(Failure::Other(format!(
                "{} bytes after the end of the reply (nothing else was requested)",
                self.response.len() - total
            )));
        }
        Ok(head)
    }
}

/// Parses a reply head (status line and headers, ending in an empty line): status, body length
/// from `Content-Length`, and whether the server closes the connection.
fn parse_head(head: &[u8]) -> Result<Head, String> {
    let text = std::str::from_utf8(head).map_err(|_| "reply head is not UTF-8".to_owned())?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|_| version.starts_with("HTTP/1."))
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut content_length = None;
    let mut close = version == "HTTP/1.0";
    for line in lines.filter(|line| !line.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let length = value
                .parse::<usize>()
                .map_err(|_| format!("bad Content-Length {value:?}"))?;
            if content_length.is_some_and(|known| known != length) {
                return Err("conflicting Content-Length headers".to_owned());
            }
            content_length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // The emulator (hyper) sends Content-Length for its buffered JSON replies; a streamed
            // reply would be a change worth noticing rather than decoding here.
            return Err(format!(
                "reply uses Transfer-Encoding: {value}; the lean client expects Content-Length"
            ));
        } else if name.eq_ignore_ascii_case("connection") {
            close = value
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("close"));
        }
    }
    let body_len = match (status, content_length) {
        (100..=199 | 204 | 304, _) => 0,
        (_, Some(length)) => length,
        (_, None) => return Err(format!("{status} reply without Content-Length")),
    };
    Ok(Head {
        status,
        body_start: 0,
        body_len,
        close,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use acs_auth::{DEFAULT_MAX_CLOCK_SKEW, ReceivedRequest, verify};
    use tokio::net::TcpListener;

    /// Reads one request from `stream` and checks its signature as the emulator does; `None` when
    /// the client closed the connection.
    async fn read_verified(stream: &mut TcpStream, key: &AccessKey) -> Option<String> {
        let mut buf = Vec::new();
        let head_end = loop {
            if let Some(at) = find(&buf, b"\r\n\r\n") {
                break at + 4;
            }
            if stream.read_buf(&mut buf).await.unwrap() == 0 {
                return None;
            }
        };
        let head = std::str::from_utf8(&buf[..head_end]).unwrap().to_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap();
        let target = request_line.split(' ').nth(1).unwrap().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let length: usize = header("content-length").unwrap().parse().unwrap();
        while buf.len() < head_end + length {
            assert!(stream.read_buf(&mut buf).await.unwrap() > 0);
        }
        let received = ReceivedRequest {
            request: RequestToSign {
                method: request_line.split(' ').next().unwrap(),
                path_and_query: &target,
                host: header("host").unwrap(),
                body: &buf[head_end..],
            },
            date: header("x-ms-date"),
            content_sha256: header("x-ms-content-sha256"),
            authorization: header("authorization"),
        };
        verify(key, &received, SystemTime::now(), DEFAULT_MAX_CLOCK_SKEW).unwrap();
        assert_eq!(&buf[head_end..], BODY);
        Some(target)
    }

    /// Writes `reply` in pieces split at `cuts`, so the client sees it over several reads.
    async fn write_in_pieces(stream: &mut TcpStream, reply: &[u8], cuts: &[usize]) {
        let mut from = 0;
        for &cut in cuts.iter().chain([reply.len()].iter()) {
            stream.write_all(&reply[from..cut]).await.unwrap();
            stream.flush().await.unwrap();
            tokio::task::yield_now().await;
            from = cut;
        }
    }

    #[tokio::test]
    async fn signs_checks_replies_and_reconnects() {
        let key = AccessKey::from_bytes(b"lean client test key");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server_key = key.clone();
        let server = tokio::spawn(async move {
            let mut targets = Vec::new();
            // Connection 1: one good reply split inside the head and the body, then a close
            // without a reply after reading the second request.
            let (mut conn, _) = listener.accept().await.unwrap();
            conn.set_nodelay(true).unwrap();
            targets.push(read_verified(&mut conn, &server_key).await.unwrap());
            let ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 17\r\n\r\n{\"token\":\"t.o.k\"}";
            write_in_pieces(&mut conn, ok, &[5, 40, ok.len() - 4]).await;
            targets.push(read_verified(&mut conn, &server_key).await.unwrap());
            drop(conn);
            // Connection 2: the re-sent request, then the replies the client must reject.
            let (mut conn, _) = listener.accept().await.unwrap();
            targets.push(read_verified(&mut conn, &server_key).await.unwrap());
            write_in_pieces(&mut conn, ok, &[]).await;
            let replies: [&[u8]; 3] = [
                b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 6\r\n\r\ndenied",
                b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n{\"token\":\"\"}",
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
            ];
            for reply in replies {
                targets.push(read_verified(&mut conn, &server_key).await.unwrap());
                write_in_pieces(&mut conn, reply, &[]).await;
            }
            targets
        });

        let endpoint = Url::parse(&format!("http://{addr}/")).unwrap();
        let target = Target::from_endpoint(&endpoint).unwrap();
        let path = target.issue_path("8:acs:r_1", "2023-10-01");
        assert_eq!(
            path,
            "/identities/8%3Aacs%3Ar_1/:issueAccessToken?api-version=2023-10-01"
        );
        let mut issuer = Issuer::new(target, key);
        issuer.issue(&path).await.unwrap();
        issuer.issue(&path).await.unwrap();
        assert_eq!((issuer.connects, issuer.retries), (2, 1));
        let denied = issuer.issue(&path).await.unwrap_err();
        assert_eq!(denied, "401 denied");
        let empty = issuer.issue(&path).await.unwrap_err();
        assert!(empty.starts_with("200 "), "{empty}");
        let chunked = issuer.issue(&path).await.unwrap_err();
        assert!(chunked.contains("Transfer-Encoding"), "{chunked}");
        let targets = server.await.unwrap();
        assert_eq!(targets, vec![path; 6]);
    }

    #[test]
    fn parses_heads() {
        let head = parse_head(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 42\r\n\r\n",
        )
        .unwrap();
        assert_eq!((head.status, head.body_len, head.close), (200, 42, false));
        let head = parse_head(
            b"HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 7\r\n\r\n",
        )
        .unwrap();
        assert_eq!((head.status, head.body_len, head.close), (401, 7, true));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
    }

    #[test]
    fn decimals() {
        for n in [0usize, 7, 26, 1000, 123_456] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }
}
