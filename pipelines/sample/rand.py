"""Seeded random streams.

Each (feed, district, purpose) draws from its own stream derived from the seed and a stable
hash of its name, so the bytes of one file do not depend on the order in which other files
are generated, and adding a feed does not change the others.
"""
from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, *keys: object) -> np.random.Generator:
    words = [int(seed) & 0xFFFFFFFF] + [zlib.crc32(str(k).encode("utf-8")) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


def pick(rng: np.random.Generator, options, p=None, size=None):
    """rng.choice over a tuple of Python objects, returning Python objects (not numpy scalars)."""
    idx = rng.choice(len(options), p=p, size=size)
    if size is None:
        return options[int(idx)]
    return [options[int(i)] for i in idx]


def choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row from per-row probability rows (n × k), vectorised."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(probs))[:, None]
    return (u > cum).sum(axis=1)


def allocate(total: int, weights) -> np.ndarray:
    """Split an integer total in proportion to weights (largest remainder; deterministic)."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(int)
    short = total - out.sum()
    if short > 0:
        order = np.argsort(-(raw - out), kind="stable")
        out[order[:short]] += 1
    return out
