/**
 * The blocked CPU backend: WebAssembly SIMD (v128), f64 or f32, on every core.
 *
 * Threads: the module runs on a shared memory; `threads` workers (./threads.ts) run the same
 * kernels on it. gemm splits C by row blocks; pairLse / pairSoftmaxGrad split the row blocks of S
 * and merge into shared columns in row-block order (the wavefront of assembly/pair.ts). Every
 * output is the same sequence of floating-point operations for any thread count: the same bits.
 * Calls below MIN_PARALLEL_WORK multiply-adds stay on the calling thread.
 *
 * FMA: with `fma` the relaxed-SIMD build of the module is used when the engine accepts it (Node 22+,
 * or Node 20 with --experimental-wasm-relaxed-simd); its micro-kernels use relaxed_madd, one
 * rounding per multiply-add where the hardware fuses (x86-64 with FMA3). The plain build is the
 * fallback and the default (see DEFAULT_FMA).
 *
 * gemm: C ← α·A·B + β·C, GotoBLAS-style (A and B staged into WebAssembly memory keeping their
 * strides, packed into MR x KC / KC x NR panels, register-tiled 4x4 f64 / 4x8 f32 micro-kernel),
 * computed in column panels of at most NCHUNK columns and folded into the (strided) C.
 *
 * pairLse / pairSoftmaxGrad: one fused, streaming implementation of the pair softmax of
 * `../types.ts` over T x T tiles of S = U Vᵀ / τ (T = blockSize); memory O(n·d + T²), never n x n.
 * See src/backend/cpu/wasm/assembly/pair.ts for the algorithm.
 *
 * pairSigmoid (the SigLIP loss): ./sigmoid.ts, the same T x T tiles of S = U Vᵀ from the gemm
 * below, softplus / σ per entry in float64 JavaScript; memory O(n·d + T²).
 *
 * Results are deterministic (same inputs, same bits) and independent of blockSize up to rounding:
 * each logit S_ij is a sequential dot product whatever T is; only the order of the per-tile sums
 * changes with T.
 *
 * @example
 *   const be = createCpuBackend({ dtype: 'f64' });
 *   const { lseRow, lseCol, positive } = be.kernels.pairLse(U, V, { tau: 0.1, positiveShift: 0, exclude: 'none' }, { row: true, col: true });
 */
import { ConfigError, DomainError, ShapeError } from '../../core/errors.ts';
import { type DType, type FloatArray, type Matrix, shapeStr, zeros } from '../../core/matrix.ts';
import type { Backend, Kernels, PairExclusion, PairGradCoefficients, PairGradResult, PairLseResult, PairSigmoidResult, PairSpec, SigmoidSpec } from '../types.ts';
import { availableParallelism } from 'node:os';
import { Arena, instantiateKernels, kernelMemory, kernelModule, type KernelExports, type Layout } from './wasm/module.ts';
import { createKernelThreads } from './threads.ts';
import { blockedPairSigmoid } from './sigmoid.ts';
import { mutant } from '../../core/mutants.ts';
import { mutantPairLse } from './mutantKernels.ts';

export interface CpuBackendOptions {
  /** Precision of arithmetic and of the matrices taken and returned (default 'f64'). */
  dtype?: DType;
  /** Tile edge of the pair-softmax kernels: a multiple of 8 in [8, 1024] (default 128). */
  blockSize?: number;
  /**
   * Threads the kernels may use, the calling one included: an integer in [1, 256] (default: the
   * cores available, `os.availableParallelism()`, or the CONTRASTLAB_THREADS environment variable).
   * Results are the same bits for every value.
   */
  threads?: number;
  /**
   * Fused multiply-add in the micro-kernels (relaxed SIMD) where the engine has it: true, false, or
   * 'auto' (the default, DEFAULT_FMA). Changes rounding (one rounding per multiply-add); the
   * plain build runs when the engine lacks relaxed SIMD. `info.fma` says which build runs.
   */
  fma?: boolean | 'auto';
  /** Calls below this many multiply-adds stay on the calling thread (default MIN_PARALLEL_WORK). */
  minParallelWork?: number;
  /**
   * Test hook, not for use: 'arrival' merges the threads' column contributions as they arrive
   * (racing) instead of in row-block order — the broken variant the determinism test must catch.
   */
  mergeOrder?: 'row-block' | 'arrival';
}

