"""Pure-Python reference implementations that the Rust results are checked against.

They are written from the published definitions (MISP's decaying models, OpenCTI's
decay rules, the STIX 2.1 confidence appendix), for clarity rather than speed.
"""
