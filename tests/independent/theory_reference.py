"""Independent float64 implementation of THEORY.md's objectives, in numpy, for cross-checking
`contrastlab eval`. Written straight from the formulas (materialised N x N matrices, gradients
by the chain rule through S = U V^T / tau), sharing no code with the library.

usage: theory_reference.py OBJECTIVE U.npy V.npy TAU EPS0 BATCHES_JSON_OR_- ALLB_OR_0 OUTDIR
writes OUTDIR/value.json, OUTDIR/gradU.npy, OUTDIR/gradV.npy

   or: theory_reference.py --serve
answers JSON lines (jsonl_server.py): {"op": "reference", "argv": [the eight arguments above]}
writes the same files and returns {"value", "gradNorm"}; {"op": "exec", ...} runs numpy code. One
such process serves a whole test file (tests/independent/numpy.ts, startNumpy).
"""
import itertools
import json
import sys

try:
    import numpy as np
except ImportError:  # --serve reports it in its handshake; the one-shot mode fails on first use
    np = None


def lse(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def infonce(U, V, tau):
    n = U.shape[0]
    S = U @ V.T / tau
    r, c = lse(S, 1), lse(S, 0)
    d = np.diag(S)
    value = np.sum((r - d) + (c - d)) / (2 * n)
    P = np.exp(S - r[:, None])
    Q = np.exp(S - c[None, :])
    dS = (P + Q - 2 * np.eye(n)) / (2 * n)
    return value, dS @ V / tau, dS.T @ U / tau


def infonce_uv(U, V, tau):
    n = U.shape[0]
    S = U @ V.T / tau
    r = lse(S, 1)
    value = np.sum(r - np.diag(S)) / n
    dS = (np.exp(S - r[:, None]) - np.eye(n)) / n
    return value, dS @ V / tau, dS.T @ U / tau


def minibatch(U, V, tau, batches):
    gU, gV, total = np.zeros_like(U), np.zeros_like(V), 0.0
    for b in batches:
        b = list(b)
        v, a, c = infonce(U[b], V[b], tau)
        total += v
        gU[b] += a
        gV[b] += c
    k = len(batches)
    return total / k, gU / k, gV / k


def gcl_bimodal(U, V, tau, eps0):
    n = U.shape[0]
    S = U @ V.T / tau
    off = ~np.eye(n, dtype=bool)
    d = np.diag(S)
    # g1_i = mean_{j != i} exp(S_ij - S_ii); g2_i = mean_{j != i} exp(S_ji - S_ii); max-shifted.
    A1 = np.where(off, S - d[:, None], -np.inf)
    A2 = np.where(off, S.T - d[:, None], -np.inf)
    lg1 = lse(A1, 1) - np.log(n - 1)
    lg2 = lse(A2, 1) - np.log(n - 1)
    value = tau / (2 * n) * np.sum(np.log(eps0 + np.exp(lg1)) + np.log(eps0 + np.exp(lg2)))
    w1 = np.exp(lg1) / (eps0 + np.exp(lg1))
    w2 = np.exp(lg2) / (eps0 + np.exp(lg2))
    soft1 = np.exp(A1 - lse(A1, 1)[:, None])  # row softmax over negatives
    soft2 = np.exp(A2 - lse(A2, 1)[:, None])  # softmax over column i's negatives, indexed [i, j] = S_ji
    dS = tau / (2 * n) * (w1[:, None] * soft1 + (w2[:, None] * soft2).T)
    dS[np.diag_indices(n)] = -tau / (2 * n) * (w1 + w2)
    return value, dS @ V / tau, dS.T @ U / tau


def gcl_unimodal(U, V, tau, eps0):
    n = U.shape[0]
    Z = np.vstack([U, V])
    K = Z @ Z.T / tau
    m = 2 * n
    pos = (np.arange(m) + n) % m
    mask = np.ones((m, m), dtype=bool)
    mask[np.arange(m), np.arange(m)] = False
    mask[np.arange(m), pos] = False
    kp = K[np.arange(m), pos]
    A = np.where(mask, K - kp[:, None], -np.inf)
    lg = lse(A, 1) - np.log(2 * n - 2)
    value = tau / (2 * n) * np.sum(np.log(eps0 + np.exp(lg)))
    w = np.exp(lg) / (eps0 + np.exp(lg))
    soft = np.exp(A - lse(A, 1)[:, None])
    dK = tau / (2 * n) * w[:, None] * soft
    dK[np.arange(m), pos] = -tau / (2 * n) * w
    gZ = (dK + dK.T) @ Z / tau
    return value, gZ[:n], gZ[n:]


def reference(argv):
    obj, up, vp, tau, eps0, batches_path, allb, out = argv
    U = np.load(up).astype(np.float64)
    V = np.load(vp).astype(np.float64)
    tau, eps0, allb = float(tau), float(eps0), int(allb)
    if obj == 'infonce':
        r = infonce(U, V, tau)
    elif obj == 'infonce-uv':
        r = infonce_uv(U, V, tau)
    elif obj == 'minibatch':
        if allb > 0:
            batches = list(itertools.combinations(range(U.shape[0]), allb))
        else:
            with open(batches_path) as f:
                batches = json.load(f)
        r = minibatch(U, V, tau, batches)
    elif obj == 'gcl-bimodal':
        r = gcl_bimodal(U, V, tau, eps0)
    elif obj == 'gcl-unimodal':
        r = gcl_unimodal(U, V, tau, eps0)
    else:
        raise ValueError('unknown objective ' + obj)
    value, gU, gV = r
    result = {'value': float(value), 'gradNorm': float(np.sqrt(np.sum(gU ** 2) + np.sum(gV ** 2)))}
    with open(out + '/value.json', 'w') as f:
        json.dump(result, f)
    np.save(out + '/gradU.npy', gU)
    np.save(out + '/gradV.npy', gV)
    return result


def main():
    if sys.argv[1:] == ['--serve']:
        from jsonl_server import serve

        serve({'reference': lambda req: reference(req['argv'])}, missing=['numpy'] if np is None else [])
        return
    if np is None:
        raise SystemExit('numpy is not installed')
    if len(sys.argv) != 9:
        raise SystemExit(__doc__)
    reference(sys.argv[1:9])


if __name__ == '__main__':
    main()
