/**
 * A hostile tester's cases replayed against the real CLI as a subprocess (real exit codes, real
 * stderr, real signals), each in a fresh temporary folder. Every bad input must give exit 2, exactly
 * one stderr line naming the problem (and the user's path), no stack trace, nothing of the user's
 * changed, and no `.staging-* / .part-* / .old-*.tmp` leftovers. Cases are grouped; a failing group
 * lists every failing case with what was observed.
 *
 * Timeouts exist only to catch a hang: each spawn may take 300 s and each test several times what a
 * quiet run needs (a loaded 2-core machine is slow, not wrong).
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  badInputProblems, type CliResult, cleanupMarkers, cpuSeconds, freshDir, leftovers, leftoversAfter, oneLineProblems, outputs, pool, report, runCli, show, sleep,
  snapshot, snapshotDiff, stackLines, startCli, waitFor,
} from './harness.ts';
import { dict, goodNpy, makeNpyCorpus, npyBytes, unitRows } from './make-npy-corpus.ts';

/** True once a run in progress has written its checkpoint (R/runs/NNNN.partial.json). */
function hasPartial(R: string): boolean {
  try {
    return readdirSync(join(R, 'runs')).some((f) => f.endsWith('.partial.json'));
  } catch {
    return false;
  }
}

// ---- specs ----

const TINY = {
  name: 'tiny', data: { kind: 'random-sphere', n: 4, d: 3 }, model: { kind: 'free', parametrisation: 'projected' }, objective: { tau: 1 },
  estimator: { kind: 'minibatch-infonce', tau: 1 }, sampler: { kind: 'reshuffle', B: 2 }, optimizer: { kind: 'sgd', lr: 1 }, budget: { steps: 4 }, seeds: [0],
};

/** One long run with frequent checkpoints: killed early, its runs/0000.partial.json holds the run in progress. */
const LONG = {
  name: 'long', data: { kind: 'random-sphere', n: 16, d: 8 }, model: { kind: 'free', parametrisation: 'projected' }, objective: { tau: 1 },
  estimator: { kind: 'minibatch-infonce', tau: 1 }, sampler: { kind: 'reshuffle', B: 4 }, optimizer: { kind: 'sgd', lr: 1 }, budget: { steps: 10000 }, seeds: [0],
  logEvery: 100, checkpointEvery: 100,
};

const CHO = ['run', '--preset', 'cho-grid', '--size', 'smoke', '--out', 'R'];

function writeJson(path: string, x: unknown): void {
  writeFileSync(path, JSON.stringify(x, null, 2) + '\n');
}

/** A bad-input case: a fresh folder set up by `setup`, the command, what stderr must name. */
interface Case {
  readonly name: string;
  readonly args: readonly string[];
  readonly setup?: (dir: string) => void;
  readonly mentions?: readonly (string | RegExp)[];
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /** A control case: the command must succeed (exit 0, no stack trace, no leftovers). */
  readonly expectOk?: boolean;
  /** Extra checks on the result (e.g. time taken); returns problems. */
  readonly extra?: (r: CliResult, dir: string) => string[];
}

async function runBadInputs(cases: readonly Case[]): Promise<string[]> {
  const results = await pool(cases, async (c) => {
    const dir = freshDir('bad');
    c.setup?.(dir);
    const before = snapshot(dir);
    const r = await runCli(c.args, { cwd: dir, env: c.env, timeoutMs: c.timeoutMs ?? 300_000 });
    const p = c.expectOk ? okProblems(c.name, r, dir) : badInputProblems(c.name, r, { mentions: c.mentions, dir, before });
    const extra = c.extra?.(r, dir) ?? [];
    if (extra.length) p.push(`[${c.name}] ${extra.join('; ')} — observed: ${show(r)}`);
    rmSync(dir, { recursive: true, force: true });
    return p;
  });
  return results.flat();
}

