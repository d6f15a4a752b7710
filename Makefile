# The two commands of the README, and the pieces they are made of.
# Every target is a script in scripts/, so CI and people run the same thing.
.PHONY: demo dashboard test stop install build regress services fuzz bench-router bench-ingest bench-score bench-hotspot bench-dbscan bench-h3 bench-anomalies bench-ioc bench-ioc-accuracy bench-skab bench-python
SHELL := /bin/bash

demo:      ## install, build, start everything, ingest the sample, show every tier
	bash scripts/demo.sh

dashboard: ## the analysts' dashboard on http://127.0.0.1:8501 over the demo's router and database
	bash scripts/install.sh
	bash scripts/pg.sh start
	bash scripts/neo4j.sh start
	bash scripts/build.sh
	bash -c 'source scripts/env.sh && psql -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS ctas"'
	bash scripts/router.sh start
	bash scripts/dashboard.sh start

test:      ## every test against the real services
	bash scripts/test.sh

stop:      ## stop what the scripts started (dashboard, router, Neo4j, PostgreSQL)
	bash scripts/dashboard.sh stop
	bash scripts/router.sh stop
	bash scripts/neo4j.sh stop
	bash scripts/pg.sh stop

install:   ## install what is missing (Debian packages, cargo-pgrx, Neo4j jars, venv)
	bash scripts/install.sh

build:     ## build the router, install the extension
	bash scripts/build.sh

services:  ## start PostgreSQL and Neo4j
	bash scripts/pg.sh start
	bash scripts/neo4j.sh start

regress:   ## pg_regress against the running cluster
	bash scripts/regress.sh

bench-router: ## ctas-router ingest rate, lookup latency, time to sync every tier (benches/RESULTS.md)
	bash scripts/bench_router.sh

bench-ingest: ## ATT&CK through the router into every tier and ctas_ingest_stix, beside COPY and UNWIND … CREATE of the same rows (benches/RESULTS.md)
	bash scripts/bench_ingest.sh

bench-score: ## scoring 10M rows in SQL against a trivial SQL function (benches/RESULTS.md)
	bash scripts/bench.sh score

bench-hotspot: ## Gi* on 100,000 H3 cells against PySAL esda (benches/RESULTS.md)
	bash scripts/bench.sh hotspot

bench-dbscan: ## DBSCAN of 1M points against PostGIS ST_ClusterDBSCAN (benches/RESULTS.md)
	bash scripts/bench.sh dbscan

bench-h3: ## ctas_h3_cell per row against a trivial SQL function
	bash scripts/bench.sh h3

bench-ioc: ## IOC extraction on 10 MB of reports: ctas_core, SQL, iocextract, ioc-finder
	bash scripts/bench.sh ioc

bench-anomalies: ## ctas_anomalies on 10,000 series of 720 hourly counts vs statsmodels STL + z-score
	bash scripts/bench.sh anomalies

bench-ioc-accuracy: ## IOC accuracy on real vendor reports: CTAS, iocextract, ioc-finder, iocsearcher, msticpy
	bash scripts/bench.sh ioc-accuracy

bench-skab: ## anomaly accuracy on SKAB, online, by SKAB's scorer beside its detectors (SKAB=checkout of waico/SKAB)
	bash scripts/bench.sh skab "$(SKAB)"

bench-python: ## python -m ctas.bench: the core against Python baselines and peers, eight workloads
	bash scripts/bench.sh python

fuzz:      ## fuzz extraction, refang, STIX, MISP, pattern sets (cargo-fuzz, nightly), 300 s per target
	bash scripts/fuzz.sh
