"""Independent float64 reference of `contrastlab diagnose`'s exact quantities, in numpy, for
tests/independent/diagnose.test.ts. Written from the definitions (docs/theory.md 2.1 and 2.3, the
header comments of src/analysis/diagnose.ts and diagnosePasses.ts) with the N x N similarity
matrix S = U V^T / tau materialised and every log-sum-exp max-shifted here; no code is shared with
the TypeScript side.

usage: diagnose_reference.py --serve
answers JSON lines (jsonl_server.py):
  {"op": "make", "dir", "kind": "clustered" | "nonunit", "n", "d", "k", "seed", "dtype": "f64" | "f32"}
      writes DIR/U.npy, DIR/V.npy (float64 or float32) and DIR/labels.npy (int64, numpy's default)
  {"op": "bad", "dir", "n", "d"}
      writes the malformed inputs of the CLI's bad-input cases into DIR
  {"op": "reference", "u", "v", "labels" (path or null), "tau", "eps0", "batchSizes", "hardest",
   "neighbours", "unitTolerance"}
      every exact quantity of the diagnosis, computed in float64 from the files
"""
import math
import sys
from fractions import Fraction

try:
    import numpy as np
except ImportError:  # --serve reports it in its handshake
    np = None


def lse(a, axis):
    """log sum exp along axis, shifted by the maximum; -inf entries (masked out) are allowed."""
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def log_eps_plus_exp(eps0, x):
    """log(eps0 + e^x), max-shifted."""
    if eps0 == 0:
        return x.copy()
    a = math.log(eps0)
    m = np.maximum(a, x)
    return m + np.log(np.exp(a - m) + np.exp(x - m))


