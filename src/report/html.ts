/**
 * One self-contained HTML page from a results folder: a `contrastlab run` output (final.json,
 * summary.md, figures, checkpoint.json, runs/) or a `contrastlab check` output (report.json, figures).
 *
 * The page loads nothing: figures are inline SVG (sanitised, see ./svg.ts) or data: URIs, the style
 * and the one small script are inline and allowed by hash in a Content-Security-Policy that forbids
 * everything else, and every string read from the folder is HTML-escaped. The script only marks
 * each figure as rendered (`data-rendered`) and the body with the count (`data-figures-rendered`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { PRESETS } from '../experiments/presets.ts';
import { configHash } from '../experiments/spec.ts';
import { assertCanWrite, writeFileAtomic } from '../io/atomic.ts';
import { escapeHtml as esc, markdownToHtml } from './markdown.ts';
import { sanitizeSvg } from './svg.ts';

export type ReportKind = 'run' | 'check';

export interface ReportOptions {
  /** Operation named in error messages (default 'report'). */
  readonly op?: string;
  /** The generation time printed on the page (default now). */
  readonly now?: Date;
}

export interface ReportFigureInfo {
  readonly name: string;
  /** 'svg': inline SVG; 'png': PNG data URI; 'svg-image': an SVG that failed sanitising, as an image data URI. */
  readonly format: 'svg' | 'png' | 'svg-image';
}

export interface ReportPage {
  readonly kind: ReportKind;
  readonly title: string;
  readonly html: string;
  readonly figures: readonly ReportFigureInfo[];
}

/** Figures larger than this are listed, not embedded. */
const MAX_FIGURE_BYTES = 16 * 1024 * 1024;

type Json = Record<string, unknown>;

function readJson(op: string, path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(op, `'${path}' cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(op, `'${path}' is not valid JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(op, `'${path}' must hold a JSON object`);
  return v as Json;
}

/** Which kind of output `dir` is; a ConfigError naming the path otherwise. */
export function reportKind(dir: string, opts: { op?: string } = {}): ReportKind {
  const op = opts.op ?? 'report';
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new ConfigError(op, `'${dir}' does not exist`);
  }
  if (!st.isDirectory()) throw new ConfigError(op, `'${dir}' is not a folder (expected a contrastlab run or check output folder)`);
  if (existsSync(join(dir, 'report.json'))) return 'check';
  if (existsSync(join(dir, 'final.json'))) return 'run';
  if (existsSync(join(dir, 'checkpoint.json'))) {
    throw new ConfigError(op, `'${dir}' holds an unfinished run (checkpoint.json but no final.json); finish it with contrastlab run ... --resume`);
  }
  throw new ConfigError(op, `'${dir}' is neither a run output (final.json) nor a check output (report.json)`);
}

// ---- formatting ----

function fmtNum(x: unknown): string {
  if (typeof x === 'string') return x;
  if (typeof x !== 'number') return x === undefined || x === null ? '—' : String(x);
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? x.toPrecision(4) : x.toExponential(3);
}

const text = (x: unknown): string => (x === undefined || x === null ? '' : typeof x === 'string' ? x : JSON.stringify(x));
const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '-');

