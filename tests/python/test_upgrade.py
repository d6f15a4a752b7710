"""ALTER EXTENSION ctas UPDATE: an upgraded database has what a new one has."""

# ruff: noqa: E501  (SQL reads better unbroken)

import re
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import ctas

ROOT = Path(__file__).resolve().parents[2]

# Every object of the extension, with its definition where it has one, and its grants.
MEMBERS = """
SELECT pg_describe_object(d.classid, d.objid, 0) AS object,
       CASE WHEN d.classid = 'pg_proc'::regclass AND p.prokind <> 'a' THEN pg_get_functiondef(d.objid) END AS definition,
       obj_description(d.objid, d.classid::regclass::text) AS comment,
       coalesce(p.proacl, c.relacl)::text AS grants
FROM pg_depend d LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ctas')
ORDER BY 1
"""
COLUMNS = """
SELECT table_name, column_name, data_type, column_default, is_nullable
FROM information_schema.columns WHERE table_name LIKE 'ctas\\_%' ORDER BY 1, 2
"""
# Functions whose C symbol changed in 0.2.0 (plain V1 functions; the library keeps
# 0.1.0's names for them too).
CHANGED_FUNCTIONS = (
    "SELECT ctas_valid_until(80, '2026-01-01', '120 days', 2, 30),"
    " ctas_valid_until(80, '2026-01-01', '120 days', 2, 90)",
    "SELECT * FROM ctas_h3_getis_ord(ARRAY[ctas_h3_cell(0, 0, 5), ctas_h3_cell(0, 1, 5)], ARRAY[1.0, 3.0])",
    "SELECT * FROM ctas_dbscan(ARRAY[1, 2, 3], ARRAY[0, 0, 9], ARRAY[0, 0.0001, 9], 50, 2)",
)


@pytest.fixture
def databases():
    names = ["ctas_upgrade_old", "ctas_upgrade_new"]
    with ctas.connect(autocommit=True) as admin:
        for name in names:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = conninfo_to_dict(ctas.dsn())
    conns = [
        psycopg.connect(make_conninfo(**{**params, "dbname": n}), autocommit=True) for n in names
    ]
    yield conns
    for c in conns:
        c.close()


def test_an_upgraded_extension_equals_a_new_one(databases):
    old, new = databases
    old.execute("CREATE EXTENSION ctas VERSION '0.1.0'")
    with pytest.raises(psycopg.errors.UndefinedFunction):
        old.execute("SELECT ctas_refang('a[.]b')")
    # 0.1.0's install script names the C symbols of that version; the library still has them.
    before = [old.execute(q).fetchall() for q in CHANGED_FUNCTIONS]
    assert before[0][0][1] is None and before[0][0][0] is not None
    assert before[2] == [(1, 0), (2, 0), (3, None)]
    old.execute("ALTER EXTENSION ctas UPDATE")
    new.execute("CREATE EXTENSION ctas")
    version = "SELECT extversion FROM pg_extension WHERE extname = 'ctas'"
    assert old.execute(version).fetchone() == new.execute(version).fetchone()
    assert old.execute(MEMBERS).fetchall() == new.execute(MEMBERS).fetchall()
    assert old.execute(COLUMNS).fetchall() == new.execute(COLUMNS).fetchall()
    assert [old.execute(q).fetchall() for q in CHANGED_FUNCTIONS] == before
    assert old.execute(
        "SELECT ctas_refang('a[.]b'), count(*) FROM ctas_decay_models"
    ).fetchone() == (
        "a.b",
        new.execute("SELECT count(*) FROM ctas_decay_models").fetchone()[0],
    )


POSTGIS_MEMBERS = MEMBERS.replace("extname = 'ctas'", "extname = 'ctas_postgis'")


def test_an_upgraded_ctas_postgis_equals_a_new_one(databases):
    old, new = databases
    for conn in (old, new):
        conn.execute("CREATE EXTENSION ctas")
        conn.execute("CREATE EXTENSION postgis")
    old.execute("CREATE EXTENSION ctas_postgis VERSION '0.1.0'")
    old.execute("ALTER EXTENSION ctas_postgis UPDATE")
    new.execute("CREATE EXTENSION ctas_postgis")
    version = "SELECT extversion FROM pg_extension WHERE extname = 'ctas_postgis'"
    # The version the control file installs by default: the one every upgrade must reach.
    control = (ROOT / "sql" / "ctas_postgis" / "ctas_postgis.control").read_text()
    default = re.search(r"default_version = '([^']+)'", control)[1]
    assert old.execute(version).fetchone() == new.execute(version).fetchone() == (default,)
    assert old.execute(POSTGIS_MEMBERS).fetchall() == new.execute(POSTGIS_MEMBERS).fetchall()
    # Every PL/pgSQL function of it pins search_path.
    unpinned = """
        SELECT p.proname FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
        JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ctas_postgis'
        JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
        WHERE p.proconfig IS NULL"""
    assert old.execute(unpinned).fetchall() == [] and new.execute(unpinned).fetchall() == []


def test_every_sql_function_of_ctas_pins_its_search_path(databases):
    """A PL/pgSQL or SQL function of ctas either pins search_path or has a standard SQL
    body (bound at creation); the one procedure, which commits and so cannot pin it,
    names everything by schema (the pg_regress security test plays the attack)."""
    _, new = databases
    new.execute("CREATE EXTENSION ctas")
    unpinned = new.execute(
        """
        SELECT p.proname FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
        JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ctas'
        JOIN pg_language l ON l.oid = p.prolang AND l.lanname IN ('plpgsql', 'sql')
        WHERE p.proconfig IS NULL AND p.prosqlbody IS NULL AND p.prokind <> 'p'
        ORDER BY 1"""
    ).fetchall()
    assert unpinned == []
