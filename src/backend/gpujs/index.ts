/**
 * The gpujs backend: the kernel table of ../types.ts on gpu.js (float32 only).
 *
 * Kernels (./kernels.ts), for S = U Vᵀ / τ:
 *  - pairLse: over R x C tiles, one S tile on the device (each logit computed once), reduced to
 *    online max-shifted (m, s) pairs per row and per column, merged across tiles on the device;
 *    lse = m + log s on the host in float64. (vec4: false: per column tile an (m, s) pair for every
 *    row, columns by the same kernel on (V, U) with the shift reversed: two passes over S.)
 *  - pairSoftmaxGrad: over R x C tiles, G tile on the device, then gradU tile rows += G·V and
 *    gradV tile rows += Gᵀ·U, accumulated in device textures across tiles (pipeline mode); one
 *    readback of gradU and gradV at the end. Memory on the device: U, V, coefficients, one R x C tile
 *    and the n x d accumulators; never n x n unless R = C = n.
 *  - gemm: C tile rows = A tile · B on the device, α and β applied on the host in float32.
 *  - pairSigmoid (SigLIP): per-row partial sums over column tiles (read back, summed in float64),
 *    gradients from R x C tiles of G = t·H through the gradient kernels above.
 * U and V are uploaded once and kept resident: a call whose U / V have the same contents as a
 * recent call's reuses their textures (pairLse then pairSoftmaxGrad on the same step uploads once).
 * Kernels are compiled once per shape class (d, tile widths, exclusion; sizes and offsets are
 * arguments) and reused.
 *
 * Modes (gpu.js 2.24): 'headlessgl' (WebGL 1 through the `gl` package: GLSL fragment shaders; needs
 * an X display, e.g. `xvfb-run -a`), 'webasm' (WebAssembly SIMD on the CPU), 'cpu' (JavaScript),
 * 'auto' (gpu.js's own choice, which silently falls back to webasm without a WebGL context: the
 * backend detects the mode it got from the compiled kernel's class and reports it in `info.mode`
 * and `info.fallback`). Not provided: 'webgpu' (its kernels return Promises; this kernel table is
 * synchronous), float64 (WebGL 1 has no double precision), 'unsigned' precision (lossy 8-bit packing).
 * Shapes beyond the device's texture capacity run on the CPU backend in float32 with a one-time notice.
 *
 * gpu.js is loaded on construction (createRequire), so nothing else in the library depends on it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BackendUnavailableError, ConfigError, DomainError, ShapeError } from '../../core/errors.ts';
import { type Matrix, zeros } from '../../core/matrix.ts';
import { createCpuBackend } from '../cpu/index.ts';
import type { Backend, Kernels, PairExclusion, PairGradCoefficients, PairLseResult, PairSigmoidResult } from '../types.ts';
import * as K from './kernels.ts';

export type GpujsMode = 'headlessgl' | 'auto' | 'webasm' | 'cpu' | 'webgpu';
export const GPUJS_MODES: readonly GpujsMode[] = ['headlessgl', 'auto', 'webasm', 'cpu', 'webgpu'];

export interface GpujsBackendOptions {
  /** gpu.js mode (default 'headlessgl': the WebGL shader path; an explicit mode that gpu.js cannot give is an error). */
  mode?: GpujsMode;
  /** Only 'f32' (the default). */
  dtype?: 'f32' | 'f64';
  /** Row / column tile of the gradient pass (default 4096; smaller values exercise the tiling). */
  tile?: number;
  /** Column tile of the scalar (vec4: false) log-sum-exp pass (default 1024); the vec4 pass uses `tile`. */
  lseTile?: number;
  /** Caps the float32 elements one texture may hold (default: the device's maxTextureSize²); lower it to exercise the CPU fallback. */
  maxTextureElements?: number;
  /** Receives one-time notices (fallbacks); default: a line on stderr. */
  notice?: (message: string) => void;
  /** Finish the GL queue after every kernel and time it per kernel (stats().kernelMs); for profiling only. */
  profile?: boolean;
  /**
   * Keep U, V and G in RGBA textures, four values per texel, and compute four outputs per thread
   * (default true): about 4x fewer texture fetches. false runs the one-value-per-fetch kernels.
   */
  vec4?: boolean;
}

/** The gpujs backend with its counters (for tests and benchmarks). */
export interface GpujsBackend extends Backend {
  /** Matrices uploaded to the device so far (a resident hit does not count), kernels compiled, host↔device milliseconds. */
  stats(): { matrixUploads: number; compiledKernels: number; uploadMs: number; readbackMs: number; kernelMs: Record<string, number>; setOutputMs: number };
}

/** Defaults: an R x C = 4096² tile of G is 64 MiB of float32; a 1024-column lse tile gives n·⌈n/1024⌉ threads. */
export const GPUJS_DEFAULT_TILE = 4096;
export const GPUJS_DEFAULT_LSE_TILE = 1024;

// Minimal structural types of the parts of gpu.js used here.
interface GpuTexture { delete(): void; toArray(): unknown }

