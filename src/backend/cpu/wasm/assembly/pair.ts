/**
 * Fused, blocked, streaming pair softmax (see src/backend/types.ts for the maths).
 *
 * S = U Vᵀ / τ is streamed in T x T tiles (T = blockSize, a multiple of 8); nothing n x n exists.
 *
 * Pass 1 (pairLse): per tile, the S tile comes from the packed-panel micro-kernel; excluded entries
 * and padding columns are set to −Infinity; per row / column the tile maximum over kept entries
 * and the max-shifted sum of exponentials are formed and merged into running (max, sum) pairs in
 * float64 (the flash-attention online log-sum-exp). lse = max + log(sum).
 *
 * Pass 2 (pairSoftmaxGrad): per tile, recompute S, form
 *   G_ij = rowCoef_i·exp(S_ij − lseRow_i) + colCoef_j·exp(S_ij − lseCol_j)   (kept entries)
 *   G_{i,pos(i)} += posCoef_i
 * pack G (A format, rows) and Gᵀ (A format, columns) and accumulate gradU_I += G V_J and
 * gradV_J += Gᵀ U_I with the micro-kernel; divide both by τ at the end.
 *
 * One exponential per element (the tile-max trick): with M the tile's maximum over kept entries,
 *   exp(S_ij − m) = exp(S_ij − M)·exp(M − m),
 * so a tile needs one vector exp per element plus O(T) scalar exps per row / column. This is exact
 * up to rounding while every exp(M − m) stays finite and exp(S_ij − M) keeps every term that
 * matters normal: the tile takes this path when M − m ≤ LIM for every row / column shift m that
 * takes part (LIM = 600 in f64: terms below e^−107 of the row's largest term may flush to zero;
 * LIM = 40 in f32: below e^−46). Otherwise the tile falls back to two exps per element,
 * exp(S_ij − m_i) and exp(S_ij − m_j), which never overflow either. Exponentials of positive
 * arguments never happen with consistent lse inputs.
 */
import { exp_f32x4, exp_f64x2 } from './exp';
import { kern, mrOf, nrOf, packA, packB } from './gemm';

// ---- type-generic vector helpers (the branch on sizeof<T>() is resolved at compile time) ----

@inline function lanes<T>(): i32 {
  return <i32>(16 / sizeof<T>());
}
@inline function vsplat<T>(x: f64): v128 {
  return sizeof<T>() == 8 ? f64x2.splat(x) : f32x4.splat(<f32>x);
}
@inline function vadd<T>(a: v128, b: v128): v128 {
  return sizeof<T>() == 8 ? f64x2.add(a, b) : f32x4.add(a, b);
}
@inline function vsub<T>(a: v128, b: v128): v128 {
  return sizeof<T>() == 8 ? f64x2.sub(a, b) : f32x4.sub(a, b);
}
@inline function vmul<T>(a: v128, b: v128): v128 {
  return sizeof<T>() == 8 ? f64x2.mul(a, b) : f32x4.mul(a, b);
}
@inline function vdiv<T>(a: v128, b: v128): v128 {
  return sizeof<T>() == 8 ? f64x2.div(a, b) : f32x4.div(a, b);
}
@inline function vmax<T>(a: v128, b: v128): v128 {
  return sizeof<T>() == 8 ? f64x2.pmax(a, b) : f32x4.pmax(a, b);
}
@inline function vexp<T>(x: v128): v128 {
  return sizeof<T>() == 8 ? exp_f64x2(x) : exp_f32x4(x);
}
@inline function hmax<T>(a: v128): f64 {
  if (sizeof<T>() == 8) return max(f64x2.extract_lane(a, 0), f64x2.extract_lane(a, 1));
  return <f64>max(max(f32x4.extract_lane(a, 0), f32x4.extract_lane(a, 1)), max(f32x4.extract_lane(a, 2), f32x4.extract_lane(a, 3)));
}
@inline function hsum<T>(a: v128): f64 {
  if (sizeof<T>() == 8) return f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  return (<f64>f32x4.extract_lane(a, 0) + <f64>f32x4.extract_lane(a, 1)) + (<f64>f32x4.extract_lane(a, 2) + <f64>f32x4.extract_lane(a, 3));
}
@inline function limit<T>(): f64 {
  return sizeof<T>() == 8 ? 600.0 : 40.0;
}
@inline function ldT<T>(base: usize, i: i32): f64 {
  return <f64>load<T>(base + (<usize>i) * sizeof<T>());
}
@inline function stT<T>(base: usize, i: i32, x: f64): void {
  store<T>(base + (<usize>i) * sizeof<T>(), <T>x);
}
@inline function ld64(base: usize, i: i32): f64 {
  return load<f64>(base + (<usize>i << 3));
}
@inline function st64(base: usize, i: i32, x: f64): void {
  store<f64>(base + (<usize>i << 3), x);
}

