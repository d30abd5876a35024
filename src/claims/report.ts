/** The verdict table and the report files (report.md, report.json, figures) of `contrastlab check`. */
import type { Backend } from '../backend/types.ts';
import { environment } from '../experiments/study.ts';
import { type ClaimResult, isFailure } from './run.ts';

function fmtMargin(r: ClaimResult): string {
  const m = r.verdict.margin;
  if (!Number.isFinite(m)) return '—';
  const v = Math.abs(m) >= 1e-3 && Math.abs(m) < 1e5 ? m.toPrecision(3) : m.toExponential(2);
  return `${v}${r.verdict.marginUnit ? ` ${r.verdict.marginUnit}` : ''}`;
}

export function verdictWord(r: ClaimResult): string {
  if (r.error !== undefined) return 'ERROR';
  const refuted = r.claim.expected === 'refuted';
  if (r.verdict.pass) return refuted ? 'refuted (as expected)' : 'holds';
  return refuted ? 'FAIL (refutation not reproduced)' : 'FAIL';
}

/** One row per claim: id, source, kind, verdict, margin, time. */
export function verdictTable(results: readonly ClaimResult[]): string {
  const rows = results.map((r) => [
    r.claim.id,
    `${r.claim.source.paper} ${r.claim.source.where} [${r.claim.source.tag}]`,
    r.claim.kind,
    verdictWord(r),
    fmtMargin(r),
    `${r.seconds.toFixed(1)} s`,
  ]);
  const head = ['id', 'source', 'kind', 'verdict', 'margin', 'time'];
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((c) => `| ${c.join(' | ')} |`)].join('\n');
}

export interface ReportMeta { size: string; seed: number; backend: Backend; f32Backend?: Backend; seconds: number }

export function reportMarkdown(results: readonly ClaimResult[], meta: ReportMeta): string {
  const failed = results.filter(isFailure).length;
  const lines = [
    '# contrastlab claims report', '',
    `${results.length} claims at size '${meta.size}' (seed ${meta.seed}) in ${meta.seconds.toFixed(1)} s: ${results.length - failed} as expected, ${failed} failing.`, '',
    verdictTable(results), '',
  ];
  for (const r of results) {
    lines.push(`## ${r.claim.id}`, '');
    lines.push(`**Source:** ${r.claim.source.paper}, ${r.claim.source.where} — THEORY tag *${r.claim.source.tag}*${r.claim.source.tag === 'unverified' ? ' (this statement is reconstructed and unverified against the paper text)' : ''}.`, '');
    lines.push(`**Statement:** ${r.claim.statement}`, '');
    if (r.claim.assumptions.length) lines.push(`**Assumptions:** ${r.claim.assumptions.join('; ')}.`, '');
    lines.push(`**Verdict:** ${verdictWord(r)} — margin ${fmtMargin(r)}. ${r.verdict.summary}`, '');
    if (r.claim.explanation) lines.push(`**Note:** ${r.claim.explanation}`, '');
    if (r.verdict.figures?.length) lines.push(...r.verdict.figures.map((f) => `![${f.name}](${f.name}.png)`), '');
    lines.push('<details><summary>numbers</summary>', '', '```json', JSON.stringify(r.verdict.numbers, null, 2), '```', '', '</details>', '');
  }
  lines.push(`Environment: ${JSON.stringify(environment(meta.backend))}`, '');
  if (meta.f32Backend) lines.push(`Float32 backend under test (numerics.f32-within-rule): ${JSON.stringify({ name: meta.f32Backend.name, ...meta.f32Backend.info })}`, '');
  return lines.join('\n');
}

export function reportJson(results: readonly ClaimResult[], meta: ReportMeta): string {
  return JSON.stringify({
    size: meta.size, seed: meta.seed, seconds: meta.seconds, environment: environment(meta.backend),
    ...(meta.f32Backend ? { f32Backend: { name: meta.f32Backend.name, ...meta.f32Backend.info } } : {}),
    passed: results.filter((r) => !isFailure(r)).length, failed: results.filter(isFailure).length,
    claims: results.map((r) => ({
      id: r.claim.id, source: r.claim.source, statement: r.claim.statement, assumptions: r.claim.assumptions, kind: r.claim.kind,
      expected: r.claim.expected ?? 'holds', verdict: verdictWord(r), pass: r.verdict.pass, margin: r.verdict.margin, marginUnit: r.verdict.marginUnit,
      summary: r.verdict.summary, numbers: r.verdict.numbers, seconds: r.seconds, ...(r.error !== undefined ? { error: r.error } : {}),
      figures: (r.verdict.figures ?? []).map((f) => f.name),
    })),
  }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n';
}
