import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';

describe('Rng.fillNormal', () => {
  it('gives the bits of as many normal() calls, and leaves the same state (spare included)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 3 }), fc.array(fc.integer({ min: 0, max: 37 }), { minLength: 1, maxLength: 4 }), fc.boolean(),
      (seed, warm, lengths, f32) => {
        const a = Rng.fromSeed(seed);
        const b = Rng.fromSeed(seed);
        for (let i = 0; i < warm; i++) { a.normal(); b.normal(); } // odd warm-ups start with a spare
        for (const n of lengths) {
          const got = f32 ? new Float32Array(n) : new Float64Array(n);
          a.fillNormal(got);
          const want = f32 ? new Float32Array(n) : new Float64Array(n);
          for (let i = 0; i < n; i++) want[i] = b.normal();
          expect(Array.from(got)).toEqual(Array.from(want));
          expect(a.state()).toEqual(b.state());
        }
        expect(a.nextU32()).toBe(b.nextU32());
      },
    ), { numRuns: 200 });
  });

  it('matches the calls on a long stream whose words cross 2^31 (signed-word arithmetic)', () => {
    const a = Rng.fromSeed('long');
    const b = Rng.fromSeed('long');
    const got = a.fillNormal(new Float64Array(10_001));
    for (let i = 0; i < got.length; i++) if (got[i] !== b.normal()) throw new Error(`entry ${i} differs`);
    expect(a.state()).toEqual(b.state());
  });
});