// ---- tile kernels (S: ti x tjp block of a row-major buffer with leading dimension ldS) ----

/** Row maxima (f64, rm) and column maxima (T, cm) over the tile; returns the tile maximum. */
function tileMax<T>(S: usize, ldS: i32, ti: i32, tjp: i32, rm: usize, cm: usize): f64 {
  const es = <usize>sizeof<T>();
  const w = lanes<T>();
  const ninf = vsplat<T>(-Infinity);
  for (let j = 0; j < tjp; j += w) v128.store(cm + <usize>j * es, ninf);
  let M = -Infinity;
  for (let i = 0; i < ti; i++) {
    const row = S + <usize>(i * ldS) * es;
    let vr = ninf;
    for (let j = 0; j < tjp; j += w) {
      const x = v128.load(row + <usize>j * es);
      vr = vmax<T>(vr, x);
      const c = cm + <usize>j * es;
      v128.store(c, vmax<T>(v128.load(c), x));
    }
    const m = hmax<T>(vr);
    st64(rm, i, m);
    M = max(M, m);
  }
  return M;
}

/** One exp per element: rs_i = Σ_j exp(S_ij − M) (f64), cs_j = Σ_i exp(S_ij − M) (T). */
function tileSumOne<T>(S: usize, ldS: i32, ti: i32, tjp: i32, M: f64, rs: usize, cs: usize): void {
  const es = <usize>sizeof<T>();
  const w = lanes<T>();
  const zero = vsplat<T>(0.0);
  for (let j = 0; j < tjp; j += w) v128.store(cs + <usize>j * es, zero);
  const vM = vsplat<T>(M);
  for (let i = 0; i < ti; i++) {
    const row = S + <usize>(i * ldS) * es;
    let acc = zero;
    for (let j = 0; j < tjp; j += w) {
      const e = vexp<T>(vsub<T>(v128.load(row + <usize>j * es), vM));
      acc = vadd<T>(acc, e);
      const c = cs + <usize>j * es;
      v128.store(c, vadd<T>(v128.load(c), e));
    }
    st64(rs, i, hsum<T>(acc));
  }
}

/** Two exps per element: rs_i = Σ_j exp(S_ij − rsh_i) (f64), cs_j = Σ_i exp(S_ij − csh_j) (T). */
function tileSumTwo<T>(S: usize, ldS: i32, ti: i32, tjp: i32, rsh: usize, csh: usize, rs: usize, cs: usize): void {
  const es = <usize>sizeof<T>();
  const w = lanes<T>();
  const zero = vsplat<T>(0.0);
  for (let j = 0; j < tjp; j += w) v128.store(cs + <usize>j * es, zero);
  for (let i = 0; i < ti; i++) {
    const row = S + <usize>(i * ldS) * es;
    const vm = vsplat<T>(ld64(rsh, i));
    let acc = zero;
    for (let j = 0; j < tjp; j += w) {
      const x = v128.load(row + <usize>j * es);
      acc = vadd<T>(acc, vexp<T>(vsub<T>(x, vm)));
      const c = cs + <usize>j * es;
      v128.store(c, vadd<T>(v128.load(c), vexp<T>(vsub<T>(x, v128.load(csh + <usize>j * es)))));
    }
    st64(rs, i, hsum<T>(acc));
  }
}

