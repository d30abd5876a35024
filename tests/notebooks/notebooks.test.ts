/**
 * Static checks of notebooks/*.ipynb (executing them is `npm run notebooks`, in CI): valid nbformat 4
 * with the tslab kernel, committed without outputs, importing only the public entry points (through
 * contrastlab.cjs), naming only what they export, and no maths of their own (no Math.*).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as claims from '../../src/claims.ts';
import * as main from '../../src/index.ts';
import * as plot from '../../src/plot.ts';

// What notebooks/contrastlab.cjs loads: the main entry point with its plot and claims subpaths.
const lib = { ...main, ...plot, ...claims };

const dir = join(import.meta.dirname, '../../notebooks');
const names = readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort();

interface Cell { cell_type: string; id?: string; source: string[]; outputs?: unknown[]; execution_count?: number | null }

describe('notebooks/', () => {
  it('has the five notebooks', () => {
    expect(names).toEqual(['01-cho-figure1.ipynb', '02-cho-grid.ipynb', '03-sogclr-batch-size.ipynb', '04-claims-report.ipynb', '05-mnist.ipynb']);
  });

  for (const name of names) {
    describe(name, () => {
      const nb = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { nbformat: number; nbformat_minor: number; metadata: { kernelspec: { name: string } }; cells: Cell[] };
      const code = nb.cells.filter((c) => c.cell_type === 'code').map((c) => c.source.join(''));

      it('is nbformat 4.5 for the tslab kernel, with cell ids and no outputs', () => {
        expect([nb.nbformat, nb.nbformat_minor]).toEqual([4, 5]);
        expect(nb.metadata.kernelspec.name).toBe('tslab');
        const ids = nb.cells.map((c) => c.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const c of nb.cells.filter((x) => x.cell_type === 'code')) expect([c.outputs, c.execution_count]).toEqual([[], null]);
        expect(nb.cells.filter((c) => c.cell_type === 'markdown').length).toBeGreaterThanOrEqual(2);
      });

      it('imports only the public entry point, and names only what it exports', () => {
        const all = code.join('\n');
        const imports = [...all.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
        expect(new Set(imports)).toEqual(new Set(['../dist/src/index.js', '../dist/src/plot.js', '../dist/src/claims.js', 'tslab', 'node:fs']));
        expect([...all.matchAll(/require\('([^']+)'\)/g)].map((m) => m[1])).toEqual(['./contrastlab.cjs']);
        for (const m of all.matchAll(/\bcl\.([A-Za-z_$][\w$]*)/g)) expect(typeof (lib as Record<string, unknown>)[m[1]!], `cl.${m[1]}`).not.toBe('undefined');
        for (const m of all.matchAll(/\bCL\.([A-Za-z_$][\w$]*)/g)) expect(m[1]).toMatch(/^(VegaLiteSpec|StudySpec)$/);
      });

      it('does no maths of its own', () => {
        expect(code.join('\n')).not.toMatch(/\bMath\./);
      });
    });
  }
});
