"""Anomaly detection accuracy on SKAB, the Skoltech Anomaly Benchmark (v0.9: 34 real
experiments on a water-circulation testbed, eight sensors sampled every second, each
with one labelled collective anomaly), scored with SKAB's own scorer next to the
detectors SKAB publishes.

    make bench-skab SKAB=/path/to/SKAB     # a checkout of github.com/waico/SKAB

SKAB is not shipped here (GPL-3.0; the machine that runs this needs a copy). Its
leaderboard evaluates each experiment after its first 400 points (its
`preprocess_skab`: `train_test_split(train_size=400, shuffle=False)`), outliers as a
binary classification (`chp_score(metric="binary")`: F1, false and missing alarm rates)
and changepoints with its NAB-style score (`metric="nab"`, a 60 s window right of each
changepoint); the changepoints predicted are where the flag turns on or off, as its
notebooks derive them. The published detectors' predictions (`results/*.pkl` of the
checkout) are scored here by the same scorer in the same run; where SKAB publishes no
predictions (its NAB figures), its leaderboard's figures are quoted.

CTAS runs `ctas.anomalies` (the core of `ctas_anomalies`) in the **online** mode alone:
a point is judged by the points before it only, so the first 400 points are its
history, as they are the published detectors' training set. Each sensor is a series of
its own (robust z-score against a trailing window; values not counts, no season); a
point is flagged when at least `--votes` sensors flag it. Printed: each setting of the
small grid below, so nothing is hidden by picking the best after the fact.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import ctas

TRAIN = 400
SENSORS = [
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
]


# (method, history, threshold, votes, persist): the defaults (robust_z, 48 points,
# threshold 3) and their neighbourhood, every setting shown.
GRID = [
    (method, history, threshold, votes, persist)
    for method, history in (("robust_z", 48), ("robust_z", 100), ("robust_z", 400), ("ewma", 48))
    for threshold in (3.0, 5.0)
    for votes in (1, 2)
    for persist in (1, 10)
]


def experiments(skab: Path) -> list[pd.DataFrame]:
    """Every experiment with an anomaly, as SKAB's `load_skab` reads it."""
    files = sorted(p for p in (skab / "data").rglob("*.csv") if "anomaly-free" not in str(p))
    return [pd.read_csv(f, sep=";", index_col="datetime", parse_dates=True) for f in files]


def flags(
    df: pd.DataFrame, method: str, history: int, threshold: float, votes: int, persist: int
) -> pd.Series:
    """CTAS's online flags of one experiment, on its points after the first TRAIN: a
    point flagged when `votes` sensors flag it and the `persist - 1` points before it
    were flagged so too (still online: nothing after the point is read)."""
    # The sensors are sampled once a second with the odd gap; the detectors see them as
    # the evenly spaced points they are meant to be.
    ts = pd.date_range("2020-01-01", periods=len(df), freq="s", tz="UTC").to_pydatetime()
    flagged = np.zeros(len(df), dtype=int)
    for sensor in SENSORS:
        judged = ctas.anomalies(
            list(ts),
            df[sensor].to_numpy(dtype=float),
            method=method,
            mode="online",
            period=0,
            threshold=threshold,
            history=history,
            counts=False,
        )
        flagged += judged["is_anomaly"].astype(int)
    voted = pd.Series((flagged >= votes).astype(int), index=df.index)
    held = voted.rolling(persist, min_periods=1).min().astype(int)
    return held[TRAIN:]


def changepoints(outliers: pd.Series) -> pd.Series:
    """Where the flag turns on or off, as SKAB's notebooks derive changepoints."""
    cp = outliers.diff().abs()
    cp.iloc[0] = outliers.iloc[0]
    return cp.fillna(0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("skab", type=Path, help="a checkout of github.com/waico/SKAB")
    args = ap.parse_args()
    sys.path.insert(0, str(args.skab))
    from core.metrics import chp_score  # SKAB's scorer (from tsad)

    dfs = experiments(args.skab)
    tested = [df[TRAIN:] for df in dfs]

    def score(pred: list[pd.Series]) -> tuple[float, ...]:
        # Each prediction against the labels of the points it judges (detectors of
        # sequences judge none of a test set's first few, as their notebooks score them).
        true = [next(t for t in tested if p.index[0] in t.index).loc[p.index] for p in pred]
        with contextlib.redirect_stdout(io.StringIO()):
            f1, far, mar = chp_score([t["anomaly"] for t in true], pred, metric="binary")
            nab = chp_score(
                [t["changepoint"] for t in true],
                [changepoints(p) for p in pred],
                metric="nab",
                window_width="60s",
                anomaly_window_destination="righter",
            )
        return f1, far, mar, *(nab[k] for k in ("Standard", "LowFP", "LowFN"))

    rows = []
    for pkl in sorted((args.skab / "results").glob("results-*.pkl")):
        with open(pkl, "rb") as f:
            published = [p.astype(int) for p in pickle.load(f)]
        rows.append((pkl.stem.removeprefix("results-"), "published predictions", *score(published)))
    for method, history, threshold, votes, persist in GRID:
        pred = [flags(df, method, history, threshold, votes, persist) for df in dfs]
        setting = f"history {history}, threshold {threshold:g}, votes {votes}, persist {persist}"
        if method == "ewma":
            setting = setting.replace(f"history {history}, ", "")
        rows.append((f"CTAS {method}, online", setting, *score(pred)))
        print(f"{rows[-1][0]}, {setting}: done", file=sys.stderr, flush=True)
    print("| detector | setting | F1 | FAR % | MAR % | NAB standard | NAB LowFP | NAB LowFN |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | " + " | ".join(f"{x:.2f}" for x in r[2:]) + " |")


if __name__ == "__main__":
    main()