/** In place: G_ij = exp(S_ij − M)·(alpha_i + beta_j); alpha, beta of type T. */
function tileGradOne<T>(S: usize, ldS: i32, ti: i32, tjp: i32, M: f64, alpha: usize, beta: usize): void {
  const es = <usize>sizeof<T>();
  const w = lanes<T>();
  const vM = vsplat<T>(M);
  for (let i = 0; i < ti; i++) {
    const row = S + <usize>(i * ldS) * es;
    const va = vsplat<T>(ldT<T>(alpha, i));
    for (let j = 0; j < tjp; j += w) {
      const p = row + <usize>j * es;
      const e = vexp<T>(vsub<T>(v128.load(p), vM));
      v128.store(p, vmul<T>(e, vadd<T>(va, v128.load(beta + <usize>j * es))));
    }
  }
}

/** In place: G_ij = rc_i·exp(S_ij − ra_i) + cc_j·exp(S_ij − cb_j); all of type T. */
function tileGradTwo<T>(S: usize, ldS: i32, ti: i32, tjp: i32, rc: usize, ra: usize, cc: usize, cb: usize): void {
  const es = <usize>sizeof<T>();
  const w = lanes<T>();
  for (let i = 0; i < ti; i++) {
    const row = S + <usize>(i * ldS) * es;
    const vc = vsplat<T>(ldT<T>(rc, i));
    const va = vsplat<T>(ldT<T>(ra, i));
    for (let j = 0; j < tjp; j += w) {
      const p = row + <usize>j * es;
      const x = v128.load(p);
      const o = <usize>j * es;
      const g = vadd<T>(
        vmul<T>(vc, vexp<T>(vsub<T>(x, va))),
        vmul<T>(v128.load(cc + o), vexp<T>(vsub<T>(x, v128.load(cb + o)))),
      );
      v128.store(p, g);
    }
  }
}

// ---- shared tile steps ----

/** Packs U (A format) and V (B format) for the S tiles; U, V are npad x dp row-major. */
function packUV<T>(npad: i32, d: i32, dp: i32, U: usize, V: usize, Upk: usize, Vpk: usize): void {
  packA<T>(npad, d, U, dp, 1, Upk, mrOf<T>());
  packB<T>(d, npad, V, 1, dp, Vpk, nrOf<T>());
}

/** The S tile (rows I.., cols J..) into S (ldS = T), scaled by invTau; tip, tjp are padded sizes. */
function computeTile<T>(d: i32, I: i32, J: i32, tip: i32, tjp: i32, T: i32, invTau: f64, Upk: usize, Vpk: usize, S: usize): void {
  const es = <usize>sizeof<T>();
  const mr = mrOf<T>();
  const nr = nrOf<T>();
  for (let jr = 0; jr < tjp; jr += nr) {
    const b = Vpk + <usize>((J + jr) * d) * es;
    for (let ir = 0; ir < tip; ir += mr) {
      kern<T>(d, Upk + <usize>((I + ir) * d) * es, b, <usize>nr * es, S + <usize>(ir * T + jr) * es, <usize>T * es, invTau, 0);
    }
  }
}

/** pos(i) = (i + shift) mod n with 0 ≤ shift < n. */
@inline function posOf(gi: i32, shift: i32, n: i32): i32 {
  const p = gi + shift;
  return p >= n ? p - n : p;
}

/**
 * Marks excluded entries and padding columns with −Infinity; in pass 1 (positive ≠ 0) records
 * positive_i = S_{i,pos(i)} first.
 */
function maskTile<T>(n: i32, I: i32, J: i32, ti: i32, tj: i32, tjp: i32, T: i32, shift: i32, excl: i32, S: usize, positive: usize): void {
  const es = <usize>sizeof<T>();
  for (let i = 0; i < ti; i++) {
    const gi = I + i;
    const row = S + <usize>(i * T) * es;
    const p = posOf(gi, shift, n);
    if (p >= J && p < J + tj) {
      if (positive != 0) st64(positive, gi, ldT<T>(row, p - J));
      if (excl >= 1) stT<T>(row, p - J, -Infinity);
    }
    if (excl == 2 && gi >= J && gi < J + tj) stT<T>(row, gi - J, -Infinity);
    for (let j = tj; j < tjp; j++) stT<T>(row, j, -Infinity);
  }
}

