/**
 * The gpujs backend: the backend contract (float32) on gpu.js's WebGL path (headless-gl; under Xvfb
 * on Mesa's software renderer in CI, started by tests/globalSetup.ts), the float32 rule
 * against the float64 CPU backend at sizes beyond the materialised oracle, resident inputs and the
 * kernel cache, mode detection and errors.
 *
 * In CI (CI set) a missing WebGL context fails this file; locally it skips with the reason.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { createGpujsBackend, describeGpujs, type GpujsBackend } from '../../src/backend/gpujs/index.ts';
import { pairInstance } from '../../src/backend/instances.ts';
import { f32RuleBound, maxAbsLogit, normwiseError as err, pairFloorF32 } from '../../src/backend/tolerance.ts';
import type { PairExclusion } from '../../src/backend/types.ts';
import { BackendUnavailableError, ConfigError } from '../../src/core/errors.ts';
import { zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { runBackendContract, toF64 } from './contract.ts';
import { cli, tmp, writeMatrix } from '../cli/harness.ts';
import { randomMatrix } from '../../src/backend/instances.ts';

// Shader compilation (one program per shape class: d, exclusion) dominates the property runs; on
// Mesa's llvmpipe at load 16 on 2 cores one contract property took 164 s and the CLI tests 18-24 s.
vi.setConfig({ testTimeout: 600_000 });

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

function availability(): string | null {
  try {
    createGpujsBackend({ mode: 'headlessgl' }).dispose();
    return null;
  } catch (e) {
    if (e instanceof BackendUnavailableError) return e.message;
    throw e;
  }
}
const unavailable = availability();

if (unavailable !== null) {
  if (process.env.CI) {
    it('gpu.js headless-gl is available in CI', () => {
      throw new Error(`the gpujs suite cannot run: ${unavailable}`);
    });
  } else {
    it.skip(`gpujs backend (skipped: ${unavailable})`, () => {});
  }
} else {
  // Small tiles (not dividing the contract's sizes) exercise the tiling; the defaults run the
  // same shapes as one tile.
  runBackendContract('gpujs headlessgl tile=16 lseTile=7', () => createGpujsBackend({ tile: 16, lseTile: 7 }), { dtypes: ['f32'] });
  runBackendContract('gpujs headlessgl default tiles', () => createGpujsBackend(), { dtypes: ['f32'] });
  runBackendContract('gpujs headlessgl one value per fetch (vec4: false) tile=16 lseTile=7', () => createGpujsBackend({ vec4: false, tile: 16, lseTile: 7 }), { dtypes: ['f32'] });

  describe('gpujs: the float32 rule against the float64 cpu backend at larger n', () => {
    const gpu = createGpujsBackend({ tile: 192, lseTile: 100 });
    const cpu64 = createCpuBackend({ dtype: 'f64' });
    const cpu32 = createCpuBackend({ dtype: 'f32' });
    // err(gpujs, cpu_f64) ≤ 2·err(cpu_f32, cpu_f64) + floor, floor = 4·ε32·(1 + max|S|) (tolerance.ts):
    // the rule, with the blocked float32 CPU kernels as the float32 baseline. n = 500 spans
    // 3 gradient tiles and 5 lse tiles, none full.
    for (const [n, d, tau, exclude, layout] of [
      [500, 64, 1, 'none', 'pairs'],
      [500, 64, 0.1, 'positive', 'shifted'],
      [500, 32, 0.01, 'self-and-positive', 'stacked'],
      [1, 8, 0.01, 'none', 'pairs'],
    ] as [number, number, number, PairExclusion, 'pairs' | 'shifted' | 'stacked'][]) {
      it(`n = ${n}, d = ${d}, τ = ${tau}, ${exclude}`, () => {
        const c = pairInstance(Rng.fromSeed(n + d), 'f32', { n, d, tau, exclude, layout, kind: 'unit', coefMask: 7 });
        const U64 = toF64(c.U);
        const V64 = toF64(c.V);
        const want = { row: true, col: true };
        const r = cpu64.kernels.pairLse(U64, V64, c.spec, want);
        const coef = { ...c.coef, lseRow: r.lseRow, lseCol: r.lseCol };
        const g = cpu64.kernels.pairSoftmaxGrad(U64, V64, c.spec, coef);
        const l32 = cpu32.kernels.pairLse(c.U, c.V, c.spec, want);
        const g32 = cpu32.kernels.pairSoftmaxGrad(c.U, c.V, c.spec, coef);
        const lg = gpu.kernels.pairLse(c.U, c.V, c.spec, want);
        const gg = gpu.kernels.pairSoftmaxGrad(c.U, c.V, c.spec, coef);
        const floor = pairFloorF32(maxAbsLogit(U64, V64, tau));
        const cases: [string, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, number][] = [
          ['lseRow', lg.lseRow!, l32.lseRow!, r.lseRow!, 1],
          ['lseCol', lg.lseCol!, l32.lseCol!, r.lseCol!, 1],
          ['positive', lg.positive, l32.positive, r.positive, 1],
          ['gradU', gg.gradU.data, g32.gradU.data, g.gradU.data, 0],
          ['gradV', gg.gradV.data, g32.gradV.data, g.gradV.data, 0],
        ];
        for (const [name, x, base, ref, sf] of cases) expect(err(x, ref, sf), name).toBeLessThanOrEqual(f32RuleBound(err(base, ref, sf), floor));
      });
    }
  });

  describe('gpujs: the CLI with --backend gpujs (no other change)', () => {
    it('eval: every objective agrees with the float32 cpu backend within float32 rounding, and the mode is printed', async () => {
      const dir = tmp();
      const rng = Rng.fromSeed(5);
      const u = writeMatrix(join(dir, 'U.npy'), randomMatrix(rng, 40, 6, 'f64', 'unit'));
      const v = writeMatrix(join(dir, 'V.npy'), randomMatrix(rng, 40, 6, 'f64', 'unit'));
      for (const objective of ['infonce', 'infonce-uv', 'gcl-bimodal', 'gcl-unimodal']) {
        const g = await cli('eval', '--objective', objective, '--u', u, '--v', v, '--tau', '0.1', '--backend', 'gpujs');
        expect(g.code, g.stderr).toBe(0);
        expect(g.stderr).toMatch(/backend gpujs: gpu\.js mode headlessgl, precision single/);
        const c = await cli('eval', '--objective', objective, '--u', u, '--v', v, '--tau', '0.1', '--dtype', 'f32');
        const [a, b] = [g.json(), c.json()];
        expect(a.dtype).toBe('f32');
        expect(a.backend).toBe('gpujs');
        expect(Math.abs((a.value as number) - (b.value as number))).toBeLessThan(1e-5 * Math.max(1, Math.abs(b.value as number)));
        expect(Math.abs((a.gradNorm as number) - (b.gradNorm as number))).toBeLessThan(1e-4 * (b.gradNorm as number));
      }
      const mb = await cli('eval', '--objective', 'minibatch', '--u', u, '--all-batches', '2', '--max-batches', '1000', '--backend', 'gpujs');
      expect(mb.code, mb.stderr).toBe(0);
    });

    it('refuses --dtype f64 and unknown modes with exit 2', async () => {
      const dir = tmp();
      const u = writeMatrix(join(dir, 'U.npy'), randomMatrix(Rng.fromSeed(6), 4, 3, 'f64', 'unit'));
      const a = await cli('eval', '--objective', 'infonce', '--u', u, '--backend', 'gpujs', '--dtype', 'f64');
      expect(a.code).toBe(2);
      expect(a.stderr).toMatch(/float32 only/);
      const b = await cli('eval', '--objective', 'infonce', '--u', u, '--backend', 'gpujs:opengl');
      expect(b.code).toBe(2);
      expect(b.stderr).toMatch(/gpujs:MODE/);
    });

    it('run: the SogCLR preset, cut to one seed, two experiments and 2 epochs, on the gpujs backend', async () => {
      const dir = tmp();
      const spec = (await cli('run', '--preset', 'sogclr-small-batch', '--size', 'smoke', '--expand')).json() as { experiments: Record<string, unknown>[] };
      const keep = spec.experiments.filter((e) => /reference|SogCLR/.test(String(e.name))).slice(0, 2);
      expect(keep.length).toBe(2);
      for (const e of keep) Object.assign(e, { seeds: [0], budget: { epochs: 2 }, logEveryEpochs: 1 });
      // The preset's figures and sweeps name the dropped arms (refused by validation): drop them too.
      writeFileSync(join(dir, 'spec.json'), JSON.stringify({ ...spec, name: 'gpujs-sogclr', experiments: keep, figures: undefined, sweeps: undefined, gapReference: undefined }));
      const out = join(dir, 'run');
      const r = await cli('run', join(dir, 'spec.json'), '--out', out, '--backend', 'gpujs');
      expect(r.code, r.stderr).toBe(0);
      const fin = JSON.parse(readFileSync(join(out, 'final.json'), 'utf8')) as Record<string, unknown>;
      expect(JSON.stringify(fin)).toMatch(/gpujs/);
    });
  });

  describe('gpujs: resident inputs, kernel cache, info', () => {
    it('uploads U and V once for pairLse then pairSoftmaxGrad, and compiles once per shape class', () => {
      const be = createGpujsBackend({ tile: 64, lseTile: 32 }) as GpujsBackend;
      const spec = { tau: 0.1, positiveShift: 0, exclude: 'none' as const };
      const step = (n: number, seed: number) => {
        const c = pairInstance(Rng.fromSeed(seed), 'f32', { n, d: 8, tau: 0.1, exclude: 'none', layout: 'pairs', kind: 'unit', coefMask: 7 });
        const l = be.kernels.pairLse(c.U, c.V, spec, { row: true, col: true });
        be.kernels.pairSoftmaxGrad(c.U, c.V, spec, { ...c.coef, lseRow: l.lseRow, lseCol: l.lseCol });
      };
      step(100, 1);
      const s1 = be.stats();
      expect(s1.matrixUploads).toBe(2); // U and V, once each, for both kernels
      // Same shape class (d, tiles, exclusion) and the same last-tile size (164 = 2·64 + 36, as
      // 100 = 64 + 36; accumulator kernels are per output size): new data, no new kernels.
      step(164, 2);
      const s2 = be.stats();
      expect(s2.matrixUploads).toBe(4);
      expect(s2.compiledKernels).toBe(s1.compiledKernels);
      be.dispose();
    });

    it('shapes beyond the texture capacity run on the float32 cpu backend, with one notice per operation', () => {
      const notes: string[] = [];
      const be = createGpujsBackend({ maxTextureElements: 100, notice: (m) => notes.push(m) });
      const cpu = createCpuBackend({ dtype: 'f32' });
      const c = pairInstance(Rng.fromSeed(3), 'f32', { n: 20, d: 8, tau: 0.1, exclude: 'none', layout: 'pairs', kind: 'unit', coefMask: 7 });
      for (let t = 0; t < 2; t++) {
        const a = be.kernels.pairLse(c.U, c.V, c.spec, { row: true, col: true });
        const b = cpu.kernels.pairLse(c.U, c.V, c.spec, { row: true, col: true });
        expect(Array.from(a.lseRow!)).toEqual(Array.from(b.lseRow!));
        const ga = be.kernels.pairSoftmaxGrad(c.U, c.V, c.spec, { ...c.coef, lseRow: b.lseRow, lseCol: b.lseCol });
        const gb = cpu.kernels.pairSoftmaxGrad(c.U, c.V, c.spec, { ...c.coef, lseRow: b.lseRow, lseCol: b.lseCol });
        expect(Array.from(ga.gradV.data)).toEqual(Array.from(gb.gradV.data));
      }
      expect(notes.length).toBe(2);
      expect(notes[0]).toMatch(/pairLse at n = 20, d = 8 exceeds the texture capacity.*cpu backend/);
      be.dispose();
      cpu.dispose();
    });

    it('reports the mode it got, the precision and the renderer; refuses float64, webgpu and use after dispose', () => {
      const be = createGpujsBackend();
      expect(be.name).toBe('gpujs');
      expect(be.dtype).toBe('f32');
      expect(be.info.mode).toBe('headlessgl');
      expect(be.info.precision).toBe('single');
      expect(String(be.info.glVersion)).toMatch(/WebGL 1/);
      expect(describeGpujs(be)).toMatch(/gpu\.js mode headlessgl, precision single/);
      be.dispose();
      expect(() => be.kernels.gemm(1, zeros(1, 1, 'f32'), zeros(1, 1, 'f32'), 0, zeros(1, 1, 'f32'))).toThrow(/disposed/);
      expect(() => createGpujsBackend({ dtype: 'f64' })).toThrow(ConfigError);
      expect(() => createGpujsBackend({ mode: 'webgpu' })).toThrow(BackendUnavailableError);
      expect(() => createGpujsBackend({ tile: 0 })).toThrow(/tile/);
    });

    it("gpu.js's cpu and webasm modes (no textures) refuse the kernels with a typed error, not a crash", () => {
      for (const mode of ['cpu', 'webasm'] as const) {
        const be = createGpujsBackend({ mode });
        const U = zeros(4, 2, 'f32');
        expect(() => be.kernels.pairLse(U, U, { tau: 1, positiveShift: 0, exclude: 'none' }, { row: true, col: true })).toThrow(BackendUnavailableError);
        expect(() => be.kernels.gemm(1, U, zeros(2, 4, 'f32'), 0, zeros(4, 4, 'f32'))).toThrow(new RegExp(`mode '${mode}' has no textures`));
        be.dispose(); // the resident inputs are plain arrays in these modes: dispose must not throw
      }
    });
  });
}

describe('gpujs: without an X display', () => {
  // A child process with DISPLAY removed: 'headlessgl' must fail with a clear message, and 'auto'
  // must report the mode gpu.js silently fell back to.
  const script = `
    import { createGpujsBackend } from './src/backend/gpujs/index.ts';
    const out = {};
    try { createGpujsBackend({ mode: 'headlessgl' }); out.headlessgl = 'created'; } catch (e) { out.headlessgl = e.constructor.name + ': ' + e.message; }
    const be = createGpujsBackend({ mode: 'auto' });
    out.auto = be.info;
    be.dispose();
    console.log(JSON.stringify(out));`;
  it("names the missing display, and 'auto' reports its fallback mode", () => {
    const env = { ...process.env };
    delete env.DISPLAY;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { headlessgl: string; auto: Record<string, string> };
    expect(out.headlessgl).toMatch(/^BackendUnavailableError: .*(DISPLAY is unset: run the command under xvfb-run|'gl' is not installed)/);
    expect(out.auto.mode).not.toBe('headlessgl');
    expect(out.auto.fallback).toMatch(/gpu\.js chose/);
  });
});
