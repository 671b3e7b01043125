#!/usr/bin/python3
"""Regenerates test/fixtures/torch-generated.json: Adam trajectories computed by PyTorch.

Usage (from the repository root):

    npm run reference:generate                  # writes test/fixtures/torch-generated.json
    python3 scripts/reference/generate_trajectories.py [--out FILE] [--seed N]
    python3 scripts/reference/generate_trajectories.py --verify test/fixtures/*.json

Needs PyTorch (Debian's python3-torch, 1.13, is what the fixtures were made with) and NumPy. When
the ``python3`` found first on PATH has no torch (a pyenv or venv interpreter), the script runs
itself again with /usr/bin/python3.

The output is deterministic: every random input comes from NumPy's PCG64 seeded with ``--seed`` and
the case's name, and torch runs single-threaded on the CPU.

File format (the same as the shared reference file):
``{"seed", "torch", "cases": [...]}``; a dense case is
``{config, dtype, shapes, init, grads, expected, ema?}`` with ``init[var]`` the flat initial values,
``grads[step][var]`` the flat raw gradients (before clipping), ``expected[step][var]`` the flat
values after the step and ``ema[var]`` the final moving averages (``use_ema`` only). A sparse case
(one variable) is ``{config, dtype, dense_shape, init, sparse_grads, expected, ema?}`` with
``init`` and ``expected[step]`` flat, ``sparse_grads[step] = {indices, values}`` (row indices with
repeats, their rows flattened). ``config`` uses the Keras keys; ``learning_rate`` is a number or a
Keras-form schedule ``{"class_name", "config"}``. float32 values are written as the shortest
decimal that reads back as the same float32.

``--verify`` recomputes every case of the given fixture files with the PyTorch engine and with an
independent NumPy model of the Keras formulas (keras_numpy.py), and prints the worst error of each,
with the error measure of test/trajectories.test.ts.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"

try:
    import numpy as np
    import torch
except ImportError:
    if (
        os.path.exists(SYSTEM_PYTHON)
        and os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON)
        and not os.environ.get("ADAM_REFERENCE_REEXEC")
    ):
        os.environ["ADAM_REFERENCE_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, os.path.abspath(__file__), *sys.argv[1:]])
    sys.exit(
        "generate_trajectories.py needs PyTorch and NumPy (Debian: apt-get install python3-torch); "
        f"{sys.executable} cannot import them"
    )

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)

import argparse  # noqa: E402
import json  # noqa: E402
import zlib  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any, Callable  # noqa: E402

import keras_numpy  # noqa: E402
import torch_engine  # noqa: E402
from torch_engine import Dense, Sparse  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(REPO_ROOT, "test", "fixtures", "torch-generated.json")
DEFAULT_SEED = 20261126

# Tolerances of test/trajectories.test.ts: |got - want| <= max(rtol * |want|, atol).
TOLERANCE = {"float32": (1e-5, 1e-6), "float64": (1e-9, 1e-12)}


# --------------------------------------------------------------------------------------------
# Case specifications


@dataclass
class DenseSpec:
    name: str
    config: dict[str, Any]
    shapes: list[list[int]]
    steps: int
    # one gradient profile per variable (see PROFILES)
    profiles: list[str]


@dataclass
class SparseSpec:
    name: str
    config: dict[str, Any]
    dense_shape: list[int]
    steps: int
    rows_per_step: tuple[int, int] = (4, 9)
    magnitudes: list[float] = field(default_factory=lambda: [1.0])


def exponential_decay(lr0: float, steps: int, rate: float, staircase: bool = False) -> dict:
    return {
        "class_name": "ExponentialDecay",
        "config": {
            "initial_learning_rate": lr0,
            "decay_steps": steps,
            "decay_rate": rate,
            "staircase": staircase,
            "name": "ExponentialDecay",
        },
    }


def piecewise_constant(boundaries: list[int], values: list[float]) -> dict:
    return {
        "class_name": "PiecewiseConstantDecay",
        "config": {"boundaries": boundaries, "values": values, "name": "PiecewiseConstantDecay"},
    }


S3 = [[5], [3, 4], [2, 3, 2]]
S3B = [[7], [4, 2], [3, 1, 3]]
MIX = ["scaled", "tiny_then_huge", "mixed"]
MIX_B = ["mixed", "scaled", "huge"]

DENSE_SPECS: list[DenseSpec] = [
    DenseSpec("defaults (empty config)", {}, S3, 12, MIX),
    DenseSpec("default betas, adaptive eps", {"learning_rate": 0.05, "adaptive_epsilon": True},
              S3B, 12, MIX_B),
    DenseSpec("amsgrad eps-hat",
              {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.95, "amsgrad": True}, S3, 15, MIX),
    DenseSpec("amsgrad adaptive eps",
              {"learning_rate": 0.02, "epsilon": 1e-3, "amsgrad": True, "adaptive_epsilon": True},
              S3B, 15, MIX_B),
    DenseSpec("large eps, eps-hat",
              {"learning_rate": 0.01, "epsilon": 0.1, "adaptive_epsilon": False}, S3, 10, MIX),
    DenseSpec("large eps, adaptive eps",
              {"learning_rate": 0.01, "epsilon": 0.1, "adaptive_epsilon": True}, S3, 10, MIX),
    DenseSpec("weight decay, adaptive eps (AdamW)",
              {"learning_rate": 0.01, "weight_decay": 0.05, "adaptive_epsilon": True}, S3B, 12,
              MIX_B),
    DenseSpec("weight decay, eps-hat",
              {"learning_rate": 0.01, "weight_decay": 0.05}, S3, 12, MIX),
    DenseSpec("clipnorm",
              {"learning_rate": 0.01, "epsilon": 1e-3, "clipnorm": 1.0, "adaptive_epsilon": True},
              S3, 12, MIX),
    DenseSpec("global clipnorm",
              {"learning_rate": 0.01, "epsilon": 1e-2, "global_clipnorm": 1.0}, S3B, 12, MIX_B),
    DenseSpec("clipvalue",
              {"learning_rate": 0.01, "epsilon": 1e-3, "clipvalue": 0.5}, S3, 12, MIX),
    DenseSpec("clipvalue, adaptive eps",
              {"learning_rate": 0.01, "clipvalue": 0.5, "adaptive_epsilon": True}, S3B, 12, MIX_B),
    DenseSpec("ema, no overwrite",
              {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.9,
               "adaptive_epsilon": True}, S3, 15, MIX),
    DenseSpec("ema, overwrite every 4",
              {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.8,
               "ema_overwrite_frequency": 4}, S3B, 15, MIX_B),
    DenseSpec("ExponentialDecay schedule + weight decay",
              {"learning_rate": exponential_decay(0.05, 4, 0.5), "weight_decay": 0.1,
               "adaptive_epsilon": True}, S3, 14, MIX),
    DenseSpec("staircase ExponentialDecay schedule",
              {"learning_rate": exponential_decay(0.02, 3, 0.7, staircase=True)}, S3B, 12, MIX_B),
    DenseSpec("PiecewiseConstantDecay schedule",
              {"learning_rate": piecewise_constant([3, 7], [0.05, 0.01, 0.002]),
               "amsgrad": True}, S3, 12, MIX),
    DenseSpec("amsgrad + weight decay + global clipnorm + ema",
              {"learning_rate": 0.02, "beta_1": 0.85, "beta_2": 0.98, "epsilon": 1e-4,
               "amsgrad": True, "weight_decay": 0.02, "global_clipnorm": 2.0, "use_ema": True,
               "ema_momentum": 0.9, "ema_overwrite_frequency": 5, "adaptive_epsilon": True},
              [[6], [2, 5], [2, 2, 3], [4]], 20, ["scaled", "tiny_then_huge", "mixed", "huge"]),
    DenseSpec("amsgrad + weight decay + global clipnorm + ema + schedule, eps-hat",
              {"learning_rate": exponential_decay(0.03, 5, 0.6), "beta_1": 0.7, "beta_2": 0.9,
               "epsilon": 1e-6, "amsgrad": True, "weight_decay": 0.05, "global_clipnorm": 0.5,
               "use_ema": True, "ema_momentum": 0.7, "ema_overwrite_frequency": 3},
              [[4], [3, 3], [1, 2, 4]], 20, ["mixed", "scaled", "tiny_then_huge"]),
]

SPARSE_SPECS: list[SparseSpec] = [
    SparseSpec("sparse, eps-hat", {"learning_rate": 0.05}, [10, 3], 10),
    SparseSpec("sparse, amsgrad, adaptive eps",
               {"learning_rate": 0.05, "amsgrad": True, "adaptive_epsilon": True}, [8, 2], 10,
               magnitudes=[1e-8, 1.0, 1e4]),
    SparseSpec("sparse, clipnorm over the given rows",
               {"learning_rate": 0.05, "epsilon": 1e-3, "clipnorm": 1.0}, [9, 2], 10,
               magnitudes=[1e-6, 1.0, 1e3]),
    SparseSpec("sparse, clipvalue before summing repeats",
               {"learning_rate": 0.05, "clipvalue": 0.3, "adaptive_epsilon": True}, [6, 3], 10),
    SparseSpec("sparse, amsgrad + weight decay + global clipnorm + ema + schedule",
               {"learning_rate": exponential_decay(0.05, 4, 0.5), "amsgrad": True,
                "weight_decay": 0.03, "global_clipnorm": 1.5, "use_ema": True,
                "ema_momentum": 0.85, "ema_overwrite_frequency": 4, "adaptive_epsilon": True},
               [12, 2], 14, magnitudes=[1e-7, 1.0, 1e5]),
]

DTYPES = ["float32", "float64"]


# --------------------------------------------------------------------------------------------
# Random inputs (generated in float64; float32 cases use the same numbers rounded to float32)


def _signed(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.where(rng.random(n) < 0.5, -1.0, 1.0)


def _profile_scaled(rng: np.random.Generator, n: int, step: int) -> np.ndarray:
    # ordinary gradients, overall scale drifting over 4 decades between steps
    return rng.standard_normal(n) * 10.0 ** rng.uniform(-2.0, 2.0)


def _profile_tiny_then_huge(rng: np.random.Generator, n: int, step: int) -> np.ndarray:
    # very small for the first steps, then very large, then back
    scale = 1e-8 if step < 4 else (1e4 if step < 8 else 1e-3)
    return rng.standard_normal(n) * scale


def _profile_mixed(rng: np.random.Generator, n: int, step: int) -> np.ndarray:
    # every element its own magnitude, from 1e-9 to 1e5, with some exact zeros
    g = _signed(rng, n) * 10.0 ** rng.uniform(-9.0, 5.0, n)
    g[rng.random(n) < 0.1] = 0.0
    return g


def _profile_huge(rng: np.random.Generator, n: int, step: int) -> np.ndarray:
    return rng.standard_normal(n) * 3e4


PROFILES: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "scaled": _profile_scaled,
    "tiny_then_huge": _profile_tiny_then_huge,
    "mixed": _profile_mixed,
    "huge": _profile_huge,
}


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def _cast(values: np.ndarray, dtype: str) -> list[float]:
    if dtype == "float32":
        return [float(str(x)) for x in np.asarray(values, dtype=np.float32).reshape(-1)]
    return [float(x) for x in np.asarray(values, dtype=np.float64).reshape(-1)]


def _round_nested(values: Any, dtype: str) -> Any:
    if isinstance(values, list):
        if values and not isinstance(values[0], list):
            return _cast(np.asarray(values), dtype)
        return [_round_nested(v, dtype) for v in values]
    return values


def dense_inputs(spec: DenseSpec, seed: int) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    rng = _rng(seed, spec.name)
    sizes = [int(np.prod(s)) for s in spec.shapes]
    init = [rng.standard_normal(n) for n in sizes]
    grads = [
        [PROFILES[p](rng, n, step) for p, n in zip(spec.profiles, sizes)]
        for step in range(spec.steps)
    ]
    return init, grads


def sparse_inputs(spec: SparseSpec, seed: int) -> tuple[np.ndarray, list[tuple[list[int], np.ndarray]]]:
    rng = _rng(seed, spec.name)
    rows, cols = spec.dense_shape
    init = rng.standard_normal(rows * cols)
    steps = []
    for _ in range(spec.steps):
        k = int(rng.integers(spec.rows_per_step[0], spec.rows_per_step[1] + 1))
        indices = [int(i) for i in rng.integers(0, rows, k)]
        # at least one repeated index every step
        indices[-1] = indices[int(rng.integers(0, k - 1))]
        magnitude = np.asarray(spec.magnitudes)[rng.integers(0, len(spec.magnitudes), k)]
        values = rng.standard_normal((k, cols)) * magnitude[:, None]
        steps.append((indices, values.reshape(-1)))
    return init, steps


# --------------------------------------------------------------------------------------------
# Building the cases


def build_dense_case(spec: DenseSpec, dtype: str, seed: int) -> dict[str, Any]:
    init64, grads64 = dense_inputs(spec, seed)
    init = [_cast(x, dtype) for x in init64]
    grads = [[_cast(g, dtype) for g in step] for step in grads64]
    steps = [[Dense(g) for g in step] for step in grads]
    expected, ema = torch_engine.run_trajectory(spec.config, dtype, spec.shapes, init, steps)
    case: dict[str, Any] = {
        "config": spec.config,
        "dtype": dtype,
        "shapes": spec.shapes,
        "init": init,
        "grads": grads,
        "expected": _round_nested(expected, dtype),
    }
    if ema is not None:
        case["ema"] = _round_nested(ema, dtype)
    return case


def build_sparse_case(spec: SparseSpec, dtype: str, seed: int) -> dict[str, Any]:
    init64, steps64 = sparse_inputs(spec, seed)
    init = _cast(init64, dtype)
    sparse_grads = [{"indices": idx, "values": _cast(vals, dtype)} for idx, vals in steps64]
    steps = [[Sparse(g["indices"], g["values"])] for g in sparse_grads]
    expected, ema = torch_engine.run_trajectory(
        spec.config, dtype, [spec.dense_shape], [init], steps
    )
    case: dict[str, Any] = {
        "config": spec.config,
        "dtype": dtype,
        "dense_shape": spec.dense_shape,
        "init": init,
        "sparse_grads": sparse_grads,
        "expected": [_cast(np.asarray(step[0]), dtype) for step in expected],
    }
    if ema is not None:
        case["ema"] = _cast(np.asarray(ema[0]), dtype)
    return case


def case_inputs(case: dict[str, Any]) -> tuple[list[list[int]], list[list[float]], list[list[Any]]]:
    """(shapes, init, steps) of a fixture case, for the engines."""
    if "dense_shape" in case:
        shapes = [case["dense_shape"]]
        init = [case["init"]]
        steps = [[Sparse(g["indices"], g["values"])] for g in case["sparse_grads"]]
    else:
        shapes = case["shapes"]
        init = case["init"]
        steps = [[Dense(g) for g in step] for step in case["grads"]]
    return shapes, init, steps


def case_outputs(case: dict[str, Any]) -> tuple[list[list[list[float]]], list[list[float]] | None]:
    if "dense_shape" in case:
        ema = case.get("ema")
        return [[step] for step in case["expected"]], ([ema] if ema is not None else None)
    return case["expected"], case.get("ema")


def worst_error(case: dict[str, Any], expected: Any, ema: Any) -> float:
    """max |got - want| / max(|want|, atol / rtol) over every value: passes when <= rtol."""
    rtol, atol = TOLERANCE[case["dtype"]]
    floor = atol / rtol
    want_steps, want_ema = case_outputs(case)
    worst = 0.0
    pairs = list(zip(want_steps, expected))
    if want_ema is not None:
        pairs.append((want_ema, ema))
    for want_vars, got_vars in pairs:
        for want, got in zip(want_vars, got_vars):
            w = np.asarray(want, dtype=np.float64)
            g = np.asarray(got, dtype=np.float64)
            err = np.abs(g - w) / np.maximum(np.abs(w), floor)
            worst = max(worst, float(np.max(err)) if err.size else 0.0)
    return worst


def describe(case: dict[str, Any]) -> str:
    parts = []
    for key, value in case["config"].items():
        if isinstance(value, dict):
            value = value.get("class_name")
        parts.append(f"{key}={value}")
    kind = f"sparse {case['dense_shape']}" if "dense_shape" in case else f"{len(case['shapes'])} vars"
    return f"{case['dtype']} {kind}: {', '.join(parts) or 'defaults'}"


# --------------------------------------------------------------------------------------------
# CLI


def write_fixture(path: str, seed: int, cases: list[dict[str, Any]]) -> None:
    header = json.dumps({"seed": seed, "torch": torch.__version__})[:-1]
    body = ",\n".join(json.dumps(c, allow_nan=False) for c in cases)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'{header}, "cases": [\n{body}\n]}}\n')


def generate(out: str, seed: int) -> int:
    torch.set_num_threads(1)
    cases: list[dict[str, Any]] = []
    for spec in DENSE_SPECS:
        for dtype in DTYPES:
            cases.append(build_dense_case(spec, dtype, seed))
    for spec in SPARSE_SPECS:
        for dtype in DTYPES:
            cases.append(build_sparse_case(spec, dtype, seed))
    write_fixture(out, seed, cases)

    # Cross-check: a faithful Keras-order implementation must land well inside the test bounds.
    status = 0
    worst = {d: 0.0 for d in DTYPES}
    for case in cases:
        shapes, init, steps = case_inputs(case)
        expected, ema = keras_numpy.run_trajectory(case["config"], case["dtype"], shapes, init, steps)
        err = worst_error(case, expected, ema)
        worst[case["dtype"]] = max(worst[case["dtype"]], err)
        rtol = TOLERANCE[case["dtype"]][0]
        if err > 0.5 * rtol:
            print(f"warning: NumPy/Keras model is {err:.3g} away (bound {rtol}) on {describe(case)}")
            status = 1
    counts = {d: sum(1 for c in cases if c["dtype"] == d) for d in DTYPES}
    size = os.path.getsize(out)
    print(f"wrote {out}: {len(cases)} cases ({counts}), {size / 1024:.0f} KiB, torch {torch.__version__}")
    print("NumPy/Keras model vs torch, worst relative error: "
          + ", ".join(f"{d}={worst[d]:.3g}" for d in DTYPES))
    return status


def verify(paths: list[str]) -> int:
    torch.set_num_threads(1)
    status = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        worst = {"torch": {d: 0.0 for d in DTYPES}, "numpy": {d: 0.0 for d in DTYPES}}
        print(f"{path}: {len(data['cases'])} cases (seed {data.get('seed')}, torch {data.get('torch')})")
        for i, case in enumerate(data["cases"]):
            shapes, init, steps = case_inputs(case)
            dtype = case["dtype"]
            errs = {}
            for label, engine in (("torch", torch_engine), ("numpy", keras_numpy)):
                expected, ema = engine.run_trajectory(case["config"], dtype, shapes, init, steps)
                errs[label] = worst_error(case, expected, ema)
                worst[label][dtype] = max(worst[label][dtype], errs[label])
            rtol = TOLERANCE[dtype][0]
            flag = "" if max(errs.values()) <= rtol else "   <-- beyond the test bound"
            if flag:
                status = 1
            print(f"  #{i:<3} torch {errs['torch']:.2e}  numpy {errs['numpy']:.2e}  {describe(case)}{flag}")
        for label in ("torch", "numpy"):
            print(f"  worst ({label} engine): "
                  + ", ".join(f"{d}={worst[label][d]:.3g}" for d in DTYPES))
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output file (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--verify", nargs="+", metavar="FILE",
                        help="recompute the cases of these fixture files instead of generating")
    args = parser.parse_args()
    if args.verify:
        return verify(args.verify)
    return generate(args.out, args.seed)


if __name__ == "__main__":
    sys.exit(main())