/** Frees a resident input: a texture in the GL modes; the cpu / webasm modes hold plain arrays. */
function release(t: GpuTexture | unknown): void {
  const del = (t as { delete?: unknown } | null)?.delete;
  if (typeof del === 'function') del.call(t);
}
interface GpuKernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): void;
  destroy(removeCanvas?: boolean): void;
  kernel?: { constructor: { name: string }; fallbackReason?: string | null; context?: WebGLLike | null };
  constructor: { name: string };
  context?: WebGLLike | null;
}
interface WebGLLike {
  getParameter(p: number): unknown;
  getExtension(name: string): Record<string, number> | null;
  RENDERER: number;
  VENDOR: number;
  VERSION: number;
  MAX_TEXTURE_SIZE: number;
}
interface GpuInstance {
  mode: string;
  createKernel(fn: string, settings: Record<string, unknown>): GpuKernel;
  destroy(): unknown;
}
interface GpuModule {
  GPU: { new (settings?: Record<string, unknown>): GpuInstance; isHeadlessGLSupported: boolean; features?: Record<string, unknown> };
  input(value: Float32Array, size: number[]): unknown;
}

/** Which backend a compiled kernel runs on, from its class (gpu.js's `gpu.mode` says 'gpu' in auto mode). */
function kernelMode(k: GpuKernel): string {
  const cls = (k.kernel?.constructor.name ?? k.constructor.name) || '';
  if (/HeadlessGL/.test(cls)) return 'headlessgl';
  if (/WebGL2/.test(cls)) return 'webgl2';
  if (/WebGL/.test(cls)) return 'webgl';
  if (/WebGPU/.test(cls)) return 'webgpu';
  if (/WebAssembly/.test(cls)) return 'webasm';
  if (/CPU/.test(cls)) return 'cpu';
  return cls || 'unknown';
}

function loadGpujs(require: NodeRequire): GpuModule {
  try {
    return require('gpu.js') as GpuModule;
  } catch (e) {
    throw new BackendUnavailableError('gpujs', `gpu.js (installed on request, not a dependency) is not installed (${(e as Error).message.split('\n')[0]}); install it with: npm install gpu.js@^2.24.1 (in the contrastlab repository: npm run gpu:install); its 'gl' package builds from source and needs the X/GL headers (Debian: libxi-dev pkg-config libx11-dev libxext-dev libgl-dev) and an X display (xvfb-run -a)`);
  }
}

/** Why headless-gl cannot give a WebGL context here (called only when gpu.js says it cannot). */
function headlessGlDiagnosis(require: NodeRequire): string {
  let gl: ((w: number, h: number) => unknown) | null = null;
  try {
    gl = require('gl') as (w: number, h: number) => unknown;
  } catch (e) {
    return (
      `the optional package 'gl' is not installed or did not build (${(e as Error).message.split('\n')[0]}). ` +
      `It builds from source: install Debian's libxi-dev, pkg-config and the X / GL headers, keep "allowScripts": {"gl": true} in package.json, then JOBS=2 npm ci`
    );
  }
  let ctx: unknown = null;
  try {
    ctx = gl(1, 1);
  } catch {
    ctx = null;
  }
  if (ctx === null) {
    return process.env.DISPLAY
      ? `headless-gl could not create a WebGL context on DISPLAY=${process.env.DISPLAY} (is the X server running and does it offer GLX?)`
      : `headless-gl needs an X display and DISPLAY is unset: run the command under xvfb-run -a (Debian xvfb, xauth)`;
  }
  return 'gpu.js reports headless-gl unsupported although a context was created';
}

function rendererOf(ctx: WebGLLike | null | undefined): { renderer: string; vendor: string; glVersion: string; maxTextureSize: number } | null {
  if (!ctx || typeof ctx.getParameter !== 'function') return null;
  const dbg = ctx.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(dbg ? ctx.getParameter(dbg.UNMASKED_RENDERER_WEBGL!) : ctx.getParameter(ctx.RENDERER));
  const vendor = String(dbg ? ctx.getParameter(dbg.UNMASKED_VENDOR_WEBGL!) : ctx.getParameter(ctx.VENDOR));
  return { renderer, vendor, glVersion: String(ctx.getParameter(ctx.VERSION)), maxTextureSize: Number(ctx.getParameter(ctx.MAX_TEXTURE_SIZE)) };
}

/**
 * The OpenGL driver behind headless-gl's ANGLE (which reports only 'ANGLE'): read from the shared
 * objects mapped into this process (Linux), e.g. 'nvidia (libGLX_nvidia)' or 'mesa swrast (llvmpipe)'.
 */
function glDriverFromMaps(): string | null {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return null;
  }
  const libs = new Set(maps.split('\n').map((l) => l.trim().split(/\s+/)[5] ?? '').filter((p) => p.includes('.so')).map((p) => p.slice(p.lastIndexOf('/') + 1)));
  const has = (re: RegExp) => [...libs].some((l) => re.test(l));
  if (has(/^libGLX_nvidia/) || has(/^libnvidia-glcore/)) return 'nvidia (libGLX_nvidia)';
  if (has(/^swrast_dri/) || has(/^libgallium/)) return has(/^libLLVM/) ? 'mesa swrast (llvmpipe)' : 'mesa swrast (softpipe)';
  if (has(/^libGLX_mesa/)) return 'mesa';
  return null;
}

