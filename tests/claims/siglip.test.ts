/**
 * The SigLIP claims (proofs-checks/siglip) and the sharding claim (numerics.sharded-gather-with-grad)
 * at smoke size: each holds with a finite positive margin, and each kills the mutants it names whose
 * sites are reached. Unit tests of the library functions they exercise (shardedInfonceGrad,
 * similarityStats).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SIGLIP_CLAIMS } from '../../proofs-checks/siglip/index.ts';
import {
  closedFormRegime, familyLoss, familyMinimiser, familyPoint, familySlope, meanSimilarities, neg, pos, sigmoidLossAndGrad,
} from '../../proofs-checks/siglip/family.ts';
import { claim as shardedClaim } from '../../proofs-checks/numerics/sharded-gather-with-grad.ts';
import { similarityStats } from '../../src/analysis/similarity.ts';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { runClaims } from '../../src/claims/run.ts';
import type { Claim } from '../../src/claims/types.ts';
import { withMutantAsync } from '../../src/core/mutants.ts';
import { Rng } from '../../src/core/random.ts';
import { normalizeRows } from '../../src/core/sphere.ts';
import { infonceLossAndGrad } from '../../src/objectives/infonce.ts';
import { shardBounds, shardedInfonceGrad } from '../../src/objectives/sharded.ts';
import { simplexEtf } from '../../src/optima/etf.ts';

const backend = createCpuBackend({ dtype: 'f64' });
afterAll(() => backend.dispose());

const CLAIMS: readonly Claim[] = [...SIGLIP_CLAIMS, shardedClaim];

describe('SigLIP and sharding claims (smoke size)', () => {
  it('are listed with siglip.* ids and the SigLIP source', () => {
    const ids = SIGLIP_CLAIMS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of SIGLIP_CLAIMS) {
      expect(c.id).toMatch(/^siglip\.[a-z0-9-]+(\.[a-z0-9-]+)*$/);
      expect(c.source.paper).toBe('SigLIP');
    }
  });

  for (const claim of CLAIMS) {
    it(`${claim.id} holds with a finite positive margin`, async () => {
      const [r] = await runClaims([claim], { size: 'smoke', backend });
      expect(r!.error, r!.error).toBeUndefined();
      expect(r!.verdict.pass, r!.verdict.summary).toBe(true);
      expect(Number.isFinite(r!.verdict.margin), `margin ${r!.verdict.margin}`).toBe(true);
      expect(r!.verdict.margin).toBeGreaterThan(0);
      expect(r!.verdict.marginUnit.length).toBeGreaterThan(0);
      expect(() => JSON.stringify(r!.verdict.numbers)).not.toThrow();
      // No time limit here: no test depends on speed; smoke run times are reported by `contrastlab check`.
    }, 120_000);

    for (const id of claim.mutants ?? []) {
      it(`${claim.id} fails with mutant '${id}'`, async () => {
        const { result, reached } = await withMutantAsync(id, () => runClaims([claim], { size: 'smoke', backend }));
        expect(reached.has(id), `the site of '${id}' is not reached`).toBe(true);
        expect(result[0]!.verdict.pass, result[0]!.verdict.summary).toBe(false);
      }, 120_000);
    }
  }
});

describe('shardedInfonceGrad', () => {
  const rng = Rng.fromSeed('sharded');
  it('splits rows into contiguous shards whose sizes differ by at most one', () => {
    expect(Array.from(shardBounds(10, 3))).toEqual([0, 4, 7, 10]);
    expect(Array.from(shardBounds(4, 4))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(shardBounds(5, 1))).toEqual([0, 5]);
  });

  it('with gather-with-grad (and for K = 1 either way) equals the global two-sided InfoNCE', () => {
    const U = rng.fillNormalMatrix(9, 4);
    const V = rng.fillNormalMatrix(9, 4);
    const g = infonceLossAndGrad(U, V, { tau: 0.3, backend });
    for (const K of [1, 2, 3, 9]) {
      const r = shardedInfonceGrad(U, V, { tau: 0.3, shards: K });
      expect(r.value).toBeCloseTo(g.value, 12);
      expect(r.shardValues.length).toBe(K);
      for (let t = 0; t < 36; t++) {
        expect(r.gradU.data[t]).toBeCloseTo(g.gradU!.data[t]!, 12);
        expect(r.gradV.data[t]).toBeCloseTo(g.gradV!.data[t]!, 12);
      }
    }
    const one = shardedInfonceGrad(U, V, { tau: 0.3, shards: 1, gatherWithGrad: false });
    for (let t = 0; t < 36; t++) expect(one.gradU.data[t]).toBeCloseTo(g.gradU!.data[t]!, 12);
  });

  it('without it misses exactly the reported missing terms (the value is unchanged)', () => {
    const U = rng.fillNormalMatrix(8, 3);
    const V = rng.fillNormalMatrix(8, 3);
    const a = shardedInfonceGrad(U, V, { tau: 0.5, shards: 4, gatherWithGrad: true });
    const b = shardedInfonceGrad(U, V, { tau: 0.5, shards: 4, gatherWithGrad: false });
    expect(b.value).toBe(a.value);
    let diff = 0;
    for (let t = 0; t < 24; t++) {
      expect(b.gradU.data[t]! + b.missingU.data[t]!).toBeCloseTo(a.gradU.data[t]!, 13);
      expect(b.gradV.data[t]! + b.missingV.data[t]!).toBeCloseTo(a.gradV.data[t]!, 13);
      diff = Math.max(diff, Math.abs(b.missingU.data[t]!));
    }
    expect(diff).toBeGreaterThan(1e-3);
  });

  it('refuses bad shard counts and temperatures', () => {
    const U = rng.fillNormalMatrix(3, 2);
    expect(() => shardedInfonceGrad(U, U, { shards: 4 })).toThrow(/at most N = 3/);
    expect(() => shardedInfonceGrad(U, U, { shards: 0 })).toThrow();
    expect(() => shardedInfonceGrad(U, U, { shards: 2, tau: 0 })).toThrow();
  });

  it('checks the memory budget before materialising S, and refuses non-finite rows', () => {
    const U = rng.fillNormalMatrix(64, 2);
    const before = process.env.CONTRASTLAB_MEMORY_BUDGET;
    process.env.CONTRASTLAB_MEMORY_BUDGET = '16KiB'; // S alone is 64 x 64 x 8 = 32 KiB
    try {
      expect(() => shardedInfonceGrad(U, U, { shards: 2 })).toThrow(/memory budget|budget/i);
    } finally {
      if (before === undefined) delete process.env.CONTRASTLAB_MEMORY_BUDGET;
      else process.env.CONTRASTLAB_MEMORY_BUDGET = before;
    }
    const W = rng.fillNormalMatrix(4, 2);
    W.data[3] = Number.NaN;
    expect(() => shardedInfonceGrad(W, W, { shards: 2 })).toThrow(/NaN|finite/);
  });
});

describe('similarityStats', () => {
  it('gives the means and the bound slack; zero slack at a centred tied configuration', () => {
    const E = simplexEtf(5, 4);
    const s = similarityStats(E, E);
    expect(s.meanPositive).toBeCloseTo(1, 14);
    expect(s.meanNegative).toBeCloseTo(-1 / 4, 14);
    expect(Math.abs(s.boundSlack)).toBeLessThan(1e-14);
    const rng = Rng.fromSeed('sim');
    const U = normalizeRows(rng.fillNormalMatrix(6, 3));
    const V = normalizeRows(rng.fillNormalMatrix(6, 3));
    const t = similarityStats(U, V);
    let pos = 0;
    let neg = 0;
    for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) {
      let x = 0;
      for (let c = 0; c < 3; c++) x += U.data[i * 3 + c]! * V.data[j * 3 + c]!;
      if (i === j) pos += x; else neg += x;
    }
    expect(t.meanPositive).toBeCloseTo(pos / 6, 14);
    expect(t.meanNegative).toBeCloseTo(neg / 30, 14);
    expect(t.boundSlack).toBeGreaterThan(0);
    expect(() => similarityStats(normalizeRows(rng.fillNormalMatrix(1, 3)), normalizeRows(rng.fillNormalMatrix(1, 3)))).toThrow(/at least 2/);
  });
});

describe('the double-constant family (proofs-checks/siglip/family.ts)', () => {
  it('has the similarities p(s), q(s) and the library value F(s) along it', () => {
    const rng = Rng.fromSeed('family');
    for (const [n, d, s] of [[4, 4, 0.3], [6, 9, 0.8], [5, 5, 0], [5, 6, 1]] as const) {
      const { U, V } = familyPoint(n, d, s, rng);
      const m = meanSimilarities(U, V);
      expect(m.P).toBeCloseTo(pos(n, s), 14);
      expect(m.Q).toBeCloseTo(neg(n, s), 14);
      expect(sigmoidLossAndGrad(U, V, { t: 3, b: -1, backend }).value).toBeCloseTo(familyLoss({ n, t: 3, b: -1 }, s), 12);
    }
  });

  it('finds the same regime in closed form as by bisection, and s*_B ≥ s*_N', () => {
    for (let n = 2; n <= 12; n++) {
      for (const t of [0.5, 1, 2, 5, 10]) {
        for (const b of [-10, -3, -1, 0, 0.5, 1, 2, 4]) {
          const full = familyMinimiser({ n, t, b });
          expect(closedFormRegime({ n, t, b }), `N = ${n}, t = ${t}, b = ${b}`).toBe(full.regime);
          for (let B = 2; B < n; B++) {
            const omega = (B - 1) / (n - 1);
            const batch = familyMinimiser({ n, t, b, omega });
            expect(batch.s).toBeGreaterThanOrEqual(full.s);
            expect(closedFormRegime({ n, t, b, omega })).toBe(batch.regime);
          }
        }
      }
    }
  });

  it('minimises F exactly: the slope vanishes at an interior minimiser', () => {
    const m = familyMinimiser({ n: 6, t: 2, b: 0.5 });
    expect(m.regime).toBe('in between (0 < s* < 1)');
    expect(Math.abs(familySlope({ n: 6, t: 2, b: 0.5 }, m.s))).toBeLessThan(1e-12);
    for (const s of [0, 0.1, 0.3, 0.5, 0.9, 1]) expect(familyLoss({ n: 6, t: 2, b: 0.5 }, s)).toBeGreaterThanOrEqual(m.value);
  });
});