/** Merges a tile's (max m, sum s relative to m) into the running pair at index g. */
@inline function combine(maxArr: usize, sumArr: usize, g: i32, m: f64, s: f64): void {
  const mu = ld64(maxArr, g);
  if (m > mu) {
    st64(sumArr, g, ld64(sumArr, g) * Math.exp(mu - m) + s);
    st64(maxArr, g, m);
  } else {
    st64(sumArr, g, ld64(sumArr, g) + s * Math.exp(m - mu));
  }
}

// Scratch layout (byte offsets from `scratch`, each array T elements of 8 bytes).
@inline function scr(scratch: usize, T: i32, k: i32): usize {
  return scratch + <usize>(k * T) * 8;
}

// ---- threads: the wavefront over row blocks ----
//
// Thread tid of K takes the row blocks I = tid·T, (tid + K)·T, … in order and, in each, the column
// tiles J = 0, T, 2T, … in order. Everything a tile contributes to its own rows (row maxima and
// sums, the positives, gradU) belongs to the thread. What it contributes to its columns (column
// maxima and sums, gradV) is merged only when done[J/T] = I/T, that is after every earlier row
// block has merged into those columns, and then done[J/T] becomes I/T + 1. So every column sees
// the same sequence of merges, in row-block order, for any K: the bits are those of K = 1.
// The tile itself (the S tile, its exponentials, G and both products) is computed before the wait.
// ordered = 0 skips the wait (merges in arrival order, racing): a deliberately broken variant
// that the determinism test must catch.

/** Waits until the i32 at addr equals target (spins briefly, then sleeps); false if abort is set. */
function waitFor(addr: usize, target: i32, abort: usize): bool {
  for (let spin = 0; spin < 4096; spin++) {
    if (atomic.load<i32>(addr) == target) return true;
  }
  while (true) {
    const v = atomic.load<i32>(addr);
    if (v == target) return true;
    if (atomic.load<i32>(abort) != 0) return false;
    atomic.wait<i32>(addr, v, 1000000); // 1 ms, then look at abort again
  }
  return false;
}

@inline function publish(addr: usize, value: i32): void {
  atomic.store<i32>(addr, value);
  atomic.notify(addr);
}

// Per-thread workspace: S, G and Gᵀ tiles (T·T elements each), 12 scratch arrays of T f64, then
// (pass 2) a T x dp tile of Gᵀ U.
@inline function tileBytes<T>(T: i32): usize {
  return <usize>(T * T) * sizeof<T>();
}

// ---- pass 1 ----

