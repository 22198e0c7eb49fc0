"""The seeded first-order filter behind EMA and Wilder smoothing, full-series and incremental.

EMA, RSI, ATR, MACD and ADX all reduce to y = decay * y + gain * x after a seed, and TA-Lib
seeds each one differently (an average of the first values, or a sum). ``Smoothing`` records
those parameters once; ``smooth`` applies them to a whole array and ``SmoothingState`` to one
value at a time, so the full and incremental paths share a single definition.

``smooth`` evaluates the recursion in closed form, y[i] = a^i * (y[-1] + cumsum(b[j] / a^j)),
block by block so that a^-i never overflows: a handful of vectorised passes instead of a
Python loop per element, and exact to a few ulps of the sequential recursion.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from market.candles import FloatArray

__all__ = ["Smoothing", "SmoothingState", "recurrence", "smooth"]

# a^-i is kept below e^300 inside a block, far from float64's e^709 overflow even after
# multiplying by prices; blocks are also capped so the cached powers stay small.
_MAX_LOG_GROWTH = 300.0
_MAX_BLOCK = 4096


@dataclass(frozen=True, slots=True)
class Smoothing:
    """A seeded first-order filter: the shared definition of EMA and Wilder smoothing.

    The first output comes after ``seed_count`` inputs and is ``seed_scale * sum(inputs)``;
    every later output is ``decay * previous + gain * input``. The incremental state uses the
    same record, so the full and incremental paths cannot drift apart.
    """

    seed_count: int
    seed_scale: float
    decay: float
    gain: float

    @classmethod
    def ema(cls, period: int) -> Smoothing:
        """EMA with k = 2 / (period + 1), seeded with the SMA of the first ``period`` inputs."""
        smoothing = 2.0 / (period + 1)
        return cls(period, 1.0 / period, 1.0 - smoothing, smoothing)

    @classmethod
    def wilder_average(cls, period: int) -> Smoothing:
        """Wilder's average (RSI, ATR): k = 1 / period, seeded with a plain average."""
        return cls(period, 1.0 / period, 1.0 - 1.0 / period, 1.0 / period)

    @classmethod
    def wilder_sum(cls, period: int) -> Smoothing:
        """Wilder's running sum (ADX's DM and TR): seeded with the sum of ``period - 1`` inputs."""
        return cls(period - 1, 1.0, 1.0 - 1.0 / period, 1.0)


@functools.lru_cache(maxsize=32)
def _powers(decay: float) -> tuple[FloatArray, FloatArray]:
    """Return decay^1 .. decay^B and their reciprocals, B the longest block that cannot overflow."""
    block = _MAX_BLOCK if decay >= 1.0 else int(_MAX_LOG_GROWTH / -math.log(decay))
    block = max(1, min(_MAX_BLOCK, block))
    # A running product keeps decay^i / decay^j accurate to (i - j) ulps, which is what the
    # closed form needs; exp(i * log(decay)) would carry i-sized rounding into every ratio.
    powers = np.cumprod(np.full(block, decay))
    inverse = 1.0 / powers
    powers.flags.writeable = False
    inverse.flags.writeable = False
    return powers, inverse


def recurrence(decay: float, inputs: FloatArray, initial: float) -> FloatArray:
    """Return y with y[i] = decay * y[i-1] + inputs[i] and y[-1] = initial (0 <= decay <= 1)."""
    if decay == 0.0:  # a period-1 filter forgets everything; the closed form would divide by 0
        return inputs.copy()
    powers, inverse = _powers(decay)
    block = powers.shape[0]
    length = inputs.shape[0]
    if length <= block:
        out = np.cumsum(inputs * inverse[:length])
        out += initial
        out *= powers[:length]
        return out
    out = np.empty(length)
    previous = initial
    for start in range(0, length, block):
        stop = min(start + block, length)
        out[start:stop] = recurrence(decay, inputs[start:stop], previous)
        previous = float(out[stop - 1])
    return out


def smooth(inputs: FloatArray, smoothing: Smoothing) -> FloatArray:
    """Apply ``smoothing`` to ``inputs``; outputs are NaN until the seed is complete."""
    length = inputs.shape[0]
    seed_count = smoothing.seed_count
    if length < seed_count:
        return np.full(length, np.nan)
    out = np.empty(length)
    out[: seed_count - 1] = np.nan
    seed = float(inputs[:seed_count].sum()) * smoothing.seed_scale
    out[seed_count - 1] = seed
    rest = inputs[seed_count:]
    if smoothing.gain != 1.0:
        rest = rest * smoothing.gain
    out[seed_count:] = recurrence(smoothing.decay, rest, seed)
    return out


class SmoothingState:
    """``Smoothing`` fed one input at a time; ``value`` is NaN until the seed is complete."""

    __slots__ = ("_decay", "_gain", "_seed_count", "_seed_scale", "count", "seed_total", "value")

    def __init__(self, smoothing: Smoothing) -> None:
        self._seed_count = smoothing.seed_count
        self._seed_scale = smoothing.seed_scale
        self._decay = smoothing.decay
        self._gain = smoothing.gain
        self.count = 0
        """Inputs taken so far."""
        self.seed_total = 0.0
        """Sum of the inputs while the seed is incomplete."""
        self.value = math.nan

    @classmethod
    def after(cls, smoothing: Smoothing, inputs: FloatArray) -> SmoothingState:
        """The state reached after taking ``inputs``, computed with ``smooth``."""
        state = cls(smoothing)
        state.count = int(inputs.shape[0])
        if state.count < smoothing.seed_count:
            state.seed_total = float(inputs.sum())
        else:
            state.value = float(smooth(inputs, smoothing)[-1])
        return state

    def push(self, value: float) -> float:
        """Take one input and return the new output (NaN while seeding)."""
        self.count += 1
        if self.count > self._seed_count:
            self.value = self._decay * self.value + self._gain * value
        elif self.count == self._seed_count:
            self.value = (self.seed_total + value) * self._seed_scale
        else:
            self.seed_total += value
        return self.value
