/**
 * Blocked GEMM (GotoBLAS structure) on WebAssembly SIMD.
 *
 * Micro-kernels: C(MR x NR) = scale · A_panel · B_panel (store) or C += A_panel · B_panel
 * (accumulate), with the MR x NR accumulators held in v128 registers:
 *   f64: MR = 4, NR = 4 (8 f64x2 accumulators),  f32: MR = 4, NR = 8 (8 f32x4 accumulators).
 * A panel ("A format"): for each k, MR consecutive values (rows of the panel).
 * B operand: for each k, NR consecutive values at b + k·ldb (a packed panel, ldb = NR, or NR
 * columns of a row-major matrix, ldb = its row length).
 * Each C entry is accumulated over k in order 0..kc−1. The plain build uses a separate multiply and
 * add, so it equals a sequential dot product bit for bit; the relaxed-SIMD build (scripts/build-wasm.mjs
 * --enable relaxed-simd) uses relaxed_madd, a fused multiply-add where the hardware has one (one
 * rounding per step instead of two). Either way the result does not depend on the thread count.
 *
 * All pointers are byte addresses in linear memory; strides and leading dimensions are in
 * elements unless named ...Bytes.
 */

export const MR64: i32 = 4;
export const NR64: i32 = 4;
export const MR32: i32 = 4;
export const NR32: i32 = 8;

/** Cache blocking of the general GEMM: A block MC x KC (L2), B panel KC x NR (L1). */
const KC: i32 = 256;
const MC: i32 = 96;

