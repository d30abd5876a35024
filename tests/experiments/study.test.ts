/**
 * Studies streamed through their run files: the summaries are computed from runs/NNNN.json arm by
 * arm, in index order, so they are the same bytes whatever ran the runs (one thread, K workers,
 * shards into one folder or several, interrupted and resumed) and the same as the in-memory
 * serialisation of every row (traceToCsv / traceToJsonl / summariseTraces).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapshotDir } from '../helpers.ts';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { decodeState } from '../../src/io/codec.ts';
import { traceToCsv, traceToJsonl } from '../../src/io/trace.ts';
import { partialFile, runFile, type RunRecord } from '../../src/experiments/pool.ts';
import { runStudy, runStudyParallel, summariseStudyDir, runConfigOf } from '../../src/experiments/study.ts';
import { summariseTraces } from '../../src/experiments/summary.ts';
import { METRICS, type ExperimentSpec, type StudySpec } from '../../src/experiments/spec.ts';

const backend = createCpuBackend({ dtype: 'f64' });
const tmp = () => mkdtempSync(join(tmpdir(), 'contrastlab-study-'));

const arm = (name: string, extra: Partial<ExperimentSpec> = {}): ExperimentSpec => ({
  name, data: { kind: 'random-sphere', n: 6, d: 5 }, model: { kind: 'free', parametrisation: 'projected' }, objective: { tau: 0.5 },
  sampler: { kind: 'reshuffle', B: 2 }, estimator: { kind: 'minibatch-infonce', tau: 0.5 }, optimizer: { kind: 'sgd', lr: 1 },
  budget: { epochs: 3 }, seeds: [0, 1], ...extra,
});

/**
 * Run 0 is by far the longest, so with several workers the later runs finish before it: a
 * summariser that took the runs in the order they finished (or the folder's order) would differ.
 */
const study: StudySpec = {
  name: 's', description: 'd',
  experiments: [
    arm('long', { budget: { epochs: 60 }, seeds: [3, 1] }),
    arm('full', { sampler: { kind: 'full' }, seeds: [0, 1, 2] }),
    arm('fixed', { sampler: { kind: 'fixed', B: 2 } }),
  ],
  figures: [{ name: 'loss', title: 'loss', metric: 'loss', x: 'step', logY: true }],
  gramFigures: [{ name: 'gram', title: 'gram', arms: ['full'] }],
  thresholds: [{ metric: 'loss', below: 1.5 }],
};

/** Every file under `dir` (relative path → bytes, base64), leaving out `skip`. */
const snapshot = snapshotDir;

const OUTPUTS = ['trace.csv', 'trace.jsonl', 'summary.csv', 'final.json', 'summary.md', 'spec.json'];

