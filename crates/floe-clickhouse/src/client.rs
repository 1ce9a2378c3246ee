//! A blocking client for ClickHouse's HTTP interface, on `ureq`.
//!
//! ClickHouse's HTTP interface is plain HTTP/1.1 (POST a query, or a query
//! in the URL and data in the body); ureq is a small, maintained blocking
//! client with timeouts for each phase and rustls for `https://`, which
//! floe already builds for mail. Every request has a connect timeout and a
//! total one, and every answer is read up to a limit (the caller's, 64 MiB
//! at most by default), so a slow or hostile server costs bounded time
//! and memory. Credentials go in ClickHouse's `X-ClickHouse-User` /
//! `X-ClickHouse-Key` headers, never in a URL, a log line or an error.

use std::fmt;
use std::time::Duration;

use crate::error::{ClickHouseError, Result};

/// A password, shown as `***` by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The password itself, for the request header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The server and the table floe ships to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `http://host:8123` or `https://...` (no path, no credentials).
    pub url: String,
    /// The user (`X-ClickHouse-User`); the server's default user when
    /// none.
    pub user: Option<String>,
    /// The user's password (`X-ClickHouse-Key`).
    pub password: Option<Secret>,
    /// The database of the table.
    pub database: String,
    /// The table flows are shipped to (or read from).
    pub table: String,
}

impl Target {
    /// Parses `http[s]://[user[:password]@]host[:port][/]`: credentials
    /// in the URL are taken out of it (the password then comes from there,
    /// unless one is given otherwise). The port defaults to 8123 (8443 for
    /// https).
    pub fn parse(url: &str, database: &str, table: &str) -> Result<Target> {
        let bad = |what: &str| ClickHouseError::BadUrl {
            url: redact(url),
            what: what.to_string(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected http://HOST:PORT or https://HOST:PORT"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(bad("the scheme must be http or https"));
        }
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') || rest.contains('?') || rest.contains('#') {
            return Err(bad(
                "give the server alone (no path or query); the database and table are options",
            ));
        }
        let (creds, host) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let has_port = match host.rfind(']') {
            Some(end) => host[end..].contains(':'),
            None => host.contains(':'),
        };
        let host = if has_port {
            host.to_string()
        } else if scheme == "https" {
            format!("{host}:8443")
        } else {
            format!("{host}:8123")
        };
        let (user, password) = match creds {
            None => (None, None),
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (
                    Some(percent_decode(u)),
                    Some(Secret::new(percent_decode(p))),
                ),
                None => (Some(percent_decode(c)), None),
            },
        };
        Ok(Target {
            url: format!("{scheme}://{host}"),
            user,
            password,
            database: database.to_string(),
            table: table.to_string(),
        })
    }

    /// `host:port/database.table`, for logs and state file names.
    pub fn describe(&self) -> String {
        format!("{}/{}.{}", self.url, self.database, self.table)
    }
}

/// The URL with any credentials in it replaced by `***`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***@{}", &url[..s + 3], &url[at + 1..]),
        _ => url.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a URL query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// How long the client waits.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// To connect (and for TLS, to shake hands).
    pub connect: Duration,
    /// For a whole request: sending the body and reading the answer.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(120),
        }
    }
}

/// The longest answer read by default.
pub const MAX_ANSWER: u64 = 64 << 20;

/// A connection pool to one server.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    target: Target,
    max_answer: u64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("target", &self.target)
            .finish()
    }
}

