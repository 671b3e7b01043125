"""Runs one Adam trajectory with PyTorch, following the Keras rules of docs/semantics.md.

The Adam step itself is PyTorch's own wherever PyTorch has it:

- ``adaptive_epsilon: true``: ``torch.optim.Adam`` (``torch.optim.AdamW`` when ``weight_decay`` is
  set: its ``p *= 1 - lr * wd`` is the Keras decoupled weight decay with the current learning
  rate). PyTorch's "bias-corrected m over sqrt(bias-corrected v) + eps" equals the Keras update with
  ``eps * sqrt(1 - beta_2^t)``.
- ``adaptive_epsilon: false`` (Keras' default, the paper's "epsilon hat"): computed with torch
  tensor ops directly, ``alpha = lr * sqrt(1 - b2^t) / (1 - b1^t)``,
  ``p -= alpha * m / (sqrt(v) + eps)``, after ``p -= p * wd * lr`` when ``weight_decay`` is set.

Around the step, with the Keras formulas and in the case dtype: the learning-rate schedule (at
the 0-based step), gradient clipping (clipnorm per gradient, else global_clipnorm, else clipvalue;
for a sparse gradient over its rows as given, repeats included), sparse gradients turned into the
dense sum of their rows, and the EMA of the variables with its periodic overwrite.

Everything runs in the case dtype: float32 cases are computed in float32 by torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence, Union

import torch

from lr_schedules import learning_rate_fn

KNOWN_CONFIG_KEYS = {
    "name",
    "learning_rate",
    "beta_1",
    "beta_2",
    "epsilon",
    "adaptive_epsilon",
    "amsgrad",
    "weight_decay",
    "clipnorm",
    "global_clipnorm",
    "clipvalue",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "jit_compile",
    "is_legacy_optimizer",
}

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class Dense:
    """A dense gradient: flat values, one per element of the variable."""

    values: Sequence[float]


@dataclass
class Sparse:
    """Rows ``values`` (flattened) for rows ``indices`` (repeats allowed) of the variable."""

    indices: Sequence[int]
    values: Sequence[float]


Grad = Union[Dense, Sparse]


@dataclass
class Options:
    lr_fn: Any
    beta_1: float
    beta_2: float
    epsilon: float
    adaptive_epsilon: bool
    amsgrad: bool
    weight_decay: float | None
    clipnorm: float | None
    global_clipnorm: float | None
    clipvalue: float | None
    use_ema: bool
    ema_momentum: float
    ema_overwrite_frequency: int | None


def parse_config(config: dict[str, Any]) -> Options:
    unknown = set(config) - KNOWN_CONFIG_KEYS
    if unknown:
        raise ValueError(f"unknown config keys: {sorted(unknown)}")

    def positive(key: str) -> float | None:
        value = config.get(key)
        return float(value) if value else None

    if positive("clipnorm") and positive("global_clipnorm"):
        raise ValueError("clipnorm and global_clipnorm cannot both be set")
    freq = config.get("ema_overwrite_frequency")
    return Options(
        lr_fn=learning_rate_fn(config.get("learning_rate", 0.001)),
        beta_1=float(config.get("beta_1", 0.9)),
        beta_2=float(config.get("beta_2", 0.999)),
        epsilon=float(config.get("epsilon", 1e-7)),
        adaptive_epsilon=bool(config.get("adaptive_epsilon", False)),
        amsgrad=bool(config.get("amsgrad", False)),
        weight_decay=(
            float(config["weight_decay"]) if config.get("weight_decay") is not None else None
        ),
        clipnorm=positive("clipnorm"),
        global_clipnorm=positive("global_clipnorm"),
        clipvalue=positive("clipvalue"),
        use_ema=bool(config.get("use_ema", False)),
        ema_momentum=float(config.get("ema_momentum", 0.99)),
        ema_overwrite_frequency=int(freq) if freq else None,
    )


def _clip(tensors: list[torch.Tensor], o: Options) -> list[torch.Tensor]:
    """Keras ``_clip_gradients``: at most one kind, clipnorm > global_clipnorm > clipvalue."""
    if o.clipnorm:
        out = []
        for t in tensors:
            c = torch.tensor(o.clipnorm, dtype=t.dtype)
            norm = torch.linalg.vector_norm(t)
            # tf.clip_by_norm: t * clip_norm / maximum(l2norm, clip_norm)
            out.append(t * c / torch.maximum(norm, c))
        return out
    if o.global_clipnorm:
        dtype = tensors[0].dtype
        c = torch.tensor(o.global_clipnorm, dtype=dtype)
        global_norm = torch.sqrt(sum((t * t).sum() for t in tensors))
        # tf.clip_by_global_norm: scale = clip_norm * minimum(1 / global_norm, 1 / clip_norm)
        scale = c * torch.minimum(1.0 / global_norm, 1.0 / c)
        return [t * scale for t in tensors]
    if o.clipvalue:
        return [torch.clamp(t, -o.clipvalue, o.clipvalue) for t in tensors]
    return tensors


def run_trajectory(
    config: dict[str, Any],
    dtype: str,
    shapes: Sequence[Sequence[int]],
    init: Sequence[Sequence[float]],
    steps: Sequence[Sequence[Grad]],
) -> tuple[list[list[list[float]]], list[list[float]] | None]:
    """Returns (expected, ema): every variable (flat) after every step, and the final averages."""
    o = parse_config(config)
    tdt = TORCH_DTYPES[dtype]
    params = [
        torch.nn.Parameter(torch.tensor(list(x), dtype=tdt).reshape(tuple(s)), requires_grad=True)
        for x, s in zip(init, shapes)
    ]
    averages = [p.detach().clone() for p in params] if o.use_ema else None

    optimizer: torch.optim.Optimizer | None = None
    if o.adaptive_epsilon:
        common = dict(
            lr=o.lr_fn(0), betas=(o.beta_1, o.beta_2), eps=o.epsilon, amsgrad=o.amsgrad,
            foreach=False,
        )
        if o.weight_decay is not None:
            optimizer = torch.optim.AdamW(params, weight_decay=o.weight_decay, **common)
        else:
            optimizer = torch.optim.Adam(params, weight_decay=0.0, **common)
    else:
        m = [torch.zeros_like(p, requires_grad=False) for p in params]
        v = [torch.zeros_like(p, requires_grad=False) for p in params]
        vhat = [torch.zeros_like(p, requires_grad=False) for p in params]

    expected: list[list[list[float]]] = []
    for iterations, step in enumerate(steps):
        if len(step) != len(params):
            raise ValueError("one gradient per variable per step")
        lr = o.lr_fn(iterations)

        raw: list[torch.Tensor] = []
        for g, p in zip(step, params):
            if isinstance(g, Dense):
                raw.append(torch.tensor(list(g.values), dtype=tdt).reshape(p.shape))
            else:
                rows = len(g.indices)
                raw.append(torch.tensor(list(g.values), dtype=tdt).reshape((rows, *p.shape[1:])))
        clipped = _clip(raw, o)

        grads: list[torch.Tensor] = []
        for g, t, p in zip(step, clipped, params):
            if isinstance(g, Dense):
                grads.append(t)
            else:
                # Keras de-duplicates repeated rows by summing them; torch gets the dense sum.
                dense = torch.zeros_like(p, requires_grad=False)
                dense.index_add_(0, torch.tensor(list(g.indices), dtype=torch.int64), t)
                grads.append(dense)

        with torch.no_grad():
            if optimizer is not None:
                for group in optimizer.param_groups:
                    group["lr"] = lr
                for p, g in zip(params, grads):
                    p.grad = g.clone()
                optimizer.step()
            else:
                t = iterations + 1
                alpha = lr * math.sqrt(1 - o.beta_2**t) / (1 - o.beta_1**t)
                for i, (p, g) in enumerate(zip(params, grads)):
                    if o.weight_decay is not None:
                        p.sub_(p * (o.weight_decay * lr))
                    m[i].mul_(o.beta_1).add_(g, alpha=1 - o.beta_1)
                    v[i].mul_(o.beta_2).addcmul_(g, g, value=1 - o.beta_2)
                    if o.amsgrad:
                        torch.maximum(vhat[i], v[i], out=vhat[i])
                        second = vhat[i]
                    else:
                        second = v[i]
                    p.addcdiv_(m[i], second.sqrt().add_(o.epsilon), value=-alpha)

            if averages is not None:
                mom = o.ema_momentum
                for a, p in zip(averages, params):
                    a.copy_(a * mom + p * (1 - mom))
                freq = o.ema_overwrite_frequency
                if freq and (iterations + 1) % freq == 0:
                    for a, p in zip(averages, params):
                        p.copy_(a)

        expected.append([p.detach().reshape(-1).tolist() for p in params])

    ema = [a.reshape(-1).tolist() for a in averages] if averages is not None else None
    return expected, ema
