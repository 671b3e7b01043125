"""Keras learning-rate schedules, evaluated in Python floats (float64).

Only what the reference fixtures need: a Keras-form ``learning_rate`` entry (a number, or
``{"class_name": ..., "config": {...}}``) evaluated at the 0-based optimizer step, with the formulas
of ``docs/semantics.md`` section 4. The value is handed to PyTorch as a Python float; float32 cases
round it to float32 when it meets a float32 tensor, as the project does.
"""

from __future__ import annotations

import math
from typing import Any, Callable


def _rate_decay(
    cfg: dict[str, Any], decayed: Callable[[float, float, float], float]
) -> Callable[[int], float]:
    """ExponentialDecay and InverseTimeDecay share their options: `decayed(lr0, rate, progress)`."""
    lr0 = float(cfg["initial_learning_rate"])
    steps = float(cfg["decay_steps"])
    rate = float(cfg["decay_rate"])
    staircase = bool(cfg.get("staircase", False))

    def at(step: int) -> float:
        p = step / steps
        if staircase:
            p = math.floor(p)
        return decayed(lr0, rate, p)

    return at


def _exponential_decay(cfg: dict[str, Any]) -> Callable[[int], float]:
    return _rate_decay(cfg, lambda lr0, rate, p: lr0 * rate**p)


def _inverse_time_decay(cfg: dict[str, Any]) -> Callable[[int], float]:
    return _rate_decay(cfg, lambda lr0, rate, p: lr0 / (1 + rate * p))


def _piecewise_constant_decay(cfg: dict[str, Any]) -> Callable[[int], float]:
    boundaries = [float(b) for b in cfg["boundaries"]]
    values = [float(v) for v in cfg["values"]]
    if len(values) != len(boundaries) + 1:
        raise ValueError("PiecewiseConstantDecay: len(values) must be len(boundaries) + 1")

    def at(step: int) -> float:
        for b, v in zip(boundaries, values):
            if step <= b:
                return v
        return values[-1]

    return at


_SCHEDULES: dict[str, Callable[[dict[str, Any]], Callable[[int], float]]] = {
    "ExponentialDecay": _exponential_decay,
    "InverseTimeDecay": _inverse_time_decay,
    "PiecewiseConstantDecay": _piecewise_constant_decay,
}


def learning_rate_fn(spec: Any) -> Callable[[int], float]:
    """Returns step -> learning rate for a Keras-form ``learning_rate`` config entry."""
    if isinstance(spec, (int, float)):
        value = float(spec)
        return lambda step: value
    if isinstance(spec, dict) and "class_name" in spec:
        name = spec["class_name"]
        if name not in _SCHEDULES:
            raise ValueError(f"schedule {name!r} is not implemented by the reference generator")
        return _SCHEDULES[name](spec.get("config", {}))
    raise ValueError(f"unsupported learning_rate entry: {spec!r}")