impl Client {
    /// A client for `target` with `timeouts`, reading answers up to
    /// [`MAX_ANSWER`] long. Nothing is sent until the first request.
    pub fn new(target: Target, timeouts: Timeouts) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(timeouts.connect))
            .timeout_global(Some(timeouts.request))
            .max_redirects(0)
            .user_agent(format!("floe/{}", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent: config.into(),
            target,
            max_answer: MAX_ANSWER,
        }
    }

    /// Reads answers up to `bytes` long.
    pub fn with_max_answer(mut self, bytes: u64) -> Client {
        self.max_answer = bytes;
        self
    }

    /// The server (and table) this client talks to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    fn url(&self, params: &[(&str, &str)]) -> String {
        // Every statement floe sends names its tables in full, so no
        // `database` parameter (which fails before the database exists).
        let mut u = format!("{}/?", self.target.url);
        for (i, (k, v)) in params.iter().enumerate() {
            if i > 0 {
                u.push('&');
            }
            u.push_str(k);
            u.push('=');
            u.push_str(&url_encode(v));
        }
        u
    }

    fn transport(&self, e: ureq::Error) -> ClickHouseError {
        ClickHouseError::Transport {
            url: self.target.url.clone(),
            what: match e {
                ureq::Error::Io(io) => io.to_string(),
                other => other.to_string(),
            },
        }
    }

    /// Sends a request and reads the answer: the body of a 200, or the
    /// server's error.
    fn send(&self, params: &[(&str, &str)], body: &[u8]) -> Result<Vec<u8>> {
        let mut req = self.agent.post(self.url(params));
        if let Some(u) = &self.target.user {
            req = req.header("X-ClickHouse-User", u);
        }
        if let Some(p) = &self.target.password {
            req = req.header("X-ClickHouse-Key", p.expose());
        }
        let mut resp = req.send(body).map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let limit = if status == 200 {
            self.max_answer
        } else {
            64 << 10
        };
        let data = resp
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => ClickHouseError::TooLarge {
                    url: self.target.url.clone(),
                    limit,
                },
                other => self.transport(other),
            })?;
        if status == 200 {
            return Ok(data);
        }
        // ClickHouse repeats the query in its message: a long report's
        // SQL is cut, the reason kept.
        let mut message = String::from_utf8_lossy(&data).trim().to_string();
        if message.chars().count() > 1500 {
            let head: String = message.chars().take(700).collect();
            let tail: String = {
                let v: Vec<char> = message.chars().collect();
                v[v.len() - 700..].iter().collect()
            };
            message = format!("{head} [...] {tail}");
        }
        Err(ClickHouseError::Server {
            url: self.target.url.clone(),
            status,
            code: error_code(&message),
            message,
        })
    }

    /// Runs a statement or query (the text as the body) and returns the
    /// answer's text.
    pub fn query(&self, sql: &str) -> Result<String> {
        self.query_with(sql, &[])
    }

    /// [`Client::query`] with settings (`max_execution_time`...), sent as
    /// URL parameters, which every server version takes.
    pub fn query_with(&self, sql: &str, settings: &[(&str, &str)]) -> Result<String> {
        let mut params = vec![("wait_end_of_query", "1")];
        params.extend_from_slice(settings);
        let data = self.send(&params, sql.as_bytes())?;
        String::from_utf8(data).map_err(|_| ClickHouseError::Answer {
            url: self.target.url.clone(),
            what: "not UTF-8".into(),
        })
    }

    /// Runs a statement whose answer does not matter.
    pub fn execute(&self, sql: &str) -> Result<()> {
        self.query(sql).map(|_| ())
    }

    /// `INSERT ... FORMAT RowBinary` (the statement in the URL) with a
    /// body of rows in ClickHouse's compressed blocks
    /// ([`crate::compressed`]), as query `query_id`, with settings.
    pub fn insert(
        &self,
        statement: &str,
        compressed_body: &[u8],
        query_id: &str,
        settings: &[(&str, &str)],
    ) -> Result<()> {
        let mut params = vec![
            ("query", statement),
            ("query_id", query_id),
            ("decompress", "1"),
        ];
        params.extend_from_slice(settings);
        self.send(&params, compressed_body).map(|_| ())
    }

    /// `SELECT 1`: the server answers and the credentials work.
    pub fn ping(&self) -> Result<()> {
        let a = self.query("SELECT 1")?;
        if a.trim() == "1" {
            Ok(())
        } else {
            Err(ClickHouseError::Answer {
                url: self.target.url.clone(),
                what: format!("SELECT 1 gave {:?}", a.chars().take(80).collect::<String>()),
            })
        }
    }
}

/// ClickHouse's error code in a message (`Code: 60, e.displayText() = ...`).
fn error_code(message: &str) -> Option<u32> {
    let rest = message.strip_prefix("Code: ")?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        let t = Target::parse("http://bob:s%40cret@ch.example:9000/", "floe", "flows").unwrap();
        assert_eq!(t.url, "http://ch.example:9000");
        assert_eq!(t.user.as_deref(), Some("bob"));
        assert_eq!(t.password.as_ref().unwrap().expose(), "s@cret");
        assert!(!format!("{t:?}").contains("cret"));
        let t = Target::parse("https://[2001:db8::1]", "d", "t").unwrap();
        assert_eq!(t.url, "https://[2001:db8::1]:8443");
        assert_eq!(
            Target::parse("http://h", "d", "t").unwrap().url,
            "http://h:8123"
        );
        for bad in [
            "h:8123",
            "ftp://h",
            "http://h/x",
            "http://",
            "http://u:p@h/?q",
        ] {
            let e = Target::parse(bad, "d", "t").unwrap_err().to_string();
            assert!(!e.contains(":p@"), "{e}");
        }
        assert_eq!(redact("http://u:p@h:1"), "http://***@h:1");
        assert_eq!(error_code("Code: 60, e.displayText() = x"), Some(60));
        assert_eq!(url_encode("a b&c=d'"), "a%20b%26c%3Dd%27");
    }
}