const EXCL: Record<PairExclusion, number> = { none: 0, positive: 1, 'self-and-positive': 2 };

/** Float32 contiguous copy (or view) of a matrix's values. */
function packF32(M: Matrix): Float32Array {
  const { rows, cols, rowStride: rs, colStride: cs, offset } = M;
  if (M.data instanceof Float32Array && cs === 1 && rs === cols) return M.data.subarray(offset, offset + rows * cols);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = M.data[offset + i * rs + j * cs]!;
  return out;
}

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** A 2D readback of an Array(4) texture (rows of texels of four values) into a flat rows x 4·w Float32Array. */
function flatten4(out: unknown, rows: number, w: number): Float32Array {
  const flat = new Float32Array(rows * 4 * w);
  const arr = out as ArrayLike<ArrayLike<ArrayLike<number>>>;
  for (let i = 0; i < rows; i++) {
    const row = arr[i]!;
    for (let q = 0; q < w; q++) {
      const t = row[q]!;
      for (let l = 0; l < 4; l++) flat[(i * w + q) * 4 + l] = t[l]!;
    }
  }
  return flat;
}

/** Rows of a 2D readback (Array of Float32Array) or a flat 1D one into a flat Float32Array. */
function flatten(out: unknown, rows: number, cols: number): Float32Array {
  if (out instanceof Float32Array) return out;
  const arr = out as ArrayLike<Float32Array>;
  const flat = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) flat.set(arr[i]!.subarray(0, cols), i * cols);
  return flat;
}

