/**
 * A study's arms as a grid: rows one factor, columns the other, cells mean ± sd of a metric.
 *
 * Two sources, tried in order:
 *  - the spec's sweeps (series × x, e.g. { SogCLR: [{ arm: 'SogCLR B=8', x: 8 }, ...] }): rows the x
 *    values, columns the series, one grid per sweep, in the sweep's metric;
 *  - the arm names: every name holds `key=value` pairs and at least one other word, as in
 *    cho-grid's `N=4,d=2 projected fixed` or `<method> (N=16, d=32)`. The last other word is the
 *    column (the method), the pairs and the remaining words the row (`N=4, d=2 projected`). Used
 *    only when every arm parses, the (row, column) pairs are distinct and there are at least two
 *    rows and two columns.
 * The main metric (the first figure's metric in the spec, else the first of gap / distance /
 * objectiveGap / angleError / loss the arms have) is shown open; the other metrics' grids are in a
 * <details>. All text is escaped; null when the arms form no grid.
 */
import type { Json } from './folder.ts';
import { escapeHtml as esc } from './markdown.ts';

interface Cell { mean: unknown; sd: unknown }

export interface Grid {
  readonly title: string;
  readonly rowHead: string;
  readonly colHead: string;
  readonly rows: readonly string[];
  readonly cols: readonly string[];
  readonly metric: string;
  /** The arm of each (row, column), or absent. */
  readonly arm: ReadonlyMap<string, string>;
}

const key = (r: string, c: string) => `${r}\u0000${c}`;
const PREFERRED = ['gap', 'distance', 'objectiveGap', 'angleError', 'loss'];

/** The row and column of an arm name (see above), or null. */
export function parseArmName(name: string): { row: string; col: string } | null {
  const pairs = [...name.matchAll(/([A-Za-z][\w]*)\s*=\s*([^\s,()=]+)/g)];
  if (!pairs.length) return null;
  const words = name.replace(/([A-Za-z][\w]*)\s*=\s*([^\s,()=]+)/g, ' ').replace(/[(),;]/g, ' ').trim().split(/\s+/).filter(Boolean);
  if (!words.length) return null;
  const col = words[words.length - 1]!;
  const row = [pairs.map((p) => `${p[1]}=${p[2]}`).join(', '), ...words.slice(0, -1)].join(' ');
  return { row, col };
}

function byName(arms: readonly Json[]): Grid | null {
  const arm = new Map<string, string>();
  const rows: string[] = [];
  const cols: string[] = [];
  for (const a of arms) {
    if (typeof a.arm !== 'string') return null;
    const p = parseArmName(a.arm);
    if (!p || arm.has(key(p.row, p.col))) return null;
    arm.set(key(p.row, p.col), a.arm);
    if (!rows.includes(p.row)) rows.push(p.row);
    if (!cols.includes(p.col)) cols.push(p.col);
  }
  if (rows.length < 2 || cols.length < 2) return null;
  return { title: '', rowHead: 'setting', colHead: 'method', rows, cols, metric: '', arm };
}

function bySweeps(spec: unknown, names: ReadonlySet<string>): Grid[] {
  const sweeps = spec && typeof spec === 'object' && Array.isArray((spec as Json).sweeps) ? ((spec as Json).sweeps as unknown[]) : [];
  const grids: Grid[] = [];
  for (const sw of sweeps) {
    if (!sw || typeof sw !== 'object') continue;
    const s = sw as Json;
    if (!s.series || typeof s.series !== 'object' || typeof s.metric !== 'string') continue;
    const arm = new Map<string, string>();
    const xs: number[] = [];
    const cols: string[] = [];
    for (const [series, pts] of Object.entries(s.series as Json)) {
      if (!Array.isArray(pts)) continue;
      for (const p of pts) {
        if (!p || typeof p !== 'object' || typeof (p as Json).arm !== 'string' || typeof (p as Json).x !== 'number') continue;
        const { arm: a, x } = p as { arm: string; x: number };
        if (!names.has(a)) continue;
        arm.set(key(String(x), series), a);
        if (!xs.includes(x)) xs.push(x);
        if (!cols.includes(series)) cols.push(series);
      }
    }
    if (xs.length < 2 && cols.length < 2) continue;
    xs.sort((a, b) => a - b);
    grids.push({ title: typeof s.title === 'string' ? s.title : String(s.name ?? ''), rowHead: typeof s.xTitle === 'string' ? s.xTitle : 'x', colHead: 'series',
      rows: xs.map(String), cols, metric: s.metric, arm });
  }
  return grids;
}

function cellOf(final: unknown, metric: string): Cell | null {
  const s = final && typeof final === 'object' ? (final as Json)[metric] : undefined;
  return s && typeof s === 'object' ? (s as Cell) : null;
}

function render(g: Grid, metric: string, finals: ReadonlyMap<string, unknown>, fmt: (x: unknown) => string, id: string): string {
  const head = `<tr><th>${esc(g.rowHead)} \\ ${esc(g.colHead)}</th>${g.cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = g.rows.map((r) => `<tr><th>${esc(r)}</th>${g.cols.map((c) => {
    const a = g.arm.get(key(r, c));
    const s = a === undefined ? null : cellOf(finals.get(a), metric);
    return s ? `<td class="num" title="${esc(a!)}">${esc(fmt(s.mean))} ± ${esc(fmt(s.sd))}</td>` : '<td class="num">—</td>';
  }).join('')}</tr>`).join('\n');
  return `<table class="data grid" id="${esc(id)}" data-metric="${esc(metric)}" data-rows="${g.rows.length}" data-cols="${g.cols.length}"><caption>${esc(metric)}: mean ± sd over seeds${g.title ? ` — ${esc(g.title)}` : ''}</caption>`
    + `<thead>${head}</thead>\n<tbody>${body}</tbody></table>`;
}

/** The grid tables of a run's arms as HTML, or null when they form no grid. */
export function armGrids(arms: readonly Json[], spec: unknown, fmt: (x: unknown) => string): string | null {
  const finals = new Map<string, unknown>(arms.filter((a) => typeof a.arm === 'string').map((a) => [a.arm as string, a.final]));
  const sweeps = bySweeps(spec, new Set(finals.keys()));
  if (sweeps.length) {
    return `<div id="summary-grid">${sweeps.map((g, k) => render(g, g.metric, finals, fmt, `grid-sweep-${k}`)).join('\n')}</div>`;
  }
  const g = byName(arms);
  if (!g) return null;
  const metrics = [...new Set(arms.flatMap((a) => (a.final && typeof a.final === 'object' ? Object.keys(a.final) : [])))];
  if (!metrics.length) return null;
  const figs = spec && typeof spec === 'object' && Array.isArray((spec as Json).figures) ? ((spec as Json).figures as unknown[]) : [];
  const fromFig = figs.map((f) => (f && typeof f === 'object' ? (f as Json).metric : undefined)).find((m): m is string => typeof m === 'string' && metrics.includes(m));
  const main = fromFig ?? PREFERRED.find((m) => metrics.includes(m)) ?? metrics[0]!;
  const rest = metrics.filter((m) => m !== main);
  const slug = (m: string) => m.replace(/[^A-Za-z0-9_-]+/g, '-');
  return `<div id="summary-grid">${render(g, main, finals, fmt, `grid-${slug(main)}`)}`
    + (rest.length ? `<details><summary>The other metrics as grids: ${rest.map(esc).join(', ')}</summary>${rest.map((m) => render(g, m, finals, fmt, `grid-${slug(m)}`)).join('\n')}</details>` : '')
    + '</div>';
}
