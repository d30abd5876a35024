"""Independent numpy instances for `contrastlab gradcheck` (tests/independent/gradcheck.test.ts).

Builds clustered, non-uniform embeddings (a few cluster centres of random sizes, noise, rows
normalised) and the gradient of one data-parallel training step as a K-worker training code computes
it: each worker takes its contiguous shard of the pairs, forms its local loss against the features
gathered from all workers, back-propagates, and the workers' gradients are all-reduced. The mistakes
are made the way such code makes them (a flag of the worker loop). Everything is computed in the
dtype of the case (float32 as a float32 training code does, or float64), plain numpy, materialised
logits; nothing is shared with the TypeScript side.

usage: python3 gradcheck_reference.py OUTDIR  -> writes .npy files, prints a JSON list of the cases
"""
import json
import os
import sys

import numpy as np

N, D, TAU, K = 4096, 128, 0.1, 4


def instance(seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((12, D))
    sizes = rng.dirichlet(np.full(12, 0.7))
    lab = rng.choice(12, size=N, p=sizes)
    base = centres[lab] + 0.8 * rng.standard_normal((N, D))
    U = base + 0.35 * rng.standard_normal((N, D))
    V = base + 0.35 * rng.standard_normal((N, D))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    return U, V


def row_softmax_grad(logits, pos, exclude_pos, gcl, tau, eps0, coef, dt):
    """d(loss)/d(logits) of one worker's anchors (rows), positives at columns pos; a loss per anchor
    of coef·CE (InfoNCE) or coef·τ·log(ε₀ + g) (GCL, the positive excluded from the negatives)."""
    m, n = logits.shape
    r = np.arange(m)
    x = logits.copy()
    if exclude_pos:
        x[r, pos] = -np.inf
    mx = x.max(axis=1, keepdims=True)
    e = np.exp(x - mx)
    s = e.sum(axis=1, keepdims=True)
    p = e / s
    if not gcl:
        g = p
        g[r, pos] -= 1
        return (coef * g).astype(dt)
    lse = (mx + np.log(s))[:, 0]
    lg = lse - logits[r, pos] - np.log(n - 1)
    gg = np.exp(lg)
    w = (gg / (eps0 + gg)).astype(dt)
    g = p * w[:, None]
    g[r, pos] -= w
    return (coef * tau * g).astype(dt)


def two_sided_step(U, V, objective, tau, eps0, mistake, dt):
    """One step of K workers for infonce / gcl-bimodal (CLIP-style, image and text directions)."""
    n, d = U.shape
    m = n // K
    U = U.astype(dt)
    V = V.astype(dt)
    gU = np.zeros_like(U)
    gV = np.zeros_like(V)
    inv = dt(1.0) if mistake == 'missing-inv-tau' else dt(1.0 / tau)
    gcl = objective == 'gcl-bimodal'
    wi, wt = {'summed-directions': (1.0, 1.0), 'one-direction': (1.0, 0.0)}.get(mistake, (0.5, 0.5))
    for k in range(K):
        own = slice(k * m, (k + 1) * m)
        Uk, Vk = U[own], V[own]
        labels = np.arange(m) + (0 if mistake == 'rank-offset' else k * m)
        li = (Uk @ V.T) * inv  # logits_per_image: m x N
        lt = (Vk @ U.T) * inv if wt else None  # logits_per_text
        di = row_softmax_grad(li, labels, gcl, gcl, tau, eps0, dt(wi / m), dt)
        # A direction with weight 0 (one-direction) contributes exactly zero: skipped.
        dtt = row_softmax_grad(lt, labels, gcl, gcl, tau, eps0, dt(wt / m), dt) if wt else None
        # Local features: gradient of their own logits rows; the gathered features' gradient.
        gUk = (di @ V) * inv
        gVall = (di.T @ Uk) * inv
        gVk = (dtt @ U) * inv if wt else np.zeros_like(Uk)
        gUall = (dtt.T @ Vk) * inv if wt else np.zeros_like(U)
        if mistake == 'local-without-gather-grad':
            # Plain all_gather: only the own block (the local tensor put back in place) has gradient.
            gVall = np.where(np.isin(np.arange(n), np.arange(k * m, (k + 1) * m))[:, None], gVall, dt(0))
            gUall = np.where(np.isin(np.arange(n), np.arange(k * m, (k + 1) * m))[:, None], gUall, dt(0))
        gU[own] += gUk
        gV[own] += gVk
        gU += gUall
        gV += gVall
    if mistake != 'scaled':  # the all-reduce mean; 'scaled': a sum
        gU /= dt(K)
        gV /= dt(K)
    return gU, gV


def step(U, V, objective, tau, eps0, mistake, dt, cache):
    """The K-worker step of the case. 'scaled' (the all-reduce sum: K = 4 times the mean) and
    'summed-directions' (weights 1, 1 instead of 1/2, 1/2: twice every term) differ from the correct
    step by powers of two, exact in binary floating point, so they are taken from the correct step
    (cached) times 4 and 2: bitwise what the worker loop with those flags computes, at a third of the
    time (numpy's reference BLAS here is slow)."""
    factor = {'scaled': K, 'summed-directions': 2}.get(mistake)
    base = 'global' if factor else mistake
    key = (objective, np.dtype(dt).name, base, eps0)
    if key not in cache:
        if objective == 'gcl-unimodal':
            cache[key] = unimodal_step(U, V, tau, eps0, base, dt)
        else:
            cache[key] = two_sided_step(U, V, objective, tau, eps0, base, dt)
    gU, gV = cache[key]
    return (gU * dt(factor), gV * dt(factor)) if factor else (gU, gV)


def unimodal_step(U, V, tau, eps0, mistake, dt):
    """One step of K workers for gcl-unimodal: worker k owns both views of its pairs."""
    n, d = U.shape
    m = n // K
    Z = np.vstack([U, V]).astype(dt)
    gZ = np.zeros_like(Z)
    inv = dt(1.0) if mistake == 'missing-inv-tau' else dt(1.0 / tau)
    for k in range(K):
        rows = np.concatenate([np.arange(k * m, (k + 1) * m), n + np.arange(k * m, (k + 1) * m)])
        Zk = Z[rows]
        logits = (Zk @ Z.T) * inv  # 2m x 2N
        pos = (rows + n) % (2 * n)
        x = logits.copy()
        r = np.arange(2 * m)
        x[r, rows] = -np.inf
        x[r, pos] = -np.inf
        mx = x.max(axis=1, keepdims=True)
        e = np.exp(x - mx)
        s = e.sum(axis=1, keepdims=True)
        lg = (mx + np.log(s))[:, 0] - logits[r, pos] - np.log(2 * n - 2)
        gg = np.exp(lg)
        w = (gg / (eps0 + gg)).astype(dt)
        g = (e / s) * w[:, None]
        g[r, pos] -= w
        g = (dt(tau / (2 * m)) * g).astype(dt)
        gZ[rows] += (g @ Z) * inv
        gall = (g.T @ Zk) * inv
        if mistake == 'local-without-gather-grad':
            keep = np.zeros(2 * n, dtype=bool)
            keep[rows] = True
            gall = np.where(keep[:, None], gall, dt(0))
        gZ += gall
    if mistake != 'scaled':
        gZ /= dt(K)
    return gZ[:n], gZ[n:]


CASES = [
    # (objective, dtype, mistake, eps0)
    ('infonce', 'f32', 'global', 0.0),
    ('infonce', 'f32', 'scaled', 0.0),
    ('infonce', 'f32', 'local-without-gather-grad', 0.0),
    ('infonce', 'f32', 'rank-offset', 0.0),
    ('infonce', 'f32', 'summed-directions', 0.0),
    ('infonce', 'f32', 'one-direction', 0.0),
    ('infonce', 'f32', 'missing-inv-tau', 0.0),
    ('infonce', 'f64', 'global', 0.0),
    ('gcl-bimodal', 'f32', 'global', 0.05),
    ('gcl-bimodal', 'f64', 'rank-offset', 0.05),
    ('gcl-unimodal', 'f32', 'global', 0.05),
    ('gcl-unimodal', 'f64', 'local-without-gather-grad', 0.05),
]


def main():
    out = sys.argv[1]
    U, V = instance()
    inputs = {}
    for name, dt in (('f32', np.float32), ('f64', np.float64)):
        u, v = U.astype(dt), V.astype(dt)
        inputs[name] = (os.path.join(out, f'U_{name}.npy'), os.path.join(out, f'V_{name}.npy'))
        np.save(inputs[name][0], u)
        np.save(inputs[name][1], v)
    cases = []
    cache = {}
    for objective, dname, mistake, eps0 in CASES:
        dt = np.float32 if dname == 'f32' else np.float64
        u, v = U.astype(dt), V.astype(dt)
        gu, gv = step(u, v, objective, TAU, eps0, mistake, dt, cache)
        assert gu.dtype == dt and gv.dtype == dt
        cid = f'{objective}-{dname}-{mistake}'
        pu, pv = os.path.join(out, f'gU_{cid}.npy'), os.path.join(out, f'gV_{cid}.npy')
        np.save(pu, gu)
        np.save(pv, gv)
        cases.append({'id': cid, 'objective': objective, 'dtype': dname, 'mistake': mistake, 'tau': TAU, 'eps0': eps0,
                      'shards': K, 'n': N, 'd': D, 'u': inputs[dname][0], 'v': inputs[dname][1], 'gu': pu, 'gv': pv})
    print(json.dumps(cases))


if __name__ == '__main__':
    main()