export function createGpujsBackend(opts: GpujsBackendOptions = {}): GpujsBackend {
  const op = 'createGpujsBackend';
  const dtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32') throw new ConfigError(op, `the gpujs backend computes in float32 only (WebGL 1 has no float64), got dtype '${String(dtype)}'; use dtype 'f32' or the cpu backend`);
  const requested: GpujsMode = opts.mode ?? 'headlessgl';
  if (!GPUJS_MODES.includes(requested)) throw new ConfigError(op, `mode must be one of ${GPUJS_MODES.join(', ')}, got '${String(requested)}'`);
  if (requested === 'webgpu') {
    throw new BackendUnavailableError(op, `gpu.js's webgpu mode returns a Promise from every kernel call, and the kernel table is synchronous; use mode 'headlessgl'`);
  }
  const tile = opts.tile ?? GPUJS_DEFAULT_TILE;
  const lseTile = opts.lseTile ?? GPUJS_DEFAULT_LSE_TILE;
  for (const [name, v] of [['tile', tile], ['lseTile', lseTile]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 16384) throw new DomainError(op, `${name} must be an integer in [1, 16384], got ${v}`);
  }
  const notice = opts.notice ?? ((m: string) => process.stderr.write(`${m}\n`));
  const noticed = new Set<string>();
  const noticeOnce = (key: string, m: string) => {
    if (!noticed.has(key)) {
      noticed.add(key);
      notice(m);
    }
  };

  const require = createRequire(import.meta.url);
  const gpujs = loadGpujs(require);
  if (requested === 'headlessgl' && !gpujs.GPU.isHeadlessGLSupported) {
    throw new BackendUnavailableError(op, `mode 'headlessgl' is not available: ${headlessGlDiagnosis(require)}`);
  }
  let gpu: GpuInstance | null = new gpujs.GPU(requested === 'auto' ? {} : { mode: requested });

  // ---------------------------------------------------------------- kernels, cached by shape class

  const kernels = new Map<string, GpuKernel>();
  const counters = { matrixUploads: 0, compiledKernels: 0, uploadMs: 0, readbackMs: 0, setOutputMs: 0 };
  const kernelMs: Record<string, number> = {};
  const names = new Map<GpuKernel, string>();
  const lastOutput = new Map<GpuKernel, string>();
  let mode = '';
  let fallback = '';
  function kernel(name: string, source: string, settings: { constants?: Record<string, number>; pipeline?: boolean; returnArray2?: boolean; returnArray4?: boolean; fixedOutput?: number[] }): GpuKernel {
    // fixedOutput: one kernel per output size. gpu.js returns a stale-sized texture when a kernel
    // that reads its own previous output (an accumulator) changes size; per-size kernels never resize.
    const key = `${name}:${JSON.stringify(settings.constants ?? {})}${settings.fixedOutput ? `:${settings.fixedOutput.join('x')}` : ''}`;
    let k = kernels.get(key);
    if (k) return k;
    if (gpu === null) throw new ConfigError('gpujs', 'the gpujs backend has been disposed');
    k = gpu.createKernel(source, {
      output: [1],
      constants: settings.constants ?? {},
      precision: 'single',
      tactic: 'precision',
      dynamicOutput: true,
      dynamicArguments: true,
      pipeline: settings.pipeline ?? false,
      immutable: true,
      loopMaxIterations: 1 << 20,
      ...(settings.returnArray2 ? { returnType: 'Array(2)' } : {}),
      ...(settings.returnArray4 ? { returnType: 'Array(4)' } : {}),
    });
    kernels.set(key, k);
    names.set(k, name);
    counters.compiledKernels++;
    return k;
  }
  /** Runs a kernel, then checks which backend gpu.js actually used (it may degrade a kernel silently). */
  function run(k: GpuKernel, output: number[], ...args: unknown[]): unknown {
    const t0 = performance.now();
    // setOutput re-sizes the kernel's textures even for an unchanged size (measured: ~100 ms per
    // call at 4096² on an H100), so only a changed output is set.
    const key = output.join('x');
    if (lastOutput.get(k) !== key) {
      k.setOutput(output);
      lastOutput.set(k, key);
    }
    const t1 = performance.now();
    const out = k(...args);
    if (opts.profile) {
      const ctx = k.kernel?.context as { finish?: () => void } | null | undefined;
      ctx?.finish?.();
      const name = names.get(k) ?? '?';
      kernelMs[name] = (kernelMs[name] ?? 0) + performance.now() - t1;
    }
    counters.setOutputMs += t1 - t0;
    const got = kernelMode(k);
    if (got !== mode) {
      const why = k.kernel?.fallbackReason ? `: ${k.kernel.fallbackReason}` : '';
      noticeOnce(`kernel-mode:${got}`, `gpujs: a kernel ran in gpu.js mode '${got}' instead of '${mode}'${why}`);
    }
    return out;
  }

  // Probe: compile one kernel to learn the mode gpu.js gave, the renderer and the texture limit.
  const probe = kernel('upload', K.UPLOAD, { pipeline: true });
  probe.setOutput([1, 1]);
  lastOutput.set(probe, '1x1');
  const probeTex = probe(gpujs.input(new Float32Array([1]), [1, 1])) as GpuTexture;
  mode = kernelMode(probe);
  release(probeTex);
  if (requested !== 'auto' && mode !== requested) {
    gpu.destroy();
    throw new BackendUnavailableError(op, `asked for gpu.js mode '${requested}' but gpu.js compiled a '${mode}' kernel`);
  }
  if (requested === 'auto' && mode !== 'headlessgl') {
    fallback = `no WebGL context (${headlessGlDiagnosis(require)}), so gpu.js chose '${mode}'`;
  }
  const gl = rendererOf(probe.kernel?.context ?? probe.context ?? null);
  const maxTex = gl?.maxTextureSize ?? 16384;
  if (mode === 'headlessgl' && gpujs.GPU.features && gpujs.GPU.features.isTextureFloat === false) {
    gpu.destroy();
    throw new BackendUnavailableError(op, 'the WebGL context has no float textures (OES_texture_float), so single precision is unavailable');
  }
  // Texture capacity in float32 elements (gpu.js packs any output shape into a near-square texture).
  const capacity = Math.min(maxTex * maxTex, opts.maxTextureElements ?? Infinity);

  let cpuFallback: Backend | null = null;
  const onCpu = (opName: string, reason: string): Kernels => {
    noticeOnce(`fallback:${opName}:${reason}`, `gpujs: ${opName} ${reason}; running it on the cpu backend (float32)`);
    cpuFallback ??= createCpuBackend({ dtype: 'f32' });
    return cpuFallback.kernels;
  };

  // ---------------------------------------------------------------- resident inputs

  interface Resident { data: Float32Array; tex: GpuTexture; rows: number; cols: number; packed: boolean }
  const resident: Resident[] = [];
  const RESIDENT_MAX = 4;
  const vec4 = opts.vec4 ?? true;
  /** U or V on the device, kept resident (one value per texel, or four with vec4). */
  function upload(M: Matrix, packed = vec4): GpuTexture {
    const data = packF32(M);
    const hit = resident.findIndex((r) => r.packed === packed && r.rows === M.rows && r.cols === M.cols && sameBytes(r.data, data));
    if (hit >= 0) {
      const [r] = resident.splice(hit, 1);
      resident.unshift(r!);
      return r!.tex;
    }
    const t0 = performance.now();
    let tex: GpuTexture;
    if (packed) {
      const d4 = Math.ceil(M.cols / 4);
      const padded = new Float32Array(M.rows * 4 * d4);
      for (let i = 0; i < M.rows; i++) padded.set(data.subarray(i * M.cols, (i + 1) * M.cols), i * 4 * d4);
      tex = run(kernel('upload4', K.UPLOAD4, { pipeline: true, returnArray4: true }), [d4, M.rows], gpujs.input(padded, [4 * d4, M.rows])) as GpuTexture;
    } else {
      tex = run(kernel('upload', K.UPLOAD, { pipeline: true }), [M.cols, M.rows], gpujs.input(data, [M.cols, M.rows])) as GpuTexture;
    }
    counters.uploadMs += performance.now() - t0;
    counters.matrixUploads++;
    resident.unshift({ data: data.slice(), tex, rows: M.rows, cols: M.cols, packed });
    while (resident.length > RESIDENT_MAX) release(resident.pop()!.tex);
    return tex;
  }

  const live = (opName: string) => {
    if (gpu === null) throw new ConfigError(opName, 'the gpujs backend has been disposed');
    // The kernels keep tiles and accumulators in textures (pipeline mode); gpu.js's cpu and webasm
    // modes have none (their outputs are plain arrays), so they cannot run them.
    if (!/^(headlessgl|webgl|webgl2)$/.test(mode)) {
      throw new BackendUnavailableError(opName, `gpu.js mode '${mode}' has no textures, and this backend's kernels keep their tiles in textures; run in a WebGL mode (headlessgl under an X display: xvfb-run -a …) or use the cpu backend`);
    }
  };

  /** lse = m + log s from (m, s) partial pairs (float64; −∞ where nothing was kept). */
  function finishLse(pairs: ArrayLike<ArrayLike<number>>, count: number, dst: Float64Array, at: number): void {
    for (let q = 0; q < count; q++) {
      const p = pairs[q]!;
      dst[at + q] = p[1]! > 0 ? p[0]! + Math.log(p[1]!) : -Infinity;
    }
  }

  /**
   * vec4 path: row and column log-sum-exps from one pass over R x C tiles of S (each logit computed
   * once), the per-tile (m, s) partials merged on the device across tiles.
   */
  function lseBoth4(Ut: GpuTexture, Vt: GpuTexture, n: number, d: number, shift: number, invTau: number, excl: number, want: { row: boolean; col: boolean }) {
    const R = tile;
    const C = Math.ceil(tile / 4) * 4;
    const p2 = { pipeline: true, returnArray2: true };
    const sk = kernel('sTile4', K.S_TILE4, { constants: { d4: Math.ceil(d / 4), excl }, pipeline: true, returnArray4: true });
    const rowK = (acc: boolean, rows: number) => kernel(acc ? 'lseRowsAcc' : 'lseRowsFirst', acc ? K.LSE_ROWS_ACC : K.LSE_ROWS_FIRST, { constants: { C4: C / 4 }, ...p2, ...(acc ? { fixedOutput: [rows] } : {}) });
    const colK = (acc: boolean, cols: number) => kernel(acc ? 'lseColsAcc' : 'lseColsFirst', acc ? K.LSE_COLS_ACC : K.LSE_COLS_FIRST, { constants: { R }, ...p2, ...(acc ? { fixedOutput: [cols] } : {}) });
    const lseRow = want.row ? new Float64Array(n) : null;
    const lseCol = want.col ? new Float64Array(n) : null;
    const accCol: (GpuTexture | null)[] = [];
    for (let r0 = 0; r0 < n; r0 += R) {
      const rows = Math.min(R, n - r0);
      let accRow: GpuTexture | null = null;
      for (let c0 = 0, ct = 0; c0 < n; c0 += C, ct++) {
        const cols = Math.min(C, n - c0);
        const S = run(sk, [Math.ceil(cols / 4), rows], Ut, Vt, n, shift, invTau, r0, c0) as GpuTexture;
        if (lseRow) {
          const nr = (accRow ? run(rowK(true, rows), [rows], accRow, S, n, c0) : run(rowK(false, rows), [rows], S, n, c0)) as GpuTexture;
          release(accRow);
          accRow = nr;
        }
        if (lseCol) {
          const pc = accCol[ct] ?? null;
          const nc = (pc ? run(colK(true, cols), [cols], pc, S, n, r0) : run(colK(false, cols), [cols], S, n, r0)) as GpuTexture;
          release(pc);
          accCol[ct] = nc;
        }
        release(S);
      }
      if (accRow && lseRow) {
        finishLse(accRow.toArray() as ArrayLike<ArrayLike<number>>, rows, lseRow, r0);
        release(accRow);
      }
    }
    if (lseCol) {
      for (let c0 = 0, ct = 0; c0 < n; c0 += C, ct++) {
        finishLse(accCol[ct]!.toArray() as ArrayLike<ArrayLike<number>>, Math.min(C, n - c0), lseCol, c0);
        release(accCol[ct]!);
      }
    }
    return { lseRow, lseCol };
  }

  /** Scalar path: row log-sum-exps of A Bᵀ/τ with pos(i) = (i + shift) mod n (float64 out, −∞ where nothing is kept). */
  function lseRows(At: GpuTexture, Bt: GpuTexture, n: number, d: number, shift: number, invTau: number, excl: number): Float64Array {
    // The tile width is a compile-time loop bound (one kernel for every n); loops stop at n.
    const C = lseTile;
    const nT = Math.ceil(n / C);
    const part = kernel('lsePartial', K.LSE_PARTIAL, { constants: { d, C, excl }, pipeline: true, returnArray2: true });
    const P = run(part, [nT, n], At, Bt, n, shift, invTau) as GpuTexture;
    const comb = kernel('lseCombine', K.LSE_COMBINE, {});
    const out = run(comb, [n], P, nT) as Float32Array;
    release(P);
    const lse = new Float64Array(n);
    for (let i = 0; i < n; i++) lse[i] = out[i]! <= -1e38 ? -Infinity : out[i]!;
    return lse;
  }

  const kernelsTable: Kernels = {
    gemm(alpha, A, B, beta, C) {
      live('gemm');
      const m = A.rows;
      const k = A.cols;
      const nn = B.cols;
      if (m === 0 || nn === 0) return;
      const f = Math.fround;
      const setC = (i: number, j: number, s: number) => {
        const idx = C.offset + i * C.rowStride + j * C.colStride;
        const prev = beta === 0 ? 0 : f(beta * C.data[idx]!);
        C.data[idx] = f(f(alpha * s) + prev);
      };
      if (k === 0 || alpha === 0) {
        for (let i = 0; i < m; i++) for (let j = 0; j < nn; j++) setC(i, j, 0);
        return;
      }
      if (k * nn > capacity || m * k > capacity) {
        onCpu('gemm', `with ${m}x${k} · ${k}x${nn} exceeds the texture capacity ${maxTex}²`).gemm(alpha, A, B, beta, C);
        return;
      }
      const Bt = upload(B, false);
      // Row tiles of C: at most `capacity` outputs and `capacity` A elements per call.
      const mt = Math.max(1, Math.min(m, Math.floor(capacity / Math.max(nn, k)), 1 << 16));
      const g = kernel('gemm', K.GEMM, { constants: { k } });
      const a = packF32(A);
      for (let r0 = 0; r0 < m; r0 += mt) {
        const rows = Math.min(mt, m - r0);
        const out = flatten(run(g, [nn, rows], gpujs.input(a.subarray(r0 * k, (r0 + rows) * k), [k, rows]), Bt), rows, nn);
        for (let i = 0; i < rows; i++) for (let j = 0; j < nn; j++) setC(r0 + i, j, out[i * nn + j]!);
      }
    },

    pairLse(U, V, spec, want): PairLseResult {
      live('pairLse');
      const n = U.rows;
      const d = U.cols;
      if (n === 0) return { lseRow: want.row ? new Float64Array(0) : null, lseCol: want.col ? new Float64Array(0) : null, positive: new Float64Array(0) };
      if (n * d > capacity || n * Math.ceil(n / lseTile) > capacity) {
        return onCpu('pairLse', `at n = ${n}, d = ${d} exceeds the texture capacity ${maxTex}²`).pairLse(U, V, spec, want);
      }
      const shift = ((spec.positiveShift % n) + n) % n;
      const invTau = Math.fround(1 / spec.tau);
      const excl = EXCL[spec.exclude];
      const Ut = upload(U);
      const Vt = upload(V);
      const { lseRow, lseCol } = vec4
        ? lseBoth4(Ut, Vt, n, d, shift, invTau, excl, want)
        : {
          lseRow: want.row ? lseRows(Ut, Vt, n, d, shift, invTau, excl) : null,
          // Columns: the rows of S' = V Uᵀ/τ, where column j's positive row is (j − shift) mod n.
          lseCol: want.col ? lseRows(Vt, Ut, n, d, (n - shift) % n, invTau, excl) : null,
        };
      const pk = vec4 ? kernel('positive4', K.POSITIVE4, { constants: { d4: Math.ceil(d / 4) } }) : kernel('positive', K.POSITIVE, { constants: { d } });
      const pos = run(pk, [n], Ut, Vt, n, shift, invTau) as Float32Array;
      return { lseRow, lseCol, positive: Float64Array.from(pos) };
    },

    pairSoftmaxGrad(U, V, spec, coef: PairGradCoefficients) {
      live('pairSoftmaxGrad');
      const n = U.rows;
      const d = U.cols;
      const gradU = zeros(n, d, 'f32');
      const gradV = zeros(n, d, 'f32');
      if (coef.rowCoef && !coef.lseRow) throw new ShapeError('pairSoftmaxGrad', 'rowCoef is given without lseRow');
      if (coef.colCoef && !coef.lseCol) throw new ShapeError('pairSoftmaxGrad', 'colCoef is given without lseCol');
      if (n === 0 || d === 0 || (!coef.rowCoef && !coef.colCoef && !coef.posCoef)) return { gradU, gradV };
      // Tile widths are compile-time loop bounds (one kernel for every n); loops stop at n.
      const R = tile;
      const C = vec4 ? Math.ceil(tile / 4) * 4 : tile;
      if (n * d > capacity || R * C > capacity) {
        return onCpu('pairSoftmaxGrad', `at n = ${n}, d = ${d} exceeds the texture capacity ${maxTex}²`).pairSoftmaxGrad(U, V, spec, coef);
      }
      const shift = ((spec.positiveShift % n) + n) % n;
      const invTau = Math.fround(1 / spec.tau);
      const excl = EXCL[spec.exclude];
      const Ut = upload(U);
      const Vt = upload(V);
      // Coefficients as one n x 5 texture: [rowCoef, lseRow, colCoef, lseCol, posCoef]; −∞ lse → 0
      // (such a row has no kept entry, so the value is never used).
      const cm = new Float32Array(n * 5);
      const put = (col: number, v: Float64Array | null) => {
        if (v) for (let i = 0; i < n; i++) cm[i * 5 + col] = Number.isFinite(v[i]!) ? v[i]! : 0;
      };
      put(0, coef.rowCoef);
      put(1, coef.lseRow);
      put(2, coef.colCoef);
      put(3, coef.lseCol);
      put(4, coef.posCoef);
      const coefT = run(kernel('upload', K.UPLOAD, { pipeline: true }), [5, n], gpujs.input(cm, [5, n])) as GpuTexture;

      const d4 = Math.ceil(d / 4);
      const p4 = { pipeline: true, returnArray4: true };
      const gk = vec4 ? kernel('gTile4', K.G_TILE4, { constants: { d4, excl }, ...p4 }) : kernel('gTile', K.G_TILE, { constants: { d, excl }, pipeline: true });
      const gu0 = vec4 ? kernel('guFirst4', K.GU4_FIRST, { constants: { C4: C / 4 }, ...p4 }) : kernel('guFirst', K.GU_FIRST, { constants: { C }, pipeline: true });
      const gu1 = (rows: number) => (vec4 ? kernel('guAcc4', K.GU4_ACC, { constants: { C4: C / 4 }, ...p4, fixedOutput: [d4, rows] }) : kernel('guAcc', K.GU_ACC, { constants: { C }, pipeline: true, fixedOutput: [d, rows] }));
      const gv0 = vec4 ? kernel('gvFirst4', K.GV4_FIRST, { constants: { R }, ...p4 }) : kernel('gvFirst', K.GV_FIRST, { constants: { R }, pipeline: true });
      const gv1 = (cols: number) => (vec4 ? kernel('gvAcc4', K.GV4_ACC, { constants: { R }, ...p4, fixedOutput: [d4, cols] }) : kernel('gvAcc', K.GV_ACC, { constants: { R }, pipeline: true, fixedOutput: [d, cols] }));
      // Output widths: G has ⌈cols/4⌉ texels per row with vec4; the accumulators d4 texels per row.
      const gW = (cols: number) => (vec4 ? Math.ceil(cols / 4) : cols);
      const aW = vec4 ? d4 : d;

      const accV: (GpuTexture | null)[] = [];
      const tauF = Math.fround(spec.tau);
      const unload = (t: GpuTexture, rows: number, dst: Float32Array, row0: number) => {
        const t0 = performance.now();
        const raw = t.toArray() as ArrayLike<ArrayLike<unknown>>;
        const flat = vec4 ? flatten4(raw, rows, d4) : flatten(raw, rows, d);
        counters.readbackMs += performance.now() - t0;
        const w = vec4 ? 4 * d4 : d;
        for (let i = 0; i < rows; i++) for (let k = 0; k < d; k++) dst[(row0 + i) * d + k] = Math.fround(flat[i * w + k]! / tauF);
        release(t);
      };
      for (let r0 = 0, rt = 0; r0 < n; r0 += R, rt++) {
        const rows = Math.min(R, n - r0);
        let accU: GpuTexture | null = null;
        for (let c0 = 0, ct = 0; c0 < n; c0 += C, ct++) {
          const cols = Math.min(C, n - c0);
          const G = run(gk, [gW(cols), rows], Ut, Vt, coefT, n, shift, invTau, r0, c0) as GpuTexture;
          const nu = (accU ? run(gu1(rows), [aW, rows], accU, G, Vt, n, c0) : run(gu0, [aW, rows], G, Vt, n, c0)) as GpuTexture;
          release(accU);
          accU = nu;
          const pv = accV[ct] ?? null;
          const nv = (pv ? run(gv1(cols), [aW, cols], pv, G, Ut, n, r0) : run(gv0, [aW, cols], G, Ut, n, r0)) as GpuTexture;
          release(pv);
          accV[ct] = nv;
          release(G);
        }
        unload(accU!, rows, gradU.data as Float32Array, r0);
      }
      for (let c0 = 0, ct = 0; c0 < n; c0 += C, ct++) unload(accV[ct]!, Math.min(C, n - c0), gradV.data as Float32Array, c0);
      release(coefT);
      return { gradU, gradV };
    },

    /**
     * Pair sigmoid (../types.ts): the scalar sums from SIGMOID_PARTIAL (per row and lseTile-wide
     * column tile, float32 on the device, summed on the host in float64, Neumaier), the gradients
     * from R x C tiles of G = t·H (SIGMOID_G_TILE) through the scalar GU / GV kernels of
     * pairSoftmaxGrad, accumulated on the device. One value per fetch (U, V uploaded unpacked)
     * whatever vec4 says.
     */
    pairSigmoid(U, V, spec, want): PairSigmoidResult {
      live('pairSigmoid');
      const n = U.rows;
      const d = U.cols;
      if (U.rows !== V.rows || U.cols !== V.cols) throw new ShapeError('pairSigmoid', `U is ${U.rows}x${U.cols} but V is ${V.rows}x${V.cols}`);
      if (!(spec.t > 0) || !Number.isFinite(spec.t)) throw new DomainError('pairSigmoid', `t must be a finite number > 0, got ${spec.t}`);
      if (!Number.isFinite(spec.b)) throw new DomainError('pairSigmoid', `b must be a finite number, got ${spec.b}`);
      if (n === 0 || d === 0) {
        return n === 0
          ? { value: 0, dT: want.grad ? 0 : null, dB: want.grad ? 0 : null, gradU: want.grad ? zeros(0, d, 'f32') : null, gradV: want.grad ? zeros(0, d, 'f32') : null }
          : onCpu('pairSigmoid', 'with d = 0').pairSigmoid(U, V, spec, want);
      }
      const R = tile;
      const C = tile;
      if (n * d > capacity || n * Math.ceil(n / lseTile) > capacity || (want.grad && R * C > capacity)) {
        return onCpu('pairSigmoid', `at n = ${n}, d = ${d} exceeds the texture capacity ${maxTex}²`).pairSigmoid(U, V, spec, want);
      }
      const t = Math.fround(spec.t);
      const b = Math.fround(spec.b);
      const Ut = upload(U, false);
      const Vt = upload(V, false);
      const nT = Math.ceil(n / lseTile);
      const part = kernel('sigmoidPartial', K.SIGMOID_PARTIAL, { constants: { d, C: lseTile }, returnArray4: true });
      const t0 = performance.now();
      const P = flatten4(run(part, [nT, n], Ut, Vt, n, t, b), n, nT);
      counters.readbackMs += performance.now() - t0;
      const sums = [0, 0, 0];
      const comp = [0, 0, 0];
      for (let q = 0; q < n * nT; q++) {
        for (let c = 0; c < 3; c++) {
          const x = P[q * 4 + c]!;
          const a = sums[c]!;
          const s = a + x;
          comp[c]! += Math.abs(a) >= Math.abs(x) ? a - s + x : x - s + a;
          sums[c] = s;
        }
      }
      const value = sums[0]! + comp[0]!;
      if (!want.grad) return { value, dT: null, dB: null, gradU: null, gradV: null };
      const gradU = zeros(n, d, 'f32');
      const gradV = zeros(n, d, 'f32');
      const gk = kernel('sigmoidGTile', K.SIGMOID_G_TILE, { constants: { d }, pipeline: true });
      const gu0 = kernel('guFirst', K.GU_FIRST, { constants: { C }, pipeline: true });
      const gu1 = (rows: number) => kernel('guAcc', K.GU_ACC, { constants: { C }, pipeline: true, fixedOutput: [d, rows] });
      const gv0 = kernel('gvFirst', K.GV_FIRST, { constants: { R }, pipeline: true });
      const gv1 = (cols: number) => kernel('gvAcc', K.GV_ACC, { constants: { R }, pipeline: true, fixedOutput: [d, cols] });
      const unload = (tex: GpuTexture, rows: number, dst: Float32Array, row0: number) => {
        const t1 = performance.now();
        const flat = flatten(tex.toArray(), rows, d);
        counters.readbackMs += performance.now() - t1;
        dst.set(flat.subarray(0, rows * d), row0 * d);
        release(tex);
      };
      const accV: (GpuTexture | null)[] = [];
      for (let r0 = 0; r0 < n; r0 += R) {
        const rows = Math.min(R, n - r0);
        let accU: GpuTexture | null = null;
        for (let c0 = 0, ct = 0; c0 < n; c0 += C, ct++) {
          const cols = Math.min(C, n - c0);
          const G = run(gk, [cols, rows], Ut, Vt, n, t, b, r0, c0) as GpuTexture;
          const nu = (accU ? run(gu1(rows), [d, rows], accU, G, Vt, n, c0) : run(gu0, [d, rows], G, Vt, n, c0)) as GpuTexture;
          release(accU);
          accU = nu;
          const pv = accV[ct] ?? null;
          const nv = (pv ? run(gv1(cols), [d, cols], pv, G, Ut, n, r0) : run(gv0, [d, cols], G, Ut, n, r0)) as GpuTexture;
          release(pv);
          accV[ct] = nv;
          release(G);
        }
        unload(accU!, rows, gradU.data as Float32Array, r0);
      }
      for (let c0 = 0, ct = 0; c0 < n; c0 += C, ct++) unload(accV[ct]!, Math.min(C, n - c0), gradV.data as Float32Array, c0);
      return { value, dT: sums[1]! + comp[1]!, dB: sums[2]! + comp[2]!, gradU, gradV };
    },
  };

  const info: Record<string, string | number | boolean> = {
    impl: 'gpu.js',
    mode,
    requestedMode: requested,
    precision: 'single',
    tile,
    lseTile,
    vec4,
    maxTextureSize: maxTex,
    unsupported: 'float64; webgpu mode (asynchronous); shapes beyond the texture capacity (cpu fallback)',
  };
  if (gl) Object.assign(info, { renderer: gl.renderer, vendor: gl.vendor, glVersion: gl.glVersion });
  const driver = mode === 'headlessgl' ? glDriverFromMaps() : null;
  if (driver) info.glDriver = driver;
  if (fallback) info.fallback = fallback;

  return {
    stats: () => ({ ...counters, kernelMs: { ...kernelMs } }),
    name: 'gpujs',
    dtype: 'f32',
    blockSize: tile,
    kernels: kernelsTable,
    info,
    dispose() {
      if (gpu === null) return;
      for (const r of resident) release(r.tex);
      resident.length = 0;
      for (const k of kernels.values()) k.destroy();
      kernels.clear();
      gpu.destroy();
      gpu = null;
      cpuFallback?.dispose();
    },
  };
}

/** One line describing a gpujs backend (the CLI prints it). */
export function describeGpujs(be: Backend): string {
  const i = be.info;
  const where = i.glDriver ? `, OpenGL ${i.glDriver}` : i.renderer ? `, renderer ${i.renderer}` : '';
  const fb = i.fallback ? ` (fallback: ${i.fallback})` : '';
  return `backend gpujs: gpu.js mode ${i.mode}, precision ${i.precision}${where}${fb}`;
}