function kvTable(rows: readonly [string, unknown][], id?: string): string {
  return `<table class="kv"${id ? ` id="${esc(id)}"` : ''}><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(typeof v === 'number' ? fmtNum(v) : text(v))}</td></tr>`).join('\n')}</tbody></table>`;
}

function table(head: readonly string[], rows: readonly string[][], attrs = ''): string {
  return `<table class="data"${attrs}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>\n<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`;
}

// ---- figures ----

interface FigureFiles { svg?: string; png?: string }

/** SVG / PNG files at the top of `dir` and in `dir/figures`, grouped by name without extension. */
function findFigures(dir: string): Map<string, FigureFiles> {
  const found = new Map<string, FigureFiles>();
  for (const sub of ['', 'figures']) {
    const d = join(dir, sub);
    if (sub && !(existsSync(d) && statSync(d).isDirectory())) continue;
    for (const f of readdirSync(d).sort()) {
      const m = /^([^.].*)\.(svg|png)$/i.exec(f);
      if (!m || !statSync(join(d, f)).isFile()) continue;
      const name = sub ? `${sub}/${m[1]}` : m[1]!;
      const e = found.get(name) ?? {};
      e[m[2]!.toLowerCase() as 'svg' | 'png'] = join(d, f);
      found.set(name, e);
    }
  }
  return found;
}

class FigureRenderer {
  readonly used: ReportFigureInfo[] = [];
  readonly notes: string[] = [];
  constructor(private readonly files: Map<string, FigureFiles>) {}

  has(name: string): boolean {
    return this.files.has(name);
  }

  remaining(): string[] {
    const done = new Set(this.used.map((f) => f.name));
    return [...this.files.keys()].filter((n) => !done.has(n));
  }

  render(name: string): string {
    const f = this.files.get(name);
    if (!f) return '';
    const read = (p: string): Buffer | null => {
      const size = statSync(p).size;
      if (size > MAX_FIGURE_BYTES) {
        this.notes.push(`${basename(p)} (${size} bytes) is too large to embed`);
        return null;
      }
      return readFileSync(p);
    };
    const wrap = (format: ReportFigureInfo['format'], body: string) => {
      this.used.push({ name, format });
      return `<figure class="figure" id="fig-${esc(slug(name))}" data-figure="${esc(name)}" data-format="${format}">${body}<figcaption>${esc(name)}</figcaption></figure>`;
    };
    const svg = f.svg ? read(f.svg) : null;
    if (svg) {
      const clean = sanitizeSvg(svg.toString('utf8'), `f${this.used.length}-`);
      if (clean !== null) return wrap('svg', clean);
    }
    const png = f.png ? read(f.png) : null;
    if (png && png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
      return wrap('png', `<img alt="${esc(name)}" src="data:image/png;base64,${png.toString('base64')}">`);
    }
    if (png) this.notes.push(`${basename(f.png!)} is not a PNG file`);
    if (svg) return wrap('svg-image', `<img alt="${esc(name)}" src="data:image/svg+xml;base64,${svg.toString('base64')}">`);
    return '';
  }
}

// ---- check folders ----

function verdictOf(c: Json): { failing: boolean; word: string } {
  const failing = c.pass !== true || c.error !== undefined;
  const word = typeof c.verdict === 'string' ? c.verdict : failing ? 'FAIL' : 'holds';
  return { failing, word };
}

function sourceText(s: unknown): string {
  if (s && typeof s === 'object') {
    const o = s as Json;
    return `${text(o.paper)} ${text(o.where)}${o.tag !== undefined ? ` [${text(o.tag)}]` : ''}`.trim();
  }
  return text(s);
}

function checkBody(op: string, dir: string, figs: FigureRenderer): { title: string; lede: string; sections: [string, string, string][]; env: Json } {
  const path = join(dir, 'report.json');
  const r = readJson(op, path);
  if (!Array.isArray(r.claims)) throw new ConfigError(op, `'${path}' has no 'claims' array (not a contrastlab check report.json)`);
  const claims = r.claims.map((c, k) => {
    if (c === null || typeof c !== 'object' || typeof (c as Json).id !== 'string') throw new ConfigError(op, `'${path}': claims[${k}] is not an object with a string 'id'`);
    return c as Json;
  });
  const failing = claims.filter((c) => verdictOf(c).failing).length;
  const lede = `${claims.length} claim${claims.length === 1 ? '' : 's'}${r.size !== undefined ? ` at size '${text(r.size)}'` : ''}${r.seed !== undefined ? ` (seed ${text(r.seed)})` : ''}`
    + `${typeof r.seconds === 'number' ? ` in ${r.seconds.toFixed(1)} s` : ''}: ${claims.length - failing} as expected, ${failing} failing.`;

  const rows = claims.map((c) => {
    const v = verdictOf(c);
    const refuted = c.expected === 'refuted';
    return `<tr class="claim ${v.failing ? 'fail' : 'pass'}" data-claim="${esc(c.id as string)}" data-expected="${refuted ? 'refuted' : 'holds'}" data-verdict="${v.failing ? 'fail' : 'pass'}">`
      + `<td><a href="#claim-${esc(slug(c.id as string))}"><code>${esc(c.id as string)}</code></a></td>`
      + `<td>${esc(sourceText(c.source))}</td><td>${esc(text(c.kind))}</td>`
      + `<td>${refuted ? '<span class="mark refuted" title="the statement, as reconstructed, is expected not to hold; the check demonstrates that">✗ expected refuted</span>' : 'holds'}</td>`
      + `<td class="verdict">${esc(v.word)}</td>`
      + `<td class="margin"><span class="num">${esc(fmtNum(c.margin))}</span>${c.marginUnit ? ` <span class="unit">${esc(text(c.marginUnit))}</span>` : ''}</td>`
      + `<td class="num">${typeof c.seconds === 'number' ? `${c.seconds.toFixed(1)} s` : ''}</td></tr>`;
  });
  const verdicts = `<table class="data" id="verdicts"><thead><tr><th>id</th><th>source</th><th>kind</th><th>expected</th><th>verdict</th><th>margin (unit)</th><th>time</th></tr></thead>\n<tbody>${rows.join('\n')}</tbody></table>`;

  const details = claims.map((c) => {
    const v = verdictOf(c);
    const assumptions = Array.isArray(c.assumptions) && c.assumptions.length ? `<p><strong>Assumptions:</strong> ${esc(c.assumptions.map(text).join('; '))}.</p>` : '';
    const names = Array.isArray(c.figures) ? c.figures.filter((f): f is string => typeof f === 'string') : [];
    const figures = names.map((f) => (figs.has(f) ? figs.render(f) : `<p class="note">figure ${esc(f)}: no ${esc(f)}.svg or .png in the folder</p>`)).join('\n');
    return `<section class="claim-detail ${v.failing ? 'fail' : 'pass'}" id="claim-${esc(slug(c.id as string))}"><h3><code>${esc(c.id as string)}</code> — ${esc(v.word)}</h3>`
      + `<p class="source">${esc(sourceText(c.source))}</p>`
      + (c.statement !== undefined ? `<p><strong>Statement:</strong> ${esc(text(c.statement))}</p>` : '') + assumptions
      + `<p><strong>Verdict:</strong> ${esc(v.word)} — margin ${esc(fmtNum(c.margin))}${c.marginUnit ? ` ${esc(text(c.marginUnit))}` : ''}. ${esc(text(c.summary))}</p>`
      + (c.error !== undefined ? `<p class="error"><strong>Error:</strong> ${esc(text(c.error))}</p>` : '')
      + figures
      + (c.numbers !== undefined ? `<details><summary>numbers</summary><pre>${esc(JSON.stringify(c.numbers, null, 2))}</pre></details>` : '')
      + '</section>';
  }).join('\n');

  const settings: [string, unknown][] = [['size', r.size], ['seed', r.seed], ['seconds', r.seconds], ['passed', r.passed], ['failed', r.failed]];
  const sections: [string, string, string][] = [
    ['verdicts-section', 'Verdicts', verdicts],
    ['claims', 'Claims', details],
    ['settings', 'Settings', kvTable(settings.filter(([, v]) => v !== undefined))],
  ];
  const env = r.environment && typeof r.environment === 'object' ? (r.environment as Json) : {};
  return { title: `contrastlab check report — ${basename(resolve(dir))}`, lede, sections, env };
}

// ---- run folders ----

/** The study spec: DIR/spec.json if present, else the shipped preset whose hash matches. */
function findSpec(op: string, dir: string, name: unknown, hash: unknown): { spec: unknown; origin: string } | null {
  const specPath = join(dir, 'spec.json');
  if (existsSync(specPath)) {
    const spec = readJson(op, specPath);
    const match = typeof hash === 'string' ? (configHash(spec) === hash ? ' (its hash matches final.json)' : ` (its hash ${configHash(spec)} differs from final.json's ${hash})`) : '';
    return { spec, origin: `spec.json in the folder${match}` };
  }
  if (typeof hash !== 'string') return null;
  for (const p of PRESETS) {
    for (const size of ['full', 'smoke'] as const) {
      const spec = p.build(size);
      if (spec.name === name && configHash(spec) === hash) return { spec, origin: `the shipped preset '${p.name}' at size ${size}, whose hash matches final.json's studyHash ${hash}` };
    }
  }
  return null;
}

