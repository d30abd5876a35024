"""One bimodal SogCLR epoch on free embeddings with PyTorch autograd (peer of benchmarks/sogclr.ts).

    /usr/bin/python3 benchmarks/peers/sogclr_torch.py --u U.f64 --v V.f64 --n N --d D [--batch 256]
        [--tau 0.1] [--gamma 0.9] [--lr 20] [--epochs 2] [--threads T]

The same loop as benchmarks/sogclr.ts (THEORY 5, src/estimators/sogclr.ts), float32, ε₀ = 0, one u per
anchor (2N slots: u1_i for u_i against the batch's v's, u2_i for v_i against the batch's u's):
  each epoch a fresh permutation cut into ⌈N/B⌉ batches (the last one partial); per step
  S = U_b V_bᵀ/τ; log ĝ_a = logsumexp over a's B − 1 in-batch negatives of S − S_aa − log(B − 1);
  u_a ← ĝ_a on a's first visit, else (1 − γ)·u_a + γ·ĝ_a (kept as log u, float64, via logaddexp);
  surrogate (τ/(2B)) Σ_a ĝ_a / u_a with u held fixed (detached), backward, plain SGD with step lr on
  the 2B batch rows, then each row back onto the unit sphere.
The batch value reported is the plug-in (τ/(2B)) Σ_a log ĝ_a, as contrastlab's batchValue.
Prints one line `RESULT {json}`: per-epoch seconds and mean batch value, peak RSS, torch's BLAS.
"""
import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import torch  # noqa: E402

from common import input_args, blas_env, emit, loaded_blas, max_rss_mib, read_matrix  # noqa: E402
from infonce_torch import torch_config  # noqa: E402


def step(U, V, log_u, visited, idx, n, tau, gamma, lr):
    b = idx.shape[0]
    Ub = U[idx].requires_grad_(True)
    Vb = V[idx].requires_grad_(True)
    S = Ub @ Vb.T / tau
    pos = S.diagonal()
    neg = S.masked_fill(torch.eye(b, dtype=torch.bool), float("-inf"))
    log_m = math.log(b - 1)
    log_g = torch.cat([torch.logsumexp(neg, 1) - pos - log_m, torch.logsumexp(neg, 0) - pos - log_m])
    with torch.no_grad():
        slots = torch.cat([idx, idx + n])
        lg = log_g.detach().to(torch.float64)
        old = log_u[slots]
        seen = visited[slots]
        mixed = torch.logaddexp(math.log1p(-gamma) + old, math.log(gamma) + lg) if gamma < 1 else lg
        new = torch.where(seen, mixed, lg)
        log_u[slots] = new
        visited[slots] = True
    scale = tau / (2 * b)
    loss = scale * torch.exp(log_g - new.to(log_g.dtype)).sum()
    loss.backward()
    with torch.no_grad():
        for X, Xb in ((U, Ub), (V, Vb)):
            y = Xb - lr * Xb.grad
            X[idx] = y / y.norm(dim=1, keepdim=True)
    return scale * float(log_g.detach().to(torch.float64).sum())


def main():
    ap = argparse.ArgumentParser()
    input_args(ap)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--tau", type=float, default=0.1)
    ap.add_argument("--gamma", type=float, default=0.9)
    ap.add_argument("--lr", type=float, default=20.0)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    n = a.n
    U = torch.from_numpy(read_matrix(np, a.u, n, a.d).copy()).to(torch.float32).contiguous()
    V = torch.from_numpy(read_matrix(np, a.v, n, a.d).copy()).to(torch.float32).contiguous()
    # Warm-up on throw-away copies and state (as benchmarks/sogclr.ts: a few steps).
    Uw, Vw = U.clone(), V.clone()
    lu_w = torch.zeros(2 * n, dtype=torch.float64)
    vis_w = torch.zeros(2 * n, dtype=torch.bool)
    for _ in range(5):
        step(Uw, Vw, lu_w, vis_w, torch.randperm(n)[: a.batch], n, a.tau, a.gamma, a.lr)
    del Uw, Vw, lu_w, vis_w
    log_u = torch.zeros(2 * n, dtype=torch.float64)
    visited = torch.zeros(2 * n, dtype=torch.bool)
    epochs = []
    for e in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        nb = (n + a.batch - 1) // a.batch
        total = 0.0
        for j in range(nb):
            total += step(U, V, log_u, visited, perm[j * a.batch:(j + 1) * a.batch], n, a.tau, a.gamma, a.lr)
        epochs.append({"epoch": e + 1, "steps": nb, "seconds": time.perf_counter() - t0, "meanBatchValue": total / nb})
    emit({
        "peer": "torch", "epochs": epochs, "maxRssMiB": max_rss_mib(), "version": torch.__version__,
        "python": sys.version.split()[0], "executable": sys.executable, "threads": torch.get_num_threads(),
        "blas": torch_config(), "blasLoaded": loaded_blas(), "env": blas_env(),
    })


if __name__ == "__main__":
    main()
