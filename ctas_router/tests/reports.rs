//! `GET /v1/reports?bbox=&h3=&since=&until=`: reports and the flat records' observations
//! asked of the warm tier (SurrealDB) by area and time. The truth is computed in the test
//! from what it sent: which points lie in the box, and which lie in an H3 cell by H3's
//! hierarchy — h3o's parent of the point's resolution-7 cell, as h3-pg's
//! `h3_cell_to_parent` would say (the router answers from an index range over the
//! stored cells, which this checks). H3 cells do not nest exactly: near an edge the
//! coarse cell a point falls in can differ from its fine cell's parent, and the test
//! found three such points at resolution 4. Real sled, SurrealDB, PostgreSQL
//! and Neo4j behind the router; a missing one fails.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use serde_json::{json, Value};

/// A point and a time per record; values are unique, so a report is known by the
/// indicator it names.
struct Sent {
    value: String,
    lat: f64,
    lng: f64,
    at: DateTime<Utc>,
}

/// Points over the whole globe, crowded about the antimeridian and a city, at distinct
/// times (some with fractions of a second, whose text sorts out of time order).
fn records(tag: &str) -> Vec<Sent> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    (0..600)
        .map(|i| {
            let (lat, lng) = match i % 3 {
                0 => (next() * 170.0 - 85.0, next() * 360.0 - 180.0),
                1 => (next() * 20.0 - 10.0, 175.0 + next() * 10.0),
                _ => (52.3 + next() * 0.4, 13.2 + next() * 0.4),
            };
            let lng = if lng > 180.0 { lng - 360.0 } else { lng };
            Sent {
                value: format!("{tag}-{i}.example.net"),
                lat,
                lng,
                at: start
                    + Duration::minutes(i * 617)
                    + Duration::milliseconds(if i % 4 == 0 { 250 } else { 0 }),
            }
        })
        .collect()
}

