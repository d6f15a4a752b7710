//! The router as operations run it: bearer tokens (RFC 6750), probes that tell the
//! tiers' real state, a stop that drains within a bound, request timeouts and a
//! connection limit. Against the real router process and the real tiers.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{free_port, fresh_dir, http, test_dsn, Router};
use serde_json::{json, Value};

const READ: &str = "read-token-0123456789abcdef";
const WRITE: &str = "write-token-0123456789abcdef";

fn secured(dir: &std::path::Path) -> Router {
    Router::start_opts(
        dir,
        free_port(),
        test_dsn(),
        &[],
        &[
            ("CTAS_READ_TOKENS", READ),
            ("CTAS_WRITE_TOKENS", WRITE),
            ("CTAS_LOG", "debug,surrealdb=warn,surrealkv=warn"),
        ],
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn record(value: &str) -> Value {
    json!({"kind": "domain", "value": value})
}

#[test]
fn tokens_grant_their_scope_and_nothing_more() {
    let dir = fresh_dir("auth");
    let router = secured(&dir);
    let url = |p: &str| format!("{}{p}", router.url);
    let value = common::unique_value("auth");

    // No token: 401 with the challenge of RFC 6750 §3, as problem+json.
    let (status, headers, body) = http::call("GET", &url("/v1/status"), &[], None);
    assert_eq!(status, 401);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["www-authenticate"], r#"Bearer realm="ctas-router""#);
    assert_eq!(body["type"], "urn:ctas:problem:unauthorized");

    // A token the router does not take: error="invalid_token".
    let wrong = bearer("not-a-token-of-this-router");
    let (status, headers, _) = http::call(
        "GET",
        &url("/v1/status"),
        &[("authorization", &wrong)],
        None,
    );
    assert_eq!(status, 401);
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains(r#"error="invalid_token""#));

    // A read token reads (GET, and the POSTs that store nothing)...
    let read = bearer(READ);
    let auth = [("authorization", read.as_str())];
    assert_eq!(http::call("GET", &url("/v1/status"), &auth, None).0, 200);
    assert_eq!(http::call("GET", &url("/metrics"), &auth, None).0, 200);
    let (status, _, body) = http::call(
        "POST",
        &url("/v1/indicators/lookup"),
        &auth,
        Some(&json!({"values": [value]})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["found"], false);
    // ...and cannot write: 403, error="insufficient_scope", scope="write".
    let (status, headers, body) =
        http::call("POST", &url("/v1/records"), &auth, Some(&record(&value)));
    assert_eq!(status, 403, "{body}");
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.contains(r#"scope="write""#), "{challenge}");
    assert_eq!(
        http::call("POST", &url("/v1/dead-letters/replay"), &auth, None).0,
        403
    );

    // A write token writes, and reads; the scheme's case does not matter (RFC 9110).
    let write = format!("bearer {WRITE}");
    let auth = [("authorization", write.as_str())];
    let (status, _, body) = http::call("POST", &url("/v1/records"), &auth, Some(&record(&value)));
    assert_eq!(status, 202, "{body}");
    let path = format!("/v1/indicators/{value}");
    let (status, _, body) = http::call("GET", &url(&path), &auth, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"], value.as_str());

    // The probes ask for nothing.
    assert_eq!(http::call("GET", &url("/healthz"), &[], None).0, 200);
    assert_eq!(http::call("GET", &url("/readyz"), &[], None).0, 200);

    // The refused write stored nothing: one record, the write token's.
    let (_, _, status) = http::call("GET", &url("/v1/status"), &auth, None);
    assert_eq!(status["tiers"]["hot"]["records"], 1, "{status}");

    // Nothing of any token reached the log, at debug level.
    let log = router.log();
    for secret in [READ, WRITE, "not-a-token-of-this-router"] {
        assert!(!log.contains(secret), "the log holds a token: {log}");
    }
    router.stop();
}

fn cli(router: &Router, token: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctas-router"));
    cmd.args(args)
        .env("CTAS_URL", &router.url)
        .env_remove("CTAS_TOKEN");
    if let Some(t) = token {
        cmd.env("CTAS_TOKEN", t);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_sends_its_token_and_says_when_one_is_missing() {
    let dir = fresh_dir("auth-cli");
    let router = secured(&dir);
    let value = common::unique_value("cli");

    let (code, _, err) = cli(&router, None, &["lookup", &value]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("401") && err.contains("CTAS_TOKEN"), "{err}");

    // A read token cannot ingest: exit 1, the router's reason named.
    let file = dir.join("one.ndjson");
    std::fs::write(&file, record(&value).to_string()).unwrap();
    let file = file.to_str().unwrap();
    let (code, _, err) = cli(&router, Some(READ), &["ingest", file]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("403") && err.contains("write token"), "{err}");

    let (code, _, err) = cli(&router, Some(WRITE), &["ingest", file]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cli(&router, Some(READ), &["lookup", &value, "nothing.invalid"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.starts_with(&format!("{value}\tdomain\t")), "{out}");
    router.stop();
}

/// `serve` with these settings, expected to refuse to start; what it said.
fn refused_start(args: &[&str], envs: &[(&str, &str)]) -> String {
    let dir = fresh_dir("refused");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctas-router"))
        .arg("serve")
        .arg("--data-dir")
        .arg(&*dir)
        .args(args)
        .env_remove("CTAS_READ_TOKENS")
        .env_remove("CTAS_WRITE_TOKENS")
        .env_remove("CTAS_TOKENS_FILE")
        .envs(envs.iter().copied())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve {args:?} started instead of refusing to");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    err
}

#[test]
fn an_open_api_is_refused_anywhere_but_loopback_and_bad_tokens_are_named() {
    let port = free_port().to_string();
    let any = format!("0.0.0.0:{port}");
    let err = refused_start(&["--listen", &any], &[]);
    assert!(
        err.contains(&format!("refusing to listen on {any} without tokens")),
        "{err}"
    );

    let err = refused_start(&[], &[("CTAS_WRITE_TOKENS", "short")]);
    assert!(
        err.contains("CTAS_WRITE_TOKENS, token 1: 5 characters"),
        "{err}"
    );
    assert!(!err.contains("short"), "the token itself is echoed: {err}");

    // A tokens file others can read is refused, as ssh refuses such a key.
    let dir = fresh_dir("tokens-file");
    let file = dir.join("tokens");
    std::fs::write(&file, format!("# ops\nread {READ}\nwrite\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = file.to_str().unwrap();
    let err = refused_start(&["--tokens-file", path], &[]);
    assert!(
        err.contains("mode 644") && err.contains("chmod 600"),
        "{err}"
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = refused_start(&["--tokens-file", path], &[]);
    assert!(err.contains(&format!("{path}, line 3")), "{err}");

    // A good file: its tokens work.
    std::fs::write(&file, format!("# ops\nread {READ}\n\nwrite {WRITE}\n")).unwrap();
    let router = Router::start_opts(
        &dir.join("data"),
        free_port(),
        test_dsn(),
        &["--tokens-file", path],
        &[],
    );
    let read = bearer(READ);
    let status = |token: &str| {
        http::call(
            "GET",
            &format!("{}/v1/status", router.url),
            &[("authorization", token)],
            None,
        )
        .0
    };
    assert_eq!(status(&read), 200);
    assert_eq!(status("Bearer nope-nope-nope-nope"), 401);
    router.stop();
}

#[test]
fn the_operations_examples_in_the_docs_answer_what_they_say() {
    let dir = fresh_dir("ops-docs");
    let router = Router::start_opts(
        &dir,
        free_port(),
        test_dsn(),
        &[],
        &[
            ("CTAS_READ_TOKENS", "read-0123456789abcdef"),
            ("CTAS_WRITE_TOKENS", "write-0123456789abcdef"),
        ],
    );
    common::doc_examples(&router, "operations.md", 4);
    router.stop();
}

#[test]
fn readiness_tells_each_tier_s_real_state() {
    // PostgreSQL where nothing listens: the cold tier is down for this router.
    let nowhere = format!("host=127.0.0.1 port={} user=ctas dbname=ctas", free_port());
    for (require, ready) in [("warm", true), ("warm,cold,graph", false)] {
        let dir = fresh_dir("ready");
        let router = Router::start_opts(
            &dir,
            free_port(),
            &nowhere,
            &[],
            &[("CTAS_REQUIRE", require)],
        );
        let (status, headers, body) =
            http::call("GET", &format!("{}/readyz", router.url), &[], None);
        let tiers = if ready {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["ready"], true);
            &body["tiers"]
        } else {
            assert_eq!(status, 503, "{body}");
            assert_eq!(headers["content-type"], "application/problem+json");
            assert_eq!(body["type"], "urn:ctas:problem:not-ready");
            let detail = body["detail"].as_str().unwrap();
            assert!(
                detail.starts_with("required tier(s) down: cold ("),
                "{detail}"
            );
            assert!(!detail.contains("graph"), "{detail}");
            &body["tiers"]
        };
        assert_eq!(tiers["hot"]["up"], true, "{body}");
        assert_eq!(tiers["warm"]["up"], true, "{body}");
        assert_eq!(tiers["graph"]["up"], true, "{body}");
        assert_eq!(tiers["cold"]["up"], false, "{body}");
        assert_eq!(tiers["cold"]["required"], !ready, "{body}");
        assert!(tiers["cold"]["error"].is_string(), "{body}");
        // Alive all the same: liveness says nothing of the tiers.
        assert_eq!(router.get("/healthz").unwrap().0, 200);
        router.stop();
    }
}

/// A POST of `body` sent in two halves `pause` apart, on a connection of its own.
struct SlowPost {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl SlowPost {
    fn begin(url: &str, path: &str, body: &[u8]) -> SlowPost {
        let addr = url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let half = body.len() / 2;
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body[..half]).unwrap();
        stream.flush().unwrap();
        SlowPost {
            stream,
            rest: body[half..].to_vec(),
        }
    }

    /// Send the rest; the answer's status line and body.
    fn finish(mut self) -> (String, String) {
        self.stream.write_all(&self.rest).unwrap();
        self.answer()
    }

    fn answer(mut self) -> (String, String) {
        let mut text = String::new();
        let _ = self.stream.read_to_string(&mut text);
        let status = text.lines().next().unwrap_or_default().to_owned();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
        (status, body)
    }
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_takes_no_new_one_and_flushes() {
    let dir = fresh_dir("drain");
    let port = free_port();
    let router = Router::start_opts(&dir, port, test_dsn(), &[], &[]);
    let value = common::unique_value("drain");
    let body = record(&value).to_string();

    let slow = SlowPost::begin(&router.url, "/v1/records", body.as_bytes());
    std::thread::sleep(Duration::from_millis(300));
    router.terminate();
    std::thread::sleep(Duration::from_millis(300));
    // The listener is closed: a new client is refused at once, not left waiting.
    let refused = TcpStream::connect(format!("127.0.0.1:{port}"));
    assert!(refused.is_err(), "a connection was taken after SIGTERM");
    // The request under way is answered in full.
    let (status, answer) = slow.finish();
    assert!(status.contains(" 202 "), "{status} {answer}");
    let stopped = Instant::now();
    let exit = router.exit_within(Duration::from_secs(30));
    assert!(exit.success(), "{exit}");
    eprintln!("stopped {:?} after its last request", stopped.elapsed());

    // What was acknowledged was flushed: a new router on the same data has it.
    let again = Router::start_opts(&dir, port, test_dsn(), &[], &[]);
    let (status, _, found) = http::call(
        "GET",
        &format!("{}/v1/indicators/{value}", again.url),
        &[],
        None,
    );
    assert_eq!(status, 200, "{found}");
    again.stop();
}

#[test]
fn a_stop_is_bounded_by_the_drain_timeout_and_keeps_nothing_half_sent() {
    let dir = fresh_dir("drain-bound");
    let port = free_port();
    let router = Router::start_opts(&dir, port, test_dsn(), &["--drain-timeout", "1"], &[]);
    let value = common::unique_value("stalled");
    // A client that sends half its body and then nothing.
    let stalled = SlowPost::begin(
        &router.url,
        "/v1/records",
        record(&value).to_string().as_bytes(),
    );
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    router.terminate();
    let log_dir = dir.0.clone();
    let exit = router.exit_within(Duration::from_secs(15));
    let took = asked.elapsed();
    assert!(exit.success(), "{exit}");
    // 1 s of drain, then the workers (5 s at most) and the flush.
    assert!(
        took >= Duration::from_secs(1),
        "stopped after {took:?}, before the drain ended"
    );
    let log = std::fs::read_to_string(log_dir.with_extension("log")).unwrap();
    assert!(log.contains("requests still in flight after 1 s"), "{log}");
    drop(stalled);

    let again = Router::start_opts(&dir, port, test_dsn(), &[], &[]);
    let (status, _, _) = http::call(
        "GET",
        &format!("{}/v1/indicators/{value}", again.url),
        &[],
        None,
    );
    assert_eq!(status, 404, "half a request was stored");
    again.stop();
}

#[test]
fn a_request_past_its_timeout_is_answered_503_and_stores_nothing() {
    let dir = fresh_dir("timeout");
    let router = Router::start_opts(
        &dir,
        free_port(),
        test_dsn(),
        &["--request-timeout", "0.5"],
        &[],
    );
    let value = common::unique_value("late");
    let slow = SlowPost::begin(
        &router.url,
        "/v1/records",
        record(&value).to_string().as_bytes(),
    );
    let (status, body) = slow.answer();
    assert!(status.contains(" 503 "), "{status}");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["type"], "urn:ctas:problem:timeout", "{problem}");
    assert_eq!(
        router.get(&format!("/v1/indicators/{value}")).unwrap().0,
        404
    );
    router.stop();
}

#[test]
fn connections_past_the_limit_wait_until_one_closes() {
    let dir = fresh_dir("limit");
    let router = Router::start_opts(
        &dir,
        free_port(),
        test_dsn(),
        &["--max-connections", "2"],
        &[],
    );
    let addr = router.url.trim_start_matches("http://").to_owned();
    // Two connections that say nothing hold both places.
    let first = TcpStream::connect(&addr).unwrap();
    let second = TcpStream::connect(&addr).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let probe = || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(1500)))
            .unwrap();
        write!(
            s,
            "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        text
    };
    assert_eq!(
        probe(),
        "",
        "a third connection was served past the limit of 2"
    );
    drop(first);
    let answer = probe();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(second);
    router.stop();
}

fn config_file(dir: &std::path::Path, text: &str) -> String {
    let file = dir.join("ctas-router.toml");
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_owned()
}

#[test]
fn config_check_names_the_bad_key() {
    let dir = fresh_dir("config-check");
    let check = |text: &str| {
        let file = config_file(&dir, text);
        let out = Command::new(env!("CARGO_BIN_EXE_ctas-router"))
            .args(["config", "check", &file])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), said.replace(&file, "FILE"))
    };
    let good = "listen = \"127.0.0.1:8099\"\nrequire = [\"warm\", \"cold\"]\n\
                [cold]\ndsn = \"host=db.internal dbname=ctas\"\n\
                [limits]\nmax_connections = 64\nrequest_timeout = 30\ndrain_timeout = 2.5\n";
    assert_eq!(check(good), (Some(0), "FILE: ok, 6 setting(s)\n".into()));
    for (text, said) in [
        (
            "[cold]\ndns = \"host=db\"\n",
            "FILE: unknown key `cold.dns`; did you mean `cold.dsn`?",
        ),
        (
            "listen = \"everywhere\"\n",
            "FILE: `listen`: invalid value 'everywhere' for '--listen <LISTEN>'",
        ),
        (
            "require = [\"warm\", \"cache\"]\n",
            "FILE: `require`: invalid value 'cache' for '--require <REQUIRE>'",
        ),
        (
            "[limits]\nmax_connections = true\n",
            "FILE: `limits.max_connections` cannot be a boolean",
        ),
        (
            "[limits]\nrequest_timeout = -1\n",
            "FILE: `limits.request_timeout`: invalid value '-1'",
        ),
        (
            "listen = \"0.0.0.0:8077\"\n",
            "FILE: refusing to listen on 0.0.0.0:8077 without tokens",
        ),
        ("listen = [", "FILE is not TOML"),
    ] {
        let (code, out) = check(text);
        assert_eq!(code, Some(1), "{text}: {out}");
        assert!(
            out.starts_with(&format!("ctas-router: {said}")),
            "{text}: {out}"
        );
    }
}

#[test]
fn serve_reads_its_file_and_flags_and_the_environment_win() {
    let dir = fresh_dir("config-serve");
    let nowhere = format!("host=127.0.0.1 port={} user=ctas dbname=ctas", free_port());
    // The file: a port nobody uses (the flag's wins), every tier required (the file's
    // stands), a read token (the environment's wins).
    let file = config_file(
        &dir,
        &format!(
            "listen = \"127.0.0.1:1\"\nrequire = [\"warm\", \"cold\", \"graph\"]\n\
             [cold]\ndsn = \"{nowhere}\"\n[auth]\nread_tokens = \"file-read-token-0123456789\"\n"
        ),
    );
    let router = Router::start_opts(
        &dir.join("data"),
        free_port(),
        test_dsn(),
        &["--config", &file],
        &[("CTAS_READ_TOKENS", READ)],
    );
    // The environment's CTAS_PG_DSN (the tests') wins over the file's cold.dsn too.
    let (status, _, body) = http::call("GET", &format!("{}/readyz", router.url), &[], None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tiers"]["cold"]["required"], true, "{body}");
    let url = format!("{}/v1/status", router.url);
    let file_token = bearer("file-read-token-0123456789");
    assert_eq!(
        http::call("GET", &url, &[("authorization", &file_token)], None).0,
        401
    );
    assert_eq!(
        http::call("GET", &url, &[("authorization", &bearer(READ))], None).0,
        200
    );
    assert!(router.log().contains(&file), "{}", router.log());
    router.stop();
}

#[test]
fn with_nothing_configured_the_router_runs_on_its_embedded_tiers_and_says_so() {
    let dir = fresh_dir("alone");
    let router = Router::start_alone(&dir, free_port());
    let log = router.log();
    for said in [
        "cold tier off: no PostgreSQL is configured (--pg-dsn, CTAS_PG_DSN, or cold.dsn",
        "graph tier off: no Neo4j is configured (--neo4j-uri, NEO4J_URI, or graph.uri",
    ] {
        assert!(log.contains(said), "{said}: {log}");
    }
    let value = common::unique_value("alone");
    let (status, _, answer) = http::post(
        &format!("{}/v1/records", router.url),
        &json!({"kind": "domain", "value": value, "lat": 48.85, "lng": 2.35,
                "observed_at": "2026-11-20T10:00:00Z", "source": "sensor-1"}),
    );
    assert_eq!(status, 202, "{answer}");
    let id = answer["ids"][0].as_str().unwrap().to_owned();
    // Synced once the warm tier has it: nothing is on its way to the tiers that are off.
    let status = router.wait_synced();
    for tier in ["cold", "graph"] {
        let t = &status["tiers"][tier];
        assert_eq!(
            (&t["off"], &t["pending"]),
            (&json!(true), &json!(0)),
            "{status}"
        );
    }
    assert_eq!(
        status["tiers"]["warm"]["records"].as_u64().map(|n| n > 0),
        Some(true)
    );
    let (code, ready) = router.get("/readyz").unwrap();
    assert_eq!(code, 200, "{ready}");
    assert_eq!(ready["tiers"]["cold"]["off"], true, "{ready}");
    // Known from the hot tier; unknown is unknown (the tiers that are off hold nothing).
    let (code, found) = router.get(&format!("/v1/indicators/{value}")).unwrap();
    assert_eq!((code, &found["tier"]), (200, &json!("hot")), "{found}");
    let (code, unknown) = router.get("/v1/indicators/203.0.113.251").unwrap();
    assert_eq!(code, 404, "{unknown}");
    // Reports by area from the warm tier alone, whole.
    let (code, reports) = router.get("/v1/reports?bbox=2,48,3,49").unwrap();
    assert_eq!(code, 200, "{reports}");
    assert_eq!(reports["unavailable"], json!([]), "{reports}");
    assert_eq!(
        reports["reports"][0]["indicators"][0]["value"],
        json!(value)
    );
    let (code, trace) = router.get(&format!("/v1/records/{id}/trace")).unwrap();
    assert_eq!(code, 200, "{trace}");
    assert_eq!(trace["tiers"]["cold"]["off"], true, "{trace}");
    assert_eq!(trace["tiers"]["warm"]["found"], true, "{trace}");
    assert_eq!(trace["tiers"]["warm"]["record"]["id"], json!(id), "{trace}");
    let (code, graph) = router.get(&format!("/v1/graph/{id}/neighbors")).unwrap();
    assert_eq!(
        (code, &graph["type"]),
        (503, &json!("urn:ctas:problem:tier-off")),
        "{graph}"
    );
    let (code, _, replay) = http::call(
        "POST",
        &format!("{}/v1/dead-letters/replay?tier=cold", router.url),
        &[],
        None,
    );
    assert_eq!(code, 409, "{replay}");
    let metrics = http::text(&format!("{}/metrics", router.url), &[]);
    assert!(
        metrics.contains(r#"ctas_tier_up{tier="warm"} 1"#),
        "{metrics}"
    );
    assert!(
        !metrics.contains(r#"ctas_tier_up{tier="cold"}"#),
        "{metrics}"
    );
    router.stop();

    // Requiring a tier that is off, or a warm TTL without the cold tier, is refused.
    for (args, said) in [
        (
            &["--require", "warm,cold"][..],
            "--require names the cold tier, which is off",
        ),
        (
            &["--warm-ttl", "30d"][..],
            "--warm-ttl drops from the warm tier",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ctas-router"))
            .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
            .arg("--data-dir")
            .arg(dir.join("refused"))
            .args(args)
            .env_remove("CTAS_PG_DSN")
            .env_remove("NEO4J_URI")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(said), "{args:?}: {err}");
    }
}

/// A command piped into one that has stopped reading ends there, as `cat` does: no
/// panic, no "Broken pipe" error (`ctas-router status | head`).
#[test]
fn a_command_whose_reader_is_gone_ends_quietly() {
    let dir = fresh_dir("closed-pipe");
    let router = Router::start_alone(&dir, free_port());
    let bin = env!("CARGO_BIN_EXE_ctas-router");
    for command in ["status", "verify --json"] {
        // `true` reads nothing and exits at once, long before the router has answered.
        let out = Command::new("sh")
            .args([
                "-c",
                &format!("{bin} {command} --url {} | true", router.url),
            ])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            !said.contains("panicked") && !said.contains("Broken pipe"),
            "{command}: {said}"
        );
    }
}
