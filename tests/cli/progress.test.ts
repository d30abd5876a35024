import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runProgress } from '../../src/cli/commands/run.ts';
import type { CommandIO } from '../../src/cli/io.ts';
import { createProgress, formatDuration, type ProgressOptions, progressIntervalMs } from '../../src/cli/progress.ts';
import type { ExperimentSpec, StudySpec } from '../../src/experiments/spec.ts';
import type { RunTraceRow } from '../../src/experiments/train.ts';
import { cli, tmp } from './harness.ts';

/** A fake clock (ms) and a captured stderr: `lines` (io.err) and `raw` (io.errWrite, terminal only). */
function sink(isTTY: boolean) {
  const t = { now: 0 };
  const lines: string[] = [];
  const raw: string[] = [];
  const io: CommandIO = { out: () => {}, err: (l) => lines.push(l), isTTY, ...(isTTY ? { errWrite: (s: string) => raw.push(s) } : {}) };
  const make = (o: Omit<ProgressOptions, 'now'>) => createProgress(io, { ...o, now: () => t.now });
  return { t, lines, raw, io, make };
}

describe('progress off a terminal: plain lines', () => {
  it('a line at the first update, at most one per interval, and a last line', () => {
    const s = sink(false);
    const p = s.make({ label: 'run x', total: 1000, unit: 'steps', intervalMs: 5000 });
    expect(s.lines).toEqual([]); // nothing before the work starts (bad input stays one line)
    p.update(0, 'a seed 0');
    expect(s.lines).toEqual(['run x: 0% (0/1000 steps), 0.0 s elapsed — a seed 0']);
    for (let k = 1; k < 50; k++) {
      s.t.now = k * 100; // 0.1 s .. 4.9 s: inside the first interval
      p.update(k * 4);
    }
    expect(s.lines).toHaveLength(1);
    s.t.now = 5000;
    p.update(200, 'a seed 1');
    expect(s.lines).toHaveLength(2);
    expect(s.lines[1]).toBe('run x: 20% (200/1000 steps), 5.0 s elapsed, ETA 20 s — a seed 1');
    s.t.now = 9999;
    p.update(390);
    expect(s.lines).toHaveLength(2);
    s.t.now = 10_000;
    p.update(400);
    expect(s.lines).toHaveLength(3);
    // Reaching the total: the last line is finish()'s, not a second one alike.
    s.t.now = 30_000;
    p.update(1000);
    expect(s.lines).toHaveLength(3);
    s.t.now = 30_500;
    p.finish();
    expect(s.lines).toHaveLength(4);
    expect(s.lines[3]).toBe('run x: 100% (1000/1000 steps), 31 s elapsed, done');
    p.update(1000);
    p.finish();
    expect(s.lines).toHaveLength(4);
  });

  it('the ETA is elapsed × (total − done) / done, shown from 2% of the work or 2 s', () => {
    const s = sink(false);
    const p = s.make({ label: 'check', total: 1000, unit: 'claims', intervalMs: 0 });
    p.update(0);
    s.t.now = 1000;
    p.update(10); // 1% after 1 s: too early to say
    expect(s.lines[1]).toBe('check: 1% (10/1000 claims), 1.0 s elapsed');
    s.t.now = 1500;
    p.update(20, 'c.id'); // 2%: 1.5 s × 980/20 = 73.5 s
    expect(s.lines[2]).toBe('check: 2% (20/1000 claims), 1.5 s elapsed, ETA 74 s — c.id');
    const q = sink(false);
    const r = q.make({ label: 'l', total: 1_000_000, unit: 'steps', intervalMs: 0 });
    q.t.now = 2000;
    r.update(1000); // 0.1% but 2 s: 2 s × 999000/1000 = 1998 s
    expect(q.lines[0]).toBe('l: 0% (1000/1000000 steps), 2.0 s elapsed, ETA 33 min 18 s');
    // Work done before this invocation (a resumed study) counts as done but not in the rate:
    // 600 done of which 500 skipped; 100 in 10 s leaves 400 in 40 s.
    const u = sink(false);
    const v = u.make({ label: 'run r', total: 1000, unit: 'steps', intervalMs: 0 });
    v.setSkipped(500);
    u.t.now = 10_000;
    v.update(600);
    expect(u.lines[0]).toBe('run r: 60% (600/1000 steps), 10 s elapsed, ETA 40 s');
  });

  it('formats durations for people; CONTRASTLAB_PROGRESS_INTERVAL sets the interval', () => {
    expect([0, 420, 9_949, 42_000, 99_400, 725_000, 3_600_000 + 7 * 60_000].map(formatDuration)).toEqual(['0.0 s', '0.4 s', '9.9 s', '42 s', '99 s', '12 min 5 s', '1 h 7 min']);
    expect(progressIntervalMs('run', {})).toBe(5000);
    expect(progressIntervalMs('run', { CONTRASTLAB_PROGRESS_INTERVAL: '0.5' })).toBe(500);
    expect(progressIntervalMs('run', { CONTRASTLAB_PROGRESS_INTERVAL: '0' })).toBe(0);
    expect(() => progressIntervalMs('run', { CONTRASTLAB_PROGRESS_INTERVAL: '-1' })).toThrow(/contrastlab run: CONTRASTLAB_PROGRESS_INTERVAL \(seconds\) must be >= 0, got -1/);
    expect(() => progressIntervalMs('run', { CONTRASTLAB_PROGRESS_INTERVAL: '0x10' })).toThrow(/must be a decimal number, got '0x10'/);
    expect(() => progressIntervalMs('run', { CONTRASTLAB_PROGRESS_INTERVAL: 'soon' })).toThrow(/got 'soon'/);
  });
});