/** c + a·b: fused where the build enables relaxed SIMD, else multiply then add (as before). */
@inline function madd64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(c, f64x2.mul(a, b));
}
@inline function madd32(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

export function kern64(kc: i32, a: usize, b: usize, ldbBytes: usize, c: usize, ldcBytes: usize, scale: f64, accumulate: i32): void {
  let c00 = f64x2.splat(0.0);
  let c01 = f64x2.splat(0.0);
  let c10 = f64x2.splat(0.0);
  let c11 = f64x2.splat(0.0);
  let c20 = f64x2.splat(0.0);
  let c21 = f64x2.splat(0.0);
  let c30 = f64x2.splat(0.0);
  let c31 = f64x2.splat(0.0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = v128.load64_splat(a);
    c00 = madd64(av, b0, c00);
    c01 = madd64(av, b1, c01);
    av = v128.load64_splat(a, 8);
    c10 = madd64(av, b0, c10);
    c11 = madd64(av, b1, c11);
    av = v128.load64_splat(a, 16);
    c20 = madd64(av, b0, c20);
    c21 = madd64(av, b1, c21);
    av = v128.load64_splat(a, 24);
    c30 = madd64(av, b0, c30);
    c31 = madd64(av, b1, c31);
    a += 32;
    b += ldbBytes;
  }
  if (accumulate) {
    v128.store(c, f64x2.add(v128.load(c), c00));
    v128.store(c, f64x2.add(v128.load(c, 16), c01), 16);
    c += ldcBytes;
    v128.store(c, f64x2.add(v128.load(c), c10));
    v128.store(c, f64x2.add(v128.load(c, 16), c11), 16);
    c += ldcBytes;
    v128.store(c, f64x2.add(v128.load(c), c20));
    v128.store(c, f64x2.add(v128.load(c, 16), c21), 16);
    c += ldcBytes;
    v128.store(c, f64x2.add(v128.load(c), c30));
    v128.store(c, f64x2.add(v128.load(c, 16), c31), 16);
  } else {
    const s = f64x2.splat(scale);
    v128.store(c, f64x2.mul(c00, s));
    v128.store(c, f64x2.mul(c01, s), 16);
    c += ldcBytes;
    v128.store(c, f64x2.mul(c10, s));
    v128.store(c, f64x2.mul(c11, s), 16);
    c += ldcBytes;
    v128.store(c, f64x2.mul(c20, s));
    v128.store(c, f64x2.mul(c21, s), 16);
    c += ldcBytes;
    v128.store(c, f64x2.mul(c30, s));
    v128.store(c, f64x2.mul(c31, s), 16);
  }
}

export function kern32(kc: i32, a: usize, b: usize, ldbBytes: usize, c: usize, ldcBytes: usize, scale: f32, accumulate: i32): void {
  let c00 = f32x4.splat(0.0);
  let c01 = f32x4.splat(0.0);
  let c10 = f32x4.splat(0.0);
  let c11 = f32x4.splat(0.0);
  let c20 = f32x4.splat(0.0);
  let c21 = f32x4.splat(0.0);
  let c30 = f32x4.splat(0.0);
  let c31 = f32x4.splat(0.0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c00 = madd32(av, b0, c00);
    c01 = madd32(av, b1, c01);
    av = v128.load32_splat(a, 4);
    c10 = madd32(av, b0, c10);
    c11 = madd32(av, b1, c11);
    av = v128.load32_splat(a, 8);
    c20 = madd32(av, b0, c20);
    c21 = madd32(av, b1, c21);
    av = v128.load32_splat(a, 12);
    c30 = madd32(av, b0, c30);
    c31 = madd32(av, b1, c31);
    a += 16;
    b += ldbBytes;
  }
  if (accumulate) {
    v128.store(c, f32x4.add(v128.load(c), c00));
    v128.store(c, f32x4.add(v128.load(c, 16), c01), 16);
    c += ldcBytes;
    v128.store(c, f32x4.add(v128.load(c), c10));
    v128.store(c, f32x4.add(v128.load(c, 16), c11), 16);
    c += ldcBytes;
    v128.store(c, f32x4.add(v128.load(c), c20));
    v128.store(c, f32x4.add(v128.load(c, 16), c21), 16);
    c += ldcBytes;
    v128.store(c, f32x4.add(v128.load(c), c30));
    v128.store(c, f32x4.add(v128.load(c, 16), c31), 16);
  } else {
    const s = f32x4.splat(scale);
    v128.store(c, f32x4.mul(c00, s));
    v128.store(c, f32x4.mul(c01, s), 16);
    c += ldcBytes;
    v128.store(c, f32x4.mul(c10, s));
    v128.store(c, f32x4.mul(c11, s), 16);
    c += ldcBytes;
    v128.store(c, f32x4.mul(c20, s));
    v128.store(c, f32x4.mul(c21, s), 16);
    c += ldcBytes;
    v128.store(c, f32x4.mul(c30, s));
    v128.store(c, f32x4.mul(c31, s), 16);
  }
}

/** Dispatch on the element type (resolved at compile time). */
@inline
export function kern<T>(kc: i32, a: usize, b: usize, ldbBytes: usize, c: usize, ldcBytes: usize, scale: f64, accumulate: i32): void {
  if (sizeof<T>() == 8) kern64(kc, a, b, ldbBytes, c, ldcBytes, scale, accumulate);
  else kern32(kc, a, b, ldbBytes, c, ldcBytes, <f32>scale, accumulate);
}

@inline
export function mrOf<T>(): i32 {
  return sizeof<T>() == 8 ? MR64 : MR32;
}

@inline
export function nrOf<T>(): i32 {
  return sizeof<T>() == 8 ? NR64 : NR32;
}

/**
 * Packs the mc x kc block of A (element (i, k) at A + (i·ars + k·acs)·size) into A format:
 * ceil(mc/mr) panels of kc·mr values; rows past mc are zero.
 */
export function packA<T>(mc: i32, kc: i32, A: usize, ars: i32, acs: i32, dst: usize, mr: i32): void {
  const es = <usize>sizeof<T>();
  for (let i0 = 0; i0 < mc; i0 += mr) {
    const rows = min(mr, mc - i0);
    if (acs == 1 && rows == mr) {
      // Row-major source: read each row contiguously, write with stride mr.
      for (let r = 0; r < mr; r++) {
        const src = A + <usize>((i0 + r) * ars) * es;
        let d = dst + <usize>r * es;
        for (let k = 0; k < kc; k++) {
          store<T>(d, load<T>(src + <usize>k * es));
          d += <usize>mr * es;
        }
      }
    } else {
      let d = dst;
      for (let k = 0; k < kc; k++) {
        for (let r = 0; r < mr; r++) {
          const v: T = r < rows ? load<T>(A + <usize>((i0 + r) * ars + k * acs) * es) : <T>0;
          store<T>(d, v);
          d += es;
        }
      }
    }
    dst += <usize>(kc * mr) * es;
  }
}

/**
 * Packs the kc x nc block of B (element (k, j) at B + (k·brs + j·bcs)·size) into B format:
 * ceil(nc/nr) panels of kc·nr values; columns past nc are zero.
 */
export function packB<T>(kc: i32, nc: i32, B: usize, brs: i32, bcs: i32, dst: usize, nr: i32): void {
  const es = <usize>sizeof<T>();
  for (let j0 = 0; j0 < nc; j0 += nr) {
    const cols = min(nr, nc - j0);
    if (brs == 1 && cols == nr) {
      // Column-major source (e.g. a transposed row-major matrix): read each column contiguously.
      for (let c = 0; c < nr; c++) {
        const src = B + <usize>((j0 + c) * bcs) * es;
        let d = dst + <usize>c * es;
        for (let k = 0; k < kc; k++) {
          store<T>(d, load<T>(src + <usize>k * es));
          d += <usize>nr * es;
        }
      }
    } else {
      let d = dst;
      for (let k = 0; k < kc; k++) {
        const row = B + <usize>(k * brs) * es;
        for (let c = 0; c < nr; c++) {
          const v: T = c < cols ? load<T>(row + <usize>((j0 + c) * bcs) * es) : <T>0;
          store<T>(d, v);
          d += es;
        }
      }
    }
    dst += <usize>(kc * nr) * es;
  }
}

/**
 * P = A·B for an m x k matrix A and a k x n matrix B (any non-negative element strides), into the
 * row-major P with leading dimension ldp. P must have room for ceil(m/MR)·MR rows and
 * ceil(n/NR)·NR ≤ ldp columns (the padding receives zeros' products). Workspaces: wsA holds
 * ceil(MC/MR)·MR·KC elements, wsB ceil(n/NR)·NR·KC elements. k = 0 leaves P untouched.
 */
function gemmPanel<T>(m: i32, n: i32, k: i32, A: usize, ars: i32, acs: i32, B: usize, brs: i32, bcs: i32, P: usize, ldp: i32, wsA: usize, wsB: usize, tid: i32, K: i32): void {
  const es = <usize>sizeof<T>();
  const mr = mrOf<T>();
  const nr = nrOf<T>();
  // Thread tid computes the MC-row blocks tid, tid + K, …; each packs its own copy of the B panel.
  // Every entry of P is the same sequence of operations whoever computes it.
  if (tid * MC >= m) return;
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    packB<T>(kc, n, B + <usize>(pc * brs) * es, brs, bcs, wsB, nr);
    for (let ic = tid * MC; ic < m; ic += K * MC) {
      const mc = min(MC, m - ic);
      packA<T>(mc, kc, A + <usize>(ic * ars + pc * acs) * es, ars, acs, wsA, mr);
      for (let jr = 0; jr < n; jr += nr) {
        const bp = wsB + <usize>(jr * kc) * es;
        for (let ir = 0; ir < mc; ir += mr) {
          kern<T>(kc, wsA + <usize>(ir * kc) * es, bp, <usize>nr * es, P + <usize>((ic + ir) * ldp + jr) * es, <usize>ldp * es, 1.0, pc > 0 ? 1 : 0);
        }
      }
    }
  }
}

