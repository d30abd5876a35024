import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';
import { normalizeRows } from '../../src/core/sphere.ts';
import { serializeNpy } from '../../src/io/npy.ts';
import { writeFileSync } from 'node:fs';
import { cli, tmp, writeMatrix } from './harness.ts';

function files(): { dir: string; u: string; v: string; y: string } {
  const dir = tmp();
  const rng = Rng.fromSeed(11);
  const n = 64;
  const d = 6;
  const C = rng.fillNormalMatrix(4, d);
  const U = rng.fillNormalMatrix(n, d);
  const V = rng.fillNormalMatrix(n, d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 4;
    for (let c = 0; c < d; c++) {
      U.data[i * d + c] += 2 * C.data[y[i]! * d + c]!;
      V.data[i * d + c] += 2 * C.data[y[i]! * d + c]!;
    }
  }
  const u = writeMatrix(join(dir, 'U.npy'), normalizeRows(U), 'f32');
  const v = writeMatrix(join(dir, 'V.npy'), normalizeRows(V), 'f32');
  // int64 labels, numpy's default.
  const yp = join(dir, 'y.npy');
  const bytes = serializeNpy(Float64Array.from(y), [n], 'f64');
  const header = Buffer.from(bytes).toString('latin1').replace("'<f8'", "'<i8'");
  const hl = header.indexOf('\n') + 1;
  const data = Buffer.alloc(8 * n);
  for (let i = 0; i < n; i++) data.writeBigInt64LE(BigInt(y[i]!), 8 * i);
  writeFileSync(yp, Buffer.concat([Buffer.from(header.slice(0, hl), 'latin1'), data]));
  return { dir, u, v, y: yp };
}

describe('contrastlab diagnose', () => {
  const f = files();
  it('--json prints one document; float32 files run the float32 kernels; int64 labels load', async () => {
    const r = await cli('diagnose', '--u', f.u, '--v', f.v, '--labels', f.y, '--batch-sizes', '4,16', '--draws', '8', '--no-spectral', '--threads', '1', '--json', '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const j = r.json() as Record<string, any>;
    expect(j).toMatchObject({ n: 64, d: 6, tau: 0.1, dtype: 'f32', modality: 'bimodal' });
    expect(j.objectives.map((o: { name: string }) => o.name)).toEqual(['infonce', 'gcl-bimodal', 'gcl-unimodal']);
    expect(j.anchors.infonceRow).toHaveLength(64);
    expect(j.labels.classes).toBe(4);
    expect(j.batchSizes.map((b: { B: number }) => b.B)).toEqual([4, 16]);
    const d64 = await cli('diagnose', '--u', f.u, '--v', f.v, '--batch-sizes', '4', '--draws', '8', '--no-spectral', '--threads', '1', '--json', '--quiet', '--dtype', 'f64');
    expect((d64.json() as Record<string, unknown>).dtype).toBe('f64');
  });

  it('prints a summary by default, with progress on stderr; --out writes diagnose.json, four figures and report.html, and refuses an existing folder', async () => {
    const out = join(f.dir, 'diag');
    const r = await cli('diagnose', '--u', f.u, '--v', f.v, '--labels', f.y, '--batch-sizes', '4,16', '--draws', '8', '--threads', '1', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^N = 64, d = 6, tau = 0.1/);
    expect(r.stdout).toMatch(/lower bound \(the simplex ETF value; not attained for d = 6 < N - 1 = 63\)/);
    expect(r.stdout).toMatch(/labels: 4 classes/);
    expect(r.stderr).toMatch(/diagnose: .*done/);
    const names = readdirSync(out).sort();
    expect(names).toEqual(expect.arrayContaining(['diagnose.json', 'report.html', 'diagnose-bias-vs-B.svg', 'diagnose-similarities.png', 'diagnose-anchor-losses.svg', 'diagnose-variance-vs-B.png']));
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/data-kind="diagnose"/);
    expect(html).toMatch(/data-figures="4"/);
    expect(html).toMatch(/Hardest anchors/);
    const again = await cli('diagnose', '--u', f.u, '--v', f.v, '--batch-sizes', '4', '--draws', '8', '--threads', '1', '--out', out, '--quiet');
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/exists/);
    // contrastlab report rebuilds the page from the folder.
    const rep = await cli('report', out, '--out', join(f.dir, 'again.html'));
    expect(rep.code).toBe(0);
    expect(readFileSync(join(f.dir, 'again.html'), 'utf8')).toMatch(/data-kind="diagnose"/);
  }, 120_000);

  it.each([
    [['--batch-sizes', '4,65'], /--batch-sizes entry 65 exceeds N = 64/],
    [['--tau', '-1'], /--tau must be > 0/],
    [['--draws', '2'], /--draws must be >= 4/],
    [['--threads', '0'], /--threads must be >= 1/],
    [['--estimator-set', 'trimodal'], /--estimator-set/],
  ])('bad input %j: exit 2, one line', async (args, re) => {
    const r = await cli('diagnose', '--u', f.u, '--v', f.v, ...(args as string[]), '--quiet');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(re);
  });

  it('a missing --u, and a folder where a file is expected', async () => {
    const a = await cli('diagnose', '--quiet');
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--u/);
    const sub = join(f.dir, 'sub');
    mkdirSync(sub);
    const b = await cli('diagnose', '--u', sub, '--quiet');
    expect(b.code).toBe(2);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(f.dir, 'diag2'))).toBe(false);
  });
});
