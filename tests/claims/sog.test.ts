/** The SOG claims at smoke size: each must hold, with a finite positive margin and an id of its folder. */
import { afterAll, describe, expect, it } from 'vitest';
import { SOG_CLAIMS } from '../../proofs-checks/sog/index.ts';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { runClaims } from '../../src/claims/run.ts';
import { findPreset } from '../../src/experiments/presets/index.ts';
import { expandStudy } from '../../src/experiments/studyLanguage.ts';
import type { StudySpec } from '../../src/experiments/types.ts';
import { warmupCosine } from '../../src/optim/transforms.ts';

const backend = createCpuBackend({ dtype: 'f64' });
afterAll(() => backend.dispose());

describe('SOG claims (smoke size)', () => {
  it('are listed, with unique sog.* ids', () => {
    expect(SOG_CLAIMS.length).toBe(9);
    const ids = SOG_CLAIMS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of SOG_CLAIMS) {
      expect(c.id).toMatch(/^sog\.[a-z0-9-]+(\.[a-z0-9-]+)*$/);
      expect(c.source.paper).toBe('SOG');
    }
  });

  it('the sogclr-annealed preset (sog.annealed.sogclr-beats-dcl) anneals the step to 0: cosine, no warm-up, DCL and SogCLR arms', () => {
    for (const size of ['smoke', 'full'] as const) {
      const study = expandStudy(findPreset('sogclr-annealed')!.spec(size)) as StudySpec;
      expect(study.experiments.map((e) => e.name).sort()).toEqual((size === 'smoke' ? [8] : [8, 16, 32]).flatMap((B) => [`DCL B=${B}`, `SogCLR B=${B}`]).sort());
      for (const e of study.experiments) expect(e.optimizer).toEqual({ kind: 'momentum', lr: 0.5, momentum: 0.9, schedule: { kind: 'warmup-cosine', warmupSteps: 0 } });
    }
    // The schedule the runner builds from it (src/experiments/build.ts): lr at step 0, → 0 at the last step.
    const s = warmupCosine(0.5, 0, 1600);
    expect(s(0)).toBe(0.5);
    expect(s(800)).toBeCloseTo(0.25, 12);
    expect(s(1599)).toBeLessThan(1e-6);
  });

  for (const claim of SOG_CLAIMS) {
    it(`${claim.id} holds with a finite margin`, async () => {
      const [r] = await runClaims([claim], { size: 'smoke', backend });
      expect(r!.error, r!.error).toBeUndefined();
      expect(r!.verdict.pass, r!.verdict.summary).toBe(true);
      expect(Number.isFinite(r!.verdict.margin), `margin ${r!.verdict.margin}`).toBe(true);
      expect(r!.verdict.margin).toBeGreaterThan(0);
      expect(r!.verdict.marginUnit.length).toBeGreaterThan(0);
      // The verdict is JSON-serialisable (the report writes it).
      expect(() => JSON.stringify(r!.verdict.numbers)).not.toThrow();
    }, 300_000);
  }
});
