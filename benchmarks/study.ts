/**
 * A whole study through the CLI: wall time on K worker threads and peak RSS (runs are streamed to
 * their files, never all held in memory), and a check that every output file except run.json is
 * the same bytes for every K.
 *
 *   node --import tsx benchmarks/study.ts [--preset cho-grid] [--size full] [--workers 1,2] [--readme]
 *
 * Each K runs `contrastlab run --preset P --workers K --quiet` in its own child process (from the
 * sources, through tsx) with a preload that reports the process's peak RSS at exit
 * (process.resourceUsage().maxRSS: the main thread and its workers together, and the figures).
 * A benchmark measures and reports; it never gates anything. Run it on a quiet machine: the load
 * average before and after each run is printed next to its time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeReadmeSection } from './readme.ts';

const { values } = parseArgs({ options: { preset: { type: 'string' }, size: { type: 'string' }, workers: { type: 'string' }, readme: { type: 'boolean' } } });
const preset = values.preset ?? 'cho-grid';
const size = values.size ?? 'full';
const ks = (values.workers ?? '1,2').split(',').map(Number);

const ENTRY = `import { main } from ${JSON.stringify(new URL('../src/cli/main.ts', import.meta.url).href)}; process.exitCode = await main(JSON.parse(process.env.BENCH_ARGV));`;

function files(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of files(dir, r)) out.set(k, v);
    else if (r !== 'run.json') out.set(r, readFileSync(join(dir, r)));
  }
  return out;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(', ');
const root = mkdtempSync(join(tmpdir(), 'contrastlab-bench-study-'));
const rows: { k: number; seconds: number; rssMiB: number; before: string; after: string }[] = [];
let first: Map<string, Buffer> | null = null;
for (const k of ks) {
  const out = join(root, `k${k}`);
  const rssFile = join(root, `rss${k}`);
  const before = load();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', new URL('./rss-preload.mjs', import.meta.url).href, '--import', 'tsx', '--input-type=module', '-e', ENTRY], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CONTRASTLAB_RSS_FILE: rssFile, BENCH_ARGV: JSON.stringify(['run', '--preset', preset, '--size', size, '--out', out, '--workers', String(k), '--quiet']) },
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  const rssMiB = Number(readFileSync(rssFile, 'utf8')) / 1024;
  rows.push({ k, seconds, rssMiB, before, after: load() });
  console.error(`workers ${k}: ${seconds.toFixed(1)} s, peak RSS ${rssMiB.toFixed(0)} MiB (load ${before} → ${load()})`);
  const f = files(out);
  if (first === null) first = f;
  else {
    const differ = [...first.keys()].filter((n) => !f.get(n)?.equals(first!.get(n)!));
    if (differ.length || f.size !== first.size) throw new Error(`workers ${k}: outputs differ from workers ${ks[0]}: ${differ.join(', ')}`);
  }
  rmSync(out, { recursive: true, force: true });
}
rmSync(root, { recursive: true, force: true });
const base = rows[0]!.seconds;
const table = [
  '| workers | wall time | speed-up | peak RSS | load average before → after |', '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.k} | ${r.seconds.toFixed(1)} s | ${(base / r.seconds).toFixed(2)}× | ${r.rssMiB.toFixed(0)} MiB | ${r.before} → ${r.after} |`),
].join('\n');
console.log(table);
if (values.readme) {
  writeReadmeSection('study', `Command: \`node --import tsx benchmarks/study.ts --preset ${preset} --size ${size} --workers ${ks.join(',')} --readme\` `
    + `(${new Date().toISOString().slice(0, 10)}; ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores). Whole \`contrastlab run\` processes from the sources (tsx): start-up, every run, summaries and figures; `
    + `every output file except run.json was the same bytes for every K.\n\n${table}`, `A whole study on K workers (\`benchmarks/study.ts\`)`);
}
