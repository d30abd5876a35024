/**
 * The numpy peer of `npm run bench:peers` (benchmarks/peers/infonce_numpy.py) computes the same
 * two-sided InfoNCE value and gradients as contrastlab, on the inputs the driver writes: checked at a
 * tiny N against `infonceLossAndGrad` (float64) to 1e-10. Skipped where python3 or numpy is missing.
 * No timing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { numpyPeerArgs, readF64, unitRows, writeF64 } from '../../benchmarks/peers.ts';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { Rng } from '../../src/core/random.ts';
import { infonceLossAndGrad } from '../../src/objectives/infonce.ts';

const python = process.env['PEERS_NUMPY_PYTHON'] ?? 'python3';
const hasNumpy = spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasNumpy)('benchmarks/peers/infonce_numpy.py', () => {
  it('matches infonceLossAndGrad (f64, τ = 0.1) in value and both gradients to 1e-10', () => {
    const N = 40;
    const d = 8;
    const dir = mkdtempSync(join(tmpdir(), 'peers-test-'));
    try {
      const rng = Rng.fromSeed('peers-test');
      const U = unitRows(rng, N, d);
      const V = unitRows(rng, N, d);
      const u = join(dir, 'U.f64');
      const v = join(dir, 'V.f64');
      writeF64(u, U);
      writeF64(v, V);
      const r = spawnSync(python, [...numpyPeerArgs(u, v, N, d, 'f64', 0), '--grad-out', join(dir, 'g')], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      expect(line).toBeDefined();
      const peer = JSON.parse(line!.slice(7)) as { value: number };
      const cl = infonceLossAndGrad(U, V, { tau: 0.1, backend: createCpuBackend({ dtype: 'f64' }) });
      expect(Math.abs(peer.value - cl.value)).toBeLessThanOrEqual(1e-10);
      const gu = readF64(join(dir, 'g.gu'), N, d);
      const gv = readF64(join(dir, 'g.gv'), N, d);
      let worst = 0;
      for (let i = 0; i < N * d; i++) {
        worst = Math.max(worst, Math.abs(gu.data[i]! - cl.gradU!.data[i]!), Math.abs(gv.data[i]! - cl.gradV!.data[i]!));
      }
      expect(worst).toBeLessThanOrEqual(1e-10);
      // Not trivially zero: the gradients are O(1/N) here.
      expect(Math.max(...Array.from(cl.gradU!.data, Math.abs))).toBeGreaterThan(1e-4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
