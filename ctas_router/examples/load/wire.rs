//! What goes over a connection of the open loop: HTTP/1.1 to the router, PostgreSQL's
//! extended query protocol to the peer. Both are written out here, request by request,
//! before the clock starts, so that neither side's client library is timed and both
//! sides are driven by the same loop.

use std::io::{Read, Write};
use std::net::TcpStream;

use bytes::BytesMut;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};
use postgres_protocol::message::frontend;
use postgres_protocol::IsNull;

/// One side of the comparison.
pub trait Wire: Send + Sync {
    /// A new connection, ready for requests (blocking).
    fn connect(&self) -> TcpStream;
    /// Every request's bytes; request `i` of a run is `requests()[i % len]`.
    fn requests(&self) -> &[Vec<u8>];
    /// The length of the whole answer at the start of `buf` once it is all in; panics on
    /// an answer that is not the one asked for (a benchmark of failures proves nothing).
    fn answered(&self, buf: &[u8]) -> Option<usize>;
}

/// `GET` requests on keep-alive connections, each answered 200 with a `Content-Length`
/// (as the router answers).
pub struct Http {
    addr: String,
    requests: Vec<Vec<u8>>,
}

impl Http {
    pub fn new(addr: &str, paths: &[String]) -> Http {
        let requests = paths
            .iter()
            .map(|p| format!("GET {p} HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes())
            .collect();
        Http {
            addr: addr.to_owned(),
            requests,
        }
    }
}

impl Wire for Http {
    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).expect("router reachable");
        s.set_nodelay(true).unwrap();
        s
    }

    fn requests(&self) -> &[Vec<u8>] {
        &self.requests
    }

    fn answered(&self, buf: &[u8]) -> Option<usize> {
        let head = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let text = std::str::from_utf8(&buf[..head]).expect("an HTTP head in UTF-8");
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        let length: usize = text
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().unwrap())
            })
            .unwrap_or_else(|| panic!("no Content-Length in {text}"));
        (buf.len() >= head + length).then_some(head + length)
    }
}

/// One prepared statement with one text parameter, executed once per request (Bind,
/// Execute, Sync); each answer must hold exactly one row.
pub struct Postgres {
    addr: String,
    startup: Vec<(String, String)>,
    password: Vec<u8>,
    sql: String,
    requests: Vec<Vec<u8>>,
}

/// Each connection's prepared statement.
const STATEMENT: &str = "lookup";

impl Postgres {
    /// `dsn` as libpq takes it (read by tokio-postgres); a TCP host.
    pub fn new(dsn: &str, sql: &str, params: &[String]) -> Postgres {
        let config: tokio_postgres::Config = dsn.parse().expect("a PostgreSQL DSN");
        let requests = params
            .iter()
            .map(|p| {
                let mut b = BytesMut::new();
                frontend::bind(
                    "",
                    STATEMENT,
                    [0],
                    [p.as_bytes()],
                    |v, buf| {
                        buf.extend_from_slice(v);
                        Ok(IsNull::No)
                    },
                    [1],
                    &mut b,
                )
                .map_err(|_| "bind")
                .unwrap();
                frontend::execute("", 0, &mut b).unwrap();
                frontend::sync(&mut b);
                b.to_vec()
            })
            .collect();
        let user = config.get_user().expect("a user in the DSN").to_owned();
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            None => "127.0.0.1".into(),
            Some(other) => panic!("the load generator connects over TCP, not {other:?}"),
        };
        Postgres {
            addr: format!("{host}:{}", config.get_ports().first().unwrap_or(&5432)),
            startup: vec![
                (
                    "database".into(),
                    config.get_dbname().unwrap_or(&user).to_owned(),
                ),
                ("user".into(), user),
            ],
            password: config.get_password().unwrap_or_default().to_vec(),
            sql: sql.to_owned(),
            requests,
        }
    }
}

