"""Type stubs of ctas._core, the Rust core (ctas_py). tests/python/test_package.py checks
that every name and parameter here is the module's."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str

class CtasError(ValueError):
    """An argument CTAS cannot use; the message names it and says why."""

Cell = int | str
Floats = float | npt.ArrayLike
Times = Sequence[datetime] | npt.NDArray[np.datetime64]
Json = Mapping[str, Any] | str

# Indicators

class Ioc:
    kind: str
    value: str
    raw: str
    start: int
    end: int
    warninglists: list[str]

class Warninglists:
    names: list[str]
    def __init__(self, lists: Sequence[Json]) -> None: ...
    def hits(self, value: str, kind: str | None = None) -> list[str]: ...
    def __len__(self) -> int: ...

def extract_iocs(text: str, warninglists: Warninglists | None = None) -> list[Ioc]: ...
def ioc_kind(value: str) -> str | None: ...
def normalise(value: str) -> str | None: ...
def ioc_kinds() -> list[str]: ...
def refang(text: str) -> str: ...
def defang(text: str) -> str: ...
def indicator_id(kind: str, value: str) -> str: ...
def observable_id(kind: str, value: str) -> str | None: ...

# Pattern sets

class PatternMatch:
    pattern_id: str
    start: int
    end: int
    matched: str
    severity: str
    tags: list[str]
    attack_id: str | None

class PatternSet:
    name: str
    def __init__(
        self,
        patterns: Mapping[str, str] | Iterable[tuple[str, str] | Mapping[str, Any]],
        name: str = "patterns",
    ) -> None: ...
    def matches(self, text: str, limit: int = 1000000) -> list[PatternMatch]: ...
    def is_match(self, text: str) -> bool: ...
    def __len__(self) -> int: ...

# Scoring

def decay(base: Floats, elapsed_days: Floats, lifetime_days: float, speed: float) -> Any: ...
def days_until(base: float, score: float, lifetime_days: float, speed: float) -> float | None: ...
def confidence_to(scale: str, value: int) -> str: ...
def confidence_from(scale: str, value: str) -> int: ...
def decay_models() -> list[dict[str, Any]]: ...
def score(
    evidence: Json,
    model: str = "opencti",
    at: datetime | None = None,
    models: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]: ...

# The H3 grid and spatial statistics

def latlng_to_cell(lat: float, lng: float, res: int) -> int: ...
def latlng_to_cells(
    lats: npt.ArrayLike, lngs: npt.ArrayLike, res: int
) -> npt.NDArray[np.uint64]: ...
def cell_to_latlng(cell: Cell) -> tuple[float, float]: ...
def cell_to_boundary(cell: Cell) -> list[tuple[float, float]]: ...
def cell_to_geojson(cell: Cell) -> dict[str, Any]: ...
def get_resolution(cell: Cell) -> int: ...
def is_valid_cell(cell: Cell) -> bool: ...
def cell_to_parent(cell: Cell, res: int | None = None) -> int: ...
def cell_to_children(cell: Cell, res: int | None = None) -> list[int]: ...
def grid_disk(cell: Cell, k: int = 1) -> list[int]: ...
def grid_ring(cell: Cell, k: int = 1) -> list[int]: ...
def grid_distance(a: Cell, b: Cell) -> int | None: ...
def compact_cells(cells: Sequence[Cell]) -> list[int]: ...
def uncompact_cells(cells: Sequence[Cell], res: int) -> list[int]: ...
def polygon_to_cells(geojson: Json, res: int) -> list[int]: ...
def cell_area(cell: Cell, unit: str = "km^2") -> float: ...
def great_circle_distance(
    a: tuple[float, float], b: tuple[float, float], unit: str = "km"
) -> float: ...
def getis_ord(
    cells: npt.ArrayLike, values: npt.ArrayLike, k: int = 1, kernel: str = "uniform"
) -> dict[str, npt.NDArray[Any]]: ...

class CellCluster:
    id: int
    cells: list[int]
    total_weight: float
    centroid: tuple[float, float]
    outline: dict[str, Any]

def cell_clusters(
    cells: npt.ArrayLike, weights: npt.ArrayLike, min_weight: float = 0.0, gap: int = 0
) -> list[CellCluster]: ...
def dbscan(
    lats: npt.ArrayLike, lngs: npt.ArrayLike, eps_m: float, min_points: int
) -> npt.NDArray[np.int64]: ...

# Behaviour over time

def anomalies(
    ts: Times,
    values: npt.ArrayLike,
    method: str = "auto",
    mode: str = "online",
    period: int | None = None,
    threshold: float = 3.0,
    history: int = 48,
    counts: bool = True,
) -> dict[str, npt.NDArray[Any]]: ...
def events(
    ts: Times,
    values: npt.ArrayLike,
    dormancy: int = 168,
    method: str = "auto",
    mode: str = "online",
    threshold: float = 3.0,
) -> list[tuple[np.datetime64, str, float]]: ...
def stl(
    values: npt.ArrayLike, period: int, seasonal: int = 7, robust: bool = False
) -> dict[str, npt.NDArray[np.float64]]: ...
def mstl(values: npt.ArrayLike, periods: Sequence[int]) -> dict[str, npt.NDArray[np.float64]]: ...

# A whole report

def analyze(
    report: Json,
    warninglists: Warninglists | None = None,
    pattern_set: PatternSet | None = None,
    resolution: int = 7,
    model: str = "ctas:admiralty",
    at: datetime | None = None,
    models: Sequence[Mapping[str, Any]] | None = None,
    max_matches: int = 1000000,
) -> dict[str, Any]: ...
