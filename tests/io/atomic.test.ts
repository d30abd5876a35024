/** Atomic outputs (src/io/atomic.ts): nothing of the user's is replaced or lost; no temporaries stay behind. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { cleanStaleTemporaries, liveTemporaries, StagedDir, writeFileAtomic } from '../../src/io/atomic.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'contrastlab-atomic-'));

describe('StagedDir', () => {
  it('commits into a new folder and leaves no temporaries', () => {
    const dir = tmp();
    const s = new StagedDir(join(dir, 'out'));
    s.write('a.txt', 'A');
    s.commit();
    expect(readdirSync(dir)).toEqual(['out']);
    expect(readFileSync(join(dir, 'out', 'a.txt'), 'utf8')).toBe('A');
    expect(liveTemporaries()).toEqual([]);
  });

  it('a folder that appears while the result is staged is left as it is; the result is kept under a name the error gives', () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const s = new StagedDir(out);
    s.write('a.txt', 'new');
    mkdirSync(out); // someone else's folder, made while we ran
    writeFileSync(join(out, 'theirs.txt'), 'user data');
    let err: unknown;
    try {
      s.commit();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const m = /the new result is in '([^']+)'/.exec((err as Error).message);
    expect(m).not.toBeNull();
    expect(readFileSync(join(out, 'theirs.txt'), 'utf8')).toBe('user data');
    expect(readdirSync(out)).toEqual(['theirs.txt']);
    expect(readFileSync(join(m![1]!, 'a.txt'), 'utf8')).toBe('new');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(liveTemporaries()).toEqual([]);
  });

  it('an empty folder that appears is not replaced either (rename(2) would silently replace it)', () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const s = new StagedDir(out);
    s.write('a.txt', 'new');
    mkdirSync(out);
    expect(() => s.commit()).toThrow(/appeared while this command ran/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('two concurrent writers of one folder: exactly one wins, the other keeps its result aside', () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const a = new StagedDir(out);
    const b = new StagedDir(out);
    a.write('who', 'a');
    b.write('who', 'b');
    a.commit();
    expect(() => b.commit()).toThrow(ConfigError);
    expect(readFileSync(join(out, 'who'), 'utf8')).toBe('a');
    const kept = readdirSync(dir).filter((n) => n.startsWith('out.unsaved-'));
    expect(kept).toHaveLength(1);
    expect(readFileSync(join(dir, kept[0]!, 'who'), 'utf8')).toBe('b');
  });

  it('with overwrite, replaces the folder and removes the old one', () => {
    const dir = tmp();
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'old.txt'), 'x');
    const s = new StagedDir(out, { overwrite: true });
    s.write('new.txt', 'y');
    s.commit();
    expect(readdirSync(out)).toEqual(['new.txt']);
    expect(readdirSync(dir)).toEqual(['out']);
  });

  it('abort removes the staging folder and the parents it made; an error on write names the user path', () => {
    const dir = tmp();
    const s = new StagedDir(join(dir, 'p', 'q', 'out'));
    s.write('a', 'b');
    s.abort();
    expect(readdirSync(dir)).toEqual([]);
    const t = new StagedDir(join(dir, 'out2'));
    let msg = '';
    try {
      t.write('sub/missing/a.txt', 'x');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain(`'${join(dir, 'out2', 'sub/missing/a.txt')}'`);
    expect(msg).not.toContain('staging');
    t.abort();
  });
});

describe('writeFileAtomic', () => {
  it('refuses a file that appears while it writes, keeping the new bytes aside', () => {
    const dir = tmp();
    const p = join(dir, 'f.txt');
    writeFileAtomic(p, 'first');
    expect(() => writeFileAtomic(p, 'second')).toThrow(/already exists/);
    expect(readFileSync(p, 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['f.txt']);
  });
});

describe('stale temporaries', () => {
  it('are removed after kill -9 by the next writer of the same target; an old aside with no target is restored', async () => {
    const dir = tmp();
    // A process that no longer runs: spawn one and wait for its end to get a dead pid.
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid!;
    await new Promise((r) => child.on('exit', r));
    writeFileSync(join(dir, `.out.part-${pid}-1-0.tmp`), 'half');
    mkdirSync(join(dir, `.out.staging-${pid}-1-1.tmp`));
    mkdirSync(join(dir, `.res.old-${pid}-1-2.tmp`));
    writeFileSync(join(dir, `.res.old-${pid}-1-2.tmp`, 'user.txt'), 'keep me');
    writeFileSync(join(dir, `.other.part-${process.pid}-1-3.tmp`), 'a live process: not ours to touch');
    expect(cleanStaleTemporaries(join(dir, 'out'))).toHaveLength(2);
    expect(cleanStaleTemporaries(join(dir, 'res'))).toHaveLength(1);
    expect(readFileSync(join(dir, 'res', 'user.txt'), 'utf8')).toBe('keep me');
    expect(readdirSync(dir).sort()).toEqual([`.other.part-${process.pid}-1-3.tmp`, 'res']);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe('crash cleanup (the CLI mode)', () => {
  for (const sig of ['SIGKILL', 'SIGINT', 'SIGTERM'] as const) {
    it(`temporaries of a process ended by ${sig} in the middle of its writes are removed by the watchdog`, async () => {
      const dir = tmp();
      const script = join(dir, 'victim.mts');
      const atomic = join(process.cwd(), 'src', 'io', 'atomic.ts');
      writeFileSync(script, `
        import { enableCrashCleanup, StagedDir, writeFileAtomic } from ${JSON.stringify(atomic)};
        import { openSync, writeSync } from 'node:fs';
        enableCrashCleanup();
        const s = new StagedDir(${JSON.stringify(join(dir, 'out'))}, { overwrite: true });
        s.write('a.txt', 'x');
        writeFileAtomic(${JSON.stringify(join(dir, 'f.txt'))}, 'first');
        const old = new StagedDir(${JSON.stringify(join(dir, 'f2'))});
        old.write('b', 'y');
        process.kill(process.pid, '${sig}');
        for (;;) {} // a long synchronous computation: the signal must still end the process
      `);
      const tsx = join(process.cwd(), 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
      const child = spawn(process.execPath, ['--import', tsx, script], { stdio: 'ignore' });
      const status = await new Promise<{ code: number | null; signal: string | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
      expect(status.signal).toBe(sig);
      const deadline = Date.now() + 120_000; // only bounds a hang: the watchdog polls every 100 ms
      const leftovers = () => readdirSync(dir).filter((n) => n.endsWith('.tmp'));
      while (leftovers().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(leftovers()).toEqual([]);
      expect(readFileSync(join(dir, 'f.txt'), 'utf8')).toBe('first');
      expect(readdirSync(dir).sort()).toEqual(['f.txt', 'victim.mts']);
    }, 300_000);
  }
});
