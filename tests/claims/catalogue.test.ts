import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLAIMS } from '../../proofs-checks/index.ts';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { reportJson, reportMarkdown, verdictTable } from '../../src/claims/report.ts';
import { isFailure, runClaims } from '../../src/claims/run.ts';
import type { Claim } from '../../src/claims/types.ts';
import { splitMath, texToMathml } from '../../src/report/math.ts';
import { cli, tmp } from '../cli/harness.ts';

const FOLDER: Record<string, string> = { CHO: 'cho', SOG: 'sog', iSogCLR: 'isogclr', numerics: 'numerics', SigLIP: 'siglip' };

describe('the catalogue', () => {
  it('has unique, well-formed entries', () => {
    const ids = CLAIMS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of CLAIMS) {
      expect(c.id, c.id).toMatch(/^[a-z0-9]+(\.[a-z0-9-]+)+$/);
      expect(c.id.split('.')[0], c.id).toBe(FOLDER[c.source.paper]);
      expect(c.statement.length, c.id).toBeGreaterThan(20);
      expect(['proved', 'derived', 'unverified', 'code', 'fig']).toContain(c.source.tag);
      expect(['identity', 'optimality', 'inequality', 'convergence', 'counterexample', 'rate']).toContain(c.kind);
      if (c.expected === 'refuted') expect(c.explanation, `${c.id} is expected refuted and must say why`).toBeTruthy();
    }
  });
});

describe('claim statements are written for the report page', () => {
  // Formulas are $...$ TeX (rendered to MathML by src/report/math.ts); subscripts, sums and norms in
  // bare Unicode text (Σ_{i<j∈b}, ‖x‖) would show raw on the page.
  const BARE = /_\{|\^\{|[Σ∑‖∂√]|\\[a-zA-Z]/;
  for (const c of CLAIMS) {
    it(c.id, () => {
      // No control characters (a '\v' from '\varepsilon' written with one backslash in a string literal).
      expect(c.statement, c.id).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f]/);
      const parts = splitMath(c.statement);
      for (const p of parts) {
        if (p.math !== undefined) expect(texToMathml(p.math.tex, p.math.display), `${c.id}: $${p.math.tex}$`).not.toContain('tex-error');
        else expect(p.text, `${c.id}: formula markup outside $...$ in "${p.text}"`).not.toMatch(BARE);
      }
    });
  }
});

describe('runner and report', () => {
  const fake = (id: string, check: Claim['check']): Claim => ({
    id, source: { paper: 'numerics', where: 'test', tag: 'unverified' }, statement: 'a statement long enough to count', assumptions: ['none'], kind: 'identity', check,
  });
  it('keeps failures and thrown errors as failing verdicts; the report names the unverified tag', async () => {
    const backend = createCpuBackend();
    const results = await runClaims([
      fake('numerics.ok', () => ({ pass: true, margin: 3, marginUnit: 'decades', numbers: { x: 1 }, summary: 'fine' })),
      fake('numerics.bad', () => ({ pass: false, margin: -0.5, marginUnit: 'decades', numbers: {}, summary: 'off' })),
      fake('numerics.throws', () => { throw new Error('boom'); }),
    ], { size: 'smoke', backend });
    expect(results.map(isFailure)).toEqual([false, true, true]);
    expect(results[2]!.error).toBe('boom');
    const table = verdictTable(results);
    expect(table).toMatch(/numerics.ok \| numerics test \[unverified\] \| identity \| holds \| 3.00 decades/);
    expect(table).toMatch(/numerics.throws .* ERROR/);
    const meta = { size: 'smoke', seed: 0, backend, seconds: 1 };
    expect(reportMarkdown(results, meta)).toMatch(/reconstructed and unverified/);
    const json = JSON.parse(reportJson(results, meta));
    expect(json.failed).toBe(2);
    expect(json.claims[2].error).toBe('boom');
  });

  it('the same seed gives the same generators', async () => {
    const draw = fake('numerics.draw', (ctx) => ({ pass: true, margin: ctx.rng('a').uniform(), marginUnit: '', numbers: {}, summary: '' }));
    const backend = createCpuBackend();
    const a = await runClaims([draw], { size: 'smoke', backend, seed: 4 });
    const b = await runClaims([draw], { size: 'smoke', backend, seed: 4 });
    const c = await runClaims([draw], { size: 'smoke', backend, seed: 5 });
    expect(b[0]!.verdict.margin).toBe(a[0]!.verdict.margin);
    expect(c[0]!.verdict.margin).not.toBe(a[0]!.verdict.margin);
  });
});

describe('contrastlab check', () => {
  it('--list prints every claim; an unknown id is a usage error', async () => {
    const list = await cli('check', '--list');
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n').filter(Boolean)).toHaveLength(CLAIMS.length);
    const bad = await cli('check', 'nosuch.claim');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no claim id starts with 'nosuch.claim'/);
  });

  it('runs a selection and writes report.md and report.json', async () => {
    if (CLAIMS.length === 0) return;
    const quick = CLAIMS.find((c) => c.id.startsWith('numerics.')) ?? CLAIMS[0]!;
    const dir = tmp();
    const r = await cli('check', quick.id, '--out', join(dir, 'rep'));
    expect([0, 1]).toContain(r.code);
    expect(r.stdout).toMatch(new RegExp(quick.id.replace(/\./g, '\\.')));
    expect(existsSync(join(dir, 'rep', 'report.md'))).toBe(true);
    const json = JSON.parse(readFileSync(join(dir, 'rep', 'report.json'), 'utf8'));
    expect(json.claims[0].id).toBe(quick.id);
    expect(r.code).toBe(json.failed > 0 ? 1 : 0);
  }, 60_000);
});
