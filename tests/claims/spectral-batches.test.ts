import { describe, expect, it } from 'vitest';
import { claim } from '../../proofs-checks/cho/spectral-batches.ts';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { runClaims } from '../../src/claims/run.ts';
import { withMutantAsync } from '../../src/core/mutants.ts';

const backend = createCpuBackend({ dtype: 'f64' });
const run = () => runClaims([claim], { size: 'smoke', backend });

describe('cho.spectral.batches-harder-than-random', () => {
  it('holds at smoke size with a margin of several SDs', async () => {
    const [r] = await run();
    expect(r!.error).toBeUndefined();
    expect(r!.verdict.pass).toBe(true);
    expect(r!.verdict.margin).toBeGreaterThan(1);
  });
  it('fails when the balanced assignment is dropped (mutant spectral-unbalanced)', async () => {
    const { result: [r] } = await withMutantAsync('spectral-unbalanced', run);
    expect(r!.verdict.pass).toBe(false);
    expect(r!.verdict.summary).toMatch(/not \d+ batches of exactly \d+ rows/);
  });
});
