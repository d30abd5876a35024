/**
 * The gpujs backend's pair-sigmoid kernel (SigLIP): the float32 rule of src/backend/tolerance.ts
 * against the float64 reference (max|S| → t·max|s| + |b|), several tilings, t = 1000, grad: false,
 * the op and `eval --backend gpujs`. Gated like tests/backend/gpujs.test.ts: in CI (CI set) a missing
 * WebGL context fails this file; locally it skips with the reason.
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { createGpujsBackend } from '../../src/backend/gpujs/index.ts';
import { randomMatrix } from '../../src/backend/instances.ts';
import { createReferenceBackend } from '../../src/backend/reference.ts';
import { f32RuleBound, maxAbsSigmoidLogit, normwiseError as err, pairFloorF32 } from '../../src/backend/tolerance.ts';
import type { PairSigmoidResult } from '../../src/backend/types.ts';
import { BackendUnavailableError } from '../../src/core/errors.ts';
import { type Matrix, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { sigmoidLossAndGrad } from '../../src/objectives/sigmoid.ts';
import { cli, tmp, writeMatrix } from '../cli/harness.ts';

vi.setConfig({ testTimeout: 600_000 });

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

function toF64(m: Matrix): Matrix {
  const out = zeros(m.rows, m.cols, 'f64');
  for (let i = 0; i < m.rows * m.cols; i++) out.data[i] = m.data[i]!;
  return out;
}

/** Σ of the magnitudes of the three scalar sums' terms (their comparison scales), float64. */
function magnitudes(U: Matrix, V: Matrix, t: number, b: number): number[] {
  const m = [0, 0, 0];
  for (let i = 0; i < U.rows; i++) {
    for (let j = 0; j < U.rows; j++) {
      let s = 0;
      for (let k = 0; k < U.cols; k++) s += U.data[i * U.cols + k]! * V.data[j * U.cols + k]!;
      const x = (i === j ? 1 : -1) * (t * s + b);
      const sg = 1 / (1 + Math.exp(x));
      m[0]! += Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
      m[1]! += sg * Math.abs(s);
      m[2]! += sg;
    }
  }
  return m;
}

function errors(a: PairSigmoidResult, r: PairSigmoidResult, mag: number[]): number[] {
  const sc = (x: number | null, y: number | null, s: number) => Math.abs(x! - y!) / Math.max(1, s);
  return [sc(a.value, r.value, mag[0]!), sc(a.dT, r.dT, mag[1]!), sc(a.dB, r.dB, mag[2]!), err(a.gradU!.data, r.gradU!.data, 0), err(a.gradV!.data, r.gradV!.data, 0)];
}

if (unavailable !== null) {
  if (process.env.CI) {
    it('gpu.js headless-gl is available in CI', () => {
      throw new Error(`the gpujs sigmoid suite cannot run: ${unavailable}`);
    });
  } else {
    it.skip(`gpujs pairSigmoid (skipped: ${unavailable})`, () => {});
  }
} else {
  const ref64 = createReferenceBackend({ dtype: 'f64' });
  const ref32 = createReferenceBackend({ dtype: 'f32' });

  describe('gpujs pairSigmoid: the float32 rule against the float64 reference', () => {
    for (const [label, opts] of [['tile=16 lseTile=7', { tile: 16, lseTile: 7 }], ['default tiles', {}]] as const) {
      it(label, () => {
        const gpu = createGpujsBackend(opts);
        try {
          const rng = Rng.fromSeed(label.length);
          for (const n of [1, 5, 23, 40]) {
            for (const d of [1, 3, 9]) {
              for (const [t, b] of [[1, 0], [10, -10], [3, 0.5], [1000, 0]] as const) {
                const kind = rng.uniform() < 0.5 ? 'unit' : 'gauss';
                const U32 = randomMatrix(rng, n, d, 'f32', kind);
                const V32 = randomMatrix(rng, n, d, 'f32', kind);
                const U = toF64(U32);
                const V = toF64(V32);
                const mag = magnitudes(U, V, t, b);
                const oracle = ref64.kernels.pairSigmoid(U, V, { t, b }, { grad: true });
                const naive = errors(ref32.kernels.pairSigmoid(U32, V32, { t, b }, { grad: true }), oracle, mag);
                const got = errors(gpu.kernels.pairSigmoid(U32, V32, { t, b }, { grad: true }), oracle, mag);
                const floor = pairFloorF32(maxAbsSigmoidLogit(U, V, t, b));
                for (let q = 0; q < got.length; q++) {
                  expect(got[q], `n=${n} d=${d} t=${t} b=${b} ${kind} quantity ${q}: naive f32 ${naive[q]}`).toBeLessThanOrEqual(f32RuleBound(naive[q]!, floor));
                }
                const v = gpu.kernels.pairSigmoid(U32, V32, { t, b }, { grad: false });
                expect(v.value).toBe(gpu.kernels.pairSigmoid(U32, V32, { t, b }, { grad: true }).value);
                expect([v.dT, v.dB, v.gradU, v.gradV]).toEqual([null, null, null, null]);
              }
            }
          }
        } finally {
          gpu.dispose();
        }
      });
    }

    it('the op on gpujs agrees with the float32 cpu backend; a capacity fallback runs on the cpu', () => {
      const rng = Rng.fromSeed(8);
      const U = randomMatrix(rng, 50, 6, 'f64', 'unit');
      const V = randomMatrix(rng, 50, 6, 'f64', 'unit');
      const gpu = createGpujsBackend({ tile: 32, lseTile: 20 });
      const notices: string[] = [];
      const small = createGpujsBackend({ maxTextureElements: 64, notice: (m) => notices.push(m) });
      try {
        const c = sigmoidLossAndGrad(U, V, { t: 10, b: -10, backend: createCpuBackend({ dtype: 'f32' }) });
        for (const backend of [gpu, small]) {
          const g = sigmoidLossAndGrad(U, V, { t: 10, b: -10, backend });
          expect(Math.abs(g.value - c.value)).toBeLessThan(1e-5 * c.value);
          expect(Math.abs(g.gradB! - c.gradB!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(c.gradB!)));
          expect(err(g.gradU!.data, c.gradU!.data, 0)).toBeLessThan(1e-4);
        }
        expect(notices.join('\n')).toMatch(/pairSigmoid .* exceeds the texture capacity/);
      } finally {
        gpu.dispose();
        small.dispose();
      }
    });

    it('eval --objective sigmoid --backend gpujs agrees with --dtype f32', async () => {
      const dir = tmp();
      const rng = Rng.fromSeed(5);
      const u = writeMatrix(join(dir, 'U.npy'), randomMatrix(rng, 30, 5, 'f64', 'unit'));
      const v = writeMatrix(join(dir, 'V.npy'), randomMatrix(rng, 30, 5, 'f64', 'unit'));
      const g = await cli('eval', '--objective', 'sigmoid', '--t', '4', '--b', '-1', '--u', u, '--v', v, '--backend', 'gpujs');
      expect(g.code, g.stderr).toBe(0);
      const c = await cli('eval', '--objective', 'sigmoid', '--t', '4', '--b', '-1', '--u', u, '--v', v, '--dtype', 'f32');
      const [a, b] = [g.json(), c.json()];
      expect(a.backend).toBe('gpujs');
      expect(Math.abs((a.value as number) - (b.value as number))).toBeLessThan(1e-5 * (b.value as number));
      expect(Math.abs((a.gradT as number) - (b.gradT as number))).toBeLessThan(1e-4 * Math.max(1, Math.abs(b.gradT as number)));
    });
  });
}
