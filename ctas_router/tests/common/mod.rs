//! What the router's tests share: the router as a process, an HTTP client, the stores
//! read with their own clients. Every service must be up (scripts/test.sh starts them);
//! a missing one fails the test, nothing is skipped.
#![allow(dead_code)]

pub mod openapi;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A file of the project's shared test data (`CTAS_SHARED_DATA`).
pub fn shared(path: &str) -> PathBuf {
    PathBuf::from(env("CTAS_SHARED_DATA")).join(path)
}

/// `POST /v1/ingest` with `body` as it is (gzip'd or not: the router reads the magic).
pub fn ingest(router: &Router, body: Vec<u8>) -> (u16, String, Value) {
    http::send(
        "POST",
        &format!("{}/v1/ingest", router.url),
        Some("application/json"),
        body,
    )
}

pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the router tests through scripts/test.sh (make test), which starts the services")
    })
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A router process on its own port and data directory, stopped on drop.
pub struct Router {
    child: Option<Child>,
    pub url: String,
    pub data_dir: PathBuf,
    /// A read token, when the router was started with tokens: [`Router::get`] sends it.
    read_token: Option<String>,
}

impl Router {
    pub fn start(data_dir: &Path) -> Router {
        Router::start_on(data_dir, free_port())
    }

    /// On a given port: a router restarted after a crash answers where it did.
    pub fn start_on(data_dir: &Path, port: u16) -> Router {
        Router::start_with(data_dir, port, test_dsn())
    }

    /// With a cold tier of its own (a database made by [`fresh_database`]).
    pub fn start_with(data_dir: &Path, port: u16, dsn: &str) -> Router {
        Router::start_opts(data_dir, port, dsn, &[], &[])
    }

    /// With more flags for `serve` and more environment variables.
    pub fn start_opts(
        data_dir: &Path,
        port: u16,
        dsn: &str,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Router {
        Router::spawn(data_dir, port, envs, |c| {
            c.env("CTAS_PG_DSN", dsn)
                .env("NEO4J_URI", env("NEO4J_URI"))
                .env("NEO4J_USER", env("NEO4J_USER"))
                .env("NEO4J_PASSWORD", env("NEO4J_PASSWORD"))
                .args(args);
        })
    }

    /// With nothing configured but its data directory: no PostgreSQL, no Neo4j.
    pub fn start_alone(data_dir: &Path, port: u16) -> Router {
        Router::spawn(data_dir, port, &[], |c| {
            c.env_remove("CTAS_PG_DSN")
                .env_remove("NEO4J_URI")
                .env_remove("CTAS_CONFIG");
        })
    }

    fn spawn(
        data_dir: &Path,
        port: u16,
        envs: &[(&str, &str)],
        configure: impl FnOnce(&mut Command),
    ) -> Router {
        // Appended to, so the log of a restarted router keeps what came before the crash.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.with_extension("log"))
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_ctas-router"));
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir);
        configure(&mut command);
        let child = command
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start ctas-router");
        let read_token = envs
            .iter()
            .find(|(k, _)| *k == "CTAS_READ_TOKENS")
            .and_then(|(_, v)| v.split(',').next())
            .map(str::to_owned);
        let router = Router {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
            data_dir: data_dir.to_owned(),
            read_token,
        };
        router.wait_until(
            Duration::from_secs(60),
            "the router to answer /healthz",
            |r| r.get("/healthz").is_some_and(|(s, _)| s == 200),
        );
        router
    }

    pub fn get(&self, path: &str) -> Option<(u16, Value)> {
        let url = format!("{}{path}", self.url);
        match &self.read_token {
            None => http::get(&url),
            Some(t) => {
                let auth = format!("Bearer {t}");
                let (status, _, body) =
                    http::try_call("GET", &url, &[("authorization", &auth)], None)?;
                Some((status, body))
            }
        }
    }

    pub fn post(&self, body: &Value) -> (u16, String, Value) {
        http::post(&format!("{}/v1/records", self.url), body)
    }

