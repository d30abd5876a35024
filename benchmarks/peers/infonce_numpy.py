"""Two-sided InfoNCE value and both gradients with numpy (peer of contrastlab's fused kernels).

    python3 benchmarks/peers/infonce_numpy.py --u U.f64 --v V.f64 --n N --d D [--dtype f64|f32]
        [--tau 0.1] [--reps 5] [--grad-out PREFIX]

The materialised maths of THEORY 2.1: S = U Vᵀ/τ; max-shifted log-sum-exp over rows and columns;
L = (1/(2N)) Σ_i [(lse_row_i − S_ii) + (lse_col_i − S_ii)]; G = (P + Q − 2I)/(2N) with P, Q the
row and column softmaxes; ∂L/∂U = G V/τ, ∂L/∂V = Gᵀ U/τ. Two N x N arrays at the peak (S and one
work array; Q overwrites S). Threads: OPENBLAS_NUM_THREADS, set by the driver.
Prints one line `RESULT {json}`: the value, the per-call times (after one warm-up call), peak RSS,
numpy's BLAS. --grad-out writes PREFIX.gu / PREFIX.gv (raw float64) for the tests.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

from common import input_args, blas_env, emit, loaded_blas, max_rss_mib, read_matrix  # noqa: E402


def infonce(U, V, tau):
    n = U.shape[0]
    S = U @ V.T
    S /= tau
    work = np.empty_like(S)
    m_row = S.max(axis=1)
    np.subtract(S, m_row[:, None], out=work)
    np.exp(work, out=work)
    lse_row = m_row + np.log(work.sum(axis=1))
    m_col = S.max(axis=0)
    np.subtract(S, m_col[None, :], out=work)
    np.exp(work, out=work)
    lse_col = m_col + np.log(work.sum(axis=0))
    pos = np.diagonal(S).astype(np.float64)
    terms = (lse_row.astype(np.float64) - pos) + (lse_col.astype(np.float64) - pos)
    value = float(terms.sum()) / (2 * n)
    # G = (P + Q − 2I)/(2N): P into the work array, Q in place of S.
    np.subtract(S, lse_row[:, None], out=work)
    np.exp(work, out=work)
    S -= lse_col[None, :]
    np.exp(S, out=S)
    work += S
    del S
    idx = np.arange(n)
    work[idx, idx] -= 2
    work *= 1 / (2 * n)
    grad_u = work @ V
    grad_u /= tau
    grad_v = work.T @ U
    grad_v /= tau
    return value, grad_u, grad_v


def numpy_blas():
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{deps.get('name')} {deps.get('version')}"
    except Exception:  # older numpy
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    input_args(ap, infonce=True)
    ap.add_argument("--grad-out")
    a = ap.parse_args()
    dt = np.float64 if a.dtype == "f64" else np.float32
    U = np.ascontiguousarray(read_matrix(np, a.u, a.n, a.d), dtype=dt)
    V = np.ascontiguousarray(read_matrix(np, a.v, a.n, a.d), dtype=dt)
    tau = dt(a.tau)
    t0 = time.perf_counter()
    value, gu, gv = infonce(U, V, tau)  # warm-up
    warm = time.perf_counter() - t0
    times = []
    for _ in range(a.reps):
        del gu, gv
        t0 = time.perf_counter()
        value, gu, gv = infonce(U, V, tau)
        times.append(time.perf_counter() - t0)
    if a.grad_out:
        gu.astype("<f8").tofile(a.grad_out + ".gu")
        gv.astype("<f8").tofile(a.grad_out + ".gv")
    emit({
        "peer": "numpy", "value": value, "times": times, "warmupS": warm, "maxRssMiB": max_rss_mib(),
        "version": np.__version__, "python": sys.version.split()[0], "executable": sys.executable,
        "blas": numpy_blas(), "blasLoaded": loaded_blas(), "env": blas_env(),
    })


if __name__ == "__main__":
    main()