function pairLse<T>(
  n: i32, d: i32, T: i32, shift: i32, excl: i32, invTau: f64,
  Upk: usize, Vpk: usize, ws: usize, wsStride: usize,
  rowMax: usize, rowSum: usize, colMax: usize, colSum: usize, positive: usize,
  wantRow: i32, wantCol: i32, done: usize, abort: usize, ordered: i32, tid: i32, K: i32,
): void {
  const mr = mrOf<T>();
  const nr = nrOf<T>();
  const w = ws + <usize>tid * wsStride;
  const S = w;
  const scratch = w + 3 * tileBytes<T>(T);
  const rm = scr(scratch, T, 0); // f64
  const rs = scr(scratch, T, 1); // f64
  const rsh = scr(scratch, T, 2); // f64
  const cm = scr(scratch, T, 3); // T
  const cs = scr(scratch, T, 4); // T
  const csh = scr(scratch, T, 5); // T
  const L = limit<T>();
  for (let I = tid * T; I < n; I += K * T) {
    const ti = min(T, n - I);
    const tip = ((ti + mr - 1) / mr) * mr;
    const bi = I / T;
    for (let J = 0; J < n; J += T) {
      const tj = min(T, n - J);
      const tjp = ((tj + nr - 1) / nr) * nr;
      const flag = done + (<usize>(J / T) << 2);
      computeTile<T>(d, I, J, tip, tjp, T, invTau, Upk, Vpk, S);
      maskTile<T>(n, I, J, ti, tj, tjp, T, shift, excl, S, positive);
      const M = tileMax<T>(S, T, ti, tjp, rm, cm);
      if (M == -Infinity) { // every entry of the tile is excluded
        if (ordered && !waitFor(flag, bi, abort)) return;
        publish(flag, bi + 1);
        continue;
      }
      let one = true;
      if (wantRow) {
        for (let i = 0; i < ti; i++) {
          const m = ld64(rm, i);
          if (m > -Infinity && M - m > L) one = false;
        }
      }
      if (wantCol) {
        for (let j = 0; j < tj; j++) {
          const m = ldT<T>(cm, j);
          if (m > -Infinity && M - m > L) one = false;
        }
      }
      if (!one) {
        for (let i = 0; i < ti; i++) {
          const m = ld64(rm, i);
          st64(rsh, i, m > -Infinity ? m : 0.0);
        }
        for (let j = 0; j < tjp; j++) {
          const m = ldT<T>(cm, j);
          stT<T>(csh, j, m > -Infinity ? m : 0.0);
        }
        tileSumTwo<T>(S, T, ti, tjp, rsh, csh, rs, cs);
      } else {
        tileSumOne<T>(S, T, ti, tjp, M, rs, cs);
      }
      if (wantRow) {
        for (let i = 0; i < ti; i++) {
          const m = ld64(rm, i);
          if (m > -Infinity) combine(rowMax, rowSum, I + i, m, one ? ld64(rs, i) * Math.exp(M - m) : ld64(rs, i));
        }
      }
      if (ordered && !waitFor(flag, bi, abort)) return;
      if (wantCol) {
        for (let j = 0; j < tj; j++) {
          const m = ldT<T>(cm, j);
          if (m > -Infinity) combine(colMax, colSum, J + j, m, one ? ldT<T>(cs, j) * Math.exp(M - m) : ldT<T>(cs, j));
        }
      }
      publish(flag, bi + 1);
    }
  }
}

/** Before pass 1: pack U, V and reset the running (max, sum) pairs. */
function pairLseInit<T>(n: i32, d: i32, dp: i32, T: i32, U: usize, V: usize, Upk: usize, Vpk: usize, rowMax: usize, rowSum: usize, colMax: usize, colSum: usize): void {
  const npad = ((n + T - 1) / T) * T;
  packUV<T>(npad, d, dp, U, V, Upk, Vpk);
  for (let i = 0; i < n; i++) {
    st64(rowMax, i, -Infinity);
    st64(rowSum, i, 0.0);
    st64(colMax, i, -Infinity);
    st64(colSum, i, 0.0);
  }
}

/** After pass 1: lse = max + log(sum) (−Infinity for a row / column with no kept entry). */
export function pairLseFinish(n: i32, rowMax: usize, rowSum: usize, colMax: usize, colSum: usize, wantRow: i32, wantCol: i32, lseRow: usize, lseCol: usize): void {
  if (wantRow) {
    for (let i = 0; i < n; i++) {
      const m = ld64(rowMax, i);
      st64(lseRow, i, m == -Infinity ? -Infinity : m + Math.log(ld64(rowSum, i)));
    }
  }
  if (wantCol) {
    for (let j = 0; j < n; j++) {
      const m = ld64(colMax, j);
      st64(lseCol, j, m == -Infinity ? -Infinity : m + Math.log(ld64(colSum, j)));
    }
  }
}

// ---- pass 2 ----