describe('runStudy: records streamed to files, summaries from the files', { timeout: 120_000 }, () => {
  it('the streamed summaries are the bytes of the in-memory serialisation, in index order', () => {
    const out = join(tmp(), 'o');
    const res = runStudy(study, { out, backend });
    const records: RunRecord[] = [];
    for (let k = 0; k < 7; k++) records.push((decodeState(JSON.parse(readFileSync(runFile(out, k), 'utf8'))) as { record: RunRecord }).record);
    expect(records.map((r) => `${r.arm}/${r.seed}`)).toEqual(['long/3', 'long/1', 'full/0', 'full/1', 'full/2', 'fixed/0', 'fixed/1']);
    const rows = records.flatMap((r) => r.trace.map((t) => ({ arm: r.arm, seed: r.seed, ...t })));
    expect(readFileSync(join(out, 'trace.csv'), 'utf8')).toBe(traceToCsv(rows));
    expect(readFileSync(join(out, 'trace.jsonl'), 'utf8')).toBe(traceToJsonl(rows));
    const metrics = METRICS.filter((m) => records.some((r) => r.final[m] !== undefined));
    const sum = summariseTraces(records, metrics).map((s) => ({ arm: s.arm, step: s.step, epoch: s.epoch, metric: s.metric, ...s.stats }));
    expect(readFileSync(join(out, 'summary.csv'), 'utf8')).toBe(traceToCsv(sum));
    // The result holds final values only (no traces, no U and V); the Gram figure's matrix of the first seed.
    for (const r of res.records) for (const k of ['trace', 'U', 'V']) expect(Object.keys(r)).not.toContain(k);
    expect(res.records.map((r) => r.final)).toEqual(records.map((r) => r.final));
    expect([...res.grams.keys()]).toEqual(['full']);
    expect(res.grams.get('full')!.seed).toBe(0);
    expect([...res.centres.keys()].length).toBe(3);
    // No temporaries left.
    expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('K = 1, 2, 3 workers: every output file the same bytes', async () => {
    const dir = tmp();
    const snaps = [];
    for (const workers of [1, 2, 3]) {
      const out = join(dir, `k${workers}`);
      const done: number[] = [];
      await runStudyParallel(study, { out, backend, workers, progress: { onRunDone: ({ runIndex }) => done.push(runIndex) } });
      expect([...done].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
      snaps.push(snapshot(out));
    }
    expect(Object.keys(snaps[0]!)).toEqual(expect.arrayContaining([...OUTPUTS, 'runs/0000.json', 'runs/0006.json']));
    expect(snaps[1]).toEqual(snaps[0]);
    expect(snaps[2]).toEqual(snaps[0]);
  });

  it('an interrupted study resumes every unfinished run from its own checkpoint, to the same bytes', async () => {
    const dir = tmp();
    const ref = join(dir, 'ref');
    runStudy(study, { out: ref, backend });
    const out = join(dir, 'o');
    class Stop extends Error {}
    // Stop in run 0 at step 30 (checkpoints at every opportunity); runs 2.. not started.
    expect(() => runStudy(study, {
      out, backend, checkpointIntervalMs: 0,
      progress: { onLog: ({ runIndex, row }) => { if (runIndex === 0 && row.step >= 30) throw new Stop(); } },
    })).toThrow(Stop);
    // A fresh folder that failed is removed: use --resume semantics on a kept folder instead.
    expect(existsSync(out)).toBe(false);
    const kept = join(dir, 'kept');
    runStudy(study, { out: kept, backend, checkpointIntervalMs: 0, shard: { index: 0, count: 1, source: 'test' } });
    // Make it look interrupted: run 0 back to a checkpoint in progress, runs 5 and 6 never started.
    rmSync(runFile(kept, 5));
    rmSync(runFile(kept, 6));
    const part = join(dir, 'part');
    expect(() => runStudy(study, {
      out: part, backend, checkpointIntervalMs: 0, shard: { index: 0, count: 1, source: 'test' },
      progress: { onLog: ({ runIndex, row }) => { if (runIndex === 0 && row.step >= 30) throw new Stop(); } },
    })).toThrow(Stop);
    expect(existsSync(partialFile(part, 0))).toBe(true);
    writeFileSync(partialFile(kept, 0), readFileSync(partialFile(part, 0)));
    rmSync(runFile(kept, 0));
    const logged: number[] = [];
    const planned: unknown[] = [];
    await runStudyParallel(study, {
      out: kept, backend, resume: true, workers: 2,
      progress: { onPlan: (p) => planned.push(p), onLog: ({ runIndex, row }) => { if (runIndex === 0) logged.push(row.step); } },
    });
    expect(planned).toEqual([{ runCount: 7, share: [0, 1, 2, 3, 4, 5, 6], finished: [1, 2, 3, 4] }]);
    expect(logged[0]).toBeGreaterThan(0); // run 0 went on from its checkpoint
    expect(existsSync(partialFile(kept, 0))).toBe(false);
    const skip = (rel: string) => rel.startsWith('shards/');
    expect(snapshot(kept, skip)).toEqual(snapshot(ref, skip));
  });

  it('interrupted with several runs in flight on workers: each keeps its checkpoint, and --resume finishes them to the same bytes', async () => {
    const dir = tmp();
    const ref = join(dir, 'ref');
    runStudy(study, { out: ref, backend });
    const out = join(dir, 'o');
    class Stop extends Error {}
    const shard = { index: 0, count: 1, source: 'test' }; // a shard keeps its folder when it fails
    // Stop once runs 0 and 1 (one per worker) have both logged past a checkpoint.
    const at = [0, 0];
    await expect(runStudyParallel(study, {
      out, backend, workers: 2, checkpointIntervalMs: 0, shard,
      progress: { onLog: ({ runIndex, row }) => { if (runIndex < 2) at[runIndex] = row.step; if (at[0]! >= 9 && at[1]! >= 9) throw new Stop(); } },
    })).rejects.toBeInstanceOf(Stop);
    const names = readdirSync(join(out, 'runs'));
    // Runs 0 and 1 were in flight on the two workers: each has its checkpoint, or (a worker that ran on
    // to the end of its run before it was stopped, as on a loaded machine) its finished file.
    for (const k of ['0000', '0001']) expect(names.includes(`${k}.partial.json`) || names.includes(`${k}.json`), `${k}: ${names.join(', ')}`).toBe(true);
    expect(names.filter((n) => n.startsWith('.'))).toEqual([]); // no temporaries of the stopped workers
    expect(names.length).toBeLessThan(8);
    await runStudyParallel(study, { out, backend, workers: 2, resume: true });
    expect(readdirSync(join(out, 'runs')).filter((n) => n.includes('partial') || n.startsWith('.'))).toEqual([]);
    const skip = (rel: string) => rel.startsWith('shards/');
    expect(snapshot(out, skip)).toEqual(snapshot(ref, skip));
  });

  it('shards: into one folder or several; a shard writes no summaries, accepts the same study and refuses another', () => {
    const dir = tmp();
    const ref = join(dir, 'ref');
    runStudy(study, { out: ref, backend });
    const shared = join(dir, 'shared');
    // Shards in reverse order: the run files are written out of index order (as workers and
    // machines finish them), which the summaries must not follow.
    for (let i = 2; i >= 0; i--) {
      expect(runStudy(study, { out: shared, backend, shard: { index: i, count: 3, source: 't' } })).toBeNull();
      runStudy(study, { out: join(dir, `sep${i}`), backend, shard: { index: i, count: 3, source: 't' } });
    }
    expect(readdirSync(shared).sort()).toEqual(['runs', 'shards', 'spec.json']);
    expect(readdirSync(join(shared, 'shards')).sort()).toEqual(['0-of-3.json', '1-of-3.json', '2-of-3.json']);
    const manifests = [0, 1, 2].map((i) => JSON.parse(readFileSync(join(shared, 'shards', `${i}-of-3.json`), 'utf8')) as { runs: { index: number }[] });
    expect(manifests.flatMap((m) => m.runs.map((r) => r.index)).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Every run file, wherever it was computed, is the single run's.
    for (let k = 0; k < 7; k++) expect(readFileSync(runFile(shared, k))).toEqual(readFileSync(runFile(ref, k)));
    // Summaries from the shared folder: the single run's bytes.
    summariseStudyDir(study, shared, runConfigOf(backend));
    for (const f of OUTPUTS) expect(readFileSync(join(shared, f), 'utf8'), f).toBe(readFileSync(join(ref, f), 'utf8'));
    // --resume needs a study folder; a shard refuses a folder of another study, touching nothing.
    expect(() => runStudy(study, { out: dir, backend, resume: true })).toThrow(/--resume: no checkpoint at '.*' \(neither spec\.json nor runs\/: not a study folder\)/);
    expect(() => runStudy(study, { out: join(dir, 'none'), backend, resume: true })).toThrow(/--resume: no checkpoint at '.*none' \(no such folder\)/);
    const other = { ...study, name: 'other' };
    const before = snapshot(shared);
    expect(() => runStudy(other, { out: shared, backend, shard: { index: 0, count: 3, source: 't' } })).toThrow(/holds another study \(spec\.json hash [0-9a-f]+, this spec [0-9a-f]+\); use another --out/);
    expect(() => runStudy(study, { out: shared, backend, force: true, shard: { index: 0, count: 3, source: 't' } })).toThrow(ConfigError);
    expect(snapshot(shared)).toEqual(before);
    // A rerun of a finished shard computes nothing and changes nothing.
    let logs = 0;
    runStudy(study, { out: shared, backend, shard: { index: 1, count: 3, source: 't' }, progress: { onLog: () => { logs++; } } });
    expect(logs).toBe(0);
    expect(snapshot(shared, (r) => r.startsWith('shards/'))).toEqual(snapshot(shared, (r) => r.startsWith('shards/')));
    expect(statSync(runFile(shared, 0)).isFile()).toBe(true);
  });
});

describe('figures draw at most MAX_POINTS points per line', () => {
  it('thinLines keeps short lines, thins long ones to MAX_POINTS with the first point and every band extreme', async () => {
    const { thinLines, MAX_POINTS } = await import('../../src/experiments/figures.ts');
    const line = (arm: string, n: number) => Array.from({ length: n }, (_, i) => ({ arm, x: i, mean: Math.sin(i), lo: Math.sin(i) - (i === 377 ? 5 : 1), hi: Math.sin(i) + (i === 411 ? 7 : 1) }));
    const rows = [...line('a', 40), ...line('b', 1000)];
    const out = thinLines(rows);
    expect(out.filter((r) => r.arm === 'a')).toEqual(rows.slice(0, 40));
    const b = out.filter((r) => r.arm === 'b');
    expect(b).toHaveLength(MAX_POINTS);
    expect(b[0]).toEqual(rows[40]);
    expect(b[b.length - 1]!.x).toBe(999);
    expect(Math.min(...b.map((r) => r.lo))).toBe(Math.sin(377) - 5);
    expect(Math.max(...b.map((r) => r.hi))).toBe(Math.sin(411) + 7);
    for (let i = 1; i < b.length; i++) expect(b[i]!.x).toBeGreaterThan(b[i - 1]!.x);
  });
});
