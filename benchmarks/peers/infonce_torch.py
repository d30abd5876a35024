"""Two-sided InfoNCE value and both gradients with PyTorch autograd on the CPU (peer of contrastlab).

    /usr/bin/python3 benchmarks/peers/infonce_torch.py --u U.f64 --v V.f64 --n N --d D [--dtype f64|f32]
        [--tau 0.1] [--reps 5] [--threads T]

L = (1/(2N)) Σ_i [(logsumexp_j S_ij − S_ii) + (logsumexp_j S_ji − S_ii)], S = U Vᵀ/τ (THEORY 2.1),
and loss.backward() for ∂L/∂U, ∂L/∂V. torch.set_num_threads(T) (default: torch's own choice).
Prints one line `RESULT {json}` with the value, the per-call times after one warm-up call, peak RSS,
torch's version and BLAS (build configuration and the shared objects actually mapped).
"""
import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import torch  # noqa: E402

from common import input_args, blas_env, emit, loaded_blas, max_rss_mib, read_matrix  # noqa: E402


def infonce(U, V, tau):
    n = U.shape[0]
    U = U.detach().requires_grad_(True)
    V = V.detach().requires_grad_(True)
    S = U @ V.T / tau
    pos = S.diagonal()
    loss = (torch.logsumexp(S, 1).sum() + torch.logsumexp(S, 0).sum() - 2 * pos.sum()) / (2 * n)
    loss.backward()
    return float(loss), U.grad, V.grad


def torch_config():
    """BLAS_INFO, LAPACK_INFO, MKL-DNN and OpenMP from torch's build configuration."""
    cfg = torch.__config__.show()
    keys = ("BLAS_INFO", "LAPACK_INFO", "USE_MKLDNN", "USE_OPENMP")
    out = [t.strip() for t in re.split(r"[,\n]|: ", cfg) if t.strip().startswith(keys)]
    out += [l.strip(" -") for l in cfg.splitlines() if "MKL-DNN" in l]
    return out


def main():
    ap = argparse.ArgumentParser()
    input_args(ap, infonce=True)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dt = torch.float64 if a.dtype == "f64" else torch.float32
    U = torch.from_numpy(read_matrix(np, a.u, a.n, a.d).copy()).to(dt).contiguous()
    V = torch.from_numpy(read_matrix(np, a.v, a.n, a.d).copy()).to(dt).contiguous()
    t0 = time.perf_counter()
    value, gu, gv = infonce(U, V, a.tau)
    warm = time.perf_counter() - t0
    times = []
    for _ in range(a.reps):
        del gu, gv
        t0 = time.perf_counter()
        value, gu, gv = infonce(U, V, a.tau)
        times.append(time.perf_counter() - t0)
    emit({
        "peer": "torch", "value": value, "times": times, "warmupS": warm, "maxRssMiB": max_rss_mib(),
        "version": torch.__version__, "python": sys.version.split()[0], "executable": sys.executable,
        "threads": torch.get_num_threads(), "blas": torch_config(), "blasLoaded": loaded_blas(), "env": blas_env(),
    })


if __name__ == "__main__":
    main()
