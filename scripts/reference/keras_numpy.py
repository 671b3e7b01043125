"""A second, independent model of the Keras Adam rules, in NumPy, written line by line from
docs/semantics.md (sections 1 and 2) in the variable's dtype: the formulas and the order of
operations of the Keras reference (``m += (g - m) * (1 - b1)``, the sparse path that decays the
whole accumulators then adds the de-duplicated rows, ``alpha`` and the adaptive epsilon computed in
the variable's dtype, ...).

It is not used to write fixtures. ``generate_trajectories.py --verify FILE`` runs every case of a
fixture file through it to measure how far a faithful Keras-order implementation lands from the
PyTorch numbers, with the same error measure as test/trajectories.test.ts.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from torch_engine import Dense, Grad, Sparse, parse_config

NP_DTYPES = {"float32": np.float32, "float64": np.float64}


def run_trajectory(
    config: dict[str, Any],
    dtype: str,
    shapes: Sequence[Sequence[int]],
    init: Sequence[Sequence[float]],
    steps: Sequence[Sequence[Grad]],
) -> tuple[list[list[list[float]]], list[list[float]] | None]:
    o = parse_config(config)
    dt = NP_DTYPES[dtype]

    def s(x: Any) -> Any:  # a scalar in the variable's dtype
        return dt(x)

    vars_ = [np.array(x, dtype=dt).reshape(tuple(sh)) for x, sh in zip(init, shapes)]
    averages = [v.copy() for v in vars_] if o.use_ema else None
    m = [np.zeros_like(v) for v in vars_]
    v2 = [np.zeros_like(v) for v in vars_]
    vhat = [np.zeros_like(v) for v in vars_]
    one = s(1)

    expected = []
    for iterations, step in enumerate(steps):
        lr = s(o.lr_fn(iterations))
        tensors = []
        for g, var in zip(step, vars_):
            if isinstance(g, Dense):
                tensors.append(np.array(g.values, dtype=dt).reshape(var.shape))
            else:
                tensors.append(
                    np.array(g.values, dtype=dt).reshape((len(g.indices), *var.shape[1:]))
                )

        # 5. clipping
        if o.clipnorm:
            c = s(o.clipnorm)
            tensors = [t * c / max(s(np.sqrt(np.sum(t * t))), c) for t in tensors]
        elif o.global_clipnorm:
            c = s(o.global_clipnorm)
            gn = s(np.sqrt(sum(s(np.sum(t * t)) for t in tensors)))
            tensors = [t * (c / max(gn, c)) for t in tensors]
        elif o.clipvalue:
            c = s(o.clipvalue)
            tensors = [np.clip(t, -c, c) for t in tensors]

        # 6. de-duplication: unique rows, values summed
        grads: list[tuple[str, Any, Any]] = []
        for g, t in zip(step, tensors):
            if isinstance(g, Dense):
                grads.append(("dense", None, t))
            else:
                idx = np.asarray(g.indices, dtype=np.int64)
                uniq, inverse = np.unique(idx, return_inverse=True)
                summed = np.zeros((len(uniq), *t.shape[1:]), dtype=dt)
                np.add.at(summed, inverse, t)
                grads.append(("sparse", uniq, summed))

        # 7. weight decay
        if o.weight_decay is not None:
            wd = s(o.weight_decay)
            for var in vars_:
                var -= var * wd * lr

        # 8. update
        t_ = s(iterations + 1)
        b1, b2 = s(o.beta_1), s(o.beta_2)
        b1p, b2p = s(b1**t_), s(b2**t_)
        alpha = s(lr * s(np.sqrt(s(one - b2p))) / s(one - b1p))
        eps = s(o.epsilon)
        if o.adaptive_epsilon:
            eps = s(eps * s(np.sqrt(s(one - b2p))))
        for i, (kind, rows, g) in enumerate(grads):
            if kind == "dense":
                m[i] += (g - m[i]) * (one - b1)
                v2[i] += (g * g - v2[i]) * (one - b2)
            else:
                m[i] -= m[i] * (one - b1)
                m[i][rows] += g * (one - b1)
                v2[i] -= v2[i] * (one - b2)
                v2[i][rows] += (g * g) * (one - b2)
            second = v2[i]
            if o.amsgrad:
                np.maximum(vhat[i], v2[i], out=vhat[i])
                second = vhat[i]
            vars_[i] -= (m[i] * alpha) / (np.sqrt(second) + eps)

        # 9. EMA
        if averages is not None:
            mom = s(o.ema_momentum)
            for a, var in zip(averages, vars_):
                a[...] = mom * a + (one - mom) * var
            freq = o.ema_overwrite_frequency
            if freq and (iterations + 1) % freq == 0:
                for a, var in zip(averages, vars_):
                    var[...] = a

        expected.append([var.reshape(-1).astype(np.float64).tolist() for var in vars_])

    ema = (
        [a.reshape(-1).astype(np.float64).tolist() for a in averages]
        if averages is not None
        else None
    )
    return expected, ema


__all__ = ["run_trajectory", "Dense", "Sparse"]