/**
 * Below this much work a call stays on one thread: m·n·k multiply-adds for gemm, n²·(d + 16) for the
 * pair kernels (an exponential and the masking cost about 16 multiply-adds per entry). Measured
 * crossover on 2 cores (benchmarks/README.md, "threads"): the pair kernels broke even at n = 192,
 * d = 8 (0.9·2^20) and gained 1.5x from n = 256, d = 8 (1.5·2^20); gemm broke even at 256 x 8 x 256.
 */
export const MIN_PARALLEL_WORK = 1 << 20;

/**
 * The default of `fma`: off. relaxed_madd is implementation-defined (fused on FMA hardware, not
 * elsewhere) and the relaxed-SIMD build is not available on every engine, so with FMA on the bits
 * of a result would depend on the machine and the Node version; off, they depend on neither.
 */
export const DEFAULT_FMA: boolean | 'auto' = false;

/**
 * Default of `fma`: CONTRASTLAB_FMA=1 → 'auto', 0 or unset → DEFAULT_FMA (off). The CLI also sets
 * V8's --experimental-wasm-relaxed-simd when CONTRASTLAB_FMA=1, so Node 20 gets the FMA build.
 */
export function defaultFma(): boolean | 'auto' {
  const env = process.env.CONTRASTLAB_FMA;
  if (env === undefined || env === '') return DEFAULT_FMA;
  if (env === '1') return 'auto';
  if (env === '0') return false;
  throw new ConfigError('createCpuBackend', `CONTRASTLAB_FMA must be 0 or 1, got '${env}'`);
}

/** Default thread count: CONTRASTLAB_THREADS if set (validated), else the cores available. */
export function defaultThreads(): number {
  const env = process.env.CONTRASTLAB_THREADS;
  if (env !== undefined && env !== '') {
    const k = Number(env);
    if (!Number.isInteger(k) || k < 1 || k > 256) throw new ConfigError('createCpuBackend', `CONTRASTLAB_THREADS must be an integer in [1, 256], got '${env}'`);
    return k;
  }
  return Math.max(1, availableParallelism());
}

/**
 * Default tile edge, chosen by measurement (benchmarks/README.md, fused InfoNCE at N = 2048 and 4096,
 * d = 64 and 128, f64 and f32): 128 was 2–5% faster than 64 and on par with 256; 32 was slowest.
 * Its three T x T tiles (S, G, Gᵀ) take 384 KiB in f64.
 */
export const DEFAULT_BLOCK_SIZE = 128;

/** Micro-tile shapes of the WebAssembly kernels (see assembly/gemm.ts). */
const MR = { f64: 4, f32: 4 } as const;
const NR = { f64: 4, f32: 8 } as const;
/**
 * Columns of C per gemmPanel call: all of them when the m x n panel P fits P_BUDGET bytes (then a
 * contiguous C takes P in one copy), else as many as fit, at least NCHUNK_MIN. The width does not
 * change any entry's arithmetic (each is the same micro-kernel sum whatever the panel).
 */
const NCHUNK_MIN = 512;
const P_BUDGET = 32 * 2 ** 20;

const EXCLUDE_CODE: Record<PairExclusion, number> = { none: 0, positive: 1, 'self-and-positive': 2 };

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

