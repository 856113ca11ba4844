"""Coordinate transforms between EPSG:4490 (lon/lat) and EPSG:4549 (easting, northing), done by
DuckDB spatial (PROJ) so the sample and the loader share one implementation."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipelines import duck


class Projector:
    def __init__(self):
        self.con = duck.connect()

    def close(self) -> None:
        self.con.close()

    def _transform(self, a: np.ndarray, b: np.ndarray, src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
        a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
        if len(a) == 0:
            return a.copy(), b.copy()
        self.con.register("pts", pa.table({"i": np.arange(len(a)), "a": a, "b": b}))
        out = self.con.execute(
            f"SELECT ST_X(p), ST_Y(p) FROM (SELECT i, ST_Transform(ST_Point(a, b), '{src}', '{dst}', "
            f"always_xy := true) AS p FROM pts) ORDER BY i").fetchnumpy()
        self.con.unregister("pts")
        cols = list(out.values())
        return np.asarray(cols[0], float), np.asarray(cols[1], float)

    def to_xy(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """EPSG:4490 → EPSG:4549 (easting, northing)."""
        return self._transform(lon, lat, "EPSG:4490", "EPSG:4549")

    def to_lonlat(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        return self._transform(x, y, "EPSG:4549", "EPSG:4490")