function okProblems(name: string, r: CliResult, dir: string): string[] {
  const p: string[] = [];
  if (r.code !== 0) p.push(`exit ${r.code}${r.signal ? ` signal ${r.signal}` : ''}, expected 0`);
  if (stackLines(r.stderr).length) p.push('a stack trace on stderr');
  const left = leftovers(dir);
  if (left.length) p.push(`temporaries left: ${left.join(', ')}`);
  return p.length ? [`[${name}] ${p.join('; ')} — observed: ${show(r)}`] : [];
}

const fast = (limitMs: number) => (r: CliResult): string[] => (r.ms > limitMs ? [`took ${(r.ms / 1000).toFixed(1)} s (over ${limitMs / 1000} s: did it allocate or compute?)`] : []);

/** Shape of a .npy file's bytes (its own small parser, independent of src/io), or a problem. */
function npyShape(bytes: Buffer): { shape: number[] } | { problem: string } {
  if (bytes.length < 10 || bytes.subarray(0, 6).toString('latin1') !== '\x93NUMPY') return { problem: 'no .npy magic' };
  const hl = bytes[6] === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = bytes[6] === 1 ? 10 : 12;
  const header = bytes.subarray(start, start + hl).toString('latin1');
  const m = /'shape': \(([\d, ]*)\)/.exec(header);
  if (!m || !header.includes("'descr': '<f8'")) return { problem: `unexpected header ${JSON.stringify(header)}` };
  const shape = m[1]!.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const need = start + hl + shape.reduce((a, b) => a * b, 1) * 8;
  if (bytes.length !== need) return { problem: `${bytes.length} bytes, the header declares ${need}` };
  return { shape };
}

/** Timing fields (none are known in final.json today) are left out of the comparison of results. */
const TIMING_KEY = /^(seconds|elapsed\w*|wall\w*|time\w*|started\w*|finished\w*|date|timestamp)$/i;
function stripTiming(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(stripTiming);
  if (x !== null && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x).filter(([k]) => !TIMING_KEY.test(k)).map(([k, v]) => [k, stripTiming(v)]));
  }
  return x;
}

/** Problems when `a` and `b` (final.json texts) differ other than in timing fields. */
function sameResult(a: string, b: string): string[] {
  if (a === b) return [];
  const sa = JSON.stringify(stripTiming(JSON.parse(a)));
  const sb = JSON.stringify(stripTiming(JSON.parse(b)));
  if (sa === sb) return [];
  let i = 0;
  while (i < sa.length && sa[i] === sb[i]) i++;
  return [`final.json differs from the uninterrupted run's at …${sa.slice(Math.max(0, i - 80), i + 80)}… vs …${sb.slice(Math.max(0, i - 80), i + 80)}…`];
}

