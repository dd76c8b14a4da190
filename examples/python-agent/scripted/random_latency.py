"""Seeded latencies, so a call with the same seed has the same timings (within scheduling noise)."""

from __future__ import annotations

import random


class Latency:
    def __init__(self, seed: int, min_ms: float, max_ms: float) -> None:
        self._random = random.Random(seed)
        self._min, self._max = min_ms, max_ms

    def draw(self) -> float:
        """Seconds."""
        return self._random.uniform(self._min, self._max) / 1000
