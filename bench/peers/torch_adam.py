"""PyTorch CPU Adam peer of `npm run bench` (bench/peers/torch.ts runs it).

Usage: python3 torch_adam.py '<json config>'. Prints one JSON object on stdout:
  {"torch": version, "threads": n, "results": [{"variant", "label", "rate": {...}} | {"variant", "label", "skipped"}]}

Config: count, size, dtype ('float32'|'float64'), amsgrad, full (AdamW weight decay + global
clip_grad_norm_ + EMA of the parameters), lr, weightDecay, globalClipnorm, emaMomentum, variants
(of 'default', 'foreach', 'fused'), timing {warmup, reps, minReps, minRepSeconds, maxStepsPerRep,
budgetSeconds} -- the same method as bench/timing.ts.
"""
import json
import math
import sys
import time

import torch


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def measure(step, params, t):
    per_step = 0.0
    for _ in range(max(1, t["warmup"])):
        t0 = time.perf_counter_ns()
        step()
        per_step = (time.perf_counter_ns() - t0) / 1e9
    steps = max(1, min(t["maxStepsPerRep"], math.ceil(t["minRepSeconds"] / max(per_step, 1e-9))))
    rep_seconds = steps * per_step
    reps = max(t["minReps"], min(t["reps"], int(t["budgetSeconds"] // max(rep_seconds, 1e-9))))
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        for _ in range(steps):
            step()
        rates.append(params * steps / ((time.perf_counter_ns() - t0) / 1e9))
    return {"median": median(rates), "min": min(rates), "max": max(rates), "reps": reps, "stepsPerRep": steps}


def make_tensors(cfg):
    dtype = torch.float64 if cfg["dtype"] == "float64" else torch.float32
    gen = torch.Generator().manual_seed(0)
    params, grads = [], []
    for _ in range(cfg["count"]):
        p = torch.full((cfg["size"],), 0.5, dtype=dtype).requires_grad_(True)
        g = (torch.rand((cfg["size"],), generator=gen, dtype=dtype) - 0.5) * 0.02
        g = torch.where(g.abs() < 1e-4, torch.full_like(g, 1e-4), g)
        p.grad = g
        params.append(p)
        grads.append(g)
    return params


def run_variant(cfg, variant):
    kwargs = {}
    if variant == "foreach":
        kwargs["foreach"] = True
    elif variant == "fused":
        kwargs["fused"] = True
    elif variant == "default":
        pass
    else:
        raise ValueError(variant)
    params = make_tensors(cfg)
    lr = cfg["lr"]
    if cfg["full"]:
        opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-7,
                                weight_decay=cfg["weightDecay"], amsgrad=cfg["amsgrad"], **kwargs)
    else:
        opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-7, amsgrad=cfg["amsgrad"], **kwargs)
    averages = [p.detach().clone() for p in params] if cfg["full"] else []
    mom = cfg["emaMomentum"]
    use_foreach_ema = variant == "foreach" and hasattr(torch, "_foreach_mul_") and hasattr(torch, "_foreach_add_")
    detached = [p.detach() for p in params]

    def step():
        if cfg["full"]:
            torch.nn.utils.clip_grad_norm_(params, cfg["globalClipnorm"])
        opt.step()
        if cfg["full"]:
            with torch.no_grad():
                if use_foreach_ema:
                    torch._foreach_mul_(averages, mom)
                    torch._foreach_add_(averages, detached, alpha=1.0 - mom)
                else:
                    for a, p in zip(averages, detached):
                        a.mul_(mom).add_(p, alpha=1.0 - mom)

    step()  # builds the state; a fused request on CPU fails here when unsupported
    return measure(step, cfg["count"] * cfg["size"], cfg["timing"])


LABELS = {
    "default": "torch Adam (default: for-loop)",
    "foreach": "torch Adam (foreach=True)",
    "fused": "torch Adam (fused=True)",
}


def main():
    cfg = json.loads(sys.argv[1])
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "results": []}
    for variant in cfg["variants"]:
        label = LABELS[variant].replace("Adam", "AdamW+clip+EMA") if cfg["full"] else LABELS[variant]
        try:
            out["results"].append({"variant": variant, "label": label, "rate": run_variant(cfg, variant)})
        except Exception as e:  # noqa: BLE001 -- an unsupported variant is a skip, not a failure
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            out["results"].append({"variant": variant, "label": label, "skipped": msg})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