/// Every page of a query, following `next`: the values named, in the order answered.
fn all_pages(router: &Router, query: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = format!("/v1/reports?{query}&limit={limit}");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={}", c.replace(':', "%3A")));
        }
        let (status, page) = router.get(&q).expect("the router answers");
        assert_eq!(status, 200, "{q}: {page}");
        let reports = page["reports"].as_array().unwrap();
        assert!(reports.len() <= limit);
        for r in reports {
            let names = r["indicators"].as_array().unwrap();
            assert_eq!(names.len(), 1, "{r}");
            out.push(names[0]["value"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// What the answer must be: the records that pass, newest first.
fn expected(sent: &[Sent], keep: impl Fn(&Sent) -> bool) -> Vec<String> {
    let mut hits: Vec<&Sent> = sent.iter().filter(|s| keep(s)).collect();
    hits.sort_by_key(|s| std::cmp::Reverse(s.at));
    hits.into_iter().map(|s| s.value.clone()).collect()
}

fn cell_of(lat: f64, lng: f64, res: u8) -> u64 {
    let point = h3o::LatLng::new(lat, lng).unwrap();
    u64::from(point.to_cell(h3o::Resolution::try_from(res).unwrap()))
}

/// The cell at `res` that holds the point's resolution-7 cell.
fn parent_of(lat: f64, lng: f64, res: u8) -> u64 {
    let fine = h3o::CellIndex::try_from(cell_of(lat, lng, 7)).unwrap();
    u64::from(
        fine.parent(h3o::Resolution::try_from(res).unwrap())
            .unwrap(),
    )
}

#[test]
fn reports_are_found_by_box_cell_and_time() {
    let dir = fresh_dir("reports");
    // A history of its own: the cold tier answers too, and must hold only these.
    let dsn = fresh_database("ctas_test_reports");
    let router = Router::start_with(&dir, free_port(), &dsn);
    let tag = unique_value("area").replace('.', "-");
    let sent = records(&tag);
    let body: Vec<Value> = sent
        .iter()
        .map(|s| {
            json!({"kind": "domain", "value": s.value, "lat": s.lat, "lng": s.lng,
                   "observed_at": s.at.to_rfc3339(), "source": "sensor-9"})
        })
        .collect();
    let (status, _, answer) = router.post(&json!(body));
    assert_eq!(status, 202, "{answer}");
    router.wait_synced();

    // Only this test's records: its own time span.
    let span = "since=2026-01-01T00:00:00Z&until=2027-01-01T00:00:00Z";
    assert_eq!(all_pages(&router, span, 1000), expected(&sent, |_| true));
    // Pages of 7 give the same list as one page.
    assert_eq!(all_pages(&router, span, 7), expected(&sent, |_| true));

    // A box about Berlin, and one across the antimeridian (west edge east of the east).
    let berlin = |s: &Sent| (52.4..=52.6).contains(&s.lat) && (13.3..=13.5).contains(&s.lng);
    let want = expected(&sent, berlin);
    assert!(want.len() > 20, "{}", want.len());
    assert_eq!(
        all_pages(&router, &format!("{span}&bbox=13.3,52.4,13.5,52.6"), 10),
        want
    );
    let across = |s: &Sent| (-5.0..=5.0).contains(&s.lat) && (s.lng >= 178.0 || s.lng <= -178.0);
    let want = expected(&sent, across);
    assert!(want.len() > 10, "{}", want.len());
    assert_eq!(
        all_pages(&router, &format!("{span}&bbox=178,-5,-178,5"), 1000),
        want
    );

    // A cell at each resolution from 7 up to 0, in hex and in decimal: the records whose
    // resolution-7 cell has it for its parent.
    let (lat, lng) = (sent[2].lat, sent[2].lng);
    for res in [7u8, 5, 4, 2, 0] {
        let cell = parent_of(lat, lng, res);
        let inside = |s: &Sent| parent_of(s.lat, s.lng, res) == cell;
        let want = expected(&sent, inside);
        assert!(!want.is_empty());
        for form in [format!("{cell:x}"), cell.to_string()] {
            let got = all_pages(&router, &format!("{span}&h3={form}"), 1000);
            assert_eq!(got, want, "res {res}, h3={form}");
        }
    }

    // A time window with fractions of a second at its ends, with a box: since is
    // inclusive, until exclusive.
    let (since, until) = (sent[100].at, sent[400].at);
    let window = |s: &Sent| s.at >= since && s.at < until;
    let query = format!(
        "since={}&until={}&bbox=-180,-90,180,90",
        since.to_rfc3339().replace('+', "%2B"),
        until.to_rfc3339().replace('+', "%2B")
    );
    assert_eq!(all_pages(&router, &query, 50), expected(&sent, window));

    // An answer in full: the report is the record's observation, its cell in hex.
    let s = &sent[1];
    let (status, page) = router
        .get(&format!(
            "/v1/reports?h3={:x}&since={}",
            cell_of(s.lat, s.lng, 7),
            s.at.to_rfc3339().replace('+', "%2B")
        ))
        .unwrap();
    assert_eq!(status, 200);
    let r = page["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["indicators"][0]["value"] == s.value.as_str())
        .unwrap_or_else(|| panic!("{page}"));
    assert_eq!(r["h3_cell"], format!("{:x}", cell_of(s.lat, s.lng, 7)));
    assert_eq!(r["lat"], s.lat);
    assert_eq!(r["source"], "sensor-9");
    assert_eq!(r["indicators"][0]["kind"], "domain");
    let id = r["id"].as_str().unwrap();
    let (status, whole) = router.get(&format!("/v1/records/{id}")).unwrap();
    assert_eq!(status, 200, "{whole}");
    assert!(whole.get("_t").is_none(), "{whole}");
    assert_eq!(
        (&whole["id"], &whole["observed_at"]),
        (&json!(id), &r["observed_at"])
    );

    // A MISP event of ESET's, placed nowhere: found by its time, with what it names.
    let path = shared("misp/eset/mozi_mozi.misp-event.json");
    let export: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let ev = &export["response"][0]["Event"];
    let (status, _, answer) = ingest(&router, std::fs::read(&path).unwrap());
    assert_eq!(status, 202, "{answer}");
    router.wait_synced();
    let (status, page) = router
        .get("/v1/reports?since=2023-10-01T00:00:00Z&until=2023-12-01T00:00:00Z")
        .unwrap();
    assert_eq!(status, 200, "{page}");
    let uuid = ev["uuid"].as_str().unwrap();
    let r = page["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == format!("report--{uuid}").as_str())
        .unwrap_or_else(|| panic!("{page}"));
    assert_eq!(r["title"], ev["info"]);
    assert_eq!(r["h3_cell"], Value::Null);
    let named: Vec<&str> = r["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    let hashes: Vec<String> = ev["Object"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|o| o["Attribute"].as_array().unwrap())
        .chain(ev["Attribute"].as_array().into_iter().flatten())
        .filter(|a| a["type"] == "sha256")
        .map(|a| a["value"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(!hashes.is_empty());
    for h in &hashes {
        assert!(named.contains(&h.as_str()), "{h} not in {named:?}");
    }
    // Outside any box: a report with no place is never in one.
    let (_, boxed) = router
        .get("/v1/reports?since=2023-10-01T00:00:00Z&until=2023-12-01T00:00:00Z&bbox=-180,-90,180,90")
        .unwrap();
    assert_eq!(boxed["reports"], json!([]), "{boxed}");
}

#[test]
fn a_bad_area_or_time_is_refused_by_name() {
    let dir = fresh_dir("reports-bad");
    let router = Router::start(&dir);
    for (query, names) in [
        ("bbox=1,2,3", "bbox must be four numbers"),
        (
            "bbox=1,95,3,4",
            "south must be a number of degrees in [-90, 90]",
        ),
        ("bbox=1,5,3,4", "south (5) is north of north (4)"),
        (
            "bbox=200,0,3,4",
            "west must be a number of degrees in [-180, 180]",
        ),
        (
            "h3=8928308280fffff",
            "resolution 9, finer than the resolution 7",
        ),
        ("h3=hello", "h3 must be an H3 cell index"),
        (
            "since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            "since (2026-02-01T00:00:00+00:00) must be before until",
        ),
        ("since=yesterday", "since"),
        ("limit=0", "limit must be 1 to 1000"),
        ("cursor=abc", "is not a `next` this API gave"),
        ("colour=red", "colour"),
    ] {
        let (status, problem) = router.get(&format!("/v1/reports?{query}")).unwrap();
        assert_eq!(status, 422, "{query}: {problem}");
        assert_eq!(problem["type"], "urn:ctas:problem:invalid-query", "{query}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(names), "{query}: {detail}");
    }
}

#[test]
fn reports_past_the_warm_window_come_from_the_history_in_the_same_pages() {
    let dir = fresh_dir("reports-cold");
    let dsn = fresh_database("ctas_test_reports_cold");
    let router = Router::start_opts(
        &dir,
        free_port(),
        &dsn,
        &["--warm-ttl", "30d", "--demote-every", "1s"],
        &[],
    );
    // Twelve records of 2020 (past the warm TTL once the history has them) and twelve
    // of the last hours, all in one box.
    let tag = unique_value("window").replace('.', "-");
    let now = Utc::now();
    let sent: Vec<Sent> = (0..24)
        .map(|i| Sent {
            value: format!("{tag}-{i}.example.net"),
            lat: 40.0 + i as f64 / 100.0,
            lng: -3.7,
            at: if i < 12 {
                Utc.with_ymd_and_hms(2020, 3, 1, 0, 0, 0).unwrap() + Duration::hours(i)
            } else {
                now - Duration::minutes(i * 7)
            },
        })
        .collect();
    let body: Vec<Value> = sent
        .iter()
        .map(|s| {
            json!({"kind": "domain", "value": s.value, "lat": s.lat, "lng": s.lng,
                        "observed_at": s.at.to_rfc3339()})
        })
        .collect();
    let (status, _, answer) = router.post(&json!(body));
    assert_eq!(status, 202, "{answer}");
    router.wait_synced();
    // The old ones leave the warm tier (their observation reports with them).
    let old_report = {
        let (_, page) = router
            .get("/v1/reports?since=2020-03-01T00:00:00Z&until=2020-03-01T00:30:00Z")
            .unwrap();
        page["reports"][0]["id"].as_str().unwrap().to_owned()
    };
    router.wait_until(
        Duration::seconds(60).to_std().unwrap(),
        "warm to let 2020 go",
        |r| {
            let (_, trace) = r.get(&format!("/v1/records/{old_report}/trace")).unwrap();
            trace["tiers"]["warm"]["found"] == false && trace["tiers"]["cold"]["found"] == true
        },
    );
    // One box, every page of 5: the recent from warm, the old from the history, in order.
    let all = expected(&sent, |_| true);
    assert_eq!(all_pages(&router, "bbox=-3.8,39.9,-3.6,40.3", 5), all);
    let (_, page) = router.get("/v1/reports?bbox=-3.8,39.9,-3.6,40.3").unwrap();
    assert_eq!(page["unavailable"], json!([]), "{page}");
}
