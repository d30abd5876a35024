/**
 * The PyTorch MNIST peer (benchmarks/peers/mnist_torch.py) against contrastlab:
 *  - its data split comes from benchmarks/peers/xoshiro.py, a port of contrastlab's generator: the same
 *    permutations as `Rng.fromSeed(seed).permutation(n)` (needs only python3);
 *  - its losses, on fixed embeddings (`--loss-check`): the gradients and batch values of contrastlab's unimodal
 *    `simclr` and `sogclr` (γ = 0.9, ε₀ = 0) estimators over three steps sharing one state (first visits, a
 *    revisit, a mixed batch), float64, to 1e-10 (needs Debian's python3-torch at /usr/bin/python3; skipped
 *    without it);
 *  - its augmentation (`--augment-check`): for the draws contrastlab's `imageAugment` makes from a seed (replayed
 *    with the ported generator), the same views to 1e-5 (crop-and-resize, translation, erasing; noise off).
 * No timing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PEERS_DIR, readF64, unitRows, writeF64 } from '../../benchmarks/peers.ts';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { matrix } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { DEFAULT_IMAGE_AUGMENT, imageAugment } from '../../src/data/image.ts';
import { pluginEstimator, sogclrEstimator } from '../../src/estimators/index.ts';
import type { Estimator } from '../../src/estimators/types.ts';

const python = process.env['PEERS_NUMPY_PYTHON'] ?? 'python3';
const hasPython = spawnSync(python, ['-c', 'pass'], { encoding: 'utf8' }).status === 0;
const torchPython = process.env['PEERS_TORCH_PYTHON'] ?? '/usr/bin/python3';
const hasTorch = spawnSync(torchPython, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasPython)('benchmarks/peers/xoshiro.py', () => {
  it('gives the permutations of Rng.fromSeed(seed).permutation(n), bit for bit', () => {
    for (const [seed, n] of [[0, 10000], [7, 1000], [2 ** 40 + 3, 257]] as const) {
      const r = spawnSync(python, [join(PEERS_DIR, 'xoshiro.py'), String(seed), String(n)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(Array.from(Rng.fromSeed(seed).permutation(n)));
    }
  });
});

describe.skipIf(!hasTorch)('benchmarks/peers/mnist_torch.py --loss-check', () => {
  const n = 12;
  const B = 5;
  const d = 6;
  const tau = 0.1;
  const steps = [[0, 3, 5, 7, 9], [3, 0, 9, 7, 5], [1, 3, 11, 2, 0]];

  for (const method of ['simclr', 'sogclr'] as const) {
    it(`${method}: the gradients and batch values of contrastlab's estimator (f64, 3 steps on one state) to 1e-10`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'mnist-peer-test-'));
      try {
        const rng = Rng.fromSeed(`mnist-peer-${method}`);
        const backend = createCpuBackend({ dtype: 'f64' });
        const est: Estimator<unknown> = (method === 'simclr'
          ? pluginEstimator('simclr', 'unimodal', tau)
          : sogclrEstimator({ kind: 'sogclr', modality: 'unimodal', tau, gamma: 0.9 })) as Estimator<unknown>;
        const state = est.init(n);
        const ours: { value: number; gradU: Float64Array; gradV: Float64Array }[] = [];
        steps.forEach((index, k) => {
          const U = unitRows(rng, B, d);
          const V = unitRows(rng, B, d);
          writeF64(join(dir, `u${k}.f64`), U);
          writeF64(join(dir, `v${k}.f64`), V);
          const out = est.step({ U, V, index: Int32Array.from(index), epoch: 0, step: k, backend }, state);
          ours.push({ value: out.batchValue, gradU: Float64Array.from(out.gradU.data), gradV: Float64Array.from(out.gradV.data) });
        });
        writeFileSync(join(dir, 'meta.json'), JSON.stringify({ n, B, d, steps: steps.map((index) => ({ index })) }));
        const r = spawnSync(torchPython, [join(PEERS_DIR, 'mnist_torch.py'), '--method', method, '--tau', String(tau), '--gamma', '0.9', '--threads', '1', '--loss-check', dir], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
        expect(line).toBeDefined();
        const peer = JSON.parse(line!.slice(7)) as { values: number[] };
        let worst = 0;
        let largest = 0;
        steps.forEach((_, k) => {
          expect(Math.abs(peer.values[k]! - ours[k]!.value)).toBeLessThanOrEqual(1e-12);
          const gu = readF64(join(dir, `gu${k}.f64`), B, d).data;
          const gv = readF64(join(dir, `gv${k}.f64`), B, d).data;
          for (let i = 0; i < B * d; i++) {
            worst = Math.max(worst, Math.abs(gu[i]! - ours[k]!.gradU[i]!), Math.abs(gv[i]! - ours[k]!.gradV[i]!));
            largest = Math.max(largest, Math.abs(ours[k]!.gradU[i]!));
          }
        });
        expect(worst).toBeLessThanOrEqual(1e-10);
        expect(largest).toBeGreaterThan(1e-3); // not trivially zero
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe.skipIf(!hasTorch)('benchmarks/peers/mnist_torch.py --augment-check', () => {
  it("applies contrastlab's imageAugment (crop-and-resize, translation, erasing; noise 0) to 1e-5 for the same draws", () => {
    const dir = mkdtempSync(join(tmpdir(), 'mnist-peer-aug-'));
    try {
      const n = 40;
      const seed = 5;
      // Rows without the package: a bright disc and a noisy bar at random places on a grey (0.2) background, so
      // that erased and zero-filled pixels show.
      const rng = Rng.fromSeed('mnist-peer-aug');
      const X = new Float64Array(n * 784);
      for (let i = 0; i < n; i++) {
        const cy = 8 + 12 * rng.uniform();
        const cx = 8 + 12 * rng.uniform();
        for (let y = 0; y < 28; y++) {
          for (let x = 0; x < 28; x++) {
            const r2 = (y - cy) ** 2 + (x - cx) ** 2;
            X[i * 784 + y * 28 + x] = 0.2 + 0.8 * Math.max(r2 < 30 ? 1 - r2 / 30 : 0, Math.abs(x - cx) < 1.5 && y > 4 && y < 24 ? rng.uniform() : 0);
          }
        }
      }
      writeFileSync(join(dir, 'x.f64'), Buffer.from(X.buffer));
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({ n, seed }));
      const ours = imageAugment(matrix(X, n, 784), Rng.fromSeed(seed), { ...DEFAULT_IMAGE_AUGMENT, noise: 0 });
      const r = spawnSync(torchPython, [join(PEERS_DIR, 'mnist_torch.py'), '--threads', '1', '--augment-check', dir], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      const erased = (JSON.parse(line!.slice(7)) as { erased: number }).erased;
      expect(erased).toBeGreaterThan(5); // the erasing branch is exercised
      expect(erased).toBeLessThan(n - 5);
      const peer = readF64(join(dir, 'views.f64'), n, 784).data;
      let worst = 0;
      let changed = 0;
      for (let i = 0; i < n * 784; i++) {
        worst = Math.max(worst, Math.abs(peer[i]! - ours.data[i]!));
        changed = Math.max(changed, Math.abs(ours.data[i]! - X[i]!));
      }
      // Not exact: torch's grid_sample rounds its sampling coordinates differently (seen: 1.5e-6).
      expect(worst).toBeLessThanOrEqual(1e-5);
      expect(changed).toBeGreaterThan(0.5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