/** Before pass 2: zero both gradients, pack U and V. */
function pairGradInit<T>(n: i32, d: i32, dp: i32, T: i32, U: usize, V: usize, Upk: usize, Vpk: usize, gradU: usize, gradV: usize): void {
  const npad = ((n + T - 1) / T) * T;
  const gradBytes = <usize>(npad * dp) * sizeof<T>();
  memory.fill(gradU, 0, gradBytes);
  memory.fill(gradV, 0, gradBytes);
  packUV<T>(npad, d, dp, U, V, Upk, Vpk);
}

function pairGrad<T>(
  n: i32, d: i32, dp: i32, T: i32, shift: i32, excl: i32, invTau: f64,
  U: usize, V: usize, Upk: usize, Vpk: usize, ws: usize, wsStride: usize,
  lseRow: usize, lseCol: usize, rowCoef: usize, colCoef: usize, posCoef: usize,
  gradU: usize, gradV: usize, done: usize, abort: usize, ordered: i32, tid: i32, K: i32,
): void {
  const es = <usize>sizeof<T>();
  const mr = mrOf<T>();
  const nr = nrOf<T>();
  const rowOn = rowCoef != 0 && lseRow != 0;
  const colOn = colCoef != 0 && lseCol != 0;
  if (!rowOn && !colOn && posCoef == 0) return;
  const w = ws + <usize>tid * wsStride;
  const S = w;
  const Gp = w + tileBytes<T>(T);
  const Gtp = w + 2 * tileBytes<T>(T);
  const scratch = w + 3 * tileBytes<T>(T);
  const Pv = scratch + <usize>(12 * T) * 8; // T x dp of type T: this thread's Gᵀ U_I tile
  const rm = scr(scratch, T, 0); // f64
  const cm = scr(scratch, T, 3); // T
  const ra = scr(scratch, T, 6); // T
  const rc = scr(scratch, T, 7); // T
  const cb = scr(scratch, T, 8); // T
  const cc = scr(scratch, T, 9); // T
  const ract = scr(scratch, T, 10); // f64 flags: row takes part
  const cact = scr(scratch, T, 11); // f64 flags: column takes part
  const L = limit<T>();
  const ldU = <usize>dp * es;
  for (let I = tid * T; I < n; I += K * T) {
    const ti = min(T, n - I);
    const tip = ((ti + mr - 1) / mr) * mr;
    const bi = I / T;
    for (let J = 0; J < n; J += T) {
      const tj = min(T, n - J);
      const tjp = ((tj + nr - 1) / nr) * nr;
      computeTile<T>(d, I, J, tip, tjp, T, invTau, Upk, Vpk, S);
      maskTile<T>(n, I, J, ti, tj, tjp, T, shift, excl, S, 0);
      const M = rowOn || colOn ? tileMax<T>(S, T, ti, tjp, rm, cm) : -Infinity;
      if (M == -Infinity) {
        for (let i = 0; i < ti; i++) memory.fill(S + <usize>(i * T) * es, 0, <usize>tjp * es);
      } else {
        let one = true;
        for (let i = 0; i < ti; i++) {
          const act = rowOn && ld64(rm, i) > -Infinity && ld64(rowCoef, I + i) != 0.0;
          st64(ract, i, act ? 1.0 : 0.0);
          if (act && !(M - ld64(lseRow, I + i) <= L)) one = false;
        }
        for (let j = 0; j < tjp; j++) {
          const act = colOn && j < tj && ldT<T>(cm, j) > -Infinity && ld64(colCoef, J + j) != 0.0;
          st64(cact, j, act ? 1.0 : 0.0);
          if (act && !(M - ld64(lseCol, J + j) <= L)) one = false;
        }
        if (one) {
          // ra := alpha_i = rowCoef_i·exp(M − lseRow_i), cb := beta_j likewise.
          for (let i = 0; i < ti; i++) {
            stT<T>(ra, i, ld64(ract, i) != 0.0 ? ld64(rowCoef, I + i) * Math.exp(M - ld64(lseRow, I + i)) : 0.0);
          }
          for (let j = 0; j < tjp; j++) {
            stT<T>(cb, j, ld64(cact, j) != 0.0 ? ld64(colCoef, J + j) * Math.exp(M - ld64(lseCol, J + j)) : 0.0);
          }
          tileGradOne<T>(S, T, ti, tjp, M, ra, cb);
        } else {
          for (let i = 0; i < ti; i++) {
            const act = ld64(ract, i) != 0.0;
            stT<T>(rc, i, act ? ld64(rowCoef, I + i) : 0.0);
            stT<T>(ra, i, act ? ld64(lseRow, I + i) : Infinity);
          }
          for (let j = 0; j < tjp; j++) {
            const act = ld64(cact, j) != 0.0;
            stT<T>(cc, j, act ? ld64(colCoef, J + j) : 0.0);
            stT<T>(cb, j, act ? ld64(lseCol, J + j) : Infinity);
          }
          tileGradTwo<T>(S, T, ti, tjp, rc, ra, cc, cb);
        }
      }
      if (posCoef != 0) {
        for (let i = 0; i < ti; i++) {
          const gi = I + i;
          const p = posOf(gi, shift, n);
          if (p >= J && p < J + tj) {
            const q = S + <usize>(i * T + p - J) * es;
            store<T>(q, <T>(<f64>load<T>(q) + ld64(posCoef, gi)));
          }
        }
      }
      // G (rows, k = columns) and Gᵀ (columns, k = rows) in A format; padding rows of S are 0.
      packA<T>(tip, tj, S, T, 1, Gp, mr);
      packA<T>(tjp, ti, S, 1, T, Gtp, mr);
      for (let jr = 0; jr < dp; jr += nr) {
        const bV = V + <usize>(J * dp + jr) * es;
        for (let ir = 0; ir < tip; ir += mr) {
          kern<T>(tj, Gp + <usize>(ir * tj) * es, bV, ldU, gradU + <usize>((I + ir) * dp + jr) * es, ldU, 1.0, 1);
        }
      }
      // gradV_J is shared with the other row blocks: the product Gᵀ U_I goes into this thread's Pv
      // first (the same register sums as accumulating directly), and is added to gradV_J in
      // row-block order; only the addition waits.
      for (let jr = 0; jr < dp; jr += nr) {
        const bU = U + <usize>(I * dp + jr) * es;
        for (let jc = 0; jc < tjp; jc += mr) {
          kern<T>(ti, Gtp + <usize>(jc * ti) * es, bU, ldU, Pv + <usize>(jc * dp + jr) * es, ldU, 1.0, 0);
        }
      }
      const flag = done + (<usize>(J / T) << 2);
      if (ordered && !waitFor(flag, bi, abort)) return;
      const gv = gradV + <usize>(J * dp) * es;
      const count = tjp * dp;
      const w = lanes<T>();
      for (let k = 0; k < count; k += w) {
        const o = <usize>k * es;
        v128.store(gv + o, vadd<T>(v128.load(gv + o), v128.load(Pv + o)));
      }
      publish(flag, bi + 1);
    }
  }
}