describe('progress on a terminal: one bar redrawn in place', () => {
  it('redraws with \\r at most every 100 ms, ends with a newline; close() erases an unfinished bar', () => {
    const s = sink(true);
    const p = s.make({ label: 'bias', total: 200, unit: 'batch rows' });
    p.update(0);
    expect(s.raw).toHaveLength(1);
    expect(s.raw[0]).toBe(`\rbias [${'.'.repeat(24)}] 0% (0/200 batch rows), 0.0 s elapsed\x1b[K`);
    for (let k = 1; k <= 20; k++) {
      s.t.now = k * 10; // 10 ms apart: 200 ms in all, two redraws at most
      p.update(k);
    }
    expect(s.raw).toHaveLength(3);
    expect(s.raw.every((w) => w.startsWith('\r') && w.endsWith('\x1b[K') && !w.includes('\n'))).toBe(true);
    expect(s.raw[2]).toMatch(/^\rbias \[#{2}\.{22}\] 10% \(20\/200 batch rows\), 0\.2 s elapsed, ETA 1\.8 s\x1b\[K$/);
    expect(s.lines).toEqual([]); // nothing through the line writer
    s.t.now = 1000;
    p.finish();
    expect(s.raw[3]).toBe(`\rbias [${'#'.repeat(24)}] 100% (200/200 batch rows), 1.0 s elapsed, done\x1b[K\n`);
    p.close(); // finished: nothing to erase
    expect(s.raw).toHaveLength(4);

    const e = sink(true);
    const q = e.make({ label: 'run x', total: 10, unit: 'steps' });
    q.update(3, 'arm a');
    q.close(); // an error follows: the bar goes, so the message starts a clean line
    expect(e.raw.at(-1)).toBe('\r\x1b[K');
    q.update(4);
    expect(e.raw).toHaveLength(2);
  });

  it('cuts the bar to the terminal width; without errWrite it prints plain lines', () => {
    const raw: string[] = [];
    const p = createProgress({ out: () => {}, err: () => {}, isTTY: true, columns: 30, errWrite: (s) => raw.push(s) }, { label: 'run a-long-study-name', total: 5, unit: 'steps', now: () => 0 });
    p.update(1, 'some detail that is long');
    expect(raw[0]).toBe(`\r${'run a-long-study-name [#####...'.slice(0, 29)}\x1b[K`);
    const lines: string[] = [];
    const q = createProgress({ out: () => {}, err: (l) => lines.push(l), isTTY: true }, { label: 'x', total: 5, unit: 'steps', now: () => 0 });
    q.update(1);
    expect(lines).toEqual(['x: 20% (1/5 steps), 0.0 s elapsed']);
  });
});

describe('--quiet', () => {
  it('prints nothing, on a terminal or not', () => {
    for (const tty of [false, true]) {
      const s = sink(tty);
      const p = s.make({ label: 'run x', total: 10, unit: 'steps', quiet: true, intervalMs: 0 });
      p.update(0);
      s.t.now = 10_000;
      p.update(5);
      p.finish();
      p.close();
      expect([...s.lines, ...s.raw]).toEqual([]);
    }
  });
});

describe('run progress: weighted by steps over every run', () => {
  const arm: ExperimentSpec = {
    name: 'a', data: { kind: 'random-sphere', n: 6, d: 5 }, model: { kind: 'free', parametrisation: 'projected' }, objective: { tau: 0.5 },
    sampler: { kind: 'reshuffle', B: 2 }, estimator: { kind: 'minibatch-infonce', tau: 0.5 }, optimizer: { kind: 'sgd', lr: 1 }, budget: { epochs: 3 }, seeds: [0, 1],
  };
  // Arm a: 3 epochs × 3 steps = 9 steps per run, 2 seeds; arm b: full batch, 3 steps per run, 1 seed.
  const study: StudySpec = { name: 's', description: 'd', experiments: [arm, { ...arm, name: 'b', sampler: { kind: 'full' }, seeds: [5] }] };
  const row = (step: number) => ({ step, epoch: 0 }) as unknown as RunTraceRow;

  it('counts steps, not runs; the detail names arm, seed, run and step', () => {
    const s = sink(false);
    const p = runProgress(s.io, study, { intervalMs: 0, now: () => s.t.now });
    const log = (runIndex: number, step: number) => {
      const [armName, seed, totalSteps] = runIndex < 2 ? ['a', runIndex, 9] : ['b', 5, 3];
      p.callbacks.onLog!({ arm: armName as string, seed: seed as number, runIndex, runCount: 3, row: row(step), totalSteps: totalSteps as number });
    };
    log(0, 0);
    expect(s.lines[0]).toBe('run s: 0% (0/21 steps), 0.0 s elapsed — a seed 0 (run 1/3) step 0/9');
    s.t.now = 3000;
    log(0, 3);
    expect(s.lines[1]).toBe('run s: 14% (3/21 steps), 3.0 s elapsed, ETA 18 s — a seed 0 (run 1/3) step 3/9');
    log(0, 9);
    p.callbacks.onRunDone!({ arm: 'a', seed: 0, runIndex: 0, runCount: 3 });
    expect(s.lines.at(-1)).toMatch(/^run s: 42% \(9\/21 steps\), .* — a seed 0 \(run 1\/3\) done$/);
    s.t.now = 4000;
    log(1, 0);
    expect(s.lines.at(-1)).toMatch(/^run s: 42% \(9\/21 steps\), 4\.0 s elapsed, ETA 5\.3 s — a seed 1 \(run 2\/3\) step 0\/9$/);
    p.finish();
    expect(s.lines.at(-1)).toBe('run s: 100% (21/21 steps), 4.0 s elapsed, done');
  });

  it('a resumed study: runs finished before count as done, and out of the rate', () => {
    const s = sink(false);
    const p = runProgress(s.io, study, { intervalMs: 0, now: () => s.t.now });
    // Runs 0 and 1 are finished on disk (runStudy says so before any run); run 2 resumes from its
    // checkpoint at step 1 and logs step 2 first.
    p.callbacks.onPlan!({ runCount: 3, share: [0, 1, 2], finished: [0, 1] });
    s.t.now = 1000;
    p.callbacks.onLog!({ arm: 'b', seed: 5, runIndex: 2, runCount: 3, row: row(2), totalSteps: 3 });
    expect(s.lines[0]).toBe('run s: 95% (20/21 steps), 1.0 s elapsed — b seed 5 (run 3/3) step 2/3');
    s.t.now = 2000;
    p.callbacks.onLog!({ arm: 'b', seed: 5, runIndex: 2, runCount: 3, row: row(3), totalSteps: 3 });
    p.callbacks.onRunDone!({ arm: 'b', seed: 5, runIndex: 2, runCount: 3 });
    p.finish();
    expect(s.lines.at(-1)).toBe('run s: 100% (21/21 steps), 2.0 s elapsed, done');
  });

  it('several runs in flight (workers): done is the sum of each run\'s last step; the ETA from the steps computed', () => {
    const s = sink(false);
    const p = runProgress(s.io, study, { intervalMs: 0, now: () => s.t.now });
    p.callbacks.onPlan!({ runCount: 3, share: [0, 1, 2], finished: [] });
    const log = (k: number, step: number) => p.callbacks.onLog!({ arm: k < 2 ? 'a' : 'b', seed: k < 2 ? k : 5, runIndex: k, runCount: 3, row: row(step), totalSteps: k < 2 ? 9 : 3 });
    log(0, 0);
    log(1, 0);
    s.t.now = 2000;
    log(1, 3);
    log(0, 3);
    expect(s.lines.at(-1)).toBe('run s: 28% (6/21 steps), 2.0 s elapsed, ETA 5.0 s — a seed 0 (run 1/3) step 3/9');
    log(1, 9);
    p.callbacks.onRunDone!({ arm: 'a', seed: 1, runIndex: 1, runCount: 3 });
    log(2, 0);
    log(0, 6);
    expect(s.lines.at(-1)).toMatch(/^run s: 71% \(15\/21 steps\), .* — a seed 0 \(run 1\/3\) step 6\/9$/);
    p.callbacks.onRunDone!({ arm: 'a', seed: 0, runIndex: 0, runCount: 3 });
    expect(s.lines.at(-1)).toMatch(/^run s: 85% \(18\/21 steps\)/);
    const done = s.lines.map((l) => Number(/\((\d+)\//.exec(l)![1]));
    expect(done).toEqual([...done].sort((a, b) => a - b));
    p.finish();
    expect(s.lines.at(-1)).toBe('run s: 100% (21/21 steps), 2.0 s elapsed, done');
  });

  it('a shard: the total is its runs\' steps only', () => {
    const s = sink(false);
    const p = runProgress(s.io, study, { intervalMs: 0, now: () => s.t.now });
    p.callbacks.onPlan!({ runCount: 3, share: [1, 2], finished: [] });
    p.callbacks.onLog!({ arm: 'b', seed: 5, runIndex: 2, runCount: 3, row: row(0), totalSteps: 3 });
    expect(s.lines[0]).toBe('run s: 0% (0/12 steps), 0.0 s elapsed — b seed 5 (run 3/3) step 0/3');
  });

  it('--quiet: nothing', () => {
    const s = sink(false);
    const p = runProgress(s.io, study, { quiet: true, intervalMs: 0 });
    p.callbacks.onLog!({ arm: 'a', seed: 0, runIndex: 0, runCount: 3, row: row(0), totalSteps: 9 });
    p.finish();
    expect(s.lines).toEqual([]);
  });
});

describe('contrastlab run / bias / check through the CLI (stderr not a terminal)', () => {
  const saved = process.env.CONTRASTLAB_PROGRESS_INTERVAL;
  // A line at every logged step, so that a study of a second shows more than its first and last.
  beforeEach(() => { process.env.CONTRASTLAB_PROGRESS_INTERVAL = '0'; });
  afterEach(() => {
    if (saved === undefined) delete process.env.CONTRASTLAB_PROGRESS_INTERVAL;
    else process.env.CONTRASTLAB_PROGRESS_INTERVAL = saved;
  });
  // Durations are not pinned: they depend on the machine's speed and load.
  const LINE = /^run fixed-partition-smoke: (\d+)% \((\d+)\/5400 steps\), [^,]+ elapsed(, ETA [^,—]+)?(, done| — .+)$/;

  it('run: progress lines with an ETA on stderr, the human summary on stdout, run.json; --json prints run.json', async () => {
    const dir = tmp();
    const out = join(dir, 'r');
    const r = await cli('run', '--preset', 'fixed-partition', '--size', 'smoke', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l).toMatch(LINE);
    // With two workers the first line may come from either of the first two runs.
    expect(lines[0]).toMatch(/^run fixed-partition-smoke: 0% \(0\/5400 steps\), .* — fixed seed [01] \(run [12]\/6\) step 0\/1200$/);
    expect(lines.some((l) => / ETA /.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/: 100% \(5400\/5400 steps\), .* elapsed, done$/);
    const done = lines.map((l) => Number(LINE.exec(l)![2]));
    expect(done).toEqual([...done].sort((a, b) => a - b)); // steps only go forward
    // stdout: a few lines for people, not JSON.
    expect(() => JSON.parse(r.stdout)).toThrow();
    expect(r.stdout).toMatch(new RegExp(`^run fixed-partition-smoke: 6 runs \\(3 arms\\) in \\d+\\.\\d s; results in ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
    for (const f of ['summary.md', 'final.json', 'trace.csv', 'run.json']) expect(r.stdout).toContain(`  ${f} `);
    expect(r.stdout).toMatch(/figures {6}gap\.svg, distance\.svg, gram\.svg \(each also \.png\)/);
    expect(r.stdout).toMatch(/final mean over seeds:\n {2}fixed {7}loss \d\.\d{4} {2}gap .* {2}distance .*\n {2}reshuffled {2}loss .*\n {2}full {8}loss /);
    expect(r.stdout.split('\n').length).toBeLessThan(15);
    const saved1 = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(saved1).toMatchObject({ study: 'fixed-partition-smoke', out, runs: 6 });
    expect((saved1.arms as { arm: string }[]).map((a) => a.arm)).toEqual(['fixed', 'reshuffled', 'full']);

    // --json (and --quiet): stdout is one JSON object, the content of DIR/run.json.
    const again = join(dir, 'again');
    const j = await cli('run', '--preset', 'fixed-partition', '--size', 'smoke', '--out', again, '--json', '--quiet');
    expect(j.code, j.stderr).toBe(0);
    expect(j.stderr).toBe('');
    expect(j.stdout.split('\n')).toHaveLength(1);
    expect(j.json()).toEqual(JSON.parse(readFileSync(join(again, 'run.json'), 'utf8')));
    expect(j.stdout).toBe(readFileSync(join(again, 'run.json'), 'utf8').trimEnd());
    expect(j.json()).toMatchObject({ study: 'fixed-partition-smoke', out: again, runs: 6 });
    expect((j.json().arms as { final: Record<string, number> }[])[2]!.final.gap).toBe((saved1.arms as { final: Record<string, number> }[])[2]!.final.gap);
  }, 180_000);

  it('run --resume of a finished study: every step counted done', async () => {
    const dir = tmp();
    const out = join(dir, 'r');
    expect((await cli('run', '--preset', 'fixed-partition', '--size', 'smoke', '--out', out, '--quiet')).code).toBe(0);
    const r = await cli('run', '--preset', 'fixed-partition', '--size', 'smoke', '--out', out, '--resume');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^run fixed-partition-smoke: 100% \(5400\/5400 steps\), [^,]+ elapsed, done$/);
  }, 180_000);

  it('bias: weighted by B × draws; --quiet silences it', async () => {
    const r = await cli('bias', '--n', '32', '--d', '4', '--batch-sizes', '4,12', '--draws', '40');
    expect(r.code, r.stderr).toBe(0);
    // Off a terminal the first line comes with the first batch size (the exact gradient before it
    // can fail: that error must stay the one line on stderr).
    expect(r.stderr.split('\n')).toEqual([
      expect.stringMatching(/^bias: 25% \(160\/640 batch rows\), [^,]+ elapsed(, ETA [^,]+)? — B = 12$/),
      expect.stringMatching(/^bias: 100% \(640\/640 batch rows\), [^,]+ elapsed, done$/),
    ]);
    const q = await cli('bias', '--n', '32', '--d', '4', '--batch-sizes', '4,12', '--draws', '40', '--quiet');
    expect(q.stderr).toBe('');
    expect(q.stdout).toBe(r.stdout);
    const bad = await cli('bias', '--tau', '1e-310', '--n', '8', '--batch-sizes', '4', '--draws', '8');
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^contrastlab bias: .*overflows float64/);
  });

  it('check: counted in claims, the claim id in the line', async () => {
    const r = await cli('check', 'cho.spectral.pairwise-lower-bound', '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toMatch(/^check: 0% \(0\/1 claims\), [^,]+ elapsed — cho\.spectral\.pairwise-lower-bound$/);
    expect(lines.at(-1)).toMatch(/^check: 100% \(1\/1 claims\), [^,]+ elapsed, done$/);
    expect(JSON.parse(r.stdout).claims[0].id).toBe('cho.spectral.pairwise-lower-bound');
    const q = await cli('check', 'cho.spectral.pairwise-lower-bound', '--json', '--quiet');
    expect(q.stderr).toBe('');
  }, 120_000);
});