function runBody(op: string, dir: string, figs: FigureRenderer): { title: string; lede: string; sections: [string, string, string][]; env: Json } {
  const path = join(dir, 'final.json');
  const f = readJson(op, path);
  if (!Array.isArray(f.arms) && !Array.isArray(f.runs)) throw new ConfigError(op, `'${path}' has neither 'arms' nor 'runs' (not a contrastlab run final.json)`);
  const arms = (Array.isArray(f.arms) ? f.arms : []).filter((a): a is Json => a !== null && typeof a === 'object');
  const runs = (Array.isArray(f.runs) ? f.runs : []).filter((a): a is Json => a !== null && typeof a === 'object');
  const study = typeof f.study === 'string' ? f.study : basename(resolve(dir));

  let status = 'complete';
  const ckPath = join(dir, 'checkpoint.json');
  if (existsSync(ckPath)) {
    const ck = readJson(op, ckPath);
    if (ck.current !== null && ck.current !== undefined) status = 'interrupted: checkpoint.json holds a run in progress (continue with contrastlab run ... --resume)';
  }
  const runsDir = join(dir, 'runs');
  const runFiles = existsSync(runsDir) && statSync(runsDir).isDirectory() ? readdirSync(runsDir).filter((n) => n.endsWith('.json')).length : 0;
  const lede = `${runs.length} run${runs.length === 1 ? '' : 's'} in ${arms.length} arm${arms.length === 1 ? '' : 's'}; ${status}.`;

  const sections: [string, string, string][] = [];
  const mdPath = join(dir, 'summary.md');
  let summary: string;
  if (existsSync(mdPath)) {
    // summary.md's title, description and environment line are in the page's header and environment table.
    let md = readFileSync(mdPath, 'utf8').replace(/\r\n?/g, '\n').replace(/^# .*\n+/, '').replace(/^Environment: .*$/m, '');
    if (typeof f.description === 'string' && md.startsWith(`${f.description}\n`)) md = md.slice(f.description.length);
    summary = markdownToHtml(md, 2);
  } else {
    const metrics = [...new Set(arms.flatMap((a) => (a.final && typeof a.final === 'object' ? Object.keys(a.final) : [])))];
    summary = table(['arm', ...metrics.map((m) => `${m} (mean ± sd)`)], arms.map((a) => [esc(text(a.arm)), ...metrics.map((m) => {
      const s = (a.final as Json)?.[m] as Json | undefined;
      return s ? `${esc(fmtNum(s.mean))} ± ${esc(fmtNum(s.sd))}` : '—';
    })]));
  }
  sections.push(['summary', 'Summary', `<div id="summary-tables">${summary}</div>`]);

  const figures = figs.remaining().map((n) => figs.render(n)).join('\n');
  sections.push(['figures', 'Figures', figures || '<p class="note">No figures in the folder.</p>']);

  const metricKeys = [...new Set(runs.flatMap((r) => (r.final && typeof r.final === 'object' ? Object.keys(r.final).filter((k) => k !== 'step' && k !== 'epoch') : [])))];
  sections.push(['runs', 'Runs (final values)', table(['arm', 'seed', 'steps', 'epochs', 'stopped early', ...metricKeys],
    runs.map((r) => [esc(text(r.arm)), esc(fmtNum(r.seed)), esc(fmtNum(r.steps)), esc(fmtNum(r.epochs)), r.stoppedEarly ? 'yes' : 'no',
      ...metricKeys.map((k) => esc(fmtNum((r.final as Json | undefined)?.[k])))]), ' id="runs-table"')]);

  const spec = findSpec(op, dir, f.study, f.studyHash);
  const hashes = table(['arm', 'config hash'], arms.map((a) => [esc(text(a.arm)), `<code>${esc(text(a.configHash))}</code>`]));
  sections.push(['config', 'Configuration', spec
    ? `<p>Spec: ${esc(spec.origin)}.</p><pre id="spec">${esc(JSON.stringify(spec.spec, null, 2))}</pre>${hashes}`
    : `<p>The spec is not recorded in this folder and no shipped preset has its hash${typeof f.studyHash === 'string' ? ` (studyHash <code>${esc(f.studyHash)}</code>)` : ''}. Config hashes per arm:</p>${hashes}`]);

  const files = readdirSync(dir).filter((n) => !n.startsWith('.')).sort().map((n) => {
    const st = statSync(join(dir, n));
    return [`<code>${esc(n)}${st.isDirectory() ? '/' : ''}</code>`, st.isDirectory() ? (n === 'runs' ? `${runFiles} finished runs` : 'folder') : `${st.size} bytes`];
  });
  sections.push(['files', 'Files in the folder', table(['file', 'size'], files)]);

  const env = f.environment && typeof f.environment === 'object' ? { study, studyHash: f.studyHash, ...(f.environment as Json) } : { study, studyHash: f.studyHash };
  const description = typeof f.description === 'string' ? f.description : '';
  return { title: `contrastlab run — ${study}`, lede: `${description} ${lede}`.trim(), sections, env };
}

// ---- the page ----

const STYLE = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --pass: #1a7f37; --fail: #cf222e; --bg2: #f6f8fa; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); margin: 0 auto; max-width: 1200px; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; } h2 { border-bottom: 1px solid var(--line); padding-bottom: .2rem; margin-top: 2rem; }
nav a { margin-right: 1rem; } .lede { color: var(--muted); }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
thead th { background: var(--bg2); } table.kv th { background: var(--bg2); font-weight: 600; }
tr.pass td.verdict { color: var(--pass); font-weight: 600; } tr.fail td.verdict { color: var(--fail); font-weight: 700; }
tr.fail { background: #ffebe9; } .unit { color: var(--muted); font-size: .85em; } td.num, .num { font-variant-numeric: tabular-nums; }
.mark.refuted { color: #8250df; font-weight: 600; white-space: nowrap; }
section.claim-detail { border-left: 4px solid var(--pass); padding-left: 1rem; margin: 1.5rem 0; } section.claim-detail.fail { border-left-color: var(--fail); }
.source, .note, figcaption, footer { color: var(--muted); font-size: .9rem; } .error { color: var(--fail); }
figure.figure { margin: 1rem 0; overflow-x: auto; } figure.figure svg, figure.figure img { max-width: 100%; height: auto; display: block; }
pre { background: var(--bg2); padding: .6rem; overflow-x: auto; font-size: .8rem; max-height: 30rem; }
`;

const SCRIPT = `addEventListener('load', function () {
  var figs = document.querySelectorAll('figure.figure'), ok = 0;
  for (var i = 0; i < figs.length; i++) {
    var el = figs[i].querySelector('svg, img'), r = el && el.getBoundingClientRect();
    var good = !!el && r.width > 0 && r.height > 0 && (el.tagName !== 'IMG' || (el.complete && el.naturalWidth > 0));
    figs[i].setAttribute('data-rendered', good ? 'yes' : 'no');
    if (good) ok++;
  }
  document.body.setAttribute('data-figures-rendered', ok + '/' + figs.length);
});`;

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
const CSP = `default-src 'none'; img-src data:; style-src ${sha256(STYLE)}; script-src ${sha256(SCRIPT)}; base-uri 'none'; form-action 'none'`;

/** Builds the page for the run or check output in `dir` (throws ConfigError naming the path on bad input). */
export function buildReport(dir: string, opts: ReportOptions = {}): ReportPage {
  const op = opts.op ?? 'report';
  const kind = reportKind(dir, { op });
  const figs = new FigureRenderer(findFigures(dir));
  const body = kind === 'check' ? checkBody(op, dir, figs) : runBody(op, dir, figs);
  if (kind === 'check') {
    const rest = figs.remaining();
    if (rest.length) body.sections.splice(2, 0, ['other-figures', 'Other figures', rest.map((n) => figs.render(n)).join('\n')]);
  }
  const dataPath = join(dir, kind === 'check' ? 'report.json' : 'final.json');
  const now = opts.now ?? new Date();
  const env: [string, unknown][] = [
    ...Object.entries(body.env).filter(([, v]) => v !== undefined),
    [`${basename(dataPath)} written`, statSync(dataPath).mtime.toISOString()],
    ['page generated', now.toISOString()],
  ];
  if (!Object.keys(body.env).some((k) => /git|commit/i.test(k))) env.push(['git commit', 'not recorded']);
  body.sections.push(['environment', 'Environment', kvTable(env, 'environment-table')]);
  if (figs.notes.length) body.sections.push(['notes', 'Notes', `<ul>${figs.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`]);

  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="contrastlab report">
<title>${esc(body.title)}</title>
<style>${STYLE}</style>
</head>
<body data-kind="${kind}" data-figures="${figs.used.length}">
<header><h1>${esc(body.title)}</h1><p class="lede">${esc(body.lede)}</p>
<nav>${body.sections.map(([id, title]) => `<a href="#${id}">${esc(title)}</a>`).join('')}</nav></header>
<main>
${body.sections.map(([id, title, content]) => `<section id="${id}"><h2>${esc(title)}</h2>\n${content}\n</section>`).join('\n')}
</main>
<footer>Generated by <code>contrastlab report</code> from <code>${esc(resolve(dir))}</code> on ${esc(now.toISOString())}.</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
  return { kind, title: body.title, html, figures: figs.used };
}

/**
 * Writes the page for `dir` to `out` (default `dir/report.html`) atomically; an existing file is
 * replaced only with `overwrite`.
 */
export function writeReport(dir: string, opts: ReportOptions & { out?: string; overwrite?: boolean } = {}): ReportPage & { path: string; bytes: number } {
  const op = opts.op ?? 'report';
  reportKind(dir, { op });
  const path = opts.out ?? join(dir, 'report.html');
  assertCanWrite(op, path, opts.overwrite ?? false);
  const page = buildReport(dir, opts);
  writeFileAtomic(path, page.html, { overwrite: opts.overwrite ?? false, op });
  return { ...page, path, bytes: Buffer.byteLength(page.html, 'utf8') };
}