def make(req):
    rng = np.random.default_rng(req['seed'])
    n, d, k = req['n'], req['d'], req['k']
    centres = rng.standard_normal((k, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, k, size=n)  # int64
    # Unequal cluster spread: a few tight clusters and a few loose ones; V a noisy second view.
    spread = 0.15 + 0.5 * rng.random(k)
    U = centres[labels] + spread[labels, None] * rng.standard_normal((n, d)) / math.sqrt(d) * 3
    V = U + 0.25 * rng.standard_normal((n, d)) / math.sqrt(d) * 3
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    if req['kind'] == 'nonunit':
        # Raw (unnormalised) features: norms from 0.5 to 10, so S = U V^T / tau reaches ~1000 at tau = 0.1.
        U *= rng.uniform(0.5, 10.0, size=(n, 1))
        V *= rng.uniform(0.5, 10.0, size=(n, 1))
    dt = np.float32 if req['dtype'] == 'f32' else np.float64
    out = req['dir']
    np.save(out + '/U.npy', U.astype(dt))
    np.save(out + '/V.npy', V.astype(dt))
    np.save(out + '/labels.npy', labels)
    return {'u': out + '/U.npy', 'v': out + '/V.npy', 'labels': out + '/labels.npy'}


def bad(req):
    rng = np.random.default_rng(7)
    n, d, out = req['n'], req['d'], req['dir']
    U = rng.standard_normal((n, d))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    np.save(out + '/U.npy', U)
    np.save(out + '/V_short.npy', U[: n - 1])
    Un = U.copy()
    Un[3, 2] = np.nan
    np.save(out + '/U_nan.npy', Un)
    np.save(out + '/labels_short.npy', np.arange(n - 1) % 3)
    np.save(out + '/labels_f64.npy', (np.arange(n) % 3).astype(np.float64))
    return {k: out + '/' + k + '.npy' for k in ['U', 'V_short', 'U_nan', 'labels_short', 'labels_f64']}


def grad_norms(U, V, gU, gV):
    """Frobenius norm of (gU, gV) and of its row-wise tangent projection g - (g.x^)x^."""
    e = np.sum(gU ** 2) + np.sum(gV ** 2)
    r = 0.0
    for X, G in ((U, gU), (V, gV)):
        xh = X / np.linalg.norm(X, axis=1, keepdims=True)
        P = G - np.sum(G * xh, axis=1, keepdims=True) * xh
        r += np.sum(P ** 2)
    return float(np.sqrt(e)), float(np.sqrt(r))


def reference(req):
    U = np.load(req['u']).astype(np.float64)
    V = np.load(req['v']).astype(np.float64)
    tau, eps0 = float(req['tau']), float(req['eps0'])
    n, d = U.shape
    eye = np.eye(n, dtype=bool)
    R = U @ V.T  # raw similarities u_i . v_j
    S = R / tau
    s = np.diag(S).copy()

    # ---- infonce (THEORY 2.1): row and column cross-entropies, nothing excluded ----
    lr, lc = lse(S, 1), lse(S, 0)
    row, col = lr - s, lc - s
    infonce = float(np.sum(row + col) / (2 * n))
    P = np.exp(S - lr[:, None])
    Q = np.exp(S - lc[None, :])
    dS = (P + Q - 2 * np.eye(n)) / (2 * n)
    g_inf = (dS @ V / tau, dS.T @ U / tau)

    # ---- gcl-bimodal (THEORY 2.3): g1_i over row i's negatives, g2_i over column i's ----
    Sn = np.where(eye, -np.inf, S)
    nr, nc = lse(Sn, 1), lse(Sn, 0)
    logG1 = nr - s - math.log(n - 1)
    logG2 = nc - s - math.log(n - 1)
    f1, f2 = log_eps_plus_exp(eps0, logG1), log_eps_plus_exp(eps0, logG2)
    gcl_b = float(tau / (2 * n) * (np.sum(f1) + np.sum(f2)))
    w1 = tau / (2 * n) * np.exp(logG1 - f1)  # (tau/2N) g/(eps0 + g)
    w2 = tau / (2 * n) * np.exp(logG2 - f2)
    P1 = np.exp(Sn - nr[:, None])  # row softmax over the negatives (0 on the diagonal)
    P2 = np.exp(Sn - nc[None, :])
    dS = w1[:, None] * P1 + w2[None, :] * P2
    dS[eye] = -(w1 + w2)
    g_b = (dS @ V / tau, dS.T @ U / tau)

    # ---- gcl-unimodal: Z = [U; V], K = Z Z^T / tau; anchor a's positive is a +- N, negatives the rest ----
    Z = np.vstack([U, V])
    K = Z @ Z.T / tau
    m = 2 * n
    idx = np.arange(m)
    pos = np.where(idx < n, idx + n, idx - n)
    mask = np.eye(m, dtype=bool)
    mask[idx, pos] = True
    Kn = np.where(mask, -np.inf, K)
    lz = lse(Kn, 1)
    kp = K[idx, pos]
    logGz = lz - kp - math.log(2 * n - 2)
    fz = log_eps_plus_exp(eps0, logGz)
    gcl_u = float(tau / (2 * n) * np.sum(fz))
    wz = tau / (2 * n) * np.exp(logGz - fz)
    dK = wz[:, None] * np.exp(Kn - lz[:, None])
    dK[idx, pos] = -wz
    gZ = (dK + dK.T) @ Z / tau
    g_u = (gZ[:n], gZ[n:])

    # ---- rows and bounds ----
    tol = float(req['unitTolerance'])
    nu, nv = np.linalg.norm(U, axis=1), np.linalg.norm(V, axis=1)
    non_u, non_v = int(np.sum(np.abs(nu - 1) > tol)), int(np.sum(np.abs(nv - 1) > tol))
    unit = non_u == 0 and non_v == 0
    x = -n / ((n - 1) * tau)
    b_inf = math.log1p((n - 1) * math.exp(x))
    b_gcl = tau * (x if eps0 == 0 else math.log(eps0 + math.exp(x)))
    objectives = []
    for name, value, g, b in (('infonce', infonce, g_inf, b_inf), ('gcl-bimodal', gcl_b, g_b, b_gcl), ('gcl-unimodal', gcl_u, g_u, b_gcl)):
        e, r = grad_norms(U, V, *g)
        objectives.append({'name': name, 'value': value, 'gradNorm': e, 'riemannianGradNorm': r,
                           'bound': b if unit else None, 'gap': value - b if unit else None, 'attained': d >= n - 1})

    # ---- hardest anchors, by (row + col)/2 descending, ties by index; nearest negatives u_i . v_j, j != i ----
    loss = (row + col) / 2
    order = sorted(range(n), key=lambda i: (-loss[i], i))
    H, Kn_ = min(req['hardest'], n), min(req['neighbours'], n - 1)
    hardest = []
    for i in order[:H]:
        js = sorted((j for j in range(n) if j != i), key=lambda j: (-R[i, j], j))[:Kn_]
        hardest.append({'index': i, 'loss': float(loss[i]), 'nearestNegatives': [{'index': j, 'similarity': float(R[i, j])} for j in js]})

    # ---- similarities ----
    sp = np.diag(R)
    neg = R[~eye]
    pm, nm = float(np.mean(sp)), float(np.mean(neg))
    similarity = {
        'positive': {'mean': pm, 'variance': float(np.mean((sp - pm) ** 2))},
        'negative': {'mean': nm, 'variance': float(np.mean((neg - nm) ** 2))},
        'bound': {'lhs': pm, 'rhs': 1 + nm + 1 / (n - 1), 'slack': 1 + nm + 1 / (n - 1) - pm, 'applies': unit},
    }

    # ---- labels: exact same-label-negative quantities of a uniform batch of B ----
    fn = None
    classes = None
    if req.get('labels'):
        y = np.load(req['labels'])
        counts = np.bincount(y)
        classes = {'classes': int(len(counts)), 'classSizes': [int(c) for c in counts]}
        fn = []
        for B in req['batchSizes']:
            same = sum(int(c) * (int(c) - 1) for c in counts)
            none = sum(Fraction(int(c) * math.comb(n - int(c), B - 1), math.comb(n - 1, B - 1)) for c in counts if c > 0)
            fn.append({'B': B, 'expectedPerAnchor': (B - 1) * same / (n * (n - 1)), 'probabilityAtLeastOne': float(1 - none / n)})

    return {
        'n': n, 'd': d,
        'rows': {'nonUnitU': non_u, 'nonUnitV': non_v, 'minNorm': float(min(nu.min(), nv.min())), 'maxNorm': float(max(nu.max(), nv.max()))},
        'objectives': objectives,
        'anchors': {'infonceRow': row.tolist(), 'infonceCol': col.tolist(), 'logG1': logG1.tolist(), 'logG2': logG2.tolist(),
                    'logGu': logGz[:n].tolist(), 'logGv': logGz[n:].tolist(), 'hardest': hardest},
        'similarity': similarity,
        'falseNegatives': fn,
        'labels': classes,
    }


def main():
    if sys.argv[1:] == ['--serve']:
        from jsonl_server import serve

        serve({'make': make, 'bad': bad, 'reference': reference}, missing=['numpy'] if np is None else [])
        return
    raise SystemExit(__doc__)


if __name__ == '__main__':
    main()
