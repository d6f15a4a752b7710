"""One normalisation and one id scheme: every spelling of an indicator gets one id, each
observable its STIX 2.1 deterministic id (checked against the stix2 library), and report
ids do not move with the session's TimeZone or DateStyle."""

# ruff: noqa: E501  (SQL reads better unbroken)

import ipaddress
import json
import uuid

import pytest
import stix2
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SHARED_DATA, history_database

# STIX 2.1 section 2.9: the namespace of deterministic ids.
STIX_NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")


def oracle_id(kind, normal):
    return f"indicator--{uuid.uuid5(STIX_NS, f'{kind}:{normal}')}"


def stix2_id(kind, value):
    """The id the stix2 library gives the observable an indicator is."""
    hashes = {
        "md5": "MD5",
        "sha1": "SHA-1",
        "sha256": "SHA-256",
        "sha512": "SHA-512",
        "ssdeep": "SSDEEP",
    }
    if kind in hashes:
        return stix2.File(hashes={hashes[kind]: value}).id
    if kind == "ipv4" or (kind == "cidr" and ":" not in value):
        return stix2.IPv4Address(value=value).id
    if kind == "ipv6" or kind == "cidr":
        return stix2.IPv6Address(value=value).id
    if kind == "asn":
        return stix2.AutonomousSystem(number=int(value.removeprefix("AS"))).id
    return {
        "domain": lambda: stix2.DomainName(value=value),
        "url": lambda: stix2.URL(value=value),
        "email": lambda: stix2.EmailAddress(value=value),
        "mac": lambda: stix2.MACAddress(value=value),
        "filename": lambda: stix2.File(name=value),
        "registry_key": lambda: stix2.WindowsRegistryKey(key=value),
    }[kind]().id


@pytest.fixture(scope="module")
def feeds():
    with history_database("ctas_ids_test") as conn:
        for f in sorted((SHARED_DATA / "stix" / "unit42").glob("*.json")):
            conn.execute("SELECT ctas_ingest_stix(%s::jsonb)", (f.read_text(),))
        for f in sorted((SHARED_DATA / "misp" / "eset").glob("*.json")):
            conn.execute("SELECT ctas_ingest_misp(%s::jsonb)", (f.read_text(),))
        yield conn


def test_every_observable_has_the_stix_id_stix2_gives_it(feeds):
    rows = feeds.execute(
        "SELECT kind, value, stix_id, ctas_observable_id(kind, value) FROM ctas.indicators"
    ).fetchall()
    kinds = {r[0] for r in rows}
    assert {"domain", "ipv4", "url", "sha256", "sha1", "md5", "email", "filename"} <= kinds
    checked = 0
    for kind, value, stored, computed in rows:
        if kind in ("cve", "bitcoin", "monero", "ethereum", "imphash") or kind.startswith(
            "attack_"
        ):
            assert stored is None and computed is None, (kind, value)
            continue
        assert stored == computed == stix2_id(kind, value), (kind, value)
        checked += 1
    assert checked > 1000


def test_every_spelling_of_an_indicator_gets_one_id(feeds):
    domains = [
        r[0]
        for r in feeds.execute(
            "SELECT value FROM ctas.indicators WHERE kind = 'domain' ORDER BY value LIMIT 200"
        )
    ]
    assert len(domains) == 200
    spellings = [
        (d, s) for d in domains for s in (d.upper(), d.replace(".", "[.]"), f"  {d.title()} ")
    ]
    got = feeds.execute(
        "SELECT ctas_indicator_id('domain', s) FROM unnest(%s::text[]) s",
        ([s for _, s in spellings],),
    ).fetchall()
    assert [g[0] for g in got] == [oracle_id("domain", d) for d, _ in spellings]
    # Through ingest too: one row whatever the spelling.
    feeds.execute(
        "SELECT ctas_ingest_report(jsonb_build_object('text', 'seen: EVIL-IDS[.]Example.COM, evil-ids.example.com', 'observed_at', '2031-01-01T00:00:00Z'))"
    )
    assert feeds.execute(
        "SELECT count(*), min(id) FROM ctas.indicators WHERE value = 'evil-ids.example.com'"
    ).fetchone() == (
        1,
        oracle_id("domain", "evil-ids.example.com"),
    )


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_ipv6_ids_follow_rfc_5952(conn, n):
    addr = ipaddress.IPv6Address(n)
    if addr.ipv4_mapped is not None or n < 2**32:
        return  # written with a dotted quad, where the RFC and Python's module differ
    spellings = [addr.exploded.upper(), addr.exploded, addr.compressed]
    got = conn.execute(
        "SELECT ctas_indicator_id('ipv6', s) FROM unnest(%s::text[]) s", (spellings,)
    ).fetchall()
    assert {g[0] for g in got} == {oracle_id("ipv6", addr.compressed)}


def test_report_ids_do_not_move_with_session_settings(feeds):
    body = "Test-ids: report id stability 203.0.113.200"
    want = f"report--{uuid.uuid5(STIX_NS, 'report:2026-10-15T09:00:00Z' + body)}"
    ids = set()
    for tz, style in [
        ("UTC", "ISO, MDY"),
        ("Asia/Tokyo", "SQL, DMY"),
        ("America/St_Johns", "German"),
    ]:
        feeds.execute(f"SET TimeZone = '{tz}'; SET DateStyle = '{style}'")
        ids.add(
            feeds.execute(
                "SELECT ctas_ingest_report(%s::jsonb)",
                (json.dumps({"text": body, "observed_at": "2026-10-15T11:00:00+02:00"}),),
            ).fetchone()[0]
        )
    feeds.execute("RESET TimeZone; RESET DateStyle")
    assert ids == {want}
