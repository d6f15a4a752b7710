"""Scoring in SQL against the published golden values and the Python reference."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctas.reference import score as ref

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def decay_sql(conn, base, lifetime, speed, elapsed_days):
    at = T0 + timedelta(days=elapsed_days)
    return conn.execute(
        "SELECT ctas_decay(%s, %s, %s::interval, %s, %s)", (base, T0, lifetime, speed, at)
    ).fetchone()[0]


def test_misp_nids_simple_golden_values(conn):
    assert decay_sql(conn, 80, "120 days", 2, 10) == pytest.approx(56.90599, abs=1e-5)
    until = conn.execute("SELECT ctas_valid_until(80, %s, '120 days', 2, 30)", (T0,)).fetchone()[0]
    assert until == T0 + timedelta(days=46.875)


@pytest.mark.parametrize(
    ("rule", "days"),
    [("opencti:ip-url", [3.302, 14.976, 32.523]), ("opencti:default", [86.732, 226.995, 371.828])],
)
def test_opencti_golden_reaction_times(conn, rule, days):
    lifetime, speed = conn.execute(
        "SELECT lifetime_days, speed FROM ctas_decay_models WHERE name = %s", (rule,)
    ).fetchone()
    for target, want in zip([80, 50, 20], days, strict=True):
        until = conn.execute(
            "SELECT ctas_valid_until(100, %s, %s * interval '1 day', %s, %s)",
            (T0, lifetime, speed, target),
        ).fetchone()[0]
        assert (until - T0).total_seconds() / 86400 == pytest.approx(want, abs=5e-4)


@settings(max_examples=300, deadline=None)
@given(
    base=st.floats(0, 100),
    lifetime_days=st.integers(1, 2000),
    lifetime_hours=st.integers(0, 23),
    speed=st.floats(0.05, 20),
    elapsed=st.floats(-100, 3000),
)
def test_decay_matches_the_reference(conn, base, lifetime_days, lifetime_hours, speed, elapsed):
    lifetime = f"{lifetime_days} days {lifetime_hours} hours"
    got = decay_sql(conn, base, lifetime, speed, elapsed)
    # PostgreSQL timestamps have microsecond resolution: compare at the time SQL saw.
    at = T0 + timedelta(days=elapsed)
    seen = (at - T0) / timedelta(days=1)
    want = ref.decay(base, seen, ref.interval_days(0, lifetime_days, lifetime_hours * 3600), speed)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    base=st.floats(0.01, 100),
    target=st.floats(0, 100),
    lifetime_days=st.integers(1, 2000),
    speed=st.floats(0.05, 20),
)
def test_valid_until_matches_the_reference(conn, base, target, lifetime_days, speed):
    got = conn.execute(
        "SELECT ctas_valid_until(%s, %s, %s * interval '1 day', %s, %s)",
        (base, T0, lifetime_days, speed, target),
    ).fetchone()[0]
    want = ref.valid_until(base, T0, lifetime_days, speed, target)
    if want is None:
        assert got is None
    else:
        assert abs((got - want).total_seconds()) <= 1e-6


@pytest.mark.parametrize("scale", sorted(ref.SCALES))
def test_confidence_scales_match_the_specification_both_ways(conn, scale):
    rows = conn.execute(
        "SELECT v, ctas_confidence_to(%s, v) FROM generate_series(0, 100) v", (scale,)
    ).fetchall()
    assert rows == [(v, ref.confidence_to(scale, v)) for v in range(101)]
    for _, _, stix, label in ref.SCALES[scale]:
        for spelling in [label, *label.split("/"), label.upper()]:
            got = conn.execute("SELECT ctas_confidence_from(%s, %s)", (scale, spelling))
            assert got.fetchone()[0] == stix == ref.confidence_from(scale, spelling)


@pytest.mark.parametrize(
    ("sql", "args", "message"),
    [
        ("SELECT ctas_decay(80, now(), '-1 day', 2, now())", (), "lifetime must be positive"),
        ("SELECT ctas_decay(80, now(), '1 day', 0, now())", (), "speed must be a number > 0"),
        (
            "SELECT ctas_decay(101, now(), '1 day', 2, now())",
            (),
            "base must be a number in [0, 100]",
        ),
        ("SELECT ctas_decay(50, 'infinity', '1 day', 2, now())", (), "last_seen must be a finite"),
        ("SELECT ctas_valid_until(50, now(), '1 day', 2, -5)", (), "score must be a number in"),
        ("SELECT ctas_confidence_to('admiralty-reliability', 5)", (), "scale must be one of"),
        ("SELECT ctas_confidence_to('wep', 101)", (), "value must be an integer in [0, 100]"),
        ("SELECT ctas_confidence_from('none-low-med-high', 'Medium')", (), "not on the"),
        (
            "SELECT ctas_score(%s::jsonb, 'ctas:admiralty')",
            ('{"sources":[{"reliability":"G"}]}',),
            "reliability must be an Admiralty letter A-F",
        ),
    ],
)
def test_bad_input_is_22023_naming_the_argument(conn, sql, args, message):
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        conn.execute(sql, args)
    assert message in str(err.value)


def test_malformed_evidence_is_22p02_and_an_unknown_model_42704(conn):
    with pytest.raises(psycopg.errors.InvalidTextRepresentation) as err:
        conn.execute('SELECT ctas_score(\'{"sources":[{"confidance":5}]}\')')
    assert "confidance" in str(err.value)
    with pytest.raises(psycopg.errors.UndefinedObject):
        conn.execute("SELECT ctas_score('{}', 'no-such-model')")


def test_score_combines_sources_and_sightings_like_the_reference(conn):
    evidence = {
        "kind": "ipv4",
        "sources": [
            {"name": "feed-a", "confidence": 60},
            {"name": "feed-b", "reliability": "B", "credibility": "2"},
        ],
        "sightings": [
            {"at": "2026-01-02T10:00:00Z", "source": "ids"},
            {"at": "2026-01-02T11:00:00Z", "source": "ids"},
            {"at": "2026-01-03T09:00:00Z", "source": "ids"},
        ],
    }
    at = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    got = conn.execute(
        "SELECT ctas_score(%s::jsonb, 'opencti', %s)", (psycopg.types.json.Json(evidence), at)
    ).fetchone()[0]
    assert got["model"] == "opencti:ip-url"
    # OpenCTI rules have no taxonomy weights: feed-b falls back to the default base 100.
    sources = ref.noisy_or([0.6, 1.0])
    base = 100 * ref.noisy_or([sources, 0.1, 0.1])  # two independent (observer, day) pairs
    assert got["base"] == pytest.approx(base)
    assert got["independent_sightings"] == 2
    want = ref.decay(base, 7.0, 47, 3 * 0.55)
    assert got["score"] == pytest.approx(want, rel=1e-12)
    assert [s["source"] for s in got["sources"]] == ["feed-a", "feed-b"]


def test_builtin_models_are_rows_a_user_can_read_and_extend(conn):
    names = [r[0] for r in conn.execute("SELECT name FROM ctas_decay_models ORDER BY name")]
    assert {"misp:nids-simple", "opencti:ip-url", "opencti:default"} <= set(names)
    with conn.transaction():
        conn.execute(
            "INSERT INTO ctas_decay_models (name, kind, lifetime_days, speed, threshold,"
            " default_base_score) VALUES ('test:fast', 'misp', 10, 1, 50, 90)"
        )
        got = conn.execute(
            "SELECT ctas_score('{\"last_seen\":\"2026-01-01T00:00:00Z\"}', 'test:fast',"
            " '2026-01-06T00:00:00Z')"
        ).fetchone()[0]
        assert got["score"] == pytest.approx(45.0)
        assert got["decayed"] is True
        conn.execute("DELETE FROM ctas_decay_models WHERE name = 'test:fast'")


def test_volatility_is_told_honestly(conn):
    rows = conn.execute(
        "SELECT proname, pronargs, provolatile, proisstrict, proparallel FROM pg_proc"
        " WHERE proname IN ('ctas_decay', 'ctas_valid_until', 'ctas_score',"
        " 'ctas_confidence_to', 'ctas_confidence_from') ORDER BY 1, 2"
    ).fetchall()
    assert rows == [
        ("ctas_confidence_from", 2, "i", True, "s"),
        ("ctas_confidence_to", 2, "i", True, "s"),
        ("ctas_decay", 4, "s", True, "s"),  # uses now()
        ("ctas_decay", 5, "i", True, "s"),
        ("ctas_score", 3, "s", True, "s"),  # reads ctas_decay_models
        ("ctas_valid_until", 5, "i", True, "s"),
    ]


def test_score_agg_equals_ctas_score_of_the_merged_evidence(conn):
    rows = [
        ("203.0.113.7", {"kind": "ipv4", "sources": [{"name": "a", "confidence": 70}]}),
        ("203.0.113.7", {"sightings": [{"at": "2026-01-03T00:00:00Z", "source": "ids"}]}),
        ("203.0.113.7", None),
        ("198.51.100.1", {"kind": "ipv4", "last_seen": "2025-12-01T00:00:00Z"}),
    ]
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE ev (value text, evidence jsonb)")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO ev VALUES (%s, %s)",
                [(v, psycopg.types.json.Json(e) if e else None) for v, e in rows],
            )
        got = dict(
            conn.execute(
                "SELECT value, ctas_score_agg(evidence, 'opencti', '2026-01-10T00:00:00Z')"
                " FROM ev GROUP BY value"
            ).fetchall()
        )
        merged = {
            "kind": "ipv4",
            "sources": [{"name": "a", "confidence": 70}],
            "sightings": [{"at": "2026-01-03T00:00:00Z", "source": "ids"}],
        }
        want = conn.execute(
            "SELECT ctas_score(%s::jsonb, 'opencti', '2026-01-10T00:00:00Z')",
            (psycopg.types.json.Json(merged),),
        ).fetchone()[0]
        assert got["203.0.113.7"] == want
        assert got["198.51.100.1"]["reference_time"] == "2025-12-01T00:00:00Z"
        conn.execute("DROP TABLE ev")


def test_score_agg_of_no_rows_is_null(conn):
    got = conn.execute(
        "SELECT ctas_score_agg(NULL::jsonb, 'opencti', now()) FROM generate_series(1, 3)"
    ).fetchone()[0]
    assert got is None


@settings(max_examples=150, deadline=None)
@given(
    confidences=st.lists(st.integers(0, 100), max_size=5),
    sightings=st.lists(
        st.tuples(st.integers(0, 60 * 24 * 3600), st.sampled_from(["ids", "edr", "proxy"])),
        max_size=6,
    ),
    days_after=st.floats(0, 200),
)
def test_score_matches_the_reference_on_random_evidence(conn, confidences, sightings, days_after):
    seen = [(T0 + timedelta(seconds=s), who) for s, who in sightings]
    evidence = {
        "sources": [{"confidence": c} for c in confidences],
        "sightings": [{"at": when.isoformat(), "source": who} for when, who in seen],
    }
    at = T0 + timedelta(days=60 + days_after)
    got = conn.execute(
        "SELECT ctas_score(%s::jsonb, 'misp:nids-simple', %s)",
        (psycopg.types.json.Json(evidence), at),
    ).fetchone()[0]
    base, score = ref.combined_score(confidences, seen, 80, at, 120, 2)
    assert got["base"] == pytest.approx(base, rel=1e-12, abs=1e-12)
    assert got["score"] == pytest.approx(score, rel=1e-9, abs=1e-9)
