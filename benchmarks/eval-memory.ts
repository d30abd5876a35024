/**
 * Peak RSS and time of `contrastlab eval --objective infonce` at large N (the blocked kernel's
 * memory is O(N·d + T²); a materialised N x N float32 matrix at N = 65,536 would be 16 GiB).
 *
 *   node --import tsx benchmarks/eval-memory.ts [--n 65536] [--d 64] [--dtype f32] [--readme]
 *
 * The embeddings are drawn with the library's Rng, normalised, written as .npy, and the CLI runs in
 * a child process with a preload that reports its own peak RSS (process.resourceUsage().maxRSS).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, uptime, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/random.ts';
import { normalizeRows } from '../src/core/sphere.ts';
import { matrixToNpy, serializeNpy } from '../src/io/npy.ts';
import { writeReadmeSection } from './readme.ts';

const { values } = parseArgs({ options: { n: { type: 'string' }, d: { type: 'string' }, dtype: { type: 'string' }, tau: { type: 'string' }, readme: { type: 'boolean' } } });
const n = Number(values.n ?? 65536);
const d = Number(values.d ?? 64);
const dtype = (values.dtype ?? 'f32') as 'f32' | 'f64';
const tau = Number(values.tau ?? 0.1);

const dir = mkdtempSync(join(tmpdir(), 'contrastlab-evalmem-'));
const rng = Rng.fromSeed(1);
for (const name of ['U', 'V']) {
  const m = normalizeRows(rng.fillNormalMatrix(n, d));
  const a = matrixToNpy(m, dtype);
  writeFileSync(join(dir, `${name}.npy`), serializeNpy(a.data, a.shape, a.dtype));
}
const rssFile = join(dir, 'rss');
const load = loadavg().map((x) => x.toFixed(2)).join(', ');
const t0 = process.hrtime.bigint();
const r = spawnSync(process.execPath, ['--import', new URL('./rss-preload.mjs', import.meta.url).href, 'bin/contrastlab.mjs', 'eval', '--objective', 'infonce',
  '--u', join(dir, 'U.npy'), '--v', join(dir, 'V.npy'), '--dtype', dtype, '--tau', String(tau)], { encoding: 'utf8', env: { ...process.env, CONTRASTLAB_RSS_FILE: rssFile } });
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
if (r.status !== 0) {
  console.error(r.stderr);
  process.exit(1);
}
const rssMiB = Number(readFileSync(rssFile, 'utf8')) / 1024;
const out = JSON.parse(r.stdout);
rmSync(dir, { recursive: true, force: true });
const gflops = (6 * n * n * d) / seconds / 1e9;
const row = `| ${n} | ${d} | ${dtype} | ${tau} | ${seconds.toFixed(1)} s | ${gflops.toFixed(1)} | **${rssMiB.toFixed(0)} MiB** | ${(n * n * 4 / 2 ** 30).toFixed(1)} GiB | ${out.value.toPrecision(10)} |`;
const table = [
  '| N | d | dtype | τ | wall time (incl. start-up, .npy read) | GFLOP/s (6·N²·d) | peak RSS | a float32 N×N would be | value |',
  '|---|---|---|---|---|---|---|---|---|', row,
].join('\n');
console.log(table);
if (values.readme) {
  writeReadmeSection('eval-memory', `## Memory of \`contrastlab eval\` at large N\n\nCommand: \`node --import tsx benchmarks/eval-memory.ts --n ${n} --d ${d} --dtype ${dtype} --readme\` `
    + `(${new Date().toISOString().slice(0, 10)}, load average before: ${load}, up ${(uptime() / 60).toFixed(0)} min). One CLI process, one thread; peak RSS from \`process.resourceUsage().maxRSS\` of that process (Node itself ≈ 50 MiB).\n\n${table}`);
}