    pub fn wait_until(&self, timeout: Duration, what: &str, ok: impl Fn(&Router) -> bool) {
        let deadline = Instant::now() + timeout;
        while !ok(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; router log: {}",
                std::fs::read_to_string(self.data_dir.with_extension("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_synced(&self) -> Value {
        self.wait_synced_within(Duration::from_secs(60))
    }

    pub fn wait_synced_within(&self, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = Value::Null;
        loop {
            if let Some((_, status)) = self.get("/v1/status") {
                if status["synced"] == true {
                    return status;
                }
                last = status;
            }
            // What is still pending says which tier is slow, not only that one is.
            assert!(
                Instant::now() < deadline,
                "timed out waiting for every outbox to drain; last status: {last}; router log: {}",
                std::fs::read_to_string(self.data_dir.with_extension("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `ctas-router verify` a page of `page` objects at a time, as an operator runs it:
    /// it must find every tier holding what the hot tier holds (exit 0). What it printed.
    pub fn verify_clean(&self, page: usize) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_ctas-router"))
            .args(["verify", "--url", &self.url, "--page", &page.to_string()])
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{said}");
        said
    }

    /// SIGTERM, as an operator or systemd would stop it; it must exit cleanly.
    pub fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        assert!(exit.success(), "router exited with {exit}");
    }

    /// Send SIGTERM and leave the process to stop.
    pub fn terminate(&self) {
        let pid = self.child.as_ref().unwrap().id();
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Wait for the process to end, failing the test past `timeout`; its exit status.
    pub fn exit_within(mut self, timeout: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "the router did not exit within {timeout:?}; its log: {}",
                    std::fs::read_to_string(self.data_dir.with_extension("log"))
                        .unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The router's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.with_extension("log")).unwrap_or_default()
    }

    /// SIGKILL: a crash, with no chance to flush anything.
    pub fn crash(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A small blocking HTTP client over reqwest's async one, so the tests stay plain.
pub mod http {
    use reqwest::Client;
    use serde_json::Value;

    use super::openapi;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// One request; the answer's status, headers and body, the answer held to the
    /// OpenAPI document ([`openapi::check`]). None when nothing answers.
    fn exchange(
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Option<(u16, reqwest::header::HeaderMap, Vec<u8>)> {
        rt().block_on(async {
            let mut req = Client::new().request(method.parse().unwrap(), url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(b) = body {
                req = req.body(b);
            }
            let r = req.send().await.ok()?;
            let status = r.status().as_u16();
            let h = r.headers().clone();
            let bytes = r.bytes().await.ok()?.to_vec();
            let ctype = h
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            openapi::check(method, url, status, &ctype, &bytes);
            Some((status, h, bytes))
        })
    }

    fn json(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap_or(Value::Null)
    }

    pub fn get(url: &str) -> Option<(u16, Value)> {
        let (status, _, bytes) = exchange("GET", url, &[], None)?;
        Some((status, json(&bytes)))
    }

    /// Any request with the body and Content-Type given; the answer's status, its
    /// Content-Type and its body as JSON (Null when it is not JSON).
    pub fn send(
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String, Value) {
        let headers: Vec<(&str, &str)> = content_type
            .map(|t| ("content-type", t))
            .into_iter()
            .collect();
        let (status, h, bytes) = exchange(method, url, &headers, Some(body))
            .unwrap_or_else(|| panic!("{method} {url}: the router did not answer"));
        let ctype = h
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, ctype, json(&bytes))
    }

    /// [`send`], or None when nothing answers (the router is down, or was killed).
    pub fn try_send(
        method: &str,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Option<(u16, Value)> {
        let (status, _, bytes) =
            exchange(method, url, &[("content-type", content_type)], Some(body))?;
        Some((status, json(&bytes)))
    }

    /// A request with headers; the answer's status, headers and body as JSON.
    pub fn call(
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        try_call(method, url, headers, body)
            .unwrap_or_else(|| panic!("{method} {url}: the router did not answer"))
    }

    /// [`call`], or None when nothing answers.
    pub fn try_call(
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Option<(u16, reqwest::header::HeaderMap, Value)> {
        let mut headers = headers.to_vec();
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let body = body.map(|b| b.to_string().into_bytes());
        let (status, h, bytes) = exchange(method, url, &headers, body)?;
        Some((status, h, json(&bytes)))
    }

    /// The body of a GET, as text (`/metrics`).
    pub fn text(url: &str, headers: &[(&str, &str)]) -> String {
        let (_, _, bytes) = exchange("GET", url, headers, None)
            .unwrap_or_else(|| panic!("GET {url}: the router did not answer"));
        String::from_utf8(bytes).unwrap()
    }

    pub fn post(url: &str, body: &Value) -> (u16, String, Value) {
        send(
            "POST",
            url,
            Some("application/json"),
            body.to_string().into_bytes(),
        )
    }
}

/// A data directory of one test: removed when the test passes, kept (with the router's
/// log beside it) when it fails, for the post-mortem.
pub struct TestDir(pub PathBuf);

impl std::ops::Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept for inspection: {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
            let _ = std::fs::remove_file(self.0.with_extension("log"));
        }
    }
}

pub fn fresh_dir(name: &str) -> TestDir {
    let dir = std::env::temp_dir().join(format!(
        "ctas-test-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TestDir(dir)
}

/// `text` as one URL path segment or query value: what is not unreserved
/// (RFC 3986 section 2.3) percent-encoded.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A value no earlier run has used, so each test traces a record of its own.
pub fn unique_value(tag: &str) -> String {
    format!(
        "{tag}-{}-{}.example.net",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap()
    )
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A database of the tests' own, made anew once per run, so the cold tier the tests
/// fill is neither the demo's nor left from an earlier run.
pub fn test_dsn() -> &'static str {
    static DSN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DSN.get_or_init(|| fresh_database(concat!("ctas_router_", env!("CARGO_CRATE_NAME"))))
}

/// A database made anew (dropped first if an earlier run left it); its connection string.
pub fn fresh_database(name: &str) -> String {
    let admin = env("CTAS_PG_DSN");
    rt().block_on(async {
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .expect("connect to PostgreSQL");
        tokio::spawn(conn);
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            client
                .batch_execute(&sql)
                .await
                .expect("make a test database");
        }
    });
    format!("{admin} dbname={name}")
}

/// A database made anew with the extension installed and the history's schema made
/// (as SQL users load history themselves); its connection string.
pub fn fresh_database_with_history(name: &str) -> String {
    let dsn = fresh_database(name);
    rt().block_on(async {
        pg_at(&dsn)
            .await
            .batch_execute(
                "SET client_min_messages = warning; CREATE EXTENSION ctas; SELECT ctas_schema_upgrade()",
            )
            .await
            .unwrap();
    });
    dsn
}

/// A client of the database `dsn` names, its connection driven on the caller's runtime.
pub async fn pg_at(dsn: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(dsn, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(conn);
    client
}

/// A client of the tests' database, its connection driven on the caller's runtime.
pub async fn pg() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(test_dsn(), tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(conn);
    client
}

/// Remove the test's nodes (flat records' and the model's objects') from Neo4j, which
/// has one database for everyone.
pub fn graph_forget<S: AsRef<str>>(ids: &[S]) {
    let ids: Vec<String> = ids.iter().map(|s| s.as_ref().to_owned()).collect();
    rt().block_on(async {
        let graph = neo4rs::Graph::new(env("NEO4J_URI"), env("NEO4J_USER"), env("NEO4J_PASSWORD"))
            .expect("connect to Neo4j");
        for label in ["ThreatRecord", "Object"] {
            graph
                .run(
                    neo4rs::query(&format!(
                        "UNWIND $ids AS id MATCH (n:{label} {{id: id}}) DETACH DELETE n"
                    ))
                    .param("ids", ids.clone()),
                )
                .await
                .unwrap();
        }
    })
}

/// The record as PostgreSQL's history holds it, read with tokio-postgres: the report
/// it is (`observation_id` of its id) with the indicator it names.
pub fn cold_row(id: &str) -> Option<Value> {
    let report = ctas_core::model::observation_id(id);
    rt().block_on(async {
        let client = pg().await;
        let rows = client
            .query(
                "SELECT to_jsonb(r) || jsonb_build_object('kind', i.kind, 'value', i.value, 'indicator', i.id)
                 FROM ctas.reports r
                 LEFT JOIN ctas.sightings s ON s.report_id = r.id AND s.start_pos IS NULL
                 LEFT JOIN ctas.indicators i ON i.id = s.indicator_id
                 WHERE r.id = $1",
                &[&report],
            )
            .await
            .unwrap();
        assert!(rows.len() <= 1);
        rows.first().map(|r| r.get(0))
    })
}

/// How many nodes Neo4j has for this id, and the node's properties, read with neo4rs.
pub fn graph_nodes(id: &str) -> (i64, Option<(String, String, Option<i64>)>) {
    rt().block_on(async {
        let graph = neo4rs::Graph::new(env("NEO4J_URI"), env("NEO4J_USER"), env("NEO4J_PASSWORD"))
            .expect("connect to Neo4j");
        let mut rows = graph
            .execute(
                neo4rs::query(
                    "MATCH (r:ThreatRecord {id: $id}) \
                     RETURN count(r) AS n, collect([r.kind, r.value])[0] AS kv, \
                            collect(r.h3_cell)[0] AS cell",
                )
                .param("id", id),
            )
            .await
            .unwrap();
        let row = rows.next().await.unwrap().unwrap();
        let n: i64 = row.get("n").unwrap();
        let kv: Option<Vec<String>> = row.get("kv").unwrap();
        let cell: Option<i64> = row.get("cell").unwrap();
        (n, kv.map(|kv| (kv[0].clone(), kv[1].clone(), cell)))
    })
}

/// Every `sh` example of `docs/{doc}`, run with curl against `router` (`localhost:8077`
/// in the text stands for it): each must print the JSON of the `json` block under it.
/// `ctas-router serve` with these arguments (a fresh data directory and port given),
/// expected to refuse to start at once; what it said on stderr.
pub fn serve_refused(args: &[&std::ffi::OsStr]) -> String {
    let dir = fresh_dir("refused-serve");
    let out = Command::new(env!("CARGO_BIN_EXE_ctas-router"))
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(&*dir)
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "serve started with {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn doc_examples(router: &Router, doc: &str, at_least: usize) {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(doc);
    let text = std::fs::read_to_string(&doc_path).unwrap();
    let host = router.url.trim_start_matches("http://").to_owned();
    let mut ran = 0;
    for block in text.split("```sh\n").skip(1) {
        let (command, rest) = block.split_once("```").unwrap();
        let expected = rest
            .trim_start()
            .strip_prefix("```json\n")
            .and_then(|r| r.split_once("```"))
            .map(|(json, _)| json)
            .unwrap_or_else(|| panic!("{doc}: no json block after {command}"));
        assert!(
            command.contains("curl "),
            "{doc}: an sh example that is no curl: {command}"
        );
        let command = command.replace("localhost:8077", &host);
        // What the examples before wrote is in every tier before the next asks.
        router.wait_synced();
        let out = Command::new("sh")
            .args(["-c", &command])
            .output()
            .expect("run sh (curl and jq must be installed: scripts/install.sh)");
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{command}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        let want: Value = serde_json::from_str(expected)
            .unwrap_or_else(|e| panic!("{doc}: bad JSON ({e}): {expected}"));
        assert_eq!(got, want, "{command}\nprinted: {got}");
        ran += 1;
    }
    assert!(ran >= at_least, "{doc}: only {ran} examples");
}
