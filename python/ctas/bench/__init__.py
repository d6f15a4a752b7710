"""The Rust-vs-Python benchmark suite: ``python -m ctas.bench [--quick] [--json FILE]``.

Per workload — threat processing, IOC extraction, scoring, H3 cells, Gi*, DBSCAN — the
Python baseline, the best Python peer and the Rust core on the same input in the same
run: seconds, the ratios, and whether the answers match (``ctas.bench.workloads``).
"""