/** After pass 2: gradients = (G V) / τ, (Gᵀ U) / τ. */
function pairGradFinish<T>(n: i32, dp: i32, T: i32, tau: f64, gradU: usize, gradV: usize): void {
  const es = <usize>sizeof<T>();
  const vt = vsplat<T>(tau);
  const w = lanes<T>();
  const total = (((n + T - 1) / T) * T) * dp;
  for (let k = 0; k < total; k += w) {
    const o = <usize>k * es;
    v128.store(gradU + o, vdiv<T>(v128.load(gradU + o), vt));
    v128.store(gradV + o, vdiv<T>(v128.load(gradV + o), vt));
  }
}

// ---- exports ----

export function pairLseInit64(n: i32, d: i32, dp: i32, T: i32, U: usize, V: usize, Upk: usize, Vpk: usize, rowMax: usize, rowSum: usize, colMax: usize, colSum: usize): void {
  pairLseInit<f64>(n, d, dp, T, U, V, Upk, Vpk, rowMax, rowSum, colMax, colSum);
}
export function pairLseInit32(n: i32, d: i32, dp: i32, T: i32, U: usize, V: usize, Upk: usize, Vpk: usize, rowMax: usize, rowSum: usize, colMax: usize, colSum: usize): void {
  pairLseInit<f32>(n, d, dp, T, U, V, Upk, Vpk, rowMax, rowSum, colMax, colSum);
}