/** Thread tid's part of P = A·B; its workspaces are at ws + tid·wsStride (wsA first, then wsB at wsBOff). */
export function gemmPanel64(m: i32, n: i32, k: i32, A: usize, ars: i32, acs: i32, B: usize, brs: i32, bcs: i32, P: usize, ldp: i32, ws: usize, wsStride: usize, wsBOff: usize, tid: i32, K: i32): void {
  const w = ws + <usize>tid * wsStride;
  gemmPanel<f64>(m, n, k, A, ars, acs, B, brs, bcs, P, ldp, w, w + wsBOff, tid, K);
}

export function gemmPanel32(m: i32, n: i32, k: i32, A: usize, ars: i32, acs: i32, B: usize, brs: i32, bcs: i32, P: usize, ldp: i32, ws: usize, wsStride: usize, wsBOff: usize, tid: i32, K: i32): void {
  const w = ws + <usize>tid * wsStride;
  gemmPanel<f32>(m, n, k, A, ars, acs, B, brs, bcs, P, ldp, w, w + wsBOff, tid, K);
}

/** The MC row-block height (threads split P by these blocks). */
export function gemmMC(): i32 {
  return MC;
}

/** Workspace sizes (in elements) that gemmPanel needs for a panel of n columns. */
export function gemmWsA(): i32 {
  return MC * KC;
}

export function gemmKC(): i32 {
  return KC;
}