describe('reliability: hostile inputs against the real CLI (subprocess)', () => {
  afterAll(cleanupMarkers);

  it('1. a corpus of malformed .npy files: eval refuses each with exit 2 and one line naming the file', async () => {
    const corpusDir = freshDir('corpus');
    const corpus = makeNpyCorpus(corpusDir);
    expect(corpus.length).toBeGreaterThanOrEqual(50);
    const problems = await runBadInputs(corpus.map(({ file, fault }) => ({
      name: `npy ${file} (${fault})`,
      args: ['eval', '--objective', 'infonce', '--u', file],
      setup: (dir: string) => copyFileSync(join(corpusDir, file), join(dir, file)),
      mentions: [file],
    })));
    rmSync(corpusDir, { recursive: true, force: true });
    expect(problems, report(problems)).toEqual([]);
  }, 1_800_000);

  it('2. non-regular inputs (folder, FIFO, devices, links, > 2 GiB sparse files) are refused and never hang', async () => {
    const EVAL = ['eval', '--objective', 'infonce', '--u'];
    const rows = 288_000;
    const cols = 1024; // 288000 x 1024 float64 = 2.2 GiB
    const cases: Case[] = [
      { name: '--u a directory', args: [...EVAL, 'adir'], setup: (d) => mkdirSync(join(d, 'adir')), mentions: ['adir'] },
      {
        name: '--u a FIFO', args: [...EVAL, 'pipe.npy'], mentions: ['pipe.npy'],
        setup: (d) => {
          const r = spawnSync('mkfifo', [join(d, 'pipe.npy')]);
          if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
        },
      },
      { name: '--u a link to /dev/zero', args: [...EVAL, 'zero.npy'], setup: (d) => symlinkSync('/dev/zero', join(d, 'zero.npy')), mentions: ['zero.npy'] },
      { name: '--u /dev/null', args: [...EVAL, '/dev/null'], mentions: ['/dev/null'] },
      { name: '--u a dangling link', args: [...EVAL, 'gone.npy'], setup: (d) => symlinkSync(join(d, 'no-such-target.npy'), join(d, 'gone.npy')), mentions: ['gone.npy'] },
      {
        name: '--u a 2.2 GiB sparse .npy with a valid header, CONTRASTLAB_MEMORY_BUDGET=1GiB', args: [...EVAL, 'big.npy'],
        env: { CONTRASTLAB_MEMORY_BUDGET: '1GiB' }, mentions: ['big.npy', /budget/i],
        setup: (d) => {
          const head = npyBytes(dict("'<f8'", 'False', `(${rows}, ${cols})`));
          writeFileSync(join(d, 'big.npy'), head);
          truncateSync(join(d, 'big.npy'), head.length + rows * cols * 8);
        },
      },
      {
        name: '--u a 2.2 GiB sparse file of zeros (no header)', args: [...EVAL, 'zeros.npy'], mentions: ['zeros.npy', /magic/i],
        setup: (d) => {
          writeFileSync(join(d, 'zeros.npy'), '');
          truncateSync(join(d, 'zeros.npy'), Math.round(2.2 * 2 ** 30));
        },
      },
    ];
    const problems = await runBadInputs(cases.map((c) => ({ ...c, timeoutMs: 300_000 })));
    expect(problems, report(problems)).toEqual([]);
  }, 900_000);

  it('3. impossible sizes are refused at once, naming the size and the memory budget', async () => {
    const problems = await runBadInputs([
      {
        name: 'optimum --kind etf --n 100000 --d 100000', args: ['optimum', '--kind', 'etf', '--n', '100000', '--d', '100000', '--out', 'x.npy'],
        mentions: ['100000', /budget/i], extra: fast(30_000),
      },
      {
        name: 'solve --n 100000 --d 100000', args: ['solve', '--n', '100000', '--d', '100000', '--out', 'r'],
        mentions: ['100000', /budget/i], extra: fast(30_000),
      },
      {
        name: 'run spec.json with a random-sphere experiment of "n": 1e9', args: ['run', 'spec.json', '--out', 'r'],
        setup: (d) => writeFileSync(join(d, 'spec.json'), JSON.stringify({ ...TINY, name: 'huge', data: { kind: 'random-sphere', n: 1e9, d: 8 } }).replace('1000000000', '1e9')),
        mentions: [/1000000000|1e\+?9|1\.0+e\+?9/, /budget/i], extra: fast(30_000),
      },
    ]);
    expect(problems, report(problems)).toEqual([]);
  }, 900_000);

  it('4. numbers: one strict parser for every flag, non-finite results refused', async () => {
    const SOLVE = ['solve', '--n', '4', '--d', '3', '--steps', '5', '--out', 'r'];
    const withU = (d: string) => writeFileSync(join(d, 'U.npy'), goodNpy());
    const huge = (d: string) => {
      const data = unitRows(4, 3);
      for (let i = 0; i < 12; i++) data.writeDoubleLE(data.readDoubleLE(8 * i) * 1e300, 8 * i);
      writeFileSync(join(d, 'U.npy'), npyBytes(dict(), data));
    };
    const problems = await runBadInputs([
      { name: 'solve --tau 0x10', args: [...SOLVE, '--tau', '0x10'], mentions: ['--tau', '0x10'] },
      { name: 'solve --tau 1e', args: [...SOLVE, '--tau', '1e'], mentions: ['--tau', '1e'] },
      { name: "solve --tau ' '", args: [...SOLVE, '--tau', ' '], mentions: ['--tau'] },
      { name: 'solve --steps 1.5', args: ['solve', '--n', '4', '--d', '3', '--out', 'r', '--steps', '1.5'], mentions: ['--steps', '1.5'] },
      { name: 'solve --seed -1', args: [...SOLVE, '--seed', '-1'], mentions: ['--seed', '-1'] },
      { name: 'solve --seed 1e308', args: [...SOLVE, '--seed', '1e308'], mentions: ['--seed', '1e308'] },
      { name: 'check cho.closed-forms --seed 1e308', args: ['check', 'cho.closed-forms', '--seed', '1e308'], mentions: ['--seed', '1e308'] },
      {
        name: 'eval --tau 1e-310 on unit rows (S = UV^T/tau overflows) with --grad-out g',
        args: ['eval', '--objective', 'infonce', '--u', 'U.npy', '--tau', '1e-310', '--grad-out', 'g'], setup: withU,
        mentions: [/tau|τ/i, /range|overflow/i],
      },
      {
        name: 'eval on rows of norm 1e300', args: ['eval', '--objective', 'infonce', '--u', 'U.npy'], setup: huge,
        mentions: [/range|overflow|finite/i],
      },
      {
        name: 'optimum --kind etf --n 1 (a batch of one has no negatives)', args: ['optimum', '--kind', 'etf', '--n', '1', '--d', '1', '--out', 'x.npy'],
        mentions: [/--n|negative/i],
      },
      {
        name: 'eval --objective minibatch --all-batches 1 (B < 2)', args: ['eval', '--objective', 'minibatch', '--all-batches', '1', '--u', 'U.npy'], setup: withU,
        mentions: [/--all-batches|\bB\b/],
      },
    ]);
    expect(problems, report(problems)).toEqual([]);
  }, 900_000);

  describe('5. outputs', () => {
    it('solve --out EXISTING without --force: exit 2, EXISTING unchanged', async () => {
      const problems = await runBadInputs([{
        name: 'solve --out R (R exists)', args: ['solve', '--n', '4', '--d', '3', '--steps', '5', '--out', 'R'],
        setup: (d) => {
          mkdirSync(join(d, 'R'));
          writeFileSync(join(d, 'R', 'mine.txt'), 'the user\'s file\n');
        },
        mentions: ["'R'", /exist/i],
      }]);
      expect(problems, report(problems)).toEqual([]);
    }, 360_000);

    it('R created while solve runs: exit 2 naming a kept R.unsaved-… result; R untouched', async () => {
      const dir = freshDir('race');
      const s = startCli(['solve', '--n', '8', '--d', '16', '--steps', '10000', '--tol', '0', '--out', 'R'], { cwd: dir, timeoutMs: 120_000 });
      await s.ready();
      // Past the argument checks and inside the computation: 0.3 s of the command's own CPU time
      // (CPU time, not wall time, so a loaded machine does not make R appear before the checks).
      const cpu0 = cpuSeconds(s.child.pid!) ?? 0;
      await waitFor(() => (cpuSeconds(s.child.pid!) ?? Infinity) >= cpu0 + 0.3, 300_000);
      mkdirSync(join(dir, 'R'));
      writeFileSync(join(dir, 'R', 'mine.txt'), 'made while solve ran\n');
      const r = await s.done;
      const p: string[] = [];
      if (r.code !== 2) p.push(`exit ${r.code} (signal ${r.signal}), expected 2`);
      p.push(...oneLineProblems(r, [/R\.unsaved-/]));
      const kept = /(R\.unsaved-[^'"\s)]+)/.exec(r.stderr)?.[1];
      if (kept && !existsSync(join(dir, kept, 'summary.json'))) p.push(`the kept result '${kept}' has no summary.json`);
      const inR = readdirSync(join(dir, 'R'));
      if (inR.join() !== 'mine.txt') p.push(`R now holds ${JSON.stringify(inR)}`);
      else if (readFileSync(join(dir, 'R', 'mine.txt'), 'utf8') !== 'made while solve ran\n') p.push('R/mine.txt changed');
      const left = leftovers(dir);
      if (left.length) p.push(`temporaries left: ${left.join(', ')}`);
      rmSync(dir, { recursive: true, force: true });
      expect(p, `race: ${p.join('; ')} — observed: ${show(r)}`).toEqual([]);
    }, 540_000);

    it('two concurrent optimum --out same.npy: exactly one wins, the other exits 2, the file is a valid .npy', async () => {
      const dir = freshDir('writers');
      const args = ['optimum', '--kind', 'etf', '--n', '200', '--d', '300', '--out', 'same.npy'];
      const [a, b] = await Promise.all([runCli(args, { cwd: dir }), runCli(args, { cwd: dir })]);
      const p: string[] = [];
      const codes = [a!.code, b!.code].sort();
      if (codes.join() !== '0,2') p.push(`exit codes ${JSON.stringify(codes)}, expected one 0 and one 2`);
      const loser = a!.code === 2 ? a! : b!;
      if (loser.code === 2) p.push(...oneLineProblems(loser, ['same.npy']));
      if (!existsSync(join(dir, 'same.npy'))) p.push('same.npy missing');
      else {
        const s = npyShape(readFileSync(join(dir, 'same.npy')));
        if ('problem' in s) p.push(`same.npy: ${s.problem}`);
        else if (s.shape.join() !== '200,300') p.push(`same.npy has shape ${s.shape}`);
      }
      const left = leftovers(dir);
      if (left.length) p.push(`temporaries left: ${left.join(', ')}`);
      rmSync(dir, { recursive: true, force: true });
      expect(p, `${p.join('; ')} — observed: A ${show(a!)}; B ${show(b!)}`).toEqual([]);
    }, 540_000);
  });

  it('6. SIGINT / SIGTERM / kill -9 during run, then --resume: same final.json as an uninterrupted run, no leftovers', async () => {
    const refDir = freshDir('ref');
    const ref = runCli(CHO, { cwd: refDir, timeoutMs: 300_000 });
    type Scenario = { label: string; sig: 'SIGINT' | 'SIGTERM' | 'SIGKILL'; duringWrite?: boolean };
    const SCENARIOS: Scenario[] = [
      { label: 'SIGINT', sig: 'SIGINT' },
      { label: 'SIGTERM', sig: 'SIGTERM' },
      { label: 'SIGKILL', sig: 'SIGKILL' },
      // Ctrl-C while a file is being written (a .part temporary exists): the handler that removes
      // temporaries must not swallow the signal while the study computes synchronously.
      { label: 'SIGINT during a write', sig: 'SIGINT', duringWrite: true },
    ];
    const scenario = async ({ label, sig, duringWrite }: Scenario): Promise<{ dir: string; problems: string[] }> => {
      const dir = freshDir(sig);
      const p: string[] = [];
      const s = startCli(CHO, { cwd: dir, timeoutMs: 300_000 });
      let exited = false;
      void s.done.then(() => { exited = true; });
      await s.ready(120_000);
      // Interrupt mid-study: once the first checkpoint exists (and, for duringWrite, the moment a
      // temporary of the atomic writer is seen).
      await waitFor(() => exited || hasPartial(join(dir, 'R')), 120_000);
      if (duringWrite) await waitFor(() => exited || leftovers(join(dir, 'R')).length > 0, 60_000, 1);
      else await sleep(150);
      const finishedBefore = exited;
      s.child.kill(sig);
      const r = await s.done;
      const signo = { SIGINT: 2, SIGTERM: 15, SIGKILL: 9 }[sig];
      if (finishedBefore) p.push(`the study finished before ${sig} could be sent (make it longer): ${show(r)}`);
      else if (r.code === 0) p.push(`${sig} sent mid-study was lost: the study ran on to the end (exit 0)`);
      else if (r.signal !== sig && r.code !== 128 + signo) p.push(`after ${sig}: ${show(r)}, expected death by ${sig} or exit ${128 + signo}`);
      if (stackLines(r.stderr).length) p.push(`after ${sig}: a stack trace on stderr: ${JSON.stringify(r.stderr.slice(0, 300))}`);
      // Every signal, kill -9 included: the watchdog removes what the process left.
      const left = await leftoversAfter(dir);
      if (left.length) p.push(`after ${sig}: temporaries left: ${left.join(', ')}`);
      if (sig === 'SIGKILL' && existsSync(join(dir, 'R'))) {
        // What kill -9 in the middle of a write leaves: temporaries of a process that no longer runs.
        const t = Date.now();
        if (existsSync(join(dir, 'R', 'runs'))) writeFileSync(join(dir, 'R', 'runs', `.0001.partial.json.part-${r.pid}-${t}-7.tmp`), '{"partial');
        if (existsSync(join(dir, 'R', 'runs'))) writeFileSync(join(dir, 'R', 'runs', `.0047.json.part-${r.pid}-${t}-8.tmp`), '{"partial');
      }
      if (!existsSync(join(dir, 'R', 'spec.json'))) {
        p.push(`after ${sig}: no R/spec.json (a study folder) to resume from`);
        return { dir, problems: p.map((x) => `[${label}] ${x}`) };
      }
      const res = await runCli([...CHO, '--resume'], { cwd: dir, timeoutMs: 300_000 });
      if (res.code !== 0) p.push(`--resume after ${sig}: ${show(res)}`);
      const leftAfter = leftovers(dir);
      if (leftAfter.length) p.push(`after --resume: temporaries left: ${leftAfter.join(', ')}`);
      return { dir, problems: p.map((x) => `[${label}] ${x}`) };
    };
    const runs = await Promise.all(SCENARIOS.map(scenario));
    const r0 = await ref;
    const problems: string[] = [];
    if (r0.code !== 0) problems.push(`[uninterrupted] ${show(r0)}`);
    else {
      const want = readFileSync(join(refDir, 'R', 'final.json'), 'utf8');
      for (const [k, { dir, problems: p }] of runs.entries()) {
        problems.push(...p);
        const f = join(dir, 'R', 'final.json');
        const label = SCENARIOS[k]!.label;
        if (p.length === 0 && !existsSync(f)) problems.push(`[${label}] no final.json after --resume`);
        else if (existsSync(f)) problems.push(...sameResult(want, readFileSync(f, 'utf8')).map((x) => `[${label}] ${x}`));
      }
    }
    for (const d of [refDir, ...runs.map((x) => x.dir)]) rmSync(d, { recursive: true, force: true });
    expect(problems, report(problems)).toEqual([]);
  }, 1_800_000);

  it('7. --resume with another dtype or an edited checkpoint (runs/0000.partial.json): exit 2, one line, the folder untouched', async () => {
    // A real checkpoint of a run in progress: kill -9 the long study once runs/0000.partial.json exists.
    const src = freshDir('killed');
    writeJson(join(src, 'spec.json'), LONG);
    const s = startCli(['run', 'spec.json', '--out', 'R'], { cwd: src, timeoutMs: 180_000 });
    let exited = false;
    void s.done.then(() => { exited = true; });
    await s.ready(120_000);
    await waitFor(() => exited || existsSync(join(src, 'R', 'runs', '0000.partial.json')), 120_000);
    s.child.kill('SIGKILL');
    const killed = await s.done;
    const ckPath = join(src, 'R', 'runs', '0000.partial.json');
    expect(existsSync(ckPath), `no checkpoint from the killed run: ${show(killed)}`).toBe(true);
    for (const t of leftovers(src)) rmSync(join(src, t), { recursive: true, force: true }); // a killed writer's; not the case here
    const ck = JSON.parse(readFileSync(ckPath, 'utf8')) as { state?: { step?: unknown } | null };
    expect(ck.state, 'the killed run\'s checkpoint holds no state').toBeTruthy();
    const withStep = (step: unknown) => JSON.stringify({ ...ck, state: { ...ck.state, step } });
    const resume = ['run', 'spec.json', '--out', 'R', '--resume'];
    const edit = (text: string) => (d: string) => {
      cpSync(join(src, 'spec.json'), join(d, 'spec.json'));
      cpSync(join(src, 'R'), join(d, 'R'), { recursive: true });
      if (text !== '') writeFileSync(join(d, 'R', 'runs', '0000.partial.json'), text);
    };
    const cases: Case[] = [
      { name: 'control: the unedited checkpoint resumes (exit 0)', args: resume, setup: edit(''), expectOk: true },
      { name: '--resume --dtype f32 on a folder made with f64', args: [...resume, '--dtype', 'f32'], setup: edit(''), mentions: ['f32', 'f64'] },
      { name: 'the checkpoint is null', args: resume, setup: edit('null'), mentions: [/0000\.partial\.json/] },
      { name: 'the checkpoint is {"version":1}', args: resume, setup: edit('{"version":1}'), mentions: [/0000\.partial\.json/, /version/] },
      { name: 'checkpoint state.step = -5', args: resume, setup: edit(withStep(-5)), mentions: [/0000\.partial\.json/, /step/i] },
      { name: 'checkpoint state.step = "x"', args: resume, setup: edit(withStep('x')), mentions: [/0000\.partial\.json/, /step/i] },
      { name: 'checkpoint state.step = 1e9', args: resume, setup: edit(withStep(1e9)), mentions: [/0000\.partial\.json/, /step/i] },
    ];
    const problems = await runBadInputs(cases.map((c) => ({ ...c, timeoutMs: 300_000 })));
    rmSync(src, { recursive: true, force: true });
    expect(problems, report(problems)).toEqual([]);
  }, 1_200_000);

  it('8. specs: unknown keys, BOM, deep nesting, wrong types, B > N', async () => {
    const spec = (x: unknown, prefix = '') => (d: string) => writeFileSync(join(d, 'spec.json'), prefix + JSON.stringify(x));
    const { optimizer, ...noOptimizer } = TINY;
    const RUN = ['run', 'spec.json', '--out', 'R'];
    const deep = `{"name":"deep","experiments":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`;
    const bad = runBadInputs([
      { name: 'unknown key "optimiser"', args: RUN, setup: spec({ ...noOptimizer, optimiser: optimizer }), mentions: ['optimiser', 'optimizer'] },
      { name: '100,000-deep nesting', args: RUN, setup: (d) => writeFileSync(join(d, 'spec.json'), deep), mentions: ['spec.json'] },
      { name: 'figures: "x"', args: RUN, setup: spec({ name: 'study', experiments: [TINY], figures: 'x' }), mentions: ['figures'] },
      {
        name: 'B > N (B 8, N 4): refused before any output folder exists', args: RUN,
        setup: spec({ ...TINY, sampler: { kind: 'reshuffle', B: 8 } }), mentions: [/\bB\b|batch/i],
      },
    ]);
    const bomDir = freshDir('bom');
    spec(TINY, '\ufeff')(bomDir);
    const bom = await runCli(RUN, { cwd: bomDir, timeoutMs: 120_000 });
    const problems = await bad;
    if (bom.code !== 0) problems.push(`[spec with a UTF-8 BOM] ${show(bom)}`);
    else if (!existsSync(join(bomDir, 'R', 'final.json'))) problems.push('[spec with a UTF-8 BOM] no R/final.json');
    rmSync(bomDir, { recursive: true, force: true });
    expect(problems, report(problems)).toEqual([]);
  }, 900_000);

  it('9. EPIPE: a closed stdout ends the process quietly', async () => {
    const cases: { name: string; args: string[]; when: 'first-line' | 'at-once' }[] = [
      { name: 'check --list | head -1', args: ['check', '--list'], when: 'first-line' },
      { name: 'check --list, stdout closed before any output', args: ['check', '--list'], when: 'at-once' },
      { name: 'run --preset cho-grid --print-spec, stdout closed before any output', args: ['run', '--preset', 'cho-grid', '--print-spec'], when: 'at-once' },
    ];
    const problems = (await pool(cases, async (c) => {
      const dir = freshDir('epipe');
      const s = startCli(c.args, { cwd: dir, timeoutMs: 300_000 });
      const out = s.child.stdout!;
      if (c.when === 'at-once') out.destroy();
      else {
        let seen = '';
        out.on('data', (x: string) => {
          seen += x;
          if (seen.includes('\n') && !out.destroyed) out.destroy();
        });
      }
      const r = await s.done;
      rmSync(dir, { recursive: true, force: true });
      const p: string[] = [];
      if (r.timedOut) p.push('did not finish');
      if (!(r.code === 0 || r.code === 141 || r.signal === 'SIGPIPE')) p.push(`exit ${r.code} signal ${r.signal}, expected 0 or 141`);
      if (stackLines(r.stderr).length) p.push('a stack trace on stderr');
      if (/Error|EPIPE/.test(r.stderr)) p.push('error text on stderr');
      return p.length ? [`[${c.name}] ${p.join('; ')} — observed: ${show(r)}`] : [];
    })).flat();
    expect(problems, report(problems)).toEqual([]);
  }, 540_000);

  it('10. report DIR: a summary.md linked to a file outside DIR is not put in the page', async () => {
    const dir = freshDir('report');
    writeJson(join(dir, 'spec.json'), TINY);
    const made = await runCli(['run', 'spec.json', '--out', 'R'], { cwd: dir, timeoutMs: 120_000 });
    expect(made.code, `making the run folder: ${show(made)}`).toBe(0);
    const MARKER = 'SECRET-MARKER-7f3a9c';
    mkdirSync(join(dir, 'outside'));
    writeFileSync(join(dir, 'outside', 'secret.md'), `# private\n\n${MARKER}\n`);
    rmSync(join(dir, 'R', 'summary.md'), { force: true });
    symlinkSync(join(dir, 'outside', 'secret.md'), join(dir, 'R', 'summary.md'));
    const before = snapshot(dir, outputs('R/report.html'));
    const r = await runCli(['report', 'R'], { cwd: dir, timeoutMs: 120_000 });
    const p: string[] = [];
    const page = join(dir, 'R', 'report.html');
    if (r.code === 0) {
      if (!existsSync(page)) p.push('exit 0 but no R/report.html');
      else if (readFileSync(page, 'utf8').includes(MARKER)) p.push('the page holds the content of the file outside R');
      const diff = snapshotDiff(before, snapshot(dir, outputs('R/report.html')));
      if (diff.length) p.push(`the folder changed: ${diff.join('; ')}`);
      if (leftovers(dir).length) p.push(`temporaries left: ${leftovers(dir).join(', ')}`);
    } else {
      p.push(...badInputProblems('report', r, { mentions: ['summary.md'], dir, before }));
      if (existsSync(page) && readFileSync(page, 'utf8').includes(MARKER)) p.push('a page with the outside content was written');
    }
    rmSync(dir, { recursive: true, force: true });
    expect(p, `${p.join('; ')} — observed: ${show(r)}`).toEqual([]);
  }, 720_000);
});