export function createCpuBackend(opts: CpuBackendOptions = {}): Backend {
  const dtype: DType = opts.dtype ?? 'f64';
  if (dtype !== 'f64' && dtype !== 'f32') throw new ConfigError('createCpuBackend', `dtype must be 'f64' or 'f32', got ${String(dtype)}`);
  const T = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isInteger(T) || T < 8 || T > 1024 || T % 8 !== 0) {
    throw new DomainError('createCpuBackend', `blockSize must be a multiple of 8 in [8, 1024], got ${T}`);
  }
  const threadCount = opts.threads ?? defaultThreads();
  if (!Number.isInteger(threadCount) || threadCount < 1 || threadCount > 256) {
    throw new DomainError('createCpuBackend', `threads must be an integer in [1, 256], got ${String(opts.threads)}`);
  }
  const fmaOpt = opts.fma ?? defaultFma();
  if (fmaOpt !== true && fmaOpt !== false && fmaOpt !== 'auto') throw new ConfigError('createCpuBackend', `fma must be true, false or 'auto', got ${String(fmaOpt)}`);
  const { module, relaxed } = kernelModule(fmaOpt !== false);
  const memory = kernelMemory();
  let ex: KernelExports | null = instantiateKernels(module, memory);
  const arena = new Arena(ex);
  const ordered = opts.mergeOrder === 'arrival' ? 0 : 1;
  const owner = {};
  const threads = createKernelThreads(owner, threadCount, module, memory, (fn, args, tid, k) => {
    (live(fn) as unknown as Record<string, (...a: number[]) => void>)[fn]!(...args, tid, k);
  });
  /** Threads for a call of `work` multiply-adds that splits into `parts` independent pieces. */
  const minWork = opts.minParallelWork ?? MIN_PARALLEL_WORK;
  if (!(minWork >= 0)) throw new DomainError('createCpuBackend', `minParallelWork must be a number ≥ 0, got ${String(opts.minParallelWork)}`);
  const threadsFor = (work: number, parts: number) => (work >= minWork ? Math.max(1, Math.min(threadCount, parts)) : 1);
  const es = dtype === 'f64' ? 8 : 4;
  const mr = MR[dtype];
  const nr = NR[dtype];

  const live = (op: string): KernelExports => {
    if (ex === null) throw new ConfigError(op, 'the cpu backend has been disposed');
    return ex;
  };
  /** A dtype view of wasm memory (re-created after every grow). */
  const view = (ptr: number, length: number): FloatArray => (dtype === 'f64' ? arena.f64(ptr, length) : arena.f32(ptr, length));

  // ---------------------------------------------------------------- gemm

  /** Elements of wasm memory the staged copy of M takes, and whether its strides are kept. */
  function stagePlan(M: Matrix): { keep: boolean; len: number } {
    const { rows, cols, rowStride: rs, colStride: cs } = M;
    if (rows === 0 || cols === 0) return { keep: false, len: 0 };
    if (rs >= 0 && cs >= 0) {
      const span = (rows - 1) * rs + (cols - 1) * cs + 1;
      if (span <= 2 * rows * cols + 64) return { keep: true, len: span };
    }
    return { keep: false, len: rows * cols };
  }

  /** Copies M into wasm memory at ptr; returns the element strides of the copy. */
  function stage(M: Matrix, ptr: number, plan: { keep: boolean; len: number }): { rs: number; cs: number } {
    const dst = view(ptr, plan.len);
    if (plan.keep) {
      dst.set(M.data.subarray(M.offset, M.offset + plan.len));
      return { rs: M.rowStride, cs: M.colStride };
    }
    const { rows, cols, rowStride: rs, colStride: cs, data, offset } = M;
    for (let i = 0; i < rows; i++) {
      const src = offset + i * rs;
      const o = i * cols;
      for (let j = 0; j < cols; j++) dst[o + j] = data[src + j * cs]!;
    }
    return { rs: cols, cs: 1 };
  }

  function scaleC(C: Matrix, beta: number): void {
    for (let i = 0; i < C.rows; i++) {
      const base = C.offset + i * C.rowStride;
      for (let j = 0; j < C.cols; j++) {
        const idx = base + j * C.colStride;
        C.data[idx] = beta === 0 ? 0 : beta * C.data[idx]!;
      }
    }
  }

  function gemm(alpha: number, A: Matrix, B: Matrix, beta: number, C: Matrix): void {
    const e = live('gemm');
    const m = C.rows;
    const n = C.cols;
    const k = A.cols;
    if (A.rows !== m || B.rows !== k || B.cols !== n) {
      throw new ShapeError('gemm', `A is ${shapeStr(A)}, B is ${shapeStr(B)}, C is ${shapeStr(C)}; need A m x k, B k x n, C m x n`);
    }
    if (m === 0 || n === 0) return;
    if (k === 0 || alpha === 0) {
      scaleC(C, beta);
      return;
    }
    const pa = stagePlan(A);
    const pb = stagePlan(B);
    const mp = roundUp(m, mr);
    const nch = Math.min(roundUp(n, nr), Math.max(NCHUNK_MIN, Math.floor(P_BUDGET / (mp * es) / nr) * nr));
    const ldp = nch;
    const K = threadsFor(m * n * k, Math.ceil(m / e.gemmMC()));
    const L = arena.layout();
    const pA = L.alloc(pa.len * es);
    const pB = L.alloc(pb.len * es);
    const pP = L.alloc(roundUp(m, mr) * ldp * es);
    const wsBOff = roundUp(e.gemmWsA() * es, 64);
    const wsStride = roundUp(wsBOff + e.gemmKC() * nch * es, 64);
    const ws = L.alloc(K * wsStride);
    const abort = L.alloc(4);
    arena.reserve('gemm', L.end);
    const sa = stage(A, pA, pa);
    const sb = stage(B, pB, pb);
    const panel = dtype === 'f64' ? 'gemmPanel64' : 'gemmPanel32';
    arena.i32(abort, 1)[0] = 0;
    for (let j0 = 0; j0 < n; j0 += nch) {
      const nc = Math.min(nch, n - j0);
      threads.run(panel, [m, nc, k, pA, sa.rs, sa.cs, pB + j0 * sb.cs * es, sb.rs, sb.cs, pP, ldp, ws, wsStride, wsBOff], K, abort);
      const P = view(pP, roundUp(m, mr) * ldp);
      const cd = C.data;
      if (beta === 0 && alpha === 1 && nc === n && ldp === n && C.colStride === 1 && (C.rowStride === n || m === 1)) {
        cd.set(P.subarray(0, m * n), C.offset); // C is P: one copy
        continue;
      }
      for (let i = 0; i < m; i++) {
        const po = i * ldp;
        const co = C.offset + i * C.rowStride + j0 * C.colStride;
        const cs = C.colStride;
        if (beta === 0) {
          if (alpha === 1 && cs === 1) cd.set(P.subarray(po, po + nc), co);
          else for (let j = 0; j < nc; j++) cd[co + j * cs] = alpha * P[po + j]!;
        } else {
          for (let j = 0; j < nc; j++) cd[co + j * cs] = alpha * P[po + j]! + beta * cd[co + j * cs]!;
        }
      }
    }
  }

  // ---------------------------------------------------------------- pair softmax

  interface PairLayout {
    n: number;
    d: number;
    dp: number;
    npad: number;
    U: number;
    V: number;
    Upk: number;
    Vpk: number;
    ws: number;
    wsStride: number;
    done: number;
    abort: number;
  }

  function pairLayout(L: Layout, n: number, d: number, K: number): PairLayout {
    const npad = roundUp(n, T);
    const dp = roundUp(d, nr);
    // Per thread: the S, G and Gᵀ tiles, 12 scratch arrays of T f64 and a T x dp tile (assembly/pair.ts).
    const wsStride = roundUp(3 * T * T * es + 12 * T * 8 + T * dp * es, 64);
    return {
      n, d, dp, npad, wsStride,
      U: L.alloc(npad * dp * es),
      V: L.alloc(npad * dp * es),
      Upk: L.alloc(npad * d * es),
      Vpk: L.alloc(npad * d * es),
      ws: L.alloc(K * wsStride),
      done: L.alloc(4 * (npad / T)),
      abort: L.alloc(4),
    };
  }

  /** Clears the wavefront's column counters and the abort flag. */
  function resetFlags(p: PairLayout): void {
    arena.i32(p.done, p.npad / T).fill(0);
    arena.i32(p.abort, 1)[0] = 0;
  }

  /** Writes M (n x d) into wasm memory as an npad x dp row-major matrix, zero padded. */
  function putPadded(M: Matrix, ptr: number, npad: number, dp: number): void {
    const dst = view(ptr, npad * dp);
    const { rows, cols, rowStride: rs, colStride: cs, data, offset } = M;
    if (dp === cols && cs === 1 && (rs === cols || rows <= 1)) {
      dst.set(data.subarray(offset, offset + rows * cols));
      dst.fill(0, rows * cols);
      return;
    }
    dst.fill(0);
    for (let i = 0; i < rows; i++) {
      const src = offset + i * rs;
      const o = i * dp;
      if (cs === 1) dst.set(data.subarray(src, src + cols), o);
      else for (let j = 0; j < cols; j++) dst[o + j] = data[src + j * cs]!;
    }
  }

  function checkPair(op: string, U: Matrix, V: Matrix, spec: PairSpec): void {
    if (U.rows !== V.rows || U.cols !== V.cols) throw new ShapeError(op, `U is ${shapeStr(U)} but V is ${shapeStr(V)}`);
    if (!(spec.tau > 0) || !Number.isFinite(spec.tau)) throw new DomainError(op, `tau must be a finite number > 0, got ${spec.tau}`);
    if (!(spec.exclude in EXCLUDE_CODE)) throw new ConfigError(op, `exclude must be none | positive | self-and-positive, got ${String(spec.exclude)}`);
  }

  const shiftOf = (spec: PairSpec, n: number) => ((Math.trunc(spec.positiveShift) % n) + n) % n;

  function pairLse(U: Matrix, V: Matrix, spec: PairSpec, want: { row: boolean; col: boolean }): PairLseResult {
    const e = live('pairLse');
    checkPair('pairLse', U, V, spec);
    const n = U.rows;
    const d = U.cols;
    if (n === 0) return { lseRow: want.row ? new Float64Array(0) : null, lseCol: want.col ? new Float64Array(0) : null, positive: new Float64Array(0) };
    for (const m of ['lse-no-max-shift', 'lse-f32-accumulation'] as const) if (mutant(m)) return mutantPairLse(U, V, spec, want, dtype, m);
    const K = threadsFor(n * n * (d + 16), Math.ceil(n / T));
    const L = arena.layout();
    const p = pairLayout(L, n, d, K);
    const rowMax = L.alloc(n * 8);
    const rowSum = L.alloc(n * 8);
    const colMax = L.alloc(n * 8);
    const colSum = L.alloc(n * 8);
    const positive = L.alloc(n * 8);
    const lseRow = L.alloc(n * 8);
    const lseCol = L.alloc(n * 8);
    arena.reserve('pairLse', L.end);
    putPadded(U, p.U, p.npad, p.dp);
    putPadded(V, p.V, p.npad, p.dp);
    (dtype === 'f64' ? e.pairLseInit64 : e.pairLseInit32)(n, d, p.dp, T, p.U, p.V, p.Upk, p.Vpk, rowMax, rowSum, colMax, colSum);
    resetFlags(p);
    threads.run(dtype === 'f64' ? 'pairLse64' : 'pairLse32', [n, d, T, shiftOf(spec, n), EXCLUDE_CODE[spec.exclude], 1 / spec.tau,
      p.Upk, p.Vpk, p.ws, p.wsStride, rowMax, rowSum, colMax, colSum, positive,
      want.row ? 1 : 0, want.col ? 1 : 0, p.done, p.abort, ordered], K, p.abort);
    live('pairLse').pairLseFinish(n, rowMax, rowSum, colMax, colSum, want.row ? 1 : 0, want.col ? 1 : 0, lseRow, lseCol);
    return {
      lseRow: want.row ? arena.f64(lseRow, n).slice() : null,
      lseCol: want.col ? arena.f64(lseCol, n).slice() : null,
      positive: arena.f64(positive, n).slice(),
    };
  }

  function pairSoftmaxGrad(U: Matrix, V: Matrix, spec: PairSpec, coef: PairGradCoefficients): PairGradResult {
    const e = live('pairSoftmaxGrad');
    checkPair('pairSoftmaxGrad', U, V, spec);
    const n = U.rows;
    const d = U.cols;
    if (n === 0) return { gradU: zeros(0, d, dtype), gradV: zeros(0, d, dtype) };
    for (const [name, v] of Object.entries(coef) as [string, Float64Array | null][]) {
      if (v !== null && v !== undefined && v.length < n) throw new ShapeError('pairSoftmaxGrad', `${name} has ${v.length} entries, need ${n}`);
    }
    const K = threadsFor(n * n * (d + 16), Math.ceil(n / T));
    const L = arena.layout();
    const p = pairLayout(L, n, d, K);
    const vec = (v: Float64Array | null | undefined) => (v ? L.alloc(n * 8) : 0);
    const lseRow = vec(coef.lseRow);
    const lseCol = vec(coef.lseCol);
    const rowCoef = vec(coef.rowCoef);
    const colCoef = vec(coef.colCoef);
    const posCoef = vec(coef.posCoef);
    const gradU = L.alloc(p.npad * p.dp * es);
    const gradV = L.alloc(p.npad * p.dp * es);
    arena.reserve('pairSoftmaxGrad', L.end);
    putPadded(U, p.U, p.npad, p.dp);
    putPadded(V, p.V, p.npad, p.dp);
    const put = (ptr: number, v: Float64Array | null | undefined) => { if (v && ptr) arena.f64(ptr, n).set(v.subarray(0, n)); };
    put(lseRow, coef.lseRow);
    put(lseCol, coef.lseCol);
    put(rowCoef, coef.rowCoef);
    put(colCoef, coef.colCoef);
    put(posCoef, coef.posCoef);
    (dtype === 'f64' ? e.pairGradInit64 : e.pairGradInit32)(n, d, p.dp, T, p.U, p.V, p.Upk, p.Vpk, gradU, gradV);
    resetFlags(p);
    threads.run(dtype === 'f64' ? 'pairGrad64' : 'pairGrad32', [n, d, p.dp, T, shiftOf(spec, n), EXCLUDE_CODE[spec.exclude], 1 / spec.tau,
      p.U, p.V, p.Upk, p.Vpk, p.ws, p.wsStride, lseRow, lseCol, rowCoef, colCoef, posCoef, gradU, gradV, p.done, p.abort, ordered], K, p.abort);
    (dtype === 'f64' ? live('pairSoftmaxGrad').pairGradFinish64 : live('pairSoftmaxGrad').pairGradFinish32)(n, p.dp, T, spec.tau, gradU, gradV);
    const take = (ptr: number): Matrix => {
      const out = zeros(n, d, dtype);
      const src = view(ptr, p.npad * p.dp);
      if (p.dp === d) out.data.set(src.subarray(0, n * d));
      else for (let i = 0; i < n; i++) out.data.set(src.subarray(i * p.dp, i * p.dp + d), i * d);
      return out;
    };
    const out = { gradU: take(gradU), gradV: take(gradV) };
    if (mutant('inv-tau-twice')) for (const g of [out.gradU, out.gradV]) for (let i = 0; i < g.data.length; i++) g.data[i] = g.data[i]! / spec.tau;
    return out;
  }

  // ---------------------------------------------------------------- pair sigmoid (./sigmoid.ts)

  function pairSigmoid(U: Matrix, V: Matrix, spec: SigmoidSpec, want: { grad: boolean }): PairSigmoidResult {
    live('pairSigmoid');
    if (U.rows !== V.rows || U.cols !== V.cols) throw new ShapeError('pairSigmoid', `U is ${shapeStr(U)} but V is ${shapeStr(V)}`);
    if (!(spec.t > 0) || !Number.isFinite(spec.t)) throw new DomainError('pairSigmoid', `t must be a finite number > 0, got ${spec.t}`);
    if (!Number.isFinite(spec.b)) throw new DomainError('pairSigmoid', `b must be a finite number, got ${spec.b}`);
    return blockedPairSigmoid(gemm, dtype, T, U, V, spec, want);
  }

  const kernels: Kernels = { gemm, pairLse, pairSoftmaxGrad, pairSigmoid };
  return {
    name: 'cpu',
    dtype,
    blockSize: T,
    kernels,
    info: { simd: true, impl: relaxed ? 'wasm-simd128-relaxed' : 'wasm-simd128', microTile: `${mr}x${nr}`, threads: threadCount, fma: relaxed, exp: 'simd-polynomial' },
    dispose() {
      ex = null;
      threads.dispose();
    },
  };
}