/// The first whole message in `buf`: its tag, its body, and its length.
fn message(buf: &[u8]) -> Option<(u8, &[u8], usize)> {
    let len = u32::from_be_bytes(buf.get(1..5)?.try_into().unwrap()) as usize;
    let body = buf.get(5..1 + len)?;
    Some((buf[0], body, 1 + len))
}

/// Reads until a whole message is in `buf`, and takes it out.
fn next_message(s: &mut TcpStream, buf: &mut Vec<u8>) -> (u8, Vec<u8>) {
    loop {
        if let Some((tag, body, len)) = message(buf) {
            let m = (tag, body.to_vec());
            buf.drain(..len);
            assert!(tag != b'E', "PostgreSQL: {}", error_text(&m.1));
            return m;
        }
        let mut chunk = [0u8; 8192];
        let n = s.read(&mut chunk).expect("PostgreSQL reachable");
        assert!(n > 0, "PostgreSQL closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// An ErrorResponse's fields, readable.
fn error_text(body: &[u8]) -> String {
    body.split(|b| *b == 0)
        .filter(|f| f.len() > 1)
        .map(|f| format!("{}={}", f[0] as char, String::from_utf8_lossy(&f[1..])))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Wire for Postgres {
    fn connect(&self) -> TcpStream {
        let mut s = TcpStream::connect(&self.addr).expect("PostgreSQL reachable");
        s.set_nodelay(true).unwrap();
        let mut out = BytesMut::new();
        let mut buf = Vec::new();
        frontend::startup_message(
            self.startup.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &mut out,
        )
        .unwrap();
        s.write_all(&out).unwrap();
        let mut scram = None;
        loop {
            out.clear();
            let (tag, body) = next_message(&mut s, &mut buf);
            match (
                tag,
                body.get(..4)
                    .map(|c| u32::from_be_bytes(c.try_into().unwrap())),
            ) {
                (b'R', Some(0)) => {}
                (b'R', Some(3)) => frontend::password_message(&self.password, &mut out).unwrap(),
                (b'R', Some(10)) => {
                    let mechanisms = String::from_utf8_lossy(&body[4..]);
                    assert!(
                        mechanisms.split('\0').any(|m| m == "SCRAM-SHA-256"),
                        "PostgreSQL offers {mechanisms:?}, not SCRAM-SHA-256"
                    );
                    let s = ScramSha256::new(&self.password, ChannelBinding::unsupported());
                    frontend::sasl_initial_response("SCRAM-SHA-256", s.message(), &mut out)
                        .unwrap();
                    scram = Some(s);
                }
                (b'R', Some(11)) => {
                    let s = scram.as_mut().expect("SASL continues a SASL start");
                    s.update(&body[4..]).expect("the server's SCRAM challenge");
                    frontend::sasl_response(s.message(), &mut out).unwrap();
                }
                (b'R', Some(12)) => scram
                    .as_mut()
                    .expect("SASL ends a SASL start")
                    .finish(&body[4..])
                    .expect("the server's SCRAM proof"),
                (b'R', code) => panic!("PostgreSQL asks for authentication {code:?}, not handled"),
                (b'Z', _) => break,
                _ => {} // ParameterStatus, BackendKeyData, notices
            }
            if !out.is_empty() {
                s.write_all(&out).unwrap();
            }
        }
        out.clear();
        frontend::parse(STATEMENT, &self.sql, [], &mut out).unwrap();
        frontend::sync(&mut out);
        s.write_all(&out).unwrap();
        while next_message(&mut s, &mut buf).0 != b'Z' {}
        assert!(buf.is_empty());
        s
    }

    fn requests(&self) -> &[Vec<u8>] {
        &self.requests
    }

    fn answered(&self, buf: &[u8]) -> Option<usize> {
        let (mut at, mut rows) = (0, 0);
        loop {
            let (tag, body, len) = message(&buf[at..])?;
            at += len;
            match tag {
                b'E' => panic!("PostgreSQL: {}", error_text(body)),
                b'D' => rows += 1,
                b'Z' => {
                    assert_eq!(rows, 1, "the statement found {rows} rows, not one");
                    return Some(at);
                }
                _ => {}
            }
        }
    }
}
