/** Report pages that read well: formulas as MathML, figures at the page width, a study's arms as a grid. */
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/index.ts';
import { naturalWidth } from '../../src/report/html.ts';
import { parseArmName } from '../../src/report/grid.ts';
import { markdownToHtml } from '../../src/report/markdown.ts';
import { hasMath, mathText, texToMathml } from '../../src/report/math.ts';
import { folder, PNG_1X1, SIMPLE_SVG } from './fixtures.ts';

const NOW = new Date('2025-01-02T03:04:05Z');
const WIDE_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="812" height="295" viewBox="0 0 812 295"><rect width="812" height="295"/></svg>';

function claim(id: string, extra: object = {}): object {
  return { id, source: { paper: 'CHO', where: 'Thm 4' }, statement: 'A statement.', assumptions: [], kind: 'identity', pass: true, margin: 1, marginUnit: 'u', summary: 'Fine.', figures: [], ...extra };
}

const stat = (mean: number, sd: number) => ({ mean, sd, min: mean, max: mean, count: 2 });

describe('formulas: $...$ is TeX rendered to MathML (temml)', () => {
  it('renders inline and display TeX, leaves prices and escaped dollars as text', () => {
    const inline = mathText(String.raw`L \ge $\sum_{i<j\in b} W_{ij}/(2B(B-1))$ at <b>`);
    expect(inline).toMatch(/^L \\ge <math class="tex"><mrow><msub><mo[^>]*>∑<\/mo>/);
    expect(inline).toContain('<mi>W</mi>');
    expect(inline).not.toContain('\\sum');
    expect(inline.endsWith(' at &lt;b&gt;')).toBe(true);
    expect(texToMathml(String.raw`\frac{1}{2N}`, true)).toMatch(/^<math display="block"[^>]*><mfrac>/);
    expect(mathText('costs $5 and $6 or $ x $')).toBe('costs $5 and $6 or $ x $');
    expect(mathText(String.raw`a \$ b`)).toBe('a $ b');
    expect(hasMath('no formula here, only Σ_{i<j}')).toBe(false);
    expect(hasMath('$x^2$')).toBe(true);
  });

  it('shows TeX that does not parse as escaped text, and renders no links, styles or markup from hostile TeX', () => {
    expect(mathText(String.raw`$\frac{<script>$`)).toBe('<code class="tex-error" title="TeX that could not be rendered">$\\frac{&lt;script&gt;$</code>');
    for (const tex of [String.raw`\href{javascript:alert(1)}{x}`, String.raw`\url{http://x}`, String.raw`\color{red}{x}`, String.raw`\htmlClass{a}{x}`, String.raw`\text{<img src=x onerror=alert(1)>}`]) {
      const h = mathText(`$${tex}$`);
      expect(h).not.toMatch(/\s(href|src|style|on\w+)="|<img|<script|<a\b/i);
    }
  });

  it('claim statements, assumptions and summaries and summary.md notes render their formulas', () => {
    const dir = folder({
      'report.json': { claims: [claim('a', { statement: String.raw`For every batch, $L(U_b, V_b) \ge \sum_{i<j} W_{ij}$.`, assumptions: [String.raw`$d \ge N-1$`], summary: String.raw`gap $10^{-3}$` })] },
    });
    const h = buildReport(dir, { now: NOW }).html;
    expect(h).toMatch(/<p class="statement"><strong>Statement:<\/strong> For every batch, <math class="tex">.*<\/math>\.<\/p>/);
    expect(h).toMatch(/<strong>Assumptions:<\/strong> <math class="tex">/);
    expect(h).toMatch(/gap <math class="tex"><msup><mn>10<\/mn>/);
    expect(markdownToHtml(String.raw`A note: the value $\log(1+(N-1)e^{-N/((N-1)\tau)})$ and ` + '`$code$` stays code.')).toMatch(/^<p>A note: the value <math class="tex">.*<\/math> and <code>\$code\$<\/code> stays code\.<\/p>$/);
  });

  it("the run page shows the objective's definition as display MathML when every arm trains InfoNCE", () => {
    const exp = (name: string) => ({ name, data: { kind: 'random-sphere', n: 4, d: 4 }, objective: { tau: 0.5 }, estimator: { kind: 'minibatch-infonce', tau: 0.5 } });
    const dir = folder({
      'final.json': { study: 's', arms: [{ arm: 'a', final: { gap: stat(1, 0.1) } }], runs: [] },
      'spec.json': { name: 's', description: '', experiments: [exp('a')] },
    });
    const h = buildReport(dir, { now: NOW }).html;
    expect(h).toMatch(/<div class="objective" id="objective"><p>Objective: the two-sided InfoNCE .*, with <math class="tex">.*<mi>τ<\/mi><mo>=<\/mo><mn>0\.5<\/mn>.*<\/p><math display="block"[^>]*>.*<mfrac><mn>1<\/mn><mrow><mn>2<\/mn><mi>N<\/mi><\/mrow><\/mfrac>/s);
    // An arm that trains another objective (SogCLR): no single definition to show.
    const mixed = folder({
      'final.json': { study: 's', arms: [{ arm: 'a', final: { gap: stat(1, 0.1) } }], runs: [] },
      'spec.json': { name: 's', description: '', experiments: [exp('a'), { ...exp('b'), estimator: { kind: 'sogclr', modality: 'bimodal', tau: 0.5, gamma: 0.9 } }] },
    });
    expect(buildReport(mixed, { now: NOW }).html).not.toContain('id="objective"');
    // The page stays self-contained: no style attribute, nothing loaded, the same strict CSP.
    expect(h).not.toMatch(/\sstyle="/);
    expect(h).toMatch(/content="default-src 'none'; img-src data:; style-src 'sha256-[^']+'; script-src 'sha256-[^']+'; base-uri 'none'; form-action 'none'"/);
  });
});

describe('figures take the content width', () => {
  it('a figure at least 400 px wide of its own is marked wide and scaled to 100%; small ones keep their size', () => {
    expect(naturalWidth('svg', Buffer.from(WIDE_SVG))).toBe(812);
    expect(naturalWidth('svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 480"/>'))).toBe(640);
    expect(naturalWidth('svg', Buffer.from(SIMPLE_SVG))).toBe(40);
    expect(naturalWidth('png', PNG_1X1)).toBe(1);
    const dir = folder({ 'report.json': { claims: [claim('a', { figures: ['wide', 'small'] })] }, 'wide.svg': WIDE_SVG, 'small.svg': SIMPLE_SVG });
    const h = buildReport(dir, { now: NOW }).html;
    expect(h).toContain('<figure class="figure wide" id="fig-wide"');
    expect(h).toContain('<figure class="figure" id="fig-small"');
    expect(h).toContain('figure.figure.wide img { width: 100%; }');
    expect(h).toContain('figure.figure img { max-width: 100%; height: auto; display: block; }');
    expect(h).toContain("figs[i].setAttribute('data-width'");
  });
});

describe("a study's arms as a grid", () => {
  it('parses arm names into (row, column)', () => {
    expect(parseArmName('N=4,d=2 projected fixed')).toEqual({ row: 'N=4, d=2 projected', col: 'fixed' });
    expect(parseArmName('OSGD (N=16, d=32)')).toEqual({ row: 'N=16, d=32', col: 'OSGD' });
    expect(parseArmName('fixed')).toBeNull();
    expect(parseArmName('B=8')).toBeNull();
  });

  it('cho-grid style arms: rows (N, d) and parametrisation, columns the method, cells mean ± sd of the main metric; long tables collapsed', () => {
    const arms = [];
    for (const nd of ['N=4,d=2', 'N=8,d=16']) for (const p of ['projected', 'reparam']) for (const m of ['fixed', 'reshuffled', 'OSGD']) {
      arms.push({ arm: `${nd} ${p} ${m}`, final: { loss: stat(1, 0.5), distance: stat(arms.length + 0.25, 0.125) } });
    }
    const rows = arms.map((a) => `| ${a.arm} | 2 | 1 ± 0.5 | ${a.final.distance.mean} ± 0.125 |`).join('\n');
    const dir = folder({
      'final.json': { study: 'g', arms, runs: arms.map((a) => ({ arm: a.arm, seed: 0, final: { distance: 1 } })) },
      'spec.json': { name: 'g', description: '', experiments: [], figures: [{ name: 'distance', metric: 'distance' }] },
      'summary.md': `# g\n\nA note.\n\n| arm | seeds | loss | distance |\n|---|---|---|---|\n${rows}\n`,
    });
    const h = buildReport(dir, { now: NOW }).html;
    const grid = /<table class="data grid" id="grid-distance" data-metric="distance" data-rows="4" data-cols="3">(.*?)<\/table>/s.exec(h)![1]!;
    expect(grid).toContain('<tr><th>setting \\ method</th><th>fixed</th><th>reshuffled</th><th>OSGD</th></tr>');
    expect(grid).toContain('<tr><th>N=8, d=16 reparam</th><td class="num" title="N=8,d=16 reparam fixed">9.250 ± 0.1250</td>');
    expect(h).toContain('<table class="data grid" id="grid-loss"');
    expect(h).toContain('<details><summary>The other metrics as grids: loss</summary>');
    // The 12-row arm table of summary.md is collapsed, its note stays; the per-run table is collapsible.
    expect(h).toContain('<p>A note.</p>');
    expect(h).toMatch(/<details class="long-table"><summary>Table of 12 rows: arm, seeds, loss, distance<\/summary>\n?<table class="data">/);
    expect(h).toMatch(/<details id="runs-details"><summary>12 runs: final values of each seed<\/summary><table class="data" id="runs-table">/);
  });

  it("a sweep in the spec gives rows x and columns the series; arms that form no grid give no grid", () => {
    const arms = ['SogCLR B=4', 'SogCLR B=8', 'SimCLR B=4', 'SimCLR B=8'].map((arm, k) => ({ arm, final: { objectiveGap: stat(k, 0.5) } }));
    const series = { SogCLR: [{ arm: 'SogCLR B=4', x: 4 }, { arm: 'SogCLR B=8', x: 8 }], SimCLR: [{ arm: 'SimCLR B=4', x: 4 }, { arm: 'SimCLR B=8', x: 8 }] };
    const dir = folder({
      'final.json': { study: 's', arms, runs: [] },
      'spec.json': { name: 's', description: '', experiments: [], sweeps: [{ name: 'b', title: 'Gap against B', metric: 'objectiveGap', series, xTitle: 'batch size B' }] },
    });
    const h = buildReport(dir, { now: NOW }).html;
    const grid = /<table class="data grid" id="grid-sweep-0" data-metric="objectiveGap" data-rows="2" data-cols="2">(.*?)<\/table>/s.exec(h)![1]!;
    expect(grid).toContain('<th>batch size B \\ series</th><th>SogCLR</th><th>SimCLR</th>');
    expect(grid).toContain('<tr><th>8</th><td class="num" title="SogCLR B=8">1 ± 0.5000</td><td class="num" title="SimCLR B=8">3 ± 0.5000</td></tr>');
    const plain = folder({ 'final.json': { study: 'p', arms: ['fixed', 'reshuffled', 'full'].map((arm) => ({ arm, final: { gap: stat(1, 0) } })), runs: [] } });
    expect(buildReport(plain, { now: NOW }).html).not.toContain('summary-grid');
  });
});
