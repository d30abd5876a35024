/**
 * The CLI's kernel settings from the environment: CONTRASTLAB_THREADS and CONTRASTLAB_FMA. A bad
 * value is one line, exit 2, naming the value; any thread count gives the same bits; FMA=1 gives a
 * value within the float64 rule of the plain one.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { relaxedSimdAvailable } from '../../src/backend/cpu/wasm/module.ts';
import { Rng } from '../../src/core/random.ts';
import { unitRows } from '../helpers.ts';
import { cli, tmp, writeMatrix } from './harness.ts';

const saved = { threads: process.env.CONTRASTLAB_THREADS, fma: process.env.CONTRASTLAB_FMA };
afterEach(() => {
  for (const [k, v] of [['CONTRASTLAB_THREADS', saved.threads], ['CONTRASTLAB_FMA', saved.fma]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('cli: CONTRASTLAB_THREADS and CONTRASTLAB_FMA', () => {
  const dir = tmp();
  const rng = Rng.fromSeed('cli-threads');
  // 600 rows: several tiles, above the crossover, so 2 and 3 threads really split the kernels.
  const u = writeMatrix(join(dir, 'U.npy'), unitRows(rng, 600, 32));
  const v = writeMatrix(join(dir, 'V.npy'), unitRows(rng, 600, 32));
  const evalArgs = ['eval', '--objective', 'infonce', '--tau', '0.1', '--u', u, '--v', v];

  it('bad values: exit 2, one line naming the value', async () => {
    process.env.CONTRASTLAB_THREADS = '0';
    let r = await cli(...evalArgs);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^contrastlab eval: .*CONTRASTLAB_THREADS must be an integer in \[1, 256\], got '0'$/);
    delete process.env.CONTRASTLAB_THREADS;
    process.env.CONTRASTLAB_FMA = 'yes';
    r = await cli(...evalArgs);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^contrastlab eval: .*CONTRASTLAB_FMA must be 0 or 1, got 'yes'$/);
  });

  it('1, 2 and 3 threads print the same value to the last bit', async () => {
    const out: string[] = [];
    for (const k of ['1', '2', '3']) {
      process.env.CONTRASTLAB_THREADS = k;
      const r = await cli(...evalArgs);
      expect(r.code).toBe(0);
      out.push(String(r.json().value));
    }
    expect(new Set(out).size).toBe(1);
  });

  it('CONTRASTLAB_FMA=1: the FMA build, a value within 16·ε·(1 + max|S|) of the plain one', async () => {
    const plain = (await cli(...evalArgs)).json().value as number;
    process.env.CONTRASTLAB_FMA = '1';
    const r = await cli(...evalArgs);
    expect(r.code).toBe(0);
    const fma = r.json().value as number;
    // The CLI set V8's relaxed-SIMD flag, so this engine now builds the FMA module (Node 20 lacks it
    // without the flag); a main() that forgot the flag fails here.
    expect(relaxedSimdAvailable()).toBe(true);
    expect(Math.abs(fma - plain)).toBeLessThanOrEqual(16 * 2 ** -52 * (1 + 1 / 0.1) * Math.max(1, Math.abs(plain)));
  });
});