export function pairLse64(
  n: i32, d: i32, T: i32, shift: i32, excl: i32, invTau: f64, Upk: usize, Vpk: usize, ws: usize, wsStride: usize,
  rowMax: usize, rowSum: usize, colMax: usize, colSum: usize, positive: usize,
  wantRow: i32, wantCol: i32, done: usize, abort: usize, ordered: i32, tid: i32, K: i32,
): void {
  pairLse<f64>(n, d, T, shift, excl, invTau, Upk, Vpk, ws, wsStride, rowMax, rowSum, colMax, colSum, positive, wantRow, wantCol, done, abort, ordered, tid, K);
}
export function pairLse32(
  n: i32, d: i32, T: i32, shift: i32, excl: i32, invTau: f64, Upk: usize, Vpk: usize, ws: usize, wsStride: usize,
  rowMax: usize, rowSum: usize, colMax: usize, colSum: usize, positive: usize,
  wantRow: i32, wantCol: i32, done: usize, abort: usize, ordered: i32, tid: i32, K: i32,
): void {
  pairLse<f32>(n, d, T, shift, excl, invTau, Upk, Vpk, ws, wsStride, rowMax, rowSum, colMax, colSum, positive, wantRow, wantCol, done, abort, ordered, tid, K);
}

export function pairGradInit64(n: i32, d: i32, dp: i32, T: i32, U: usize, V: usize, Upk: usize, Vpk: usize, gradU: usize, gradV: usize): void {
  pairGradInit<f64>(n, d, dp, T, U, V, Upk, Vpk, gradU, gradV);
}
export function pairGradInit32(n: i32, d: i32, dp: i32, T: i32, U: usize, V: usize, Upk: usize, Vpk: usize, gradU: usize, gradV: usize): void {
  pairGradInit<f32>(n, d, dp, T, U, V, Upk, Vpk, gradU, gradV);
}

export function pairGrad64(
  n: i32, d: i32, dp: i32, T: i32, shift: i32, excl: i32, invTau: f64,
  U: usize, V: usize, Upk: usize, Vpk: usize, ws: usize, wsStride: usize,
  lseRow: usize, lseCol: usize, rowCoef: usize, colCoef: usize, posCoef: usize,
  gradU: usize, gradV: usize, done: usize, abort: usize, ordered: i32, tid: i32, K: i32,
): void {
  pairGrad<f64>(n, d, dp, T, shift, excl, invTau, U, V, Upk, Vpk, ws, wsStride, lseRow, lseCol, rowCoef, colCoef, posCoef, gradU, gradV, done, abort, ordered, tid, K);
}
export function pairGrad32(
  n: i32, d: i32, dp: i32, T: i32, shift: i32, excl: i32, invTau: f64,
  U: usize, V: usize, Upk: usize, Vpk: usize, ws: usize, wsStride: usize,
  lseRow: usize, lseCol: usize, rowCoef: usize, colCoef: usize, posCoef: usize,
  gradU: usize, gradV: usize, done: usize, abort: usize, ordered: i32, tid: i32, K: i32,
): void {
  pairGrad<f32>(n, d, dp, T, shift, excl, invTau, U, V, Upk, Vpk, ws, wsStride, lseRow, lseCol, rowCoef, colCoef, posCoef, gradU, gradV, done, abort, ordered, tid, K);
}

export function pairGradFinish64(n: i32, dp: i32, T: i32, tau: f64, gradU: usize, gradV: usize): void {
  pairGradFinish<f64>(n, dp, T, tau, gradU, gradV);
}
export function pairGradFinish32(n: i32, dp: i32, T: i32, tau: f64, gradU: usize, gradV: usize): void {
  pairGradFinish<f32>(n, dp, T, tau, gradU, gradV);
}
